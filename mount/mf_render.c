/* SPDX-License-Identifier: MIT */
/*
 * mf_render - track paths from the store: a merge join of the tracks
 * (with their properties) and the template's tags, both in id order.
 */
#include "mf_render.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mf_log.h"
#include "mf_track.h"
#include "mf_banned.h"

/* Fields computed from the track row and track_props, not from tags. */
enum { V_LENGTH, V_BITRATE, V_SAMPLERATE, V_CHANNELS, V_BITDEPTH, V_FORMAT,
       V_EXT, V_COUNT };
static const char *const vnames[V_COUNT] = {
	"length", "bitrate", "samplerate", "channels", "bitdepth", "format",
	"ext",
};

/*
 * Column 8 is the track's content_version (the mount gives every version
 * its own inode). Column 7 is the container's own extension when it differs from the
 * format's (an .m4b audiobook is stored as format m4a with an "mp4:ext"
 * block, see docs/store.md); looked up only for m4a rows so that the
 * start-up walk stays one join. A store without format_blocks (made by
 * another tool) gets NULL there.
 */
#define TRACK_COLS_(EXT) "t.id, t.format, coalesce(p.duration_ms, 0), " \
	"coalesce(p.bitrate_kbps, 0), coalesce(p.sample_rate, 0), " \
	"coalesce(p.channels, 0), coalesce(p.bits_per_sample, 0), " EXT \
	", t.content_version FROM tracks t LEFT JOIN track_props p ON " \
	"p.track_id = t.id"
#define TRACK_COLS TRACK_COLS_("CASE WHEN t.format = 'm4a' THEN (SELECT " \
	"CAST(data AS TEXT) FROM format_blocks WHERE track_id = t.id AND " \
	"kind = 'mp4:ext' AND ordinal = 0) END")
#define TRACK_COLS_CORE TRACK_COLS_("NULL")
/* A store with neither extension table (a 1.x store opened read-only):
 * the audio-property fields are then missing (0). */
#define TRACK_COLS_BARE "t.id, t.format, 0, 0, 0, 0, 0, NULL, " \
	"t.content_version FROM tracks t"

/* Prepare "SELECT TRACK_COLS @tail", without the extension tables that
 * are absent. */
static int prepare_tracks(sqlite3 *db, const char *tail, sqlite3_stmt **st)
{
	static const char *const cols[] = { TRACK_COLS, TRACK_COLS_CORE,
					    TRACK_COLS_BARE };
	char sql[1024];
	int rc = SQLITE_ERROR;

	for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]); i++) {
		snprintf(sql, sizeof(sql), "SELECT %s%s", cols[i], tail);
		rc = sqlite3_prepare_v2(db, sql, -1, st, NULL);
		if (rc == SQLITE_OK)
			break;
	}
	return rc;
}

/* The served extension of the current row of @st (TRACK_COLS). */
static const char *row_ext(sqlite3_stmt *st)
{
	const char *format = (const char *)sqlite3_column_text(st, 1);
	const char *own = (const char *)sqlite3_column_text(st, 7);

	if (!format)
		return NULL;
	if (own && strcmp(own, "m4b") == 0)
		return "m4b";
	return mf_track_ext(format);
}

struct mf_render {
	struct mf_store *s;
	const struct mf_template *tmpl;
	const struct mf_template_opts *opts;
	size_t nfields;
	const char **names;	/* borrowed from the template */
	int *virt;		/* per field: V_* or -1 */
	char **values;		/* per field: joined values or NULL */
	char **owners;		/* per field: the store key serving it */
	size_t *lens, *caps;
	sqlite3_stmt *all_t, *all_g, *one_t, *one_g;
};

static const char *get(void *ctx, const char *field)
{
	struct mf_render *r = ctx;

	for (size_t i = 0; i < r->nfields; i++)
		if (strcmp(r->names[i], field) == 0)
			return r->values[i];
	return NULL;
}

/* Append @v (@n bytes) to field @i, joining multi-values with "; ". */
static int add(struct mf_render *r, size_t i, const char *v, size_t n)
{
	size_t need = r->lens[i] + (r->lens[i] ? 2 : 0) + n + 1;

	if (need > r->caps[i]) {
		size_t cap = need < 64 ? 64 : need * 2;
		char *p = realloc(r->values[i], cap);

		if (!p)
			return -ENOMEM;
		r->values[i] = p;
		r->caps[i] = cap;
	}
	if (r->lens[i]) {
		memcpy(r->values[i] + r->lens[i], "; ", 2);
		r->lens[i] += 2;
	}
	memcpy(r->values[i] + r->lens[i], v, n);
	r->lens[i] += n;
	r->values[i][r->lens[i]] = '\0';
	return 0;
}

static void reset(struct mf_render *r)
{
	for (size_t i = 0; i < r->nfields; i++) {
		r->lens[i] = 0;
		if (r->values[i])
			r->values[i][0] = '\0';
		free(r->owners[i]);
		r->owners[i] = NULL;
	}
}

/* Is @key all lowercase (ASCII), the canonical spelling? */
static bool is_folded(const char *key)
{
	for (; *key; key++)
		if (*key >= 'A' && *key <= 'Z')
			return false;
	return true;
}

/* The computed fields of the current row of @st (TRACK_COLS). */
static int set_virtual(struct mf_render *r, sqlite3_stmt *st)
{
	const char *format = (const char *)sqlite3_column_text(st, 1);
	int64_t ms = sqlite3_column_int64(st, 2);
	int64_t kbps = sqlite3_column_int64(st, 3);
	int64_t hz = sqlite3_column_int64(st, 4);
	int64_t ch = sqlite3_column_int64(st, 5);
	int64_t bits = sqlite3_column_int64(st, 6);

	for (size_t i = 0; i < r->nfields; i++) {
		char buf[64] = "";

		switch (r->virt[i]) {
		case V_LENGTH:
			if (ms > 0)
				snprintf(buf, sizeof(buf), "%lld:%02lld",
					 (long long)(ms / 60000),
					 (long long)(ms / 1000 % 60));
			break;
		case V_BITRATE:
			if (kbps > 0)
				snprintf(buf, sizeof(buf), "%lldkbps",
					 (long long)kbps);
			break;
		case V_SAMPLERATE:
			if (hz > 0 && hz % 1000 == 0)
				snprintf(buf, sizeof(buf), "%lldkHz",
					 (long long)(hz / 1000));
			else if (hz > 0)
				snprintf(buf, sizeof(buf), "%.1fkHz",
					 (double)hz / 1000.0);
			break;
		case V_CHANNELS:
			if (ch > 0)
				snprintf(buf, sizeof(buf), "%lld", (long long)ch);
			break;
		case V_BITDEPTH:
			if (bits > 0)
				snprintf(buf, sizeof(buf), "%lld", (long long)bits);
			break;
		case V_FORMAT:
			for (size_t k = 0; format && format[k] &&
			     k + 1 < sizeof(buf); k++)
				buf[k] = (char)(format[k] >= 'a' && format[k] <= 'z' ?
						format[k] - 32 : format[k]);
			break;
		case V_EXT:
			if (format)
				snprintf(buf, sizeof(buf), "%s", row_ext(st));
			break;
		default:
			continue;
		}
		r->lens[i] = 0;
		if (buf[0] && add(r, i, buf, strlen(buf)) < 0)
			return -ENOMEM;
	}
	return 0;
}

/*
 * Add tag row (key, value) of @st (columns @kc, @kc + 1) to the fields.
 * Field names match keys case-insensitively; when one key is stored in
 * several cases, the rule of mf_track.c applies (the all-lowercase key,
 * else the first in byte order; rows arrive in (key, ordinal) order).
 */
static int add_tag(struct mf_render *r, sqlite3_stmt *st, int kc)
{
	const char *key = (const char *)sqlite3_column_text(st, kc);
	const char *v = (const char *)sqlite3_column_text(st, kc + 1);
	int n = sqlite3_column_bytes(st, kc + 1);

	for (size_t i = 0; key && v && i < r->nfields; i++) {
		if (r->virt[i] >= 0 || strcasecmp(r->names[i], key) != 0)
			continue;
		if (r->owners[i] && strcmp(r->owners[i], key) != 0) {
			/* a later key wins only by being the lowercase one */
			if (is_folded(r->owners[i]) || !is_folded(key))
				return 0;
			free(r->owners[i]);
			r->owners[i] = NULL;
			r->lens[i] = 0;
			r->values[i][0] = '\0';
		}
		if (!r->owners[i]) {
			r->owners[i] = strdup(key);
			if (!r->owners[i])
				return -ENOMEM;
		}
		return add(r, i, v, (size_t)n);
	}
	return 0;
}

/* Render the current values; *@out NULL when the track is left out. */
static int render(struct mf_render *r, int64_t id, const char *ext,
		  char **out)
{
	int ret;

	*out = NULL;
	if (!ext)
		return 0;
	ret = mf_template_render(r->tmpl, r->opts, get, r, ext, out);
	if (ret == -ENOENT) {
		mf_debug("mount", "track %lld skipped: missing field",
			 (long long)id);
		return 0;
	}
	if (ret < 0 && ret != -ENOMEM) {
		mf_warn("mount", "track %lld: cannot render its path: %s",
			(long long)id, strerror(-ret));
		return 0;
	}
	return ret;
}

int mf_render_new(struct mf_store *s, const struct mf_template *tmpl,
		  const struct mf_template_opts *opts, struct mf_render **out)
{
	sqlite3 *db = mf_store_db(s);
	struct mf_render *r = calloc(1, sizeof(*r));
	char *in = NULL, *sql_all = NULL, *sql_one = NULL;
	size_t inlen = 0;
	FILE *mem;
	int ret = -ENOMEM;

	if (!r)
		return -ENOMEM;
	r->s = s;
	r->tmpl = tmpl;
	r->opts = opts;
	r->nfields = mf_template_nfields(tmpl);
	r->names = calloc(r->nfields + 1, sizeof(*r->names));
	r->virt = calloc(r->nfields + 1, sizeof(*r->virt));
	r->values = calloc(r->nfields + 1, sizeof(*r->values));
	r->owners = calloc(r->nfields + 1, sizeof(*r->owners));
	r->lens = calloc(r->nfields + 1, sizeof(*r->lens));
	r->caps = calloc(r->nfields + 1, sizeof(*r->caps));
	if (!r->names || !r->virt || !r->values || !r->owners || !r->lens ||
	    !r->caps)
		goto fail;
	/* key IN (?2, ?3, ...): the template's fields only */
	mem = open_memstream(&in, &inlen);
	if (!mem)
		goto fail;
	for (size_t i = 0; i < r->nfields; i++) {
		r->names[i] = mf_template_field(tmpl, i);
		r->virt[i] = -1;
		for (int v = 0; v < V_COUNT; v++)
			if (strcmp(r->names[i], vnames[v]) == 0)
				r->virt[i] = v;
		fprintf(mem, i ? ", lower(?%zu)" : "lower(?%zu)", i + 2);
	}
	if (fclose(mem) != 0)
		goto fail;
	if (asprintf(&sql_all, "SELECT track_id, key, value FROM tags WHERE "
		     "value_blob IS NULL AND lower(key) IN (%s) AND ?1 IS NULL "
		     "ORDER BY track_id, key, ordinal", in) < 0) {
		sql_all = NULL;
		goto fail;
	}
	if (asprintf(&sql_one, "SELECT track_id, key, value FROM tags WHERE "
		     "track_id = ?1 AND value_blob IS NULL AND lower(key) IN (%s) "
		     "ORDER BY key, ordinal", in) < 0) {
		sql_one = NULL;
		goto fail;
	}
	ret = -EIO;
	if (prepare_tracks(db, " ORDER BY t.id", &r->all_t) != SQLITE_OK ||
	    prepare_tracks(db, " WHERE t.id = ?1", &r->one_t) != SQLITE_OK ||
	    (r->nfields &&
	     (sqlite3_prepare_v2(db, sql_all, -1, &r->all_g, NULL) != SQLITE_OK ||
	      sqlite3_prepare_v2(db, sql_one, -1, &r->one_g, NULL) != SQLITE_OK))) {
		mf_err("mount", "cannot read the store: %s", sqlite3_errmsg(db));
		goto fail;
	}
	for (size_t i = 0; i < r->nfields; i++) {
		sqlite3_bind_text(r->all_g, (int)i + 2, r->names[i], -1,
				  SQLITE_STATIC);
		sqlite3_bind_text(r->one_g, (int)i + 2, r->names[i], -1,
				  SQLITE_STATIC);
	}
	free(in);
	free(sql_all);
	free(sql_one);
	*out = r;
	return 0;
fail:
	free(in);
	free(sql_all);
	free(sql_one);
	mf_render_free(r);
	return ret;
}

void mf_render_free(struct mf_render *r)
{
	if (!r)
		return;
	sqlite3_finalize(r->all_t);
	sqlite3_finalize(r->all_g);
	sqlite3_finalize(r->one_t);
	sqlite3_finalize(r->one_g);
	for (size_t i = 0; r->values && i < r->nfields; i++)
		free(r->values[i]);
	for (size_t i = 0; r->owners && i < r->nfields; i++)
		free(r->owners[i]);
	free(r->owners);
	free(r->names);
	free(r->virt);
	free(r->values);
	free(r->lens);
	free(r->caps);
	free(r);
}

int mf_render_all(struct mf_render *r,
		  int (*fn)(void *ctx, int64_t id, int64_t version,
			    const char *path),
		  void *ctx)
{
	sqlite3 *db = mf_store_db(r->s);
	int rc_t, rc_g = SQLITE_DONE, ret = 0;
	int64_t g_id = -1;
	char *path;

	if (r->all_g)
		rc_g = sqlite3_step(r->all_g);
	if (rc_g == SQLITE_ROW)
		g_id = sqlite3_column_int64(r->all_g, 0);
	while ((rc_t = sqlite3_step(r->all_t)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(r->all_t, 0);

		reset(r);
		while (rc_g == SQLITE_ROW && g_id <= id) {
			if (g_id == id) {
				ret = add_tag(r, r->all_g, 1);
				if (ret)
					goto out;
			}
			rc_g = sqlite3_step(r->all_g);
			if (rc_g == SQLITE_ROW)
				g_id = sqlite3_column_int64(r->all_g, 0);
		}
		ret = set_virtual(r, r->all_t);
		if (!ret)
			ret = render(r, id, row_ext(r->all_t), &path);
		if (ret)
			goto out;
		if (path) {
			ret = fn(ctx, id, sqlite3_column_int64(r->all_t, 8),
				 path);
			free(path);
			if (ret)
				goto out;
		}
	}
	if (rc_t != SQLITE_DONE || (rc_g != SQLITE_DONE && rc_g != SQLITE_ROW)) {
		mf_err("mount", "cannot read the store: %s", sqlite3_errmsg(db));
		ret = -EIO;
	}
out:
	sqlite3_reset(r->all_t);
	if (r->all_g)
		sqlite3_reset(r->all_g);
	return ret;
}

int mf_render_one(struct mf_render *r, int64_t id, char **out,
		  int64_t *version)
{
	int rc, ret = 0;

	*out = NULL;
	*version = 0;
	reset(r);
	sqlite3_bind_int64(r->one_t, 1, id);
	rc = sqlite3_step(r->one_t);
	if (rc == SQLITE_DONE)
		goto out;	/* gone */
	if (rc != SQLITE_ROW) {
		ret = -EIO;
		goto out;
	}
	if (r->one_g) {
		sqlite3_bind_int64(r->one_g, 1, id);
		while ((rc = sqlite3_step(r->one_g)) == SQLITE_ROW) {
			ret = add_tag(r, r->one_g, 1);
			if (ret)
				goto out;
		}
		if (rc != SQLITE_DONE) {
			ret = -EIO;
			goto out;
		}
	}
	*version = sqlite3_column_int64(r->one_t, 8);
	ret = set_virtual(r, r->one_t);
	if (!ret)
		ret = render(r, id, row_ext(r->one_t), out);
out:
	sqlite3_reset(r->one_t);
	if (r->one_g)
		sqlite3_reset(r->one_g);
	return ret;
}

bool mf_render_is_property(const char *field)
{
	for (size_t i = 0; i < V_COUNT; i++)
		if (strcmp(vnames[i], field) == 0)
			return true;
	return false;
}

int mf_render_unknown_fields(struct mf_store *s, const struct mf_template *tmpl,
			     void (*fn)(void *ctx, const char *field),
			     void *ctx)
{
	sqlite3_stmt *st = NULL;
	size_t n = mf_template_nfields(tmpl);
	int unknown = 0, rc = SQLITE_OK;

	int64_t ntracks = 0;

	/* an empty store has no fields to judge the template by */
	if (mf_store_query_int(s, "SELECT EXISTS (SELECT 1 FROM tracks)",
			       &ntracks) < 0)
		return -EIO;
	if (n && ntracks && sqlite3_prepare_v2(mf_store_db(s), "SELECT 1 FROM "
				"tags WHERE lower(key) = ?1 LIMIT 1", -1, &st,
				NULL) != SQLITE_OK)
		return -EIO;
	for (size_t i = 0; i < n && ntracks; i++) {
		const char *f = mf_template_field(tmpl, i);

		if (mf_render_is_property(f))
			continue;
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, f, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			continue;
		if (rc != SQLITE_DONE)
			break;
		unknown++;
		if (fn)
			fn(ctx, f);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW || rc == SQLITE_OK ?
	       unknown : -EIO;
}
