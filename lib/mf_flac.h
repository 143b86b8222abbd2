/* SPDX-License-Identifier: MIT */
/*
 * mf_flac - native FLAC files (RFC 9639): probe and synthesis.
 *
 * The probe walks the metadata blocks of a backing file, parses their bodies
 * with libFLAC and reports the audio range, tags, pictures, binary blocks,
 * STREAMINFO/SEEKTABLE and audio properties into a struct mf_sink. The
 * synthesizer builds the served file as a layout: a fresh metadata region
 * (STREAMINFO and SEEKTABLE verbatim, a new VORBIS_COMMENT, PICTURE,
 * APPLICATION and CUESHEET blocks whose payloads stream from the store)
 * followed by the untouched audio frames of the backing file.
 */
#ifndef MF_FLAC_H
#define MF_FLAC_H

#include <stddef.h>
#include <stdint.h>

#include "mf_format.h"
#include "mf_layout.h"
#include "mf_sink.h"

/* Largest metadata block body: the length field has 24 bits (8.1). */
#define MF_FLAC_BLOCK_MAX 0xffffffu

/* Length of a STREAMINFO body (RFC 9639 section 8.2). */
#define MF_FLAC_STREAMINFO_LEN 34

/*
 * Probe the FLAC file open on @fd (read with pread(2); the file offset is
 * not used or moved). Implements RFC 9639 sections 6-8: the "fLaC" marker,
 * then metadata blocks, STREAMINFO first with length 34, every block inside
 * the file, the audio starting with a frame sync code (0xfff8 or 0xfff9).
 * A leading ID3v2 tag (not part of FLAC, but common) is skipped and
 * ignored; the audio offset is still exact in the backing file.
 *
 * Reports into @sink, in this order: on_audio_range once; then per block
 * in file order: on_structural("streaminfo", 34 bytes) and on_props for
 * STREAMINFO, on_structural("seektable") for SEEKTABLE, on_tag for every
 * Vorbis comment (canonical key from mf_vocab; entries without '=' or with
 * an invalid field name are skipped with a warning; TRACKTOTAL/DISCTOTAL
 * are skipped when the block also has TOTALTRACKS/TOTALDISCS, as Picard
 * does), on_picture for PICTURE (pictures with a type above 20, a MIME
 * type that is not printable ASCII, a description that is not UTF-8 or
 * that holds a NUL byte are skipped with a warning), on_binary_tag
 * ("flac:application", body including the 4-byte id) for APPLICATION and
 * ("flac:cuesheet", body) for CUESHEET. PADDING and reserved block types
 * are dropped. Any callback may be NULL.
 *
 * Memory: at most one block (< 16 MiB) and its parsed copy are held at a
 * time; nothing is kept after return.
 *
 * Returns 0, or a negative errno with a short lowercase reason in @why
 * (@whylen bytes, may be 0; always NUL-terminated when @whylen > 0):
 * -EINVAL not a FLAC file or not a regular file, -EBADMSG a malformed
 * file, -EIO a read error or a file that shrank, -ENOMEM, or the first
 * negative value a sink callback returned. After an error the sink may
 * have received part of the results: discard them.
 *
 * Thread-safe: probes of different files may run concurrently.
 */
int mf_flac_probe(const struct mf_probe_src *src,
		  const struct mf_sink *sink, char *why, size_t whylen);

/* Everything synthesis needs for one track; all borrowed. */
struct mf_flac_track {
	const uint8_t *streaminfo;	/* exact STREAMINFO body */
	size_t streaminfo_len;		/* must be 34 */
	const uint8_t *seektable;	/* exact SEEKTABLE body, or NULL */
	size_t seektable_len;		/* multiple of 18; 0 = no SEEKTABLE */
	const struct mf_synth_tag *tags;	/* in store order */
	size_t ntags;
	const struct mf_synth_pic *pics;	/* in store order */
	size_t npics;
	const struct mf_synth_bin *bins;
	size_t nbins;
	uint64_t audio_offset;		/* audio range in the backing file */
	uint64_t audio_length;
};

/*
 * Build the served FLAC file for @t (RFC 9639 section 8): "fLaC",
 * STREAMINFO, SEEKTABLE if any, VORBIS_COMMENT (vendor "musefs", fields
 * named by mf_vocab_to_vorbis, lengths little-endian as in Vorbis I spec
 * 5.2.1), one PICTURE per picture with the image as a BLOB segment, then
 * APPLICATION and CUESHEET blocks from @t->bins as BLOB segments, the
 * is-last bit on the final block, no PADDING, then one BACKING segment
 * (audio_offset, audio_length).
 *
 * Tags whose key is valid but cannot be spelled as a Vorbis field name
 * (non-ASCII, '~') are left out with a debug message.
 *
 * On success stores a new layout in *@out (caller frees with
 * mf_layout_free()) and returns 0. Otherwise *@out is left unchanged and
 * the return is -EINVAL (streaminfo_len != 34, seektable_len not a
 * multiple of 18, a key that is not mf_vocab_key_valid(), a NULL string,
 * a MIME type that is not printable ASCII, an application shorter than
 * its 4-byte id), -EFBIG (a block body would exceed MF_FLAC_BLOCK_MAX:
 * nothing is dropped silently), -EOVERFLOW or -ENOMEM.
 *
 * Thread-safe; reads only @t.
 */
int mf_flac_synth(const struct mf_flac_track *t, struct mf_layout **out);

/*
 * The registry's synthesizer (mf_synth_fn) for format "flac": takes the
 * "streaminfo" and "seektable" blocks from @in and calls mf_flac_synth().
 * Binary tags other than "flac:application" and "flac:cuesheet" are not
 * written. Returns mf_flac_synth()'s result, with -EINVAL and -EOVERFLOW
 * (stored data that cannot make a valid file) turned into -EIO.
 */
int mf_flac_synth_input(const struct mf_synth_input *in,
			struct mf_layout **out);

#endif /* MF_FLAC_H */
