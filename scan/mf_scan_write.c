/* SPDX-License-Identifier: MIT */
/*
 * mf_scan_write - the scanner's single writer thread: takes probed items
 * from the results queue and commits them in batches (opts->batch_files
 * files or opts->batch_ms ms per transaction).
 *
 * New tracks are written in groups of up to GROUP_MAX: one savepoint and
 * one multi-row INSERT per table for the whole group, so SQLite's fixed
 * cost per statement (which dominated the writer's profile: about 30
 * statements per file before) is paid a few times per group instead of
 * per file. If a CHECK refuses any row of a group, the group is rolled
 * back to its savepoint and written file by file, each in its own
 * savepoint, skipping the refused tags or pictures or recording the file
 * as failed. Changed and moved tracks are written one by one.
 *
 * CHECK constraints: the probe workers hold every row to the schema's
 * CHECKs (mf_scan_check.c), so the writer's connection runs with
 * PRAGMA ignore_check_constraints while the writer runs, unless this
 * SQLite's lower() is not the ASCII-only one those predicates assume (the
 * workers' filtering only drops rows SQLite would refuse too), or
 * MUSEFS_TEST_SCAN_CHECKS=sqlite asks for SQLite's evaluation alone (the
 * workers do not filter either; for tests and for doubt).
 *
 * The fingerprint index: its keys are SHA-256 hashes, so every insert
 * lands on a random page and each commit rewrote hundreds of them (a
 * fifth of the writer's time on a cold import). Into an empty store the
 * index is dropped before the first row and built once, sorted, when the
 * writer ends (also after an error or a signal); a scan that is killed
 * in between leaves the store without it, and the next scan builds it
 * (index_fingerprints()). Nothing but the scanner, which keeps the
 * fingerprints in memory, uses it while it scans.
 *
 * Triggers: the writer's connection runs with triggers disabled
 * (SQLITE_DBCONFIG_ENABLE_TRIGGER, this connection only, for the life of
 * the writer thread) and does itself what the core triggers
 * (schema/0002-changelog.sql) would do for its writes, once per track
 * instead of once per row: a new track appends one track_changes entry;
 * a refreshed or moved track gets one content_version bump (in its
 * UPDATE) and one entry; the ring is pruned to its last 8192 entries
 * after every append. With the triggers on, every tags, track_art,
 * structural_blocks and format_blocks row ran a bump program, which cost
 * more than the row itself. Rows go parents first, so foreign keys are
 * checked as usual. Pruning (--prune) runs after the writer, with the
 * triggers back on.
 *
 * Divisions, in order: statements (writer_sql, the multi-row shapes);
 * writer set-up and restore (fingerprint index, CHECKs, triggers);
 * transactions; rows (pictures, tags, blocks, a new, changed or moved
 * track); groups; the writer thread (scan_writer()).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mf_array.h"
#include "mf_format.h"
#include "mf_log.h"
#include "mf_queue.h"
#include "mf_scan_int.h"
#include "mf_banned.h"

enum {
	W_UPDATE_TRACK,
	W_LIST_TAGS,
	W_DELETE_TAG,
	W_FIND_ART,
	W_INSERT_ART,
	W_INSERT_ART_PROPS,
	W_UPSERT_TRACK_ART,
	W_TRIM_TRACK_ART,
	W_DELETE_STRUCT,
	W_LIST_FBLOCKS,
	W_DELETE_FBLOCK,
	W_UPSERT_FAILURE,
	W_DELETE_FAILURE,
	W_NEXT_ID,
	W_PRUNE_CHANGES,
	W_SAVEPOINT,
	W_RELEASE,
	W_ROLLBACK_TO,
	W_COUNT
};

static const char *const writer_sql[W_COUNT] = {
	[W_UPDATE_TRACK] =
		"UPDATE tracks SET backing_path = coalesce(?10, backing_path), "
		"format = ?2, audio_offset = ?3, audio_length = ?4, "
		"backing_size = ?5, backing_mtime_ns = ?6, backing_ctime_ns = ?7, "
		"fingerprint = ?8, content_hash = coalesce(?9, content_hash), "
		"content_version = content_version + 1, updated_at = unixepoch() "
		"WHERE id = ?1",
	[W_LIST_TAGS] = "SELECT key, ordinal FROM tags WHERE track_id = ?",
	[W_DELETE_TAG] =
		"DELETE FROM tags WHERE track_id = ? AND key = ? AND ordinal = ?",
	[W_FIND_ART] = "SELECT id FROM art WHERE sha256 = ?",
	[W_INSERT_ART] =
		"INSERT INTO art (sha256, mime, width, height, byte_len, data) "
		"VALUES (?, ?, ?, ?, ?, ?)",
	[W_INSERT_ART_PROPS] =
		"INSERT OR IGNORE INTO art_props (art_id, depth, colors) "
		"VALUES (?, ?, ?)",
	[W_UPSERT_TRACK_ART] =
		"INSERT INTO track_art (track_id, ordinal, art_id, picture_type, "
		"description) VALUES (?, ?, ?, ?, ?) ON CONFLICT (track_id, "
		"ordinal) DO UPDATE SET art_id = excluded.art_id, "
		"picture_type = excluded.picture_type, "
		"description = excluded.description "
		"WHERE art_id IS NOT excluded.art_id "
		"OR picture_type IS NOT excluded.picture_type "
		"OR description IS NOT excluded.description",
	[W_TRIM_TRACK_ART] =
		"DELETE FROM track_art WHERE track_id = ? AND ordinal >= ?",
	[W_DELETE_STRUCT] =
		"DELETE FROM structural_blocks WHERE track_id = ? AND kind = ?",
	[W_LIST_FBLOCKS] =
		"SELECT kind, ordinal FROM format_blocks WHERE track_id = ?",
	[W_DELETE_FBLOCK] =
		"DELETE FROM format_blocks WHERE track_id = ? AND kind = ? "
		"AND ordinal = ?",
	[W_UPSERT_FAILURE] =
		"INSERT OR REPLACE INTO scan_failures (path, backing_size, "
		"backing_mtime_ns, backing_ctime_ns, reason) VALUES (?, ?, ?, ?, ?)",
	[W_DELETE_FAILURE] = "DELETE FROM scan_failures WHERE path = ?",
	[W_NEXT_ID] =
		"SELECT max(coalesce((SELECT seq FROM sqlite_sequence "
		"WHERE name = 'tracks'), 0), coalesce((SELECT max(id) FROM "
		"tracks), 0)) + 1",
	/* the ring's own trigger, track_changes_prune, after an append */
	[W_PRUNE_CHANGES] =
		"DELETE FROM track_changes WHERE seq <= last_insert_rowid() - 8192",
	/* prepared once: parsing them per file showed in profiles */
	[W_SAVEPOINT] = "SAVEPOINT track",
	[W_RELEASE] = "RELEASE track",
	[W_ROLLBACK_TO] = "ROLLBACK TO track",
};

/*
 * The multi-row INSERTs (upserts where a row may already exist): @head,
 * then 1 << shape rows of @ncols parameters, then @tail. Parameters are
 * positional; a row's columns are in the order of @head.
 */
enum { R_TRACK, R_TAG, R_STRUCT, R_FBLOCK, R_PROPS, R_CHANGE };

static const struct {
	const char *head, *tail;
	int ncols;
} row_sql[ROW_KINDS] = {
	/* column order of bind_track() */
	/* updated_at explicitly: a 1.x store's column has no DEFAULT */
	[R_TRACK] = { "INSERT INTO tracks (id, format, audio_offset, "
		      "audio_length, backing_size, backing_mtime_ns, "
		      "backing_ctime_ns, fingerprint, content_hash, "
		      "backing_path, updated_at) VALUES ", "", 11 },
	[R_TAG] = { "INSERT INTO tags (track_id, key, ordinal, value, "
		    "value_blob) VALUES ",
		    " ON CONFLICT (track_id, key, ordinal) DO UPDATE SET "
		    "value = excluded.value, value_blob = excluded.value_blob "
		    "WHERE value IS NOT excluded.value "
		    "OR value_blob IS NOT excluded.value_blob", 5 },
	/* the 1.x shape: kinds "STREAMINFO", "SEEKTABLE" (block_kind_sql()) */
	[R_STRUCT] = { "INSERT INTO structural_blocks (track_id, kind, ordinal, "
		       "body) VALUES ",
		       " ON CONFLICT (track_id, kind, ordinal) DO UPDATE SET "
		       "body = excluded.body WHERE body IS NOT excluded.body",
		       4 },
	[R_FBLOCK] = { "INSERT INTO format_blocks (track_id, kind, ordinal, "
		       "data) VALUES ",
		       " ON CONFLICT (track_id, kind, ordinal) DO UPDATE SET "
		       "data = excluded.data WHERE data IS NOT excluded.data",
		       4 },
	[R_PROPS] = { "INSERT INTO track_props (track_id, sample_rate, "
		      "channels, bits_per_sample, total_samples, duration_ms, "
		      "bitrate_kbps) VALUES ",
		      " ON CONFLICT (track_id) DO UPDATE SET "
		      "sample_rate = excluded.sample_rate, "
		      "channels = excluded.channels, "
		      "bits_per_sample = excluded.bits_per_sample, "
		      "total_samples = excluded.total_samples, "
		      "duration_ms = excluded.duration_ms, "
		      "bitrate_kbps = excluded.bitrate_kbps", 7 },
	[R_CHANGE] = { "INSERT INTO track_changes (track_id) VALUES ", "", 1 },
};

/* The @kind INSERT of 1 << @shape rows, prepared on first use. */
static sqlite3_stmt *rows_stmt(struct scan *sc, int kind, unsigned shape)
{
	size_t nrows = (size_t)1 << shape, ncols = (size_t)row_sql[kind].ncols;
	size_t cap = strlen(row_sql[kind].head) + strlen(row_sql[kind].tail) +
		     nrows * (3 * ncols + 3) + 1, len;
	char *sql;

	if (sc->rows[kind][shape])
		return sc->rows[kind][shape];
	sql = malloc(cap);
	if (!sql)
		return NULL;
	len = (size_t)snprintf(sql, cap, "%s", row_sql[kind].head);
	for (size_t r = 0; r < nrows; r++) {
		sql[len++] = r ? ',' : '(';
		if (r)
			sql[len++] = '(';
		for (size_t c = 0; c < ncols; c++) {
			if (c)
				sql[len++] = ',';
			sql[len++] = '?';
		}
		sql[len++] = ')';
	}
	snprintf(sql + len, cap - len, "%s", row_sql[kind].tail);
	if (sqlite3_prepare_v3(sc->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
			       &sc->rows[kind][shape], NULL) != SQLITE_OK) {
		mf_err("scan", "cannot prepare statement: %s",
		       sqlite3_errmsg(sc->db));
		sc->rows[kind][shape] = NULL;
	}
	free(sql);
	return sc->rows[kind][shape];
}

/* Exactly the index of schema/0001-core.sql (and of 1.x). */
static const char fp_index_sql[] =
	"CREATE INDEX tracks_fingerprint_idx ON tracks(fingerprint)";

static int query_bool(struct scan *sc, const char *sql, bool *out)
{
	int64_t v = 0;
	int ret = mf_store_query_int(sc->store, sql, &v);

	*out = v != 0;
	return ret;
}

/*
 * Drop the fingerprint index before a cold import into an empty store;
 * build it when a store has tracks but not the index (a killed cold
 * import). See the header comment.
 */
static int index_fingerprints(struct scan *sc, bool before)
{
	bool have = false, empty = false;
	int ret;

	ret = query_bool(sc, "SELECT count(*) FROM sqlite_schema WHERE "
			 "type = 'index' AND name = 'tracks_fingerprint_idx'", &have);
	if (!ret)
		ret = query_bool(sc, "SELECT NOT EXISTS (SELECT 1 FROM tracks)",
				 &empty);
	if (ret < 0)
		return ret;
	if (before && empty) {
		/* nothing fingerprinted by an earlier build can be here, now
		 * or later: Ogg files need only the current fingerprint */
		ret = mf_store_exec(sc->store, "INSERT OR REPLACE INTO "
				    "musefs_meta VALUES ('ogg_fingerprint', "
				    "'zeroed')");
		if (ret < 0)
			return ret;
		sc->fp_index_deferred = true;
		return have ? mf_store_exec(sc->store, "DROP INDEX "
					    "tracks_fingerprint_idx") : 0;
	}
	if (have)
		return 0;
	mf_info("scan", "building the fingerprint index");
	return mf_store_exec(sc->store, fp_index_sql);
}

/* May the writer leave the CHECK constraints to mf_scan_check.c? */
static bool checks_in_c(struct scan *sc)
{
	bool ascii = false;

	if (sc->sqlite_checks)
		return false;
	if (query_bool(sc, "SELECT lower('\xc3\x80Z') = '\xc3\x80z'",
		       &ascii) < 0 || !ascii)
		mf_debug("scan", "lower() is not ASCII-only: SQLite checks rows");
	return ascii;
}

int writer_prepare(struct scan *sc)
{
	/* see the header comment; back on at the end of scan_writer() */
	if (sqlite3_db_config(sc->db, SQLITE_DBCONFIG_ENABLE_TRIGGER, 0,
			      (int *)NULL) != SQLITE_OK)
		return -EIO;
	if (checks_in_c(sc) &&
	    mf_store_exec(sc->store, "PRAGMA ignore_check_constraints = ON") < 0)
		return -EIO;
	if (index_fingerprints(sc, true) < 0)
		return -EIO;
	if (query_bool(sc, "SELECT NOT EXISTS (SELECT 1 FROM musefs_meta WHERE "
		       "key = 'ogg_fingerprint' AND value = 'zeroed')",
		       &sc->ogg_legacy_fp) < 0)
		return -EIO;
	/* Savepoint and statement journals in memory: on disk they spill to
	 * /var/tmp at 64 KiB and then cost a pwrite per page per file. */
	if (mf_store_exec(sc->store, "PRAGMA temp_store = MEMORY") < 0)
		return -EIO;
	/* 16 MiB of page cache: the backing_path index takes inserts in
	 * random order (workers finish out of order) */
	if (mf_store_exec(sc->store, "PRAGMA cache_size = -16384") < 0)
		return -EIO;
	for (int i = 0; i < W_COUNT; i++) {
		if (sqlite3_prepare_v3(sc->db, writer_sql[i], -1,
				       SQLITE_PREPARE_PERSISTENT, &sc->stmt[i],
				       NULL) != SQLITE_OK) {
			mf_err("scan", "cannot prepare statement: %s",
			       sqlite3_errmsg(sc->db));
			return -EIO;
		}
	}
	/* the one-row shapes are used unchecked by the row-by-row paths */
	for (int k = 0; k < ROW_KINDS; k++)
		if (!rows_stmt(sc, k, 0))
			return -EIO;
	return 0;
}

/* Undo what writer_prepare() set on the connection. Returns 0 or a
 * negative errno (the fingerprint index could not be built). */
static int writer_restore(struct scan *sc)
{
	int ret = 0;

	sqlite3_db_config(sc->db, SQLITE_DBCONFIG_ENABLE_TRIGGER, 1, (int *)NULL);
	mf_store_exec(sc->store, "PRAGMA ignore_check_constraints = OFF");
	if (sc->fp_index_deferred) {
		sc->fp_index_deferred = false;
		ret = index_fingerprints(sc, false);
	}
	return ret;
}

void writer_finalize(struct scan *sc)
{
	writer_restore(sc);
	for (int i = 0; i < SCAN_SQL_MAX; i++) {
		sqlite3_finalize(sc->stmt[i]);
		sc->stmt[i] = NULL;
	}
	for (int k = 0; k < ROW_KINDS; k++)
		for (int i = 0; i < ROW_SHAPES; i++) {
			sqlite3_finalize(sc->rows[k][i]);
			sc->rows[k][i] = NULL;
		}
	for (size_t i = 0; i < sc->ngroup; i++)
		item_free(sc->group[i]);
	sc->ngroup = 0;
	free(sc->refs);
	sc->refs = NULL;
	sc->cap_refs = 0;
}

static int step_done(struct scan *sc, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc == SQLITE_DONE || rc == SQLITE_ROW)
		return 0;
	mf_debug("scan", "sql: %s", sqlite3_errmsg(sc->db));
	return mf_store_errno(rc) ? mf_store_errno(rc) : -EIO;
}

/*---- transactions ----------------------------------------------------*/

static int group_flush(struct scan *sc);
static void group_clear(struct scan *sc);

static int tx_begin(struct scan *sc)
{
	sqlite3_stmt *st = sc->stmt[W_NEXT_ID];
	int ret, rc;

	if (sc->in_tx)
		return 0;
	ret = mf_store_exec(sc->store, "BEGIN IMMEDIATE");
	if (ret < 0)
		return ret;
	sc->in_tx = true;
	sc->batch_count = 0;
	clock_gettime(CLOCK_MONOTONIC, &sc->batch_start);
	rc = sqlite3_step(st);
	sc->next_id = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	return sc->next_id > 0 ? 0 : -EIO;
}

static int tx_commit(struct scan *sc)
{
	int ret;

	if (!sc->in_tx)
		return 0;
	ret = group_flush(sc);
	if (ret < 0)
		return ret;
	ret = mf_store_exec(sc->store, "COMMIT");
	if (ret < 0)
		return ret;
	sc->in_tx = false;
	return 0;
}

static void tx_rollback(struct scan *sc)
{
	group_clear(sc);
	if (!sc->in_tx)
		return;
	/* SQLite already rolled back on SQLITE_FULL, IOERR, NOMEM */
	if (!sqlite3_get_autocommit(sc->db))
		mf_store_exec(sc->store, "ROLLBACK");
	sc->in_tx = false;
}

static unsigned batch_ms(const struct scan *sc)
{
	return sc->opts->batch_ms ? sc->opts->batch_ms : 250;
}

/* Commit when the batch is full or old enough. */
static int tx_maybe_commit(struct scan *sc)
{
	/* 512: a few hundred files, as the issue asks; twice 256 saved the
	 * writer 7% (a commit rewrites every page it touched, and the
	 * indexes' pages are touched again by the next few hundred files) */
	unsigned files = sc->opts->batch_files ? sc->opts->batch_files : 512;

	if (!sc->in_tx)
		return 0;
	if (++sc->batch_count < files &&
	    scan_elapsed_ms(&sc->batch_start) < batch_ms(sc))
		return 0;
	return tx_commit(sc);
}

/*---- rows ------------------------------------------------------------*/

static void bind_stamp(sqlite3_stmt *st, const struct stat *sb, int first)
{
	sqlite3_bind_int64(st, first, (int64_t)sb->st_size);
	sqlite3_bind_int64(st, first + 1, mf_store_ns(&sb->st_mtim));
	sqlite3_bind_int64(st, first + 2, mf_store_ns(&sb->st_ctim));
}

static int find_or_insert_art(struct scan *sc, const struct probe_pic *pic,
			      int64_t *art_id)
{
	sqlite3_stmt *st = sc->stmt[W_FIND_ART];
	int rc, ret;

	*art_id = 0;
	sqlite3_bind_text(st, 1, pic->sha, 64, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*art_id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return -EIO;
	if (!*art_id) {
		st = sc->stmt[W_INSERT_ART];
		sqlite3_bind_text(st, 1, pic->sha, 64, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, pic->mime, -1, SQLITE_STATIC);
		/* 0: unknown, stored as NULL as 1.x writers do */
		if (pic->width && pic->height) {
			sqlite3_bind_int64(st, 3, pic->width);
			sqlite3_bind_int64(st, 4, pic->height);
		} else {
			sqlite3_bind_null(st, 3);
			sqlite3_bind_null(st, 4);
		}
		sqlite3_bind_int64(st, 5, (int64_t)pic->len);
		sqlite3_bind_blob64(st, 6, pic->data, pic->len, SQLITE_STATIC);
		ret = step_done(sc, st);
		if (ret < 0)
			return ret;
		*art_id = sqlite3_last_insert_rowid(sc->db);
	}
	if (pic->depth || pic->colors) {
		st = sc->stmt[W_INSERT_ART_PROPS];
		sqlite3_bind_int64(st, 1, *art_id);
		sqlite3_bind_int64(st, 2, pic->depth);
		sqlite3_bind_int64(st, 3, pic->colors);
		ret = step_done(sc, st);
		if (ret < 0)
			return ret;
	}
	return 0;
}

static int write_pics(struct scan *sc, int64_t id, const struct item *it,
		      bool trim)
{
	const struct probe *p = &it->p;
	sqlite3_stmt *st;
	int ordinal = 0, ret;

	for (size_t i = 0; i < p->npics; i++) {
		int64_t art_id;

		ret = find_or_insert_art(sc, &p->pics[i], &art_id);
		if (ret == 0) {
			st = sc->stmt[W_UPSERT_TRACK_ART];
			sqlite3_bind_int64(st, 1, id);
			sqlite3_bind_int(st, 2, ordinal);
			sqlite3_bind_int64(st, 3, art_id);
			sqlite3_bind_int64(st, 4, p->pics[i].type);
			sqlite3_bind_text(st, 5, p->pics[i].desc, -1,
					  SQLITE_STATIC);
			ret = step_done(sc, st);
		}
		if (ret == -EINVAL) {
			mf_warn("scan", "'%s': picture %zu not stored (malformed)",
				it->path, i);
			continue;
		}
		if (ret < 0)
			return ret;
		ordinal++;
	}
	if (!trim)
		return 0;
	st = sc->stmt[W_TRIM_TRACK_ART];
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int(st, 2, ordinal);
	return step_done(sc, st);
}

static int tag_cmp(const void *a, const void *b)
{
	const struct probe_tag *x = *(const struct probe_tag *const *)a;
	const struct probe_tag *y = *(const struct probe_tag *const *)b;
	int c = strcmp(x->key, y->key);

	return c ? c : (x->ordinal > y->ordinal) - (x->ordinal < y->ordinal);
}

/*
 * Delete the rows of track @id listed by statement @list ("SELECT name,
 * ordinal ... WHERE track_id = ?") that @keep does not want, with
 * statement @del (track_id, name, ordinal). The rows are collected first:
 * no delete runs while the SELECT is open.
 */
static int trim_rows(struct scan *sc, int64_t id, int list, int del,
		     bool (*keep)(const void *ctx, const char *name, int ord),
		     const void *ctx)
{
	struct { char *name; int ordinal; } *gone = NULL;
	size_t ngone = 0, capgone = 0;
	sqlite3_stmt *st = sc->stmt[list];
	int rc, ret = 0;

	sqlite3_bind_int64(st, 1, id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		int ord = sqlite3_column_int(st, 1);
		void *g;

		if (!name || keep(ctx, name, ord))
			continue;
		g = mf_array_grow(gone, &capgone, ngone + 1, sizeof(*gone));
		if (!g) {
			ret = -ENOMEM;
			break;
		}
		gone = g;
		gone[ngone].name = strdup(name);
		gone[ngone].ordinal = ord;
		if (!gone[ngone].name) {
			ret = -ENOMEM;
			break;
		}
		ngone++;
	}
	if (!ret && rc != SQLITE_DONE && rc != SQLITE_ROW)
		ret = -EIO;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	st = sc->stmt[del];
	for (size_t i = 0; i < ngone; i++) {
		if (!ret) {
			sqlite3_bind_int64(st, 1, id);
			sqlite3_bind_text(st, 2, gone[i].name, -1, SQLITE_STATIC);
			sqlite3_bind_int(st, 3, gone[i].ordinal);
			ret = step_done(sc, st);
		}
		free(gone[i].name);
	}
	free(gone);
	return ret;
}

struct sorted_tags {
	const struct probe_tag **v;	/* sorted by tag_cmp */
	size_t n;
};

static bool keep_tag(const void *ctx, const char *key, int ordinal)
{
	const struct sorted_tags *t = ctx;
	struct probe_tag probe = { .key = (char *)key, .ordinal = ordinal };
	const struct probe_tag *kp = &probe;

	return t->n && bsearch(&kp, t->v, t->n, sizeof(*t->v), tag_cmp);
}

/* Delete the stored tags of @id that @p does not have. */
static int trim_tags(struct scan *sc, int64_t id, const struct probe *p)
{
	struct sorted_tags t = { .n = p->ntags };
	int ret;

	if (p->ntags) {
		t.v = malloc(p->ntags * sizeof(*t.v));
		if (!t.v)
			return -ENOMEM;
		for (size_t i = 0; i < p->ntags; i++)
			t.v[i] = &p->tags[i];
		qsort(t.v, p->ntags, sizeof(*t.v), tag_cmp);
	}
	ret = trim_rows(sc, id, W_LIST_TAGS, W_DELETE_TAG, keep_tag, &t);
	free(t.v);
	return ret;
}

static void bind_tag(sqlite3_stmt *st, int first, int64_t id,
		     const struct probe_tag *t)
{
	sqlite3_bind_int64(st, first, id);
	sqlite3_bind_text(st, first + 1, t->key, (int)t->keylen, SQLITE_STATIC);
	sqlite3_bind_int(st, first + 2, t->ordinal);
	if (t->binary) {
		sqlite3_bind_text(st, first + 3, "", 0, SQLITE_STATIC);
		sqlite3_bind_blob64(st, first + 4, t->value, t->len,
				    SQLITE_STATIC);
	} else {
		sqlite3_bind_text64(st, first + 3, t->value, t->len,
				    SQLITE_STATIC, SQLITE_UTF8);
		sqlite3_bind_null(st, first + 4);
	}
}

/*
 * Bind the tracks columns from parameter @first, in the column order of
 * R_TRACK (W_UPDATE_TRACK numbers its parameters the same way, from 1).
 * A NULL @path binds NULL (W_UPDATE_TRACK: keep the stored path).
 */
static void bind_track(sqlite3_stmt *st, int first, int64_t id,
		       const struct item *it, const char *path)
{
	sqlite3_bind_int64(st, first, id);
	sqlite3_bind_text(st, first + 1, it->p.format, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, first + 2, (int64_t)it->p.audio_offset);
	sqlite3_bind_int64(st, first + 3, (int64_t)it->p.audio_length);
	bind_stamp(st, &it->after, first + 4);
	if (it->has_fp) {
		sqlite3_bind_text(st, first + 7, it->fp_hex, 64, SQLITE_STATIC);
	} else {
		sqlite3_bind_null(st, first + 7);
	}
	if (it->content_hash[0])
		sqlite3_bind_text(st, first + 8, it->content_hash, 64,
				  SQLITE_STATIC);
	else
		sqlite3_bind_null(st, first + 8);
	if (path)
		sqlite3_bind_text(st, first + 9, path, path == it->path ?
				  (int)it->pathlen : -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, first + 9);
}

static void bind_props(sqlite3_stmt *st, int first, int64_t id,
		       const struct mf_audio_props *pr)
{
	sqlite3_bind_int64(st, first, id);
	sqlite3_bind_int64(st, first + 1, pr->sample_rate);
	sqlite3_bind_int64(st, first + 2, pr->channels);
	sqlite3_bind_int64(st, first + 3, pr->bits_per_sample);
	sqlite3_bind_int64(st, first + 4,
			   (int64_t)(pr->total_samples & INT64_MAX));
	sqlite3_bind_int64(st, first + 5,
			   (int64_t)(pr->duration_ms & INT64_MAX));
	sqlite3_bind_int64(st, first + 6, pr->bitrate_kbps);
}

/* Bind row @r of an INSERT of kind @kind from parameter @first. */
static void bind_row(sqlite3_stmt *st, int kind, int first,
		     const struct row_ref *r)
{
	const struct probe *p = &r->it->p;
	const struct probe_block *b = NULL;

	switch (kind) {
	case R_TRACK:
		bind_track(st, first, r->id, r->it, r->it->path);
		sqlite3_bind_int64(st, first + 10, (int64_t)time(NULL));
		return;
	case R_TAG:
		bind_tag(st, first, r->id, &p->tags[r->idx]);
		return;
	case R_PROPS:
		bind_props(st, first, r->id, &p->props);
		return;
	case R_CHANGE:
		sqlite3_bind_int64(st, first, r->id);
		return;
	default:
		b = &p->blocks[r->idx];
		sqlite3_bind_int64(st, first, r->id);
		if (kind == R_STRUCT)
			sqlite3_bind_text(st, first + 1,
					  block_kind_sql(b->kind), -1,
					  SQLITE_STATIC);
		else
			sqlite3_bind_text(st, first + 1, b->kind,
					  (int)b->kindlen, SQLITE_STATIC);
		sqlite3_bind_int(st, first + 2, r->ordinal);
		sqlite3_bind_blob64(st, first + 3, b->data, b->len,
				    SQLITE_STATIC);
		return;
	}
}

/*
 * Insert the @n rows @refs with the INSERTs of kind @kind, in as few
 * statements as the shapes allow (64 + 32 + ... rows). Returns 0 or a
 * negative errno: -EINVAL when a CHECK or constraint refused a row (that
 * statement wrote nothing; earlier ones stay written).
 */
static int write_rows(struct scan *sc, int kind, const struct row_ref *refs,
		      size_t n)
{
	int ncols = row_sql[kind].ncols;

	for (size_t done = 0; done < n;) {
		unsigned shape = ROW_SHAPES - 1;
		sqlite3_stmt *st;
		size_t rows;
		int ret;

		while (((size_t)1 << shape) > n - done)
			shape--;
		rows = (size_t)1 << shape;
		st = rows_stmt(sc, kind, shape);
		if (!st)
			return -EIO;
		for (size_t k = 0; k < rows; k++)
			bind_row(st, kind, (int)k * ncols + 1, &refs[done + k]);
		ret = step_done(sc, st);
		if (ret < 0)
			return ret;
		done += rows;
	}
	return 0;
}

/* The ordinal of block @i among the blocks of its kind. */
static int block_ordinal(const struct probe *p, size_t i)
{
	int n = 0;

	for (size_t j = 0; j < i; j++)
		if (strcmp(p->blocks[j].kind, p->blocks[i].kind) == 0)
			n++;
	return n;
}

/* Does block @i of @p go to the table of kind @kind (R_STRUCT/R_FBLOCK)? */
static bool block_is(const struct probe *p, size_t i, int kind)
{
	return scan_core_block(p->blocks[i].kind) == (kind == R_STRUCT);
}

/*
 * Write the rows of kind @kind of the @n tracks @items, track i under id
 * @base + i: every tag (R_TAG), every STREAMINFO/SEEKTABLE (R_STRUCT) or
 * other structural block (R_FBLOCK), the audio properties (R_PROPS), the
 * tracks row itself (R_TRACK) or its changelog entry (R_CHANGE). Returns
 * what write_rows() does, or -ENOMEM.
 */
static int write_kind(struct scan *sc, int kind,
		      const struct item *const *items, size_t n, int64_t base)
{
	size_t nrefs = 0, k = 0;
	struct row_ref *r;

	for (size_t g = 0; g < n; g++) {
		const struct probe *p = &items[g]->p;

		nrefs += kind == R_TRACK || kind == R_CHANGE ? 1 :
			 kind == R_TAG ? p->ntags :
			 kind == R_PROPS ? p->have_props : p->nblocks;
	}
	if (!nrefs)
		return 0;
	r = mf_array_grow(sc->refs, &sc->cap_refs, nrefs, sizeof(*r));
	if (!r)
		return -ENOMEM;
	sc->refs = r;
	for (size_t g = 0; g < n; g++) {
		const struct probe *p = &items[g]->p;
		struct row_ref ref = { .id = base + (int64_t)g, .it = items[g] };

		if (kind == R_TRACK || kind == R_CHANGE ||
		    (kind == R_PROPS && p->have_props)) {
			r[k++] = ref;
		} else if (kind == R_TAG) {
			for (ref.idx = 0; ref.idx < p->ntags; ref.idx++)
				r[k++] = ref;
		} else if (kind == R_STRUCT || kind == R_FBLOCK) {
			for (ref.idx = 0; ref.idx < p->nblocks; ref.idx++) {
				if (!block_is(p, ref.idx, kind))
					continue;
				ref.ordinal = block_ordinal(p, ref.idx);
				r[k++] = ref;
			}
		}
	}
	return write_rows(sc, kind, r, k);
}

/*
 * Append one track_changes entry for each of the @n tracks @items (ids
 * @base + i) and prune the ring, as tracks_log_insert/_version and
 * track_changes_prune would (see the header comment).
 */
static int log_changes(struct scan *sc, const struct item *const *items,
		       size_t n, int64_t base)
{
	int ret = write_kind(sc, R_CHANGE, items, n, base);

	return ret < 0 ? ret : step_done(sc, sc->stmt[W_PRUNE_CHANGES]);
}

/* Tags one row at a time, skipping the rows a CHECK refuses. */
static int write_tags_each(struct scan *sc, int64_t id, const struct item *it)
{
	sqlite3_stmt *st = sc->rows[R_TAG][0];
	int ret;

	for (size_t i = 0; i < it->p.ntags; i++) {
		bind_tag(st, 1, id, &it->p.tags[i]);
		ret = step_done(sc, st);
		if (ret == -EINVAL) {
			/* a CHECK refused it (oversize value): skip that tag */
			mf_warn("scan", "'%s': tag '%s' not stored (too large or "
				"malformed)", it->path, it->p.tags[i].key);
			continue;
		}
		if (ret < 0)
			return ret;
	}
	return 0;
}

static int write_tags(struct scan *sc, int64_t id, const struct item *it,
		      bool trim)
{
	int ret = write_kind(sc, R_TAG, &it, 1, id);

	/* a CHECK refused a row: again row by row, skipping it (the rows
	 * already written are upserted to the values they have) */
	if (ret == -EINVAL)
		ret = write_tags_each(sc, id, it);
	if (ret < 0)
		return ret;
	if (trim)
		return trim_tags(sc, id, &it->p);
	return 0;
}

static bool probe_has_block_at(const struct probe *p, const char *kind,
			       int ordinal)
{
	int n = 0;

	for (size_t j = 0; j < p->nblocks; j++)
		if (strcmp(p->blocks[j].kind, kind) == 0 && n++ == ordinal)
			return true;
	return false;
}

static bool keep_fblock(const void *ctx, const char *kind, int ordinal)
{
	return probe_has_block_at(ctx, kind, ordinal);
}

/* Delete the format_blocks rows of @id that @p no longer reports. */
static int trim_fblocks(struct scan *sc, int64_t id, const struct probe *p)
{
	return trim_rows(sc, id, W_LIST_FBLOCKS, W_DELETE_FBLOCK, keep_fblock,
			 p);
}

/*
 * The core blocks (mf_format_core_blocks(): FLAC's STREAMINFO and
 * SEEKTABLE) go to the structural_blocks table (one of each), every other
 * kind to format_blocks with an ordinal per kind;
 * then the audio properties. With @trim, stored blocks the probe no
 * longer reports are deleted.
 */
static int write_blocks(struct scan *sc, int64_t id, const struct item *it,
			bool trim)
{
	const struct probe *p = &it->p;
	size_t ncore;
	const struct mf_core_block *core = mf_format_core_blocks(&ncore);
	int ret;

	ret = write_kind(sc, R_STRUCT, &it, 1, id);
	if (!ret)
		ret = write_kind(sc, R_FBLOCK, &it, 1, id);
	if (!ret)
		ret = write_kind(sc, R_PROPS, &it, 1, id);
	if (ret < 0 || !trim)
		return ret;
	for (size_t k = 0; k < ncore; k++) {
		sqlite3_stmt *st = sc->stmt[W_DELETE_STRUCT];

		if (probe_has_block_at(p, core[k].kind, 0))
			continue;
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_text(st, 2, core[k].store_kind, -1,
				  SQLITE_STATIC);
		ret = step_done(sc, st);
		if (ret < 0)
			return ret;
	}
	return trim_fblocks(sc, id, p);
}

/* A new track on its own, under the next id, and its changelog entry. */
static int write_new(struct scan *sc, const struct item *it)
{
	int64_t id = sc->next_id;
	int ret;

	ret = write_kind(sc, R_TRACK, &it, 1, id);
	if (!ret)
		ret = write_tags(sc, id, it, false);
	if (!ret)
		ret = write_pics(sc, id, it, false);
	if (!ret)
		ret = write_blocks(sc, id, it, false);
	if (!ret)
		ret = log_changes(sc, &it, 1, id);
	if (ret < 0)
		return ret;
	sc->next_id = id + 1;
	return 0;
}

/*
 * A changed (@newpath NULL) or moved track @id: one UPDATE (one bump),
 * then blocks, and with --reimport-tags or --reingest tags and art, where
 * they differ.
 * Returns 1 when the row is gone (deleted by someone else meanwhile).
 */
static int write_changed(struct scan *sc, int64_t id, const struct item *it,
			 const char *newpath)
{
	sqlite3_stmt *st = sc->stmt[W_UPDATE_TRACK];
	int ret;

	bind_track(st, 1, id, it, newpath);
	ret = step_done(sc, st);
	if (ret < 0)
		return ret;
	if (sqlite3_changes(sc->db) == 0)
		return 1;
	ret = log_changes(sc, &it, 1, id);
	if (!ret)
		ret = write_blocks(sc, id, it, true);
	if (!ret && (sc->opts->reimport_tags || sc->opts->reingest)) {
		ret = write_tags(sc, id, it, true);
		if (!ret)
			ret = write_pics(sc, id, it, true);
	}
	return ret;
}

/*
 * The stored rows with fingerprint @fp whose file the walk has not
 * reached and that are gone from disk, not already claimed by another
 * move: sets *@found to the one such row and returns 1, returns 0 when
 * there is none, 2 when there are several.
 */
static int vanished_with(struct scan *sc, const uint8_t fp[32],
			 struct stamp **found)
{
	struct stamp *e;
	struct stat sb;

	*found = NULL;
	for (e = stamp_map_fp_first(&sc->tracks, fp); e;
	     e = stamp_map_fp_next(&sc->tracks, e)) {
		if (e->claimed || __atomic_load_n(&e->seen, __ATOMIC_RELAXED))
			continue;
		if (lstat(e->path, &sb) == 0 ||
		    (errno != ENOENT && errno != ENOTDIR))
			continue;	/* still there (or unknowable) */
		if (*found)
			return 2;
		*found = e;
	}
	return *found ? 1 : 0;
}

/*
 * The stored row @it moved from: exactly one vanished row with the same
 * fingerprint (or, for a row an earlier build fingerprinted, the same
 * legacy Ogg fingerprint). NULL when none or several: import as new.
 */
static struct stamp *find_move(struct scan *sc, const struct item *it)
{
	struct stamp *found;
	int n;

	if (!it->has_fp)
		return NULL;
	n = vanished_with(sc, it->fp, &found);
	if (n == 0 && it->has_fp_legacy)
		n = vanished_with(sc, it->fp_legacy, &found);
	return n == 1 ? found : NULL;
}

/* Record @it in scan_failures (no commit: the caller counts the file). */
static int record_failure(struct scan *sc, const struct item *it)
{
	sqlite3_stmt *st = sc->stmt[W_UPSERT_FAILURE];
	int ret;

	mf_err(NULL, "'%s': %s", it->path, it->why[0] ? it->why : "failed");
	stat_add(&sc->st->failed, 1);
	ret = tx_begin(sc);
	if (ret < 0)
		return ret;
	sqlite3_bind_text(st, 1, it->path, -1, SQLITE_STATIC);
	bind_stamp(st, &it->sb, 2);
	sqlite3_bind_text(st, 5, it->why[0] ? it->why : "failed", -1,
			  SQLITE_STATIC);
	return step_done(sc, st);
}

static int delete_failure(struct scan *sc, const struct item *it)
{
	sqlite3_stmt *st = sc->stmt[W_DELETE_FAILURE];

	sqlite3_bind_text(st, 1, it->path, -1, SQLITE_STATIC);
	return step_done(sc, st);
}

/*
 * Write @it on its own, in its own savepoint: a refresh (it->old_id), a
 * move from @from, or an import. When a CHECK refuses the file, nothing
 * of it stays and it is recorded as failed. Returns 0 or a negative
 * errno (fatal: the transaction is lost).
 */
/*---- groups and the writer thread -----------------------------------*/

static int write_one(struct scan *sc, struct item *it, struct stamp *from)
{
	const char *what;
	int ret;

	ret = step_done(sc, sc->stmt[W_SAVEPOINT]);
	if (ret < 0)
		return ret;
	if (it->old_id) {
		ret = write_changed(sc, it->old_id, it, NULL);
		what = "refreshed";
	} else if (from) {
		ret = write_changed(sc, from->id, it, it->path);
		what = "moved";
	} else {
		ret = 1;
		what = "imported";
	}
	if (ret == 1) {
		from = NULL;
		what = "imported";
		ret = write_new(sc, it);
	}
	if (!ret && it->was_failure)
		ret = delete_failure(sc, it);
	if (ret < 0) {
		/* a CHECK refused this file's shape: a failure, not fatal */
		if (ret == -EINVAL)
			snprintf(it->why, sizeof(it->why), "cannot store: %s",
				 sqlite3_errmsg(sc->db));
		step_done(sc, sc->stmt[W_ROLLBACK_TO]);
		step_done(sc, sc->stmt[W_RELEASE]);
		return ret == -EINVAL ? record_failure(sc, it) : ret;
	}
	ret = step_done(sc, sc->stmt[W_RELEASE]);
	if (ret < 0)
		return ret;
	if (from) {
		from->claimed = true;
		stat_add(&sc->st->moved, 1);
		mf_info("scan", "moved '%s' -> '%s'", from->path, it->path);
	} else {
		stat_add(it->old_id && strcmp(what, "refreshed") == 0 ?
			 &sc->st->changed : &sc->st->new, 1);
		mf_info("scan", "%s '%s'", what, it->path);
	}
	return 0;
}

static void group_clear(struct scan *sc)
{
	for (size_t g = 0; g < sc->ngroup; g++)
		item_free(sc->group[g]);
	sc->ngroup = 0;
}

/*
 * Write the group of new tracks in one savepoint: their tracks rows, then
 * every other table's rows, one multi-row INSERT per table (pictures one
 * by one, for deduplication), then their changelog entries. A refused row
 * rolls the group back and writes it file by file with write_one(), which
 * skips or records what is refused. Frees the group's items. Returns 0 or
 * a negative errno (fatal).
 */
static int group_flush(struct scan *sc)
{
	static const int kinds[] = { R_TAG, R_STRUCT, R_FBLOCK, R_PROPS };
	const struct item *const *items = (const struct item *const *)sc->group;
	int64_t base = sc->next_id;
	size_t n = sc->ngroup;
	int ret;

	if (!n)
		return 0;
	ret = step_done(sc, sc->stmt[W_SAVEPOINT]);
	if (!ret)
		ret = write_kind(sc, R_TRACK, items, n, base);
	for (size_t g = 0; !ret && g < n; g++)
		ret = write_pics(sc, base + (int64_t)g, items[g], false);
	for (size_t k = 0; !ret && k < sizeof(kinds) / sizeof(kinds[0]); k++)
		ret = write_kind(sc, kinds[k], items, n, base);
	for (size_t g = 0; !ret && g < n; g++)
		if (items[g]->was_failure)
			ret = delete_failure(sc, items[g]);
	if (!ret)
		ret = log_changes(sc, items, n, base);
	if (ret == -EINVAL) {
		mf_debug("scan", "a group of %zu new files was refused (%s): "
			 "writing them one by one", n, sqlite3_errmsg(sc->db));
		step_done(sc, sc->stmt[W_ROLLBACK_TO]);
		ret = step_done(sc, sc->stmt[W_RELEASE]);
		for (size_t g = 0; !ret && g < n; g++)
			ret = write_one(sc, sc->group[g], NULL);
	} else if (!ret) {
		ret = step_done(sc, sc->stmt[W_RELEASE]);
		if (!ret) {
			sc->next_id = base + (int64_t)n;
			stat_add(&sc->st->new, n);
			for (size_t g = 0; g < n; g++)
				mf_info("scan", "imported '%s'", items[g]->path);
		}
	}
	group_clear(sc);
	return ret;
}

/*
 * Write one probed item, or queue it with the group of new tracks (then
 * the writer owns it: *@pit is set to NULL). Returns 0 or a negative
 * errno (fatal).
 */
static int write_item(struct scan *sc, struct item **pit)
{
	struct item *it = *pit;
	struct stamp *from = NULL;
	int ret;

	if (it->dropped)
		return 0;
	if (it->err) {
		ret = record_failure(sc, it);
	} else {
		ret = tx_begin(sc);
		if (!ret && !it->old_id)
			from = find_move(sc, it);
		if (ret) {
			/* nothing */
		} else if (!it->old_id && !from) {
			sc->group[sc->ngroup++] = it;
			*pit = NULL;
			if (sc->ngroup == GROUP_MAX)
				ret = group_flush(sc);
		} else {
			ret = write_one(sc, it, from);
		}
	}
	if (ret < 0)
		return ret;
	return tx_maybe_commit(sc);
}

void *scan_writer(void *arg)
{
	struct scan *sc = arg;
	int ret = 0, r2;

	for (;;) {
		int timeout = -1, r;
		void *v;

		if (sc->in_tx) {
			double left = batch_ms(sc) -
				      scan_elapsed_ms(&sc->batch_start);

			timeout = left > 0 ? (int)left + 1 : 0;
		}
		r = mf_queue_pop(sc->results, &v, timeout);
		if (r == -ETIMEDOUT) {
			if (!ret)
				ret = tx_commit(sc);
			continue;
		}
		if (r < 0)
			break;	/* closed and drained */
		for (size_t i = 0; i < ((struct item_batch *)v)->n && !ret; i++)
			ret = write_item(sc, &((struct item_batch *)v)->v[i]);
		item_batch_free(v);
		if (ret < 0)
			__atomic_store_n(&sc->fatal, 1, __ATOMIC_RELAXED);
	}
	if (!ret)
		ret = tx_commit(sc);
	if (ret < 0)
		tx_rollback(sc);
	r2 = writer_restore(sc);	/* for pruning and the run record */
	sc->writer_ret = ret ? ret : r2;
	{
		struct timespec cpu;

		if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu) == 0)
			mf_debug("scan", "writer thread: %.3f s CPU",
				 (double)cpu.tv_sec + (double)cpu.tv_nsec / 1e9);
	}
	return NULL;
}
