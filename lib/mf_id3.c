/* SPDX-License-Identifier: MIT */
/*
 * mf_id3 - ID3v2.2/2.3/2.4 and ID3v1 reader, ID3v2.3/2.4 writer.
 *
 * Reading works on one tag in memory: the header is checked, whole-tag
 * unsynchronisation (2.2, 2.3) is undone into a copy, the extended header
 * is skipped, then the frames are walked with every size checked against
 * what is left. Each frame body (per-frame unsynchronisation and data
 * length indicator undone, 2.4) is decoded to UTF-8 and reported under
 * its Picard key, or reported verbatim as a binary tag.
 *
 * Writing builds the frames into a scratch layout (text bodies inline,
 * images and binary bodies as BLOB segments), then appends the 10-byte
 * header and those segments to the caller's layout.
 *
 * Divisions: tables; byte and text helpers; image headers; reading;
 * ID3v1; writing.
 */
#include "mf_id3.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mf_bytes.h"
#include "mf_image.h"
#include "mf_log.h"
#include "mf_utf8.h"
#include "mf_vocab.h"

#include "mf_banned.h"

#define ID3_DOM "id3"

#define ID3_FLAG_UNSYNC 0x80
#define ID3_FLAG_EXTHDR 0x40	/* 2.3/2.4; compression in 2.2 */
#define ID3_FLAG_FOOTER 0x10	/* 2.4 */

/* 2.3 frame format flags (second flag byte). */
#define ID3_23_COMPRESS 0x80
#define ID3_23_ENCRYPT 0x40
#define ID3_23_GROUP 0x20
/* 2.4 frame format flags (second flag byte). */
#define ID3_24_GROUP 0x40
#define ID3_24_COMPRESS 0x08
#define ID3_24_ENCRYPT 0x04
#define ID3_24_UNSYNC 0x02
#define ID3_24_DLI 0x01

#define ID3_SIZE_MAX_28 ((1u << 28) - 1)
#define ID3_PIC_TYPE_MAX 20
#define MB_UFID_OWNER "http://musicbrainz.org"

/* ---- tables ---- */

/* ID3v1 genres with the Winamp extensions (ID3v1 and mutagen's list). */
static const char *const genres[] = {
	"Blues", "Classic Rock", "Country", "Dance", "Disco", "Funk", "Grunge",
	"Hip-Hop", "Jazz", "Metal", "New Age", "Oldies", "Other", "Pop", "R&B",
	"Rap", "Reggae", "Rock", "Techno", "Industrial", "Alternative", "Ska",
	"Death Metal", "Pranks", "Soundtrack", "Euro-Techno", "Ambient", "Trip-Hop",
	"Vocal", "Jazz+Funk", "Fusion", "Trance", "Classical", "Instrumental",
	"Acid", "House", "Game", "Sound Clip", "Gospel", "Noise", "Alt. Rock",
	"Bass", "Soul", "Punk", "Space", "Meditative", "Instrumental Pop",
	"Instrumental Rock", "Ethnic", "Gothic", "Darkwave", "Techno-Industrial",
	"Electronic", "Pop-Folk", "Eurodance", "Dream", "Southern Rock", "Comedy",
	"Cult", "Gangsta Rap", "Top 40", "Christian Rap", "Pop/Funk", "Jungle",
	"Native American", "Cabaret", "New Wave", "Psychedelic", "Rave",
	"Showtunes", "Trailer", "Lo-Fi", "Tribal", "Acid Punk", "Acid Jazz",
	"Polka", "Retro", "Musical", "Rock & Roll", "Hard Rock", "Folk",
	"Folk-Rock", "National Folk", "Swing", "Fast-Fusion", "Bebop", "Latin",
	"Revival", "Celtic", "Bluegrass", "Avantgarde", "Gothic Rock",
	"Progressive Rock", "Psychedelic Rock", "Symphonic Rock", "Slow Rock",
	"Big Band", "Chorus", "Easy Listening", "Acoustic", "Humour", "Speech",
	"Chanson", "Opera", "Chamber Music", "Sonata", "Symphony", "Booty Bass",
	"Primus", "Porn Groove", "Satire", "Slow Jam", "Club", "Tango", "Samba",
	"Folklore", "Ballad", "Power Ballad", "Rhythmic Soul", "Freestyle", "Duet",
	"Punk Rock", "Drum Solo", "A Cappella", "Euro-House", "Dance Hall", "Goa",
	"Drum & Bass", "Club-House", "Hardcore", "Terror", "Indie", "BritPop",
	"Afro-Punk", "Polsk Punk", "Beat", "Christian Gangsta Rap", "Heavy Metal",
	"Black Metal", "Crossover", "Contemporary Christian", "Christian Rock",
	"Merengue", "Salsa", "Thrash Metal", "Anime", "JPop", "Synthpop",
	"Abstract", "Art Rock", "Baroque", "Bhangra", "Big Beat", "Breakbeat",
	"Chillout", "Downtempo", "Dub", "EBM", "Eclectic", "Electro",
	"Electroclash", "Emo", "Experimental", "Garage", "Global", "IDM",
	"Illbient", "Industro-Goth", "Jam Band", "Krautrock", "Leftfield", "Lounge",
	"Math Rock", "New Romantic", "Nu-Breakz", "Post-Punk", "Post-Rock",
	"Psytrance", "Shoegaze", "Space Rock", "Trop Rock", "World Music",
	"Neoclassical", "Audiobook", "Audio Theatre", "Neue Deutsche Welle",
	"Podcast", "Indie Rock", "G-Funk", "Dubstep", "Garage Rock", "Psybient",
};

const char *mf_id3_genre_name(unsigned n)
{
	return n < sizeof(genres) / sizeof(genres[0]) ? genres[n] : NULL;
}

/* Text frames with a plain Picard key (Picard's ID3v2.4 mapping). */
static const struct {
	char id[5];
	const char *key;
} text_frames[] = {
	{ "TIT1", "grouping" },
	{ "TIT2", "title" },
	{ "TIT3", "subtitle" },
	{ "TALB", "album" },
	{ "TSST", "discsubtitle" },
	{ "TSRC", "isrc" },
	{ "TPE1", "artist" },
	{ "TPE2", "albumartist" },
	{ "TPE3", "conductor" },
	{ "TPE4", "remixer" },
	{ "TEXT", "lyricist" },
	{ "TCOM", "composer" },
	{ "TENC", "encodedby" },
	{ "TBPM", "bpm" },
	{ "TKEY", "key" },
	{ "TLAN", "language" },
	{ "TCON", "genre" },
	{ "TMED", "media" },
	{ "TMOO", "mood" },
	{ "TCOP", "copyright" },
	{ "TPUB", "label" },
	{ "TDOR", "originaldate" },
	{ "TDRC", "date" },
	{ "TDRL", "releasedate" },
	{ "TSSE", "encodersettings" },
	{ "TSOA", "albumsort" },
	{ "TSOP", "artistsort" },
	{ "TSOT", "titlesort" },
	{ "TSOC", "composersort" },
	{ "TSO2", "albumartistsort" },
	{ "TCMP", "compilation" },
	{ "TOAL", "originalalbum" },
	{ "TOPE", "originalartist" },
	{ "MVNM", "movement" },
};

/* Text frames holding "number/total" (split like Picard). */
static const struct {
	char id[5];
	const char *num, *total;
} pair_frames[] = {
	{ "TRCK", "tracknumber", "totaltracks" },
	{ "TPOS", "discnumber", "totaldiscs" },
	{ "MVIN", "movementnumber", "movementtotal" },
};

/* TXXX descriptions Picard maps to its own keys (matched ignoring case). */
static const struct {
	const char *desc;
	const char *key;
} txxx_names[] = {
	{ "MusicBrainz Artist Id", "musicbrainz_artistid" },
	{ "MusicBrainz Album Id", "musicbrainz_albumid" },
	{ "MusicBrainz Album Artist Id", "musicbrainz_albumartistid" },
	{ "MusicBrainz Album Type", "releasetype" },
	{ "MusicBrainz Album Status", "releasestatus" },
	{ "MusicBrainz TRM Id", "musicbrainz_trmid" },
	{ "MusicBrainz Release Track Id", "musicbrainz_trackid" },
	{ "MusicBrainz Disc Id", "musicbrainz_discid" },
	{ "MusicBrainz Work Id", "musicbrainz_workid" },
	{ "MusicBrainz Release Group Id", "musicbrainz_releasegroupid" },
	{ "MusicBrainz Original Album Id", "musicbrainz_originalalbumid" },
	{ "MusicBrainz Original Artist Id", "musicbrainz_originalartistid" },
	{ "MusicBrainz Album Release Country", "releasecountry" },
	{ "MusicIP PUID", "musicip_puid" },
	{ "MusicMagic Fingerprint", "musicip_fingerprint" },
	{ "Acoustid Fingerprint", "acoustid_fingerprint" },
	{ "Acoustid Id", "acoustid_id" },
	{ "SCRIPT", "script" },
	{ "LICENSE", "license" },
	{ "CATALOGNUMBER", "catalognumber" },
	{ "BARCODE", "barcode" },
	{ "ASIN", "asin" },
	{ "ARTISTS", "artists" },
	{ "DIRECTOR", "director" },
	{ "WORK", "work" },
	{ "Writer", "writer" },
	{ "SHOWMOVEMENT", "showmovement" },
};

/* ID3v2.2 frame ids and their 2.3/2.4 names (id3v2-00 section 4). */
static const struct {
	char v22[4];
	char v24[5];
} v22_names[] = {
	{ "BUF", "RBUF" }, { "CNT", "PCNT" }, { "COM", "COMM" },
	{ "CRA", "AENC" }, { "ETC", "ETCO" }, { "GEO", "GEOB" },
	{ "IPL", "TIPL" }, { "LNK", "LINK" }, { "MCI", "MCDI" },
	{ "MLL", "MLLT" }, { "PIC", "APIC" }, { "POP", "POPM" },
	{ "REV", "RVRB" }, { "SLT", "SYLT" }, { "STC", "SYTC" },
	{ "TAL", "TALB" }, { "TBP", "TBPM" }, { "TCM", "TCOM" },
	{ "TCO", "TCON" }, { "TCP", "TCMP" }, { "TCR", "TCOP" },
	{ "TDA", "TDAT" }, { "TDY", "TDLY" }, { "TEN", "TENC" },
	{ "TFT", "TFLT" }, { "TIM", "TIME" }, { "TKE", "TKEY" },
	{ "TLA", "TLAN" }, { "TLE", "TLEN" }, { "TMT", "TMED" },
	{ "TOA", "TOPE" }, { "TOF", "TOFN" }, { "TOL", "TOLY" },
	{ "TOR", "TORY" }, { "TOT", "TOAL" }, { "TP1", "TPE1" },
	{ "TP2", "TPE2" }, { "TP3", "TPE3" }, { "TP4", "TPE4" },
	{ "TPA", "TPOS" }, { "TPB", "TPUB" }, { "TRC", "TSRC" },
	{ "TRD", "TRDA" }, { "TRK", "TRCK" }, { "TS2", "TSO2" },
	{ "TSA", "TSOA" }, { "TSC", "TSOC" }, { "TSI", "TSIZ" },
	{ "TSP", "TSOP" }, { "TSS", "TSSE" }, { "TST", "TSOT" },
	{ "TT1", "TIT1" }, { "TT2", "TIT2" }, { "TT3", "TIT3" },
	{ "TXT", "TEXT" }, { "TXX", "TXXX" }, { "TYE", "TYER" },
	{ "UFI", "UFID" }, { "ULT", "USLT" }, { "WAF", "WOAF" },
	{ "WAR", "WOAR" }, { "WAS", "WOAS" }, { "WCM", "WCOM" },
	{ "WCP", "WCOP" }, { "WPB", "WPUB" }, { "WXX", "WXXX" },
};

/* ---- byte and text helpers ---- */

static uint32_t get_syncsafe(const uint8_t *p)
{
	return (uint32_t)(p[0] & 0x7f) << 21 | (uint32_t)(p[1] & 0x7f) << 14 |
	       (uint32_t)(p[2] & 0x7f) << 7 | (p[3] & 0x7f);
}

static bool is_syncsafe(const uint8_t *p)
{
	return !((p[0] | p[1] | p[2] | p[3]) & 0x80);
}

static void put_syncsafe(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)((v >> 21) & 0x7f);
	p[1] = (uint8_t)((v >> 14) & 0x7f);
	p[2] = (uint8_t)((v >> 7) & 0x7f);
	p[3] = (uint8_t)(v & 0x7f);
}

/* Undo unsynchronisation (id3v2.4.0-structure 6.1): drop 0x00 after 0xff. */
static size_t unsync_decode(uint8_t *dst, const uint8_t *src, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		dst[o++] = src[i];
		if (src[i] == 0xff && i + 1 < n && src[i + 1] == 0x00)
			i++;
	}
	return o;
}

/*
 * Decode @n bytes of ID3 text in encoding @enc (0 ISO-8859-1, 1 UTF-16
 * with BOM, 2 UTF-16BE, 3 UTF-8) into UTF-8 at @out, which holds at least
 * 2 * n + 4 bytes. String terminators become single NUL bytes; trailing
 * terminators are dropped. Invalid UTF-16 becomes U+FFFD; UTF-8 that is
 * not well-formed is read as ISO-8859-1. Returns the output length.
 */
static size_t text_decode(unsigned enc, const uint8_t *p, size_t n,
			  uint8_t *out)
{
	size_t o = 0, i;

	if (enc == 3 && mf_utf8_valid(p, n)) {
		memcpy(out, p, n);
		o = n;
	} else if (enc == 1 || enc == 2) {
		bool be = enc == 2, start = true;

		for (i = 0; i + 1 < n; i += 2) {
			uint32_t u = be ? (uint32_t)p[i] << 8 | p[i + 1] :
				(uint32_t)p[i + 1] << 8 | p[i];

			if (start && enc == 1 && (u == 0xfeff || u == 0xfffe)) {
				if (u == 0xfffe)
					be = !be;
				start = false;
				continue;
			}
			start = false;
			if (u == 0) {
				out[o++] = 0;
				start = true;
				continue;
			}
			if (u >= 0xd800 && u <= 0xdbff && i + 3 < n) {
				uint32_t lo = be ?
					(uint32_t)p[i + 2] << 8 | p[i + 3] :
					(uint32_t)p[i + 3] << 8 | p[i + 2];

				if (lo >= 0xdc00 && lo <= 0xdfff) {
					u = 0x10000 + ((u - 0xd800) << 10) +
					    (lo - 0xdc00);
					i += 2;
				} else {
					u = 0xfffd;
				}
			} else if (u >= 0xd800 && u <= 0xdfff) {
				u = 0xfffd;
			}
			o += mf_utf8_put(out + o, u);
		}
	} else {
		if (enc == 3)
			mf_debug(ID3_DOM, "invalid utf-8 text read as latin-1");
		for (i = 0; i < n; i++)
			o += mf_utf8_put(out + o, p[i]);
	}
	while (o && out[o - 1] == 0)
		o--;
	return o;
}

/*
 * Length of a terminated string in encoding @enc at @p (@n bytes), not
 * counting the terminator, and in *@next the offset after the terminator
 * (n if there is none).
 */
static size_t term_len(unsigned enc, const uint8_t *p, size_t n, size_t *next)
{
	size_t i;

	if (enc == 1 || enc == 2) {
		for (i = 0; i + 1 < n; i += 2) {
			if (p[i] == 0 && p[i + 1] == 0) {
				*next = i + 2;
				return i;
			}
		}
		*next = n;
		return n;
	}
	for (i = 0; i < n; i++) {
		if (p[i] == 0) {
			*next = i + 1;
			return i;
		}
	}
	*next = n;
	return n;
}

/* Copy @s lowercased (ASCII) into @out (@outlen bytes); false if too long. */
static bool lower_copy(char *out, size_t outlen, const char *prefix,
		       const uint8_t *s, size_t n)
{
	size_t pl = strlen(prefix);

	if (pl + n + 1 > outlen)
		return false;
	memcpy(out, prefix, pl);
	for (size_t i = 0; i < n; i++) {
		char ch = (char)s[i];

		out[pl + i] = (ch >= 'A' && ch <= 'Z') ? (char)(ch - 'A' + 'a')
						       : ch;
	}
	out[pl + n] = '\0';
	return true;
}

/* ---- reading ---- */

struct rd {
	const struct mf_sink *sink;
	char *why;
	size_t whylen;
	unsigned ver;		/* major version: 2, 3 or 4 */
	/* ID3v2.3 date pieces, joined into "date" at the end of the tag. */
	char year[16], tdat[16], time[16];
	bool have_tdrc;
	unsigned pairs_seen;	/* bit i: a pair_frames[i] frame was read */
};

static int rd_fail(struct rd *r, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int rd_fail(struct rd *r, int err, const char *fmt, ...)
{
	va_list ap;

	if (r->why && r->whylen) {
		va_start(ap, fmt);
		vsnprintf(r->why, r->whylen, fmt, ap);
		va_end(ap);
	}
	return err;
}

static int emit(struct rd *r, const char *key, const uint8_t *v, size_t n)
{
	if (!r->sink->on_tag)
		return 0;
	return r->sink->on_tag(r->sink->ctx, key, (const char *)v, n);
}

/* Report each non-empty NUL-separated value of @u as @key. */
static int emit_values(struct rd *r, const char *key, const uint8_t *u,
		       size_t n)
{
	size_t i = 0;
	int ret;

	while (i < n) {
		const uint8_t *z = memchr(u + i, 0, n - i);
		size_t len = z ? (size_t)(z - (u + i)) : n - i;

		if (len && (ret = emit(r, key, u + i, len)))
			return ret;
		i += len + 1;
	}
	return 0;
}

/* Decode @n bytes of text in encoding @enc and report its values as @key. */
static int emit_decoded(struct rd *r, const char *key, unsigned enc,
			const uint8_t *p, size_t n);

static int emit_binary(struct rd *r, const char *id, const uint8_t *body,
		       size_t n)
{
	char key[16];

	if (!r->sink->on_binary_tag)
		return 0;
	lower_copy(key, sizeof(key), "id3:", (const uint8_t *)id, strlen(id));
	return r->sink->on_binary_tag(r->sink->ctx, key, body, n);
}

/* Decode text into a new buffer *@out (free it); -ENOMEM. */
static int decode(unsigned enc, const uint8_t *p, size_t n, uint8_t **out,
		  size_t *outlen)
{
	uint8_t *u = malloc(2 * n + 4);

	if (!u)
		return -ENOMEM;
	*outlen = text_decode(enc, p, n, u);
	*out = u;
	return 0;
}

static int emit_decoded(struct rd *r, const char *key, unsigned enc,
			const uint8_t *p, size_t n)
{
	uint8_t *u;
	size_t un;
	int ret;

	if ((ret = decode(enc, p, n, &u, &un)))
		return ret;
	ret = emit_values(r, key, u, un);
	free(u);
	return ret;
}

/* "n/m" frames: the part before '/' and the part after. */
static int emit_pair(struct rd *r, const char *num, const char *total,
		     const uint8_t *u, size_t n)
{
	const uint8_t *z = memchr(u, 0, n), *slash;
	size_t len = z ? (size_t)(z - u) : n;
	int ret;

	if (!len)
		return 0;
	slash = memchr(u, '/', len);
	if (!slash)
		return emit(r, num, u, len);
	if (slash > u && (ret = emit(r, num, u, (size_t)(slash - u))))
		return ret;
	if (slash + 1 < u + len)
		return emit(r, total, slash + 1,
			    (size_t)(u + len - slash - 1));
	return 0;
}

/* Genre names for a "(n)", "n", "RX" or "CR" reference, or NULL. */
static const char *genre_ref(const uint8_t *s, size_t n)
{
	unsigned v = 0;

	if (n == 2 && memcmp(s, "RX", 2) == 0)
		return "Remix";
	if (n == 2 && memcmp(s, "CR", 2) == 0)
		return "Cover";
	if (!n || n > 3)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return NULL;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	return mf_id3_genre_name(v);
}

/*
 * One TCON value (id3v2.3.0 4.2.1, id3v2.4.0-frames 4.2.3): "(13)",
 * "(13)Refinement", "((text", "13", "RX", plain text.
 */
static int emit_genre(struct rd *r, const uint8_t *s, size_t n)
{
	const char *last = NULL, *name;
	int ret;

	name = genre_ref(s, n);
	if (name)
		return emit(r, "genre", (const uint8_t *)name, strlen(name));
	while (n >= 2 && s[0] == '(' && s[1] != '(') {
		const uint8_t *close = memchr(s, ')', n);

		if (!close)
			break;
		name = genre_ref(s + 1, (size_t)(close - s - 1));
		if (!name)
			break;
		if ((ret = emit(r, "genre", (const uint8_t *)name,
				strlen(name))))
			return ret;
		last = name;
		n -= (size_t)(close + 1 - s);
		s = close + 1;
	}
	if (n >= 2 && s[0] == '(' && s[1] == '(') {
		s++;
		n--;
	}
	if (!n || (last && strlen(last) == n && memcmp(last, s, n) == 0))
		return 0;
	return emit(r, "genre", s, n);
}

static int emit_genres(struct rd *r, const uint8_t *u, size_t n)
{
	size_t i = 0;
	int ret;

	while (i < n) {
		const uint8_t *z = memchr(u + i, 0, n - i);
		size_t len = z ? (size_t)(z - (u + i)) : n - i;

		if (len && (ret = emit_genre(r, u + i, len)))
			return ret;
		i += len + 1;
	}
	return 0;
}

/* Keep the first value of a 2.3 date piece (TYER, TDAT, TIME), UTF-8 in
 * @u, cut to fit @cap on a character boundary. */
static void keep_piece(char *dst, size_t cap, const uint8_t *u, size_t n)
{
	const uint8_t *z = memchr(u, 0, n);
	size_t len = z ? (size_t)(z - u) : n;

	len = mf_utf8_cut((const char *)u, len, cap - 1);
	memcpy(dst, u, len);
	dst[len] = '\0';
}

static bool all_digits(const char *s, size_t n)
{
	if (strlen(s) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

/* TYER [+ TDAT (DDMM) [+ TIME (HHMM)]] -> "YYYY[-MM-DD[THH:MM]]". */
static int emit_v23_date(struct rd *r)
{
	char d[32];
	size_t n;

	if (r->have_tdrc || !r->year[0])
		return 0;
	n = (size_t)snprintf(d, sizeof(d), "%s", r->year);
	if (all_digits(r->year, 4) && all_digits(r->tdat, 4)) {
		n = (size_t)snprintf(d, sizeof(d), "%s-%.2s-%.2s", r->year,
				     r->tdat + 2, r->tdat);
		if (all_digits(r->time, 4))
			n = (size_t)snprintf(d, sizeof(d),
					     "%s-%.2s-%.2sT%.2s:%.2s", r->year,
					     r->tdat + 2, r->tdat, r->time,
					     r->time + 2);
	}
	return emit(r, "date", (const uint8_t *)d, n);
}

static const char *text_key(const char *id)
{
	for (size_t i = 0; i < sizeof(text_frames) / sizeof(text_frames[0]);
	     i++)
		if (strcmp(text_frames[i].id, id) == 0)
			return text_frames[i].key;
	return NULL;
}

/* A text frame T*** (not TXXX): encoding byte, then strings. */
static int frame_text(struct rd *r, const char *id, const uint8_t *b,
		      size_t n)
{
	const char *key = text_key(id);
	uint8_t *u = NULL;
	size_t un = 0, i;
	int ret;

	if (n < 1 || b[0] > 3)
		return emit_binary(r, id, b, n);
	for (i = 0; i < sizeof(pair_frames) / sizeof(pair_frames[0]); i++)
		if (strcmp(pair_frames[i].id, id) == 0)
			break;
	if (!key && i == sizeof(pair_frames) / sizeof(pair_frames[0]) &&
	    strcmp(id, "TYER") && strcmp(id, "TDAT") && strcmp(id, "TIME") &&
	    strcmp(id, "TORY"))
		return emit_binary(r, id, b, n);
	if (i < sizeof(pair_frames) / sizeof(pair_frames[0])) {
		/* one frame of each kind (id3v2.4.0-frames 4.2): a second
		 * TRCK/TPOS/MVIN is ignored, as the served tag has one */
		if (r->pairs_seen & 1u << i) {
			mf_debug(ID3_DOM, "a second %s frame is ignored", id);
			return 0;
		}
		r->pairs_seen |= 1u << i;
	}
	if ((ret = decode(b[0], b + 1, n - 1, &u, &un)))
		return ret;
	if (i < sizeof(pair_frames) / sizeof(pair_frames[0]))
		ret = emit_pair(r, pair_frames[i].num, pair_frames[i].total, u,
				un);
	else if (strcmp(id, "TCON") == 0)
		ret = emit_genres(r, u, un);
	else if (strcmp(id, "TYER") == 0)
		keep_piece(r->year, sizeof(r->year), u, un);
	else if (strcmp(id, "TDAT") == 0)
		keep_piece(r->tdat, sizeof(r->tdat), u, un);
	else if (strcmp(id, "TIME") == 0)
		keep_piece(r->time, sizeof(r->time), u, un);
	else if (strcmp(id, "TORY") == 0)
		ret = emit_values(r, "originaldate", u, un);
	else {
		if (strcmp(id, "TDRC") == 0)
			r->have_tdrc = true;
		ret = emit_values(r, key, u, un);
	}
	free(u);
	return ret;
}

/*
 * Decode the terminated description at @b (@n bytes) in encoding @enc
 * into *@desc (NUL-terminated, free it); *@used gets the bytes consumed.
 */
static int read_desc(unsigned enc, const uint8_t *b, size_t n, char **desc,
		     size_t *used)
{
	size_t len = term_len(enc, b, n, used), dn;
	uint8_t *u;
	int ret;

	if ((ret = decode(enc, b, len, &u, &dn)))
		return ret;
	u[dn] = 0;
	*desc = (char *)u;
	return 0;
}

/* Make the key for a described frame: @base or @base ":" lowercased desc. */
static bool desc_key(char *key, size_t cap, const char *base, const char *desc)
{
	char prefix[32];

	if (!*desc) {
		snprintf(key, cap, "%s", base);
		return true;
	}
	snprintf(prefix, sizeof(prefix), "%s:", base);
	return lower_copy(key, cap, prefix, (const uint8_t *)desc,
			  strlen(desc)) && mf_vocab_key_valid(key);
}

/* TXXX: encoding, description, value(s). */
static int frame_txxx(struct rd *r, const char *id, const uint8_t *b,
		      size_t n)
{
	char key[MF_VOCAB_KEY_MAX + 1];
	char *desc = NULL;
	size_t used, i;
	bool ok = false;
	int ret;

	if (n < 1 || b[0] > 3)
		return emit_binary(r, id, b, n);
	if ((ret = read_desc(b[0], b + 1, n - 1, &desc, &used)))
		return ret;
	for (i = 0; i < sizeof(txxx_names) / sizeof(txxx_names[0]); i++) {
		if (strcasecmp(txxx_names[i].desc, desc) == 0) {
			snprintf(key, sizeof(key), "%s", txxx_names[i].key);
			ok = true;
			break;
		}
	}
	if (!ok)
		ok = lower_copy(key, sizeof(key), "", (const uint8_t *)desc,
				strlen(desc)) && mf_vocab_key_valid(key);
	free(desc);
	if (!ok)
		return emit_binary(r, id, b, n);
	return emit_decoded(r, key, b[0], b + 1 + used, n - 1 - used);
}

/* COMM and USLT: encoding, language, description, text. */
static int frame_described(struct rd *r, const char *id, const uint8_t *b,
			   size_t n, const char *base)
{
	char key[MF_VOCAB_KEY_MAX + 1];
	char *desc = NULL;
	size_t used;
	bool ok;
	int ret;

	if (n < 4 || b[0] > 3)
		return emit_binary(r, id, b, n);
	if ((ret = read_desc(b[0], b + 4, n - 4, &desc, &used)))
		return ret;
	ok = desc_key(key, sizeof(key), base, desc);
	free(desc);
	if (!ok)
		return emit_binary(r, id, b, n);
	return emit_decoded(r, key, b[0], b + 4 + used, n - 4 - used);
}

/* UFID: owner (ISO-8859-1), identifier (binary, <= 64 bytes). */
static int frame_ufid(struct rd *r, const char *id, const uint8_t *b,
		      size_t n)
{
	size_t used, len = term_len(0, b, n, &used);

	if (len == strlen(MB_UFID_OWNER) && used > len &&
	    memcmp(b, MB_UFID_OWNER, len) == 0 && used < n &&
	    !memchr(b + used, 0, n - used) && mf_utf8_valid(b + used, n - used))
		return emit(r, "musicbrainz_recordingid", b + used, n - used);
	return emit_binary(r, id, b, n);
}

/* URL link frames with a Picard key: the body is an ISO-8859-1 URL. */
static int frame_url(struct rd *r, const char *key, const uint8_t *b,
		     size_t n)
{
	return emit_decoded(r, key, 0, b, n);
}

/* MIME type for a 2.2 PIC image format ("JPG", "PNG", ...). */
static void pic_format_mime(const uint8_t *f, char *mime, size_t cap)
{
	if (memcmp(f, "JPG", 3) == 0 || memcmp(f, "jpg", 3) == 0)
		snprintf(mime, cap, "image/jpeg");
	else
		lower_copy(mime, cap, "image/", f, strnlen((const char *)f, 3));
}

static bool printable_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return false;
	return true;
}

/* APIC (2.3/2.4) or PIC (2.2). */
static int frame_picture(struct rd *r, const uint8_t *b, size_t n)
{
	struct mf_picture pic;
	char mimebuf[80];
	char *desc = NULL;
	const char *mime = mimebuf;
	size_t pos, used, mlen;
	unsigned enc;
	int ret;

	if (n < 2 || b[0] > 3) {
		mf_warn(ID3_DOM, "skipping a malformed picture frame");
		return 0;
	}
	enc = b[0];
	if (r->ver == 2) {
		if (n < 6) {
			mf_warn(ID3_DOM, "skipping a malformed PIC frame");
			return 0;
		}
		pic_format_mime(b + 1, mimebuf, sizeof(mimebuf));
		pos = 4;
	} else {
		mlen = term_len(0, b + 1, n - 1, &used);
		if (used == mlen || mlen >= sizeof(mimebuf)) {
			mf_warn(ID3_DOM, "skipping a picture with a bad mime type");
			return 0;
		}
		memcpy(mimebuf, b + 1, mlen);
		mimebuf[mlen] = '\0';
		pos = 1 + used;
	}
	if (strcmp(mimebuf, "-->") == 0) {
		mf_warn(ID3_DOM, "skipping a linked picture");
		return 0;
	}
	if (pos >= n) {
		mf_warn(ID3_DOM, "skipping a truncated picture frame");
		return 0;
	}
	memset(&pic, 0, sizeof(pic));
	pic.type = b[pos++];
	if (pic.type > ID3_PIC_TYPE_MAX) {
		mf_warn(ID3_DOM, "picture of reserved type %u read as type 0",
			(unsigned)pic.type);
		pic.type = 0;
	}
	if ((ret = read_desc(enc, b + pos, n - pos, &desc, &used)))
		return ret;
	pos += used;
	pic.data = b + pos;
	pic.len = n - pos;
	if (!mimebuf[0] || !printable_ascii(mimebuf))
		mime = mf_image_mime(pic.data, pic.len);
	pic.mime = mime;
	pic.desc = desc;
	mf_image_info(pic.data, pic.len, &pic.width, &pic.height,
			  &pic.depth, &pic.colors);
	ret = 0;
	if (pic.len && r->sink->on_picture)
		ret = r->sink->on_picture(r->sink->ctx, &pic);
	free(desc);
	return ret;
}

/* One frame body (unsynchronisation and data length indicator undone). */
static int frame(struct rd *r, const char *id, const uint8_t *b, size_t n)
{
	if (strcmp(id, "APIC") == 0)
		return frame_picture(r, b, n);
	if (strcmp(id, "TXXX") == 0)
		return frame_txxx(r, id, b, n);
	if (id[0] == 'T')
		return frame_text(r, id, b, n);
	if (strcmp(id, "COMM") == 0)
		return frame_described(r, id, b, n, "comment");
	if (strcmp(id, "USLT") == 0)
		return frame_described(r, id, b, n, "lyrics");
	if (strcmp(id, "UFID") == 0)
		return frame_ufid(r, id, b, n);
	if (strcmp(id, "WOAR") == 0)
		return frame_url(r, "website", b, n);
	if (strcmp(id, "WCOP") == 0)
		return frame_url(r, "license", b, n);
	return emit_binary(r, id, b, n);
}

static bool id_valid(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((p[i] >= 'A' && p[i] <= 'Z') || (p[i] >= '0' && p[i] <= '9')))
			return false;
	return true;
}

static uint32_t frame_size(const struct rd *r, const uint8_t *h,
			   bool syncsafe)
{
	if (r->ver == 2)
		return (uint32_t)h[3] << 16 | (uint32_t)h[4] << 8 | h[5];
	return syncsafe ? get_syncsafe(h + 4) : mf_get_be32(h + 4);
}

/*
 * Does the frame walk over @p (@n bytes) end cleanly (at the end or in
 * padding) with these size semantics?
 */
static bool walk_clean(const struct rd *r, const uint8_t *p, size_t n,
		       bool syncsafe)
{
	size_t hl = r->ver == 2 ? 6 : 10, pos = 0, il = r->ver == 2 ? 3 : 4;

	while (pos + hl <= n && p[pos] != 0) {
		uint32_t size;

		if (!id_valid(p + pos, il))
			return false;
		if (syncsafe && r->ver == 4 && !is_syncsafe(p + pos + 4))
			return false;
		size = frame_size(r, p + pos, syncsafe);
		if (size > n - pos - hl)
			return false;
		pos += hl + size;
	}
	return pos >= n || p[pos] == 0 || pos + hl > n;
}

/* The 2.4 name of a frame id, into @id (5 bytes); false if unknown 2.2. */
static void frame_name(const struct rd *r, const uint8_t *p, char id[5])
{
	if (r->ver != 2) {
		memcpy(id, p, 4);
		id[4] = '\0';
		return;
	}
	for (size_t i = 0; i < sizeof(v22_names) / sizeof(v22_names[0]); i++) {
		if (memcmp(v22_names[i].v22, p, 3) == 0) {
			memcpy(id, v22_names[i].v24, 5);
			return;
		}
	}
	memcpy(id, p, 3);
	id[3] = '\0';
}

/* Walk and report the frames in @p (@n bytes). */
static int walk(struct rd *r, const uint8_t *p, size_t n, bool tag_unsync)
{
	size_t hl = r->ver == 2 ? 6 : 10, pos = 0, il = r->ver == 2 ? 3 : 4;
	bool syncsafe = r->ver == 4;
	int ret;

	if (r->ver == 4 && !walk_clean(r, p, n, true) &&
	    walk_clean(r, p, n, false)) {
		mf_debug(ID3_DOM, "id3v2.4 tag with plain frame sizes (iTunes)");
		syncsafe = false;
	}
	while (pos + hl <= n && p[pos] != 0) {
		const uint8_t *h = p + pos, *b;
		uint32_t size;
		uint8_t fl = 0;
		uint8_t *copy = NULL;
		size_t bn;
		char id[5];

		if (!id_valid(h, il)) {
			mf_warn(ID3_DOM, "invalid frame id at tag offset %zu; "
				"ignoring the rest of the tag", pos);
			break;
		}
		size = frame_size(r, h, syncsafe);
		if (size > n - pos - hl)
			return rd_fail(r, -EBADMSG, "id3v2 frame %.*s (%lu bytes) "
				       "runs past the end of the tag", (int)il,
				       (const char *)h, (unsigned long)size);
		frame_name(r, h, id);
		b = h + hl;
		bn = size;
		pos += hl + size;
		if (r->ver >= 3)
			fl = h[9];
		if (r->ver == 3) {
			if (fl & (ID3_23_COMPRESS | ID3_23_ENCRYPT)) {
				mf_warn(ID3_DOM, "skipping %s frame %s",
					fl & ID3_23_COMPRESS ? "compressed"
							     : "encrypted", id);
				continue;
			}
			if (fl & ID3_23_GROUP) {
				if (!bn)
					continue;
				b++;
				bn--;
			}
		} else if (r->ver == 4) {
			if (fl & (ID3_24_COMPRESS | ID3_24_ENCRYPT)) {
				mf_warn(ID3_DOM, "skipping %s frame %s",
					fl & ID3_24_COMPRESS ? "compressed"
							     : "encrypted", id);
				continue;
			}
			if (fl & ID3_24_GROUP) {
				if (!bn)
					continue;
				b++;
				bn--;
			}
			if (fl & ID3_24_DLI) {
				if (bn < 4)
					continue;
				b += 4;
				bn -= 4;
			}
			if ((fl & ID3_24_UNSYNC) || tag_unsync) {
				copy = malloc(bn ? bn : 1);
				if (!copy)
					return rd_fail(r, -ENOMEM, "out of memory");
				bn = unsync_decode(copy, b, bn);
				b = copy;
			}
		}
		ret = bn ? frame(r, id, b, bn) : 0;
		free(copy);
		if (ret)
			return ret;
	}
	return emit_v23_date(r);
}

int mf_id3_tag_size(const uint8_t hdr[MF_ID3_HDR_LEN], uint64_t *total)
{
	if (memcmp(hdr, "ID3", 3) != 0 || hdr[3] < 2 || hdr[3] > 4 ||
	    hdr[4] == 0xff || !is_syncsafe(hdr + 6))
		return -EINVAL;
	*total = MF_ID3_HDR_LEN + (uint64_t)get_syncsafe(hdr + 6);
	if (hdr[3] == 4 && (hdr[5] & ID3_FLAG_FOOTER))
		*total += MF_ID3_HDR_LEN;
	return 0;
}

int mf_id3_parse(const uint8_t *buf, size_t len, const struct mf_sink *sink,
		 char *why, size_t whylen)
{
	static const struct mf_sink no_sink;
	struct rd r = { .sink = sink ? sink : &no_sink, .why = why,
			.whylen = whylen };
	uint64_t total;
	const uint8_t *body;
	uint8_t *copy = NULL;
	size_t bn, skip = 0;
	uint8_t flags;
	int ret;

	if (why && whylen)
		why[0] = '\0';
	if (!buf || len < MF_ID3_HDR_LEN || mf_id3_tag_size(buf, &total))
		return rd_fail(&r, -EINVAL, "not an id3v2 tag");
	if (total > len)
		return rd_fail(&r, -EBADMSG, "id3v2 tag runs past the end");
	r.ver = buf[3];
	flags = buf[5];
	body = buf + MF_ID3_HDR_LEN;
	bn = (size_t)get_syncsafe(buf + 6);
	if (r.ver == 2 && (flags & ID3_FLAG_EXTHDR)) {
		mf_warn(ID3_DOM, "skipping a compressed id3v2.2 tag");
		return 0;
	}
	if (r.ver < 4 && (flags & ID3_FLAG_UNSYNC)) {
		copy = malloc(bn ? bn : 1);
		if (!copy)
			return rd_fail(&r, -ENOMEM, "out of memory");
		bn = unsync_decode(copy, body, bn);
		body = copy;
	}
	if (r.ver >= 3 && (flags & ID3_FLAG_EXTHDR)) {
		uint32_t esz = 0;

		if (bn >= 4)
			esz = r.ver == 3 ? mf_get_be32(body) : get_syncsafe(body);
		if (r.ver == 3 && bn >= 4 && esz <= bn - 4)
			skip = 4 + (size_t)esz;
		else if (r.ver == 4 && esz >= 6 && esz <= bn)
			skip = esz;
		if (!skip) {
			mf_warn(ID3_DOM, "bad extended header; tag ignored");
			ret = 0;
			goto out;
		}
	}
	ret = walk(&r, body + skip, bn - skip,
		   r.ver == 4 && (flags & ID3_FLAG_UNSYNC));
out:
	free(copy);
	return ret;
}

/* ---- ID3v1 ---- */

/* Report a fixed ISO-8859-1 field, trimmed of trailing NULs and spaces. */
static int v1_field(struct rd *r, const char *key, const uint8_t *f,
		    size_t n)
{
	uint8_t u[2 * 30 + 4];
	size_t len = strnlen((const char *)f, n), un;

	while (len && f[len - 1] == ' ')
		len--;
	if (!len)
		return 0;
	un = text_decode(0, f, len, u);
	return emit(r, key, u, un);
}

int mf_id3_parse_v1(const uint8_t buf[MF_ID3V1_LEN],
		    const struct mf_sink *sink)
{
	static const struct mf_sink no_sink;
	struct rd r = { .sink = sink ? sink : &no_sink, .ver = 1 };
	const char *genre;
	char track[4];
	bool v11;
	int ret;

	if (!buf || memcmp(buf, "TAG", 3) != 0)
		return -EINVAL;
	v11 = buf[125] == 0 && buf[126] != 0;
	if ((ret = v1_field(&r, "title", buf + 3, 30)) ||
	    (ret = v1_field(&r, "artist", buf + 33, 30)) ||
	    (ret = v1_field(&r, "album", buf + 63, 30)) ||
	    (ret = v1_field(&r, "date", buf + 93, 4)) ||
	    (ret = v1_field(&r, "comment", buf + 97, v11 ? 28 : 30)))
		return ret;
	if (v11) {
		int n = snprintf(track, sizeof(track), "%u", buf[126]);

		if ((ret = emit(&r, "tracknumber", (const uint8_t *)track,
				(size_t)n)))
			return ret;
	}
	genre = mf_id3_genre_name(buf[127]);
	if (genre)
		return emit(&r, "genre", (const uint8_t *)genre, strlen(genre));
	return 0;
}

/* ---- writing ---- */

/* A growable byte buffer with a sticky out-of-memory flag. */
struct wbuf {
	uint8_t *p;
	size_t len, cap;
	bool oom;
};

static void wb_put(struct wbuf *w, const void *d, size_t n)
{
	if (w->oom || !n)
		return;
	if (n > w->cap - w->len) {
		size_t cap = w->cap ? w->cap : 64;
		uint8_t *np;

		while (cap - w->len < n) {
			if (cap > SIZE_MAX / 2) {
				w->oom = true;
				return;
			}
			cap *= 2;
		}
		np = realloc(w->p, cap);
		if (!np) {
			w->oom = true;
			return;
		}
		w->p = np;
		w->cap = cap;
	}
	memcpy(w->p + w->len, d, n);
	w->len += n;
}

static void wb_u8(struct wbuf *w, uint8_t v)
{
	wb_put(w, &v, 1);
}

/* The text encoding byte a tag of @ver uses: UTF-8 (2.4), UTF-16 (2.3). */
static uint8_t ver_enc(int ver)
{
	return ver == 4 ? 3 : 1;
}

/*
 * Append @n bytes of UTF-8 at @s in the encoding of @ver: as is (2.4),
 * or UTF-16LE code units (2.3; ill-formed bytes become U+FFFD). No BOM,
 * no terminator.
 */
static void wb_chars(struct wbuf *w, int ver, const char *s, size_t n)
{
	const uint8_t *p = (const uint8_t *)s;

	if (ver == 4) {
		wb_put(w, s, n);
		return;
	}
	while (n) {
		uint32_t c;
		size_t k = mf_utf8_next(p, n, &c);
		uint8_t u[4];

		if (!k) {
			c = 0xfffd;
			k = 1;
		}
		p += k;
		n -= k;
		if (c >= 0x10000) {
			uint32_t hi = 0xd800 + ((c - 0x10000) >> 10);
			uint32_t lo = 0xdc00 + ((c - 0x10000) & 0x3ff);

			u[0] = (uint8_t)hi;
			u[1] = (uint8_t)(hi >> 8);
			u[2] = (uint8_t)lo;
			u[3] = (uint8_t)(lo >> 8);
			wb_put(w, u, 4);
		} else {
			u[0] = (uint8_t)c;
			u[1] = (uint8_t)(c >> 8);
			wb_put(w, u, 2);
		}
	}
}

static void wb_bom(struct wbuf *w, int ver)
{
	static const uint8_t bom[2] = { 0xff, 0xfe };

	if (ver == 3)
		wb_put(w, bom, 2);
}

static void wb_term(struct wbuf *w, int ver)
{
	static const uint8_t z[2] = { 0, 0 };

	wb_put(w, z, ver == 4 ? 1 : 2);
}

/* One terminated string (a description). */
static void wb_desc(struct wbuf *w, int ver, const char *s)
{
	wb_bom(w, ver);
	wb_chars(w, ver, s, strlen(s));
	wb_term(w, ver);
}

/*
 * Several values as one text field: NUL-separated (2.4), or joined with
 * "/" into one string (2.3). Not terminated. @tcon: a value starting with
 * '(' gets another one in front (TCON's escape).
 */
static void wb_values(struct wbuf *w, int ver, const char *const *v,
		      size_t n, bool tcon)
{
	wb_bom(w, ver);
	for (size_t i = 0; i < n; i++) {
		if (i && ver == 4)
			wb_u8(w, 0);
		else if (i)
			wb_chars(w, ver, "/", 1);
		/* a TCON text starting with '(' is written "((" (id3v2.3.0
		 * 4.2.1), else a reader takes it for a "(n)" reference */
		if (tcon && v[i][0] == '(')
			wb_chars(w, ver, "(", 1);
		wb_chars(w, ver, v[i], strlen(v[i]));
	}
}

struct wr {
	struct mf_layout *body;		/* the frames */
	int ver;
	const struct mf_synth_input *in;
	const char **vals;		/* scratch: values of one key */
};

/* A frame header for a body of @size bytes. */
static int put_hdr(struct wr *w, const char *id, uint64_t size)
{
	uint8_t h[MF_ID3_HDR_LEN];

	if (size > (w->ver == 4 ? ID3_SIZE_MAX_28 : UINT32_MAX))
		return -EFBIG;
	memcpy(h, id, 4);
	if (w->ver == 4)
		put_syncsafe(h + 4, (uint32_t)size);
	else
		mf_put_be32(h + 4, (uint32_t)size);
	h[8] = h[9] = 0;
	return mf_layout_add_inline(w->body, h, sizeof(h));
}

/* A frame whose body is all in @b; frees @b's bytes. */
static int put_frame(struct wr *w, const char *id, struct wbuf *b)
{
	int ret;

	if (b->oom)
		ret = -ENOMEM;
	else if (!(ret = put_hdr(w, id, b->len)))
		ret = mf_layout_add_inline(w->body, b->p, b->len);
	free(b->p);
	memset(b, 0, sizeof(*b));
	return ret;
}

static int put_text(struct wr *w, const char *id, const char *const *v,
		    size_t n)
{
	struct wbuf b = { 0 };

	wb_u8(&b, ver_enc(w->ver));
	wb_values(&b, w->ver, v, n, strcmp(id, "TCON") == 0);
	return put_frame(w, id, &b);
}

/* TXXX with description @desc. */
static int put_txxx(struct wr *w, const char *desc, const char *const *v,
		    size_t n)
{
	struct wbuf b = { 0 };

	wb_u8(&b, ver_enc(w->ver));
	wb_desc(&b, w->ver, desc);
	wb_values(&b, w->ver, v, n, false);
	return put_frame(w, "TXXX", &b);
}

/* COMM or USLT: language "eng", description @desc. */
static int put_described(struct wr *w, const char *id, const char *desc,
			 const char *const *v, size_t n)
{
	struct wbuf b = { 0 };

	wb_u8(&b, ver_enc(w->ver));
	wb_put(&b, "eng", 3);
	wb_desc(&b, w->ver, desc);
	wb_values(&b, w->ver, v, n, false);
	return put_frame(w, id, &b);
}

/* The TXXX description Picard writes for @key. */
static const char *txxx_desc(const char *key)
{
	for (size_t i = 0; i < sizeof(txxx_names) / sizeof(txxx_names[0]); i++)
		if (strcmp(txxx_names[i].key, key) == 0)
			return txxx_names[i].desc;
	return key;
}

/* Frames that exist only in ID3v2.4 (mutagen drops them for 2.3). */
static bool v24_only(const char *id)
{
	static const char *const ids[] = { "TMOO", "TSOA", "TSOP", "TSOT",
					   "TSST", "TDRL", "TDOR", "TDRC" };

	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		if (strcmp(ids[i], id) == 0)
			return true;
	return false;
}

/* The values of the first tag named @key, into w->vals; returns count. */
static size_t values_of(struct wr *w, const char *key)
{
	size_t n = 0;

	for (size_t i = 0; i < w->in->ntags; i++)
		if (strcmp(w->in->tags[i].key, key) == 0)
			w->vals[n++] = w->in->tags[i].value;
	return n;
}

static const char *first_value(const struct mf_synth_input *in,
			       const char *key)
{
	for (size_t i = 0; i < in->ntags; i++)
		if (strcmp(in->tags[i].key, key) == 0)
			return in->tags[i].value;
	return NULL;
}

/* TRCK/TPOS/MVIN: "num[/total]". */
static int put_pair(struct wr *w, const char *id, const char *num,
		    const char *total, size_t n)
{
	const char *v[1];
	char *s;
	size_t len;
	int ret;

	if (n > 1)
		mf_debug(ID3_DOM, "%s: only the first of %zu values is written",
			 id, n);
	if (!total) {
		v[0] = num;
		return put_text(w, id, v, 1);
	}
	len = strlen(num) + 1 + strlen(total) + 1;
	s = malloc(len);
	if (!s)
		return -ENOMEM;
	snprintf(s, len, "%s/%s", num, total);
	v[0] = s;
	ret = put_text(w, id, v, 1);
	free(s);
	return ret;
}

/* ID3v2.3 date: TYER, TDAT (DDMM), TIME (HHMM) from "YYYY-MM-DDTHH:MM". */
static int put_v23_date(struct wr *w, const char *d)
{
	char year[5], dat[5], tim[5];
	const char *v[1];
	size_t len = strlen(d);
	int ret;

	if (len < 4 || !all_digits((snprintf(year, sizeof(year), "%.4s", d),
				    year), 4)) {
		v[0] = d;
		return put_txxx(w, "date", v, 1);
	}
	v[0] = year;
	if ((ret = put_text(w, "TYER", v, 1)))
		return ret;
	if (len >= 10 && d[4] == '-' && d[7] == '-') {
		snprintf(dat, sizeof(dat), "%.2s%.2s", d + 8, d + 5);
		if (all_digits(dat, 4)) {
			v[0] = dat;
			if ((ret = put_text(w, "TDAT", v, 1)))
				return ret;
		}
		if (len >= 16 && d[10] == 'T' && d[13] == ':') {
			snprintf(tim, sizeof(tim), "%.2s%.2s", d + 11, d + 14);
			if (all_digits(tim, 4)) {
				v[0] = tim;
				return put_text(w, "TIME", v, 1);
			}
		}
	}
	return 0;
}

/* UFID for the MusicBrainz recording id. */
static int put_ufid(struct wr *w, const char *id)
{
	struct wbuf b = { 0 };

	wb_put(&b, MB_UFID_OWNER, strlen(MB_UFID_OWNER) + 1);
	wb_put(&b, id, strlen(id));
	return put_frame(w, "UFID", &b);
}

static bool is_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

/* The frames for all values of @key (values in w->vals[0..n)). */
static int put_key(struct wr *w, const char *key, size_t n)
{
	const char *const *v = w->vals;
	const char *id = NULL;
	int ret;

	for (size_t i = 0; i < sizeof(pair_frames) / sizeof(pair_frames[0]);
	     i++) {
		if (strcmp(key, pair_frames[i].num) == 0)
			return put_pair(w, pair_frames[i].id, v[0],
					first_value(w->in, pair_frames[i].total),
					n);
		if (strcmp(key, pair_frames[i].total) == 0) {
			if (first_value(w->in, pair_frames[i].num))
				return 0;	/* written with the number */
			return put_txxx(w, key, v, n);
		}
	}
	if (strcmp(key, "date") == 0 && w->ver == 3)
		return put_v23_date(w, v[0]);
	if (strcmp(key, "originaldate") == 0 && w->ver == 3) {
		char year[5];
		const char *y[1] = { year };

		snprintf(year, sizeof(year), "%.4s", v[0]);
		return put_text(w, "TORY", y, 1);
	}
	if (strcmp(key, "comment") == 0)
		return put_described(w, "COMM", "", v, n);
	if (strncmp(key, "comment:", 8) == 0)
		return put_described(w, "COMM", key + 8, v, n);
	if (strcmp(key, "lyrics") == 0)
		return put_described(w, "USLT", "", v, n);
	if (strncmp(key, "lyrics:", 7) == 0)
		return put_described(w, "USLT", key + 7, v, n);
	if (strcmp(key, "musicbrainz_recordingid") == 0) {
		if (n > 1)
			mf_debug(ID3_DOM, "UFID: only the first of %zu values "
				 "is written", n);
		return put_ufid(w, v[0]);
	}
	if (strcmp(key, "website") == 0) {
		for (size_t i = 0; i < n; i++) {
			struct wbuf b = { 0 };

			if (!is_ascii(v[i]))
				ret = put_txxx(w, key, v + i, 1);
			else {
				wb_put(&b, v[i], strlen(v[i]));
				ret = put_frame(w, "WOAR", &b);
			}
			if (ret)
				return ret;
		}
		return 0;
	}
	for (size_t i = 0; i < sizeof(text_frames) / sizeof(text_frames[0]);
	     i++) {
		if (strcmp(text_frames[i].key, key) == 0) {
			id = text_frames[i].id;
			break;
		}
	}
	if (id && !(w->ver == 3 && v24_only(id)))
		return put_text(w, id, v, n);
	return put_txxx(w, txxx_desc(key), v, n);
}

/* APIC (id3v2.4.0-frames 4.14); the image is a BLOB segment. */
static int put_apic(struct wr *w, const struct mf_synth_pic *pic)
{
	struct wbuf b = { 0 };
	int ret;

	wb_u8(&b, ver_enc(w->ver));
	wb_put(&b, pic->mime, strlen(pic->mime) + 1);
	wb_u8(&b, (uint8_t)pic->type);
	wb_desc(&b, w->ver, pic->desc);
	if (b.oom) {
		free(b.p);
		return -ENOMEM;
	}
	if (pic->len > UINT64_MAX - b.len) {
		free(b.p);
		return -EFBIG;
	}
	if (!(ret = put_hdr(w, "APIC", b.len + pic->len)) &&
	    !(ret = mf_layout_add_inline(w->body, b.p, b.len)))
		ret = mf_layout_add_blob(w->body, &pic->ref, 0, pic->len);
	free(b.p);
	return ret;
}

/* The frame id of a binary tag "id3:xxxx", into @id; false if none. */
static bool bin_frame_id(const char *key, char id[5])
{
	if (!key || strncmp(key, "id3:", 4) != 0 || strlen(key) != 8)
		return false;
	for (int i = 0; i < 4; i++) {
		char c = key[4 + i];

		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		else if (!(c >= '0' && c <= '9'))
			return false;
		id[i] = c;
	}
	id[4] = '\0';
	return true;
}

static int check_input(const struct mf_synth_input *in, int version)
{
	if (!in || (version != 0 && version != 3 && version != 4))
		return -EINVAL;
	if ((in->ntags && !in->tags) || (in->npics && !in->pics) ||
	    (in->nbins && !in->bins))
		return -EINVAL;
	for (size_t i = 0; i < in->ntags; i++)
		if (!in->tags[i].key || !in->tags[i].value ||
		    !mf_vocab_key_valid(in->tags[i].key))
			return -EINVAL;
	for (size_t i = 0; i < in->npics; i++)
		if (!in->pics[i].mime || !in->pics[i].desc ||
		    !printable_ascii(in->pics[i].mime) ||
		    in->pics[i].type > 255)
			return -EINVAL;
	return 0;
}

/* All frames into w->body. */
static int build_frames(struct wr *w)
{
	const struct mf_synth_input *in = w->in;
	char id[5];
	int ret;

	for (size_t i = 0; i < in->ntags; i++) {
		const char *key = in->tags[i].key;
		bool seen = false;

		for (size_t j = 0; j < i && !seen; j++)
			seen = strcmp(in->tags[j].key, key) == 0;
		if (!seen && (ret = put_key(w, key, values_of(w, key))))
			return ret;
	}
	for (size_t i = 0; i < in->npics; i++)
		if ((ret = put_apic(w, &in->pics[i])))
			return ret;
	for (size_t i = 0; i < in->nbins; i++) {
		if (!bin_frame_id(in->bins[i].key, id)) {
			if (in->bins[i].key && !strncmp(in->bins[i].key, "id3:", 4))
				mf_debug(ID3_DOM, "binary tag %s is not an "
					 "id3v2.4 frame; left out",
					 in->bins[i].key);
			continue;
		}
		if ((ret = put_hdr(w, id, in->bins[i].len)) ||
		    (ret = mf_layout_add_blob(w->body, &in->bins[i].ref, 0,
					      in->bins[i].len)))
			return ret;
	}
	return 0;
}

int mf_id3_build(struct mf_layout *l, const struct mf_synth_input *in,
		 int version)
{
	struct wr w = { .in = in, .ver = version ? version : 4 };
	uint8_t h[MF_ID3_HDR_LEN];
	uint64_t size;
	int ret;

	if (!l)
		return -EINVAL;
	ret = check_input(in, version);
	if (ret)
		return ret;
	w.body = mf_layout_new();
	w.vals = malloc((in->ntags ? in->ntags : 1) * sizeof(*w.vals));
	if (!w.body || !w.vals) {
		ret = -ENOMEM;
		goto out;
	}
	ret = build_frames(&w);
	if (ret)
		goto out;
	size = mf_layout_size(w.body);
	if (size == 0)
		goto out;	/* no frames: no tag */
	if (size > ID3_SIZE_MAX_28) {
		ret = -EFBIG;
		goto out;
	}
	memcpy(h, "ID3", 3);
	h[3] = (uint8_t)w.ver;
	h[4] = 0;
	h[5] = 0;
	put_syncsafe(h + 6, (uint32_t)size);
	ret = mf_layout_add_inline(l, h, sizeof(h));
	for (size_t i = 0; !ret && i < mf_layout_nsegs(w.body); i++) {
		struct mf_seg s;

		mf_layout_seg(w.body, i, &s);
		if (s.kind == MF_SEG_INLINE)
			ret = mf_layout_add_inline(l, s.bytes, (size_t)s.len);
		else
			ret = mf_layout_add_blob(l, &s.blob, s.src_off, s.len);
	}
out:
	mf_layout_free(w.body);
	free(w.vals);
	return ret;
}

int mf_id3_build_size(const struct mf_synth_input *in, int version,
		      uint64_t *len)
{
	struct mf_layout *l = mf_layout_new();
	int ret;

	if (!l)
		return -ENOMEM;
	ret = mf_id3_build(l, in, version);
	if (!ret && len)
		*len = mf_layout_size(l);
	mf_layout_free(l);
	return ret;
}
