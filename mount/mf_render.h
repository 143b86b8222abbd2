/* SPDX-License-Identifier: MIT */
/*
 * mf_render - the path of each track, rendered from the store with the
 * path template: all tracks in one scan (start-up, a changelog gap,
 * --dry-run) or a few by id (a refresh). Besides tags, templates may use
 * the fields $length (M:SS), $bitrate ("320kbps"), $samplerate
 * ("44.1kHz"), $channels, $bitdepth (from the track_props extension
 * table), $format (FLAC, MP3, ...) and $ext (flac, mp3, ...); these win
 * over tags of the same name, and a property the scanner left at 0 is
 * absent. Spec: DESIGN.md "Path templates"; issue 6 (template fields).
 */
#ifndef MF_RENDER_H
#define MF_RENDER_H

#include <stdbool.h>
#include <stdint.h>

#include "mf_store.h"
#include "mf_template.h"

struct mf_render;

/*
 * Prepare the statements on @s for template @tmpl and @opts (both
 * borrowed; must outlive the renderer). Returns 0 and *@out, -EIO when
 * the store cannot be read, -ENOMEM. Use from one thread.
 */
int mf_render_new(struct mf_store *s, const struct mf_template *tmpl,
		  const struct mf_template_opts *opts, struct mf_render **out);

/* Free @r (NULL is a no-op). */
void mf_render_free(struct mf_render *r);

/*
 * Render every track in id order: @fn(@ctx, id, version, path) for each
 * track that renders (@version its tracks.content_version, @path borrowed
 * for the call). Tracks a template skips
 * (--skip-on-missing) or cannot render are left out. Returns 0, the first
 * non-zero value of @fn, -EIO or -ENOMEM. The caller wraps the call in a
 * read transaction to see one snapshot.
 */
int mf_render_all(struct mf_render *r,
		  int (*fn)(void *ctx, int64_t id, int64_t version,
			    const char *path),
		  void *ctx);

/*
 * Render track @id: 0 and *@out a new path (free(3)), or *@out NULL when
 * the track is gone or left out; *@version is its content_version (0 when
 * gone). -EIO or -ENOMEM.
 */
int mf_render_one(struct mf_render *r, int64_t id, char **out,
		  int64_t *version);

/* Is @field (lower case) an audio property ($length ... $ext), not a tag? */
bool mf_render_is_property(const char *field);

/*
 * The fields of @tmpl that are neither an audio property nor a tag key of
 * any track in @s (keys compared in lower case): @fn(@ctx, field) for each
 * (@fn may be NULL; @field borrowed from @tmpl). A store without tracks
 * has none. Returns their count, or -EIO when the store cannot be read. Use from the thread that owns @s.
 */
int mf_render_unknown_fields(struct mf_store *s, const struct mf_template *tmpl,
			     void (*fn)(void *ctx, const char *field),
			     void *ctx);

#endif /* MF_RENDER_H */
