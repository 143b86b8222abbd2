/* SPDX-License-Identifier: MIT */
/*
 * mf_template - parse beets-style path templates into a flat node list and
 * render them against a track's tags. Rendering first expands the nodes
 * into one string in which '/' only ever means "directory separator"
 * (values are sanitized as they are appended), then splits it into
 * components and applies the per-component rules (trim, cap, ".", "..").
 */
#include "mf_template.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mf_array.h"
#include "mf_utf8.h"
#include "mf_banned.h"

enum tpl_kind {
	TPL_TEXT,	/* literal bytes t->text[off, off + len) */
	TPL_SEP,	/* directory separator */
	TPL_FIELD,	/* alternatives t->alts[off, off + len) */
	TPL_OPT,	/* optional section; its nodes are [index + 1, end) */
};

struct tpl_node {
	enum tpl_kind kind;
	bool explode;		/* TPL_FIELD: $!{...} */
	bool has_field;		/* TPL_OPT: references a field (parse only) */
	size_t off;		/* TEXT: into text; FIELD: into alts */
	size_t len;		/* TEXT: bytes; FIELD: alternatives */
	size_t end;		/* TPL_OPT: one past its last node */
	size_t parent;		/* TPL_OPT: enclosing section or SIZE_MAX */
	size_t col;		/* byte offset in the source (errors) */
};

struct mf_template {
	struct tpl_node *nodes;	/* immutable after parse */
	size_t nnodes;
	char *text;		/* literal bytes, unescaped */
	size_t text_len;
	size_t *alts;		/* indexes into fields */
	size_t nalts;
	char **fields;		/* distinct lower-case field names */
	size_t nfields;
};

/* ---- growable buffers ---- */

struct strbuf {
	char *buf;
	size_t len;
	size_t cap;
};

static int sb_grow(struct strbuf *sb, size_t extra)
{
	size_t want, cap;
	char *p;

	if (extra > SIZE_MAX - sb->len - 1)
		return -ENOMEM;
	want = sb->len + extra + 1;
	if (want <= sb->cap)
		return 0;
	cap = sb->cap ? sb->cap : 64;
	while (cap < want)
		cap = cap > SIZE_MAX / 2 ? want : cap * 2;
	p = realloc(sb->buf, cap);
	if (!p)
		return -ENOMEM;
	sb->buf = p;
	sb->cap = cap;
	return 0;
}

static int sb_add(struct strbuf *sb, const char *s, size_t len)
{
	int ret = sb_grow(sb, len);

	if (ret)
		return ret;
	memcpy(sb->buf + sb->len, s, len);
	sb->len += len;
	sb->buf[sb->len] = '\0';
	return 0;
}

static int sb_addc(struct strbuf *sb, char c)
{
	return sb_add(sb, &c, 1);
}

/*
 * Append @len bytes of @s with control bytes and invalid UTF-8 replaced by
 * '_'. '/' becomes '_' too unless @split; then it is a separator, and
 * empty segments of @s are dropped.
 */
static int sb_add_sanitized(struct strbuf *sb, const char *s, size_t len,
			    bool split)
{
	const unsigned char *u = (const unsigned char *)s;
	bool pending_sep = false, any = false;
	size_t i = 0, n;
	int ret;

	while (i < len) {
		if (u[i] == '/' && split) {
			pending_sep = any;
			i++;
			continue;
		}
		if (pending_sep) {
			ret = sb_addc(sb, '/');
			if (ret)
				return ret;
			pending_sep = false;
		}
		any = true;
		n = mf_utf8_next(u + i, len - i, NULL);
		if (n == 1 && (u[i] < 0x20 || u[i] == 0x7F || u[i] == '/'))
			n = 0;
		if (n == 0) {
			ret = sb_addc(sb, '_');
			i++;
		} else {
			ret = sb_add(sb, s + i, n);
			i += n;
		}
		if (ret)
			return ret;
	}
	return 0;
}

/* ---- parsing ---- */

static bool is_field_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_';
}

/* 1-based column of byte offset @off, counting UTF-8 characters. */
static size_t column_of(const char *text, size_t off)
{
	size_t i, col = 1;

	for (i = 0; i < off; i++)
		if (((unsigned char)text[i] & 0xC0) != 0x80)
			col++;
	return col;
}

struct parser {
	const char *src;
	struct mf_template *t;
	size_t nodes_cap, text_cap, alts_cap, fields_cap;
	size_t cur;		/* innermost open section or SIZE_MAX */
	size_t depth;		/* open sections */
	char *errbuf;
	size_t errlen;
};

static int parse_error(struct parser *p, size_t off, const char *what)
{
	if (p->errbuf && p->errlen)
		snprintf(p->errbuf, p->errlen, "column %zu: %s",
			 column_of(p->src, off), what);
	return -EINVAL;
}

static int add_node(struct parser *p, enum tpl_kind kind, size_t col,
		    struct tpl_node **out)
{
	struct mf_template *t = p->t;
	struct tpl_node *n;

	n = mf_array_grow(t->nodes, &p->nodes_cap, t->nnodes + 1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	t->nodes = n;
	n = &t->nodes[t->nnodes++];
	memset(n, 0, sizeof(*n));
	n->kind = kind;
	n->col = col;
	n->parent = SIZE_MAX;
	*out = n;
	return 0;
}

/* Append a literal byte, merging it into a preceding TPL_TEXT node. */
static int add_literal(struct parser *p, char c, size_t col)
{
	struct mf_template *t = p->t;
	struct tpl_node *n;
	char *text;
	int ret;

	text = mf_array_grow(t->text, &p->text_cap, t->text_len + 1, 1);
	if (!text)
		return -ENOMEM;
	t->text = text;
	t->text[t->text_len] = c;
	if (t->nnodes && t->nodes[t->nnodes - 1].kind == TPL_TEXT) {
		t->nodes[t->nnodes - 1].len++;
	} else {
		ret = add_node(p, TPL_TEXT, col, &n);
		if (ret)
			return ret;
		n->off = t->text_len;
		n->len = 1;
	}
	t->text_len++;
	return 0;
}

/* Record field @name (@len bytes) as the next alternative of a node. */
static int add_alt(struct parser *p, const char *name, size_t len)
{
	struct mf_template *t = p->t;
	size_t i, j, *alts;
	char *copy, **fields;

	for (i = 0; i < t->nfields; i++)
		if (strlen(t->fields[i]) == len &&
		    strncasecmp(t->fields[i], name, len) == 0)
			break;
	if (i == t->nfields) {
		fields = mf_array_grow(t->fields, &p->fields_cap, i + 1,
				    sizeof(*fields));
		if (!fields)
			return -ENOMEM;
		t->fields = fields;
		copy = malloc(len + 1);
		if (!copy)
			return -ENOMEM;
		for (j = 0; j < len; j++)
			copy[j] = (name[j] >= 'A' && name[j] <= 'Z') ?
				  (char)(name[j] - 'A' + 'a') : name[j];
		copy[len] = '\0';
		t->fields[t->nfields++] = copy;
	}
	alts = mf_array_grow(t->alts, &p->alts_cap, t->nalts + 1, sizeof(*alts));
	if (!alts)
		return -ENOMEM;
	t->alts = alts;
	t->alts[t->nalts++] = i;
	return 0;
}

/* Mark the open sections as referencing a field. */
static void note_field(struct parser *p)
{
	if (p->cur != SIZE_MAX)
		p->t->nodes[p->cur].has_field = true;
}

/*
 * Parse the field reference whose '$' is at byte @dollar of the source.
 * Returns the number of bytes it spans, '$' included, or a negative errno.
 */
static long parse_field(struct parser *p, size_t dollar)
{
	const char *s = p->src;
	size_t pos = dollar + 1, start, alt0 = p->t->nalts;
	struct tpl_node *n;
	bool explode = false;
	int ret;

	if (s[pos] == '!') {
		explode = true;
		pos++;
		if (s[pos] != '{')
			return parse_error(p, dollar, "'$!' must be followed by '{'");
	}
	if (s[pos] != '{') {
		start = pos;
		while (is_field_char(s[pos]))
			pos++;
		if (pos == start)
			return parse_error(p, dollar,
				"empty field name after '$' (write '$$' for a literal '$')");
		ret = add_alt(p, s + start, pos - start);
		if (ret)
			return ret;
	} else {
		pos++;
		for (;;) {
			start = pos;
			while (is_field_char(s[pos]))
				pos++;
			if (s[pos] == '\0')
				return parse_error(p, dollar,
						   explode ? "unterminated '$!{'" :
						   "unterminated '${'");
			if (s[pos] != '}' && s[pos] != '|')
				return parse_error(p, pos,
						   "invalid character in field name");
			if (pos == start)
				return parse_error(p, pos, "empty field name");
			ret = add_alt(p, s + start, pos - start);
			if (ret)
				return ret;
			if (s[pos++] == '}')
				break;
		}
	}
	ret = add_node(p, TPL_FIELD, dollar, &n);
	if (ret)
		return ret;
	n->explode = explode;
	n->off = alt0;
	n->len = p->t->nalts - alt0;
	note_field(p);
	return (long)(pos - dollar);
}

static int parse(struct parser *p)
{
	const char *s = p->src;
	struct mf_template *t = p->t;
	struct tpl_node *n;
	size_t pos = 0, open;
	long used;
	int ret;

	if (s[0] == '\0')
		return parse_error(p, 0, "empty template");
	if (s[0] == '/')
		return parse_error(p, 0, "absolute path; the template must be relative");
	while (s[pos]) {
		switch (s[pos]) {
		case '$':
			if (s[pos + 1] == '$' || s[pos + 1] == '[' ||
			    s[pos + 1] == ']') {
				ret = add_literal(p, s[pos + 1], pos);
				if (ret)
					return ret;
				pos += 2;
				break;
			}
			used = parse_field(p, pos);
			if (used < 0)
				return (int)used;
			pos += (size_t)used;
			break;
		case '[':
			if (p->depth == MF_TEMPLATE_DEPTH_MAX)
				return parse_error(p, pos, "optional sections nested more than 32 deep");
			p->depth++;
			ret = add_node(p, TPL_OPT, pos, &n);
			if (ret)
				return ret;
			n->parent = p->cur;
			p->cur = t->nnodes - 1;
			pos++;
			break;
		case ']':
			if (p->cur == SIZE_MAX)
				return parse_error(p, pos, "unmatched ']' (write '$]' for a literal ']')");
			open = p->cur;
			if (!t->nodes[open].has_field)
				return parse_error(p, t->nodes[open].col,
					"optional section references no field (write '$[' for a literal '[')");
			t->nodes[open].end = t->nnodes;
			p->cur = t->nodes[open].parent;
			p->depth--;
			note_field(p);
			pos++;
			break;
		case '/':
			if (t->nnodes && t->nodes[t->nnodes - 1].kind == TPL_SEP)
				return parse_error(p, pos, "empty directory name ('//')");
			ret = add_node(p, TPL_SEP, pos, &n);
			if (ret)
				return ret;
			pos++;
			break;
		default:
			ret = add_literal(p, s[pos], pos);
			if (ret)
				return ret;
			pos++;
			break;
		}
	}
	if (p->cur != SIZE_MAX)
		return parse_error(p, t->nodes[p->cur].col, "unterminated '['");
	if (t->nodes[t->nnodes - 1].kind == TPL_SEP)
		return parse_error(p, t->nodes[t->nnodes - 1].col,
			"template ends with '/'; the last component names the file");
	return 0;
}

void mf_template_free(struct mf_template *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; i < t->nfields; i++)
		free(t->fields[i]);
	free(t->fields);
	free(t->alts);
	free(t->text);
	free(t->nodes);
	free(t);
}

int mf_template_parse(const char *text, struct mf_template **out,
		      char *errbuf, size_t errlen)
{
	struct parser p = {
		.src = text,
		.cur = SIZE_MAX,
		.errbuf = errbuf,
		.errlen = errlen,
	};
	int ret;

	if (errbuf && errlen)
		errbuf[0] = '\0';
	p.t = calloc(1, sizeof(*p.t));
	ret = p.t ? parse(&p) : -ENOMEM;
	if (ret) {
		if (ret == -ENOMEM && errbuf && errlen)
			snprintf(errbuf, errlen, "out of memory");
		mf_template_free(p.t);
		return ret;
	}
	*out = p.t;
	return 0;
}

size_t mf_template_nfields(const struct mf_template *t)
{
	return t->nfields;
}

const char *mf_template_field(const struct mf_template *t, size_t i)
{
	return i < t->nfields ? t->fields[i] : NULL;
}

/* ---- rendering ---- */

struct render {
	const struct mf_template *t;
	const struct mf_template_opts *opts;
	mf_template_get_fn get;
	void *ctx;
	struct strbuf sb;
};

static const char *fallback_for(const struct render *r, const char *field)
{
	size_t i;

	for (i = 0; i < r->opts->nfallbacks; i++)
		if (r->opts->fallbacks[i].field &&
		    strcasecmp(r->opts->fallbacks[i].field, field) == 0)
			return r->opts->fallbacks[i].value;
	return NULL;
}

/* Expand one field node; sets *@present if one alternative was. */
static int render_field(struct render *r, const struct tpl_node *n,
			bool optional, bool *present)
{
	const struct mf_template *t = r->t;
	const char *v = NULL;
	size_t i;

	for (i = 0; i < n->len && !v; i++) {
		v = r->get(r->ctx, t->fields[t->alts[n->off + i]]);
		if (v && !*v)
			v = NULL;
	}
	if (v) {
		*present = true;
	} else {
		for (i = 0; i < n->len && !v; i++)
			v = fallback_for(r, t->fields[t->alts[n->off + i]]);
		if (!v && r->opts->skip_on_missing && !optional)
			return -ENOENT;
		if (!v)
			v = r->opts->default_fallback;
		if (!v)
			return 0;
	}
	return sb_add_sanitized(&r->sb, v, strlen(v), n->explode);
}

/*
 * Expand nodes [@begin, @end). *@present is set if any field referenced
 * there was present; @optional says we are inside a [...] section.
 */
static int render_seq(struct render *r, size_t begin, size_t end,
		      bool optional, bool *present)
{
	const struct mf_template *t = r->t;
	const struct tpl_node *n;
	bool sub;
	size_t i, mark;
	int ret = 0;

	for (i = begin; i < end && !ret; i++) {
		n = &t->nodes[i];
		switch (n->kind) {
		case TPL_TEXT:
			ret = sb_add_sanitized(&r->sb, t->text + n->off,
					       n->len, false);
			break;
		case TPL_SEP:
			ret = sb_addc(&r->sb, '/');
			break;
		case TPL_FIELD:
			ret = render_field(r, n, optional, present);
			break;
		case TPL_OPT:
			mark = r->sb.len;
			sub = false;
			ret = render_seq(r, i + 1, n->end, true, &sub);
			if (!ret && !sub) {
				r->sb.len = mark;
				if (r->sb.buf)
					r->sb.buf[mark] = '\0';
			}
			*present = *present || sub;
			i = n->end - 1;
			break;
		}
	}
	return ret;
}

/*
 * Append the sanitized component @s (@len bytes) to @out, capped at @max
 * bytes: trim spaces, cut, empty -> "_", "." / ".." -> "_" / "__".
 */
static int add_component(struct strbuf *out, const char *s, size_t len,
			 size_t max)
{
	while (len && *s == ' ') {
		s++;
		len--;
	}
	len = mf_utf8_cut(s, len, max);
	while (len && s[len - 1] == ' ')
		len--;
	if (len == 0)
		return sb_addc(out, '_');
	if (len == 1 && s[0] == '.')
		return sb_addc(out, '_');
	if (len == 2 && s[0] == '.' && s[1] == '.')
		return sb_add(out, "__", 2);
	return sb_add(out, s, len);
}

static bool ext_valid(const char *ext, size_t len)
{
	size_t i, n;

	if (len > MF_TEMPLATE_EXT_MAX)
		return false;
	for (i = 0; i < len; i += n) {
		n = mf_utf8_next((const uint8_t *)ext + i, len - i, NULL);
		if (n == 0 || (n == 1 && ((unsigned char)ext[i] < 0x20 ||
		    ext[i] == 0x7F || ext[i] == '/' || ext[i] == '.')))
			return false;
	}
	return true;
}

int mf_template_render(const struct mf_template *t,
		       const struct mf_template_opts *opts,
		       mf_template_get_fn get, void *ctx, const char *ext,
		       char **out)
{
	static const struct mf_template_opts no_opts;
	struct render r = {
		.t = t,
		.opts = opts ? opts : &no_opts,
		.get = get,
		.ctx = ctx,
	};
	struct strbuf path = { 0 };
	size_t ext_len = ext ? strlen(ext) : 0, start, end, max;
	bool present = false;
	int ret;

	if (!ext_valid(ext ? ext : "", ext_len))
		return -EINVAL;
	ret = render_seq(&r, 0, t->nnodes, false, &present);
	if (ret)
		goto out;
	ret = sb_grow(&r.sb, 0);
	if (ret)
		goto out;
	for (start = 0;; start = end + 1) {
		end = start;
		while (end < r.sb.len && r.sb.buf[end] != '/')
			end++;
		if (end < r.sb.len) {
			ret = add_component(&path, r.sb.buf + start,
					    end - start, MF_TEMPLATE_NAME_MAX);
			if (!ret)
				ret = sb_addc(&path, '/');
			if (ret)
				goto out;
			continue;
		}
		max = MF_TEMPLATE_NAME_MAX - (ext_len ? ext_len + 1 : 0);
		ret = add_component(&path, r.sb.buf + start, end - start, max);
		if (!ret && ext_len) {
			ret = sb_addc(&path, '.');
			if (!ret)
				ret = sb_add(&path, ext, ext_len);
		}
		break;
	}
	if (!ret && path.len > MF_TEMPLATE_PATH_MAX)
		ret = -ENAMETOOLONG;
	if (ret)
		goto out;
	*out = path.buf;
	path.buf = NULL;
out:
	free(path.buf);
	free(r.sb.buf);
	return ret;
}
