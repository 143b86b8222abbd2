/* SPDX-License-Identifier: MIT */
/*
 * mf_format - prober and synthesizer dispatch. Adding a format: one line
 * in each table below, nothing else.
 */
#include "mf_format.h"

#include <string.h>
#include <strings.h>

#include "mf_flac.h"
#include "mf_mp4.h"
#include "mf_mp3.h"
#include "mf_ogg.h"
#include "mf_wav.h"

#include "mf_banned.h"

/* Probers by file name extension (ASCII case-insensitive). */
static const struct {
	const char *ext;
	const char *format;	/* default store format */
	mf_probe_fn probe;
} probers[] = {
	{ "flac", "flac", mf_flac_probe },
	{ "ogg", "vorbis", mf_ogg_probe },
	{ "oga", "oggflac", mf_ogg_probe },
	{ "opus", "opus", mf_ogg_probe },
	{ "m4a", "m4a", mf_mp4_probe },
	{ "m4b", "m4a", mf_mp4_probe_m4b },
	{ "mp4", "m4a", mf_mp4_probe },
	{ "mp3", "mp3", mf_mp3_probe },
	{ "wav", "wav", mf_wav_probe },
};

_Static_assert(MF_OGG_FP_BEHIND <= MF_FORMAT_FP_BEHIND_MAX,
	       "MF_FORMAT_FP_BEHIND_MAX covers every format");

/* FLAC's STREAMINFO and SEEKTABLE live in the core structural_blocks. */
static const struct mf_core_block core_blocks[] = {
	{ "streaminfo", "STREAMINFO" },
	{ "seektable", "SEEKTABLE" },
};

static const char *const m4a_own_exts[] = { "m4b", NULL };

/* The store formats, in the order listings show them (musefs-stat). */
static const struct mf_format formats[] = {
	{ .name = "flac", .ext = "flac", .synth = mf_flac_synth_input,
	  .required_block = "streaminfo" },
	{ .name = "mp3", .ext = "mp3", .synth = mf_mp3_synth },
	{ .name = "m4a", .ext = "m4a", .synth = mf_mp4_synth,
	  .own_ext_block = "mp4:ext", .own_exts = m4a_own_exts },
	{ .name = "opus", .ext = "opus", .synth = mf_ogg_synth,
	  .fp_normalize = mf_ogg_fp_normalize, .fp_behind = MF_OGG_FP_BEHIND },
	{ .name = "vorbis", .ext = "ogg", .synth = mf_ogg_synth,
	  .fp_normalize = mf_ogg_fp_normalize, .fp_behind = MF_OGG_FP_BEHIND },
	{ .name = "oggflac", .ext = "oga", .synth = mf_ogg_synth,
	  .fp_normalize = mf_ogg_fp_normalize, .fp_behind = MF_OGG_FP_BEHIND },
	{ .name = "wav", .ext = "wav", .synth = mf_wav_synth },
};

mf_probe_fn mf_format_prober(const char *name, const char **format)
{
	const char *dot = strrchr(name, '.');

	if (!dot || dot == name || dot[1] == '\0')
		return NULL;
	for (size_t i = 0; i < sizeof(probers) / sizeof(probers[0]); i++) {
		if (strcasecmp(dot + 1, probers[i].ext) == 0) {
			if (format)
				*format = probers[i].format;
			return probers[i].probe;
		}
	}
	return NULL;
}

const struct mf_format *mf_format_get(const char *format)
{
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
		if (strcmp(formats[i].name, format) == 0)
			return &formats[i];
	return NULL;
}

int mf_format_each(int (*fn)(void *ctx, const struct mf_format *f),
		   void *ctx)
{
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		int ret = fn(ctx, &formats[i]);

		if (ret)
			return ret;
	}
	return 0;
}

const struct mf_core_block *mf_format_core_blocks(size_t *n)
{
	*n = sizeof(core_blocks) / sizeof(core_blocks[0]);
	return core_blocks;
}

const struct mf_core_block *mf_format_core_block(const char *kind)
{
	for (size_t i = 0; i < sizeof(core_blocks) / sizeof(core_blocks[0]); i++)
		if (strcmp(core_blocks[i].kind, kind) == 0)
			return &core_blocks[i];
	return NULL;
}

const char *mf_format_served_ext(const char *format, const char *own_ext)
{
	const struct mf_format *f;

	if (!format)
		return NULL;
	f = mf_format_get(format);
	if (!f)
		return format;
	for (size_t i = 0; own_ext && f->own_exts && f->own_exts[i]; i++)
		if (strcmp(own_ext, f->own_exts[i]) == 0)
			return f->own_exts[i];
	return f->ext;
}

const char *mf_format_sniff(const uint8_t *h, size_t n)
{
	if (n >= 4 && memcmp(h, "fLaC", 4) == 0)
		return "FLAC";
	if (n >= 3 && memcmp(h, "ID3", 3) == 0)
		return "ID3v2-tagged";
	if (n >= 4 && memcmp(h, "OggS", 4) == 0)
		return "Ogg";
	/*
	 * An ftyp box is tens of bytes, so its big-endian size starts with a
	 * zero byte; without that check an MPEG frame whose bytes 4..7 read
	 * "ftyp" sniffed as MP4 and the MP3 prober refused the file (found by
	 * fuzz_roundtrip: a served MP3 that did not probe again).
	 */
	if (n >= 12 && h[0] == 0 && memcmp(h + 4, "ftyp", 4) == 0)
		return "MP4";
	if (n >= 12 && (memcmp(h, "RIFF", 4) == 0 ||
			memcmp(h, "RF64", 4) == 0 ||
			memcmp(h, "BW64", 4) == 0) &&
	    memcmp(h + 8, "WAVE", 4) == 0)
		return "RIFF WAVE";
	/* MPEG audio frame sync: 11 set bits, a valid layer. */
	if (n >= 2 && h[0] == 0xff && (h[1] & 0xe0) == 0xe0 &&
	    (h[1] & 0x06) != 0)
		return "MPEG audio";
	return NULL;
}
