/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for mf_vorbis (Vorbis I spec section 5.2.1 comment fields):
 * the exact bytes written for a tag list, tags without a Vorbis name left
 * out, -EINVAL for bad tags, -EFBIG at the size limit. TAP via cmocka.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mf_layout.h"
#include "mf_vorbis.h"

#include "mf_banned.h"

static const struct mf_synth_tag tags[] = {
	{ "title", "Hello" },
	{ "~weird", "left out" },	/* no Vorbis spelling */
	{ "artist", "A\xc3\xa9" },
};

static const char want[] =
	"\x06\0\0\0" "musefs" "\x03\0\0\0"
	"\x0b\0\0\0" "TITLE=Hello"
	"\x0a\0\0\0" "ARTIST=A\xc3\xa9";

static void test_bytes(void **state)
{
	const struct mf_layout_io io = { 0 };
	struct mf_layout *l = mf_layout_new();
	uint64_t bytes = 0;
	uint32_t count = 0;
	uint8_t buf[sizeof(want)];

	(void)state;
	assert_non_null(l);
	assert_int_equal(mf_vorbis_measure(tags, 3, UINT64_MAX, "test", &count,
					   &bytes), 0);
	assert_int_equal(count, 2);
	assert_int_equal(bytes, 4 + 11 + 4 + 10);
	/* the caller's count may include more fields (pictures) */
	assert_int_equal(mf_vorbis_add_head(l, "musefs", 6, count + 1), 0);
	assert_int_equal(mf_vorbis_add_tags(l, tags, 3), 0);
	assert_int_equal(mf_layout_size(l), sizeof(want) - 1);
	assert_int_equal(mf_layout_read_at(l, 0, buf, sizeof(buf), &io),
			 sizeof(want) - 1);
	assert_memory_equal(buf, want, sizeof(want) - 1);
	assert_int_equal(mf_layout_nsegs(l), 1);
	mf_layout_free(l);
}

static void test_empty(void **state)
{
	struct mf_layout *l = mf_layout_new();
	uint64_t bytes = 1;
	uint32_t count = 1;

	(void)state;
	assert_non_null(l);
	assert_int_equal(mf_vorbis_measure(NULL, 0, 0, "test", &count, &bytes),
			 0);
	assert_int_equal(count, 0);
	assert_int_equal(bytes, 0);
	assert_int_equal(mf_vorbis_add_head(l, NULL, 0, 0), 0);
	assert_int_equal(mf_vorbis_add_tags(l, NULL, 0), 0);
	assert_int_equal(mf_layout_size(l), 8);
	mf_layout_free(l);
}

static void test_errors(void **state)
{
	const struct mf_synth_tag no_value[] = { { "title", NULL } };
	const struct mf_synth_tag no_key[] = { { NULL, "x" } };
	const struct mf_synth_tag upper[] = { { "Title", "x" } };
	uint64_t bytes;
	uint32_t count;

	(void)state;
	assert_int_equal(mf_vorbis_measure(no_value, 1, UINT64_MAX, "test",
					   &count, &bytes), -EINVAL);
	assert_int_equal(mf_vorbis_measure(no_key, 1, UINT64_MAX, "test",
					   &count, &bytes), -EINVAL);
	assert_int_equal(mf_vorbis_measure(upper, 1, UINT64_MAX, "test",
					   &count, &bytes), -EINVAL);
	/* the limit: exactly reached is fine, one byte less is -EFBIG */
	assert_int_equal(mf_vorbis_measure(tags, 3, 29, "test", &count,
					   &bytes), 0);
	assert_int_equal(mf_vorbis_measure(tags, 3, 28, "test", &count,
					   &bytes), -EFBIG);
	/* an -EFBIG on the first tag comes before a bad later tag */
	{
		const struct mf_synth_tag mixed[] = {
			{ "title", "Hello" }, { NULL, "x" },
		};

		assert_int_equal(mf_vorbis_measure(mixed, 2, 10, "test",
						   &count, &bytes), -EFBIG);
		assert_int_equal(mf_vorbis_measure(mixed, 2, 100, "test",
						   &count, &bytes), -EINVAL);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bytes),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_errors),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
