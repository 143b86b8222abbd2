/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for mf_utf8: decoding of every sequence length with its
 * boundaries (RFC 3629 section 4, Unicode table 3-7), overlong forms,
 * surrogates, values above U+10FFFF, truncated sequences, stray
 * continuation bytes, encode/decode round trips and the boundary cut.
 * TAP output via cmocka.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mf_utf8.h"

#include "mf_banned.h"

/* Decode @s (@n bytes) once; expect @len bytes and code point @want. */
static void check_next(const char *s, size_t n, size_t len, uint32_t want)
{
	uint32_t cp = 0xdeadbeef;

	assert_int_equal(mf_utf8_next((const uint8_t *)s, n, &cp), len);
	if (len)
		assert_int_equal(cp, want);
	else
		assert_int_equal(cp, 0xdeadbeef);
	assert_int_equal(mf_utf8_valid(s, n), len == n);
}

static void test_well_formed(void **state)
{
	(void)state;
	check_next("A", 1, 1, 'A');
	check_next("\0", 1, 1, 0);
	check_next("\x7f", 1, 1, 0x7f);
	check_next("\xc2\x80", 2, 2, 0x80);
	check_next("\xdf\xbf", 2, 2, 0x7ff);
	check_next("\xe0\xa0\x80", 3, 3, 0x800);
	check_next("\xed\x9f\xbf", 3, 3, 0xd7ff);
	check_next("\xee\x80\x80", 3, 3, 0xe000);
	check_next("\xef\xbf\xbd", 3, 3, 0xfffd);
	check_next("\xef\xbf\xbf", 3, 3, 0xffff);
	check_next("\xf0\x90\x80\x80", 4, 4, 0x10000);
	check_next("\xf4\x8f\xbf\xbf", 4, 4, 0x10ffff);
	/* only the first sequence is decoded */
	assert_int_equal(mf_utf8_next((const uint8_t *)"\xc3\xa9z", 3, NULL), 2);
}

static void test_overlong(void **state)
{
	(void)state;
	check_next("\xc0\x80", 2, 0, 0);
	check_next("\xc1\xbf", 2, 0, 0);
	check_next("\xe0\x80\x80", 3, 0, 0);
	check_next("\xe0\x9f\xbf", 3, 0, 0);
	check_next("\xf0\x80\x80\x80", 4, 0, 0);
	check_next("\xf0\x8f\xbf\xbf", 4, 0, 0);
}

static void test_surrogate_and_range(void **state)
{
	(void)state;
	check_next("\xed\xa0\x80", 3, 0, 0);	/* U+D800 */
	check_next("\xed\xbf\xbf", 3, 0, 0);	/* U+DFFF */
	check_next("\xed\xa0\x80\xed\xb0\x80", 6, 0, 0); /* CESU-8 pair */
	check_next("\xf4\x90\x80\x80", 4, 0, 0);	/* U+110000 */
	check_next("\xf5\x80\x80\x80", 4, 0, 0);
	check_next("\xf8\x88\x80\x80\x80", 5, 0, 0);
	check_next("\xfe", 1, 0, 0);
	check_next("\xff", 1, 0, 0);
}

static void test_truncated(void **state)
{
	(void)state;
	check_next("", 0, 0, 0);
	check_next("\xc3", 1, 0, 0);
	check_next("\xe2\x82", 2, 0, 0);
	check_next("\xf0\x9f\x8e", 3, 0, 0);
	/* the bytes are there, but @n says they are not */
	check_next("\xe2\x82\xac", 2, 0, 0);
	/* a non-continuation where a continuation must be */
	check_next("\xe2\x41\xac", 3, 0, 0);
	check_next("\xf0\x9f\x8e\x41", 4, 0, 0);
	/* a stray continuation byte */
	check_next("\x80", 1, 0, 0);
	check_next("\xbf", 1, 0, 0);
	/* valid text followed by a truncated tail */
	assert_false(mf_utf8_valid("abc\xc3\xa9\xe2\x82", 7));
	assert_true(mf_utf8_valid("abc\xc3\xa9\xe2\x82\xac", 8));
	assert_true(mf_utf8_valid(NULL, 0));
}

static void test_put_round_trip(void **state)
{
	static const uint32_t cps[] = {
		0, 0x41, 0x7f, 0x80, 0x7ff, 0x800, 0xd7ff, 0xe000, 0xfffd,
		0xffff, 0x10000, 0x1f3b5, 0x10ffff,
	};
	static const size_t lens[] = { 1, 1, 1, 2, 2, 3, 3, 3, 3, 3, 4, 4, 4 };
	uint8_t buf[MF_UTF8_MAX];
	uint32_t cp, c;
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(cps) / sizeof(cps[0]); i++) {
		n = mf_utf8_put(buf, cps[i]);
		assert_int_equal(n, lens[i]);
		assert_int_equal(mf_utf8_next(buf, n, &cp), n);
		assert_int_equal(cp, cps[i]);
	}
	/* every scalar value encodes to a sequence that decodes back */
	for (c = 0; c <= 0x10ffff; c++) {
		if (c >= 0xd800 && c <= 0xdfff)
			continue;
		n = mf_utf8_put(buf, c);
		assert_int_equal(mf_utf8_next(buf, n, &cp), n);
		assert_int_equal(cp, c);
	}
	assert_int_equal(mf_utf8_put(buf, 0x20ac), 3);
	assert_memory_equal(buf, "\xe2\x82\xac", 3);
}

static void test_cut(void **state)
{
	/* "a" U+00E9 U+20AC U+1F3B5: 1 + 2 + 3 + 4 bytes */
	static const char s[] = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x8e\xb5";
	static const size_t want[] = { 0, 1, 1, 3, 3, 3, 6, 6, 6, 6, 10 };
	size_t max;

	(void)state;
	assert_int_equal(sizeof(s) - 1, 10);
	for (max = 0; max <= 10; max++) {
		size_t k = mf_utf8_cut(s, 10, max);

		assert_int_equal(k, want[max]);
		assert_true(mf_utf8_valid(s, k));
	}
	/* fits: returned unchanged, even when it ends mid-sequence */
	assert_int_equal(mf_utf8_cut(s, 2, 5), 2);
	assert_int_equal(mf_utf8_cut(s, 10, 100), 10);
	assert_int_equal(mf_utf8_cut("abcdef", 6, 4), 4);
	/* nothing but continuation bytes before @max: cut to empty */
	assert_int_equal(mf_utf8_cut("\x80\x80\x80", 3, 2), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_well_formed),
		cmocka_unit_test(test_overlong),
		cmocka_unit_test(test_surrogate_and_range),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_put_round_trip),
		cmocka_unit_test(test_cut),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
