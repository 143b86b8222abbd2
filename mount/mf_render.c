/* SPDX-License-Identifier: MIT */
/*
 * mf_render - track paths from the store's rows (mf_store_paths_*, one
 * merge join of the tracks with their properties and the template's tags,
 * both in id order) and the path template.
 */
#include "mf_render.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mf_format.h"
#include "mf_log.h"
#include "mf_store_mount.h"
#include "mf_track.h"
#include "mf_banned.h"

/* Fields computed from the track row and track_props, not from tags. */
enum { V_LENGTH, V_BITRATE, V_SAMPLERATE, V_CHANNELS, V_BITDEPTH, V_FORMAT,
       V_EXT, V_COUNT };
static const char *const vnames[V_COUNT] = {
	"length", "bitrate", "samplerate", "channels", "bitdepth", "format",
	"ext",
};

/* The served extension of @row. */
static const char *row_ext(const struct mf_path_row *row)
{
	return mf_format_served_ext(row->format, row->own_ext);
}

struct mf_render {
	const struct mf_template *tmpl;
	const struct mf_template_opts *opts;
	size_t nfields;
	const char **names;	/* borrowed from the template */
	int *virt;		/* per field: V_* or -1 */
	char **values;		/* per field: joined values or NULL */
	char **owners;		/* per field: the store key serving it */
	size_t *lens, *caps;
	struct mf_store_paths *rows;	/* the statements */
	/* mf_render_all()'s callback, or mf_render_one()'s result */
	int (*fn)(void *ctx, int64_t id, int64_t version, const char *path);
	void *fn_ctx;
	char *one_path;
	int64_t one_version;
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

/* The computed fields of @row. */
static int set_virtual(struct mf_render *r, const struct mf_path_row *row)
{
	const char *format = row->format;
	int64_t ms = row->duration_ms;
	int64_t kbps = row->bitrate_kbps;
	int64_t hz = row->sample_rate;
	int64_t ch = row->channels;
	int64_t bits = row->bits_per_sample;

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
				snprintf(buf, sizeof(buf), "%s", row_ext(row));
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
 * Add tag (@key, @v of @n bytes) to the fields (mf_path_fns.tag). Field
 * names match keys case-insensitively; when one key is stored in several
 * cases, the rule of mf_track.c applies (the all-lowercase key, else the
 * first in byte order; rows arrive in (key, ordinal) order).
 */
static int add_tag(void *ctx, const char *key, const char *v, size_t n)
{
	struct mf_render *r = ctx;

	for (size_t i = 0; i < r->nfields; i++) {
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
		return add(r, i, v, n);
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
	struct mf_render *r = calloc(1, sizeof(*r));
	int ret = -ENOMEM;

	if (!r)
		return -ENOMEM;
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
	for (size_t i = 0; i < r->nfields; i++) {
		r->names[i] = mf_template_field(tmpl, i);
		r->virt[i] = -1;
		for (int v = 0; v < V_COUNT; v++)
			if (strcmp(r->names[i], vnames[v]) == 0)
				r->virt[i] = v;
	}
	/* every field's name is asked of the tags; properties find none */
	ret = mf_store_paths_new(s, r->names, r->nfields, &r->rows);
	if (ret < 0)
		goto fail;
	*out = r;
	return 0;
fail:
	mf_render_free(r);
	return ret;
}

void mf_render_free(struct mf_render *r)
{
	if (!r)
		return;
	mf_store_paths_free(r->rows);
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

/* mf_path_fns.track of mf_render_all(): render, hand the path on, and
 * start the next track's fields afresh. */
static int all_track(void *ctx, const struct mf_path_row *row)
{
	struct mf_render *r = ctx;
	char *path = NULL;
	int ret = set_virtual(r, row);

	if (!ret)
		ret = render(r, row->id, row_ext(row), &path);
	if (!ret && path)
		ret = r->fn(r->fn_ctx, row->id, row->content_version, path);
	free(path);
	reset(r);
	return ret;
}

int mf_render_all(struct mf_render *r,
		  int (*fn)(void *ctx, int64_t id, int64_t version,
			    const char *path),
		  void *ctx)
{
	const struct mf_path_fns fns = { .tag = add_tag, .track = all_track };
	int ret;

	reset(r);
	r->fn = fn;
	r->fn_ctx = ctx;
	ret = mf_store_paths_all(r->rows, &fns, r);
	reset(r);
	return ret;
}

/* mf_path_fns.track of mf_render_one(). */
static int one_track(void *ctx, const struct mf_path_row *row)
{
	struct mf_render *r = ctx;
	int ret = set_virtual(r, row);

	r->one_version = row->content_version;
	if (!ret)
		ret = render(r, row->id, row_ext(row), &r->one_path);
	return ret;
}

int mf_render_one(struct mf_render *r, int64_t id, char **out,
		  int64_t *version)
{
	const struct mf_path_fns fns = { .tag = add_tag, .track = one_track };
	int ret;

	*out = NULL;
	*version = 0;
	reset(r);
	r->one_path = NULL;
	r->one_version = 0;
	ret = mf_store_paths_one(r->rows, id, &fns, r);	/* 1: gone */
	if (ret < 0) {
		free(r->one_path);
		r->one_path = NULL;
		return ret;
	}
	*out = r->one_path;
	*version = r->one_version;	/* 0 when gone */
	r->one_path = NULL;
	return 0;
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
	size_t n = mf_template_nfields(tmpl);
	int unknown = 0, any = mf_store_has_tracks(s);

	/* an empty store has no fields to judge the template by */
	if (any <= 0)
		return any < 0 ? -EIO : 0;
	for (size_t i = 0; i < n; i++) {
		const char *f = mf_template_field(tmpl, i);
		int used;

		if (mf_render_is_property(f))
			continue;
		used = mf_store_tag_key_used(s, f);
		if (used < 0)
			return -EIO;
		if (used)
			continue;
		unknown++;
		if (fn)
			fn(ctx, f);
	}
	return unknown;
}
