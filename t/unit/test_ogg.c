/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for mf_ogg: CRC against libogg; probe Ogg Vorbis, Opus and
 * FLAC files made at test time with oggenc, vorbiscomment, opusenc and
 * flac --ogg; synthesize from what the probe reported (with small and
 * big art, so both the verbatim and the renumbering audio paths run),
 * check every served page (CRC, sequence, BOS), random reads, a re-probe
 * and an ffmpeg decode; then truncated, mutated (CRC fixed up) and
 * crafted hostile files, and hostile structural blocks for synthesis.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <ogg/ogg.h>

#include "mf_format.h"
#include "mf_layout.h"
#include "mf_log.h"
#include "mf_ogg.h"
#include "mf_sink.h"

#include "lib-unit.h"

#include "mf_banned.h"

/* ---- a sink that records everything ---- */

#define REC_KIND_PREFIX "ogg:"
#include "rec_sink.h"

static const char *rec_tag_value(const struct rec *r, const char *key,
				 unsigned nth)
{
	for (size_t i = 0; i < r->ntags; i++)
		if (strcmp(r->tags[i].key, key) == 0 && nth-- == 0)
			return (const char *)r->tags[i].data;
	return NULL;
}

/* ---- files ---- */

static char dir[64];

enum { F_VORBIS, F_OPUS, F_FLAC, F_COUNT };
static const char *const fname[F_COUNT] = { "a.ogg", "a.opus", "a.oga" };
static uint8_t *file[F_COUNT];
static size_t file_len[F_COUNT];

static int probe_bytes(const void *buf, size_t len, struct rec *r, char *why,
		       size_t whylen)
{
	struct mf_sink s = rec_sink(r);

	return lu_probe_bytes(mf_ogg_probe, &s, buf, len, why, whylen);
}

static int group_setup(void **state)
{
	char p[128];

	(void)state;
	if (lu_run("command -v sox oggenc vorbiscomment opusenc flac ffmpeg base64 >/dev/null 2>&1"))
		return -1;
	if (lu_tmpdir(dir, sizeof(dir), "ogg"))
		return -1;
	if (lu_run("cd %s && "
		"sox -n -r 44100 -c 2 -b 16 a.wav synth 2 sine 440 && "
		"ffmpeg -loglevel error -y -f lavfi -i color=c=red:s=16x8 "
		"-frames:v 1 img.png && "
		"oggenc -Q -o a.ogg a.wav && "
		"vorbiscomment -R -w -t TITLE=Sine -t ARTIST=One -t ARTIST=Two "
		"-t TRACKTOTAL=9 -t DISCTOTAL=2 -t TOTALDISCS=3 "
		"-t 'ALBUM ARTIST=AA' -t MUSICBRAINZ_TRACKID=rec-id -t EMPTY= "
		"-t 'UNICODE=\xc3\x9cn\xc3\xaf' -t COVERARTMIME=image/png "
		"-t \"COVERART=$(base64 -w0 img.png)\" a.ogg && "
		"opusenc --quiet --title Opus --artist OA "
		"--picture '3||front cover||img.png' a.wav a.opus && "
		"flac -s --ogg -T TITLE=F -T ARTIST=FA "
		"--picture '4|image/png|back||img.png' -o a.oga a.wav", dir))
		return -1;
	for (int i = 0; i < F_COUNT; i++) {
		lu_path(p, sizeof(p), dir, fname[i]);
		file[i] = lu_slurp(p, &file_len[i]);
	}
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	for (int i = 0; i < F_COUNT; i++)
		free(file[i]);
	return lu_tmpdir_remove(dir);
}

/* ---- page checks ---- */

/* Length of the page at @off of @buf, or 0 if none fits. */
static size_t page_len_at(const uint8_t *buf, size_t len, size_t off)
{
	size_t n, body = 0;

	if (len - off < 27 || memcmp(buf + off, "OggS", 4) != 0)
		return 0;
	n = buf[off + 26];
	if (len - off < 27 + n)
		return 0;
	for (size_t i = 0; i < n; i++)
		body += buf[off + 27 + i];
	return 27 + n + body <= len - off ? 27 + n + body : 0;
}

/* Recompute the CRC of the page at @off with libogg. */
static void page_fix_crc(uint8_t *buf, size_t off, size_t plen)
{
	ogg_page op;
	size_t h = 27 + buf[off + 26];

	op.header = buf + off;
	op.header_len = (long)h;
	op.body = buf + off + h;
	op.body_len = (long)(plen - h);
	ogg_page_checksum_set(&op);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/* Every page: CRC (libogg), one serial, sequence 0.., BOS on page 0 only. */
static size_t check_pages(const uint8_t *buf, size_t len)
{
	size_t off = 0, n = 0;
	uint32_t serial = 0;

	while (off < len) {
		size_t plen = page_len_at(buf, len, off);
		uint8_t *copy;

		assert_true(plen > 0);
		copy = dup_mem(buf + off, plen);
		page_fix_crc(copy, 0, plen);
		assert_memory_equal(copy + 22, buf + off + 22, 4);
		free(copy);
		if (n == 0)
			serial = le32(buf + off + 14);
		assert_int_equal(le32(buf + off + 14), serial);
		assert_int_equal(le32(buf + off + 18), n);
		assert_int_equal(!!(buf[off + 5] & 2), n == 0);
		off += plen;
		n++;
	}
	return n;
}

static void test_crc(void **state)
{
	uint8_t page[27 + 255 + 3000];
	ogg_page op;

	(void)state;
	/* mf_ogg_crc equals libogg's on every page of the real files */
	for (int f = 0; f < F_COUNT; f++) {
		size_t off = 0;

		while (off < file_len[f]) {
			size_t plen = page_len_at(file[f], file_len[f], off);
			uint8_t *c;
			uint32_t crc;

			assert_true(plen > 0);
			c = dup_mem(file[f] + off, plen);
			memset(c + 22, 0, 4);
			crc = mf_ogg_crc(0, c, plen);
			assert_int_equal(crc, (uint32_t)file[f][off + 22] |
					 (uint32_t)file[f][off + 23] << 8 |
					 (uint32_t)file[f][off + 24] << 16 |
					 (uint32_t)file[f][off + 25] << 24);
			free(c);
			off += plen;
		}
	}
	/* mf_ogg_crc_reseq equals a full recompute */
	for (int k = 0; k < 500; k++) {
		size_t body = lu_rand() % 3000, plen;
		uint32_t old_seq = lu_rand();
		uint32_t new_seq = k % 7 ? lu_rand() : old_seq + 1;
		uint32_t crc;

		memcpy(page, "OggS", 4);
		for (size_t i = 4; i < sizeof(page); i++)
			page[i] = (uint8_t)lu_rand();
		page[26] = (uint8_t)(body / 255 + 1);
		for (size_t i = 0; i < page[26]; i++)
			page[27 + i] = i + 1 < page[26] ? 255 : (uint8_t)(body % 255);
		plen = 27 + page[26] + body;
		page[18] = (uint8_t)old_seq;
		page[19] = (uint8_t)(old_seq >> 8);
		page[20] = (uint8_t)(old_seq >> 16);
		page[21] = (uint8_t)(old_seq >> 24);
		op.header = page;
		op.header_len = 27 + page[26];
		op.body = page + op.header_len;
		op.body_len = (long)body;
		ogg_page_checksum_set(&op);
		crc = (uint32_t)page[22] | (uint32_t)page[23] << 8 |
		      (uint32_t)page[24] << 16 | (uint32_t)page[25] << 24;
		crc = mf_ogg_crc_reseq(crc, old_seq, new_seq, plen);
		page[18] = (uint8_t)new_seq;
		page[19] = (uint8_t)(new_seq >> 8);
		page[20] = (uint8_t)(new_seq >> 16);
		page[21] = (uint8_t)(new_seq >> 24);
		ogg_page_checksum_set(&op);
		assert_int_equal(crc, (uint32_t)page[22] | (uint32_t)page[23] << 8 |
				 (uint32_t)page[24] << 16 | (uint32_t)page[25] << 24);
	}
}

/* ---- probing the real files ---- */

static void test_probe_vorbis(void **state)
{
	struct rec r = { 0 };
	char why[128];

	(void)state;
	assert_int_equal(probe_bytes(file[F_VORBIS], file_len[F_VORBIS], &r,
				     why, sizeof(why)), 0);
	assert_string_equal(r.format, "vorbis");
	assert_int_equal(r.nrange, 1);
	assert_int_equal(r.off + r.len, file_len[F_VORBIS]);
	assert_memory_equal(file[F_VORBIS] + r.off, "OggS", 4);
	assert_string_equal(rec_tag_value(&r, "title", 0), "Sine");
	assert_string_equal(rec_tag_value(&r, "artist", 0), "One");
	assert_string_equal(rec_tag_value(&r, "artist", 1), "Two");
	assert_string_equal(rec_tag_value(&r, "totaldiscs", 0), "3");
	assert_null(rec_tag_value(&r, "totaldiscs", 1));
	assert_string_equal(rec_tag_value(&r, "totaltracks", 0), "9");
	assert_string_equal(rec_tag_value(&r, "albumartist", 0), "AA");
	assert_string_equal(rec_tag_value(&r, "musicbrainz_recordingid", 0),
			    "rec-id");
	assert_string_equal(rec_tag_value(&r, "empty", 0), "");
	assert_string_equal(rec_tag_value(&r, "unicode", 0),
			    "\xc3\x9cn\xc3\xaf");
	assert_null(rec_tag_value(&r, "coverart", 0));
	assert_null(rec_tag_value(&r, "coverartmime", 0));
	/* legacy COVERART: type 3, MIME from COVERARTMIME, size from PNG */
	assert_int_equal(r.npics, 1);
	assert_int_equal(r.pics[0].type, 3);
	assert_string_equal(r.pics[0].mime, "image/png");
	assert_int_equal(r.pics[0].width, 16);
	assert_int_equal(r.pics[0].height, 8);
	assert_memory_equal(r.pics[0].data, "\x89PNG", 4);
	assert_int_equal(r.nprops, 1);
	assert_int_equal(r.props.sample_rate, 44100);
	assert_int_equal(r.props.channels, 2);
	assert_int_equal(r.props.total_samples, 88200);
	assert_int_equal(r.props.duration_ms, 2000);
	assert_true(r.props.bitrate_kbps > 0);
	rec_free(&r);
}

static void test_probe_opus_flac(void **state)
{
	struct rec r = { 0 };
	char why[128];

	(void)state;
	assert_int_equal(probe_bytes(file[F_OPUS], file_len[F_OPUS], &r, why,
				     sizeof(why)), 0);
	assert_string_equal(r.format, "opus");
	assert_int_equal(r.off + r.len, file_len[F_OPUS]);
	assert_string_equal(rec_tag_value(&r, "title", 0), "Opus");
	assert_int_equal(r.npics, 1);
	assert_int_equal(r.pics[0].type, 3);
	assert_string_equal(r.pics[0].desc, "front cover");
	assert_string_equal(r.pics[0].mime, "image/png");
	assert_int_equal(r.pics[0].width, 16);
	assert_int_equal(r.props.sample_rate, 48000);
	assert_int_equal(r.props.duration_ms, 2000);
	rec_free(&r);

	assert_int_equal(probe_bytes(file[F_FLAC], file_len[F_FLAC], &r, why,
				     sizeof(why)), 0);
	assert_string_equal(r.format, "oggflac");
	assert_int_equal(r.off + r.len, file_len[F_FLAC]);
	assert_string_equal(rec_tag_value(&r, "artist", 0), "FA");
	assert_int_equal(r.npics, 1);
	assert_int_equal(r.pics[0].type, 4);
	assert_string_equal(r.pics[0].desc, "back");
	assert_int_equal(r.pics[0].height, 8);
	assert_int_equal(r.props.sample_rate, 44100);
	assert_int_equal(r.props.bits_per_sample, 16);
	assert_int_equal(r.props.total_samples, 88200);
	rec_free(&r);
}

/* ---- synthesis round trip ---- */

struct io_ctx {
	const uint8_t *backing;
	size_t backing_len;
	const struct rec *r;
	const uint8_t *extra;	/* blob rowid 1000: an extra picture */
	size_t extra_len;
};

static int io_blob(void *ctx, const struct mf_blob_ref *ref, uint64_t off,
		   void *buf, size_t len)
{
	const struct io_ctx *c = ctx;

	if (ref->kind == MF_BLOB_ART && ref->rowid == 1000) {
		if (off > c->extra_len || len > c->extra_len - off)
			return -EIO;
		memcpy(buf, c->extra + off, len);
		return 0;
	}
	return rec_read_blob(c->r, ref, off, buf, len);
}

static int io_backing(void *ctx, uint64_t off, void *buf, size_t len)
{
	const struct io_ctx *c = ctx;

	if (off > c->backing_len || len > c->backing_len - off)
		return -EIO;
	memcpy(buf, c->backing + off, len);
	return 0;
}

/* Synthesize from @r (+ an extra picture of @extra_len bytes, if any). */
static int synth_from(const struct rec *r, const struct io_ctx *io,
		      struct mf_layout **out)
{
	struct mf_synth_block blocks[REC_MAX];
	struct mf_synth_tag tags[REC_MAX];
	struct mf_synth_pic pics[REC_MAX + 1];
	struct mf_synth_bin bins[REC_MAX];
	static const struct mf_synth_opts opts;
	struct mf_synth_input in;
	size_t i, n = 0;

	memset(&in, 0, sizeof(in));
	/* (kind, ordinal) order: stable sort by kind */
	for (const char *k = "ogg:header"; k; k = strcmp(k, "ogg:header") == 0 ?
	     "ogg:info" : strcmp(k, "ogg:info") == 0 ? "ogg:pages" : NULL)
		for (i = 0; i < r->nblocks; i++)
			if (strcmp(r->blocks[i].key, k) == 0) {
				blocks[n].kind = r->blocks[i].key;
				blocks[n].data = r->blocks[i].data;
				blocks[n++].len = r->blocks[i].len;
			}
	assert_int_equal(n, r->nblocks);
	for (i = 0; i < r->ntags; i++) {
		tags[i].key = r->tags[i].key;
		tags[i].value = (const char *)r->tags[i].data;
	}
	for (i = 0; i < r->npics; i++) {
		memset(&pics[i], 0, sizeof(pics[i]));
		pics[i].type = r->pics[i].type;
		pics[i].mime = r->pics[i].mime;
		pics[i].desc = r->pics[i].desc;
		pics[i].width = r->pics[i].width;
		pics[i].height = r->pics[i].height;
		pics[i].len = r->pics[i].len;
		pics[i].ref.kind = MF_BLOB_ART;
		pics[i].ref.rowid = (int64_t)i;
	}
	if (io->extra) {
		memset(&pics[i], 0, sizeof(pics[i]));
		pics[i].type = 4;
		pics[i].mime = "image/jpeg";
		pics[i].desc = "big";
		pics[i].len = io->extra_len;
		pics[i].ref.kind = MF_BLOB_ART;
		pics[i].ref.rowid = 1000;
		i++;
	}
	for (size_t b = 0; b < r->nbins; b++) {
		bins[b].key = r->bins[b].key;
		bins[b].len = r->bins[b].len;
		bins[b].ref.kind = MF_BLOB_TAG;
		bins[b].ref.rowid = (int64_t)b;
	}
	in.format = r->format;
	in.blocks = blocks;
	in.nblocks = n;
	in.tags = tags;
	in.ntags = r->ntags;
	in.pics = pics;
	in.npics = i;
	in.bins = bins;
	in.nbins = r->nbins;
	in.audio_offset = r->off;
	in.audio_length = r->len;
	in.backing_size = io->backing_len;
	in.opts = &opts;
	return mf_ogg_synth(&in, out);
}

static uint8_t *read_all(const struct mf_layout *l,
			 const struct mf_layout_io *io, size_t *len)
{
	size_t n = (size_t)mf_layout_size(l);
	uint8_t *buf = malloc(n);

	assert_non_null(buf);
	assert_int_equal(mf_layout_read_at(l, 0, buf, n, io), (ssize_t)n);
	*len = n;
	return buf;
}

/* Are the pages of @a and @b equal but for sequence numbers and CRCs? */
static bool same_but_seq(const uint8_t *a, const uint8_t *b, size_t len)
{
	size_t off = 0;

	while (off < len) {
		size_t plen = page_len_at(b, len, off);

		if (!plen || memcmp(a + off, b + off, 18) != 0 ||
		    memcmp(a + off + 26, b + off + 26, plen - 26) != 0)
			return false;
		off += plen;
	}
	return true;
}

static void round_trip(int f, size_t extra_len)
{
	struct rec r = { 0 }, r2 = { 0 };
	struct io_ctx c = { .backing = file[f], .backing_len = file_len[f] };
	struct mf_layout_io io = { .ctx = &c, .read_blob = io_blob,
				   .read_backing = io_backing };
	struct mf_layout *l = NULL;
	uint8_t *out, *extra = NULL, chunk[70000];
	size_t len, npages, orig_pages = 0, off = 0;
	char why[128], p[128], q[128];

	assert_int_equal(probe_bytes(file[f], file_len[f], &r, why,
				     sizeof(why)), 0);
	c.r = &r;
	if (extra_len) {
		extra = malloc(extra_len);
		assert_non_null(extra);
		for (size_t i = 0; i < extra_len; i++)
			extra[i] = (uint8_t)lu_rand();
		c.extra = extra;
		c.extra_len = extra_len;
	}
	assert_int_equal(synth_from(&r, &c, &l), 0);
	out = read_all(l, &io, &len);
	npages = check_pages(out, len);
	while (off < file_len[f]) {
		off += page_len_at(file[f], file_len[f], off);
		orig_pages++;
	}
	/* the audio pages: the original bytes but seq and CRC */
	assert_true(len >= r.len);
	assert_true(same_but_seq(out + len - r.len, file[f] + r.off,
				 (size_t)r.len));
	if (extra_len && npages <= orig_pages)
		fail_msg("%s: %zu pages served, %zu in the original", fname[f],
			 npages, orig_pages);
	/* random reads equal the whole read */
	for (int k = 0; k < 300; k++) {
		uint64_t o = lu_rand() % (len + 1);
		size_t n = 1 + lu_rand() % (k % 3 ? 64 : sizeof(chunk));
		ssize_t got = mf_layout_read_at(l, o, chunk, n, &io);

		assert_true(got >= 0);
		assert_int_equal((size_t)got, o + n <= len ? n : len - o);
		assert_memory_equal(chunk, out + o, (size_t)got);
	}
	/* the served file probes back to the same tags and pictures */
	assert_int_equal(probe_bytes(out, len, &r2, why, sizeof(why)), 0);
	assert_string_equal(r2.format, r.format);
	assert_int_equal(r2.ntags, r.ntags);
	for (size_t i = 0; i < r.ntags; i++) {
		assert_string_equal(r2.tags[i].key, r.tags[i].key);
		assert_string_equal(r2.tags[i].data, r.tags[i].data);
	}
	assert_int_equal(r2.npics, r.npics + (extra_len ? 1 : 0));
	for (size_t i = 0; i < r.npics; i++) {
		assert_int_equal(r2.pics[i].type, r.pics[i].type);
		assert_string_equal(r2.pics[i].mime, r.pics[i].mime);
		assert_string_equal(r2.pics[i].desc, r.pics[i].desc);
		assert_int_equal(r2.pics[i].len, r.pics[i].len);
		assert_memory_equal(r2.pics[i].data, r.pics[i].data,
				    r.pics[i].len);
	}
	if (extra_len)
		assert_memory_equal(r2.pics[r.npics].data, extra, extra_len);
	assert_int_equal(r2.len, r.len);
	assert_int_equal(r2.props.total_samples, r.props.total_samples);
	/* ffmpeg decodes the served file to the original audio */
	lu_path(p, sizeof(p), dir, "served");
	lu_path(q, sizeof(q), dir, fname[f]);
	lu_spew(p, out, len);
	assert_int_equal(lu_run("cd %s && ffmpeg -nostdin -v error -i %s "
				"-map 0:a -f md5 - >md5.a 2>/dev/null && "
				"ffmpeg -nostdin -v error -i served -map 0:a "
				"-f md5 - >md5.b 2>/dev/null && cmp md5.a md5.b",
				dir, q), 0);
	free(out);
	free(extra);
	mf_layout_free(l);
	rec_free(&r);
	rec_free(&r2);
}

static void test_round_trip(void **state)
{
	(void)state;
	for (int f = 0; f < F_COUNT; f++) {
		round_trip(f, 0);
		round_trip(f, 300000);	/* more header pages: renumbering */
	}
}

static void test_synth_refuses(void **state)
{
	struct rec r = { 0 };
	struct io_ctx c = { .backing = file[F_VORBIS],
			    .backing_len = file_len[F_VORBIS] };
	struct mf_layout *l = NULL;
	char why[128];
	size_t k;

	(void)state;
	assert_int_equal(probe_bytes(file[F_VORBIS], file_len[F_VORBIS], &r,
				     why, sizeof(why)), 0);
	c.r = &r;
	/* garbage in each structural block: -EIO or a valid layout */
	for (size_t b = 0; b < r.nblocks; b++) {
		uint8_t *save = dup_mem(r.blocks[b].data, r.blocks[b].len);
		size_t save_len = r.blocks[b].len;

		for (k = 0; k < 200; k++) {
			int ret;

			memcpy(r.blocks[b].data, save, save_len);
			r.blocks[b].data[lu_rand() % save_len] =
				(uint8_t)lu_rand();
			if (k % 5 == 0)
				r.blocks[b].len = lu_rand() % save_len + 1;
			c.extra = k % 2 ? file[F_OPUS] : NULL;
			c.extra_len = 100000;
			ret = synth_from(&r, &c, &l);
			assert_true(ret == 0 || ret == -EIO);
			mf_layout_free(l);
			l = NULL;
			r.blocks[b].len = save_len;
		}
		memcpy(r.blocks[b].data, save, save_len);
		free(save);
	}
	/* the wrong format for the blocks */
	r.format = "opus";
	assert_int_equal(synth_from(&r, &c, &l), -EIO);
	r.format = "flac";
	assert_int_equal(synth_from(&r, &c, &l), -EIO);
	r.format = "vorbis";
	/* no blocks */
	k = r.nblocks;
	r.nblocks = 0;
	assert_int_equal(synth_from(&r, &c, &l), -EIO);
	r.nblocks = k;
	rec_free(&r);
}

/* ---- hostile files ---- */

static void test_truncated(void **state)
{
	struct rec r = { 0 };
	char why[128];

	(void)state;
	for (int f = 0; f < F_COUNT; f++) {
		struct lu_prefix p;
		struct mf_sink s = rec_sink(&r);
		size_t len = file_len[f];

		lu_prefix_open(&p, file[f], len);
		for (;;) {
			int ret;

			why[0] = '\0';
			ret = mf_ogg_probe(MF_PROBE_SRC_FD(lu_prefix_cut(&p, len)), &s, why,
					   sizeof(why));
			if (ret == 0) {
				assert_int_equal(r.off + r.len, len);
			} else {
				assert_true(ret == -EBADMSG || ret == -EINVAL);
				assert_true(why[0] != '\0');
			}
			rec_free(&r);
			if (!len)
				break;
			len = len > 20000 ? len - 1 - lu_rand() % 97 : len - 1;
		}
		lu_prefix_close(&p);
	}
}

/* Mutate header page bytes, fix the CRC up, probe: no crash, sane result. */
static void test_mutated(void **state)
{
	struct rec r = { 0 };
	char why[128];

	(void)state;
	for (int f = 0; f < F_COUNT; f++) {
		struct lu_mutant m;
		size_t hdr_end, off;

		assert_int_equal(probe_bytes(file[f], file_len[f], &r, why,
					     sizeof(why)), 0);
		hdr_end = (size_t)r.off;
		rec_free(&r);
		lu_mutant_begin(&m, file[f], file_len[f], 0, hdr_end,
				hdr_end > 4000 ? 7 : 0);
		while (lu_mutant_next(&m)) {
			int ret;

			/* fix the CRC of the page holding m.pos */
			off = 0;
			for (;;) {
				size_t plen = page_len_at(m.buf, m.len, off);

				if (!plen)
					break;
				if (m.pos < off + plen) {
					page_fix_crc(m.buf, off, plen);
					break;
				}
				off += plen;
			}
			why[0] = '\0';
			ret = probe_bytes(m.buf, m.len, &r, why, sizeof(why));
			if (ret == 0)
				assert_int_equal(r.nrange, 1);
			else
				assert_true(ret < 0 && why[0] != '\0');
			rec_free(&r);
		}
		lu_mutant_end(&m);
	}
}

static void test_crafted(void **state)
{
	const uint8_t *v = file[F_VORBIS], *o = file[F_OPUS];
	size_t vl = file_len[F_VORBIS], ol = file_len[F_OPUS];
	size_t v0 = page_len_at(v, vl, 0), o0 = page_len_at(o, ol, 0);
	struct rec r = { 0 };
	uint8_t *buf = malloc(vl + ol + 100);
	char why[128];

	(void)state;
	assert_non_null(buf);
	/* not Ogg at all */
	assert_int_equal(probe_bytes("fLaC\0\0\0\x22", 8, &r, why, sizeof(why)),
			 -EINVAL);
	assert_string_equal(why, "not an Ogg file");
	assert_int_equal(probe_bytes("", 0, &r, why, sizeof(why)), -EINVAL);
	/* chained: the same stream twice */
	memcpy(buf, v, vl);
	memcpy(buf + vl, v, vl);
	assert_int_equal(probe_bytes(buf, 2 * vl, &r, why, sizeof(why)),
			 -ENOTSUP);
	assert_non_null(strstr(why, "chained"));
	rec_free(&r);
	/* multiplexed: two BOS pages first */
	memcpy(buf, v, v0);
	memcpy(buf + v0, o, o0);
	memcpy(buf + v0 + o0, v + v0, vl - v0);
	assert_int_equal(probe_bytes(buf, vl + o0, &r, why, sizeof(why)),
			 -ENOTSUP);
	assert_non_null(strstr(why, "multiplexed"));
	rec_free(&r);
	/* junk between audio pages */
	{
		size_t last = 0, off = 0;

		while (off < vl) {
			last = off;
			off += page_len_at(v, vl, off);
		}
		memcpy(buf, v, last);
		memcpy(buf + last, "junkjunk", 8);
		memcpy(buf + last + 8, v + last, vl - last);
	}
	{
		struct rec r3 = { 0 };
		int ret = probe_bytes(buf, vl + 8, &r3, why, sizeof(why));

		assert_int_equal(ret, -EBADMSG);
		rec_free(&r3);
	}
	/* a bad CRC on a header page */
	memcpy(buf, v, vl);
	buf[v0 + 40] ^= 1;
	assert_int_equal(probe_bytes(buf, vl, &r, why, sizeof(why)), -EBADMSG);
	assert_non_null(strstr(why, "CRC"));
	rec_free(&r);
	/* an unknown codec */
	memcpy(buf, v, vl);
	memcpy(buf + 28, "Speex   ", 8);
	page_fix_crc(buf, 0, v0);
	assert_int_equal(probe_bytes(buf, vl, &r, why, sizeof(why)), -ENOTSUP);
	assert_non_null(strstr(why, "speex"));
	rec_free(&r);
	/* a page length that runs past the end */
	memcpy(buf, v, vl);
	buf[v0 + 27] = 255;
	buf[v0 + 26] = 255;
	assert_int_equal(probe_bytes(buf, vl, &r, why, sizeof(why)), -EBADMSG);
	rec_free(&r);
	/* random bytes after a valid capture pattern */
	for (int k = 0; k < 3000; k++) {
		size_t len = 4 + lu_rand() % 600;

		memcpy(buf, v, k % 2 ? 4 : 27);
		for (size_t i = k % 2 ? 4 : 27; i < len; i++)
			buf[i] = (uint8_t)lu_rand();
		if (k % 3 == 0 && page_len_at(buf, len, 0))
			page_fix_crc(buf, 0, page_len_at(buf, len, 0));
		assert_true(probe_bytes(buf, len, &r, why, sizeof(why)) < 0);
		rec_free(&r);
	}
	free(buf);
}

static void test_not_regular(void **state)
{
	int fds[2];
	char why[64];

	(void)state;
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(mf_ogg_probe(MF_PROBE_SRC_FD(fds[0]), NULL, why, sizeof(why)), -EINVAL);
	close(fds[0]);
	close(fds[1]);
	assert_int_equal(mf_ogg_probe(MF_PROBE_SRC_FD(-1), NULL, why, sizeof(why)), -EBADF);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc),
		cmocka_unit_test(test_probe_vorbis),
		cmocka_unit_test(test_probe_opus_flac),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_synth_refuses),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_mutated),
		cmocka_unit_test(test_crafted),
		cmocka_unit_test(test_not_regular),
	};

	mf_log_init("test_ogg", MF_LOG_ERROR);
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
