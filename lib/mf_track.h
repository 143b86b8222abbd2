/* SPDX-License-Identifier: MIT */
/*
 * mf_track - one track as the mount serves it: its store row, tags, art
 * links and structural blocks loaded in one read transaction, and the
 * layout synthesized from them (or the plain backing file in
 * structure-only mode).
 */
#ifndef MF_TRACK_H
#define MF_TRACK_H

#include <stdbool.h>
#include <stdint.h>

#include "mf_format.h"
#include "mf_layout.h"
#include "mf_store.h"

/*
 * Bounds on what mf_track_load() accepts from a row (the core schema's
 * CHECKs, enforced again for writers that turned them off): a row past
 * one answers -EIO for that track. Bytes. Listed in docs/store.md LIMITS.
 */
#define MF_TRACK_KEY_MAX 256		/* a tag key */
#define MF_TRACK_VALUE_MAX 262144	/* a text tag value */
#define MF_TRACK_BLOB_MAX 16711680	/* a binary tag value, a picture */
#define MF_TRACK_MIME_MAX 255		/* a picture's MIME type */
#define MF_TRACK_DESC_MAX 1024		/* a picture's description */

enum mf_serve_mode {
	MF_SERVE_SYNTHESIS = 0,		/* fresh metadata + original audio */
	MF_SERVE_STRUCTURE_ONLY = 1,	/* the original bytes, unchanged */
};

/* A track's freshness stamp and served-bytes version, from its row. */
struct mf_track_info {
	int64_t id;
	int64_t content_version;
	int64_t updated_at;		/* unix seconds */
	uint64_t backing_size;		/* bytes */
	int64_t backing_mtime_ns;
	int64_t backing_ctime_ns;
	uint64_t audio_offset;		/* bytes */
	uint64_t audio_length;		/* bytes */
	char format[16];		/* "flac", ... */
};

struct mf_track;

/*
 * Load track @id from @s inside one read transaction. Returns 0 and sets
 * *@out (free with mf_track_free()), -ENOENT if there is no such row,
 * -EIO if a row is malformed (a value of the wrong type or out of range:
 * the mount then answers EIO, never wrong bytes) or SQLite fails, -ENOMEM.
 * Use from the thread that owns @s.
 */
int mf_track_load(struct mf_store *s, int64_t id, struct mf_track **out);

/* Free @t. NULL is a no-op. */
void mf_track_free(struct mf_track *t);

/* The row's stamp and version; borrowed, valid until mf_track_free(). */
const struct mf_track_info *mf_track_info(const struct mf_track *t);

/* The backing file path; borrowed, valid until mf_track_free(). */
const char *mf_track_backing_path(const struct mf_track *t);

/*
 * Build the layout for @t in @mode with the format's synthesizer (see
 * mf_format.h); @opts may be NULL for the defaults (ID3v2.4). Returns 0
 * and a new layout in *@out (caller frees with mf_layout_free()),
 * -ENOTSUP for a format this build cannot synthesize, -EIO when the
 * stored data cannot make a valid file (missing STREAMINFO, metadata too
 * large for the container, ...), -ENOMEM. Thread-safe; reads only @t.
 */
int mf_track_layout(const struct mf_track *t, enum mf_serve_mode mode,
		    const struct mf_synth_opts *opts, struct mf_layout **out);


#endif /* MF_TRACK_H */
