/* SPDX-License-Identifier: MIT */
/*
 * mf_store_scan - the scanner's records in the store: the freshness
 * stamps it starts from, and one scan_runs row per musefs-scan run
 * (docs/store.md "scan_runs").
 *
 * Every function takes a read-write struct mf_store and follows its thread
 * rules (one thread at a time per store).
 */
#ifndef MF_STORE_SCAN_H
#define MF_STORE_SCAN_H

#include <stdint.h>

#include "mf_store.h"

/*
 * Configure SQLite for a bulk-writing process: no global malloc statistics
 * (they take a mutex per allocation, which the writer thread felt). Call
 * once, first thing in main(), before any store is opened; later calls
 * fail. Returns 0 or a negative errno (-EBUSY once SQLite is initialized).
 * Not thread-safe.
 */
int mf_store_scan_process_init(void);

/*
 * One freshness stamp as the scanner starts from it. Strings are borrowed
 * for the callback only (copy what you keep).
 */
struct mf_store_stamp {
	const char *path;	/* tracks.backing_path or scan_failures.path */
	int64_t id;		/* tracks.id; 0 for a failure */
	int64_t size, mtime_ns, ctime_ns;	/* backing stamp; ctime_ns is -1
						 * for a track to probe again
						 * (1.x row without format
						 * blocks) */
	const char *reason;	/* scan_failures.reason; NULL for a track */
	const char *fingerprint;	/* 64 hex digits or NULL */
};

enum mf_store_stamp_set {
	MF_STORE_STAMPS_TRACKS,		/* every tracks row */
	MF_STORE_STAMPS_FAILURES,	/* every scan_failures row */
};

/*
 * Call @fn(@ctx, row) for every row of @set (rows without a path are
 * skipped). A negative return from @fn stops the walk and is returned.
 * Returns 0 or a negative errno (-EIO for a store that cannot be read).
 */
int mf_store_scan_stamps_each(struct mf_store *s, enum mf_store_stamp_set set,
			      int (*fn)(void *ctx,
					const struct mf_store_stamp *row),
			      void *ctx);

/* What a finished run records in its scan_runs row. */
struct mf_store_scan_run {
	uint64_t seen, new, changed, unchanged, skipped, failed;
	uint64_t moved, pruned;
	uint64_t bytes_read;	/* bytes read from backing files */
	const char *outcome;	/* 'ok', 'partial', 'failed', 'interrupted' */
};

/*
 * Start a run: mark rows still 'running' as 'interrupted' (the caller holds
 * the scan lock, so such a run was killed), expire old mount heartbeat
 * rows, and insert a 'running' row whose roots column is @roots (the roots
 * joined by '\n'; borrowed for the call). Sets *@id to its rowid, or to 0
 * if the row could not be inserted. The first two steps only log on
 * failure. Returns 0 or a negative errno (-EBUSY, -EROFS, -EIO).
 */
int mf_store_scan_run_begin(struct mf_store *s, const char *roots,
			    int64_t *id);

/*
 * Finish run @id (from mf_store_scan_run_begin(); 0 is a no-op): set
 * ended_at to now and the counts and outcome from @r (borrowed). Returns 0
 * or a negative errno; the caller may only log a failure.
 */
int mf_store_scan_run_end(struct mf_store *s, int64_t id,
			  const struct mf_store_scan_run *r);

/*
 * The device (st_dev) scan_roots recorded for directory @root (an absolute,
 * resolved path; borrowed) into *@dev. Returns 1 if recorded, 0 if not,
 * or a negative errno (-EIO).
 */
int mf_store_scan_root_dev(struct mf_store *s, const char *root,
			   int64_t *dev);

/*
 * Record (insert or update, scanned_at = now) that directory @root (an
 * absolute, resolved path; borrowed) is on device @dev. Returns 0 or a
 * negative errno (-EIO, -EBUSY, -EROFS).
 */
int mf_store_scan_root_record(struct mf_store *s, const char *root,
			      int64_t dev);

/*
 * --prune in one IMMEDIATE transaction: delete the tracks rows @ids[0..
 * @nids) (their dependent rows follow by the schema's cascades), the
 * scan_failures rows whose path is one of @paths[0..@npaths), then every
 * art row no track links to. *@pruned is set to the number of tracks rows
 * deleted (0 on failure: everything is rolled back). Arrays are borrowed.
 * Returns 0 or a negative errno (-EBUSY, -EROFS, -EIO).
 */
int mf_store_scan_prune(struct mf_store *s, const int64_t *ids, size_t nids,
			const char *const *paths, size_t npaths,
			uint64_t *pruned);

/*
 * Checkpoint the WAL, VACUUM, checkpoint again (truncating the WAL).
 * Returns 0 or a negative errno from VACUUM (-EBUSY while another
 * connection reads).
 */
int mf_store_vacuum(struct mf_store *s);

#endif /* MF_STORE_SCAN_H */
