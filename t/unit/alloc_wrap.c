/* SPDX-License-Identifier: MIT */
/*
 * alloc_wrap - __wrap_malloc and friends, failing where alloc_fail_now()
 * says; the contract is in alloc_wrap.h.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "alloc_wrap.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);

void *__wrap_malloc(size_t n)
{
	return alloc_fail_now() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
	return alloc_fail_now() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
	return alloc_fail_now() ? NULL : __real_realloc(p, n);
}

char *__wrap_strdup(const char *s)
{
	return alloc_fail_now() ? NULL : __real_strdup(s);
}
