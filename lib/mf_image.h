/* SPDX-License-Identifier: MIT */
/*
 * mf_image - what an image's own header says: pixel size, colour depth
 * and palette size of PNG (IHDR, PLTE), JPEG (SOFn, ITU T.81 B.2.2), GIF
 * (logical screen descriptor) and BMP (info header) images, and the MIME
 * type their magic implies. The probers use it for pictures whose
 * container does not carry these (ID3 APIC, MP4 covr, Vorbis COVERART).
 * Values follow the FLAC PICTURE block (RFC 9639 section 8.8): depth in
 * bits per pixel, colors the palette size of indexed images else 0; an
 * indexed image has depth 24 (palette entries are RGB), as flac's own
 * picture import reports.
 */
#ifndef MF_IMAGE_H
#define MF_IMAGE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Read the header of the @n-byte image at @d: sets *@w, *@h (pixels),
 * *@depth (bits per pixel) and *@colors (palette entries, 0 when not
 * indexed). Returns 0, or -EINVAL when the format is not recognised or
 * the header is truncated (outputs are then 0). Pure, thread-safe.
 */
int mf_image_info(const uint8_t *d, size_t n, uint32_t *w, uint32_t *h,
		  uint32_t *depth, uint32_t *colors);

/*
 * The MIME type the image magic implies ("image/jpeg", "image/png",
 * "image/gif", "image/bmp"), or "image/" when unknown (the ID3 spelling
 * of an unknown image type). Static string; pure, thread-safe.
 */
const char *mf_image_mime(const uint8_t *d, size_t n);

#endif /* MF_IMAGE_H */
