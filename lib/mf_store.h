/* SPDX-License-Identifier: MIT */
/*
 * mf_store - open the SQLite store, migrate it, and the few store services
 * every binary shares: the default path, blob streaming, data_version.
 *
 * The store is one SQLite file in WAL mode with busy_timeout and foreign
 * keys on. Its core tables are a public contract (docs/store.md, DESIGN.md
 * "The store"); PRAGMA user_version = 2 names that contract. Extension
 * tables are versioned separately in musefs_meta and never touch it.
 *
 * A struct mf_store wraps one sqlite3 connection: use it from one thread at
 * a time (open one per thread).
 */
#ifndef MF_STORE_H
#define MF_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <sqlite3.h>

#include "mf_layout.h"

/* The core contract version this build writes and understands. */
#define MF_STORE_USER_VERSION 2

/*
 * A file time as the store keeps it (tracks.backing_mtime_ns and
 * backing_ctime_ns): nanoseconds since the epoch. The freshness stamp of
 * a backing file is (st_size, mf_store_ns(&st_mtim), mf_store_ns(&st_ctim)).
 */
static inline int64_t mf_store_ns(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

enum mf_store_flags {
	MF_STORE_READONLY = (1 << 0),	/* open read-only; never migrates */
	MF_STORE_CREATE = (1 << 1),	/* create file and parent dir if missing */
};

struct mf_store;

/*
 * Open the store at @path. Without MF_STORE_READONLY the schema is created
 * or migrated to the newest version this build knows (one transaction per
 * migration). With MF_STORE_READONLY the store must already be at the
 * current user_version (a read-only connection cannot migrate), and a
 * store whose WAL index this process can neither read nor create (no
 * readable -shm, a directory it may not write) is opened immutable
 * instead of failing: see mf_store_immutable().
 *
 * Returns 0 and sets *@out (close with mf_store_close()), or:
 *   -ENOENT   the file does not exist and MF_STORE_CREATE was not given;
 *   -EPROTO   user_version is newer than this build knows, or the file is
 *             not a musefs store (foreign tables, or uninitialized when
 *             opened read-only);
 *   -EIO      SQLite could not open or migrate it;
 *   -ENOMEM.
 * On error *@out is NULL and a lowercase message naming @path is written to
 * @err (if @err is not NULL). Thread-safe (touches no shared state).
 */
int mf_store_open(const char *path, unsigned flags, struct mf_store **out,
		  char *err, size_t errlen);

/* Close the connection and free @s. NULL is a no-op. */
void mf_store_close(struct mf_store *s);

/* The underlying connection; borrowed, valid until mf_store_close(). */
sqlite3 *mf_store_db(struct mf_store *s);

/* The path the store was opened with; borrowed. */
const char *mf_store_path(const struct mf_store *s);

/*
 * True when a MF_STORE_READONLY open found no usable WAL index (no -shm
 * file it may read, and a directory it may not write: read-only media, a
 * read-only bind mount, another user's store) and fell back to SQLite's
 * immutable=1: the store is read as its main file was at the open, without
 * locks; later writes (and changes still only in its -wal) are not seen
 * and data_version never moves. Reopen to see newer data.
 */
bool mf_store_immutable(const struct mf_store *s);

/*
 * The default store path from the environment's values (each may be NULL
 * or empty: unset): @musefs_db ($MUSEFS_DB) if set, else
 * ${XDG_DATA_HOME:-$HOME/.local/share}/musefs/library.db. Writes it into
 * @buf of @len bytes. Returns 0, -ENOENT when neither @home nor
 * @xdg_data_home is set, or -ENAMETOOLONG. Reads no environment itself.
 */
int mf_store_default_path(const char *musefs_db, const char *xdg_data_home,
			  const char *home, char *buf, size_t len);

/*
 * Read exactly @len bytes at @off of the blob @ref (art.data or
 * tags.value_blob) with incremental blob I/O (sqlite3_blob_open), without
 * loading the whole blob. Returns 0, -EIO when the row is gone, the blob is
 * shorter than @off + @len, or SQLite fails. The blob handle is closed
 * before returning, so no read transaction is left open.
 */
int mf_store_blob_read(struct mf_store *s, const struct mf_blob_ref *ref,
		       uint64_t off, void *buf, size_t len);

/*
 * PRAGMA data_version of this connection into *@out: it changes when
 * another connection commits. Returns 0 or -EIO.
 */
int mf_store_data_version(struct mf_store *s, int64_t *out);

/*
 * The first column of the first row of @sql (one statement) as an
 * integer into *@out; 0 when it returns no row. Returns 0 or -EIO.
 * Same thread rules as the connection.
 */
int mf_store_query_int(struct mf_store *s, const char *sql, int64_t *out);

/*
 * Run one SQL statement without results (BEGIN, COMMIT, PRAGMA ...).
 * Returns 0 or -EIO (logged with the SQLite message).
 */
int mf_store_exec(struct mf_store *s, const char *sql);

/* Map a SQLite result code to a negative errno (-EBUSY, -ENOMEM, -EIO...). */
int mf_store_errno(int sqlite_rc);

#endif /* MF_STORE_H */
