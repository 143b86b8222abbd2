/* SPDX-License-Identifier: MIT */
/*
 * mf_main - shared start-up for musefs-scan, musefs-mount, musefs-stat
 * and musefs; the one place below main() that reads the environment
 * (MUSEFS_LOG, MUSEFS_DB, XDG_DATA_HOME, HOME).
 */
#include "mf_main.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mf_log.h"
#include "mf_store.h"
#include "mf_banned.h"

void mf_main_init(const char *progname)
{
	enum mf_log_level level;
	const char *env;
	int fd;

	/* Make sure 0, 1, 2 are open so a later open() cannot take them. */
	do {
		fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	} while (fd >= 0 && fd <= 2);
	if (fd > 2)
		close(fd);
	signal(SIGPIPE, SIG_DFL);
	mf_log_init(progname, MF_LOG_WARN);
	env = getenv("MUSEFS_LOG");
	if (env && *env && mf_log_parse_level(env, &level) == 0)
		mf_log_set_level(level);
}

void mf_main_verbosity(int verbose, int quiet)
{
	int level = (int)mf_log_get_level() + verbose - quiet;

	if (level < MF_LOG_ERROR)
		level = MF_LOG_ERROR;
	if (level > MF_LOG_DEBUG)
		level = MF_LOG_DEBUG;
	mf_log_set_level((enum mf_log_level)level);
}

int mf_main_db_path(const char *opt_db, char *buf, size_t len)
{
	int ret;

	if (opt_db) {
		if (!*opt_db) {
			mf_err(NULL, "option '--db' needs a path");
			return -EINVAL;
		}
		ret = snprintf(buf, len, "%s", opt_db);
		if (ret < 0 || (size_t)ret >= len) {
			mf_err(NULL, "store path too long: '%s'", opt_db);
			return -ENAMETOOLONG;
		}
		return 0;
	}
	ret = mf_store_default_path(getenv("MUSEFS_DB"), getenv("XDG_DATA_HOME"),
				    getenv("HOME"), buf, len);
	if (ret < 0)
		mf_err(NULL, "cannot find the default store: set --db, MUSEFS_DB "
		       "or HOME (%s)", strerror(-ret));
	return ret;
}
