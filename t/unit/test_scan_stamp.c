/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for scan/mf_scan_stamp (the scanner's map of stored stamps:
 * lookup by path, fingerprint chains). Compiled in: unit tests link
 * libcore only.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "stderr_capture.h"

#include "../../scan/mf_scan_stamp.c"

static sqlite3 *make_db(int n)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	char path[64], fp[65];

	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE t (path TEXT, id INTEGER, "
				      "size INTEGER, m INTEGER, c INTEGER, reason TEXT, "
				      "fp TEXT)", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO t VALUES "
					    "(?, ?, ?, ?, ?, ?, ?)", -1, &st, NULL),
			 SQLITE_OK);
	for (int i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "/lib/d%d/f\xe9%d.flac", i % 37, i);
		/* 7 distinct fingerprints; every 5th row has none; one bad */
		snprintf(fp, sizeof(fp), "%064x", i % 7);
		sqlite3_bind_text(st, 1, path, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 2, i + 1);
		sqlite3_bind_int64(st, 3, 1000 + i);
		sqlite3_bind_int64(st, 4, 2000 + i);
		sqlite3_bind_int64(st, 5, 3000 + i);
		sqlite3_bind_null(st, 6);
		if (i % 5 == 0)
			sqlite3_bind_null(st, 7);
		else if (i == 3)
			sqlite3_bind_text(st, 7, "XYZ", -1, SQLITE_STATIC);
		else
			sqlite3_bind_text(st, 7, fp, -1, SQLITE_TRANSIENT);
		assert_int_equal(sqlite3_step(st), SQLITE_DONE);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	return db;
}

static void test_lookup(void **state)
{
	sqlite3 *db = make_db(5000);
	struct stamp_map m;
	char path[64];

	(void)state;
	assert_int_equal(stamp_map_load(db, "SELECT * FROM t", &m), 0);
	assert_int_equal(m.n, 5000);
	for (int i = 0; i < 5000; i++) {
		struct stamp *e;

		snprintf(path, sizeof(path), "/lib/d%d/f\xe9%d.flac", i % 37, i);
		e = stamp_map_get(&m, path);
		assert_non_null(e);
		assert_int_equal(e->id, i + 1);
		assert_int_equal(e->size, 1000 + i);
		assert_int_equal(e->mtime_ns, 2000 + i);
		assert_int_equal(e->ctime_ns, 3000 + i);
		assert_int_equal(e->has_fp, i % 5 != 0 && i != 3);
	}
	assert_null(stamp_map_get(&m, "/lib/d0/f0.flac"));	/* other byte */
	assert_null(stamp_map_get(&m, ""));
	stamp_map_release(&m);
	sqlite3_close(db);
}

static void test_fingerprints(void **state)
{
	sqlite3 *db = make_db(700);
	struct stamp_map m;
	uint8_t fp[32] = { 0 };
	size_t total = 0;

	(void)state;
	assert_int_equal(stamp_map_load(db, "SELECT * FROM t", &m), 0);
	for (int k = 0; k < 7; k++) {
		size_t n = 0, want = 0;

		fp[31] = (uint8_t)k;
		for (int i = 0; i < 700; i++)
			want += i % 7 == k && i % 5 != 0 && i != 3;
		for (struct stamp *e = stamp_map_fp_first(&m, fp); e;
		     e = stamp_map_fp_next(&m, e)) {
			assert_memory_equal(e->fp, fp, 32);
			n++;
		}
		assert_int_equal(n, want);
		total += n;
	}
	fp[31] = 9;
	assert_null(stamp_map_fp_first(&m, fp));
	assert_int_equal(total, 700 - 140 - 1);
	stamp_map_release(&m);
	sqlite3_close(db);
}

static void test_empty_and_errors(void **state)
{
	sqlite3 *db = make_db(0);
	struct stamp_map m;
	uint8_t fp[32] = { 0 };
	struct stderr_capture cap;
	char msg[512];
	int ret;

	(void)state;
	assert_int_equal(stamp_map_load(db, "SELECT * FROM t", &m), 0);
	assert_null(stamp_map_get(&m, "/x"));
	assert_null(stamp_map_fp_first(&m, fp));
	stamp_map_release(&m);
	stderr_capture_begin(&cap);
	ret = stamp_map_load(db, "SELECT * FROM nosuch", &m);
	stderr_capture_end(&cap, msg, sizeof(msg));
	assert_int_equal(ret, -EIO);
	assert_non_null(strstr(msg, "cannot load stamps: no such table: nosuch"));
	stamp_map_release(&m);
	sqlite3_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_fingerprints),
		cmocka_unit_test(test_empty_and_errors),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
