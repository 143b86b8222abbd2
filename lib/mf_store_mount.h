/* SPDX-License-Identifier: MIT */
/*
 * mf_store_mount - what musefs-mount reads from the store besides whole
 * tracks (mf_track.h): read snapshots, the changelog it follows
 * (docs/store.md "track_changes"), the rows its paths are rendered from
 * (mount/mf_render.c), the scanned roots it confines to and the totals its
 * statfs reports.
 *
 * Every function takes a struct mf_store (read-only is enough) and follows
 * its thread rules (one thread at a time per connection).
 */
#ifndef MF_STORE_MOUNT_H
#define MF_STORE_MOUNT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mf_store.h"

/*
 * Open a read transaction (BEGIN): every read until
 * mf_store_snapshot_end() sees one committed state of the store, however
 * writers commit meanwhile (WAL). Returns 0 or -EIO (logged).
 */
int mf_store_snapshot_begin(struct mf_store *s);

/* End the read transaction mf_store_snapshot_begin() opened (COMMIT). */
void mf_store_snapshot_end(struct mf_store *s);

/*
 * The changelog after sequence number @from: *@head gets the newest seq
 * (0 for an empty changelog), and *@gap is set when track_changes no
 * longer holds every change after @from (pruned past it, or @from is
 * ahead of the head: a replaced or rewound store); then no ids are read
 * and the caller must re-render everything. Otherwise *@ids gets the
 * distinct track ids changed after @from, *@n of them, in a malloc()ed
 * array the caller frees (NULL when none). Pass @ids NULL to learn only
 * the head. Returns 0, -ENOMEM or -EIO; on error *@ids is NULL.
 */
int mf_store_changes_since(struct mf_store *s, int64_t from, int64_t **ids,
			   size_t *n, bool *gap, int64_t *head);

/*
 * The sum of tracks.backing_size over every track (bytes) into *@bytes.
 * Returns 0 or -EIO.
 */
int mf_store_backing_total(struct mf_store *s, uint64_t *bytes);

/*
 * Call @fn(@ctx, root) for every directory the store's scans recorded
 * (scan_roots.root; borrowed for the call), in no set order, until @fn
 * returns non-zero (returned as is). Returns 0, 1 when the store has no
 * scan_roots table (a musefs 1.x store: no roots recorded), or -EIO
 * (logged).
 */
int mf_store_roots_each(struct mf_store *s,
			int (*fn)(void *ctx, const char *root), void *ctx);

/*
 * One track as the path renderer reads it: the tracks row with its
 * track_props (0 where the scanner left a property out, or the store has
 * no track_props: a 1.x store) and the container's own extension when it
 * differs from the format's (format_blocks kind "mp4:ext" of an m4a
 * track, e.g. "m4b"; NULL otherwise). Strings are borrowed until the
 * callback returns.
 */
struct mf_path_row {
	int64_t id;
	int64_t content_version;
	const char *format;		/* tracks.format; NULL if malformed */
	const char *own_ext;		/* or NULL */
	int64_t duration_ms, bitrate_kbps, sample_rate, channels;
	int64_t bits_per_sample;
};

/* Callbacks of mf_store_paths_all() and mf_store_paths_one(): every text
 * tag of a track whose key is one of the set's (case-insensitively), in
 * (key, ordinal) order, then the track itself. Non-zero stops the walk
 * and is returned. @key and @value (@len bytes) are borrowed. */
struct mf_path_fns {
	int (*tag)(void *ctx, const char *key, const char *value, size_t len);
	int (*track)(void *ctx, const struct mf_path_row *row);
};

struct mf_store_paths;

/*
 * Statements on @s reading the rows of paths that use tag keys @keys
 * (@n of them, borrowed: they must outlive the set; compared in lower
 * case). Returns 0 and *@out (mf_store_paths_free()), -EIO when the store
 * cannot be read (logged), -ENOMEM. Use from @s's thread.
 */
int mf_store_paths_new(struct mf_store *s, const char *const *keys, size_t n,
		       struct mf_store_paths **out);

/* Free @p (NULL is a no-op). */
void mf_store_paths_free(struct mf_store_paths *p);

/*
 * Every track in id order, each after its tags (one merge join of two
 * ordered scans). Returns 0, a callback's non-zero value, or -EIO
 * (logged). The caller wraps it in a snapshot (mf_store_snapshot_begin())
 * to see one state of the store.
 */
int mf_store_paths_all(struct mf_store_paths *p, const struct mf_path_fns *fns,
		       void *ctx);

/*
 * Track @id: its tags, then the track. Returns 0, 1 when there is no
 * track @id (no callback made), a callback's non-zero value, or -EIO.
 */
int mf_store_paths_one(struct mf_store_paths *p, int64_t id,
		       const struct mf_path_fns *fns, void *ctx);

/*
 * Does any track have a tag whose key is @key (case-insensitively)?
 * Returns 1, 0, or -EIO.
 */
int mf_store_tag_key_used(struct mf_store *s, const char *key);

/* Does the store hold any track? Returns 1, 0, or -EIO. */
int mf_store_has_tracks(struct mf_store *s);

#endif /* MF_STORE_MOUNT_H */
