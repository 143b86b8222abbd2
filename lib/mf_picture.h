/* SPDX-License-Identifier: MIT */
/*
 * mf_picture - the FLAC PICTURE block body (RFC 9639 section 8.8), read
 * and written for both the FLAC PICTURE metadata block (mf_flac) and the
 * base64 METADATA_BLOCK_PICTURE Vorbis comment of Ogg streams (mf_ogg).
 * Layout, all big-endian 32-bit: type, MIME length, MIME (printable
 * ASCII), description length, description (UTF-8), width, height, depth
 * (bits per pixel), colors (palette size, 0 when not indexed), data
 * length, data. Pure functions, thread-safe.
 */
#ifndef MF_PICTURE_H
#define MF_PICTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mf_format.h"
#include "mf_layout.h"

#define MF_PICTURE_FIXED 32	/* bytes of the eight 32-bit fields */
#define MF_PICTURE_TYPE_MAX 20	/* highest defined picture type */

/* A parsed body; the pointers borrow from the parsed buffer. */
struct mf_picture_fields {
	uint32_t type;
	const char *mime;	/* mime_len bytes, not NUL-terminated */
	size_t mime_len;
	const char *desc;	/* desc_len bytes, not NUL-terminated */
	size_t desc_len;
	uint32_t width, height, depth, colors;
	const uint8_t *data;	/* data_len bytes of image */
	size_t data_len;
};

/*
 * Parse the @len-byte body at @body into *@f. Every length is checked
 * against the bytes left before it is used; the lengths must add up to
 * @len exactly. Nothing is allocated. Returns 0, or -EBADMSG when the
 * body is malformed (*@f then undefined). The field values (type range,
 * MIME, description) are not judged; see mf_picture_fields_legal().
 */
int mf_picture_parse(const uint8_t *body, size_t len,
		     struct mf_picture_fields *f);

/* Is @s (@n bytes) printable ASCII 0x20-0x7e, as a MIME type must be? */
bool mf_picture_mime_ok(const char *s, size_t n);

/*
 * Are the values of @f legal: type at most MF_PICTURE_TYPE_MAX, MIME
 * printable ASCII, description UTF-8 without NUL?
 */
bool mf_picture_fields_legal(const struct mf_picture_fields *f);

/* Bytes of the body mf_picture_add() writes for @pic (mime, desc set). */
uint64_t mf_picture_body_len(const struct mf_synth_pic *pic);

/*
 * Append the body for @pic to @l: the fixed fields and strings inline,
 * the image as a BLOB segment of @pic->ref. With @dims false, width,
 * height, depth and colors are written as 0. The caller has checked that
 * @pic->mime and @pic->desc are set and mf_picture_body_len() fits in 32
 * bits. Returns 0 or -ENOMEM (@l then holds a partial body).
 */
int mf_picture_add(struct mf_layout *l, const struct mf_synth_pic *pic,
		   bool dims);

#endif
