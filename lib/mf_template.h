/* SPDX-License-Identifier: MIT */
/*
 * mf_template - beets-style path templates: parse a template once, then
 * render one relative path per track from its tags. Rendering sanitizes
 * every path component, so its output is always safe to hand to mf_tree
 * (no absolute paths, no "." or "..", no control bytes, valid UTF-8,
 * every component 1..255 bytes). Spec: DESIGN.md "Path templates".
 *
 * Syntax (byte-oriented; the template itself is UTF-8):
 *
 *   text        literal text, copied (sanitized like values)
 *   /           directory separator; the text after the last one names
 *               the file. The template may not start or end with '/' and
 *               may not contain "//".
 *   $field      the value of tag 'field'; a field name is [A-Za-z0-9_]+,
 *               taken greedily, and is case-insensitive (folded to lower
 *               case, matching the store's canonical tag keys)
 *   ${field}    the same, delimited: "${disc}x" ends the name at '}'
 *   ${a|b|c}    the first present field of a, b, c
 *   $!{field}   the value's '/' become directory separators; empty
 *               segments ("a//b", leading or trailing '/') are dropped.
 *               Alternatives work as in ${a|b}.
 *   [ ... ]     optional section: emitted only if at least one field
 *               referenced inside it (at any nesting depth) is present.
 *               Sections nest (at most MF_TEMPLATE_DEPTH_MAX deep)
 *               and may contain '/'. A section that references no
 *               field is a parse error (write "$[" for a literal
 *               bracket).
 *   $$ $[ $]    a literal '$', '[' or ']'
 *
 * A field is *present* when the get callback returns a non-NULL,
 * non-empty string; fallbacks never make a field present.
 */
#ifndef MF_TEMPLATE_H
#define MF_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>

/* A parsed template; immutable after mf_template_parse(). */
struct mf_template;

/* Longest rendered component in bytes, extension included (NAME_MAX). */
#define MF_TEMPLATE_NAME_MAX 255

/* Longest rendered path in bytes (PATH_MAX - 1; so at most 2048 levels). */
#define MF_TEMPLATE_PATH_MAX 4095

/* Deepest nesting of optional sections (rendering recurses per level). */
#define MF_TEMPLATE_DEPTH_MAX 32

/* Longest accepted file extension in bytes, without the dot. */
#define MF_TEMPLATE_EXT_MAX 16

/*
 * Return the value of tag @field (lower case, NUL-terminated) for the
 * track being rendered, or NULL if the track has none. The string is
 * borrowed: it must stay valid until the callback is called again or
 * mf_template_render() returns. "" counts as absent. The value should be
 * UTF-8; invalid bytes are rendered as '_'.
 */
typedef const char *(*mf_template_get_fn)(void *ctx, const char *field);

/* One "--fallback key=value": @value renders when @field is absent. */
struct mf_template_fallback {
	const char *field;	/* matched case-insensitively */
	const char *value;	/* rendered and sanitized like a tag value */
};

/*
 * Rendering options; all strings borrowed for the duration of the call.
 * A zeroed struct (or a NULL pointer) means: no fallbacks, absent fields
 * render as "", no skipping.
 *
 * An absent field renders as, in order:
 *   1. the fallback of the first of its alternatives that has one;
 *   2. with @skip_on_missing, outside every [...] section: the track is
 *      dropped (mf_template_render() returns -ENOENT);
 *   3. @default_fallback, if not NULL;
 *   4. "" (a component left empty then becomes "_").
 * So @default_fallback only fills fields inside emitted [...] sections
 * when @skip_on_missing is set.
 */
struct mf_template_opts {
	const struct mf_template_fallback *fallbacks;	/* array or NULL */
	size_t nfallbacks;		/* entries in @fallbacks */
	const char *default_fallback;	/* NULL: none */
	bool skip_on_missing;		/* drop tracks missing a needed field */
};

/*
 * Parse @text into a template.
 *
 * Returns 0 and sets *@out (caller frees with mf_template_free()), or
 * -EINVAL for a syntax error: then, if @errbuf is not NULL, a message such
 * as "column 7: unterminated '${'" is written there (always NUL-terminated,
 * truncated to @errlen bytes; columns count UTF-8 characters from 1), or
 * -ENOMEM (message "out of memory"). On failure *@out is left unchanged.
 * Thread-safety: reentrant.
 */
int mf_template_parse(const char *text, struct mf_template **out,
		      char *errbuf, size_t errlen);

/* Free a template from mf_template_parse(); NULL is a no-op. */
void mf_template_free(struct mf_template *t);

/*
 * Render the relative path of one track: components joined by '/', the
 * last one ending in "." @ext unless @ext is NULL or "". @opts may be
 * NULL. @get is called with @ctx for every field the template needs.
 *
 * Every component is sanitized: '/' inside values (outside $!{}),
 * bytes 0x00..0x1F and 0x7F and invalid UTF-8 bytes become '_'; leading
 * and trailing spaces are trimmed; an empty component becomes "_"; a
 * component (or file stem) that is "." or ".." becomes "_" or "__"; a
 * component is cut to MF_TEMPLATE_NAME_MAX bytes on a UTF-8 character
 * boundary, and for the file component the stem is cut so that the
 * extension stays whole.
 *
 * Returns 0 and sets *@out to a new string (caller frees with free(3)),
 * -ENOENT when @opts->skip_on_missing drops the track, -ENAMETOOLONG
 * when the path is longer than MF_TEMPLATE_PATH_MAX, -EINVAL when @ext
 * is longer than MF_TEMPLATE_EXT_MAX or contains '/', '.', control bytes
 * or invalid UTF-8, or -ENOMEM. On failure *@out is left unchanged.
 * Thread-safety: a template may be rendered from many threads at once.
 */
int mf_template_render(const struct mf_template *t,
		       const struct mf_template_opts *opts,
		       mf_template_get_fn get, void *ctx, const char *ext,
		       char **out);

/*
 * The distinct field names referenced by @t (lower case, in order of
 * first appearance, alternatives included), so the caller can load only
 * those tags. mf_template_nfields() gives the count; mf_template_field()
 * returns name @i (borrowed from @t, valid until mf_template_free()) or
 * NULL if @i is out of range. Thread-safe.
 */
size_t mf_template_nfields(const struct mf_template *t);
const char *mf_template_field(const struct mf_template *t, size_t i);

#endif /* MF_TEMPLATE_H */
