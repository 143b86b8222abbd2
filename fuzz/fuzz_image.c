/* SPDX-License-Identifier: MIT */
/*
 * fuzz_image - libFuzzer target: mf_image_info() and mf_image_mime() on
 * the input as an image; a failed header read must leave the outputs 0.
 */
#include <stdlib.h>
#include <string.h>

#include "mf_image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint32_t w = 1, h = 1, depth = 1, colors = 1;
	const char *mime;

	if (mf_image_info(data, size, &w, &h, &depth, &colors) &&
	    (w || h || depth || colors))
		abort();
	mime = mf_image_mime(data, size);
	if (!mime || strncmp(mime, "image/", 6))
		abort();
	return 0;
}
