/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for mf_wav: probe WAVE files made at test time with sox and
 * ffmpeg (16- and 24-bit, mono and stereo, WAVE_FORMAT_EXTENSIBLE, an
 * ffmpeg LIST/INFO) and a hand-built file with odd-sized chunks before
 * and after "data", INFO text in UTF-8 and Windows-1252 and an ID3v2
 * chunk; synthesize from what the probe reported, check the served bytes
 * and re-probe them; probe truncated, mutated and crafted hostile files.
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

#include "mf_format.h"
#include "mf_layout.h"
#include "mf_log.h"
#include "mf_sink.h"

#include "lib-unit.h"
#include "mf_wav.h"

#include "mf_banned.h"

/* ---- a sink that records everything it is told ---- */

#define REC_KIND_PREFIX "wav:"
#include "rec_sink.h"

/* ---- files ---- */

static char dir[64];			/* the mkdtemp directory */

/* lu_slurp() and lu_spew() of the file @name in the scratch directory. */
static uint8_t *slurp(const char *name, size_t *len)
{
	char path[128];

	lu_path(path, sizeof(path), dir, name);
	return lu_slurp(path, len);
}

static void spew(const char *name, const void *buf, size_t len)
{
	char path[128];

	lu_path(path, sizeof(path), dir, name);
	lu_spew(path, buf, len);
}

static int probe_bytes(const void *buf, size_t len, struct rec *r, char *why,
		       size_t whylen)
{
	struct mf_sink s = rec_sink(r);

	return lu_probe_bytes(mf_wav_probe, &s, buf, len, why, whylen);
}

/* ---- a RIFF builder ---- */

struct bld {
	uint8_t *p;
	size_t n, cap;
};

static void b_put(struct bld *b, const void *d, size_t n)
{
	if (b->n + n > b->cap) {
		b->cap = (b->n + n) * 2 + 64;
		b->p = realloc(b->p, b->cap);
		assert_non_null(b->p);
	}
	if (n)
		memcpy(b->p + b->n, d, n);
	b->n += n;
}

static void b_le32(struct bld *b, uint32_t v)
{
	uint8_t x[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16),
			 (uint8_t)(v >> 24) };

	b_put(b, x, 4);
}

/* A chunk @id with body @d (@n bytes) and its pad byte. */
static void b_chunk(struct bld *b, const char *id, const void *d, size_t n)
{
	b_put(b, id, 4);
	b_le32(b, (uint32_t)n);
	b_put(b, d, n);
	if (n & 1)
		b_put(b, "", 1);
}

/* Open a chunk whose size is patched by b_close(); returns its offset. */
static size_t b_open(struct bld *b, const char *id)
{
	size_t at = b->n;

	b_put(b, id, 4);
	b_le32(b, 0);
	return at;
}

static void b_close(struct bld *b, size_t at)
{
	uint32_t size = (uint32_t)(b->n - at - 8);

	b->p[at + 4] = (uint8_t)size;
	b->p[at + 5] = (uint8_t)(size >> 8);
	b->p[at + 6] = (uint8_t)(size >> 16);
	b->p[at + 7] = (uint8_t)(size >> 24);
	if (size & 1)
		b_put(b, "", 1);
}

/* The sox file: 16-bit stereo, 0.1 s of 440 Hz; its fmt and samples. */
static uint8_t *sox16;
static size_t sox16_len;

/* A chunk body of @file by id (the first), or NULL. */
static const uint8_t *find_chunk(const uint8_t *file, size_t len,
				 const char *id, uint32_t *size)
{
	size_t pos = 12;

	while (pos + 8 <= len) {
		uint32_t n = (uint32_t)file[pos + 4] | (uint32_t)file[pos + 5] << 8 |
			     (uint32_t)file[pos + 6] << 16 |
			     (uint32_t)file[pos + 7] << 24;

		if (memcmp(file + pos, id, 4) == 0) {
			*size = n;
			return file + pos + 8;
		}
		pos += 8 + (size_t)n + (n & 1);
	}
	return NULL;
}

/*
 * The hand-built file: "bext" (7 bytes, padded), "fmt " and the samples
 * of the sox file, a LIST/INFO, "JUNK", "data", then "smpl" (3 bytes,
 * padded), a LIST/adtl and, when @with_id3, an ID3v2.4 "id3 " chunk made
 * by mutagen in the setup (t.id3).
 */
static uint8_t *crafted;
static size_t crafted_len, crafted_audio;

static void build_crafted(struct bld *b)
{
	const uint8_t *fmt, *data;
	uint32_t fmt_len, data_len;
	size_t riff, list;

	fmt = find_chunk(sox16, sox16_len, "fmt ", &fmt_len);
	data = find_chunk(sox16, sox16_len, "data", &data_len);
	assert_non_null(fmt);
	assert_non_null(data);
	riff = b_open(b, "RIFF");
	b_put(b, "WAVE", 4);
	b_chunk(b, "bext", "abcdefg", 7);
	b_chunk(b, "fmt ", fmt, fmt_len);
	list = b_open(b, "LIST");
	b_put(b, "INFO", 4);
	b_chunk(b, "INAM", "T\xc3\xaftle", 7);		/* no NUL, odd */
	b_chunk(b, "IART", "Caf\xe9 \x80\0", 7);	/* Windows-1252 */
	b_chunk(b, "IART", "Two\0", 4);
	b_chunk(b, "ITRK", "3/12\0", 5);
	b_chunk(b, "IPRT", "9\0", 2);			/* ITRK wins */
	b_chunk(b, "ISBJ", "subj\0", 5);
	b_chunk(b, "ICMT", "\0", 1);
	b_chunk(b, "IGNR", "Rock\0\0\0", 7);
	b_chunk(b, "ICOP", "Co\0", 3);
	b_close(b, list);
	b_chunk(b, "JUNK", "\0\0\0\0\0\0", 6);
	crafted_audio = b->n + 8;
	b_chunk(b, "data", data, data_len);
	b_chunk(b, "smpl", "xyz", 3);
	list = b_open(b, "LIST");
	b_put(b, "adtl", 4);
	b_chunk(b, "labl", "\1\0\0\0lab\0", 8);
	b_close(b, list);
	b_close(b, riff);
}

static int group_setup(void **state)
{
	struct bld b = { 0 };

	(void)state;
	if (lu_run("command -v sox ffmpeg >/dev/null 2>&1"))
		return -1;
	if (lu_tmpdir(dir, sizeof(dir), "wav"))
		return -1;
	if (lu_run("cd %s &&"
		" sox -n -r 44100 -c 2 -b 16 s16.wav synth 0.1 sine 440 &&"
		" sox -n -r 48000 -c 1 -b 24 m24.wav synth 0.25 sine 300 &&"
		" sox -n -r 8000 -c 1 -b 16 m16.wav synth 0.5 sine 300 &&"
		" ffmpeg -loglevel error -y -i s16.wav -metadata title=T"
		" -metadata artist=A -metadata track=4 -metadata encoded_by=E"
		" ff.wav &&"
		" ffmpeg -loglevel error -y -i s16.wav -rf64 always rf64.wav",
		dir))
		return -1;
	sox16 = slurp("s16.wav", &sox16_len);
	build_crafted(&b);
	crafted = b.p;
	crafted_len = b.n;
	spew("crafted.wav", crafted, crafted_len);
	/* the same with an "id3 " chunk added by mutagen (at the end) */
	if (lu_run("cd %s && ffmpeg -loglevel error -y -f lavfi "
		"-i color=c=red:s=16x8 -frames:v 1 img.png && "
		"cp crafted.wav id3.wav && /usr/bin/python3 -c '"
		"import mutagen.wave\n"
		"from mutagen.id3 import TIT2, TPE1, APIC, PRIV, TXXX\n"
		"w = mutagen.wave.WAVE(\"id3.wav\")\n"
		"w.add_tags()\n"
		"w.tags.add(TIT2(encoding=3, text=[\"Id3 Title\"]))\n"
		"w.tags.add(TPE1(encoding=3, text=[\"X\", \"Y\"]))\n"
		"w.tags.add(TXXX(encoding=3, desc=\"Custom\", text=[\"cv\"]))\n"
		"w.tags.add(PRIV(owner=\"org.test\", data=bytes([0, 1, 2])))\n"
		"w.tags.add(APIC(encoding=3, mime=\"image/png\", type=3, "
		"desc=\"front\", data=open(\"img.png\", \"rb\").read()))\n"
		"w.save()'", dir))
		return -1;
	/* ffmpeg must read it as it is */
	return lu_run("ffmpeg -v error -i %s/crafted.wav -f null - 2>&1 | "
		   "grep -q . && exit 1; exit 0", dir) ? -1 : 0;
}

static int group_teardown(void **state)
{
	(void)state;
	free(sox16);
	free(crafted);
	return lu_tmpdir_remove(dir);
}

/* ---- probing real files ---- */

static void test_probe_sox16(void **state)
{
	struct rec r = { 0 };
	char why[128] = "x";

	(void)state;
	assert_int_equal(probe_bytes(sox16, sox16_len, &r, why, sizeof(why)), 0);
	assert_string_equal(why, "");
	assert_int_equal(r.nrange, 1);
	assert_int_equal(r.off, 44);
	assert_int_equal(r.len, 4410 * 4);
	assert_int_equal(r.off + r.len, sox16_len);
	assert_int_equal(r.nprops, 1);
	assert_int_equal(r.props.sample_rate, 44100);
	assert_int_equal(r.props.channels, 2);
	assert_int_equal(r.props.bits_per_sample, 16);
	assert_int_equal(r.props.total_samples, 4410);
	assert_int_equal(r.props.duration_ms, 100);
	assert_int_equal(r.props.bitrate_kbps, 1411);
	assert_int_equal(r.nblocks, 2);
	assert_string_equal(r.blocks[0].key, MF_WAV_KIND_CHUNK);
	assert_int_equal(r.blocks[0].len, 4 + 16);
	assert_memory_equal(r.blocks[0].data, sox16 + 12, 4);
	assert_memory_equal(r.blocks[0].data + 4, sox16 + 20, 16);
	assert_int_equal(r.blocks[1].len, 4);
	assert_memory_equal(r.blocks[1].data, "data", 4);
	assert_int_equal(r.ntags, 0);
	assert_int_equal(r.npics, 0);
	rec_free(&r);
}

/* 24-bit mono from sox: WAVE_FORMAT_EXTENSIBLE with a "fact" chunk. */
static void test_probe_sox24(void **state)
{
	struct rec r = { 0 };
	uint8_t *f;
	size_t len;
	char why[128];

	(void)state;
	f = slurp("m24.wav", &len);
	assert_int_equal(probe_bytes(f, len, &r, why, sizeof(why)), 0);
	assert_int_equal(r.props.sample_rate, 48000);
	assert_int_equal(r.props.channels, 1);
	assert_int_equal(r.props.bits_per_sample, 24);
	assert_int_equal(r.props.total_samples, 12000);
	assert_int_equal(r.props.duration_ms, 250);
	assert_int_equal(r.len, 12000 * 3);
	assert_int_equal(r.off + r.len, len);
	assert_int_equal(r.nblocks, 3);		/* fmt, fact, data */
	assert_int_equal(r.blocks[0].len, 4 + 40);
	assert_memory_equal(r.blocks[0].data, "fmt \xfe\xff", 6);
	assert_memory_equal(r.blocks[1].data, "fact", 4);
	assert_memory_equal(r.blocks[2].data, "data", 4);
	rec_free(&r);
	free(f);
}

static const char *const ff_tags[][2] = {
	{ "artist", "A" },
	{ "title", "T" },
	{ "tracknumber", "4" },
	{ "encodersettings", NULL },	/* Lavf version */
	{ "riff:itch", "E" },		/* ffmpeg's encoded_by */
};

static void test_probe_ffmpeg_info(void **state)
{
	struct rec r = { 0 };
	uint8_t *f;
	size_t len, i;
	char why[128];

	(void)state;
	f = slurp("ff.wav", &len);
	assert_int_equal(probe_bytes(f, len, &r, why, sizeof(why)), 0);
	assert_int_equal(r.ntags, sizeof(ff_tags) / sizeof(ff_tags[0]));
	for (i = 0; i < r.ntags; i++) {
		assert_string_equal(r.tags[i].key, ff_tags[i][0]);
		if (ff_tags[i][1])
			assert_string_equal((char *)r.tags[i].data, ff_tags[i][1]);
		else
			assert_memory_equal(r.tags[i].data, "Lavf", 4);
	}
	/* LIST/INFO is not a kept chunk */
	assert_int_equal(r.nblocks, 2);
	assert_int_equal(r.off + r.len, len);
	rec_free(&r);
	free(f);
}

static void test_probe_rf64(void **state)
{
	uint8_t *f;
	size_t len;
	char why[128];

	(void)state;
	f = slurp("rf64.wav", &len);
	assert_int_equal(probe_bytes(f, len, &(struct rec){ 0 }, why,
				     sizeof(why)), -ENOTSUP);
	assert_string_equal(why, "RF64 (64-bit wave) files are not supported");
	memcpy(f, "BW64", 4);
	assert_int_equal(probe_bytes(f, len, &(struct rec){ 0 }, why,
				     sizeof(why)), -ENOTSUP);
	memcpy(f, "RIFX", 4);
	assert_int_equal(probe_bytes(f, len, &(struct rec){ 0 }, why,
				     sizeof(why)), -ENOTSUP);
	assert_non_null(strstr(why, "RIFX"));
	free(f);
}

/* Tags of the crafted file, in report order. */
static const char *const crafted_tags[][2] = {
	{ "title", "T\xc3\xaftle" },
	{ "artist", "Caf\xc3\xa9 \xe2\x82\xac" },
	{ "artist", "Two" },
	{ "tracknumber", "3" },
	{ "totaltracks", "12" },
	{ "riff:isbj", "subj" },
	{ "comment", "" },
	{ "genre", "Rock" },
	{ "copyright", "Co" },
};
#define NCRAFTED (sizeof(crafted_tags) / sizeof(crafted_tags[0]))

static void check_crafted_blocks(const struct rec *r)
{
	assert_int_equal(r->nblocks, 5);
	assert_int_equal(r->blocks[0].len, 4 + 7);
	assert_memory_equal(r->blocks[0].data, "bextabcdefg", 11);
	assert_int_equal(r->blocks[1].len, 4 + 16);
	assert_memory_equal(r->blocks[1].data, "fmt ", 4);
	assert_memory_equal(r->blocks[1].data + 4, sox16 + 20, 16);
	assert_int_equal(r->blocks[2].len, 4);
	assert_memory_equal(r->blocks[2].data, "data", 4);
	assert_int_equal(r->blocks[3].len, 7);
	assert_memory_equal(r->blocks[3].data, "smplxyz", 7);
	assert_int_equal(r->blocks[4].len, 4 + 4 + 8 + 8);
	assert_memory_equal(r->blocks[4].data, "LISTadtllabl\x08\0\0\0", 16);
}

static void test_probe_crafted(void **state)
{
	struct rec r = { 0 };
	char why[128];
	size_t i;

	(void)state;
	assert_int_equal(probe_bytes(crafted, crafted_len, &r, why,
				     sizeof(why)), 0);
	assert_int_equal(r.off, crafted_audio);
	assert_int_equal(r.len, 4410 * 4);
	assert_memory_equal(crafted + r.off, sox16 + 44, r.len);
	check_crafted_blocks(&r);
	assert_int_equal(r.ntags, NCRAFTED);
	for (i = 0; i < NCRAFTED; i++) {
		assert_string_equal(r.tags[i].key, crafted_tags[i][0]);
		assert_string_equal((char *)r.tags[i].data, crafted_tags[i][1]);
		assert_int_equal(r.tags[i].len, strlen(crafted_tags[i][1]));
	}
	rec_free(&r);

	r.fail_tag = -ECANCELED;
	assert_int_equal(probe_bytes(crafted, crafted_len, &r, why,
				     sizeof(why)), -ECANCELED);
	rec_free(&r);
	{
		int fd = lu_mem_fd(crafted, crafted_len);

		assert_int_equal(mf_wav_probe(MF_PROBE_SRC_FD(fd), NULL, NULL, 0), 0);
		close(fd);
	}
}

/* ---- synthesis ---- */

struct rt_io {
	const struct rec *r;
	int fd;
};

static int rt_read_blob(void *ctx, const struct mf_blob_ref *ref, uint64_t off,
			void *buf, size_t len)
{
	const struct rt_io *io = ctx;

	return rec_read_blob(io->r, ref, off, buf, len);
}

static int rt_read_backing(void *ctx, uint64_t off, void *buf, size_t len)
{
	const struct rt_io *io = ctx;

	return pread(io->fd, buf, len, (off_t)off) == (ssize_t)len ? 0 : -EIO;
}

struct synth_arrays {
	struct mf_synth_tag tags[REC_MAX];
	struct mf_synth_pic pics[REC_MAX];
	struct mf_synth_bin bins[REC_MAX];
	struct mf_synth_block blocks[REC_MAX];
	struct mf_synth_opts opts;
	struct mf_synth_input in;
};

/* The synthesis input the store would give for what @r recorded. */
static void input_from(const struct rec *r, struct synth_arrays *a)
{
	size_t i;

	memset(a, 0, sizeof(*a));
	for (i = 0; i < r->ntags; i++) {
		a->tags[i].key = r->tags[i].key;
		a->tags[i].value = (const char *)r->tags[i].data;
	}
	/* a stable sort by key (insertion sort; few tags) */
	for (i = 1; i < r->ntags; i++) {
		struct mf_synth_tag t = a->tags[i];
		size_t j = i;

		while (j > 0 && strcmp(a->tags[j - 1].key, t.key) > 0) {
			a->tags[j] = a->tags[j - 1];
			j--;
		}
		a->tags[j] = t;
	}
	for (i = 0; i < r->npics; i++) {
		const struct mf_picture *p = &r->pics[i];

		a->pics[i] = (struct mf_synth_pic){
			.type = p->type, .mime = p->mime, .desc = p->desc,
			.width = p->width, .height = p->height,
			.depth = p->depth, .colors = p->colors, .len = p->len,
			.ref = { MF_BLOB_ART, (int64_t)i },
		};
	}
	for (i = 0; i < r->nbins; i++)
		a->bins[i] = (struct mf_synth_bin){
			.key = r->bins[i].key, .len = r->bins[i].len,
			.ref = { MF_BLOB_TAG, (int64_t)i },
		};
	for (i = 0; i < r->nblocks; i++)
		a->blocks[i] = (struct mf_synth_block){
			.kind = r->blocks[i].key, .data = r->blocks[i].data,
			.len = r->blocks[i].len,
		};
	a->in = (struct mf_synth_input){
		.format = "wav", .blocks = a->blocks, .nblocks = r->nblocks,
		.tags = a->tags, .ntags = r->ntags, .pics = a->pics,
		.npics = r->npics, .bins = a->bins, .nbins = r->nbins,
		.audio_offset = r->off, .audio_length = r->len,
		.opts = &a->opts,
	};
}

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

/* Probe @file, synthesize, serve it whole; the recording in *@r. */
static uint8_t *serve(const uint8_t *file, size_t len, struct rec *r,
		      size_t *served_len)
{
	struct synth_arrays *a = malloc(sizeof(*a));
	struct mf_layout *l = NULL;
	struct rt_io rio = { r, -1 };
	struct mf_layout_io io = { &rio, rt_read_blob, rt_read_backing };
	uint8_t *served;
	char why[128];

	assert_non_null(a);
	assert_int_equal(probe_bytes(file, len, r, why, sizeof(why)), 0);
	input_from(r, a);
	assert_int_equal(mf_wav_synth(&a->in, &l), 0);
	rio.fd = lu_mem_fd(file, len);
	served = materialize(l, &io, served_len);
	close(rio.fd);
	mf_layout_free(l);
	free(a);
	return served;
}

static uint32_t le32_at(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/*
 * The tags of @r, stably sorted by key (the store's order), equal @want
 * (@n pairs, sorted by key).
 */
static void check_sorted_tags(const struct rec *r, const char *const want[][2],
			      size_t n)
{
	const struct rec_item *t[REC_MAX];
	size_t i, j;

	assert_int_equal(r->ntags, n);
	for (i = 0; i < n; i++) {
		t[i] = &r->tags[i];
		for (j = i; j > 0 && strcmp(t[j - 1]->key, t[j]->key) > 0; j--) {
			const struct rec_item *x = t[j];

			t[j] = t[j - 1];
			t[j - 1] = x;
		}
	}
	for (i = 0; i < n; i++) {
		if (strcmp(t[i]->key, want[i][0]) ||
		    strcmp((const char *)t[i]->data, want[i][1]))
			fail_msg("tag %zu: got %s=%s, want %s=%s", i, t[i]->key,
				 (const char *)t[i]->data, want[i][0],
				 want[i][1]);
	}
}

/* The crafted file's tags in store order. */
static const char *const crafted_sorted[][2] = {
	{ "artist", "Caf\xc3\xa9 \xe2\x82\xac" },
	{ "artist", "Two" },
	{ "comment", "" },
	{ "copyright", "Co" },
	{ "genre", "Rock" },
	{ "riff:isbj", "subj" },
	{ "title", "T\xc3\xaftle" },
	{ "totaltracks", "12" },
	{ "tracknumber", "3" },
};

static void test_round_trip(void **state)
{
	struct rec r = { 0 }, r2 = { 0 };
	uint8_t *served;
	size_t len, pos;
	char why[128];
	uint32_t n;
	static const char info[] =
		"LIST\x68\0\0\0INFO"
		"IART\x0f\0\0\0Caf\xc3\xa9 \xe2\x82\xac; Two\0\0"
		"ICMT\1\0\0\0\0\0"
		"ICOP\3\0\0\0Co\0\0"
		"IGNR\5\0\0\0Rock\0\0"
		"ISBJ\5\0\0\0subj\0\0"
		"INAM\7\0\0\0T\xc3\xaftle\0\0"
		"ITRK\2\0\0\0" "3\0";

	(void)state;
	served = serve(crafted, crafted_len, &r, &len);
	/* RIFF size, the kept chunks in order, audio verbatim */
	assert_memory_equal(served, "RIFF", 4);
	assert_int_equal(le32_at(served + 4), len - 8);
	assert_memory_equal(served + 8, "WAVEbext\7\0\0\0abcdefg\0fmt ", 24);
	pos = 12 + 8 + 8 + 8 + 16;
	assert_memory_equal(served + pos, "data", 4);
	assert_int_equal(le32_at(served + pos + 4), r.len);
	assert_memory_equal(served + pos + 8, crafted + r.off, r.len);
	pos += 8 + r.len;
	assert_memory_equal(served + pos, "smpl\3\0\0\0xyz\0LIST", 16);
	pos += 12 + 8 + le32_at(served + pos + 16);
	/* then the new INFO list and the ID3v2.4 tag */
	assert_memory_equal(served + pos, info, sizeof(info) - 1);
	pos += sizeof(info) - 1;
	assert_memory_equal(served + pos, "id3 ", 4);
	n = le32_at(served + pos + 4);
	assert_memory_equal(served + pos + 8, "ID3\4\0\0", 6);
	assert_int_equal(pos + 8 + n + (n & 1), len);

	spew("served.wav", served, len);
	assert_int_equal(lu_run("cd %s && ffmpeg -v error -i crafted.wav "
				"-f s16le o.raw && ffmpeg -v error -i served.wav "
				"-f s16le s.raw 2>err && ! test -s err && "
				"cmp -s o.raw s.raw", dir), 0);

	/* re-probe: the same everything (ID3 gives all tags; INFO adds none) */
	assert_int_equal(probe_bytes(served, len, &r2, why, sizeof(why)), 0);
	assert_int_equal(r2.off, 12 + 8 + 8 + 8 + 16 + 8);
	assert_int_equal(r2.len, r.len);
	check_crafted_blocks(&r2);
	assert_memory_equal(&r2.props, &r.props, sizeof(r.props));
	check_sorted_tags(&r2, crafted_sorted,
			  sizeof(crafted_sorted) / sizeof(crafted_sorted[0]));
	free(served);
	rec_free(&r);
	rec_free(&r2);
}

static void expect_fail(const void *buf, size_t len, int err,
			const char *reason);

/* ID3 wins over INFO key by key; INFO fills the keys ID3 lacks. */
static const char *const id3_sorted[][2] = {
	{ "artist", "X" },
	{ "artist", "Y" },
	{ "comment", "" },
	{ "copyright", "Co" },
	{ "custom", "cv" },
	{ "genre", "Rock" },
	{ "riff:isbj", "subj" },
	{ "title", "Id3 Title" },
	{ "totaltracks", "12" },
	{ "tracknumber", "3" },
};

static void check_id3(const struct rec *r)
{
	uint8_t *png;
	size_t png_len;

	check_crafted_blocks(r);
	check_sorted_tags(r, id3_sorted,
			  sizeof(id3_sorted) / sizeof(id3_sorted[0]));
	png = slurp("img.png", &png_len);
	assert_int_equal(r->npics, 1);
	assert_int_equal(r->pics[0].type, 3);
	assert_string_equal(r->pics[0].mime, "image/png");
	assert_string_equal(r->pics[0].desc, "front");
	assert_int_equal(r->pics[0].width, 16);
	assert_int_equal(r->pics[0].height, 8);
	assert_int_equal(r->pics[0].len, png_len);
	assert_memory_equal(r->pics[0].data, png, png_len);
	free(png);
	assert_int_equal(r->nbins, 1);
	assert_string_equal(r->bins[0].key, "id3:priv");
	assert_int_equal(r->bins[0].len, 12);
	assert_memory_equal(r->bins[0].data, "org.test\0\0\1\2", 12);
}

static void test_id3_chunk(void **state)
{
	struct rec r = { 0 }, r2 = { 0 };
	uint8_t *f, *served;
	size_t len, served_len;
	char why[128];

	(void)state;
	f = slurp("id3.wav", &len);
	assert_int_equal(probe_bytes(f, len, &r, why, sizeof(why)), 0);
	assert_int_equal(r.off, crafted_audio);
	check_id3(&r);
	rec_free(&r);

	served = serve(f, len, &r, &served_len);
	spew("served-id3.wav", served, served_len);
	assert_int_equal(probe_bytes(served, served_len, &r2, why, sizeof(why)),
			 0);
	check_id3(&r2);
	/* mutagen reads the served tag, picture included */
	assert_int_equal(lu_run("cd %s && /usr/bin/python3 -c '"
			     "import mutagen.wave\n"
			     "w = mutagen.wave.WAVE(\"served-id3.wav\")\n"
			     "assert w.tags[\"TIT2\"].text == [\"Id3 Title\"]\n"
			     "assert w.tags[\"TPE1\"].text == [\"X\", \"Y\"]\n"
			     "a = w.tags.getall(\"APIC\")[0]\n"
			     "assert a.data == open(\"img.png\", \"rb\").read()\n"
			     "'", dir), 0);
	free(served);
	free(f);
	rec_free(&r);
	rec_free(&r2);

	/* a second id3 chunk (here: the same one again) is ignored */
	f = slurp("id3.wav", &len);
	{
		uint8_t *id3 = memmem(f, len, "id3 ", 4);
		size_t n = (size_t)(f + len - id3);
		uint8_t *two = malloc(len + n);

		assert_non_null(id3);
		assert_non_null(two);
		memcpy(two, f, len);
		memcpy(two + len, id3, n);
		two[4] = (uint8_t)(len + n - 8);
		two[5] = (uint8_t)((len + n - 8) >> 8);
		two[6] = (uint8_t)((len + n - 8) >> 16);
		two[7] = (uint8_t)((len + n - 8) >> 24);
		assert_int_equal(probe_bytes(two, len + n, &r, why, sizeof(why)),
				 0);
		check_id3(&r);
		rec_free(&r);
		free(two);
	}
	free(f);

	/* a broken id3 chunk is named */
	f = slurp("id3.wav", &len);
	{
		uint8_t *id3 = memmem(f, len, "id3 ", 4);

		assert_non_null(id3);
		id3[8] = 'X';		/* "ID3" -> "XD3" */
		expect_fail(f, len, -EBADMSG, "holds no id3v2 tag");
		id3[8] = 'I';
		id3[14] = 0x7f;		/* tag size past the chunk */
		expect_fail(f, len, -EBADMSG, "runs past end of 'id3 ' chunk");
		/* the first frame (TIT2) claims 256 MiB */
		id3[14] = 0;
		memcpy(id3 + 8 + 10 + 4, "\x7f\x7f\x7f\x7f", 4);
		expect_fail(f, len, -EBADMSG, "'id3 ' chunk at offset");
	}
	free(f);
}

/* A file with an odd-sized "data" chunk at the end, no pad byte. */
static void test_odd_data(void **state)
{
	struct bld b = { 0 };
	struct rec r = { 0 }, r2 = { 0 };
	const uint8_t *fmt;
	uint32_t fmt_len;
	size_t riff, len;
	uint8_t *served;
	char why[128];
	static const uint8_t mono8[] = {
		0x01, 0x00, 0x01, 0x00, 0x40, 0x1f, 0, 0, 0x40, 0x1f, 0, 0,
		0x01, 0x00, 0x08, 0x00,
	};

	(void)state;
	fmt = mono8;
	fmt_len = sizeof(mono8);
	riff = b_open(&b, "RIFF");
	b_put(&b, "WAVE", 4);
	b_chunk(&b, "fmt ", fmt, fmt_len);
	b_put(&b, "data\x05\0\0\0\x80\x81\x82\x83\x84", 13);
	b_close(&b, riff);	/* odd RIFF size: adds a pad byte; drop it */
	b.n--;
	assert_int_equal(probe_bytes(b.p, b.n, &r, why, sizeof(why)), 0);
	assert_int_equal(r.off, 44);
	assert_int_equal(r.len, 5);
	assert_int_equal(r.props.total_samples, 5);
	assert_int_equal(r.props.bits_per_sample, 8);
	rec_free(&r);
	served = serve(b.p, b.n, &r, &len);
	/* the served file has the pad byte */
	assert_int_equal(len, 44 + 6);
	assert_int_equal(le32_at(served + 4), 42);
	assert_int_equal(served[49], 0);
	assert_int_equal(probe_bytes(served, len, &r2, why, sizeof(why)), 0);
	assert_int_equal(r2.len, 5);
	free(served);
	free(b.p);
	rec_free(&r);
	rec_free(&r2);
}

static void test_synth_refuses(void **state)
{
	struct mf_synth_opts opts = { 0 };
	struct mf_synth_block blocks[4];
	struct mf_synth_tag tag = { "title", "x" };
	struct mf_synth_input in = {
		.format = "wav", .blocks = blocks, .opts = &opts,
		.audio_offset = 44, .audio_length = 100,
	};
	uint8_t fmt[4 + 16] = "fmt ";
	struct mf_layout *l = NULL, *sentinel = (struct mf_layout *)&in;
	struct mf_seg seg;

	(void)state;
	l = sentinel;
	blocks[0] = (struct mf_synth_block){ MF_WAV_KIND_CHUNK, fmt, sizeof(fmt) };
	blocks[1] = (struct mf_synth_block){ MF_WAV_KIND_CHUNK,
					     (const uint8_t *)"data", 4 };
	blocks[2] = blocks[1];
	in.nblocks = 0;
	assert_int_equal(mf_wav_synth(&in, &l), -EIO);	/* nothing */
	in.nblocks = 1;
	assert_int_equal(mf_wav_synth(&in, &l), -EIO);	/* no data */
	in.nblocks = 3;
	assert_int_equal(mf_wav_synth(&in, &l), -EIO);	/* two data */
	in.blocks = blocks + 1;
	in.nblocks = 1;
	assert_int_equal(mf_wav_synth(&in, &l), -EIO);	/* no fmt */
	blocks[2] = blocks[0];
	in.nblocks = 2;
	assert_int_equal(mf_wav_synth(&in, &l), -EIO);	/* data before fmt */
	in.blocks = blocks;
	blocks[0].len = 4 + 15;
	assert_int_equal(mf_wav_synth(&in, &l), -EIO);	/* short fmt */
	blocks[0].len = sizeof(fmt);
	blocks[1].len = 5;
	assert_int_equal(mf_wav_synth(&in, &l), -EIO);	/* data with a body */
	blocks[1].len = 4;
	blocks[1].data = (const uint8_t *)"da\nt";
	assert_int_equal(mf_wav_synth(&in, &l), -EIO);	/* bad id */
	blocks[1].data = (const uint8_t *)"data";
	in.audio_length = (uint64_t)1 << 32;
	assert_int_equal(mf_wav_synth(&in, &l), -EFBIG);
	in.audio_length = 0xffffffffu - 4 - 8 - 16 - 8;
	assert_int_equal(mf_wav_synth(&in, &l), -EFBIG);	/* pad byte */
	in.audio_length--;
	in.tags = &tag;
	in.ntags = 1;
	assert_int_equal(mf_wav_synth(&in, &l), -EFBIG);	/* + INFO */
	tag.value = NULL;
	in.audio_length = 100;
	assert_int_equal(mf_wav_synth(&in, &l), -EIO);
	assert_ptr_equal(l, sentinel);
	assert_int_equal(mf_wav_synth(NULL, &l), -EINVAL);

	/* the smallest file: header, fmt, data */
	in.ntags = 0;
	assert_int_equal(mf_wav_synth(&in, &l), 0);
	assert_int_equal(mf_layout_size(l), 44 + 100);
	assert_int_equal(mf_layout_nsegs(l), 2);
	mf_layout_seg(l, 1, &seg);
	assert_int_equal(seg.kind, MF_SEG_BACKING);
	assert_int_equal(seg.src_off, 44);
	assert_int_equal(seg.len, 100);
	mf_layout_free(l);
}

static void test_info_map(void **state)
{
	char id[4];

	(void)state;
	assert_string_equal(mf_wav_info_key("INAM"), "title");
	assert_string_equal(mf_wav_info_key("IPRT"), "tracknumber");
	assert_string_equal(mf_wav_info_key("ISFT"), "encodersettings");
	assert_null(mf_wav_info_key("ISBJ"));
	assert_int_equal(mf_wav_info_id("tracknumber", id), 0);
	assert_memory_equal(id, "ITRK", 4);
	assert_int_equal(mf_wav_info_id("albumartist", id), -ENOENT);
	assert_int_equal(mf_wav_info_id("riff:isbj", id), 0);
	assert_memory_equal(id, "ISBJ", 4);
	assert_int_equal(mf_wav_info_id("riff:inam", id), -ENOENT);
	assert_int_equal(mf_wav_info_id("riff:isb", id), -ENOENT);
	assert_int_equal(mf_wav_info_id("riff:isbjx", id), -ENOENT);
	assert_int_equal(mf_wav_info_id("riff:i\xc3\xa9x", id), -ENOENT);
}

/* ---- hostile input ---- */

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

/* RIFF/WAVE + @mid (chunks) with a correct RIFF size. */
static void craft_fail(const void *mid, size_t n, int err, const char *reason)
{
	struct bld b = { 0 };
	size_t riff = b_open(&b, "RIFF");

	b_put(&b, "WAVE", 4);
	b_put(&b, mid, n);
	b_close(&b, riff);
	expect_fail(b.p, b.n, err, reason);
	free(b.p);
}

#define FMT16 "fmt \x10\0\0\0\x01\0\x02\0\x44\xac\0\0\x10\xb1\x02\0\x04\0\x10\0"

static void test_hostile_crafted(void **state)
{
	uint8_t buf[64];

	(void)state;
	expect_fail("", 0, -EINVAL, "not a RIFF WAVE file");
	expect_fail("RIFF\4\0\0\0WAV", 11, -EINVAL, "not a RIFF WAVE file");
	expect_fail("RIFF\4\0\0\0AVI ", 12, -EINVAL, "not a RIFF WAVE file");
	expect_fail("fLaC\0\0\0\x22", 8, -EINVAL, "not a RIFF WAVE file");
	expect_fail("RIFF\3\0\0\0WAVE", 12, -EBADMSG, "too small");
	expect_fail("RIFF\5\0\0\0WAVE", 12, -EBADMSG,
		    "riff size 5 runs past end of file");
	expect_fail("RIFF\4\0\0\0WAVE", 12, -EBADMSG, "no 'fmt ' chunk");
	craft_fail(FMT16, 24, -EBADMSG, "no 'data' chunk");
	craft_fail("data\0\0\0\0", 8, -EBADMSG, "'data' chunk before 'fmt '");
	craft_fail(FMT16 "data\0\0\0\0data\0\0\0\0", 40, -EBADMSG,
		   "second 'data' chunk");
	craft_fail(FMT16 FMT16, 48, -EBADMSG, "second 'fmt ' chunk");
	craft_fail("fmt \x0e\0\0\0" "abcdefghijklmn", 22, -EBADMSG,
		   "'fmt ' chunk of 14 bytes is too short");
	craft_fail(FMT16 "data\x09\0\0\0\0\0\0\0", 36, -EBADMSG,
		   "'data' chunk at offset 36 (9 bytes) runs past end of file");
	craft_fail(FMT16 "da\x01" "a\0\0\0\0", 32, -EBADMSG,
		   "bad chunk id at offset 36");
	craft_fail(FMT16 "dat", 27, -EBADMSG,
		   "chunk header at offset 36 runs past end of riff");
	craft_fail(FMT16 "LIST\2\0\0\0IN", 34, -EBADMSG, "is too short");
	craft_fail("fmt \x10\0\0\0\x01\0\0\0\x44\xac\0\0\x10\xb1\x02\0\x04\0\x10\0"
		   "data\0\0\0\0", 32, -EBADMSG, "has 0 channels");
	craft_fail("fmt \x10\0\0\0\x01\0\x02\0\x44\xac\0\0\x10\xb1\x02\0\0\0\x10\0"
		   "data\0\0\0\0", 32, -EBADMSG, "block align 0");
	/* INFO: a field past the end of the list, a bad field id */
	craft_fail(FMT16 "LIST\x10\0\0\0INFOINAM\x09\0\0\0abcd"
		   "data\0\0\0\0", 56, -EBADMSG,
		   "info field 'INAM' runs past end");
	craft_fail(FMT16 "LIST\x10\0\0\0INFOI\x01\x41M\x04\0\0\0abcd"
		   "data\0\0\0\0", 56, -EBADMSG, "bad info field id");
	/* the RIFF size is shorter than the file: the rest is ignored */
	memcpy(buf, "RIFF\x24\0\0\0WAVE" FMT16 "data\0\0\0\0garbage!", 52);
	{
		struct rec r = { 0 };

		assert_int_equal(probe_bytes(buf, 52, &r, NULL, 0), 0);
		assert_int_equal(r.off, 44);
		assert_int_equal(r.len, 0);
		rec_free(&r);
	}
	/* a RIFF size past the end of the file */
	buf[4] = 0x30;
	expect_fail(buf, 52, -EBADMSG, "riff size 48 runs past end of file");
	/* the RIFF size cuts a chunk */
	buf[4] = 0x26;
	expect_fail(buf, 52, -EBADMSG, "chunk header at offset 44 runs past");
	buf[4] = 0x2c;
	expect_fail(buf, 52, -EBADMSG, "'garb' chunk at offset 44 (");
}

/* A probe of more than MF_WAV_CHUNKS_MAX chunks fails. */
static void test_many_chunks(void **state)
{
	struct bld b = { 0 };
	size_t riff = b_open(&b, "RIFF");

	(void)state;
	b_put(&b, "WAVE" FMT16, 28);
	for (int i = 0; i < MF_WAV_CHUNKS_MAX; i++)
		b_put(&b, "abcd\0\0\0\0", 8);
	b_put(&b, "data\0\0\0\0", 8);
	b_close(&b, riff);
	expect_fail(b.p, b.n, -EBADMSG, "more than 4096 chunks");
	free(b.p);
}

/* Every truncation fails cleanly or, inside the audio, cannot succeed. */
static void test_truncated(void **state)
{
	struct lu_prefix p;
	struct rec r = { 0 };
	struct mf_sink s = rec_sink(&r);
	char why[128];
	size_t len;

	(void)state;
	lu_prefix_open(&p, crafted, crafted_len);
	for (len = crafted_len;; len--) {
		int ret;

		why[0] = '\0';
		ret = mf_wav_probe(MF_PROBE_SRC_FD(lu_prefix_cut(&p, len)), &s, why,
				   sizeof(why));
		if (len == crafted_len) {
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

/* Mutate every byte of @file in [@from, @to): no crash, sane results. */
static void mutate_range(const uint8_t *file, size_t len, size_t from,
			 size_t to)
{
	struct lu_mutant m;
	struct rec r = { 0 };
	char why[128];
	int ret;

	lu_mutant_begin(&m, file, len, from, to, 0);
	while (lu_mutant_next(&m)) {
		why[0] = '\0';
		ret = probe_bytes(m.buf, m.len, &r, why, sizeof(why));
		if (ret == 0) {
			assert_int_equal(r.nrange, 1);
			assert_true(r.off + r.len <= len);
		} else {
			assert_true(ret < 0);
			assert_true(why[0] != '\0' || ret == -ENOSPC);
		}
		rec_free(&r);
	}
	lu_mutant_end(&m);
}

/* Mutations of every header byte and random garbage: no crash. */
static void test_mutated(void **state)
{
	uint8_t *buf = malloc(crafted_len), *f;
	struct rec r = { 0 };
	char why[128];
	size_t k, len;
	int ret;

	(void)state;
	assert_non_null(buf);
	/* the crafted file, skipping most samples */
	mutate_range(crafted, crafted_len, 0, crafted_audio + 64);
	mutate_range(crafted, crafted_len, crafted_audio + 4410 * 4,
		     crafted_len);
	/* the id3 chunk mutagen added: its header and first frames */
	f = slurp("id3.wav", &len);
	mutate_range(f, len, crafted_len, crafted_len + 300);
	free(f);
	for (k = 0; k < 3000; k++) {
		size_t n = 12 + lu_rand() % 300, i;

		memcpy(buf, crafted, 12);
		for (i = 12; i < n; i++)
			buf[i] = (uint8_t)(k % 3 ? lu_rand()
						 : lu_rand() % 8 + 'a');
		buf[4] = (uint8_t)(n - 8);
		buf[5] = buf[6] = buf[7] = 0;
		ret = probe_bytes(buf, n, &r, why, sizeof(why));
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
	assert_int_equal(mf_wav_probe(MF_PROBE_SRC_FD(fds[0]), NULL, why, sizeof(why)), -EINVAL);
	assert_string_equal(why, "not a regular file");
	close(fds[0]);
	close(fds[1]);
	assert_int_equal(mf_wav_probe(MF_PROBE_SRC_FD(-1), NULL, why, sizeof(why)), -EBADF);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_probe_sox16),
		cmocka_unit_test(test_probe_sox24),
		cmocka_unit_test(test_probe_ffmpeg_info),
		cmocka_unit_test(test_probe_rf64),
		cmocka_unit_test(test_probe_crafted),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_id3_chunk),
		cmocka_unit_test(test_odd_data),
		cmocka_unit_test(test_synth_refuses),
		cmocka_unit_test(test_info_map),
		cmocka_unit_test(test_hostile_crafted),
		cmocka_unit_test(test_many_chunks),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_mutated),
		cmocka_unit_test(test_not_regular),
	};

	/* the hostile tests trigger many warnings by design */
	mf_log_init("test_wav", MF_LOG_ERROR);
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
