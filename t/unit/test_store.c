/* SPDX-License-Identifier: MIT */
/*
 * test_store - unit tests of mf_store and of the core store contract it
 * creates (the schema/ migrations): migration, refusal of stores we must not touch,
 * every CHECK constraint, the content_version and changelog triggers, art
 * immutability, changelog pruning, blob streaming and the default path.
 *
 * Each test gets a fresh store in its own mkdtemp directory and talks to it
 * through mf_store_open plus raw sqlite3 calls, as external writers do.
 * Output is TAP (run by t/1001-store.t under prove).
 */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "mf_layout.h"
#include "mf_log.h"
#include "mf_schema.h"
#include "mf_store.h"
#include "mf_banned.h"

struct fixture {
	char dir[PATH_MAX];	/* mkdtemp directory, removed in teardown */
	char path[PATH_MAX];	/* dir/store.db */
	struct mf_store *s;	/* read-write store at path */
	sqlite3 *db;		/* mf_store_db(s) */
};

/* ---- helpers ---- */

static void make_path(char *buf, size_t len, const char *dir, const char *name)
{
	int n = snprintf(buf, len, "%s/%s", dir, name);

	assert_true(n > 0 && (size_t)n < len);
}

static int rm_entry(const char *path, const struct stat *st, int type,
		    struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path);
}

static void make_tmpdir(char *buf, size_t len)
{
	const char *tmp = getenv("TMPDIR");
	int n;

	if (!tmp || !*tmp)
		tmp = "/tmp";
	n = snprintf(buf, len, "%s/mf-test-store-XXXXXX", tmp);
	assert_true(n > 0 && (size_t)n < len);
	assert_non_null(mkdtemp(buf));
}

static void exec_ok(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK)
		fail_msg("%s: %s", sql, msg ? msg : sqlite3_errstr(rc));
	sqlite3_free(msg);
}

/* Run @sql, return its (extended) result code. */
static int exec_rc(sqlite3 *db, const char *sql)
{
	return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

static int64_t q_int(sqlite3 *db, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The first column of the first row of a query (0 when there is none). */
static int64_t q_int(sqlite3 *db, const char *fmt, ...)
{
	sqlite3_stmt *st = NULL;
	va_list ap;
	char *sql;
	int64_t v = 0;
	int rc;

	va_start(ap, fmt);
	sql = sqlite3_vmprintf(fmt, ap);
	va_end(ap);
	assert_non_null(sql);
	rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	else if (rc != SQLITE_DONE)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	sqlite3_finalize(st);
	sqlite3_free(sql);
	return v;
}

/* The first column of the first row as text, copied into @buf. */
static void q_text(sqlite3 *db, const char *sql, char *buf, size_t len)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);

	if (rc != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	buf[0] = '\0';
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		snprintf(buf, len, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
}

/* Insert a track of @size bytes at @path; returns its id. */
static int64_t add_track(sqlite3 *db, const char *path, int64_t size)
{
	char *sql = sqlite3_mprintf(
		"INSERT INTO tracks (backing_path, format, audio_offset, "
		"audio_length, backing_size, backing_mtime_ns, backing_ctime_ns) "
		"VALUES (%Q, 'flac', 100, %lld, %lld, 1, 2)",
		path, (long long)(size - 100), (long long)size);

	assert_non_null(sql);
	exec_ok(db, sql);
	sqlite3_free(sql);
	return sqlite3_last_insert_rowid(db);
}

/* Insert an art row holding @len bytes of @data; returns its id. */
static int64_t add_art(sqlite3 *db, const char *sha, const void *data, int len)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db,
		"INSERT INTO art (sha256, mime, width, height, byte_len, data) "
		"VALUES (?1, 'image/jpeg', 1, 1, ?2, ?3)", -1, &st, NULL);

	assert_int_equal(rc, SQLITE_OK);
	sqlite3_bind_text(st, 1, sha, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, len);
	sqlite3_bind_blob(st, 3, data, len, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		fail_msg("insert art: %s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return sqlite3_last_insert_rowid(db);
}

static int64_t version_of(sqlite3 *db, int64_t id)
{
	return q_int(db, "SELECT content_version FROM tracks WHERE id = %lld",
		     (long long)id);
}

static int64_t changes_of(sqlite3 *db, int64_t id)
{
	return q_int(db, "SELECT count(*) FROM track_changes WHERE track_id = %lld",
		     (long long)id);
}

static int64_t change_head(sqlite3 *db)
{
	return q_int(db, "SELECT coalesce(max(seq), 0) FROM track_changes");
}

/*
 * Run @sql and check that it moved @id's content_version by @bumps and
 * appended @bumps changelog rows for it.
 */
static void expect_bumps(sqlite3 *db, int64_t id, const char *sql, int bumps)
{
	int64_t v0 = version_of(db, id);
	int64_t c0 = changes_of(db, id);

	exec_ok(db, sql);
	if (version_of(db, id) != v0 + bumps)
		fail_msg("%s: content_version %lld -> %lld, expected +%d", sql,
			 (long long)v0, (long long)version_of(db, id), bumps);
	if (changes_of(db, id) != c0 + bumps)
		fail_msg("%s: %lld new track_changes rows, expected %d", sql,
			 (long long)(changes_of(db, id) - c0), bumps);
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	if (len)
		assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* Create a plain SQLite database at @path and run @sql in it. */
static void raw_db(const char *path, const char *sql)
{
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	if (sql)
		exec_ok(db, sql);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

/* Open @path with @flags and expect failure @want with a message. */
static void expect_open_fails(const char *path, unsigned flags, int want,
			      const char *needle)
{
	struct mf_store *s = (struct mf_store *)1;
	char err[512] = "";
	int rc = mf_store_open(path, flags, &s, err, sizeof(err));

	if (rc != want)
		fail_msg("open '%s' (flags %u): got %d (%s), expected %d", path,
			 flags, rc, err, want);
	assert_null(s);
	assert_true(strlen(err) > 0);
	if (!strstr(err, path))
		fail_msg("message does not name the path: '%s'", err);
	if (needle && !strstr(err, needle))
		fail_msg("message lacks '%s': '%s'", needle, err);
}

/* ---- fixture ---- */

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[512] = "";

	assert_non_null(f);
	make_tmpdir(f->dir, sizeof(f->dir));
	make_path(f->path, sizeof(f->path), f->dir, "store.db");
	if (mf_store_open(f->path, MF_STORE_CREATE, &f->s, err, sizeof(err)))
		fail_msg("open '%s': %s", f->path, err);
	f->db = mf_store_db(f->s);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	mf_store_close(f->s);
	nftw(f->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* ---- open and migrate ---- */

static void test_open_migrates(void **state)
{
	struct fixture *f = *state;
	static const char *const tables[] = {
		"tracks", "tags", "art", "track_art", "structural_blocks",
		"track_changes", "track_props", "scan_runs", "musefs_meta",
	};
	char mode[32];
	size_t i;

	assert_int_equal(q_int(f->db, "PRAGMA user_version"), 2);
	assert_int_equal(MF_STORE_USER_VERSION, 2);
	q_text(f->db, "PRAGMA journal_mode", mode, sizeof(mode));
	assert_string_equal(mode, "wal");
	assert_int_equal(q_int(f->db, "PRAGMA foreign_keys"), 1);
	for (i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		if (q_int(f->db, "SELECT count(*) FROM sqlite_schema WHERE "
			  "type = 'table' AND name = '%s'", tables[i]) != 1)
			fail_msg("table '%s' is missing", tables[i]);
	}
	assert_true(q_int(f->db, "SELECT CAST(value AS INTEGER) FROM "
			  "musefs_meta WHERE key = 'ext_version'") >= 1);
	assert_string_equal(mf_store_path(f->s), f->path);
	/* a fresh store has an empty changelog */
	assert_int_equal(change_head(f->db), 0);
}

static void test_reopen_idempotent(void **state)
{
	struct fixture *f = *state;
	char err[512] = "";
	int64_t objects, id, head, ext;

	id = add_track(f->db, "/music/a.flac", 1000);
	exec_ok(f->db, "INSERT INTO tags (track_id, key, value) "
		"VALUES (1, 'title', 'A')");
	objects = q_int(f->db, "SELECT count(*) FROM sqlite_schema");
	head = change_head(f->db);
	ext = q_int(f->db, "SELECT value FROM musefs_meta WHERE key = 'ext_version'");
	mf_store_close(f->s);
	f->s = NULL;

	for (int round = 0; round < 2; round++) {
		if (mf_store_open(f->path, 0, &f->s, err, sizeof(err)))
			fail_msg("reopen '%s': %s", f->path, err);
		f->db = mf_store_db(f->s);
		assert_int_equal(q_int(f->db, "PRAGMA user_version"), 2);
		assert_int_equal(q_int(f->db, "SELECT count(*) FROM sqlite_schema"),
				 objects);
		assert_int_equal(change_head(f->db), head);
		assert_int_equal(version_of(f->db, id), 1);
		assert_int_equal(q_int(f->db, "SELECT value FROM musefs_meta "
				       "WHERE key = 'ext_version'"), ext);
		mf_store_close(f->s);
		f->s = NULL;
	}

	/* read-only opens a current store and sees the rows, but cannot write */
	if (mf_store_open(f->path, MF_STORE_READONLY, &f->s, err, sizeof(err)))
		fail_msg("read-only open '%s': %s", f->path, err);
	f->db = mf_store_db(f->s);
	assert_int_equal(q_int(f->db, "SELECT count(*) FROM tags"), 1);
	assert_int_equal(exec_rc(f->db, "DELETE FROM tags") & 0xff,
			 SQLITE_READONLY);
}

/* A musefs 1.x store at user_version 1 is upgraded in place, rows kept. */
static void test_migrate_from_v1(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX], err[512] = "";
	struct mf_store *s = NULL;
	sqlite3 *db;
	const struct mf_migration *core1 = NULL;

	for (size_t i = 0; i < mf_migrations_count; i++)
		if (mf_migrations[i].kind == MF_MIG_CORE &&
		    mf_migrations[i].version == 1)
			core1 = &mf_migrations[i];
	assert_non_null(core1);
	make_path(path, sizeof(path), f->dir, "v1.db");
	raw_db(path, core1->sql);
	{
		sqlite3 *raw = NULL;

		assert_int_equal(sqlite3_open(path, &raw), SQLITE_OK);
		assert_int_equal(q_int(raw, "PRAGMA user_version"), 1);
		add_track(raw, "/music/old.flac", 500);
		exec_ok(raw, "INSERT INTO tags (track_id, key, value) "
			"VALUES (1, 'title', 'Old')");
		sqlite3_close(raw);
	}
	/* read-only must not migrate, and says so */
	expect_open_fails(path, MF_STORE_READONLY, -EPROTO, "older");

	if (mf_store_open(path, 0, &s, err, sizeof(err)))
		fail_msg("open v1 '%s': %s", path, err);
	db = mf_store_db(s);
	assert_int_equal(q_int(db, "PRAGMA user_version"), 2);
	assert_int_equal(q_int(db, "SELECT count(*) FROM tags WHERE value = 'Old'"), 1);
	assert_int_equal(version_of(db, 1), 0);
	/* the new triggers work on the old rows */
	expect_bumps(db, 1, "UPDATE tags SET value = 'New' WHERE track_id = 1", 1);
	mf_store_close(s);
}

/* ---- stores we must refuse ---- */

static void test_refuse_missing(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX];

	make_path(path, sizeof(path), f->dir, "missing.db");
	expect_open_fails(path, MF_STORE_READONLY, -ENOENT, NULL);
	expect_open_fails(path, MF_STORE_READONLY | MF_STORE_CREATE, -ENOENT, NULL);
	expect_open_fails(path, 0, -ENOENT, NULL);
	assert_int_equal(access(path, F_OK), -1);
}

static void test_create_parents(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX], err[512] = "";
	struct mf_store *s = NULL;

	make_path(path, sizeof(path), f->dir, "a/b/c/store.db");
	if (mf_store_open(path, MF_STORE_CREATE, &s, err, sizeof(err)))
		fail_msg("create '%s': %s", path, err);
	assert_int_equal(q_int(mf_store_db(s), "PRAGMA user_version"), 2);
	mf_store_close(s);
	assert_int_equal(access(path, F_OK), 0);
}

static void test_refuse_empty(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX];

	/* a zero-byte file */
	make_path(path, sizeof(path), f->dir, "empty.db");
	write_file(path, "", 0);
	expect_open_fails(path, MF_STORE_READONLY, -EPROTO, "empty");
	/* an SQLite database with no tables and user_version 0 */
	make_path(path, sizeof(path), f->dir, "empty2.db");
	raw_db(path, "PRAGMA user_version = 0; VACUUM");
	expect_open_fails(path, MF_STORE_READONLY, -EPROTO, "empty");
}

static void test_refuse_foreign(void **state)
{
	struct fixture *f = *state;
	static const char junk[] =
		"this is not an sqlite database, not even close.\n"
		"this is not an sqlite database, not even close.\n";
	char path[PATH_MAX];
	sqlite3 *raw = NULL;

	make_path(path, sizeof(path), f->dir, "foreign.db");
	raw_db(path, "CREATE TABLE photos (id INTEGER PRIMARY KEY, name TEXT);"
	       "INSERT INTO photos (name) VALUES ('x')");
	expect_open_fails(path, MF_STORE_READONLY, -EPROTO, "not a musefs store");
	expect_open_fails(path, 0, -EPROTO, "not a musefs store");
	/* and it was left alone */
	assert_int_equal(sqlite3_open(path, &raw), SQLITE_OK);
	assert_int_equal(q_int(raw, "PRAGMA user_version"), 0);
	assert_int_equal(q_int(raw, "SELECT count(*) FROM sqlite_schema"), 1);
	sqlite3_close(raw);

	/* not a database at all */
	make_path(path, sizeof(path), f->dir, "text.db");
	write_file(path, junk, strlen(junk));
	expect_open_fails(path, MF_STORE_READONLY, -EPROTO, NULL);
	expect_open_fails(path, 0, -EPROTO, NULL);

	/* a directory */
	expect_open_fails(f->dir, MF_STORE_READONLY, -EINVAL, NULL);
}

static void test_refuse_newer(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX];

	exec_ok(f->db, "PRAGMA user_version = 3");
	mf_store_close(f->s);
	f->s = NULL;
	snprintf(path, sizeof(path), "%s", f->path);
	expect_open_fails(path, MF_STORE_READONLY, -EPROTO, "newer");
	expect_open_fails(path, 0, -EPROTO, "newer");
}

/* ---- CHECK constraints ---- */

struct bad_row {
	const char *what;
	const char *sql;
	int want;		/* extended result code */
};

/* Rows every shape check must reject; track 1 (size 1000) and art 1 exist.
 * These are the refusals of the 1.x schema (schema/0001-core.sql). */
static const struct bad_row bad_rows[] = {
	{ "unknown format",
	  "INSERT INTO tracks (backing_path, format, audio_offset, audio_length,"
	  " backing_size, backing_mtime_ns, backing_ctime_ns)"
	  " VALUES ('/b.ogg', 'ogg', 0, 0, 0, 0, 0)", SQLITE_CONSTRAINT_CHECK },
	{ "duplicate backing path",
	  "INSERT INTO tracks (backing_path, format, audio_offset, audio_length,"
	  " backing_size, backing_mtime_ns, backing_ctime_ns)"
	  " VALUES ('/music/a.flac', 'flac', 0, 0, 0, 0, 0)",
	  SQLITE_CONSTRAINT_UNIQUE },
	{ "negative updated_at",
	  "UPDATE tracks SET updated_at = -1 WHERE id = 1",
	  SQLITE_CONSTRAINT_CHECK },
	{ "negative audio_offset",
	  "UPDATE tracks SET audio_offset = -1 WHERE id = 1",
	  SQLITE_CONSTRAINT_CHECK },
	{ "negative audio_length",
	  "UPDATE tracks SET audio_length = -1 WHERE id = 1",
	  SQLITE_CONSTRAINT_CHECK },
	{ "negative backing_size",
	  "UPDATE tracks SET backing_size = -1, audio_offset = 0,"
	  " audio_length = 0 WHERE id = 1", SQLITE_CONSTRAINT_CHECK },
	{ "negative backing_ctime_ns",
	  "UPDATE tracks SET backing_ctime_ns = -1 WHERE id = 1",
	  SQLITE_CONSTRAINT_CHECK },
	{ "offset + length > size",
	  "UPDATE tracks SET audio_length = 901 WHERE id = 1",
	  SQLITE_CONSTRAINT_CHECK },
	{ "short fingerprint",
	  "UPDATE tracks SET fingerprint = substr(hex(zeroblob(32)), 2)"
	  " WHERE id = 1", SQLITE_CONSTRAINT_CHECK },
	{ "long content_hash",
	  "UPDATE tracks SET content_hash = 'a' || hex(zeroblob(32))"
	  " WHERE id = 1", SQLITE_CONSTRAINT_CHECK },
	{ "empty key",
	  "INSERT INTO tags (track_id, key, value) VALUES (1, '', 'x')",
	  SQLITE_CONSTRAINT_CHECK },
	{ "key with a tab",
	  "INSERT INTO tags (track_id, key, value)"
	  " VALUES (1, 'ti' || char(9) || 'tle', 'x')", SQLITE_CONSTRAINT_CHECK },
	{ "content_version going back",
	  "UPDATE tracks SET content_version = content_version - 1 WHERE id = 1",
	  SQLITE_CONSTRAINT_TRIGGER },
	{ "key with char(1)",
	  "INSERT INTO tags (track_id, key, value)"
	  " VALUES (1, char(1) || 'a', 'x')", SQLITE_CONSTRAINT_CHECK },
	{ "key with char(31)",
	  "INSERT INTO tags (track_id, key, value)"
	  " VALUES (1, 'a' || char(31), 'x')", SQLITE_CONSTRAINT_CHECK },
	{ "key with a newline",
	  "INSERT INTO tags (track_id, key, value)"
	  " VALUES (1, 'a' || char(10), 'x')", SQLITE_CONSTRAINT_CHECK },
	{ "257-character key",
	  "INSERT INTO tags (track_id, key, value)"
	  " VALUES (1, 'k' || lower(hex(zeroblob(128))), 'x')",
	  SQLITE_CONSTRAINT_CHECK },
	{ "value of 262145 bytes",
	  "INSERT INTO tags (track_id, key, value)"
	  " VALUES (1, 'comment', 'x' || hex(zeroblob(131072)))",
	  SQLITE_CONSTRAINT_CHECK },
	{ "value of 131073 two-byte characters",
	  "INSERT INTO tags (track_id, key, value)"
	  " VALUES (1, 'comment', replace(hex(zeroblob(65537)), '0', '\xc3\xa9'))",
	  SQLITE_CONSTRAINT_CHECK },
	{ "tag without a value",
	  "INSERT INTO tags (track_id, key) VALUES (1, 'title')",
	  SQLITE_CONSTRAINT_NOTNULL },
	{ "value_blob with a non-empty value",
	  "INSERT INTO tags (track_id, key, value, value_blob)"
	  " VALUES (1, 'flac:application', 'x', x'00010203')",
	  SQLITE_CONSTRAINT_CHECK },
	{ "oversize value_blob",
	  "INSERT INTO tags (track_id, key, value, value_blob)"
	  " VALUES (1, 'flac:application', '', zeroblob(16711681))",
	  SQLITE_CONSTRAINT_CHECK },
	{ "negative tag ordinal",
	  "INSERT INTO tags (track_id, key, ordinal, value)"
	  " VALUES (1, 'artist', -1, 'x')", SQLITE_CONSTRAINT_CHECK },
	{ "tag of a missing track",
	  "INSERT INTO tags (track_id, key, value) VALUES (42, 'title', 'x')",
	  SQLITE_CONSTRAINT_FOREIGNKEY },
	{ "art byte_len mismatch",
	  "INSERT INTO art (sha256, mime, byte_len, data)"
	  " VALUES (lower(hex(randomblob(32))), 'image/png', 5, x'0102')",
	  SQLITE_CONSTRAINT_CHECK },
	{ "art sha256 of 63 characters",
	  "INSERT INTO art (sha256, mime, byte_len, data)"
	  " VALUES (substr(hex(randomblob(32)), 2), 'image/png', 1, x'01')",
	  SQLITE_CONSTRAINT_CHECK },
	{ "art mime of 256 characters",
	  "INSERT INTO art (sha256, mime, byte_len, data)"
	  " VALUES (lower(hex(randomblob(32))), hex(zeroblob(128)), 1, x'01')",
	  SQLITE_CONSTRAINT_CHECK },
	{ "art negative width",
	  "INSERT INTO art (sha256, mime, width, byte_len, data)"
	  " VALUES (lower(hex(randomblob(32))), 'image/png', -1, 1, x'01')",
	  SQLITE_CONSTRAINT_CHECK },
	{ "art negative height",
	  "INSERT INTO art (sha256, mime, height, byte_len, data)"
	  " VALUES (lower(hex(randomblob(32))), 'image/png', -1, 1, x'01')",
	  SQLITE_CONSTRAINT_CHECK },
	{ "art over 16711680 bytes",
	  "INSERT INTO art (sha256, mime, byte_len, data)"
	  " VALUES (lower(hex(randomblob(32))), 'image/png', 16711681,"
	  " zeroblob(16711681))", SQLITE_CONSTRAINT_CHECK },
	{ "picture_type 21",
	  "INSERT INTO track_art (track_id, ordinal, art_id, picture_type)"
	  " VALUES (1, 5, 1, 21)", SQLITE_CONSTRAINT_CHECK },
	{ "picture_type -1",
	  "INSERT INTO track_art (track_id, ordinal, art_id, picture_type)"
	  " VALUES (1, 5, 1, -1)", SQLITE_CONSTRAINT_CHECK },
	{ "description of 1025 characters",
	  "INSERT INTO track_art (track_id, ordinal, art_id, description)"
	  " VALUES (1, 5, 1, 'd' || hex(zeroblob(512)))",
	  SQLITE_CONSTRAINT_CHECK },
	{ "track_art of missing art",
	  "INSERT INTO track_art (track_id, ordinal, art_id, picture_type)"
	  " VALUES (1, 5, 99, 3)", SQLITE_CONSTRAINT_FOREIGNKEY },
	{ "lower-case structural kind",
	  "INSERT INTO structural_blocks (track_id, kind, body)"
	  " VALUES (1, 'streaminfo', zeroblob(34))", SQLITE_CONSTRAINT_CHECK },
	{ "unknown structural kind",
	  "INSERT INTO structural_blocks (track_id, kind, body)"
	  " VALUES (1, 'PADDING', zeroblob(4))", SQLITE_CONSTRAINT_CHECK },
	{ "negative structural ordinal",
	  "INSERT INTO structural_blocks (track_id, kind, ordinal, body)"
	  " VALUES (1, 'SEEKTABLE', -1, zeroblob(18))", SQLITE_CONSTRAINT_CHECK },
};

static void test_checks_reject(void **state)
{
	struct fixture *f = *state;
	static const unsigned char px[4] = { 0xff, 0xd8, 0xff, 0xd9 };
	int64_t head;
	size_t i;

	add_track(f->db, "/music/a.flac", 1000);
	add_art(f->db, "0000000000000000000000000000000000000000000000000000000000000001",
		px, sizeof(px));
	head = change_head(f->db);
	for (i = 0; i < sizeof(bad_rows) / sizeof(bad_rows[0]); i++) {
		int rc = exec_rc(f->db, bad_rows[i].sql);

		if (rc != bad_rows[i].want)
			fail_msg("%s: got %d (%s), expected %d", bad_rows[i].what,
				 rc, sqlite3_errmsg(f->db), bad_rows[i].want);
	}
	/* nothing was written, not even to the changelog */
	assert_int_equal(q_int(f->db, "SELECT count(*) FROM tracks"), 1);
	assert_int_equal(q_int(f->db, "SELECT count(*) FROM tags"), 0);
	assert_int_equal(q_int(f->db, "SELECT count(*) FROM art"), 1);
	assert_int_equal(q_int(f->db, "SELECT count(*) FROM track_art"), 0);
	assert_int_equal(q_int(f->db, "SELECT count(*) FROM structural_blocks"), 0);
	assert_int_equal(change_head(f->db), head);
	assert_int_equal(version_of(f->db, 1), 0);
}

/* The limits themselves are accepted, and every row the 1.x schema
 * accepts that earlier builds of ours refused (docs/store.md). */
static void test_checks_accept_limits(void **state)
{
	struct fixture *f = *state;
	static const unsigned char px[4] = { 0xff, 0xd8, 0xff, 0xd9 };

	add_track(f->db, "/music/a.flac", 1000);
	add_art(f->db, "0000000000000000000000000000000000000000000000000000000000000001",
		px, sizeof(px));
	exec_ok(f->db, "UPDATE tracks SET audio_offset = 0, audio_length = 1000 "
		"WHERE id = 1");
	exec_ok(f->db, "UPDATE tracks SET fingerprint = lower(hex(zeroblob(32))),"
		" content_hash = 'ABCDEF' || substr(hex(zeroblob(32)), 7)");
	exec_ok(f->db, "UPDATE tracks SET backing_mtime_ns = -5 WHERE id = 1");
	/* 256 characters, 512 bytes */
	exec_ok(f->db, "INSERT INTO tags (track_id, key, value) VALUES (1, "
		"replace(hex(zeroblob(128)), '0', '\xc3\xa9'), 'x')");
	exec_ok(f->db, "INSERT INTO tags (track_id, key, value)"
		" VALUES (1, 'comment', hex(zeroblob(131072)))");
	exec_ok(f->db, "INSERT INTO tags (track_id, key, value)"
		" VALUES (1, 'título', 'Björk')");
	exec_ok(f->db, "INSERT INTO tags (track_id, key, value)"
		" VALUES (1, 'musicbrainz_albumid', '')");
	exec_ok(f->db, "INSERT INTO tags (track_id, key, ordinal, value)"
		" VALUES (1, 'artist', 65536, 'x')");
	exec_ok(f->db, "INSERT INTO tags (track_id, key, value, value_blob)"
		" VALUES (1, 'flac:application', '', x'74657374')");
	/* any case, '=', DEL, NUL in a value: the 1.x key/value rules */
	exec_ok(f->db, "INSERT INTO tags (track_id, key, value) VALUES "
		"(1, 'LABEL', 'x'), (1, 'Title', 'x'), (1, 'a=b', 'x'), "
		"(1, 'a' || char(127), 'x'), (1, 'title', 'a' || char(0) || 'b')");
	exec_ok(f->db, "INSERT INTO track_art (track_id, ordinal, art_id, picture_type)"
		" VALUES (1, 0, 1, 0), (1, 1, 1, 20), (1, 70000, 1, 3)");
	exec_ok(f->db, "INSERT INTO track_art (track_id, ordinal, art_id, "
		"description) VALUES (1, 2, 1, hex(zeroblob(512)))");
	/* art as python-musefs's upsert_art writes it: no dimensions */
	exec_ok(f->db, "INSERT INTO art (sha256, mime, width, height, byte_len,"
		" data) VALUES (lower(hex(randomblob(32))), 'image/png', NULL,"
		" NULL, 1, x'01'), (upper(hex(randomblob(32))), '', 0, 0, 1, x'02')");
	exec_ok(f->db, "INSERT INTO structural_blocks (track_id, kind, body)"
		" VALUES (1, 'STREAMINFO', zeroblob(34)), (1, 'SEEKTABLE', zeroblob(36))");
	exec_ok(f->db, "INSERT INTO structural_blocks (track_id, kind, ordinal,"
		" body) VALUES (1, 'SEEKTABLE', 1, zeroblob(5))");
	assert_int_equal(q_int(f->db, "SELECT count(*) FROM tags"), 11);
	assert_int_equal(q_int(f->db, "SELECT count(*) FROM art WHERE width IS NULL"),
			 1);
}

/* ---- content_version and changelog triggers ---- */

static void test_bumps(void **state)
{
	struct fixture *f = *state;
	static const unsigned char px[4] = { 0xff, 0xd8, 0xff, 0xd9 };
	int64_t id, other, head;

	id = add_track(f->db, "/music/a.flac", 1000);
	other = add_track(f->db, "/music/b.flac", 1000);
	/* inserting a track logs it; versions start at 0, as in 1.x */
	assert_int_equal(version_of(f->db, id), 0);
	assert_int_equal(changes_of(f->db, id), 1);
	assert_int_equal(changes_of(f->db, other), 1);

	expect_bumps(f->db, id, "INSERT INTO tags (track_id, key, value)"
		     " VALUES (1, 'title', 'A')", 1);
	expect_bumps(f->db, id, "INSERT INTO tags (track_id, key, ordinal, value)"
		     " VALUES (1, 'artist', 0, 'X'), (1, 'artist', 1, 'Y')", 2);
	expect_bumps(f->db, id, "UPDATE tags SET value = 'B'"
		     " WHERE track_id = 1 AND key = 'title'", 1);
	expect_bumps(f->db, id, "DELETE FROM tags"
		     " WHERE track_id = 1 AND key = 'title'", 1);
	/* moving a tag to another track bumps both */
	expect_bumps(f->db, other, "UPDATE tags SET track_id = 2"
		     " WHERE track_id = 1 AND ordinal = 1", 1);
	assert_int_equal(q_int(f->db, "SELECT count(*) FROM tags"
			       " WHERE track_id = 2"), 1);

	/* art alone does not touch any track; linking it does */
	head = change_head(f->db);
	add_art(f->db, "0000000000000000000000000000000000000000000000000000000000000001",
		px, sizeof(px));
	assert_int_equal(change_head(f->db), head);
	expect_bumps(f->db, id, "INSERT INTO track_art (track_id, art_id)"
		     " VALUES (1, 1)", 1);
	expect_bumps(f->db, id, "UPDATE track_art SET picture_type = 4"
		     " WHERE track_id = 1", 1);
	expect_bumps(f->db, id, "DELETE FROM track_art WHERE track_id = 1", 1);

	expect_bumps(f->db, id, "INSERT INTO structural_blocks (track_id, kind, body)"
		     " VALUES (1, 'STREAMINFO', zeroblob(34))", 1);
	expect_bumps(f->db, id, "UPDATE structural_blocks SET body = zeroblob(34)"
		     " WHERE track_id = 1", 1);
	expect_bumps(f->db, id, "DELETE FROM structural_blocks WHERE track_id = 1", 1);

	/* every structural column of tracks */
	expect_bumps(f->db, id, "UPDATE tracks SET backing_path = '/music/c.flac'"
		     " WHERE id = 1", 1);
	expect_bumps(f->db, id, "UPDATE tracks SET format = 'oggflac' WHERE id = 1", 1);
	expect_bumps(f->db, id, "UPDATE tracks SET audio_offset = 50 WHERE id = 1", 1);
	expect_bumps(f->db, id, "UPDATE tracks SET audio_length = 10 WHERE id = 1", 1);
	expect_bumps(f->db, id, "UPDATE tracks SET backing_size = 2000 WHERE id = 1", 1);
	expect_bumps(f->db, id, "UPDATE tracks SET backing_mtime_ns = 7 WHERE id = 1", 1);
	expect_bumps(f->db, id, "UPDATE tracks SET backing_ctime_ns = 8 WHERE id = 1", 1);
	/* several at once, and the writer bumping itself: still one bump */
	expect_bumps(f->db, id, "UPDATE tracks SET backing_size = 3000,"
		     " backing_mtime_ns = 9 WHERE id = 1", 1);
	expect_bumps(f->db, id, "UPDATE tracks SET backing_size = 4000,"
		     " content_version = content_version + 1 WHERE id = 1", 1);
	/* a writer's own bump alone is logged */
	expect_bumps(f->db, id, "UPDATE tracks SET content_version = content_version + 1"
		     " WHERE id = 1", 1);

	/* what does not change served bytes does not bump */
	expect_bumps(f->db, id, "UPDATE tracks SET fingerprint ="
		     " lower(hex(zeroblob(32))) WHERE id = 1", 0);
	expect_bumps(f->db, id, "UPDATE tracks SET content_hash ="
		     " lower(hex(zeroblob(32))) WHERE id = 1", 0);
	expect_bumps(f->db, id, "UPDATE tracks SET updated_at = 5 WHERE id = 1", 0);
	/* and the other track saw none of this */
	assert_int_equal(version_of(f->db, other), 1);
	assert_int_equal(changes_of(f->db, other), 2);
}

/* A bump also refreshes updated_at. */
static void test_bump_sets_updated_at(void **state)
{
	struct fixture *f = *state;

	add_track(f->db, "/music/a.flac", 1000);
	exec_ok(f->db, "UPDATE tracks SET updated_at = 5 WHERE id = 1");
	exec_ok(f->db, "INSERT INTO tags (track_id, key, value) VALUES (1, 'title', 'A')");
	assert_true(q_int(f->db, "SELECT updated_at FROM tracks WHERE id = 1") >
		    1000000000);
}

static void test_delete_track(void **state)
{
	struct fixture *f = *state;
	static const unsigned char px[4] = { 0xff, 0xd8, 0xff, 0xd9 };
	int64_t id, head;

	id = add_track(f->db, "/music/a.flac", 1000);
	add_track(f->db, "/music/b.flac", 1000);
	add_art(f->db, "0000000000000000000000000000000000000000000000000000000000000001",
		px, sizeof(px));
	exec_ok(f->db, "INSERT INTO tags (track_id, key, value)"
		" VALUES (1, 'title', 'A'), (1, 'artist', 'X'), (2, 'title', 'B')");
	exec_ok(f->db, "INSERT INTO track_art (track_id, art_id) VALUES (1, 1), (2, 1)");
	exec_ok(f->db, "INSERT INTO structural_blocks (track_id, kind, body)"
		" VALUES (1, 'STREAMINFO', zeroblob(34))");
	head = change_head(f->db);

	exec_ok(f->db, "DELETE FROM tracks WHERE id = 1");
	assert_true(change_head(f->db) > head);
	assert_int_equal(q_int(f->db, "SELECT track_id FROM track_changes"
			       " ORDER BY seq DESC LIMIT 1"), id);
	assert_int_equal(q_int(f->db, "SELECT count(*) FROM track_changes"
			       " WHERE seq > %lld AND track_id <> 1", (long long)head), 0);
	assert_int_equal(q_int(f->db, "SELECT count(*) FROM tags WHERE track_id = 1"), 0);
	assert_int_equal(q_int(f->db, "SELECT count(*) FROM track_art WHERE track_id = 1"), 0);
	assert_int_equal(q_int(f->db, "SELECT count(*) FROM structural_blocks"
			       " WHERE track_id = 1"), 0);
	/* the other track and the shared art are untouched */
	assert_int_equal(q_int(f->db, "SELECT count(*) FROM tags WHERE track_id = 2"), 1);
	assert_int_equal(q_int(f->db, "SELECT count(*) FROM art"), 1);
	assert_int_equal(version_of(f->db, 2), 2);
}

static void test_art_immutable(void **state)
{
	struct fixture *f = *state;
	static const unsigned char px[4] = { 0xff, 0xd8, 0xff, 0xd9 };
	static const char *const updates[] = {
		"UPDATE art SET mime = 'image/png' WHERE id = 1",
		"UPDATE art SET data = x'00000000' WHERE id = 1",
		"UPDATE art SET width = 2 WHERE id = 1",
		"UPDATE art SET height = NULL WHERE id = 1",
		"UPDATE art SET sha256 = replace(sha256, '1', 'f') WHERE id = 1",
	};

	add_track(f->db, "/music/a.flac", 1000);
	add_art(f->db, "0000000000000000000000000000000000000000000000000000000000000001",
		px, sizeof(px));
	for (size_t i = 0; i < sizeof(updates) / sizeof(updates[0]); i++) {
		int rc = exec_rc(f->db, updates[i]);

		if (rc != SQLITE_CONSTRAINT_TRIGGER)
			fail_msg("%s: got %d (%s)", updates[i], rc,
				 sqlite3_errmsg(f->db));
		assert_non_null(strstr(sqlite3_errmsg(f->db), "immutable"));
	}
	assert_int_equal(q_int(f->db, "SELECT count(*) FROM art WHERE"
			       " mime = 'image/jpeg' AND width = 1 AND"
			       " data = x'ffd8ffd9'"), 1);
	/* as in 1.x, an UPDATE that changes no content column is allowed
	 * (an upsert's DO UPDATE SET sha256 = sha256, NULL dimensions) */
	exec_ok(f->db, "UPDATE art SET sha256 = sha256, mime = mime, width = width"
		" WHERE id = 1");
	exec_ok(f->db, "INSERT INTO art (sha256, mime, width, height, byte_len, "
		"data) VALUES (lower(hex(zeroblob(32))), 'image/png', NULL, NULL, "
		"1, x'01') ON CONFLICT (sha256) DO UPDATE SET mime = mime");
	exec_ok(f->db, "INSERT INTO art (sha256, mime, width, height, byte_len, "
		"data) VALUES (lower(hex(zeroblob(32))), 'image/png', NULL, NULL, "
		"1, x'01') ON CONFLICT (sha256) DO UPDATE SET width = excluded.width");
	/* an art row deleted while linked (foreign keys off) bumps its tracks */
	exec_ok(f->db, "INSERT INTO track_art (track_id, art_id) VALUES (1, 2)");
	exec_ok(f->db, "PRAGMA foreign_keys = OFF");
	expect_bumps(f->db, 1, "DELETE FROM art WHERE id = 2", 1);
	exec_ok(f->db, "PRAGMA foreign_keys = ON");
	exec_ok(f->db, "DELETE FROM track_art");
	/* linked art cannot be deleted; unlinked art can */
	exec_ok(f->db, "INSERT INTO track_art (track_id, art_id) VALUES (1, 1)");
	assert_int_equal(exec_rc(f->db, "DELETE FROM art WHERE id = 1"),
			 SQLITE_CONSTRAINT_FOREIGNKEY);
	exec_ok(f->db, "DELETE FROM track_art");
	exec_ok(f->db, "DELETE FROM art WHERE id = 1");
}

static void test_changelog_prunes(void **state)
{
	struct fixture *f = *state;
	sqlite3_stmt *st = NULL;
	const int bumps = 9000;
	int64_t head;

	add_track(f->db, "/music/a.flac", 1000);
	exec_ok(f->db, "BEGIN");
	assert_int_equal(sqlite3_prepare_v2(f->db, "UPDATE tracks SET "
		"content_version = content_version + 1 WHERE id = 1", -1, &st,
		NULL), SQLITE_OK);
	for (int i = 0; i < bumps; i++) {
		assert_int_equal(sqlite3_step(st), SQLITE_DONE);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	exec_ok(f->db, "COMMIT");

	head = change_head(f->db);
	assert_int_equal(head, 1 + bumps);
	assert_int_equal(q_int(f->db, "SELECT count(*) FROM track_changes"), 8192);
	assert_int_equal(q_int(f->db, "SELECT min(seq) FROM track_changes"),
			 head - 8191);
	/* sequence numbers are never reused, even after pruning everything */
	exec_ok(f->db, "DELETE FROM track_changes");
	exec_ok(f->db, "UPDATE tracks SET backing_size = 2000 WHERE id = 1");
	assert_int_equal(change_head(f->db), head + 1);
}

/* ---- blob streaming ---- */

static void test_blob_read(void **state)
{
	struct fixture *f = *state;
	unsigned char data[1000], tag[300], buf[1000];
	struct mf_blob_ref ref;
	sqlite3_stmt *st = NULL;
	int64_t art_id, tag_row, text_row;
	static const struct { uint64_t off; size_t len; } slices[] = {
		{ 0, 1 }, { 0, 1000 }, { 500, 100 }, { 999, 1 }, { 1, 998 },
	};

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 7 + 3);
	for (size_t i = 0; i < sizeof(tag); i++)
		tag[i] = (unsigned char)(255 - i);
	add_track(f->db, "/music/a.flac", 1000);
	art_id = add_art(f->db, "00000000000000000000000000000000000000000000"
			 "000000000000000000ab", data, sizeof(data));
	assert_int_equal(sqlite3_prepare_v2(f->db, "INSERT INTO tags (track_id,"
		" key, value, value_blob) VALUES (1, 'flac:application', '', ?1)", -1, &st,
		NULL), SQLITE_OK);
	sqlite3_bind_blob(st, 1, tag, sizeof(tag), SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	tag_row = sqlite3_last_insert_rowid(f->db);
	exec_ok(f->db, "INSERT INTO tags (track_id, key, value) VALUES (1, 'title', 'A')");
	text_row = sqlite3_last_insert_rowid(f->db);

	ref.kind = MF_BLOB_ART;
	ref.rowid = art_id;
	for (size_t i = 0; i < sizeof(slices) / sizeof(slices[0]); i++) {
		memset(buf, 0xee, sizeof(buf));
		assert_int_equal(mf_store_blob_read(f->s, &ref, slices[i].off, buf,
						    slices[i].len), 0);
		assert_memory_equal(buf, data + slices[i].off, slices[i].len);
	}
	assert_int_equal(mf_store_blob_read(f->s, &ref, 999, buf, 2), -EIO);
	assert_int_equal(mf_store_blob_read(f->s, &ref, 1000, buf, 1), -EIO);
	assert_int_equal(mf_store_blob_read(f->s, &ref, UINT64_MAX - 1, buf, 4), -EIO);
	assert_int_equal(mf_store_blob_read(f->s, &ref, 0, buf, 0), 0);
	/* no transaction is left open on the connection */
	assert_int_equal(sqlite3_get_autocommit(f->db), 1);

	ref.kind = MF_BLOB_TAG;
	ref.rowid = tag_row;
	assert_int_equal(mf_store_blob_read(f->s, &ref, 0, buf, sizeof(tag)), 0);
	assert_memory_equal(buf, tag, sizeof(tag));
	assert_int_equal(mf_store_blob_read(f->s, &ref, 100, buf, 50), 0);
	assert_memory_equal(buf, tag + 100, 50);
	assert_int_equal(mf_store_blob_read(f->s, &ref, 250, buf, 51), -EIO);
	/* a text tag has no blob */
	ref.rowid = text_row;
	assert_int_equal(mf_store_blob_read(f->s, &ref, 0, buf, 1), -EIO);

	/* missing rows */
	ref.kind = MF_BLOB_ART;
	ref.rowid = art_id + 100;
	assert_int_equal(mf_store_blob_read(f->s, &ref, 0, buf, 1), -EIO);
	ref.kind = MF_BLOB_TAG;
	ref.rowid = tag_row + 100;
	assert_int_equal(mf_store_blob_read(f->s, &ref, 0, buf, 1), -EIO);
	assert_int_equal(sqlite3_get_autocommit(f->db), 1);
}

/* Blob reads work on a read-only connection, next to a writer. */
static void test_blob_read_readonly(void **state)
{
	struct fixture *f = *state;
	unsigned char data[64], buf[64];
	struct mf_store *ro = NULL;
	struct mf_blob_ref ref;
	char err[512] = "";

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i ^ 0x5a);
	ref.kind = MF_BLOB_ART;
	ref.rowid = add_art(f->db, "000000000000000000000000000000000000000000"
			    "00000000000000000000cd", data, sizeof(data));
	if (mf_store_open(f->path, MF_STORE_READONLY, &ro, err, sizeof(err)))
		fail_msg("read-only open: %s", err);
	assert_int_equal(mf_store_blob_read(ro, &ref, 8, buf, 56), 0);
	assert_memory_equal(buf, data + 8, 56);
	/* the writer is not blocked by the reader */
	exec_ok(f->db, "INSERT INTO art (sha256, mime, byte_len, data) VALUES"
		" (lower(hex(randomblob(32))), 'image/png', 1, x'01')");
	mf_store_close(ro);
}

/* ---- data_version ---- */

static void test_data_version(void **state)
{
	struct fixture *f = *state;
	struct mf_store *ro = NULL;
	char err[512] = "";
	int64_t v0 = 0, v1 = 0, v2 = 0;

	if (mf_store_open(f->path, MF_STORE_READONLY, &ro, err, sizeof(err)))
		fail_msg("read-only open: %s", err);
	assert_int_equal(mf_store_data_version(ro, &v0), 0);
	assert_int_equal(mf_store_data_version(ro, &v1), 0);
	assert_int_equal(v0, v1);
	add_track(f->db, "/music/a.flac", 1000);
	assert_int_equal(mf_store_data_version(ro, &v2), 0);
	assert_true(v2 != v1);
	mf_store_close(ro);
}

/* ---- default path ---- */

static void test_default_path(void **state)
{
	char buf[PATH_MAX], small[16];

	(void)state;
	assert_int_equal(mf_store_default_path("/srv/music/lib.db", "/xdg",
					       "/home/u", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/srv/music/lib.db");
	/* MUSEFS_DB empty or unset: XDG_DATA_HOME */
	assert_int_equal(mf_store_default_path("", "/xdg", "/home/u", buf,
					       sizeof(buf)), 0);
	assert_string_equal(buf, "/xdg/musefs/library.db");
	assert_int_equal(mf_store_default_path(NULL, "/xdg", "/home/u", buf,
					       sizeof(buf)), 0);
	assert_string_equal(buf, "/xdg/musefs/library.db");
	/* XDG_DATA_HOME empty or unset: HOME */
	assert_int_equal(mf_store_default_path(NULL, "", "/home/u", buf,
					       sizeof(buf)), 0);
	assert_string_equal(buf, "/home/u/.local/share/musefs/library.db");
	assert_int_equal(mf_store_default_path(NULL, NULL, "/home/u", buf,
					       sizeof(buf)), 0);
	assert_string_equal(buf, "/home/u/.local/share/musefs/library.db");
	assert_int_equal(mf_store_default_path(NULL, NULL, "/home/u", small,
					       sizeof(small)), -ENAMETOOLONG);
	assert_int_equal(mf_store_default_path(NULL, NULL, NULL, buf,
					       sizeof(buf)), -ENOENT);
	assert_int_equal(mf_store_default_path(NULL, "", "", buf,
					       sizeof(buf)), -ENOENT);
	assert_int_equal(mf_store_default_path(NULL, "/x", NULL, buf,
					       sizeof(buf)), 0);
	assert_string_equal(buf, "/x/musefs/library.db");
}

/* ---- errno mapping ---- */

static void test_errno_map(void **state)
{
	(void)state;
	assert_int_equal(mf_store_errno(SQLITE_OK), 0);
	assert_int_equal(mf_store_errno(SQLITE_DONE), 0);
	assert_int_equal(mf_store_errno(SQLITE_BUSY), -EBUSY);
	assert_int_equal(mf_store_errno(SQLITE_BUSY_SNAPSHOT), -EBUSY);
	assert_int_equal(mf_store_errno(SQLITE_NOMEM), -ENOMEM);
	assert_int_equal(mf_store_errno(SQLITE_CONSTRAINT_CHECK), -EINVAL);
	assert_int_equal(mf_store_errno(SQLITE_CORRUPT), -EIO);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_open_migrates),
		T(test_reopen_idempotent),
		T(test_migrate_from_v1),
		T(test_refuse_missing),
		T(test_create_parents),
		T(test_refuse_empty),
		T(test_refuse_foreign),
		T(test_refuse_newer),
		T(test_checks_reject),
		T(test_checks_accept_limits),
		T(test_bumps),
		T(test_bump_sets_updated_at),
		T(test_delete_track),
		T(test_art_immutable),
		T(test_changelog_prunes),
		T(test_blob_read),
		T(test_blob_read_readonly),
		T(test_data_version),
		cmocka_unit_test(test_default_path),
		cmocka_unit_test(test_errno_map),
	};

	mf_log_init("test_store", MF_LOG_ERROR);
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
