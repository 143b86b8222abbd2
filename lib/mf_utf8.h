/* SPDX-License-Identifier: MIT */
/*
 * mf_utf8 - the one UTF-8 decoder, validator, encoder and boundary cut of
 * libcore (RFC 3629, Unicode 15 table 3-7 "well-formed UTF-8 byte
 * sequences"). Well-formed means: no overlong form, no surrogate
 * (U+D800..U+DFFF), nothing above U+10FFFF, no truncated sequence and no
 * stray continuation byte. NUL (U+0000) is well-formed; callers that
 * forbid it check for it themselves. Pure functions, thread-safe.
 */
#ifndef MF_UTF8_H
#define MF_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest UTF-8 sequence in bytes (U+10000..U+10FFFF). */
#define MF_UTF8_MAX 4

/*
 * Decode the sequence at @s (@n bytes available) into *@cp (may be NULL).
 * Returns its length in bytes (1-4), or 0 when @n is 0 or the bytes at @s
 * do not start a well-formed sequence within @n bytes (*@cp untouched).
 */
size_t mf_utf8_next(const uint8_t *s, size_t n, uint32_t *cp);

/* Are the @n bytes at @s well-formed UTF-8 throughout? (true for n == 0) */
bool mf_utf8_valid(const void *s, size_t n);

/*
 * Encode code point @cp (at most U+10FFFF; the caller excludes
 * surrogates when it needs well-formed output) at @p, which has room for
 * MF_UTF8_MAX bytes. Returns the number of bytes written (1-4).
 */
size_t mf_utf8_put(uint8_t *p, uint32_t cp);

/*
 * Length to keep of @s (@len bytes) so that it is at most @max bytes and
 * does not end inside a multi-byte sequence: @len when it fits, else @max
 * moved back over continuation bytes (so s[result] starts a sequence).
 * Reads s[0..max] when len > max.
 */
size_t mf_utf8_cut(const char *s, size_t len, size_t max);

#endif
