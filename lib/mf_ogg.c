/* SPDX-License-Identifier: MIT */
/*
 * mf_ogg - Ogg Vorbis / Opus / FLAC probe and synthesis.
 *
 * Framing (RFC 3533 section 6) is parsed by a small bounded page reader of
 * our own, because random access over a backing file does not fit libogg's
 * push model; libogg's ogg_page_checksum_set() verifies header page CRCs.
 * Header packets are assembled from lacing values; audio page bodies are
 * never read at scan time.
 *
 * Divisions: byte helpers and CRC; image headers and pictures; probe
 * (pages, comments, header packets, audio page walk); synthesis (comment
 * packet, paging, header segment, audio segment).
 */
#include "mf_ogg.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ogg/ogg.h>
#include <openssl/evp.h>

#include "mf_bytes.h"
#include "mf_image.h"
#include "mf_log.h"
#include "mf_picture.h"
#include "mf_reader.h"
#include "mf_vocab.h"
#include "mf_vorbis.h"

#include "mf_banned.h"

#define OGG_DOM "ogg"

#define OGG_HDR_LEN 27			/* fixed page header */
#define OGG_HDR_MAX (OGG_HDR_LEN + 255)	/* with a full lacing table */
#define OGG_BODY_MAX (255u * 255u)
#define OGG_PAGE_MAX (OGG_HDR_MAX + OGG_BODY_MAX)
#define OGG_CONTINUED 0x01
#define OGG_BOS 0x02
#define OGG_EOS 0x04
#define OGG_NO_GRANULE UINT64_MAX
#define OGG_CRC_POLY 0x04c11db7u

#define INFO_VERSION 1
#define INFO_FIXED 9			/* version, serial, audio_seq */
#define PAGES_CHUNK (15u << 20)		/* "ogg:pages" block size cap */

#define FLAC_STREAMINFO_LEN 34
#define FLAC_MAPPING_LEN 51		/* 0x7F FLAC ... STREAMINFO */
#define FLAC_BLOCK_MAX 0xffffffu

enum codec { CODEC_NONE = 0, CODEC_VORBIS, CODEC_OPUS, CODEC_FLAC };

enum {
	FLAC_T_STREAMINFO = 0,
	FLAC_T_PADDING = 1,
	FLAC_T_APPLICATION = 2,
	FLAC_T_VORBIS_COMMENT = 4,
	FLAC_T_CUESHEET = 5,
	FLAC_T_PICTURE = 6,
	FLAC_T_FORBIDDEN = 127,
};

/* ---- byte helpers and CRC ---- */

/* A FLAC metadata block header: last flag, 7-bit type, 24-bit length. */
static void put_flac_hdr(uint8_t *p, bool last, unsigned type, uint32_t len)
{
	p[0] = (uint8_t)((last ? 0x80 : 0) | (type & 0x7f));
	p[1] = (uint8_t)(len >> 16);
	p[2] = (uint8_t)(len >> 8);
	p[3] = (uint8_t)len;
}

static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t r = i << 24;

		for (int k = 0; k < 8; k++)
			r = r & 0x80000000u ? (r << 1) ^ OGG_CRC_POLY : r << 1;
		crc_table[i] = r;
	}
}

uint32_t mf_ogg_crc(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	pthread_once(&crc_once, crc_init);
	while (len--)
		crc = (crc << 8) ^ crc_table[((crc >> 24) ^ *p++) & 0xff];
	return crc;
}

/* a * b mod P in GF(2)[x], P = x^32 + OGG_CRC_POLY (Horner, high bit first). */
static uint32_t gf_mul(uint32_t a, uint32_t b)
{
	uint32_t r = 0;

	for (int i = 31; i >= 0; i--) {
		r = r & 0x80000000u ? (r << 1) ^ OGG_CRC_POLY : r << 1;
		if (b >> i & 1)
			r ^= a;
	}
	return r;
}

/* x^n mod P. */
static uint32_t gf_xpow(uint64_t n)
{
	uint32_t r = 1, base = 2;

	while (n) {
		if (n & 1)
			r = gf_mul(r, base);
		base = gf_mul(base, base);
		n >>= 1;
	}
	return r;
}

uint32_t mf_ogg_crc_reseq(uint32_t crc, uint32_t old_seq, uint32_t new_seq,
			  uint64_t page_len)
{
	uint32_t d = old_seq ^ new_seq;
	/* The sequence number is little-endian at byte 18: as a polynomial
	 * with the first byte highest, the difference is bswap(d). */
	uint32_t poly = (d & 0xff) << 24 | (d >> 8 & 0xff) << 16 |
			(d >> 16 & 0xff) << 8 | d >> 24;

	if (page_len < OGG_HDR_LEN || !d)
		return crc;
	return crc ^ gf_mul(poly, gf_xpow(32 + 8 * (page_len - 22)));
}

/* ---- image headers and pictures ---- */

/* ---- probe ---- */

struct page {
	uint64_t off;		/* in the file */
	uint8_t flags;
	uint64_t granule;
	uint32_t serial;
	uint32_t seq;
	uint32_t crc;
	unsigned nseg;
	uint8_t hdr[OGG_HDR_MAX];
	uint32_t body_len;
	uint64_t len;		/* header + body */
};

struct probe {
	struct mf_reader r;	/* the file, its size, the reason buffer */
	const struct mf_sink *sink;

	enum codec codec;
	uint32_t serial;
	unsigned npk;		/* header packets completed */
	bool headers_done;
	uint8_t *pkt;		/* packet being assembled */
	size_t pkt_len, pkt_cap;
	unsigned ncover;	/* COVERART comments seen */

	/* from the header packets */
	uint32_t rate, channels, bits;
	uint32_t preskip;
	uint8_t *info;		/* "ogg:info" being built (with vendor) */
	size_t info_len;

	/* audio page walk */
	uint64_t audio_offset, audio_end;
	uint32_t audio_seq;
	uint64_t granule;	/* last granule position seen, or NO_GRANULE */
	uint8_t *index;		/* "ogg:pages" varints */
	size_t index_len, index_cap;
};

/*
 * Read the page header at @off into @pg (RFC 3533 section 6). Returns 0,
 * 1 when there is no capture pattern at @off, or a negative errno.
 */
static int read_page(struct probe *p, uint64_t off, struct page *pg)
{
	uint64_t avail = p->r.size - off;
	size_t n = avail < OGG_HDR_MAX ? (size_t)avail : OGG_HDR_MAX;
	int ret;

	memset(pg, 0, sizeof(*pg));
	pg->off = off;
	if (n < 4)
		return 1;
	ret = mf_reader_read(&p->r, pg->hdr, n, off, "page header");
	if (ret)
		return ret;
	if (memcmp(pg->hdr, "OggS", 4) != 0)
		return 1;
	if (n < OGG_HDR_LEN)
		return mf_reader_fail(&p->r, -EBADMSG,
				  "page at offset %llu is truncated",
				  (unsigned long long)off);
	if (pg->hdr[4] != 0)
		return mf_reader_fail(&p->r, -EBADMSG,
				  "page at offset %llu has version %u, not 0",
				  (unsigned long long)off, pg->hdr[4]);
	pg->flags = pg->hdr[5];
	pg->granule = mf_get_le64(pg->hdr + 6);
	pg->serial = mf_get_le32(pg->hdr + 14);
	pg->seq = mf_get_le32(pg->hdr + 18);
	pg->crc = mf_get_le32(pg->hdr + 22);
	pg->nseg = pg->hdr[26];
	if (n < OGG_HDR_LEN + pg->nseg)
		return mf_reader_fail(&p->r, -EBADMSG,
				  "page at offset %llu is truncated",
				  (unsigned long long)off);
	for (unsigned i = 0; i < pg->nseg; i++)
		pg->body_len += pg->hdr[OGG_HDR_LEN + i];
	pg->len = OGG_HDR_LEN + pg->nseg + (uint64_t)pg->body_len;
	if (pg->len > avail)
		return mf_reader_fail(&p->r, -EBADMSG,
				  "page at offset %llu runs past end of file",
				  (unsigned long long)off);
	return 0;
}

/* Check the CRC of a page whose body is @body, with libogg. */
static bool page_crc_ok(const struct page *pg, uint8_t *body)
{
	uint8_t hdr[OGG_HDR_MAX];
	ogg_page op;

	memcpy(hdr, pg->hdr, OGG_HDR_LEN + pg->nseg);
	op.header = hdr;
	op.header_len = (long)(OGG_HDR_LEN + pg->nseg);
	op.body = body;
	op.body_len = (long)pg->body_len;
	ogg_page_checksum_set(&op);
	return mf_get_le32(hdr + 22) == pg->crc;
}

static int emit_structural(struct probe *p, const char *kind,
			   const void *data, size_t len)
{
	if (!p->sink->on_structural)
		return 0;
	return p->sink->on_structural(p->sink->ctx, kind, data, len);
}

/* Report one picture; fill in what the image header knows. */
static int emit_picture(struct probe *p, uint32_t type, const char *mime,
			const char *desc, uint32_t w, uint32_t h, uint32_t depth,
			uint32_t colors, const uint8_t *data, size_t len)
{
	struct mf_picture pic;
	uint32_t iw, ih, idepth, icolors;	/* from the image header */

	if (!p->sink->on_picture)
		return 0;
	mf_image_info(data, len, &iw, &ih, &idepth, &icolors);
	memset(&pic, 0, sizeof(pic));
	pic.type = type;
	pic.mime = mime && *mime ? mime : mf_image_mime(data, len);
	pic.desc = desc;
	pic.width = w ? w : iw;
	pic.height = h ? h : ih;
	pic.depth = depth ? depth : idepth;
	pic.colors = colors ? colors : icolors;
	pic.data = data;
	pic.len = len;
	return p->sink->on_picture(p->sink->ctx, &pic);
}

/*
 * A FLAC PICTURE block body (RFC 9639 section 8.8), from a PICTURE packet
 * or a decoded METADATA_BLOCK_PICTURE. Returns 1 if it is malformed.
 */
static int parse_picture(struct probe *p, const uint8_t *b, size_t len)
{
	struct mf_picture_fields f;
	char *mime = NULL, *desc = NULL;
	int ret;

	if (mf_picture_parse(b, len, &f))
		return 1;
	if (!mf_picture_fields_legal(&f)) {
		mf_warn(OGG_DOM, "skipping a picture with type %u, or a bad MIME type or description",
			(unsigned)f.type);
		return 0;
	}
	mime = strndup(f.mime, f.mime_len);
	desc = strndup(f.desc, f.desc_len);
	if (!mime || !desc) {
		ret = mf_reader_fail(&p->r, -ENOMEM, "out of memory");
		goto out;
	}
	ret = emit_picture(p, f.type, mime, desc, f.width, f.height, f.depth,
			   f.colors, f.data, f.data_len);
out:
	free(mime);
	free(desc);
	return ret;
}

/*
 * Decode base64 (RFC 4648 section 4) with OpenSSL into a new buffer.
 * Returns 0, 1 for invalid input, or -ENOMEM.
 */
static int b64_decode(const char *s, size_t n, uint8_t **out, size_t *outlen)
{
	size_t pad = 0;
	uint8_t *buf;
	int got;

	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
		n--;
	if (n == 0 || n % 4 || n > INT_MAX)
		return 1;
	if (s[n - 1] == '=')
		pad = s[n - 2] == '=' ? 2 : 1;
	buf = malloc(n / 4 * 3);
	if (!buf)
		return -ENOMEM;
	got = EVP_DecodeBlock(buf, (const unsigned char *)s, (int)n);
	if (got < 0 || (size_t)got != n / 4 * 3) {
		free(buf);
		return 1;
	}
	*out = buf;
	*outlen = (size_t)got - pad;
	return 0;
}

static bool field_is(const char *e, size_t len, const char *name)
{
	size_t n = strlen(name);

	return len > n && e[n] == '=' && strncasecmp(e, name, n) == 0;
}

/* The @nth value of field @name among the comments, or NULL. */
static const char *find_field(const uint8_t *c, uint32_t count,
			      const char *name, unsigned nth, size_t *vlen)
{
	size_t pos = 0, n = strlen(name);

	for (uint32_t i = 0; i < count; i++) {
		uint32_t elen = mf_get_le32(c + pos);
		const char *e = (const char *)c + pos + 4;

		pos += 4 + (size_t)elen;
		if (field_is(e, elen, name) && nth-- == 0) {
			*vlen = elen - n - 1;
			return e + n + 1;
		}
	}
	return NULL;
}

static int handle_cover(struct probe *p, const uint8_t *list, uint32_t count, const char *v, size_t vlen,
			bool is_mbp)
{
	uint8_t *img = NULL;
	char *mime = NULL;
	size_t ilen = 0, mlen = 0;
	const char *m;
	int ret;

	ret = b64_decode(v, vlen, &img, &ilen);
	if (ret < 0)
		return mf_reader_fail(&p->r, ret, "out of memory");
	if (ret) {
		mf_warn(OGG_DOM, "skipping a %s comment that is not base64",
			is_mbp ? "METADATA_BLOCK_PICTURE" : "COVERART");
		return 0;
	}
	if (is_mbp) {
		ret = parse_picture(p, img, ilen);
		if (ret == 1) {
			mf_warn(OGG_DOM, "skipping a malformed METADATA_BLOCK_PICTURE");
			ret = 0;
		}
		goto out;
	}
	/* Legacy COVERART: a bare image; COVERARTMIME pairs by position. */
	m = find_field(list, count, "coverartmime", p->ncover++, &mlen);
	if (m && mf_picture_mime_ok(m, mlen)) {
		mime = strndup(m, mlen);
		if (!mime) {
			ret = mf_reader_fail(&p->r, -ENOMEM, "out of memory");
			goto out;
		}
	}
	ret = emit_picture(p, 3, mime, "", 0, 0, 0, 0, img, ilen);
out:
	free(mime);
	free(img);
	return ret;
}

/*
 * Parse a Vorbis comment structure (Vorbis I spec 5.2.1) of @len bytes at
 * @c: vendor, comments. Stores the vendor in p->info, reports tags and
 * pictures. Sets *@used to the bytes consumed.
 */
static int parse_comment(struct probe *p, const uint8_t *c, size_t len,
			 size_t *used)
{
	char key[MF_VOCAB_KEY_MAX + 1];
	size_t pos, vendor_len, list, dummy;
	uint32_t count, i;
	bool has_tt, has_td;
	uint8_t *info;
	int ret;

	if (len < 8)
		goto bad;
	vendor_len = mf_get_le32(c);
	if (vendor_len > len - 8)
		goto bad;
	info = realloc(p->info, INFO_FIXED + vendor_len);
	if (!info)
		return mf_reader_fail(&p->r, -ENOMEM, "out of memory");
	p->info = info;
	memcpy(info + INFO_FIXED, c + 4, vendor_len);
	p->info_len = INFO_FIXED + vendor_len;
	pos = 4 + vendor_len;
	count = mf_get_le32(c + pos);
	pos += 4;
	list = pos;
	/* Validate every length before using any. */
	for (i = 0; i < count; i++) {
		uint32_t elen;

		if (len - pos < 4)
			goto bad;
		elen = mf_get_le32(c + pos);
		if (elen > len - pos - 4)
			goto bad;
		pos += 4 + (size_t)elen;
	}
	*used = pos;
	has_tt = find_field(c + list, count, "totaltracks", 0, &dummy) != NULL;
	has_td = find_field(c + list, count, "totaldiscs", 0, &dummy) != NULL;
	pos = list;
	for (i = 0; i < count; i++) {
		uint32_t elen = mf_get_le32(c + pos);
		const char *e = (const char *)c + pos + 4;
		const char *eq = memchr(e, '=', elen);
		size_t vlen;

		pos += 4 + (size_t)elen;
		if (!eq) {
			mf_warn(OGG_DOM, "skipping vorbis comment %u without '='",
				(unsigned)i);
			continue;
		}
		vlen = elen - (size_t)(eq - e) - 1;
		if (field_is(e, elen, "metadata_block_picture") ||
		    field_is(e, elen, "coverart")) {
			ret = handle_cover(p, c + list, count, eq + 1,
					   vlen, e[0] == 'm' || e[0] == 'M');
			if (ret)
				return ret;
			continue;
		}
		if (field_is(e, elen, "coverartmime"))
			continue;
		if (mf_vocab_from_vorbis(e, (size_t)(eq - e), key,
					 sizeof(key))) {
			mf_warn(OGG_DOM,
				"skipping vorbis comment %u with an invalid field name",
				(unsigned)i);
			continue;
		}
		if ((has_tt && field_is(e, elen, "tracktotal")) ||
		    (has_td && field_is(e, elen, "disctotal")))
			continue;
		if (!p->sink->on_tag)
			continue;
		ret = p->sink->on_tag(p->sink->ctx, key, eq + 1, vlen);
		if (ret)
			return ret;
	}
	return 0;
bad:
	return mf_reader_fail(&p->r, -EBADMSG, "comment header is malformed");
}

static int vorbis_id(struct probe *p, const uint8_t *d, size_t len)
{
	if (len != 30 || mf_get_le32(d + 7) != 0 || d[11] == 0 ||
	    mf_get_le32(d + 12) == 0 || !(d[29] & 1))
		return mf_reader_fail(&p->r, -EBADMSG,
				  "vorbis identification header is malformed");
	p->channels = d[11];
	p->rate = mf_get_le32(d + 12);
	return 0;
}

static int opus_head(struct probe *p, const uint8_t *d, size_t len)
{
	if (len < 19 || (d[8] & 0xf0) != 0 || d[9] == 0 ||
	    (d[18] != 0 && len < 21u + d[9]))
		return mf_reader_fail(&p->r, -EBADMSG, "OpusHead is malformed");
	p->channels = d[9];
	p->preskip = mf_get_le16(d + 10);
	p->rate = 48000;
	return 0;
}

static int flac_mapping(struct probe *p, const uint8_t *d, size_t len,
			bool *last)
{
	const uint8_t *si = d + 17;

	if (len != FLAC_MAPPING_LEN || d[5] != 1 ||
	    memcmp(d + 9, "fLaC", 4) != 0 || (d[13] & 0x7f) != 0 ||
	    d[14] != 0 || d[15] != 0 || d[16] != FLAC_STREAMINFO_LEN)
		return mf_reader_fail(&p->r, -EBADMSG, "ogg flac mapping header is malformed");
	*last = d[13] & 0x80;
	p->rate = (uint32_t)si[10] << 12 | (uint32_t)si[11] << 4 | si[12] >> 4;
	p->channels = ((si[12] >> 1) & 7) + 1u;
	p->bits = (((uint32_t)si[12] & 1) << 4 | si[13] >> 4) + 1;
	if (!p->rate)
		return mf_reader_fail(&p->r, -EBADMSG, "streaminfo has sample rate 0");
	return 0;
}

/* The first packet decides the codec. */
static int first_packet(struct probe *p, const uint8_t *d, size_t len)
{
	static const char *const fmt[] = { NULL, "vorbis", "opus", "oggflac" };
	bool last = false;
	int ret;

	if (len >= 7 && memcmp(d, "\x01vorbis", 7) == 0) {
		p->codec = CODEC_VORBIS;
		ret = vorbis_id(p, d, len);
	} else if (len >= 8 && memcmp(d, "OpusHead", 8) == 0) {
		p->codec = CODEC_OPUS;
		ret = opus_head(p, d, len);
	} else if (len >= 5 && memcmp(d, "\x7f" "FLAC", 5) == 0) {
		p->codec = CODEC_FLAC;
		ret = flac_mapping(p, d, len, &last);
		p->headers_done = last;
	} else {
		const char *what = len >= 8 && memcmp(d, "Speex   ", 8) == 0 ? "speex" :
			len >= 7 && memcmp(d, "\x80theora", 7) == 0 ? "theora" :
			len >= 8 && memcmp(d, "fishead", 8) == 0 ? "skeleton" :
			"unknown";

		return mf_reader_fail(&p->r, -ENOTSUP,
				  "ogg stream of an unsupported codec (%s)", what);
	}
	if (ret)
		return ret;
	if (p->sink->on_format) {
		ret = p->sink->on_format(p->sink->ctx, fmt[p->codec]);
		if (ret)
			return ret;
	}
	return emit_structural(p, "ogg:header", d, len);
}

static int flac_packet(struct probe *p, const uint8_t *d, size_t len)
{
	unsigned type;
	size_t used = 0;
	int ret;

	if (len < 4 || ((size_t)d[1] << 16 | (size_t)d[2] << 8 | d[3]) !=
		       len - 4)
		return mf_reader_fail(&p->r, -EBADMSG,
				  "ogg flac header packet %u is malformed", p->npk);
	type = d[0] & 0x7f;
	p->headers_done = d[0] & 0x80;
	switch (type) {
	case FLAC_T_STREAMINFO:
	case FLAC_T_FORBIDDEN:
		return mf_reader_fail(&p->r, -EBADMSG,
				  "ogg flac header packet %u has block type %u",
				  p->npk, type);
	case FLAC_T_PADDING:
		return 0;
	case FLAC_T_VORBIS_COMMENT:
		return parse_comment(p, d + 4, len - 4, &used);
	case FLAC_T_PICTURE:
		ret = parse_picture(p, d + 4, len - 4);
		if (ret == 1)
			return mf_reader_fail(&p->r, -EBADMSG,
					  "ogg flac picture block is malformed");
		return ret;
	case FLAC_T_APPLICATION:
	case FLAC_T_CUESHEET:
		if (type == FLAC_T_APPLICATION && len < 8)
			return mf_reader_fail(&p->r, -EBADMSG,
					  "ogg flac application block is too short");
		if (!p->sink->on_binary_tag)
			return 0;
		return p->sink->on_binary_tag(p->sink->ctx,
					      type == FLAC_T_APPLICATION ?
					      "flac:application" : "flac:cuesheet",
					      d + 4, len - 4);
	default:
		return emit_structural(p, "ogg:header", d, len);
	}
}

/* One complete header packet: number p->npk. */
static int header_packet(struct probe *p, const uint8_t *d, size_t len)
{
	size_t used = 0;
	int ret;

	if (p->npk == 0)
		return first_packet(p, d, len);
	switch (p->codec) {
	case CODEC_VORBIS:
		if (p->npk == 1) {
			if (len < 7 || memcmp(d, "\x03vorbis", 7) != 0)
				return mf_reader_fail(&p->r, -EBADMSG,
						  "second vorbis packet is not the comment header");
			ret = parse_comment(p, d + 7, len - 7, &used);
			if (ret)
				return ret;
			if (7 + used >= len || !(d[7 + used] & 1))
				mf_warn(OGG_DOM, "vorbis comment header lacks the framing bit");
			return 0;
		}
		if (len < 7 || memcmp(d, "\x05vorbis", 7) != 0)
			return mf_reader_fail(&p->r, -EBADMSG,
					  "third vorbis packet is not the setup header");
		p->headers_done = true;
		return emit_structural(p, "ogg:header", d, len);
	case CODEC_OPUS:
		if (len < 8 || memcmp(d, "OpusTags", 8) != 0)
			return mf_reader_fail(&p->r, -EBADMSG,
					  "second opus packet is not OpusTags");
		p->headers_done = true;
		ret = parse_comment(p, d + 8, len - 8, &used);
		if (ret)
			return ret;
		/* RFC 7845 5.2: binary data follows when its first LSB is 1. */
		if (8 + used < len && (d[8 + used] & 1) && p->sink->on_binary_tag)
			return p->sink->on_binary_tag(p->sink->ctx, "opus:binary",
						      d + 8 + used,
						      len - 8 - used);
		return 0;
	default:
		return flac_packet(p, d, len);
	}
}

static int pkt_append(struct probe *p, const uint8_t *d, size_t n)
{
	if (!n)
		return 0;
	if (n > MF_OGG_PACKET_MAX - p->pkt_len)
		return mf_reader_fail(&p->r, -EFBIG, "header packet %u is larger than %u MiB",
				  p->npk, MF_OGG_PACKET_MAX >> 20);
	if (p->pkt_len + n > p->pkt_cap) {
		size_t cap = p->pkt_cap ? p->pkt_cap : 4096;
		uint8_t *b;

		while (cap < p->pkt_len + n)
			cap *= 2;
		b = realloc(p->pkt, cap);
		if (!b)
			return mf_reader_fail(&p->r, -ENOMEM, "out of memory");
		p->pkt = b;
		p->pkt_cap = cap;
	}
	memcpy(p->pkt + p->pkt_len, d, n);
	p->pkt_len += n;
	return 0;
}

/* Walk the header pages from offset 0; set p->audio_offset. */
static int walk_headers(struct probe *p)
{
	uint8_t *body = malloc(OGG_BODY_MAX);
	uint64_t off = 0;
	uint32_t seq = 0;
	bool in_packet = false;
	struct page pg;
	int ret = 0;

	if (!body)
		return mf_reader_fail(&p->r, -ENOMEM, "out of memory");
	while (!p->headers_done) {
		size_t bpos = 0;

		ret = read_page(p, off, &pg);
		if (ret == 1)
			ret = off == 0 ? mf_reader_fail(&p->r, -EINVAL, "not an Ogg file") :
				mf_reader_fail(&p->r, -EBADMSG,
					   "no ogg page at offset %llu inside the headers",
					   (unsigned long long)off);
		if (ret)
			goto out;
		if (off == 0) {
			if (!(pg.flags & OGG_BOS)) {
				ret = mf_reader_fail(&p->r, -EBADMSG,
						 "first page lacks the beginning-of-stream flag");
				goto out;
			}
			p->serial = pg.serial;
		} else if (pg.serial != p->serial) {
			ret = mf_reader_fail(&p->r, -ENOTSUP,
					 "multiplexed ogg file (a second logical stream at offset %llu)",
					 (unsigned long long)off);
			goto out;
		} else if ((pg.flags & (OGG_BOS | OGG_EOS)) ||
			   pg.seq != seq + 1) {
			ret = mf_reader_fail(&p->r, -EBADMSG,
					 "header page at offset %llu has bad flags or sequence number",
					 (unsigned long long)off);
			goto out;
		}
		seq = pg.seq;
		ret = mf_reader_read(&p->r, body, pg.body_len,
				     off + OGG_HDR_LEN + pg.nseg, "page body");
		if (ret)
			goto out;
		if (!page_crc_ok(&pg, body)) {
			ret = mf_reader_fail(&p->r, -EBADMSG,
					 "page at offset %llu has a bad CRC",
					 (unsigned long long)off);
			goto out;
		}
		if (!(pg.flags & OGG_CONTINUED) != !in_packet) {
			ret = mf_reader_fail(&p->r, -EBADMSG,
					 "page at offset %llu has a wrong continuation flag",
					 (unsigned long long)off);
			goto out;
		}
		for (unsigned i = 0; i < pg.nseg; i++) {
			uint8_t lace = pg.hdr[OGG_HDR_LEN + i];

			if (p->headers_done) {
				ret = mf_reader_fail(&p->r, -EBADMSG,
						 "audio shares a page with the last header packet");
				goto out;
			}
			ret = pkt_append(p, body + bpos, lace);
			if (ret)
				goto out;
			bpos += lace;
			in_packet = lace == 255;
			if (in_packet)
				continue;
			ret = header_packet(p, p->pkt, p->pkt_len);
			if (ret)
				goto out;
			p->pkt_len = 0;
			p->npk++;
		}
		if (off == 0 && (p->npk != 1 || in_packet)) {
			ret = mf_reader_fail(&p->r, -EBADMSG,
					 "the first page does not hold exactly the first header packet");
			goto out;
		}
		off += pg.len;
	}
	p->audio_offset = off;
out:
	free(body);
	return ret;
}

static int index_add(struct probe *p, uint64_t v)
{
	if (p->index_cap - p->index_len < 10) {
		size_t cap = p->index_cap ? p->index_cap * 2 : 1024;
		uint8_t *b = realloc(p->index, cap);

		if (!b)
			return mf_reader_fail(&p->r, -ENOMEM, "out of memory");
		p->index = b;
		p->index_cap = cap;
	}
	do {
		uint8_t byte = v & 0x7f;

		v >>= 7;
		p->index[p->index_len++] = (uint8_t)(byte | (v ? 0x80 : 0));
	} while (v);
	return 0;
}

/* Walk the audio page headers from p->audio_offset to the end. */
static int walk_audio(struct probe *p)
{
	uint64_t off = p->audio_offset;
	bool eos = false, first = true;
	struct page pg;
	int ret;

	p->granule = OGG_NO_GRANULE;
	while (off < p->r.size) {
		ret = read_page(p, off, &pg);
		if (ret < 0)
			return ret;
		if (ret == 1) {
			if (eos) {
				mf_warn(OGG_DOM, "ignoring %llu bytes after the end of stream",
					(unsigned long long)(p->r.size - off));
				break;
			}
			return mf_reader_fail(&p->r, -EBADMSG, "no ogg page at offset %llu",
					  (unsigned long long)off);
		}
		if (pg.flags & OGG_BOS)
			return mf_reader_fail(&p->r, -ENOTSUP,
					  "chained ogg file (a new logical stream at offset %llu)",
					  (unsigned long long)off);
		if (pg.serial != p->serial)
			return mf_reader_fail(&p->r, -ENOTSUP,
					  "multiplexed ogg file (a second logical stream at offset %llu)",
					  (unsigned long long)off);
		if (eos)
			return mf_reader_fail(&p->r, -EBADMSG,
					  "page after the end of stream at offset %llu",
					  (unsigned long long)off);
		if (first) {
			if (pg.flags & OGG_CONTINUED)
				return mf_reader_fail(&p->r, -EBADMSG,
						  "first audio page continues a packet");
			p->audio_seq = pg.seq;
			first = false;
		}
		if (pg.granule != OGG_NO_GRANULE)
			p->granule = pg.granule;
		ret = index_add(p, pg.len);
		if (ret)
			return ret;
		eos = pg.flags & OGG_EOS;
		off += pg.len;
	}
	if (first)
		return mf_reader_fail(&p->r, -EBADMSG, "no audio pages after the headers");
	p->audio_end = off;
	return 0;
}

/* Report the range, "ogg:info", "ogg:pages" and the properties. */
static int report_tail(struct probe *p)
{
	const struct mf_sink *s = p->sink;
	struct mf_audio_props props;
	uint64_t samples = 0, len = p->audio_end - p->audio_offset;
	size_t pos = 0;
	int ret;

	if (s->on_audio_range) {
		ret = s->on_audio_range(s->ctx, p->audio_offset, len);
		if (ret)
			return ret;
	}
	if (!p->info) {
		p->info = malloc(INFO_FIXED);
		if (!p->info)
			return mf_reader_fail(&p->r, -ENOMEM, "out of memory");
		p->info_len = INFO_FIXED;
	}
	p->info[0] = INFO_VERSION;
	mf_put_le32(p->info + 1, p->serial);
	mf_put_le32(p->info + 5, p->audio_seq);
	ret = emit_structural(p, "ogg:info", p->info, p->info_len);
	if (ret)
		return ret;
	while (pos < p->index_len) {
		size_t n = p->index_len - pos;

		if (n > PAGES_CHUNK) {
			n = PAGES_CHUNK;
			while (p->index[pos + n - 1] & 0x80)
				n--;
		}
		ret = emit_structural(p, "ogg:pages", p->index + pos, n);
		if (ret)
			return ret;
		pos += n;
	}
	memset(&props, 0, sizeof(props));
	props.sample_rate = p->rate;
	props.channels = p->channels;
	props.bits_per_sample = p->bits;
	if (p->granule != OGG_NO_GRANULE && p->granule < (UINT64_C(1) << 62)) {
		samples = p->granule;
		if (p->codec == CODEC_OPUS)
			samples = samples > p->preskip ? samples - p->preskip : 0;
	}
	props.total_samples = samples;
	if (p->rate)
		props.duration_ms = samples / p->rate * 1000 +
				    samples % p->rate * 1000 / p->rate;
	if (props.duration_ms && len <= UINT64_MAX / 8) {
		uint64_t kbps = len * 8 / props.duration_ms;

		props.bitrate_kbps = kbps > UINT32_MAX ? UINT32_MAX : (uint32_t)kbps;
	}
	if (s->on_props)
		return s->on_props(s->ctx, &props);
	return 0;
}

int mf_ogg_probe(const struct mf_probe_src *src,
		 const struct mf_sink *sink, char *why, size_t whylen)
{
	static const struct mf_sink no_sink;
	struct probe p = { .r = { .why = why, .whylen = whylen },
			   .sink = sink ? sink : &no_sink };
	int ret;

	ret = mf_reader_init(&p.r, src);
	if (ret)
		return ret;
	ret = walk_headers(&p);
	if (!ret)
		ret = walk_audio(&p);
	if (!ret)
		ret = report_tail(&p);
	free(p.pkt);
	free(p.info);
	free(p.index);
	return ret;
}

/* ---- synthesis ---- */

/* One header page of the served file. */
struct hpage {
	uint64_t start;			/* offset in the header segment */
	uint8_t hdr[OGG_HDR_MAX];	/* CRC field zero */
	unsigned hdr_len;
	uint64_t body_off, body_len;	/* range of the packet layout */
	_Atomic uint64_t crc;		/* bit 32 set: CRC known (atomic cache) */
};

/* The header pages: one computed segment over a packet layout. */
struct hseg {
	struct mf_layout *body;		/* all header packets, concatenated */
	struct hpage *pages;		/* immutable but for the crc caches */
	size_t npages;
	uint64_t size;
};

/* The CRC of page @pg, reading its body through @io. */
static int hpage_crc(const struct hseg *h, const struct hpage *pg,
		     const struct mf_layout_io *io, uint32_t *out)
{
	uint8_t buf[8192];
	uint64_t done = 0;
	uint32_t crc;

	crc = mf_ogg_crc(0, pg->hdr, pg->hdr_len);
	while (done < pg->body_len) {
		size_t n = pg->body_len - done < sizeof(buf) ?
			   (size_t)(pg->body_len - done) : sizeof(buf);
		ssize_t got = mf_layout_read_at(h->body, pg->body_off + done,
						buf, n, io);

		if (got < 0)
			return (int)got;
		if ((size_t)got != n)
			return -EIO;
		crc = mf_ogg_crc(crc, buf, n);
		done += n;
	}
	*out = crc;
	return 0;
}

static size_t hseg_find(const struct hseg *h, uint64_t off)
{
	size_t lo = 0, hi = h->npages;

	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (h->pages[mid].start <= off)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

static int hseg_read(const void *priv, uint64_t off, void *buf, size_t len,
		     const struct mf_layout_io *io)
{
	const struct hseg *h = priv;
	uint8_t *dst = buf;
	size_t i = hseg_find(h, off);

	while (len) {
		struct hpage *pg = &h->pages[i];
		uint64_t in = off - pg->start;
		uint64_t plen = pg->hdr_len + pg->body_len;
		size_t n = plen - in < len ? (size_t)(plen - in) : len;

		if (in < pg->hdr_len) {
			uint8_t hdr[OGG_HDR_MAX];
			size_t hn = pg->hdr_len - in < n ? (size_t)(pg->hdr_len - in) : n;
			uint64_t c = atomic_load(&pg->crc);

			memcpy(hdr, pg->hdr, pg->hdr_len);
			if (in < 26 && in + hn > 22) {
				if (!(c >> 32)) {
					uint32_t crc;
					int ret = hpage_crc(h, pg, io, &crc);

					if (ret)
						return ret;
					c = (uint64_t)1 << 32 | crc;
					atomic_store(&pg->crc, c);
				}
				mf_put_le32(hdr + 22, (uint32_t)c);
			}
			memcpy(dst, hdr + in, hn);
			dst += hn;
			off += hn;
			len -= hn;
			n -= hn;
			in += hn;
		}
		if (n) {
			ssize_t got = mf_layout_read_at(h->body,
							pg->body_off + in - pg->hdr_len,
							dst, n, io);

			if (got < 0)
				return (int)got;
			if ((size_t)got != n)
				return -EIO;
			dst += n;
			off += n;
			len -= n;
		}
		i++;
	}
	return 0;
}

static void hseg_free(void *priv)
{
	struct hseg *h = priv;

	if (!h)
		return;
	mf_layout_free(h->body);
	free(h->pages);
	free(h);
}

static size_t hseg_mem(const void *priv)
{
	const struct hseg *h = priv;

	return sizeof(*h) + h->npages * sizeof(*h->pages) +
	       mf_layout_mem(h->body);
}

static const struct mf_seg_ops hseg_ops = {
	.read = hseg_read,
	.free = hseg_free,
	.mem = hseg_mem,
};

/* The audio pages with shifted sequence numbers. */
struct aseg {
	uint64_t src;		/* audio offset in the backing file */
	uint64_t len;
	uint64_t *starts;	/* page offsets relative to @src */
	size_t npages;
	uint32_t delta;		/* added to every page sequence number */
};

static int aseg_read(const void *priv, uint64_t off, void *buf, size_t len,
		     const struct mf_layout_io *io)
{
	const struct aseg *a = priv;
	uint8_t *dst = buf;
	size_t lo = 0, hi = a->npages;
	int ret;

	if (!io || !io->read_backing)
		return -EIO;
	ret = io->read_backing(io->ctx, a->src + off, buf, len);
	if (ret)
		return ret;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (a->starts[mid] <= off)
			lo = mid;
		else
			hi = mid;
	}
	for (size_t i = lo; i < a->npages && a->starts[i] + 18 < off + len; i++) {
		uint64_t s = a->starts[i] + 18, e = s + 8;
		uint64_t plen = (i + 1 < a->npages ? a->starts[i + 1] : a->len) -
				a->starts[i];
		uint64_t from = s > off ? s : off;
		uint64_t to = e < off + len ? e : off + len;
		uint8_t f[8];
		uint32_t seq, crc;

		if (from >= to)
			continue;
		if (s >= off && e <= off + len) {
			memcpy(f, dst + (s - off), 8);
		} else {
			ret = io->read_backing(io->ctx, a->src + s, f, 8);
			if (ret)
				return ret;
		}
		seq = mf_get_le32(f);
		crc = mf_get_le32(f + 4);
		crc = mf_ogg_crc_reseq(crc, seq, seq + a->delta, plen);
		mf_put_le32(f, seq + a->delta);
		mf_put_le32(f + 4, crc);
		memcpy(dst + (from - off), f + (from - s), (size_t)(to - from));
	}
	return 0;
}

static void aseg_free(void *priv)
{
	struct aseg *a = priv;

	if (!a)
		return;
	free(a->starts);
	free(a);
}

static size_t aseg_mem(const void *priv)
{
	const struct aseg *a = priv;

	return sizeof(*a) + a->npages * sizeof(*a->starts);
}

static const struct mf_seg_ops aseg_ops = {
	.read = aseg_read,
	.free = aseg_free,
	.mem = aseg_mem,
};

/* What synthesis takes from the structural blocks. */
struct sin {
	enum codec codec;
	const struct mf_synth_block *hdr[64];	/* "ogg:header" in order */
	size_t nhdr;
	uint32_t serial, audio_seq;
	const uint8_t *vendor;
	size_t vendor_len;
	const struct mf_synth_block *pages[256];	/* "ogg:pages" */
	size_t npages;
};

static int synth_gather(const struct mf_synth_input *in, struct sin *s)
{
	bool have_info = false;

	memset(s, 0, sizeof(*s));
	if (strcmp(in->format, "vorbis") == 0)
		s->codec = CODEC_VORBIS;
	else if (strcmp(in->format, "opus") == 0)
		s->codec = CODEC_OPUS;
	else if (strcmp(in->format, "oggflac") == 0)
		s->codec = CODEC_FLAC;
	else
		return -EIO;
	for (size_t i = 0; i < in->nblocks; i++) {
		const struct mf_synth_block *b = &in->blocks[i];

		if (strcmp(b->kind, "ogg:header") == 0) {
			if (s->nhdr == sizeof(s->hdr) / sizeof(s->hdr[0]))
				return -EIO;
			s->hdr[s->nhdr++] = b;
		} else if (strcmp(b->kind, "ogg:pages") == 0) {
			if (s->npages == sizeof(s->pages) / sizeof(s->pages[0]))
				return -EIO;
			s->pages[s->npages++] = b;
		} else if (strcmp(b->kind, "ogg:info") == 0) {
			if (b->len < INFO_FIXED || b->data[0] != INFO_VERSION)
				return -EIO;
			s->serial = mf_get_le32(b->data + 1);
			s->audio_seq = mf_get_le32(b->data + 5);
			s->vendor = b->data + INFO_FIXED;
			s->vendor_len = b->len - INFO_FIXED;
			have_info = true;
		}
	}
	if (!have_info || s->nhdr == 0 || s->vendor_len > UINT32_MAX / 2)
		return -EIO;
	switch (s->codec) {
	case CODEC_VORBIS:
		if (s->nhdr != 2 || s->hdr[0]->len != 30 ||
		    memcmp(s->hdr[0]->data, "\x01vorbis", 7) != 0 ||
		    s->hdr[1]->len < 7 ||
		    memcmp(s->hdr[1]->data, "\x05vorbis", 7) != 0)
			return -EIO;
		break;
	case CODEC_OPUS:
		if (s->nhdr != 1 || s->hdr[0]->len < 19 ||
		    memcmp(s->hdr[0]->data, "OpusHead", 8) != 0)
			return -EIO;
		break;
	default:
		if (s->hdr[0]->len != FLAC_MAPPING_LEN ||
		    memcmp(s->hdr[0]->data, "\x7f" "FLAC", 5) != 0)
			return -EIO;
		for (size_t i = 1; i < s->nhdr; i++) {
			const struct mf_synth_block *b = s->hdr[i];

			if (b->len < 4 || b->len - 4 != ((size_t)b->data[1] << 16 |
			    (size_t)b->data[2] << 8 | b->data[3]))
				return -EIO;
		}
		break;
	}
	return 0;
}

static int add_le32(struct mf_layout *l, uint32_t v)
{
	uint8_t b[4];

	mf_put_le32(b, v);
	return mf_layout_add_inline(l, b, 4);
}

#define MBP_NAME "METADATA_BLOCK_PICTURE="

/* Append the METADATA_BLOCK_PICTURE comment for @pic: base64 streamed. */
static int add_mbp(struct mf_layout *l, const struct mf_synth_pic *pic)
{
	struct mf_layout *inner;
	uint64_t b64 = mf_base64_len(mf_picture_body_len(pic));
	/* The Ogg picture fields must be all valid or all 0 (opusinfo
	 * checks): a store row without a colour depth gives all 0. */
	bool known = pic->width && pic->height && pic->depth;
	int ret;

	if ((ret = add_le32(l, (uint32_t)(strlen(MBP_NAME) + b64))) ||
	    (ret = mf_layout_add_inline(l, MBP_NAME, strlen(MBP_NAME))))
		return ret;
	inner = mf_layout_new();
	if (!inner)
		return -ENOMEM;
	if ((ret = mf_picture_add(inner, pic, known)) ||
	    (ret = mf_layout_add_base64(l, inner)))
		mf_layout_free(inner);
	return ret;
}

static const struct mf_synth_bin *find_bin(const struct mf_synth_input *in,
					   const char *key)
{
	for (size_t i = 0; i < in->nbins; i++)
		if (in->bins[i].key && strcmp(in->bins[i].key, key) == 0)
			return &in->bins[i];
	return NULL;
}

/*
 * Append the comment packet to @l: magic (or the VORBIS_COMMENT block
 * header with @last), vendor, tags, pictures, then the framing bit
 * (Vorbis) or the binary suffix (Opus). Sets *@len to its length.
 */
static int add_comment(struct mf_layout *l, const struct mf_synth_input *in,
		       const struct sin *s, bool last, uint64_t *len)
{
	const struct mf_synth_bin *extra = NULL;
	uint64_t body, tags, start = mf_layout_size(l);
	uint32_t count = 0;
	size_t i;
	int ret;

	ret = mf_vorbis_measure(in->tags, in->ntags, UINT64_MAX, OGG_DOM,
				&count, &tags);
	if (ret)
		return ret;
	body = 4 + s->vendor_len + 4 + tags;
	for (i = 0; i < in->npics; i++) {
		const struct mf_synth_pic *pic = &in->pics[i];

		if (!pic->mime || !pic->desc ||
		    !mf_picture_mime_ok(pic->mime, strlen(pic->mime)) ||
		    pic->type > MF_PICTURE_TYPE_MAX)
			return -EINVAL;
		if (mf_picture_body_len(pic) > UINT32_MAX / 2)
			return -EFBIG;
		body += 4 + strlen(MBP_NAME) + mf_base64_len(mf_picture_body_len(pic));
		count++;
	}
	if (s->codec == CODEC_OPUS)
		extra = find_bin(in, "opus:binary");
	switch (s->codec) {
	case CODEC_VORBIS:
		ret = mf_layout_add_inline(l, "\x03vorbis", 7);
		break;
	case CODEC_OPUS:
		ret = mf_layout_add_inline(l, "OpusTags", 8);
		break;
	default: {
		uint8_t h[4];

		if (body > FLAC_BLOCK_MAX)
			return -EFBIG;
		put_flac_hdr(h, last, FLAC_T_VORBIS_COMMENT, (uint32_t)body);
		ret = mf_layout_add_inline(l, h, 4);
		break;
	}
	}
	if (ret ||
	    (ret = mf_vorbis_add_head(l, s->vendor, s->vendor_len, count)) ||
	    (ret = mf_vorbis_add_tags(l, in->tags, in->ntags)))
		return ret;
	for (i = 0; i < in->npics; i++) {
		ret = add_mbp(l, &in->pics[i]);
		if (ret)
			return ret;
	}
	if (s->codec == CODEC_VORBIS)
		ret = mf_layout_add_inline(l, "\x01", 1);
	else if (extra)
		ret = mf_layout_add_blob(l, &extra->ref, 0, extra->len);
	if (ret)
		return ret;
	*len = mf_layout_size(l) - start;
	return 0;
}

/* Build the packet layout; packet lengths into @plen (@np entries). */
static int build_packets(const struct mf_synth_input *in, const struct sin *s,
			 struct mf_layout *l, uint64_t *plen, size_t *np)
{
	static const char *const flac_bins[] = { "flac:application",
						 "flac:cuesheet" };
	const struct mf_synth_bin *bins[2 * 64];
	size_t nbins = 0, n = 0, i, nextra;
	int ret;

	plen[n++] = s->hdr[0]->len;
	if (s->codec != CODEC_FLAC) {
		if ((ret = mf_layout_add_inline(l, s->hdr[0]->data,
						s->hdr[0]->len)) ||
		    (ret = add_comment(l, in, s, false, &plen[n++])))
			return ret;
		if (s->codec == CODEC_VORBIS) {
			ret = mf_layout_add_inline(l, s->hdr[1]->data,
						   s->hdr[1]->len);
			plen[n++] = s->hdr[1]->len;
		}
		*np = n;
		return ret;
	}
	/* Ogg FLAC: the mapping packet counts the header packets after it. */
	for (i = 0; i < in->nbins; i++) {
		const struct mf_synth_bin *b = &in->bins[i];

		if (!b->key || (strcmp(b->key, flac_bins[0]) != 0 &&
				strcmp(b->key, flac_bins[1]) != 0))
			continue;
		/* nothing is dropped silently */
		if (b->len > FLAC_BLOCK_MAX ||
		    nbins == sizeof(bins) / sizeof(bins[0]))
			return -EFBIG;
		bins[nbins++] = b;
	}
	nextra = s->nhdr - 1 + nbins;
	{
		uint8_t map[FLAC_MAPPING_LEN];

		memcpy(map, s->hdr[0]->data, FLAC_MAPPING_LEN);
		map[7] = (uint8_t)((1 + nextra) >> 8);
		map[8] = (uint8_t)(1 + nextra);
		map[13] &= 0x7f;	/* STREAMINFO is not the last block */
		if ((ret = mf_layout_add_inline(l, map, sizeof(map))) ||
		    (ret = add_comment(l, in, s, nextra == 0, &plen[n++])))
			return ret;
	}
	for (i = 1; i < s->nhdr; i++) {
		uint8_t h0 = (uint8_t)((s->hdr[i]->data[0] & 0x7f) |
				       (--nextra == 0 ? 0x80 : 0));

		if ((ret = mf_layout_add_inline(l, &h0, 1)) ||
		    (ret = mf_layout_add_inline(l, s->hdr[i]->data + 1,
						s->hdr[i]->len - 1)))
			return ret;
		plen[n++] = s->hdr[i]->len;
	}
	for (i = 0; i < nbins; i++) {
		uint8_t h[4];
		bool app = strcmp(bins[i]->key, flac_bins[0]) == 0;

		put_flac_hdr(h, --nextra == 0,
			     app ? FLAC_T_APPLICATION : FLAC_T_CUESHEET,
			     (uint32_t)bins[i]->len);
		if ((ret = mf_layout_add_inline(l, h, 4)) ||
		    (ret = mf_layout_add_blob(l, &bins[i]->ref, 0, bins[i]->len)))
			return ret;
		plen[n++] = 4 + bins[i]->len;
	}
	*np = n;
	return 0;
}

/* Start header page number @seq at body offset @body_off. */
static void hpage_init(struct hpage *pg, const struct sin *s, uint32_t seq,
		       uint8_t flags, uint64_t body_off)
{
	memset(pg, 0, sizeof(*pg));
	memcpy(pg->hdr, "OggS", 4);
	pg->hdr[5] = flags;
	mf_put_le64(pg->hdr + 6, OGG_NO_GRANULE);
	mf_put_le32(pg->hdr + 14, s->serial);
	mf_put_le32(pg->hdr + 18, seq);
	pg->hdr_len = OGG_HDR_LEN;
	pg->body_off = body_off;
	atomic_init(&pg->crc, 0);
}

static int hpage_push(struct hseg *h, size_t *cap)
{
	if (h->npages == *cap) {
		size_t ncap = *cap ? *cap * 2 : 8;
		struct hpage *p = realloc(h->pages, ncap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		h->pages = p;
		*cap = ncap;
	}
	h->npages++;
	return 0;
}

/*
 * Page the packets (RFC 3533 section 6; Vorbis I spec A.2; RFC 7845
 * section 3): packet 0 alone on page 0 with BOS, the rest packed into
 * pages of at most 255 lacing values, the last header page flushed.
 */
static int page_packets(struct hseg *h, const struct sin *s,
			const uint64_t *plen, size_t np)
{
	size_t cap = 0;
	uint64_t body = 0;
	struct hpage *pg = NULL;
	bool in_packet = false, flush = true;
	int ret;

	for (size_t k = 0; k < np; k++) {
		uint64_t left = plen[k];

		for (;;) {
			uint8_t lace;

			if (flush || pg->hdr[26] == 255) {
				if (pg) {
					pg->body_len = body - pg->body_off;
					pg->hdr_len = OGG_HDR_LEN + pg->hdr[26];
				}
				ret = hpage_push(h, &cap);
				if (ret)
					return ret;
				pg = &h->pages[h->npages - 1];
				hpage_init(pg, s, (uint32_t)(h->npages - 1),
					   (uint8_t)(h->npages == 1 ? OGG_BOS :
						     in_packet ? OGG_CONTINUED : 0),
					   body);
				flush = false;
			}
			lace = left >= 255 ? 255 : (uint8_t)left;
			pg->hdr[OGG_HDR_LEN + pg->hdr[26]] = lace;
			pg->hdr[26]++;
			body += lace;
			left -= lace;
			in_packet = lace == 255;
			if (!in_packet) {
				mf_put_le64(pg->hdr + 6, 0);
				break;
			}
		}
		if (k == 0) {
			if (h->npages != 1)
				return -EIO;	/* must fit the first page */
			flush = true;
		}
	}
	if (!pg)
		return -EIO;
	pg->body_len = body - pg->body_off;
	pg->hdr_len = OGG_HDR_LEN + pg->hdr[26];
	return 0;
}

/* Decode the "ogg:pages" varints into page offsets; check they tile. */
static int decode_pages(const struct sin *s, uint64_t audio_len,
			struct aseg *a)
{
	size_t cap = 0;
	uint64_t pos = 0;

	for (size_t b = 0; b < s->npages; b++) {
		const uint8_t *d = s->pages[b]->data;
		size_t n = s->pages[b]->len, i = 0;

		while (i < n) {
			uint64_t v = 0;
			unsigned shift = 0;

			do {
				if (i == n || shift > 21)
					return -EIO;
				v |= (uint64_t)(d[i] & 0x7f) << shift;
				shift += 7;
			} while (d[i++] & 0x80);
			if (v < OGG_HDR_LEN || v > OGG_PAGE_MAX ||
			    v > audio_len - pos)
				return -EIO;
			if (a->npages == cap) {
				size_t ncap = cap ? cap * 2 : 256;
				uint64_t *st = realloc(a->starts,
						       ncap * sizeof(*st));

				if (!st)
					return -ENOMEM;
				a->starts = st;
				cap = ncap;
			}
			a->starts[a->npages++] = pos;
			pos += v;
		}
	}
	return pos == audio_len && a->npages ? 0 : -EIO;
}

int mf_ogg_synth(const struct mf_synth_input *in, struct mf_layout **out)
{
	struct sin s;
	struct hseg *h = NULL;
	struct aseg *a = NULL;
	struct mf_layout *l = NULL;
	uint64_t plen[2 * 64 + 64 + 4];
	size_t np = 0;
	uint32_t delta;
	int ret;

	if (!in || !out)
		return -EINVAL;
	ret = synth_gather(in, &s);
	if (ret)
		return ret;
	h = calloc(1, sizeof(*h));
	l = mf_layout_new();
	if (!h || !l || !(h->body = mf_layout_new())) {
		ret = -ENOMEM;
		goto out;
	}
	ret = build_packets(in, &s, h->body, plen, &np);
	if (ret)
		goto out;
	ret = page_packets(h, &s, plen, np);
	if (ret)
		goto out;
	for (size_t i = 0; i < h->npages; i++) {
		struct hpage *pg = &h->pages[i];
		uint32_t crc;

		pg->start = h->size;
		h->size += pg->hdr_len + pg->body_len;
		/* Pages of inline bytes only get their CRC now. */
		if (hpage_crc(h, pg, NULL, &crc) == 0)
			atomic_init(&pg->crc, (uint64_t)1 << 32 | crc);
	}
	delta = (uint32_t)h->npages - s.audio_seq;
	ret = mf_layout_add_custom(l, &hseg_ops, h, h->size);
	if (ret)
		goto out;
	h = NULL;
	if (delta == 0) {
		ret = mf_layout_add_backing(l, in->audio_offset, in->audio_length);
		if (ret)
			goto out;
	} else {
		a = calloc(1, sizeof(*a));
		if (!a) {
			ret = -ENOMEM;
			goto out;
		}
		a->src = in->audio_offset;
		a->len = in->audio_length;
		a->delta = delta;
		ret = decode_pages(&s, in->audio_length, a);
		if (ret)
			goto out;
		ret = mf_layout_add_custom(l, &aseg_ops, a, a->len);
		if (ret)
			goto out;
		a = NULL;
	}
	*out = l;
	l = NULL;
out:
	aseg_free(a);
	hseg_free(h);
	mf_layout_free(l);
	if (ret == -EINVAL || ret == -EOVERFLOW)
		ret = -EIO;
	return ret;
}

void mf_ogg_fp_normalize(uint8_t *buf, size_t n)
{
	for (size_t i = 0; i + 5 <= n; i++) {
		if (memcmp(buf + i, "OggS", 4) != 0 || buf[i + 4] != 0)
			continue;
		for (size_t k = i + 18; k < i + 26 && k < n; k++)
			buf[k] = 0;
	}
}
