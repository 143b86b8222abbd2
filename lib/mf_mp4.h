/* SPDX-License-Identifier: MIT */
/*
 * mf_mp4 - MPEG-4 audio files (.m4a, .m4b, audio-only .mp4; AAC and ALAC):
 * probe and synthesis.
 *
 * Boxes follow ISO/IEC 14496-12 section 4.2 (32-bit size, 64-bit
 * largesize, 'uuid' extended type); the iTunes metadata list is
 * moov/udta/meta (a full box whose 'hdlr' names the 'mdir' handler)/ilst,
 * as in the QuickTime File Format "Metadata" chapter: one item box per
 * key, holding 'data' boxes (type indicator, locale, payload), and
 * freeform '----' items holding 'mean', 'name' and 'data'.
 *
 * Store layout of one MP4 track (format "m4a"):
 *   format_blocks "mp4:ftyp"   the ftyp box, verbatim
 *   format_blocks "mp4:moov"   the moov box with moov/udta/meta/ilst cut
 *                              out (ancestor sizes adjusted)
 *   format_blocks "mp4:mdat"   the header (8 or 16 bytes) of the first
 *                              mdat box, verbatim
 *   format_blocks "mp4:order"  one byte: 0 moov precedes mdat, 1 follows
 *   format_blocks "mp4:pre"    other top-level boxes before the first mdat
 *                              (ordinal = file order; free/skip/wide
 *                              dropped)
 *   format_blocks "mp4:post"   other top-level boxes after the last mdat
 *   format_blocks "mp4:ext"    "m4b" when the backing file is an
 *                              audiobook (named .m4b, see
 *                              mf_mp4_probe_m4b(), or "M4B " brand)
 *   audio range                from the first mdat payload byte to the
 *                              end of the last mdat box (boxes between
 *                              several mdat boxes are inside it)
 *   tags                       ilst text items by canonical key
 *   binary tags "mp4:<atom>"   other ilst items: the item's payload (its
 *                              child boxes) verbatim; the atom name is
 *                              spelled with '©' for byte 0xa9 and "%xx"
 *                              (lowercase hex) for bytes that cannot
 *                              appear in a lowercase key ("sfID" ->
 *                              "mp4:sf%49%44"); "mp4:----" for freeform
 *                              items that are not com.apple.iTunes text
 */
#ifndef MF_MP4_H
#define MF_MP4_H

#include <stddef.h>
#include <stdint.h>

#include "mf_format.h"
#include "mf_layout.h"
#include "mf_sink.h"

/*
 * Probe the MP4 file open on @fd (pread(2) only; the file offset is not
 * used). The first box must be 'ftyp' (else -EINVAL). Walks the top-level
 * boxes (every size checked against the file; at most 4096 boxes), reads
 * moov (at most 64 MiB) and walks it with bounded recursion (depth 16),
 * every child size checked against its parent.
 *
 * Reports into @sink: on_audio_range (see the header comment); the
 * structural blocks listed there; on_props from the first sound track
 * (mdhd timescale/duration; sample rate, channels and bits from the 'mp4a'
 * or 'alac' sample entry, the bitrate from 'esds' when it gives one, else
 * from the audio range over the duration); on_tag for ilst text items
 * (©nam title, ©ART artist, aART albumartist, ©alb album, ©day date,
 * ©gen and gnre genre, ©wrt composer, ©cmt comment, ©lyr lyrics, ©grp
 * grouping, soar/soaa/sonm/soal/soco sort names, trkn tracknumber and
 * totaltracks, disk discnumber and totaldiscs, tmpo bpm, cpil
 * compilation, ... and com.apple.iTunes freeform items by Picard's names,
 * other names lowercased; one call per 'data' box); on_picture for each
 * covr 'data' box (type 3, front cover; MIME from the data type or the
 * image's magic; dimensions from the image header); on_binary_tag for
 * every other item. Any callback may be NULL.
 *
 * Returns 0, or a negative errno with a short lowercase reason in @why
 * (@whylen bytes, may be 0; NUL-terminated when @whylen > 0): -EINVAL not
 * an MP4 file or not a regular file, -EBADMSG malformed (a size past its
 * parent, no moov, no mdat, a chunk offset table that does not fit its
 * box), -ENOTSUP a valid file this build does not serve (fragmented,
 * a video track, no sound track, moov between mdat boxes, a chunk offset
 * outside the mdat range, oversize moov), -EIO read error or a file that
 * shrank, -ENOMEM, or a sink callback's error. Thread-safe.
 */
int mf_mp4_probe(const struct mf_probe_src *src,
		 const struct mf_sink *sink, char *why, size_t whylen);

/*
 * The same for a file named *.m4b (the registry's prober for that
 * extension): the file is recorded as an audiobook ("mp4:ext" = "m4b")
 * even without the "M4B " brand, so it is served as .m4b.
 */
int mf_mp4_probe_m4b(const struct mf_probe_src *src,
		     const struct mf_sink *sink, char *why, size_t whylen);

/*
 * The registry's synthesizer (mf_synth_fn) for format "m4a". Builds:
 * ftyp, the "mp4:pre" boxes, then moov and mdat in the original order
 * ("mp4:order"), then the "mp4:post" boxes. The moov is the stored one
 * with a new udta/meta (version 0, 'hdlr' 'mdir'/'appl', the other
 * children of the old iTunes meta kept, a new 'ilst'); every other atom
 * (tracks, chapters, other udta children) is kept verbatim, except that
 * every 'stco'/'co64' chunk offset moves by the shift of the audio
 * payload, and all 'stco' become 'co64' when a shifted offset would not
 * fit 32 bits. The mdat header and the audio range are served verbatim
 * (BACKING); covr images (one 'data' box per picture, JPEG 13, PNG 14,
 * GIF 12, BMP 27, else 0) and binary items stream from the store (BLOB).
 *
 * Tags: each canonical key becomes its ilst item, one 'data' box per
 * value; tracknumber/totaltracks -> trkn, discnumber/totaldiscs -> disk,
 * bpm/movementnumber/movementtotal 16-bit integers, compilation/gapless/
 * podcast/showmovement one-byte booleans (a value that does not fit
 * these goes to a freeform item named by its key instead); Picard's
 * freeform keys under their iTunes names; any other key as a
 * com.apple.iTunes freeform item named by the key.
 *
 * Returns 0 with a new layout in *@out (caller frees), or -EIO (missing or
 * malformed structural blocks, a chunk offset outside the audio range),
 * -EFBIG (a box would exceed 32-bit sizes), -ENOMEM; *@out untouched on
 * error. Thread-safe; reads only @in.
 */
int mf_mp4_synth(const struct mf_synth_input *in, struct mf_layout **out);

#endif /* MF_MP4_H */
