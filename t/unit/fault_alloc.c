/* SPDX-License-Identifier: MIT */
/*
 * fault_alloc - countdown allocation faults for the unit tests, the
 * policy of alloc_wrap.c; the contract is in fault_alloc.h.
 */
#include <stdbool.h>

#include "alloc_wrap.h"
#include "fault_alloc.h"

long fail_countdown = -1;
bool fault_injected;

bool alloc_fail_now(void)
{
	if (fail_countdown < 0)
		return false;
	if (fail_countdown-- == 0) {
		fault_injected = true;
		return true;
	}
	return false;
}
