/* SPDX-License-Identifier: MIT */
/*
 * mf_scan_stamp - the scanner's in-memory map of stored stamps: path ->
 * (id, size, mtime_ns, ctime_ns, fingerprint), loaded once per scan.
 * Entries live in one array, paths in an arena of 1 MiB chunks, and two
 * open-addressed index tables (by path, by fingerprint) hold 32-bit
 * entry numbers, so 10^5 tracks cost a few MiB.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mf_array.h"
#include "mf_log.h"
#include "mf_scan_int.h"
#include "mf_banned.h"

#define CHUNK_BYTES (1u << 20)

struct stamp_chunk {
	struct stamp_chunk *next;
	size_t used, cap;
	char data[];
};

static const char *arena_dup(struct stamp_map *m, const char *s)
{
	size_t len = strlen(s) + 1;
	struct stamp_chunk *c = m->arena;
	char *d;

	if (!c || c->cap - c->used < len) {
		size_t cap = len > CHUNK_BYTES ? len : CHUNK_BYTES;

		c = malloc(sizeof(*c) + cap);
		if (!c)
			return NULL;
		c->next = m->arena;
		c->used = 0;
		c->cap = cap;
		m->arena = c;
	}
	d = c->data + c->used;
	memcpy(d, s, len);
	c->used += len;
	return d;
}

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;	/* FNV-1a */

	while (*s) {
		h ^= (unsigned char)*s++;
		h *= 1099511628211ull;
	}
	return h;
}

static uint64_t hash_fp(const uint8_t fp[32])
{
	uint64_t h;

	memcpy(&h, fp, sizeof(h));	/* SHA-256 bytes are uniform */
	return h;
}

static int hex_to_raw(const char *hex, uint8_t out[32])
{
	for (int i = 0; i < 32; i++) {
		int v = 0;

		for (int j = 0; j < 2; j++) {
			char c = hex[2 * i + j];

			v <<= 4;
			if (c >= '0' && c <= '9')
				v |= c - '0';
			else if (c >= 'a' && c <= 'f')
				v |= c - 'a' + 10;
			else
				return -EINVAL;
		}
		out[i] = (uint8_t)v;
	}
	return 0;
}

static size_t pow2_at_least(size_t n)
{
	size_t c = 16;

	while (c < n)
		c *= 2;
	return c;
}

int stamp_map_index(struct stamp_map *m)
{
	size_t nfp = 0;

	if (m->n >= STAMP_NONE)
		return -E2BIG;
	m->nslots = pow2_at_least(m->n * 2);
	m->slots = malloc(m->nslots * sizeof(*m->slots));
	if (!m->slots)
		return -ENOMEM;
	memset(m->slots, 0xff, m->nslots * sizeof(*m->slots));
	for (size_t i = 0; i < m->n; i++) {
		size_t j = hash_str(m->v[i].path) & (m->nslots - 1);

		while (m->slots[j] != STAMP_NONE)
			j = (j + 1) & (m->nslots - 1);
		m->slots[j] = (uint32_t)i;
		nfp += m->v[i].has_fp;
	}
	if (!nfp)
		return 0;
	m->nfp_slots = pow2_at_least(nfp);
	m->fp_slots = malloc(m->nfp_slots * sizeof(*m->fp_slots));
	if (!m->fp_slots)
		return -ENOMEM;
	memset(m->fp_slots, 0xff, m->nfp_slots * sizeof(*m->fp_slots));
	for (size_t i = m->n; i-- > 0;) {
		struct stamp *e = &m->v[i];
		size_t j;

		if (!e->has_fp)
			continue;
		j = hash_fp(e->fp) & (m->nfp_slots - 1);
		e->fp_next = m->fp_slots[j];
		m->fp_slots[j] = (uint32_t)i;
	}
	return 0;
}

int stamp_map_add(void *ctx, const struct mf_store_stamp *row)
{
	struct stamp_map *m = ctx;
	const char *fp = row->fingerprint;
	struct stamp *e;

	e = mf_array_grow(m->v, &m->cap, m->n + 1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	m->v = e;
	e = &m->v[m->n];
	memset(e, 0, sizeof(*e));
	e->path = arena_dup(m, row->path);
	e->reason = row->reason ? arena_dup(m, row->reason) : NULL;
	if (!e->path || (row->reason && !e->reason))
		return -ENOMEM;
	e->id = row->id;
	e->size = row->size;
	e->mtime_ns = row->mtime_ns;
	e->ctime_ns = row->ctime_ns;
	e->fp_next = STAMP_NONE;
	e->has_fp = fp && strlen(fp) == 64 && hex_to_raw(fp, e->fp) == 0;
	m->n++;
	return 0;
}

int stamp_map_load(struct mf_store *s, enum mf_store_stamp_set set,
		   struct stamp_map *m)
{
	int ret;

	memset(m, 0, sizeof(*m));
	ret = mf_store_scan_stamps_each(s, set, stamp_map_add, m);
	if (ret < 0)
		return ret;
	return stamp_map_index(m);
}

struct stamp *stamp_map_get(const struct stamp_map *m, const char *path)
{
	size_t j;

	if (!m->nslots)
		return NULL;
	j = hash_str(path) & (m->nslots - 1);
	while (m->slots[j] != STAMP_NONE) {
		struct stamp *e = &m->v[m->slots[j]];

		if (strcmp(e->path, path) == 0)
			return e;
		j = (j + 1) & (m->nslots - 1);
	}
	return NULL;
}

static struct stamp *fp_scan(const struct stamp_map *m, uint32_t i,
			     const uint8_t fp[32])
{
	while (i != STAMP_NONE) {
		struct stamp *e = &m->v[i];

		if (memcmp(e->fp, fp, 32) == 0)
			return e;
		i = e->fp_next;
	}
	return NULL;
}

struct stamp *stamp_map_fp_first(const struct stamp_map *m,
				 const uint8_t fp[32])
{
	if (!m->nfp_slots)
		return NULL;
	return fp_scan(m, m->fp_slots[hash_fp(fp) & (m->nfp_slots - 1)], fp);
}

struct stamp *stamp_map_fp_next(const struct stamp_map *m,
				const struct stamp *e)
{
	return fp_scan(m, e->fp_next, e->fp);
}

void stamp_map_release(struct stamp_map *m)
{
	struct stamp_chunk *c = m->arena;

	while (c) {
		struct stamp_chunk *next = c->next;

		free(c);
		c = next;
	}
	free(m->v);
	free(m->slots);
	free(m->fp_slots);
	memset(m, 0, sizeof(*m));
}
