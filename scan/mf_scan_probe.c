/* SPDX-License-Identifier: MIT */
/*
 * mf_scan_probe - the probe workers: open a candidate, probe it through
 * the format registry into a struct probe (the scanner's mf_sink),
 * fingerprint its audio range, hash its pictures (and with
 * --checksum=full the whole file), and hand the item to the writer.
 *
 * Fingerprint (docs/store.md): SHA-256 over the audio range's length as
 * 8 little-endian bytes followed by the whole range when it is at most
 * 192 KiB, else by its first, middle and last 64 KiB (the middle piece
 * starts at offset + length/2 - 32 KiB). Tags and pictures are outside
 * the audio range, so a retagged file keeps its fingerprint.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <taglib/tag_c.h>

#include "mf_array.h"
#include "mf_format.h"
#include "mf_log.h"
#include "mf_queue.h"
#include "mf_reader.h"
#include "mf_scan_int.h"
#include "mf_banned.h"

#define FP_PIECE (64u * 1024)
/*
 * The first bytes of every probed file are read with one pread(2) into a
 * window the prober (through its struct mf_probe_src) and the fingerprint
 * read from:
 * the header region of most files and the first fingerprint piece, so a
 * small file costs one read instead of one per metadata block and piece.
 */
#define PROBE_WINDOW (128u * 1024)
/* The worker's scratch: a piece and the context its format's
 * normalization reads before it (mf_format.fp_behind), then the window. */
#define SCRATCH (FP_PIECE + MF_FORMAT_FP_BEHIND_MAX)

/*
 * A worker's SHA-256: the algorithm fetched once (an implicit fetch per
 * EVP_DigestInit_ex() showed in profiles) and one context reused for
 * every digest.
 */
struct hasher {
	EVP_MD *md;
	EVP_MD_CTX *ctx;
	EVP_MD_CTX *legacy;	/* Ogg: the fingerprint without zeroing */
	bool use_legacy;	/* per fingerprint(): feed legacy too */
};

#define PROBE_MAX_TAGS 65536
#define PROBE_MAX_PICS 256
#define PROBE_MAX_BLOCKS 4096

/*---- the sink --------------------------------------------------------*/

/*
 * Every string and byte run of a probe (tag keys and values, picture
 * MIME types, descriptions and data, block kinds and data) lives in the
 * probe's chunks, freed together by probe_release(): one allocation per
 * few KiB instead of two per tag, and one free instead of dozens in the
 * writer thread, which frees the items (malloc and free were 8% of a
 * cold scan's CPU).
 */
#define CHUNK_BYTES 4000	/* a chunk's room, when the run fits */

struct probe_chunk {
	struct probe_chunk *next;
	size_t used, cap;
	unsigned char data[];
};

/* @len bytes of @src and a NUL in @p's chunks, or NULL (no memory). */
static void *probe_dup(struct probe *p, const void *src, size_t len)
{
	struct probe_chunk *c = p->chunks;
	unsigned char *d;

	if (len >= SIZE_MAX - sizeof(*c) - 1)
		return NULL;
	if (!c || c->cap - c->used < len + 1) {
		size_t cap = len + 1 > CHUNK_BYTES ? len + 1 : CHUNK_BYTES;

		c = malloc(sizeof(*c) + cap);
		if (!c)
			return NULL;
		c->used = 0;
		c->cap = cap;
		/* a big run gets a chunk of its own behind the current one,
		 * which keeps its room for the small runs that follow */
		if (p->chunks && cap > CHUNK_BYTES) {
			c->next = p->chunks->next;
			p->chunks->next = c;
		} else {
			c->next = p->chunks;
			p->chunks = c;
		}
	}
	d = c->data + c->used;
	if (len)
		memcpy(d, src, len);
	d[len] = '\0';
	c->used += len + 1;
	return d;
}

static void probe_release(struct probe *p)
{
	while (p->chunks) {
		struct probe_chunk *c = p->chunks;

		p->chunks = c->next;
		free(c);
	}
	free(p->tags);
	free(p->pics);
	free(p->blocks);
	memset(p, 0, sizeof(*p));
}

void item_free(struct item *it)
{
	if (!it)
		return;
	probe_release(&it->p);
	free(it->path);
	free(it);
}

void item_batch_free(struct item_batch *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->n; i++)
		item_free(b->v[i]);
	free(b);
}

static int sink_range(void *ctx, uint64_t off, uint64_t len)
{
	struct probe *p = ctx;

	p->have_range = true;
	p->audio_offset = off;
	p->audio_length = len;
	return 0;
}

static int add_tag(struct probe *p, const char *key, const void *val,
		   size_t len, bool binary)
{
	struct probe_tag *t;
	int ordinal = 0;

	if (p->ntags >= PROBE_MAX_TAGS)
		return -E2BIG;
	/* files hold few distinct keys: look back for the last same key */
	for (size_t i = p->ntags; i-- > 0;) {
		if (strcmp(p->tags[i].key, key) == 0) {
			ordinal = p->tags[i].ordinal + 1;
			break;
		}
	}
	t = mf_array_grow(p->tags, &p->cap_tags, p->ntags + 1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	p->tags = t;
	t = &p->tags[p->ntags];
	t->keylen = strlen(key);
	t->key = probe_dup(p, key, t->keylen);
	t->value = probe_dup(p, val, len);
	if (!t->key || !t->value)
		return -ENOMEM;
	t->len = len;
	t->binary = binary;
	t->ordinal = ordinal;
	p->ntags++;
	p->bytes += len;
	return 0;
}

static int sink_tag(void *ctx, const char *key, const char *value, size_t len)
{
	return add_tag(ctx, key, value, len, false);
}

static int sink_binary(void *ctx, const char *key, const void *data,
		       size_t len)
{
	return add_tag(ctx, key, data, len, true);
}

/* Bytes of @desc within the store's 1024 characters (track_art CHECK,
 * as 1.x): a longer description is cut at a character boundary. */
static size_t desc_len(const char *desc)
{
	size_t chars = 0, i;

	for (i = 0; desc[i]; i++)
		if (((unsigned char)desc[i] & 0xc0) != 0x80 && ++chars > 1024)
			break;
	return i;
}

static int sink_picture(void *ctx, const struct mf_picture *pic)
{
	struct probe *p = ctx;
	struct probe_pic *d;
	const char *mime, *desc;

	if (p->npics >= PROBE_MAX_PICS)
		return -E2BIG;
	if (pic->len == 0)
		return 0;	/* an empty image is nothing to serve */
	d = mf_array_grow(p->pics, &p->cap_pics, p->npics + 1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	p->pics = d;
	d = &p->pics[p->npics];
	memset(d, 0, sizeof(*d));
	d->type = pic->type;
	d->width = pic->width;
	d->height = pic->height;
	d->depth = pic->depth;
	d->colors = pic->colors;
	d->len = pic->len;
	mime = pic->mime && *pic->mime ? pic->mime : "image/";
	desc = pic->desc ? pic->desc : "";
	d->mime = probe_dup(p, mime, strlen(mime));
	d->desc = probe_dup(p, desc, desc_len(desc));
	d->data = probe_dup(p, pic->data, pic->len);
	if (!d->mime || !d->desc || !d->data)
		return -ENOMEM;
	p->npics++;
	p->bytes += pic->len;
	return 0;
}

static int sink_structural(void *ctx, const char *kind, const void *data,
			   size_t len)
{
	struct probe *p = ctx;
	struct probe_block *b;

	if (p->nblocks >= PROBE_MAX_BLOCKS || len > MF_STRUCT_MAX)
		return -EFBIG;
	b = mf_array_grow(p->blocks, &p->cap_blocks, p->nblocks + 1,
			  sizeof(*b));
	if (!b)
		return -ENOMEM;
	p->blocks = b;
	b = &p->blocks[p->nblocks];
	b->kindlen = strlen(kind);
	b->kind = probe_dup(p, kind, b->kindlen);
	b->data = probe_dup(p, data, len);
	if (!b->kind || !b->data)
		return -ENOMEM;
	b->len = len;
	p->nblocks++;
	p->bytes += len;
	return 0;
}

static int sink_format(void *ctx, const char *format)
{
	struct probe *p = ctx;

	p->format = format;
	return 0;
}

static int sink_props(void *ctx, const struct mf_audio_props *props)
{
	struct probe *p = ctx;

	p->props = *props;
	p->have_props = true;
	return 0;
}

static bool probe_has_block(const struct probe *p, const char *kind)
{
	for (size_t i = 0; i < p->nblocks; i++)
		if (strcmp(p->blocks[i].kind, kind) == 0)
			return true;
	return false;
}

/*---- hashing ---------------------------------------------------------*/

static void hex32(const unsigned char md[32], char out[65])
{
	static const char hex[] = "0123456789abcdef";

	for (unsigned int i = 0; i < 32; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[64] = '\0';
}

static int sha256_hex(struct hasher *h, const void *data, size_t len,
		      char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (EVP_DigestInit_ex(h->ctx, h->md, NULL) != 1 ||
	    EVP_DigestUpdate(h->ctx, data, len) != 1 ||
	    EVP_DigestFinal_ex(h->ctx, md, &mdlen) != 1 || mdlen != 32)
		return -EIO;
	hex32(md, out);
	return 0;
}

/*
 * Feed [@off, @off + @len) of @fd into h->ctx: from the window @w where
 * it holds a piece, else read through @buf (SCRATCH bytes), adding what
 * was read to *@bytes. When @fmt (NULL: the whole file, as it is)
 * normalizes its audio bytes
 * (fp_normalize: Ogg page numbers and CRCs), each piece is read with the
 * fp_behind bytes before it (not before @lo, the range's start) and
 * normalized before it is hashed.
 */
static int hash_range(struct hasher *h, int fd, const struct mf_probe_src *w,
		      const struct mf_format *fmt, uint64_t lo, uint64_t off,
		      uint64_t len, uint8_t *buf, uint64_t *bytes)
{
	bool norm = fmt && fmt->fp_normalize;
	uint64_t behind = norm ? fmt->fp_behind : 0;

	if (!norm && off < w->headlen && len <= w->headlen - off)
		return EVP_DigestUpdate(h->ctx, w->head + off, (size_t)len) == 1 ?
		       0 : -EIO;
	while (len) {
		size_t want = len < FP_PIECE ? (size_t)len : FP_PIECE;
		uint64_t from = off - lo < behind ? lo : off - behind;
		size_t pre = (size_t)(off - from), n = pre + want;

		if (from < w->headlen && n <= w->headlen - from) {
			memcpy(buf, w->head + from, n);
		} else {
			if (mf_pread_full(fd, buf, n, from) < 0)
				return -EIO;	/* error, or the file shrank */
			*bytes += n;
		}
		/* the same bytes before the zeroing, for the old definition */
		if (norm && h->use_legacy &&
		    EVP_DigestUpdate(h->legacy, buf + pre, want) != 1)
			return -EIO;
		if (norm)
			fmt->fp_normalize(buf, n);
		if (EVP_DigestUpdate(h->ctx, buf + pre, want) != 1)
			return -EIO;
		off += want;
		len -= want;
	}
	return 0;
}

/*
 * The fingerprint of the audio range [@off, @off + @len) (docs/store.md):
 * its length, then the whole range up to 3 * FP_PIECE bytes, else its
 * first, middle and last FP_PIECE, normalized as @fmt says (hash_range());
 * and then, with @legacy non-NULL and a normalizing @fmt, also the
 * fingerprint without the normalization into @legacy, from the same reads.
 * @buf: SCRATCH bytes.
 */
static int fingerprint(struct hasher *h, int fd, const struct mf_probe_src *w,
		       const struct mf_format *fmt, uint64_t off, uint64_t len,
		       uint8_t *buf,
		       uint8_t out[32], uint8_t legacy[32], uint64_t *bytes)
{
	EVP_MD_CTX *ctx = h->ctx;
	unsigned char le[8];
	unsigned int mdlen = 0;
	int ret;

	for (int i = 0; i < 8; i++)
		le[i] = (unsigned char)(len >> (8 * i));
	h->use_legacy = fmt->fp_normalize && legacy;
	if (EVP_DigestInit_ex(ctx, h->md, NULL) != 1 ||
	    EVP_DigestUpdate(ctx, le, sizeof(le)) != 1)
		return -EIO;
	if (h->use_legacy &&
	    (EVP_DigestInit_ex(h->legacy, h->md, NULL) != 1 ||
	     EVP_DigestUpdate(h->legacy, le, sizeof(le)) != 1))
		return -EIO;
	if (len <= 3 * (uint64_t)FP_PIECE) {
		ret = hash_range(h, fd, w, fmt, off, off, len, buf, bytes);
	} else {
		ret = hash_range(h, fd, w, fmt, off, off, FP_PIECE, buf, bytes);
		if (!ret)
			ret = hash_range(h, fd, w, fmt, off,
					 off + len / 2 - FP_PIECE / 2, FP_PIECE,
					 buf, bytes);
		if (!ret)
			ret = hash_range(h, fd, w, fmt, off, off + len - FP_PIECE,
					 FP_PIECE, buf, bytes);
	}
	if (!ret && (EVP_DigestFinal_ex(ctx, out, &mdlen) != 1 || mdlen != 32))
		ret = -EIO;
	if (!ret && h->use_legacy &&
	    (EVP_DigestFinal_ex(h->legacy, legacy, &mdlen) != 1 || mdlen != 32))
		ret = -EIO;
	return ret;
}

static int whole_file_hash(struct hasher *h, int fd, const struct mf_probe_src *w,
			   uint64_t size, uint8_t *buf, char out[65],
			   uint64_t *bytes)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int ret = -EIO;

	if (EVP_DigestInit_ex(h->ctx, h->md, NULL) == 1)
		ret = hash_range(h, fd, w, NULL, 0, 0, size, buf, bytes);
	if (!ret && (EVP_DigestFinal_ex(h->ctx, md, &mdlen) != 1 ||
		     mdlen != 32))
		ret = -EIO;
	if (!ret)
		hex32(md, out);
	return ret;
}

/*---- one file --------------------------------------------------------*/

static bool stat_equal(const struct stat *a, const struct stat *b)
{
	return a->st_size == b->st_size && a->st_ino == b->st_ino &&
	       a->st_dev == b->st_dev &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	       a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* Append what the file's first bytes look like to a "not a ..." reason. */
static void explain_mismatch(int fd, char *why, size_t whylen)
{
	uint8_t head[16];
	ssize_t n = pread(fd, head, sizeof(head), 0);
	const char *looks = n > 0 ? mf_format_sniff(head, (size_t)n) : NULL;
	size_t len = strlen(why);

	if (looks && len + 1 < whylen)
		snprintf(why + len, whylen - len, " (content looks like %s)",
			 looks);
}

/*
 * Audio properties from TagLib's C API, for a format whose prober
 * reported no duration. TagLib is serialized under sc->taglib_lock (its C
 * bindings keep global state).
 */
static void taglib_props(struct scan *sc, struct item *it)
{
	TagLib_File *f;
	const TagLib_AudioProperties *ap;

	pthread_mutex_lock(&sc->taglib_lock);
	f = taglib_file_new(it->path);
	if (f && taglib_file_is_valid(f) &&
	    (ap = taglib_file_audioproperties(f)) != NULL) {
		int len = taglib_audioproperties_length(ap);
		int br = taglib_audioproperties_bitrate(ap);
		int sr = taglib_audioproperties_samplerate(ap);
		int ch = taglib_audioproperties_channels(ap);

		if (!it->p.have_props)
			memset(&it->p.props, 0, sizeof(it->p.props));
		if (len > 0)
			it->p.props.duration_ms = (uint64_t)len * 1000;
		if (br > 0 && !it->p.props.bitrate_kbps)
			it->p.props.bitrate_kbps = (uint32_t)br;
		if (sr > 0 && !it->p.props.sample_rate)
			it->p.props.sample_rate = (uint32_t)sr;
		if (ch > 0 && !it->p.props.channels)
			it->p.props.channels = (uint32_t)ch;
		it->p.have_props = true;
	}
	if (f)
		taglib_file_free(f);
	pthread_mutex_unlock(&sc->taglib_lock);
}

/*
 * Hold the probe to the store's CHECK constraints (mf_scan_check.c), so
 * the writer need not: drop the tags and pictures the store would refuse,
 * with a warning, as the writer did when SQLite refused them; a block or
 * a tracks row it would refuse makes the file a failure. Returns 0 or
 * -EBADMSG with it->why set.
 */
static int hold_to_checks(struct item *it, uint64_t size)
{
	struct probe *p = &it->p;
	size_t k = 0;

	if (!check_track_row(it->path, p->format, p->audio_offset,
			     p->audio_length, size)) {
		snprintf(it->why, sizeof(it->why), "cannot store: path or "
			 "audio range out of the store's bounds");
		return -EBADMSG;
	}
	for (size_t i = 0; i < p->nblocks; i++) {
		const char *kind = p->blocks[i].kind;

		if (!check_block_row(kind, p->blocks[i].len)) {
			snprintf(it->why, sizeof(it->why), "cannot store: "
				 "malformed %.64s block", kind);
			return -EBADMSG;
		}
	}
	for (size_t i = 0; i < p->ntags; i++) {
		struct probe_tag *t = &p->tags[i];

		if (check_tag_row(t->key, t->ordinal, t->value, t->len,
				  t->binary)) {
			p->tags[k++] = *t;
			continue;
		}
		mf_warn("scan", "'%s': tag '%s' not stored (too large or "
			"malformed)", it->path, t->key);
	}
	p->ntags = k;
	k = 0;
	for (size_t i = 0; i < p->npics; i++) {
		struct probe_pic *pic = &p->pics[i];

		if (check_pic_row(pic, k)) {
			p->pics[k++] = *pic;
			continue;
		}
		mf_warn("scan", "'%s': picture %zu not stored (malformed)",
			it->path, i);
	}
	p->npics = k;
	return 0;
}

static void fail(struct item *it, int err, const char *fmt, const char *arg)
{
	it->err = err < 0 ? err : -EIO;
	if (!it->why[0])
		snprintf(it->why, sizeof(it->why), fmt, arg);
}

/* Probe @it; @buf holds SCRATCH + PROBE_WINDOW bytes. */
static void probe_item(struct scan *sc, struct item *it, uint8_t *buf,
		       struct hasher *h)
{
	uint8_t *winbuf = buf + SCRATCH;
	const struct mf_format *fmt = NULL;
	/* the probed file: its size and the window once read */
	struct mf_probe_src w = { .fd = -1, .head = winbuf };
	const char *format = NULL;
	mf_probe_fn probe = mf_format_prober(it->path, &format);
	struct probe *p = &it->p;
	struct mf_sink sink = {
		.ctx = p,
		.on_format = sink_format,
		.on_audio_range = sink_range,
		.on_tag = sink_tag,
		.on_binary_tag = sink_binary,
		.on_picture = sink_picture,
		.on_structural = sink_structural,
		.on_props = sink_props,
	};
	struct stat before;
	uint64_t hashed = 0;
	int fd, ret;

	fd = open(it->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		fail(it, -errno, "cannot open: %s", strerror(errno));
		return;
	}
	stat_add(&sc->st->probed, 1);
	p->format = format;
	if (fstat(fd, &before) < 0) {
		fail(it, -errno, "cannot stat: %s", strerror(errno));
		goto out;
	}
	if (!it->sb.st_mode)
		it->sb = before;	/* the walker did not stat it */
	if (S_ISREG(before.st_mode)) {
		size_t want = (uint64_t)before.st_size < PROBE_WINDOW ?
			      (size_t)before.st_size : PROBE_WINDOW;

		/* a short read (the file shrank): no window, and the stamp
		 * check below drops the result */
		w.fd = fd;
		w.sized = true;
		w.size = (uint64_t)before.st_size;
		if (mf_pread_full(fd, winbuf, want, 0) == 0) {
			w.headlen = want;
			hashed += want;
		}
	}
	if (w.fd < 0)	/* not a regular file: the prober says so */
		w = (struct mf_probe_src){ .fd = fd };
	ret = probe ? probe(&w, &sink, it->why, sizeof(it->why)) : -EINVAL;
	if (ret < 0) {
		if (!it->why[0])
			snprintf(it->why, sizeof(it->why), "%s", strerror(-ret));
		if (ret == -EINVAL)
			explain_mismatch(fd, it->why, sizeof(it->why));
		it->err = ret;
		goto out;
	}
	if (!p->have_range || !p->format ||
	    p->audio_offset > (uint64_t)before.st_size ||
	    p->audio_length > (uint64_t)before.st_size - p->audio_offset ||
	    !(fmt = mf_format_get(p->format)) ||
	    (fmt->required_block && !probe_has_block(p, fmt->required_block))) {
		fail(it, -EBADMSG, "%s", "no audio found");
		goto out;
	}
	ret = sc->sqlite_checks ? 0 :
	      hold_to_checks(it, (uint64_t)before.st_size);
	if (ret < 0) {
		it->err = ret;
		goto out;
	}
	/* rows stored by earlier builds hold the Ogg fingerprint without
	 * the normalization: moves of those are still found through it */
	it->has_fp_legacy = fmt->fp_normalize && sc->ogg_legacy_fp;
	ret = fingerprint(h, fd, &w, fmt, p->audio_offset, p->audio_length,
			  buf, it->fp, it->has_fp_legacy ? it->fp_legacy : NULL,
			  &hashed);
	if (ret < 0)
		it->has_fp_legacy = false;
	if (ret < 0) {
		fail(it, ret, "cannot read the audio: %s", strerror(-ret));
		goto out;
	}
	it->has_fp = true;
	hex32(it->fp, it->fp_hex);
	if (sc->opts->checksum_full) {
		ret = whole_file_hash(h, fd, &w, (uint64_t)before.st_size, buf,
				      it->content_hash, &hashed);
		if (ret < 0) {
			fail(it, ret, "cannot read: %s", strerror(-ret));
			goto out;
		}
	}
	for (size_t i = 0; i < p->npics; i++) {
		ret = sha256_hex(h, p->pics[i].data, p->pics[i].len,
				 p->pics[i].sha);
		if (ret < 0) {
			fail(it, ret, "%s", "cannot hash a picture");
			goto out;
		}
	}
	if (!p->have_props || !p->props.duration_ms)
		taglib_props(sc, it);
	if (fstat(fd, &it->after) < 0 || !stat_equal(&before, &it->after)) {
		fail(it, -EAGAIN, "%s", "file changed while it was read");
		goto out;
	}
	p->bytes += hashed;
out:
	stat_add(&sc->st->bytes_read, p->bytes + hashed);
	close(fd);
	if (it->err)
		probe_release(p);
}

void *scan_worker(void *arg)
{
	struct scan *sc = arg;
	uint8_t *buf = malloc(SCRATCH + PROBE_WINDOW);
	struct hasher h = { EVP_MD_fetch(NULL, "SHA256", NULL),
			    EVP_MD_CTX_new(), EVP_MD_CTX_new(), false };
	void *v;

	scan_lower_priority();
	if (!h.md || !h.ctx || !h.legacy) {
		free(buf);
		buf = NULL;
	}
	if (!buf) {
		mf_err("scan", "out of memory");
		__atomic_store_n(&sc->fatal, 1, __ATOMIC_RELAXED);
	}
	while (mf_queue_pop(sc->jobs, &v, -1) == 0) {
		struct item_batch *b = v;

		for (size_t i = 0; i < b->n; i++) {
			struct item *it = b->v[i];

			if (!buf || scan_stopping(sc)) {
				it->dropped = true;
				continue;
			}
			if (sc->test_delay_ms) {
				struct timespec ts = {
					.tv_sec = sc->test_delay_ms / 1000,
					.tv_nsec = (long)(sc->test_delay_ms % 1000) *
						   1000000L,
				};

				nanosleep(&ts, NULL);
			}
			probe_item(sc, it, buf, &h);
		}
		if (mf_queue_push(sc->results, b) < 0)
			item_batch_free(b);
	}
	free(buf);
	EVP_MD_CTX_free(h.ctx);
	EVP_MD_CTX_free(h.legacy);
	EVP_MD_free(h.md);
	mf_queue_close(sc->results);
	return NULL;
}
