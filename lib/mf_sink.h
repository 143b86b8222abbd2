/* SPDX-License-Identifier: MIT */
/*
 * mf_sink - the callback interface format probers report into (after MPD's
 * TagHandler). Parsers know bytes, never SQL: the scanner implements a sink
 * that collects what a probe reports and writes it to the store.
 *
 * Every callback returns 0 to continue or a negative errno to abort the
 * probe (the prober then returns that value). Pointers passed to callbacks
 * are borrowed and valid only during the call: copy what you keep.
 */
#ifndef MF_SINK_H
#define MF_SINK_H

#include <stddef.h>
#include <stdint.h>

/* One embedded picture (FLAC PICTURE block, ID3 APIC, ...). */
struct mf_picture {
	uint32_t type;		/* ID3v2 APIC picture type, 0..20 */
	const char *mime;	/* NUL-terminated, e.g. "image/jpeg" */
	const char *desc;	/* NUL-terminated UTF-8, may be "" */
	uint32_t width;		/* pixels, 0 if unknown */
	uint32_t height;	/* pixels, 0 if unknown */
	uint32_t depth;		/* bits per pixel, 0 if unknown */
	uint32_t colors;	/* palette size for indexed images, else 0 */
	const uint8_t *data;	/* image bytes */
	size_t len;		/* bytes */
};

/* Audio properties from the stream header (FLAC STREAMINFO, ...). */
struct mf_audio_props {
	uint32_t sample_rate;	/* Hz */
	uint32_t channels;
	uint32_t bits_per_sample;
	uint64_t total_samples;	/* per channel, 0 if unknown */
	uint64_t duration_ms;	/* 0 if unknown */
	uint32_t bitrate_kbps;	/* average over the audio range, 0 if unknown */
};

struct mf_sink {
	void *ctx;	/* passed back as first argument */
	/* Byte range of the audio payload in the backing file. Once. */
	int (*on_audio_range)(void *ctx, uint64_t offset, uint64_t length);
	/*
	 * One text tag. @key is the canonical lowercase key (mf_vocab), @value
	 * UTF-8 of @len bytes (not necessarily NUL-terminated). Multi-values
	 * arrive as repeated calls with the same key, in file order.
	 */
	int (*on_tag)(void *ctx, const char *key, const char *value, size_t len);
	/* One binary tag, e.g. key "flac:cuesheet" with the block body. */
	int (*on_binary_tag)(void *ctx, const char *key, const void *data,
			     size_t len);
	/* One picture, in file order. */
	int (*on_picture)(void *ctx, const struct mf_picture *pic);
	/*
	 * One structural block the synthesizer needs verbatim: @kind is
	 * "streaminfo" or "seektable" for FLAC (@data is the block body,
	 * without the 4-byte metadata block header), else a kind namespaced
	 * by format ("ogg:...", "mp4:...", "wav:...") stored in the
	 * format_blocks extension table (mf_format.h). A kind may repeat; the
	 * synthesizer gets repeats back in report order. At most 16 MiB each.
	 */
	int (*on_structural)(void *ctx, const char *kind, const void *data,
			     size_t len);
	/*
	 * The store format (tracks.format) when it differs from the default
	 * for the file's extension, e.g. "opus" for an .ogg file. At most
	 * once, before on_audio_range. @format is a static string.
	 */
	int (*on_format)(void *ctx, const char *format);
	/* Audio properties. At most once. */
	int (*on_props)(void *ctx, const struct mf_audio_props *props);
};

#endif /* MF_SINK_H */
