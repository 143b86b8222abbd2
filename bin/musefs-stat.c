/* SPDX-License-Identifier: MIT */
/*
 * musefs-stat - library, scan and mount telemetry from the store, for
 * people (a table), scripts (--json, --flat, --get KEY), Prometheus
 * (--prometheus, node_exporter's textfile collector) and monitoring
 * (--check: one status line, exit 0 OK / 1 WARNING / 2 CRITICAL /
 * 3 UNKNOWN).
 *
 * Everything is read in one read transaction into one document
 * (mf_doc) by mf_report_collect() (lib/mf_report.c: this file holds no
 * SQL); every output is a rendering of it. The document's keys are
 * documented in docs/musefs-stat.1 and are stable.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mf_format.h"
#include "mf_log.h"
#include "mf_main.h"
#include "mf_metrics.h"
#include "mf_report.h"
#include "mf_banned.h"

/* Exit codes of --check (monitoring plugin convention). */
enum verdict { V_OK = 0, V_WARNING = 1, V_CRITICAL = 2, V_UNKNOWN = 3 };

enum view { VIEW_SUMMARY, VIEW_SCANS, VIEW_MOUNTS };
enum output { OUT_TABLE, OUT_JSON, OUT_FLAT, OUT_PROM, OUT_GET, OUT_CHECK };

/* A threshold "WARN[:CRIT]"; unset parts are not checked. */
struct threshold {
	bool warn_set, crit_set;
	int64_t warn, crit;
};

struct opts {
	const char *db;
	enum view view;
	enum output out;
	const char *get_key;
	const char *out_file;
	double watch_s;		/* 0: no --watch */
	long count;		/* --count: redraws, 0 = until interrupted */
	long limit;		/* scans listed */
	struct threshold scan_age, mount_lag, min_tracks, max_failed;
	const char *forget;	/* --forget-mount MOUNTPOINT */
	bool color;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: musefs-stat [OPTION]... [summary|scans|mounts]\n"
		"\n"
		"Show the library, recent scans and mounts recorded in the store.\n"
		"The word chooses the table (default: summary); --json, --flat,\n"
		"--prometheus, --get and --check cover everything.\n"
		"\n"
		"  --db PATH             store file (default: $MUSEFS_DB, else\n"
		"                        ${XDG_DATA_HOME:-$HOME/.local/share}/musefs/library.db)\n"
		"  --json                the whole report as one JSON object\n"
		"  --flat                the whole report as key=value lines\n"
		"  --prometheus          metrics in Prometheus text format\n"
		"  --get KEY             one bare value, e.g. tracks.total\n"
		"  --check               one status line; exit 0 OK, 1 WARNING,\n"
		"                        2 CRITICAL, 3 UNKNOWN\n"
		"    --max-scan-age W[:C]    last scan older than W (C) seconds;\n"
		"                            suffixes s, m, h, d\n"
		"    --max-mount-lag W[:C]   a live mount behind the store by more\n"
		"    --min-tracks W[:C]      fewer tracks than W (C)\n"
		"    --max-failed W[:C]      more failed files in the last scan\n"
		"                            (default 0: any failed file warns)\n"
		"  --forget-mount MOUNTPOINT delete this host's row of a mount\n"
		"                        that is gone (refused while it runs)\n"
		"  --watch SECONDS       redraw the table every SECONDS\n"
		"  --count N             with --watch: stop after N tables\n"
		"  --limit N             scans listed (default 10)\n"
		"  -o, --output FILE     write to FILE atomically (temp + rename)\n"
		"  -h, --help, -V, --version\n");
}

/* ---- option values ---- */

static int parse_int(const char *s, bool duration, int64_t *out)
{
	char *end;
	long long n;
	int64_t mul = 1;

	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno || end == s || n < 0)
		return -EINVAL;
	if (duration && *end) {
		switch (*end++) {
		case 's': mul = 1; break;
		case 'm': mul = 60; break;
		case 'h': mul = 3600; break;
		case 'd': mul = 86400; break;
		default: return -EINVAL;
		}
	}
	if (*end || n > INT64_MAX / mul)
		return -EINVAL;
	*out = (int64_t)n * mul;
	return 0;
}

static int parse_threshold(const char *name, const char *s, bool duration,
			   struct threshold *t)
{
	char buf[64];
	char *colon;

	if (snprintf(buf, sizeof(buf), "%s", s) >= (int)sizeof(buf))
		goto out_bad;
	colon = strchr(buf, ':');
	if (colon)
		*colon = '\0';
	if (*buf) {
		if (parse_int(buf, duration, &t->warn) < 0)
			goto out_bad;
		t->warn_set = true;
	}
	if (colon && colon[1]) {
		if (parse_int(colon + 1, duration, &t->crit) < 0)
			goto out_bad;
		t->crit_set = true;
	}
	if (!t->warn_set && !t->crit_set)
		goto out_bad;
	return 0;

out_bad:
	mf_err(NULL, "invalid value for '--%s': '%s' (expected WARN[:CRIT]%s)",
	       name, s, duration ? " with an optional s, m, h or d" : "");
	return -EINVAL;
}

/* ---- the tables ---- */

static void human_bytes(int64_t n, char *buf, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)n;
	size_t u = 0;

	while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%" PRId64 " B", n);
	else
		snprintf(buf, len, "%.1f %s", v, units[u]);
}

static void human_age(int64_t s, char *buf, size_t len)
{
	if (s < 0)
		s = 0;
	if (s < 120)
		snprintf(buf, len, "%" PRId64 "s", s);
	else if (s < 7200)
		snprintf(buf, len, "%" PRId64 "m", s / 60);
	else if (s < 172800)
		snprintf(buf, len, "%" PRId64 "h", s / 3600);
	else
		snprintf(buf, len, "%" PRId64 "d", s / 86400);
}

static void local_time(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!localtime_r(&tt, &tm) || !strftime(buf, len, "%Y-%m-%d %H:%M", &tm))
		snprintf(buf, len, "%" PRId64, t);
}

/*
 * Values looked up in the document by key (the table reads what JSON
 * has). Each val() result stays valid for the next LOOKUP_SLOTS - 1 calls.
 */
#define LOOKUP_SLOTS 12

struct lookup {
	const struct mf_doc *d;
	char slot[LOOKUP_SLOTS][PATH_MAX + 64];
	unsigned next;
	char *buf;		/* the last result */
};

static const char *val(struct lookup *l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static const char *val(struct lookup *l, const char *fmt, ...)
{
	char key[128];
	char *s = NULL;
	size_t len = 0;
	va_list ap;
	FILE *f;

	va_start(ap, fmt);
	vsnprintf(key, sizeof(key), fmt, ap);
	va_end(ap);
	l->buf = l->slot[l->next++ % LOOKUP_SLOTS];
	l->buf[0] = '\0';
	f = open_memstream(&s, &len);
	if (!f)
		return l->buf;
	mf_doc_get(l->d, key, f);
	if (fclose(f) == 0 && s) {
		len = strcspn(s, "\n");
		snprintf(l->buf, sizeof(l->slot[0]), "%.*s", (int)len, s);
	}
	free(s);
	return l->buf;
}

static int64_t ival(struct lookup *l, const char *key)
{
	return strtoll(val(l, "%s", key), NULL, 10);
}

static const char *color(const struct opts *o, const char *state)
{
	if (!o->color)
		return "";
	if (!strcmp(state, "live") || !strcmp(state, "ok"))
		return "\033[32m";
	if (!strcmp(state, "stale") || !strcmp(state, "failed"))
		return "\033[31m";
	if (!strcmp(state, "partial") || !strcmp(state, "interrupted") ||
	    !strcmp(state, "running"))
		return "\033[33m";
	return "\033[2m";
}

static const char *reset(const struct opts *o)
{
	return o->color ? "\033[0m" : "";
}

/* The tracks line's "(flac N, mp3 M, ...)": one entry per store format
 * (mf_format_each(), in its order) the library holds. */
struct by_format {
	struct lookup *l;
	FILE *out;
	bool first;
};

static int print_format(void *ctx, const struct mf_format *fmt)
{
	struct by_format *b = ctx;
	const char *n = val(b->l, "tracks.by_format.%s", fmt->name);

	if (*n) {
		fprintf(b->out, "%s%s %s", b->first ? " (" : ", ", fmt->name, n);
		b->first = false;
	}
	return 0;
}

static void table_summary(FILE *out, const struct mf_doc *d,
			  const struct mf_report_facts *f, const struct opts *o)
{
	static struct lookup l;
	char b1[32], b2[32];
	struct by_format bf = { .l = &l, .out = out, .first = true };
	int64_t dur;

	l.d = d;
	human_bytes(ival(&l, "store.size_bytes"), b1, sizeof(b1));
	human_bytes(ival(&l, "store.wal_bytes"), b2, sizeof(b2));
	fprintf(out, "%-16s %s (%s, WAL %s, schema %s)\n", "store",
		val(&l, "store.path"), b1, b2, val(&l, "store.user_version"));
	if (f->immutable)
		fprintf(out, "%-16s immutable: no usable -shm and a read-only "
			"directory; this is the store as its main file has it, "
			"without its -wal or later writes\n", "read as");
	fprintf(out, "%-16s %" PRId64, "tracks", f->tracks);
	mf_format_each(print_format, &bf);
	fprintf(out, "%s\n", bf.first ? "" : ")");
	human_bytes(ival(&l, "tracks.backing_bytes"), b1, sizeof(b1));
	dur = ival(&l, "tracks.duration_s");
	if (dur < 3600)		/* small libraries: minutes and seconds */
		snprintf(b2, sizeof(b2), "%" PRId64 ":%02" PRId64 " min",
			 dur / 60, dur % 60);
	else
		snprintf(b2, sizeof(b2), "%.1f h", (double)dur / 3600.0);
	fprintf(out, "%-16s %s, %s backing\n", "audio", b2, b1);
	fprintf(out, "%-16s %s rows\n", "tags", val(&l, "tags.rows"));
	human_bytes(ival(&l, "art.bytes"), b1, sizeof(b1));
	fprintf(out, "%-16s %s images, %s\n", "art", val(&l, "art.count"), b1);
	fprintf(out, "%-16s %s\n", "changelog head", val(&l, "changelog.head_seq"));
	if (f->have_scan) {
		human_age(f->scan_age, b1, sizeof(b1));
		human_age(ival(&l, "last_scan.duration_s"), b2, sizeof(b2));
		fprintf(out, "%-16s %s%s%s %s ago, took %s: %s seen, %s new, "
			"%s changed, %s moved, %s pruned, %s failed\n",
			"last scan", color(o, f->scan_outcome), f->scan_outcome,
			reset(o), b1, b2, val(&l, "last_scan.seen"),
			val(&l, "last_scan.new"), val(&l, "last_scan.changed"),
			val(&l, "last_scan.moved"), val(&l, "last_scan.pruned"),
			val(&l, "last_scan.failed"));
	} else {
		fprintf(out, "%-16s never\n", "last scan");
	}
	fprintf(out, "%-16s %" PRId64 " live, %" PRId64 " stale, %" PRId64
		" stopped\n", "mounts", f->live, f->stale, f->stopped);
}

static void table_scans(FILE *out, const struct mf_doc *d,
			const struct opts *o)
{
	static struct lookup l;
	char start[32], dur[16], bytes[32], outcome[16];

	l.d = d;
	fprintf(out, "%-6s %-16s %6s %-11s %7s %6s %7s %6s %6s %6s %10s\n",
		"ID", "STARTED", "TOOK", "OUTCOME", "SEEN", "NEW", "CHANGED",
		"MOVED", "PRUNED", "FAILED", "READ");
	for (long i = 0; *val(&l, "scans.%ld.id", i); i++) {
		char id[24];

		snprintf(id, sizeof(id), "%.20s", l.buf);
		local_time(strtoll(val(&l, "scans.%ld.started_at", i), NULL, 10),
			   start, sizeof(start));
		human_age(strtoll(val(&l, "scans.%ld.duration_s", i), NULL, 10),
			  dur, sizeof(dur));
		human_bytes(strtoll(val(&l, "scans.%ld.bytes_read", i), NULL, 10),
			    bytes, sizeof(bytes));
		snprintf(outcome, sizeof(outcome), "%.15s",
			 val(&l, "scans.%ld.outcome", i));
		fprintf(out, "%-6s %-16s %6s %s%-11s%s", id, start, dur,
			color(o, outcome), outcome, reset(o));
		fprintf(out, " %7s", val(&l, "scans.%ld.seen", i));
		fprintf(out, " %6s", val(&l, "scans.%ld.new", i));
		fprintf(out, " %7s", val(&l, "scans.%ld.changed", i));
		fprintf(out, " %6s", val(&l, "scans.%ld.moved", i));
		fprintf(out, " %6s", val(&l, "scans.%ld.pruned", i));
		fprintf(out, " %6s", val(&l, "scans.%ld.failed", i));
		fprintf(out, " %10s\n", bytes);
	}
}

static void table_mounts(FILE *out, const struct mf_doc *d,
			 const struct opts *o)
{
	static struct lookup l;
	char state[16], beat[16], up[16], served[32], host[64];

	l.d = d;
	fprintf(out, "%-8s %-12s %7s %6s %7s %8s %10s %5s %s\n", "STATE", "HOST",
		"PID", "BEAT", "UPTIME", "READS", "SERVED", "LAG", "MOUNTPOINT");
	for (long i = 0; *val(&l, "mounts.list.%ld.state", i); i++) {
		snprintf(state, sizeof(state), "%.15s", l.buf);
		snprintf(host, sizeof(host), "%.63s",
			 val(&l, "mounts.list.%ld.hostname", i));
		human_age(strtoll(val(&l, "mounts.list.%ld.heartbeat_age_s", i),
				  NULL, 10), beat, sizeof(beat));
		human_age(strtoll(val(&l, "mounts.list.%ld.metrics.uptime_s", i),
				  NULL, 10), up, sizeof(up));
		human_bytes(strtoll(val(&l, "mounts.list.%ld.metrics.read_bytes",
					i), NULL, 10), served, sizeof(served));
		fprintf(out, "%s%-8s%s %-12s %7s %6s %7s", color(o, state), state,
			reset(o), host, val(&l, "mounts.list.%ld.pid", i), beat,
			up);
		fprintf(out, " %8s %10s",
			val(&l, "mounts.list.%ld.metrics.reads", i), served);
		fprintf(out, " %5s", val(&l, "mounts.list.%ld.metrics.changelog.lag_seq", i));
		fprintf(out, " %s\n", val(&l, "mounts.list.%ld.mountpoint", i));
	}
}

static void table(FILE *out, const struct mf_doc *d, const struct mf_report_facts *f,
		  const struct opts *o)
{
	switch (o->view) {
	case VIEW_SUMMARY:
		table_summary(out, d, f, o);
		break;
	case VIEW_SCANS:
		table_scans(out, d, o);
		break;
	case VIEW_MOUNTS:
		table_mounts(out, d, o);
		break;
	}
}

/* ---- --check ---- */

struct check {
	enum verdict v;
	char problems[1024];
	size_t plen;
};

static void problem(struct check *c, enum verdict v, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void problem(struct check *c, enum verdict v, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (v > c->v)
		c->v = v;
	if (c->plen + 3 >= sizeof(c->problems))
		return;
	if (c->plen) {
		memcpy(c->problems + c->plen, "; ", 3);
		c->plen += 2;
	}
	va_start(ap, fmt);
	n = vsnprintf(c->problems + c->plen, sizeof(c->problems) - c->plen,
		      fmt, ap);
	va_end(ap);
	if (n > 0)
		c->plen += (size_t)n;
	if (c->plen >= sizeof(c->problems))
		c->plen = sizeof(c->problems) - 1;
}

/* Check @value > threshold (or < with @below). */
static void limit(struct check *c, const struct threshold *t, int64_t value,
		  bool below, const char *what, const char *unit)
{
	bool crit = t->crit_set && (below ? value < t->crit : value > t->crit);
	bool warn = t->warn_set && (below ? value < t->warn : value > t->warn);

	if (crit)
		problem(c, V_CRITICAL, "%s %" PRId64 "%s (%s %" PRId64 "%s)",
			what, value, unit, below ? "min" : "max", t->crit, unit);
	else if (warn)
		problem(c, V_WARNING, "%s %" PRId64 "%s (%s %" PRId64 "%s)", what,
			value, unit, below ? "min" : "max", t->warn, unit);
}

static enum verdict check(FILE *out, const struct mf_report_facts *f,
			  const struct opts *o)
{
	static const char *const names[] = {
		"OK", "WARNING", "CRITICAL", "UNKNOWN",
	};
	struct check c = { .v = V_OK };
	bool failed_set = o->max_failed.warn_set || o->max_failed.crit_set;
	char age[16];

	limit(&c, &o->min_tracks, f->tracks, true, "tracks", "");
	if (!f->have_scan) {
		if (o->scan_age.warn_set || o->scan_age.crit_set)
			problem(&c, V_CRITICAL, "never scanned");
	} else {
		if (!strcmp(f->scan_outcome, "failed"))
			problem(&c, V_CRITICAL, "last scan failed");
		else if (!strcmp(f->scan_outcome, "interrupted"))
			problem(&c, V_WARNING, "last scan interrupted");
		/* failed files: against --max-failed when given, else any
		 * (a partial scan) warns */
		else if (!failed_set && !strcmp(f->scan_outcome, "partial"))
			problem(&c, V_WARNING, "last scan partial (%" PRId64
				" failed file%s)", f->scan_failed,
				f->scan_failed == 1 ? "" : "s");
		limit(&c, &o->scan_age, f->scan_age, false, "last scan age", "s");
		limit(&c, &o->max_failed, f->scan_failed, false,
		      "failed files in last scan", "");
	}
	if (f->stale)
		problem(&c, V_CRITICAL, "%" PRId64 " stale mount%s", f->stale,
			f->stale == 1 ? "" : "s");
	limit(&c, &o->mount_lag, f->max_lag_ms / 1000, false, "mount lag", "s");
	fprintf(out, "MUSEFS %s - ", names[c.v]);
	if (c.plen)
		fprintf(out, "%s; ", c.problems);
	fprintf(out, "%" PRId64 " tracks", f->tracks);
	if (f->have_scan) {
		human_age(f->scan_age, age, sizeof(age));
		fprintf(out, ", last scan %s %s ago", f->scan_outcome, age);
	} else {
		fprintf(out, ", never scanned");
	}
	fprintf(out, ", %" PRId64 " live mount%s", f->live,
		f->live == 1 ? "" : "s");
	if (f->immutable)
		fprintf(out, ", store read immutable (no -shm, read-only "
			"directory: later writes not seen)");
	/* performance data, as monitoring plugins print it */
	fprintf(out, " | tracks=%" PRId64 " live_mounts=%" PRId64
		" stale_mounts=%" PRId64 " max_mount_lag=%" PRId64 "s",
		f->tracks, f->live, f->stale, f->max_lag_ms / 1000);
	if (f->have_scan)
		fprintf(out, " scan_age=%" PRId64 "s scan_failed=%" PRId64,
			f->scan_age, f->scan_failed);
	fputc('\n', out);
	return c.v;
}

/* ---- --forget-mount ---- */

/*
 * Delete this host's heartbeat row of mountpoint @mp (refused while it
 * runs). Returns the exit status (0, or 1 after a message).
 */
static int forget_mount(const char *path, const char *mp)
{
	struct mf_report_forget r;
	int ret = mf_report_forget_mount(path, mp, &r);

	if (ret == -ESRCH)
		mf_err(NULL, "no mount of '%s' on host '%s' in '%s' (see "
		       "musefs-stat mounts)", mp, r.host, path);
	else if (ret == -EBUSY)
		mf_err(NULL, "the mount of '%s' is running (pid %" PRId64 "); "
		       "unmount it first", mp, r.pid);
	if (ret < 0)
		return 1;
	printf("forgot the mount of '%s' on host '%s'\n", mp, r.host);
	return 0;
}

/* ---- main ---- */

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

/* Render one report to @out. Returns the exit status. */
static int report(FILE *out, const char *path, const struct opts *o)
{
	struct mf_report_opts ro = { .scan_limit = o->limit };
	struct mf_doc *d = NULL;
	struct mf_report_facts f;
	int ret, status = 0;

	ret = mf_report_collect(path, &ro, &d, &f);
	if (ret < 0) {
		if (o->out == OUT_CHECK) {
			fprintf(out, "MUSEFS UNKNOWN - cannot read store '%s': "
				"%s\n", path, ret == -EPROTO ?
				"not a musefs store or wrong version" :
				strerror(-ret));
			return V_UNKNOWN;
		}
		return 1;
	}
	switch (o->out) {
	case OUT_TABLE:
		table(out, d, &f, o);
		break;
	case OUT_JSON:
		ret = mf_doc_render_json(d, out);
		break;
	case OUT_FLAT:
		ret = mf_doc_render_flat(d, out);
		break;
	case OUT_PROM:
		ret = mf_doc_render_prometheus(d, out);
		break;
	case OUT_GET:
		ret = mf_doc_get(d, o->get_key, out);
		if (ret == -ENOENT) {
			mf_err(NULL, "no value named '%s' (see --flat for "
			       "the keys)", o->get_key);
			status = 1;
			ret = 0;
		}
		break;
	case OUT_CHECK:
		status = (int)check(out, &f, o);
		break;
	}
	mf_doc_free(d);
	if (ret < 0)
		status = o->out == OUT_CHECK ? V_UNKNOWN : 1;
	return status;
}

static int watch(const char *path, const struct opts *o)
{
	struct timespec ts = {
		.tv_sec = (time_t)o->watch_s,
		.tv_nsec = (long)((o->watch_s - (double)(time_t)o->watch_s) * 1e9),
	};
	bool tty = isatty(STDOUT_FILENO);
	int status = 0;

	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	for (long n = 0; !interrupted && (!o->count || n < o->count); n++) {
		if (n) {
			struct timespec rem = ts;

			while (!interrupted && nanosleep(&rem, &rem) < 0 &&
			       errno == EINTR)
				;
			if (interrupted)
				break;
		}
		if (tty)
			fputs("\033[H\033[2J", stdout);
		else if (n)
			fputc('\n', stdout);
		status = report(stdout, path, o);
		if (fflush(stdout) != 0)
			return 1;
	}
	return status;
}

/* Write one report to @file through a temp file and rename. */
static int report_to_file(const char *file, const char *path,
			  const struct opts *o)
{
	char tmp[PATH_MAX];
	FILE *f;
	int fd, status;

	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", file) >= (int)sizeof(tmp)) {
		mf_err(NULL, "output path too long: '%s'", file);
		return 1;
	}
	fd = mkstemp(tmp);
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		mf_err(NULL, "cannot create '%s': %s", tmp, strerror(errno));
		if (fd >= 0) {
			close(fd);
			unlink(tmp);
		}
		return o->out == OUT_CHECK ? V_UNKNOWN : 1;
	}
	status = report(f, path, o);
	if (fchmod(fd, 0644) < 0 || fflush(f) != 0 || ferror(f) ||
	    fsync(fd) < 0) {
		mf_err(NULL, "cannot write '%s': %s", tmp, strerror(errno));
		fclose(f);
		unlink(tmp);
		return o->out == OUT_CHECK ? V_UNKNOWN : 1;
	}
	fclose(f);
	if ((status != 0 && o->out != OUT_CHECK) || rename(tmp, file) < 0) {
		if (status == 0)
			mf_err(NULL, "cannot rename '%s' to '%s': %s", tmp,
			       file, strerror(errno));
		unlink(tmp);
		return status ? status : 1;
	}
	return status;
}

static int set_output(struct opts *o, enum output out)
{
	if (o->out != OUT_TABLE && o->out != out) {
		mf_err(NULL, "choose one of --json, --flat, --prometheus, "
		       "--get and --check");
		return -EINVAL;
	}
	o->out = out;
	return 0;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	enum { O_DB = 256, O_JSON, O_FLAT, O_PROM, O_GET, O_CHECK, O_WATCH,
	       O_COUNT, O_LIMIT, O_SCAN_AGE, O_LAG, O_MIN_TRACKS, O_FAILED,
	       O_FORGET };
	static const struct option longopts[] = {
		{ "db", required_argument, NULL, O_DB },
		{ "json", no_argument, NULL, O_JSON },
		{ "flat", no_argument, NULL, O_FLAT },
		{ "prometheus", no_argument, NULL, O_PROM },
		{ "get", required_argument, NULL, O_GET },
		{ "check", no_argument, NULL, O_CHECK },
		{ "watch", required_argument, NULL, O_WATCH },
		{ "count", required_argument, NULL, O_COUNT },
		{ "limit", required_argument, NULL, O_LIMIT },
		{ "max-scan-age", required_argument, NULL, O_SCAN_AGE },
		{ "max-mount-lag", required_argument, NULL, O_LAG },
		{ "min-tracks", required_argument, NULL, O_MIN_TRACKS },
		{ "max-failed", required_argument, NULL, O_FAILED },
		{ "forget-mount", required_argument, NULL, O_FORGET },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c, ret = 0;
	int64_t n;
	char *end;
	bool view_given = false;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":o:hV", longopts, NULL)) != -1) {
		switch (c) {
		case O_DB: o->db = optarg; break;
		case O_JSON: ret = set_output(o, OUT_JSON); break;
		case O_FLAT: ret = set_output(o, OUT_FLAT); break;
		case O_PROM: ret = set_output(o, OUT_PROM); break;
		case O_GET:
			ret = set_output(o, OUT_GET);
			o->get_key = optarg;
			break;
		case O_CHECK: ret = set_output(o, OUT_CHECK); break;
		case O_WATCH:
			errno = 0;
			o->watch_s = strtod(optarg, &end);
			if (errno || end == optarg || *end || !(o->watch_s >= 0.1) ||
			    o->watch_s > 86400) {
				mf_err(NULL, "invalid value for '--watch': '%s' "
				       "(expected seconds, 0.1..86400)", optarg);
				ret = -EINVAL;
			}
			break;
		case O_COUNT:
		case O_LIMIT:
			if (parse_int(optarg, false, &n) < 0 || n < 1 ||
			    n > 1000000) {
				mf_err(NULL, "invalid value for '--%s': '%s' "
				       "(expected 1..1000000)",
				       c == O_COUNT ? "count" : "limit", optarg);
				ret = -EINVAL;
			} else if (c == O_COUNT) {
				o->count = (long)n;
			} else {
				o->limit = (long)n;
			}
			break;
		case O_SCAN_AGE:
			ret = parse_threshold("max-scan-age", optarg, true,
					      &o->scan_age);
			break;
		case O_LAG:
			ret = parse_threshold("max-mount-lag", optarg, true,
					      &o->mount_lag);
			break;
		case O_MIN_TRACKS:
			ret = parse_threshold("min-tracks", optarg, false,
					      &o->min_tracks);
			break;
		case O_FAILED:
			ret = parse_threshold("max-failed", optarg, false,
					      &o->max_failed);
			break;
		case O_FORGET: o->forget = optarg; break;
		case 'o': o->out_file = optarg; break;
		case 'h': usage(stdout); return 1;
		case 'V': printf("musefs-stat %s\n", MF_VERSION); return 1;
		case ':':
			mf_err(NULL, "option '%s' needs a value", argv[optind - 1]);
			return -EINVAL;
		default:
			mf_err(NULL, "unknown option '%s'", argv[optind - 1]);
			return -EINVAL;
		}
		if (ret < 0)
			return ret;
	}
	if (optind < argc) {
		view_given = true;
		if (!strcmp(argv[optind], "summary")) {
			o->view = VIEW_SUMMARY;
		} else if (!strcmp(argv[optind], "scans")) {
			o->view = VIEW_SCANS;
		} else if (!strcmp(argv[optind], "mounts")) {
			o->view = VIEW_MOUNTS;
		} else {
			mf_err(NULL, "unknown view '%s' (expected summary, scans "
			       "or mounts)", argv[optind]);
			return -EINVAL;
		}
		optind++;
	}
	if (optind < argc) {
		mf_err(NULL, "unexpected argument '%s'", argv[optind]);
		return -EINVAL;
	}
	if (o->forget && (o->out != OUT_TABLE || o->watch_s > 0 ||
			  o->out_file || o->count || view_given)) {
		mf_err(NULL, "--forget-mount takes only --db");
		return -EINVAL;
	}
	if (o->watch_s > 0 && o->out != OUT_TABLE) {
		mf_err(NULL, "--watch redraws the table; it does not combine "
		       "with --json, --flat, --prometheus, --get or --check");
		return -EINVAL;
	}
	if (o->count && o->watch_s <= 0) {
		mf_err(NULL, "--count needs --watch");
		return -EINVAL;
	}
	if (o->out != OUT_CHECK &&
	    (o->scan_age.warn_set || o->scan_age.crit_set ||
	     o->mount_lag.warn_set || o->mount_lag.crit_set ||
	     o->min_tracks.warn_set || o->min_tracks.crit_set ||
	     o->max_failed.warn_set || o->max_failed.crit_set)) {
		mf_err(NULL, "thresholds need --check");
		return -EINVAL;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct opts o = { .limit = 10 };
	char dbpath[PATH_MAX];
	const char *term = getenv("TERM"), *nocolor = getenv("NO_COLOR");
	int ret, status;

	mf_main_init("musefs-stat");
	ret = parse_args(argc, argv, &o);
	if (ret > 0)
		return 0;
	if (ret < 0) {
		usage(stderr);
		return o.out == OUT_CHECK ? V_UNKNOWN : 1;
	}
	if (mf_main_db_path(o.db, dbpath, sizeof(dbpath)) < 0)
		return o.out == OUT_CHECK ? V_UNKNOWN : 1;
	o.color = o.out == OUT_TABLE && !o.out_file && isatty(STDOUT_FILENO) &&
		  (!nocolor || !*nocolor) && term && strcmp(term, "dumb") != 0;
	if (o.forget)
		status = forget_mount(dbpath, o.forget);
	else if (o.watch_s > 0)
		status = watch(dbpath, &o);
	else if (o.out_file)
		status = report_to_file(o.out_file, dbpath, &o);
	else
		status = report(stdout, dbpath, &o);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		mf_err(NULL, "cannot write output: %s", strerror(errno));
		return o.out == OUT_CHECK ? V_UNKNOWN : 1;
	}
	return status;
}
