/* SPDX-License-Identifier: MIT */
/*
 * fault_alloc - allocation faults for unit tests, through the link-time
 * seam of alloc_wrap.h: a test linked with ENOMEM_WRAP, alloc_wrap.o and
 * fault_alloc.o sees every malloc, calloc, realloc and strdup of
 * libcore.a and of the test itself counted here; calls inside shared
 * libraries (cmocka, SQLite, libFLAC) are not.
 *
 * fail_countdown < 0 (the start): never fail; else each allocation
 * counts it down and the one that finds it at 0 fails, once, and sets
 * fault_injected. Arm it just around the call under test, so that the
 * test's own allocations do not count:
 *
 *	fail_countdown = n;
 *	ret = call_under_test();
 *	fail_countdown = -1;
 *
 * Single-threaded: plain globals.
 */
#ifndef FAULT_ALLOC_H
#define FAULT_ALLOC_H

#include <stdbool.h>

extern long fail_countdown;
extern bool fault_injected;

#endif /* FAULT_ALLOC_H */
