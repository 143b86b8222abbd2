/* SPDX-License-Identifier: MIT */
/*
 * mf_layout - segment lists for served files.
 *
 * Segments live in one growing array; the bytes of all inline segments live
 * in one growing arena and segments refer to them by offset, so appending
 * never leaves a dangling pointer. Consecutive inline appends are merged
 * into one segment (the arena is contiguous), which keeps the list short:
 * a synthesized FLAC file is typically inline, blob, inline, backing.
 */
#include "mf_layout.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "mf_banned.h"

struct layout_seg {
	enum mf_seg_kind kind;
	uint64_t start;			/* offset in the served file */
	uint64_t len;			/* bytes, never 0 */
	uint64_t src_off;		/* INLINE: arena offset; else source */
	struct mf_blob_ref blob;	/* MF_SEG_BLOB only */
	const struct mf_seg_ops *ops;	/* MF_SEG_CUSTOM only */
	void *priv;			/* MF_SEG_CUSTOM only, owned */
};

struct mf_layout {
	struct layout_seg *segs;	/* immutable after publish */
	size_t nsegs;
	size_t segs_cap;
	uint8_t *arena;			/* inline bytes, immutable after publish */
	size_t arena_len;
	size_t arena_cap;
	uint64_t size;			/* sum of segment lengths */
};

struct mf_layout *mf_layout_new(void)
{
	return calloc(1, sizeof(struct mf_layout));
}

void mf_layout_free(struct mf_layout *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->nsegs; i++) {
		const struct layout_seg *seg = &l->segs[i];

		if (seg->kind == MF_SEG_CUSTOM && seg->ops->free)
			seg->ops->free(seg->priv);
	}
	free(l->segs);
	free(l->arena);
	free(l);
}

/* Make room for one more segment; -ENOMEM leaves @l unchanged. */
static int layout_grow_segs(struct mf_layout *l)
{
	struct layout_seg *segs;
	size_t cap;

	if (l->nsegs < l->segs_cap)
		return 0;
	cap = l->segs_cap ? l->segs_cap * 2 : 8;
	if (cap > SIZE_MAX / sizeof(*segs))
		return -ENOMEM;
	segs = realloc(l->segs, cap * sizeof(*segs));
	if (!segs)
		return -ENOMEM;
	l->segs = segs;
	l->segs_cap = cap;
	return 0;
}

/* Make room for @len more arena bytes; -ENOMEM leaves @l unchanged. */
static int layout_grow_arena(struct mf_layout *l, size_t len)
{
	uint8_t *arena;
	size_t need, cap;

	if (len > SIZE_MAX - l->arena_len)
		return -ENOMEM;
	need = l->arena_len + len;
	if (need <= l->arena_cap)
		return 0;
	cap = l->arena_cap ? l->arena_cap : 256;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	arena = realloc(l->arena, cap);
	if (!arena)
		return -ENOMEM;
	l->arena = arena;
	l->arena_cap = cap;
	return 0;
}

/* Would adding @len bytes push the total size past INT64_MAX? */
static bool layout_too_big(const struct mf_layout *l, uint64_t len)
{
	return len > (uint64_t)INT64_MAX - l->size;
}

int mf_layout_add_inline(struct mf_layout *l, const void *bytes, size_t len)
{
	struct layout_seg *last;
	int ret;

	if (!l || (len && !bytes))
		return -EINVAL;
	if (!len)
		return 0;
	if (layout_too_big(l, len))
		return -EOVERFLOW;
	ret = layout_grow_arena(l, len);
	if (ret)
		return ret;
	last = l->nsegs ? &l->segs[l->nsegs - 1] : NULL;
	if (!last || last->kind != MF_SEG_INLINE) {
		ret = layout_grow_segs(l);
		if (ret)
			return ret;
		last = &l->segs[l->nsegs++];
		last->kind = MF_SEG_INLINE;
		last->start = l->size;
		last->len = 0;
		last->src_off = l->arena_len;
		memset(&last->blob, 0, sizeof(last->blob));
	}
	memcpy(l->arena + l->arena_len, bytes, len);
	l->arena_len += len;
	last->len += len;
	l->size += len;
	return 0;
}

/* Append one BLOB or BACKING segment. */
static int layout_add_ref(struct mf_layout *l, enum mf_seg_kind kind,
			  const struct mf_blob_ref *ref, uint64_t src_off,
			  uint64_t len)
{
	struct layout_seg *seg;
	int ret;

	if (!len)
		return 0;
	if (layout_too_big(l, len) || src_off > UINT64_MAX - len)
		return -EOVERFLOW;
	ret = layout_grow_segs(l);
	if (ret)
		return ret;
	seg = &l->segs[l->nsegs++];
	memset(seg, 0, sizeof(*seg));
	seg->kind = kind;
	seg->start = l->size;
	seg->len = len;
	seg->src_off = src_off;
	if (ref)
		seg->blob = *ref;
	l->size += len;
	return 0;
}

int mf_layout_add_blob(struct mf_layout *l, const struct mf_blob_ref *ref,
		       uint64_t src_off, uint64_t len)
{
	if (!l || !ref)
		return -EINVAL;
	return layout_add_ref(l, MF_SEG_BLOB, ref, src_off, len);
}

int mf_layout_add_backing(struct mf_layout *l, uint64_t src_off, uint64_t len)
{
	if (!l)
		return -EINVAL;
	return layout_add_ref(l, MF_SEG_BACKING, NULL, src_off, len);
}

int mf_layout_add_custom(struct mf_layout *l, const struct mf_seg_ops *ops,
			 void *priv, uint64_t len)
{
	struct layout_seg *seg;
	int ret;

	if (!l || !ops || !ops->read)
		return -EINVAL;
	if (!len) {
		if (ops->free)
			ops->free(priv);
		return 0;
	}
	if (layout_too_big(l, len))
		return -EOVERFLOW;
	ret = layout_grow_segs(l);
	if (ret)
		return ret;
	seg = &l->segs[l->nsegs++];
	memset(seg, 0, sizeof(*seg));
	seg->kind = MF_SEG_CUSTOM;
	seg->start = l->size;
	seg->len = len;
	seg->ops = ops;
	seg->priv = priv;
	l->size += len;
	return 0;
}

/*---- base64 of an inner layout (RFC 4648 section 4) -------------------*/

static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Encode one group of @n (1..3) input bytes into 4 output characters. */
static void b64_group(const uint8_t *in, size_t n, uint8_t out[4])
{
	uint32_t v = (uint32_t)in[0] << 16;

	if (n > 1)
		v |= (uint32_t)in[1] << 8;
	if (n > 2)
		v |= in[2];
	out[0] = (uint8_t)b64_alphabet[(v >> 18) & 63];
	out[1] = (uint8_t)b64_alphabet[(v >> 12) & 63];
	out[2] = n > 1 ? (uint8_t)b64_alphabet[(v >> 6) & 63] : '=';
	out[3] = n > 2 ? (uint8_t)b64_alphabet[v & 63] : '=';
}

static int b64_read(const void *priv, uint64_t off, void *buf, size_t len,
		    const struct mf_layout_io *io)
{
	const struct mf_layout *inner = priv;
	uint64_t isize = mf_layout_size(inner);
	uint8_t *dst = buf;
	uint8_t chunk[3 * 1024];
	uint8_t quad[4];

	while (len) {
		uint64_t group = off / 4;	/* first output group touched */
		uint64_t in_off = group * 3;
		size_t skip = (size_t)(off % 4);
		size_t want = (len + skip + 3) / 4 * 3;	/* input bytes */
		ssize_t got;
		size_t i;

		if (want > sizeof(chunk))
			want = sizeof(chunk);
		if (in_off >= isize)
			return -EIO;
		if (want > isize - in_off)
			want = (size_t)(isize - in_off);
		got = mf_layout_read_at(inner, in_off, chunk, want, io);
		if (got < 0)
			return (int)got;
		if ((size_t)got != want)
			return -EIO;
		for (i = 0; i < want && len; i += 3) {
			size_t n = want - i < 3 ? want - i : 3;
			size_t take;

			b64_group(chunk + i, n, quad);
			take = 4 - skip;
			if (take > len)
				take = len;
			memcpy(dst, quad + skip, take);
			dst += take;
			len -= take;
			off += take;
			skip = 0;
		}
	}
	return 0;
}

static void b64_free(void *priv)
{
	mf_layout_free(priv);
}

static size_t b64_mem(const void *priv)
{
	return mf_layout_mem(priv);
}

static const struct mf_seg_ops b64_ops = {
	.read = b64_read,
	.free = b64_free,
	.mem = b64_mem,
};

int mf_layout_add_base64(struct mf_layout *l, struct mf_layout *inner)
{
	uint64_t n;

	if (!l || !inner)
		return -EINVAL;
	n = mf_layout_size(inner);
	if (n > (uint64_t)INT64_MAX / 4 * 3 - 3)
		return -EOVERFLOW;
	return mf_layout_add_custom(l, &b64_ops, inner, mf_base64_len(n));
}

uint64_t mf_layout_size(const struct mf_layout *l)
{
	return l->size;
}

size_t mf_layout_nsegs(const struct mf_layout *l)
{
	return l->nsegs;
}

void mf_layout_seg(const struct mf_layout *l, size_t i, struct mf_seg *out)
{
	const struct layout_seg *seg;

	memset(out, 0, sizeof(*out));
	if (i >= l->nsegs)
		return;
	seg = &l->segs[i];
	out->kind = seg->kind;
	out->start = seg->start;
	out->len = seg->len;
	if (seg->kind == MF_SEG_INLINE) {
		out->bytes = l->arena + seg->src_off;
	} else if (seg->kind == MF_SEG_CUSTOM) {
		out->ops = seg->ops;
		out->priv = seg->priv;
	} else {
		out->src_off = seg->src_off;
		out->blob = seg->blob;
	}
}

int mf_layout_each_blob(const struct mf_layout *l,
			int (*fn)(void *ctx, const struct mf_blob_ref *ref,
				  uint64_t need),
			void *ctx)
{
	int ret = 0;

	for (size_t i = 0; i < l->nsegs && !ret; i++) {
		const struct layout_seg *seg = &l->segs[i];

		if (seg->kind == MF_SEG_BLOB)
			ret = fn(ctx, &seg->blob, seg->src_off + seg->len);
		else if (seg->kind == MF_SEG_CUSTOM && seg->ops == &b64_ops)
			ret = mf_layout_each_blob(seg->priv, fn, ctx);
	}
	return ret;
}

size_t mf_layout_find(const struct mf_layout *l, uint64_t off)
{
	size_t lo = 0, hi = l->nsegs;

	if (off >= l->size)
		return l->nsegs;
	/* Invariant: the answer is in [lo, hi); segments are contiguous. */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (l->segs[mid].start <= off)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

size_t mf_layout_mem(const struct mf_layout *l)
{
	size_t mem = sizeof(*l) + l->segs_cap * sizeof(*l->segs) +
		     l->arena_cap;

	for (size_t i = 0; i < l->nsegs; i++) {
		const struct layout_seg *seg = &l->segs[i];

		if (seg->kind == MF_SEG_CUSTOM && seg->ops->mem)
			mem += seg->ops->mem(seg->priv);
	}
	return mem;
}

ssize_t mf_layout_read_at(const struct mf_layout *l, uint64_t off, void *buf,
			  size_t len, const struct mf_layout_io *io)
{
	uint8_t *dst = buf;
	size_t done = 0;
	size_t i;

	if (off >= l->size || !len)
		return 0;
	if (len > SSIZE_MAX)
		len = SSIZE_MAX;
	if (len > l->size - off)
		len = (size_t)(l->size - off);

	for (i = mf_layout_find(l, off); done < len && i < l->nsegs; i++) {
		const struct layout_seg *seg = &l->segs[i];
		uint64_t in = off + done - seg->start;
		uint64_t avail = seg->len - in;
		size_t n = len - done;
		int ret = 0;

		if (n > avail)
			n = (size_t)avail;
		switch (seg->kind) {
		case MF_SEG_INLINE:
			memcpy(dst + done, l->arena + seg->src_off + in, n);
			break;
		case MF_SEG_BLOB:
			if (!io || !io->read_blob)
				return -EIO;
			ret = io->read_blob(io->ctx, &seg->blob,
					    seg->src_off + in, dst + done, n);
			break;
		case MF_SEG_BACKING:
			if (!io || !io->read_backing)
				return -EIO;
			ret = io->read_backing(io->ctx, seg->src_off + in,
					       dst + done, n);
			break;
		case MF_SEG_CUSTOM:
			ret = seg->ops->read(seg->priv, in, dst + done, n, io);
			break;
		default:
			return -EIO;
		}
		if (ret < 0)
			return ret;
		if (ret > 0)
			return -EIO;
		done += n;
	}
	return (ssize_t)done;
}
