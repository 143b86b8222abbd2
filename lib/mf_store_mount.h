/* SPDX-License-Identifier: MIT */
/*
 * mf_store_mount - what musefs-mount reads from the store besides tracks
 * (mf_track.h) and rendered paths (mount/mf_render.c): read snapshots, the
 * changelog it follows (docs/store.md "track_changes") and the totals its
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

#endif /* MF_STORE_MOUNT_H */
