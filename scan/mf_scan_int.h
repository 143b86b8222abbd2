/* SPDX-License-Identifier: MIT */
/*
 * mf_scan_int - what the scanner's modules share (not a public API):
 * the stamp map of stored tracks, the work item that travels walker ->
 * probe worker -> writer, and the scan context.
 *
 * Threads: the walker is the thread that called mf_scan_run(); N probe
 * workers (mf_scan_probe.c) and one writer (mf_scan_write.c) run beside
 * it; the writer alone uses the store connection until the pipeline has
 * drained, then mf_scan_run() uses it for pruning and the run record.
 */
#ifndef MF_SCAN_INT_H
#define MF_SCAN_INT_H

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "mf_scan.h"
#include "mf_sink.h"
#include "mf_store_scan.h"

struct mf_queue;
struct mf_ignore;

/*---- stamp map (mf_scan_stamp.c) --------------------------------------*/

#define STAMP_NONE UINT32_MAX

/* One stored track, or one known failure (id 0). */
struct stamp {
	const char *path;	/* in the map's arena */
	const char *reason;	/* known failures: the stored reason, arena */
	int64_t id;		/* tracks.id; 0 for a failure */
	int64_t size, mtime_ns, ctime_ns;
	uint32_t fp_next;	/* next entry with the same fingerprint hash */
	uint8_t fp[32];		/* tracks.fingerprint, raw, when has_fp */
	bool has_fp;
	uint8_t seen;		/* the walker reached this path (atomic) */
	bool claimed;		/* writer only: retargeted by a move */
};

struct stamp_chunk;

/* Built before the pipeline starts; only seen/claimed change after. */
struct stamp_map {
	struct stamp *v;	/* entries */
	size_t n, cap;
	uint32_t *slots;	/* open addressing by path: index or NONE */
	size_t nslots;		/* power of two */
	uint32_t *fp_slots;	/* heads of fingerprint chains */
	size_t nfp_slots;	/* power of two, 0 if no fingerprints */
	struct stamp_chunk *arena;
};

/*
 * Load the stamps of @set (mf_store_scan_stamps_each()) into @m.
 * Returns 0, -ENOMEM or -EIO.
 */
int stamp_map_load(struct mf_store *s, enum mf_store_stamp_set set,
		   struct stamp_map *m);
/*
 * Add the stored @row to the stamp map @ctx (a struct stamp_map, zeroed
 * before the first row): copies its strings into the map's arena, parses
 * a 64-digit hex fingerprint (anything else: no fingerprint). The row
 * callback of stamp_map_load(); lookups need stamp_map_index() after.
 * Returns 0 or -ENOMEM (@ctx then holds the rows before, for
 * stamp_map_release()).
 */
int stamp_map_add(void *ctx, const struct mf_store_stamp *row);
/* Build the path and fingerprint indexes of @m over the rows added.
 * Returns 0, -ENOMEM, or -E2BIG (too many rows for 32-bit slots). */
int stamp_map_index(struct stamp_map *m);
struct stamp *stamp_map_get(const struct stamp_map *m, const char *path);
void stamp_map_release(struct stamp_map *m);
/* First entry with fingerprint @fp, then follow ->fp_next; or NULL. */
struct stamp *stamp_map_fp_first(const struct stamp_map *m,
				 const uint8_t fp[32]);
struct stamp *stamp_map_fp_next(const struct stamp_map *m,
				const struct stamp *e);

/*---- probe results (mf_scan_probe.c) --------------------------------*/

struct probe_tag {
	char *key;
	size_t keylen;		/* strlen(key) */
	char *value;		/* text, NUL-terminated; or binary data */
	size_t len;
	bool binary;
	int ordinal;
};

struct probe_pic {
	uint32_t type, width, height, depth, colors;
	char *mime;
	char *desc;
	uint8_t *data;
	size_t len;
	char sha[65];		/* SHA-256 hex of data */
};

struct probe_block {
	char *kind;
	size_t kindlen;		/* strlen(kind) */
	uint8_t *data;
	size_t len;
};

struct probe_chunk;

struct probe {
	struct probe_chunk *chunks;	/* the strings and bytes below */
	const char *format;	/* store format; static string */
	bool have_range;
	uint64_t audio_offset, audio_length;
	struct probe_tag *tags;
	size_t ntags, cap_tags;
	struct probe_pic *pics;
	size_t npics, cap_pics;
	struct probe_block *blocks;	/* structural, in report order */
	size_t nblocks, cap_blocks;
	bool have_props;
	struct mf_audio_props props;
	uint64_t bytes;		/* bytes read for this file (approx.) */
};

/* One file on its way from the walker to the writer; owned by one
 * thread at a time (handed over through the queues). */
struct item {
	char *path;		/* owned; canonical */
	size_t pathlen;		/* strlen(path) */
	struct stat sb;		/* the walker's stat */
	int64_t old_id;		/* the stored track at this path, or 0 */
	bool was_failure;	/* the path is in scan_failures */
	/* filled by the probe worker */
	int err;		/* 0, or a negative errno: see why */
	bool dropped;		/* not probed: the scan is stopping */
	char why[256];
	struct stat after;	/* fstat after the probe */
	struct probe p;
	bool has_fp;
	uint8_t fp[32];		/* fingerprint of the audio range */
	char fp_hex[65];	/* the same in lowercase hex, as stored */
	bool has_fp_legacy;	/* Ogg: also the fingerprint of builds that */
	uint8_t fp_legacy[32];	/* did not zero page numbers and CRCs */
	char content_hash[65];	/* whole-file SHA-256 hex, or "" */
};

void item_free(struct item *it);

/* Items travel the queues in batches, so threads hand over (and wake
 * each other) once per ITEM_BATCH files, not once per file. */
#define ITEM_BATCH 16

struct item_batch {
	size_t n;
	struct item *v[ITEM_BATCH];
};

/* Free @b and every item in it; NULL is a no-op. */
void item_batch_free(struct item_batch *b);

/*---- the store's CHECK constraints in C (mf_scan_check.c) -------------*/

/*
 * True when the store would accept the row the scanner writes for: a tag
 * (@value of @len bytes, text or @binary) under @key (NUL-terminated) and
 * @ordinal; picture @p as the @ordinal'th track_art row of its track (art,
 * art_props and track_art rows); a structural block of @kind with @len
 * bytes of data, to the table scan_core_block() names; a tracks
 * row. Exactly the CHECK constraints of schema/ (t/unit/test_scan_check.c
 * compares them with SQLite), assuming an ASCII-only lower(). Pure,
 * thread-safe.
 */
bool check_tag_row(const char *key, int ordinal, const void *value,
		   size_t len, bool binary);
bool check_pic_row(const struct probe_pic *p, size_t ordinal);
bool check_block_row(const char *kind, size_t len);

/* Does a block of @kind go to the core structural_blocks table (FLAC
 * STREAMINFO, SEEKTABLE) rather than format_blocks? Pure, thread-safe. */
bool scan_core_block(const char *kind);
/* The kind as the store spells it: "STREAMINFO"/"SEEKTABLE" (the 1.x
 * structural_blocks kinds) for the core kinds, else @kind itself. */
const char *block_kind_sql(const char *kind);
bool check_track_row(const char *path, const char *format,
		     uint64_t audio_offset, uint64_t audio_length,
		     uint64_t size);

/*---- the scan -------------------------------------------------------*/

struct ignore_frame {
	struct mf_ignore *ig;	/* owned */
	size_t dirlen;		/* rules apply to path + dirlen + 1 */
};

#define SCAN_MAX_DEPTH 128
#define SCAN_SQL_MAX 32
/* Multi-row INSERTs have 1, 2, 4, ... 1 << (ROW_SHAPES - 1) rows. */
#define ROW_SHAPES 9
#define ROW_KINDS 6		/* tracks, tags, structural, format, props,
				 * changelog */
#define GROUP_MAX 128		/* new tracks written by one set of INSERTs */

/* One row of a multi-row INSERT: a track and what of it (writer only). */
struct row_ref {
	int64_t id;		/* tracks.id the row belongs to */
	const struct item *it;
	size_t idx;		/* tags[idx] or blocks[idx] */
	int ordinal;		/* format_blocks ordinal */
};

struct scan {
	struct mf_store *store;
	sqlite3 *db;
	const struct mf_scan_opts *opts;
	struct mf_scan_stats *st;	/* counters: __atomic, relaxed */
	struct stamp_map tracks;	/* stored tracks by path */
	struct stamp_map failures;	/* known bad files by path */
	struct mf_queue *jobs;		/* walker -> workers */
	struct mf_queue *results;	/* workers -> writer */
	int fatal;			/* atomic: a store failure, stop */
	int writer_ret;			/* writer's result, read after join */
	uint64_t total;			/* atomic: files to do, once walked */
	int walk_done;			/* atomic */
	pthread_mutex_t taglib_lock;	/* serializes TagLib calls */
	struct mf_ignore *excludes;	/* --exclude patterns; owned */
	uint64_t *root_seen;		/* regular files walked, per root */
	bool *root_refused;		/* per root: prune refused */
	bool *root_covered;		/* per root: inside (or equal to) another
					 * root, so not walked on its own */
	unsigned test_delay_ms;		/* opts->test_delay_ms: per-probe sleep */
	bool ogg_legacy_fp;		/* the store may hold Ogg fingerprints
					 * of earlier builds (musefs_meta
					 * 'ogg_fingerprint'); set before the
					 * pipeline starts */
	bool sqlite_checks;		/* opts->test_sqlite_checks: rows are
					 * held to the CHECKs by SQLite only;
					 * set before the pipeline starts */

	/* walker only */
	char path[PATH_MAX];
	struct ignore_frame frames[SCAN_MAX_DEPTH + 2];
	size_t nframes;
	struct visited *visited;	/* (dev, ino) set, follow-symlinks */
	struct item_batch *pending;	/* jobs not yet queued */

	/* writer only */
	sqlite3_stmt *stmt[SCAN_SQL_MAX];
	sqlite3_stmt *rows[ROW_KINDS][ROW_SHAPES];	/* multi-row, lazy */
	struct item *group[GROUP_MAX];	/* new tracks not yet written, owned */
	size_t ngroup;
	bool fp_index_deferred;		/* tracks_fingerprint dropped for a
					 * cold import, rebuilt at the end */
	struct row_ref *refs;		/* scratch for write_rows() */
	size_t cap_refs;
	bool in_tx;
	unsigned batch_count;
	struct timespec batch_start;
	int64_t next_id;	/* id for the next new track in this tx */
};

/* Nice steps the walker and the probe workers run below the writer. */
#define SCAN_NICE_STEP 10

/* See mf_scan.c: for the walker and every probe worker. */
void scan_lower_priority(void);

static inline void stat_add(uint64_t *field, uint64_t n)
{
	__atomic_fetch_add(field, n, __ATOMIC_RELAXED);
}

static inline bool scan_stopping(const struct scan *sc)
{
	return __atomic_load_n(&sc->fatal, __ATOMIC_RELAXED) ||
	       (sc->opts->stop &&
		__atomic_load_n(sc->opts->stop, __ATOMIC_RELAXED));
}

double scan_elapsed_ms(const struct timespec *since);

/* mf_scan_probe.c: the worker thread body (arg: struct scan *). */
void *scan_worker(void *arg);

/* mf_scan_write.c */
int writer_prepare(struct scan *sc);
void writer_finalize(struct scan *sc);
void *scan_writer(void *arg);		/* thread body: drains results */

/* mf_scan_prune.c */
int scan_prune(struct scan *sc);
int scan_roots_record(struct scan *sc);

#endif /* MF_SCAN_INT_H */
