/* SPDX-License-Identifier: MIT */
/*
 * mf_array - growth of malloc'd arrays, the one place that doubles a
 * capacity and checks the multiplication for overflow.
 *
 * Header-only (static inline): its realloc is made from the module that
 * grows the array, where the tests' link-time allocation seam
 * (t/unit/alloc_wrap.h) fails it like that module's other allocations.
 */
#ifndef MF_ARRAY_H
#define MF_ARRAY_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/*
 * Make room for @n items of @size bytes in @arr, whose capacity is *@cap
 * items (doubling, at least 8). Returns the array, possibly moved, with
 * *@cap updated; or NULL on allocation failure or overflow, and then @arr
 * and *@cap are untouched (the caller still owns and frees @arr).
 */
static inline void *mf_array_grow(void *arr, size_t *cap, size_t n,
				  size_t size)
{
	size_t ncap;
	void *q;

	if (n <= *cap)
		return arr;
	ncap = *cap > SIZE_MAX / 2 ? n : *cap * 2;
	if (ncap < 8)
		ncap = 8;
	if (ncap < n)
		ncap = n;
	if (size && ncap > SIZE_MAX / size)
		return NULL;
	q = realloc(arr, ncap * size);
	if (!q)
		return NULL;
	*cap = ncap;
	return q;
}

#endif /* MF_ARRAY_H */
