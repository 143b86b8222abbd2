/* SPDX-License-Identifier: MIT */
/*
 * mf_mp3 - MPEG audio files with ID3 tags (.mp3): probe and synthesis.
 *
 * The probe reads the ID3v2 tags at the front (several in a row are
 * allowed), finds the first of several consecutive valid MPEG audio frame
 * headers (ISO/IEC 11172-3 2.4.1.3, 13818-3), and strips ID3v1, APEv2,
 * Lyrics3v2 and appended ID3v2 tags from the end: the audio range is the
 * first MPEG frame (including a Xing/Info/LAME or VBRI frame) to the end
 * of the last audio frame. The synthesizer serves a fresh ID3v2 tag
 * (mf_id3_build) followed by that range verbatim.
 */
#ifndef MF_MP3_H
#define MF_MP3_H

#include <stddef.h>

#include "mf_format.h"
#include "mf_layout.h"
#include "mf_sink.h"

/*
 * Probe the file open on @fd (pread(2) only; the file offset is unused).
 * Reports, in order: on_audio_range once; on_tag/on_picture/on_binary_tag
 * from the ID3v2 tags (mf_id3_parse; a later tag in a row only adds keys
 * the earlier ones lack, and pictures only if none was seen), then from
 * an ID3v1 tag for keys still missing (APEv2 items are not read: the tag
 * is only excluded from the audio range); on_props with sample rate,
 * channels, total samples and duration from the Xing/Info or VBRI header,
 * else a CBR estimate from the audio size, and the average bitrate.
 *
 * Returns 0 or a negative errno with a reason in @why: -EINVAL not an MP3
 * (the file starts like another container: FLAC, Ogg, MP4, RIFF WAVE;
 * or no run of consecutive MPEG frame headers within 256 KiB after the
 * ID3v2 tags) or not a regular file, -EBADMSG an ID3v2 tag running past
 * the end of the file or an ID3v2 frame running past the end of its tag,
 * -EIO read error or a file that shrank, -ENOMEM, or a callback's error.
 * Thread-safe.
 */
int mf_mp3_probe(const struct mf_probe_src *src,
		 const struct mf_sink *sink, char *why, size_t whylen);

/*
 * The registry's synthesizer (mf_synth_fn) for format "mp3": one ID3v2
 * tag (version in->opts->id3v2_version, default 4) then one BACKING
 * segment (audio_offset, audio_length). Returns 0, -EIO for stored data
 * that cannot make a tag (invalid key or string), -EFBIG, -ENOMEM.
 * *@out is untouched on error. Thread-safe.
 */
int mf_mp3_synth(const struct mf_synth_input *in, struct mf_layout **out);

#endif /* MF_MP3_H */
