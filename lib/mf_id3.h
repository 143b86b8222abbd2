/* SPDX-License-Identifier: MIT */
/*
 * mf_id3 - ID3 tags: an ID3v2.2/2.3/2.4 reader, an ID3v1 reader and an
 * ID3v2.3/2.4 writer, shared by the MP3 (mf_mp3) and WAV (`id3 ` chunk)
 * formats. Knows bytes, never files or SQL.
 *
 * Key mapping follows the MusicBrainz Picard tag-mapping table (ID3v2.4
 * column): TIT2 title, TPE1 artist, TPE2 albumartist, TALB album, TRCK
 * tracknumber/totaltracks, TPOS discnumber/totaldiscs, TDRC (or TYER+TDAT
 * in 2.3) date, TCON genre, COMM comment, USLT lyrics, TXXX:<desc> (known
 * Picard descriptions, e.g. "MusicBrainz Album Id" -> musicbrainz_albumid,
 * else the lowercased description), UFID:http://musicbrainz.org ->
 * musicbrainz_recordingid, ... Frames without a canonical key (PRIV,
 * GEOB, other UFIDs, POPM, unknown frames) are binary tags whose key is
 * "id3:" + the lowercase frame id (store keys are lowercase; frame ids
 * are [A-Z0-9], so this is lossless) and whose value is the frame body
 * after unsynchronisation and data length indicator are undone.
 *
 * Specs: id3v2.4.0-structure, id3v2.4.0-frames, id3v2.3.0, id3v2-00
 * (2.2), ID3v1/1.1.
 */
#ifndef MF_ID3_H
#define MF_ID3_H

#include <stddef.h>
#include <stdint.h>

#include "mf_format.h"
#include "mf_layout.h"
#include "mf_sink.h"

/* An ID3v2 header or footer (id3v2.4.0-structure 3.1, 3.4). */
#define MF_ID3_HDR_LEN 10
/* An ID3v1 tag at the end of a file ("TAG", 125 bytes). */
#define MF_ID3V1_LEN 128
/* Largest ID3v2 tag: a 28-bit syncsafe size plus header and footer. */
#define MF_ID3_TAG_MAX (((uint64_t)1 << 28) - 1 + 2 * MF_ID3_HDR_LEN)

/*
 * Total size in bytes (header, body and footer) of the ID3v2 tag whose
 * 10-byte header is @hdr, into *@total. Returns 0, -EINVAL if @hdr is not
 * an ID3v2 header ("ID3", major version 2..4, revision != 0xff, syncsafe
 * size bytes). Pure, thread-safe.
 */
int mf_id3_tag_size(const uint8_t hdr[MF_ID3_HDR_LEN], uint64_t *total);

/*
 * Parse the complete ID3v2 tag in @buf (@len bytes: header, body and
 * footer, i.e. mf_id3_tag_size() bytes; bytes beyond the tag are ignored)
 * and report into @sink: on_tag for every text frame with a canonical key
 * (multi-values as repeated calls, values UTF-8 without NUL), on_picture
 * for every APIC (2.3/2.4) or PIC (2.2; its 3-character format becomes a
 * MIME type) with width/height/depth/colors read from the image header
 * (PNG, JPEG, GIF, BMP; 0 when unknown), on_binary_tag for every other
 * frame. Handles whole-tag unsynchronisation (2.2, 2.3), per-frame
 * unsynchronisation and data length indicators (2.4), the extended
 * header, the footer and the padding. Compressed or encrypted frames (and
 * a compressed 2.2 tag) are skipped with a warning; an invalid frame id
 * ends the frame walk with a warning (junk after the frames is common).
 * ID3v2.4 tags whose frame sizes are plain integers (an iTunes bug) are
 * detected and read. Any callback may be NULL.
 *
 * Returns 0, -EINVAL when @buf does not start with an ID3v2 header,
 * -EBADMSG when the tag is longer than @len or a frame size runs past the
 * end of the tag (frames before it were already reported), -ENOMEM, or the first
 * negative value a sink callback returned. @why (may be NULL) gets a
 * short lowercase reason on error. Memory: allocates at most about twice
 * the tag size, nothing is kept. Thread-safe.
 */
int mf_id3_parse(const uint8_t *buf, size_t len, const struct mf_sink *sink,
		 char *why, size_t whylen);

/*
 * Parse a 128-byte ID3v1/1.1 tag in @buf ("TAG" at offset 0) and report
 * title, artist, album, date (year), comment, tracknumber (v1.1) and
 * genre (by number) with on_tag; fields are ISO-8859-1, trailing NULs and
 * spaces trimmed, empty fields not reported. Returns 0, -EINVAL if @buf
 * is not an ID3v1 tag, or a sink callback's error. Thread-safe.
 */
int mf_id3_parse_v1(const uint8_t buf[MF_ID3V1_LEN],
		    const struct mf_sink *sink);

/*
 * Append to @l one complete ID3v2 tag for the tags, pictures and binary
 * tags of @in (in->tags, in->pics, in->bins; nothing else of @in is
 * used): version 4 (UTF-8 text, TDRC, syncsafe frame sizes) or 3 (UTF-16
 * text with BOM, TYER/TDAT, plain frame sizes); @version 0 means 4. Text
 * frames per the mapping above, TXXX for custom keys, COMM, USLT, UFID for
 * musicbrainz_recordingid, one APIC per picture whose image is a BLOB
 * segment (in->pics[i].ref), and every "id3:XXXX" binary tag written back
 * as frame XXXX with its body as a BLOB segment (binary tags of other
 * namespaces are ignored). Multi-values: NUL-separated in 2.4, joined
 * with "/" in 2.3 (as Picard and mutagen write 2.3). No unsynchronisation,
 * no padding. Inline bytes are small; image and binary bodies are never
 * copied. With no frame to write, nothing is appended (an ID3v2 tag must
 * hold a frame): mf_id3_build_size() then gives 0.
 *
 * Returns 0; -EINVAL for a NULL or invalid argument (key not
 * mf_vocab_key_valid(), NULL string, version not 0/3/4); -EFBIG when the
 * tag would exceed the 28-bit tag size (nothing is dropped silently);
 * -ENOMEM or -EOVERFLOW from the layout. On error @l may hold part of
 * the tag: discard it. Thread-safe for different @l; reads only @in.
 */
int mf_id3_build(struct mf_layout *l, const struct mf_synth_input *in,
		 int version);

/*
 * The exact size in bytes of the tag mf_id3_build() would append for
 * (@in, @version), into *@len (for containers that write a length before
 * the tag, such as the WAV `id3 ` chunk). Same errors as mf_id3_build().
 */
int mf_id3_build_size(const struct mf_synth_input *in, int version,
		      uint64_t *len);

/*
 * The ID3v1 genre name for number @n (0..191, Winamp extensions
 * included), or NULL. Pure, thread-safe.
 */
const char *mf_id3_genre_name(unsigned n);

#endif /* MF_ID3_H */
