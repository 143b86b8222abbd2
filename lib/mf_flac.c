/* SPDX-License-Identifier: MIT */
/*
 * mf_flac - FLAC probe and synthesis (RFC 9639).
 *
 * The probe walks the block headers itself with pread(2), so offsets are
 * exact and every length is checked against the file size before anything
 * is allocated; each block body is then read into memory (at most 16 MiB)
 * and parsed by libFLAC from a one-block in-memory stream. Bodies whose
 * count fields could make libFLAC allocate more than the block holds
 * (VORBIS_COMMENT, PICTURE) are pre-checked first.
 *
 * Divisions: byte helpers; probe (I/O, pre-checks, block handlers, walk);
 * synthesis.
 */
#include "mf_flac.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <FLAC/format.h>
#include <FLAC/metadata.h>

#include "mf_bytes.h"
#include "mf_log.h"
#include "mf_picture.h"
#include "mf_reader.h"
#include "mf_vocab.h"
#include "mf_vorbis.h"

#include "mf_banned.h"

#define FLAC_DOM "flac"

/* Block types (RFC 9639 section 8.1, table 1). */
enum {
	FLAC_STREAMINFO = 0,
	FLAC_PADDING = 1,
	FLAC_APPLICATION = 2,
	FLAC_SEEKTABLE = 3,
	FLAC_VORBIS_COMMENT = 4,
	FLAC_CUESHEET = 5,
	FLAC_PICTURE = 6,
	FLAC_FORBIDDEN = 127,
};

#define FLAC_HDR_LEN 4		/* metadata block header */
#define FLAC_SEEKPOINT_LEN 18	/* section 8.5 */
#define FLAC_VENDOR "musefs"

/* ---- byte helpers ---- */

/* A metadata block header (section 8.1): last flag, 7-bit type, 24-bit len. */
static void put_hdr(uint8_t *p, bool last, unsigned type, uint32_t len)
{
	p[0] = (uint8_t)((last ? 0x80 : 0) | (type & 0x7f));
	p[1] = (uint8_t)(len >> 16);
	p[2] = (uint8_t)(len >> 8);
	p[3] = (uint8_t)len;
}

/* ---- probe ---- */

struct probe {
	struct mf_reader rd;		/* fd, size, why */
	const struct mf_sink *sink;
	uint64_t audio_offset;
	uint64_t audio_length;
};

/*
 * A one-block in-memory FLAC stream for libFLAC's chain reader: "fLaC",
 * the block header with the last bit set, the body.
 */
struct memio {
	const uint8_t *buf;
	size_t len;
	size_t pos;
};

static size_t memio_read(void *ptr, size_t size, size_t nmemb,
			 FLAC__IOHandle handle)
{
	struct memio *m = handle;
	size_t avail = m->len - m->pos;
	size_t items;

	if (!size)
		return 0;
	items = avail / size;
	if (items > nmemb)
		items = nmemb;
	memcpy(ptr, m->buf + m->pos, items * size);
	m->pos += items * size;
	return items;
}

static int memio_seek(FLAC__IOHandle handle, FLAC__int64 offset, int whence)
{
	struct memio *m = handle;
	FLAC__int64 base;

	switch (whence) {
	case SEEK_SET:
		base = 0;
		break;
	case SEEK_CUR:
		base = (FLAC__int64)m->pos;
		break;
	case SEEK_END:
		base = (FLAC__int64)m->len;
		break;
	default:
		return -1;
	}
	if (offset < -base || offset > (FLAC__int64)m->len - base)
		return -1;
	m->pos = (size_t)(base + offset);
	return 0;
}

static FLAC__int64 memio_tell(FLAC__IOHandle handle)
{
	const struct memio *m = handle;

	return (FLAC__int64)m->pos;
}

static int memio_eof(FLAC__IOHandle handle)
{
	const struct memio *m = handle;

	return m->pos >= m->len;
}

/*
 * One block read from the file: @raw holds "fLaC", a header and the body,
 * so that libFLAC can parse it as a stream; @body points into it.
 */
struct block {
	unsigned index;		/* 0-based position in the file */
	unsigned type;
	uint32_t len;		/* body bytes */
	uint64_t off;		/* offset of the header in the file */
	uint8_t *raw;
	const uint8_t *body;
	FLAC__Metadata_Chain *chain;
	FLAC__StreamMetadata *meta;	/* borrowed from chain */
};

static void block_release(struct block *b)
{
	if (b->chain)
		FLAC__metadata_chain_delete(b->chain);
	free(b->raw);
	b->chain = NULL;
	b->meta = NULL;
	b->raw = NULL;
	b->body = NULL;
}

/* Read the body of @b from the file into b->raw. */
static int block_load(struct probe *p, struct block *b)
{
	char what[48];

	b->raw = malloc((size_t)b->len + 8);
	if (!b->raw)
		return mf_reader_fail(&p->rd, -ENOMEM, "out of memory");
	memcpy(b->raw, "fLaC", 4);
	put_hdr(b->raw + 4, true, b->type, b->len);
	b->body = b->raw + 8;
	snprintf(what, sizeof(what), "metadata block %u", b->index);
	return mf_reader_read(&p->rd, b->raw + 8, b->len, b->off + FLAC_HDR_LEN, what);
}

/* Parse the loaded block with libFLAC into b->meta. */
static int block_parse(struct probe *p, struct block *b)
{
	static const FLAC__IOCallbacks cb = {
		.read = memio_read,
		.seek = memio_seek,
		.tell = memio_tell,
		.eof = memio_eof,
	};
	struct memio m = { .buf = b->raw, .len = (size_t)b->len + 8 };
	FLAC__Metadata_Iterator *it;
	FLAC__Metadata_ChainStatus st;
	bool single;

	b->chain = FLAC__metadata_chain_new();
	if (!b->chain)
		return mf_reader_fail(&p->rd, -ENOMEM, "out of memory");
	if (!FLAC__metadata_chain_read_with_callbacks(b->chain, &m, cb)) {
		st = FLAC__metadata_chain_status(b->chain);
		if (st == FLAC__METADATA_CHAIN_STATUS_MEMORY_ALLOCATION_ERROR)
			return mf_reader_fail(&p->rd, -ENOMEM, "out of memory");
		return mf_reader_fail(&p->rd, -EBADMSG, "metadata block %u is malformed (%s)",
				  b->index, FLAC__Metadata_ChainStatusString[st]);
	}
	it = FLAC__metadata_iterator_new();
	if (!it)
		return mf_reader_fail(&p->rd, -ENOMEM, "out of memory");
	FLAC__metadata_iterator_init(it, b->chain);
	b->meta = FLAC__metadata_iterator_get_block(it);
	single = !FLAC__metadata_iterator_next(it);
	FLAC__metadata_iterator_delete(it);
	if (!b->meta || !single || b->meta->type != (FLAC__MetadataType)b->type)
		return mf_reader_fail(&p->rd, -EBADMSG, "metadata block %u is malformed",
				  b->index);
	if (m.pos != m.len)
		mf_debug(FLAC_DOM, "metadata block %u: %zu trailing bytes ignored",
			 b->index, m.len - m.pos);
	return 0;
}

/*
 * Check the length fields of a VORBIS_COMMENT body (Vorbis I spec 5.2.1,
 * little-endian) against the block, so that libFLAC never allocates more
 * than the block holds.
 */
static bool vc_well_formed(const uint8_t *body, uint32_t len)
{
	uint32_t pos = 0, n, i, elen;

	if (len < 4)
		return false;
	elen = mf_get_le32(body);
	if (elen > len - 4)
		return false;
	pos = 4 + elen;
	if (len - pos < 4)
		return false;
	n = mf_get_le32(body + pos);
	pos += 4;
	for (i = 0; i < n; i++) {
		if (len - pos < 4)
			return false;
		elen = mf_get_le32(body + pos);
		pos += 4;
		if (elen > len - pos)
			return false;
		pos += elen;
	}
	return true;
}

static int probe_streaminfo(struct probe *p, struct block *b)
{
	const FLAC__StreamMetadata_StreamInfo *si;
	struct mf_audio_props props;
	const struct mf_sink *s = p->sink;
	int ret;

	ret = block_parse(p, b);
	if (ret)
		return ret;
	si = &b->meta->data.stream_info;
	memset(&props, 0, sizeof(props));
	props.sample_rate = si->sample_rate;
	props.channels = si->channels;
	props.bits_per_sample = si->bits_per_sample;
	props.total_samples = si->total_samples;
	if (si->sample_rate && si->total_samples)
		props.duration_ms = si->total_samples / si->sample_rate * 1000 +
			si->total_samples % si->sample_rate * 1000 /
			si->sample_rate;
	if (props.duration_ms && p->audio_length <= UINT64_MAX / 8) {
		/* bits per millisecond is kbit/s */
		uint64_t kbps = p->audio_length * 8 / props.duration_ms;

		props.bitrate_kbps = kbps > UINT32_MAX ? UINT32_MAX
						       : (uint32_t)kbps;
	}
	if (s->on_structural) {
		ret = s->on_structural(s->ctx, "streaminfo", b->body, b->len);
		if (ret)
			return ret;
	}
	if (s->on_props)
		return s->on_props(s->ctx, &props);
	return 0;
}

/* Does @vc hold a field named @name (ASCII, case-insensitive)? */
static bool vc_has_field(const FLAC__StreamMetadata_VorbisComment *vc,
			 const char *name)
{
	size_t n = strlen(name);
	uint32_t i;

	for (i = 0; i < vc->num_comments; i++) {
		const FLAC__StreamMetadata_VorbisComment_Entry *e =
			&vc->comments[i];

		if (e->length > n && e->entry[n] == '=' &&
		    strncasecmp((const char *)e->entry, name, n) == 0)
			return true;
	}
	return false;
}

static int probe_vorbis_comment(struct probe *p, struct block *b)
{
	const FLAC__StreamMetadata_VorbisComment *vc;
	char key[MF_VOCAB_KEY_MAX + 1];
	bool has_totaltracks, has_totaldiscs;
	uint32_t i;
	int ret;

	if (!vc_well_formed(b->body, b->len))
		return mf_reader_fail(&p->rd, -EBADMSG,
				  "vorbis comment block %u is malformed",
				  b->index);
	ret = block_parse(p, b);
	if (ret)
		return ret;
	vc = &b->meta->data.vorbis_comment;
	has_totaltracks = vc_has_field(vc, "totaltracks");
	has_totaldiscs = vc_has_field(vc, "totaldiscs");
	for (i = 0; i < vc->num_comments; i++) {
		const char *entry = (const char *)vc->comments[i].entry;
		size_t len = vc->comments[i].length;
		const char *eq = entry ? memchr(entry, '=', len) : NULL;

		if (!eq) {
			mf_warn(FLAC_DOM, "skipping vorbis comment %u without '='",
				i);
			continue;
		}
		if (mf_vocab_from_vorbis(entry, (size_t)(eq - entry), key,
					 sizeof(key))) {
			mf_warn(FLAC_DOM,
				"skipping vorbis comment %u with an invalid field name",
				i);
			continue;
		}
		/* Picard: TRACKTOTAL/DISCTOTAL yield to TOTALTRACKS/TOTALDISCS. */
		if ((has_totaltracks && strncasecmp(entry, "tracktotal=", 11) == 0) ||
		    (has_totaldiscs && strncasecmp(entry, "disctotal=", 10) == 0))
			continue;
		if (!p->sink->on_tag)
			continue;
		ret = p->sink->on_tag(p->sink->ctx, key, eq + 1,
				      len - (size_t)(eq - entry) - 1);
		if (ret)
			return ret;
	}
	return 0;
}

static int probe_picture(struct probe *p, struct block *b)
{
	const FLAC__StreamMetadata_Picture *pic;
	struct mf_picture_fields f;
	struct mf_picture out;
	const char *violation = NULL;
	int ret;

	if (mf_picture_parse(b->body, b->len, &f))
		return mf_reader_fail(&p->rd, -EBADMSG, "picture block %u is malformed",
				  b->index);
	ret = block_parse(p, b);
	if (ret)
		return ret;
	pic = &b->meta->data.picture;
	if (pic->type > MF_PICTURE_TYPE_MAX) {
		mf_warn(FLAC_DOM, "skipping picture block %u of reserved type %u",
			b->index, (unsigned)pic->type);
		return 0;
	}
	if (!FLAC__format_picture_is_legal(pic, &violation) ||
	    strlen(pic->mime_type) != f.mime_len ||
	    strlen((const char *)pic->description) != f.desc_len) {
		mf_warn(FLAC_DOM, "skipping illegal picture block %u: %s",
			b->index, violation ? violation : "embedded NUL byte");
		return 0;
	}
	if (!p->sink->on_picture)
		return 0;
	memset(&out, 0, sizeof(out));
	out.type = (uint32_t)pic->type;
	out.mime = pic->mime_type;
	out.desc = (const char *)pic->description;
	out.width = pic->width;
	out.height = pic->height;
	out.depth = pic->depth;
	out.colors = pic->colors;
	out.data = pic->data;
	out.len = pic->data_length;
	return p->sink->on_picture(p->sink->ctx, &out);
}

static int probe_seektable(struct probe *p, struct block *b)
{
	int ret;

	if (b->len % FLAC_SEEKPOINT_LEN)
		return mf_reader_fail(&p->rd, -EBADMSG,
				  "seektable length %u is not a multiple of 18",
				  (unsigned)b->len);
	ret = block_parse(p, b);
	if (ret)
		return ret;
	if (!p->sink->on_structural)
		return 0;
	return p->sink->on_structural(p->sink->ctx, "seektable", b->body,
				      b->len);
}

static int probe_application(struct probe *p, struct block *b)
{
	int ret;

	if (b->len < 4)
		return mf_reader_fail(&p->rd, -EBADMSG,
				  "application block %u is too short", b->index);
	ret = block_parse(p, b);
	if (ret)
		return ret;
	if (!p->sink->on_binary_tag)
		return 0;
	return p->sink->on_binary_tag(p->sink->ctx, "flac:application",
				      b->body, b->len);
}

static int probe_cuesheet(struct probe *p, struct block *b)
{
	int ret;

	ret = block_parse(p, b);
	if (ret)
		return ret;
	if (!p->sink->on_binary_tag)
		return 0;
	return p->sink->on_binary_tag(p->sink->ctx, "flac:cuesheet", b->body,
				      b->len);
}

/* Load, parse and report one block. */
static int probe_block(struct probe *p, struct block *b)
{
	int ret;

	if (b->type == FLAC_PADDING || b->type > FLAC_PICTURE) {
		if (b->type != FLAC_PADDING)
			mf_debug(FLAC_DOM, "dropping block %u of reserved type %u",
				 b->index, b->type);
		return 0;
	}
	ret = block_load(p, b);
	if (ret)
		return ret;
	switch (b->type) {
	case FLAC_STREAMINFO:
		return probe_streaminfo(p, b);
	case FLAC_APPLICATION:
		return probe_application(p, b);
	case FLAC_SEEKTABLE:
		return probe_seektable(p, b);
	case FLAC_VORBIS_COMMENT:
		return probe_vorbis_comment(p, b);
	case FLAC_CUESHEET:
		return probe_cuesheet(p, b);
	default:
		return probe_picture(p, b);
	}
}

/*
 * Find the "fLaC" marker: at 0, or after an ID3v2 tag (10-byte header,
 * syncsafe size, optional 10-byte footer), which some taggers prepend.
 */
static int probe_marker(struct probe *p, uint64_t *first)
{
	uint8_t h[10];
	uint64_t off = 0;
	int ret;

	if (p->rd.size < 4)
		return mf_reader_fail(&p->rd, -EINVAL, "not a FLAC file");
	ret = mf_reader_read(&p->rd, h, 4, 0, "marker");
	if (ret)
		return ret;
	if (memcmp(h, "ID3", 3) == 0) {
		if (p->rd.size < 10)
			return mf_reader_fail(&p->rd, -EINVAL, "not a FLAC file");
		ret = mf_reader_read(&p->rd, h, 10, 0, "id3v2 header");
		if (ret)
			return ret;
		if ((h[6] | h[7] | h[8] | h[9]) & 0x80)
			return mf_reader_fail(&p->rd, -EBADMSG, "bad id3v2 tag size");
		off = 10 + ((uint64_t)h[6] << 21 | (uint64_t)h[7] << 14 |
			    (uint64_t)h[8] << 7 | h[9]);
		if (h[3] >= 4 && (h[5] & 0x10))
			off += 10;
		if (off > p->rd.size || p->rd.size - off < 4)
			return mf_reader_fail(&p->rd, -EINVAL, "not a FLAC file");
		ret = mf_reader_read(&p->rd, h, 4, off, "marker");
		if (ret)
			return ret;
		mf_debug(FLAC_DOM, "skipping a %llu-byte id3v2 tag",
			 (unsigned long long)off);
	}
	if (memcmp(h, "fLaC", 4) != 0)
		return mf_reader_fail(&p->rd, -EINVAL, "not a FLAC file");
	*first = off + 4;
	return 0;
}

/*
 * Walk the block headers from @pos. With @report false, only validate the
 * structure (RFC 9639 section 8) and compute the audio offset; with
 * @report true, also load and report each block.
 */
static int probe_walk(struct probe *p, uint64_t pos, bool report,
		      uint64_t *audio_offset)
{
	struct block b;
	uint8_t hdr[FLAC_HDR_LEN];
	unsigned index = 0;
	bool last = false, seen_seektable = false;
	char what[48];
	int ret = 0;

	while (!last) {
		memset(&b, 0, sizeof(b));
		b.index = index;
		b.off = pos;
		snprintf(what, sizeof(what), "metadata block %u header", index);
		ret = mf_reader_read(&p->rd, hdr, sizeof(hdr), pos, what);
		if (ret)
			return ret;
		last = hdr[0] & 0x80;
		b.type = hdr[0] & 0x7f;
		b.len = mf_get_be24(hdr + 1);
		if (b.type == FLAC_FORBIDDEN)
			return mf_reader_fail(&p->rd, -EBADMSG,
					  "metadata block %u has forbidden type 127",
					  index);
		if (index == 0 && b.type != FLAC_STREAMINFO)
			return mf_reader_fail(&p->rd, -EBADMSG,
					  "first metadata block is not streaminfo");
		if (index == 0 && b.len != MF_FLAC_STREAMINFO_LEN)
			return mf_reader_fail(&p->rd, -EBADMSG,
					  "streaminfo has length %u, expected 34",
					  (unsigned)b.len);
		if (index > 0 && b.type == FLAC_STREAMINFO)
			return mf_reader_fail(&p->rd, -EBADMSG,
					  "metadata block %u is a second streaminfo",
					  index);
		if (b.type == FLAC_SEEKTABLE && seen_seektable)
			return mf_reader_fail(&p->rd, -EBADMSG,
					  "metadata block %u is a second seektable",
					  index);
		seen_seektable |= b.type == FLAC_SEEKTABLE;
		if (p->rd.size - pos - FLAC_HDR_LEN < b.len)
			return mf_reader_fail(&p->rd, -EBADMSG,
					  "metadata block %u runs past end of file",
					  index);
		if (report) {
			ret = probe_block(p, &b);
			block_release(&b);
			if (ret)
				return ret;
		}
		pos += FLAC_HDR_LEN + (uint64_t)b.len;
		if (index == UINT32_MAX)
			return mf_reader_fail(&p->rd, -EBADMSG, "too many metadata blocks");
		index++;
	}
	*audio_offset = pos;
	return 0;
}

int mf_flac_probe(const struct mf_probe_src *src,
		  const struct mf_sink *sink, char *why, size_t whylen)
{
	static const struct mf_sink no_sink;
	struct probe p = { .rd = { .why = why, .whylen = whylen },
			   .sink = sink ? sink : &no_sink };
	uint64_t first = 0, audio_offset = 0, again = 0;
	uint8_t sync[2];
	int ret;

	ret = mf_reader_init(&p.rd, src);
	if (ret)
		return ret;

	ret = probe_marker(&p, &first);
	if (ret)
		return ret;
	ret = probe_walk(&p, first, false, &audio_offset);
	if (ret)
		return ret;
	if (audio_offset >= p.rd.size)
		return mf_reader_fail(&p.rd, -EBADMSG, "no audio after the metadata");
	ret = mf_reader_read(&p.rd, sync, sizeof(sync), audio_offset, "frame header");
	if (ret)
		return ret;
	if (sync[0] != 0xff || (sync[1] & 0xfe) != 0xf8)
		return mf_reader_fail(&p.rd, -EBADMSG, "no frame sync at audio offset");
	p.audio_offset = audio_offset;
	p.audio_length = p.rd.size - audio_offset;

	if (p.sink->on_audio_range) {
		ret = p.sink->on_audio_range(p.sink->ctx, p.audio_offset,
					     p.audio_length);
		if (ret)
			return ret;
	}
	ret = probe_walk(&p, first, true, &again);
	if (ret)
		return ret;
	if (again != audio_offset)
		return mf_reader_fail(&p.rd, -EIO, "file changed while probing");
	return 0;
}

/* ---- synthesis ---- */

/* Which binary tags become blocks, and as what type (0 = ignored). */
static unsigned bin_block_type(const struct mf_synth_bin *b)
{
	if (!b->key)
		return 0;
	if (strcmp(b->key, "flac:application") == 0)
		return FLAC_APPLICATION;
	if (strcmp(b->key, "flac:cuesheet") == 0)
		return FLAC_CUESHEET;
	return 0;
}

/* Append a block header to @l. */
static int add_hdr(struct mf_layout *l, bool last, unsigned type, uint32_t len)
{
	uint8_t h[FLAC_HDR_LEN];

	put_hdr(h, last, type, len);
	return mf_layout_add_inline(l, h, sizeof(h));
}

/* Append a PICTURE block (section 8.8); the image is a BLOB segment. */
static int add_picture(struct mf_layout *l, const struct mf_synth_pic *pic,
		       bool last)
{
	int ret;

	ret = add_hdr(l, last, FLAC_PICTURE,
		      (uint32_t)mf_picture_body_len(pic));
	return ret ? ret : mf_picture_add(l, pic, true);
}

/* Check what mf_flac_synth() refuses, before building anything. */
static int synth_validate(const struct mf_flac_track *t, size_t *nblocks)
{
	size_t i, n = 1;	/* the VORBIS_COMMENT */

	if (!t->streaminfo || t->streaminfo_len != MF_FLAC_STREAMINFO_LEN)
		return -EINVAL;
	if (t->seektable_len % FLAC_SEEKPOINT_LEN ||
	    (t->seektable_len && !t->seektable))
		return -EINVAL;
	if (t->seektable_len > MF_FLAC_BLOCK_MAX)
		return -EFBIG;
	if ((t->ntags && !t->tags) || (t->npics && !t->pics) ||
	    (t->nbins && !t->bins))
		return -EINVAL;
	for (i = 0; i < t->npics; i++) {
		const struct mf_synth_pic *pic = &t->pics[i];

		if (!pic->mime || !pic->desc ||
		    !mf_picture_mime_ok(pic->mime, strlen(pic->mime)))
			return -EINVAL;
		if (pic->len > MF_FLAC_BLOCK_MAX ||
		    mf_picture_body_len(pic) > MF_FLAC_BLOCK_MAX)
			return -EFBIG;
		n++;
	}
	for (i = 0; i < t->nbins; i++) {
		unsigned type = bin_block_type(&t->bins[i]);

		if (!type)
			continue;
		if (type == FLAC_APPLICATION && t->bins[i].len < 4)
			return -EINVAL;
		if (t->bins[i].len > MF_FLAC_BLOCK_MAX)
			return -EFBIG;
		n++;
	}
	*nblocks = n;
	return 0;
}

int mf_flac_synth(const struct mf_flac_track *t, struct mf_layout **out)
{
	const size_t vendor_len = strlen(FLAC_VENDOR);
	struct mf_layout *l = NULL;
	uint64_t tags_len;
	uint32_t count;
	size_t nblocks, left, i;
	int ret;

	if (!t || !out)
		return -EINVAL;
	ret = synth_validate(t, &nblocks);
	if (ret)
		return ret;
	/* the VORBIS_COMMENT body (Vorbis I spec 5.2.1 without the framing
	 * bit, as RFC 9639 section 8.6 requires) */
	ret = mf_vorbis_measure(t->tags, t->ntags,
				MF_FLAC_BLOCK_MAX - (8 + vendor_len), FLAC_DOM,
				&count, &tags_len);
	if (ret)
		return ret;
	l = mf_layout_new();
	if (!l) {
		ret = -ENOMEM;
		goto out;
	}

	if ((ret = mf_layout_add_inline(l, "fLaC", 4)) ||
	    (ret = add_hdr(l, false, FLAC_STREAMINFO, MF_FLAC_STREAMINFO_LEN)) ||
	    (ret = mf_layout_add_inline(l, t->streaminfo, t->streaminfo_len)))
		goto out;
	if (t->seektable_len &&
	    ((ret = add_hdr(l, false, FLAC_SEEKTABLE,
			    (uint32_t)t->seektable_len)) ||
	     (ret = mf_layout_add_inline(l, t->seektable, t->seektable_len))))
		goto out;

	left = nblocks - 1;
	if ((ret = add_hdr(l, left == 0, FLAC_VORBIS_COMMENT,
			   (uint32_t)(8 + vendor_len + tags_len))) ||
	    (ret = mf_vorbis_add_head(l, FLAC_VENDOR, vendor_len, count)) ||
	    (ret = mf_vorbis_add_tags(l, t->tags, t->ntags)))
		goto out;
	for (i = 0; i < t->npics; i++) {
		ret = add_picture(l, &t->pics[i], --left == 0);
		if (ret)
			goto out;
	}
	for (i = 0; i < t->nbins; i++) {
		const struct mf_synth_bin *b = &t->bins[i];
		unsigned type = bin_block_type(b);

		if (!type)
			continue;
		if ((ret = add_hdr(l, --left == 0, type, (uint32_t)b->len)) ||
		    (ret = mf_layout_add_blob(l, &b->ref, 0, b->len)))
			goto out;
	}
	ret = mf_layout_add_backing(l, t->audio_offset, t->audio_length);
	if (ret)
		goto out;
	*out = l;
	l = NULL;
out:
	mf_layout_free(l);
	return ret;
}

int mf_flac_synth_input(const struct mf_synth_input *in,
			struct mf_layout **out)
{
	struct mf_flac_track ft;
	int ret;

	memset(&ft, 0, sizeof(ft));
	for (size_t i = 0; i < in->nblocks; i++) {
		const struct mf_synth_block *b = &in->blocks[i];

		if (strcmp(b->kind, "streaminfo") == 0) {
			ft.streaminfo = b->data;
			ft.streaminfo_len = b->len;
		} else if (strcmp(b->kind, "seektable") == 0) {
			ft.seektable = b->data;
			ft.seektable_len = b->len;
		}
	}
	if (!ft.streaminfo || ft.streaminfo_len != MF_FLAC_STREAMINFO_LEN)
		return -EIO;
	ft.tags = in->tags;
	ft.ntags = in->ntags;
	ft.pics = in->pics;
	ft.npics = in->npics;
	ft.bins = in->bins;
	ft.nbins = in->nbins;
	ft.audio_offset = in->audio_offset;
	ft.audio_length = in->audio_length;
	ret = mf_flac_synth(&ft, out);
	if (ret == -EINVAL || ret == -EOVERFLOW)
		ret = -EIO;
	return ret;
}
