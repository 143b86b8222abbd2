/* SPDX-License-Identifier: MIT */
/*
 * alloc_wrap - the link-time allocation seam of the test binaries. A
 * program linked with ENOMEM_WRAP (Makefile:
 * -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup) and
 * alloc_wrap.o sends every malloc, calloc, realloc and strdup of its
 * static objects (libcore.a, mount/, the test) through alloc_wrap.c,
 * which fails the call (returns NULL, as on ENOMEM) when
 * alloc_fail_now() says so; calls inside shared libraries (cmocka,
 * SQLite, libfuse, libFLAC) are not seen.
 *
 * alloc_fail_now() is the policy, defined once per program: countdown
 * faults for unit tests (fault_alloc.c), periodic faults armed by a
 * signal for a whole daemon (enomem_wrap.c).
 */
#ifndef ALLOC_WRAP_H
#define ALLOC_WRAP_H

#include <stdbool.h>

/* Whether the allocation being made now fails. Called once per call. */
bool alloc_fail_now(void);

#endif /* ALLOC_WRAP_H */
