/* SPDX-License-Identifier: MIT */
/*
 * mf_cache - the mount's layout cache: one synthesized layout per track
 * version (struct mf_served), reference counted, kept in an LRU list
 * charged against a byte budget, plus the blob copies ("pins") a layout
 * reads once a handle opened it, so that open handles go on reading after
 * a tagger deletes the rows. All functions are thread-safe (one lock,
 * cache_lock inside struct mf_cache); errors are positive errno values,
 * as the FUSE replies want them.
 */
#ifndef MF_CACHE_H
#define MF_CACHE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mf_conn.h"
#include "mf_layout.h"
#include "mf_track.h"

/* mf_cache_get(): any version will do. */
#define MF_ANY_VERSION UINT64_MAX

/* A blob a layout reads (art.data, tags.value_blob), copied from the store. */
struct mf_pin {
	struct mf_blob_ref ref;
	uint64_t len;			/* bytes held: what the layout reads */
	uint8_t *data;
};

/* One cached layout of one track version; reference counted. */
struct mf_served {
	_Atomic int refs;		/* atomic */
	struct mf_track_info info;	/* immutable after publication */
	char *backing_path;		/* immutable */
	struct mf_layout *layout;	/* immutable */
	size_t mem;			/* bytes charged; guarded by cache_lock */
	_Atomic bool refused;		/* atomic: confinement logged it */
	/* pins, published under cache_lock before pinned is set (release),
	 * immutable after: read them only after an acquire load of pinned */
	_Atomic bool pinned;
	struct mf_pin *pins;
	size_t npins;
	uint64_t store_gen;		/* immutable: mf_conns generation */
	struct mf_served *prev, *next;	/* LRU list; guarded by cache_lock */
};

struct mf_cache_config {
	size_t max_bytes;		/* budget of layouts and pins (bytes) */
	enum mf_serve_mode mode;	/* synthesis or structure-only */
	int id3v2_version;		/* 3 or 4 */
};

struct mf_cache;

/*
 * A cache reading tracks through @conns (borrowed: outlives the cache).
 * Returns 0 and *@out (mf_cache_free()) or ENOMEM.
 */
int mf_cache_new(const struct mf_cache_config *cfg, struct mf_conns *conns,
		 struct mf_cache **out);

/* Drop every entry and free @c (NULL is a no-op); served objects still
 * referenced elsewhere live until their last mf_served_put(). */
void mf_cache_free(struct mf_cache *c);

/*
 * What a tree node of a layout serves: the store generation in the top 16
 * bits, tracks.content_version below (a store would need 2^48 bumps of
 * one track to wrap into the generation). Every change of served bytes
 * moves it, so a node (an inode) serves exactly one version.
 */
uint64_t mf_version_of(uint64_t store_gen, int64_t content_version);

/* mf_version_of() of @sv's generation and content version. */
uint64_t mf_served_version(const struct mf_served *sv);

/* Drop one reference (NULL is a no-op); the last frees @sv. */
void mf_served_put(struct mf_served *sv);

/*
 * The served state of track @id, with one reference for the caller
 * (mf_served_put()): the cached one when its version is @want (or any
 * with MF_ANY_VERSION) and of the current store generation, else what the
 * store has now, which may be another version than @want: callers compare
 * mf_served_version(). Returns 0, ENOENT (track gone), EIO (malformed
 * row, store error, synthesis refused) or ENOMEM.
 */
int mf_cache_get(struct mf_cache *c, int64_t id, uint64_t want,
		 struct mf_served **out);

/*
 * Copy the blobs @sv's layout reads into memory, once per served version
 * (at its first open; a stat never pays for it). The copies are charged
 * to the cache while @sv is in it and live as long as a reference to @sv.
 * Returns 0, EIO (a row gone or shorter than the layout says, a store
 * error, a replaced store) or ENOMEM. Threads may race to pin one @sv:
 * one copy is published, the others freed.
 */
int mf_cache_pin(struct mf_cache *c, struct mf_served *sv);

/*
 * Read @len bytes at @off of blob @ref of @sv's layout: from its pins
 * once pinned, else from the calling thread's store connection of @sv's
 * generation. Returns 0 or -EIO (a blob shorter than asked, the store
 * replaced, a store error); counted in MF_M_ERR_STORE.
 */
int mf_cache_blob_read(struct mf_cache *c, const struct mf_served *sv,
		       const struct mf_blob_ref *ref, uint64_t off, void *buf,
		       size_t len);

/* Has the store moved past the version @sv serves (or lost the track,
 * or been replaced)? Reads the track's row. */
bool mf_cache_moved(struct mf_cache *c, const struct mf_served *sv);

/* Drop the cached layouts of @ids[0..@n) (every one when @ids is NULL). */
void mf_cache_drop(struct mf_cache *c, const int64_t *ids, size_t n);

/*
 * Layouts being made now (a mf_cache_get() that missed) are not kept:
 * call before a tree patch that changes versions, then mf_cache_drop().
 */
void mf_cache_invalidate(struct mf_cache *c);

/* Entries and bytes charged now, for the metrics. */
void mf_cache_stats(struct mf_cache *c, size_t *entries, size_t *bytes);

#endif
