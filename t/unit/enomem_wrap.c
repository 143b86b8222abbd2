/* SPDX-License-Identifier: MIT */
/*
 * enomem_wrap - allocation faults for a whole program under load, linked
 * into build/t/musefs-mount-enomem (t/6207-fault-enomem-mount.t) with
 * -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup and
 * alloc_wrap.o, whose policy this is: every allocation made by libcore,
 * mount/ and bin/ asks alloc_fail_now() (allocations inside shared
 * libraries - libfuse, SQLite - do not).
 *
 * No fault before the process gets SIGUSR1 (the handler is installed at
 * the first allocation): the test arms the faults once the program has
 * started, whatever the time that took. Knobs, read once then:
 *   MUSEFS_TEST_ENOMEM_EVERY     once armed, every Nth allocation fails
 *                                (0 or unset: none);
 *   MUSEFS_TEST_ENOMEM_BUDGET    at most this many faults in all, then
 *                                none (default unlimited): what follows
 *                                shows whether the program recovered;
 *   MUSEFS_TEST_ENOMEM_DONE      a file created when the last fault of
 *                                the budget is injected.
 * Thread-safe: the counters are atomics.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc_wrap.h"

static atomic_int state;		/* 0 unread, 1 reading, 2 ready */
static uint64_t every, budget = UINT64_MAX;	/* set once, state 2 */
static atomic_bool armed;			/* set by SIGUSR1 */
static const char *done_path;				/* set once, state 2 */
static atomic_uint_fast64_t calls, faults;

static void on_usr1(int sig)
{
	(void)sig;
	atomic_store(&armed, true);
}

static uint64_t env_u64(const char *name, uint64_t dflt)
{
	const char *v = getenv(name);
	char *end;
	unsigned long long n;

	if (!v || !*v)
		return dflt;
	n = strtoull(v, &end, 10);
	return *end ? dflt : (uint64_t)n;
}

bool alloc_fail_now(void)
{
	int s = atomic_load(&state);
	uint64_t c, f;

	if (s != 2) {
		int zero = 0;

		if (atomic_compare_exchange_strong(&state, &zero, 1)) {
			every = env_u64("MUSEFS_TEST_ENOMEM_EVERY", 0);
			budget = env_u64("MUSEFS_TEST_ENOMEM_BUDGET", UINT64_MAX);
			struct sigaction sa = { .sa_handler = on_usr1 };

			done_path = getenv("MUSEFS_TEST_ENOMEM_DONE");
			sigemptyset(&sa.sa_mask);
			sa.sa_flags = SA_RESTART;
			sigaction(SIGUSR1, &sa, NULL);
			atomic_store(&state, 2);
		}
		return false;	/* never while the knobs are being read */
	}
	if (!every || !atomic_load(&armed))
		return false;
	c = atomic_fetch_add(&calls, 1) + 1;
	if (c % every)
		return false;
	f = atomic_fetch_add(&faults, 1);
	if (f + 1 == budget && done_path) {
		int fd = open(done_path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);

		if (fd >= 0)
			close(fd);
	}
	return f < budget;
}
