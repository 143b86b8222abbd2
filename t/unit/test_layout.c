/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for mf_layout: building, segment lookup, and reads at every
 * offset and size against a flat reference buffer.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "mf_layout.h"

#include "mf_banned.h"

#define BACKING_LEN 300
#define BLOB_LEN 64

/* Served-from-memory sources: blobs by rowid 1..3, one backing file. */
struct mem_io {
	uint8_t backing[BACKING_LEN];
	uint8_t blobs[4][BLOB_LEN];
	int fail_blob;		/* return -EIO from read_blob */
	unsigned calls;
};

static int mem_read_blob(void *ctx, const struct mf_blob_ref *ref,
			 uint64_t off, void *buf, size_t len)
{
	struct mem_io *m = ctx;

	m->calls++;
	if (m->fail_blob)
		return -EIO;
	if (ref->kind != MF_BLOB_ART || ref->rowid < 1 || ref->rowid > 3 ||
	    off > BLOB_LEN || len > BLOB_LEN - off)
		return -EIO;
	memcpy(buf, m->blobs[ref->rowid] + off, len);
	return 0;
}

static int mem_read_backing(void *ctx, uint64_t off, void *buf, size_t len)
{
	struct mem_io *m = ctx;

	m->calls++;
	if (off > BACKING_LEN || len > BACKING_LEN - off)
		return -EIO;
	memcpy(buf, m->backing + off, len);
	return 0;
}

static void mem_fill(struct mem_io *m)
{
	size_t i, j;

	memset(m, 0, sizeof(*m));
	for (i = 0; i < BACKING_LEN; i++)
		m->backing[i] = (uint8_t)(i * 7 + 1);
	for (i = 0; i < 4; i++)
		for (j = 0; j < BLOB_LEN; j++)
			m->blobs[i][j] = (uint8_t)(0x80 + i * 31 + j * 3);
}

/*
 * Build a layout mixing every kind, and the flat bytes it must serve.
 * Returns the reference length.
 */
static size_t build(struct mf_layout *l, const struct mem_io *m, uint8_t *ref)
{
	static const char hdr[] = "HEADER";
	static const char mid1[] = "ab";
	static const char mid2[] = "cdef";
	struct mf_blob_ref r1 = { MF_BLOB_ART, 1 }, r2 = { MF_BLOB_ART, 2 };
	size_t n = 0;

	assert_int_equal(mf_layout_add_inline(l, hdr, 6), 0);
	memcpy(ref + n, hdr, 6), n += 6;
	assert_int_equal(mf_layout_add_blob(l, &r1, 5, 20), 0);
	memcpy(ref + n, m->blobs[1] + 5, 20), n += 20;
	/* two inline appends merge into one segment */
	assert_int_equal(mf_layout_add_inline(l, mid1, 2), 0);
	assert_int_equal(mf_layout_add_inline(l, mid2, 4), 0);
	memcpy(ref + n, "abcdef", 6), n += 6;
	assert_int_equal(mf_layout_add_inline(l, "x", 0), 0);	/* no-op */
	assert_int_equal(mf_layout_add_blob(l, &r2, 0, BLOB_LEN), 0);
	memcpy(ref + n, m->blobs[2], BLOB_LEN), n += BLOB_LEN;
	assert_int_equal(mf_layout_add_blob(l, &r2, 0, 0), 0);	/* no-op */
	assert_int_equal(mf_layout_add_backing(l, 0, 0), 0);	/* no-op */
	assert_int_equal(mf_layout_add_blob(l, &r1, 63, 1), 0);
	ref[n++] = m->blobs[1][63];
	assert_int_equal(mf_layout_add_backing(l, 17, 200), 0);
	memcpy(ref + n, m->backing + 17, 200), n += 200;
	assert_int_equal(mf_layout_add_inline(l, "Z", 1), 0);
	ref[n++] = 'Z';
	return n;
}

static void test_segments(void **state)
{
	struct mf_layout *l = mf_layout_new();
	struct mem_io m;
	uint8_t ref[512];
	struct mf_seg seg;
	size_t n, i;
	uint64_t start = 0;

	(void)state;
	assert_non_null(l);
	mem_fill(&m);
	n = build(l, &m, ref);
	assert_int_equal(mf_layout_size(l), n);
	assert_int_equal(mf_layout_nsegs(l), 7);
	for (i = 0; i < mf_layout_nsegs(l); i++) {
		mf_layout_seg(l, i, &seg);
		assert_int_equal(seg.start, start);
		assert_true(seg.len > 0);
		if (seg.kind == MF_SEG_INLINE)
			assert_memory_equal(seg.bytes, ref + start, seg.len);
		start += seg.len;
	}
	assert_int_equal(start, n);
	mf_layout_seg(l, 2, &seg);
	assert_int_equal(seg.kind, MF_SEG_INLINE);
	assert_int_equal(seg.len, 6);
	mf_layout_seg(l, 1, &seg);
	assert_int_equal(seg.kind, MF_SEG_BLOB);
	assert_int_equal(seg.blob.rowid, 1);
	assert_int_equal(seg.src_off, 5);
	mf_layout_seg(l, 5, &seg);
	assert_int_equal(seg.kind, MF_SEG_BACKING);
	assert_int_equal(seg.src_off, 17);
	assert_int_equal(seg.len, 200);

	/* find: every byte maps to the segment that holds it */
	for (i = 0; i < n; i++) {
		size_t k = mf_layout_find(l, i);

		assert_true(k < mf_layout_nsegs(l));
		mf_layout_seg(l, k, &seg);
		assert_true(seg.start <= i && i < seg.start + seg.len);
	}
	assert_int_equal(mf_layout_find(l, n), mf_layout_nsegs(l));
	assert_int_equal(mf_layout_find(l, UINT64_MAX), mf_layout_nsegs(l));
	assert_true(mf_layout_mem(l) >= sizeof(void *) + 12);
	mf_layout_free(l);
}

static void test_read_every_range(void **state)
{
	struct mf_layout *l = mf_layout_new();
	struct mem_io m;
	struct mf_layout_io io = { &m, mem_read_blob, mem_read_backing };
	uint8_t ref[512], buf[600];
	size_t n, off, len;

	(void)state;
	assert_non_null(l);
	mem_fill(&m);
	n = build(l, &m, ref);
	for (off = 0; off <= n + 2; off++) {
		for (len = 0; len <= n + 3 - off; len++) {
			size_t want = off >= n ? 0 : (len < n - off ? len : n - off);
			ssize_t got;

			memset(buf, 0xee, sizeof(buf));
			got = mf_layout_read_at(l, off, buf, len, &io);
			assert_int_equal(got, (ssize_t)want);
			if (want)
				assert_memory_equal(buf, ref + off, want);
			/* nothing written past what was read */
			assert_int_equal(buf[want], 0xee);
		}
	}
	assert_int_equal(mf_layout_read_at(l, UINT64_MAX, buf, 10, &io), 0);
	mf_layout_free(l);
}

static void test_io_errors(void **state)
{
	struct mf_layout *l = mf_layout_new();
	struct mem_io m;
	struct mf_layout_io io = { &m, mem_read_blob, mem_read_backing };
	struct mf_blob_ref bad = { MF_BLOB_TAG, 99 };
	uint8_t ref[512], buf[512];
	size_t n;

	(void)state;
	mem_fill(&m);
	n = build(l, &m, ref);
	/* inline-only range needs no io at all */
	assert_int_equal(mf_layout_read_at(l, 0, buf, 6, NULL), 6);
	assert_int_equal(mf_layout_read_at(l, 0, buf, 7, NULL), -EIO);
	m.fail_blob = 1;
	assert_int_equal(mf_layout_read_at(l, 0, buf, n, &io), -EIO);
	m.fail_blob = 0;
	assert_int_equal(mf_layout_add_blob(l, &bad, 0, 5), 0);
	assert_int_equal(mf_layout_read_at(l, n, buf, 5, &io), -EIO);
	assert_int_equal(mf_layout_read_at(l, 0, buf, n, &io), (ssize_t)n);
	mf_layout_free(l);
}

static void test_empty_and_limits(void **state)
{
	struct mf_layout *l = mf_layout_new();
	struct mf_blob_ref r = { MF_BLOB_ART, 1 };
	uint8_t buf[4];

	(void)state;
	assert_non_null(l);
	assert_int_equal(mf_layout_size(l), 0);
	assert_int_equal(mf_layout_nsegs(l), 0);
	assert_int_equal(mf_layout_find(l, 0), 0);
	assert_int_equal(mf_layout_read_at(l, 0, buf, sizeof(buf), NULL), 0);

	assert_int_equal(mf_layout_add_inline(NULL, "a", 1), -EINVAL);
	assert_int_equal(mf_layout_add_inline(l, NULL, 1), -EINVAL);
	assert_int_equal(mf_layout_add_blob(l, NULL, 0, 1), -EINVAL);
	assert_int_equal(mf_layout_add_backing(l, UINT64_MAX, 2), -EOVERFLOW);
	assert_int_equal(mf_layout_add_blob(l, &r, UINT64_MAX - 1, 5),
			 -EOVERFLOW);
	assert_int_equal(mf_layout_size(l), 0);

	assert_int_equal(mf_layout_add_backing(l, 0, INT64_MAX - 1), 0);
	assert_int_equal(mf_layout_add_inline(l, "ab", 2), -EOVERFLOW);
	assert_int_equal(mf_layout_add_inline(l, "a", 1), 0);
	assert_int_equal(mf_layout_size(l), INT64_MAX);
	assert_int_equal(mf_layout_add_blob(l, &r, 0, 1), -EOVERFLOW);
	assert_int_equal(mf_layout_add_backing(l, 0, 1), -EOVERFLOW);
	assert_int_equal(mf_layout_nsegs(l), 2);
	assert_int_equal(mf_layout_find(l, INT64_MAX - 1), 1);
	assert_int_equal(mf_layout_find(l, INT64_MAX - 2), 0);
	assert_int_equal(mf_layout_read_at(l, INT64_MAX - 1, buf, 4, NULL), 1);
	assert_int_equal(buf[0], 'a');
	mf_layout_free(l);
	mf_layout_free(NULL);
}

/* Many segments: the binary search must agree with a linear scan. */
/*
 * Base64 segments: for inner layouts of every size 0..40 (all three
 * padding cases, several groups), every read of every offset and length
 * equals OpenSSL's EVP_EncodeBlock over the flat inner bytes, and the
 * segment sits correctly between inline neighbours.
 */
struct blob_log {
	char s[256];
	size_t len;
};

static int log_blob(void *ctx, const struct mf_blob_ref *ref, uint64_t need)
{
	struct blob_log *b = ctx;
	int n = snprintf(b->s + b->len, sizeof(b->s) - b->len, "%d:%lld:%llu;",
			 (int)ref->kind, (long long)ref->rowid,
			 (unsigned long long)need);

	if (n > 0)
		b->len += (size_t)n;
	return ref->rowid == 99 ? 7 : 0;
}

/* Every blob a layout reads, nested base64 layouts included, with how many
 * of its bytes; the callback's non-zero value stops the walk. */
static void test_each_blob(void **state)
{
	struct mf_layout *l = mf_layout_new(), *inner = mf_layout_new();
	struct mf_blob_ref art = { MF_BLOB_ART, 5 }, tag = { MF_BLOB_TAG, 8 };
	struct mf_blob_ref stop = { MF_BLOB_ART, 99 };
	struct blob_log b = { .len = 0 };

	(void)state;
	assert_non_null(l);
	assert_non_null(inner);
	assert_int_equal(mf_layout_add_inline(l, "head", 4), 0);
	assert_int_equal(mf_layout_add_blob(l, &tag, 2, 10), 0);
	assert_int_equal(mf_layout_add_inline(inner, "PICT", 4), 0);
	assert_int_equal(mf_layout_add_blob(inner, &art, 0, 300), 0);
	assert_int_equal(mf_layout_add_base64(l, inner), 0);
	assert_int_equal(mf_layout_add_backing(l, 0, 1000), 0);
	assert_int_equal(mf_layout_each_blob(l, log_blob, &b), 0);
	assert_string_equal(b.s, "1:8:12;0:5:300;");
	assert_int_equal(mf_layout_add_blob(l, &stop, 0, 1), 0);
	assert_int_equal(mf_layout_add_blob(l, &art, 0, 1), 0);
	b.len = 0;
	assert_int_equal(mf_layout_each_blob(l, log_blob, &b), 7);
	assert_string_equal(b.s, "1:8:12;0:5:300;0:99:1;");
	mf_layout_free(l);
}

static void test_base64(void **state)
{
	struct mem_io m;
	struct mf_layout_io io = { &m, mem_read_blob, mem_read_backing };
	struct mf_blob_ref r1 = { MF_BLOB_ART, 1 };
	uint8_t flat[64], enc[128], ref[160], got[160];

	(void)state;
	mem_fill(&m);
	for (size_t n = 0; n <= 40; n++) {
		struct mf_layout *l = mf_layout_new();
		struct mf_layout *inner = mf_layout_new();
		size_t head = n / 3, elen, total, imem;

		assert_non_null(l);
		assert_non_null(inner);
		/* inner: inline head + blob tail, as a PICTURE block is */
		assert_int_equal(mf_layout_add_inline(inner, "PICTHDR", head > 7 ? 7 : head), 0);
		memcpy(flat, "PICTHDR", head > 7 ? 7 : head);
		head = head > 7 ? 7 : head;
		assert_int_equal(mf_layout_add_blob(inner, &r1, 3, n - head), 0);
		memcpy(flat + head, m.blobs[1] + 3, n - head);
		elen = (size_t)EVP_EncodeBlock(enc, flat, (int)n);
		assert_int_equal(elen, mf_base64_len(n));

		imem = mf_layout_mem(inner);
		assert_int_equal(mf_layout_add_inline(l, "<", 1), 0);
		assert_int_equal(mf_layout_add_base64(l, inner), 0);
		assert_int_equal(mf_layout_add_inline(l, ">", 1), 0);
		ref[0] = '<';
		memcpy(ref + 1, enc, elen);
		ref[1 + elen] = '>';
		total = elen + 2;
		assert_int_equal(mf_layout_size(l), total);
		for (size_t off = 0; off <= total; off++) {
			for (size_t len = 0; len <= total - off; len++) {
				memset(got, 0xee, sizeof(got));
				assert_int_equal(mf_layout_read_at(l, off, got,
								   len, &io),
						 (ssize_t)len);
				assert_memory_equal(got, ref + off, len);
			}
		}
		if (n)	/* a zero-length segment frees @inner at once */
			assert_true(mf_layout_mem(l) > imem);
		mf_layout_free(l);	/* frees inner too (ASan checks) */
	}
}

/* A custom segment's read error reaches the caller; a zero length frees. */
static int fail_read(const void *priv, uint64_t off, void *buf, size_t len,
		     const struct mf_layout_io *io)
{
	(void)priv, (void)off, (void)buf, (void)len, (void)io;
	return -ENOSPC;
}

static unsigned freed;
static void count_free(void *priv)
{
	(void)priv;
	freed++;
}

static void test_custom(void **state)
{
	static const struct mf_seg_ops ops = { fail_read, count_free, NULL };
	struct mf_layout *l = mf_layout_new();
	struct mf_seg seg;
	uint8_t buf[8];
	int tag;

	(void)state;
	assert_non_null(l);
	freed = 0;
	assert_int_equal(mf_layout_add_custom(l, &ops, &tag, 0), 0);
	assert_int_equal(freed, 1);
	assert_int_equal(mf_layout_add_custom(l, NULL, &tag, 4), -EINVAL);
	assert_int_equal(mf_layout_add_inline(l, "ab", 2), 0);
	assert_int_equal(mf_layout_add_custom(l, &ops, &tag, 4), 0);
	assert_int_equal(mf_layout_nsegs(l), 2);
	mf_layout_seg(l, 1, &seg);
	assert_int_equal(seg.kind, MF_SEG_CUSTOM);
	assert_ptr_equal(seg.ops, &ops);
	assert_ptr_equal(seg.priv, &tag);
	assert_int_equal(mf_layout_read_at(l, 0, buf, 2, NULL), 2);
	assert_int_equal(mf_layout_read_at(l, 1, buf, 3, NULL), -ENOSPC);
	mf_layout_free(l);
	assert_int_equal(freed, 2);
}

static void test_many_segments(void **state)
{
	struct mf_layout *l = mf_layout_new();
	struct mf_seg seg;
	uint64_t total = 0, off;
	size_t i;

	(void)state;
	for (i = 0; i < 1000; i++) {
		uint64_t len = 1 + i % 13;

		assert_int_equal(mf_layout_add_backing(l, i * 100, len), 0);
		total += len;
	}
	assert_int_equal(mf_layout_nsegs(l), 1000);
	assert_int_equal(mf_layout_size(l), total);
	for (off = 0, i = 0; off < total; off++) {
		mf_layout_seg(l, i, &seg);
		if (off >= seg.start + seg.len)
			i++;
		assert_int_equal(mf_layout_find(l, off), i);
	}
	mf_layout_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_segments),
		cmocka_unit_test(test_read_every_range),
		cmocka_unit_test(test_io_errors),
		cmocka_unit_test(test_empty_and_limits),
		cmocka_unit_test(test_many_segments),
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_each_blob),
		cmocka_unit_test(test_custom),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
