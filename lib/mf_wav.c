/* SPDX-License-Identifier: MIT */
/*
 * mf_wav - RIFF WAVE probe and synthesis (see mf_wav.h for the format and
 * the store representation).
 *
 * The probe walks the chunk headers with pread(2) first, checking every
 * size against the RIFF size and the file size before anything is
 * allocated, and only then reads the bodies it keeps or parses (each at
 * most MF_STRUCT_MAX bytes).
 *
 * Divisions: byte helpers; INFO vocabulary and text; probe (walk, fmt,
 * report); synthesis.
 */
#include "mf_wav.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mf_array.h"
#include "mf_id3.h"
#include "mf_bytes.h"
#include "mf_log.h"
#include "mf_reader.h"
#include "mf_utf8.h"
#include "mf_vocab.h"

#include "mf_banned.h"

#define WAV_DOM "wav"

#define CHUNK_HDR 8		/* id + 32-bit little-endian size */
#define FMT_MIN 16		/* PCMWAVEFORMAT */
#define RIFF_MAX 0xffffffffu	/* largest 32-bit chunk size */
#define INFO_MAX MF_STRUCT_MAX	/* largest LIST/INFO body we parse */

/* wFormatTag values whose data size / block align is the sample count. */
enum {
	WAVE_FORMAT_PCM = 0x0001,
	WAVE_FORMAT_IEEE_FLOAT = 0x0003,
	WAVE_FORMAT_ALAW = 0x0006,
	WAVE_FORMAT_MULAW = 0x0007,
	WAVE_FORMAT_EXTENSIBLE = 0xfffe,
};

/* ---- byte helpers ---- */

/* A chunk id is four printable ASCII characters (RIFF 1991, 2.1). */
static bool id_valid(const uint8_t *id)
{
	for (int i = 0; i < 4; i++)
		if (id[i] < 0x20 || id[i] > 0x7e)
			return false;
	return true;
}

/* The padded size of a body of @n bytes. */
static uint64_t padded(uint64_t n)
{
	return n + (n & 1);
}

/* ---- INFO vocabulary and text ---- */

/*
 * INFO ids with a Picard name: Picard's own table (formats/wav.py,
 * after exiftool's RIFF tag names), plus ffmpeg's IPRT (track), and ISFT
 * (the encoding software, ID3 TSSE) as encodersettings. The first row of
 * a key is the one synthesis writes.
 */
static const struct {
	char id[5];
	const char *key;
} info_map[] = {
	{ "IART", "artist" },
	{ "ICMT", "comment" },
	{ "ICOP", "copyright" },
	{ "ICRD", "date" },
	{ "IGNR", "genre" },
	{ "INAM", "title" },
	{ "IPRD", "album" },
	{ "ITRK", "tracknumber" },
	{ "IPRT", "tracknumber" },
	{ "ICNT", "releasecountry" },
	{ "IENC", "encodedby" },
	{ "IENG", "engineer" },
	{ "ILNG", "language" },
	{ "IMED", "media" },
	{ "IMUS", "composer" },
	{ "IPRO", "producer" },
	{ "IWRI", "writer" },
	{ "ISFT", "encodersettings" },
};
#define NINFO_MAP (sizeof(info_map) / sizeof(info_map[0]))

const char *mf_wav_info_key(const char id[4])
{
	for (size_t i = 0; i < NINFO_MAP; i++)
		if (memcmp(info_map[i].id, id, 4) == 0)
			return info_map[i].key;
	return NULL;
}

int mf_wav_info_id(const char *key, char id[4])
{
	const size_t plen = strlen(MF_WAV_INFO_PREFIX);

	for (size_t i = 0; i < NINFO_MAP; i++) {
		if (strcmp(info_map[i].key, key) == 0) {
			memcpy(id, info_map[i].id, 4);
			return 0;
		}
	}
	if (strncmp(key, MF_WAV_INFO_PREFIX, plen) != 0 ||
	    strlen(key + plen) != 4)
		return -ENOENT;
	for (int i = 0; i < 4; i++) {
		unsigned char c = (unsigned char)key[plen + (size_t)i];

		if (c < 0x20 || c > 0x7e)
			return -ENOENT;
		id[i] = (char)(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
	}
	/* an id with a Picard name is written under that name, not here */
	if (mf_wav_info_key(id))
		return -ENOENT;
	return 0;
}

/* Windows-1252 0x80-0x9f (undefined bytes map to the C1 control). */
static const uint16_t cp1252_c1[32] = {
	0x20ac, 0x0081, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
	0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008d, 0x017d, 0x008f,
	0x0090, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
	0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0x009d, 0x017e, 0x0178,
};

/*
 * INFO text (@n bytes, up to the first NUL) as a new NUL-terminated UTF-8
 * string in *@out, *@outlen bytes: kept when it is valid UTF-8, else
 * decoded as Windows-1252. Returns 0 or -ENOMEM.
 */
static int info_text(const uint8_t *s, size_t n, char **out, size_t *outlen)
{
	const uint8_t *nul = memchr(s, 0, n);
	char *buf, *w;

	if (nul)
		n = (size_t)(nul - s);
	if (mf_utf8_valid(s, n)) {
		buf = malloc(n + 1);
		if (!buf)
			return -ENOMEM;
		memcpy(buf, s, n);
		buf[n] = '\0';
		*out = buf;
		*outlen = n;
		return 0;
	}
	buf = malloc(n * 3 + 1);	/* every code point < U+FFFF */
	if (!buf)
		return -ENOMEM;
	w = buf;
	for (size_t i = 0; i < n; i++) {
		uint32_t cp = s[i];

		if (cp >= 0x80 && cp <= 0x9f)
			cp = cp1252_c1[cp - 0x80];
		if (cp < 0x80) {
			*w++ = (char)cp;
		} else if (cp < 0x800) {
			*w++ = (char)(0xc0 | cp >> 6);
			*w++ = (char)(0x80 | (cp & 0x3f));
		} else {
			*w++ = (char)(0xe0 | cp >> 12);
			*w++ = (char)(0x80 | (cp >> 6 & 0x3f));
			*w++ = (char)(0x80 | (cp & 0x3f));
		}
	}
	*w = '\0';
	*out = buf;
	*outlen = (size_t)(w - buf);
	return 0;
}

/* ---- probe ---- */

struct chunk {
	uint8_t id[4];
	uint64_t off;		/* offset of the chunk header in the file */
	uint32_t size;		/* body bytes */
	bool info;		/* a LIST of type INFO */
};

/* The fields of "fmt " the probe uses (WAVEFORMATEX). */
struct fmt {
	uint16_t tag;		/* wFormatTag; the subformat's if EXTENSIBLE */
	uint16_t channels;
	uint32_t rate;		/* samples per second */
	uint32_t byte_rate;	/* nAvgBytesPerSec */
	uint16_t block_align;
	uint16_t bits;		/* wBitsPerSample */
};

/* A set of store keys (the ones the ID3v2 tag reported). */
struct keyset {
	char **keys;
	size_t n, cap;
};

struct probe {
	struct mf_reader rd;		/* fd, size, why */
	uint64_t end;			/* end of the RIFF form */
	const struct mf_sink *sink;
	struct chunk *chunks;		/* in file order */
	size_t n, cap;
	size_t fmt, data, fact;		/* indexes into chunks, or SIZE_MAX */
	struct keyset seen;		/* keys the ID3v2 tag reported */
};

/* "'abcd' chunk at offset N" for messages; @id printable or escaped. */
static void chunk_name(char *buf, size_t len, const struct chunk *c)
{
	char id[5];

	for (int i = 0; i < 4; i++)
		id[i] = c->id[i] >= 0x20 && c->id[i] <= 0x7e ? (char)c->id[i]
							       : '?';
	id[4] = '\0';
	snprintf(buf, len, "'%s' chunk at offset %llu", id,
		 (unsigned long long)c->off);
}

/* The RIFF header: "RIFF" <size> "WAVE"; sets p->end. */
static int probe_header(struct probe *p)
{
	uint8_t h[12];
	uint32_t riff;
	int ret;

	if (p->rd.size < sizeof(h))
		return mf_reader_fail(&p->rd, -EINVAL, "not a RIFF WAVE file");
	ret = mf_reader_read(&p->rd, h, sizeof(h), 0, "riff header");
	if (ret)
		return ret;
	if (memcmp(h + 8, "WAVE", 4) == 0 &&
	    (memcmp(h, "RF64", 4) == 0 || memcmp(h, "BW64", 4) == 0))
		return mf_reader_fail(&p->rd, -ENOTSUP,
				  "%.4s (64-bit wave) files are not supported",
				  (const char *)h);
	if (memcmp(h, "RIFX", 4) == 0 && memcmp(h + 8, "WAVE", 4) == 0)
		return mf_reader_fail(&p->rd, -ENOTSUP,
				  "big-endian RIFX wave files are not supported");
	if (memcmp(h, "RIFF", 4) != 0 || memcmp(h + 8, "WAVE", 4) != 0)
		return mf_reader_fail(&p->rd, -EINVAL, "not a RIFF WAVE file");
	riff = mf_get_le32(h + 4);
	if (riff < 4)
		return mf_reader_fail(&p->rd, -EBADMSG, "riff size %u is too small",
				  (unsigned)riff);
	p->end = CHUNK_HDR + (uint64_t)riff;
	if (p->end > p->rd.size)
		return mf_reader_fail(&p->rd, -EBADMSG,
				  "riff size %u runs past end of file (%llu bytes)",
				  (unsigned)riff, (unsigned long long)p->rd.size);
	if (p->end < p->rd.size)
		mf_debug(WAV_DOM, "%llu bytes after the riff form ignored",
			 (unsigned long long)(p->rd.size - p->end));
	return 0;
}

/* Walk the chunk headers into p->chunks, checking every size. */
static int probe_walk(struct probe *p)
{
	uint64_t pos = 12;
	uint8_t h[CHUNK_HDR + 4];
	char name[48];
	struct chunk *c;
	int ret;

	while (pos < p->end) {
		if (p->end - pos < CHUNK_HDR)
			return mf_reader_fail(&p->rd, -EBADMSG,
					  "chunk header at offset %llu runs past end of riff",
					  (unsigned long long)pos);
		if (p->n == MF_WAV_CHUNKS_MAX)
			return mf_reader_fail(&p->rd, -EBADMSG, "more than %d chunks",
					  MF_WAV_CHUNKS_MAX);
		c = mf_array_grow(p->chunks, &p->cap, p->n + 1, sizeof(*c));
		if (!c)
			return mf_reader_fail(&p->rd, -ENOMEM, "out of memory");
		p->chunks = c;
		c = &p->chunks[p->n];
		memset(c, 0, sizeof(*c));
		ret = mf_reader_read(&p->rd, h, CHUNK_HDR, pos, "chunk header");
		if (ret)
			return ret;
		memcpy(c->id, h, 4);
		c->off = pos;
		c->size = mf_get_le32(h + 4);
		chunk_name(name, sizeof(name), c);
		if (!id_valid(c->id))
			return mf_reader_fail(&p->rd, -EBADMSG, "bad chunk id at offset %llu",
					  (unsigned long long)pos);
		if (c->size > p->end - pos - CHUNK_HDR)
			return mf_reader_fail(&p->rd, -EBADMSG, "%s (%u bytes) runs past end of %s",
					  name, (unsigned)c->size,
					  p->end == p->rd.size ? "file" : "riff");
		if (memcmp(c->id, "LIST", 4) == 0) {
			if (c->size < 4)
				return mf_reader_fail(&p->rd, -EBADMSG, "%s is too short",
						  name);
			ret = mf_reader_read(&p->rd, h + CHUNK_HDR, 4, pos + CHUNK_HDR,
					 "list type");
			if (ret)
				return ret;
			c->info = memcmp(h + CHUNK_HDR, "INFO", 4) == 0;
		}
		if (memcmp(c->id, "fmt ", 4) == 0) {
			if (p->fmt != SIZE_MAX)
				return mf_reader_fail(&p->rd, -EBADMSG, "second 'fmt ' chunk");
			if (c->size < FMT_MIN)
				return mf_reader_fail(&p->rd, -EBADMSG,
						  "'fmt ' chunk of %u bytes is too short",
						  (unsigned)c->size);
			p->fmt = p->n;
		} else if (memcmp(c->id, "data", 4) == 0) {
			if (p->data != SIZE_MAX)
				return mf_reader_fail(&p->rd, -EBADMSG, "second 'data' chunk");
			if (p->fmt == SIZE_MAX)
				return mf_reader_fail(&p->rd, -EBADMSG,
						  "'data' chunk before 'fmt ' chunk");
			p->data = p->n;
		} else if (memcmp(c->id, "fact", 4) == 0 && p->fact == SIZE_MAX &&
			   c->size >= 4) {
			p->fact = p->n;
		}
		p->n++;
		pos += CHUNK_HDR + (uint64_t)c->size;
		/* the pad byte; a missing one after the last chunk is tolerated */
		if ((c->size & 1) && pos < p->end)
			pos++;
	}
	if (p->fmt == SIZE_MAX)
		return mf_reader_fail(&p->rd, -EBADMSG, "no 'fmt ' chunk");
	if (p->data == SIZE_MAX)
		return mf_reader_fail(&p->rd, -EBADMSG, "no 'data' chunk");
	return 0;
}

/* Is chunk @c kept as a structural block? */
static bool chunk_kept(const struct chunk *c)
{
	static const char *const dropped[] = {
		"id3 ", "ID3 ", "JUNK", "junk", "PAD ", "FLLR",
	};

	if (c->info)
		return false;
	for (size_t i = 0; i < sizeof(dropped) / sizeof(dropped[0]); i++)
		if (memcmp(c->id, dropped[i], 4) == 0)
			return false;
	return true;
}

/* Sizes the synthesizer cannot keep are refused before reporting. */
static int probe_check_kept(struct probe *p)
{
	char name[48];

	for (size_t i = 0; i < p->n; i++) {
		const struct chunk *c = &p->chunks[i];

		if (i == p->data || !chunk_kept(c))
			continue;
		if (c->size > MF_STRUCT_MAX - 4) {
			chunk_name(name, sizeof(name), c);
			return mf_reader_fail(&p->rd, -ENOTSUP,
					  "%s of %u bytes is too large to keep",
					  name, (unsigned)c->size);
		}
	}
	return 0;
}

/* Read "fmt " (and "fact") and report the audio properties. */
static int probe_props(struct probe *p)
{
	const struct chunk *fc = &p->chunks[p->fmt];
	const struct chunk *dc = &p->chunks[p->data];
	uint8_t b[40];
	size_t len = fc->size < sizeof(b) ? fc->size : sizeof(b);
	struct mf_audio_props props;
	struct fmt f;
	uint64_t samples = 0;
	bool pcm;
	int ret;

	ret = mf_reader_read(&p->rd, b, len, fc->off + CHUNK_HDR, "'fmt ' chunk");
	if (ret)
		return ret;
	f.tag = mf_get_le16(b);
	f.channels = mf_get_le16(b + 2);
	f.rate = mf_get_le32(b + 4);
	f.byte_rate = mf_get_le32(b + 8);
	f.block_align = mf_get_le16(b + 12);
	f.bits = mf_get_le16(b + 14);
	/* WAVE_FORMAT_EXTENSIBLE: cbSize >= 22, the subformat GUID at 24 */
	if (f.tag == WAVE_FORMAT_EXTENSIBLE && len >= 40 && mf_get_le16(b + 16) >= 22)
		f.tag = mf_get_le16(b + 24);
	if (!f.channels || !f.rate)
		return mf_reader_fail(&p->rd, -EBADMSG,
				  "'fmt ' chunk has %u channels at %u Hz",
				  (unsigned)f.channels, (unsigned)f.rate);
	pcm = f.tag == WAVE_FORMAT_PCM || f.tag == WAVE_FORMAT_IEEE_FLOAT ||
	      f.tag == WAVE_FORMAT_ALAW || f.tag == WAVE_FORMAT_MULAW;
	if (pcm && !f.block_align)
		return mf_reader_fail(&p->rd, -EBADMSG, "'fmt ' chunk has block align 0");
	if (pcm) {
		samples = dc->size / f.block_align;
	} else if (p->fact != SIZE_MAX) {
		ret = mf_reader_read(&p->rd, b, 4, p->chunks[p->fact].off + CHUNK_HDR,
				 "'fact' chunk");
		if (ret)
			return ret;
		samples = mf_get_le32(b);
	}
	memset(&props, 0, sizeof(props));
	props.sample_rate = f.rate;
	props.channels = f.channels;
	props.bits_per_sample = f.bits;
	props.total_samples = samples;
	if (samples)
		props.duration_ms = samples / f.rate * 1000 +
				    samples % f.rate * 1000 / f.rate;
	else if (f.byte_rate)
		props.duration_ms = (uint64_t)dc->size * 1000 / f.byte_rate;
	props.bitrate_kbps = (uint32_t)((uint64_t)f.byte_rate * 8 / 1000);
	if (!p->sink->on_props)
		return 0;
	return p->sink->on_props(p->sink->ctx, &props);
}

/* Report every kept chunk (id + body) as a structural block. */
static int probe_structural(struct probe *p)
{
	uint8_t *buf = NULL;
	char name[48];
	int ret = 0;

	if (!p->sink->on_structural)
		return 0;
	for (size_t i = 0; i < p->n && !ret; i++) {
		const struct chunk *c = &p->chunks[i];

		if (i == p->data) {
			ret = p->sink->on_structural(p->sink->ctx,
						     MF_WAV_KIND_CHUNK, "data", 4);
			continue;
		}
		if (!chunk_kept(c))
			continue;
		buf = malloc((size_t)c->size + 4);
		if (!buf)
			return mf_reader_fail(&p->rd, -ENOMEM, "out of memory");
		memcpy(buf, c->id, 4);
		chunk_name(name, sizeof(name), c);
		ret = mf_reader_read(&p->rd, buf + 4, c->size, c->off + CHUNK_HDR, name);
		if (!ret)
			ret = p->sink->on_structural(p->sink->ctx,
						     MF_WAV_KIND_CHUNK, buf,
						     (size_t)c->size + 4);
		free(buf);
		buf = NULL;
	}
	return ret;
}

static bool keyset_has(const struct keyset *s, const char *key)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->keys[i], key) == 0)
			return true;
	return false;
}

static void keyset_release(struct keyset *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->keys[i]);
	free(s->keys);
	memset(s, 0, sizeof(*s));
}

/* Report one INFO value under @key; ITRK "n/m" also gives totaltracks. */
static int report_info(struct probe *p, const char *key, const char *val,
		       size_t len)
{
	const struct mf_sink *s = p->sink;
	const char *slash;
	int ret;

	if (!s->on_tag || keyset_has(&p->seen, key))
		return 0;
	slash = memchr(val, '/', len);
	if (strcmp(key, "tracknumber") == 0 && slash && slash > val &&
	    (size_t)(slash - val) + 1 < len &&
	    strspn(val, "0123456789") == (size_t)(slash - val) &&
	    strspn(slash + 1, "0123456789") == len - (size_t)(slash - val) - 1) {
		ret = s->on_tag(s->ctx, key, val, (size_t)(slash - val));
		if (ret || keyset_has(&p->seen, "totaltracks"))
			return ret;
		return s->on_tag(s->ctx, "totaltracks", slash + 1,
				 len - (size_t)(slash - val) - 1);
	}
	return s->on_tag(s->ctx, key, val, len);
}

/* Does the INFO list @body (@len bytes, after "INFO") hold field @id? */
static bool info_has(const uint8_t *body, size_t len, const char *id)
{
	size_t pos = 0;

	while (len - pos >= CHUNK_HDR) {
		uint32_t n = mf_get_le32(body + pos + 4);

		if (memcmp(body + pos, id, 4) == 0)
			return true;
		if (n > len - pos - CHUNK_HDR)
			return false;
		pos += CHUNK_HDR + (size_t)padded(n);
		if (pos > len)
			return false;
	}
	return false;
}

/* Parse and report one LIST/INFO chunk. */
static int probe_info(struct probe *p, const struct chunk *c)
{
	uint8_t *body = NULL;
	size_t len, pos = 0;
	char name[48], key[5 + sizeof(MF_WAV_INFO_PREFIX)];
	bool has_itrk;
	int ret;

	chunk_name(name, sizeof(name), c);
	if (c->size > INFO_MAX)
		return mf_reader_fail(&p->rd, -ENOTSUP, "%s (info list) is too large",
				  name);
	len = c->size - 4;
	body = malloc(len + 1);
	if (!body)
		return mf_reader_fail(&p->rd, -ENOMEM, "out of memory");
	ret = mf_reader_read(&p->rd, body, len, c->off + CHUNK_HDR + 4, name);
	if (ret)
		goto out;
	has_itrk = info_has(body, len, "ITRK");
	while (len - pos >= CHUNK_HDR) {
		const uint8_t *id = body + pos;
		uint32_t n = mf_get_le32(body + pos + 4);
		const char *k;
		char *val = NULL;
		size_t vlen = 0;

		if (!id_valid(id)) {
			ret = mf_reader_fail(&p->rd, -EBADMSG, "bad info field id in %s",
					 name);
			goto out;
		}
		if (n > len - pos - CHUNK_HDR) {
			ret = mf_reader_fail(&p->rd, -EBADMSG,
					 "info field '%.4s' runs past end of %s",
					 (const char *)id, name);
			goto out;
		}
		pos += CHUNK_HDR;
		k = mf_wav_info_key((const char *)id);
		if (!k) {
			snprintf(key, sizeof(key), "%s%.4s", MF_WAV_INFO_PREFIX,
				 (const char *)id);
			for (char *q = key; *q; q++)
				if (*q >= 'A' && *q <= 'Z')
					*q = (char)(*q - 'A' + 'a');
			k = key;
		}
		if (!mf_vocab_key_valid(k)) {
			mf_warn(WAV_DOM, "skipping info field '%.4s': no valid key",
				(const char *)id);
		} else if (!(has_itrk && memcmp(id, "IPRT", 4) == 0)) {
			ret = info_text(body + pos, n, &val, &vlen);
			if (ret) {
				ret = mf_reader_fail(&p->rd, ret, "out of memory");
				goto out;
			}
			ret = report_info(p, k, val, vlen);
			free(val);
			if (ret)
				goto out;
		}
		pos += n;
		if ((n & 1) && pos < len)
			pos++;
	}
	if (pos != len)
		mf_debug(WAV_DOM, "%zu stray bytes at the end of %s", len - pos,
			 name);
out:
	free(body);
	return ret;
}

/* The ID3v2 tag's tags go to the sink; their keys are remembered. */
static int id3_tag(void *ctx, const char *key, const char *value, size_t len)
{
	struct probe *p = ctx;
	struct keyset *s = &p->seen;
	char **k;

	if (!keyset_has(s, key)) {
		k = mf_array_grow(s->keys, &s->cap, s->n + 1, sizeof(*k));
		if (!k)
			return -ENOMEM;
		s->keys = k;
		s->keys[s->n] = strdup(key);
		if (!s->keys[s->n])
			return -ENOMEM;
		s->n++;
	}
	if (!p->sink->on_tag)
		return 0;
	return p->sink->on_tag(p->sink->ctx, key, value, len);
}

static int id3_binary(void *ctx, const char *key, const void *data, size_t len)
{
	const struct probe *p = ctx;

	if (!p->sink->on_binary_tag)
		return 0;
	return p->sink->on_binary_tag(p->sink->ctx, key, data, len);
}

static int id3_picture(void *ctx, const struct mf_picture *pic)
{
	const struct probe *p = ctx;

	if (!p->sink->on_picture)
		return 0;
	return p->sink->on_picture(p->sink->ctx, pic);
}

/* Parse and report the ID3v2 tag in chunk @c (mf_id3). */
static int probe_id3(struct probe *p, const struct chunk *c)
{
	const struct mf_sink fwd = {
		.ctx = p,
		.on_tag = id3_tag,
		.on_binary_tag = id3_binary,
		.on_picture = id3_picture,
	};
	uint8_t hdr[MF_ID3_HDR_LEN], *buf;
	uint64_t total;
	char name[48], why[96];
	int ret;

	chunk_name(name, sizeof(name), c);
	if (c->size < MF_ID3_HDR_LEN)
		return mf_reader_fail(&p->rd, -EBADMSG, "%s is too short for an id3v2 tag",
				  name);
	ret = mf_reader_read(&p->rd, hdr, sizeof(hdr), c->off + CHUNK_HDR, name);
	if (ret)
		return ret;
	if (mf_id3_tag_size(hdr, &total))
		return mf_reader_fail(&p->rd, -EBADMSG, "%s holds no id3v2 tag", name);
	if (total > c->size)
		return mf_reader_fail(&p->rd, -EBADMSG,
				  "id3v2 tag (%llu bytes) runs past end of %s",
				  (unsigned long long)total, name);
	buf = malloc((size_t)total);
	if (!buf)
		return mf_reader_fail(&p->rd, -ENOMEM, "out of memory");
	ret = mf_reader_read(&p->rd, buf, (size_t)total, c->off + CHUNK_HDR, name);
	if (!ret) {
		why[0] = '\0';
		ret = mf_id3_parse(buf, (size_t)total, &fwd, why, sizeof(why));
		if (ret)
			ret = mf_reader_fail(&p->rd, ret, "%s: %s", name,
					 why[0] ? why : strerror(-ret));
	}
	free(buf);
	return ret;
}

/* The tags: the first ID3v2 chunk, then INFO (keys ID3 lacks). */
static int probe_tags(struct probe *p)
{
	bool have_id3 = false;
	char name[48];
	int ret;

	for (size_t i = 0; i < p->n; i++) {
		const struct chunk *c = &p->chunks[i];

		if (memcmp(c->id, "id3 ", 4) != 0 && memcmp(c->id, "ID3 ", 4) != 0)
			continue;
		if (have_id3) {
			chunk_name(name, sizeof(name), c);
			mf_warn(WAV_DOM, "second id3v2 chunk ignored: %s", name);
			continue;
		}
		have_id3 = true;
		ret = probe_id3(p, c);
		if (ret)
			return ret;
	}
	for (size_t i = 0; i < p->n; i++) {
		if (!p->chunks[i].info)
			continue;
		ret = probe_info(p, &p->chunks[i]);
		if (ret)
			return ret;
	}
	return 0;
}

int mf_wav_probe(const struct mf_probe_src *src,
		 const struct mf_sink *sink, char *why, size_t whylen)
{
	static const struct mf_sink no_sink;
	struct probe p = {
		.rd = { .why = why, .whylen = whylen },
		.sink = sink ? sink : &no_sink, .fmt = SIZE_MAX, .data = SIZE_MAX,
		.fact = SIZE_MAX,
	};
	const struct chunk *dc;
	int ret;

	ret = mf_reader_init(&p.rd, src);
	if (ret)
		return ret;

	if ((ret = probe_header(&p)) || (ret = probe_walk(&p)) ||
	    (ret = probe_check_kept(&p)))
		goto out;
	dc = &p.chunks[p.data];
	if (p.sink->on_audio_range) {
		ret = p.sink->on_audio_range(p.sink->ctx, dc->off + CHUNK_HDR,
					     dc->size);
		if (ret)
			goto out;
	}
	if ((ret = probe_props(&p)) || (ret = probe_structural(&p)) ||
	    (ret = probe_tags(&p)))
		goto out;
out:
	keyset_release(&p.seen);
	free(p.chunks);
	return ret;
}

/* ---- synthesis ---- */

/* One INFO field to write: id and the tags (a run of one key). */
struct info_field {
	char id[4];
	size_t first, count;	/* run in in->tags */
	uint64_t len;		/* body bytes with the NUL */
};

/* INFO values of one key are joined with this (INFO holds one value). */
#define INFO_JOIN "; "

/*
 * Plan the INFO list: which runs of @in->tags become which fields, and
 * the LIST body size (with "INFO"), 0 when there is nothing to write.
 */
static int info_plan(const struct mf_synth_input *in,
		     struct info_field **fields, size_t *nfields,
		     uint64_t *body)
{
	struct info_field *f = NULL, *g;
	size_t n = 0, cap = 0, i = 0, j;
	uint64_t total = 4;
	char id[4];

	while (i < in->ntags) {
		const char *key = in->tags[i].key;

		if (!key || !in->tags[i].value)
			goto bad;
		for (j = i + 1; j < in->ntags && in->tags[j].key &&
		     strcmp(in->tags[j].key, key) == 0; j++)
			;
		if (mf_wav_info_id(key, id) == 0) {
			g = mf_array_grow(f, &cap, n + 1, sizeof(*f));
			if (!g) {
				free(f);
				return -ENOMEM;
			}
			f = g;
			memcpy(f[n].id, id, 4);
			f[n].first = i;
			f[n].count = j - i;
			f[n].len = 1;
			for (size_t k = i; k < j; k++) {
				if (!in->tags[k].value)
					goto bad;
				f[n].len += strlen(in->tags[k].value) +
					    (k > i ? strlen(INFO_JOIN) : 0);
			}
			if (f[n].len > RIFF_MAX) {
				free(f);
				return -EFBIG;
			}
			total += CHUNK_HDR + padded(f[n].len);
			n++;
		}
		i = j;
	}
	*fields = f;
	*nfields = n;
	*body = n ? total : 0;
	return 0;
bad:
	free(f);
	return -EIO;
}

/* Append the LIST/INFO chunk planned by info_plan(). */
static int add_info(struct mf_layout *l, const struct mf_synth_input *in,
		    const struct info_field *f, size_t n, uint64_t body)
{
	uint8_t *buf, *w;
	int ret;

	buf = malloc((size_t)body + CHUNK_HDR);
	if (!buf)
		return -ENOMEM;
	w = buf;
	memcpy(w, "LIST", 4);
	mf_put_le32(w + 4, (uint32_t)body);
	memcpy(w + 8, "INFO", 4);
	w += 12;
	for (size_t i = 0; i < n; i++) {
		memcpy(w, f[i].id, 4);
		mf_put_le32(w + 4, (uint32_t)f[i].len);
		w += CHUNK_HDR;
		for (size_t k = f[i].first; k < f[i].first + f[i].count; k++) {
			size_t vlen = strlen(in->tags[k].value);

			if (k > f[i].first) {
				memcpy(w, INFO_JOIN, strlen(INFO_JOIN));
				w += strlen(INFO_JOIN);
			}
			memcpy(w, in->tags[k].value, vlen);
			w += vlen;
		}
		*w++ = '\0';
		if (f[i].len & 1)
			*w++ = '\0';
	}
	ret = mf_layout_add_inline(l, buf, (size_t)(w - buf));
	free(buf);
	return ret;
}

/* Append a chunk header. */
static int add_chunk_hdr(struct mf_layout *l, const void *id, uint32_t size)
{
	uint8_t h[CHUNK_HDR];

	memcpy(h, id, 4);
	mf_put_le32(h + 4, size);
	return mf_layout_add_inline(l, h, sizeof(h));
}

/* Append the "id3 " chunk: header, the ID3v2 tag of @len bytes, pad. */
static int add_id3(struct mf_layout *l, const struct mf_synth_input *in,
		   int ver, uint64_t len)
{
	static const uint8_t zero;
	uint64_t before = mf_layout_size(l);
	int ret;

	if ((ret = add_chunk_hdr(l, "id3 ", (uint32_t)len)) ||
	    (ret = mf_id3_build(l, in, ver)))
		return ret == -EINVAL ? -EIO : ret;
	if (mf_layout_size(l) != before + CHUNK_HDR + len)
		return -EIO;
	return len & 1 ? mf_layout_add_inline(l, &zero, 1) : 0;
}

int mf_wav_synth(const struct mf_synth_input *in, struct mf_layout **out)
{
	static const uint8_t zero;
	struct info_field *fields = NULL;
	struct mf_layout *l = NULL;
	size_t nfields = 0, nfmt = 0, ndata = 0;
	uint64_t riff = 4, info_body = 0, id3_len = 0;
	int ver = in && in->opts ? in->opts->id3v2_version : 0;
	uint8_t head[12];
	int ret;

	if (!in || !out)
		return -EINVAL;
	/* the kept chunks: one "fmt " before one "data" */
	for (size_t i = 0; i < in->nblocks; i++) {
		const struct mf_synth_block *b = &in->blocks[i];

		if (strcmp(b->kind, MF_WAV_KIND_CHUNK) != 0)
			continue;
		if (b->len < 4 || !id_valid(b->data))
			return -EIO;
		if (memcmp(b->data, "data", 4) == 0) {
			if (b->len != 4 || ndata++ || !nfmt)
				return -EIO;
			if (in->audio_length > RIFF_MAX)
				return -EFBIG;
			riff += CHUNK_HDR + padded(in->audio_length);
			continue;
		}
		if (memcmp(b->data, "fmt ", 4) == 0 &&
		    (nfmt++ || b->len - 4 < FMT_MIN))
			return -EIO;
		if (b->len - 4 > RIFF_MAX)
			return -EFBIG;
		riff += CHUNK_HDR + padded(b->len - 4);
	}
	if (nfmt != 1 || ndata != 1)
		return -EIO;
	ret = info_plan(in, &fields, &nfields, &info_body);
	if (ret)
		return ret;
	if (info_body)
		riff += CHUNK_HDR + info_body;
	ret = mf_id3_build_size(in, ver, &id3_len);
	if (ret) {
		ret = ret == -EINVAL ? -EIO : ret;
		goto out;
	}
	if (id3_len)
		riff += CHUNK_HDR + padded(id3_len);
	if (riff > RIFF_MAX) {
		ret = -EFBIG;
		goto out;
	}

	l = mf_layout_new();
	if (!l) {
		ret = -ENOMEM;
		goto out;
	}
	memcpy(head, "RIFF", 4);
	mf_put_le32(head + 4, (uint32_t)riff);
	memcpy(head + 8, "WAVE", 4);
	ret = mf_layout_add_inline(l, head, sizeof(head));
	for (size_t i = 0; i < in->nblocks && !ret; i++) {
		const struct mf_synth_block *b = &in->blocks[i];

		if (strcmp(b->kind, MF_WAV_KIND_CHUNK) != 0)
			continue;
		if (memcmp(b->data, "data", 4) == 0) {
			if ((ret = add_chunk_hdr(l, "data",
						 (uint32_t)in->audio_length)) ||
			    (ret = mf_layout_add_backing(l, in->audio_offset,
							 in->audio_length)))
				break;
			if (in->audio_length & 1)
				ret = mf_layout_add_inline(l, &zero, 1);
			continue;
		}
		if ((ret = add_chunk_hdr(l, b->data, (uint32_t)(b->len - 4))) ||
		    (ret = mf_layout_add_inline(l, b->data + 4, b->len - 4)))
			break;
		if ((b->len - 4) & 1)
			ret = mf_layout_add_inline(l, &zero, 1);
	}
	if (!ret && info_body)
		ret = add_info(l, in, fields, nfields, info_body);
	if (!ret && id3_len)
		ret = add_id3(l, in, ver, id3_len);
	if (ret)
		goto out;
	if (mf_layout_size(l) != CHUNK_HDR + riff) {
		ret = -EIO;
		goto out;
	}
	*out = l;
	l = NULL;
out:
	mf_layout_free(l);
	free(fields);
	return ret;
}
