/* SPDX-License-Identifier: MIT */
/*
 * fuzz_probe.h - shared by the prober fuzz targets (fuzz/fuzz_*.c): feeds
 * one libFuzzer input to a prober through a memfd (probers read an fd
 * with pread(2), as in the unit tests) and a sink that reads every byte
 * it is given, so ASan sees any over-read of a reported buffer, and
 * aborts when a report breaks the sink contract (mf_sink.h): an audio
 * range outside the file or reported twice, a structural block above
 * MF_STRUCT_MAX, a picture type above 20.
 */
#ifndef FUZZ_PROBE_H
#define FUZZ_PROBE_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "mf_format.h"
#include "mf_log.h"
#include "mf_sink.h"

struct fuzz_ctx {
	uint64_t size;		/* input bytes */
	int nrange;
	volatile uint8_t sum;	/* keeps the byte reads */
};

static void fuzz_touch(struct fuzz_ctx *c, const void *p, size_t len)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < len; i++)
		c->sum = (uint8_t)(c->sum + b[i]);
}

static int fuzz_range(void *ctx, uint64_t off, uint64_t len)
{
	struct fuzz_ctx *c = ctx;

	if (c->nrange++ || off > c->size || len > c->size - off)
		abort();
	return 0;
}

static int fuzz_tag(void *ctx, const char *key, const char *value, size_t len)
{
	fuzz_touch(ctx, key, strlen(key));
	fuzz_touch(ctx, value, len);
	return 0;
}

static int fuzz_bin(void *ctx, const char *key, const void *data, size_t len)
{
	fuzz_touch(ctx, key, strlen(key));
	fuzz_touch(ctx, data, len);
	return 0;
}

static int fuzz_pic(void *ctx, const struct mf_picture *p)
{
	if (p->type > 20)
		abort();
	fuzz_touch(ctx, p->mime, strlen(p->mime));
	fuzz_touch(ctx, p->desc, strlen(p->desc));
	fuzz_touch(ctx, p->data, p->len);
	return 0;
}

static int fuzz_struct(void *ctx, const char *kind, const void *data,
		       size_t len)
{
	if (len > MF_STRUCT_MAX)
		abort();
	fuzz_touch(ctx, kind, strlen(kind));
	fuzz_touch(ctx, data, len);
	return 0;
}

static int fuzz_format(void *ctx, const char *format)
{
	fuzz_touch(ctx, format, strlen(format));
	return 0;
}

static int fuzz_props(void *ctx, const struct mf_audio_props *p)
{
	(void)ctx;
	(void)p;
	return 0;
}

static inline struct mf_sink fuzz_sink(struct fuzz_ctx *c)
{
	struct mf_sink s = {
		.ctx = c, .on_audio_range = fuzz_range, .on_tag = fuzz_tag,
		.on_binary_tag = fuzz_bin, .on_picture = fuzz_pic,
		.on_structural = fuzz_struct, .on_format = fuzz_format,
		.on_props = fuzz_props,
	};
	return s;
}

/* A memfd holding exactly @data; one per process, reused. -1 on error. */
static inline int fuzz_fd(const uint8_t *data, size_t size)
{
	static int fd = -1;

	if (fd < 0) {
		mf_log_init("fuzz", MF_LOG_ERROR);
		fd = memfd_create("fuzz", 0);
		if (fd < 0)
			abort();
	}
	if (ftruncate(fd, 0) || (size && pwrite(fd, data, size, 0) !=
				 (ssize_t)size))
		abort();
	return fd;
}

/* Probe @data with @probe; the result is ignored (any error is fine). */
static inline void fuzz_probe(mf_probe_fn probe, const uint8_t *data,
			      size_t size)
{
	struct fuzz_ctx c = { .size = size };
	struct mf_sink s = fuzz_sink(&c);
	char why[128];

	(void)probe(MF_PROBE_SRC_FD(fuzz_fd(data, size)), &s, why,
		    sizeof(why));
}

/* The one-prober target: LLVMFuzzerTestOneInput probing with @fn. */
#define FUZZ_PROBER(fn)							\
	int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);	\
	int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)	\
	{								\
		fuzz_probe(fn, data, size);				\
		return 0;						\
	}

#endif /* FUZZ_PROBE_H */
