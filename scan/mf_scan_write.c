/* SPDX-License-Identifier: MIT */
/*
 * mf_scan_write - the scanner's single writer thread: takes probed items
 * from the results queue and commits them in batches (opts->batch_files
 * files or opts->batch_ms ms per transaction, one savepoint per file).
 *
 * Changelog economy (schema/0002-changelog.sql): every row inserted into
 * tags, track_art, structural_blocks or format_blocks fires a trigger
 * that bumps the owning tracks row, and every bump appends to the
 * 8192-entry track_changes ring. A new track is therefore written
 * children first, under the id its tracks row will get, with foreign keys
 * deferred to the commit (PRAGMA defer_foreign_keys): the bump triggers
 * find no tracks row yet and do nothing, and the final INSERT INTO tracks
 * appends the one changelog entry the track needs. A refreshed or moved
 * track gets one bump from its UPDATE; its blocks, and with
 * --reimport-tags its tags and art, are upserted only where they differ,
 * so unchanged rows add nothing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mf_array.h"
#include "mf_log.h"
#include "mf_queue.h"
#include "mf_scan_int.h"
#include "mf_banned.h"

enum {
	W_INSERT_TRACK,
	W_UPDATE_TRACK,
	W_UPSERT_TAG,
	W_LIST_TAGS,
	W_DELETE_TAG,
	W_FIND_ART,
	W_INSERT_ART,
	W_INSERT_ART_PROPS,
	W_UPSERT_TRACK_ART,
	W_TRIM_TRACK_ART,
	W_UPSERT_STRUCT,
	W_DELETE_STRUCT,
	W_UPSERT_FBLOCK,
	W_LIST_FBLOCKS,
	W_DELETE_FBLOCK,
	W_UPSERT_PROPS,
	W_UPSERT_FAILURE,
	W_DELETE_FAILURE,
	W_NEXT_ID,
	W_SAVEPOINT,
	W_RELEASE,
	W_ROLLBACK_TO,
	W_COUNT
};

static const char *const writer_sql[W_COUNT] = {
	[W_INSERT_TRACK] =
		"INSERT INTO tracks (id, backing_path, format, audio_offset, "
		"audio_length, backing_size, backing_mtime_ns, backing_ctime_ns, "
		"fingerprint, content_hash) VALUES (?1, ?10, ?2, ?3, ?4, ?5, ?6, "
		"?7, ?8, ?9)",
	[W_UPDATE_TRACK] =
		"UPDATE tracks SET backing_path = coalesce(?10, backing_path), "
		"format = ?2, audio_offset = ?3, audio_length = ?4, "
		"backing_size = ?5, backing_mtime_ns = ?6, backing_ctime_ns = ?7, "
		"fingerprint = ?8, content_hash = coalesce(?9, content_hash), "
		"content_version = content_version + 1, updated_at = unixepoch() "
		"WHERE id = ?1",
	[W_UPSERT_TAG] =
		"INSERT INTO tags (track_id, key, ordinal, value, value_blob) "
		"VALUES (?, ?, ?, ?, ?) ON CONFLICT (track_id, key, ordinal) DO "
		"UPDATE SET value = excluded.value, value_blob = excluded.value_blob "
		"WHERE value IS NOT excluded.value "
		"OR value_blob IS NOT excluded.value_blob",
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
	[W_UPSERT_STRUCT] =
		"INSERT INTO structural_blocks (track_id, kind, data) "
		"VALUES (?, ?, ?) ON CONFLICT (track_id, kind) DO UPDATE SET "
		"data = excluded.data WHERE data IS NOT excluded.data",
	[W_DELETE_STRUCT] =
		"DELETE FROM structural_blocks WHERE track_id = ? AND kind = ?",
	[W_UPSERT_FBLOCK] =
		"INSERT INTO format_blocks (track_id, kind, ordinal, data) "
		"VALUES (?, ?, ?, ?) ON CONFLICT (track_id, kind, ordinal) DO "
		"UPDATE SET data = excluded.data WHERE data IS NOT excluded.data",
	[W_LIST_FBLOCKS] =
		"SELECT kind, ordinal FROM format_blocks WHERE track_id = ?",
	[W_DELETE_FBLOCK] =
		"DELETE FROM format_blocks WHERE track_id = ? AND kind = ? "
		"AND ordinal = ?",
	[W_UPSERT_PROPS] =
		"INSERT INTO track_props (track_id, sample_rate, channels, "
		"bits_per_sample, total_samples, duration_ms, bitrate_kbps) "
		"VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (track_id) DO UPDATE SET "
		"sample_rate = excluded.sample_rate, channels = excluded.channels, "
		"bits_per_sample = excluded.bits_per_sample, "
		"total_samples = excluded.total_samples, "
		"duration_ms = excluded.duration_ms, "
		"bitrate_kbps = excluded.bitrate_kbps",
	[W_UPSERT_FAILURE] =
		"INSERT OR REPLACE INTO scan_failures (path, backing_size, "
		"backing_mtime_ns, backing_ctime_ns, reason) VALUES (?, ?, ?, ?, ?)",
	[W_DELETE_FAILURE] = "DELETE FROM scan_failures WHERE path = ?",
	[W_NEXT_ID] =
		"SELECT max(coalesce((SELECT seq FROM sqlite_sequence "
		"WHERE name = 'tracks'), 0), coalesce((SELECT max(id) FROM "
		"tracks), 0)) + 1",
	/* prepared once: parsing them per file showed in profiles */
	[W_SAVEPOINT] = "SAVEPOINT track",
	[W_RELEASE] = "RELEASE track",
	[W_ROLLBACK_TO] = "ROLLBACK TO track",
};

int writer_prepare(struct scan *sc)
{
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
	return 0;
}

void writer_finalize(struct scan *sc)
{
	for (int i = 0; i < SCAN_SQL_MAX; i++) {
		sqlite3_finalize(sc->stmt[i]);
		sc->stmt[i] = NULL;
	}
	for (int i = 0; i <= TAG_CHUNK; i++) {
		sqlite3_finalize(sc->tag_rows[i]);
		sc->tag_rows[i] = NULL;
	}
}

/*
 * The tag upsert of W_UPSERT_TAG for @n rows in one statement (prepared
 * on first use): a file's tags cost one statement per TAG_CHUNK rows
 * instead of one per row, which halved the writer's time per tag.
 */
static sqlite3_stmt *tag_rows_stmt(struct scan *sc, size_t n)
{
	char sql[1024];
	size_t len;

	if (sc->tag_rows[n])
		return sc->tag_rows[n];
	len = (size_t)snprintf(sql, sizeof(sql), "INSERT INTO tags (track_id, "
			       "key, ordinal, value, value_blob) VALUES ");
	for (size_t i = 0; i < n && len < sizeof(sql); i++)
		len += (size_t)snprintf(sql + len, sizeof(sql) - len,
					"%s(?, ?, ?, ?, ?)", i ? ", " : "");
	if (len < sizeof(sql))
		len += (size_t)snprintf(sql + len, sizeof(sql) - len,
			" ON CONFLICT (track_id, key, ordinal) DO UPDATE SET "
			"value = excluded.value, value_blob = excluded.value_blob "
			"WHERE value IS NOT excluded.value "
			"OR value_blob IS NOT excluded.value_blob");
	if (len >= sizeof(sql) ||
	    sqlite3_prepare_v3(sc->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
			       &sc->tag_rows[n], NULL) != SQLITE_OK)
		return NULL;
	return sc->tag_rows[n];
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
	/* reset by every COMMIT: see the header comment */
	ret = mf_store_exec(sc->store, "PRAGMA defer_foreign_keys = ON");
	if (ret < 0)
		return ret;
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
	ret = mf_store_exec(sc->store, "COMMIT");
	if (ret < 0)
		return ret;
	sc->in_tx = false;
	return 0;
}

static void tx_rollback(struct scan *sc)
{
	if (!sc->in_tx)
		return;
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
	unsigned files = sc->opts->batch_files ? sc->opts->batch_files : 256;

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

static void hex_fp(const uint8_t fp[32], char out[65])
{
	static const char hex[] = "0123456789abcdef";

	for (int i = 0; i < 32; i++) {
		out[2 * i] = hex[fp[i] >> 4];
		out[2 * i + 1] = hex[fp[i] & 15];
	}
	out[64] = '\0';
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
		sqlite3_bind_int64(st, 3, pic->width);
		sqlite3_bind_int64(st, 4, pic->height);
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
	sqlite3_bind_text(st, first + 1, t->key, -1, SQLITE_STATIC);
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

/* Tags one row at a time, skipping the rows a CHECK refuses. */
static int write_tags_each(struct scan *sc, int64_t id, const struct item *it,
			   size_t from, size_t to)
{
	sqlite3_stmt *st = sc->stmt[W_UPSERT_TAG];
	int ret;

	for (size_t i = from; i < to; i++) {
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
	const struct probe *p = &it->p;
	int ret;

	for (size_t i = 0; i < p->ntags; i += TAG_CHUNK) {
		size_t n = p->ntags - i < TAG_CHUNK ? p->ntags - i : TAG_CHUNK;
		sqlite3_stmt *st = n > 1 ? tag_rows_stmt(sc, n) : NULL;

		if (st) {
			for (size_t k = 0; k < n; k++)
				bind_tag(st, (int)(5 * k + 1), id, &p->tags[i + k]);
			ret = step_done(sc, st);
			/* a CHECK refused a row: again row by row, skipping it */
			if (ret == -EINVAL)
				ret = write_tags_each(sc, id, it, i, i + n);
		} else {
			ret = write_tags_each(sc, id, it, i, i + n);
		}
		if (ret < 0)
			return ret;
	}
	if (trim)
		return trim_tags(sc, id, p);
	return 0;
}

static bool is_core_struct(const char *kind)
{
	return strcmp(kind, "streaminfo") == 0 || strcmp(kind, "seektable") == 0;
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
 * FLAC STREAMINFO/SEEKTABLE go to the core structural_blocks table (one
 * of each), every other kind to format_blocks with an ordinal per kind;
 * then the audio properties. With @trim, stored blocks the probe no
 * longer reports are deleted.
 */
static int write_blocks(struct scan *sc, int64_t id, const struct probe *p,
			bool trim)
{
	bool have_si = false, have_st = false;
	sqlite3_stmt *st;
	int ret;

	for (size_t i = 0; i < p->nblocks; i++) {
		const struct probe_block *b = &p->blocks[i];

		if (is_core_struct(b->kind)) {
			if (strcmp(b->kind, "streaminfo") == 0)
				have_si = true;
			else
				have_st = true;
			st = sc->stmt[W_UPSERT_STRUCT];
			sqlite3_bind_int64(st, 1, id);
			sqlite3_bind_text(st, 2, b->kind, -1, SQLITE_STATIC);
			sqlite3_bind_blob64(st, 3, b->data, b->len,
					    SQLITE_STATIC);
		} else {
			st = sc->stmt[W_UPSERT_FBLOCK];
			sqlite3_bind_int64(st, 1, id);
			sqlite3_bind_text(st, 2, b->kind, -1, SQLITE_STATIC);
			sqlite3_bind_int(st, 3, block_ordinal(p, i));
			sqlite3_bind_blob64(st, 4, b->data, b->len,
					    SQLITE_STATIC);
		}
		ret = step_done(sc, st);
		if (ret < 0)
			return ret;
	}
	if (trim) {
		static const char *const kinds[] = { "streaminfo", "seektable" };
		const bool have[] = { have_si, have_st };

		for (int k = 0; k < 2; k++) {
			if (have[k])
				continue;
			st = sc->stmt[W_DELETE_STRUCT];
			sqlite3_bind_int64(st, 1, id);
			sqlite3_bind_text(st, 2, kinds[k], -1, SQLITE_STATIC);
			ret = step_done(sc, st);
			if (ret < 0)
				return ret;
		}
		ret = trim_fblocks(sc, id, p);
		if (ret < 0)
			return ret;
	}
	if (p->have_props) {
		st = sc->stmt[W_UPSERT_PROPS];
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int64(st, 2, p->props.sample_rate);
		sqlite3_bind_int64(st, 3, p->props.channels);
		sqlite3_bind_int64(st, 4, p->props.bits_per_sample);
		sqlite3_bind_int64(st, 5, (int64_t)(p->props.total_samples &
						    INT64_MAX));
		sqlite3_bind_int64(st, 6, (int64_t)(p->props.duration_ms &
						    INT64_MAX));
		sqlite3_bind_int64(st, 7, p->props.bitrate_kbps);
		ret = step_done(sc, st);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* Bind the tracks columns shared by W_INSERT_TRACK and W_UPDATE_TRACK. */
static void bind_track(sqlite3_stmt *st, int64_t id, const struct item *it,
		       const char *path, char fp[65])
{
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, it->p.format, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (int64_t)it->p.audio_offset);
	sqlite3_bind_int64(st, 4, (int64_t)it->p.audio_length);
	bind_stamp(st, &it->after, 5);
	if (it->has_fp) {
		hex_fp(it->fp, fp);
		sqlite3_bind_text(st, 8, fp, 64, SQLITE_STATIC);
	} else {
		sqlite3_bind_null(st, 8);
	}
	if (it->content_hash[0])
		sqlite3_bind_text(st, 9, it->content_hash, 64, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 9);
	if (path)
		sqlite3_bind_text(st, 10, path, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 10);
}

/* A new track: children first under the next id, the tracks row last. */
static int write_new(struct scan *sc, const struct item *it)
{
	int64_t id = sc->next_id;
	char fp[65];
	int ret;

	ret = write_tags(sc, id, it, false);
	if (!ret)
		ret = write_pics(sc, id, it, false);
	if (!ret)
		ret = write_blocks(sc, id, &it->p, false);
	if (ret < 0)
		return ret;
	bind_track(sc->stmt[W_INSERT_TRACK], id, it, it->path, fp);
	ret = step_done(sc, sc->stmt[W_INSERT_TRACK]);
	if (ret < 0)
		return ret;
	sc->next_id = id + 1;
	return 0;
}

/*
 * A changed (@newpath NULL) or moved track @id: one UPDATE (one bump),
 * then blocks, and with --reimport-tags tags and art, where they differ.
 * Returns 1 when the row is gone (deleted by someone else meanwhile).
 */
static int write_changed(struct scan *sc, int64_t id, const struct item *it,
			 const char *newpath)
{
	sqlite3_stmt *st = sc->stmt[W_UPDATE_TRACK];
	char fp[65];
	int ret;

	bind_track(st, id, it, newpath, fp);
	ret = step_done(sc, st);
	if (ret < 0)
		return ret;
	if (sqlite3_changes(sc->db) == 0)
		return 1;
	ret = write_blocks(sc, id, &it->p, true);
	if (!ret && sc->opts->reimport_tags) {
		ret = write_tags(sc, id, it, true);
		if (!ret)
			ret = write_pics(sc, id, it, true);
	}
	return ret;
}

/*
 * The stored row @it moved from: exactly one row with the same
 * fingerprint whose file the walk has not reached and that is gone from
 * disk, not already claimed by another move. NULL when none or several.
 */
static struct stamp *find_move(struct scan *sc, const struct item *it)
{
	struct stamp *e, *found = NULL;
	struct stat sb;

	if (!it->has_fp)
		return NULL;
	for (e = stamp_map_fp_first(&sc->tracks, it->fp); e;
	     e = stamp_map_fp_next(&sc->tracks, e)) {
		if (e->claimed || __atomic_load_n(&e->seen, __ATOMIC_RELAXED))
			continue;
		if (lstat(e->path, &sb) == 0 ||
		    (errno != ENOENT && errno != ENOTDIR))
			continue;	/* still there (or unknowable) */
		if (found)
			return NULL;	/* ambiguous: import as new */
		found = e;
	}
	return found;
}

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
	ret = step_done(sc, st);
	if (ret < 0)
		return ret;
	return tx_maybe_commit(sc);
}

static int write_item(struct scan *sc, struct item *it)
{
	struct stamp *from = NULL;
	const char *what;
	int ret;

	if (it->dropped)
		return 0;
	if (it->err)
		return record_failure(sc, it);
	ret = tx_begin(sc);
	if (ret < 0)
		return ret;
	ret = step_done(sc, sc->stmt[W_SAVEPOINT]);
	if (ret < 0)
		return ret;
	if (!it->old_id)
		from = find_move(sc, it);
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
	if (!ret && it->was_failure) {
		sqlite3_stmt *st = sc->stmt[W_DELETE_FAILURE];

		sqlite3_bind_text(st, 1, it->path, -1, SQLITE_STATIC);
		ret = step_done(sc, st);
	}
	if (ret < 0) {
		int r2;

		step_done(sc, sc->stmt[W_ROLLBACK_TO]);
		step_done(sc, sc->stmt[W_RELEASE]);
		if (ret != -EINVAL)
			return ret;
		/* a CHECK refused this file's shape: a failure, not fatal */
		snprintf(it->why, sizeof(it->why), "cannot store: %s",
			 sqlite3_errmsg(sc->db));
		r2 = record_failure(sc, it);
		return r2;
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
	return tx_maybe_commit(sc);
}

void *scan_writer(void *arg)
{
	struct scan *sc = arg;
	int ret = 0;

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
			ret = write_item(sc, ((struct item_batch *)v)->v[i]);
		item_batch_free(v);
		if (ret < 0)
			__atomic_store_n(&sc->fatal, 1, __ATOMIC_RELAXED);
	}
	if (!ret)
		ret = tx_commit(sc);
	if (ret < 0)
		tx_rollback(sc);
	sc->writer_ret = ret;
	{
		struct timespec cpu;

		if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu) == 0)
			mf_debug("scan", "writer thread: %.3f s CPU",
				 (double)cpu.tv_sec + (double)cpu.tv_nsec / 1e9);
	}
	return NULL;
}
