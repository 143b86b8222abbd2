/* SPDX-License-Identifier: MIT */
/*
 * rec_sink.h - a struct mf_sink that records everything a prober reports,
 * shared by the format unit tests. Include after <cmocka.h> and
 * "mf_format.h". Define REC_KIND_PREFIX (e.g. "ogg:") before including to
 * assert that every structural kind carries the format's namespace.
 * Everything recorded is a NUL-terminated copy owned by the struct rec;
 * rec_free() releases it and zeroes the record.
 */
#ifndef REC_SINK_H
#define REC_SINK_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define REC_MAX 64

struct rec_item {
	char *key;	/* tag key, binary key or structural kind */
	uint8_t *data;	/* NUL-terminated copy */
	size_t len;
};

struct rec {
	const char *format;	/* from on_format, static */
	int nrange;
	uint64_t off, len;
	struct rec_item tags[REC_MAX], bins[REC_MAX], blocks[REC_MAX];
	size_t ntags, nbins, nblocks;
	struct mf_picture pics[REC_MAX];	/* strings and data owned */
	size_t npics;
	int nprops;
	struct mf_audio_props props;
	int fail_tag;		/* on_tag returns this when non-zero */
};

static inline void *dup_mem(const void *p, size_t len)
{
	uint8_t *d = malloc(len + 1);

	assert_non_null(d);
	if (len)
		memcpy(d, p, len);
	d[len] = 0;
	return d;
}

static inline int rec_item(struct rec_item *it, size_t *n, const char *key,
			   const void *data, size_t len)
{
	if (*n == REC_MAX)
		return -ENOSPC;
	it[*n].key = dup_mem(key, strlen(key));
	it[*n].data = dup_mem(data, len);
	it[*n].len = len;
	(*n)++;
	return 0;
}

static inline int rec_range(void *ctx, uint64_t off, uint64_t len)
{
	struct rec *r = ctx;

	r->nrange++;
	r->off = off;
	r->len = len;
	return 0;
}

static inline int rec_tag(void *ctx, const char *key, const char *value,
			  size_t len)
{
	struct rec *r = ctx;

	if (r->fail_tag)
		return r->fail_tag;
	return rec_item(r->tags, &r->ntags, key, value, len);
}

static inline int rec_binary(void *ctx, const char *key, const void *data,
			     size_t len)
{
	struct rec *r = ctx;

	return rec_item(r->bins, &r->nbins, key, data, len);
}

static inline int rec_structural(void *ctx, const char *kind,
				 const void *data, size_t len)
{
	struct rec *r = ctx;

	assert_true(len <= MF_STRUCT_MAX);
#ifdef REC_KIND_PREFIX
	assert_true(strncmp(kind, REC_KIND_PREFIX,
			    strlen(REC_KIND_PREFIX)) == 0);
#endif
	return rec_item(r->blocks, &r->nblocks, kind, data, len);
}

static inline int rec_picture(void *ctx, const struct mf_picture *pic)
{
	struct rec *r = ctx;
	struct mf_picture *p;

	if (r->npics == REC_MAX)
		return -ENOSPC;
	p = &r->pics[r->npics++];
	*p = *pic;
	p->mime = dup_mem(pic->mime, strlen(pic->mime));
	p->desc = dup_mem(pic->desc, strlen(pic->desc));
	p->data = dup_mem(pic->data, pic->len);
	return 0;
}

static inline int rec_format(void *ctx, const char *format)
{
	struct rec *r = ctx;

	r->format = format;
	return 0;
}

static inline int rec_props(void *ctx, const struct mf_audio_props *props)
{
	struct rec *r = ctx;

	r->nprops++;
	r->props = *props;
	return 0;
}

static inline struct mf_sink rec_sink(struct rec *r)
{
	struct mf_sink s = {
		.ctx = r,
		.on_audio_range = rec_range,
		.on_tag = rec_tag,
		.on_binary_tag = rec_binary,
		.on_picture = rec_picture,
		.on_structural = rec_structural,
		.on_format = rec_format,
		.on_props = rec_props,
	};

	return s;
}

static inline void items_free(struct rec_item *it, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(it[i].key);
		free(it[i].data);
	}
}

static inline void rec_free(struct rec *r)
{
	items_free(r->tags, r->ntags);
	items_free(r->bins, r->nbins);
	items_free(r->blocks, r->nblocks);
	for (size_t i = 0; i < r->npics; i++) {
		free((void *)r->pics[i].mime);
		free((void *)r->pics[i].desc);
		free((void *)r->pics[i].data);
	}
	memset(r, 0, sizeof(*r));
}

/*
 * Read @len bytes at @off of the recorded bytes a synthesized layout's
 * blob reference names (art rowid N = pics[N], tag rowid N = bins[N]), as
 * the store would serve them. Returns 0 or -EIO (unknown row, out of
 * range).
 */
static inline int rec_read_blob(const struct rec *r,
				const struct mf_blob_ref *ref, uint64_t off,
				void *buf, size_t len)
{
	const uint8_t *data;
	size_t n;

	if (ref->kind == MF_BLOB_ART && ref->rowid >= 0 &&
	    (size_t)ref->rowid < r->npics) {
		data = r->pics[ref->rowid].data;
		n = r->pics[ref->rowid].len;
	} else if (ref->kind == MF_BLOB_TAG && ref->rowid >= 0 &&
		   (size_t)ref->rowid < r->nbins) {
		data = r->bins[ref->rowid].data;
		n = r->bins[ref->rowid].len;
	} else {
		return -EIO;
	}
	if (off > n || len > n - off)
		return -EIO;
	memcpy(buf, data + off, len);
	return 0;
}

#endif /* REC_SINK_H */
