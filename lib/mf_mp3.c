/* SPDX-License-Identifier: MIT */
/*
 * mf_mp3 - MPEG audio (.mp3) probe and synthesis.
 *
 * Front: ID3v2 tags in a row (mf_id3_tag_size), then the first MPEG audio
 * frame, found as the first of MP3_RUN consecutive valid frame headers
 * (ISO/IEC 11172-3 2.4.1.3 and 13818-3 2.4.1.3) within MP3_SEARCH bytes.
 * Back: ID3v1, APEv2, Lyrics3v2 and appended ID3v2 (footer "3DI") tags,
 * peeled from the end in any order. The audio range lies between.
 *
 * Divisions: MPEG frame headers; probe (I/O, tags, trailers, frame sync,
 * properties); synthesis.
 */
#include "mf_mp3.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mf_id3.h"
#include "mf_bytes.h"
#include "mf_log.h"
#include "mf_reader.h"

#include "mf_banned.h"

#define MP3_DOM "mp3"

#define MP3_RUN 4		/* consecutive frame headers for a match */
#define MP3_SEARCH (256u << 10)	/* bytes searched for the first frame */
#define MP3_MAX_TAGS 16		/* ID3v2 tags in a row */
#define MP3_HEAD 256		/* bytes of the first frame read for Xing */

/* ---- MPEG frame headers ---- */

struct mpeg {
	unsigned version;	/* 1 (MPEG-1), 2 (MPEG-2), 3 (MPEG-2.5) */
	unsigned layer;		/* 1..3 */
	uint32_t kbps;
	uint32_t rate;		/* Hz */
	unsigned channels;
	uint32_t len;		/* frame bytes, padding included */
	uint32_t spf;		/* samples per frame */
};

static const uint16_t kbps_tab[5][16] = {
	{ 0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416,
	  448, 0 },	/* MPEG-1 layer I */
	{ 0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384,
	  0 },		/* MPEG-1 layer II */
	{ 0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320,
	  0 },		/* MPEG-1 layer III */
	{ 0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256,
	  0 },		/* MPEG-2/2.5 layer I */
	{ 0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, 0 },
			/* MPEG-2/2.5 layers II and III */
};

static const uint32_t rate_tab[3][3] = {
	{ 44100, 48000, 32000 },
	{ 22050, 24000, 16000 },
	{ 11025, 12000, 8000 },
};

/* Parse a 4-byte frame header; false if it is not a valid one. */
static bool mpeg_parse(const uint8_t *h, struct mpeg *m)
{
	unsigned vb, lb, bi, si, pad;

	if (h[0] != 0xff || (h[1] & 0xe0) != 0xe0)
		return false;
	vb = (h[1] >> 3) & 3;
	lb = (h[1] >> 1) & 3;
	bi = h[2] >> 4;
	si = (h[2] >> 2) & 3;
	pad = (h[2] >> 1) & 1;
	if (vb == 1 || lb == 0 || bi == 0 || bi == 15 || si == 3 ||
	    (h[3] & 3) == 2)
		return false;
	m->version = vb == 3 ? 1 : vb == 2 ? 2 : 3;
	m->layer = 4 - lb;
	m->kbps = m->version == 1 ? kbps_tab[m->layer - 1][bi]
				  : kbps_tab[m->layer == 1 ? 3 : 4][bi];
	m->rate = rate_tab[m->version - 1][si];
	m->channels = (h[3] >> 6) == 3 ? 1 : 2;
	if (m->layer == 1) {
		m->spf = 384;
		m->len = (12 * m->kbps * 1000 / m->rate + pad) * 4;
	} else if (m->layer == 2 || m->version == 1) {
		m->spf = 1152;
		m->len = 144 * m->kbps * 1000 / m->rate + pad;
	} else {
		m->spf = 576;
		m->len = 72 * m->kbps * 1000 / m->rate + pad;
	}
	return m->len >= 4;
}

/* ---- probe ---- */

struct probe {
	struct mf_reader rd;		/* fd, size, why */
};

/*
 * A sink in front of the caller's that lets a later tag add only keys the
 * earlier ones lack (and pictures only if none came before): keys[0..
 * boundary) are the keys of the earlier tags.
 */
struct filter {
	const struct mf_sink *out;
	char **keys;
	size_t nkeys, cap, boundary;
	bool pics_before, pics_now;
};

static bool filter_blocked(struct filter *f, const char *key)
{
	for (size_t i = 0; i < f->boundary; i++)
		if (strcmp(f->keys[i], key) == 0)
			return true;
	return false;
}

static int filter_note(struct filter *f, const char *key)
{
	char **k;

	for (size_t i = f->boundary; i < f->nkeys; i++)
		if (strcmp(f->keys[i], key) == 0)
			return 0;
	if (f->nkeys == f->cap) {
		size_t cap = f->cap ? 2 * f->cap : 16;

		k = realloc(f->keys, cap * sizeof(*k));
		if (!k)
			return -ENOMEM;
		f->keys = k;
		f->cap = cap;
	}
	f->keys[f->nkeys] = strdup(key);
	if (!f->keys[f->nkeys])
		return -ENOMEM;
	f->nkeys++;
	return 0;
}

static int filter_tag(void *ctx, const char *key, const char *value,
		      size_t len)
{
	struct filter *f = ctx;
	int ret;

	if (filter_blocked(f, key))
		return 0;
	if ((ret = filter_note(f, key)))
		return ret;
	return f->out->on_tag ? f->out->on_tag(f->out->ctx, key, value, len)
			      : 0;
}

static int filter_binary(void *ctx, const char *key, const void *data,
			 size_t len)
{
	struct filter *f = ctx;
	int ret;

	if (filter_blocked(f, key))
		return 0;
	if ((ret = filter_note(f, key)))
		return ret;
	return f->out->on_binary_tag ?
		f->out->on_binary_tag(f->out->ctx, key, data, len) : 0;
}

static int filter_picture(void *ctx, const struct mf_picture *pic)
{
	struct filter *f = ctx;

	if (f->pics_before)
		return 0;
	f->pics_now = true;
	return f->out->on_picture ? f->out->on_picture(f->out->ctx, pic) : 0;
}

/* The next tag starts: everything seen so far is "earlier". */
static void filter_next(struct filter *f)
{
	f->boundary = f->nkeys;
	f->pics_before |= f->pics_now;
}

static void filter_free(struct filter *f)
{
	for (size_t i = 0; i < f->nkeys; i++)
		free(f->keys[i]);
	free(f->keys);
}

/* The ID3v2 tags at the front: offsets and sizes; *@end after the last. */
struct front {
	uint64_t off[MP3_MAX_TAGS];
	uint64_t len[MP3_MAX_TAGS];
	unsigned n;
};

static int probe_front(struct probe *p, struct front *fr, uint64_t *end)
{
	uint8_t h[MF_ID3_HDR_LEN];
	uint64_t pos = 0, total;
	int ret;

	fr->n = 0;
	while (p->rd.size - pos >= MF_ID3_HDR_LEN) {
		if ((ret = mf_reader_read(&p->rd, h, sizeof(h), pos, "id3v2 header")))
			return ret;
		if (memcmp(h, "ID3", 3) != 0)
			break;
		if (mf_id3_tag_size(h, &total))
			return mf_reader_fail(&p->rd, -EBADMSG,
					  "malformed id3v2 header at offset %llu",
					  (unsigned long long)pos);
		if (total > p->rd.size - pos)
			return mf_reader_fail(&p->rd, -EBADMSG,
					  "id3v2 tag at offset %llu runs past end of file",
					  (unsigned long long)pos);
		if (fr->n == MP3_MAX_TAGS)
			return mf_reader_fail(&p->rd, -EBADMSG, "more than %u id3v2 tags",
					  MP3_MAX_TAGS);
		fr->off[fr->n] = pos;
		fr->len[fr->n] = total;
		fr->n++;
		pos += total;
	}
	*end = pos;
	return 0;
}

/*
 * Peel tags off the end, above @floor: ID3v1 (128 bytes, "TAG"), APEv2
 * (footer "APETAGEX"), Lyrics3v2 ("LYRICS200"), appended ID3v2.4 (footer
 * "3DI"). Sets *@end to the end of the audio and *@v1 to the ID3v1 offset
 * (UINT64_MAX when there is none). Every ID3v1 tag is peeled (a tagger
 * that appends a second one is a known bug), the last one in the file is
 * the one read: with only one peeled, a served file (audio then no
 * trailer) ended in the other one and probed again with a shorter audio
 * range (found by fuzz_roundtrip).
 */
static int probe_back(struct probe *p, uint64_t floor, uint64_t *end,
		      uint64_t *v1)
{
	uint8_t b[32];
	uint64_t e = p->rd.size;
	bool again = true;
	int ret;

	*v1 = UINT64_MAX;
	while (again) {
		again = false;
		if (e - floor >= MF_ID3V1_LEN) {
			if ((ret = mf_reader_read(&p->rd, b, 3, e - MF_ID3V1_LEN, "id3v1")))
				return ret;
			if (memcmp(b, "TAG", 3) == 0) {
				e -= MF_ID3V1_LEN;
				if (*v1 == UINT64_MAX)
					*v1 = e;
				again = true;
			}
		}
		if (e - floor >= 32) {
			if ((ret = mf_reader_read(&p->rd, b, 32, e - 32, "apev2 footer")))
				return ret;
			if (memcmp(b, "APETAGEX", 8) == 0) {
				uint64_t t = (uint64_t)mf_get_le32(b + 12) +
					     ((mf_get_le32(b + 20) & 0x80000000u) ? 32 : 0);

				if (t >= 32 && t <= e - floor) {
					e -= t;
					again = true;
					continue;
				}
			}
		}
		if (e - floor >= 15) {
			if ((ret = mf_reader_read(&p->rd, b, 15, e - 15, "lyrics3 footer")))
				return ret;
			if (memcmp(b + 6, "LYRICS200", 9) == 0) {
				uint64_t t = 0;
				bool ok = true;

				for (int i = 0; i < 6; i++) {
					ok &= b[i] >= '0' && b[i] <= '9';
					t = t * 10 + (uint64_t)(b[i] - '0');
				}
				if (ok && t + 15 <= e - floor) {
					e -= t + 15;
					again = true;
					continue;
				}
			}
		}
		if (e - floor >= 2 * MF_ID3_HDR_LEN) {
			if ((ret = mf_reader_read(&p->rd, b, MF_ID3_HDR_LEN,
					      e - MF_ID3_HDR_LEN, "id3v2 footer")))
				return ret;
			if (memcmp(b, "3DI", 3) == 0 && b[3] == 4 &&
			    !((b[6] | b[7] | b[8] | b[9]) & 0x80)) {
				uint64_t t = 2 * MF_ID3_HDR_LEN +
					((uint64_t)b[6] << 21 | (uint64_t)b[7] << 14 |
					 (uint64_t)b[8] << 7 | b[9]);

				if (t <= e - floor) {
					e -= t;
					again = true;
				}
			}
		}
	}
	*end = e;
	return 0;
}

/*
 * Find the first frame: the first offset in [@from, @from + MP3_SEARCH)
 * starting MP3_RUN consecutive valid headers with the same version, layer
 * and sample rate (or a shorter run ending exactly at @end).
 */
static int probe_sync(struct probe *p, uint64_t from, uint64_t end,
		      uint64_t *first, struct mpeg *m0)
{
	uint64_t lim = end - from > MP3_SEARCH ? from + MP3_SEARCH : end;
	size_t n = (size_t)(lim - from);
	uint8_t *buf, h[4];
	int ret;

	if (n < 4)
		return mf_reader_fail(&p->rd, -EINVAL, "no mpeg audio frames");
	buf = malloc(n);
	if (!buf)
		return mf_reader_fail(&p->rd, -ENOMEM, "out of memory");
	ret = mf_reader_read(&p->rd, buf, n, from, "audio");
	if (ret)
		goto out;
	ret = mf_reader_fail(&p->rd, -EINVAL, "no mpeg audio frames%s",
			 from ? " after the id3v2 tag" : "");
	for (size_t i = 0; i + 4 <= n; i++) {
		struct mpeg m, k;
		uint64_t pos;
		int run = 1;

		if (buf[i] != 0xff || !mpeg_parse(buf + i, &m))
			continue;
		pos = from + i + m.len;
		while (run < MP3_RUN && pos + 4 <= end) {
			if (pos + 4 <= lim)
				memcpy(h, buf + (pos - from), 4);
			else if ((ret = mf_reader_read(&p->rd, h, 4, pos, "frame header")))
				goto out;
			if (!mpeg_parse(h, &k) || k.version != m.version ||
			    k.layer != m.layer || k.rate != m.rate)
				break;
			run++;
			pos += k.len;
		}
		if (run >= MP3_RUN || (run >= 2 && pos >= end)) {
			*first = from + i;
			*m0 = m;
			if (p->rd.why && p->rd.whylen)
				p->rd.why[0] = '\0';
			ret = 0;
			goto out;
		}
	}
out:
	free(buf);
	return ret;
}

/* Properties from the first frame: Xing/Info (+ LAME) or VBRI, else CBR. */
static int probe_props(struct probe *p, const struct mf_sink *sink,
		       uint64_t first, uint64_t alen, const struct mpeg *m)
{
	struct mf_audio_props pr;
	uint8_t b[MP3_HEAD];
	size_t n = alen < sizeof(b) ? (size_t)alen : sizeof(b), x;
	uint64_t frames = 0, samples = 0;
	int ret;

	if (!sink->on_props)
		return 0;
	if ((ret = mf_reader_read(&p->rd, b, n, first, "first frame")))
		return ret;
	if (m->version == 1)
		x = 4 + (m->channels == 1 ? 17 : 32);
	else
		x = 4 + (m->channels == 1 ? 9 : 17);
	if (x + 12 <= n && (memcmp(b + x, "Xing", 4) == 0 ||
			    memcmp(b + x, "Info", 4) == 0)) {
		if (mf_get_be32(b + x + 4) & 1)
			frames = mf_get_be32(b + x + 8);
		/* LAME tag: encoder delay and padding (12 bits each). */
		if (frames && x + 144 <= n &&
		    (memcmp(b + x + 120, "LAME", 4) == 0 ||
		     memcmp(b + x + 120, "Lavc", 4) == 0 ||
		     memcmp(b + x + 120, "Lavf", 4) == 0)) {
			uint32_t delay = (uint32_t)b[x + 141] << 4 | b[x + 142] >> 4;
			uint32_t padding = (uint32_t)(b[x + 142] & 0x0f) << 8 |
					   b[x + 143];

			samples = frames * m->spf;
			samples = samples > delay + padding ?
				samples - delay - padding : 0;
		}
	} else if (36 + 18 <= n && memcmp(b + 36, "VBRI", 4) == 0) {
		frames = mf_get_be32(b + 36 + 14);
	}
	memset(&pr, 0, sizeof(pr));
	pr.sample_rate = m->rate;
	pr.channels = m->channels;
	if (frames) {
		pr.total_samples = samples ? samples : frames * m->spf;
		pr.duration_ms = pr.total_samples * 1000 / m->rate;
		if (pr.duration_ms)
			pr.bitrate_kbps = (uint32_t)(alen * 8 / pr.duration_ms);
	} else {
		pr.bitrate_kbps = m->kbps;
		pr.duration_ms = alen * 8 / m->kbps;
	}
	return sink->on_props(sink->ctx, &pr);
}

/* Parse the ID3v2 tags of @fr and the ID3v1 tag at @v1 through @f. */
static int probe_tags(struct probe *p, const struct front *fr, uint64_t v1,
		      struct filter *f)
{
	const struct mf_sink fs = {
		.ctx = f,
		.on_tag = filter_tag,
		.on_binary_tag = filter_binary,
		.on_picture = filter_picture,
	};
	uint8_t tag1[MF_ID3V1_LEN];
	char why[128];
	int ret;

	for (unsigned i = 0; i < fr->n; i++) {
		uint8_t *buf = malloc((size_t)fr->len[i]);

		if (!buf)
			return mf_reader_fail(&p->rd, -ENOMEM, "out of memory");
		ret = mf_reader_read(&p->rd, buf, (size_t)fr->len[i], fr->off[i],
				 "id3v2 tag");
		if (!ret) {
			ret = mf_id3_parse(buf, (size_t)fr->len[i], &fs, why,
					   sizeof(why));
			if (ret && ret != -ENOMEM && why[0])
				mf_reader_fail(&p->rd, ret, "%s", why);
		}
		free(buf);
		if (ret)
			return ret;
		filter_next(f);
	}
	if (v1 == UINT64_MAX)
		return 0;
	if ((ret = mf_reader_read(&p->rd, tag1, sizeof(tag1), v1, "id3v1 tag")))
		return ret;
	return mf_id3_parse_v1(tag1, &fs);
}

int mf_mp3_probe(const struct mf_probe_src *src,
		 const struct mf_sink *sink, char *why, size_t whylen)
{
	static const struct mf_sink no_sink;
	struct probe p = { .rd = { .why = why, .whylen = whylen } };
	struct filter f = { .out = sink ? sink : &no_sink };
	struct front fr;
	struct mpeg m = { 0 };
	uint64_t tags_end = 0, end = 0, v1 = 0, first = 0;
	int ret;

	ret = mf_reader_init(&p.rd, src);
	if (ret)
		return ret;

	if (p.rd.size >= 12) {
		uint8_t head[12];
		const char *kind;

		if ((ret = mf_reader_read(&p.rd, head, sizeof(head), 0, "file head")))
			return ret;
		kind = mf_format_sniff(head, sizeof(head));
		if (kind && strcmp(kind, "ID3v2-tagged") != 0 &&
		    strcmp(kind, "MPEG audio") != 0)
			return mf_reader_fail(&p.rd, -EINVAL, "not an mp3 file");
	}
	if ((ret = probe_front(&p, &fr, &tags_end)) ||
	    (ret = probe_back(&p, tags_end, &end, &v1)))
		return ret;
	if (end - tags_end < 4)
		return mf_reader_fail(&p.rd, -EINVAL, "no mpeg audio frames%s",
				  fr.n ? " after the id3v2 tag" : "");
	if ((ret = probe_sync(&p, tags_end, end, &first, &m)))
		return ret;
	if (first != tags_end)
		mf_debug(MP3_DOM, "%llu bytes of junk before the first frame",
			 (unsigned long long)(first - tags_end));
	if (f.out->on_audio_range &&
	    (ret = f.out->on_audio_range(f.out->ctx, first, end - first)))
		return ret;
	ret = probe_tags(&p, &fr, v1, &f);
	if (!ret)
		ret = probe_props(&p, f.out, first, end - first, &m);
	filter_free(&f);
	return ret;
}

/* ---- synthesis ---- */

int mf_mp3_synth(const struct mf_synth_input *in, struct mf_layout **out)
{
	struct mf_layout *l;
	int ret;

	if (!in || !out)
		return -EINVAL;
	l = mf_layout_new();
	if (!l)
		return -ENOMEM;
	ret = mf_id3_build(l, in, in->opts ? in->opts->id3v2_version : 0);
	if (!ret)
		ret = mf_layout_add_backing(l, in->audio_offset,
					    in->audio_length);
	if (ret) {
		mf_layout_free(l);
		return ret == -EINVAL || ret == -EOVERFLOW ? -EIO : ret;
	}
	*out = l;
	return 0;
}
