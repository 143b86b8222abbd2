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
 * relies on them.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "mf_scan_int.h"
#include "mf_banned.h"

/* A byte the tags.key / art.mime GLOB class refuses: 0x01-0x1f, 0x7f. */
static bool is_ctl(unsigned char c)
{
	return (c >= 1 && c <= 31) || c == 127;
}

bool check_tag_row(const char *key, int ordinal, const void *value,
		   size_t len, bool binary)
{
	size_t klen = strlen(key);

	if (klen < 1 || klen > 255)
		return false;
	for (size_t i = 0; i < klen; i++) {
		unsigned char c = (unsigned char)key[i];

		/* key = lower(key) (ASCII folding), no '=', no controls */
		if ((c >= 'A' && c <= 'Z') || c == '=' || is_ctl(c))
			return false;
	}
	if (ordinal < 0 || ordinal > 65535)
		return false;
	if (binary)
		return len <= 16777215;
	return len <= 1048576 && (len == 0 || !memchr(value, 0, len));
}

bool check_pic_row(const struct probe_pic *p, size_t ordinal)
{
	size_t mlen = strlen(p->mime);

	if (ordinal > 65535 || p->type > 20)
		return false;
	if (strlen(p->desc) > 65535)
		return false;
	if (mlen < 1 || mlen > 255)
		return false;
	for (size_t i = 0; i < mlen; i++)
		if (is_ctl((unsigned char)p->mime[i]))
			return false;
	return p->len > 0 && p->len <= 16777215;
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

bool scan_core_block(const char *kind)
{
	return strcmp(kind, "streaminfo") == 0 || strcmp(kind, "seektable") == 0;
}

bool check_block_row(const char *kind, size_t len)
{
	const char *colon;

	if (strcmp(kind, "streaminfo") == 0)
		return len == 34;
	if (strcmp(kind, "seektable") == 0)
		return len % 18 == 0 && len <= 16777215;
	/* length(kind) BETWEEN 3 AND 64 AND instr(kind, ':') > 1 */
	colon = strchr(kind, ':');
	return text_chars(kind) >= 3 && text_chars(kind) <= 64 && colon &&
	       colon != kind && len <= 16777216;
}

bool check_track_row(const char *path, const char *format,
		     uint64_t audio_offset, uint64_t audio_length,
		     uint64_t size)
{
	static const char *const formats[] = { "flac", "mp3", "m4a", "opus",
					       "vorbis", "oggflac", "wav" };
	size_t plen = strlen(path);
	bool known = false;

	if (plen < 2 || plen > 4096 || path[0] != '/')
		return false;
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
		known = known || strcmp(format, formats[i]) == 0;
	return known && size <= INT64_MAX && audio_offset <= size &&
	       audio_length <= size - audio_offset;
}
