/* SPDX-License-Identifier: MIT */
/*
 * mf_log - level-filtered messages on stderr, one write(2) per message.
 */
#include "mf_log.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *log_progname = "musefs";	/* immutable after init */
static _Atomic int log_level = MF_LOG_WARN;	/* atomic */

#define STATUS_MAX 256
static pthread_mutex_t status_lock = PTHREAD_MUTEX_INITIALIZER;
static char status_line[STATUS_MAX];		/* guarded by status_lock */
static const char clear_line[] = "\r\033[K";

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
	if (progname)
		log_progname = progname;
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

/*
 * Write the message @msg (@n bytes) with one write(2). While a status line
 * is shown, erase it first and draw it again after the message; @clearing
 * erases it without a redraw (the line is being removed).
 */
static void log_write(const char *msg, size_t n, bool clearing)
{
	char out[sizeof(clear_line) + 4096 + STATUS_MAX + 8];
	size_t len = 0;

	if (n > 4096)
		n = 4096;
	pthread_mutex_lock(&status_lock);
	if (clearing || (status_line[0] && n)) {
		memcpy(out, clear_line, sizeof(clear_line) - 1);
		len = sizeof(clear_line) - 1;
	} else if (status_line[0]) {
		out[len++] = '\r';	/* redraw in place */
	}
	memcpy(out + len, msg, n);
	len += n;
	if (status_line[0]) {
		size_t sl = strlen(status_line);

		memcpy(out + len, status_line, sl);
		len += sl;
		memcpy(out + len, "\033[K", 3);
		len += 3;
	}
	/* best effort: nothing useful to do if stderr is gone */
	if (len && write(STDERR_FILENO, out, len) < 0)
		len = 0;
	pthread_mutex_unlock(&status_lock);
}

void mf_log_status(const char *line)
{
	bool clearing = !line || !*line;

	pthread_mutex_lock(&status_lock);
	clearing = clearing && status_line[0];
	snprintf(status_line, sizeof(status_line), "%s", line ? line : "");
	status_line[strcspn(status_line, "\r\n")] = '\0';
	pthread_mutex_unlock(&status_lock);
	log_write("", 0, clearing);
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
	log_write(buf, n, false);
}

void mf_log(enum mf_log_level level, const char *domain, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	mf_vlog(level, domain, fmt, ap);
	va_end(ap);
}
