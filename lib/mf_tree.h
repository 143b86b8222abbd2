/* SPDX-License-Identifier: MIT */
/*
 * mf_tree - the mount's virtual directory tree, patched in place.
 *
 * The tree maps track ids to relative paths. mf_tree_apply() takes a batch
 * of changes (a track's new path, or its removal) and patches the tree in
 * O(changed + size of the directories touched): files move or are renamed
 * keeping their node (and so their inode number), directories that empty
 * are removed, new ones are created, and collision suffixes are worked out
 * again only in the directories touched. Every name that changes and every
 * inode whose attributes or bytes change is reported through a callback
 * so that the caller can invalidate the kernel's caches. Spec: DESIGN.md
 * "Data flow" (Mount); issue 6 ("Refresh in O(changed)", "A small tree").
 *
 * Naming rules (the same whatever the order of the changes that led to the
 * current state, so an incremental tree equals a fresh build):
 *   - Directories are implied by the paths; the root has inode 1
 *     (FUSE_ROOT_ID). A directory left without entries is removed.
 *   - Several tracks wanting the same name in a directory: the lowest
 *     track_id keeps the plain name, the others (in ascending track_id) get
 *     " (2)", " (3)", ... before the extension (the text from the last '.'
 *     of the name, if that '.' is not its first byte), skipping any name
 *     already taken. A name that would exceed 255 bytes has its stem cut on
 *     a UTF-8 boundary. A directory always keeps its name against a file.
 *   - With case folding (mf_tree_new(true)), names that differ only in
 *     ASCII case are the same name: lookups ignore ASCII case and such
 *     names collide as above.
 *
 * Inode numbers: a node's number is its slot index + 1. A file keeps its
 * node while its track exists with the same version (renames and moves
 * included); a change with another version gives the track a new node, so
 * that an inode's served bytes never change (the kernel keeps one page
 * cache and one size per inode, and handles opened before the change go on
 * reading the old node). A directory keeps its node while it has entries. A removed node's slot is reused only
 * once the kernel has forgotten it (lookup count 0, see mf_tree_ref() and
 * mf_tree_forget()), and then with a new generation number, so an (inode,
 * generation) pair never names two different objects.
 *
 * Thread-safety: the caller provides a reader/writer lock. The reading
 * functions, mf_tree_ref(), mf_tree_forget() and the attribute cache may
 * run in many threads at once under the read side; mf_tree_apply() and
 * mf_tree_free() need the write side (no reader at the same time).
 */
#ifndef MF_TREE_H
#define MF_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Inode number of the root directory (same value as FUSE_ROOT_ID). */
#define MF_TREE_ROOT_INO 1

struct mf_tree;

/* One directory or file; borrowed from its tree, valid until the next
 * mf_tree_apply() or mf_tree_free(). Read it with the mf_node_*()
 * accessors. */
struct mf_node;

/* One change for mf_tree_apply(). */
struct mf_tree_change {
	int64_t track_id;	/* unique within one batch */
	const char *path;	/* new relative path ("a/b/c.flac"), or NULL
				 * to remove the track */
	uint64_t version;	/* what the node serves (opaque to the tree):
				 * another value than the node's gives the
				 * track a new node */
};

/*
 * What the kernel must forget after an apply: with @name, the entry @name
 * of directory @parent_ino (a name that appeared, vanished or moved); with
 * @name NULL, the attributes and cached pages of inode @ino. @name is
 * borrowed for the duration of the call only.
 */
typedef void (*mf_tree_inval_fn)(void *ctx, uint64_t ino, const char *name);

/*
 * A new tree with only the root. @casefold: ASCII case-insensitive names.
 * Returns NULL on ENOMEM. Free with mf_tree_free().
 */
struct mf_tree *mf_tree_new(bool casefold);

/* Free @t and all its nodes. NULL is a no-op. Writer side. */
void mf_tree_free(struct mf_tree *t);

/*
 * Apply @n changes. Each path must be relative and made of non-empty
 * components of at most 255 bytes without NUL, other than "." and ".."
 * (mf_template_render() output qualifies). A change for a track not in the
 * tree with a NULL path is a no-op; a change whose path and version are
 * the node's only reports the track's inode. A change of version replaces
 * the track's node by a new one at the new path: the old node leaves the
 * tree (reported as a vanished name, not as an inode to invalidate: its
 * bytes stay what they were) and stays readable with mf_tree_get_any()
 * while the kernel holds it.
 * @now_ns stamps the mtime of the directories whose entries change.
 * @inval (may be NULL) is called for every name and inode to invalidate;
 * it must not call back into the tree.
 *
 * Returns 0; -EINVAL for a malformed path or a repeated track_id (nothing
 * is changed then); -EOVERFLOW past 2^32 - 2 nodes; -ENOMEM, in which case
 * the tree is consistent (every node reachable, names unique) but some
 * changes may be missing: the caller should retry with a full set.
 * Writer side.
 */
int mf_tree_apply(struct mf_tree *t, const struct mf_tree_change *changes,
		  size_t n, int64_t now_ns, mf_tree_inval_fn inval, void *ctx);

/* ---- reading (reader side; returned nodes are borrowed from @t) ---- */

const struct mf_node *mf_tree_root(const struct mf_tree *t);

/* The live node with inode number @ino, or NULL (none, or removed). */
const struct mf_node *mf_tree_get(const struct mf_tree *t, uint64_t ino);

/*
 * As mf_tree_get(), but also a removed file the kernel still holds (an
 * orphan: lookup count above 0): its track, version and cached attributes
 * stay readable until mf_tree_forget() lets the next apply reclaim it.
 * mf_node_live() tells the two apart. NULL for no such inode.
 */
const struct mf_node *mf_tree_get_any(const struct mf_tree *t, uint64_t ino);

/* Is @n in the tree (not an orphan)? */
bool mf_node_live(const struct mf_node *n);

/*
 * Entry @name (one component) of directory @parent_ino, or NULL if
 * @parent_ino is not a live directory or has no such entry. O(log entries).
 */
const struct mf_node *mf_tree_lookup(const struct mf_tree *t,
				     uint64_t parent_ino, const char *name);

/* Entry @i (0-based, in name order) of directory @dir, or NULL. */
const struct mf_node *mf_tree_child(const struct mf_tree *t,
				    const struct mf_node *dir, size_t i);

/* The parent directory of @n; the root is its own parent. */
const struct mf_node *mf_tree_parent(const struct mf_tree *t,
				     const struct mf_node *n);

/* The file node of @track_id, or NULL. O(1) expected. */
const struct mf_node *mf_tree_find_track(const struct mf_tree *t,
					 int64_t track_id);

/*
 * The relative path of @n ("" for the root) in a new string. Returns 0 and
 * sets *@out (free(3) it), or -ENOMEM.
 */
int mf_tree_path(const struct mf_tree *t, const struct mf_node *n, char **out);

/*
 * Call @fn for every live file node, in slot order. Stops and returns the
 * first non-zero value @fn returns, else 0.
 */
int mf_tree_each_file(const struct mf_tree *t,
		      int (*fn)(void *ctx, const struct mf_node *n), void *ctx);

/* Counts: live nodes (root included), directories, files. */
size_t mf_tree_nnodes(const struct mf_tree *t);
size_t mf_tree_ndirs(const struct mf_tree *t);
size_t mf_tree_nfiles(const struct mf_tree *t);

/* Whether @t folds ASCII case in names (mf_tree_new()'s @casefold). */
bool mf_tree_casefold(const struct mf_tree *t);

/* Heap bytes held by @t: node slots, names, child arrays, track index. */
size_t mf_tree_bytes(const struct mf_tree *t);

/* ---- kernel lookup counts (reader side; atomic) ---- */

/* The kernel got one more reference to @n (a lookup or readdirplus reply). */
void mf_tree_ref(const struct mf_tree *t, const struct mf_node *n);

/*
 * The kernel dropped @nlookup references to inode @ino (FUSE forget). A
 * removed node whose count reaches 0 is reclaimed by the next apply.
 * Unknown inodes are ignored; the count never goes below 0.
 */
void mf_tree_forget(const struct mf_tree *t, uint64_t ino, uint64_t nlookup);

/* The count of a live or removed-but-referenced inode (tests). */
uint64_t mf_tree_nlookup(const struct mf_tree *t, uint64_t ino);

/* ---- node fields ---- */

/* Inode number of @n (a node of @t). */
uint64_t mf_tree_ino(const struct mf_tree *t, const struct mf_node *n);

/* Generation number of the inode: grows each time a slot is reused. */
uint64_t mf_node_gen(const struct mf_node *n);

/* Entry name, NUL-terminated; "" for the root. */
const char *mf_node_name(const struct mf_node *n);

/* Files: the name the track's path asked for (differs from the entry name
 * when a collision suffix was added). Directories: the entry name. */
const char *mf_node_want(const struct mf_node *n);

bool mf_node_is_dir(const struct mf_node *n);

/* Files: the track served. Directories: -1. */
int64_t mf_node_track(const struct mf_node *n);

/* Files: the version given by the change that made the node (it never
 * changes for a node). Directories: 0. */
uint64_t mf_node_version(const struct mf_node *n);

/* Directories: number of entries, of child directories. Files: 0. */
size_t mf_node_nchild(const struct mf_node *n);
size_t mf_node_nsubdir(const struct mf_node *n);

/* Directories: when their entries last changed (ns since the epoch; 0 if
 * never since the tree was created). Files: 0. */
int64_t mf_node_mtime_ns(const struct mf_node *n);

/*
 * Files: a cache of the served size (bytes) and mtime (ns), filled by
 * readers after computing them and dropped by mf_tree_apply() when a
 * change keeps the node (a replaced node keeps its own). mf_node_attr_get() returns false when nothing is cached.
 * Atomic: readers may race to fill it with the same values.
 */
bool mf_node_attr_get(const struct mf_node *n, uint64_t *size,
		      int64_t *mtime_ns);
void mf_node_attr_set(const struct mf_node *n, uint64_t size,
		      int64_t mtime_ns);

#endif /* MF_TREE_H */
