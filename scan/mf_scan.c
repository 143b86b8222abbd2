/* SPDX-License-Identifier: MIT */
/*
 * mf_scan - walker, probe and batched writer of musefs-scan.
 *
 * Divisions, in order: stamp map; probe results (the mf_sink); store
 * writer; walker; mf_scan_run().
 */
#include "mf_scan.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "mf_array.h"
#include "mf_format.h"
#include "mf_log.h"
#include "mf_sink.h"
#include "mf_banned.h"

#define SCAN_MAX_DEPTH 128

/*---- stamp map: path -> stored stamp ---------------------------------*/

struct stamp {
	char *path;		/* owned; NULL = empty slot */
	int64_t id;		/* tracks.id, or 0 for a known failure */
	int64_t size;
	int64_t mtime_ns;
	int64_t ctime_ns;
	char *reason;		/* known failures: the stored reason */
};

struct stamp_map {
	struct stamp *slots;
	size_t cap;		/* power of two */
	size_t count;
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;	/* FNV-1a */

	while (*s) {
		h ^= (unsigned char)*s++;
		h *= 1099511628211ull;
	}
	return h;
}

static int stamp_map_grow(struct stamp_map *m)
{
	size_t ncap = m->cap ? m->cap * 2 : 1024, i;
	struct stamp *ns = calloc(ncap, sizeof(*ns));

	if (!ns)
		return -ENOMEM;
	for (i = 0; i < m->cap; i++) {
		size_t j;

		if (!m->slots[i].path)
			continue;
		j = hash_str(m->slots[i].path) & (ncap - 1);
		while (ns[j].path)
			j = (j + 1) & (ncap - 1);
		ns[j] = m->slots[i];
	}
	free(m->slots);
	m->slots = ns;
	m->cap = ncap;
	return 0;
}

static struct stamp *stamp_map_get(const struct stamp_map *m, const char *path)
{
	size_t j;

	if (!m->cap)
		return NULL;
	j = hash_str(path) & (m->cap - 1);
	while (m->slots[j].path) {
		if (strcmp(m->slots[j].path, path) == 0)
			return &m->slots[j];
		j = (j + 1) & (m->cap - 1);
	}
	return NULL;
}

/* Insert a copy of @e (path and reason are duplicated). */
static int stamp_map_put(struct stamp_map *m, const struct stamp *e)
{
	struct stamp *slot;
	size_t j;
	int ret;

	if ((m->count + 1) * 2 > m->cap) {
		ret = stamp_map_grow(m);
		if (ret < 0)
			return ret;
	}
	j = hash_str(e->path) & (m->cap - 1);
	while (m->slots[j].path) {
		if (strcmp(m->slots[j].path, e->path) == 0)
			return 0;
		j = (j + 1) & (m->cap - 1);
	}
	slot = &m->slots[j];
	*slot = *e;
	slot->path = strdup(e->path);
	slot->reason = e->reason ? strdup(e->reason) : NULL;
	if (!slot->path || (e->reason && !slot->reason)) {
		free(slot->path);
		free(slot->reason);
		slot->path = NULL;
		return -ENOMEM;
	}
	m->count++;
	return 0;
}

static void stamp_map_release(struct stamp_map *m)
{
	for (size_t i = 0; i < m->cap; i++) {
		free(m->slots[i].path);
		free(m->slots[i].reason);
	}
	free(m->slots);
	memset(m, 0, sizeof(*m));
}

static int stamp_map_load(sqlite3 *db, const char *sql, struct stamp_map *m)
{
	sqlite3_stmt *st = NULL;
	int rc, ret = 0;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		mf_err("scan", "cannot load stamps: %s", sqlite3_errmsg(db));
		return -EIO;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct stamp e = {
			.path = (char *)sqlite3_column_text(st, 0),
			.id = sqlite3_column_int64(st, 1),
			.size = sqlite3_column_int64(st, 2),
			.mtime_ns = sqlite3_column_int64(st, 3),
			.ctime_ns = sqlite3_column_int64(st, 4),
			.reason = (char *)sqlite3_column_text(st, 5),
		};

		if (!e.path)
			continue;
		ret = stamp_map_put(m, &e);
		if (ret < 0)
			goto out;
	}
	if (rc != SQLITE_DONE) {
		mf_err("scan", "cannot load stamps: %s", sqlite3_errmsg(db));
		ret = -EIO;
	}
out:
	sqlite3_finalize(st);
	return ret;
}

/*---- probe results: what a prober reports, collected ----------------*/

struct probe_tag {
	char *key;
	char *value;		/* text, NUL-terminated; or binary data */
	size_t len;
	bool binary;
	int ordinal;
};

struct probe_pic {
	uint32_t type, width, height, depth, colors;
	char *mime;
	char *desc;
	uint8_t *data;
	size_t len;
};

struct probe_block {
	char *kind;
	uint8_t *data;
	size_t len;
};

struct probe {
	const char *format;	/* store format; static string */
	bool have_range;
	uint64_t audio_offset, audio_length;
	struct probe_tag *tags;
	size_t ntags, cap_tags;
	struct probe_pic *pics;
	size_t npics, cap_pics;
	struct probe_block *blocks;	/* structural, in report order */
	size_t nblocks, cap_blocks;
	bool have_props;
	struct mf_audio_props props;
	uint64_t bytes;		/* payload bytes reported (approx. read) */
};

#define PROBE_MAX_TAGS 65536
#define PROBE_MAX_PICS 256
#define PROBE_MAX_BLOCKS 4096

static void probe_release(struct probe *p)
{
	size_t i;

	for (i = 0; i < p->ntags; i++) {
		free(p->tags[i].key);
		free(p->tags[i].value);
	}
	for (i = 0; i < p->npics; i++) {
		free(p->pics[i].mime);
		free(p->pics[i].desc);
		free(p->pics[i].data);
	}
	free(p->tags);
	free(p->pics);
	for (i = 0; i < p->nblocks; i++) {
		free(p->blocks[i].kind);
		free(p->blocks[i].data);
	}
	free(p->blocks);
	memset(p, 0, sizeof(*p));
}

static void *memdup0(const void *src, size_t len)
{
	char *d = malloc(len + 1);

	if (!d)
		return NULL;
	if (len)
		memcpy(d, src, len);
	d[len] = '\0';
	return d;
}

static int sink_range(void *ctx, uint64_t off, uint64_t len)
{
	struct probe *p = ctx;

	p->have_range = true;
	p->audio_offset = off;
	p->audio_length = len;
	return 0;
}

static int add_tag(struct probe *p, const char *key, const void *val,
		   size_t len, bool binary)
{
	struct probe_tag *t;
	int ordinal = 0;

	if (p->ntags >= PROBE_MAX_TAGS)
		return -E2BIG;
	for (size_t i = 0; i < p->ntags; i++)
		if (strcmp(p->tags[i].key, key) == 0)
			ordinal++;
	t = mf_array_grow(p->tags, &p->cap_tags, p->ntags + 1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	p->tags = t;
	t = &p->tags[p->ntags];
	t->key = strdup(key);
	t->value = memdup0(val, len);
	if (!t->key || !t->value) {
		free(t->key);
		free(t->value);
		return -ENOMEM;
	}
	t->len = len;
	t->binary = binary;
	t->ordinal = ordinal;
	p->ntags++;
	p->bytes += len;
	return 0;
}

static int sink_tag(void *ctx, const char *key, const char *value, size_t len)
{
	return add_tag(ctx, key, value, len, false);
}

static int sink_binary(void *ctx, const char *key, const void *data,
		       size_t len)
{
	return add_tag(ctx, key, data, len, true);
}

static int sink_picture(void *ctx, const struct mf_picture *pic)
{
	struct probe *p = ctx;
	struct probe_pic *d;

	if (p->npics >= PROBE_MAX_PICS)
		return -E2BIG;
	if (pic->len == 0)
		return 0;	/* an empty image is nothing to serve */
	d = mf_array_grow(p->pics, &p->cap_pics, p->npics + 1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	p->pics = d;
	d = &p->pics[p->npics];
	memset(d, 0, sizeof(*d));
	d->type = pic->type;
	d->width = pic->width;
	d->height = pic->height;
	d->depth = pic->depth;
	d->colors = pic->colors;
	d->len = pic->len;
	d->mime = strdup(pic->mime && *pic->mime ? pic->mime : "image/");
	d->desc = strdup(pic->desc ? pic->desc : "");
	d->data = memdup0(pic->data, pic->len);
	if (!d->mime || !d->desc || !d->data) {
		free(d->mime);
		free(d->desc);
		free(d->data);
		return -ENOMEM;
	}
	p->npics++;
	p->bytes += pic->len;
	return 0;
}

static int sink_structural(void *ctx, const char *kind, const void *data,
			   size_t len)
{
	struct probe *p = ctx;
	struct probe_block *b;

	if (p->nblocks >= PROBE_MAX_BLOCKS || len > MF_STRUCT_MAX)
		return -EFBIG;
	b = mf_array_grow(p->blocks, &p->cap_blocks, p->nblocks + 1,
			  sizeof(*b));
	if (!b)
		return -ENOMEM;
	p->blocks = b;
	b = &p->blocks[p->nblocks];
	b->kind = memdup0(kind, strlen(kind));
	b->data = memdup0(data, len);
	if (!b->kind || !b->data) {
		free(b->kind);
		free(b->data);
		return -ENOMEM;
	}
	b->len = len;
	p->nblocks++;
	p->bytes += len;
	return 0;
}

static int sink_format(void *ctx, const char *format)
{
	struct probe *p = ctx;

	p->format = format;
	return 0;
}

static bool probe_has_block(const struct probe *p, const char *kind)
{
	for (size_t i = 0; i < p->nblocks; i++)
		if (strcmp(p->blocks[i].kind, kind) == 0)
			return true;
	return false;
}

static int sink_props(void *ctx, const struct mf_audio_props *props)
{
	struct probe *p = ctx;

	p->props = *props;
	p->have_props = true;
	return 0;
}

/*---- store writer ----------------------------------------------------*/

enum {
	SQL_INSERT_TRACK,
	SQL_UPDATE_TRACK,
	SQL_INSERT_TAG,
	SQL_FIND_ART,
	SQL_INSERT_ART,
	SQL_INSERT_TRACK_ART,
	SQL_INSERT_ART_PROPS,
	SQL_DELETE_STRUCT,
	SQL_INSERT_STRUCT,
	SQL_DELETE_FBLOCKS,
	SQL_INSERT_FBLOCK,
	SQL_UPSERT_PROPS,
	SQL_UPSERT_FAILURE,
	SQL_DELETE_FAILURE,
	SQL_COUNT
};

static const char *const writer_sql[SQL_COUNT] = {
	[SQL_INSERT_TRACK] =
		"INSERT INTO tracks (backing_path, format, audio_offset, "
		"audio_length, backing_size, backing_mtime_ns, backing_ctime_ns) "
		"VALUES (?, ?, ?, ?, ?, ?, ?)",
	[SQL_UPDATE_TRACK] =
		"UPDATE tracks SET format = ?2, audio_offset = ?3, "
		"audio_length = ?4, backing_size = ?5, backing_mtime_ns = ?6, "
		"backing_ctime_ns = ?7, content_version = content_version + 1, "
		"updated_at = unixepoch() WHERE id = ?1",
	[SQL_INSERT_TAG] =
		"INSERT OR IGNORE INTO tags (track_id, key, ordinal, value, "
		"value_blob) VALUES (?, ?, ?, ?, ?)",
	[SQL_FIND_ART] = "SELECT id FROM art WHERE sha256 = ?",
	[SQL_INSERT_ART] =
		"INSERT INTO art (sha256, mime, width, height, byte_len, data) "
		"VALUES (?, ?, ?, ?, ?, ?)",
	[SQL_INSERT_TRACK_ART] =
		"INSERT INTO track_art (track_id, ordinal, art_id, picture_type, "
		"description) VALUES (?, ?, ?, ?, ?)",
	[SQL_INSERT_ART_PROPS] =
		"INSERT OR IGNORE INTO art_props (art_id, depth, colors) "
		"VALUES (?, ?, ?)",
	[SQL_DELETE_STRUCT] = "DELETE FROM structural_blocks WHERE track_id = ?",
	[SQL_INSERT_STRUCT] =
		"INSERT INTO structural_blocks (track_id, kind, data) "
		"VALUES (?, ?, ?)",
	[SQL_DELETE_FBLOCKS] = "DELETE FROM format_blocks WHERE track_id = ?",
	[SQL_INSERT_FBLOCK] =
		"INSERT INTO format_blocks (track_id, kind, ordinal, data) "
		"VALUES (?, ?, ?, ?)",
	[SQL_UPSERT_PROPS] =
		"INSERT OR REPLACE INTO track_props (track_id, sample_rate, "
		"channels, bits_per_sample, total_samples, duration_ms, "
		"bitrate_kbps) VALUES (?, ?, ?, ?, ?, ?, ?)",
	[SQL_UPSERT_FAILURE] =
		"INSERT OR REPLACE INTO scan_failures (path, backing_size, "
		"backing_mtime_ns, backing_ctime_ns, reason) VALUES (?, ?, ?, ?, ?)",
	[SQL_DELETE_FAILURE] = "DELETE FROM scan_failures WHERE path = ?",
};

struct scan {
	struct mf_store *store;
	sqlite3 *db;
	const struct mf_scan_opts *opts;
	struct mf_scan_stats *st;
	sqlite3_stmt *stmt[SQL_COUNT];
	struct stamp_map tracks;	/* stored tracks by path */
	struct stamp_map failures;	/* known bad files by path */
	bool in_tx;
	unsigned batch_count;
	struct timespec batch_start;
	char path[PATH_MAX];
};

static int step_done(struct scan *sc, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc == SQLITE_DONE || rc == SQLITE_ROW)
		return 0;
	mf_debug("scan", "sql: %s", sqlite3_errmsg(sc->db));
	return mf_store_errno(rc) ? mf_store_errno(rc) : -EIO;
}

static double elapsed_ms(const struct timespec *since)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - since->tv_sec) * 1e3 +
	       (double)(now.tv_nsec - since->tv_nsec) / 1e6;
}

static int tx_begin(struct scan *sc)
{
	int ret;

	if (sc->in_tx)
		return 0;
	ret = mf_store_exec(sc->store, "BEGIN IMMEDIATE");
	if (ret < 0)
		return ret;
	sc->in_tx = true;
	sc->batch_count = 0;
	clock_gettime(CLOCK_MONOTONIC, &sc->batch_start);
	return 0;
}

static int tx_commit(struct scan *sc)
{
	int ret;

	if (!sc->in_tx)
		return 0;
	ret = mf_store_exec(sc->store, "COMMIT");
	if (ret < 0)
		return ret;
	sc->in_tx = false;
	return 0;
}

/* Commit when the batch is full or old enough. */
static int tx_maybe_commit(struct scan *sc)
{
	unsigned files = sc->opts->batch_files ? sc->opts->batch_files : 256;
	unsigned ms = sc->opts->batch_ms ? sc->opts->batch_ms : 250;

	if (!sc->in_tx)
		return 0;
	if (++sc->batch_count < files && elapsed_ms(&sc->batch_start) < ms)
		return 0;
	return tx_commit(sc);
}

static void sha256_hex(const void *data, size_t len, char out[65])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen != 32) {
		out[0] = '\0';
		return;
	}
	for (unsigned int i = 0; i < 32; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[64] = '\0';
}

static int write_art(struct scan *sc, int64_t track_id, int ordinal,
		     const struct probe_pic *pic)
{
	sqlite3_stmt *st;
	char sha[65];
	int64_t art_id = 0;
	int rc, ret;

	sha256_hex(pic->data, pic->len, sha);
	if (!sha[0])
		return -EIO;
	st = sc->stmt[SQL_FIND_ART];
	sqlite3_bind_text(st, 1, sha, 64, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		art_id = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return -EIO;
	if (!art_id) {
		st = sc->stmt[SQL_INSERT_ART];
		sqlite3_bind_text(st, 1, sha, 64, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, pic->mime, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, pic->width);
		sqlite3_bind_int64(st, 4, pic->height);
		sqlite3_bind_int64(st, 5, (int64_t)pic->len);
		sqlite3_bind_blob64(st, 6, pic->data, pic->len, SQLITE_STATIC);
		ret = step_done(sc, st);
		if (ret < 0)
			return ret;
		art_id = sqlite3_last_insert_rowid(sc->db);
	}
	if (pic->depth || pic->colors) {
		st = sc->stmt[SQL_INSERT_ART_PROPS];
		sqlite3_bind_int64(st, 1, art_id);
		sqlite3_bind_int64(st, 2, pic->depth);
		sqlite3_bind_int64(st, 3, pic->colors);
		ret = step_done(sc, st);
		if (ret < 0)
			return ret;
	}
	st = sc->stmt[SQL_INSERT_TRACK_ART];
	sqlite3_bind_int64(st, 1, track_id);
	sqlite3_bind_int(st, 2, ordinal);
	sqlite3_bind_int64(st, 3, art_id);
	sqlite3_bind_int64(st, 4, pic->type);
	sqlite3_bind_text(st, 5, pic->desc, -1, SQLITE_STATIC);
	return step_done(sc, st);
}

static void bind_stamp(sqlite3_stmt *st, const struct stat *sb, int first)
{
	sqlite3_bind_int64(st, first, (int64_t)sb->st_size);
	sqlite3_bind_int64(st, first + 1, mf_store_ns(&sb->st_mtim));
	sqlite3_bind_int64(st, first + 2, mf_store_ns(&sb->st_ctim));
}

static bool is_core_struct(const char *kind)
{
	return strcmp(kind, "streaminfo") == 0 || strcmp(kind, "seektable") == 0;
}

/*
 * FLAC STREAMINFO/SEEKTABLE go to the core structural_blocks table (one
 * of each), every other kind to format_blocks with an ordinal per kind.
 */
static int write_structural(struct scan *sc, int64_t id, const struct probe *p)
{
	sqlite3_stmt *st;
	int ret;

	for (size_t i = 0; i < p->nblocks; i++) {
		const struct probe_block *b = &p->blocks[i];

		if (is_core_struct(b->kind)) {
			st = sc->stmt[SQL_INSERT_STRUCT];
			sqlite3_bind_int64(st, 1, id);
			sqlite3_bind_text(st, 2, b->kind, -1, SQLITE_STATIC);
			sqlite3_bind_blob64(st, 3, b->data, b->len,
					    SQLITE_STATIC);
		} else {
			int64_t ordinal = 0;

			for (size_t j = 0; j < i; j++)
				ordinal += strcmp(p->blocks[j].kind,
						  b->kind) == 0;
			st = sc->stmt[SQL_INSERT_FBLOCK];
			sqlite3_bind_int64(st, 1, id);
			sqlite3_bind_text(st, 2, b->kind, -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 3, ordinal);
			sqlite3_bind_blob64(st, 4, b->data, b->len,
					    SQLITE_STATIC);
		}
		ret = step_done(sc, st);
		if (ret < 0)
			return ret;
	}
	if (p->have_props) {
		st = sc->stmt[SQL_UPSERT_PROPS];
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_int64(st, 2, p->props.sample_rate);
		sqlite3_bind_int64(st, 3, p->props.channels);
		sqlite3_bind_int64(st, 4, p->props.bits_per_sample);
		sqlite3_bind_int64(st, 5, (int64_t)p->props.total_samples);
		sqlite3_bind_int64(st, 6, (int64_t)p->props.duration_ms);
		sqlite3_bind_int64(st, 7, p->props.bitrate_kbps);
		ret = step_done(sc, st);
		if (ret < 0)
			return ret;
	}
	return 0;
}

static int write_tags(struct scan *sc, int64_t id, const struct probe *p)
{
	sqlite3_stmt *st = sc->stmt[SQL_INSERT_TAG];
	int ret;

	for (size_t i = 0; i < p->ntags; i++) {
		const struct probe_tag *t = &p->tags[i];

		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_text(st, 2, t->key, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 3, t->ordinal);
		if (t->binary) {
			sqlite3_bind_text(st, 4, "", 0, SQLITE_STATIC);
			sqlite3_bind_blob64(st, 5, t->value, t->len,
					    SQLITE_STATIC);
		} else {
			sqlite3_bind_text64(st, 4, t->value, t->len,
					    SQLITE_STATIC, SQLITE_UTF8);
			sqlite3_bind_null(st, 5);
		}
		ret = step_done(sc, st);
		if (ret == -EINVAL) {
			/* a CHECK refused it (oversize value): skip that tag */
			mf_warn("scan", "'%s': tag '%s' not stored (too large or "
				"malformed)", sc->path, t->key);
			continue;
		}
		if (ret < 0)
			return ret;
	}
	for (size_t i = 0; i < p->npics; i++) {
		ret = write_art(sc, id, (int)i, &p->pics[i]);
		if (ret == -EINVAL) {
			mf_warn("scan", "'%s': picture %zu not stored (malformed)",
				sc->path, i);
			continue;
		}
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* Write one probed file inside a savepoint. */
static int write_track(struct scan *sc, const struct stamp *old,
		       const struct stat *sb, const struct probe *p)
{
	sqlite3_stmt *st;
	int64_t id;
	int ret;

	ret = tx_begin(sc);
	if (ret < 0)
		return ret;
	ret = mf_store_exec(sc->store, "SAVEPOINT track");
	if (ret < 0)
		return ret;
	st = sc->stmt[old ? SQL_UPDATE_TRACK : SQL_INSERT_TRACK];
	if (old)
		sqlite3_bind_int64(st, 1, old->id);
	else
		sqlite3_bind_text(st, 1, sc->path, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, p->format, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (int64_t)p->audio_offset);
	sqlite3_bind_int64(st, 4, (int64_t)p->audio_length);
	bind_stamp(st, sb, 5);
	ret = step_done(sc, st);
	if (ret < 0)
		goto out_rollback;
	id = old ? old->id : sqlite3_last_insert_rowid(sc->db);
	if (old) {
		st = sc->stmt[SQL_DELETE_STRUCT];
		sqlite3_bind_int64(st, 1, id);
		ret = step_done(sc, st);
		if (ret < 0)
			goto out_rollback;
		st = sc->stmt[SQL_DELETE_FBLOCKS];
		sqlite3_bind_int64(st, 1, id);
		ret = step_done(sc, st);
		if (ret < 0)
			goto out_rollback;
	}
	ret = write_structural(sc, id, p);
	if (ret < 0)
		goto out_rollback;
	if (!old) {
		ret = write_tags(sc, id, p);
		if (ret < 0)
			goto out_rollback;
	}
	st = sc->stmt[SQL_DELETE_FAILURE];
	sqlite3_bind_text(st, 1, sc->path, -1, SQLITE_STATIC);
	ret = step_done(sc, st);
	if (ret < 0)
		goto out_rollback;
	return mf_store_exec(sc->store, "RELEASE track");

out_rollback:
	mf_err("scan", "'%s': cannot store: %s", sc->path, sqlite3_errmsg(sc->db));
	mf_store_exec(sc->store, "ROLLBACK TO track");
	mf_store_exec(sc->store, "RELEASE track");
	return ret;
}

static int record_failure(struct scan *sc, const struct stat *sb,
			  const char *reason)
{
	sqlite3_stmt *st = sc->stmt[SQL_UPSERT_FAILURE];
	int ret;

	mf_err(NULL, "'%s': %s", sc->path, reason);
	sc->st->failed++;
	ret = tx_begin(sc);
	if (ret < 0)
		return ret;
	sqlite3_bind_text(st, 1, sc->path, -1, SQLITE_STATIC);
	bind_stamp(st, sb, 2);
	sqlite3_bind_text(st, 5, reason, -1, SQLITE_STATIC);
	return step_done(sc, st);
}

/*---- walker ----------------------------------------------------------*/

static bool same_stamp(const struct stamp *e, const struct stat *sb)
{
	return e->size == (int64_t)sb->st_size &&
	       e->mtime_ns == mf_store_ns(&sb->st_mtim) &&
	       e->ctime_ns == mf_store_ns(&sb->st_ctim);
}

static bool stat_equal(const struct stat *a, const struct stat *b)
{
	return a->st_size == b->st_size && a->st_ino == b->st_ino &&
	       a->st_dev == b->st_dev &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	       a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

static void count_skip(struct mf_scan_stats *st, const char *name)
{
	const char *dot = strrchr(name, '.');
	char ext[16] = "";
	size_t i, n;

	st->skipped++;
	if (dot && dot != name && dot[1] && strlen(dot + 1) < sizeof(ext)) {
		for (n = 0; dot[1 + n]; n++) {
			unsigned char c = (unsigned char)dot[1 + n];

			ext[n] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
		}
		ext[n] = '\0';
	}
	if (name[0] == '.')
		snprintf(ext, sizeof(ext), "(hidden)");
	for (i = 0; i < st->nskipped_ext; i++) {
		if (strcmp(st->skipped_ext[i].ext, ext) == 0) {
			st->skipped_ext[i].count++;
			return;
		}
	}
	if (st->nskipped_ext < MF_SCAN_MAX_EXTS) {
		memcpy(st->skipped_ext[i].ext, ext, sizeof(ext));
		st->skipped_ext[i].count = 1;
		st->nskipped_ext++;
	}
}

static bool is_audio_name(const char *name)
{
	return mf_format_prober(name, NULL) != NULL;
}

/* Append what the file's first bytes look like to a "not a ..." reason. */
static void explain_mismatch(int fd, char *why, size_t whylen)
{
	uint8_t head[16];
	ssize_t n = pread(fd, head, sizeof(head), 0);
	const char *looks = n > 0 ? mf_format_sniff(head, (size_t)n) : NULL;
	size_t len = strlen(why);

	if (looks && len + 1 < whylen)
		snprintf(why + len, whylen - len, " (content looks like %s)",
			 looks);
}

/* Probe one candidate file at sc->path whose lstat is @sb. */
static int scan_file(struct scan *sc, const struct stat *sb)
{
	const struct stamp *old = stamp_map_get(&sc->tracks, sc->path);
	const struct stamp *bad;
	struct mf_sink sink;
	struct probe p;
	struct stat before, after;
	char why[256] = "";
	const char *format = NULL;
	mf_probe_fn probe = mf_format_prober(sc->path, &format);
	int fd, ret;

	if (old && same_stamp(old, sb)) {
		sc->st->unchanged++;
		return 0;
	}
	bad = stamp_map_get(&sc->failures, sc->path);
	if (bad && same_stamp(bad, sb)) {
		mf_err(NULL, "'%s': %s (unchanged since last scan)", sc->path,
		       bad->reason ? bad->reason : "failed");
		sc->st->failed++;
		return 0;
	}

	fd = open(sc->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		snprintf(why, sizeof(why), "cannot open: %s", strerror(errno));
		return record_failure(sc, sb, why);
	}
	sc->st->probed++;
	memset(&p, 0, sizeof(p));
	p.format = format;
	sink = (struct mf_sink){
		.on_format = sink_format,
		.ctx = &p,
		.on_audio_range = sink_range,
		.on_tag = sink_tag,
		.on_binary_tag = sink_binary,
		.on_picture = sink_picture,
		.on_structural = sink_structural,
		.on_props = sink_props,
	};
	if (fstat(fd, &before) < 0) {
		snprintf(why, sizeof(why), "cannot stat: %s", strerror(errno));
		ret = -EIO;
		goto out_fail;
	}
	ret = probe ? probe(fd, &sink, why, sizeof(why)) : -EINVAL;
	if (ret < 0) {
		if (!why[0])
			snprintf(why, sizeof(why), "%s", strerror(-ret));
		if (ret == -EINVAL)
			explain_mismatch(fd, why, sizeof(why));
		goto out_fail;
	}
	if (fstat(fd, &after) < 0 || !stat_equal(&before, &after)) {
		snprintf(why, sizeof(why), "file changed while it was read");
		ret = -EAGAIN;
		goto out_fail;
	}
	if (!p.have_range || !p.format ||
	    (strcmp(p.format, "flac") == 0 &&
	     !probe_has_block(&p, "streaminfo"))) {
		snprintf(why, sizeof(why), "no audio found");
		ret = -EBADMSG;
		goto out_fail;
	}
	close(fd);
	sc->st->bytes_read += p.bytes;
	ret = write_track(sc, old, &after, &p);
	probe_release(&p);
	if (ret < 0)
		return ret;
	if (old)
		sc->st->changed++;
	else
		sc->st->new++;
	mf_info("scan", "%s '%s'", old ? "refreshed" : "imported", sc->path);
	return tx_maybe_commit(sc);

out_fail:
	close(fd);
	probe_release(&p);
	ret = record_failure(sc, sb, why);
	if (ret < 0)
		return ret;
	return tx_maybe_commit(sc);
}

/* Walk the directory at sc->path (length @len), open as @dfd (taken). */
static int walk_dir(struct scan *sc, int dfd, size_t len, int depth)
{
	DIR *dir;
	struct dirent *de;
	int ret = 0;

	dir = fdopendir(dfd);
	if (!dir) {
		mf_err(NULL, "cannot read directory '%s': %s", sc->path,
		       strerror(errno));
		close(dfd);
		sc->st->failed++;
		return 0;
	}
	while ((errno = 0, de = readdir(dir)) != NULL) {
		const char *name = de->d_name;
		size_t nlen = strlen(name);
		struct stat sb;

		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
			continue;
		if (len + 1 + nlen >= sizeof(sc->path)) {
			mf_err(NULL, "path too long under '%s'", sc->path);
			sc->st->failed++;
			continue;
		}
		sc->path[len] = '/';
		memcpy(sc->path + len + 1, name, nlen + 1);
		if (fstatat(dirfd(dir), name, &sb, AT_SYMLINK_NOFOLLOW) < 0) {
			mf_warn("scan", "cannot stat '%s': %s", sc->path,
				strerror(errno));
			continue;
		}
		if (S_ISDIR(sb.st_mode)) {
			int sub;

			if (name[0] == '.') {
				mf_debug("scan", "skipping hidden directory '%s'",
					 sc->path);
				continue;
			}
			if (depth >= SCAN_MAX_DEPTH) {
				mf_err(NULL, "'%s': directory nesting too deep",
				       sc->path);
				continue;
			}
			sub = openat(dirfd(dir), name, O_RDONLY | O_DIRECTORY |
				     O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0) {
				mf_err(NULL, "cannot open directory '%s': %s",
				       sc->path, strerror(errno));
				sc->st->failed++;
				continue;
			}
			ret = walk_dir(sc, sub, len + 1 + nlen, depth + 1);
			if (ret < 0)
				break;
			continue;
		}
		if (!S_ISREG(sb.st_mode))
			continue;	/* symlinks, sockets, devices */
		sc->st->seen++;
		if (name[0] == '.' || !is_audio_name(name)) {
			count_skip(sc->st, name);
			continue;
		}
		ret = scan_file(sc, &sb);
		if (ret < 0)
			break;
	}
	if (!ret && errno) {
		sc->path[len] = '\0';
		mf_err(NULL, "cannot read directory '%s': %s", sc->path,
		       strerror(errno));
	}
	sc->path[len] = '\0';
	closedir(dir);
	return ret;
}

/*---- mf_scan_run -----------------------------------------------------*/

static int scan_root(struct scan *sc, const char *root)
{
	char *real = realpath(root, NULL);
	struct stat sb;
	size_t len;
	int fd, ret;

	if (!real || stat(real, &sb) < 0) {
		ret = -errno;
		mf_err(NULL, "cannot scan '%s': %s", root, strerror(errno));
		free(real);
		return ret;
	}
	len = strlen(real);
	if (len >= sizeof(sc->path)) {
		free(real);
		return -ENAMETOOLONG;
	}
	memcpy(sc->path, real, len + 1);
	free(real);
	if (S_ISREG(sb.st_mode)) {
		const char *base = strrchr(sc->path, '/');

		sc->st->seen++;
		if (!is_audio_name(base + 1)) {
			count_skip(sc->st, base + 1);
			return 0;
		}
		return scan_file(sc, &sb);
	}
	if (!S_ISDIR(sb.st_mode)) {
		mf_err(NULL, "cannot scan '%s': not a directory or file", root);
		return -ENOTDIR;
	}
	fd = open(sc->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		mf_err(NULL, "cannot scan '%s': %s", root, strerror(errno));
		return ret;
	}
	if (len == 1)
		len = 0;	/* root "/" : children are "/name" */
	return walk_dir(sc, fd, len, 0);
}

static int scan_prepare(struct scan *sc)
{
	for (int i = 0; i < SQL_COUNT; i++) {
		if (sqlite3_prepare_v3(sc->db, writer_sql[i], -1,
				       SQLITE_PREPARE_PERSISTENT, &sc->stmt[i],
				       NULL) != SQLITE_OK) {
			mf_err("scan", "cannot prepare statement: %s",
			       sqlite3_errmsg(sc->db));
			return -EIO;
		}
	}
	return 0;
}

static int64_t run_begin(struct scan *sc)
{
	sqlite3_stmt *st = NULL;
	char roots[4096] = "";
	size_t n = 0;
	int64_t id = 0;

	for (size_t i = 0; i < sc->opts->nroots; i++) {
		int r = snprintf(roots + n, sizeof(roots) - n, "%s%s",
				 i ? "\n" : "", sc->opts->roots[i]);

		if (r < 0 || (size_t)r >= sizeof(roots) - n)
			break;
		n += (size_t)r;
	}
	if (sqlite3_prepare_v2(sc->db, "INSERT INTO scan_runs (started_at, "
			       "roots) VALUES (unixepoch(), ?)", -1, &st,
			       NULL) != SQLITE_OK)
		return 0;
	sqlite3_bind_text(st, 1, roots, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_DONE)
		id = sqlite3_last_insert_rowid(sc->db);
	sqlite3_finalize(st);
	return id;
}

static void run_end(struct scan *sc, int64_t run_id, const char *outcome)
{
	const struct mf_scan_stats *s = sc->st;
	sqlite3_stmt *st = NULL;

	if (!run_id)
		return;
	if (sqlite3_prepare_v2(sc->db, "UPDATE scan_runs SET ended_at = "
			       "unixepoch(), seen = ?, new = ?, changed = ?, "
			       "unchanged = ?, skipped = ?, failed = ?, "
			       "bytes_read = ?, outcome = ? WHERE id = ?", -1,
			       &st, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_int64(st, 1, (int64_t)s->seen);
	sqlite3_bind_int64(st, 2, (int64_t)s->new);
	sqlite3_bind_int64(st, 3, (int64_t)s->changed);
	sqlite3_bind_int64(st, 4, (int64_t)s->unchanged);
	sqlite3_bind_int64(st, 5, (int64_t)s->skipped);
	sqlite3_bind_int64(st, 6, (int64_t)s->failed);
	sqlite3_bind_int64(st, 7, (int64_t)s->bytes_read);
	sqlite3_bind_text(st, 8, outcome, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 9, run_id);
	if (sqlite3_step(st) != SQLITE_DONE)
		mf_warn("scan", "cannot record the run: %s",
			sqlite3_errmsg(sc->db));
	sqlite3_finalize(st);
}

int mf_scan_run(struct mf_store *s, const struct mf_scan_opts *o,
		struct mf_scan_stats *st)
{
	struct scan sc;
	struct timespec t0;
	int64_t run_id;
	int ret = 0;
	size_t i;

	memset(st, 0, sizeof(*st));
	memset(&sc, 0, sizeof(sc));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	sc.store = s;
	sc.db = mf_store_db(s);
	sc.opts = o;
	sc.st = st;

	/* Refuse unusable roots before touching anything. */
	for (i = 0; i < o->nroots; i++) {
		struct stat sb;

		if (stat(o->roots[i], &sb) < 0) {
			ret = -errno;
			mf_err(NULL, "cannot scan '%s': %s", o->roots[i],
			       strerror(errno));
			return ret;
		}
		if (S_ISDIR(sb.st_mode) && access(o->roots[i], R_OK | X_OK) < 0) {
			ret = -errno;
			mf_err(NULL, "cannot scan '%s': %s", o->roots[i],
			       strerror(errno));
			return ret;
		}
	}
	ret = scan_prepare(&sc);
	if (ret < 0)
		goto out;
	ret = stamp_map_load(sc.db, "SELECT backing_path, id, backing_size, "
			     "backing_mtime_ns, backing_ctime_ns, NULL "
			     "FROM tracks", &sc.tracks);
	if (ret < 0)
		goto out;
	ret = stamp_map_load(sc.db, "SELECT path, 0, backing_size, "
			     "backing_mtime_ns, backing_ctime_ns, reason "
			     "FROM scan_failures", &sc.failures);
	if (ret < 0)
		goto out;
	run_id = run_begin(&sc);
	for (i = 0; i < o->nroots && ret == 0; i++)
		ret = scan_root(&sc, o->roots[i]);
	if (ret == 0) {
		ret = tx_commit(&sc);
	} else if (sc.in_tx) {
		mf_store_exec(s, "ROLLBACK");
		sc.in_tx = false;
	}
	st->seconds = elapsed_ms(&t0) / 1e3;
	run_end(&sc, run_id, ret < 0 ? "failed" : st->failed ? "partial" : "ok");
out:
	for (i = 0; i < SQL_COUNT; i++)
		sqlite3_finalize(sc.stmt[i]);
	stamp_map_release(&sc.tracks);
	stamp_map_release(&sc.failures);
	return ret;
}
