/* SPDX-License-Identifier: MIT */
/*
 * mf_log - level-filtered messages on stderr, one write(2) per message.
 */
#include "mf_log.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *log_progname = "musefs";	/* immutable after init */
static _Atomic int log_level = MF_LOG_WARN;	/* atomic */

int mf_log_parse_level(const char *name, enum mf_log_level *out)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(name, names[i]) == 0) {
			*out = (enum mf_log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

void mf_log_init(const char *progname, enum mf_log_level level)
{
	const char *env = getenv("MUSEFS_LOG");
	enum mf_log_level from_env;

	if (progname)
		log_progname = progname;
	if (env && *env && mf_log_parse_level(env, &from_env) == 0)
		level = from_env;
	atomic_store(&log_level, (int)level);
}

void mf_log_set_level(enum mf_log_level level)
{
	atomic_store(&log_level, (int)level);
}

enum mf_log_level mf_log_get_level(void)
{
	return (enum mf_log_level)atomic_load(&log_level);
}

void mf_vlog(enum mf_log_level level, const char *domain, const char *fmt,
	     va_list ap)
{
	char buf[4096];
	size_t n = 0;
	int r;

	if ((int)level > atomic_load(&log_level))
		return;
	if (domain)
		r = snprintf(buf, sizeof(buf), "%s: %s: ", log_progname, domain);
	else
		r = snprintf(buf, sizeof(buf), "%s: ", log_progname);
	if (r > 0)
		n = (size_t)r < sizeof(buf) ? (size_t)r : sizeof(buf) - 1;
	r = vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
	if (r > 0)
		n += (size_t)r < sizeof(buf) - n ? (size_t)r : sizeof(buf) - n - 1;
	if (n < sizeof(buf) - 1)
		buf[n++] = '\n';
	else
		buf[sizeof(buf) - 2] = '\n', n = sizeof(buf) - 1;
	/* best effort: nothing useful to do if stderr is gone */
	if (write(STDERR_FILENO, buf, n) < 0)
		return;
}

void mf_log(enum mf_log_level level, const char *domain, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	mf_vlog(level, domain, fmt, ap);
	va_end(ap);
}
