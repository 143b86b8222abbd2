/* SPDX-License-Identifier: MIT */
/*
 * musefs-scan - walk library roots and bring the store up to date.
 * Exit status: 0 all went well, 2 some files failed, 1 fatal error.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mf_log.h"
#include "mf_main.h"
#include "mf_store.h"
#include "../scan/mf_scan.h"
#include "mf_banned.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: musefs-scan [--db PATH] [-v] [-q] ROOT...\n"
		"\n"
		"Walk each ROOT (a directory or a file), import new audio files\n"
		"into the store, refresh changed ones, skip unchanged ones.\n"
		"\n"
		"  --db PATH     store file (default: $MUSEFS_DB, else\n"
		"                ${XDG_DATA_HOME:-$HOME/.local/share}/musefs/library.db)\n"
		"  -v, --verbose more messages (repeat for debug)\n"
		"  -q, --quiet   no summary line, errors only\n"
		"  -h, --help    this text\n"
		"  -V, --version print the version\n"
		"\n"
		"Exit status: 0 all well, 2 some files failed, 1 fatal error.\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "db", required_argument, NULL, 'D' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct mf_scan_opts opts = { 0 };
	struct mf_scan_stats st;
	struct mf_store *store = NULL;
	const char *opt_db = NULL;
	char dbpath[PATH_MAX], err[PATH_MAX + 256];
	int verbose = 0, quiet = 0, c, ret;

	mf_main_init("musefs-scan");
	opterr = 0;
	while ((c = getopt_long(argc, argv, "vqhV", longopts, NULL)) != -1) {
		switch (c) {
		case 'D':
			opt_db = optarg;
			break;
		case 'v':
			verbose++;
			break;
		case 'q':
			quiet++;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("musefs-scan %s\n", MF_VERSION);
			return 0;
		case ':':
			mf_err(NULL, "option '%s' needs a value", argv[optind - 1]);
			return 1;
		default:
			mf_err(NULL, "unknown option '%s'", argv[optind - 1]);
			usage(stderr);
			return 1;
		}
	}
	mf_main_verbosity(verbose, quiet > 1 ? 1 : 0);
	if (optind >= argc) {
		mf_err(NULL, "no ROOT given");
		usage(stderr);
		return 1;
	}
	if (mf_main_db_path(opt_db, dbpath, sizeof(dbpath)) < 0)
		return 1;
	ret = mf_store_open(dbpath, MF_STORE_CREATE, &store, err, sizeof(err));
	if (ret < 0) {
		mf_err(NULL, "%s", err);
		return 1;
	}
	opts.roots = (const char *const *)argv + optind;
	opts.nroots = (size_t)(argc - optind);
	ret = mf_scan_run(store, &opts, &st);
	mf_store_close(store);
	if (ret < 0)
		return 1;
	for (size_t i = 0; i < st.nskipped_ext; i++)
		mf_info("scan", "skipped %llu file(s) with extension '%s'",
			(unsigned long long)st.skipped_ext[i].count,
			st.skipped_ext[i].ext[0] ? st.skipped_ext[i].ext : "(none)");
	if (!quiet)
		printf("seen=%llu new=%llu changed=%llu unchanged=%llu "
		       "skipped=%llu failed=%llu probed=%llu seconds=%.2f\n",
		       (unsigned long long)st.seen, (unsigned long long)st.new,
		       (unsigned long long)st.changed,
		       (unsigned long long)st.unchanged,
		       (unsigned long long)st.skipped,
		       (unsigned long long)st.failed,
		       (unsigned long long)st.probed, st.seconds);
	if (fflush(stdout) != 0) {
		mf_err(NULL, "cannot write the summary: %s", strerror(errno));
		return 1;
	}
	return st.failed ? 2 : 0;
}
