/* SPDX-License-Identifier: MIT */
/*
 * fault_alloc.h - allocation fault injection for unit tests that compile
 * a libcore module's .c file into the test binary (libcore has no
 * allocation seam yet). Include this, then the module's .c file, then
 * #undef malloc, calloc and realloc. fail_countdown < 0: never fail; else
 * the allocation that finds it at 0 fails. fault_calls counts allocations.
 */
#ifndef FAULT_ALLOC_H
#define FAULT_ALLOC_H

#include <stdbool.h>
#include <stdlib.h>

static long fail_countdown = -1;
static unsigned long fault_calls;

static bool fault_now(void)
{
	fault_calls++;
	if (fail_countdown < 0)
		return false;
	return fail_countdown-- == 0;
}

static void *fault_malloc(size_t n)
{
	return fault_now() ? NULL : malloc(n);
}

static void *fault_calloc(size_t n, size_t size)
{
	return fault_now() ? NULL : calloc(n, size);
}

static void *fault_realloc(void *p, size_t n)
{
	return fault_now() ? NULL : realloc(p, n);
}

#define malloc(n) fault_malloc(n)
#define calloc(n, size) fault_calloc(n, size)
#define realloc(p, n) fault_realloc(p, n)

#endif /* FAULT_ALLOC_H */
