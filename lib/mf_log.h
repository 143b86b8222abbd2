/* SPDX-License-Identifier: MIT */
/*
 * mf_log - the one logging module of libcore.
 *
 * Messages go to stderr as "PROGRAM: [domain: ]message\n". The level is set
 * by the binaries from -v/-q and the MUSEFS_LOG environment variable
 * (error, warn, info, debug). Never printf from the library: log here.
 */
#ifndef MF_LOG_H
#define MF_LOG_H

#include <stdarg.h>

enum mf_log_level {
	MF_LOG_ERROR = 0,	/* something failed; always shown unless -qq */
	MF_LOG_WARN = 1,	/* a file skipped, a recoverable problem */
	MF_LOG_INFO = 2,	/* progress a user asked for with -v */
	MF_LOG_DEBUG = 3,	/* developer detail, -vv */
};

/*
 * Set the program name used as message prefix (borrowed; must outlive all
 * logging) and the initial level. Reads no environment (bin/mf_main.c
 * applies MUSEFS_LOG). Call once at start-up, before threads exist.
 */
void mf_log_init(const char *progname, enum mf_log_level level);

/* Change the threshold; thread-safe (atomic). */
void mf_log_set_level(enum mf_log_level level);

/* Current threshold; thread-safe (atomic). */
enum mf_log_level mf_log_get_level(void);

/* Parse "error|warn|info|debug"; returns 0 and sets *out, or -EINVAL. */
int mf_log_parse_level(const char *name, enum mf_log_level *out);

/*
 * Log one message at @level for @domain (may be NULL). Thread-safe: each
 * message is written with a single write(2). Messages longer than 4 KiB
 * are truncated.
 */
void mf_log(enum mf_log_level level, const char *domain, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void mf_vlog(enum mf_log_level level, const char *domain, const char *fmt,
	     va_list ap) __attribute__((format(printf, 3, 0)));

/*
 * The status line: one line (a progress display) kept at the bottom of a
 * terminal on stderr. mf_log_status(@line) draws or replaces it ("\r",
 * @line, clear to end of line; @line without a newline, truncated at 255
 * bytes); NULL or "" erases it. While one is shown, every message first
 * clears it and redraws it after itself, in the same write(2), so a
 * message never lands on the progress line. Only for a terminal stderr
 * (the caller checks isatty). Thread-safe.
 */
void mf_log_status(const char *line);

#define mf_err(dom, ...)   mf_log(MF_LOG_ERROR, dom, __VA_ARGS__)
#define mf_warn(dom, ...)  mf_log(MF_LOG_WARN, dom, __VA_ARGS__)
#define mf_info(dom, ...)  mf_log(MF_LOG_INFO, dom, __VA_ARGS__)
#define mf_debug(dom, ...) mf_log(MF_LOG_DEBUG, dom, __VA_ARGS__)

#endif /* MF_LOG_H */
