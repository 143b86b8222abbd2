/* SPDX-License-Identifier: MIT */
/*
 * mf_tree - the mount's virtual directory tree. A tree is built in one go
 * from (track_id, relative path) pairs, is immutable afterwards, and
 * answers lookup, getattr and readdir from many threads without locks. A
 * refresh builds a new tree and swaps it in. Inode numbers are stable: an
 * mf_inotab, which outlives trees, hands each path the number it had in
 * the previous tree. Spec: DESIGN.md "Data flow" (Mount) and STYLE.md
 * "What we take" item 14.
 *
 * Rules applied by mf_tree_build():
 *   - Directories are implied by the paths; the root has inode 1
 *     (FUSE_ROOT_ID).
 *   - Several tracks with the same path: the lowest track_id keeps the
 *     plain name, the others (in ascending track_id) get " (2)", " (3)", ...
 *     before the extension (the text from the last '.' of the name, if
 *     that '.' is not its first byte), skipping any name that is already
 *     taken. A name that would exceed 255 bytes has its stem cut on a
 *     UTF-8 boundary. The result does not depend on the input order.
 *   - A file whose path is also a directory (track A at "x", track B at
 *     "x/y.flac"): the directory keeps the name, the file is suffixed as
 *     above.
 *   - Inode numbers: a path keeps its number from the previous tree built
 *     with the same mf_inotab when it is still there with the same type
 *     (file or directory). Any other path gets the next number of a
 *     monotonic 64-bit counter, so a number is never given to a second
 *     path. A path that vanishes forgets its number: if it comes back in
 *     a later build it gets a new one.
 */
#ifndef MF_TREE_H
#define MF_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Inode number of the root directory (same value as FUSE_ROOT_ID). */
#define MF_TREE_ROOT_INO 1

/*
 * Inode table: remembers the last built tree and the next free number.
 * Thread-safety: used only by the one thread that builds trees (the
 * mount's refresh thread); it is never touched by readers.
 */
struct mf_inotab;

/*
 * A published tree. Immutable after mf_tree_build() returns: any number of
 * threads may call the read functions below at the same time. Trees are
 * reference counted (atomically) so that the inode table can keep the
 * last one as its reference while the caller frees its own handle.
 */
struct mf_tree;

/*
 * One directory or file of a tree; opaque, borrowed from its tree (valid
 * while the caller holds the tree). Read it with the mf_node_*() accessors
 * at the end of this header, which belong to this module.
 */
struct mf_node;

/* One input pair for mf_tree_build(). */
struct mf_tree_entry {
	int64_t track_id;	/* unique within one build */
	const char *path;	/* relative, '/'-separated, e.g. "a/b/c.flac" */
};

/* ---- inode table ---- */

/*
 * New, empty inode table: the first build numbers its paths from 2.
 * Returns NULL on allocation failure. Caller frees with mf_inotab_free().
 */
struct mf_inotab *mf_inotab_new(void);

/*
 * Free @tab and drop its reference to the last tree; trees handed out to
 * callers stay valid until they are freed. NULL is a no-op.
 */
void mf_inotab_free(struct mf_inotab *tab);

/* The number the next new path would get (telemetry and tests). */
uint64_t mf_inotab_next_ino(const struct mf_inotab *tab);

/* ---- building and freeing ---- */

/*
 * Build a tree from @n entries (may be 0: a tree with only the root).
 * Paths must be relative and made of non-empty components of at most 255
 * bytes without NUL, other than "." and ".." (mf_template_render() output
 * qualifies); @entries and the strings are only read during the call.
 *
 * Returns 0 and sets *@out (one reference, owned by the caller, released
 * with mf_tree_free()); -EINVAL for a malformed path or a repeated
 * track_id; -EOVERFLOW for more than 2^31 - 1 nodes; -ENOMEM. On success
 * @tab now refers to the new tree (and drops its reference to the previous
 * one). On failure *@out is unchanged and so is every inode number @tab
 * will hand out for paths of the previous tree.
 * Thread-safety: calls sharing @tab must be serialized.
 */
int mf_tree_build(struct mf_inotab *tab, const struct mf_tree_entry *entries,
		  size_t n, struct mf_tree **out);

/*
 * Release the caller's reference to @t. The memory goes once the inode
 * table has moved on to a newer tree (or was freed) as well. After the
 * call no node of @t may be used by the caller. Thread-safe; NULL is a
 * no-op.
 */
void mf_tree_free(struct mf_tree *t);

/* ---- reading (all thread-safe; returned nodes are borrowed from @t) ---- */

/* The root directory; never NULL. */
const struct mf_node *mf_tree_root(const struct mf_tree *t);

/* The node with inode number @ino, or NULL if @t has none. */
const struct mf_node *mf_tree_get(const struct mf_tree *t, uint64_t ino);

/*
 * The entry @name (a single component, NUL-terminated) of directory
 * @parent_ino, or NULL if @parent_ino is not a directory of @t or has no
 * such entry. Binary search: O(log entries).
 */
const struct mf_node *mf_tree_lookup(const struct mf_tree *t,
				     uint64_t parent_ino, const char *name);

/*
 * Entry @i (0-based, in strcmp order of names) of directory @dir, or NULL
 * when @i >= mf_node_nchild(@dir) or @dir is a file. The order is fixed for
 * the lifetime of @t, so @i can serve as the readdir offset.
 */
const struct mf_node *mf_tree_child(const struct mf_tree *t,
				    const struct mf_node *dir, size_t i);

/* The parent directory of @n; the root is its own parent. */
const struct mf_node *mf_tree_parent(const struct mf_tree *t,
				     const struct mf_node *n);

/*
 * The file node serving @track_id, or NULL if the track is not in @t.
 * Binary search: O(log files).
 */
const struct mf_node *mf_tree_find_track(const struct mf_tree *t,
					 int64_t track_id);

/*
 * Rebuild the relative path of @n ("" for the root) into a new string.
 * Returns 0 and sets *@out (caller frees with free(3)), or -ENOMEM.
 */
int mf_tree_path(const struct mf_tree *t, const struct mf_node *n,
		 char **out);

/* Counts for telemetry: all nodes (root included), directories, files. */
size_t mf_tree_nnodes(const struct mf_tree *t);
size_t mf_tree_ndirs(const struct mf_tree *t);
size_t mf_tree_nfiles(const struct mf_tree *t);

/* Heap bytes held by @t (nodes, indexes and names). */
size_t mf_tree_bytes(const struct mf_tree *t);

/* ---- node fields (read-only; @n must come from a live tree) ---- */

uint64_t mf_node_ino(const struct mf_node *n);

/* Entry name, NUL-terminated; "" for the root. Borrowed from the tree. */
const char *mf_node_name(const struct mf_node *n);

bool mf_node_is_dir(const struct mf_node *n);

/* Files: the track served. Directories: -1. */
int64_t mf_node_track(const struct mf_node *n);

/* Directories: number of entries. Files: 0. */
size_t mf_node_nchild(const struct mf_node *n);

/* Directories: number of child directories (st_nlink = 2 + this). */
size_t mf_node_nsubdir(const struct mf_node *n);

#endif /* MF_TREE_H */
