/* SPDX-License-Identifier: MIT */
/*
 * test_enomem - ENOMEM at every libcore allocation in turn, through a
 * link-time seam: the binary is linked with
 * -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup and
 * t/unit/fault_alloc.c, so every call from libcore.a (and this file) goes
 * through __wrap_*; calls made inside shared libraries (SQLite, libFLAC)
 * are not counted.
 *
 * For each operation, for N = 0, 1, ... the Nth allocation fails; the
 * operation must return -ENOMEM (or succeed, when the failed allocation
 * was optional) and free what it took (ASan's leak check under
 * SANITIZE=1), until N passes the number of allocations a successful run
 * makes. TAP: one line per operation with that number.
 *
 * Usage: test_enomem DIR FILE.flac FILE.mp3 FILE.ogg FILE.m4a FILE.wav
 * (the fixtures made by t/0207-enomem.t); DIR is for the store.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "mf_format.h"
#include "mf_layout.h"
#include "mf_log.h"
#include "mf_sink.h"
#include "mf_store.h"
#include "mf_template.h"
#include "mf_track.h"

#include "fault_alloc.h"

static int failures;
static int tests;

/* Run @op with the Nth allocation failing for N = 0.. until a run sees
 * no injected failure; print one TAP line. */
static void exercise(const char *name, int (*op)(void *), void *ctx)
{
	long n;
	int ret = 0;
	bool bad = false;

	for (n = 0; n < 100000; n++) {
		fault_injected = false;
		fail_countdown = n;
		ret = op(ctx);
		fail_countdown = -1;
		if (!fault_injected)
			break;
		if (ret != 0 && ret != -ENOMEM) {
			printf("# %s: allocation %ld failed: returned %d (%s), "
			       "want -ENOMEM\n", name, n + 1, ret,
			       strerror(-ret));
			bad = true;
		}
	}
	if (ret != 0) {
		printf("# %s: without a failure: returned %d\n", name, ret);
		bad = true;
	}
	tests++;
	if (bad || n == 0)
		failures++;
	printf("%s %d - %s: ENOMEM at each of %ld allocation sites%s\n",
	       bad || n == 0 ? "not ok" : "ok", tests, name, n,
	       n == 0 ? " (none: the seam is not working)" : "");
	fflush(stdout);
}

/* ---- probing ---- */

/* What the probe of the FLAC fixture reports, for the store row. */
struct collect {
	uint64_t off, len;
	uint8_t streaminfo[34];
	bool have_streaminfo;
};

static int c_range(void *ctx, uint64_t offset, uint64_t length)
{
	struct collect *c = ctx;

	if (c) {
		c->off = offset;
		c->len = length;
	}
	return 0;
}

static int c_tag(void *ctx, const char *key, const char *value, size_t len)
{
	(void)ctx, (void)key, (void)value, (void)len;
	return 0;
}

static int c_bin(void *ctx, const char *key, const void *data, size_t len)
{
	(void)ctx, (void)key, (void)data, (void)len;
	return 0;
}

static int c_pic(void *ctx, const struct mf_picture *pic)
{
	(void)ctx, (void)pic;
	return 0;
}

static int c_struct(void *ctx, const char *kind, const void *data, size_t len)
{
	struct collect *c = ctx;

	if (c && !strcmp(kind, "streaminfo") && len == sizeof(c->streaminfo)) {
		memcpy(c->streaminfo, data, len);
		c->have_streaminfo = true;
	}
	return 0;
}

static int c_format(void *ctx, const char *format)
{
	(void)ctx, (void)format;
	return 0;
}

static int c_props(void *ctx, const struct mf_audio_props *props)
{
	(void)ctx, (void)props;
	return 0;
}

static int probe_file(const char *path, struct collect *c)
{
	struct mf_sink sink = {
		.ctx = c, .on_audio_range = c_range, .on_tag = c_tag,
		.on_binary_tag = c_bin, .on_picture = c_pic,
		.on_structural = c_struct, .on_format = c_format,
		.on_props = c_props,
	};
	const char *format = NULL;
	mf_probe_fn probe = mf_format_prober(path, &format);
	char why[128];
	int fd, ret;

	if (!probe)
		return -ENOTSUP;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = probe(MF_PROBE_SRC_FD(fd), &sink, why, sizeof(why));
	close(fd);
	return ret;
}

static int op_probe(void *ctx)
{
	return probe_file(ctx, NULL);
}

/* ---- template ---- */

static const char *tpl_get(void *ctx, const char *field)
{
	(void)ctx;
	if (!strcmp(field, "artist"))
		return "Some Artist";
	if (!strcmp(field, "title"))
		return "A Title/With Slash";
	return NULL;
}

static int op_template(void *ctx)
{
	static const struct mf_template_fallback fb[] = {
		{ "genre", "Unknown" },
	};
	struct mf_template_opts opts = { .fallbacks = fb, .nfallbacks = 1 };
	struct mf_template *t = NULL;
	char err[128], *out = NULL;
	int ret;

	(void)ctx;
	ret = mf_template_parse("${albumartist|artist}/[$album/][$genre - ]"
				"[$year ]$!{title} $title", &t, err, sizeof(err));
	if (ret < 0)
		return ret;
	ret = mf_template_render(t, &opts, tpl_get, NULL, "flac", &out);
	free(out);
	mf_template_free(t);
	return ret;
}

/* ---- store ---- */

static char store_path[4096];

static int sql(sqlite3 *db, const char *text)
{
	char *msg = NULL;

	if (sqlite3_exec(db, text, NULL, NULL, &msg) != SQLITE_OK) {
		printf("# %s: %s\n", text, msg ? msg : "?");
		sqlite3_free(msg);
		return -EIO;
	}
	return 0;
}

/* A store with track 1: the FLAC fixture with its STREAMINFO, tags and a
 * picture. */
static int make_store(const char *dir, const char *flac)
{
	static const uint8_t img[] = { 0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 'J',
				       'F', 'I', 'F', 0, 1, 0xff, 0xd9 };
	struct collect c = { 0 };
	struct mf_store *s = NULL;
	sqlite3_stmt *st = NULL;
	struct stat sb;
	char err[256];
	int ret;

	ret = probe_file(flac, &c);
	if (ret < 0 || !c.have_streaminfo || stat(flac, &sb) < 0)
		return ret < 0 ? ret : -EIO;
	snprintf(store_path, sizeof(store_path), "%s/enomem.db", dir);
	ret = mf_store_open(store_path, MF_STORE_CREATE, &s, err, sizeof(err));
	if (ret < 0) {
		printf("# %s\n", err);
		return ret;
	}
	ret = -EIO;
	if (sqlite3_prepare_v2(mf_store_db(s),
		"INSERT INTO tracks (id, backing_path, format, audio_offset, "
		"audio_length, backing_size, backing_mtime_ns, backing_ctime_ns)"
		" VALUES (1, ?1, 'flac', ?2, ?3, ?4, 1, 2)", -1, &st,
		NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_text(st, 1, flac, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)c.off);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)c.len);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)sb.st_size);
	if (sqlite3_step(st) != SQLITE_DONE)
		goto out;
	sqlite3_finalize(st);
	if (sqlite3_prepare_v2(mf_store_db(s),
		"INSERT INTO structural_blocks (track_id, kind, body) "
		"VALUES (1, 'STREAMINFO', ?1)", -1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_blob(st, 1, c.streaminfo, sizeof(c.streaminfo),
			  SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE)
		goto out;
	sqlite3_finalize(st);
	if (sqlite3_prepare_v2(mf_store_db(s),
		"INSERT INTO art (id, sha256, mime, width, height, byte_len, data)"
		" VALUES (1, hex(randomblob(32)), 'image/jpeg', 1, 1, ?2, ?1)",
		-1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_blob(st, 1, img, sizeof(img), SQLITE_STATIC);
	sqlite3_bind_int(st, 2, (int)sizeof(img));
	if (sqlite3_step(st) != SQLITE_DONE)
		goto out;
	ret = sql(mf_store_db(s),
		  "INSERT INTO tags (track_id, key, value, ordinal) VALUES "
		  "(1, 'title', 'T', 0), (1, 'artist', 'A', 0), "
		  "(1, 'artist', 'B', 1), (1, 'album', 'Al', 0);"
		  "INSERT INTO track_art (track_id, art_id, picture_type) "
		  "VALUES (1, 1, 3)");
out:
	if (ret == -EIO && st)
		printf("# make_store: %s\n", sqlite3_errmsg(mf_store_db(s)));
	sqlite3_finalize(st);
	mf_store_close(s);
	return ret;
}

/* Open the store, load track 1, synthesize its served FLAC header. */
static int op_store(void *ctx)
{
	struct mf_store *s = NULL;
	struct mf_track *t = NULL;
	struct mf_layout *l = NULL;
	char err[256];
	int ret;

	(void)ctx;
	ret = mf_store_open(store_path, 0, &s, err, sizeof(err));
	if (ret < 0)
		return ret;
	ret = mf_track_load(s, 1, &t);
	if (ret < 0)
		goto out;
	ret = mf_track_layout(t, MF_SERVE_SYNTHESIS, NULL, &l);
out:
	mf_layout_free(l);
	mf_track_free(t);
	mf_store_close(s);
	return ret;
}

int main(int argc, char **argv)
{
	static const char *const names[] = {
		"probe FLAC", "probe MP3 with ID3v2", "probe Ogg Vorbis",
		"probe MP4", "probe WAV",
	};

	if (argc != 7) {
		fprintf(stderr, "usage: %s DIR FLAC MP3 OGG M4A WAV\n", argv[0]);
		return 2;
	}
	mf_log_init("test_enomem", MF_LOG_ERROR);
	printf("1..7\n");
	for (int i = 0; i < 5; i++)
		exercise(names[i], op_probe, argv[i + 2]);
	exercise("template parse and render", op_template, NULL);
	if (make_store(argv[1], argv[2]) < 0) {
		printf("not ok 7 - store open, track load, synthesis: "
		       "cannot make the store\n");
		return 1;
	}
	exercise("store open, track load, FLAC synthesis", op_store, NULL);
	return failures ? 1 : 0;
}
