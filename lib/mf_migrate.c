/* SPDX-License-Identifier: MIT */
/*
 * mf_migrate - conversion of our previous store shape to the 1.x one.
 */
#include "mf_migrate.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "mf_log.h"
#include "mf_schema.h"
#include "mf_store.h"
#include "mf_banned.h"

static int count(sqlite3 *db, const char *sql, int64_t *out)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*out = 0;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -EIO;
}

int mf_migrate_old_shape(sqlite3 *db, bool *old)
{
	int64_t n = 0;
	int ret = count(db, "SELECT count(*) FROM pragma_table_info("
			"'structural_blocks') WHERE name = 'data'", &n);

	*old = n > 0;
	return ret;
}

static const char *migration_sql(enum mf_migration_kind kind, int version)
{
	for (size_t i = 0; i < mf_migrations_count; i++)
		if (mf_migrations[i].kind == kind &&
		    mf_migrations[i].version == version)
			return mf_migrations[i].sql;
	return NULL;
}

/* VACUUM INTO @snap: a consistent copy, taken outside any transaction. */
static int snapshot(sqlite3 *db, const char *snap)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(db, "VACUUM INTO ?", -1, &st, NULL) != SQLITE_OK)
		return SQLITE_ERROR;
	sqlite3_bind_text(st, 1, snap, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

int mf_migrate_1x(sqlite3 *db, const char *path, char *err, size_t errlen)
{
	/* the rebuild, then the (idempotent) triggers of core migration 2 */
	const char *sql = migration_sql(MF_MIG_CONV, 1);
	const char *triggers = migration_sql(MF_MIG_CORE, 2);
	char snap[4096];
	char *msg = NULL;
	int64_t dropped = 0;
	bool old = false, in_tx = false;
	int rc = SQLITE_OK, ret = 0, n;

	if (mf_migrate_old_shape(db, &old) < 0) {
		snprintf(err, errlen, "cannot read '%s': %s", path,
			 sqlite3_errmsg(db));
		return -EIO;
	}
	if (!old)
		return 0;
	if (!sql || !triggers) {
		snprintf(err, errlen, "cannot convert '%s': no conversion "
			 "script in this build", path);
		return -EIO;
	}
	n = snprintf(snap, sizeof(snap), "%s.pre-1x-%lld", path,
		     (long long)time(NULL));
	if (n < 0 || (size_t)n >= sizeof(snap)) {
		snprintf(err, errlen, "cannot convert '%s': path too long", path);
		return -ENAMETOOLONG;
	}
	rc = snapshot(db, snap);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "cannot snapshot '%s' to '%s': %s", path,
			 snap, sqlite3_errmsg(db));
		return mf_store_errno(rc) ? mf_store_errno(rc) : -EIO;
	}
	/* the 12-step rebuild: foreign keys off outside the transaction,
	 * old-style RENAME so triggers on other tables that name a rebuilt
	 * table (format_blocks') are neither rewritten nor refused */
	rc = sqlite3_exec(db, "PRAGMA foreign_keys = OFF; "
			  "PRAGMA legacy_alter_table = ON; BEGIN IMMEDIATE",
			  NULL, NULL, &msg);
	if (rc != SQLITE_OK)
		goto out;
	in_tx = true;
	/* another process may have converted it since we looked */
	if (mf_migrate_old_shape(db, &old) < 0) {
		rc = SQLITE_IOERR;
		goto out;
	}
	if (!old)
		goto out;
	if (count(db, "SELECT count(*) FROM tags WHERE "
		  "length(CAST(value AS BLOB)) > 262144", &dropped) < 0) {
		rc = SQLITE_IOERR;
		goto out;
	}
	rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, triggers, NULL, NULL, &msg);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, "COMMIT", NULL, NULL, &msg);
	if (rc == SQLITE_OK) {
		in_tx = false;
		mf_warn("store", "converted '%s' to the musefs 1.x shape "
			"(snapshot '%s'; %lld tag values over 262144 bytes "
			"not kept)", path, snap, (long long)dropped);
	}
out:
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "cannot convert '%s' (snapshot '%s'): %s",
			 path, snap, msg ? msg : sqlite3_errmsg(db));
		ret = mf_store_errno(rc) ? mf_store_errno(rc) : -EIO;
	}
	sqlite3_free(msg);
	if (in_tx)
		sqlite3_exec(db, rc == SQLITE_OK ? "COMMIT" : "ROLLBACK", NULL,
			     NULL, NULL);
	sqlite3_exec(db, "PRAGMA legacy_alter_table = OFF; "
		     "PRAGMA foreign_keys = ON", NULL, NULL, NULL);
	return ret;
}
