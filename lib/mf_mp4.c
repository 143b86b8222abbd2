/* SPDX-License-Identifier: MIT */
/*
 * mf_mp4 - MPEG-4 audio probe and synthesis (ISO/IEC 14496-12 boxes,
 * iTunes 'ilst' metadata).
 *
 * The probe walks the top-level boxes with pread(2), reads the one moov
 * box into memory and parses it there; every box size is checked against
 * its parent before use. Synthesis re-serializes the stored moov with a
 * new udta/meta/ilst and shifted chunk offsets.
 *
 * Divisions: byte helpers and the in-memory box parser; the tag tables;
 * image headers; probe; synthesis.
 */
#include "mf_mp4.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mf_bytes.h"
#include "mf_image.h"
#include "mf_log.h"
#include "mf_reader.h"
#include "mf_vocab.h"

#include "mf_banned.h"

#define MP4_DOM "mp4"

#define FOURCC(a, b, c, d) \
	((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | \
	 (uint32_t)(d))

#define T_FTYP FOURCC('f', 't', 'y', 'p')
#define T_MOOV FOURCC('m', 'o', 'o', 'v')
#define T_MDAT FOURCC('m', 'd', 'a', 't')
#define T_FREE FOURCC('f', 'r', 'e', 'e')
#define T_SKIP FOURCC('s', 'k', 'i', 'p')
#define T_WIDE FOURCC('w', 'i', 'd', 'e')
#define T_MOOF FOURCC('m', 'o', 'o', 'f')
#define T_MFRA FOURCC('m', 'f', 'r', 'a')
#define T_MVEX FOURCC('m', 'v', 'e', 'x')
#define T_UUID FOURCC('u', 'u', 'i', 'd')
#define T_MVHD FOURCC('m', 'v', 'h', 'd')
#define T_TRAK FOURCC('t', 'r', 'a', 'k')
#define T_MDIA FOURCC('m', 'd', 'i', 'a')
#define T_MDHD FOURCC('m', 'd', 'h', 'd')
#define T_HDLR FOURCC('h', 'd', 'l', 'r')
#define T_MINF FOURCC('m', 'i', 'n', 'f')
#define T_STBL FOURCC('s', 't', 'b', 'l')
#define T_STSD FOURCC('s', 't', 's', 'd')
#define T_STCO FOURCC('s', 't', 'c', 'o')
#define T_CO64 FOURCC('c', 'o', '6', '4')
#define T_UDTA FOURCC('u', 'd', 't', 'a')
#define T_META FOURCC('m', 'e', 't', 'a')
#define T_ILST FOURCC('i', 'l', 's', 't')
#define T_MDIR FOURCC('m', 'd', 'i', 'r')
#define T_SOUN FOURCC('s', 'o', 'u', 'n')
#define T_VIDE FOURCC('v', 'i', 'd', 'e')
#define T_MP4A FOURCC('m', 'p', '4', 'a')
#define T_ALAC FOURCC('a', 'l', 'a', 'c')
#define T_ESDS FOURCC('e', 's', 'd', 's')
#define T_DATA FOURCC('d', 'a', 't', 'a')
#define T_MEAN FOURCC('m', 'e', 'a', 'n')
#define T_NAME FOURCC('n', 'a', 'm', 'e')
#define T_FFRM FOURCC('-', '-', '-', '-')
#define T_COVR FOURCC('c', 'o', 'v', 'r')
#define T_M4B FOURCC('M', '4', 'B', ' ')

#define MP4_DEPTH_MAX 16	/* nesting we follow inside moov */
#define MP4_TOP_MAX 4096	/* top-level boxes */
#define MP4_FTYP_MAX 4096	/* bytes */
#define MP4_MOOV_MAX (64u << 20)	/* moov read into memory, bytes */
#define MP4_ITUNES "com.apple.iTunes"

/* 'data' box type indicators (QuickTime well-known types). */
enum {
	DT_BINARY = 0,
	DT_UTF8 = 1,
	DT_GIF = 12,
	DT_JPEG = 13,
	DT_PNG = 14,
	DT_BE_SIGNED = 21,
	DT_BMP = 27,
};

/* ---- byte helpers ---- */

/*
 * One box parsed from a buffer (section 4.2): @off is the header's
 * offset, @hdr the header bytes (8; 16 with largesize; +16 for 'uuid'),
 * @size the whole box.
 */
struct box {
	size_t off;
	size_t hdr;
	size_t size;
	uint32_t type;
};

/*
 * Parse the box header at @off of @buf, which holds a parent ending at
 * @end. A size of 0 runs to @end. -EBADMSG if the header or the box does
 * not fit.
 */
static int box_parse(const uint8_t *buf, size_t off, size_t end,
		     struct box *b)
{
	uint64_t size;
	size_t avail;

	if (off > end || end - off < 8)
		return -EBADMSG;
	avail = end - off;
	size = mf_get_be32(buf + off);
	b->type = mf_get_be32(buf + off + 4);
	b->hdr = 8;
	if (size == 1) {
		if (avail < 16)
			return -EBADMSG;
		size = mf_get_be64(buf + off + 8);
		b->hdr = 16;
	} else if (size == 0) {
		size = avail;
	}
	if (b->type == T_UUID)
		b->hdr += 16;
	if (size < b->hdr || size > avail)
		return -EBADMSG;
	b->off = off;
	b->size = (size_t)size;
	return 0;
}

static size_t box_end(const struct box *b)
{
	return b->off + b->size;
}

/*
 * Find the first child of type @type in @parent, whose children start
 * @skip bytes after its header (4 for a full box). Returns 1 and *@out,
 * 0 if absent, -EBADMSG if a child does not fit.
 */
static int box_child(const uint8_t *buf, const struct box *parent,
		     size_t skip, uint32_t type, struct box *out)
{
	size_t pos = parent->off + parent->hdr + skip, end = box_end(parent);
	struct box c;
	int ret;

	if (skip > parent->size - parent->hdr)
		return -EBADMSG;
	while (pos < end) {
		ret = box_parse(buf, pos, end, &c);
		if (ret)
			return ret;
		if (c.type == type) {
			*out = c;
			return 1;
		}
		pos = box_end(&c);
	}
	return 0;
}

/*
 * Bytes between a 'meta' header and its first child: 4 (version and
 * flags, ISO 14496-12 8.11.1) unless the box is the QuickTime kind
 * without them (its first child, 'hdlr', follows the header directly).
 */
static size_t meta_skip(const uint8_t *buf, const struct box *meta)
{
	const uint8_t *p = buf + meta->off + meta->hdr;

	if (meta->size - meta->hdr >= 8 && mf_get_be32(p + 4) == T_HDLR &&
	    mf_get_be32(p) >= 8)
		return 0;
	return 4;
}

/* Handler type of a 'meta' or 'mdia' box, 0 if none. */
static uint32_t handler_of(const uint8_t *buf, const struct box *parent,
			   size_t skip)
{
	struct box h;

	if (box_child(buf, parent, skip, T_HDLR, &h) != 1 ||
	    h.size - h.hdr < 12)
		return 0;
	return mf_get_be32(buf + h.off + h.hdr + 8);
}

/* ---- tag tables ---- */

enum item_kind {
	IK_TEXT,	/* UTF-8 'data' boxes, one per value */
	IK_TRKN,	/* tracknumber / totaltracks */
	IK_DISK,	/* discnumber / totaldiscs */
	IK_INT,		/* big-endian integer */
	IK_BOOL,	/* one byte, "0" / "1" */
	IK_GNRE,	/* ID3v1 genre number + 1 */
};

/* ilst items with a canonical key (Picard's MP4 mapping). */
static const struct item_map {
	uint32_t atom;
	const char *key;
	enum item_kind kind;
} items[] = {
	{ FOURCC(0xa9, 'n', 'a', 'm'), "title", IK_TEXT },
	{ FOURCC(0xa9, 'A', 'R', 'T'), "artist", IK_TEXT },
	{ FOURCC('a', 'A', 'R', 'T'), "albumartist", IK_TEXT },
	{ FOURCC(0xa9, 'a', 'l', 'b'), "album", IK_TEXT },
	{ FOURCC(0xa9, 'd', 'a', 'y'), "date", IK_TEXT },
	{ FOURCC(0xa9, 'g', 'e', 'n'), "genre", IK_TEXT },
	{ FOURCC(0xa9, 'w', 'r', 't'), "composer", IK_TEXT },
	{ FOURCC(0xa9, 'c', 'm', 't'), "comment", IK_TEXT },
	{ FOURCC(0xa9, 'l', 'y', 'r'), "lyrics", IK_TEXT },
	{ FOURCC(0xa9, 'g', 'r', 'p'), "grouping", IK_TEXT },
	{ FOURCC(0xa9, 't', 'o', 'o'), "encodedby", IK_TEXT },
	{ FOURCC(0xa9, 'w', 'r', 'k'), "work", IK_TEXT },
	{ FOURCC(0xa9, 'm', 'v', 'n'), "movement", IK_TEXT },
	{ FOURCC(0xa9, 'd', 'i', 'r'), "director", IK_TEXT },
	{ FOURCC('c', 'p', 'r', 't'), "copyright", IK_TEXT },
	{ FOURCC('s', 'o', 'a', 'r'), "artistsort", IK_TEXT },
	{ FOURCC('s', 'o', 'a', 'a'), "albumartistsort", IK_TEXT },
	{ FOURCC('s', 'o', 'n', 'm'), "titlesort", IK_TEXT },
	{ FOURCC('s', 'o', 'a', 'l'), "albumsort", IK_TEXT },
	{ FOURCC('s', 'o', 'c', 'o'), "composersort", IK_TEXT },
	{ FOURCC('s', 'o', 's', 'n'), "showsort", IK_TEXT },
	{ FOURCC('t', 'v', 's', 'h'), "show", IK_TEXT },
	{ FOURCC('p', 'u', 'r', 'l'), "podcasturl", IK_TEXT },
	{ FOURCC('t', 'r', 'k', 'n'), "tracknumber", IK_TRKN },
	{ FOURCC('d', 'i', 's', 'k'), "discnumber", IK_DISK },
	{ FOURCC('t', 'm', 'p', 'o'), "bpm", IK_INT },
	{ FOURCC(0xa9, 'm', 'v', 'i'), "movementnumber", IK_INT },
	{ FOURCC(0xa9, 'm', 'v', 'c'), "movementtotal", IK_INT },
	{ FOURCC('c', 'p', 'i', 'l'), "compilation", IK_BOOL },
	{ FOURCC('p', 'g', 'a', 'p'), "gapless", IK_BOOL },
	{ FOURCC('p', 'c', 's', 't'), "podcast", IK_BOOL },
	{ FOURCC('s', 'h', 'w', 'm'), "showmovement", IK_BOOL },
	{ FOURCC('g', 'n', 'r', 'e'), "genre", IK_GNRE },	/* read only */
};

/* com.apple.iTunes freeform names whose key is not the lowercased name. */
static const struct {
	const char *name;
	const char *key;
} freeforms[] = {
	{ "MusicBrainz Track Id", "musicbrainz_recordingid" },
	{ "MusicBrainz Release Track Id", "musicbrainz_trackid" },
	{ "MusicBrainz Album Id", "musicbrainz_albumid" },
	{ "MusicBrainz Artist Id", "musicbrainz_artistid" },
	{ "MusicBrainz Album Artist Id", "musicbrainz_albumartistid" },
	{ "MusicBrainz Release Group Id", "musicbrainz_releasegroupid" },
	{ "MusicBrainz Work Id", "musicbrainz_workid" },
	{ "MusicBrainz Disc Id", "musicbrainz_discid" },
	{ "MusicBrainz Original Artist Id", "musicbrainz_originalartistid" },
	{ "MusicBrainz Original Album Id", "musicbrainz_originalalbumid" },
	{ "MusicBrainz TRM Id", "musicbrainz_trmid" },
	{ "MusicBrainz Album Status", "releasestatus" },
	{ "MusicBrainz Album Type", "releasetype" },
	{ "MusicBrainz Album Release Country", "releasecountry" },
	{ "MusicIP PUID", "musicip_puid" },
	{ "Acoustid Id", "acoustid_id" },
	{ "Acoustid Fingerprint", "acoustid_fingerprint" },
	/* Picard writes these upper case; reading lowercases them anyway */
	{ "ASIN", "asin" },
	{ "BARCODE", "barcode" },
	{ "CATALOGNUMBER", "catalognumber" },
	{ "LABEL", "label" },
	{ "ISRC", "isrc" },
	{ "MEDIA", "media" },
	{ "SCRIPT", "script" },
	{ "LANGUAGE", "language" },
	{ "LICENSE", "license" },
	{ "MOOD", "mood" },
	{ "ARTISTS", "artists" },
	{ "CONDUCTOR", "conductor" },
	{ "REMIXER", "remixer" },
	{ "LYRICIST", "lyricist" },
	{ "WRITER", "writer" },
	{ "ENGINEER", "engineer" },
	{ "PRODUCER", "producer" },
	{ "DJMIXER", "djmixer" },
	{ "MIXER", "mixer" },
	{ "ORIGINALDATE", "originaldate" },
	{ "ORIGINALYEAR", "originalyear" },
	{ "SUBTITLE", "subtitle" },
	{ "DISCSUBTITLE", "discsubtitle" },
	{ "KEY", "key" },
};

/* ID3v1 genres with the Winamp extensions; gnre holds the index + 1. */
static const char *const id3v1_genres[] = {
	"Blues", "Classic Rock", "Country", "Dance", "Disco", "Funk",
	"Grunge", "Hip-Hop", "Jazz", "Metal", "New Age", "Oldies", "Other",
	"Pop", "R&B", "Rap", "Reggae", "Rock", "Techno", "Industrial",
	"Alternative", "Ska", "Death Metal", "Pranks", "Soundtrack",
	"Euro-Techno", "Ambient", "Trip-Hop", "Vocal", "Jazz+Funk", "Fusion",
	"Trance", "Classical", "Instrumental", "Acid", "House", "Game",
	"Sound Clip", "Gospel", "Noise", "Alternative Rock", "Bass", "Soul",
	"Punk", "Space", "Meditative", "Instrumental Pop",
	"Instrumental Rock", "Ethnic", "Gothic", "Darkwave",
	"Techno-Industrial", "Electronic", "Pop-Folk", "Eurodance", "Dream",
	"Southern Rock", "Comedy", "Cult", "Gangsta", "Top 40",
	"Christian Rap", "Pop/Funk", "Jungle", "Native American", "Cabaret",
	"New Wave", "Psychedelic", "Rave", "Showtunes", "Trailer", "Lo-Fi",
	"Tribal", "Acid Punk", "Acid Jazz", "Polka", "Retro", "Musical",
	"Rock & Roll", "Hard Rock", "Folk", "Folk-Rock", "National Folk",
	"Swing", "Fast Fusion", "Bebop", "Latin", "Revival", "Celtic",
	"Bluegrass", "Avantgarde", "Gothic Rock", "Progressive Rock",
	"Psychedelic Rock", "Symphonic Rock", "Slow Rock", "Big Band",
	"Chorus", "Easy Listening", "Acoustic", "Humour", "Speech",
	"Chanson", "Opera", "Chamber Music", "Sonata", "Symphony",
	"Booty Bass", "Primus", "Porn Groove", "Satire", "Slow Jam", "Club",
	"Tango", "Samba", "Folklore", "Ballad", "Power Ballad",
	"Rhythmic Soul", "Freestyle", "Duet", "Punk Rock", "Drum Solo",
	"A Cappella", "Euro-House", "Dance Hall", "Goa", "Drum & Bass",
	"Club-House", "Hardcore", "Terror", "Indie", "BritPop", "Afro-Punk",
	"Polsk Punk", "Beat", "Christian Gangsta Rap", "Heavy Metal",
	"Black Metal", "Crossover", "Contemporary Christian",
	"Christian Rock", "Merengue", "Salsa", "Thrash Metal", "Anime",
	"JPop", "Synthpop",
};

static const struct item_map *item_by_atom(uint32_t atom)
{
	for (size_t i = 0; i < sizeof(items) / sizeof(items[0]); i++)
		if (items[i].atom == atom)
			return &items[i];
	return NULL;
}

/* The item written for @key (never gnre), or NULL. */
static const struct item_map *item_by_key(const char *key)
{
	for (size_t i = 0; i < sizeof(items) / sizeof(items[0]); i++)
		if (items[i].kind != IK_GNRE && strcmp(items[i].key, key) == 0)
			return &items[i];
	return NULL;
}

/*
 * Spell atom name @atom in a binary tag key: "mp4:" then each byte as
 * itself when it may appear in a lowercase key, '©' for 0xa9, else
 * "%xx". @out holds at least 32 bytes.
 */
static void atom_key(uint32_t atom, char *out, size_t outlen)
{
	size_t n = 0;

	n += (size_t)snprintf(out, outlen, "mp4:");
	for (int i = 3; i >= 0 && n < outlen; i--) {
		unsigned c = (atom >> (8 * i)) & 0xff;

		if (c == 0xa9)
			n += (size_t)snprintf(out + n, outlen - n, "\xc2\xa9");
		else if (c > 0x20 && c < 0x7f && !(c >= 'A' && c <= 'Z') &&
			 c != '%' && c != '=')
			n += (size_t)snprintf(out + n, outlen - n, "%c", (char)c);
		else
			n += (size_t)snprintf(out + n, outlen - n, "%%%02x", c);
	}
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Inverse of atom_key(): 0 and *@atom, or -EINVAL. */
static int atom_from_key(const char *key, uint32_t *atom)
{
	const char *s;
	uint32_t v = 0;
	int n = 0;

	if (strncmp(key, "mp4:", 4) != 0)
		return -EINVAL;
	for (s = key + 4; *s; n++) {
		unsigned c;

		if (n == 4)
			return -EINVAL;
		if ((unsigned char)s[0] == 0xc2 && (unsigned char)s[1] == 0xa9) {
			c = 0xa9;
			s += 2;
		} else if (s[0] == '%') {
			int h = hexval(s[1]), l = h < 0 ? -1 : hexval(s[2]);

			if (l < 0)
				return -EINVAL;
			c = (unsigned)(h << 4 | l);
			s += 3;
		} else {
			c = (unsigned char)*s++;
		}
		v = v << 8 | c;
	}
	if (n != 4)
		return -EINVAL;
	*atom = v;
	return 0;
}

/* ---- image headers ---- */

/* MIME type of a covr image from its data type, else its magic. */
static const char *image_mime(uint32_t dtype, const uint8_t *d, size_t n)
{
	const char *mime;

	switch (dtype) {
	case DT_JPEG:
		return "image/jpeg";
	case DT_PNG:
		return "image/png";
	case DT_GIF:
		return "image/gif";
	case DT_BMP:
		return "image/bmp";
	default:
		break;
	}
	mime = mf_image_mime(d, n);
	return strcmp(mime, "image/") != 0 ? mime : NULL;
}

/* ---- probe ---- */

/* One top-level box of the file. */
struct fbox {
	uint64_t off;
	uint64_t size;
	uint32_t hdr;
	uint32_t type;
};

struct probe {
	struct mf_reader rd;		/* fd, size from fstat, why */
	const struct mf_sink *sink;
	struct fbox *top;		/* top-level boxes, file order */
	size_t ntop;
	uint8_t *moov;			/* the moov box, read whole */
	size_t moov_len;
	uint64_t audio_off;		/* first mdat payload byte */
	uint64_t audio_end;		/* end of the last mdat box */
	bool m4b_name;			/* the file is named *.m4b */
};

static void fourcc_str(uint32_t t, char out[5])
{
	for (int i = 0; i < 4; i++) {
		unsigned c = (t >> (24 - 8 * i)) & 0xff;

		out[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	out[4] = '\0';
}

/* Walk the top-level boxes into p->top. */
static int probe_top(struct probe *p)
{
	uint64_t off = 0;
	uint8_t h[16];
	size_t cap = 0;
	int ret;

	while (off < p->rd.size) {
		struct fbox b;
		uint64_t avail = p->rd.size - off;
		char name[5];

		if (avail < 8 && p->ntop == 0)
			return mf_reader_fail(&p->rd, -EINVAL, "not an MP4 file (too short)");
		if (avail < 8)
			return mf_reader_fail(&p->rd, -EBADMSG,
					  "truncated box header at offset %llu",
					  (unsigned long long)off);
		ret = mf_reader_read(&p->rd, h, avail < 16 ? (size_t)avail : 16, off,
				 "box header");
		if (ret)
			return ret;
		b.off = off;
		b.size = mf_get_be32(h);
		b.type = mf_get_be32(h + 4);
		b.hdr = 8;
		if (b.size == 1) {
			if (avail < 16)
				return mf_reader_fail(&p->rd, -EBADMSG,
						  "truncated box header at offset %llu",
						  (unsigned long long)off);
			b.size = mf_get_be64(h + 8);
			b.hdr = 16;
		} else if (b.size == 0) {
			b.size = avail;
		}
		if (b.type == T_UUID)
			b.hdr += 16;
		fourcc_str(b.type, name);
		if (p->ntop == 0 && b.type != T_FTYP)
			return mf_reader_fail(&p->rd, -EINVAL,
					  "not an MP4 file (no ftyp box)");
		if (b.size < b.hdr || b.size > avail)
			return mf_reader_fail(&p->rd, -EBADMSG,
					  "box '%s' at offset %llu runs past end of file",
					  name, (unsigned long long)off);
		if (p->ntop == MP4_TOP_MAX)
			return mf_reader_fail(&p->rd, -ENOTSUP, "too many top-level boxes");
		if (p->ntop == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct fbox *n = realloc(p->top, ncap * sizeof(*n));

			if (!n)
				return mf_reader_fail(&p->rd, -ENOMEM, "out of memory");
			p->top = n;
			cap = ncap;
		}
		p->top[p->ntop++] = b;
		off += b.size;
	}
	if (p->ntop == 0)
		return mf_reader_fail(&p->rd, -EINVAL, "not an MP4 file (empty)");
	return 0;
}

/* Is @t one of the top-level boxes dropped on synthesis? */
static bool top_dropped(uint32_t t)
{
	return t == T_FREE || t == T_SKIP || t == T_WIDE;
}

/* Report the text tag @key = @v (@len bytes). */
static int report_tag(struct probe *p, const char *key, const void *v,
		      size_t len)
{
	if (!p->sink->on_tag)
		return 0;
	return p->sink->on_tag(p->sink->ctx, key, v, len);
}

static int report_uint(struct probe *p, const char *key, uint64_t v)
{
	char num[24];
	int n = snprintf(num, sizeof(num), "%llu", (unsigned long long)v);

	return report_tag(p, key, num, (size_t)n);
}

/*
 * One 'data' box of an item: the type indicator (low 24 bits), the
 * payload after the type and locale fields.
 */
struct data_box {
	uint32_t type;
	const uint8_t *v;
	size_t len;
};

static int data_parse(const uint8_t *buf, const struct box *b,
		      struct data_box *d)
{
	if (b->type != T_DATA || b->size - b->hdr < 8)
		return -EBADMSG;
	d->type = mf_get_be32(buf + b->off + b->hdr) & 0xffffff;
	d->v = buf + b->off + b->hdr + 8;
	d->len = b->size - b->hdr - 8;
	return 0;
}

/* Big-endian unsigned integer of 1, 2, 4 or 8 bytes. */
static bool be_uint(const uint8_t *v, size_t len, uint64_t *out)
{
	switch (len) {
	case 1:
		*out = v[0];
		return true;
	case 2:
		*out = mf_get_be16(v);
		return true;
	case 4:
		*out = mf_get_be32(v);
		return true;
	case 8:
		*out = mf_get_be64(v);
		return true;
	default:
		return false;
	}
}

/*
 * Can the item be read as @m says? Every child must be a 'data' box of
 * a type that fits. Returns true when the item is to be reported as
 * tags, false to keep it as a binary tag.
 */
static bool item_readable(const uint8_t *buf, const struct box *item,
			  const struct item_map *m)
{
	size_t pos = item->off + item->hdr, end = box_end(item);
	unsigned n = 0;
	uint64_t v;

	while (pos < end) {
		struct box c;
		struct data_box d;

		if (box_parse(buf, pos, end, &c) || data_parse(buf, &c, &d))
			return false;
		pos = box_end(&c);
		n++;
		switch (m->kind) {
		case IK_TEXT:
			if (d.type != DT_UTF8 || memchr(d.v, 0, d.len))
				return false;
			break;
		case IK_TRKN:
		case IK_DISK:
			if (n > 1 || (d.type != DT_BINARY &&
				      d.type != DT_BE_SIGNED) || d.len < 6)
				return false;
			break;
		case IK_INT:
		case IK_BOOL:
			if ((d.type != DT_BINARY && d.type != DT_BE_SIGNED) ||
			    !be_uint(d.v, d.len, &v))
				return false;
			if (m->kind == IK_BOOL && (n > 1 || v > 1))
				return false;
			break;
		case IK_GNRE:
			if (n > 1 || !be_uint(d.v, d.len, &v) || v == 0 ||
			    v > sizeof(id3v1_genres) / sizeof(id3v1_genres[0]))
				return false;
			break;
		}
	}
	return n > 0;
}

static int probe_binary(struct probe *p, const uint8_t *buf,
			const struct box *item)
{
	char key[40];

	if (item->hdr != 8) {
		mf_warn(MP4_DOM, "skipping an ilst item with an extended header");
		return 0;
	}
	if (!p->sink->on_binary_tag)
		return 0;
	atom_key(item->type, key, sizeof(key));
	return p->sink->on_binary_tag(p->sink->ctx, key,
				      buf + item->off + item->hdr,
				      item->size - item->hdr);
}

static int probe_mapped(struct probe *p, const uint8_t *buf,
			const struct box *item, const struct item_map *m)
{
	size_t pos = item->off + item->hdr, end = box_end(item);
	int ret = 0;

	while (pos < end && !ret) {
		struct box c;
		struct data_box d;
		uint64_t v = 0;

		if (box_parse(buf, pos, end, &c) || data_parse(buf, &c, &d))
			return -EBADMSG;	/* item_readable() said no */
		pos = box_end(&c);
		switch (m->kind) {
		case IK_TEXT:
			ret = report_tag(p, m->key, d.v, d.len);
			break;
		case IK_TRKN:
		case IK_DISK:
			v = mf_get_be16(d.v + 2);
			if (v)
				ret = report_uint(p, m->key, v);
			v = mf_get_be16(d.v + 4);
			if (v && !ret)
				ret = report_uint(p, m->kind == IK_TRKN ?
						  "totaltracks" : "totaldiscs", v);
			break;
		case IK_INT:
			be_uint(d.v, d.len, &v);
			ret = report_uint(p, m->key, v);
			break;
		case IK_BOOL:
			be_uint(d.v, d.len, &v);
			ret = report_tag(p, m->key, v ? "1" : "0", 1);
			break;
		case IK_GNRE:
			be_uint(d.v, d.len, &v);
			ret = report_tag(p, m->key, id3v1_genres[v - 1],
					 strlen(id3v1_genres[v - 1]));
			break;
		}
	}
	return ret;
}

/* The canonical key of freeform name @n (@len bytes) into @key. */
static bool freeform_key(const uint8_t *n, size_t len, char *key,
			 size_t keylen)
{
	for (size_t i = 0; i < sizeof(freeforms) / sizeof(freeforms[0]); i++) {
		if (strlen(freeforms[i].name) == len &&
		    strncasecmp(freeforms[i].name, (const char *)n, len) == 0) {
			snprintf(key, keylen, "%s", freeforms[i].key);
			return true;
		}
	}
	if (len == 0 || len >= keylen || memchr(n, 0, len))
		return false;
	for (size_t i = 0; i < len; i++)
		key[i] = (char)(n[i] >= 'A' && n[i] <= 'Z' ? n[i] + 32 : n[i]);
	key[len] = '\0';
	return mf_vocab_key_valid(key) && strncmp(key, "mp4:", 4) != 0;
}

/*
 * A freeform '----' item: com.apple.iTunes text becomes tags, anything
 * else (another mean, binary data) is kept whole as "mp4:----".
 */
static int probe_freeform(struct probe *p, const uint8_t *buf,
			  const struct box *item)
{
	size_t pos = item->off + item->hdr, end = box_end(item);
	const uint8_t *mean = NULL, *name = NULL;
	size_t mean_len = 0, name_len = 0, ndata = 0;
	char key[MF_VOCAB_KEY_MAX + 1];
	int ret;

	while (pos < end) {
		struct box c;
		struct data_box d;

		if (box_parse(buf, pos, end, &c))
			return probe_binary(p, buf, item);
		pos = box_end(&c);
		if ((c.type == T_MEAN || c.type == T_NAME) &&
		    c.size - c.hdr >= 4) {
			const uint8_t **s = c.type == T_MEAN ? &mean : &name;
			size_t *l = c.type == T_MEAN ? &mean_len : &name_len;

			if (*s)
				return probe_binary(p, buf, item);
			*s = buf + c.off + c.hdr + 4;
			*l = c.size - c.hdr - 4;
		} else if (!data_parse(buf, &c, &d) && d.type == DT_UTF8) {
			ndata++;
		} else {
			return probe_binary(p, buf, item);
		}
	}
	if (!mean || !name || !ndata || mean_len != strlen(MP4_ITUNES) ||
	    memcmp(mean, MP4_ITUNES, mean_len) != 0 ||
	    !freeform_key(name, name_len, key, sizeof(key)))
		return probe_binary(p, buf, item);
	for (pos = item->off + item->hdr; pos < end;) {
		struct box c;
		struct data_box d;

		if (box_parse(buf, pos, end, &c))
			return -EBADMSG;
		pos = box_end(&c);
		if (data_parse(buf, &c, &d))
			continue;
		/* old Picard versions wrote a trailing NUL */
		while (d.len && d.v[d.len - 1] == 0)
			d.len--;
		if (memchr(d.v, 0, d.len)) {
			mf_warn(MP4_DOM, "skipping freeform value of '%s' with a NUL",
				key);
			continue;
		}
		ret = report_tag(p, key, d.v, d.len);
		if (ret)
			return ret;
	}
	return 0;
}

static int probe_covr(struct probe *p, const uint8_t *buf,
		      const struct box *item)
{
	size_t pos = item->off + item->hdr, end = box_end(item);
	int ret;

	while (pos < end) {
		struct box c;
		struct data_box d;
		struct mf_picture pic;

		if (box_parse(buf, pos, end, &c))
			return mf_reader_fail(&p->rd, -EBADMSG, "malformed covr item");
		pos = box_end(&c);
		if (data_parse(buf, &c, &d)) {
			mf_warn(MP4_DOM, "skipping a covr child that is not data");
			continue;
		}
		memset(&pic, 0, sizeof(pic));
		pic.mime = image_mime(d.type, d.v, d.len);
		if (!pic.mime || d.len == 0) {
			mf_warn(MP4_DOM, "skipping a covr image of unknown type %u",
				(unsigned)d.type);
			continue;
		}
		pic.type = 3;	/* front cover: MP4 has no picture types */
		pic.desc = "";
		pic.data = d.v;
		pic.len = d.len;
		mf_image_info(d.v, d.len, &pic.width, &pic.height, &pic.depth,
			      &pic.colors);
		if (p->sink->on_picture) {
			ret = p->sink->on_picture(p->sink->ctx, &pic);
			if (ret)
				return ret;
		}
	}
	return 0;
}

static int probe_ilst(struct probe *p, const uint8_t *buf,
		      const struct box *ilst)
{
	size_t pos = ilst->off + ilst->hdr, end = box_end(ilst);
	int ret;

	while (pos < end) {
		struct box item;
		const struct item_map *m;

		if (box_parse(buf, pos, end, &item))
			return mf_reader_fail(&p->rd, -EBADMSG, "malformed ilst item");
		pos = box_end(&item);
		m = item_by_atom(item.type);
		if (item.type == T_FFRM)
			ret = probe_freeform(p, buf, &item);
		else if (item.type == T_COVR)
			ret = probe_covr(p, buf, &item);
		else if (m && item_readable(buf, &item, m))
			ret = probe_mapped(p, buf, &item, m);
		else
			ret = probe_binary(p, buf, &item);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * Check the 'stco'/'co64' box @b: its entry count must fill it exactly
 * and every offset lie within the audio range.
 */
static int check_chunks(struct probe *p, const uint8_t *buf,
			const struct box *b)
{
	const uint8_t *d = buf + b->off + b->hdr;
	size_t body = b->size - b->hdr, esz = b->type == T_CO64 ? 8 : 4;
	uint64_t n, v;

	if (body < 8)
		return mf_reader_fail(&p->rd, -EBADMSG, "chunk offset box too short");
	n = mf_get_be32(d + 4);
	if (n > (body - 8) / esz || (body - 8) != n * esz)
		return mf_reader_fail(&p->rd, -EBADMSG,
				  "chunk offset count does not fit its box");
	for (uint64_t i = 0; i < n; i++) {
		v = esz == 8 ? mf_get_be64(d + 8 + i * 8) : mf_get_be32(d + 8 + i * 4);
		if (v < p->audio_off || v >= p->audio_end)
			return mf_reader_fail(&p->rd, -ENOTSUP,
					  "chunk offset %llu outside mdat",
					  (unsigned long long)v);
	}
	return 0;
}

/* Duration of an mvhd/mdhd body: timescale and duration. */
static bool read_times(const uint8_t *buf, const struct box *b,
		       uint32_t *timescale, uint64_t *duration)
{
	const uint8_t *d = buf + b->off + b->hdr;
	size_t body = b->size - b->hdr;

	if (body < 4)
		return false;
	if (d[0] == 1) {
		if (body < 4 + 8 + 8 + 4 + 8)
			return false;
		*timescale = mf_get_be32(d + 20);
		*duration = mf_get_be64(d + 24);
	} else {
		if (body < 4 + 4 + 4 + 4 + 4)
			return false;
		*timescale = mf_get_be32(d + 12);
		*duration = mf_get_be32(d + 16);
		if (*duration == UINT32_MAX)
			*duration = 0;
	}
	return *timescale != 0;
}

/* Read an MPEG-4 descriptor length (ISO 14496-1 8.3.3). */
static bool desc_len(const uint8_t *d, size_t n, size_t *pos, size_t *len)
{
	size_t v = 0;

	for (int i = 0; i < 4; i++) {
		if (*pos >= n)
			return false;
		v = v << 7 | (d[*pos] & 0x7f);
		if (!(d[(*pos)++] & 0x80)) {
			*len = v;
			return v <= n - *pos;
		}
	}
	return false;
}

/* @n bits (at most 8) at bit @at of @d (@len bytes), MSB first; 0 past it. */
static unsigned bits_at(const uint8_t *d, size_t len, unsigned at, unsigned n)
{
	unsigned v = 0;

	for (unsigned i = 0; i < n; i++, at++) {
		unsigned bit = 0;

		if (at / 8 < len)
			bit = ((unsigned)d[at / 8] >> (7 - at % 8)) & 1u;
		v = v << 1 | bit;
	}
	return v;
}

/*
 * From an 'esds' body (ISO 14496-1 7.2.6.5-7): the average bitrate in
 * bit/s (0 if none) and the channel count of the AudioSpecificConfig
 * (ISO 14496-3 1.6.2.1; 0 if none).
 */
static void esds_info(const uint8_t *d, size_t n, uint32_t *bps,
		      uint32_t *channels)
{
	size_t pos = 4, len, end;	/* version and flags */
	unsigned flags, bits, cfg;

	*bps = 0;
	*channels = 0;
	if (pos >= n || d[pos++] != 0x03 || !desc_len(d, n, &pos, &len))
		return;
	n = pos + len;
	if (n - pos < 3)
		return;
	flags = d[pos + 2];
	pos += 3;
	if (flags & 0x80)
		pos += 2;
	if (flags & 0x40) {
		if (pos >= n)
			return;
		pos += 1 + (size_t)d[pos];
	}
	if (flags & 0x20)
		pos += 2;
	if (pos >= n || d[pos++] != 0x04 || !desc_len(d, n, &pos, &len) ||
	    len < 13)
		return;
	*bps = mf_get_be32(d + pos + 9);
	end = pos + len;
	pos += 13;
	if (pos >= end || d[pos++] != 0x05 || !desc_len(d, end, &pos, &len) ||
	    len < 2)
		return;
	/* 5 bits object type (31: 6 more), 4 bits rate index (15: 24 more) */
	bits = bits_at(d + pos, len, 0, 5) == 31 ? 11 : 5;
	bits += bits_at(d + pos, len, bits, 4) == 15 ? 28 : 4;
	if (bits + 4 > len * 8)
		return;
	cfg = bits_at(d + pos, len, bits, 4);
	if (cfg >= 1 && cfg <= 6)
		*channels = cfg;
	else if (cfg == 7)
		*channels = 8;
}

/* Audio properties of the sound track @trak. */
static int probe_props(struct probe *p, const uint8_t *buf,
		       const struct box *trak)
{
	struct mf_audio_props props;
	struct box mdia, mdhd, minf, stbl, stsd, child;
	uint32_t timescale = 0, esds_bps = 0, esds_ch = 0;
	uint64_t duration = 0;
	const uint8_t *e;
	size_t elen, ver_skip;
	uint32_t etype;

	memset(&props, 0, sizeof(props));
	if (box_child(buf, trak, 0, T_MDIA, &mdia) != 1)
		return mf_reader_fail(&p->rd, -EBADMSG, "sound track without mdia");
	if (box_child(buf, &mdia, 0, T_MDHD, &mdhd) == 1)
		read_times(buf, &mdhd, &timescale, &duration);
	if (box_child(buf, &mdia, 0, T_MINF, &minf) == 1 &&
	    box_child(buf, &minf, 0, T_STBL, &stbl) == 1 &&
	    box_child(buf, &stbl, 0, T_STSD, &stsd) == 1 &&
	    stsd.size - stsd.hdr >= 8 + 36) {
		struct box entry;

		if (box_parse(buf, stsd.off + stsd.hdr + 8, box_end(&stsd),
			      &entry) == 0 && entry.size - entry.hdr >= 28) {
			e = buf + entry.off + entry.hdr;
			elen = entry.size - entry.hdr;
			etype = entry.type;
			/* QuickTime sound description versions 1 and 2 */
			ver_skip = mf_get_be16(e + 8) == 1 ? 16 :
				   mf_get_be16(e + 8) == 2 ? 36 : 0;
			props.channels = mf_get_be16(e + 16);
			props.bits_per_sample = mf_get_be16(e + 18);
			props.sample_rate = mf_get_be32(e + 24) >> 16;
			if (ver_skip == 36)
				props.sample_rate = 0;
			if (etype == T_MP4A)
				props.bits_per_sample = 0;	/* lossy */
			if (elen >= 28 + ver_skip) {
				struct box inner = entry;

				inner.hdr = entry.hdr + 28 + ver_skip;
				if (etype == T_ALAC &&
				    box_child(buf, &inner, 0, T_ALAC, &child) == 1 &&
				    child.size - child.hdr >= 4 + 24) {
					const uint8_t *a = buf + child.off +
							   child.hdr + 4;

					props.bits_per_sample = a[5];
					props.channels = a[9];
					props.sample_rate = mf_get_be32(a + 20);
				} else if (etype == T_MP4A &&
					   box_child(buf, &inner, 0, T_ESDS,
						     &child) == 1) {
					esds_info(buf + child.off + child.hdr,
						  child.size - child.hdr,
						  &esds_bps, &esds_ch);
					if (esds_ch)
						props.channels = esds_ch;
				}
			}
		}
	}
	if (!props.sample_rate)
		props.sample_rate = timescale;
	if (timescale && duration) {
		props.duration_ms = duration / timescale * 1000 +
				    duration % timescale * 1000 / timescale;
		if (props.sample_rate == timescale)
			props.total_samples = duration;
		else if (props.sample_rate)
			props.total_samples = (uint64_t)((double)duration *
				props.sample_rate / timescale);
	}
	if (esds_bps)
		props.bitrate_kbps = (esds_bps + 500) / 1000;
	else if (props.duration_ms &&
		 p->audio_end - p->audio_off <= UINT64_MAX / 8) {
		uint64_t kbps = (p->audio_end - p->audio_off) * 8 /
				props.duration_ms;

		props.bitrate_kbps = kbps > UINT32_MAX ? UINT32_MAX
						       : (uint32_t)kbps;
	}
	if (!p->sink->on_props)
		return 0;
	return p->sink->on_props(p->sink->ctx, &props);
}

/* Check every track of the moov; report props of the first sound track. */
static int probe_tracks(struct probe *p, const uint8_t *buf,
			const struct box *moov)
{
	size_t pos = moov->off + moov->hdr, end = box_end(moov);
	const struct box *sound = NULL;
	struct box first_sound;
	int ret;

	while (pos < end) {
		struct box trak, mdia, minf, stbl;
		uint32_t handler;

		if (box_parse(buf, pos, end, &trak))
			return mf_reader_fail(&p->rd, -EBADMSG, "malformed moov child");
		pos = box_end(&trak);
		if (trak.type == T_MVEX)
			return mf_reader_fail(&p->rd, -ENOTSUP, "fragmented MP4 (mvex)");
		if (trak.type != T_TRAK)
			continue;
		if (box_child(buf, &trak, 0, T_MDIA, &mdia) != 1)
			return mf_reader_fail(&p->rd, -EBADMSG, "track without mdia");
		handler = handler_of(buf, &mdia, 0);
		if (handler == T_VIDE)
			return mf_reader_fail(&p->rd, -ENOTSUP,
					  "not audio-only (has a video track)");
		if (handler == T_SOUN && !sound) {
			first_sound = trak;
			sound = &first_sound;
		}
		ret = box_child(buf, &mdia, 0, T_MINF, &minf);
		if (ret < 0)
			return mf_reader_fail(&p->rd, -EBADMSG, "malformed mdia");
		if (ret == 0)
			continue;
		ret = box_child(buf, &minf, 0, T_STBL, &stbl);
		if (ret < 0)
			return mf_reader_fail(&p->rd, -EBADMSG, "malformed minf");
		if (ret == 0)
			continue;
		for (size_t q = stbl.off + stbl.hdr; q < box_end(&stbl);) {
			struct box c;

			if (box_parse(buf, q, box_end(&stbl), &c))
				return mf_reader_fail(&p->rd, -EBADMSG, "malformed stbl");
			q = box_end(&c);
			if (c.type == T_STCO || c.type == T_CO64) {
				ret = check_chunks(p, buf, &c);
				if (ret)
					return ret;
			}
		}
	}
	if (!sound)
		return mf_reader_fail(&p->rd, -ENOTSUP, "no sound track");
	return probe_props(p, buf, sound);
}

/*
 * Check that every box inside @b (down to depth MP4_DEPTH_MAX for the
 * containers we walk) fits its parent: validates the whole moov once so
 * that later walks can trust it.
 */
static int check_tree(const uint8_t *buf, const struct box *b, int depth)
{
	static const uint32_t containers[] = {
		T_MOOV, T_TRAK, T_MDIA, T_MINF, T_STBL, T_UDTA, T_ILST,
		FOURCC('e', 'd', 't', 's'), FOURCC('d', 'i', 'n', 'f'),
	};
	size_t pos = b->off + b->hdr, end = box_end(b);
	bool container = false;
	int ret;

	if (depth > MP4_DEPTH_MAX)
		return -EBADMSG;
	for (size_t i = 0; i < sizeof(containers) / sizeof(containers[0]); i++)
		container |= b->type == containers[i];
	if (b->type == T_META) {
		pos += meta_skip(buf, b);
		container = pos <= end;
	}
	if (!container)
		return 0;
	while (pos < end) {
		struct box c;

		ret = box_parse(buf, pos, end, &c);
		if (ret)
			return ret;
		ret = check_tree(buf, &c, depth + 1);
		if (ret)
			return ret;
		pos = box_end(&c);
	}
	return 0;
}

/* The iTunes meta of moov/udta: *@udta, *@meta, *@ilst. 1 found, 0 not. */
static int find_ilst(const uint8_t *buf, const struct box *moov,
		     struct box *udta, struct box *meta, struct box *ilst)
{
	size_t pos, end;

	if (box_child(buf, moov, 0, T_UDTA, udta) != 1)
		return 0;
	for (pos = udta->off + udta->hdr, end = box_end(udta); pos < end;) {
		if (box_parse(buf, pos, end, meta))
			return 0;
		pos = box_end(meta);
		if (meta->type != T_META ||
		    handler_of(buf, meta, meta_skip(buf, meta)) != T_MDIR)
			continue;
		return box_child(buf, meta, meta_skip(buf, meta), T_ILST,
				 ilst) == 1;
	}
	return 0;
}

/* Subtract @n from the size field of the box header at @h. */
static void shrink_box(uint8_t *h, uint64_t n)
{
	uint32_t s = mf_get_be32(h);

	if (s == 1)
		mf_put_be64(h + 8, mf_get_be64(h + 8) - n);
	else if (s != 0)
		mf_put_be32(h, (uint32_t)(s - n));
}

/*
 * Report the moov with its ilst cut out (ancestor sizes shrunk by the
 * ilst size); the tags it held come back from the store.
 */
static int report_moov(struct probe *p, const uint8_t *buf,
		       const struct box *moov)
{
	struct box udta, meta, ilst;
	uint8_t *copy = NULL;
	size_t len = moov->size;
	int ret;

	if (find_ilst(buf, moov, &udta, &meta, &ilst) != 1) {
		if (len > MF_STRUCT_MAX)
			return mf_reader_fail(&p->rd, -ENOTSUP, "moov box too large");
		if (!p->sink->on_structural)
			return 0;
		return p->sink->on_structural(p->sink->ctx, "mp4:moov",
					      buf + moov->off, len);
	}
	len -= ilst.size;
	if (len > MF_STRUCT_MAX)
		return mf_reader_fail(&p->rd, -ENOTSUP, "moov box too large");
	copy = malloc(len);
	if (!copy)
		return mf_reader_fail(&p->rd, -ENOMEM, "out of memory");
	memcpy(copy, buf + moov->off, ilst.off - moov->off);
	memcpy(copy + (ilst.off - moov->off), buf + box_end(&ilst),
	       box_end(moov) - box_end(&ilst));
	shrink_box(copy, ilst.size);
	shrink_box(copy + (udta.off - moov->off), ilst.size);
	shrink_box(copy + (meta.off - moov->off), ilst.size);
	ret = 0;
	if (p->sink->on_structural)
		ret = p->sink->on_structural(p->sink->ctx, "mp4:moov", copy,
					     len);
	free(copy);
	if (ret)
		return ret;
	return probe_ilst(p, buf, &ilst);
}

/* Read top-level box @b whole and report it as structural @kind. */
static int report_top(struct probe *p, const struct fbox *b, const char *kind,
		      uint64_t len)
{
	uint8_t *data;
	int ret;

	if (len > MF_STRUCT_MAX)
		return mf_reader_fail(&p->rd, -ENOTSUP, "top-level box too large");
	if (!p->sink->on_structural)
		return 0;
	data = malloc(len ? (size_t)len : 1);
	if (!data)
		return mf_reader_fail(&p->rd, -ENOMEM, "out of memory");
	ret = mf_reader_read(&p->rd, data, (size_t)len, b->off, kind);
	if (!ret)
		ret = p->sink->on_structural(p->sink->ctx, kind, data,
					     (size_t)len);
	free(data);
	return ret;
}

static int probe_file(struct probe *p)
{
	const struct fbox *ftyp, *moov = NULL, *mdat1 = NULL, *mdatn = NULL;
	size_t i, imoov = 0, imdat1 = 0, imdatn = 0;
	struct box mbox;
	uint8_t order, ftyp_head[12];
	int ret;

	ret = probe_top(p);
	if (ret)
		return ret;
	ftyp = &p->top[0];
	if (ftyp->size > MP4_FTYP_MAX || ftyp->size < ftyp->hdr + 8 ||
	    ftyp->hdr != 8)
		return mf_reader_fail(&p->rd, -EBADMSG, "malformed ftyp box");
	for (i = 1; i < p->ntop; i++) {
		const struct fbox *b = &p->top[i];

		switch (b->type) {
		case T_FTYP:
			return mf_reader_fail(&p->rd, -EBADMSG, "second ftyp box");
		case T_MOOV:
			if (moov)
				return mf_reader_fail(&p->rd, -EBADMSG, "second moov box");
			moov = b;
			imoov = i;
			break;
		case T_MDAT:
			if (!mdat1) {
				mdat1 = b;
				imdat1 = i;
			}
			mdatn = b;
			imdatn = i;
			break;
		case T_MOOF:
		case T_MFRA:
		case FOURCC('s', 'i', 'd', 'x'):
		case FOURCC('s', 't', 'y', 'p'):
			return mf_reader_fail(&p->rd, -ENOTSUP, "fragmented MP4");
		default:
			break;
		}
	}
	if (!moov)
		return mf_reader_fail(&p->rd, -EBADMSG, "no moov box");
	if (!mdat1)
		return mf_reader_fail(&p->rd, -EBADMSG, "no mdat box");
	if (imoov > imdat1 && imoov < imdatn)
		return mf_reader_fail(&p->rd, -ENOTSUP, "moov between mdat boxes");
	if (moov->size > MP4_MOOV_MAX)
		return mf_reader_fail(&p->rd, -ENOTSUP, "moov box too large");
	p->audio_off = mdat1->off + mdat1->hdr;
	p->audio_end = mdatn->off + mdatn->size;
	if (p->audio_end <= p->audio_off)
		return mf_reader_fail(&p->rd, -EBADMSG, "empty mdat box");

	/* moov, in memory, checked whole before anything is reported */
	p->moov_len = (size_t)moov->size;
	p->moov = malloc(p->moov_len);
	if (!p->moov)
		return mf_reader_fail(&p->rd, -ENOMEM, "out of memory");
	ret = mf_reader_read(&p->rd, p->moov, p->moov_len, moov->off, "moov box");
	if (ret)
		return ret;
	if (mf_get_be32(p->moov) == 0) {
		if (p->moov_len > UINT32_MAX)
			return mf_reader_fail(&p->rd, -ENOTSUP, "moov box too large");
		mf_put_be32(p->moov, (uint32_t)p->moov_len);
	}
	if (box_parse(p->moov, 0, p->moov_len, &mbox) ||
	    mbox.size != p->moov_len || check_tree(p->moov, &mbox, 0))
		return mf_reader_fail(&p->rd, -EBADMSG, "malformed moov box");

	if (p->sink->on_audio_range) {
		ret = p->sink->on_audio_range(p->sink->ctx, p->audio_off,
					      p->audio_end - p->audio_off);
		if (ret)
			return ret;
	}
	ret = probe_tracks(p, p->moov, &mbox);
	if (ret)
		return ret;
	ret = report_top(p, ftyp, "mp4:ftyp", ftyp->size);
	if (ret)
		return ret;
	ret = report_top(p, mdat1, "mp4:mdat", mdat1->hdr);
	if (ret)
		return ret;
	order = imoov > imdatn;
	if (p->sink->on_structural) {
		ret = p->sink->on_structural(p->sink->ctx, "mp4:order", &order,
					     1);
		if (ret)
			return ret;
	}
	ret = mf_reader_read(&p->rd, ftyp_head, sizeof(ftyp_head), 0, "ftyp box");
	if (ret)
		return ret;
	if ((mf_get_be32(ftyp_head + 8) == T_M4B || p->m4b_name) &&
	    p->sink->on_structural) {
		ret = p->sink->on_structural(p->sink->ctx, "mp4:ext", "m4b", 3);
		if (ret)
			return ret;
	}
	for (i = 1; i < p->ntop; i++) {
		const struct fbox *b = &p->top[i];

		if (i == imoov || (i >= imdat1 && i <= imdatn) ||
		    top_dropped(b->type))
			continue;
		ret = report_top(p, b, i < imdat1 ? "mp4:pre" : "mp4:post",
				 b->size);
		if (ret)
			return ret;
	}
	return report_moov(p, p->moov, &mbox);
}

static int probe_mp4(const struct mf_probe_src *src,
		     const struct mf_sink *sink, char *why, size_t whylen,
		     bool m4b_name)
{
	static const struct mf_sink no_sink;
	struct probe p = { .rd = { .why = why, .whylen = whylen },
			   .sink = sink ? sink : &no_sink, .m4b_name = m4b_name };
	int ret;

	ret = mf_reader_init(&p.rd, src);
	if (ret)
		return ret;
	ret = probe_file(&p);
	free(p.top);
	free(p.moov);
	return ret;
}

int mf_mp4_probe(const struct mf_probe_src *src,
		 const struct mf_sink *sink, char *why, size_t whylen)
{
	return probe_mp4(src, sink, why, whylen, false);
}

int mf_mp4_probe_m4b(const struct mf_probe_src *src,
		     const struct mf_sink *sink, char *why, size_t whylen)
{
	return probe_mp4(src, sink, why, whylen, true);
}

/* ---- synthesis ---- */

/* A growable byte buffer with a sticky error. */
struct obuf {
	uint8_t *p;
	size_t len, cap;
	int err;
};

static uint8_t *ob_room(struct obuf *o, size_t n)
{
	if (o->err)
		return NULL;
	if (n > o->cap - o->len) {
		size_t ncap = o->cap ? o->cap : 256;
		uint8_t *np;

		while (ncap - o->len < n) {
			if (ncap > SIZE_MAX / 2) {
				o->err = -ENOMEM;
				return NULL;
			}
			ncap *= 2;
		}
		np = realloc(o->p, ncap);
		if (!np) {
			o->err = -ENOMEM;
			return NULL;
		}
		o->p = np;
		o->cap = ncap;
	}
	o->len += n;
	return o->p + o->len - n;
}

static void ob_put(struct obuf *o, const void *d, size_t n)
{
	uint8_t *w = n ? ob_room(o, n) : NULL;

	if (w)
		memcpy(w, d, n);
}

static void ob_be32(struct obuf *o, uint32_t v)
{
	uint8_t *w = ob_room(o, 4);

	if (w)
		mf_put_be32(w, v);
}

static void ob_be64(struct obuf *o, uint64_t v)
{
	uint8_t *w = ob_room(o, 8);

	if (w)
		mf_put_be64(w, v);
}

/* Open a box with a 32-bit size filled in by ob_close(). */
static size_t ob_open(struct obuf *o, uint32_t type)
{
	size_t start = o->len;

	ob_be32(o, 0);
	ob_be32(o, type);
	return start;
}

/* Close the box opened at @start; @extra bytes of it live elsewhere. */
static void ob_close(struct obuf *o, size_t start, uint64_t extra)
{
	uint64_t size;

	if (o->err)
		return;
	size = (uint64_t)(o->len - start) + extra;
	if (size > UINT32_MAX) {
		o->err = -EFBIG;
		return;
	}
	mf_put_be32(o->p + start, (uint32_t)size);
}

/* A 'data' box: type indicator, locale 0, payload. */
static void ob_data(struct obuf *o, uint32_t type, const void *v, size_t len)
{
	size_t start = ob_open(o, T_DATA);

	ob_be32(o, type);
	ob_be32(o, 0);
	ob_put(o, v, len);
	ob_close(o, start, 0);
}

/* Parse a decimal number 0..@max (digits only). */
static bool parse_num(const char *s, size_t len, uint32_t max, uint32_t *out)
{
	uint32_t v = 0;

	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint32_t)(s[i] - '0');
		if (v > max)
			return false;
	}
	*out = v;
	return true;
}

/* The values of one key, gathered from the sorted tag list. */
struct vals {
	const char *key;
	const char *v[64];
	size_t n;		/* may exceed 64: then only counted */
	const struct mf_synth_tag *tags;
	size_t ntags;
};

/* Gather every value of @key (first 64 kept in order). */
static void vals_get(const struct mf_synth_input *in, const char *key,
		     struct vals *vs)
{
	vs->key = key;
	vs->n = 0;
	vs->tags = in->tags;
	vs->ntags = in->ntags;
	for (size_t i = 0; i < in->ntags; i++) {
		if (strcmp(in->tags[i].key, key) != 0)
			continue;
		if (vs->n < 64)
			vs->v[vs->n] = in->tags[i].value;
		vs->n++;
	}
}

/* The n-th value of @vs (also past the first 64). */
static const char *vals_at(const struct vals *vs, size_t n)
{
	if (n < 64)
		return vs->v[n];
	for (size_t i = 0; i < vs->ntags; i++)
		if (strcmp(vs->tags[i].key, vs->key) == 0 && n-- == 0)
			return vs->tags[i].value;
	return "";
}

/* A freeform com.apple.iTunes item named for @key, one data per value. */
static void ob_freeform(struct obuf *o, const struct vals *vs)
{
	const char *name = vs->key;
	size_t item, sub;

	for (size_t i = 0; i < sizeof(freeforms) / sizeof(freeforms[0]); i++)
		if (strcmp(freeforms[i].key, vs->key) == 0)
			name = freeforms[i].name;
	item = ob_open(o, T_FFRM);
	sub = ob_open(o, T_MEAN);
	ob_be32(o, 0);
	ob_put(o, MP4_ITUNES, strlen(MP4_ITUNES));
	ob_close(o, sub, 0);
	sub = ob_open(o, T_NAME);
	ob_be32(o, 0);
	ob_put(o, name, strlen(name));
	ob_close(o, sub, 0);
	for (size_t i = 0; i < vs->n; i++) {
		const char *v = vals_at(vs, i);

		ob_data(o, DT_UTF8, v, strlen(v));
	}
	ob_close(o, item, 0);
}

/* trkn or disk from a number key and its total key. */
static void ob_pair(struct obuf *o, const struct mf_synth_input *in,
		    uint32_t atom, const char *numkey, const char *totkey)
{
	struct vals num, tot;
	uint32_t a = 0, b = 0;
	bool ok;
	uint8_t v[8] = { 0 };
	size_t item;

	vals_get(in, numkey, &num);
	vals_get(in, totkey, &tot);
	if (!num.n && !tot.n)
		return;
	ok = num.n <= 1 && tot.n <= 1;
	if (ok && num.n) {
		const char *s = num.v[0], *slash = strchr(s, '/');

		ok = parse_num(s, slash ? (size_t)(slash - s) : strlen(s),
			       0xffff, &a);
		if (ok && slash && !tot.n)
			ok = parse_num(slash + 1, strlen(slash + 1), 0xffff, &b);
		else if (slash)
			ok = false;
	}
	if (ok && tot.n)
		ok = parse_num(tot.v[0], strlen(tot.v[0]), 0xffff, &b);
	if (!ok) {
		/* not numbers: kept as freeform items named by the keys */
		if (num.n)
			ob_freeform(o, &num);
		if (tot.n)
			ob_freeform(o, &tot);
		return;
	}
	mf_put_be16(v + 2, a);
	mf_put_be16(v + 4, b);
	item = ob_open(o, atom);
	ob_data(o, DT_BINARY, v, atom == FOURCC('t', 'r', 'k', 'n') ? 8 : 6);
	ob_close(o, item, 0);
}

static bool is_pair_key(const char *k)
{
	return strcmp(k, "tracknumber") == 0 || strcmp(k, "totaltracks") == 0 ||
	       strcmp(k, "discnumber") == 0 || strcmp(k, "totaldiscs") == 0;
}

/* All text tags as ilst items, into @o. */
static int synth_tags(const struct mf_synth_input *in, struct obuf *o)
{
	for (size_t i = 0; i < in->ntags; i++) {
		const char *key = in->tags[i].key;
		const struct item_map *m;
		struct vals vs;
		size_t item, j;

		if (!key || !in->tags[i].value || !mf_vocab_key_valid(key))
			return -EINVAL;
		for (j = 0; j < i; j++)
			if (strcmp(in->tags[j].key, key) == 0)
				break;
		if (j < i || is_pair_key(key))
			continue;
		vals_get(in, key, &vs);
		m = item_by_key(key);
		if (m && m->kind == IK_TEXT) {
			item = ob_open(o, m->atom);
			for (j = 0; j < vs.n; j++) {
				const char *v = vals_at(&vs, j);

				ob_data(o, DT_UTF8, v, strlen(v));
			}
			ob_close(o, item, 0);
		} else if (m && vs.n == 1) {
			uint32_t v;
			uint8_t b[2];

			if (parse_num(vs.v[0], strlen(vs.v[0]),
				      m->kind == IK_BOOL ? 1 : 0xffff, &v)) {
				item = ob_open(o, m->atom);
				mf_put_be16(b, v);
				if (m->kind == IK_BOOL)
					ob_data(o, DT_BE_SIGNED, b + 1, 1);
				else
					ob_data(o, DT_BE_SIGNED, b, 2);
				ob_close(o, item, 0);
			} else {
				ob_freeform(o, &vs);
			}
		} else {
			ob_freeform(o, &vs);
		}
	}
	ob_pair(o, in, FOURCC('t', 'r', 'k', 'n'), "tracknumber", "totaltracks");
	ob_pair(o, in, FOURCC('d', 'i', 's', 'k'), "discnumber", "totaldiscs");
	return o->err;
}

/* covr data type for a MIME type. */
static uint32_t covr_type(const char *mime)
{
	if (strcasecmp(mime, "image/jpeg") == 0 ||
	    strcasecmp(mime, "image/jpg") == 0)
		return DT_JPEG;
	if (strcasecmp(mime, "image/png") == 0)
		return DT_PNG;
	if (strcasecmp(mime, "image/gif") == 0)
		return DT_GIF;
	if (strcasecmp(mime, "image/bmp") == 0)
		return DT_BMP;
	return DT_BINARY;
}

/*
 * The ilst items (not the ilst header) as a layout: text items inline,
 * covr images and binary items as BLOB segments.
 */
static int synth_items(const struct mf_synth_input *in, struct mf_layout *il)
{
	struct obuf o = { 0 };
	uint8_t h[16];
	uint64_t covr = 8;
	int ret;

	ret = synth_tags(in, &o);
	if (!ret)
		ret = mf_layout_add_inline(il, o.p, o.len);
	free(o.p);
	if (ret)
		return ret;
	for (size_t i = 0; i < in->npics; i++) {
		if (!in->pics[i].mime)
			return -EINVAL;
		if (in->pics[i].len > UINT32_MAX - 16)
			return -EFBIG;
		covr += 16 + in->pics[i].len;
	}
	if (in->npics) {
		if (covr > UINT32_MAX)
			return -EFBIG;
		mf_put_be32(h, (uint32_t)covr);
		mf_put_be32(h + 4, T_COVR);
		ret = mf_layout_add_inline(il, h, 8);
		for (size_t i = 0; i < in->npics && !ret; i++) {
			const struct mf_synth_pic *pic = &in->pics[i];

			mf_put_be32(h, (uint32_t)(16 + pic->len));
			mf_put_be32(h + 4, T_DATA);
			mf_put_be32(h + 8, covr_type(pic->mime));
			mf_put_be32(h + 12, 0);
			ret = mf_layout_add_inline(il, h, 16);
			if (!ret)
				ret = mf_layout_add_blob(il, &pic->ref, 0,
							 pic->len);
		}
		if (ret)
			return ret;
	}
	for (size_t i = 0; i < in->nbins; i++) {
		const struct mf_synth_bin *b = &in->bins[i];
		uint32_t atom;

		if (!b->key || atom_from_key(b->key, &atom)) {
			mf_debug(MP4_DOM, "binary tag '%s' is not an ilst item; "
				 "left out", b->key ? b->key : "(null)");
			continue;
		}
		if (b->len > UINT32_MAX - 8)
			return -EFBIG;
		mf_put_be32(h, (uint32_t)(8 + b->len));
		mf_put_be32(h + 4, atom);
		ret = mf_layout_add_inline(il, h, 8);
		if (!ret)
			ret = mf_layout_add_blob(il, &b->ref, 0, b->len);
		if (ret)
			return ret;
	}
	return 0;
}

/* Re-serializing the stored moov. */
struct mctx {
	const uint8_t *buf;	/* the stored moov */
	struct obuf o;
	uint64_t lo, hi;	/* old audio range */
	uint64_t new_off;	/* new offset of the audio range */
	bool co64;		/* write every chunk offset table as co64 */
	bool overflow;		/* an stco offset did not fit 32 bits */
	bool have_ins;
	size_t ins;		/* where the ilst goes in o */
	uint64_t extra;		/* ilst bytes, not in o */
	int err;
};

/*
 * Copy box @b as it is, except that a size field of 0 ("to the end of
 * the enclosing box", ISO/IEC 14496-12 4.2) becomes the box's size: what
 * follows it in the new parent (an ilst, a udta) must not be swallowed.
 */
static void emit_raw(struct mctx *c, const struct box *b)
{
	if (mf_get_be32(c->buf + b->off) != 0) {
		ob_put(&c->o, c->buf + b->off, b->size);
		return;
	}
	if (b->size > UINT32_MAX) {
		c->err = -EFBIG;
		return;
	}
	ob_be32(&c->o, (uint32_t)b->size);
	ob_put(&c->o, c->buf + b->off + 4, b->size - 4);
}

static void emit_close(struct mctx *c, size_t start)
{
	ob_close(&c->o, start, c->have_ins && c->ins > start ? c->extra : 0);
}

/* stco/co64 with every offset moved to the new audio position. */
static void emit_chunks(struct mctx *c, const struct box *b)
{
	const uint8_t *d = c->buf + b->off + b->hdr;
	size_t body = b->size - b->hdr, esz = b->type == T_CO64 ? 8 : 4;
	bool wide = c->co64 || b->type == T_CO64;
	uint32_t n;
	size_t start;

	if (body < 8 || (n = mf_get_be32(d + 4)) > (body - 8) / esz ||
	    body - 8 != (size_t)n * esz) {
		c->err = -EIO;
		return;
	}
	start = ob_open(&c->o, wide ? T_CO64 : T_STCO);
	ob_put(&c->o, d, 4);
	ob_be32(&c->o, n);
	for (size_t i = 0; i < n; i++) {
		uint64_t v = esz == 8 ? mf_get_be64(d + 8 + i * 8)
				      : mf_get_be32(d + 8 + i * 4);

		if (v < c->lo || v >= c->hi) {
			c->err = -EIO;
			return;
		}
		v = v - c->lo + c->new_off;
		if (wide) {
			ob_be64(&c->o, v);
		} else {
			if (v > UINT32_MAX)
				c->overflow = true;
			ob_be32(&c->o, (uint32_t)v);
		}
	}
	emit_close(c, start);
}

/* The new iTunes meta; @old is the meta it replaces, or NULL. */
static void emit_meta(struct mctx *c, const struct box *old)
{
	static const uint8_t hdlr[33] = {
		0, 0, 0, 33, 'h', 'd', 'l', 'r', 0, 0, 0, 0, 0, 0, 0, 0,
		'm', 'd', 'i', 'r', 'a', 'p', 'p', 'l', 0, 0, 0, 0, 0, 0, 0, 0,
		0,
	};
	size_t start = ob_open(&c->o, T_META);

	ob_be32(&c->o, 0);
	ob_put(&c->o, hdlr, sizeof(hdlr));
	if (old) {
		size_t pos = old->off + old->hdr + meta_skip(c->buf, old);

		while (pos < box_end(old)) {
			struct box ch;

			if (box_parse(c->buf, pos, box_end(old), &ch)) {
				c->err = -EIO;
				return;
			}
			pos = box_end(&ch);
			if (ch.type != T_HDLR && ch.type != T_ILST &&
			    ch.type != T_FREE)
				emit_raw(c, &ch);
		}
	}
	c->ins = c->o.len;
	c->have_ins = true;
	emit_close(c, start);
}

static void emit_udta(struct mctx *c, const struct box *udta)
{
	size_t start = ob_open(&c->o, T_UDTA);
	bool done = false;

	if (udta) {
		size_t pos = udta->off + udta->hdr;

		while (pos < box_end(udta)) {
			struct box ch;

			if (box_parse(c->buf, pos, box_end(udta), &ch)) {
				c->err = -EIO;
				return;
			}
			pos = box_end(&ch);
			if (!done && ch.type == T_META &&
			    handler_of(c->buf, &ch, meta_skip(c->buf, &ch)) ==
			    T_MDIR) {
				emit_meta(c, &ch);
				done = true;
			} else {
				emit_raw(c, &ch);
			}
		}
	}
	if (!done)
		emit_meta(c, NULL);
	emit_close(c, start);
}

/* Containers on the way from moov to the chunk offset tables. */
static bool descend(uint32_t parent, uint32_t child)
{
	return (parent == T_MOOV && child == T_TRAK) ||
	       (parent == T_TRAK && child == T_MDIA) ||
	       (parent == T_MDIA && child == T_MINF) ||
	       (parent == T_MINF && child == T_STBL);
}

static void emit_container(struct mctx *c, const struct box *b)
{
	size_t start = ob_open(&c->o, b->type), pos = b->off + b->hdr;
	bool udta = false;

	while (pos < box_end(b) && !c->err) {
		struct box ch;

		if (box_parse(c->buf, pos, box_end(b), &ch)) {
			c->err = -EIO;
			return;
		}
		pos = box_end(&ch);
		if (descend(b->type, ch.type)) {
			emit_container(c, &ch);
		} else if (b->type == T_STBL &&
			   (ch.type == T_STCO || ch.type == T_CO64)) {
			emit_chunks(c, &ch);
		} else if (b->type == T_MOOV && ch.type == T_UDTA && !udta) {
			emit_udta(c, &ch);
			udta = true;
		} else {
			emit_raw(c, &ch);
		}
	}
	if (b->type == T_MOOV && !udta)
		emit_udta(c, NULL);
	emit_close(c, start);
}

/* The structural blocks of one track. */
struct mp4_blocks {
	const struct mf_synth_block *ftyp, *moov, *mdat, *order;
	const struct mf_synth_block *pre[64], *post[64];
	size_t npre, npost;
	uint64_t pre_len;
};

/* Is block @b one whole box of @type (0: any)? */
static bool block_is_box(const struct mf_synth_block *b, uint32_t type)
{
	struct box x;

	return b && b->data && box_parse(b->data, 0, b->len, &x) == 0 &&
	       x.size == b->len && (!type || x.type == type);
}

static int get_blocks(const struct mf_synth_input *in, struct mp4_blocks *k)
{
	memset(k, 0, sizeof(*k));
	for (size_t i = 0; i < in->nblocks; i++) {
		const struct mf_synth_block *b = &in->blocks[i];

		if (strcmp(b->kind, "mp4:ftyp") == 0) {
			k->ftyp = b;
		} else if (strcmp(b->kind, "mp4:moov") == 0) {
			k->moov = b;
		} else if (strcmp(b->kind, "mp4:mdat") == 0) {
			k->mdat = b;
		} else if (strcmp(b->kind, "mp4:order") == 0) {
			k->order = b;
		} else if (strcmp(b->kind, "mp4:pre") == 0 ||
			   strcmp(b->kind, "mp4:post") == 0) {
			bool pre = b->kind[4] == 'p' && b->kind[5] == 'r';

			if (!block_is_box(b, 0) ||
			    (pre ? k->npre : k->npost) == 64)
				return -EIO;
			if (pre) {
				k->pre[k->npre++] = b;
				k->pre_len += b->len;
			} else {
				k->post[k->npost++] = b;
			}
		}
	}
	if (!block_is_box(k->ftyp, T_FTYP) || !block_is_box(k->moov, T_MOOV) ||
	    !k->mdat || !k->mdat->data || (k->mdat->len != 8 &&
					     k->mdat->len != 16) ||
	    mf_get_be32(k->mdat->data + 4) != T_MDAT ||
	    (k->mdat->len == 16) != (mf_get_be32(k->mdat->data) == 1) ||
	    !k->order || k->order->len != 1 || !k->order->data ||
	    k->order->data[0] > 1)
		return -EIO;
	return 0;
}

/* Copy every segment of @src to the end of @dst. */
static int layout_append(struct mf_layout *dst, const struct mf_layout *src)
{
	size_t n = mf_layout_nsegs(src);
	int ret = 0;

	for (size_t i = 0; i < n && !ret; i++) {
		struct mf_seg s;

		mf_layout_seg(src, i, &s);
		if (s.kind == MF_SEG_INLINE)
			ret = mf_layout_add_inline(dst, s.bytes, (size_t)s.len);
		else if (s.kind == MF_SEG_BLOB)
			ret = mf_layout_add_blob(dst, &s.blob, s.src_off, s.len);
		else
			ret = -EINVAL;
	}
	return ret;
}

/* The moov: inline bytes around the ilst, whose items come from @il. */
static int add_moov(struct mf_layout *l, const struct mctx *c,
		    const struct mf_layout *il)
{
	uint8_t h[8];
	int ret;

	mf_put_be32(h, (uint32_t)c->extra);
	mf_put_be32(h + 4, T_ILST);
	if ((ret = mf_layout_add_inline(l, c->o.p, c->ins)) ||
	    (ret = mf_layout_add_inline(l, h, 8)) ||
	    (ret = layout_append(l, il)))
		return ret;
	return mf_layout_add_inline(l, c->o.p + c->ins, c->o.len - c->ins);
}

int mf_mp4_synth(const struct mf_synth_input *in, struct mf_layout **out)
{
	struct mp4_blocks k;
	struct mf_layout *l = NULL, *il = NULL;
	struct mctx c;
	struct box mbox;
	uint64_t base, guess = 0, ilst_size;
	bool moov_first, done = false;
	int ret;

	memset(&c, 0, sizeof(c));
	if (!in || !out || (in->ntags && !in->tags) ||
	    (in->npics && !in->pics) || (in->nbins && !in->bins))
		return -EINVAL;
	ret = get_blocks(in, &k);
	if (ret)
		return ret;
	if (box_parse(k.moov->data, 0, k.moov->len, &mbox) ||
	    check_tree(k.moov->data, &mbox, 0))
		return -EIO;
	if (in->audio_length == 0 ||
	    in->audio_offset > UINT64_MAX - in->audio_length)
		return -EIO;
	moov_first = k.order->data[0] == 0;

	il = mf_layout_new();
	if (!il)
		return -ENOMEM;
	ret = synth_items(in, il);
	if (ret)
		goto out;
	ilst_size = 8 + mf_layout_size(il);
	if (ilst_size > UINT32_MAX) {
		ret = -EFBIG;
		goto out;
	}

	base = k.ftyp->len + k.pre_len + k.mdat->len;
	c.buf = k.moov->data;
	c.lo = in->audio_offset;
	c.hi = in->audio_offset + in->audio_length;
	c.extra = ilst_size;
	for (int iter = 0; iter < 6 && !done; iter++) {
		c.new_off = base + (moov_first ? guess : 0);
		c.o.len = 0;
		c.o.err = 0;
		c.err = 0;
		c.overflow = false;
		c.have_ins = false;
		emit_container(&c, &mbox);
		ret = c.err ? c.err : c.o.err;
		if (ret)
			goto out;
		if (c.overflow) {
			c.co64 = true;
			continue;
		}
		if (moov_first && c.o.len + c.extra != guess) {
			guess = c.o.len + c.extra;
			continue;
		}
		done = true;
	}
	if (!done || !c.have_ins) {
		ret = -EIO;
		goto out;
	}

	l = mf_layout_new();
	if (!l) {
		ret = -ENOMEM;
		goto out;
	}
	ret = mf_layout_add_inline(l, k.ftyp->data, k.ftyp->len);
	for (size_t i = 0; i < k.npre && !ret; i++)
		ret = mf_layout_add_inline(l, k.pre[i]->data, k.pre[i]->len);
	if (!ret && moov_first)
		ret = add_moov(l, &c, il);
	if (!ret)
		ret = mf_layout_add_inline(l, k.mdat->data, k.mdat->len);
	if (!ret)
		ret = mf_layout_add_backing(l, in->audio_offset,
					    in->audio_length);
	if (!ret && !moov_first)
		ret = add_moov(l, &c, il);
	for (size_t i = 0; i < k.npost && !ret; i++)
		ret = mf_layout_add_inline(l, k.post[i]->data, k.post[i]->len);
	if (ret)
		goto out;
	*out = l;
	l = NULL;
out:
	if (ret == -EINVAL || ret == -EOVERFLOW)
		ret = -EIO;
	mf_layout_free(l);
	mf_layout_free(il);
	free(c.o.p);
	return ret;
}
