/* SPDX-License-Identifier: MIT */
/*
 * mf_ignore - gitignore-style patterns for musefs-scan: the rules of a
 * .musefsignore file (which apply to the subtree of the directory holding
 * it) and of --exclude GLOB options (which apply under each root).
 *
 * Syntax, after gitignore(5): one pattern per line; blank lines and lines
 * starting with '#' are ignored; trailing unescaped spaces are dropped; a
 * leading '!' re-includes what an earlier pattern excluded; a trailing '/'
 * matches directories only; a pattern with a '/' at the start or in the
 * middle is anchored to the directory of the rules, one without matches
 * the last path component at any depth. '*' matches any run of bytes but
 * '/', '?' one byte but '/', '[...]' a class ('!' or '^' negates, ranges
 * a-z), '**' whole path components ("a/ ** /b", "** /x", "x/ **"), '\' quotes
 * the next byte. Names are bytes: no case folding, no UTF-8 decoding.
 */
#ifndef MF_IGNORE_H
#define MF_IGNORE_H

#include <stdbool.h>
#include <stddef.h>

struct mf_ignore;

/* Result of mf_ignore_match(). */
enum mf_ignore_verdict {
	MF_IGNORE_NONE = 0,	/* no pattern matched */
	MF_IGNORE_EXCLUDE = 1,	/* the last matching pattern excludes */
	MF_IGNORE_INCLUDE = 2,	/* the last matching pattern is a '!' one */
};

/*
 * Add the patterns in @text (@len bytes, lines separated by '\n', a final
 * '\r' on a line is dropped) to *@ig, creating it when *@ig is NULL.
 * Lines longer than 4096 bytes and more than 4096 patterns in all are
 * refused with -E2BIG (nothing of @text is added). Returns 0, -ENOMEM or
 * -E2BIG. Not thread-safe for one *@ig; a finished set is read-only.
 */
int mf_ignore_add(struct mf_ignore **ig, const char *text, size_t len);

/* Number of patterns in @ig (0 for NULL). */
size_t mf_ignore_count(const struct mf_ignore *ig);

/*
 * Match @rel, a path relative to the rules' directory ("a/b.flac", no
 * leading '/'), against the patterns of @ig (NULL matches nothing);
 * @is_dir says whether @rel names a directory. The last matching pattern
 * decides. Thread-safe (reads only).
 */
enum mf_ignore_verdict mf_ignore_match(const struct mf_ignore *ig,
				       const char *rel, bool is_dir);

/* Free @ig; NULL is a no-op. */
void mf_ignore_free(struct mf_ignore *ig);

/*
 * Match one glob @pat against @str with the rules above ('*' and '?' never
 * match '/'; '**' spans components). Returns true on a match. Exposed for
 * the unit tests. Thread-safe.
 */
bool mf_ignore_glob(const char *pat, const char *str);

#endif /* MF_IGNORE_H */
