/* SPDX-License-Identifier: MIT */
/* Unit tests for mf_format: prober dispatch by extension, synthesizer
 * lookup by store format, and content sniffing for error messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mf_flac.h"
#include "mf_format.h"

#include "mf_banned.h"

static void test_prober(void **state)
{
	const char *fmt = NULL;

	(void)state;
	assert_ptr_equal(mf_format_prober("/a/b.flac", &fmt), mf_flac_probe);
	assert_string_equal(fmt, "flac");
	assert_ptr_equal(mf_format_prober("X.FLAC", NULL), mf_flac_probe);
	assert_null(mf_format_prober("cover.jpg", &fmt));
	assert_null(mf_format_prober("flac", &fmt));
	assert_null(mf_format_prober(".flac", &fmt));
	assert_null(mf_format_prober("a.", &fmt));
	assert_null(mf_format_prober("a.flac.txt", &fmt));
}

static void test_get(void **state)
{
	const struct mf_format *f = mf_format_get("flac");

	(void)state;
	assert_non_null(f);
	assert_string_equal(f->ext, "flac");
	assert_ptr_equal(f->synth, mf_flac_synth_input);
	assert_null(mf_format_get("FLAC"));
	assert_null(mf_format_get(""));
}

static void test_sniff(void **state)
{
	static const uint8_t mp4[] = { 0, 0, 0, 0x20, 'f', 't', 'y', 'p',
				       'M', '4', 'A', ' ' };
	static const uint8_t mpeg[] = { 0xff, 0xfb, 0x90, 0x64 };
	static const uint8_t junk[] = { 0xff, 0xe0 };	/* reserved layer */

	(void)state;
	assert_string_equal(mf_format_sniff((const uint8_t *)"fLaC\0", 5), "FLAC");
	assert_string_equal(mf_format_sniff((const uint8_t *)"ID3\4", 4), "ID3v2-tagged");
	assert_string_equal(mf_format_sniff((const uint8_t *)"OggS\0", 5), "Ogg");
	assert_string_equal(mf_format_sniff(mp4, sizeof(mp4)), "MP4");
	assert_string_equal(mf_format_sniff((const uint8_t *)"RIFF\0\0\0\0WAVE", 12),
			    "RIFF WAVE");
	assert_string_equal(mf_format_sniff(mpeg, sizeof(mpeg)), "MPEG audio");
	assert_null(mf_format_sniff(junk, sizeof(junk)));
	assert_null(mf_format_sniff((const uint8_t *)"fLa", 3));
	assert_null(mf_format_sniff(NULL, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prober),
		cmocka_unit_test(test_get),
		cmocka_unit_test(test_sniff),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests_name("format", tests, NULL, NULL);
}
