/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for scan/mf_scan_check: the C predicates the probe workers
 * use instead of the store's CHECK constraints must accept exactly the
 * rows SQLite accepts. Every case is inserted into a real store (schema
 * applied by mf_store_open, CHECKs on), bound the way the writer binds
 * it, and the outcome compared with the predicate; a refusal must be a
 * CHECK refusal (SQLITE_CONSTRAINT_CHECK), not some other error.
 * The predicates come from libscan.a.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../scan/mf_scan_int.h"
#include "mf_store.h"

static struct mf_store *store;
static sqlite3 *db;
static char dbpath[] = "/tmp/mf-check-XXXXXX";
static int64_t track_id;
static int ncase;

static int setup(void **state)
{
	char err[256];
	int fd = mkstemp(dbpath);

	(void)state;
	if (fd < 0)
		return -1;
	close(fd);
	unlink(dbpath);
	if (mf_store_open(dbpath, MF_STORE_CREATE, &store, err, sizeof(err)))
		return -1;
	db = mf_store_db(store);
	if (sqlite3_exec(db, "INSERT INTO tracks (backing_path, format, "
			 "audio_offset, audio_length, backing_size, "
			 "backing_mtime_ns, backing_ctime_ns) VALUES "
			 "('/t.flac', 'flac', 0, 1, 1, 0, 0)", NULL, NULL,
			 NULL) != SQLITE_OK)
		return -1;
	track_id = sqlite3_last_insert_rowid(db);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	mf_store_close(store);
	unlink(dbpath);
	return 0;
}

/* Step @st (reset and finalized here); true when SQLite took the row.
 * A refusal must come from a CHECK. */
static bool took(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		assert_int_equal(sqlite3_extended_errcode(db),
				 SQLITE_CONSTRAINT_CHECK);
	return rc == SQLITE_DONE;
}

static sqlite3_stmt *prep(const char *sql)
{
	sqlite3_stmt *st = NULL;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	return st;
}

/* A buffer of @n bytes of @c (not NUL-terminated beyond @n + 1). */
static char *fill(size_t n, char c)
{
	char *s = malloc(n + 1);

	assert_non_null(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

static void tag_case(const char *key, int ordinal, const char *value,
		     size_t len, bool binary)
{
	sqlite3_stmt *st = prep("INSERT INTO tags (track_id, key, ordinal, "
				"value, value_blob) VALUES (?, ?, ?, ?, ?)");
	bool want = check_tag_row(key, ordinal, value, len, binary);

	/* bound as mf_scan_write.c's bind_tag() binds */
	sqlite3_bind_int64(st, 1, track_id);
	sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, ordinal);
	if (binary) {
		sqlite3_bind_text(st, 4, "", 0, SQLITE_STATIC);
		sqlite3_bind_blob64(st, 5, value, len, SQLITE_STATIC);
	} else {
		sqlite3_bind_text64(st, 4, value, len, SQLITE_STATIC,
				    SQLITE_UTF8);
		sqlite3_bind_null(st, 5);
	}
	ncase++;
	if (took(st) != want)
		fail_msg("tag key '%.40s' ordinal %d len %zu binary %d: "
			 "predicate says %d", key, ordinal, len, binary, want);
	sqlite3_exec(db, "DELETE FROM tags", NULL, NULL, NULL);
}

static void test_tags(void **state)
{
	static const char *const keys[] = {
		"title", "Title", "TITLE", "a=b", "x\x01y", "x\x1fy", "x\x7fy",
		"", "txxx:caf\xc3\xa9", "\xc3\x89t\xc3\xa9", "a b", "x\x80y",
		"musicbrainz_trackid", "tab\there", "~", "[", "a*b",
	};
	char *k255 = fill(255, 'k'), *k256 = fill(256, 'k');
	char *k257 = fill(257, 'k');
	char *v1m = fill(262144, 'v'), *v1m1 = fill(262145, 'v');
	char *b16 = fill(16711681, 'b');
	/* 256 and 257 two-byte characters */
	char *u256 = malloc(513), *u257 = malloc(515);

	(void)state;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		tag_case(keys[i], 0, "v", 1, false);
	assert_non_null(u256);
	assert_non_null(u257);
	for (int i = 0; i < 257; i++)
		memcpy(u257 + 2 * i, "\xc3\xa9", 2);
	u257[514] = '\0';
	memcpy(u256, u257, 512);
	u256[512] = '\0';
	tag_case(k255, 0, "v", 1, false);
	tag_case(k256, 0, "v", 1, false);
	tag_case(k257, 0, "v", 1, false);
	tag_case(u256, 0, "v", 1, false);
	tag_case(u257, 0, "v", 1, false);
	tag_case("LABEL", 0, "v", 1, false);
	tag_case("title", -1, "v", 1, false);
	tag_case("title", 65535, "v", 1, false);
	tag_case("title", 65536, "v", 1, false);
	tag_case("title", 0, "", 0, false);
	tag_case("title", 0, "a\0b", 3, false);
	tag_case("title", 0, v1m, 262144, false);
	tag_case("title", 0, v1m1, 262145, false);
	tag_case("id3:priv", 0, "a\0b", 3, true);
	tag_case("id3:priv", 0, b16, 16711680, true);
	tag_case("id3:priv", 0, b16, 16711681, true);
	free(k255);
	free(k256);
	free(k257);
	free(u256);
	free(u257);
	free(v1m);
	free(v1m1);
	free(b16);
}

static void pic_case(const char *mime, const char *desc, uint32_t type,
		     size_t len, size_t ordinal)
{
	static int serial;
	struct probe_pic p = { .type = type, .width = 7, .height = 9,
			       .depth = 24, .colors = 0, .len = len };
	bool want, ok;
	sqlite3_stmt *st;
	char sha[65];

	p.mime = (char *)mime;
	p.desc = (char *)desc;
	p.data = (uint8_t *)fill(len, 'p');
	want = check_pic_row(&p, ordinal);
	snprintf(sha, sizeof(sha), "%064x", ++serial);
	/* the three rows mf_scan_write.c writes for a picture */
	sqlite3_exec(db, "SAVEPOINT pic", NULL, NULL, NULL);
	st = prep("INSERT INTO art (sha256, mime, width, height, byte_len, "
		  "data) VALUES (?, ?, ?, ?, ?, ?)");
	sqlite3_bind_text(st, 1, sha, 64, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, p.mime, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, p.width);
	sqlite3_bind_int64(st, 4, p.height);
	sqlite3_bind_int64(st, 5, (int64_t)p.len);
	sqlite3_bind_blob64(st, 6, p.data, p.len, SQLITE_STATIC);
	ok = took(st);
	if (ok) {
		int64_t art = sqlite3_last_insert_rowid(db);

		st = prep("INSERT INTO art_props (art_id, depth, colors) "
			  "VALUES (?, ?, ?)");
		sqlite3_bind_int64(st, 1, art);
		sqlite3_bind_int64(st, 2, p.depth);
		sqlite3_bind_int64(st, 3, p.colors);
		ok = took(st);
		st = prep("INSERT INTO track_art (track_id, ordinal, art_id, "
			  "picture_type, description) VALUES (?, ?, ?, ?, ?)");
		sqlite3_bind_int64(st, 1, track_id);
		sqlite3_bind_int64(st, 2, (int64_t)ordinal);
		sqlite3_bind_int64(st, 3, art);
		sqlite3_bind_int64(st, 4, p.type);
		sqlite3_bind_text(st, 5, p.desc, -1, SQLITE_STATIC);
		ok = took(st) && ok;
	}
	sqlite3_exec(db, "ROLLBACK TO pic; RELEASE pic", NULL, NULL, NULL);
	ncase++;
	if (ok != want)
		fail_msg("picture mime '%.20s' type %u len %zu ordinal %zu: "
			 "predicate says %d", mime, type, len, ordinal, want);
	free(p.data);
}

static void test_pictures(void **state)
{
	char *m255 = fill(255, 'm'), *m256 = fill(256, 'm');
	char *d65535 = fill(1024, 'd'), *d65536 = fill(1025, 'd');

	(void)state;
	pic_case("image/png", "", 3, 10, 0);
	pic_case("image/png", "", 0, 10, 0);
	pic_case("image/png", "", 20, 10, 0);
	pic_case("image/png", "", 21, 10, 0);
	pic_case("image/png", "", 255, 10, 0);
	pic_case("", "", 3, 10, 0);
	pic_case("image/\n", "", 3, 10, 0);
	pic_case("image/\x7f", "", 3, 10, 0);
	pic_case("image/caf\xc3\xa9", "", 3, 10, 0);
	pic_case(m255, "", 3, 10, 0);
	pic_case(m256, "", 3, 10, 0);
	pic_case("image/png", d65535, 3, 10, 0);
	pic_case("image/png", d65536, 3, 10, 0);
	pic_case("image/png", "front\ttab", 3, 10, 0);
	pic_case("image/png", "", 3, 0, 0);
	pic_case("image/png", "", 3, 1, 65535);
	pic_case("image/png", "", 3, 1, 65536);
	pic_case("image/png", "", 3, 16711680, 1);
	pic_case("image/png", "", 3, 16711681, 1);
	free(m255);
	free(m256);
	free(d65535);
	free(d65536);
}

/* A block row, to the table the writer sends @kind to. */
static void block_case(const char *kind, size_t len)
{
	sqlite3_stmt *st;
	bool core = scan_core_block(kind);
	bool want = check_block_row(kind, len);
	char *data = fill(len, 'z');

	/* bound as mf_scan_write.c's bind_row() binds */
	if (core)
		st = prep("INSERT INTO structural_blocks (track_id, kind, "
			  "ordinal, body) VALUES (?, ?, 0, ?)");
	else
		st = prep("INSERT INTO format_blocks (track_id, kind, ordinal, "
			  "data) VALUES (?, ?, 0, ?)");
	sqlite3_bind_blob64(st, 3, data, len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 1, track_id);
	sqlite3_bind_text(st, 2, block_kind_sql(kind), -1, SQLITE_STATIC);
	ncase++;
	if (took(st) != want)
		fail_msg("block '%.20s' len %zu core %d: predicate says %d",
			 kind, len, core, want);
	sqlite3_exec(db, "DELETE FROM structural_blocks; DELETE FROM "
		     "format_blocks", NULL, NULL, NULL);
	free(data);
}

static void test_blocks(void **state)
{
	char *k64 = fill(64, 'k'), *k65 = fill(65, 'k');

	(void)state;
	block_case("streaminfo", 34);
	block_case("streaminfo", 33);
	block_case("streaminfo", 0);
	block_case("seektable", 0);
	block_case("seektable", 36);
	block_case("seektable", 35);
	block_case("padding", 18);
	block_case("seektable", 16777214);	/* 18 * 932067 */
	block_case("seektable", 16777215);
	block_case("seektable", 16777216);	/* over the cap */
	block_case("ogg:head", 10);
	block_case("a:b", 0);
	block_case("ab:", 1);
	block_case("ab", 1);
	block_case(":ab", 1);
	block_case("\xc3\xa9:", 1);		/* 2 characters */
	block_case("\xc3\xa9\xc3\xa9:", 1);	/* 3 characters */
	k64[1] = ':';
	k65[1] = ':';
	block_case(k64, 1);
	block_case(k65, 1);
	block_case("mp4:moov", 16777216);
	block_case("mp4:moov", 16777217);
	free(k64);
	free(k65);
}

static void track_case(const char *path, const char *format, int64_t off,
		       int64_t len, int64_t size)
{
	sqlite3_stmt *st = prep("INSERT INTO tracks (id, format, audio_offset, "
				"audio_length, backing_size, backing_mtime_ns, "
				"backing_ctime_ns, fingerprint, content_hash, "
				"backing_path) VALUES (NULL, ?, ?, ?, ?, 1, 2, "
				"?, NULL, ?)");
	bool want = check_track_row(path, format, (uint64_t)off,
				    (uint64_t)len, (uint64_t)size);

	sqlite3_bind_text(st, 1, format, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, off);
	sqlite3_bind_int64(st, 3, len);
	sqlite3_bind_int64(st, 4, size);
	sqlite3_bind_text(st, 5, "0123456789abcdef0123456789abcdef"
			  "0123456789abcdef0123456789abcdef", 64, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, path, -1, SQLITE_STATIC);
	ncase++;
	if (took(st) != want)
		fail_msg("track '%.20s' %s %lld+%lld/%lld: predicate says %d",
			 path, format, (long long)off, (long long)len,
			 (long long)size, want);
	sqlite3_exec(db, "DELETE FROM tracks WHERE backing_path <> '/t.flac'",
		     NULL, NULL, NULL);
}

static void test_tracks(void **state)
{
	static const char *const formats[] = { "flac", "mp3", "m4a", "opus",
		"vorbis", "oggflac", "wav", "ogg", "FLAC", "", "aac" };
	char *p4096 = fill(4096, 'p'), *p4097 = fill(4097, 'p');

	(void)state;
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
		track_case("/a.x", formats[i], 0, 1, 1);
	track_case("/a", "flac", 0, 1, 1);
	track_case("/", "flac", 0, 1, 1);
	track_case("a/b", "flac", 0, 1, 1);
	track_case("//", "flac", 0, 1, 1);
	p4096[0] = '/';
	p4097[0] = '/';
	track_case(p4096, "flac", 0, 1, 1);
	track_case(p4097, "flac", 0, 1, 1);
	track_case("/a", "flac", 10, 0, 10);
	track_case("/a", "flac", 5, 6, 10);
	track_case("/a", "flac", 11, 0, 10);
	track_case("/a", "flac", 0, 0, 0);
	free(p4096);
	free(p4097);
}

/*
 * Generated cases, rule by rule: every key of 1 to 3 bytes over an
 * alphabet of boundary bytes (control, DEL, '=', '~', space, a lone
 * continuation byte, a two-byte character), crossed with boundary
 * ordinals; every block kind of 0 to 4 bytes over {a, ':', 'x'}; every
 * (offset, length, size) over boundary values for each format name. Each
 * is inserted with CHECKs on and run through the C predicate; the
 * verdicts must match (tag_case/block_case/track_case fail otherwise).
 */
static void test_generated(void **state)
{
	static const char *const alpha[] = {
		"a", "Z", "=", "~", " ", "\t", "\x01", "\x1f", "\x7f", "\x80",
		"\xc3\xa9", ":", "[",
	};
	static const int ordinals[] = { -1, 0, 1, 65535 };
	static const char *const kalpha[] = { "a", ":", "x" };
	static const int64_t v[] = { 0, 1, 5, 9, 10, 11 };
	static const char *const formats[] = { "flac", "wav", "FLAC", "" };
	const size_t na = sizeof(alpha) / sizeof(alpha[0]);
	int before = ncase;
	char key[16], kind[8];

	(void)state;
	sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
	for (size_t n = 1; n <= 3; n++) {
		size_t total = 1;

		for (size_t k = 0; k < n; k++)
			total *= na;
		for (size_t c = 0; c < total; c++) {
			size_t x = c, o = c % 4, at = 0;

			for (size_t k = 0; k < n; k++, x /= na) {
				size_t l = strlen(alpha[x % na]);

				memcpy(key + at, alpha[x % na], l);
				at += l;
			}
			key[at] = '\0';
			tag_case(key, ordinals[o], "v", 1, false);
		}
	}
	for (size_t n = 0; n <= 4; n++) {
		size_t total = 1;

		for (size_t k = 0; k < n; k++)
			total *= 3;
		for (size_t c = 0; c < total; c++) {
			size_t x = c;

			for (size_t k = 0; k < n; k++, x /= 3)
				kind[k] = kalpha[x % 3][0];
			kind[n] = '\0';
			block_case(kind, 4);
		}
	}
	for (size_t f = 0; f < sizeof(formats) / sizeof(formats[0]); f++)
		for (size_t a = 0; a < 6; a++)
			for (size_t b = 0; b < 6; b++)
				for (size_t s = 0; s < 6; s++)
					track_case("/g", formats[f], v[a], v[b],
						   v[s]);
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	assert_true(ncase - before > 2000);
}

/* The predicates assume SQLite's ASCII-only lower(); so does the writer
 * (checks_in_c() in mf_scan_write.c), which falls back to SQLite's own
 * CHECKs otherwise. */
static void test_lower_is_ascii(void **state)
{
	sqlite3_stmt *st = prep("SELECT lower('\xc3\x80Z')");

	(void)state;
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0),
			    "\xc3\x80z");
	sqlite3_finalize(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lower_is_ascii),
		cmocka_unit_test(test_tags),
		cmocka_unit_test(test_pictures),
		cmocka_unit_test(test_blocks),
		cmocka_unit_test(test_tracks),
		cmocka_unit_test(test_generated),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests_name("scan_check", tests, setup,
					   teardown);
}
