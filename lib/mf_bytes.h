/* SPDX-License-Identifier: MIT */
/*
 * mf_bytes - big- and little-endian loads and stores of fixed-width
 * integers at unaligned addresses, for the container parsers and writers.
 * @p must hold the whole width (the caller bounds-checks). Pure functions,
 * thread-safe.
 */
#ifndef MF_BYTES_H
#define MF_BYTES_H

#include <stdint.h>

static inline uint16_t mf_get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t mf_get_be24(const uint8_t *p)
{
	return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

static inline uint32_t mf_get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t mf_get_be64(const uint8_t *p)
{
	return (uint64_t)mf_get_be32(p) << 32 | mf_get_be32(p + 4);
}

static inline uint16_t mf_get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t mf_get_le32(const uint8_t *p)
{
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[1] << 8 | p[0];
}

static inline uint64_t mf_get_le64(const uint8_t *p)
{
	return (uint64_t)mf_get_le32(p + 4) << 32 | mf_get_le32(p);
}

static inline void mf_put_be16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void mf_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline void mf_put_be64(uint8_t *p, uint64_t v)
{
	mf_put_be32(p, (uint32_t)(v >> 32));
	mf_put_be32(p + 4, (uint32_t)v);
}

static inline void mf_put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static inline void mf_put_le64(uint8_t *p, uint64_t v)
{
	mf_put_le32(p, (uint32_t)v);
	mf_put_le32(p + 4, (uint32_t)(v >> 32));
}

#endif /* MF_BYTES_H */
