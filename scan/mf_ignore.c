/* SPDX-License-Identifier: MIT */
/*
 * mf_ignore - gitignore-style patterns (.musefsignore, --exclude).
 */
#include "mf_ignore.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mf_array.h"
#include "mf_banned.h"

#define IGNORE_MAX_LINE 4096
#define IGNORE_MAX_PATTERNS 4096

struct pattern {
	char *glob;		/* owned; no leading '/', no trailing '/' */
	bool negate;		/* '!pattern' */
	bool dir_only;		/* 'pattern/' */
	bool anchored;		/* matched against the whole relative path */
};

struct mf_ignore {
	struct pattern *pats;
	size_t n, cap;
};

/*
 * '[...]' at *@pp (pointing at '['): sets *@hit to whether @c is in the
 * class and advances *@pp past ']'. Returns false when the class is not
 * closed (then '[' is an ordinary byte).
 */
static bool match_class(const char **pp, unsigned char c, bool *hit)
{
	const char *p = *pp + 1;
	bool neg = false, in = false;

	if (*p == '!' || *p == '^') {
		neg = true;
		p++;
	}
	if (*p == ']') {	/* a leading ']' is literal */
		in = c == ']';
		p++;
	}
	while (*p && *p != ']') {
		unsigned char lo = (unsigned char)*p, hi;

		if (lo == '\\' && p[1])
			lo = (unsigned char)*++p;
		p++;
		hi = lo;
		if (*p == '-' && p[1] && p[1] != ']') {
			p++;
			if (*p == '\\' && p[1])
				p++;
			hi = (unsigned char)*p++;
		}
		if (c >= lo && c <= hi)
			in = true;
	}
	if (*p != ']')
		return false;
	*pp = p + 1;
	*hit = in != neg;
	return true;
}

static bool glob_at(const char *start, const char *p, const char *s)
{
	for (;;) {
		switch (*p) {
		case '\0':
			return *s == '\0';
		case '*': {
			bool lead = p == start || p[-1] == '/';

			if (p[1] == '*' && lead && (p[2] == '/' || !p[2])) {
				const char *q = p + 2;

				if (!*q)
					return true;	/* trailing '**' */
				q++;			/* '**' '/' */
				if (glob_at(start, q, s))
					return true;
				for (const char *t = s; *t; t++)
					if (*t == '/' && glob_at(start, q, t + 1))
						return true;
				return false;
			}
			while (*p == '*')
				p++;
			for (;;) {
				if (glob_at(start, p, s))
					return true;
				if (!*s || *s == '/')
					return false;
				s++;
			}
		}
		case '?':
			if (!*s || *s == '/')
				return false;
			p++;
			s++;
			break;
		case '[': {
			bool hit = false;

			if (*s && *s != '/' &&
			    match_class(&p, (unsigned char)*s, &hit)) {
				if (!hit)
					return false;
				s++;
				break;
			}
			if (*s != '[')
				return false;
			p++;
			s++;
			break;
		}
		case '\\':
			if (p[1])
				p++;
			/* fall through */
		default:
			if (*p != *s)
				return false;
			p++;
			s++;
			break;
		}
	}
}

bool mf_ignore_glob(const char *pat, const char *str)
{
	return glob_at(pat, pat, str);
}

/* Parse one line (no '\n') into @out; returns 1 for a pattern, 0 for none. */
static int parse_line(const char *line, size_t len, struct pattern *out)
{
	size_t start = 0;
	char *g;

	if (len && line[len - 1] == '\r')
		len--;
	/* trailing spaces, unless escaped */
	while (len && line[len - 1] == ' ' &&
	       !(len >= 2 && line[len - 2] == '\\'))
		len--;
	if (!len || line[0] == '#')
		return 0;
	memset(out, 0, sizeof(*out));
	if (line[0] == '!') {
		out->negate = true;
		start = 1;
	} else if (line[0] == '\\' && len > 1 &&
		   (line[1] == '!' || line[1] == '#')) {
		start = 1;
	}
	if (len > start && line[len - 1] == '/') {
		out->dir_only = true;
		len--;
	}
	if (len > start && line[start] == '/') {
		out->anchored = true;
		start++;
	}
	if (len <= start)
		return 0;
	if (memchr(line + start, '/', len - start))
		out->anchored = true;
	g = malloc(len - start + 1);
	if (!g)
		return -ENOMEM;
	memcpy(g, line + start, len - start);
	g[len - start] = '\0';
	out->glob = g;
	return 1;
}

int mf_ignore_add(struct mf_ignore **igp, const char *text, size_t len)
{
	struct mf_ignore *ig = *igp;
	size_t first, pos = 0;
	int ret = 0;

	if (!ig) {
		ig = calloc(1, sizeof(*ig));
		if (!ig)
			return -ENOMEM;
	}
	first = ig->n;
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t llen = nl ? (size_t)(nl - (text + pos)) : len - pos;
		struct pattern pt;
		struct pattern *np;
		int r;

		if (llen > IGNORE_MAX_LINE) {
			ret = -E2BIG;
			goto out;
		}
		r = parse_line(text + pos, llen, &pt);
		pos += llen + 1;
		if (r < 0) {
			ret = r;
			goto out;
		}
		if (r == 0)
			continue;
		if (ig->n >= IGNORE_MAX_PATTERNS) {
			free(pt.glob);
			ret = -E2BIG;
			goto out;
		}
		np = mf_array_grow(ig->pats, &ig->cap, ig->n + 1, sizeof(*np));
		if (!np) {
			free(pt.glob);
			ret = -ENOMEM;
			goto out;
		}
		ig->pats = np;
		ig->pats[ig->n++] = pt;
	}
out:
	if (ret < 0) {
		while (ig->n > first)
			free(ig->pats[--ig->n].glob);
		if (!*igp)
			mf_ignore_free(ig);
		return ret;
	}
	*igp = ig;
	return 0;
}

size_t mf_ignore_count(const struct mf_ignore *ig)
{
	return ig ? ig->n : 0;
}

enum mf_ignore_verdict mf_ignore_match(const struct mf_ignore *ig,
				       const char *rel, bool is_dir)
{
	const char *base;

	if (!ig)
		return MF_IGNORE_NONE;
	base = strrchr(rel, '/');
	base = base ? base + 1 : rel;
	for (size_t i = ig->n; i-- > 0;) {
		const struct pattern *pt = &ig->pats[i];

		if (pt->dir_only && !is_dir)
			continue;
		if (mf_ignore_glob(pt->glob, pt->anchored ? rel : base))
			return pt->negate ? MF_IGNORE_INCLUDE : MF_IGNORE_EXCLUDE;
	}
	return MF_IGNORE_NONE;
}

void mf_ignore_free(struct mf_ignore *ig)
{
	if (!ig)
		return;
	for (size_t i = 0; i < ig->n; i++)
		free(ig->pats[i].glob);
	free(ig->pats);
	free(ig);
}
