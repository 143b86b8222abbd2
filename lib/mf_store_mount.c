/* SPDX-License-Identifier: MIT */
/* mf_store_mount - the mount's store reads (see mf_store_mount.h). */
#include "mf_store_mount.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>

#include "mf_array.h"
#include "mf_log.h"

int mf_store_snapshot_begin(struct mf_store *s)
{
	return mf_store_exec(s, "BEGIN");
}

void mf_store_snapshot_end(struct mf_store *s)
{
	(void)mf_store_exec(s, "COMMIT");
}

int mf_store_changes_since(struct mf_store *s, int64_t from, int64_t **ids,
			   size_t *n, bool *gap, int64_t *head)
{
	sqlite3 *db = mf_store_db(s);
	sqlite3_stmt *st = NULL;
	int64_t minseq, *v = NULL;
	size_t nv = 0, cap = 0;
	int rc, ret = 0;

	*gap = false;
	*head = 0;
	if (ids) {
		*ids = NULL;
		*n = 0;
	}
	if (sqlite3_prepare_v2(db, "SELECT coalesce(min(seq), 0), "
			       "coalesce(max(seq), 0) FROM track_changes", -1,
			       &st, NULL) != SQLITE_OK)
		return -EIO;
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		return -EIO;
	}
	minseq = sqlite3_column_int64(st, 0);
	*head = sqlite3_column_int64(st, 1);
	sqlite3_finalize(st);
	st = NULL;
	if (*head < from || minseq > from + 1) {
		*gap = true;
		return 0;
	}
	if (!ids)
		return 0;
	if (sqlite3_prepare_v2(db, "SELECT DISTINCT track_id FROM "
			       "track_changes WHERE seq > ?", -1, &st,
			       NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_int64(st, 1, from);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t *nvv = mf_array_grow(v, &cap, nv + 1, sizeof(*v));

		if (!nvv) {
			ret = -ENOMEM;
			goto out;
		}
		v = nvv;
		v[nv++] = sqlite3_column_int64(st, 0);
	}
	if (rc != SQLITE_DONE) {
		ret = -EIO;
		goto out;
	}
	*ids = v;
	*n = nv;
	v = NULL;
out:
	sqlite3_finalize(st);
	free(v);
	return ret;
}

int mf_store_roots_each(struct mf_store *s,
			int (*fn)(void *ctx, const char *root), void *ctx)
{
	sqlite3 *db = mf_store_db(s);
	sqlite3_stmt *st = NULL;
	int rc, ret = 0;

	if (sqlite3_prepare_v2(db, "SELECT root FROM scan_roots", -1, &st,
			       NULL) != SQLITE_OK) {
		if (strncmp(sqlite3_errmsg(db), "no such table", 13) == 0)
			return 1;
		mf_warn("store", "cannot read the scanned roots: %s",
			sqlite3_errmsg(db));
		return -EIO;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *root = (const char *)sqlite3_column_text(st, 0);

		if (root && (ret = fn(ctx, root)) != 0)
			break;
	}
	if (!ret && rc != SQLITE_DONE) {
		mf_warn("store", "cannot read the scanned roots: %s",
			sqlite3_errmsg(db));
		ret = -EIO;
	}
	sqlite3_finalize(st);
	return ret;
}

int mf_store_backing_total(struct mf_store *s, uint64_t *bytes)
{
	sqlite3_stmt *st = NULL;
	int ret = -EIO;

	*bytes = 0;
	if (sqlite3_prepare_v2(mf_store_db(s), "SELECT total(backing_size) "
			       "FROM tracks", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW) {
		double t = sqlite3_column_double(st, 0);

		*bytes = t > 0 ? (uint64_t)t : 0;
		ret = 0;
	}
	sqlite3_finalize(st);
	return ret;
}

/*---- rows of rendered paths -------------------------------------------*/

/*
 * Column 7 is the container's own extension when it differs from the
 * format's (an .m4b audiobook is stored as format m4a with an "mp4:ext"
 * block, docs/store.md); looked up only for m4a rows so that the start-up
 * walk stays one join. A store without format_blocks (made by another
 * tool) gets NULL there; one with neither extension table (a 1.x store
 * opened read-only) has no properties (0).
 */
#define TRACK_COLS_(EXT) "t.id, t.format, coalesce(p.duration_ms, 0), " \
	"coalesce(p.bitrate_kbps, 0), coalesce(p.sample_rate, 0), " \
	"coalesce(p.channels, 0), coalesce(p.bits_per_sample, 0), " EXT \
	", t.content_version FROM tracks t LEFT JOIN track_props p ON " \
	"p.track_id = t.id"
#define TRACK_COLS TRACK_COLS_("CASE WHEN t.format = 'm4a' THEN (SELECT " \
	"CAST(data AS TEXT) FROM format_blocks WHERE track_id = t.id AND " \
	"kind = 'mp4:ext' AND ordinal = 0) END")
#define TRACK_COLS_CORE TRACK_COLS_("NULL")
#define TRACK_COLS_BARE "t.id, t.format, 0, 0, 0, 0, 0, NULL, " \
	"t.content_version FROM tracks t"

struct mf_store_paths {
	struct mf_store *s;
	size_t nkeys;
	sqlite3_stmt *all_t, *all_g, *one_t, *one_g;
};

/* Prepare "SELECT TRACK_COLS @tail", without the extension tables that
 * are absent. */
static int prepare_tracks(sqlite3 *db, const char *tail, sqlite3_stmt **st)
{
	static const char *const cols[] = { TRACK_COLS, TRACK_COLS_CORE,
					    TRACK_COLS_BARE };
	char sql[1024];
	int rc = SQLITE_ERROR;

	for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]); i++) {
		snprintf(sql, sizeof(sql), "SELECT %s%s", cols[i], tail);
		rc = sqlite3_prepare_v2(db, sql, -1, st, NULL);
		if (rc == SQLITE_OK)
			break;
	}
	return rc;
}

static void path_row(sqlite3_stmt *st, struct mf_path_row *row)
{
	row->id = sqlite3_column_int64(st, 0);
	row->format = (const char *)sqlite3_column_text(st, 1);
	row->duration_ms = sqlite3_column_int64(st, 2);
	row->bitrate_kbps = sqlite3_column_int64(st, 3);
	row->sample_rate = sqlite3_column_int64(st, 4);
	row->channels = sqlite3_column_int64(st, 5);
	row->bits_per_sample = sqlite3_column_int64(st, 6);
	row->own_ext = (const char *)sqlite3_column_text(st, 7);
	row->content_version = sqlite3_column_int64(st, 8);
}

/* The tag row of @st (key in column 1, value in 2) to fns->tag. */
static int path_tag(sqlite3_stmt *st, const struct mf_path_fns *fns,
		    void *ctx)
{
	const char *key = (const char *)sqlite3_column_text(st, 1);
	const char *v = (const char *)sqlite3_column_text(st, 2);

	if (!key || !v)
		return 0;
	return fns->tag(ctx, key, v, (size_t)sqlite3_column_bytes(st, 2));
}

int mf_store_paths_new(struct mf_store *s, const char *const *keys, size_t n,
		       struct mf_store_paths **out)
{
	sqlite3 *db = mf_store_db(s);
	struct mf_store_paths *p = calloc(1, sizeof(*p));
	char *in = NULL, *sql_all = NULL, *sql_one = NULL;
	size_t inlen = 0;
	FILE *mem;
	int ret = -ENOMEM;

	*out = NULL;
	if (!p)
		return -ENOMEM;
	p->s = s;
	p->nkeys = n;
	/* lower(key) IN (lower(?2), lower(?3), ...): the template's keys */
	mem = open_memstream(&in, &inlen);
	if (!mem)
		goto fail;
	for (size_t i = 0; i < n; i++)
		fprintf(mem, i ? ", lower(?%zu)" : "lower(?%zu)", i + 2);
	if (fclose(mem) != 0)
		goto fail;
	if (asprintf(&sql_all, "SELECT track_id, key, value FROM tags WHERE "
		     "value_blob IS NULL AND lower(key) IN (%s) AND ?1 IS NULL "
		     "ORDER BY track_id, key, ordinal", in) < 0) {
		sql_all = NULL;
		goto fail;
	}
	if (asprintf(&sql_one, "SELECT track_id, key, value FROM tags WHERE "
		     "track_id = ?1 AND value_blob IS NULL AND lower(key) IN (%s) "
		     "ORDER BY key, ordinal", in) < 0) {
		sql_one = NULL;
		goto fail;
	}
	ret = -EIO;
	if (prepare_tracks(db, " ORDER BY t.id", &p->all_t) != SQLITE_OK ||
	    prepare_tracks(db, " WHERE t.id = ?1", &p->one_t) != SQLITE_OK ||
	    (n && (sqlite3_prepare_v2(db, sql_all, -1, &p->all_g, NULL) !=
		   SQLITE_OK ||
		   sqlite3_prepare_v2(db, sql_one, -1, &p->one_g, NULL) !=
		   SQLITE_OK))) {
		mf_err("store", "cannot read the store: %s", sqlite3_errmsg(db));
		goto fail;
	}
	for (size_t i = 0; i < n; i++) {
		sqlite3_bind_text(p->all_g, (int)i + 2, keys[i], -1,
				  SQLITE_STATIC);
		sqlite3_bind_text(p->one_g, (int)i + 2, keys[i], -1,
				  SQLITE_STATIC);
	}
	free(in);
	free(sql_all);
	free(sql_one);
	*out = p;
	return 0;
fail:
	free(in);
	free(sql_all);
	free(sql_one);
	mf_store_paths_free(p);
	return ret;
}

void mf_store_paths_free(struct mf_store_paths *p)
{
	if (!p)
		return;
	sqlite3_finalize(p->all_t);
	sqlite3_finalize(p->all_g);
	sqlite3_finalize(p->one_t);
	sqlite3_finalize(p->one_g);
	free(p);
}

int mf_store_paths_all(struct mf_store_paths *p, const struct mf_path_fns *fns,
		       void *ctx)
{
	int rc_t, rc_g = SQLITE_DONE, ret = 0;
	int64_t g_id = -1;

	if (p->all_g)
		rc_g = sqlite3_step(p->all_g);
	if (rc_g == SQLITE_ROW)
		g_id = sqlite3_column_int64(p->all_g, 0);
	while ((rc_t = sqlite3_step(p->all_t)) == SQLITE_ROW) {
		struct mf_path_row row;

		path_row(p->all_t, &row);
		while (rc_g == SQLITE_ROW && g_id <= row.id) {
			if (g_id == row.id) {
				ret = path_tag(p->all_g, fns, ctx);
				if (ret)
					goto out;
			}
			rc_g = sqlite3_step(p->all_g);
			if (rc_g == SQLITE_ROW)
				g_id = sqlite3_column_int64(p->all_g, 0);
		}
		ret = fns->track(ctx, &row);
		if (ret)
			goto out;
	}
	if (rc_t != SQLITE_DONE || (rc_g != SQLITE_DONE && rc_g != SQLITE_ROW)) {
		mf_err("store", "cannot read the store: %s",
		       sqlite3_errmsg(mf_store_db(p->s)));
		ret = -EIO;
	}
out:
	sqlite3_reset(p->all_t);
	if (p->all_g)
		sqlite3_reset(p->all_g);
	return ret;
}

int mf_store_paths_one(struct mf_store_paths *p, int64_t id,
		       const struct mf_path_fns *fns, void *ctx)
{
	struct mf_path_row row;
	int rc, ret = 0;

	sqlite3_bind_int64(p->one_t, 1, id);
	rc = sqlite3_step(p->one_t);
	if (rc == SQLITE_DONE) {
		ret = 1;	/* gone */
		goto out;
	}
	if (rc != SQLITE_ROW) {
		ret = -EIO;
		goto out;
	}
	if (p->one_g) {
		sqlite3_bind_int64(p->one_g, 1, id);
		while ((rc = sqlite3_step(p->one_g)) == SQLITE_ROW) {
			ret = path_tag(p->one_g, fns, ctx);
			if (ret)
				goto out;
		}
		if (rc != SQLITE_DONE) {
			ret = -EIO;
			goto out;
		}
	}
	path_row(p->one_t, &row);
	ret = fns->track(ctx, &row);
out:
	sqlite3_reset(p->one_t);
	if (p->one_g)
		sqlite3_reset(p->one_g);
	return ret;
}

int mf_store_tag_key_used(struct mf_store *s, const char *key)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(mf_store_db(s), "SELECT 1 FROM tags WHERE "
			       "lower(key) = lower(?1) LIMIT 1", -1, &st,
			       NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -EIO;
}

int mf_store_has_tracks(struct mf_store *s)
{
	int64_t n = 0;

	if (mf_store_query_int(s, "SELECT EXISTS (SELECT 1 FROM tracks)",
			       &n) < 0)
		return -EIO;
	return n != 0;
}
