/* SPDX-License-Identifier: MIT */
/*
 * mf_scan_check - the CHECK constraints of the store's tables
 * (schema/0001-core.sql, ext-0003-art-props.sql, ext-0006-format-blocks.sql)
 * as C predicates over what the scanner writes, evaluated by the probe
 * workers in parallel. The writer's connection then runs with
 * PRAGMA ignore_check_constraints: SQLite's own evaluation of those
 * expressions (GLOB classes, lower(), instr() over every key and value)
 * was about 30% of the single writer thread's time.
 *
 * Each predicate must accept exactly the rows the schema accepts for the
 * values the scanner binds; t/unit/test_scan_check.c holds them against
 * SQLite on a real store. Valid for an SQLite whose lower() folds ASCII
 * only (no ICU), which scan_checks_in_c() verifies before the writer
 * relies on them. (The CHECKs of the 1.x schema use no lower(); the
 * test remains for the extension tables' and in case one comes back.)
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "mf_format.h"
#include "mf_scan_int.h"
#include "mf_banned.h"

/* A byte the tags.key GLOB class refuses: 0x01-0x1f. */
static bool is_ctl(unsigned char c)
{
	return c >= 1 && c <= 31;
}

/* length() of a TEXT value: UTF-8 characters (bytes that do not
 * continue a sequence), as SQLite counts them. */
static size_t text_chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

bool check_tag_row(const char *key, int ordinal, const void *value,
		   size_t len, bool binary)
{
	size_t klen = strlen(key), chars = text_chars(key);

	(void)value;
	/* length(key) BETWEEN 1 AND 256 (characters), no 0x01-0x1f */
	if (klen < 1 || chars > 256)
		return false;
	for (size_t i = 0; i < klen; i++)
		if (is_ctl((unsigned char)key[i]))
			return false;
	if (ordinal < 0)
		return false;
	if (binary)
		return len <= 16711680;
	return len <= 262144;
}

bool check_pic_row(const struct probe_pic *p, size_t ordinal)
{
	(void)ordinal;
	if (p->type > 20)
		return false;
	/* length(description) <= 1024, length(mime) <= 255: characters */
	if (text_chars(p->desc) > 1024 || text_chars(p->mime) > 255)
		return false;
	return p->len <= 16711680;
}

bool scan_core_block(const char *kind)
{
	return mf_format_core_block(kind) != NULL;
}

const char *block_kind_sql(const char *kind)
{
	const struct mf_core_block *b = mf_format_core_block(kind);

	return b ? b->store_kind : kind;
}

bool check_block_row(const char *kind, size_t len)
{
	const char *colon;

	if (scan_core_block(kind))
		return len <= 16777215;
	/* length(kind) BETWEEN 3 AND 64 AND instr(kind, ':') > 1 */
	colon = strchr(kind, ':');
	return text_chars(kind) >= 3 && text_chars(kind) <= 64 && colon &&
	       colon != kind && len <= 16777216;
}

bool check_track_row(const char *path, const char *format,
		     uint64_t audio_offset, uint64_t audio_length,
		     uint64_t size)
{
	/* tracks.format IN (...): the formats this build serves */
	bool known = mf_format_get(format) != NULL;

	(void)path;	/* NOT NULL only */
	return known && size <= INT64_MAX && audio_offset <= size &&
	       audio_length <= size - audio_offset;
}
