/* SPDX-License-Identifier: MIT */
/*
 * mf_store - SQLite store: open, pragmas, migrations, blob streaming.
 */
#include "mf_store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mf_log.h"
#include "mf_migrate.h"
#include "mf_schema.h"
#include "mf_banned.h"

#define STORE_BUSY_TIMEOUT_MS 10000

struct mf_store {
	sqlite3 *db;		/* owned; used by one thread at a time */
	char *path;		/* owned copy */
	bool immutable;		/* opened as ?immutable=1: no WAL index */
};

static void seterr(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int mf_store_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return 0;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_READONLY:
		return -EROFS;
	case SQLITE_CANTOPEN:
		return -ENOENT;
	case SQLITE_CONSTRAINT:
		return -EINVAL;
	case SQLITE_FULL:
		return -ENOSPC;
	default:
		return -EIO;
	}
}

int mf_store_exec(struct mf_store *s, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK) {
		mf_err("store", "'%s': %s", s->path, msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return mf_store_errno(rc) ? mf_store_errno(rc) : -EIO;
	}
	return 0;
}

static int query_int(sqlite3 *db, const char *sql, int64_t *out)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);

	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int64(st, 0);
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE) {
		*out = 0;
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return rc;
}

int mf_store_query_int(struct mf_store *s, const char *sql, int64_t *out)
{
	return query_int(s->db, sql, out) == SQLITE_OK ? 0 : -EIO;
}

int mf_store_data_version(struct mf_store *s, int64_t *out)
{
	int rc = query_int(s->db, "PRAGMA data_version", out);

	return rc == SQLITE_OK ? 0 : -EIO;
}

/* Create the parent directory of @path (one level is enough for XDG). */
static int make_parent(const char *path)
{
	char dir[PATH_MAX];
	char *slash;
	int n = snprintf(dir, sizeof(dir), "%s", path);

	if (n < 0 || (size_t)n >= sizeof(dir))
		return -ENAMETOOLONG;
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	for (char *p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* A database with tables but no user_version is not ours. */
static int is_foreign(sqlite3 *db, bool *foreign)
{
	int64_t n = 0;
	int rc = query_int(db, "SELECT count(*) FROM sqlite_schema "
			   "WHERE type = 'table' AND name NOT LIKE 'sqlite_%'", &n);

	*foreign = n > 0;
	return rc;
}

static int ext_version(sqlite3 *db, int64_t *out)
{
	int64_t has = 0;
	int rc = query_int(db, "SELECT count(*) FROM sqlite_schema WHERE "
			   "type = 'table' AND name = 'musefs_meta'", &has);

	*out = 0;
	if (rc != SQLITE_OK || !has)
		return rc;
	return query_int(db, "SELECT CAST(value AS INTEGER) FROM musefs_meta "
			 "WHERE key = 'ext_version'", out);
}

static int apply(struct mf_store *s, const struct mf_migration *m,
		 char *err, size_t errlen)
{
	char *msg = NULL;
	char bump[128];
	int rc;

	rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, &msg);
	if (rc != SQLITE_OK)
		goto out_fail;
	rc = sqlite3_exec(s->db, m->sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK)
		goto out_rollback;
	if (m->kind == MF_MIG_EXT) {
		rc = sqlite3_exec(s->db,
				  "CREATE TABLE IF NOT EXISTS musefs_meta ("
				  "key TEXT PRIMARY KEY, value TEXT NOT NULL)",
				  NULL, NULL, &msg);
		if (rc != SQLITE_OK)
			goto out_rollback;
		snprintf(bump, sizeof(bump), "INSERT OR REPLACE INTO musefs_meta "
			 "VALUES ('ext_version', '%d')", m->version);
		rc = sqlite3_exec(s->db, bump, NULL, NULL, &msg);
		if (rc != SQLITE_OK)
			goto out_rollback;
	}
	rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, &msg);
	if (rc != SQLITE_OK)
		goto out_rollback;
	mf_debug("store", "'%s': applied migration %s", s->path, m->name);
	return 0;

out_rollback:
	sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
out_fail:
	seterr(err, errlen, "cannot migrate '%s' (%s): %s", s->path, m->name,
	       msg ? msg : sqlite3_errstr(rc));
	sqlite3_free(msg);
	return mf_store_errno(rc) ? mf_store_errno(rc) : -EIO;
}

static int migrate(struct mf_store *s, char *err, size_t errlen)
{
	char msg[512];
	int64_t uv = 0, ev = 0;
	size_t i;
	int rc;

	for (i = 0; i < mf_migrations_count; i++) {
		const struct mf_migration *m = &mf_migrations[i];

		if (query_int(s->db, "PRAGMA user_version", &uv) != SQLITE_OK ||
		    ext_version(s->db, &ev) != SQLITE_OK) {
			seterr(err, errlen, "cannot read '%s': %s", s->path,
			       sqlite3_errmsg(s->db));
			return -EIO;
		}
		if (m->kind == MF_MIG_CONV ||
		    (m->kind == MF_MIG_CORE && uv >= m->version) ||
		    (m->kind == MF_MIG_EXT && ev >= m->version))
			continue;
		rc = apply(s, m, err, errlen);
		if (rc < 0)
			return rc;
	}
	/* a store of an earlier build of ours: to the 1.x shape */
	rc = mf_migrate_1x(s->db, s->path, msg, sizeof(msg));
	if (rc < 0)
		seterr(err, errlen, "%s", msg);
	return rc;
}

static int check_version(struct mf_store *s, unsigned flags, char *err,
			 size_t errlen)
{
	int64_t uv = 0;
	bool foreign = false;

	if (query_int(s->db, "PRAGMA user_version", &uv) != SQLITE_OK) {
		seterr(err, errlen, "cannot read '%s': %s", s->path,
		       sqlite3_errmsg(s->db));
		return -EIO;
	}
	if (uv > MF_STORE_USER_VERSION) {
		seterr(err, errlen, "store '%s' has schema version %lld, newer "
		       "than this musefs knows (%d): upgrade musefs", s->path,
		       (long long)uv, MF_STORE_USER_VERSION);
		return -EPROTO;
	}
	if (uv == 0) {
		if (is_foreign(s->db, &foreign) != SQLITE_OK) {
			seterr(err, errlen, "cannot read '%s': %s", s->path,
			       sqlite3_errmsg(s->db));
			return -EIO;
		}
		if (foreign) {
			seterr(err, errlen, "'%s' is not a musefs store "
			       "(it has tables but no schema version)", s->path);
			return -EPROTO;
		}
	}
	if ((flags & MF_STORE_READONLY) && uv < MF_STORE_USER_VERSION) {
		seterr(err, errlen, "store '%s' is %s: run musefs-scan on it "
		       "first", s->path,
		       uv == 0 ? "empty" : "at an older schema version");
		return -EPROTO;
	}
	return 0;
}

/*
 * Open @name (a path, or a URI with SQLITE_OPEN_URI in @oflags) into
 * s->db and probe that it is a database at all: the first read is also
 * where SQLite maps the WAL index. Returns the SQLite code of the open or
 * of the probe; s->db is NULL only when the open itself failed.
 */
static int open_probe(struct mf_store *s, const char *name, int oflags)
{
	int rc = sqlite3_open_v2(name, &s->db, oflags, NULL);

	if (rc != SQLITE_OK) {
		sqlite3_close_v2(s->db);
		s->db = NULL;
		return rc;
	}
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);
	return sqlite3_exec(s->db, "SELECT count(*) FROM sqlite_schema", NULL,
			    NULL, NULL);
}

/*
 * Can this process use the WAL index @path-shm? SQLite ("Read-Only
 * Databases" in wal.html) reads a WAL store read-only when the -shm file
 * exists and is readable (it maps a read-only one into heap memory) or
 * can be created in the store's directory; otherwise only as immutable.
 */
static bool shm_usable(const char *path)
{
	char p[PATH_MAX];
	char *slash;

	if (snprintf(p, sizeof(p), "%s-shm", path) >= (int)sizeof(p))
		return true;
	if (faccessat(AT_FDCWD, p, F_OK, AT_EACCESS | AT_SYMLINK_NOFOLLOW) == 0)
		return faccessat(AT_FDCWD, p, R_OK, AT_EACCESS) == 0;
	slash = strrchr(p, '/');
	if (!slash)
		return faccessat(AT_FDCWD, ".", W_OK, AT_EACCESS) == 0;
	slash[slash == p] = '\0';
	return faccessat(AT_FDCWD, p, W_OK, AT_EACCESS) == 0;
}

/*
 * Reopen s->db as file:REALPATH?immutable=1 (read-only, no locks, no WAL
 * index): the store as its main file has it at this moment. Later writes
 * and anything still only in its -wal are not seen (data_version never
 * moves). Returns the SQLite code of the open or probe.
 */
static int open_immutable(struct mf_store *s, const char *path)
{
	static const char hex[] = "0123456789abcdef";
	char real[PATH_MAX], uri[3 * PATH_MAX + 32];
	size_t n;
	int rc;

	if (!realpath(path, real))
		return SQLITE_CANTOPEN;
	n = (size_t)snprintf(uri, sizeof(uri), "file:");
	for (const char *c = real; *c; c++) {
		unsigned char b = (unsigned char)*c;

		if (b <= ' ' || b >= 0x7f || b == '%' || b == '?' || b == '#') {
			uri[n++] = '%';
			uri[n++] = hex[b >> 4];
			uri[n++] = hex[b & 15];
		} else {
			uri[n++] = (char)b;
		}
	}
	snprintf(uri + n, sizeof(uri) - n, "?immutable=1");
	sqlite3_close_v2(s->db);
	s->db = NULL;
	rc = open_probe(s, uri, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX |
			SQLITE_OPEN_URI);
	if (rc == SQLITE_OK) {
		s->immutable = true;
		mf_info("store", "'%s': no usable -shm file and the directory "
			"is not writable: opened immutable (later writes are "
			"not seen)", path);
	}
	return rc;
}

int mf_store_open(const char *path, unsigned flags, struct mf_store **out,
		  char *err, size_t errlen)
{
	struct mf_store *s;
	struct stat st;
	int oflags, rc, ret;

	*out = NULL;
	if (stat(path, &st) < 0) {
		if (errno != ENOENT || !(flags & MF_STORE_CREATE) ||
		    (flags & MF_STORE_READONLY)) {
			ret = -errno;
			seterr(err, errlen, "cannot open store '%s': %s", path,
			       strerror(errno));
			return ret;
		}
		ret = make_parent(path);
		if (ret < 0) {
			seterr(err, errlen, "cannot create directory for '%s': %s",
			       path, strerror(-ret));
			return ret;
		}
	} else if (!S_ISREG(st.st_mode)) {
		seterr(err, errlen, "store '%s' is not a regular file", path);
		return -EINVAL;
	}

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->path = strdup(path);
	if (!s->path) {
		ret = -ENOMEM;
		goto out_free;
	}
	oflags = SQLITE_OPEN_NOMUTEX;
	if (flags & MF_STORE_READONLY)
		oflags |= SQLITE_OPEN_READONLY;
	else
		oflags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	rc = open_probe(s, path, oflags);
	if (rc != SQLITE_OK && (flags & MF_STORE_READONLY) && !shm_usable(path))
		rc = open_immutable(s, path);
	if (!s->db) {
		seterr(err, errlen, "cannot open store '%s': %s", path,
		       sqlite3_errstr(rc));
		ret = mf_store_errno(rc) ? mf_store_errno(rc) : -EIO;
		goto out_free;
	}
	if (rc != SQLITE_OK) {
		seterr(err, errlen, "cannot use store '%s': %s", path,
		       sqlite3_errmsg(s->db));
		ret = (rc & 0xff) == SQLITE_NOTADB ? -EPROTO : -EIO;
		goto out_free;
	}
	ret = check_version(s, flags, err, errlen);
	if (ret < 0)
		goto out_free;
	if (!(flags & MF_STORE_READONLY)) {
		rc = sqlite3_exec(s->db, "PRAGMA journal_mode = WAL", NULL, NULL,
				  NULL);
		if (rc == SQLITE_OK)
			rc = sqlite3_exec(s->db, "PRAGMA synchronous = NORMAL",
					  NULL, NULL, NULL);
		if (rc != SQLITE_OK) {
			seterr(err, errlen, "cannot set up store '%s': %s", path,
			       sqlite3_errmsg(s->db));
			ret = -EIO;
			goto out_free;
		}
	}
	rc = sqlite3_exec(s->db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		seterr(err, errlen, "cannot set up store '%s': %s", path,
		       sqlite3_errmsg(s->db));
		ret = -EIO;
		goto out_free;
	}
	if (!(flags & MF_STORE_READONLY)) {
		ret = migrate(s, err, errlen);
		if (ret < 0)
			goto out_free;
	}
	*out = s;
	return 0;

out_free:
	mf_store_close(s);
	return ret;
}

void mf_store_close(struct mf_store *s)
{
	if (!s)
		return;
	sqlite3_close_v2(s->db);
	free(s->path);
	free(s);
}

sqlite3 *mf_store_db(struct mf_store *s)
{
	return s->db;
}

const char *mf_store_path(const struct mf_store *s)
{
	return s->path;
}

bool mf_store_immutable(const struct mf_store *s)
{
	return s->immutable;
}

int mf_store_default_path(const char *musefs_db, const char *xdg,
			  const char *home, char *buf, size_t len)
{
	int n;

	if (musefs_db && *musefs_db)
		n = snprintf(buf, len, "%s", musefs_db);
	else if (xdg && *xdg)
		n = snprintf(buf, len, "%s/musefs/library.db", xdg);
	else if (home && *home)
		n = snprintf(buf, len, "%s/.local/share/musefs/library.db", home);
	else
		return -ENOENT;
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	return 0;
}

int mf_store_blob_read(struct mf_store *s, const struct mf_blob_ref *ref,
		       uint64_t off, void *buf, size_t len)
{
	sqlite3_blob *blob = NULL;
	const char *table, *column;
	int rc, ret = 0;

	if (ref->kind == MF_BLOB_ART) {
		table = "art";
		column = "data";
	} else if (ref->kind == MF_BLOB_TAG) {
		table = "tags";
		column = "value_blob";
	} else {
		return -EINVAL;
	}
	if (len == 0)
		return 0;
	if (len > INT_MAX || off > INT_MAX || off + len > INT_MAX)
		return -EIO;
	rc = sqlite3_blob_open(s->db, "main", table, column, ref->rowid, 0, &blob);
	if (rc != SQLITE_OK) {
		mf_warn("store", "cannot open %s.%s of row %lld: %s", table,
			column, (long long)ref->rowid, sqlite3_errmsg(s->db));
		ret = rc == SQLITE_NOMEM ? -ENOMEM : -EIO;
		goto out;
	}
	if ((uint64_t)sqlite3_blob_bytes(blob) < off + len) {
		mf_warn("store", "%s.%s of row %lld is shorter than expected",
			table, column, (long long)ref->rowid);
		ret = -EIO;
		goto out;
	}
	rc = sqlite3_blob_read(blob, buf, (int)len, (int)off);
	if (rc != SQLITE_OK)
		ret = -EIO;
out:
	sqlite3_blob_close(blob);
	return ret;
}
