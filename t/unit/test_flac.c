/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for mf_flac: probe a FLAC file made at test time with sox,
 * flac and metaflac; probe truncated, mutated and hand-crafted hostile
 * files; synthesize from what the probe reported, check the result with
 * flac -t and metaflac, and re-probe it.
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

#include "mf_flac.h"
#include "mf_layout.h"
#include "mf_log.h"
#include "mf_sink.h"

#include "lib-unit.h"

#include "mf_banned.h"

/* ---- a sink that records everything it is told ---- */

#define REC_MAX 64

struct rec_tag {
	char *key;
	char *value;	/* NUL-terminated copy */
	size_t len;
};

struct rec_bin {
	char *key;
	uint8_t *data;
	size_t len;
};

struct rec {
	int nrange;
	uint64_t off, len;
	struct rec_tag tags[REC_MAX];
	size_t ntags;
	struct mf_picture pics[REC_MAX];	/* strings and data owned */
	size_t npics;
	struct rec_bin bins[REC_MAX];
	size_t nbins;
	uint8_t *structural[2];	/* streaminfo, seektable */
	size_t structural_len[2];
	int nprops;
	struct mf_audio_props props;
	int fail_tag;		/* on_tag returns this when non-zero */
};

static void *dup_mem(const void *p, size_t len)
{
	uint8_t *d = malloc(len + 1);

	assert_non_null(d);
	memcpy(d, p, len);
	d[len] = 0;
	return d;
}

static int rec_range(void *ctx, uint64_t off, uint64_t len)
{
	struct rec *r = ctx;

	r->nrange++;
	r->off = off;
	r->len = len;
	return 0;
}

static int rec_tag(void *ctx, const char *key, const char *value, size_t len)
{
	struct rec *r = ctx;

	if (r->fail_tag)
		return r->fail_tag;
	if (r->ntags == REC_MAX)
		return -ENOSPC;
	r->tags[r->ntags].key = dup_mem(key, strlen(key));
	r->tags[r->ntags].value = dup_mem(value, len);
	r->tags[r->ntags].len = len;
	r->ntags++;
	return 0;
}

static int rec_binary(void *ctx, const char *key, const void *data, size_t len)
{
	struct rec *r = ctx;

	if (r->nbins == REC_MAX)
		return -ENOSPC;
	r->bins[r->nbins].key = dup_mem(key, strlen(key));
	r->bins[r->nbins].data = dup_mem(data, len);
	r->bins[r->nbins].len = len;
	r->nbins++;
	return 0;
}

static int rec_picture(void *ctx, const struct mf_picture *pic)
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

static int rec_structural(void *ctx, const char *kind, const void *data,
			  size_t len)
{
	struct rec *r = ctx;
	int i = strcmp(kind, "streaminfo") == 0 ? 0 : 1;

	if (i == 1)
		assert_string_equal(kind, "seektable");
	assert_null(r->structural[i]);
	r->structural[i] = dup_mem(data, len);
	r->structural_len[i] = len;
	return 0;
}

static int rec_props(void *ctx, const struct mf_audio_props *props)
{
	struct rec *r = ctx;

	r->nprops++;
	r->props = *props;
	return 0;
}

static struct mf_sink rec_sink(struct rec *r)
{
	struct mf_sink s = {
		.ctx = r,
		.on_audio_range = rec_range,
		.on_tag = rec_tag,
		.on_binary_tag = rec_binary,
		.on_picture = rec_picture,
		.on_structural = rec_structural,
		.on_props = rec_props,
	};

	return s;
}

static void rec_free(struct rec *r)
{
	size_t i;

	for (i = 0; i < r->ntags; i++) {
		free(r->tags[i].key);
		free(r->tags[i].value);
	}
	for (i = 0; i < r->npics; i++) {
		free((void *)r->pics[i].mime);
		free((void *)r->pics[i].desc);
		free((void *)r->pics[i].data);
	}
	for (i = 0; i < r->nbins; i++) {
		free(r->bins[i].key);
		free(r->bins[i].data);
	}
	free(r->structural[0]);
	free(r->structural[1]);
	memset(r, 0, sizeof(*r));
}

/* ---- files ---- */

static char dir[64];			/* the mkdtemp directory */
static uint8_t *orig;			/* the tagged test file */
static size_t orig_len;
static uint64_t orig_audio;		/* its audio offset */

/* Probe @len bytes of @buf into @r; returns the probe's result. */
static int probe_bytes(const void *buf, size_t len, struct rec *r, char *why,
		       size_t whylen)
{
	struct mf_sink s = rec_sink(r);

	return lu_probe_bytes(mf_flac_probe, &s, buf, len, why, whylen);
}

static int group_setup(void **state)
{
	char p[128], q[128], img[128], jpg[128], cue[128];
	FILE *f;
	size_t len;
	uint8_t *raw;
	static const uint8_t app[] = {
		0x02, 0x00, 0x00, 0x0c, 'T', 'E', 'S', 'T',
		1, 2, 3, 4, 5, 6, 7, 8,
	};

	(void)state;
	if (lu_run("command -v sox flac metaflac ffmpeg >/dev/null 2>&1"))
		return -1;
	if (lu_tmpdir(dir, sizeof(dir), "flac"))
		return -1;
	lu_path(p, sizeof(p), dir, "a.flac");
	lu_path(img, sizeof(img), dir, "img.png");
	lu_path(jpg, sizeof(jpg), dir, "back.jpg");
	lu_path(cue, sizeof(cue), dir, "a.cue");
	if (lu_run("sox -n -r 44100 -c 2 -b 16 %s/a.wav synth 1 sine 440",
		   dir) ||
	    lu_run("flac -s -f -o %s %s/a.wav", p, dir) ||
	    lu_run("ffmpeg -loglevel error -y -f lavfi -i color=c=red:s=16x8 "
		   "-frames:v 1 %s", img))
		return -1;
	f = fopen(jpg, "wb");
	if (!f)
		return -1;
	fputs("not really a jpeg", f);
	fclose(f);
	f = fopen(cue, "w");
	if (!f)
		return -1;
	fputs("FILE \"a.wav\" WAVE\n  TRACK 01 AUDIO\n    INDEX 01 00:00:00\n",
	      f);
	fclose(f);
	if (lu_run("metaflac --no-utf8-convert --set-tag=TITLE=Sine "
		"--set-tag=ARTIST=One --set-tag=ARTIST=Two "
		"--set-tag=TRACKTOTAL=9 --set-tag=DISCTOTAL=2 "
		"--set-tag=TOTALDISCS=3 --set-tag=DESCRIPTION=desc "
		"--set-tag='ALBUM ARTIST=AA' --set-tag=MUSICBRAINZ_TRACKID=rec-id "
		"--set-tag=EMPTY= --set-tag='UNICODE=\xc3\x9cn\xc3\xaf' %s", p) ||
	    lu_run("metaflac --import-picture-from='3||front cover||%s' "
		"--import-picture-from='4|image/jpeg|back|10x20x24|%s' %s",
		img, jpg, p) ||
	    lu_run("metaflac --import-cuesheet-from=%s %s", cue, p))
		return -1;

	/* splice an APPLICATION block in after STREAMINFO (offset 42) */
	raw = lu_slurp(p, &len);
	orig_len = len + sizeof(app);
	orig = malloc(orig_len);
	if (!orig)
		return -1;
	memcpy(orig, raw, 42);
	memcpy(orig + 42, app, sizeof(app));
	memcpy(orig + 42 + sizeof(app), raw + 42, len - 42);
	free(raw);
	lu_path(q, sizeof(q), dir, "orig.flac");
	lu_spew(q, orig, orig_len);
	return lu_run("flac -s -t %s", q) ? -1 : 0;
}

static int group_teardown(void **state)
{
	(void)state;
	free(orig);
	return lu_tmpdir_remove(dir);
}

/* ---- probing the real file ---- */

static const char *const want_tags[][2] = {
	{ "title", "Sine" },
	{ "artist", "One" },
	{ "artist", "Two" },
	{ "totaltracks", "9" },
	{ "totaldiscs", "3" },		/* DISCTOTAL yields to TOTALDISCS */
	{ "description", "desc" },
	{ "albumartist", "AA" },
	{ "musicbrainz_recordingid", "rec-id" },
	{ "empty", "" },
	{ "unicode", "\xc3\x9cn\xc3\xaf" },
};
#define NWANT (sizeof(want_tags) / sizeof(want_tags[0]))

static void check_tags(const struct rec *r)
{
	size_t i;

	assert_int_equal(r->ntags, NWANT);
	for (i = 0; i < NWANT; i++) {
		assert_string_equal(r->tags[i].key, want_tags[i][0]);
		assert_string_equal(r->tags[i].value, want_tags[i][1]);
		assert_int_equal(r->tags[i].len, strlen(want_tags[i][1]));
	}
}

static void test_probe_real(void **state)
{
	struct rec r = { 0 };
	char why[128] = "x";
	uint8_t *png;
	size_t png_len;
	char img[128];

	(void)state;
	assert_int_equal(probe_bytes(orig, orig_len, &r, why, sizeof(why)), 0);
	assert_string_equal(why, "");
	orig_audio = r.off;

	assert_int_equal(r.nrange, 1);
	assert_int_equal(r.off + r.len, orig_len);
	assert_int_equal(orig[r.off], 0xff);
	assert_int_equal(orig[r.off + 1] & 0xfe, 0xf8);

	assert_int_equal(r.structural_len[0], 34);
	assert_memory_equal(r.structural[0], orig + 8, 34);
	assert_non_null(r.structural[1]);
	assert_int_equal(r.structural_len[1] % 18, 0);

	assert_int_equal(r.nprops, 1);
	assert_int_equal(r.props.sample_rate, 44100);
	assert_int_equal(r.props.channels, 2);
	assert_int_equal(r.props.bits_per_sample, 16);
	assert_int_equal(r.props.total_samples, 44100);
	assert_int_equal(r.props.duration_ms, 1000);
	assert_int_equal(r.props.bitrate_kbps, r.len * 8 / 1000);

	check_tags(&r);

	assert_int_equal(r.npics, 2);
	lu_path(img, sizeof(img), dir, "img.png");
	png = lu_slurp(img, &png_len);
	assert_int_equal(r.pics[0].type, 3);
	assert_string_equal(r.pics[0].mime, "image/png");
	assert_string_equal(r.pics[0].desc, "front cover");
	assert_int_equal(r.pics[0].width, 16);
	assert_int_equal(r.pics[0].height, 8);
	assert_int_equal(r.pics[0].len, png_len);
	assert_memory_equal(r.pics[0].data, png, png_len);
	free(png);
	assert_int_equal(r.pics[1].type, 4);
	assert_string_equal(r.pics[1].mime, "image/jpeg");
	assert_string_equal(r.pics[1].desc, "back");
	assert_int_equal(r.pics[1].width, 10);
	assert_int_equal(r.pics[1].height, 20);
	assert_int_equal(r.pics[1].depth, 24);
	assert_int_equal(r.pics[1].colors, 0);
	assert_int_equal(r.pics[1].len, strlen("not really a jpeg"));
	assert_memory_equal(r.pics[1].data, "not really a jpeg", r.pics[1].len);

	assert_int_equal(r.nbins, 2);
	assert_string_equal(r.bins[0].key, "flac:application");
	assert_int_equal(r.bins[0].len, 12);
	assert_memory_equal(r.bins[0].data, "TEST\1\2\3\4\5\6\7\10", 12);
	assert_string_equal(r.bins[1].key, "flac:cuesheet");
	assert_true(r.bins[1].len >= 396);	/* fixed part of a CUESHEET */

	/* the same file probed from memory alone (no descriptor at all):
	 * the same report, field by field */
	{
		struct rec m = { 0 };
		struct mf_sink s = rec_sink(&m);

		assert_int_equal(mf_flac_probe(MF_PROBE_SRC_MEM(orig, orig_len),
					       &s, why, sizeof(why)), 0);
		assert_int_equal(m.nrange, 1);
		assert_int_equal(m.off, r.off);
		assert_int_equal(m.len, r.len);
		assert_int_equal(m.ntags, r.ntags);
		for (size_t i = 0; i < r.ntags; i++) {
			assert_string_equal(m.tags[i].key, r.tags[i].key);
			assert_string_equal(m.tags[i].value, r.tags[i].value);
		}
		assert_int_equal(m.npics, r.npics);
		for (size_t i = 0; i < r.npics; i++) {
			assert_int_equal(m.pics[i].len, r.pics[i].len);
			assert_memory_equal(m.pics[i].data, r.pics[i].data,
					    r.pics[i].len);
		}
		assert_int_equal(m.nbins, r.nbins);
		for (size_t k = 0; k < 2; k++) {
			assert_int_equal(m.structural_len[k],
					 r.structural_len[k]);
			assert_memory_equal(m.structural[k], r.structural[k],
					    r.structural_len[k]);
		}
		assert_memory_equal(&m.props, &r.props, sizeof(m.props));
		rec_free(&m);
		/* a source that holds part of the file and no descriptor:
		 * the reads past what it holds fail, they never guess */
		assert_int_not_equal(mf_flac_probe(
			&(const struct mf_probe_src){ .fd = -1, .sized = true,
				.size = orig_len, .head = orig,
				.headlen = (size_t)r.off / 2 },
			NULL, why, sizeof(why)), 0);
	}
	rec_free(&r);
}

/* ---- synthesis and the round trip ---- */

struct rt_io {
	const struct rec *r;
	int fd;		/* the backing file */
};

static int rt_read_blob(void *ctx, const struct mf_blob_ref *ref, uint64_t off,
			void *buf, size_t len)
{
	const struct rt_io *io = ctx;
	const uint8_t *data;
	size_t dlen;

	if (ref->kind == MF_BLOB_ART && ref->rowid >= 0 &&
	    (size_t)ref->rowid < io->r->npics) {
		data = io->r->pics[ref->rowid].data;
		dlen = io->r->pics[ref->rowid].len;
	} else if (ref->kind == MF_BLOB_TAG && ref->rowid >= 0 &&
		   (size_t)ref->rowid < io->r->nbins) {
		data = io->r->bins[ref->rowid].data;
		dlen = io->r->bins[ref->rowid].len;
	} else {
		return -EIO;
	}
	if (off > dlen || len > dlen - off)
		return -EIO;
	memcpy(buf, data + off, len);
	return 0;
}

static int rt_read_backing(void *ctx, uint64_t off, void *buf, size_t len)
{
	const struct rt_io *io = ctx;

	return pread(io->fd, buf, len, (off_t)off) == (ssize_t)len ? 0 : -EIO;
}

/* Synthesize from @r; fills the borrowed arrays. */
static int synth_from(const struct rec *r, struct mf_synth_tag *tags,
		      struct mf_synth_pic *pics, struct mf_synth_bin *bins,
		      struct mf_layout **out)
{
	struct mf_flac_track t = { 0 };
	size_t i;

	for (i = 0; i < r->ntags; i++) {
		tags[i].key = r->tags[i].key;
		tags[i].value = r->tags[i].value;
	}
	for (i = 0; i < r->npics; i++) {
		const struct mf_picture *p = &r->pics[i];

		pics[i] = (struct mf_synth_pic){
			.type = p->type, .mime = p->mime, .desc = p->desc,
			.width = p->width, .height = p->height,
			.depth = p->depth, .colors = p->colors, .len = p->len,
			.ref = { MF_BLOB_ART, (int64_t)i },
		};
	}
	for (i = 0; i < r->nbins; i++) {
		bins[i] = (struct mf_synth_bin){
			.key = r->bins[i].key, .len = r->bins[i].len,
			.ref = { MF_BLOB_TAG, (int64_t)i },
		};
	}
	t.streaminfo = r->structural[0];
	t.streaminfo_len = r->structural_len[0];
	t.seektable = r->structural[1];
	t.seektable_len = r->structural_len[1];
	t.tags = tags;
	t.ntags = r->ntags;
	t.pics = pics;
	t.npics = r->npics;
	t.bins = bins;
	t.nbins = r->nbins;
	t.audio_offset = r->off;
	t.audio_length = r->len;
	return mf_flac_synth(&t, out);
}

/* Read all of @l in odd-sized chunks. */
static uint8_t *materialize(const struct mf_layout *l,
			    const struct mf_layout_io *io, size_t *len)
{
	size_t size = (size_t)mf_layout_size(l), off = 0;
	uint8_t *buf = malloc(size + 1);

	assert_non_null(buf);
	while (off < size) {
		ssize_t n = mf_layout_read_at(l, off, buf + off, 4093, io);

		assert_true(n > 0);
		off += (size_t)n;
	}
	assert_int_equal(mf_layout_read_at(l, off, buf, 10, io), 0);
	*len = size;
	return buf;
}

static void test_round_trip(void **state)
{
	struct mf_synth_tag tags[REC_MAX];
	struct mf_synth_pic pics[REC_MAX];
	struct mf_synth_bin bins[REC_MAX];
	struct rec r = { 0 }, r2 = { 0 };
	struct mf_layout *l = NULL;
	struct rt_io rio;
	struct mf_layout_io io = { &rio, rt_read_blob, rt_read_backing };
	char why[128], out[128], tagfile[128], expect[128];
	uint8_t *served, *got;
	size_t served_len, got_len, i;

	(void)state;
	assert_int_equal(probe_bytes(orig, orig_len, &r, why, sizeof(why)), 0);
	assert_int_equal(synth_from(&r, tags, pics, bins, &l), 0);
	rio.r = &r;
	rio.fd = lu_mem_fd(orig, orig_len);
	served = materialize(l, &io, &served_len);
	close(rio.fd);

	/* fLaC, STREAMINFO not last, audio verbatim at the end */
	assert_memory_equal(served, "fLaC\0\0\0\x22", 8);
	assert_memory_equal(served + 8, orig + 8, 34);
	assert_true(served_len > r.len);
	assert_memory_equal(served + served_len - r.len, orig + r.off, r.len);

	lu_path(out, sizeof(out), dir, "served.flac");
	lu_spew(out, served, served_len);
	assert_int_equal(lu_run("flac -s -t %s", out), 0);
	assert_int_equal(lu_run("metaflac --list %s | grep -q PADDING",
				out) != 0, 1);
	assert_int_equal(lu_run("test \"$(metaflac --show-vendor-tag %s)\" = "
				"musefs", out), 0);
	lu_path(tagfile, sizeof(tagfile), dir, "tags.txt");
	lu_path(expect, sizeof(expect), dir, "expect.txt");
	lu_spew(expect, "TITLE=Sine\nARTIST=One\nARTIST=Two\nTRACKTOTAL=9\n"
		"DISCTOTAL=3\nDESCRIPTION=desc\nALBUMARTIST=AA\n"
		"MUSICBRAINZ_TRACKID=rec-id\nEMPTY=\nUNICODE=\xc3\x9cn\xc3\xaf\n",
		strlen("TITLE=Sine\nARTIST=One\nARTIST=Two\nTRACKTOTAL=9\n"
		    "DISCTOTAL=3\nDESCRIPTION=desc\nALBUMARTIST=AA\n"
		    "MUSICBRAINZ_TRACKID=rec-id\nEMPTY=\nUNICODE=\xc3\x9cn\xc3\xaf\n"));
	assert_int_equal(lu_run("metaflac --no-utf8-convert "
				"--export-tags-to=%s %s", tagfile, out), 0);
	assert_int_equal(lu_run("cmp -s %s %s", expect, tagfile), 0);

	/* re-probe: the same everything */
	assert_int_equal(probe_bytes(served, served_len, &r2, why, sizeof(why)),
			 0);
	check_tags(&r2);
	assert_int_equal(r2.len, r.len);
	assert_int_equal(r2.off, served_len - r.len);
	for (i = 0; i < 2; i++) {
		assert_int_equal(r2.structural_len[i], r.structural_len[i]);
		assert_memory_equal(r2.structural[i], r.structural[i],
				    r.structural_len[i]);
	}
	assert_memory_equal(&r2.props, &r.props, sizeof(r.props));
	assert_int_equal(r2.npics, r.npics);
	for (i = 0; i < r.npics; i++) {
		assert_int_equal(r2.pics[i].type, r.pics[i].type);
		assert_string_equal(r2.pics[i].mime, r.pics[i].mime);
		assert_string_equal(r2.pics[i].desc, r.pics[i].desc);
		assert_int_equal(r2.pics[i].width, r.pics[i].width);
		assert_int_equal(r2.pics[i].height, r.pics[i].height);
		assert_int_equal(r2.pics[i].depth, r.pics[i].depth);
		assert_int_equal(r2.pics[i].colors, r.pics[i].colors);
		assert_int_equal(r2.pics[i].len, r.pics[i].len);
		assert_memory_equal(r2.pics[i].data, r.pics[i].data,
				    r.pics[i].len);
	}
	assert_int_equal(r2.nbins, r.nbins);
	for (i = 0; i < r.nbins; i++) {
		assert_string_equal(r2.bins[i].key, r.bins[i].key);
		assert_int_equal(r2.bins[i].len, r.bins[i].len);
		assert_memory_equal(r2.bins[i].data, r.bins[i].data,
				    r.bins[i].len);
	}
	/* decoded audio is the same too */
	assert_int_equal(lu_run("flac -s -d -f -o %s/o.wav %s/orig.flac && "
				"flac -s -d -f -o %s/s.wav %s && "
				"cmp -s %s/o.wav %s/s.wav", dir, dir, dir, out,
				dir, dir), 0);
	got = lu_slurp(out, &got_len);
	assert_int_equal(got_len, served_len);
	free(got);
	free(served);
	mf_layout_free(l);
	rec_free(&r);
	rec_free(&r2);
}

/* The smallest synthesis: the comment block is the last block. */
static void test_synth_minimal(void **state)
{
	static const uint8_t si[34] = { 0x10, 0, 0x10, 0 };
	struct mf_flac_track t = {
		.streaminfo = si, .streaminfo_len = 34,
		.audio_offset = 1000, .audio_length = 5000,
	};
	struct mf_layout *l = NULL;
	struct mf_seg seg;
	const uint8_t *b;

	(void)state;
	assert_int_equal(mf_flac_synth(&t, &l), 0);
	assert_int_equal(mf_layout_nsegs(l), 2);
	mf_layout_seg(l, 0, &seg);
	assert_int_equal(seg.kind, MF_SEG_INLINE);
	assert_int_equal(seg.len, 4 + 4 + 34 + 4 + 4 + 6 + 4);
	b = seg.bytes;
	assert_memory_equal(b, "fLaC\x00\x00\x00\x22", 8);
	assert_memory_equal(b + 8, si, 34);
	assert_memory_equal(b + 42, "\x84\x00\x00\x0e" "\x06\0\0\0musefs"
			    "\0\0\0\0", 18);
	mf_layout_seg(l, 1, &seg);
	assert_int_equal(seg.kind, MF_SEG_BACKING);
	assert_int_equal(seg.src_off, 1000);
	assert_int_equal(seg.len, 5000);
	mf_layout_free(l);
}

static void test_synth_refuses(void **state)
{
	static const uint8_t si[34];
	static const uint8_t st[18];
	struct mf_synth_tag tag = { "title", "x" };
	struct mf_synth_pic pic = { .type = 3, .mime = "image/png", .desc = "",
				    .len = 10 };
	struct mf_synth_bin bin = { .key = "flac:application", .len = 3 };
	struct mf_flac_track t = { .streaminfo = si, .streaminfo_len = 34 };
	struct mf_layout *l = NULL, *sentinel = (struct mf_layout *)&t;
	char *big;

	(void)state;
	l = sentinel;
	t.streaminfo_len = 33;
	assert_int_equal(mf_flac_synth(&t, &l), -EINVAL);
	assert_ptr_equal(l, sentinel);
	t.streaminfo_len = 34;
	t.seektable = st;
	t.seektable_len = 17;
	assert_int_equal(mf_flac_synth(&t, &l), -EINVAL);
	t.seektable_len = 18;

	t.tags = &tag;
	t.ntags = 1;
	tag.key = "Title";
	assert_int_equal(mf_flac_synth(&t, &l), -EINVAL);
	/* a store key Vorbis cannot spell ('=') is left out, not refused */
	tag.key = "a=b";
	assert_int_equal(mf_flac_synth(&t, &l), 0);
	assert_ptr_not_equal(l, sentinel);
	mf_layout_free(l);
	l = sentinel;
	tag.key = "title";
	tag.value = NULL;
	assert_int_equal(mf_flac_synth(&t, &l), -EINVAL);
	big = malloc(MF_FLAC_BLOCK_MAX);
	assert_non_null(big);
	memset(big, 'v', MF_FLAC_BLOCK_MAX - 1);
	big[MF_FLAC_BLOCK_MAX - 1] = '\0';
	tag.value = big;
	assert_int_equal(mf_flac_synth(&t, &l), -EFBIG);
	/* the largest comment that fits: 4+6+4 + 4+"T="+value */
	big[MF_FLAC_BLOCK_MAX - 1 - 20] = '\0';
	tag.key = "t";
	assert_int_equal(mf_flac_synth(&t, &l), 0);
	assert_ptr_not_equal(l, sentinel);
	mf_layout_free(l);
	l = sentinel;
	free(big);
	tag.value = "";
	assert_ptr_equal(l, sentinel);

	t.pics = &pic;
	t.npics = 1;
	pic.mime = "image/\npng";
	assert_int_equal(mf_flac_synth(&t, &l), -EINVAL);
	pic.mime = "image/png";
	pic.len = MF_FLAC_BLOCK_MAX - 32 - 9 + 1;
	assert_int_equal(mf_flac_synth(&t, &l), -EFBIG);
	pic.len = (uint64_t)1 << 40;
	assert_int_equal(mf_flac_synth(&t, &l), -EFBIG);
	pic.len = 10;

	t.bins = &bin;
	t.nbins = 1;
	assert_int_equal(mf_flac_synth(&t, &l), -EINVAL);
	bin.key = "id3:priv";	/* ignored: any length */
	assert_int_equal(mf_flac_synth(&t, &l), 0);
	mf_layout_free(l);
	bin.key = "flac:cuesheet";
	bin.len = MF_FLAC_BLOCK_MAX + 1;
	l = sentinel;
	assert_int_equal(mf_flac_synth(&t, &l), -EFBIG);
	assert_ptr_equal(l, sentinel);
	assert_int_equal(mf_flac_synth(NULL, &l), -EINVAL);
}

/* A key that has no Vorbis spelling is left out; the rest is written. */
static void test_synth_unspellable(void **state)
{
	static const struct mf_synth_tag tags[] = {
		{ "caf\xc3\xa9", "x" }, { "title", "T" }, { "a~b", "y" },
	};
	struct rec r = { 0 };
	struct mf_layout *l = NULL;
	struct rt_io rio = { &r, -1 };
	struct mf_layout_io io = { &rio, rt_read_blob, rt_read_backing };
	struct mf_flac_track t = { .tags = tags, .ntags = 3 };
	uint8_t *served;
	size_t len;
	char why[64];

	(void)state;
	assert_int_equal(probe_bytes(orig, orig_len, &r, why, sizeof(why)), 0);
	t.streaminfo = r.structural[0];
	t.streaminfo_len = r.structural_len[0];
	t.audio_offset = r.off;
	t.audio_length = r.len;
	assert_int_equal(mf_flac_synth(&t, &l), 0);
	rio.fd = lu_mem_fd(orig, orig_len);
	served = materialize(l, &io, &len);
	close(rio.fd);
	rec_free(&r);
	assert_int_equal(probe_bytes(served, len, &r, why, sizeof(why)), 0);
	assert_int_equal(r.ntags, 1);
	assert_string_equal(r.tags[0].key, "title");
	assert_string_equal(r.tags[0].value, "T");
	assert_int_equal(r.npics, 0);
	assert_int_equal(r.nbins, 0);
	assert_null(r.structural[1]);
	free(served);
	mf_layout_free(l);
	rec_free(&r);
}

/* ---- hostile input ---- */

/* Expect failure @err with @reason (a substring) in why. */
static void expect_fail(const void *buf, size_t len, int err,
			const char *reason)
{
	struct rec r = { 0 };
	char why[128] = "";
	int ret = probe_bytes(buf, len, &r, why, sizeof(why));

	if (ret != err || !strstr(why, reason))
		fail_msg("got %d '%s', want %d '%s'", ret, why, err, reason);
	rec_free(&r);
}

/*
 * "fLaC" + the real STREAMINFO (not last) + @meta (blocks, the caller sets
 * the last bit) + the real audio.
 */
static uint8_t *craft(const void *meta, size_t meta_len, size_t *len)
{
	size_t audio = orig_len - orig_audio;
	uint8_t *buf = malloc(42 + meta_len + audio);

	assert_non_null(buf);
	memcpy(buf, orig, 42);
	buf[4] = 0x00;
	memcpy(buf + 42, meta, meta_len);
	memcpy(buf + 42 + meta_len, orig + orig_audio, audio);
	*len = 42 + meta_len + audio;
	return buf;
}

static void craft_fail(const void *meta, size_t meta_len, int err,
		       const char *reason)
{
	size_t len;
	uint8_t *buf = craft(meta, meta_len, &len);

	expect_fail(buf, len, err, reason);
	free(buf);
}

static void test_hostile_crafted(void **state)
{
	static const uint8_t past_end[] = { 0x84, 0xff, 0xff, 0xff };
	static const uint8_t forbidden[] = { 0xff, 0, 0, 0 };
	static const uint8_t second_si[] = { 0x80, 0, 0, 34, [37] = 0 };
	static const uint8_t bad_seek[] = { 0x83, 0, 0, 17, [20] = 0 };
	static const uint8_t short_app[] = { 0x82, 0, 0, 3, 'a', 'b', 'c' };
	/* vendor "", 0x7fffffff comments, in 8 bytes */
	static const uint8_t vc_count[] = {
		0x84, 0, 0, 8, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f,
	};
	/* vendor length 0xffffffff */
	static const uint8_t vc_vendor[] = { 0x84, 0, 0, 4, 0xff, 0xff, 0xff, 0xff };
	/* picture claiming 0xffffffff data bytes */
	static const uint8_t pic_huge[] = {
		0x86, 0, 0, 32, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0xff, 0xff, 0xff, 0xff,
	};
	uint8_t buf[64];

	(void)state;
	expect_fail("", 0, -EINVAL, "not a FLAC file");
	expect_fail("fLa", 3, -EINVAL, "not a FLAC file");
	expect_fail("RIFF\0\0\0\0WAVEfmt ", 16, -EINVAL, "not a FLAC file");
	expect_fail("fLaC", 4, -EBADMSG, "metadata block 0 header runs past");
	memcpy(buf, orig, 42);
	expect_fail(buf, 41, -EBADMSG, "metadata block 0 runs past end of file");
	buf[4] = 0x84;
	expect_fail(buf, 42, -EBADMSG, "first metadata block is not streaminfo");
	buf[4] = 0x80;
	buf[7] = 33;
	expect_fail(buf, 42, -EBADMSG, "streaminfo has length 33");
	buf[7] = 34;
	expect_fail(buf, 42, -EBADMSG, "no audio after the metadata");
	buf[42] = 0xff;
	buf[43] = 0xf0;
	expect_fail(buf, 44, -EBADMSG, "no frame sync at audio offset");
	buf[43] = 0xf9;
	{
		struct rec r = { 0 };

		assert_int_equal(probe_bytes(buf, 44, &r, NULL, 0), 0);
		assert_int_equal(r.off, 42);
		assert_int_equal(r.len, 2);
		rec_free(&r);
	}

	craft_fail(past_end, sizeof(past_end), -EBADMSG,
		   "metadata block 1 runs past end of file");
	craft_fail(forbidden, sizeof(forbidden), -EBADMSG, "forbidden type 127");
	craft_fail(second_si, sizeof(second_si), -EBADMSG, "second streaminfo");
	craft_fail(bad_seek, sizeof(bad_seek), -EBADMSG, "multiple of 18");
	craft_fail(short_app, sizeof(short_app), -EBADMSG, "too short");
	craft_fail(vc_count, sizeof(vc_count), -EBADMSG,
		   "vorbis comment block 1 is malformed");
	craft_fail(vc_vendor, sizeof(vc_vendor), -EBADMSG,
		   "vorbis comment block 1 is malformed");
	craft_fail(pic_huge, sizeof(pic_huge), -EBADMSG,
		   "picture block 1 is malformed");
	{
		/* two seektables */
		uint8_t two[44] = { 0x03, 0, 0, 18, [22] = 0x83, 0, 0, 18 };

		craft_fail(two, sizeof(two), -EBADMSG, "second seektable");
	}
	{
		/* the last block's length reaches into the audio: no sync */
		uint8_t pad[4 + 10] = { 0x81, 0, 0, 12 };

		craft_fail(pad, sizeof(pad), -EBADMSG, "no frame sync");
	}
}

/* Entries that are not "NAME=value" are skipped; the rest is kept. */
static void test_hostile_comments(void **state)
{
	static const char *const entries[] = {
		"NOEQUALS", "BAD~NAME=x", "=empty name", "T\x01=ctl",
		"GOOD=yes", "genre=a=b",
	};
	uint8_t meta[256], *buf;
	size_t n = 4, i, len;
	struct rec r = { 0 };
	char why[64];

	(void)state;
	meta[n++] = 0; meta[n++] = 0; meta[n++] = 0; meta[n++] = 0;
	meta[n++] = 6; meta[n++] = 0; meta[n++] = 0; meta[n++] = 0;
	for (i = 0; i < 6; i++) {
		size_t el = strlen(entries[i]);

		meta[n++] = (uint8_t)el; meta[n++] = 0;
		meta[n++] = 0; meta[n++] = 0;
		memcpy(meta + n, entries[i], el);
		n += el;
	}
	meta[0] = 0x84;
	meta[1] = 0;
	meta[2] = 0;
	meta[3] = (uint8_t)(n - 4);
	buf = craft(meta, n, &len);
	assert_int_equal(probe_bytes(buf, len, &r, why, sizeof(why)), 0);
	assert_int_equal(r.ntags, 2);
	assert_string_equal(r.tags[0].key, "good");
	assert_string_equal(r.tags[0].value, "yes");
	assert_string_equal(r.tags[1].key, "genre");
	assert_string_equal(r.tags[1].value, "a=b");
	rec_free(&r);

	/* a sink error stops the probe and is returned as is */
	r.fail_tag = -ECANCELED;
	assert_int_equal(probe_bytes(buf, len, &r, why, sizeof(why)),
			 -ECANCELED);
	rec_free(&r);
	free(buf);
}

/* Reserved block types and reserved picture types are dropped. */
static void test_hostile_reserved(void **state)
{
	static const uint8_t meta[] = {
		0x07, 0, 0, 3, 1, 2, 3,
		0x86, 0, 0, 35, 0, 0, 0, 21, 0, 0, 0, 1, 'x', 0, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 2, 'h', 'i',
	};
	struct rec r = { 0 };
	uint8_t *buf;
	size_t len;
	char why[64];

	(void)state;
	buf = craft(meta, sizeof(meta), &len);
	assert_int_equal(probe_bytes(buf, len, &r, why, sizeof(why)), 0);
	assert_int_equal(r.npics, 0);
	assert_int_equal(r.nbins, 0);
	assert_int_equal(r.off, 42 + sizeof(meta));
	rec_free(&r);
	free(buf);
}

/* A leading ID3v2 tag is skipped; offsets stay exact. */
static void test_id3_prefix(void **state)
{
	static const uint8_t id3[10] = { 'I', 'D', '3', 4, 0, 0, 0, 0, 1, 0 };
	size_t len = 10 + 128 + orig_len;
	uint8_t *buf = calloc(1, len);
	struct rec r = { 0 };
	char why[64];

	(void)state;
	assert_non_null(buf);
	memcpy(buf, id3, 10);
	memcpy(buf + 138, orig, orig_len);
	assert_int_equal(probe_bytes(buf, len, &r, why, sizeof(why)), 0);
	assert_int_equal(r.off, 138 + orig_audio);
	assert_int_equal(r.len, orig_len - orig_audio);
	check_tags(&r);
	rec_free(&r);
	buf[8] = 0x81;		/* not syncsafe */
	expect_fail(buf, len, -EBADMSG, "bad id3v2 tag size");
	buf[8] = 0x7f;		/* past the end */
	buf[7] = 0x7f;
	expect_fail(buf, len, -EINVAL, "not a FLAC file");
	free(buf);
}

/* Every truncation inside the metadata fails cleanly. */
static void test_truncated(void **state)
{
	struct lu_prefix p;
	struct rec r = { 0 };
	struct mf_sink s = rec_sink(&r);
	char why[128];
	size_t len;

	(void)state;
	lu_prefix_open(&p, orig, orig_audio + 64);
	for (len = orig_audio + 64;; len--) {
		int ret;

		why[0] = '\0';
		ret = mf_flac_probe(MF_PROBE_SRC_FD(lu_prefix_cut(&p, len)), &s, why,
				    sizeof(why));
		if (len >= orig_audio + 2) {
			assert_int_equal(ret, 0);
		} else {
			assert_true(ret == -EBADMSG || ret == -EINVAL);
			assert_true(why[0] != '\0');
		}
		rec_free(&r);
		if (!len)
			break;
	}
	lu_prefix_close(&p);
}

/* Mutations of the metadata and random bytes: no crash, sane results. */
static void test_mutated(void **state)
{
	uint8_t *buf = malloc(orig_len);
	struct lu_mutant m;
	struct rec r = { 0 };
	char why[128];
	size_t k;
	int ret;

	(void)state;
	assert_non_null(buf);
	lu_mutant_begin(&m, orig, orig_len, 0, orig_audio + 2, 0);
	while (lu_mutant_next(&m)) {
		why[0] = '\0';
		ret = probe_bytes(m.buf, m.len, &r, why, sizeof(why));
		if (ret == 0) {
			assert_int_equal(r.nrange, 1);
			assert_int_equal(r.off + r.len, orig_len);
			assert_int_equal(m.buf[r.off], 0xff);
		} else {
			assert_true(ret < 0);
			assert_true(why[0] != '\0' || ret == -ENOSPC);
		}
		rec_free(&r);
	}
	lu_mutant_end(&m);
	/* random garbage behind a valid marker and STREAMINFO header */
	for (k = 0; k < 2000; k++) {
		size_t len = 8 + lu_rand() % 400, i;

		memcpy(buf, orig, 8);
		for (i = 8; i < len; i++)
			buf[i] = (uint8_t)lu_rand();
		if (k % 2)
			buf[4] = (uint8_t)(lu_rand() & 0x80);
		ret = probe_bytes(buf, len, &r, why, sizeof(why));
		assert_true(ret <= 0);
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
	assert_int_equal(mf_flac_probe(MF_PROBE_SRC_FD(fds[0]), NULL, why, sizeof(why)),
			 -EINVAL);
	assert_string_equal(why, "not a regular file");
	close(fds[0]);
	close(fds[1]);
	assert_int_equal(mf_flac_probe(MF_PROBE_SRC_FD(-1), NULL, why, sizeof(why)), -EBADF);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_probe_real),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_synth_minimal),
		cmocka_unit_test(test_synth_refuses),
		cmocka_unit_test(test_synth_unspellable),
		cmocka_unit_test(test_hostile_crafted),
		cmocka_unit_test(test_hostile_comments),
		cmocka_unit_test(test_hostile_reserved),
		cmocka_unit_test(test_id3_prefix),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_mutated),
		cmocka_unit_test(test_not_regular),
	};

	/* the hostile tests trigger many warnings by design */
	mf_log_init("test_flac", MF_LOG_ERROR);
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
