/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for mf_tree: lookups, readdir order, node fields, collision
 * suffixes (deterministic whatever the input order), file/directory name
 * clashes, inode stability across rebuilds and never-reused numbers, input
 * validation, concurrent readers, and a 100 000-track build whose memory
 * per track is printed as a TAP diagnostic. TAP output via cmocka.
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

#include <cmocka.h>

/* mf_tree.c compiled in with failing allocations on demand */
#include "fault_alloc.h"
#include "mf_tree.c"
#undef malloc
#undef calloc
#undef realloc

#include "mf_banned.h"

#define N_ENTRIES(a) (sizeof(a) / sizeof((a)[0]))

static struct mf_tree *build(struct mf_inotab *tab,
			     const struct mf_tree_entry *e, size_t n)
{
	struct mf_tree *t = NULL;

	assert_int_equal(mf_tree_build(tab, e, n, &t), 0);
	assert_non_null(t);
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
		n = mf_tree_lookup(t, mf_node_ino(n), s);
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

static void test_basic(void **state)
{
	static const struct mf_tree_entry e[] = {
		{ 3, "B/Album 2/02 y.flac" },
		{ 1, "A/Album/01 a.flac" },
		{ 2, "A/Album/02 b.flac" },
		{ 4, "B/Album 1/01 x.flac" },
		{ 5, "A/loose.mp3" },
		{ 6, "top.opus" },
	};
	struct mf_inotab *tab = mf_inotab_new();
	const struct mf_node *root, *a, *n;
	struct mf_tree *t;
	char *p;

	(void)state;
	assert_non_null(tab);
	t = build(tab, e, N_ENTRIES(e));
	assert_int_equal(mf_tree_nnodes(t), 12);
	assert_int_equal(mf_tree_ndirs(t), 6);
	assert_int_equal(mf_tree_nfiles(t), 6);
	assert_true(mf_tree_bytes(t) > 0);

	root = mf_tree_root(t);
	assert_ptr_equal(mf_tree_get(t, MF_TREE_ROOT_INO), root);
	assert_true(mf_node_is_dir(root));
	assert_string_equal(mf_node_name(root), "");
	assert_ptr_equal(mf_tree_parent(t, root), root);
	assert_int_equal(mf_node_nchild(root), 3);
	assert_int_equal(mf_node_nsubdir(root), 2);
	assert_int_equal(mf_node_track(root), -1);
	assert_int_equal(mf_tree_path(t, root, &p), 0);
	assert_string_equal(p, "");
	free(p);

	/* readdir: sorted by name, stable index, NULL past the end */
	assert_string_equal(mf_node_name(mf_tree_child(t, root, 0)), "A");
	assert_string_equal(mf_node_name(mf_tree_child(t, root, 1)), "B");
	assert_string_equal(mf_node_name(mf_tree_child(t, root, 2)), "top.opus");
	assert_null(mf_tree_child(t, root, 3));

	a = mf_tree_lookup(t, MF_TREE_ROOT_INO, "A");
	assert_non_null(a);
	assert_true(mf_node_is_dir(a));
	assert_int_equal(mf_node_nchild(a), 2);
	assert_int_equal(mf_node_nsubdir(a), 1);
	assert_ptr_equal(mf_tree_parent(t, a), root);
	assert_ptr_equal(mf_tree_get(t, mf_node_ino(a)), a);
	assert_string_equal(mf_node_name(mf_tree_child(t, a, 0)), "Album");
	assert_string_equal(mf_node_name(mf_tree_child(t, a, 1)), "loose.mp3");

	n = walk(t, "A/Album/02 b.flac");
	assert_non_null(n);
	assert_false(mf_node_is_dir(n));
	assert_int_equal(mf_node_track(n), 2);
	assert_int_equal(mf_node_nchild(n), 0);
	assert_int_equal(mf_node_nsubdir(n), 0);
	assert_null(mf_tree_child(t, n, 0));
	/* a file is not a directory to look up in */
	assert_null(mf_tree_lookup(t, mf_node_ino(n), "x"));
	assert_ptr_equal(mf_tree_get(t, mf_node_ino(n)), n);

	/* misses */
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

	mf_tree_free(t);
	mf_inotab_free(tab);
}

static void test_empty(void **state)
{
	struct mf_inotab *tab = mf_inotab_new();
	struct mf_tree *t;

	(void)state;
	t = build(tab, NULL, 0);
	assert_int_equal(mf_tree_nnodes(t), 1);
	assert_int_equal(mf_tree_nfiles(t), 0);
	assert_int_equal(mf_node_nchild(mf_tree_root(t)), 0);
	assert_null(mf_tree_child(t, mf_tree_root(t), 0));
	assert_null(mf_tree_find_track(t, 1));
	mf_inotab_free(tab);
	mf_tree_free(t);
	mf_tree_free(NULL);
	mf_inotab_free(NULL);
}

/* Collision input: the answer for every permutation of it. */
static const struct mf_tree_entry coll[] = {
	{ 40, "d/x.flac" },
	{ 10, "d/x.flac" },
	{ 30, "d/x (2).flac" },
	{ 20, "d/x.flac" },
	{ 50, "d/noext" },
	{ 60, "d/noext" },
	{ 70, "d/.hidden" },
	{ 80, "d/.hidden" },
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
}

/* Check every order of a[k, n); the tail up to N_ENTRIES(coll) stays. */
static void permute(struct mf_tree_entry *a, size_t k, size_t n,
		    unsigned *count)
{
	struct mf_inotab *tab;
	struct mf_tree_entry tmp;
	struct mf_tree *t;
	size_t i;

	if (k == n) {
		tab = mf_inotab_new();
		assert_non_null(tab);
		t = build(tab, a, N_ENTRIES(coll));
		check_coll(t);
		mf_tree_free(t);
		mf_inotab_free(tab);
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
	struct mf_tree_entry a[N_ENTRIES(coll)];
	struct mf_inotab *tab;
	struct mf_tree *t;
	unsigned count = 0;
	uint64_t ino;
	size_t i;

	(void)state;
	memcpy(a, coll, sizeof(a));
	/* all 120 orders of the first five, the rest rotated */
	permute(a, 0, 5, &count);
	assert_int_equal(count, 120);
	for (i = 0; i < N_ENTRIES(a); i++) {
		memcpy(a, coll + i, (N_ENTRIES(a) - i) * sizeof(*a));
		memcpy(a + N_ENTRIES(a) - i, coll, i * sizeof(*a));
		tab = mf_inotab_new();
		t = build(tab, a, N_ENTRIES(a));
		check_coll(t);
		mf_tree_free(t);
		mf_inotab_free(tab);
	}

	/* same inode numbers whatever the input order */
	tab = mf_inotab_new();
	t = build(tab, coll, N_ENTRIES(coll));
	ino = mf_node_ino(mf_tree_find_track(t, 40));
	mf_tree_free(t);
	for (i = 0; i < N_ENTRIES(a); i++)
		a[i] = coll[N_ENTRIES(a) - 1 - i];
	t = build(tab, a, N_ENTRIES(a));
	assert_int_equal(mf_node_ino(mf_tree_find_track(t, 40)), ino);
	mf_tree_free(t);
	mf_inotab_free(tab);
}

static void test_file_dir_clash(void **state)
{
	static const struct mf_tree_entry e[] = {
		{ 1, "a/b" },
		{ 2, "a/b/c.flac" },
		{ 3, "a/b (2)" },
	};
	struct mf_inotab *tab = mf_inotab_new();
	const struct mf_node *b;
	struct mf_tree *t;

	(void)state;
	t = build(tab, e, N_ENTRIES(e));
	b = walk(t, "a/b");
	assert_non_null(b);
	assert_true(mf_node_is_dir(b));
	assert_path_of_track(t, 2, "a/b/c.flac");
	assert_path_of_track(t, 3, "a/b (2)");
	assert_path_of_track(t, 1, "a/b (3)");
	mf_tree_free(t);
	mf_inotab_free(tab);
}

/* A suffix never pushes a name past 255 bytes nor splits a character. */
static void test_suffix_cap(void **state)
{
	char name[300], stem[250];
	struct mf_tree_entry e[12];
	struct mf_inotab *tab = mf_inotab_new();
	const struct mf_node *n;
	struct mf_tree *t;
	size_t i, len;
	int64_t id;

	(void)state;
	/* 83 x U+20AC (249 bytes) + ".flac" = 254 bytes */
	for (i = 0; i < 83; i++)
		memcpy(stem + 3 * i, "\xe2\x82\xac", 3);
	stem[249] = '\0';
	memcpy(name, stem, 249);
	memcpy(name + 249, ".flac", 6);
	for (i = 0; i < 12; i++) {
		e[i].track_id = (int64_t)i + 1;
		e[i].path = name;
	}
	t = build(tab, e, 12);
	assert_int_equal(mf_node_nchild(mf_tree_root(t)), 12);
	for (id = 1; id <= 12; id++) {
		n = mf_tree_find_track(t, id);
		assert_non_null(n);
		len = strlen(mf_node_name(n));
		assert_true(len <= 255);
		assert_string_equal(mf_node_name(n) + len - 5, ".flac");
		/* the stem is whole characters, then the suffix */
		assert_int_equal(memcmp(mf_node_name(n), stem,
			strcspn(mf_node_name(n), " .")), 0);
		assert_int_equal(strcspn(mf_node_name(n), " .") % 3, 0);
	}
	assert_string_equal(mf_node_name(mf_tree_find_track(t, 1)), name);
	n = mf_tree_find_track(t, 12);
	assert_non_null(strstr(mf_node_name(n), " (12).flac"));
	mf_tree_free(t);

	/* an "extension" too long to keep: the suffix goes at the end */
	name[0] = 'a';
	name[1] = '.';
	memset(name + 2, 'b', 250);
	name[252] = '\0';
	t = build(tab, e, 2);
	n = mf_tree_find_track(t, 2);
	assert_int_equal(strlen(mf_node_name(n)), 255);
	assert_int_equal(memcmp(mf_node_name(n), name, 251), 0);
	assert_string_equal(mf_node_name(n) + 251, " (2)");
	mf_tree_free(t);
	mf_inotab_free(tab);
}

static void test_invalid(void **state)
{
	static const char *const bad[] = {
		"", "/abs.flac", "a//b.flac", "a/", "./x.flac", "a/../x.flac",
		"a/.", "..",
	};
	struct mf_inotab *tab = mf_inotab_new();
	struct mf_tree *t, *keep;
	struct mf_tree_entry e[2];
	char longname[300];
	uint64_t next;
	size_t i;

	(void)state;
	e[0] = (struct mf_tree_entry){ 1, "ok/x.flac" };
	keep = build(tab, e, 1);
	next = mf_inotab_next_ino(tab);
	for (i = 0; i < N_ENTRIES(bad); i++) {
		t = (struct mf_tree *)&t;
		e[1] = (struct mf_tree_entry){ 2, bad[i] };
		assert_int_equal(mf_tree_build(tab, e, 2, &t), -EINVAL);
		assert_ptr_equal(t, (struct mf_tree *)&t);
	}
	e[1] = (struct mf_tree_entry){ 2, NULL };
	assert_int_equal(mf_tree_build(tab, e, 2, &t), -EINVAL);
	memset(longname, 'a', 256);
	longname[256] = '\0';
	e[1] = (struct mf_tree_entry){ 2, longname };
	assert_int_equal(mf_tree_build(tab, e, 2, &t), -EINVAL);
	longname[255] = '\0';
	t = build(tab, e, 2);
	mf_tree_free(t);
	/* repeated track_id */
	e[1] = (struct mf_tree_entry){ 1, "other.flac" };
	assert_int_equal(mf_tree_build(tab, e, 2, &t), -EINVAL);
	/* failures did not disturb the numbering of the last good tree */
	e[1] = (struct mf_tree_entry){ 2, longname };
	next = mf_inotab_next_ino(tab);
	t = build(tab, e, 2);
	assert_int_equal(mf_inotab_next_ino(tab), next);
	assert_int_equal(mf_node_ino(walk(t, "ok/x.flac")),
			 mf_node_ino(walk(keep, "ok/x.flac")));
	mf_tree_free(t);
	mf_tree_free(keep);
	mf_inotab_free(tab);
}

static void test_inode_stability(void **state)
{
	static const struct mf_tree_entry v1[] = {
		{ 1, "A/X/1.flac" }, { 2, "A/X/2.flac" }, { 3, "B/Y/3.flac" },
		{ 4, "gone/4.flac" },
	};
	/* same paths, different order and ids; 4 gone, 5 new */
	static const struct mf_tree_entry v2[] = {
		{ 9, "B/Y/3.flac" }, { 7, "A/X/1.flac" }, { 8, "A/X/2.flac" },
		{ 5, "C/5.flac" },
	};
	/* "gone" comes back; a file becomes a directory */
	static const struct mf_tree_entry v3[] = {
		{ 1, "A/X/1.flac" }, { 4, "gone/4.flac" },
		{ 6, "C/5.flac/inner.flac" },
	};
	struct mf_inotab *tab = mf_inotab_new();
	struct mf_tree *t1, *t2, *t3;
	uint64_t gone_dir, gone_file, c5, max1, max2, i;
	const struct mf_node *n;

	(void)state;
	t1 = build(tab, v1, N_ENTRIES(v1));
	max1 = mf_inotab_next_ino(tab);
	assert_int_equal(max1, 2 + mf_tree_nnodes(t1) - 1);
	gone_dir = mf_node_ino(walk(t1, "gone"));
	gone_file = mf_node_ino(walk(t1, "gone/4.flac"));

	t2 = build(tab, v2, N_ENTRIES(v2));
	max2 = mf_inotab_next_ino(tab);
	/* kept paths keep their numbers, whatever the track ids */
	assert_int_equal(mf_node_ino(walk(t2, "A")), mf_node_ino(walk(t1, "A")));
	assert_int_equal(mf_node_ino(walk(t2, "A/X")),
			 mf_node_ino(walk(t1, "A/X")));
	assert_int_equal(mf_node_ino(walk(t2, "A/X/1.flac")),
			 mf_node_ino(walk(t1, "A/X/1.flac")));
	assert_int_equal(mf_node_ino(walk(t2, "B/Y/3.flac")),
			 mf_node_ino(walk(t1, "B/Y/3.flac")));
	assert_int_equal(mf_node_track(walk(t2, "B/Y/3.flac")), 9);
	/* new paths get new numbers above all earlier ones */
	assert_true(mf_node_ino(walk(t2, "C")) >= max1);
	assert_true(mf_node_ino(walk(t2, "C/5.flac")) >= max1);
	assert_null(mf_tree_get(t2, gone_dir));
	assert_null(mf_tree_get(t2, gone_file));
	c5 = mf_node_ino(walk(t2, "C/5.flac"));
	/* t1 is still fully usable after t2 was built */
	assert_int_equal(mf_node_ino(walk(t1, "gone")), gone_dir);
	mf_tree_free(t1);

	t3 = build(tab, v3, N_ENTRIES(v3));
	/* a vanished path that returns gets a fresh number */
	assert_true(mf_node_ino(walk(t3, "gone")) >= max2);
	assert_true(mf_node_ino(walk(t3, "gone/4.flac")) >= max2);
	/* "C/5.flac" is now a directory: new number */
	n = walk(t3, "C/5.flac");
	assert_true(mf_node_is_dir(n));
	assert_true(mf_node_ino(n) >= max2);
	assert_int_equal(mf_node_ino(walk(t3, "C")), mf_node_ino(walk(t2, "C")));
	/* no retired number is ever reused */
	for (i = 0; i < mf_inotab_next_ino(tab); i++)
		if (i == gone_dir || i == gone_file || i == c5)
			assert_null(mf_tree_get(t3, i));
	/* every node of t3 has a distinct number */
	for (i = 0; i < mf_inotab_next_ino(tab); i++) {
		n = mf_tree_get(t3, i);
		if (n)
			assert_int_equal(mf_node_ino(n), i);
	}
	mf_inotab_free(tab);	/* the trees outlive the table */
	assert_non_null(walk(t2, "C/5.flac"));
	mf_tree_free(t3);
	mf_tree_free(t2);
}

/* ---- concurrent readers while the tree is swapped ---- */

struct shared {
	_Atomic(struct mf_tree *) tree;
	atomic_bool stop;
	atomic_ulong reads;
};

static void *reader(void *arg)
{
	struct shared *sh = arg;
	const struct mf_node *n, *root;
	struct mf_tree *t;
	size_t i;

	while (!atomic_load(&sh->stop)) {
		/* the test keeps every tree alive until readers stop */
		t = atomic_load(&sh->tree);
		root = mf_tree_root(t);
		for (i = 0; (n = mf_tree_child(t, root, i)) != NULL; i++)
			if (mf_tree_lookup(t, MF_TREE_ROOT_INO,
					   mf_node_name(n)) != n)
				abort();
		atomic_fetch_add(&sh->reads, 1);
	}
	return NULL;
}

static void test_concurrent_readers(void **state)
{
	struct mf_tree_entry e[64];
	char names[64][16];
	struct mf_tree *trees[20];
	struct mf_inotab *tab = mf_inotab_new();
	struct shared sh;
	pthread_t th[4];
	size_t i, r;

	(void)state;
	for (i = 0; i < 64; i++) {
		snprintf(names[i], sizeof(names[i]), "d%zu/f.flac", i % 16);
		e[i] = (struct mf_tree_entry){ (int64_t)i, names[i] };
	}
	trees[0] = build(tab, e, 64);
	atomic_init(&sh.tree, trees[0]);
	atomic_init(&sh.stop, false);
	atomic_init(&sh.reads, 0);
	for (i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&th[i], NULL, reader, &sh), 0);
	for (r = 1; r < 20; r++) {
		trees[r] = build(tab, e, 64 - r);
		atomic_store(&sh.tree, trees[r]);
	}
	while (atomic_load(&sh.reads) < 100)
		;
	atomic_store(&sh.stop, true);
	for (i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	for (r = 0; r < 20; r++)
		mf_tree_free(trees[r]);
	mf_inotab_free(tab);
}

/* Every allocation failure of a build gives -ENOMEM and changes nothing. */
static void test_oom(void **state)
{
	struct mf_tree_entry e[300];
	char paths[300][48];
	struct mf_inotab *tab;
	struct mf_tree *t, *prev, *ref;
	const struct mf_node *n, *old;
	unsigned kept = 0;
	uint64_t next;
	char *path;
	long i;
	int ret;

	(void)state;
	fail_countdown = 0;
	assert_null(mf_inotab_new());
	fail_countdown = -1;
	for (i = 0; i < 300; i++) {
		/* 30 dirs of 10 names, every name claimed by two tracks */
		snprintf(paths[i], sizeof(paths[i]), "dir %ld/sub/name %ld.flac",
			 i % 30, i / 2 % 10);
		e[i] = (struct mf_tree_entry){ 1000 - i, paths[i] };
	}
	tab = mf_inotab_new();
	prev = build(tab, e, 150);
	next = mf_inotab_next_ino(tab);
	for (i = 0;; i++) {
		t = (struct mf_tree *)&t;
		fault_calls = 0;
		fail_countdown = i;
		ret = mf_tree_build(tab, e, 300, &t);
		fail_countdown = -1;
		if (ret == 0)
			break;
		assert_int_equal(ret, -ENOMEM);
		assert_ptr_equal(t, (struct mf_tree *)&t);
		assert_int_equal(mf_inotab_next_ino(tab), next);
	}
	printf("# build survived %ld allocation failures\n", i);
	assert_true(i > 10);
	/* the result equals a build that never failed */
	ref = build(tab, e, 300);
	assert_int_equal(mf_tree_nnodes(t), mf_tree_nnodes(ref));
	for (i = 0; i < 300; i++) {
		n = mf_tree_find_track(t, e[i].track_id);
		assert_non_null(n);
		assert_int_equal(mf_node_ino(n),
			mf_node_ino(mf_tree_find_track(ref, e[i].track_id)));
		assert_string_equal(mf_node_name(n),
			mf_node_name(mf_tree_find_track(ref, e[i].track_id)));
		/* paths of the previous tree kept their numbers */
		assert_int_equal(mf_tree_path(t, n, &path), 0);
		old = walk(prev, path);
		if (old)
			assert_int_equal(mf_node_ino(n), mf_node_ino(old));
		else
			assert_true(mf_node_ino(n) >= next);
		kept += old != NULL;
		free(path);
	}
	assert_true(kept >= 100);
	fail_countdown = 0;
	assert_int_equal(mf_tree_path(t, n, &path), -ENOMEM);
	fail_countdown = -1;
	mf_tree_free(ref);
	mf_tree_free(t);
	mf_tree_free(prev);
	mf_inotab_free(tab);
}

/* ---- a library-sized build ---- */

#define BIG 100000

static void test_big(void **state)
{
	struct mf_tree_entry *e = calloc(BIG, sizeof(*e));
	char **paths = calloc(BIG, sizeof(*paths));
	struct mf_inotab *tab = mf_inotab_new();
	struct mf_tree *t, *t2;
	const struct mf_node *n, *n2;
	size_t i, path_bytes = 0;
	char buf[256], *p;

	(void)state;
	assert_non_null(e);
	assert_non_null(paths);
	for (i = 0; i < BIG; i++) {
		/* 1000 artists, 10 albums each, 10 tracks each */
		snprintf(buf, sizeof(buf),
			 "Artist %04zu/Album %zu of the Artist/%02zu - Title of track %zu.flac",
			 i / 100, i / 10 % 10, i % 10, i);
		paths[i] = strdup(buf);
		assert_non_null(paths[i]);
		path_bytes += strlen(buf) + 1;
		/* shuffled ids; a few collisions (every 1000th repeats) */
		e[i].track_id = (int64_t)((i * 7919) % BIG) + 1;
		e[i].path = (i % 1000 == 999) ? paths[i - 1] : paths[i];
	}
	t = build(tab, e, BIG);
	assert_int_equal(mf_tree_nfiles(t), BIG);
	assert_int_equal(mf_tree_ndirs(t), 1 + 1000 + 10000);
	printf("# tree of %d tracks: %zu nodes, %zu bytes, %.1f bytes/track"
	       " (input paths %.1f bytes/track)\n", BIG, mf_tree_nnodes(t),
	       mf_tree_bytes(t), (double)mf_tree_bytes(t) / BIG,
	       (double)path_bytes / BIG);
	for (i = 0; i < BIG; i += 97) {
		n = mf_tree_find_track(t, e[i].track_id);
		assert_non_null(n);
		assert_int_equal(mf_tree_path(t, n, &p), 0);
		if (i % 1000 < 998)	/* 998 and 999 share a path */
			assert_string_equal(p, e[i].path);
		free(p);
	}
	/* a rebuild keeps every number, of files and of their directories */
	t2 = build(tab, e, BIG);
	for (i = 0; i < BIG; i += 101) {
		n = mf_tree_find_track(t, (int64_t)i + 1);
		n2 = mf_tree_find_track(t2, (int64_t)i + 1);
		assert_int_equal(mf_node_ino(n), mf_node_ino(n2));
		assert_int_equal(mf_node_ino(mf_tree_parent(t, n)),
				 mf_node_ino(mf_tree_parent(t2, n2)));
		assert_string_equal(mf_node_name(n), mf_node_name(n2));
	}
	mf_tree_free(t);
	mf_tree_free(t2);
	mf_inotab_free(tab);
	for (i = 0; i < BIG; i++)
		free(paths[i]);
	free(paths);
	free(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_collisions),
		cmocka_unit_test(test_file_dir_clash),
		cmocka_unit_test(test_suffix_cap),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_inode_stability),
		cmocka_unit_test(test_concurrent_readers),
		cmocka_unit_test(test_oom),
		cmocka_unit_test(test_big),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
