/* SPDX-License-Identifier: MIT */
/*
 * mf_vorbis - the Vorbis comment writer (Vorbis I spec section 5.2.1,
 * lengths little-endian 32-bit) shared by the FLAC VORBIS_COMMENT block
 * (mf_flac; RFC 9639 section 8.6, no framing bit) and the Ogg comment
 * packets (mf_ogg; Vorbis, Opus, Ogg FLAC). Field names come from
 * mf_vocab_to_vorbis(); a tag without a Vorbis name is left out (logged
 * at debug level). The caller writes what surrounds the comment (packet
 * magic, block header, framing bit, pictures). Thread-safe: no state.
 */
#ifndef MF_VORBIS_H
#define MF_VORBIS_H

#include <stddef.h>
#include <stdint.h>

#include "mf_format.h"
#include "mf_layout.h"

/*
 * Validate and size the field list for @tags (@ntags entries): sets
 * *@count to the fields that will be written and *@bytes to their size
 * (4 length bytes + "NAME=value" each). Returns 0; -EINVAL when a tag has
 * a NULL key or value or a key that is not mf_vocab_key_valid(); -EFBIG
 * as soon as one field passes UINT32_MAX bytes or the running *@bytes
 * passes @limit (errors in tag order). @dom is the log domain for the
 * left-out tags.
 */
int mf_vorbis_measure(const struct mf_synth_tag *tags, size_t ntags,
		      uint64_t limit, const char *dom, uint32_t *count,
		      uint64_t *bytes);

/*
 * Append the comment header to @l: vendor length, @vendor (@vendor_len
 * bytes, at most UINT32_MAX), then the field count @count.
 */
int mf_vorbis_add_head(struct mf_layout *l, const void *vendor,
		       size_t vendor_len, uint32_t count);

/*
 * Append the fields for @tags, as mf_vorbis_measure() counted them (the
 * caller measured first; same decisions). Returns 0, or the error of
 * mf_layout_add_inline() (-ENOMEM, -EOVERFLOW).
 */
int mf_vorbis_add_tags(struct mf_layout *l, const struct mf_synth_tag *tags,
		       size_t ntags);

#endif
