/* SPDX-License-Identifier: MIT */
/*
 * mf_vocab - the canonical tag vocabulary shared by every format.
 *
 * A canonical key is the lowercase internal name of the MusicBrainz Picard
 * tag-mapping table ("title", "albumartist", "musicbrainz_recordingid", ...).
 * Any other valid key is a custom tag, kept verbatim. This module validates
 * keys and maps them to and from Vorbis comment field names (Vorbis I spec
 * section 5, RFC 9639 section 8.6). All functions are pure and thread-safe.
 */
#ifndef MF_VOCAB_H
#define MF_VOCAB_H

#include <stdbool.h>
#include <stddef.h>

/* Longest canonical key in bytes, without the NUL: the store allows 256
 * characters (tags CHECK, as 1.x), at most 4 bytes each in UTF-8. */
#define MF_VOCAB_KEY_MAX 1024

/*
 * Is @key (NUL-terminated) a canonical key, i.e. a store key (any case,
 * docs/store.md) after mf_vocab_fold()? True if it is non-empty, at most
 * MF_VOCAB_KEY_MAX bytes, has no control character 0x01-0x1f (the store's
 * CHECK) and no ASCII uppercase letter. '=', 0x7f and bytes >= 0x80
 * (UTF-8) are allowed: a format that cannot spell them (Vorbis field
 * names) leaves such a tag out. NULL gives false.
 */
bool mf_vocab_key_valid(const char *key);

/*
 * The canonical form of store key @key: ASCII letters folded to lower
 * case, as SQLite's lower() without ICU does (every reader matches keys
 * case-insensitively this way). Writes the NUL-terminated result into
 * @out (@outlen bytes). Returns 0, -EINVAL for NULL, or -ENAMETOOLONG.
 */
int mf_vocab_fold(const char *key, char *out, size_t outlen);

/*
 * Is @key one of the names of the Picard tag-mapping table (as opposed to
 * a custom tag)? Informational: custom keys are equally valid.
 */
bool mf_vocab_key_known(const char *key);

/*
 * Map a Vorbis comment field name to the canonical key.
 *
 * @field: @len bytes, not necessarily NUL-terminated; the part of a comment
 * before the first '='. Field names are case-insensitive ASCII 0x20-0x7d
 * except '=' (Vorbis I spec 5.2.3). The name is lowercased, then Picard's
 * exceptions apply: TRACKTOTAL and TOTALTRACKS -> totaltracks, DISCTOTAL
 * and TOTALDISCS -> totaldiscs, MUSICBRAINZ_TRACKID ->
 * musicbrainz_recordingid, MUSICBRAINZ_RELEASETRACKID -> musicbrainz_trackid,
 * "ALBUM ARTIST" and ALBUM_ARTIST -> albumartist. DESCRIPTION stays
 * "description" (Picard does not map it to comment). Any other name is
 * kept, lowercased.
 *
 * Writes the NUL-terminated key into @out (@outlen bytes). Returns 0,
 * -EINVAL for an empty name or a byte outside the allowed range, or
 * -ENAMETOOLONG if the key exceeds MF_VOCAB_KEY_MAX or does not fit @out.
 */
int mf_vocab_from_vorbis(const char *field, size_t len, char *out,
			 size_t outlen);

/*
 * Map a canonical key to the Vorbis field name written by synthesis:
 * uppercase of the key, except totaltracks -> TRACKTOTAL, totaldiscs ->
 * DISCTOTAL, musicbrainz_recordingid -> MUSICBRAINZ_TRACKID and
 * musicbrainz_trackid -> MUSICBRAINZ_RELEASETRACKID (Picard's writer).
 *
 * Writes the NUL-terminated name into @out (@outlen bytes). Returns 0,
 * -EINVAL if @key is not mf_vocab_key_valid() or cannot be spelled as a
 * Vorbis field name ('=' or bytes >= 0x7e, e.g. UTF-8 or '~'), or -ENAMETOOLONG
 * if it does not fit @out. @out is unspecified on error.
 */
int mf_vocab_to_vorbis(const char *key, char *out, size_t outlen);

#endif /* MF_VOCAB_H */
