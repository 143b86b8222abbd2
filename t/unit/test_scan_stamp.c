/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for scan/mf_scan_stamp (the scanner's map of stored stamps:
 * lookup by path, fingerprint chains), linked from libscan.a.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "stderr_capture.h"

#include "../../scan/mf_scan_int.h"

/* Feed @n generated rows through the loader's row callback into @m. */
static void make_map(int n, struct stamp_map *m)
{
	char path[64], fp[65];

	memset(m, 0, sizeof(*m));
	for (int i = 0; i < n; i++) {
		struct mf_store_stamp row = {
			.path = path, .id = i + 1, .size = 1000 + i,
			.mtime_ns = 2000 + i, .ctime_ns = 3000 + i,
		};

		snprintf(path, sizeof(path), "/lib/d%d/f\xe9%d.flac", i % 37, i);
		/* 7 distinct fingerprints; every 5th row has none; one bad */
		snprintf(fp, sizeof(fp), "%064x", i % 7);
		row.fingerprint = i % 5 == 0 ? NULL : i == 3 ? "XYZ" : fp;
		assert_int_equal(stamp_map_add(m, &row), 0);
	}
	assert_int_equal(stamp_map_index(m), 0);
}

static void test_lookup(void **state)
{
	struct stamp_map m;
	char path[64];

	(void)state;
	make_map(5000, &m);
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
}

static void test_fingerprints(void **state)
{
	struct stamp_map m;
	uint8_t fp[32] = { 0 };
	size_t total = 0;

	(void)state;
	make_map(700, &m);
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
}

/* The real loader on a fresh store: empty; a missing table is -EIO. */
static void test_empty_and_errors(void **state)
{
	char dir[] = "/tmp/test_scan_stamp.XXXXXX";
	char path[64], err[512] = "", msg[512];
	struct mf_store *s = NULL;
	struct stamp_map m;
	uint8_t fp[32] = { 0 };
	struct stderr_capture cap;
	int ret;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/store.db", dir);
	assert_int_equal(mf_store_open(path, MF_STORE_CREATE, &s, err,
				       sizeof(err)), 0);
	assert_int_equal(stamp_map_load(s, MF_STORE_STAMPS_TRACKS, &m), 0);
	assert_int_equal(m.n, 0);
	assert_null(stamp_map_get(&m, "/x"));
	assert_null(stamp_map_fp_first(&m, fp));
	stamp_map_release(&m);
	assert_int_equal(mf_store_exec(s, "DROP TABLE scan_failures"), 0);
	stderr_capture_begin(&cap);
	ret = stamp_map_load(s, MF_STORE_STAMPS_FAILURES, &m);
	stderr_capture_end(&cap, msg, sizeof(msg));
	assert_int_equal(ret, -EIO);
	assert_non_null(strstr(msg, "cannot load stamps: no such table: "
			       "scan_failures"));
	stamp_map_release(&m);
	mf_store_close(s);
	assert_int_equal(unlink(path), 0);
	rmdir(dir);
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
