/* SPDX-License-Identifier: MIT */
/* mf_image - image header parsing for picture properties. */
#include "mf_image.h"

#include <errno.h>
#include <string.h>

#include "mf_bytes.h"

#include "mf_banned.h"

/* PNG: IHDR must be the first chunk; PLTE (if any) gives the palette. */
static int png_info(const uint8_t *d, size_t n, uint32_t *w, uint32_t *h,
		    uint32_t *depth, uint32_t *colors)
{
	static const uint8_t sig[8] = { 0x89, 'P', 'N', 'G', 0x0d, 0x0a,
					0x1a, 0x0a };
	static const unsigned samples[7] = { 1, 0, 3, 1, 2, 0, 4 };
	unsigned bd, ct;
	size_t pos;

	if (n < 33 || memcmp(d, sig, 8) != 0 || memcmp(d + 12, "IHDR", 4))
		return -EINVAL;
	bd = d[24];
	ct = d[25];
	if (ct > 6 || !samples[ct])
		return -EINVAL;
	*w = mf_get_be32(d + 16);
	*h = mf_get_be32(d + 20);
	/* indexed: palette entries are 8-bit RGB (PNG 11.2.2), as flac's
	 * own picture import reports them */
	*depth = ct == 3 ? 24 : bd * samples[ct];
	if (ct != 3)
		return 0;
	*colors = 1u << (bd > 8 ? 8 : bd);	/* until PLTE says */
	/* Indexed: find PLTE among the next chunks. */
	pos = 33;
	while (pos + 8 <= n) {
		uint32_t len = mf_get_be32(d + pos);

		if (memcmp(d + pos + 4, "PLTE", 4) == 0) {
			*colors = len / 3;
			break;
		}
		if (memcmp(d + pos + 4, "IDAT", 4) == 0 || len > n - pos - 8 ||
		    n - pos - 8 - len < 4)
			break;
		pos += 12 + (size_t)len;
	}
	return 0;
}

/* JPEG: walk the marker segments to the first SOFn (ITU T.81 B.2.2). */
static int jpeg_info(const uint8_t *d, size_t n, uint32_t *w, uint32_t *h,
		     uint32_t *depth)
{
	size_t pos = 2;

	if (n < 4 || d[0] != 0xff || d[1] != 0xd8)
		return -EINVAL;
	while (pos + 4 <= n) {
		unsigned m;
		size_t len;

		if (d[pos] != 0xff)
			return -EINVAL;
		m = d[pos + 1];
		if (m == 0xff) {	/* fill byte */
			pos++;
			continue;
		}
		if (m == 0xd8 || m == 0x01 || (m >= 0xd0 && m <= 0xd7)) {
			pos += 2;
			continue;
		}
		len = (size_t)d[pos + 2] << 8 | d[pos + 3];
		if (len < 2)
			return -EINVAL;
		if (m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 &&
		    m != 0xcc) {
			if (len < 8 || pos + 10 > n)
				return -EINVAL;
			*depth = (uint32_t)d[pos + 4] * d[pos + 9];
			*h = (uint32_t)d[pos + 5] << 8 | d[pos + 6];
			*w = (uint32_t)d[pos + 7] << 8 | d[pos + 8];
			return 0;
		}
		if (m == 0xd9 || m == 0xda)
			return -EINVAL;
		pos += 2 + len;
	}
	return -EINVAL;
}

int mf_image_info(const uint8_t *d, size_t n, uint32_t *w, uint32_t *h,
		      uint32_t *depth, uint32_t *colors)
{
	int ret = -EINVAL;

	*w = *h = *depth = *colors = 0;
	if (!d)
		return -EINVAL;
	if (n >= 8 && d[0] == 0x89 && d[1] == 'P') {
		ret = png_info(d, n, w, h, depth, colors);
	} else if (n >= 2 && d[0] == 0xff && d[1] == 0xd8) {
		ret = jpeg_info(d, n, w, h, depth);
	} else if (n >= 13 && (memcmp(d, "GIF87a", 6) == 0 ||
			       memcmp(d, "GIF89a", 6) == 0)) {
		*w = mf_get_le16(d + 6);
		*h = mf_get_le16(d + 8);
		*depth = 24;	/* colour table entries are RGB */
		if (d[10] & 0x80)
			*colors = 1u << ((d[10] & 7u) + 1);
		ret = 0;
	} else if (n >= 54 && d[0] == 'B' && d[1] == 'M') {
		int32_t bh = (int32_t)mf_get_le32(d + 22);

		*w = mf_get_le32(d + 18);
		*h = bh < 0 ? (uint32_t)0 - (uint32_t)bh : (uint32_t)bh;
		*depth = mf_get_le16(d + 28);
		if (*depth <= 8)
			*colors = mf_get_le32(d + 46) ? mf_get_le32(d + 46)
						   : 1u << *depth;
		ret = 0;
	}
	if (ret)
		*w = *h = *depth = *colors = 0;
	return ret;
}

const char *mf_image_mime(const uint8_t *d, size_t n)
{
	if (n >= 3 && d[0] == 0xff && d[1] == 0xd8 && d[2] == 0xff)
		return "image/jpeg";
	if (n >= 8 && d[0] == 0x89 && memcmp(d + 1, "PNG", 3) == 0)
		return "image/png";
	if (n >= 6 && memcmp(d, "GIF8", 4) == 0)
		return "image/gif";
	if (n >= 2 && d[0] == 'B' && d[1] == 'M')
		return "image/bmp";
	return "image/";
}
