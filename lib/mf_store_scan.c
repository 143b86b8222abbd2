/* SPDX-License-Identifier: MIT */
/* mf_store_scan - the scanner's records in the store (see mf_store_scan.h) */
#include <errno.h>
#include <time.h>

#include "mf_heartbeat.h"
#include "mf_log.h"
#include "mf_store_scan.h"

int mf_store_scan_process_init(void)
{
	int rc = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);

	return rc == SQLITE_OK ? 0 : rc == SQLITE_MISUSE ? -EBUSY :
	       mf_store_errno(rc);
}

int mf_store_scan_stamps_each(struct mf_store *s, enum mf_store_stamp_set set,
			      int (*fn)(void *ctx,
					const struct mf_store_stamp *row),
			      void *ctx)
{
	/* a track in a format with format_blocks but none (written by
	 * musefs 1.x) gets ctime -1: its stamp never matches, so it is
	 * probed again, which fills them in */
	static const char *const sql[] = {
		[MF_STORE_STAMPS_TRACKS] =
			"SELECT backing_path, id, backing_size, "
			"backing_mtime_ns, CASE WHEN format NOT IN "
			"('flac', 'mp3') AND NOT EXISTS (SELECT 1 FROM "
			"format_blocks f WHERE f.track_id = tracks.id) "
			"THEN -1 ELSE backing_ctime_ns END, NULL, "
			"fingerprint FROM tracks",
		[MF_STORE_STAMPS_FAILURES] =
			"SELECT path, 0, backing_size, backing_mtime_ns, "
			"backing_ctime_ns, reason, NULL FROM scan_failures",
	};
	sqlite3 *db = mf_store_db(s);
	sqlite3_stmt *st = NULL;
	int rc, ret = 0;

	if (sqlite3_prepare_v2(db, sql[set], -1, &st, NULL) != SQLITE_OK) {
		mf_err("store", "cannot load stamps: %s", sqlite3_errmsg(db));
		return -EIO;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct mf_store_stamp row = {
			.path = (const char *)sqlite3_column_text(st, 0),
			.id = sqlite3_column_int64(st, 1),
			.size = sqlite3_column_int64(st, 2),
			.mtime_ns = sqlite3_column_int64(st, 3),
			.ctime_ns = sqlite3_column_int64(st, 4),
			.reason = (const char *)sqlite3_column_text(st, 5),
			.fingerprint = (const char *)sqlite3_column_text(st, 6),
		};

		if (!row.path)
			continue;
		ret = fn(ctx, &row);
		if (ret < 0)
			goto out;
	}
	if (rc != SQLITE_DONE) {
		mf_err("store", "cannot load stamps: %s", sqlite3_errmsg(db));
		ret = -EIO;
	}
out:
	sqlite3_finalize(st);
	return ret;
}

int mf_store_scan_run_begin(struct mf_store *s, const char *roots,
			    int64_t *id)
{
	sqlite3 *db = mf_store_db(s);
	sqlite3_stmt *st = NULL;
	int rc;
	int ret = 0;

	*id = 0;
	if (sqlite3_exec(db, "UPDATE scan_runs SET outcome = 'interrupted' "
			 "WHERE outcome = 'running'", NULL, NULL, NULL) != SQLITE_OK)
		mf_warn("store", "cannot close stale runs: %s",
			sqlite3_errmsg(db));
	/* a writer: drop the heartbeat rows of mounts long gone */
	if (mf_heartbeat_expire(db, (int64_t)time(NULL), NULL) < 0)
		mf_debug("store", "cannot expire old mount rows: %s",
			 sqlite3_errmsg(db));
	rc = sqlite3_prepare_v2(db, "INSERT INTO scan_runs (started_at, "
				"roots) VALUES (unixepoch(), ?)", -1, &st, NULL);
	if (rc != SQLITE_OK) {
		ret = mf_store_errno(rc);
		goto out;
	}
	sqlite3_bind_text(st, 1, roots, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		*id = sqlite3_last_insert_rowid(db);
	else
		ret = mf_store_errno(rc);
out:
	sqlite3_finalize(st);
	return ret;
}

int mf_store_scan_run_end(struct mf_store *s, int64_t id,
			  const struct mf_store_scan_run *r)
{
	sqlite3 *db = mf_store_db(s);
	sqlite3_stmt *st = NULL;
	int rc;
	int ret = 0;

	if (!id)
		return 0;
	rc = sqlite3_prepare_v2(db, "UPDATE scan_runs SET ended_at = "
				"unixepoch(), seen = ?, new = ?, changed = ?, "
				"unchanged = ?, skipped = ?, failed = ?, "
				"bytes_read = ?, outcome = ?, moved = ?, "
				"pruned = ? WHERE id = ?", -1, &st, NULL);
	if (rc != SQLITE_OK) {
		ret = mf_store_errno(rc);
		goto out;
	}
	sqlite3_bind_int64(st, 1, (int64_t)r->seen);
	sqlite3_bind_int64(st, 2, (int64_t)r->new);
	sqlite3_bind_int64(st, 3, (int64_t)r->changed);
	sqlite3_bind_int64(st, 4, (int64_t)r->unchanged);
	sqlite3_bind_int64(st, 5, (int64_t)r->skipped);
	sqlite3_bind_int64(st, 6, (int64_t)r->failed);
	sqlite3_bind_int64(st, 7, (int64_t)r->bytes_read);
	sqlite3_bind_text(st, 8, r->outcome, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 9, (int64_t)r->moved);
	sqlite3_bind_int64(st, 10, (int64_t)r->pruned);
	sqlite3_bind_int64(st, 11, id);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		ret = mf_store_errno(rc);
out:
	sqlite3_finalize(st);
	return ret;
}

int mf_store_scan_root_dev(struct mf_store *s, const char *root,
			   int64_t *dev)
{
	sqlite3 *db = mf_store_db(s);
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(db, "SELECT dev FROM scan_roots WHERE root = ?",
			       -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(st, 1, root, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*dev = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : -EIO;
}

int mf_store_scan_root_record(struct mf_store *s, const char *root,
			      int64_t dev)
{
	sqlite3 *db = mf_store_db(s);
	sqlite3_stmt *st = NULL;
	int rc;

	rc = sqlite3_prepare_v2(db, "INSERT INTO scan_roots (root, dev) "
				"VALUES (?, ?) ON CONFLICT (root) DO UPDATE SET "
				"dev = excluded.dev, scanned_at = unixepoch()",
				-1, &st, NULL);
	if (rc != SQLITE_OK)
		goto fail;
	sqlite3_bind_text(st, 1, root, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, dev);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_DONE)
		return 0;
fail:
	mf_warn("store", "cannot record the roots: %s", sqlite3_errmsg(db));
	return -EIO;
}

int mf_store_scan_prune(struct mf_store *s, const int64_t *ids, size_t nids,
			const char *const *paths, size_t npaths,
			uint64_t *pruned)
{
	sqlite3 *db = mf_store_db(s);
	sqlite3_stmt *st = NULL;
	int ret;

	*pruned = 0;
	ret = mf_store_exec(s, "BEGIN IMMEDIATE");
	if (ret < 0)
		return ret;
	if (sqlite3_prepare_v2(db, "DELETE FROM tracks WHERE id = ?", -1,
			       &st, NULL) != SQLITE_OK) {
		ret = -EIO;
		goto rollback;
	}
	for (size_t k = 0; k < nids; k++) {
		sqlite3_bind_int64(st, 1, ids[k]);
		if (sqlite3_step(st) != SQLITE_DONE) {
			mf_err("scan", "cannot prune: %s", sqlite3_errmsg(db));
			ret = -EIO;
			goto rollback;
		}
		sqlite3_reset(st);
		*pruned += (uint64_t)sqlite3_changes(db);
	}
	sqlite3_finalize(st);
	st = NULL;
	if (sqlite3_prepare_v2(db, "DELETE FROM scan_failures WHERE path = ?",
			       -1, &st, NULL) != SQLITE_OK) {
		ret = -EIO;
		goto rollback;
	}
	for (size_t k = 0; k < npaths; k++) {
		sqlite3_bind_text(st, 1, paths[k], -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE) {
			ret = -EIO;
			goto rollback;
		}
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	st = NULL;
	ret = mf_store_exec(s, "DELETE FROM art WHERE NOT EXISTS "
			    "(SELECT 1 FROM track_art WHERE art_id = art.id)");
	if (ret < 0)
		goto rollback;
	ret = mf_store_exec(s, "COMMIT");
	if (ret < 0)
		goto rollback;
	return 0;
rollback:
	sqlite3_finalize(st);
	mf_store_exec(s, "ROLLBACK");
	*pruned = 0;
	return ret;
}

int mf_store_vacuum(struct mf_store *s)
{
	int ret;

	mf_store_exec(s, "PRAGMA wal_checkpoint(TRUNCATE)");
	ret = mf_store_exec(s, "VACUUM");
	if (ret < 0)
		return ret;
	mf_store_exec(s, "PRAGMA wal_checkpoint(TRUNCATE)");
	return 0;
}
