/* SPDX-License-Identifier: MIT */
/*
 * mf_ogg - Ogg Vorbis, Ogg Opus and Ogg FLAC files (RFC 3533 framing,
 * Vorbis I spec sections 4.2 and 5, RFC 7845 section 5, the FLAC-to-Ogg
 * mapping): probe and synthesis.
 *
 * One logical stream per file. The probe assembles the header packets of
 * that stream from its first pages, reports tags, pictures, properties and
 * the structural blocks synthesis needs, and walks the page headers of the
 * audio pages (never their bodies) to record a compact page index. The
 * synthesizer rebuilds the comment packet, re-pages the header packets and
 * serves the audio pages verbatim, or with their page sequence numbers
 * shifted and CRCs patched in flight when the header page count changed.
 *
 * Structural blocks (format_blocks, kind namespace "ogg:"):
 *   "ogg:header"  repeated, in stream order: the header packets other than
 *                 the comment: Vorbis identification and setup; OpusHead;
 *                 Ogg FLAC mapping packet (with STREAMINFO), then each
 *                 metadata block packet that is not VORBIS_COMMENT,
 *                 PICTURE, PADDING, APPLICATION or CUESHEET (SEEKTABLE and
 *                 reserved types).
 *   "ogg:info"    1 byte version (1), serial number (LE32), page sequence
 *                 number of the first audio page (LE32), then the vendor
 *                 string of the comment header (the rest of the block).
 *   "ogg:pages"   repeated: LEB128 varints, the length in bytes of every
 *                 audio page in order (split between blocks at varint
 *                 boundaries when longer than 15 MiB).
 */
#ifndef MF_OGG_H
#define MF_OGG_H

#include <stddef.h>
#include <stdint.h>

#include "mf_format.h"
#include "mf_layout.h"
#include "mf_sink.h"

/* Largest header packet the probe assembles, in bytes. */
#define MF_OGG_PACKET_MAX (64u << 20)

/*
 * Probe the Ogg file open on @fd (pread(2) only). Implements RFC 3533
 * section 6 (page header: "OggS", version 0, flags, granule position,
 * serial, page sequence number, CRC, lacing) for every page, verifies the
 * CRC of the header pages, and parses the first logical stream's header
 * packets: Vorbis (identification 0x01, comment 0x03, setup 0x05), Opus
 * ("OpusHead", "OpusTags") or Ogg FLAC (0x7F "FLAC" mapping packet, then
 * one metadata block per packet up to the one with the last-block flag).
 *
 * Reports into @sink: on_format ("vorbis", "opus" or "oggflac", always),
 * on_audio_range (from the first audio page to the end of the last page),
 * on_structural (see the header comment), on_tag per Vorbis comment
 * (canonical key from mf_vocab; TRACKTOTAL/DISCTOTAL yield to
 * TOTALTRACKS/TOTALDISCS), on_picture per METADATA_BLOCK_PICTURE comment
 * (base64 FLAC PICTURE block), legacy COVERART comment (type 3, MIME from
 * COVERARTMIME or the image) and Ogg FLAC PICTURE block, with dimensions
 * from the image header when the block has none; on_binary_tag for an
 * OpusTags binary suffix ("opus:binary") and Ogg FLAC APPLICATION
 * ("flac:application") and CUESHEET ("flac:cuesheet") blocks; on_props
 * (sample rate, channels, bits for FLAC, samples and duration from the
 * last granule position (Opus: minus pre-skip, at 48 kHz), bitrate).
 * Any callback may be NULL.
 *
 * Returns 0 or a negative errno with a reason in @why: -EINVAL not an Ogg
 * file or not a regular file, -ENOTSUP an unsupported codec or a chained
 * or multiplexed file, -EBADMSG malformed (bad CRC on a header page, a
 * page running past the end, junk between pages, bad header packets),
 * -EFBIG a header packet above MF_OGG_PACKET_MAX, -EIO, -ENOMEM, or a
 * sink callback's error. Holds at most one header packet and one page in
 * memory. Thread-safe.
 */
int mf_ogg_probe(const struct mf_probe_src *src,
		 const struct mf_sink *sink, char *why, size_t whylen);

/*
 * The synthesizer (mf_synth_fn) for "vorbis", "opus" and "oggflac".
 * Builds: the identification packet alone on page 0 (BOS, granule 0);
 * then the comment packet (vendor from "ogg:info", every tag under its
 * mf_vocab_to_vorbis name, every picture as METADATA_BLOCK_PICTURE whose
 * base64 is streamed from the art blob, with width, height, depth and
 * colors all 0 unless width, height and depth are all known; Ogg FLAC: a
 * VORBIS_COMMENT block packet) and the other header packets, paged greedily (at most 255
 * lacing values per page, granule 0 on pages where a packet ends, else
 * -1), the header page CRCs computed lazily while serving when a page
 * holds streamed bytes; then the audio pages: one BACKING segment when
 * the header page count equals the original's, else one computed segment
 * that adds the difference to each page sequence number and patches the
 * CRC (RFC 3533, CRC-32 polynomial 0x04c11db7), using the "ogg:pages"
 * index to locate page headers (O(log pages) per read).
 *
 * Returns 0, -EIO for missing or malformed structural blocks, -EFBIG when
 * an Ogg FLAC metadata block would pass 2^24 - 1 bytes, -ENOMEM or
 * -EOVERFLOW. Thread-safe.
 */
int mf_ogg_synth(const struct mf_synth_input *in, struct mf_layout **out);

/*
 * The Ogg page CRC (RFC 3533 section 6: polynomial 0x04c11db7, initial
 * value 0, no reflection, no final XOR) of @len bytes at @buf, continuing
 * from @crc (0 to start). Pure.
 */
uint32_t mf_ogg_crc(uint32_t crc, const void *buf, size_t len);

/*
 * The CRC of a page of @page_len bytes (>= 27) whose stored CRC is @crc
 * after its page sequence number changes from @old_seq to @new_seq,
 * without reading the page: the CRC is linear, so the change is the CRC
 * of the XOR difference at byte 18 followed by page_len - 22 zero bytes.
 * Pure.
 */
uint32_t mf_ogg_crc_reseq(uint32_t crc, uint32_t old_seq, uint32_t new_seq,
			  uint64_t page_len);

/*
 * Bytes before a fingerprint piece mf_ogg_fp_normalize() needs: enough to
 * hold the start of a page header whose sequence number or CRC (bytes
 * 18-25 of the 27-byte header) lies in the piece.
 */
#define MF_OGG_FP_BEHIND 26u

/*
 * Normalize @n bytes of an Ogg audio range for the fingerprint: zero the
 * page_sequence_number and CRC_checksum (RFC 3533 6: header bytes 18-25)
 * of every page header found, by its capture pattern "OggS" and
 * stream_structure_version 0. A retag that changes the number of header
 * pages renumbers every audio page and so rewrites those bytes; the
 * fingerprint must not see it. A false match inside a packet is zeroed
 * alike in every copy of the stream, so it changes nothing. Pure.
 */
void mf_ogg_fp_normalize(uint8_t *buf, size_t n);

#endif /* MF_OGG_H */
