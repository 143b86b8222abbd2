/* SPDX-License-Identifier: MIT */
/*
 * mf_migrate - bring a store created by an earlier musefs build to the
 * 1.x shape of the core tables (schema/conv-0001-1x.sql), in place.
 *
 * A store made by musefs 1.x, or by this build, already has that shape
 * and is left alone. A store in our previous shape (structural_blocks
 * (track_id, kind, data)) is first copied beside itself with VACUUM INTO
 * ("<path>.pre-1x-<unixtime>"), then converted in one transaction with
 * foreign keys off; user_version stays 2. One notice line is logged.
 * Used by mf_store.c only.
 */
#ifndef MF_MIGRATE_H
#define MF_MIGRATE_H

#include <stdbool.h>
#include <stddef.h>
#include <sqlite3.h>

/*
 * Is the store on @db in our previous core shape? Sets *@old. Returns 0
 * or -EIO. Works on a read-only connection. Same thread rules as @db.
 */
int mf_migrate_old_shape(sqlite3 *db, bool *old);

/*
 * Convert the store on @db (opened read-write at @path, foreign keys on,
 * no transaction open) when it is in our previous shape; a no-op
 * otherwise. On success foreign keys are on again. Returns 0, or a
 * negative errno with a one-line message naming @path in @err (not NULL,
 * @errlen > 0; the store
 * is then unchanged: the transaction was rolled back; a snapshot already
 * written stays). Same thread rules as @db.
 */
int mf_migrate_1x(sqlite3 *db, const char *path, char *err, size_t errlen);

#endif /* MF_MIGRATE_H */
