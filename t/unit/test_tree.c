/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for mf_tree: lookups, readdir order, node fields, collision
 * suffixes (deterministic whatever the input order), file/directory name
 * clashes, in-place patching (an incremental tree always equals a fresh
 * build of the same state, over random change sequences), inode stability
 * across renames and moves, empty directories removed, lookup counts and
 * forget (no slot reused while referenced, new generation on reuse), case
 * folding, invalidation reports, input validation, allocation failures,
 * concurrent readers under a rwlock, and a 100 000-track build whose
 * memory per track is printed as a TAP diagnostic. TAP output via cmocka.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "fault_alloc.h"
#include "mf_tree.h"

#include "mf_banned.h"

#define N_ENTRIES(a) (sizeof(a) / sizeof((a)[0]))
#define INO(t, n) mf_tree_ino((t), (n))

/* A fresh tree holding exactly @e. */
static struct mf_tree *build(const struct mf_tree_change *e, size_t n)
{
	struct mf_tree *t = mf_tree_new(false);

	assert_non_null(t);
	assert_int_equal(mf_tree_apply(t, e, n, 1, NULL, NULL), 0);
	return t;
}

/* The node at relative path @path, walking from the root, or NULL. */
static const struct mf_node *walk(const struct mf_tree *t, const char *path)
{
	const struct mf_node *n = mf_tree_root(t);
	char buf[1024], *s, *slash;

	snprintf(buf, sizeof(buf), "%s", path);
	for (s = buf; n && *s; s = slash ? slash + 1 : s + strlen(s)) {
		slash = strchr(s, '/');
		if (slash)
			*slash = '\0';
		n = mf_tree_lookup(t, INO(t, n), s);
	}
	return n;
}

static void assert_path_of_track(const struct mf_tree *t, int64_t id,
				 const char *path)
{
	const struct mf_node *n = mf_tree_find_track(t, id);
	char *p;

	assert_non_null(n);
	assert_int_equal(mf_node_track(n), id);
	assert_int_equal(mf_tree_path(t, n, &p), 0);
	if (strcmp(p, path) != 0)
		print_error("track %lld: got '%s', want '%s'\n",
			    (long long)id, p, path);
	assert_string_equal(p, path);
	free(p);
	assert_ptr_equal(walk(t, path), n);
}

/* Every directory is sorted, unique, non-empty (but the root), counted. */
static void check_shape(const struct mf_tree *t, const struct mf_node *d,
			size_t *files, size_t *dirs, bool strict)
{
	size_t nsub = 0;

	(*dirs)++;
	if (d != mf_tree_root(t))
		assert_true(mf_node_nchild(d) > 0);
	for (size_t i = 0; i < mf_node_nchild(d); i++) {
		const struct mf_node *c = mf_tree_child(t, d, i);

		assert_ptr_equal(mf_tree_parent(t, c), d);
		assert_ptr_equal(mf_tree_get(t, INO(t, c)), c);
		if (!strict)	/* names may repeat after ENOMEM */
			goto skip;
		assert_ptr_equal(mf_tree_lookup(t, INO(t, d), mf_node_name(c)), c);
		if (i)	/* in the tree's order: ASCII case folded or not */
			assert_true((mf_tree_casefold(t) ? strcasecmp : strcmp)(
				mf_node_name(mf_tree_child(t, d, i - 1)),
				mf_node_name(c)) < 0);
skip:
		if (mf_node_is_dir(c)) {
			nsub++;
			check_shape(t, c, files, dirs, strict);
		} else {
			(*files)++;
			assert_ptr_equal(mf_tree_find_track(t, mf_node_track(c)), c);
		}
	}
	assert_int_equal(nsub, mf_node_nsubdir(d));
}

struct cmp_ctx {
	const struct mf_tree *other;
	const struct mf_tree *self;
};

static int cmp_one(void *ctx, const struct mf_node *n)
{
	struct cmp_ctx *c = ctx;
	const struct mf_node *m = mf_tree_find_track(c->other, mf_node_track(n));
	bool fold = mf_tree_casefold(c->self);
	char *p, *q;

	assert_non_null(m);
	assert_int_equal(mf_tree_path(c->self, n, &p), 0);
	assert_int_equal(mf_tree_path(c->other, m, &q), 0);
	if (fold ? strcasecmp(p, q) != 0 : strcmp(p, q) != 0)
		print_error("track %lld: '%s' vs fresh '%s'\n",
			    (long long)mf_node_track(n), p, q);
	if (fold)	/* a directory keeps its first spelling */
		assert_int_equal(strcasecmp(p, q), 0);
	else
		assert_string_equal(p, q);
	free(p);
	free(q);
	return 0;
}

/* @t has the same files at the same paths as @ref, and a sound shape. */
static void assert_same(const struct mf_tree *t, const struct mf_tree *ref)
{
	struct cmp_ctx c = { .other = ref, .self = t };
	size_t files = 0, dirs = 0;

	check_shape(t, mf_tree_root(t), &files, &dirs, true);
	assert_int_equal(files, mf_tree_nfiles(t));
	assert_int_equal(dirs, mf_tree_ndirs(t));
	assert_int_equal(mf_tree_nfiles(t), mf_tree_nfiles(ref));
	assert_int_equal(mf_tree_ndirs(t), mf_tree_ndirs(ref));
	mf_tree_each_file(t, cmp_one, &c);
}

static void test_basic(void **state)
{
	static const struct mf_tree_change e[] = {
		{ 3, "B/Album 2/02 y.flac", 0 },
		{ 1, "A/Album/01 a.flac", 0 },
		{ 2, "A/Album/02 b.flac", 0 },
		{ 4, "B/Album 1/01 x.flac", 0 },
		{ 5, "A/loose.mp3", 0 },
		{ 6, "top.opus", 0 },
	};
	const struct mf_node *root, *a, *n;
	struct mf_tree *t;
	char *p;

	(void)state;
	t = build(e, N_ENTRIES(e));
	assert_int_equal(mf_tree_nnodes(t), 12);
	assert_int_equal(mf_tree_ndirs(t), 6);
	assert_int_equal(mf_tree_nfiles(t), 6);
	assert_true(mf_tree_bytes(t) > 0);

	root = mf_tree_root(t);
	assert_ptr_equal(mf_tree_get(t, MF_TREE_ROOT_INO), root);
	assert_int_equal(INO(t, root), MF_TREE_ROOT_INO);
	assert_true(mf_node_is_dir(root));
	assert_string_equal(mf_node_name(root), "");
	assert_ptr_equal(mf_tree_parent(t, root), root);
	assert_int_equal(mf_node_nchild(root), 3);
	assert_int_equal(mf_node_nsubdir(root), 2);
	assert_int_equal(mf_node_track(root), -1);
	assert_int_equal(mf_tree_path(t, root, &p), 0);
	assert_string_equal(p, "");
	free(p);

	assert_string_equal(mf_node_name(mf_tree_child(t, root, 0)), "A");
	assert_string_equal(mf_node_name(mf_tree_child(t, root, 1)), "B");
	assert_string_equal(mf_node_name(mf_tree_child(t, root, 2)), "top.opus");
	assert_null(mf_tree_child(t, root, 3));

	a = mf_tree_lookup(t, MF_TREE_ROOT_INO, "A");
	assert_non_null(a);
	assert_true(mf_node_is_dir(a));
	assert_int_equal(mf_node_nchild(a), 2);
	assert_int_equal(mf_node_nsubdir(a), 1);
	assert_int_equal(mf_node_mtime_ns(a), 1);
	assert_ptr_equal(mf_tree_parent(t, a), root);
	assert_ptr_equal(mf_tree_get(t, INO(t, a)), a);

	n = walk(t, "A/Album/02 b.flac");
	assert_non_null(n);
	assert_false(mf_node_is_dir(n));
	assert_int_equal(mf_node_track(n), 2);
	assert_int_equal(mf_node_nchild(n), 0);
	assert_null(mf_tree_child(t, n, 0));
	assert_null(mf_tree_lookup(t, INO(t, n), "x"));
	assert_string_equal(mf_node_want(n), "02 b.flac");

	assert_null(mf_tree_lookup(t, MF_TREE_ROOT_INO, "a"));
	assert_null(mf_tree_lookup(t, MF_TREE_ROOT_INO, "Z"));
	assert_null(mf_tree_lookup(t, MF_TREE_ROOT_INO, ""));
	assert_null(mf_tree_lookup(t, 999999, "A"));
	assert_null(mf_tree_get(t, 0));
	assert_null(mf_tree_get(t, 999999));
	assert_null(mf_tree_find_track(t, 0));
	assert_null(mf_tree_find_track(t, 7));

	assert_path_of_track(t, 1, "A/Album/01 a.flac");
	assert_path_of_track(t, 3, "B/Album 2/02 y.flac");
	assert_path_of_track(t, 5, "A/loose.mp3");
	assert_path_of_track(t, 6, "top.opus");

	/* the attribute cache */
	{
		uint64_t sz;
		int64_t mt;

		assert_false(mf_node_attr_get(n, &sz, &mt));
		mf_node_attr_set(n, 1234, 99);
		assert_true(mf_node_attr_get(n, &sz, &mt));
		assert_int_equal(sz, 1234);
		assert_int_equal(mt, 99);
		assert_false(mf_node_attr_get(a, &sz, &mt));
	}
	mf_tree_free(t);
	mf_tree_free(NULL);
}

/* Collision input: the answer for every permutation of it. */
static const struct mf_tree_change coll[] = {
	{ 40, "d/x.flac", 0 },
	{ 10, "d/x.flac", 0 },
	{ 30, "d/x (2).flac", 0 },
	{ 20, "d/x.flac", 0 },
	{ 50, "d/noext", 0 },
	{ 60, "d/noext", 0 },
	{ 70, "d/.hidden", 0 },
	{ 80, "d/.hidden", 0 },
};

static void check_coll(const struct mf_tree *t)
{
	assert_path_of_track(t, 10, "d/x.flac");
	assert_path_of_track(t, 30, "d/x (2).flac");	/* its own name */
	assert_path_of_track(t, 20, "d/x (3).flac");	/* skips (2) */
	assert_path_of_track(t, 40, "d/x (4).flac");
	assert_path_of_track(t, 50, "d/noext");
	assert_path_of_track(t, 60, "d/noext (2)");
	assert_path_of_track(t, 70, "d/.hidden");
	assert_path_of_track(t, 80, "d/.hidden (2)");
	assert_string_equal(mf_node_want(mf_tree_find_track(t, 40)), "x.flac");
}

/* Every order of a[k, n), applied in one batch and one change at a time. */
static void permute(struct mf_tree_change *a, size_t k, size_t n,
		    unsigned *count)
{
	struct mf_tree_change tmp;
	struct mf_tree *t;
	size_t i;

	if (k == n) {
		t = build(a, N_ENTRIES(coll));
		check_coll(t);
		mf_tree_free(t);
		t = mf_tree_new(false);
		for (i = 0; i < N_ENTRIES(coll); i++)
			assert_int_equal(mf_tree_apply(t, &a[i], 1, 1, NULL,
						       NULL), 0);
		check_coll(t);
		mf_tree_free(t);
		(*count)++;
		return;
	}
	for (i = k; i < n; i++) {
		tmp = a[k];
		a[k] = a[i];
		a[i] = tmp;
		permute(a, k + 1, n, count);
		a[i] = a[k];
		a[k] = tmp;
	}
}

static void test_collisions(void **state)
{
	struct mf_tree_change a[N_ENTRIES(coll)], rm;
	struct mf_tree *t;
	unsigned count = 0;
	uint64_t ino20;

	(void)state;
	memcpy(a, coll, sizeof(a));
	permute(a, 0, 5, &count);
	assert_int_equal(count, 120);

	/* removing the plain holder promotes the next track, same inode */
	t = build(coll, N_ENTRIES(coll));
	ino20 = INO(t, mf_tree_find_track(t, 20));
	rm = (struct mf_tree_change){ 10, NULL, 0 };
	assert_int_equal(mf_tree_apply(t, &rm, 1, 2, NULL, NULL), 0);
	assert_path_of_track(t, 20, "d/x.flac");
	assert_path_of_track(t, 40, "d/x (3).flac");
	assert_int_equal(INO(t, mf_tree_find_track(t, 20)), ino20);
	mf_tree_free(t);
}

static void test_file_dir_clash(void **state)
{
	static const struct mf_tree_change e[] = {
		{ 1, "a/b", 0 },
		{ 2, "a/b/c.flac", 0 },
		{ 3, "a/b (2)", 0 },
	};
	struct mf_tree_change rm = { 2, NULL, 0 };
	struct mf_tree *t;

	(void)state;
	t = build(e, N_ENTRIES(e));
	assert_true(mf_node_is_dir(walk(t, "a/b")));
	assert_path_of_track(t, 2, "a/b/c.flac");
	assert_path_of_track(t, 3, "a/b (2)");
	assert_path_of_track(t, 1, "a/b (3)");
	/* the directory goes: the file gets its plain name back */
	assert_int_equal(mf_tree_apply(t, &rm, 1, 2, NULL, NULL), 0);
	assert_path_of_track(t, 1, "a/b");
	assert_path_of_track(t, 3, "a/b (2)");
	mf_tree_free(t);
}

/* A suffix never pushes a name past 255 bytes nor splits a character. */
static void test_suffix_cap(void **state)
{
	char name[300], stem[250];
	struct mf_tree_change e[12];
	const struct mf_node *n;
	struct mf_tree *t;
	size_t i, len;
	int64_t id;

	(void)state;
	for (i = 0; i < 83; i++)
		memcpy(stem + 3 * i, "\xe2\x82\xac", 3);
	stem[249] = '\0';
	memcpy(name, stem, 249);
	memcpy(name + 249, ".flac", 6);
	for (i = 0; i < 12; i++) {
		e[i].track_id = (int64_t)i + 1;
		e[i].path = name;
	}
	t = build(e, 12);
	assert_int_equal(mf_node_nchild(mf_tree_root(t)), 12);
	for (id = 1; id <= 12; id++) {
		n = mf_tree_find_track(t, id);
		assert_non_null(n);
		len = strlen(mf_node_name(n));
		assert_true(len <= 255);
		assert_string_equal(mf_node_name(n) + len - 5, ".flac");
		assert_int_equal(memcmp(mf_node_name(n), stem,
			strcspn(mf_node_name(n), " .")), 0);
		assert_int_equal(strcspn(mf_node_name(n), " .") % 3, 0);
	}
	assert_string_equal(mf_node_name(mf_tree_find_track(t, 1)), name);
	n = mf_tree_find_track(t, 12);
	assert_non_null(strstr(mf_node_name(n), " (12).flac"));
	mf_tree_free(t);

	name[0] = 'a';
	name[1] = '.';
	memset(name + 2, 'b', 250);
	name[252] = '\0';
	t = build(e, 2);
	n = mf_tree_find_track(t, 2);
	assert_int_equal(strlen(mf_node_name(n)), 255);
	assert_int_equal(memcmp(mf_node_name(n), name, 251), 0);
	assert_string_equal(mf_node_name(n) + 251, " (2)");
	mf_tree_free(t);
}

static void test_invalid(void **state)
{
	static const char *const bad[] = {
		"", "/abs.flac", "a//b.flac", "a/", "./x.flac", "a/../x.flac",
		"a/.", "..",
	};
	struct mf_tree_change e[2];
	char longname[300];
	struct mf_tree *t;
	uint64_t ino;

	(void)state;
	e[0] = (struct mf_tree_change){ 1, "ok/x.flac", 0 };
	t = build(e, 1);
	ino = INO(t, walk(t, "ok/x.flac"));
	for (size_t i = 0; i < N_ENTRIES(bad); i++) {
		e[1] = (struct mf_tree_change){ 2, bad[i], 0 };
		assert_int_equal(mf_tree_apply(t, e, 2, 1, NULL, NULL), -EINVAL);
	}
	memset(longname, 'a', 256);
	longname[256] = '\0';
	e[1] = (struct mf_tree_change){ 2, longname, 0 };
	assert_int_equal(mf_tree_apply(t, e, 2, 1, NULL, NULL), -EINVAL);
	e[1] = (struct mf_tree_change){ 1, "other.flac", 0 };	/* repeated id */
	assert_int_equal(mf_tree_apply(t, e, 2, 1, NULL, NULL), -EINVAL);
	/* nothing changed */
	assert_int_equal(mf_tree_nfiles(t), 1);
	assert_int_equal(INO(t, walk(t, "ok/x.flac")), ino);
	longname[255] = '\0';
	e[1] = (struct mf_tree_change){ 2, longname, 0 };
	assert_int_equal(mf_tree_apply(t, e, 2, 1, NULL, NULL), 0);
	assert_int_equal(mf_tree_nfiles(t), 2);
	mf_tree_free(t);
}

/* ---- in-place patching ---- */

struct ev {
	char log[8192];
	size_t len;
};

static void record(void *ctx, uint64_t ino, const char *name)
{
	struct ev *ev = ctx;
	int n = snprintf(ev->log + ev->len, sizeof(ev->log) - ev->len,
			 name ? "E%llu:%s;" : "I%llu;",
			 (unsigned long long)ino, name);

	if (n > 0 && (size_t)n < sizeof(ev->log) - ev->len)
		ev->len += (size_t)n;
}

static bool saw(const struct ev *ev, const char *what)
{
	return strstr(ev->log, what) != NULL;
}

static void test_moves(void **state)
{
	static const struct mf_tree_change v1[] = {
		{ 1, "A/X/1.flac", 0 }, { 2, "A/X/2.flac", 0 }, { 3, "B/Y/3.flac", 0 },
		{ 4, "gone/4.flac", 0 },
	};
	struct mf_tree_change c[3];
	struct mf_tree *t;
	uint64_t a, ax, f1, f2, f3, gone, groot;
	struct ev ev = { .len = 0 };
	char want[64];

	(void)state;
	t = build(v1, N_ENTRIES(v1));
	a = INO(t, walk(t, "A"));
	ax = INO(t, walk(t, "A/X"));
	f1 = INO(t, walk(t, "A/X/1.flac"));
	f2 = INO(t, walk(t, "A/X/2.flac"));
	f3 = INO(t, walk(t, "B/Y/3.flac"));
	gone = INO(t, walk(t, "gone/4.flac"));
	groot = INO(t, walk(t, "gone"));

	/* rename in place, move across directories, delete */
	c[0] = (struct mf_tree_change){ 1, "A/X/one.flac", 0 };
	c[1] = (struct mf_tree_change){ 3, "A/Z/3.flac", 0 };
	c[2] = (struct mf_tree_change){ 4, NULL, 0 };
	assert_int_equal(mf_tree_apply(t, c, 3, 5, record, &ev), 0);
	assert_int_equal(INO(t, walk(t, "A/X/one.flac")), f1);
	assert_int_equal(INO(t, walk(t, "A/X/2.flac")), f2);
	assert_int_equal(INO(t, walk(t, "A/Z/3.flac")), f3);
	assert_int_equal(INO(t, walk(t, "A")), a);
	assert_int_equal(INO(t, walk(t, "A/X")), ax);
	assert_null(walk(t, "A/X/1.flac"));
	assert_null(walk(t, "B"));	/* emptied: removed */
	assert_null(walk(t, "gone"));
	assert_null(mf_tree_get(t, gone));
	assert_null(mf_tree_get(t, groot));
	assert_null(mf_tree_find_track(t, 4));
	assert_int_equal(mf_node_mtime_ns(walk(t, "A/X")), 5);
	assert_int_equal(mf_tree_ndirs(t), 4);
	/* what the kernel is told */
	snprintf(want, sizeof(want), "E%llu:1.flac;", (unsigned long long)ax);
	assert_true(saw(&ev, want));
	snprintf(want, sizeof(want), "I%llu;", (unsigned long long)f1);
	assert_true(saw(&ev, want));
	snprintf(want, sizeof(want), "E1:B;");
	assert_true(saw(&ev, want));
	snprintf(want, sizeof(want), "E1:gone;");
	assert_true(saw(&ev, want));
	snprintf(want, sizeof(want), "I%llu;", (unsigned long long)gone);
	assert_true(saw(&ev, want));

	/* same path again: only the inode is reported */
	ev.len = 0;
	ev.log[0] = '\0';
	c[0] = (struct mf_tree_change){ 2, "A/X/2.flac", 0 };
	assert_int_equal(mf_tree_apply(t, c, 1, 6, record, &ev), 0);
	snprintf(want, sizeof(want), "I%llu;", (unsigned long long)f2);
	assert_string_equal(ev.log, want);
	/* removing an unknown track is a no-op */
	c[0] = (struct mf_tree_change){ 99, NULL, 0 };
	assert_int_equal(mf_tree_apply(t, c, 1, 7, NULL, NULL), 0);
	/* a file becomes a directory name and back */
	c[0] = (struct mf_tree_change){ 5, "A/X/2.flac/inner.flac", 0 };
	assert_int_equal(mf_tree_apply(t, c, 1, 8, NULL, NULL), 0);
	assert_true(mf_node_is_dir(walk(t, "A/X/2.flac")));
	assert_path_of_track(t, 2, "A/X/2 (2).flac");
	assert_int_equal(INO(t, mf_tree_find_track(t, 2)), f2);
	c[0] = (struct mf_tree_change){ 5, NULL, 0 };
	assert_int_equal(mf_tree_apply(t, c, 1, 9, NULL, NULL), 0);
	assert_path_of_track(t, 2, "A/X/2.flac");
	mf_tree_free(t);
}

static void test_lookup_counts(void **state)
{
	struct mf_tree_change c[2] = { { 1, "d/a.flac", 0 }, { 2, "d/b.flac", 0 } };
	struct mf_tree *t = build(c, 2);
	const struct mf_node *n = walk(t, "d/a.flac");
	uint64_t ino = INO(t, n), gen = mf_node_gen(n), dino;

	(void)state;
	mf_tree_ref(t, n);
	mf_tree_ref(t, n);
	assert_int_equal(mf_tree_nlookup(t, ino), 2);
	dino = INO(t, walk(t, "d"));
	c[0] = (struct mf_tree_change){ 1, NULL, 0 };
	assert_int_equal(mf_tree_apply(t, c, 1, 2, NULL, NULL), 0);
	assert_null(mf_tree_get(t, ino));
	assert_int_equal(mf_tree_nlookup(t, ino), 2);
	/* a new file cannot take the referenced slot */
	c[0] = (struct mf_tree_change){ 3, "d/c.flac", 0 };
	assert_int_equal(mf_tree_apply(t, c, 1, 3, NULL, NULL), 0);
	assert_int_not_equal(INO(t, mf_tree_find_track(t, 3)), ino);
	mf_tree_forget(t, ino, 1);
	assert_int_equal(mf_tree_nlookup(t, ino), 1);
	mf_tree_forget(t, ino, 5);	/* never below 0 */
	assert_int_equal(mf_tree_nlookup(t, ino), 0);
	mf_tree_forget(t, 999999, 1);	/* unknown: ignored */
	/* now the slot is reclaimed at the next apply and reused, new gen */
	c[0] = (struct mf_tree_change){ 4, "e/x.flac", 0 };
	assert_int_equal(mf_tree_apply(t, c, 1, 4, NULL, NULL), 0);
	c[0] = (struct mf_tree_change){ 5, "e/y.flac", 0 };
	assert_int_equal(mf_tree_apply(t, c, 1, 5, NULL, NULL), 0);
	n = mf_tree_get(t, ino);
	assert_non_null(n);
	assert_true(mf_node_gen(n) > gen);
	assert_int_equal(INO(t, walk(t, "d")), dino);
	mf_tree_free(t);
}

/* A change of version gives the track a new node; the old one stays as an
 * orphan for the kernel's references, with its version and attributes. */
static void test_versions(void **state)
{
	struct mf_tree_change c[2] = { { 1, "d/a.flac", 7 }, { 2, "d/b.flac", 7 } };
	struct mf_tree *t = build(c, 2);
	const struct mf_node *n = walk(t, "d/a.flac"), *o;
	uint64_t ino = INO(t, n), dino = INO(t, walk(t, "d")), size, first, gen;
	uint64_t bino = INO(t, walk(t, "d/b.flac"));
	int64_t mtime;
	struct ev ev = { .len = 0 };
	char want[64];

	(void)state;
	assert_int_equal(mf_node_version(n), 7);
	assert_true(mf_node_live(n));
	mf_node_attr_set(n, 1234, 55);
	mf_tree_ref(t, n);
	/* same path, new version: a new inode at the same name */
	c[0] = (struct mf_tree_change){ 1, "d/a.flac", 8 };
	assert_int_equal(mf_tree_apply(t, c, 1, 2, record, &ev), 0);
	n = walk(t, "d/a.flac");
	assert_non_null(n);
	assert_int_not_equal(INO(t, n), ino);
	assert_int_equal(mf_node_version(n), 8);
	assert_false(mf_node_attr_get(n, &size, &mtime));
	assert_ptr_equal(mf_tree_find_track(t, 1), n);
	assert_int_equal(INO(t, walk(t, "d")), dino);	/* the directory stays */
	assert_int_equal(INO(t, walk(t, "d/b.flac")), bino);
	assert_int_equal(mf_tree_nfiles(t), 2);
	/* the old inode: gone from the tree, still readable as an orphan */
	assert_null(mf_tree_get(t, ino));
	o = mf_tree_get_any(t, ino);
	assert_non_null(o);
	assert_false(mf_node_live(o));
	assert_int_equal(mf_node_track(o), 1);
	assert_int_equal(mf_node_version(o), 7);
	assert_true(mf_node_attr_get(o, &size, &mtime));
	assert_int_equal(size, 1234);
	assert_int_equal(mtime, 55);
	/* the kernel forgets the name; the old inode's pages stay valid */
	snprintf(want, sizeof(want), "E%llu:a.flac;", (unsigned long long)dino);
	assert_true(saw(&ev, want));
	snprintf(want, sizeof(want), "I%llu;", (unsigned long long)ino);
	assert_false(saw(&ev, want));
	/* a move at the same version keeps the node */
	first = ino;
	ino = INO(t, n);
	c[0] = (struct mf_tree_change){ 1, "e/a.flac", 8 };
	assert_int_equal(mf_tree_apply(t, c, 1, 3, NULL, NULL), 0);
	assert_int_equal(INO(t, walk(t, "e/a.flac")), ino);
	/* a move with a new version: a new node at the new place */
	c[0] = (struct mf_tree_change){ 1, "d/c.flac", 9 };
	c[1] = (struct mf_tree_change){ 2, "d/b.flac", 9 };
	assert_int_equal(mf_tree_apply(t, c, 2, 4, NULL, NULL), 0);
	assert_null(walk(t, "e"));
	assert_int_not_equal(INO(t, walk(t, "d/c.flac")), ino);
	assert_int_not_equal(INO(t, walk(t, "d/b.flac")), bino);
	assert_null(mf_tree_get_any(t, ino));	/* unreferenced: released */
	assert_int_equal(mf_tree_nfiles(t), 2);
	/* the orphan is reclaimed by the next apply once forgotten */
	o = mf_tree_get_any(t, first);
	assert_non_null(o);
	gen = mf_node_gen(o);
	mf_tree_forget(t, first, 1);
	c[0] = (struct mf_tree_change){ 3, "f/x.flac", 1 };
	assert_int_equal(mf_tree_apply(t, c, 1, 5, NULL, NULL), 0);
	o = mf_tree_get_any(t, first);	/* released, maybe reused */
	assert_true(!o || (mf_node_live(o) && mf_node_gen(o) != gen));
	mf_tree_free(t);
}

static void test_casefold(void **state)
{
	static const struct mf_tree_change e[] = {
		{ 1, "Abba/Song.flac", 0 }, { 2, "ABBA/song.flac", 0 },
		{ 3, "abba/Other.flac", 0 },
	};
	struct mf_tree *t = mf_tree_new(true);

	(void)state;
	assert_int_equal(mf_tree_apply(t, e, 3, 1, NULL, NULL), 0);
	assert_int_equal(mf_tree_ndirs(t), 2);
	assert_path_of_track(t, 1, "Abba/Song.flac");
	assert_path_of_track(t, 2, "Abba/song (2).flac");
	assert_ptr_equal(walk(t, "aBbA/sOnG.FLAC"), mf_tree_find_track(t, 1));
	assert_ptr_equal(walk(t, "abba/other.flac"), mf_tree_find_track(t, 3));
	mf_tree_free(t);
}

/* Random change sequences: incremental == fresh build, inodes follow tracks. */
#define NTRACKS 200

static uint64_t rng = 88172645463325252ULL;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void random_path(char *buf, size_t len)
{
	static const char *const dirs[] = { "A", "B", "a", "C/D", "C", "x.flac" };
	static const char *const names[] = { "x.flac", "x (2).flac", "y.flac",
					     "x", "C", "D", "z.opus" };

	snprintf(buf, len, "%s/%s", dirs[next_rand() % N_ENTRIES(dirs)],
		 names[next_rand() % N_ENTRIES(names)]);
}

static void random_rounds(bool casefold)
{
	char paths[NTRACKS][64];
	bool live[NTRACKS] = { false };
	uint64_t ino[NTRACKS], ver[NTRACKS] = { 0 };
	bool bumped[NTRACKS];
	struct mf_tree_change c[NTRACKS], all[NTRACKS];
	struct mf_tree *t = mf_tree_new(casefold);

	for (int round = 0; round < 300; round++) {
		size_t n = 0, na = 0;
		int k = (int)(next_rand() % 12) + 1;
		struct mf_tree *ref;

		memset(bumped, 0, sizeof(bumped));
		for (int j = 0; j < k; j++) {
			size_t id = next_rand() % (round < 20 ? NTRACKS : 40);
			bool dup = false;

			for (size_t q = 0; q < n; q++)
				dup |= c[q].track_id == (int64_t)id;
			if (dup)
				continue;
			if (live[id] && next_rand() % 3 == 0) {
				c[n++] = (struct mf_tree_change){ (int64_t)id, NULL, 0 };
				live[id] = false;
			} else {
				if (next_rand() % 3 == 0) {
					ver[id]++;	/* new bytes: new node */
					bumped[id] = true;
				}
				if (!live[id] || next_rand() % 2)
					random_path(paths[id], sizeof(paths[id]));
				c[n++] = (struct mf_tree_change){ (int64_t)id,
							paths[id], ver[id] };
				if (!live[id])
					ino[id] = 0;
				live[id] = true;
			}
		}
		assert_int_equal(mf_tree_apply(t, c, n, round, NULL, NULL), 0);
		for (size_t id = 0; id < NTRACKS; id++) {
			const struct mf_node *f;

			if (!live[id])
				continue;
			all[na++] = (struct mf_tree_change){ (int64_t)id,
							paths[id], ver[id] };
			f = mf_tree_find_track(t, (int64_t)id);
			assert_non_null(f);
			assert_int_equal(mf_node_version(f), ver[id]);
			if (ino[id] && bumped[id])	/* a new version */
				assert_int_not_equal(INO(t, f), ino[id]);
			else if (ino[id])	/* a track keeps its inode */
				assert_int_equal(INO(t, f), ino[id]);
			ino[id] = INO(t, f);
		}
		ref = mf_tree_new(casefold);
		assert_int_equal(mf_tree_apply(ref, all, na, 0, NULL, NULL), 0);
		assert_same(t, ref);
		mf_tree_free(ref);
	}
	mf_tree_free(t);
}

static void test_random(void **state)
{
	(void)state;
	random_rounds(false);
	random_rounds(true);
}

/* ---- concurrent readers while the tree is patched ---- */

struct shared {
	struct mf_tree *tree;
	pthread_rwlock_t lock;
	atomic_bool stop;
	atomic_ulong reads;
};

static void *reader(void *arg)
{
	struct shared *sh = arg;

	while (!atomic_load(&sh->stop)) {
		const struct mf_node *root, *n;

		pthread_rwlock_rdlock(&sh->lock);
		root = mf_tree_root(sh->tree);
		for (size_t i = 0; (n = mf_tree_child(sh->tree, root, i)); i++) {
			if (mf_tree_lookup(sh->tree, MF_TREE_ROOT_INO,
					   mf_node_name(n)) != n)
				abort();
			mf_tree_ref(sh->tree, n);
			mf_tree_forget(sh->tree, INO(sh->tree, n), 1);
		}
		pthread_rwlock_unlock(&sh->lock);
		atomic_fetch_add(&sh->reads, 1);
	}
	return NULL;
}

static void test_concurrent_readers(void **state)
{
	struct mf_tree_change e[64];
	char names[64][16];
	struct shared sh;
	pthread_t th[4];
	size_t i;

	(void)state;
	for (i = 0; i < 64; i++) {
		snprintf(names[i], sizeof(names[i]), "d%zu/f.flac", i % 16);
		e[i] = (struct mf_tree_change){ (int64_t)i, names[i], 0 };
	}
	sh.tree = build(e, 64);
	{
		pthread_rwlockattr_t at;

		/* as in the mount: a patching writer is never starved */
		pthread_rwlockattr_init(&at);
		pthread_rwlockattr_setkind_np(&at,
			PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
		pthread_rwlock_init(&sh.lock, &at);
		pthread_rwlockattr_destroy(&at);
	}
	atomic_init(&sh.stop, false);
	atomic_init(&sh.reads, 0);
	for (i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&th[i], NULL, reader, &sh), 0);
	for (int r = 0; r < 200; r++) {
		struct mf_tree_change c = { r % 64, (r / 64) % 2 ? NULL :
					    names[(r * 7) % 64], 0 };

		pthread_rwlock_wrlock(&sh.lock);
		assert_int_equal(mf_tree_apply(sh.tree, &c, 1, r, NULL, NULL), 0);
		pthread_rwlock_unlock(&sh.lock);
	}
	while (atomic_load(&sh.reads) < 100)
		;
	atomic_store(&sh.stop, true);
	for (i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	pthread_rwlock_destroy(&sh.lock);
	mf_tree_free(sh.tree);
}

/*
 * Every allocation failure of an apply gives -ENOMEM and leaves a tree
 * that is safe to read; applying the full state again then gives the
 * fresh result.
 */
static void test_oom(void **state)
{
	struct mf_tree_change e[300], e2[200];
	char paths[300][48];
	struct mf_tree *t, *ref;
	long i;
	int ret;

	(void)state;
	fail_countdown = 0;
	assert_null(mf_tree_new(false));
	fail_countdown = -1;
	for (i = 0; i < 300; i++) {
		snprintf(paths[i], sizeof(paths[i]), "dir %ld/sub/name %ld.flac",
			 i % 30, i / 2 % 10);
		e[i] = (struct mf_tree_change){ 1000 - i, paths[i], 0 };
	}
	ref = build(e, 300);
	for (i = 0; i < 200; i++) {	/* every other existing track: new bytes */
		e2[i] = e[100 + i];
		e2[i].version = i < 50 && i % 2 == 0;
	}
	for (i = 0;; i++) {
		size_t files = 0, dirs = 0;

		t = build(e, 150);
		fail_countdown = i;
		ret = mf_tree_apply(t, e2, 200, 2, NULL, NULL);
		fail_countdown = -1;
		if (ret == 0) {
			mf_tree_free(t);
			break;
		}
		assert_int_equal(ret, -ENOMEM);
		check_shape(t, mf_tree_root(t), &files, &dirs, false);
		assert_int_equal(mf_tree_apply(t, e, 300, 3, NULL, NULL), 0);
		assert_same(t, ref);
		mf_tree_free(t);
	}
	printf("# apply survived %ld allocation failures\n", i);
	assert_true(i > 10);
	mf_tree_free(ref);
}

/* ---- a library-sized build ---- */

#define BIG 100000

static void test_big(void **state)
{
	struct mf_tree_change *e = calloc(BIG, sizeof(*e));
	char **paths = calloc(BIG, sizeof(*paths));
	struct mf_tree *t;
	const struct mf_node *n;
	size_t i, path_bytes = 0;
	char buf[256], *p;
	uint64_t ino;

	(void)state;
	assert_non_null(e);
	assert_non_null(paths);
	for (i = 0; i < BIG; i++) {
		snprintf(buf, sizeof(buf),
			 "Artist %04zu/Album %zu of the Artist/%02zu - Title of track %zu.flac",
			 i / 100, i / 10 % 10, i % 10, i);
		paths[i] = strdup(buf);
		assert_non_null(paths[i]);
		path_bytes += strlen(buf) + 1;
		e[i].track_id = (int64_t)((i * 7919) % BIG) + 1;
		e[i].path = (i % 1000 == 999) ? paths[i - 1] : paths[i];
	}
	t = build(e, BIG);
	assert_int_equal(mf_tree_nfiles(t), BIG);
	assert_int_equal(mf_tree_ndirs(t), 1 + 1000 + 10000);
	printf("# tree of %d tracks: %zu nodes, %zu bytes, %.1f bytes/track"
	       " (input paths %.1f bytes/track)\n", BIG, mf_tree_nnodes(t),
	       mf_tree_bytes(t), (double)mf_tree_bytes(t) / BIG,
	       (double)path_bytes / BIG);
	assert_true(mf_tree_bytes(t) / BIG <= 400);
	for (i = 0; i < BIG; i += 97) {
		n = mf_tree_find_track(t, e[i].track_id);
		assert_non_null(n);
		assert_int_equal(mf_tree_path(t, n, &p), 0);
		if (i % 1000 < 998)
			assert_string_equal(p, e[i].path);
		free(p);
	}
	/* the full set again changes nothing */
	ino = INO(t, mf_tree_find_track(t, 5));
	assert_int_equal(mf_tree_apply(t, e, BIG, 2, NULL, NULL), 0);
	assert_int_equal(INO(t, mf_tree_find_track(t, 5)), ino);
	assert_int_equal(mf_tree_nfiles(t), BIG);
	mf_tree_free(t);
	for (i = 0; i < BIG; i++)
		free(paths[i]);
	free(paths);
	free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_collisions),
		cmocka_unit_test(test_file_dir_clash),
		cmocka_unit_test(test_suffix_cap),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_moves),
		cmocka_unit_test(test_lookup_counts),
		cmocka_unit_test(test_versions),
		cmocka_unit_test(test_casefold),
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_concurrent_readers),
		cmocka_unit_test(test_oom),
		cmocka_unit_test(test_big),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
