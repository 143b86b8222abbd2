/* SPDX-License-Identifier: MIT */
/*
 * mf_wav - RIFF WAVE files: probe and synthesis.
 *
 * A WAVE file is a RIFF form (Microsoft "Multimedia Programming Interface
 * and Data Specifications 1.0", 1991, chapter 2; RIFF chunk = 4-byte id,
 * 32-bit little-endian size, body, one pad byte after an odd-sized body)
 * holding a "fmt " chunk, a "data" chunk (the audio samples) and any
 * number of other chunks. Tags live in a "LIST" chunk of type "INFO"
 * (subchunks INAM, IART, ...: NUL-terminated text) and/or in an "id3 "
 * (or "ID3 ") chunk holding an ID3v2 tag.
 *
 * Store representation. Every chunk the synthesizer writes back verbatim
 * is one structural block of kind "wav:chunk" (format_blocks), in file
 * order: its data is the 4-byte chunk id followed by the chunk body
 * (without size field or pad byte). The "data" chunk is recorded as a
 * 4-byte placeholder "data" (no body: the audio stays in the backing
 * file), which keeps the position of the audio among the kept chunks.
 * Not kept: "LIST"/"INFO" and "id3 "/"ID3 " (rebuilt from the tags) and
 * the padding chunks "JUNK", "junk", "PAD " and "FLLR".
 *
 * Served file: "RIFF" <size> "WAVE", the kept chunks in their original
 * order (so "fmt " and, e.g., "bext" stay before "data"), the "data"
 * chunk header and its body as a BACKING segment, then (after the audio,
 * so that the audio offset depends only on the kept chunks) a new
 * "LIST"/"INFO" chunk with the tags INFO can hold and an "id3 " chunk
 * holding an ID3v2.4 tag with all tags and pictures. ffmpeg, mutagen and
 * TagLib all read chunks after "data".
 *
 * RF64/BW64 (EBU Tech 3306, files over 4 GiB) and big-endian RIFX files
 * are refused at probe with -ENOTSUP.
 */
#ifndef MF_WAV_H
#define MF_WAV_H

#include <stddef.h>
#include <stdint.h>

#include "mf_format.h"
#include "mf_layout.h"
#include "mf_sink.h"

/* Kind of the structural blocks of a WAVE file (see above). */
#define MF_WAV_KIND_CHUNK "wav:chunk"

/* Most chunks a probe accepts in one file (the store keeps 4096 blocks). */
#define MF_WAV_CHUNKS_MAX 4096

/* Prefix of the store key of an INFO field that has no Picard name:
 * "riff:" + the lowercased 4-byte id, e.g. "riff:isbj". */
#define MF_WAV_INFO_PREFIX "riff:"

/*
 * Probe the WAVE file open on @fd (pread(2) only; the file offset is not
 * used). Walks the RIFF chunks with every size checked against the RIFF
 * size and the file size (odd-sized chunks followed by a pad byte; a
 * missing pad byte after the last chunk is tolerated), requires exactly
 * one "fmt " chunk (at least 16 bytes) before exactly one "data" chunk.
 *
 * Reports into @sink (callbacks may be NULL): on_audio_range (the body of
 * "data"), on_props (from "fmt ": sample rate, channels, bits per sample;
 * total samples = data size / block align for PCM, IEEE float, A-law,
 * mu-law and their WAVE_FORMAT_EXTENSIBLE forms, else from a "fact"
 * chunk; duration; bitrate), on_structural(MF_WAV_KIND_CHUNK) per kept
 * chunk in file order, then what the first "id3 "/"ID3 " chunk holds
 * (mf_id3_parse(): on_tag, on_picture, on_binary_tag "id3:xxxx"; a later
 * ID3 chunk is ignored with a warning), then those INFO fields whose key
 * the ID3v2 tag did not have (Picard's rule: ID3 wins). INFO text is taken as UTF-8 when it is
 * valid UTF-8, else as Windows-1252, and converted to UTF-8; trailing NUL
 * bytes are dropped. INFO ids map to Picard keys (mf_wav_info_key());
 * ITRK/IPRT "n/m" gives tracknumber n and totaltracks m.
 *
 * Returns 0 or a negative errno with a short reason in @why (@whylen
 * bytes; NUL-terminated when @whylen > 0): -EINVAL not a RIFF WAVE file
 * or not a regular file, -ENOTSUP RF64/BW64/RIFX or a kept chunk over
 * MF_STRUCT_MAX bytes, -EBADMSG malformed (a size past the end, no or two
 * "fmt "/"data" chunks, a bad chunk id, more than MF_WAV_CHUNKS_MAX
 * chunks, a malformed INFO list, an ID3 chunk that holds no ID3v2 tag or
 * a tag longer than the chunk, or mf_id3_parse()'s -EBADMSG for a
 * malformed tag, e.g. a frame running past its end; the reason names the
 * chunk and its offset), -EIO read error or the file shrank,
 * -ENOMEM, or a sink callback's error. Thread-safe.
 */
int mf_wav_probe(const struct mf_probe_src *src,
		 const struct mf_sink *sink, char *why, size_t whylen);

/*
 * The registry's synthesizer (mf_synth_fn) for format "wav": builds the
 * served file described above from the "wav:chunk" blocks of @in, its
 * tags, pictures and "id3:" binary tags. The INFO list holds the tags
 * with an INFO id (mf_wav_info_id()); several values of one key are
 * joined with "; " (INFO holds one value per id). The "id3 " chunk holds
 * mf_id3_build()'s tag (version in->opts->id3v2_version, default 4) with
 * every tag, picture (APIC, image as a BLOB segment) and "id3:" binary
 * tag; it is left out when that tag would be empty. Returns 0 and a new layout in *@out (caller frees),
 * or -EIO (no or two "fmt "/"data" blocks, a block shorter than its id, a
 * malformed tag), -EFBIG (the RIFF size or a chunk would pass 4 GiB - 1),
 * -ENOMEM. *@out is untouched on error. Thread-safe.
 */
int mf_wav_synth(const struct mf_synth_input *in, struct mf_layout **out);

/*
 * The Picard key of an INFO field id (4 bytes, e.g. "INAM" -> "title"),
 * or NULL when the id has no Picard name (the probe then stores it as
 * MF_WAV_INFO_PREFIX + lowercased id). Pure, thread-safe.
 */
const char *mf_wav_info_key(const char id[4]);

/*
 * The INFO field id (4 bytes into @id) that synthesis writes for the
 * store key @key: the inverse of mf_wav_info_key() (tracknumber -> ITRK),
 * or, for MF_WAV_INFO_PREFIX + 4 printable characters, those characters
 * uppercased. Returns 0, or -ENOENT when INFO has no field for @key.
 * Pure, thread-safe.
 */
int mf_wav_info_id(const char *key, char id[4]);

#endif /* MF_WAV_H */
