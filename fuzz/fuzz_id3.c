/* SPDX-License-Identifier: MIT */
/*
 * fuzz_id3 - libFuzzer target: the ID3 parsers on a buffer: mf_id3_parse()
 * on the whole input (an ID3v2 tag; the MP3 prober reaches it only after
 * its own size checks, this target feeds it any length), then
 * mf_id3_parse_v1() on its last 128 bytes.
 */
#include "fuzz_probe.h"
#include "mf_id3.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_ctx c = { .size = size };
	struct mf_sink s = fuzz_sink(&c);
	char why[128];
	uint64_t total;

	/* A private copy of exactly @size bytes, so ASan sees over-reads. */
	uint8_t *buf = malloc(size ? size : 1);

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	if (size >= MF_ID3_HDR_LEN)
		(void)mf_id3_tag_size(buf, &total);
	(void)mf_id3_parse(buf, size, &s, why, sizeof(why));
	if (size >= MF_ID3V1_LEN)
		(void)mf_id3_parse_v1(buf + size - MF_ID3V1_LEN, &s);
	free(buf);
	return 0;
}
