/* SPDX-License-Identifier: MIT */
/*
 * test_report - unit tests of mf_report: the document and facts
 * mf_report_collect() reads from a store filled by SQL at a fixed "now"
 * and hostname (numbers known to the second), stores of an older shape
 * (missing extension columns and tables read as 0 or empty), the errors
 * it returns, and mf_report_forget_mount()'s three outcomes.
 *
 * Each test gets a fresh store in its own mkdtemp directory. Output is
 * TAP (run by t/5007-report.t under prove).
 */
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "mf_heartbeat.h"
#include "mf_log.h"
#include "mf_metrics.h"
#include "mf_report.h"
#include "mf_store.h"
#include "stderr_capture.h"
#include "mf_banned.h"

#define NOW 1700000000
#define DAY 86400

struct fixture {
	char dir[PATH_MAX];	/* mkdtemp directory, removed in teardown */
	char path[PATH_MAX + 16];	/* dir/store.db */
	struct mf_store *s;	/* read-write store at path */
	struct mf_doc *d;	/* the last report, freed in teardown */
	char val[512];		/* the last get() */
};

/* ---- helpers ---- */

static int rm_entry(const char *path, const struct stat *st, int type,
		    struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path);
}

static void sql(struct fixture *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void sql(struct fixture *f, const char *fmt, ...)
{
	char buf[2048];
	char *msg = NULL;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	rc = sqlite3_exec(mf_store_db(f->s), buf, NULL, NULL, &msg);
	if (rc != SQLITE_OK)
		fail_msg("%s: %s", buf, msg ? msg : sqlite3_errstr(rc));
	sqlite3_free(msg);
}

static void add_scan(struct fixture *f, const char *outcome, int64_t start,
		     const char *end, int64_t failed)
{
	sql(f, "INSERT INTO scan_runs (started_at, ended_at, roots, seen, new, "
	    "changed, unchanged, skipped, failed, bytes_read, outcome, moved, "
	    "pruned) VALUES (%lld, %s, '/music', 10, 2, 1, 7, 0, %lld, 4096, "
	    "'%s', 3, 4)", (long long)start, end, (long long)failed, outcome);
}

static void add_mount(struct fixture *f, const char *host, const char *mp,
		      int64_t pid, const char *state, int64_t updated,
		      const char *metrics)
{
	sql(f, "INSERT INTO mount_heartbeats (hostname, mountpoint, pid, "
	    "template, mode, interval_s, started_at, updated_at, stopped_at, "
	    "state, metrics) VALUES ('%s', '%s', %lld, '$title', 'synthesis', "
	    "10, %lld, %lld, CASE WHEN '%s' = 'stopped' THEN %lld END, '%s', "
	    "replace('%s', ' ', char(10)))", host, mp, (long long)pid,
	    (long long)(updated - 100), (long long)updated, state,
	    (long long)updated, state, metrics);
}

/* A pid that existed and is gone (a child reaped). */
static int64_t dead_pid(void)
{
	pid_t p = fork();

	assert_true(p >= 0);
	if (p == 0)
		_exit(0);
	assert_int_equal(waitpid(p, NULL, 0), p);
	return p;
}

/* Collect with NOW and host "here"; asserts success. */
static void collect(struct fixture *f, long limit,
		    struct mf_report_facts *facts)
{
	struct mf_report_opts o = {
		.scan_limit = limit, .now = NOW, .hostname = "here",
	};

	mf_doc_free(f->d);
	f->d = NULL;
	assert_int_equal(mf_report_collect(f->path, &o, &f->d, facts), 0);
	assert_non_null(f->d);
}

/* The flat value of @key in the last report ("" for null); fails when absent. */
static const char *get(struct fixture *f, const char *key)
{
	char *s = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&s, &len);
	int ret;

	assert_non_null(m);
	ret = mf_doc_get(f->d, key, m);
	assert_int_equal(fclose(m), 0);
	if (ret < 0)
		fail_msg("no key '%s' (%d)", key, ret);
	snprintf(f->val, sizeof(f->val), "%.*s", (int)strcspn(s, "\n"), s);
	free(s);
	return f->val;
}

static bool has(struct fixture *f, const char *key)
{
	FILE *m = fopen("/dev/null", "w");
	int ret;

	assert_non_null(m);
	ret = mf_doc_get(f->d, key, m);
	fclose(m);
	return ret == 0;
}

/* Rows of mount_heartbeats WHERE @where. */
static int64_t heartbeats(struct fixture *f, const char *where)
{
	char q[256];
	int64_t n = -1;

	snprintf(q, sizeof(q), "SELECT count(*) FROM mount_heartbeats WHERE %s",
		 where);
	assert_int_equal(mf_store_query_int(f->s, q, &n), 0);
	return n;
}

/* ---- fixtures ---- */

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR");
	char err[PATH_MAX + 256];

	assert_non_null(f);
	if (!tmp || !*tmp)
		tmp = "/tmp";
	snprintf(f->dir, sizeof(f->dir), "%s/mf-test-report-XXXXXX", tmp);
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/store.db", f->dir);
	assert_int_equal(mf_store_open(f->path, MF_STORE_CREATE, &f->s, err,
				       sizeof(err)), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	mf_doc_free(f->d);
	mf_store_close(f->s);
	nftw(f->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* ---- collect ---- */

static void test_empty_store(void **state)
{
	struct fixture *f = *state;
	struct mf_report_facts facts;

	collect(f, 10, &facts);
	assert_int_equal(facts.now, NOW);
	assert_int_equal(facts.tracks, 0);
	assert_false(facts.have_scan);
	assert_string_equal(facts.scan_outcome, "");
	assert_int_equal(facts.live + facts.stale + facts.stopped, 0);
	assert_false(facts.immutable);
	assert_string_equal(get(f, "generated_at"), "1700000000");
	assert_string_equal(get(f, "store.path"), f->path);
	assert_string_equal(get(f, "store.open_mode"), "shared");
	assert_string_equal(get(f, "store.user_version"), "2");
	assert_string_equal(get(f, "tracks.total"), "0");
	assert_string_equal(get(f, "last_scan"), "");
	assert_string_equal(get(f, "mounts.live"), "0");
	assert_string_equal(get(f, "mounts.expired"), "0");
	assert_false(has(f, "scans.0.id"));
	assert_false(has(f, "mounts.list.0.state"));
}

static void test_library(void **state)
{
	struct fixture *f = *state;
	struct mf_report_facts facts;

	sql(f, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
	    "WHERE i < 3) INSERT INTO tracks (backing_path, format, "
	    "audio_offset, audio_length, backing_size, backing_mtime_ns, "
	    "backing_ctime_ns) SELECT '/f/' || i || '.' || fmt, fmt, 0, 100, "
	    "1000, 1, 1 FROM n, (SELECT 'flac' AS fmt UNION ALL SELECT 'mp3') "
	    "WHERE fmt = 'flac' OR i = 1");
	sql(f, "INSERT INTO track_props (track_id, duration_ms) SELECT id, "
	    "61500 FROM tracks");
	sql(f, "INSERT INTO tags (track_id, key, value) SELECT id, 'title', "
	    "'t' FROM tracks");
	collect(f, 10, &facts);
	assert_int_equal(facts.tracks, 4);
	assert_string_equal(get(f, "tracks.total"), "4");
	assert_string_equal(get(f, "tracks.by_format.flac"), "3");
	assert_string_equal(get(f, "tracks.by_format.mp3"), "1");
	assert_string_equal(get(f, "tracks.backing_bytes"), "4000");
	/* 4 * 61.5 s, whole seconds */
	assert_string_equal(get(f, "tracks.duration_s"), "246");
	assert_string_equal(get(f, "tags.rows"), "4");
	assert_string_equal(get(f, "art.count"), "0");
	/* 4 inserts, then 4 tag rows that bump their tracks */
	assert_string_equal(get(f, "changelog.head_seq"), "8");
}

static void test_scans(void **state)
{
	struct fixture *f = *state;
	struct mf_report_facts facts;

	add_scan(f, "ok", NOW - 7200, "1699993000", 0);
	add_scan(f, "partial", NOW - 3600, "1699996500", 2);
	add_scan(f, "running", NOW - 60, "NULL", 0);
	collect(f, 2, &facts);
	assert_true(facts.have_scan);
	assert_string_equal(facts.scan_outcome, "running");
	/* a running scan's age counts from its start */
	assert_int_equal(facts.scan_age, 60);
	assert_string_equal(get(f, "last_scan.id"), "3");
	assert_string_equal(get(f, "last_scan.ended_at"), "");
	assert_string_equal(get(f, "last_scan.duration_s"), "60");
	assert_string_equal(get(f, "last_scan.moved"), "3");
	assert_string_equal(get(f, "last_scan.pruned"), "4");
	/* --limit: the newest two, newest first */
	assert_string_equal(get(f, "scans.0.id"), "3");
	assert_string_equal(get(f, "scans.1.id"), "2");
	assert_string_equal(get(f, "scans.1.age_s"), "3500");
	assert_string_equal(get(f, "scans.1.duration_s"), "100");
	assert_string_equal(get(f, "scans.1.failed"), "2");
	assert_string_equal(get(f, "scans.1.outcome"), "partial");
	assert_false(has(f, "scans.2.id"));

	add_scan(f, "failed", NOW - 30, "1699999980", 5);
	collect(f, 10, &facts);
	assert_string_equal(facts.scan_outcome, "failed");
	assert_int_equal(facts.scan_age, 20);
	assert_int_equal(facts.scan_failed, 5);
	assert_string_equal(get(f, "scans.3.id"), "1");
}

static void test_mounts(void **state)
{
	struct fixture *f = *state;
	struct mf_report_facts facts;
	int64_t gone = dead_pid();

	add_mount(f, "here", "/m/live", getpid(), "running", NOW - 5,
		  "reads=7 changelog.lag_seq=3 changelog.lag_s=2.5");
	add_mount(f, "there", "/m/far", 1, "running", NOW - 5,
		  "changelog.lag_s=9");
	/* this host, pid gone: stale at once, though fresh */
	add_mount(f, "here", "/m/crashed", gone, "running", NOW - 5, "");
	/* another host: stale by age (3 intervals) */
	add_mount(f, "there", "/m/silent", 4242, "running", NOW - 31, "");
	add_mount(f, "there", "/m/done", 4243, "stopped", NOW - DAY, "");
	/* not live and older than 7 days: expired, ignored */
	add_mount(f, "there", "/m/old", 4244, "stopped", NOW - 8 * DAY, "");
	collect(f, 10, &facts);
	assert_int_equal(facts.live, 2);
	assert_int_equal(facts.stale, 2);
	assert_int_equal(facts.stopped, 1);
	assert_int_equal(facts.expired, 1);
	assert_int_equal(facts.max_lag_ms, 9000);
	assert_string_equal(get(f, "mounts.live"), "2");
	assert_string_equal(get(f, "mounts.expired"), "1");
	/* listed by hostname, mountpoint */
	assert_string_equal(get(f, "mounts.list.0.mountpoint"), "/m/crashed");
	assert_string_equal(get(f, "mounts.list.0.state"), "stale");
	assert_string_equal(get(f, "mounts.list.1.mountpoint"), "/m/live");
	assert_string_equal(get(f, "mounts.list.1.state"), "live");
	assert_string_equal(get(f, "mounts.list.1.heartbeat_age_s"), "5");
	assert_string_equal(get(f, "mounts.list.1.metrics.reads"), "7");
	assert_string_equal(get(f, "mounts.list.1.metrics.changelog.lag_seq"),
			    "3");
	assert_string_equal(get(f, "mounts.list.2.mountpoint"), "/m/done");
	assert_string_equal(get(f, "mounts.list.2.stopped_at"), "1699913600");
	assert_string_equal(get(f, "mounts.list.4.mountpoint"), "/m/silent");
	assert_string_equal(get(f, "mounts.list.4.state"), "stale");
	assert_false(has(f, "mounts.list.5.mountpoint"));
}

/* A store of an older shape: what it lacks reads as 0 or empty. */
static void test_older_store(void **state)
{
	struct fixture *f = *state;
	struct mf_report_facts facts;

	add_scan(f, "ok", NOW - 100, "1699999950", 1);
	add_mount(f, "there", "/m/far", 1, "running", NOW - 5, "reads=7");
	sql(f, "INSERT INTO tracks (backing_path, format, audio_offset, "
	    "audio_length, backing_size, backing_mtime_ns, backing_ctime_ns) "
	    "VALUES ('/a.flac', 'flac', 0, 10, 10, 1, 1)");
	sql(f, "DROP TABLE track_props; "
	    "ALTER TABLE scan_runs DROP COLUMN moved; "
	    "ALTER TABLE scan_runs DROP COLUMN pruned; "
	    "ALTER TABLE mount_heartbeats DROP COLUMN metrics");
	collect(f, 10, &facts);
	assert_string_equal(get(f, "tracks.total"), "1");
	assert_string_equal(get(f, "tracks.duration_s"), "0");
	assert_true(facts.have_scan);
	assert_string_equal(get(f, "last_scan.failed"), "1");
	assert_string_equal(get(f, "last_scan.moved"), "0");
	assert_string_equal(get(f, "scans.0.pruned"), "0");
	assert_false(has(f, "mounts.list.0.state"));
	assert_int_equal(facts.live, 0);

	/* 1.x: no scan_runs at all */
	sql(f, "DROP TABLE scan_runs");
	collect(f, 10, &facts);
	assert_false(facts.have_scan);
	assert_string_equal(get(f, "last_scan"), "");
	assert_false(has(f, "scans.0.id"));
}

static void test_collect_errors(void **state)
{
	struct fixture *f = *state;
	struct mf_report_opts o = { .scan_limit = 0, .now = NOW };
	struct mf_report_facts facts;
	struct mf_doc *d = (struct mf_doc *)&facts;	/* must be reset */
	struct stderr_capture c;
	char path[PATH_MAX + 32], msg[1024];

	assert_int_equal(mf_report_collect(f->path, &o, &d, &facts), -EINVAL);
	assert_null(d);

	o.scan_limit = 10;
	snprintf(path, sizeof(path), "%s/nowhere.db", f->dir);
	d = (struct mf_doc *)&facts;
	stderr_capture_begin(&c);
	assert_int_equal(mf_report_collect(path, &o, &d, &facts), -ENOENT);
	stderr_capture_end(&c, msg, sizeof(msg));
	assert_null(d);
	assert_non_null(strstr(msg, "nowhere.db"));

	/* not a musefs store */
	snprintf(path, sizeof(path), "%s/foreign.db", f->dir);
	{
		sqlite3 *db = NULL;

		assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
		assert_int_equal(sqlite3_exec(db, "CREATE TABLE songs (x)", NULL,
					      NULL, NULL), SQLITE_OK);
		sqlite3_close(db);
	}
	stderr_capture_begin(&c);
	assert_int_equal(mf_report_collect(path, &o, &d, &facts), -EPROTO);
	stderr_capture_end(&c, msg, sizeof(msg));
	assert_null(d);
	assert_non_null(strstr(msg, "not a musefs store"));
}

/* ---- forget ---- */

static void test_forget_mount(void **state)
{
	struct fixture *f = *state;
	struct mf_report_forget r;
	int64_t now = (int64_t)time(NULL);
	char host[256];

	/* forgetting expires rows by the clock: rows of now */
	assert_int_equal(mf_heartbeat_hostname(host, sizeof(host)), 0);
	add_mount(f, host, "/m/live", getpid(), "running", now, "");
	add_mount(f, host, "/m/crashed", dead_pid(), "running", now, "");
	add_mount(f, host, "/m/done", getpid(), "stopped", now, "");
	add_mount(f, "there", "/m/old", 4244, "stopped", now - 8 * DAY, "");

	assert_int_equal(mf_report_forget_mount(f->path, "/m/never", &r),
			 -ESRCH);
	assert_string_equal(r.host, host);
	/* another host's row is not this host's */
	assert_int_equal(mf_report_forget_mount(f->path, "/m/old", &r), -ESRCH);
	assert_int_equal(mf_report_forget_mount(f->path, "/m/live", &r),
			 -EBUSY);
	assert_int_equal(r.pid, getpid());
	assert_int_equal(heartbeats(f, "1"), 4);

	/* trailing slashes are dropped; expired rows go with it */
	assert_int_equal(mf_report_forget_mount(f->path, "/m/crashed//", &r), 0);
	assert_int_equal(heartbeats(f, "mountpoint IN ('/m/crashed', '/m/old')"),
			 0);
	assert_int_equal(heartbeats(f, "1"), 2);
	/* a stopped row goes even though its pid runs */
	assert_int_equal(mf_report_forget_mount(f->path, "/m/done", &r), 0);
	assert_int_equal(heartbeats(f, "1"), 1);
	assert_int_equal(heartbeats(f, "mountpoint = '/m/live'"), 1);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_empty_store),
		T(test_library),
		T(test_scans),
		T(test_mounts),
		T(test_older_store),
		T(test_collect_errors),
		T(test_forget_mount),
	};
#undef T

	mf_log_init("test_report", MF_LOG_WARN);
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
