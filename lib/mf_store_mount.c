/* SPDX-License-Identifier: MIT */
/* mf_store_mount - the mount's store reads (see mf_store_mount.h). */
#include "mf_store_mount.h"

#include <errno.h>
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
