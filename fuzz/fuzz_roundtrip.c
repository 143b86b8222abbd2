/* SPDX-License-Identifier: MIT */
/*
 * fuzz_roundtrip - libFuzzer target: probe -> synthesize -> serve ->
 * probe again. The first input byte picks the format (FLAC, MP3, Ogg,
 * MP4, WAV), the rest is the backing file. When the probe accepts it,
 * the recorded reports become a synthesis input as the store would give
 * it (tags stably sorted by key, pictures and binary tags as blobs,
 * structural blocks stably sorted by kind), the served file is read
 * whole through the layout, and then: the served file must probe again
 * with the same prober, its audio range must hold exactly the original's
 * audio bytes (Ogg: the same pages, whose sequence numbers may all be
 * shifted by one amount, each with a valid CRC), and it must carry the
 * same pictures (type and bytes) in the same order. Tags are not compared (containers map keys and values
 * differently by design; see the format docs).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mf_format.h"
#include "mf_layout.h"
#include "mf_log.h"
#include "mf_ogg.h"
#include "mf_sink.h"

#define RT_MAX 256		/* reports kept of each kind */
#define RT_SERVE_MAX (64u << 20)

struct item {
	char *key;
	uint8_t *data;		/* NUL-terminated copy */
	size_t len;
	uint32_t type;		/* pictures */
	char *mime, *desc;
	uint32_t w, h, depth, colors;
};

struct rec {
	const char *format;
	int nrange;
	uint64_t off, len;
	struct item tags[RT_MAX], bins[RT_MAX], blocks[RT_MAX], pics[RT_MAX];
	size_t ntags, nbins, nblocks, npics;
	int full;		/* a report did not fit: skip the input */
};

static void *dup0(const void *p, size_t len)
{
	uint8_t *d = malloc(len + 1);

	if (!d)
		abort();
	if (len)
		memcpy(d, p, len);
	d[len] = 0;
	return d;
}

static struct item *add(struct rec *r, struct item *it, size_t *n,
			const char *key, const void *data, size_t len)
{
	if (*n == RT_MAX) {
		r->full = 1;
		return NULL;
	}
	it += (*n)++;
	memset(it, 0, sizeof(*it));
	it->key = dup0(key, strlen(key));
	it->data = dup0(data, len);
	it->len = len;
	return it;
}

static int on_range(void *ctx, uint64_t off, uint64_t len)
{
	struct rec *r = ctx;

	r->nrange++;
	r->off = off;
	r->len = len;
	return 0;
}

static int on_tag(void *ctx, const char *key, const char *v, size_t len)
{
	struct rec *r = ctx;

	add(r, r->tags, &r->ntags, key, v, len);
	return 0;
}

static int on_bin(void *ctx, const char *key, const void *d, size_t len)
{
	struct rec *r = ctx;

	add(r, r->bins, &r->nbins, key, d, len);
	return 0;
}

static int on_block(void *ctx, const char *kind, const void *d, size_t len)
{
	struct rec *r = ctx;

	add(r, r->blocks, &r->nblocks, kind, d, len);
	return 0;
}

static int on_pic(void *ctx, const struct mf_picture *p)
{
	struct rec *r = ctx;
	struct item *it = add(r, r->pics, &r->npics, "", p->data, p->len);

	if (it) {
		it->type = p->type;
		it->mime = dup0(p->mime, strlen(p->mime));
		it->desc = dup0(p->desc, strlen(p->desc));
		it->w = p->width;
		it->h = p->height;
		it->depth = p->depth;
		it->colors = p->colors;
	}
	return 0;
}

static int on_format(void *ctx, const char *format)
{
	((struct rec *)ctx)->format = format;
	return 0;
}

static void rec_free(struct rec *r)
{
	struct item *all[] = { r->tags, r->bins, r->blocks, r->pics };
	size_t ns[] = { r->ntags, r->nbins, r->nblocks, r->npics };

	for (size_t k = 0; k < 4; k++)
		for (size_t i = 0; i < ns[k]; i++) {
			free(all[k][i].key);
			free(all[k][i].data);
			free(all[k][i].mime);
			free(all[k][i].desc);
		}
}

static char why[256];	/* the last probe's reason */

static int probe(mf_probe_fn fn, int fd, struct rec *r)
{
	struct mf_sink s = {
		.ctx = r, .on_audio_range = on_range, .on_tag = on_tag,
		.on_binary_tag = on_bin, .on_picture = on_pic,
		.on_structural = on_block, .on_format = on_format,
	};

	return fn(MF_PROBE_SRC_FD(fd), &s, why, sizeof(why));
}

static const uint8_t *served_now;	/* the served file, for fail() */
static size_t served_now_len;

/*
 * A broken round trip: say which check failed, write the served file to
 * $FUZZ_RT_DUMP when set (for triage), then abort for libFuzzer.
 */
static void fail(const char *format, const char *what, ...)
	__attribute__((format(printf, 2, 3), noreturn));
static void fail(const char *format, const char *what, ...)
{
	const char *dump = getenv("FUZZ_RT_DUMP");
	va_list ap;
	FILE *f;

	if (dump && served_now && (f = fopen(dump, "wb"))) {
		fwrite(served_now, 1, served_now_len, f);
		fclose(f);
	}
	fprintf(stderr, "fuzz_roundtrip: %s: ", format);
	va_start(ap, what);
	vfprintf(stderr, what, ap);
	va_end(ap);
	fprintf(stderr, " (last probe: %s)\n", why);
	abort();
}

static int memfd(const void *d, size_t n)
{
	int fd = memfd_create("rt", 0);

	if (fd < 0 || (n && write(fd, d, n) != (ssize_t)n))
		abort();
	return fd;
}

struct io {
	const struct rec *r;
	int fd;
};

static int read_blob(void *ctx, const struct mf_blob_ref *ref, uint64_t off,
		     void *buf, size_t len)
{
	const struct io *io = ctx;
	const struct item *it;

	if (ref->rowid < 0)
		return -EIO;
	if (ref->kind == MF_BLOB_ART && (size_t)ref->rowid < io->r->npics)
		it = &io->r->pics[ref->rowid];
	else if (ref->kind == MF_BLOB_TAG && (size_t)ref->rowid < io->r->nbins)
		it = &io->r->bins[ref->rowid];
	else
		return -EIO;
	if (off > it->len || len > it->len - off)
		return -EIO;
	memcpy(buf, it->data + off, len);
	return 0;
}

static int read_backing(void *ctx, uint64_t off, void *buf, size_t len)
{
	const struct io *io = ctx;

	return pread(io->fd, buf, len, (off_t)off) == (ssize_t)len ? 0 : -EIO;
}

/* Stable insertion sort of @n indexes of @it by key. */
static void sort_idx(const struct item *it, size_t n, size_t *idx)
{
	for (size_t i = 0; i < n; i++) {
		size_t j = i;

		idx[i] = i;
		while (j > 0 && strcmp(it[idx[j - 1]].key, it[i].key) > 0) {
			idx[j] = idx[j - 1];
			j--;
		}
		idx[j] = i;
	}
}

/* The items @a and @b (@n each) are the same multiset of (key, bytes)
 * pairs in key order (stable: values with one key keep their order). */
static int same_items(const struct item *a, const struct item *b, size_t n)
{
	static size_t ia[RT_MAX], ib[RT_MAX];

	sort_idx(a, n, ia);
	sort_idx(b, n, ib);
	for (size_t i = 0; i < n; i++) {
		const struct item *x = &a[ia[i]], *y = &b[ib[i]];

		if (strcmp(x->key, y->key) || x->len != y->len ||
		    memcmp(x->data, y->data, x->len))
			return 0;
	}
	return 1;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/*
 * The XOR of the stored and the computed CRC of the @n-byte Ogg page at
 * @pg: 0 for a page with a valid CRC. The probe verifies only the header
 * pages' CRCs, and the served audio pages keep their CRC error (the CRC
 * is patched linearly when a page is renumbered).
 */
static uint32_t page_crc_error(const uint8_t *pg, uint64_t n)
{
	static const uint8_t zero[4];
	uint32_t crc = mf_ogg_crc(0, pg, 22);

	crc = mf_ogg_crc(crc, zero, 4);
	crc = mf_ogg_crc(crc, pg + 26, (size_t)n - 26);
	return crc ^ le32(pg + 22);
}

/*
 * Ogg audio served with renumbered pages (mf_ogg.h): the @len bytes at
 * @got are the pages at @want with every page sequence number shifted by
 * the same amount and the same CRC error (page_crc_error()). Returns 1
 * when they are.
 */
static int ogg_same_pages(const uint8_t *want, const uint8_t *got,
			  uint64_t len)
{
	uint64_t p = 0;
	uint32_t delta = 0;

	while (p < len) {
		uint64_t n;

		if (len - p < 27 || len - p < 27u + want[p + 26])
			return 0;
		n = 27u + want[p + 26];
		for (unsigned i = 0; i < want[p + 26]; i++)
			n += want[p + 27 + i];
		if (n > len - p || memcmp(want + p, got + p, 18) ||
		    memcmp(want + p + 26, got + p + 26, (size_t)n - 26))
			return 0;
		if (p == 0)
			delta = le32(got + 18) - le32(want + 18);
		else if (le32(got + p + 18) - le32(want + p + 18) != delta)
			return 0;
		if (page_crc_error(got + p, n) != page_crc_error(want + p, n))
			return 0;
		p += n;
	}
	return 1;
}

static const char *const exts[] = { "x.flac", "x.mp3", "x.ogg", "x.m4a",
				    "x.wav" };

struct arrays {
	struct mf_synth_tag tags[RT_MAX];
	struct mf_synth_pic pics[RT_MAX];
	struct mf_synth_bin bins[RT_MAX];
	struct mf_synth_block blocks[RT_MAX];
	size_t idx[RT_MAX];
};

static uint8_t *serve(const struct mf_layout *l, const struct mf_layout_io *io,
		      size_t size)
{
	uint8_t *buf = malloc(size ? size : 1);
	size_t off = 0;

	if (!buf)
		abort();
	while (off < size) {
		ssize_t n = mf_layout_read_at(l, off, buf + off,
					      size - off < 4093 ? size - off : 4093,
					      io);

		if (n <= 0) {
			free(buf);
			return NULL;
		}
		off += (size_t)n;
	}
	return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct rec r, r2;
	static struct arrays a;
	static int once;
	struct mf_synth_opts opts = { 0 };
	struct mf_synth_input in;
	struct mf_layout *l = NULL;
	const struct mf_format *fmt;
	const char *format;
	mf_probe_fn fn;
	struct io rio;
	struct mf_layout_io io = { &rio, read_blob, read_backing };
	uint8_t *served = NULL;
	size_t served_len = 0;
	int fd, fd2 = -1;

	if (!once++)
		mf_log_init("fuzz", MF_LOG_ERROR);
	if (size < 1)
		return 0;
	fn = mf_format_prober(exts[data[0] % 5], &format);
	if (!fn)
		abort();
	memset(&r, 0, sizeof(r));
	memset(&r2, 0, sizeof(r2));
	fd = memfd(data + 1, size - 1);
	if (probe(fn, fd, &r) || r.full || r.nrange != 1)
		goto out;
	if (r.format)
		format = r.format;
	fmt = mf_format_get(format);
	if (!fmt)
		abort();

	memset(&a, 0, sizeof(a));
	sort_idx(r.tags, r.ntags, a.idx);
	for (size_t i = 0; i < r.ntags; i++) {
		a.tags[i].key = r.tags[a.idx[i]].key;
		a.tags[i].value = (const char *)r.tags[a.idx[i]].data;
	}
	for (size_t i = 0; i < r.npics; i++) {
		const struct item *p = &r.pics[i];

		a.pics[i] = (struct mf_synth_pic){
			.type = p->type, .mime = p->mime, .desc = p->desc,
			.width = p->w, .height = p->h, .depth = p->depth,
			.colors = p->colors, .len = p->len,
			.ref = { MF_BLOB_ART, (int64_t)i },
		};
	}
	sort_idx(r.bins, r.nbins, a.idx);
	for (size_t i = 0; i < r.nbins; i++)
		a.bins[i] = (struct mf_synth_bin){
			.key = r.bins[a.idx[i]].key, .len = r.bins[a.idx[i]].len,
			.ref = { MF_BLOB_TAG, (int64_t)a.idx[i] },
		};
	sort_idx(r.blocks, r.nblocks, a.idx);
	for (size_t i = 0; i < r.nblocks; i++)
		a.blocks[i] = (struct mf_synth_block){
			.kind = r.blocks[a.idx[i]].key,
			.data = r.blocks[a.idx[i]].data,
			.len = r.blocks[a.idx[i]].len,
		};
	in = (struct mf_synth_input){
		.format = format, .blocks = a.blocks, .nblocks = r.nblocks,
		.tags = a.tags, .ntags = r.ntags, .pics = a.pics,
		.npics = r.npics, .bins = a.bins, .nbins = r.nbins,
		.audio_offset = r.off, .audio_length = r.len,
		.backing_size = size - 1, .opts = &opts,
	};
	if (fmt->synth(&in, &l))
		goto out;	/* refusing to synthesize is allowed */
	if (mf_layout_size(l) > RT_SERVE_MAX)
		goto out;
	served_len = (size_t)mf_layout_size(l);
	rio = (struct io){ &r, fd };
	served = serve(l, &io, served_len);
	if (!served)
		fail(format, "a read of the served file failed");

	served_now = served;
	served_now_len = served_len;
	fd2 = memfd(served, served_len);
	if (probe(fn, fd2, &r2) || r2.full)
		fail(format, "the served file does not probe");
	if (r2.nrange != 1 || r2.len != r.len)
		fail(format, "served audio range %d x [%llu, +%llu), was [%llu, +%llu)",
		     r2.nrange, (unsigned long long)r2.off,
		     (unsigned long long)r2.len, (unsigned long long)r.off,
		     (unsigned long long)r.len);
	if (memcmp(served + r2.off, data + 1 + r.off, r.len) &&
	    !(data[0] % 5 == 2 &&
	      ogg_same_pages(data + 1 + r.off, served + r2.off, r.len)))
		fail(format, "the served audio bytes differ");
	if (r2.npics != r.npics)
		fail(format, "the served file has another picture count");
	for (size_t i = 0; i < r.npics; i++)
		if (r2.pics[i].type != r.pics[i].type ||
		    r2.pics[i].len != r.pics[i].len ||
		    memcmp(r2.pics[i].data, r.pics[i].data, r.pics[i].len))
			fail(format, "a served picture differs");
	for (size_t i = 0; i < r.npics; i++)
		if (strcmp(r2.pics[i].mime, r.pics[i].mime) ||
		    strcmp(r2.pics[i].desc, r.pics[i].desc) ||
		    r2.pics[i].w != r.pics[i].w || r2.pics[i].h != r.pics[i].h)
			fail(format, "a served picture's MIME, description or size differs");
	if (r2.ntags != r.ntags || !same_items(r.tags, r2.tags, r.ntags))
		fail(format, "the served tags differ (%zu tags, were %zu; "
		     "the first was %s=%.40s)", r2.ntags, r.ntags,
		     r.ntags ? r.tags[0].key : "-",
		     r.ntags ? (const char *)r.tags[0].data : "");
	if (r2.nbins != r.nbins || !same_items(r.bins, r2.bins, r.nbins))
		fail(format, "the served binary tags differ (%zu, were %zu)",
		     r2.nbins, r.nbins);
out:
	served_now = NULL;
	free(served);
	mf_layout_free(l);
	close(fd);
	if (fd2 >= 0)
		close(fd2);
	rec_free(&r);
	rec_free(&r2);
	return 0;
}
