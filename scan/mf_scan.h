/* SPDX-License-Identifier: MIT */
/*
 * mf_scan - the scanner: walk library roots, compare each audio file's
 * (size, mtime_ns, ctime_ns) stamp with the store, probe new and changed
 * files in parallel, and write tracks, tags, art and structural blocks
 * from one writer thread in batched transactions. Unchanged files cost
 * one lstat and nothing else.
 *
 * Pipeline: the calling thread walks (ignore rules, symlink policy) and
 * queues candidates; opts->jobs probe workers open, probe (through the
 * format registry, mf_format.h) and fingerprint them; one writer thread
 * commits (a few hundred files or ~250 ms per transaction). Both queues
 * are bounded.
 *
 * A changed file gets its geometry, structural blocks and audio properties
 * refreshed; its tags and art in the store are kept (the store is where
 * users curate them) unless opts->reimport_tags. With opts->reingest an
 * unchanged file is treated as changed, with reimport_tags. New files are
 * imported
 * whole; art is deduplicated by SHA-256. A new path whose fingerprint
 * (docs/store.md "Fingerprint") matches exactly one stored row whose file
 * is gone is a move: that row is retargeted (same id, tags and art).
 * Files that fail to parse are logged with path and reason and remembered
 * with their stamp, so an unchanged bad file is reported again without
 * being re-read.
 *
 * Changelog economy: a new track's tags, pictures and blocks are written
 * before its tracks row (foreign keys deferred to the commit), so their
 * bump triggers find no row to bump and the import appends exactly one
 * track_changes entry per track (the insert) instead of one per row.
 */
#ifndef MF_SCAN_H
#define MF_SCAN_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mf_store.h"

/* Where a scan is, for a progress display (mf_scan_opts.progress). */
struct mf_scan_progress {
	uint64_t done;		/* files finished: imported, unchanged, failed,
				 * skipped, ... */
	uint64_t total;		/* files the walk found; valid once
				 * walk_done */
	bool walk_done;		/* the walk has ended: total is final */
	double seconds;		/* since the pipeline started */
	bool last;		/* the final call: erase the display */
};

struct mf_scan_opts {
	const char *const *roots;	/* directories or files; borrowed */
	size_t nroots;
	unsigned batch_files;		/* files per transaction; 0 = 512 */
	unsigned batch_ms;		/* ms per transaction; 0 = 250 */
	unsigned jobs;			/* probe workers; 0 = online CPUs */
	bool reimport_tags;		/* changed files: replace tags and art */
	/* Re-ingest: every walked file already in the store (and every known
	 * failure) is probed again even when its stamp is unchanged, and its
	 * tags, art links and structural rows are replaced with the file's
	 * own (reimport_tags for all of them; 1.x `scan --force`). */
	bool reingest;
	/* Refresh only: walked files not in the store are left out (not
	 * imported, not counted); 1.x `revalidate`. */
	bool known_only;
	bool checksum_full;		/* store whole-file SHA-256 (content_hash) */
	bool follow_symlinks;		/* with a (dev, ino) cycle guard */
	bool prune;			/* delete rows whose files are gone */
	bool force;			/* prune past the safety rules */
	double prune_limit;		/* percent of a root's tracks, e.g. 10 */
	/* Progress, called from a progress thread about every 250 ms while
	 * the pipeline runs and once more with p->last at its end; NULL for
	 * none. It must not block for long; @ctx is progress_ctx. */
	void (*progress)(void *ctx, const struct mf_scan_progress *p);
	void *progress_ctx;
	/* Known failures (in scan_failures with the same stamp) are logged
	 * at info level only (still counted in failed and failed_known). */
	bool quiet_known_failures;
	const char *const *excludes;	/* --exclude globs (mf_ignore.h) */
	size_t nexcludes;
	/* Set non-zero (by a signal handler) to stop: the walk ends, the
	 * batch in flight is committed, the run is recorded as interrupted
	 * and mf_scan_run() returns -EINTR. May be NULL. */
	const volatile sig_atomic_t *stop;
	/* Test knobs, set by bin/ from MUSEFS_TEST_SCAN_*: a sleep before
	 * every probe (ms, at most 10000), to keep a scan running long
	 * enough to signal it; and rows held to the store's CHECKs by
	 * SQLite alone instead of the workers' C check first. */
	unsigned test_delay_ms;
	bool test_sqlite_checks;
};

/* Distinct skipped extensions reported with -v. */
#define MF_SCAN_MAX_EXTS 32

struct mf_scan_stats {
	uint64_t seen;		/* regular files found under the roots */
	uint64_t new;		/* imported */
	uint64_t changed;	/* re-probed and refreshed */
	uint64_t moved;		/* new path, same fingerprint: retargeted */
	uint64_t unchanged;	/* stamp equal: not opened */
	uint64_t skipped;	/* hidden, ignored or not audio */
	uint64_t failed;	/* could not be parsed (incl. known failures) */
	uint64_t failed_known;	/* of those: failed before, unchanged since */
	uint64_t pruned;	/* rows deleted by --prune */
	uint64_t probed;	/* opened and parsed this run */
	uint64_t bytes_read;	/* bytes read by probes and hashes (approx.) */
	double seconds;		/* wall time */
	const char *outcome;	/* "ok", "partial", "failed", "interrupted" */
	struct {
		char ext[16];	/* lowercase, "" for none, "(hidden)",
				 * "(ignored)" */
		uint64_t count;
	} skipped_ext[MF_SCAN_MAX_EXTS];
	size_t nskipped_ext;
};

/*
 * Scan @o->roots into @s (opened read-write). Fills *@st. Returns 0 when
 * every root was walked (files may still have failed: see st->failed), or
 * a negative errno: -ENOENT/-ENOTDIR/-EACCES for an unusable root (nothing
 * is scanned); -EINTR when *o->stop was set (work done so far is
 * committed, the run is recorded as interrupted); -EPERM when --prune
 * refused (the reason is logged; nothing was pruned, the scan itself is
 * committed); -EIO for a store failure (work committed so far stays, the
 * batch in flight is rolled back); -ENOMEM. Messages are logged. Not
 * thread-safe: one scan per store handle (use mf_scan_lock() across
 * processes).
 */
int mf_scan_run(struct mf_store *s, const struct mf_scan_opts *o,
		struct mf_scan_stats *st);

/*
 * Take the per-store scan lock (flock(2) on the store file @dbpath, held
 * through an fd kept open until mf_scan_unlock()). With @wait, block until
 * the lock is free (a signal interrupts with -EINTR); else return -EAGAIN
 * at once when another scan holds it. Returns 0 and sets *@fd, -EAGAIN,
 * -EINTR, or the open/flock error negated. Call after mf_store_open().
 * *@fd is set (>= 0) even when the lock was not taken once the file was
 * opened: call mf_scan_unlock(*@fd) in every case, and only after
 * mf_store_close(), because closing any fd of the store file drops the
 * process's POSIX (SQLite) locks on it. Thread-safe.
 */
int mf_scan_lock(const char *dbpath, bool wait, int *fd);
void mf_scan_unlock(int fd);

/*
 * Checkpoint the WAL (TRUNCATE) and VACUUM the store. Sets *@reclaimed to
 * the bytes the store file and its WAL shrank by. Returns 0 or -EIO
 * (-EBUSY when readers keep the WAL from being truncated is not an
 * error: the VACUUM still runs).
 */
int mf_scan_vacuum(struct mf_store *s, int64_t *reclaimed);

#endif /* MF_SCAN_H */
