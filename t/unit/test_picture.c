/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for mf_picture (RFC 9639 section 8.8 PICTURE body): a body
 * written by mf_picture_add() parses back to the same fields; every
 * truncation of a body and every over-long MIME, description and data
 * length is -EBADMSG; the legality checks of type, MIME and description.
 * TAP output via cmocka.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mf_bytes.h"
#include "mf_layout.h"
#include "mf_picture.h"

#include "mf_banned.h"

static const uint8_t image[] = "\x89PNG\r\n\x1a\nnot really an image";

static int read_blob(void *ctx, const struct mf_blob_ref *ref, uint64_t off,
		     void *buf, size_t len)
{
	(void)ctx;
	assert_int_equal(ref->kind, MF_BLOB_ART);
	assert_int_equal(ref->rowid, 7);
	if (off + len > sizeof(image) - 1)
		return -EIO;
	memcpy(buf, image + off, len);
	return 0;
}

/* Serve @pic's body (dims as given) into a new buffer; *@len its size. */
static uint8_t *body_of(const struct mf_synth_pic *pic, bool dims, size_t *len)
{
	const struct mf_layout_io io = { .read_blob = read_blob };
	struct mf_layout *l = mf_layout_new();
	uint8_t *buf;

	assert_non_null(l);
	assert_int_equal(mf_picture_add(l, pic, dims), 0);
	*len = (size_t)mf_layout_size(l);
	assert_int_equal(*len, mf_picture_body_len(pic));
	buf = malloc(*len);
	assert_non_null(buf);
	assert_int_equal(mf_layout_read_at(l, 0, buf, *len, &io), (ssize_t)*len);
	mf_layout_free(l);
	return buf;
}

static const struct mf_synth_pic pic = {
	.type = 3,
	.mime = "image/png",
	.desc = "front \xc3\xa9",
	.width = 640, .height = 480, .depth = 24, .colors = 0,
	.len = sizeof(image) - 1,
	.ref = { MF_BLOB_ART, 7 },
};

static void test_round_trip(void **state)
{
	struct mf_picture_fields f;
	uint8_t *b;
	size_t len;

	(void)state;
	b = body_of(&pic, true, &len);
	assert_int_equal(len, MF_PICTURE_FIXED + 9 + 8 + sizeof(image) - 1);
	assert_int_equal(mf_picture_parse(b, len, &f), 0);
	assert_int_equal(f.type, 3);
	assert_int_equal(f.mime_len, 9);
	assert_memory_equal(f.mime, "image/png", 9);
	assert_int_equal(f.desc_len, 8);
	assert_memory_equal(f.desc, "front \xc3\xa9", 8);
	assert_int_equal(f.width, 640);
	assert_int_equal(f.height, 480);
	assert_int_equal(f.depth, 24);
	assert_int_equal(f.colors, 0);
	assert_int_equal(f.data_len, sizeof(image) - 1);
	assert_memory_equal(f.data, image, sizeof(image) - 1);
	assert_ptr_equal(f.data, b + len - f.data_len);
	assert_true(mf_picture_fields_legal(&f));
	free(b);

	/* without dims: the four fields are 0, the rest the same */
	b = body_of(&pic, false, &len);
	assert_int_equal(mf_picture_parse(b, len, &f), 0);
	assert_int_equal(f.width | f.height | f.depth | f.colors, 0);
	assert_int_equal(f.type, 3);
	assert_memory_equal(f.data, image, sizeof(image) - 1);
	free(b);
}

static void test_empty_strings(void **state)
{
	struct mf_synth_pic p = pic;
	struct mf_picture_fields f;
	uint8_t *b;
	size_t len;

	(void)state;
	p.mime = "";
	p.desc = "";
	p.len = 0;
	b = body_of(&p, true, &len);
	assert_int_equal(len, MF_PICTURE_FIXED);
	assert_int_equal(mf_picture_parse(b, len, &f), 0);
	assert_int_equal(f.mime_len, 0);
	assert_int_equal(f.desc_len, 0);
	assert_int_equal(f.data_len, 0);
	assert_true(mf_picture_fields_legal(&f));
	free(b);
}

static void test_truncated(void **state)
{
	struct mf_picture_fields f;
	uint8_t *b, *c;
	size_t len, n;

	(void)state;
	b = body_of(&pic, true, &len);
	/* every prefix, copied so that a read past it is caught by ASan */
	for (n = 0; n < len; n++) {
		c = malloc(n ? n : 1);
		assert_non_null(c);
		memcpy(c, b, n);
		assert_int_equal(mf_picture_parse(c, n, &f), -EBADMSG);
		free(c);
	}
	/* one byte more than the lengths add up to */
	c = malloc(len + 1);
	assert_non_null(c);
	memcpy(c, b, len);
	c[len] = 0;
	assert_int_equal(mf_picture_parse(c, len + 1, &f), -EBADMSG);
	free(c);
	free(b);
}

static void test_over_long(void **state)
{
	static const uint32_t bad[] = {
		UINT32_MAX, UINT32_MAX - 31, 0x80000000u, 1u << 24,
	};
	struct mf_picture_fields f;
	uint8_t *b;
	size_t len, i;
	size_t dpos = 8 + 9, datapos;

	(void)state;
	b = body_of(&pic, true, &len);
	datapos = 12 + 9 + 8 + 16;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t *c = malloc(len);

		assert_non_null(c);
		/* MIME length */
		memcpy(c, b, len);
		mf_put_be32(c + 4, bad[i]);
		assert_int_equal(mf_picture_parse(c, len, &f), -EBADMSG);
		/* description length */
		memcpy(c, b, len);
		mf_put_be32(c + dpos, bad[i]);
		assert_int_equal(mf_picture_parse(c, len, &f), -EBADMSG);
		/* data length */
		memcpy(c, b, len);
		mf_put_be32(c + datapos, bad[i]);
		assert_int_equal(mf_picture_parse(c, len, &f), -EBADMSG);
		free(c);
	}
	/* a length one too long or short, each field */
	for (i = 0; i < 2; i++) {
		uint8_t *c = malloc(len);
		uint32_t d = i ? 1u : (uint32_t)-1;

		assert_non_null(c);
		memcpy(c, b, len);
		mf_put_be32(c + 4, 9 + d);
		assert_int_equal(mf_picture_parse(c, len, &f), -EBADMSG);
		memcpy(c, b, len);
		mf_put_be32(c + dpos, 8 + d);
		assert_int_equal(mf_picture_parse(c, len, &f), -EBADMSG);
		memcpy(c, b, len);
		mf_put_be32(c + datapos, (uint32_t)(sizeof(image) - 1) + d);
		assert_int_equal(mf_picture_parse(c, len, &f), -EBADMSG);
		free(c);
	}
	free(b);
}

static void test_legal(void **state)
{
	struct mf_picture_fields f;
	uint8_t *b;
	size_t len;

	(void)state;
	b = body_of(&pic, true, &len);
	assert_int_equal(mf_picture_parse(b, len, &f), 0);
	f.type = MF_PICTURE_TYPE_MAX;
	assert_true(mf_picture_fields_legal(&f));
	f.type = MF_PICTURE_TYPE_MAX + 1;
	assert_false(mf_picture_fields_legal(&f));
	f.type = 3;
	f.mime = "image\npng";
	assert_false(mf_picture_fields_legal(&f));
	f.mime = "image/p\x7fg";
	assert_false(mf_picture_fields_legal(&f));
	f.mime = "image/png";
	f.desc = "fr\0nt \xc3\xa9";
	assert_false(mf_picture_fields_legal(&f));
	f.desc = "front \xc3\xc3";
	assert_false(mf_picture_fields_legal(&f));
	f.desc = "front \xed\xa0";	/* truncated, and a surrogate lead */
	assert_false(mf_picture_fields_legal(&f));
	assert_true(mf_picture_mime_ok("image/jpeg", 10));
	assert_true(mf_picture_mime_ok("-->", 3));
	assert_false(mf_picture_mime_ok("\xc3\xa9", 2));
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_empty_strings),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_over_long),
		cmocka_unit_test(test_legal),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
