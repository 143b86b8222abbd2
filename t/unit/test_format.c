/* SPDX-License-Identifier: MIT */
/* Unit tests for mf_format: prober dispatch by extension, synthesizer
 * lookup by store format, and content sniffing for error messages; and
 * mf_reader on a probe source (struct mf_probe_src), which every prober
 * reads through. */
#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mf_flac.h"
#include "mf_format.h"
#include "mf_ogg.h"
#include "mf_reader.h"

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

/* mf_format_each() stops at a non-zero return; counts into *ctx. */
static int count_format(void *ctx, const struct mf_format *f)
{
	int *n = ctx;

	assert_ptr_equal(mf_format_get(f->name), f);
	return ++*n == 100 ? 7 : 0;
}

static int stop_at_second(void *ctx, const struct mf_format *f)
{
	(void)f;
	return ++*(int *)ctx == 2 ? 42 : 0;
}

/* The descriptors: every format listed once and found by name; the core
 * blocks and their store spelling; the served extension rules. */
static void test_descriptors(void **state)
{
	const struct mf_core_block *core;
	size_t ncore;
	int n = 0;

	(void)state;
	assert_int_equal(mf_format_each(count_format, &n), 0);
	assert_int_equal(n, 7);	/* flac vorbis opus oggflac m4a mp3 wav */
	n = 0;
	assert_int_equal(mf_format_each(stop_at_second, &n), 42);
	assert_int_equal(n, 2);

	core = mf_format_core_blocks(&ncore);
	assert_int_equal(ncore, 2);
	assert_string_equal(core[0].store_kind, "STREAMINFO");
	assert_ptr_equal(mf_format_core_block("seektable"), &core[1]);
	assert_null(mf_format_core_block("SEEKTABLE"));
	assert_null(mf_format_core_block("flac:application"));
	assert_string_equal(mf_format_get("flac")->required_block,
			    "streaminfo");
	assert_null(mf_format_get("mp3")->required_block);
	assert_ptr_equal(mf_format_get("opus")->fp_normalize,
			 mf_ogg_fp_normalize);
	assert_int_equal(mf_format_get("vorbis")->fp_behind, MF_OGG_FP_BEHIND);
	assert_null(mf_format_get("flac")->fp_normalize);
	{
		/* two page headers, the second cut after its CRC's first byte */
		uint8_t b[60], want[60];

		for (size_t i = 0; i < sizeof(b); i++)
			b[i] = (uint8_t)(0x80 | i);
		memcpy(b + 1, "OggS", 4);
		b[5] = 0;
		memcpy(b + 37, "OggS", 4);
		b[41] = 0;
		memcpy(want, b, sizeof(b));
		memset(want + 1 + 18, 0, 8);
		memset(want + 37 + 18, 0, sizeof(b) - (37 + 18));
		mf_ogg_fp_normalize(b, sizeof(b));
		assert_memory_equal(b, want, sizeof(b));
		/* stream_structure_version not 0: not a page header */
		memcpy(b, want, sizeof(b));
		b[5] = 1;
		b[1 + 18] = 0x55;
		mf_ogg_fp_normalize(b, sizeof(b));
		assert_int_equal(b[1 + 18], 0x55);
	}

	assert_string_equal(mf_format_served_ext("vorbis", NULL), "ogg");
	assert_string_equal(mf_format_served_ext("m4a", NULL), "m4a");
	assert_string_equal(mf_format_served_ext("m4a", "m4b"), "m4b");
	assert_string_equal(mf_format_served_ext("m4a", "exe"), "m4a");
	assert_string_equal(mf_format_served_ext("mp3", "m4b"), "mp3");
	assert_string_equal(mf_format_served_ext("xyz", NULL), "xyz");
	assert_null(mf_format_served_ext(NULL, "m4b"));
}

static void test_sniff(void **state)
{
	static const uint8_t mp4[] = { 0, 0, 0, 0x20, 'f', 't', 'y', 'p',
				       'M', '4', 'A', ' ' };
	static const uint8_t mpeg[] = { 0xff, 0xfb, 0x90, 0x64 };
	static const uint8_t junk[] = { 0xff, 0xe0 };	/* reserved layer */
	/* an MPEG frame whose bytes 4..7 happen to read "ftyp" (fuzzed) */
	static const uint8_t mpeg_ftyp[] = { 0xff, 0xe3, 0x48, 0xc4, 'f', 't',
					     'y', 'p', 0x48, 0x01, 0x9f, 0xe0 };

	(void)state;
	assert_string_equal(mf_format_sniff((const uint8_t *)"fLaC\0", 5), "FLAC");
	assert_string_equal(mf_format_sniff((const uint8_t *)"ID3\4", 4), "ID3v2-tagged");
	assert_string_equal(mf_format_sniff((const uint8_t *)"OggS\0", 5), "Ogg");
	assert_string_equal(mf_format_sniff(mp4, sizeof(mp4)), "MP4");
	assert_string_equal(mf_format_sniff((const uint8_t *)"RIFF\0\0\0\0WAVE", 12),
			    "RIFF WAVE");
	assert_string_equal(mf_format_sniff(mpeg, sizeof(mpeg)), "MPEG audio");
	assert_string_equal(mf_format_sniff(mpeg_ftyp, sizeof(mpeg_ftyp)),
			    "MPEG audio");
	assert_null(mf_format_sniff(junk, sizeof(junk)));
	assert_null(mf_format_sniff((const uint8_t *)"fLa", 3));
	assert_null(mf_format_sniff(NULL, 0));
}

/*
 * mf_reader on a struct mf_probe_src: reads inside the bytes the source
 * holds come from them, the rest from the file; the size comes from the
 * source when it is sized, else from fstat; a source without a file reads
 * only what it holds.
 */
static void test_reader_source(void **state)
{
	char path[] = "/tmp/mf-reader-XXXXXX";
	uint8_t file[64], win[16], got[8];
	char why[128];
	struct mf_reader r = { .why = why, .whylen = sizeof(why) };
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	unlink(path);
	for (size_t i = 0; i < sizeof(file); i++)
		file[i] = (uint8_t)i;
	memset(win, 0xee, sizeof(win));
	assert_int_equal(write(fd, file, sizeof(file)), (ssize_t)sizeof(file));

	assert_int_equal(mf_reader_init(&r, &(const struct mf_probe_src){
		.fd = fd, .sized = true, .size = sizeof(file), .head = win,
		.headlen = sizeof(win) }), 0);
	assert_int_equal(r.size, sizeof(file));
	assert_int_equal(mf_reader_read(&r, got, 8, 8, "x"), 0);
	assert_int_equal(got[0], 0xee);		/* from the source's bytes */
	assert_int_equal(mf_reader_read(&r, got, 8, 12, "x"), 0);
	assert_int_equal(got[0], 12);		/* straddles: from the file */
	assert_int_equal(mf_reader_read(&r, got, 8, 56, "x"), 0);
	assert_int_equal(got[7], 63);
	assert_int_equal(mf_reader_read(&r, got, 8, 57, "tail"), -EBADMSG);
	assert_non_null(strstr(why, "tail runs past end of file"));

	/* unsized: fstat gives the size; nothing held: all from the file */
	assert_int_equal(mf_reader_init(&r, MF_PROBE_SRC_FD(fd)), 0);
	assert_int_equal(r.size, sizeof(file));
	assert_int_equal(mf_reader_read(&r, got, 8, 0, "x"), 0);
	assert_int_equal(got[0], 0);
	assert_int_equal(mf_reader_init(&r, MF_PROBE_SRC_FD(fd + 1000)), -EBADF);
	assert_non_null(strstr(why, "cannot stat"));

	/* memory only: reads inside it work, past it is the end of file */
	assert_int_equal(mf_reader_init(&r, MF_PROBE_SRC_MEM(file, 32)), 0);
	assert_int_equal(r.size, 32);
	assert_int_equal(mf_reader_read(&r, got, 8, 24, "x"), 0);
	assert_int_equal(got[7], 31);
	assert_int_equal(mf_reader_read(&r, got, 8, 28, "end"), -EBADMSG);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prober),
		cmocka_unit_test(test_get),
		cmocka_unit_test(test_descriptors),
		cmocka_unit_test(test_sniff),
		cmocka_unit_test(test_reader_source),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests_name("format", tests, NULL, NULL);
}
