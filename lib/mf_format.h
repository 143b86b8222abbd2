/* SPDX-License-Identifier: MIT */
/*
 * mf_format - the registry of container formats: which prober reads a
 * backing file (by file name extension, then a content check inside the
 * prober), and which synthesizer builds a served file for a store format
 * (tracks.format). Each format module (mf_flac, mf_mp3, mf_ogg, mf_mp4,
 * mf_wav) exports one probe and one synth function with the signatures
 * below; this module only dispatches.
 *
 * Structural data. FLAC's STREAMINFO and SEEKTABLE live in the core
 * table structural_blocks (kinds "streaminfo" and "seektable"). Every
 * other format's structural data (Ogg identification/setup headers, the
 * MP4 moov atom, WAV chunks, ...) lives in the extension table
 * format_blocks as (kind, ordinal, data); kinds are namespaced by format
 * ("ogg:...", "mp4:...", "wav:..."). Probers report both through
 * mf_sink.on_structural; the scanner routes them; synthesizers get them
 * back, in (kind, ordinal) order, as struct mf_synth_block.
 */
#ifndef MF_FORMAT_H
#define MF_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mf_layout.h"
#include "mf_reader.h"
#include "mf_sink.h"

/* Largest structural block in bytes (format_blocks' CHECK allows 16 MiB). */
#define MF_STRUCT_MAX (16u << 20)

/* One text tag: canonical key, NUL-terminated UTF-8 value (may be ""). */
struct mf_synth_tag {
	const char *key;
	const char *value;
};

/* One picture; its image bytes are streamed from the store by @ref. */
struct mf_synth_pic {
	uint32_t type;		/* APIC picture type, 0..20 */
	const char *mime;	/* printable ASCII, may be "" */
	const char *desc;	/* UTF-8, may be "" */
	uint32_t width, height, depth, colors;
	uint64_t len;		/* image bytes */
	struct mf_blob_ref ref;	/* where the image bytes are */
};

/* One binary tag (tags.value_blob); @key namespaced ("id3:PRIV", ...). */
struct mf_synth_bin {
	const char *key;
	uint64_t len;		/* bytes */
	struct mf_blob_ref ref;	/* where the bytes are */
};

/* One structural block (see the header comment). */
struct mf_synth_block {
	const char *kind;
	const uint8_t *data;
	size_t len;		/* bytes */
};

/* Serving options that change synthesized bytes. */
struct mf_synth_opts {
	int id3v2_version;	/* 3 or 4; 0 means the default, 4 */
};

/* Everything synthesis needs for one track; all borrowed. */
struct mf_synth_input {
	const char *format;		/* tracks.format */
	const struct mf_synth_block *blocks;	/* sorted by (kind, ordinal) */
	size_t nblocks;
	const struct mf_synth_tag *tags;	/* sorted by (key, ordinal) */
	size_t ntags;
	const struct mf_synth_pic *pics;	/* in track_art ordinal order */
	size_t npics;
	const struct mf_synth_bin *bins;	/* sorted by (key, ordinal) */
	size_t nbins;
	uint64_t audio_offset;		/* audio range in the backing file */
	uint64_t audio_length;
	uint64_t backing_size;		/* bytes */
	const struct mf_synth_opts *opts;	/* never NULL */
};

/*
 * A prober: reads the file of @src (mf_reader.h: the bytes the caller
 * already read, the rest with pread(2) on its fd; bounded reads of the
 * header region; the file offset is not used), reports into @sink,
 * returns 0 or a negative errno with a short lowercase reason in @why
 * (@whylen bytes; NUL-terminated when @whylen > 0): -EINVAL the content
 * is not this format, -EBADMSG malformed, -EIO read error or a file that
 * shrank, -ENOMEM, -ENOTSUP a valid file this build cannot serve
 * (e.g. a multiplexed Ogg stream), or a sink callback's error. A prober
 * reports the store format with sink->on_format when it differs from the
 * registry's default for the extension (an .ogg file holding Opus).
 * Thread-safe: probes of different files may run concurrently.
 */
typedef int (*mf_probe_fn)(const struct mf_probe_src *src,
			   const struct mf_sink *sink, char *why,
			   size_t whylen);

/*
 * A synthesizer: builds the served file for @in as a new layout in *@out
 * (caller frees with mf_layout_free()). Returns 0; -EIO when the stored
 * data cannot make a valid file (missing or malformed structural blocks,
 * a tag that cannot be written); -EFBIG when the metadata would not fit
 * the container's limits (nothing is dropped silently); -ENOMEM. *@out is
 * untouched on error. Thread-safe; reads only @in.
 */
typedef int (*mf_synth_fn)(const struct mf_synth_input *in,
			   struct mf_layout **out);

/*
 * A structural block the store keeps in its core structural_blocks table
 * (docs/store.md), not in format_blocks: the kind as probers report it
 * and as the table spells it.
 */
struct mf_core_block {
	const char *kind;		/* "streaminfo" */
	const char *store_kind;		/* "STREAMINFO" */
};

/* The largest mf_format.fp_behind of any format (bytes). */
#define MF_FORMAT_FP_BEHIND_MAX 26u

/*
 * One store format, as MPD's decoder plugins: everything the scanner and
 * the mount need to know of it, so that neither names a format.
 */
struct mf_format {
	const char *name;	/* tracks.format: "flac", "mp3", "vorbis", ... */
	const char *ext;	/* served file extension, without the dot */
	mf_synth_fn synth;
	/* a probe that reports no block of this kind found no audio
	 * (FLAC's STREAMINFO), or NULL */
	const char *required_block;
	/* How its audio bytes are normalized before the fingerprint hashes
	 * them (docs/store.md), or NULL: called on @n bytes of the audio
	 * range, of which those before the hashed piece (fp_behind at most)
	 * are context only; it rewrites in place what a retag changes without
	 * changing the audio (Ogg: page sequence numbers and CRCs). */
	void (*fp_normalize)(uint8_t *buf, size_t n);
	size_t fp_behind;	/* context bytes before each piece, at most
				 * MF_FORMAT_FP_BEHIND_MAX */
	/* the format_blocks kind holding the container's own extension when
	 * it differs from ext (an .m4b audiobook stored as m4a), or NULL */
	const char *own_ext_block;
	/* the extensions own_ext_block may name, NULL-terminated, or NULL */
	const char *const *own_exts;
};

/*
 * The prober for a file name, chosen by its extension (ASCII
 * case-insensitive): .flac, .mp3, .ogg, .oga, .opus, .m4a, .m4b, .mp4,
 * .wav. Sets *@format to the default store format for that extension.
 * Returns NULL for a name this build does not read (the scanner counts it
 * as skipped). Thread-safe.
 */
mf_probe_fn mf_format_prober(const char *name, const char **format);

/* The descriptor of store format @format, or NULL. Thread-safe. */
const struct mf_format *mf_format_get(const char *format);

/*
 * Every store format this build serves: @fn(@ctx, f) for each, in a fixed
 * order, until @fn returns non-zero (returned). Thread-safe.
 */
int mf_format_each(int (*fn)(void *ctx, const struct mf_format *f),
		   void *ctx);

/*
 * The core structural blocks (struct mf_core_block) of every format:
 * *@n of them, static. Thread-safe.
 */
const struct mf_core_block *mf_format_core_blocks(size_t *n);

/* The core block of kind @kind (as probers report it), or NULL. */
const struct mf_core_block *mf_format_core_block(const char *kind);

/*
 * The extension a track of store format @format is served with: the
 * format's ext, or @own_ext (its own_ext_block's content, may be NULL)
 * when that is one of the format's own_exts; @format itself when unknown;
 * NULL when @format is NULL. Thread-safe.
 */
const char *mf_format_served_ext(const char *format, const char *own_ext);

/*
 * Name what the first bytes of a file look like, for error messages when
 * a prober refuses a file whose content does not match its extension:
 * "FLAC", "ID3v2-tagged", "Ogg", "MP4", "RIFF WAVE", "MPEG audio", or
 * NULL when unknown. @head holds @n bytes from offset 0. Thread-safe.
 */
const char *mf_format_sniff(const uint8_t *head, size_t n);

#endif /* MF_FORMAT_H */
