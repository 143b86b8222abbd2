/* SPDX-License-Identifier: MIT */
/*
 * musefs-scan - walk library roots and bring the store up to date.
 * Exit status: 0 all went well, 2 some files failed (with -q: only new or
 * changed failures count), 1 fatal error (or
 * --prune refused), 75 another scan holds the store (EX_TEMPFAIL),
 * 128 + signal number when SIGINT/SIGTERM stopped it.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mf_log.h"
#include "mf_main.h"
#include "mf_store.h"
#include "mf_store_scan.h"
#include "../scan/mf_scan.h"
#include "mf_banned.h"

#define EXIT_TEMPFAIL 75
#define MAX_EXCLUDES 256

/* The signal that asked us to stop (SIGINT/SIGTERM), or 0. */
static volatile sig_atomic_t stop_signal;

static void on_stop(int sig)
{
	/* read by the scan's threads: atomic (lock-free, signal-safe) */
	__atomic_store_n(&stop_signal, sig, __ATOMIC_RELAXED);
}

/* @restart: SA_RESTART (scan) or not (so a blocking flock sees EINTR). */
static void catch_signals(int restart)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = restart ? SA_RESTART : 0;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: musefs-scan [OPTION]... ROOT...\n"
		"       musefs-scan [--db PATH] --vacuum\n"
		"\n"
		"Walk each ROOT (a directory or a file), import new audio files\n"
		"into the store, refresh changed ones, skip unchanged ones.\n"
		"\n"
		"  --db PATH          store file (default: $MUSEFS_DB, else\n"
		"                     ${XDG_DATA_HOME:-$HOME/.local/share}/musefs/library.db)\n"
		"  -j, --jobs N       probe workers (default: CPU count)\n"
		"  --reimport-tags    changed files: replace the store's tags and art\n"
		"                     with the file's\n"
		"  --reingest         every file already stored, changed or not: probe\n"
		"                     it again and replace its tags and art with the\n"
		"                     file's (1.x scan --force)\n"
		"  --known-only       only refresh files already in the store; import\n"
		"                     no new ones (1.x revalidate)\n"
		"  --checksum=full    also store each file's whole SHA-256\n"
		"  --follow-symlinks  follow symbolic links (cycles are detected)\n"
		"  --exclude GLOB     skip what matches (gitignore syntax; repeat)\n"
		"  --prune            delete rows of files gone from under the roots\n"
		"  --prune-limit PCT  refuse to prune more than PCT%% of a root's\n"
		"                     tracks (default 10)\n"
		"  --force            prune even when the safety rules refuse\n"
		"  --wait             wait for another scan of the store to finish\n"
		"  --vacuum           checkpoint the WAL and VACUUM (after a scan)\n"
		"  --json             print the summary as JSON\n"
		"  -v, --verbose      more messages (repeat for debug)\n"
		"  -q, --quiet        no summary line; known failures (unchanged\n"
		"                     since they failed) are not reported again\n"
		"                     and do not make the exit status 2\n"
		"  -h, --help         this text\n"
		"  -V, --version      print the version\n"
		"\n"
		"Exit status: 0 all well, 2 some files failed (with -q: new or\n"
		"changed failures), 1 fatal error or prune refused, 75 another\n"
		"scan runs, 130/143 interrupted.\n");
}

/* @s as a JSON string (bytes >= 0x80 pass through; controls escaped). */
static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void print_summary(const struct mf_scan_stats *st, int json,
			  bool pruned)
{
	if (!json) {
		/* the 1.x line, unchanged for scripts; moved= and pruned=
		 * follow only when something moved or --prune ran */
		printf("seen=%llu new=%llu changed=%llu unchanged=%llu "
		       "skipped=%llu failed=%llu probed=%llu seconds=%.2f",
		       (unsigned long long)st->seen, (unsigned long long)st->new,
		       (unsigned long long)st->changed,
		       (unsigned long long)st->unchanged,
		       (unsigned long long)st->skipped,
		       (unsigned long long)st->failed,
		       (unsigned long long)st->probed, st->seconds);
		if (st->moved)
			printf(" moved=%llu", (unsigned long long)st->moved);
		if (pruned)
			printf(" pruned=%llu", (unsigned long long)st->pruned);
		putchar('\n');
		return;
	}
	printf("{\"seen\":%llu,\"new\":%llu,\"changed\":%llu,\"moved\":%llu,"
	       "\"unchanged\":%llu,\"skipped\":%llu,\"failed\":%llu,"
	       "\"failed_known\":%llu,"
	       "\"pruned\":%llu,\"probed\":%llu,\"bytes_read\":%llu,"
	       "\"seconds\":%.3f,\"outcome\":",
	       (unsigned long long)st->seen, (unsigned long long)st->new,
	       (unsigned long long)st->changed, (unsigned long long)st->moved,
	       (unsigned long long)st->unchanged,
	       (unsigned long long)st->skipped, (unsigned long long)st->failed,
	       (unsigned long long)st->failed_known,
	       (unsigned long long)st->pruned, (unsigned long long)st->probed,
	       (unsigned long long)st->bytes_read, st->seconds);
	json_str(st->outcome ? st->outcome : "failed");
	printf(",\"skipped_by_extension\":{");
	for (size_t i = 0; i < st->nskipped_ext; i++) {
		if (i)
			putchar(',');
		json_str(st->skipped_ext[i].ext[0] ? st->skipped_ext[i].ext :
			 "(none)");
		printf(":%llu", (unsigned long long)st->skipped_ext[i].count);
	}
	printf("}}\n");
}

/*
 * With --json, a fatal error as one JSON object on stdout:
 * {"error":CODE,"message":TEXT,"store":PATH,"exit_status":N}.
 */
static void json_error(const char *code, const char *msg, const char *db,
		       int status)
{
	printf("{\"error\":");
	json_str(code);
	printf(",\"message\":");
	json_str(msg);
	printf(",\"store\":");
	json_str(db);
	printf(",\"exit_status\":%d}\n", status);
}

/*
 * The test knobs (docs/musefs-scan.1 ENVIRONMENT): MUSEFS_TEST_SCAN_DELAY_MS
 * sleeps that long before every probe, MUSEFS_TEST_SCAN_CHECKS=sqlite
 * leaves the CHECK constraints to SQLite alone.
 */
static void test_knobs(struct mf_scan_opts *o)
{
	const char *delay = getenv("MUSEFS_TEST_SCAN_DELAY_MS");
	const char *checks = getenv("MUSEFS_TEST_SCAN_CHECKS");

	if (delay && *delay) {
		unsigned long v = strtoul(delay, NULL, 10);

		o->test_delay_ms = (unsigned)(v > 10000 ? 10000 : v);
	}
	o->test_sqlite_checks = checks && strcmp(checks, "sqlite") == 0;
}

/*
 * The progress line on a terminal's stderr (mf_log_status keeps it below
 * the messages): files done and the rate, then the total and an ETA once
 * the walk has ended.
 */
static void progress_line(void *ctx, const struct mf_scan_progress *p)
{
	double rate = p->seconds > 0 ? (double)p->done / p->seconds : 0;
	char line[160];
	int n;

	(void)ctx;
	if (p->last) {
		mf_log_status(NULL);
		return;
	}
	n = snprintf(line, sizeof(line), "musefs-scan: %llu files, %.0f/s",
		     (unsigned long long)p->done, rate);
	if (p->walk_done && n > 0 && (size_t)n < sizeof(line)) {
		double eta = rate > 0 && p->total > p->done ?
			     (double)(p->total - p->done) / rate : 0;

		snprintf(line + n, sizeof(line) - (size_t)n,
			 ", %llu/%llu, ETA %.0fs", (unsigned long long)p->done,
			 (unsigned long long)p->total, eta);
	}
	mf_log_status(line);
}

/* Is the store the default one (no --db, no $MUSEFS_DB)? */
static bool default_store(const char *opt_db)
{
	const char *env = getenv("MUSEFS_DB");

	return !opt_db && !(env && *env);
}

/*
 * Only the default store's directory is created: any other store whose
 * directory is missing is an error (a typo must not grow a tree). Returns
 * true, after logging, when @path's directory does not exist.
 */
static bool missing_parent(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	struct stat sb;

	if (!slash || slash == path || access(path, F_OK) == 0)
		return false;
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	if (stat(dir, &sb) < 0) {
		if (errno != ENOENT)
			return false;	/* let the open say what is wrong */
		mf_err(NULL, "cannot create store '%s': directory '%s' does "
		       "not exist", path, dir);
		return true;
	}
	if (S_ISDIR(sb.st_mode))
		return false;
	mf_err(NULL, "cannot create store '%s': '%s' is not a directory",
	       path, dir);
	return true;
}

static int parse_uint(const char *s, unsigned max, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v > max || s[0] == '-')
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

int main(int argc, char **argv)
{
	enum { O_DB = 256, O_REIMPORT, O_CHECKSUM, O_FOLLOW, O_EXCLUDE,
	       O_PRUNE, O_PRUNE_LIMIT, O_FORCE, O_WAIT, O_VACUUM, O_JSON,
	       O_REINGEST, O_KNOWN_ONLY };
	static const struct option longopts[] = {
		{ "db", required_argument, NULL, O_DB },
		{ "jobs", required_argument, NULL, 'j' },
		{ "reimport-tags", no_argument, NULL, O_REIMPORT },
		{ "reingest", no_argument, NULL, O_REINGEST },
		{ "known-only", no_argument, NULL, O_KNOWN_ONLY },
		{ "checksum", required_argument, NULL, O_CHECKSUM },
		{ "follow-symlinks", no_argument, NULL, O_FOLLOW },
		{ "exclude", required_argument, NULL, O_EXCLUDE },
		{ "prune", no_argument, NULL, O_PRUNE },
		{ "prune-limit", required_argument, NULL, O_PRUNE_LIMIT },
		{ "force", no_argument, NULL, O_FORCE },
		{ "wait", no_argument, NULL, O_WAIT },
		{ "vacuum", no_argument, NULL, O_VACUUM },
		{ "json", no_argument, NULL, O_JSON },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	static const char *excludes[MAX_EXCLUDES];
	struct mf_scan_opts opts = { .prune_limit = 10.0 };
	struct mf_scan_stats st;
	struct mf_store *store = NULL;
	const char *opt_db = NULL;
	char dbpath[PATH_MAX], err[PATH_MAX + 256], *end;
	int verbose = 0, quiet = 0, json = 0, wait = 0, vacuum = 0;
	int c, ret, status, lockfd = -1;

	mf_main_init("musefs-scan");
	(void)mf_store_scan_process_init();	/* first: before any store */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":j:vqhV", longopts, NULL)) != -1) {
		switch (c) {
		case O_DB:
			opt_db = optarg;
			break;
		case 'j':
			if (parse_uint(optarg, 256, &opts.jobs) < 0 ||
			    !opts.jobs) {
				mf_err(NULL, "--jobs wants 1..256, not '%s'",
				       optarg);
				return 1;
			}
			break;
		case O_REIMPORT:
			opts.reimport_tags = true;
			break;
		case O_REINGEST:
			opts.reingest = true;
			break;
		case O_KNOWN_ONLY:
			opts.known_only = true;
			break;
		case O_CHECKSUM:
			if (strcmp(optarg, "full") == 0) {
				opts.checksum_full = true;
			} else if (strcmp(optarg, "sample") != 0) {
				mf_err(NULL, "--checksum wants 'full' or "
				       "'sample', not '%s'", optarg);
				return 1;
			}
			break;
		case O_FOLLOW:
			opts.follow_symlinks = true;
			break;
		case O_EXCLUDE:
			if (opts.nexcludes >= MAX_EXCLUDES) {
				mf_err(NULL, "too many --exclude options");
				return 1;
			}
			excludes[opts.nexcludes++] = optarg;
			break;
		case O_PRUNE:
			opts.prune = true;
			break;
		case O_PRUNE_LIMIT:
			errno = 0;
			opts.prune_limit = strtod(optarg, &end);
			if (errno || end == optarg || *end ||
			    !(opts.prune_limit >= 0 && opts.prune_limit <= 100)) {
				mf_err(NULL, "--prune-limit wants a percentage "
				       "0..100, not '%s'", optarg);
				return 1;
			}
			break;
		case O_FORCE:
			opts.force = true;
			break;
		case O_WAIT:
			wait = 1;
			break;
		case O_VACUUM:
			vacuum = 1;
			break;
		case O_JSON:
			json = 1;
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
	if (optind >= argc && !vacuum) {
		mf_err(NULL, "no ROOT given");
		usage(stderr);
		return 1;
	}
	if (mf_main_db_path(opt_db, dbpath, sizeof(dbpath)) < 0)
		return 1;
	if (!default_store(opt_db) && missing_parent(dbpath))
		return 1;
	ret = mf_store_open(dbpath, MF_STORE_CREATE, &store, err, sizeof(err));
	if (ret < 0) {
		mf_err(NULL, "%s", err);
		return 1;
	}
	catch_signals(0);
	ret = mf_scan_lock(dbpath, wait, &lockfd);
	if (ret < 0) {
		mf_store_close(store);
		mf_scan_unlock(lockfd);
		if (ret == -EAGAIN) {
			snprintf(err, sizeof(err), "another musefs-scan is "
				 "running on '%s'; try again later or use --wait",
				 dbpath);
			mf_err(NULL, "%s", err);
			if (json)
				json_error("busy", err, dbpath, EXIT_TEMPFAIL);
			return EXIT_TEMPFAIL;
		}
		if (ret == -EINTR && stop_signal)
			return 128 + stop_signal;
		mf_err(NULL, "cannot lock '%s': %s", dbpath, strerror(-ret));
		return 1;
	}
	catch_signals(1);
	status = 0;
	if (optind < argc) {
		opts.roots = (const char *const *)argv + optind;
		opts.nroots = (size_t)(argc - optind);
		opts.excludes = excludes;
		opts.stop = &stop_signal;
		test_knobs(&opts);
		if (!quiet && !json && isatty(STDERR_FILENO))
			opts.progress = progress_line;
		opts.quiet_known_failures = quiet > 0;
		ret = mf_scan_run(store, &opts, &st);
		if (ret < 0 && ret != -EINTR && ret != -EPERM) {
			status = 1;
			goto out;
		}
		for (size_t i = 0; i < st.nskipped_ext; i++)
			mf_info("scan", "skipped %llu file(s) with extension '%s'",
				(unsigned long long)st.skipped_ext[i].count,
				st.skipped_ext[i].ext[0] ? st.skipped_ext[i].ext :
				"(none)");
		if (!quiet || json)
			print_summary(&st, json, opts.prune);
		/* with -q, files that failed before and are unchanged since
		 * do not fail the run again (cron mails only news) */
		status = ret == -EINTR ? 128 + (stop_signal ? stop_signal : SIGINT) :
			 ret == -EPERM ? 1 :
			 st.failed > (quiet ? st.failed_known : 0) ? 2 : 0;
	}
	if (vacuum && status != 1 && !stop_signal) {
		int64_t reclaimed = 0;

		if (mf_scan_vacuum(store, &reclaimed) < 0) {
			status = 1;
			goto out;
		}
		if (json)
			printf("{\"vacuum_reclaimed_bytes\":%lld}\n",
			       (long long)reclaimed);
		else if (!quiet)
			printf("vacuum: reclaimed %lld bytes\n",
			       (long long)reclaimed);
	}
out:
	mf_store_close(store);
	mf_scan_unlock(lockfd);
	if (fflush(stdout) != 0) {
		mf_err(NULL, "cannot write the summary: %s", strerror(errno));
		return 1;
	}
	return status;
}
