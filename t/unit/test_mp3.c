/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for mf_mp3: probe MP3 files made at test time by lame (CBR
 * and VBR) and tagged by mutagen (ID3v2.3 and 2.4, APIC, PRIV, ID3v1,
 * APEv2); synthesize from what the probe reported and re-probe the served
 * bytes; refuse files that are not MPEG audio; survive truncated and
 * mutated files (run under ASan with SANITIZE=1).
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
#include "mf_id3.h"
#include "mf_layout.h"
#include "mf_log.h"
#include "mf_mp3.h"
#include "mf_sink.h"

#include "lib-unit.h"

#include "mf_banned.h"

#define REC_MAX 256

struct rec {
	int nrange;
	uint64_t off, len;
	struct mf_synth_tag tags[REC_MAX];	/* strings owned */
	size_t ntags;
	struct mf_synth_bin bins[REC_MAX];	/* key owned */
	uint8_t *bin_data[REC_MAX];
	size_t nbins;
	struct mf_synth_pic pics[REC_MAX];	/* strings owned */
	uint8_t *pic_data[REC_MAX];
	size_t npics;
	int nprops;
	struct mf_audio_props props;
};

static char *dup_str(const char *s, size_t n)
{
	char *d = malloc(n + 1);

	assert_non_null(d);
	memcpy(d, s, n);
	d[n] = 0;
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

	if (r->ntags == REC_MAX)
		return -ENOSPC;
	assert_null(memchr(value, 0, len));
	r->tags[r->ntags].key = dup_str(key, strlen(key));
	r->tags[r->ntags].value = dup_str(value, len);
	r->ntags++;
	return 0;
}

static int rec_bin(void *ctx, const char *key, const void *data, size_t len)
{
	struct rec *r = ctx;
	size_t i = r->nbins;

	if (i == REC_MAX)
		return -ENOSPC;
	r->bins[i].key = dup_str(key, strlen(key));
	r->bin_data[i] = (uint8_t *)dup_str(data, len);
	r->bins[i].len = len;
	r->bins[i].ref.kind = MF_BLOB_TAG;
	r->bins[i].ref.rowid = (int64_t)i;
	r->nbins++;
	return 0;
}

static int rec_pic(void *ctx, const struct mf_picture *pic)
{
	struct rec *r = ctx;
	size_t i = r->npics;

	if (i == REC_MAX)
		return -ENOSPC;
	r->pics[i].type = pic->type;
	r->pics[i].mime = dup_str(pic->mime, strlen(pic->mime));
	r->pics[i].desc = dup_str(pic->desc, strlen(pic->desc));
	r->pics[i].width = pic->width;
	r->pics[i].height = pic->height;
	r->pics[i].depth = pic->depth;
	r->pics[i].len = pic->len;
	r->pics[i].ref.kind = MF_BLOB_ART;
	r->pics[i].ref.rowid = (int64_t)i;
	r->pic_data[i] = (uint8_t *)dup_str((const char *)pic->data, pic->len);
	r->npics++;
	return 0;
}

static int rec_props(void *ctx, const struct mf_audio_props *p)
{
	struct rec *r = ctx;

	r->nprops++;
	r->props = *p;
	return 0;
}

static void rec_free(struct rec *r)
{
	for (size_t i = 0; i < r->ntags; i++) {
		free((char *)r->tags[i].key);
		free((char *)r->tags[i].value);
	}
	for (size_t i = 0; i < r->nbins; i++) {
		free((char *)r->bins[i].key);
		free(r->bin_data[i]);
	}
	for (size_t i = 0; i < r->npics; i++) {
		free((char *)r->pics[i].mime);
		free((char *)r->pics[i].desc);
		free(r->pic_data[i]);
	}
	memset(r, 0, sizeof(*r));
}

static int probe_fd(int fd, struct rec *r, char *why, size_t whylen)
{
	const struct mf_sink s = {
		.ctx = r,
		.on_audio_range = rec_range,
		.on_tag = rec_tag,
		.on_binary_tag = rec_bin,
		.on_picture = rec_pic,
		.on_props = rec_props,
	};

	memset(r, 0, sizeof(*r));
	return mf_mp3_probe(MF_PROBE_SRC_FD(fd), &s, why, whylen);
}

static int probe_path(const char *path, struct rec *r)
{
	char why[128];
	int fd = open(path, O_RDONLY), ret;

	assert_true(fd >= 0);
	ret = probe_fd(fd, r, why, sizeof(why));
	if (ret)
		print_message("# %s: %s\n", path, why);
	close(fd);
	return ret;
}

static int probe_bytes(const uint8_t *buf, size_t len, struct rec *r,
		       char *why, size_t whylen)
{
	int fd = lu_mem_fd(buf, len), ret;

	ret = probe_fd(fd, r, why, whylen);
	close(fd);
	return ret;
}

static const char *find_tag(const struct rec *r, const char *key)
{
	for (size_t i = 0; i < r->ntags; i++)
		if (strcmp(r->tags[i].key, key) == 0)
			return r->tags[i].value;
	return NULL;
}

/* ---- fixtures ---- */

static char dir[64];
static char cbr[128], vbr[128], v23[128], v24[128], tail[128];
static bool have_tools;

static int run(const char *cmd)
{
	int ret = lu_run("%s", cmd);

	if (ret != 0)
		print_message("# command failed (%d): %s\n", ret, cmd);
	return ret;
}

static int group_setup(void **state)
{
	char cmd[2048];

	(void)state;
	if (lu_tmpdir(dir, sizeof(dir), "mp3"))
		return -1;
	snprintf(cbr, sizeof(cbr), "%s/cbr.mp3", dir);
	snprintf(vbr, sizeof(vbr), "%s/vbr.mp3", dir);
	snprintf(v23, sizeof(v23), "%s/v23.mp3", dir);
	snprintf(v24, sizeof(v24), "%s/v24.mp3", dir);
	snprintf(tail, sizeof(tail), "%s/tail.mp3", dir);
	have_tools = system("command -v sox lame >/dev/null && "
			    "/usr/bin/python3 -c 'import mutagen' 2>/dev/null") == 0;
	if (!have_tools)
		return 0;
	snprintf(cmd, sizeof(cmd),
		 "cd %s && sox -n -r 44100 -c 2 -b 16 s.wav synth 1 sine 440 && "
		 "lame --quiet -b 128 s.wav cbr.mp3 && "
		 "lame --quiet -V 4 s.wav vbr.mp3 && cp cbr.mp3 v23.mp3 && "
		 "cp vbr.mp3 v24.mp3 && cp cbr.mp3 tail.mp3 && "
		 "printf '\\211PNG\\r\\n\\032\\n\\000\\000\\000\\rIHDR"
		 "\\000\\000\\000\\003\\000\\000\\000\\002\\010\\002\\000\\000\\000"
		 "\\377\\000\\377\\000' >art.png", dir);
	if (run(cmd))
		return -1;
	snprintf(cmd, sizeof(cmd),
		 "cd %s && /usr/bin/python3 - <<'EOF'\n"
		 "from mutagen.id3 import ID3, TIT2, TPE1, TALB, TRCK, TDRC, TCON, TXXX, COMM, PRIV, APIC\n"
		 "from mutagen.apev2 import APEv2\n"
		 "art = open('art.png', 'rb').read()\n"
		 "for name, ver in (('v23.mp3', 3), ('v24.mp3', 4)):\n"
		 "    t = ID3()\n"
		 "    t.add(TIT2(encoding=1, text=['Tïtle %%d' %% ver]))\n"
		 "    t.add(TPE1(encoding=3, text=['A', 'B']))\n"
		 "    t.add(TALB(encoding=0, text=['Album']))\n"
		 "    t.add(TRCK(encoding=0, text=['2/10']))\n"
		 "    t.add(TDRC(encoding=0, text=['2003-04-05']))\n"
		 "    t.add(TCON(encoding=0, text=['(13)']))\n"
		 "    t.add(TXXX(encoding=1, desc='MusicBrainz Album Id', text=['mb-1']))\n"
		 "    t.add(COMM(encoding=1, lang='eng', desc='', text=['hi']))\n"
		 "    t.add(PRIV(owner='x@y', data=b'\\x00\\xff\\x01'))\n"
		 "    t.add(APIC(encoding=1, mime='image/png', type=3, desc='Frönt', data=art))\n"
		 "    t.save(name, v2_version=ver)\n"
		 "a = APEv2()\n"
		 "a['Title'] = 'ape'\n"
		 "a.save('tail.mp3')\n"
		 "t = ID3()\n"
		 "t.add(TIT2(encoding=3, text=['front']))\n"
		 "t.save('tail.mp3', v1=2)\n"
		 "EOF", dir);
	return run(cmd) ? -1 : 0;
}

static int group_teardown(void **state)
{
	(void)state;
	return lu_tmpdir_remove(dir);
}

/* Offset of the first MPEG frame of a file: after its ID3v2 tags. */
static uint64_t tags_end(const uint8_t *buf, size_t len)
{
	uint64_t pos = 0, total;

	while (pos + 10 <= len && mf_id3_tag_size(buf + pos, &total) == 0)
		pos += total;
	return pos;
}

/* ---- tests ---- */

static void test_probe_plain(void **state)
{
	struct rec r;
	size_t len;
	uint8_t *buf;

	(void)state;
	if (!have_tools)
		skip();
	buf = lu_slurp(cbr, &len);
	assert_int_equal(probe_path(cbr, &r), 0);
	assert_int_equal(r.nrange, 1);
	assert_int_equal(r.off, 0);
	assert_int_equal(r.len, len);
	assert_int_equal(r.ntags + r.nbins + r.npics, 0);
	assert_int_equal(r.nprops, 1);
	assert_int_equal(r.props.sample_rate, 44100);
	assert_int_equal(r.props.channels, 2);
	/* the LAME tag gives the exact length: 1 s */
	assert_int_equal(r.props.total_samples, 44100);
	assert_int_equal(r.props.duration_ms, 1000);
	assert_true(r.props.bitrate_kbps >= 125 && r.props.bitrate_kbps <= 140);
	rec_free(&r);
	free(buf);

	assert_int_equal(probe_path(vbr, &r), 0);
	assert_int_equal(r.off, 0);
	assert_int_equal(r.props.duration_ms, 1000);
	assert_true(r.props.bitrate_kbps > 0 && r.props.bitrate_kbps < 128);
	rec_free(&r);
}

static void check_tagged(const struct rec *r, int ver)
{
	char title[32];

	snprintf(title, sizeof(title), "Tïtle %d", ver);
	assert_string_equal(find_tag(r, "title"), title);
	assert_string_equal(find_tag(r, "album"), "Album");
	assert_string_equal(find_tag(r, "tracknumber"), "2");
	assert_string_equal(find_tag(r, "totaltracks"), "10");
	assert_string_equal(find_tag(r, "date"), "2003-04-05");
	assert_string_equal(find_tag(r, "genre"), "Pop");
	assert_string_equal(find_tag(r, "musicbrainz_albumid"), "mb-1");
	assert_string_equal(find_tag(r, "comment"), "hi");
	assert_int_equal(r->nbins, 1);
	assert_string_equal(r->bins[0].key, "id3:priv");
	assert_int_equal(r->bins[0].len, 7);
	assert_memory_equal(r->bin_data[0], "x@y\0\0\xff\x01", 7);
	assert_int_equal(r->npics, 1);
	assert_string_equal(r->pics[0].mime, "image/png");
	assert_string_equal(r->pics[0].desc, "Frönt");
	assert_int_equal(r->pics[0].type, 3);
	assert_int_equal(r->pics[0].width, 3);
	assert_int_equal(r->pics[0].height, 2);
	assert_int_equal(r->pics[0].depth, 24);
}

static void test_probe_tagged(void **state)
{
	struct rec r;
	size_t len;
	uint8_t *buf;
	const char *a1, *a2;

	(void)state;
	if (!have_tools)
		skip();
	for (int ver = 3; ver <= 4; ver++) {
		const char *path = ver == 3 ? v23 : v24;

		buf = lu_slurp(path, &len);
		assert_int_equal(probe_path(path, &r), 0);
		assert_int_equal(r.off, tags_end(buf, len));
		assert_true(r.off > 100);
		assert_int_equal(r.off + r.len, len);
		check_tagged(&r, ver);
		/* mutagen writes 2.3 multi-values joined with '/' */
		a1 = r.tags[0].value;
		a2 = NULL;
		for (size_t i = 0, n = 0; i < r.ntags; i++) {
			if (strcmp(r.tags[i].key, "artist"))
				continue;
			if (n++ == 0)
				a1 = r.tags[i].value;
			else
				a2 = r.tags[i].value;
		}
		if (ver == 4) {
			assert_string_equal(a1, "A");
			assert_string_equal(a2, "B");
		} else {
			assert_string_equal(a1, "A/B");
			assert_null(a2);
		}
		rec_free(&r);
		free(buf);
	}
}

static void test_probe_tail(void **state)
{
	struct rec r;
	size_t len, plain_len;
	uint8_t *buf, *plain;

	(void)state;
	if (!have_tools)
		skip();
	buf = lu_slurp(tail, &len);
	plain = lu_slurp(cbr, &plain_len);
	assert_memory_equal(buf + len - 128, "TAG", 3);
	assert_int_equal(probe_path(tail, &r), 0);
	/* the audio is exactly the untagged file: APEv2 and ID3v1 peeled */
	assert_int_equal(r.len, plain_len);
	assert_memory_equal(buf + r.off, plain, plain_len);
	/* the ID3v2 title wins over ID3v1's; nothing else in ID3v1 */
	assert_string_equal(find_tag(&r, "title"), "front");
	assert_int_equal(r.ntags, 1);
	rec_free(&r);
	free(buf);
	free(plain);
}

/*
 * Two ID3v1 tags appended (a known tagger bug): both are peeled off the
 * audio, the last one is read. With only one peeled, the served file
 * ended in the other and probed again shorter (found by fuzz_roundtrip).
 */
static void test_probe_two_v1(void **state)
{
	struct rec r;
	size_t plain_len;
	uint8_t *plain, *buf;
	uint8_t v1[2][MF_ID3V1_LEN] = { { 'T', 'A', 'G' }, { 'T', 'A', 'G' } };
	char why[128];

	(void)state;
	if (!have_tools)
		skip();
	plain = lu_slurp(cbr, &plain_len);
	memcpy(v1[0] + 3, "first", 5);
	memcpy(v1[1] + 3, "last", 4);
	buf = malloc(plain_len + sizeof(v1));
	assert_non_null(buf);
	memcpy(buf, plain, plain_len);
	memcpy(buf + plain_len, v1, sizeof(v1));
	assert_int_equal(probe_bytes(buf, plain_len + sizeof(v1), &r, why,
				     sizeof(why)), 0);
	assert_int_equal(r.off, 0);
	assert_int_equal(r.len, plain_len);
	assert_string_equal(find_tag(&r, "title"), "last");
	rec_free(&r);
	free(buf);
	free(plain);
}

/* Serve the layout built from @r with the backing file @path. */
struct io_ctx {
	const struct rec *r;
	int fd;
};

static int io_blob(void *ctx, const struct mf_blob_ref *ref, uint64_t off,
		   void *buf, size_t len)
{
	const struct io_ctx *c = ctx;
	const uint8_t *src = ref->kind == MF_BLOB_ART ?
		c->r->pic_data[ref->rowid] : c->r->bin_data[ref->rowid];

	memcpy(buf, src + off, len);
	return 0;
}

static int io_backing(void *ctx, uint64_t off, void *buf, size_t len)
{
	const struct io_ctx *c = ctx;

	return pread(c->fd, buf, len, (off_t)off) == (ssize_t)len ? 0 : -EIO;
}

static void test_round_trip(void **state)
{
	const struct mf_synth_opts opts[2] = { { 0 }, { 3 } };
	struct rec r, back;
	struct mf_layout *l;
	size_t len;
	uint8_t *orig, *served;
	char why[128];

	(void)state;
	if (!have_tools)
		skip();
	for (int k = 0; k < 2; k++) {
		struct io_ctx c;
		struct mf_layout_io io;
		struct mf_synth_input in;
		uint64_t size;
		int fd;

		orig = lu_slurp(v24, &len);
		assert_int_equal(probe_path(v24, &r), 0);
		memset(&in, 0, sizeof(in));
		in.format = "mp3";
		in.tags = r.tags;
		in.ntags = r.ntags;
		in.pics = r.pics;
		in.npics = r.npics;
		in.bins = r.bins;
		in.nbins = r.nbins;
		in.audio_offset = r.off;
		in.audio_length = r.len;
		in.backing_size = len;
		in.opts = &opts[k];
		assert_int_equal(mf_format_get("mp3")->synth(&in, &l), 0);
		size = mf_layout_size(l);
		served = malloc((size_t)size);
		assert_non_null(served);
		fd = open(v24, O_RDONLY);
		assert_true(fd >= 0);
		c.r = &r;
		c.fd = fd;
		io.ctx = &c;
		io.read_blob = io_blob;
		io.read_backing = io_backing;
		assert_int_equal(mf_layout_read_at(l, 0, served, (size_t)size, &io),
				 (ssize_t)size);
		close(fd);
		assert_int_equal(served[3], k ? 3 : 4);
		/* audio verbatim at the end */
		assert_memory_equal(served + size - r.len, orig + r.off, r.len);
		assert_int_equal(probe_bytes(served, (size_t)size, &back, why,
					     sizeof(why)), 0);
		assert_int_equal(back.off, size - r.len);
		assert_int_equal(back.len, r.len);
		check_tagged(&back, 4);
		if (k == 0)
			assert_int_equal(back.ntags, r.ntags);
		assert_int_equal(back.props.duration_ms, r.props.duration_ms);
		rec_free(&back);
		rec_free(&r);
		mf_layout_free(l);
		free(served);
		free(orig);
	}
}

static void test_not_mp3(void **state)
{
	uint8_t buf[8192];
	struct rec r;
	char why[128];
	uint32_t s = 7;
	int fds[2];

	(void)state;
	for (size_t i = 0; i < sizeof(buf); i++) {
		s = s * 1103515245u + 12345u;
		buf[i] = (uint8_t)(s >> 16);
	}
	assert_int_equal(probe_bytes(buf, sizeof(buf), &r, why, sizeof(why)),
			 -EINVAL);
	assert_string_equal(why, "no mpeg audio frames");
	assert_int_equal(r.nrange, 0);
	assert_int_equal(probe_bytes(buf, 0, &r, why, sizeof(why)), -EINVAL);
	memcpy(buf, "fLaC\0\0\0\x22", 8);
	assert_int_equal(probe_bytes(buf, 300, &r, why, sizeof(why)), -EINVAL);
	assert_string_equal(why, "not an mp3 file");
	/* a valid ID3v2 tag followed by garbage */
	memcpy(buf, "ID3\4\0\0\0\0\0\x10", 10);
	memset(buf + 10, 0, 16);
	assert_int_equal(probe_bytes(buf, 4000, &r, why, sizeof(why)), -EINVAL);
	assert_string_equal(why, "no mpeg audio frames after the id3v2 tag");
	/* a tag whose size points past the end of the file */
	memcpy(buf, "ID3\3\0\0\0\x7f\x7f\x7f", 10);
	assert_int_equal(probe_bytes(buf, 4000, &r, why, sizeof(why)), -EBADMSG);
	assert_non_null(strstr(why, "past end of file"));
	/* a malformed ID3v2 header */
	memcpy(buf, "ID3\3\0\0\x80\0\0\0", 10);
	assert_int_equal(probe_bytes(buf, 4000, &r, why, sizeof(why)), -EBADMSG);
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(mf_mp3_probe(MF_PROBE_SRC_FD(fds[0]), NULL, why, sizeof(why)), -EINVAL);
	close(fds[0]);
	close(fds[1]);
}

static void test_hostile(void **state)
{
	struct rec r;
	size_t len, k, i;
	uint8_t *orig, *buf;
	struct lu_prefix p;
	char why[128];
	uint32_t s = 99;
	int ret;

	(void)state;
	if (!have_tools)
		skip();
	orig = lu_slurp(v23, &len);
	buf = malloc(len);
	assert_non_null(buf);
	/* truncations through the tag and the first frames */
	lu_prefix_open(&p, orig, len);
	for (k = 0; k < len && k < 6000; k += 7) {
		ret = probe_fd(lu_prefix_cut(&p, k), &r, why, sizeof(why));
		assert_true(ret == 0 || ret == -EINVAL || ret == -EBADMSG);
		assert_true(why[0] || ret == 0);
		if (ret == 0)
			assert_true(r.off + r.len <= k);
		rec_free(&r);
	}
	lu_prefix_close(&p);
	/* mutations in the first 4 KiB (tag, APIC, first frames) */
	for (k = 0; k < 1500; k++) {
		memcpy(buf, orig, len);
		for (i = 0; i < 1 + k % 6; i++) {
			s = s * 1103515245u + 12345u;
			buf[(s >> 8) % 4096] = (uint8_t)(s >> 20);
		}
		ret = probe_bytes(buf, len, &r, why, sizeof(why));
		assert_true(ret == 0 || ret == -EINVAL || ret == -EBADMSG ||
			    ret == -ENOSPC);
		if (ret == 0)
			assert_true(r.off + r.len <= len);
		rec_free(&r);
	}
	free(buf);
	free(orig);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_probe_plain),
		cmocka_unit_test(test_probe_tagged),
		cmocka_unit_test(test_probe_tail),
		cmocka_unit_test(test_probe_two_v1),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_not_mp3),
		cmocka_unit_test(test_hostile),
	};

	mf_log_init("test_mp3", MF_LOG_ERROR);
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
