/* SPDX-License-Identifier: MIT */
/*
 * mf_main - shared start-up of the three binaries (after git's
 * common-main.c): keep fds 0/1/2 open, restore default SIGPIPE, set up
 * logging. Each bin/ main calls mf_main_init() first, then parses its own
 * options.
 */
#ifndef MF_MAIN_H
#define MF_MAIN_H

#include <stddef.h>

#define MF_VERSION "0.1.0"

/*
 * Start-up for program @progname (borrowed; a string literal): opens
 * /dev/null on any of fds 0, 1, 2 that is closed, sets SIGPIPE to SIG_DFL,
 * and initialises mf_log at MF_LOG_WARN (MUSEFS_LOG overrides). Call once,
 * first thing in main(), before threads exist.
 */
void mf_main_init(const char *progname);

/*
 * Apply -v / -q counts to the log level: each -v raises it one step from
 * WARN (info, debug), each -q lowers it (error). MUSEFS_LOG, when set,
 * wins over neither: explicit flags are applied on top of it.
 */
void mf_main_verbosity(int verbose, int quiet);

/*
 * Resolve the store path: @opt_db if not NULL, else the default
 * (mf_store_default_path). Writes into @buf of @len bytes; returns 0 or a
 * negative errno with a message already logged.
 */
int mf_main_db_path(const char *opt_db, char *buf, size_t len);

#endif /* MF_MAIN_H */
