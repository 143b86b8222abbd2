/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for mf_mp4: probe AAC and ALAC files made at test time with
 * ffmpeg and tagged with mutagen (moov before and after mdat); synthesize
 * from what the probe reported, decode the result with ffmpeg and re-probe
 * it; force the stco -> co64 switch; probe hand-crafted hostile files,
 * every truncation and many mutations of a real file.
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
#include "mf_mp4.h"
#include "mf_sink.h"

#include "lib-unit.h"

#include "mf_banned.h"

/* ---- a sink that records everything it is told ---- */

#define REC_KIND_PREFIX "mp4:"
#include "rec_sink.h"

static const struct rec_item *rec_find(const struct rec_item *a, size_t n,
				       const char *key, size_t nth)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(a[i].key, key) == 0 && nth-- == 0)
			return &a[i];
	return NULL;
}

/* ---- files ---- */

static char dir[64];

static int probe_bytes(const void *buf, size_t len, struct rec *r, char *why,
		       size_t whylen)
{
	struct mf_sink s = rec_sink(r);

	return lu_probe_bytes(mf_mp4_probe, &s, buf, len, why, whylen);
}

static const char tag_py[] =
	"import sys\n"
	"from mutagen.mp4 import MP4, MP4Cover, MP4FreeForm\n"
	"f = MP4(sys.argv[1])\n"
	"f['\\xa9nam'] = ['Sine']\n"
	"f['\\xa9ART'] = ['One', 'Two']\n"
	"f['aART'] = ['AA']\n"
	"f['\\xa9alb'] = ['\\u00dcn\\u00ef']\n"
	"f['\\xa9day'] = ['2020']\n"
	"f['trkn'] = [(3, 12)]\n"
	"f['disk'] = [(1, 2)]\n"
	"f['tmpo'] = [120]\n"
	"f['cpil'] = True\n"
	"f['sfID'] = [143441]\n"
	"f['----:com.apple.iTunes:MusicBrainz Album Id'] = [MP4FreeForm(b'alb-id')]\n"
	"f['----:com.apple.iTunes:Custom Thing'] = [MP4FreeForm(b'x'), MP4FreeForm(b'y')]\n"
	"f['----:org.example:other'] = [MP4FreeForm(b'z')]\n"
	"f['covr'] = [MP4Cover(open(sys.argv[2], 'rb').read(), MP4Cover.FORMAT_JPEG),\n"
	"             MP4Cover(open(sys.argv[3], 'rb').read(), MP4Cover.FORMAT_PNG)]\n"
	"f.save()\n";

/* Files: aac.m4a (moov last), aacf.m4a (faststart), alac.m4a, alacf.m4a. */
static const char *const names[] = { "aac", "aacf", "alac", "alacf" };

static int group_setup(void **state)
{
	char p[128];

	(void)state;
	if (lu_run("command -v ffmpeg >/dev/null 2>&1") ||
	    lu_run("/usr/bin/python3 -c 'import mutagen' 2>/dev/null"))
		return -1;
	if (lu_tmpdir(dir, sizeof(dir), "mp4"))
		return -1;
	if (lu_run("cd %s && ffmpeg -loglevel error -y -f lavfi "
		   "-i color=c=red:s=40x30 -frames:v 1 a.jpg && "
		   "ffmpeg -loglevel error -y -f lavfi -i color=c=blue:s=16x8 "
		   "-frames:v 1 -pix_fmt rgb24 b.png", dir))
		return -1;
	for (int i = 0; i < 4; i++) {
		if (lu_run("cd %s && ffmpeg -loglevel error -y -f lavfi "
			   "-i sine=frequency=440:duration=1 -ac 2 -c:a %s %s "
			   "%s.m4a", dir, i < 2 ? "aac" : "alac",
			   i % 2 ? "-movflags +faststart" : "", names[i]))
			return -1;
	}
	lu_path(p, sizeof(p), dir, "tag.py");
	lu_spew(p, tag_py, strlen(tag_py));
	for (int i = 0; i < 4; i++)
		if (lu_run("cd %s && /usr/bin/python3 tag.py %s.m4a a.jpg "
			   "b.png", dir, names[i]))
			return -1;
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	return lu_tmpdir_remove(dir);
}

static uint8_t *load(int i, size_t *len)
{
	char p[128];

	snprintf(p, sizeof(p), "%s/%s.m4a", dir, names[i]);
	return lu_slurp(p, len);
}

/* ---- probing real files ---- */

static const char *const want_tags[][2] = {
	{ "title", "Sine" },
	{ "artist", "One" },
	{ "artist", "Two" },
	{ "albumartist", "AA" },
	{ "album", "\xc3\x9cn\xc3\xaf" },
	{ "date", "2020" },
	{ "tracknumber", "3" },
	{ "totaltracks", "12" },
	{ "discnumber", "1" },
	{ "totaldiscs", "2" },
	{ "bpm", "120" },
	{ "compilation", "1" },
	{ "musicbrainz_albumid", "alb-id" },
	{ "custom thing", "x" },
	{ "custom thing", "y" },
	{ "encodedby", NULL },		/* whatever ffmpeg wrote */
};
#define NWANT (sizeof(want_tags) / sizeof(want_tags[0]))

static void check_probe(const struct rec *r, bool alac)
{
	const struct rec_item *t, *b;

	for (size_t i = 0; i < NWANT; i++) {
		size_t nth = 0;

		for (size_t j = 0; j < i; j++)
			nth += strcmp(want_tags[j][0], want_tags[i][0]) == 0;
		t = rec_find(r->tags, r->ntags, want_tags[i][0], nth);
		assert_non_null(t);
		if (want_tags[i][1])
			assert_string_equal((const char *)t->data,
					    want_tags[i][1]);
	}
	assert_int_equal(r->ntags, NWANT);
	assert_int_equal(r->npics, 2);
	assert_string_equal(r->pics[0].mime, "image/jpeg");
	assert_int_equal(r->pics[0].width, 40);
	assert_int_equal(r->pics[0].height, 30);
	assert_int_equal(r->pics[0].type, 3);
	assert_string_equal(r->pics[1].mime, "image/png");
	assert_int_equal(r->pics[1].width, 16);
	assert_int_equal(r->pics[1].height, 8);
	assert_int_equal(r->pics[1].depth, 24);
	b = rec_find(r->bins, r->nbins, "mp4:sf%49%44", 0);
	assert_non_null(b);
	assert_int_equal(b->len, 16 + 4);
	assert_non_null(rec_find(r->bins, r->nbins, "mp4:----", 0));
	assert_int_equal(r->nbins, 2);
	assert_non_null(rec_find(r->blocks, r->nblocks, "mp4:ftyp", 0));
	assert_non_null(rec_find(r->blocks, r->nblocks, "mp4:moov", 0));
	assert_non_null(rec_find(r->blocks, r->nblocks, "mp4:mdat", 0));
	assert_non_null(rec_find(r->blocks, r->nblocks, "mp4:order", 0));
	assert_int_equal(r->nrange, 1);
	assert_int_equal(r->nprops, 1);
	assert_int_equal(r->props.sample_rate, 44100);
	assert_int_equal(r->props.channels, 2);
	assert_int_equal(r->props.bits_per_sample, alac ? 16 : 0);
	assert_true(r->props.duration_ms >= 1000 && r->props.duration_ms < 1100);
	assert_true(r->props.bitrate_kbps > 0);
}

static void test_probe_real(void **state)
{
	(void)state;
	for (int i = 0; i < 4; i++) {
		struct rec r = { 0 };
		char why[128];
		size_t len;
		uint8_t *buf = load(i, &len);
		const struct rec_item *order;

		assert_int_equal(probe_bytes(buf, len, &r, why, sizeof(why)), 0);
		check_probe(&r, i >= 2);
		/* the audio range is the mdat payload */
		assert_memory_equal(buf + r.off - 4, "mdat", 4);
		order = rec_find(r.blocks, r.nblocks, "mp4:order", 0);
		assert_int_equal(order->data[0], i % 2 ? 0 : 1);
		rec_free(&r);
		free(buf);
	}
}

/* ---- synthesis ---- */

struct io_ctx {
	const struct rec *r;
	const uint8_t *backing;
	size_t backing_len;
};

static int io_blob(void *ctx, const struct mf_blob_ref *ref, uint64_t off,
		   void *buf, size_t len)
{
	const struct io_ctx *c = ctx;

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

/* Everything synthesis needs, borrowed from a recording. */
struct input {
	struct mf_synth_input in;
	struct mf_synth_block blocks[REC_MAX];
	struct mf_synth_tag tags[REC_MAX];
	struct mf_synth_pic pics[REC_MAX];
	struct mf_synth_bin bins[REC_MAX];
	struct mf_synth_opts opts;
};

static int cmp_kind(const void *a, const void *b)
{
	const struct mf_synth_block *x = a, *y = b;
	int c = strcmp(x->kind, y->kind);

	/* stable on the report order: compare addresses of the data last */
	return c ? c : (x->data < y->data ? -1 : x->data > y->data);
}

static void input_from(struct input *s, const struct rec *r, size_t backing)
{
	size_t i, j, n = 0;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < r->nblocks; i++) {
		s->blocks[i].kind = r->blocks[i].key;
		s->blocks[i].data = r->blocks[i].data;
		s->blocks[i].len = r->blocks[i].len;
	}
	/* (kind, ordinal) order; one block per kind but "mp4:pre"/"post" */
	qsort(s->blocks, r->nblocks, sizeof(s->blocks[0]), cmp_kind);
	/* tags by (key, file order) */
	for (i = 0; i < r->ntags; i++) {
		bool seen = false;

		for (j = 0; j < i; j++)
			seen |= strcmp(r->tags[j].key, r->tags[i].key) == 0;
		if (seen)
			continue;
		for (j = i; j < r->ntags; j++) {
			if (strcmp(r->tags[j].key, r->tags[i].key) == 0) {
				s->tags[n].key = r->tags[j].key;
				s->tags[n].value = (const char *)r->tags[j].data;
				n++;
			}
		}
	}
	for (i = 0; i < r->npics; i++) {
		s->pics[i].type = r->pics[i].type;
		s->pics[i].mime = r->pics[i].mime;
		s->pics[i].desc = r->pics[i].desc;
		s->pics[i].width = r->pics[i].width;
		s->pics[i].height = r->pics[i].height;
		s->pics[i].len = r->pics[i].len;
		s->pics[i].ref.kind = MF_BLOB_ART;
		s->pics[i].ref.rowid = (int64_t)i;
	}
	for (i = 0; i < r->nbins; i++) {
		s->bins[i].key = r->bins[i].key;
		s->bins[i].len = r->bins[i].len;
		s->bins[i].ref.kind = MF_BLOB_TAG;
		s->bins[i].ref.rowid = (int64_t)i;
	}
	s->in.format = "m4a";
	s->in.blocks = s->blocks;
	s->in.nblocks = r->nblocks;
	s->in.tags = s->tags;
	s->in.ntags = n;
	s->in.pics = s->pics;
	s->in.npics = r->npics;
	s->in.bins = s->bins;
	s->in.nbins = r->nbins;
	s->in.audio_offset = r->off;
	s->in.audio_length = r->len;
	s->in.backing_size = backing;
	s->in.opts = &s->opts;
}

/* Serve the whole layout into a new buffer. */
static uint8_t *serve(const struct mf_layout *l, const struct io_ctx *c,
		      size_t *len)
{
	struct mf_layout_io io = { .ctx = (void *)c, .read_blob = io_blob,
				   .read_backing = io_backing };
	size_t n = (size_t)mf_layout_size(l);
	uint8_t *buf = malloc(n + 1);

	assert_non_null(buf);
	assert_int_equal(mf_layout_read_at(l, 0, buf, n, &io), (ssize_t)n);
	*len = n;
	return buf;
}

static void same_items(const struct rec_item *a, size_t na,
		       const struct rec_item *b, size_t nb)
{
	assert_int_equal(na, nb);
	for (size_t i = 0; i < na; i++) {
		const struct rec_item *x = &a[i];
		size_t nth = 0;

		for (size_t j = 0; j < i; j++)
			nth += strcmp(a[j].key, x->key) == 0;
		const struct rec_item *y = rec_find(b, nb, x->key, nth);

		assert_non_null(y);
		assert_int_equal(x->len, y->len);
		assert_memory_equal(x->data, y->data, x->len);
	}
}

static void test_round_trip(void **state)
{
	(void)state;
	for (int i = 0; i < 4; i++) {
		struct rec r = { 0 }, r2 = { 0 };
		struct input s;
		struct mf_layout *l = NULL;
		struct io_ctx c;
		char why[128], p[128], out[256];
		size_t len, slen;
		uint8_t *buf = load(i, &len), *served;

		assert_int_equal(probe_bytes(buf, len, &r, why, sizeof(why)), 0);
		input_from(&s, &r, len);
		assert_int_equal(mf_mp4_synth(&s.in, &l), 0);
		c = (struct io_ctx){ .r = &r, .backing = buf, .backing_len = len };
		served = serve(l, &c, &slen);
		assert_int_equal(probe_bytes(served, slen, &r2, why, sizeof(why)), 0);
		same_items(r.tags, r.ntags, r2.tags, r2.ntags);
		same_items(r.bins, r.nbins, r2.bins, r2.nbins);
		assert_int_equal(r2.npics, r.npics);
		for (size_t k = 0; k < r.npics; k++) {
			assert_int_equal(r2.pics[k].len, r.pics[k].len);
			assert_memory_equal(r2.pics[k].data, r.pics[k].data,
					    r.pics[k].len);
			assert_string_equal(r2.pics[k].mime, r.pics[k].mime);
		}
		assert_int_equal(r2.len, r.len);
		assert_memory_equal(served + r2.off, buf + r.off, r.len);
		assert_int_equal(r2.props.sample_rate, r.props.sample_rate);
		assert_int_equal(r2.props.duration_ms, r.props.duration_ms);
		/* synthesizing the synthesized file again gives the same bytes */
		{
			struct mf_layout *l2 = NULL;
			struct input s2;
			struct io_ctx c2 = { .r = &r2, .backing = served,
					     .backing_len = slen };
			size_t slen2;
			uint8_t *again;

			input_from(&s2, &r2, slen);
			assert_int_equal(mf_mp4_synth(&s2.in, &l2), 0);
			again = serve(l2, &c2, &slen2);
			assert_int_equal(slen2, slen);
			assert_memory_equal(again, served, slen);
			free(again);
			mf_layout_free(l2);
		}
		/* ffmpeg decodes it silently, to the same audio */
		snprintf(p, sizeof(p), "%s/served-%s.m4a", dir, names[i]);
		lu_spew(p, served, slen);
		snprintf(out, sizeof(out), "%s/ff-%s.txt", dir, names[i]);
		assert_int_equal(lu_run("ffmpeg -nostdin -v error -i %s "
					"-f null - >%s 2>&1", p, out), 0);
		{
			size_t olen;
			uint8_t *o = lu_slurp(out, &olen);

			if (olen)
				fprintf(stderr, "# ffmpeg says: %s\n", (char *)o);
			assert_int_equal(olen, 0);
			free(o);
		}
		assert_int_equal(lu_run("cd %s && test \"$(ffmpeg -nostdin "
					"-v error -i served-%s.m4a -map 0:a "
					"-f md5 -)\" = \"$(ffmpeg -nostdin "
					"-v error -i %s.m4a -map 0:a -f md5 -)\"",
					dir, names[i], names[i]), 0);
		free(served);
		mf_layout_free(l);
		rec_free(&r2);
		rec_free(&r);
		free(buf);
	}
}

/* Edited store data: tags added and changed, art removed, odd values. */
static void test_synth_edits(void **state)
{
	struct rec r = { 0 }, r2 = { 0 };
	struct input s;
	struct mf_layout *l = NULL;
	struct io_ctx c;
	char why[128];
	size_t len, slen;
	uint8_t *buf = load(1, &len), *served;
	static const struct mf_synth_tag tags[] = {
		{ "bpm", "fast" },			/* not a number */
		{ "compilation", "0" },
		{ "conductor", "C" },
		{ "musicbrainz_recordingid", "rec" },
		{ "title", "New" },
		{ "title", "" },
		{ "tracknumber", "4/9" },
	};
	(void)state;

	assert_int_equal(probe_bytes(buf, len, &r, why, sizeof(why)), 0);
	input_from(&s, &r, len);
	s.in.tags = tags;
	s.in.ntags = sizeof(tags) / sizeof(tags[0]);
	s.in.npics = 0;
	assert_int_equal(mf_mp4_synth(&s.in, &l), 0);
	c = (struct io_ctx){ .r = &r, .backing = buf, .backing_len = len };
	served = serve(l, &c, &slen);
	assert_int_equal(probe_bytes(served, slen, &r2, why, sizeof(why)), 0);
	assert_int_equal(r2.npics, 0);
	assert_string_equal(rec_find(r2.tags, r2.ntags, "bpm", 0)->data, "fast");
	assert_string_equal(rec_find(r2.tags, r2.ntags, "compilation", 0)->data,
			    "0");
	assert_string_equal(rec_find(r2.tags, r2.ntags, "conductor", 0)->data,
			    "C");
	assert_string_equal(rec_find(r2.tags, r2.ntags,
				     "musicbrainz_recordingid", 0)->data, "rec");
	assert_string_equal(rec_find(r2.tags, r2.ntags, "title", 0)->data, "New");
	assert_string_equal(rec_find(r2.tags, r2.ntags, "title", 1)->data, "");
	assert_string_equal(rec_find(r2.tags, r2.ntags, "tracknumber", 0)->data,
			    "4");
	assert_string_equal(rec_find(r2.tags, r2.ntags, "totaltracks", 0)->data,
			    "9");
	assert_int_equal(r2.ntags, 8);
	/* the freeform name is Picard's */
	assert_non_null(memmem(served, slen, "MusicBrainz Track Id", 20));
	assert_non_null(memmem(served, slen, "CONDUCTOR", 9));
	assert_memory_equal(served + r2.off, buf + r.off, r.len);
	free(served);
	mf_layout_free(l);
	rec_free(&r2);
	rec_free(&r);
	free(buf);
}

static void test_synth_refuses(void **state)
{
	struct rec r = { 0 };
	struct input s;
	struct mf_layout *l = NULL;
	char why[128];
	size_t len, i;
	uint8_t *buf = load(0, &len);
	struct mf_synth_block saved;
	uint8_t bad[8];

	(void)state;
	assert_int_equal(probe_bytes(buf, len, &r, why, sizeof(why)), 0);
	input_from(&s, &r, len);
	for (i = 0; i < s.in.nblocks; i++) {
		/* every block is needed */
		saved = s.blocks[i];
		s.blocks[i].kind = "mp4:zzz";
		assert_int_equal(mf_mp4_synth(&s.in, &l), -EIO);
		/* a block that is not one whole box */
		s.blocks[i] = saved;
		s.blocks[i].len--;
		assert_int_equal(mf_mp4_synth(&s.in, &l), -EIO);
		s.blocks[i] = saved;
	}
	assert_null(l);
	/* a chunk offset outside the audio range */
	s.in.audio_offset += 4096;
	assert_int_equal(mf_mp4_synth(&s.in, &l), -EIO);
	s.in.audio_offset -= 4096;
	/* a moov whose child runs past it */
	for (i = 0; i < s.in.nblocks; i++) {
		if (strcmp(s.blocks[i].kind, "mp4:moov") == 0) {
			uint8_t *m = dup_mem(s.blocks[i].data, s.blocks[i].len);

			memcpy(bad, m + 8, 4);
			m[8] = 0x7f;
			saved = s.blocks[i];
			s.blocks[i].data = m;
			assert_int_equal(mf_mp4_synth(&s.in, &l), -EIO);
			s.blocks[i] = saved;
			free(m);
		}
	}
	/* a picture too large for a 32-bit box */
	s.pics[0].len = UINT32_MAX;
	assert_int_equal(mf_mp4_synth(&s.in, &l), -EFBIG);
	assert_null(l);
	rec_free(&r);
	free(buf);
}

/* ---- crafted files ---- */

struct craft {
	uint8_t b[8192];
	size_t n;
	size_t open[16];
	int depth;
};

static void c_be32(struct craft *c, uint32_t v)
{
	c->b[c->n++] = (uint8_t)(v >> 24);
	c->b[c->n++] = (uint8_t)(v >> 16);
	c->b[c->n++] = (uint8_t)(v >> 8);
	c->b[c->n++] = (uint8_t)v;
}

static void c_bytes(struct craft *c, const void *p, size_t n)
{
	memcpy(c->b + c->n, p, n);
	c->n += n;
}

static void c_open(struct craft *c, const char *type)
{
	c->open[c->depth++] = c->n;
	c_be32(c, 0);
	c_bytes(c, type, 4);
}

static void c_close(struct craft *c)
{
	size_t start = c->open[--c->depth], n = c->n - start;

	c->b[start] = (uint8_t)(n >> 24);
	c->b[start + 1] = (uint8_t)(n >> 16);
	c->b[start + 2] = (uint8_t)(n >> 8);
	c->b[start + 3] = (uint8_t)n;
}

static void c_full(struct craft *c, const char *type, const void *body,
		   size_t n)
{
	c_open(c, type);
	c_bytes(c, body, n);
	c_close(c);
}

/*
 * A small file: ftyp, moov (mvhd, one trak of handler @handler whose stco
 * has @nchunks offsets starting at the mdat payload + @shift, udta/meta/
 * ilst with @ilst bytes), mdat of 64 bytes.
 */
/* Bytes craft_file() puts in the meta after the ilst (none if NULL). */
static const uint8_t *meta_tail;
static size_t meta_tail_len;

static void craft_file(struct craft *c, const char *handler, uint32_t nchunks,
		       uint32_t shift, const void *ilst, size_t ilst_len)
{
	static const uint8_t mvhd[100] = { [15] = 100, [19] = 100 };
	static const uint8_t mdhd[24] = { [15] = 100, [19] = 100 };
	uint8_t hdlr[25] = { 0 };
	size_t stco_at;

	memset(c, 0, sizeof(*c));
	c_full(c, "ftyp", "M4A \0\0\0\0isom", 12);
	c_open(c, "moov");
	c_full(c, "mvhd", mvhd, sizeof(mvhd));
	c_open(c, "trak");
	c_open(c, "mdia");
	c_full(c, "mdhd", mdhd, sizeof(mdhd));
	memcpy(hdlr + 8, handler, 4);
	c_full(c, "hdlr", hdlr, sizeof(hdlr));
	c_open(c, "minf");
	c_open(c, "stbl");
	c_open(c, "stco");
	c_be32(c, 0);
	c_be32(c, nchunks);
	stco_at = c->n;
	for (uint32_t i = 0; i < nchunks; i++)
		c_be32(c, 0);
	c_close(c);
	c_close(c);
	c_close(c);
	c_close(c);
	c_close(c);
	c_open(c, "udta");
	c_open(c, "meta");
	c_be32(c, 0);
	memcpy(hdlr + 8, "mdir", 4);
	c_full(c, "hdlr", hdlr, sizeof(hdlr));
	c_open(c, "ilst");
	c_bytes(c, ilst, ilst_len);
	c_close(c);
	if (meta_tail)
		c_bytes(c, meta_tail, meta_tail_len);
	c_close(c);
	c_close(c);
	c_close(c);
	c_open(c, "mdat");
	for (uint32_t i = 0; i < nchunks; i++) {
		uint32_t v = (uint32_t)c->n + shift + i;

		c->b[stco_at + 4 * i] = (uint8_t)(v >> 24);
		c->b[stco_at + 4 * i + 1] = (uint8_t)(v >> 16);
		c->b[stco_at + 4 * i + 2] = (uint8_t)(v >> 8);
		c->b[stco_at + 4 * i + 3] = (uint8_t)v;
	}
	memset(c->b + c->n, 0x55, 64);
	c->n += 64;
	c_close(c);
}

static int probe_craft(const struct craft *c, struct rec *r, char *why,
		       size_t n)
{
	return probe_bytes(c->b, c->n, r, why, n);
}

static void expect_fail(const struct craft *c, int err, const char *reason)
{
	struct rec r = { 0 };
	char why[128];

	assert_int_equal(probe_craft(c, &r, why, sizeof(why)), err);
	if (!strstr(why, reason))
		fprintf(stderr, "# reason '%s' lacks '%s'\n", why, reason);
	assert_non_null(strstr(why, reason));
	rec_free(&r);
}

static void test_crafted(void **state)
{
	/* an ilst with a text item, an sfID item and an odd covr child */
	static const uint8_t ilst[] = {
		0, 0, 0, 25, 0xa9, 'n', 'a', 'm',
		0, 0, 0, 17, 'd', 'a', 't', 'a', 0, 0, 0, 1, 0, 0, 0, 0, 'T',
		0, 0, 0, 28, 's', 'f', 'I', 'D',
		0, 0, 0, 20, 'd', 'a', 't', 'a', 0, 0, 0, 21, 0, 0, 0, 0,
		0, 2, 0x30, 0x51,
		0, 0, 0, 26, 'g', 'n', 'r', 'e',
		0, 0, 0, 18, 'd', 'a', 't', 'a', 0, 0, 0, 0, 0, 0, 0, 0, 0, 9,
	};
	struct craft c;
	struct rec r = { 0 };
	char why[128];

	(void)state;
	craft_file(&c, "soun", 2, 0, ilst, sizeof(ilst));
	assert_int_equal(probe_craft(&c, &r, why, sizeof(why)), 0);
	assert_int_equal(r.ntags, 2);
	assert_string_equal(r.tags[0].key, "title");
	assert_string_equal((char *)r.tags[0].data, "T");
	/* gnre 9 is ID3v1 genre 8 */
	assert_string_equal(r.tags[1].key, "genre");
	assert_string_equal((char *)r.tags[1].data, "Jazz");
	assert_int_equal(r.nbins, 1);
	assert_string_equal(r.bins[0].key, "mp4:sf%49%44");
	rec_free(&r);

	craft_file(&c, "vide", 2, 0, ilst, sizeof(ilst));
	expect_fail(&c, -ENOTSUP, "video");
	craft_file(&c, "text", 2, 0, ilst, sizeof(ilst));
	expect_fail(&c, -ENOTSUP, "no sound track");
	craft_file(&c, "soun", 2, 64, ilst, sizeof(ilst));
	expect_fail(&c, -ENOTSUP, "outside mdat");

	/* not MP4 */
	craft_file(&c, "soun", 2, 0, ilst, sizeof(ilst));
	memcpy(c.b + 4, "ftyq", 4);
	expect_fail(&c, -EINVAL, "not an MP4 file");
	/* a size past the end of the file */
	craft_file(&c, "soun", 2, 0, ilst, sizeof(ilst));
	c.b[c.n - 72] = 0x10;	/* mdat size */
	expect_fail(&c, -EBADMSG, "runs past end");
	/* a huge largesize */
	craft_file(&c, "soun", 2, 0, ilst, sizeof(ilst));
	memcpy(c.b + 20, "\0\0\0\1moov\xff\xff\xff\xff\xff\xff\xff\xff", 16);
	expect_fail(&c, -EBADMSG, "past end");
	/* a child larger than its parent (the trak in the moov) */
	craft_file(&c, "soun", 2, 0, ilst, sizeof(ilst));
	c.b[20 + 8 + 108 + 2] = 0x7f;
	expect_fail(&c, -EBADMSG, "malformed moov");
	/* an stco count that does not fit the box */
	craft_file(&c, "soun", 2, 0, ilst, sizeof(ilst));
	{
		uint8_t *st = memmem(c.b, c.n, "stco", 4);

		assert_non_null(st);
		st[8] = 0x40;
	}
	expect_fail(&c, -EBADMSG, "chunk offset count");
	/* an ilst item larger than the ilst */
	craft_file(&c, "soun", 2, 0, ilst, sizeof(ilst));
	{
		uint8_t *it = memmem(c.b, c.n, "\xa9nam", 4);

		assert_non_null(it);
		it[-2] = 0x10;
	}
	expect_fail(&c, -EBADMSG, "malformed moov");
	/* a fragmented file */
	craft_file(&c, "soun", 2, 0, ilst, sizeof(ilst));
	c_full(&c, "moof", "", 0);
	expect_fail(&c, -ENOTSUP, "fragmented");
	/* no moov */
	memset(&c, 0, sizeof(c));
	c_full(&c, "ftyp", "M4A \0\0\0\0isom", 12);
	c_full(&c, "mdat", "xx", 2);
	expect_fail(&c, -EBADMSG, "no moov");
}

/*
 * A 32-bit stco whose shifted offsets pass 4 GiB becomes co64: chunks near
 * the end of a (claimed) 4 GiB audio range, pushed back by a 1 MiB picture
 * in a moov that precedes the mdat.
 */
static void test_co64(void **state)
{
	const uint64_t alen = (uint64_t)1 << 32, e0 = 0xfff00000u;
	struct craft c;
	struct rec r = { 0 };
	struct input s;
	struct mf_layout *l = NULL;
	struct io_ctx io;
	char why[128];
	uint8_t *served, *co, *st;
	const struct rec_item *moov;
	size_t n = 512;

	(void)state;
	craft_file(&c, "soun", 3, 0, "", 0);
	assert_int_equal(probe_craft(&c, &r, why, sizeof(why)), 0);
	moov = rec_find(r.blocks, r.nblocks, "mp4:moov", 0);
	st = memmem(moov->data, moov->len, "stco", 4);
	assert_non_null(st);
	for (int i = 0; i < 3; i++) {
		uint64_t v = r.off + e0 + (uint64_t)i;

		st[12 + 4 * i] = (uint8_t)(v >> 24);
		st[13 + 4 * i] = (uint8_t)(v >> 16);
		st[14 + 4 * i] = (uint8_t)(v >> 8);
		st[15 + 4 * i] = (uint8_t)v;
	}
	input_from(&s, &r, c.n);
	s.in.audio_length = alen;
	s.pics[0] = (struct mf_synth_pic){ .type = 3, .mime = "image/png",
					   .desc = "", .len = 1u << 20,
					   .ref = { MF_BLOB_ART, 0 } };
	s.in.npics = 1;
	assert_int_equal(mf_mp4_synth(&s.in, &l), 0);
	/* read only the bytes before the picture */
	io = (struct io_ctx){ .r = &r, .backing = c.b, .backing_len = c.n };
	for (size_t i = 0; i < mf_layout_nsegs(l); i++) {
		struct mf_seg seg;

		mf_layout_seg(l, i, &seg);
		if (seg.kind == MF_SEG_BLOB) {
			n = (size_t)seg.start;
			break;
		}
	}
	{
		struct mf_layout_io lio = { .ctx = &io, .read_blob = io_blob,
					    .read_backing = io_backing };

		served = malloc(n);
		assert_non_null(served);
		assert_int_equal(mf_layout_read_at(l, 0, served, n, &lio),
				 (ssize_t)n);
	}
	assert_null(memmem(served, n, "stco", 4));
	co = memmem(served, n, "co64", 4);
	assert_non_null(co);
	assert_int_equal(co[-1], 16 + 3 * 8);
	for (int i = 0; i < 3; i++) {
		uint64_t v = 0;

		for (int k = 0; k < 8; k++)
			v = v << 8 | co[12 + 8 * i + k];
		/* the mdat payload now starts at size - alen */
		assert_true(v > UINT32_MAX);
		assert_int_equal(v, mf_layout_size(l) - alen + e0 + (uint64_t)i);
	}
	free(served);
	mf_layout_free(l);
	rec_free(&r);
}

/*
 * A box of size 0 ("to the end of the enclosing box") after the ilst: the
 * served meta must not let it swallow the new ilst (fuzz finding
 * roundtrip-mp4-title: the title was lost).
 */
static void test_size0_box(void **state)
{
	static const uint8_t ilst[] = {
		0, 0, 0, 25, 0xa9, 'n', 'a', 'm',
		0, 0, 0, 17, 'd', 'a', 't', 'a', 0, 0, 0, 1, 0, 0, 0, 0, 'T',
	};
	static const uint8_t tail[] = { 0, 0, 0, 0, 'z', 'z', 'z', 'z',
					1, 2, 3, 4 };
	struct craft c;
	struct rec r = { 0 }, r2 = { 0 };
	struct input s;
	struct mf_layout *l = NULL;
	struct io_ctx io;
	char why[128];
	uint8_t *served;
	size_t slen;

	(void)state;
	meta_tail = tail;
	meta_tail_len = sizeof(tail);
	craft_file(&c, "soun", 1, 0, ilst, sizeof(ilst));
	meta_tail = NULL;
	assert_int_equal(probe_craft(&c, &r, why, sizeof(why)), 0);
	assert_int_equal(r.ntags, 1);
	input_from(&s, &r, c.n);
	assert_int_equal(mf_mp4_synth(&s.in, &l), 0);
	io = (struct io_ctx){ .r = &r, .backing = c.b, .backing_len = c.n };
	served = serve(l, &io, &slen);
	assert_int_equal(probe_bytes(served, slen, &r2, why, sizeof(why)), 0);
	same_items(r.tags, r.ntags, r2.tags, r2.ntags);
	assert_int_equal(r2.len, r.len);
	assert_memory_equal(served + r2.off, c.b + r.off, r.len);
	/* the kept box now has its size written out */
	assert_non_null(memmem(served, slen, "\0\0\0\14zzzz", 8));
	free(served);
	mf_layout_free(l);
	rec_free(&r2);
	rec_free(&r);
}

/* ---- hostile mutations of a real file ---- */

static void probe_and_synth(const uint8_t *buf, size_t len)
{
	struct rec r = { 0 };
	char why[128];
	int ret = probe_bytes(buf, len, &r, why, sizeof(why));

	assert_true(ret <= 0);
	if (ret == 0) {
		struct input s;
		struct mf_layout *l = NULL;

		input_from(&s, &r, len);
		ret = mf_mp4_synth(&s.in, &l);
		assert_true(ret == 0 || ret == -EIO);
		if (l) {
			struct io_ctx io = { .r = &r, .backing = buf,
					     .backing_len = len };
			size_t n;
			uint8_t *out = serve(l, &io, &n);

			free(out);
			mf_layout_free(l);
		}
	} else {
		assert_true(why[0] != '\0');
	}
	rec_free(&r);
}

static void test_truncated(void **state)
{
	size_t len;
	uint8_t *buf = load(1, &len);

	(void)state;
	for (size_t n = 0; n < len; n += n < 4096 ? 1 : 211) {
		uint8_t *copy = dup_mem(buf, n);

		probe_and_synth(copy, n);
		free(copy);
	}
	free(buf);
}

static void test_mutated(void **state)
{
	size_t len;
	uint8_t *buf = load(1, &len);
	unsigned seed = 12345;

	(void)state;
	for (int i = 0; i < 1500; i++) {
		uint8_t *copy = dup_mem(buf, len);
		int flips = 1 + i % 4;

		for (int k = 0; k < flips; k++) {
			size_t at;

			seed = seed * 1103515245u + 12345u;
			at = (seed >> 8) % 4096;	/* ftyp and moov */
			seed = seed * 1103515245u + 12345u;
			copy[at] = (uint8_t)(i % 3 == 0 ? 0xff : seed >> 16);
		}
		probe_and_synth(copy, len);
		free(copy);
	}
	free(buf);
}

static void test_not_regular(void **state)
{
	int fd = open("/", O_RDONLY | O_DIRECTORY);
	char why[64];

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(mf_mp4_probe(MF_PROBE_SRC_FD(fd), NULL, why, sizeof(why)), -EINVAL);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_probe_real),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_synth_edits),
		cmocka_unit_test(test_synth_refuses),
		cmocka_unit_test(test_crafted),
		cmocka_unit_test(test_co64),
		cmocka_unit_test(test_size0_box),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_mutated),
		cmocka_unit_test(test_not_regular),
	};

	mf_log_init("test_mp4", MF_LOG_ERROR);
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
