/* SPDX-License-Identifier: MIT */
/*
 * mf_report - read the store into musefs-stat's report document, and
 * forget a gone mount's heartbeat row.
 *
 * Divisions: store helpers, the library, scans, mounts, the collector,
 * --forget-mount. Every reader tolerates an older store (has_column).
 */
#include "mf_report.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "mf_heartbeat.h"
#include "mf_log.h"
#include "mf_metrics.h"
#include "mf_store.h"
#include "mf_banned.h"

/* ---- store helpers ---- */

/* One integer; a failure is logged with SQLite's message. */
static int q_int(struct mf_store *s, const char *sql, int64_t *out)
{
	int ret;

	*out = 0;
	ret = mf_store_query_int(s, sql, out);
	if (ret < 0)
		mf_err(NULL, "cannot query the store: %s",
		       sqlite3_errmsg(mf_store_db(s)));
	return ret;
}

/* Extension tables and columns may be missing in an older store. */
static bool has_column(sqlite3 *db, const char *table, const char *column)
{
	sqlite3_stmt *st = NULL;
	bool found = false;

	if (sqlite3_prepare_v2(db, "SELECT 1 FROM pragma_table_info(?) "
			       "WHERE name = ?", -1, &st, NULL) != SQLITE_OK)
		return false;
	sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, column, -1, SQLITE_STATIC);
	found = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return found;
}

static int64_t file_size(const char *path, const char *suffix)
{
	char p[PATH_MAX + 8];
	struct stat sb;

	if (snprintf(p, sizeof(p), "%s%s", path, suffix) >= (int)sizeof(p))
		return 0;
	return stat(p, &sb) == 0 ? (int64_t)sb.st_size : 0;
}

static const char *col_text(sqlite3_stmt *st, int i)
{
	const char *s = (const char *)sqlite3_column_text(st, i);

	return s ? s : "";
}

/* Prometheus descriptors of the library, scan and mount-table metrics. */
#define G(n, u, d, h) { NULL, n, NULL, MF_METRIC_GAUGE, u, d, h }
static const struct mf_metric_desc
	d_store_size = G("musefs_store_size_bytes", "bytes", 1,
			 "Size of the store file."),
	d_store_wal = G("musefs_store_wal_bytes", "bytes", 1,
			"Size of the store's write-ahead log."),
	d_tracks = G("musefs_tracks", "", 1, "Tracks in the store, by format."),
	d_backing = G("musefs_backing_bytes", "bytes", 1,
		      "Sum of the sizes of the backing files."),
	d_duration = G("musefs_audio_duration_seconds", "seconds", 1,
		       "Total duration of the audio."),
	d_tags = G("musefs_tag_rows", "", 1, "Rows in the tags table."),
	d_art = G("musefs_art_images", "", 1, "Distinct images in the store."),
	d_art_bytes = G("musefs_art_bytes", "bytes", 1,
			"Bytes of all images in the store."),
	d_head = G("musefs_changelog_head", "", 1,
		   "Newest changelog sequence number."),
	d_scan_start = G("musefs_scan_last_start_timestamp_seconds", "seconds",
			 1, "Start of the last scan, unix time."),
	d_scan_end = G("musefs_scan_last_end_timestamp_seconds", "seconds", 1,
		       "End of the last scan, unix time (absent while running)."),
	d_scan_dur = G("musefs_scan_last_duration_seconds", "seconds", 1,
		       "Duration of the last scan (so far, while running)."),
	d_scan_files = G("musefs_scan_last_files", "", 1,
			 "Files of the last scan, by result."),
	d_scan_bytes = G("musefs_scan_last_read_bytes", "bytes", 1,
			 "Bytes read by the last scan."),
	d_scan_outcome = G("musefs_scan_last_outcome", "", 1,
			   "Outcome of the last scan (1 for the current one)."),
	d_mounts = G("musefs_mounts", "", 1,
		     "Mounts with a heartbeat row, by state."),
	d_mount_up = G("musefs_mount_up", "", 1,
		       "1 when the mount's heartbeat is live, else 0."),
	d_mount_beat = G("musefs_mount_heartbeat_timestamp_seconds", "seconds",
			 1, "Time of the mount's last heartbeat, unix time."),
	d_mount_info = G("musefs_mount_info", "", 1,
			 "Mount attributes as labels; always 1.");
#undef G

static const char *const scan_outcomes[] = {
	"running", "ok", "partial", "failed", "interrupted",
};

/* ---- the library ---- */

/* store.*, tracks.*, tags.rows, art.*, changelog.head_seq. */
static int add_library(struct mf_store *s, struct mf_doc *d, const char *path,
		       struct mf_report_facts *f)
{
	sqlite3 *db = mf_store_db(s);
	sqlite3_stmt *st = NULL;
	int64_t v;
	char key[64], labels[96];
	int rc, ret;
	bool any = false;

	if ((ret = mf_doc_str(d, "store.path", path)) < 0 ||
	    (ret = mf_doc_str(d, "store.open_mode", f->immutable ?
			      "immutable" : "shared")) < 0 ||
	    (ret = mf_doc_metric(d, "store.size_bytes", &d_store_size, NULL,
				 file_size(path, ""))) < 0 ||
	    (ret = mf_doc_metric(d, "store.wal_bytes", &d_store_wal, NULL,
				 file_size(path, "-wal"))) < 0)
		return ret;
	if ((ret = q_int(s, "PRAGMA user_version", &v)) < 0 ||
	    (ret = mf_doc_int(d, "store.user_version", v)) < 0)
		return ret;
	if ((ret = q_int(s, "SELECT count(*) FROM tracks", &f->tracks)) < 0 ||
	    (ret = mf_doc_int(d, "tracks.total", f->tracks)) < 0)
		return ret;
	if (sqlite3_prepare_v2(db, "SELECT format, count(*) FROM tracks "
			       "GROUP BY format ORDER BY format", -1, &st,
			       NULL) != SQLITE_OK)
		return -EIO;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *fmt = col_text(st, 0);

		labels[0] = '\0';
		snprintf(key, sizeof(key), "tracks.by_format.%s", fmt);
		if (mf_prom_label(labels, sizeof(labels), "format", fmt) < 0 ||
		    mf_doc_metric(d, key, &d_tracks, labels,
				  sqlite3_column_int64(st, 1)) < 0) {
			sqlite3_finalize(st);
			return -EIO;
		}
		any = true;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return -EIO;
	if (!any && (ret = mf_doc_empty_object(d, "tracks.by_format")) < 0)
		return ret;
	if ((ret = q_int(s, "SELECT coalesce(sum(backing_size), 0) FROM "
			 "tracks", &v)) < 0 ||
	    (ret = mf_doc_metric(d, "tracks.backing_bytes", &d_backing, NULL,
				 v)) < 0)
		return ret;
	v = 0;
	if (has_column(db, "track_props", "duration_ms") &&
	    (ret = q_int(s, "SELECT coalesce(sum(duration_ms), 0) / 1000 "
			 "FROM track_props", &v)) < 0)
		return ret;
	if ((ret = mf_doc_metric(d, "tracks.duration_s", &d_duration, NULL,
				 v)) < 0)
		return ret;
	if ((ret = q_int(s, "SELECT count(*) FROM tags", &v)) < 0 ||
	    (ret = mf_doc_metric(d, "tags.rows", &d_tags, NULL, v)) < 0 ||
	    (ret = q_int(s, "SELECT count(*) FROM art", &v)) < 0 ||
	    (ret = mf_doc_metric(d, "art.count", &d_art, NULL, v)) < 0 ||
	    (ret = q_int(s, "SELECT coalesce(sum(byte_len), 0) FROM art",
			 &v)) < 0 ||
	    (ret = mf_doc_metric(d, "art.bytes", &d_art_bytes, NULL, v)) < 0 ||
	    (ret = q_int(s, "SELECT coalesce(max(seq), 0) FROM track_changes",
			 &v)) < 0 ||
	    (ret = mf_doc_metric(d, "changelog.head_seq", &d_head, NULL, v)) < 0)
		return ret;
	return 0;
}

/* ---- scans ---- */

/* One scan_runs row (columns as in add_scans) under @prefix. */
static int add_scan(struct mf_doc *d, const char *prefix, sqlite3_stmt *st,
		    int64_t now, bool metrics)
{
	static const char *const counts[] = {
		"seen", "new", "changed", "unchanged", "skipped", "failed",
		"moved", "pruned",
	};
	char key[96], labels[64];
	int64_t started = sqlite3_column_int64(st, 1);
	bool ended = sqlite3_column_type(st, 2) != SQLITE_NULL;
	int64_t end = ended ? sqlite3_column_int64(st, 2) : now;
	const char *outcome = col_text(st, 13);
	int ret;

#define K(name) (snprintf(key, sizeof(key), "%s.%s", prefix, name), key)
	if ((ret = mf_doc_int(d, K("id"), sqlite3_column_int64(st, 0))) < 0 ||
	    (ret = mf_doc_int(d, K("started_at"), started)) < 0)
		return ret;
	if (metrics && (ret = mf_doc_sample(d, &d_scan_start, NULL, started)) < 0)
		return ret;
	if (ended) {
		ret = mf_doc_int(d, K("ended_at"), end);
		if (!ret && metrics)
			ret = mf_doc_sample(d, &d_scan_end, NULL, end);
	} else {
		ret = mf_doc_null(d, K("ended_at"));
	}
	if (ret < 0)
		return ret;
	if ((ret = mf_doc_int(d, K("age_s"), now - (ended ? end : started))) < 0)
		return ret;
	if (metrics)
		ret = mf_doc_metric(d, K("duration_s"), &d_scan_dur, NULL,
				    end - started);
	else
		ret = mf_doc_int(d, K("duration_s"), end - started);
	if (ret < 0 || (ret = mf_doc_str(d, K("roots"), col_text(st, 3))) < 0)
		return ret;
	for (int i = 0; i < 8; i++) {
		labels[0] = '\0';
		mf_prom_label(labels, sizeof(labels), "result", counts[i]);
		ret = metrics ? mf_doc_metric(d, K(counts[i]), &d_scan_files,
					      labels,
					      sqlite3_column_int64(st, 4 + i)) :
			mf_doc_int(d, K(counts[i]), sqlite3_column_int64(st, 4 + i));
		if (ret < 0)
			return ret;
	}
	ret = metrics ? mf_doc_metric(d, K("bytes_read"), &d_scan_bytes, NULL,
				      sqlite3_column_int64(st, 12)) :
		mf_doc_int(d, K("bytes_read"), sqlite3_column_int64(st, 12));
	if (ret < 0 || (ret = mf_doc_str(d, K("outcome"), outcome)) < 0)
		return ret;
#undef K
	for (size_t i = 0; metrics && i < sizeof(scan_outcomes) /
	     sizeof(scan_outcomes[0]); i++) {
		labels[0] = '\0';
		mf_prom_label(labels, sizeof(labels), "outcome", scan_outcomes[i]);
		ret = mf_doc_sample(d, &d_scan_outcome, labels,
				    strcmp(outcome, scan_outcomes[i]) == 0);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/*
 * last_scan (the newest run, with its Prometheus samples) and scans.N
 * (the newest @limit runs); null and [] without scan_runs.outcome (an
 * older store) or without rows. moved and pruned read 0 when missing.
 */
static int add_scans(sqlite3 *db, struct mf_doc *d, long limit,
		     struct mf_report_facts *f)
{
	sqlite3_stmt *st = NULL;
	char sql[512], prefix[32];
	bool mp;
	long n = 0;
	int rc, ret = 0;

	if (!has_column(db, "scan_runs", "outcome")) {
		if ((ret = mf_doc_null(d, "last_scan")) < 0)
			return ret;
		return mf_doc_empty_array(d, "scans");
	}
	mp = has_column(db, "scan_runs", "moved") &&
	     has_column(db, "scan_runs", "pruned");
	snprintf(sql, sizeof(sql), "SELECT id, started_at, ended_at, roots, "
		 "seen, new, changed, unchanged, skipped, failed, %s, "
		 "bytes_read, outcome FROM scan_runs ORDER BY id DESC LIMIT ?",
		 mp ? "moved, pruned" : "0, 0");
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		mf_err(NULL, "cannot query the store: %s", sqlite3_errmsg(db));
		return -EIO;
	}
	/* the newest run twice: as last_scan (with metrics) and in scans */
	for (int pass = 0; pass < 2 && !ret; pass++) {
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, pass ? limit : 1);
		n = 0;
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			if (pass == 0) {
				f->have_scan = true;
				f->scan_failed = sqlite3_column_int64(st, 9);
				f->scan_age = f->now -
					sqlite3_column_int64(st,
					sqlite3_column_type(st, 2) == SQLITE_NULL ?
					1 : 2);
				snprintf(f->scan_outcome, sizeof(f->scan_outcome),
					 "%s", col_text(st, 13));
				ret = add_scan(d, "last_scan", st, f->now, true);
			} else {
				snprintf(prefix, sizeof(prefix), "scans.%ld", n);
				ret = add_scan(d, prefix, st, f->now, false);
			}
			n++;
			if (ret < 0)
				break;
		}
		if (!ret && rc != SQLITE_DONE)
			ret = -EIO;
		if (!ret && n == 0)
			ret = pass ? mf_doc_empty_array(d, "scans") :
				mf_doc_null(d, "last_scan");
	}
	sqlite3_finalize(st);
	return ret;
}

/* ---- mounts ---- */

/*
 * One mount_heartbeats row (columns as in add_mounts) as mounts.list.@i.
 * Returns 0, 1 when the row is expired (ignored), or a negative errno.
 */
static int add_mount(struct mf_doc *d, sqlite3_stmt *st, long i,
		     const char *this_host, struct mf_report_facts *f)
{
	int64_t v[MF_M__COUNT] = { 0 };
	bool present[MF_M__COUNT] = { false };
	char key[96], prefix[48], labels[PATH_MAX + 512], info[PATH_MAX * 2];
	const char *host = col_text(st, 0), *mp = col_text(st, 1);
	int64_t pid = sqlite3_column_int64(st, 2);
	int64_t interval = sqlite3_column_int64(st, 5);
	int64_t updated = sqlite3_column_int64(st, 7);
	enum mf_mount_state s;
	int ret;

	s = mf_heartbeat_classify(col_text(st, 9), host, pid, updated,
				  interval, f->now, this_host);
	if (mf_heartbeat_expired(s, updated, f->now)) {
		f->expired++;
		return 1;	/* ignored: not listed, counted, or exported */
	}
	f->live += s == MF_MOUNT_LIVE;
	f->stale += s == MF_MOUNT_STALE;
	f->stopped += s == MF_MOUNT_STOPPED;
	labels[0] = '\0';
	if (mf_prom_label(labels, sizeof(labels), "host", host) < 0 ||
	    mf_prom_label(labels, sizeof(labels), "mountpoint", mp) < 0)
		return -ENAMETOOLONG;
	snprintf(prefix, sizeof(prefix), "mounts.list.%ld", i);
#define K(name) (snprintf(key, sizeof(key), "%s.%s", prefix, name), key)
	if ((ret = mf_doc_str(d, K("hostname"), host)) < 0 ||
	    (ret = mf_doc_int(d, K("pid"), pid)) < 0 ||
	    (ret = mf_doc_str(d, K("mountpoint"), mp)) < 0 ||
	    (ret = mf_doc_str(d, K("template"), col_text(st, 3))) < 0 ||
	    (ret = mf_doc_str(d, K("mode"), col_text(st, 4))) < 0 ||
	    (ret = mf_doc_str(d, K("state"), mf_mount_state_name(s))) < 0 ||
	    (ret = mf_doc_int(d, K("interval_s"), interval)) < 0 ||
	    (ret = mf_doc_int(d, K("started_at"), sqlite3_column_int64(st, 6))) < 0 ||
	    (ret = mf_doc_metric(d, K("updated_at"), &d_mount_beat, labels,
				 updated)) < 0 ||
	    (ret = sqlite3_column_type(st, 8) == SQLITE_NULL ?
	     mf_doc_null(d, K("stopped_at")) :
	     mf_doc_int(d, K("stopped_at"), sqlite3_column_int64(st, 8))) < 0 ||
	    (ret = mf_doc_int(d, K("heartbeat_age_s"), f->now - updated)) < 0 ||
	    (ret = mf_doc_sample(d, &d_mount_up, labels,
				 s == MF_MOUNT_LIVE)) < 0)
		return ret;
	snprintf(info, sizeof(info), "%s", labels);
	if (mf_prom_label(info, sizeof(info), "template", col_text(st, 3)) < 0 ||
	    mf_prom_label(info, sizeof(info), "mode", col_text(st, 4)) < 0 ||
	    mf_prom_label(info, sizeof(info), "state",
			  mf_mount_state_name(s)) < 0)
		return -ENAMETOOLONG;
	if ((ret = mf_doc_sample(d, &d_mount_info, info, 1)) < 0)
		return ret;
	mf_metrics_parse_flat(col_text(st, 10), v, present);
	if (s == MF_MOUNT_LIVE && present[MF_M_LAG_MS] &&
	    v[MF_M_LAG_MS] > f->max_lag_ms)
		f->max_lag_ms = v[MF_M_LAG_MS];
	snprintf(key, sizeof(key), "%s.metrics", prefix);
	for (size_t j = 0; j < MF_M__COUNT; j++)
		if (present[j])
			return mf_doc_mount_metrics(d, key, labels, v, present);
#undef K
	return mf_doc_empty_object(d, key);
}

/*
 * mounts.list.N (not expired rows, by hostname and mountpoint; none
 * without mount_heartbeats.metrics), mounts.expired and the counts by
 * state. @host is this machine's, to classify rows.
 */
static int add_mounts(sqlite3 *db, struct mf_doc *d, const char *host,
		      struct mf_report_facts *f)
{
	sqlite3_stmt *st = NULL;
	char labels[64];
	long n = 0;
	int rc, ret = 0;

	if (has_column(db, "mount_heartbeats", "metrics")) {
		if (sqlite3_prepare_v2(db, "SELECT hostname, mountpoint, pid, "
				       "template, mode, interval_s, started_at, "
				       "updated_at, stopped_at, state, metrics "
				       "FROM mount_heartbeats ORDER BY "
				       "hostname, mountpoint", -1, &st,
				       NULL) != SQLITE_OK) {
			mf_err(NULL, "cannot query the store: %s",
			       sqlite3_errmsg(db));
			return -EIO;
		}
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			ret = add_mount(d, st, n, host, f);
			if (ret < 0)
				break;
			n += ret == 0;
			ret = 0;
		}
		if (!ret && rc != SQLITE_DONE)
			ret = -EIO;
		sqlite3_finalize(st);
		if (ret < 0)
			return ret;
	}
	if (n == 0 && (ret = mf_doc_empty_array(d, "mounts.list")) < 0)
		return ret;
	if ((ret = mf_doc_int(d, "mounts.expired", f->expired)) < 0)
		return ret;
	{
		const char *names[] = { "live", "stale", "stopped" };
		int64_t vals[] = { f->live, f->stale, f->stopped };
		char key[32];

		for (int i = 0; i < 3; i++) {
			labels[0] = '\0';
			mf_prom_label(labels, sizeof(labels), "state", names[i]);
			snprintf(key, sizeof(key), "mounts.%s", names[i]);
			ret = mf_doc_metric(d, key, &d_mounts, labels, vals[i]);
			if (ret < 0)
				return ret;
		}
	}
	return 0;
}

/* ---- the collector ---- */

int mf_report_collect(const char *db_path, const struct mf_report_opts *o,
		      struct mf_doc **out, struct mf_report_facts *f)
{
	struct mf_store *s = NULL;
	struct mf_doc *d = NULL;
	char err[PATH_MAX + 256], host[256];
	sqlite3 *db;
	int ret;

	*out = NULL;
	memset(f, 0, sizeof(*f));
	f->now = o->now ? o->now : (int64_t)time(NULL);
	if (o->scan_limit < 1)
		return -EINVAL;
	if (o->hostname)
		snprintf(host, sizeof(host), "%s", o->hostname);
	else if (mf_heartbeat_hostname(host, sizeof(host)) < 0)
		host[0] = '\0';
	ret = mf_store_open(db_path, MF_STORE_READONLY, &s, err, sizeof(err));
	if (ret < 0) {
		mf_err(NULL, "%s", err);
		return ret;
	}
	db = mf_store_db(s);
	f->immutable = mf_store_immutable(s);
	d = mf_doc_new();
	if (!d) {
		ret = -ENOMEM;
		goto out;
	}
	if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		ret = -EIO;
		goto out;
	}
	ret = mf_doc_int(d, "generated_at", f->now);
	if (!ret)
		ret = add_library(s, d, db_path, f);
	if (!ret)
		ret = add_scans(db, d, o->scan_limit, f);
	if (!ret)
		ret = add_mounts(db, d, host, f);
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	if (ret == -EIO)
		mf_err(NULL, "cannot read store '%s': %s", db_path,
		       sqlite3_errmsg(db));
	else if (ret < 0)
		mf_err(NULL, "cannot build the report: %s", strerror(-ret));
out:
	mf_store_close(s);
	if (ret < 0) {
		mf_doc_free(d);
		return ret;
	}
	*out = d;
	return 0;
}

/* ---- --forget-mount ---- */

/*
 * The row of this host for @mp, tried as given, without trailing
 * slashes, and resolved (realpath) when the directory still exists.
 * Prepares *@st positioned on the row (SQLITE_ROW), or returns -ESRCH.
 */
static int find_mount_row(sqlite3 *db, const char *host, const char *mp,
			  sqlite3_stmt **st)
{
	char cand[3][PATH_MAX];
	size_t n;
	int rc;

	snprintf(cand[0], sizeof(cand[0]), "%s", mp);
	snprintf(cand[1], sizeof(cand[1]), "%s", mp);
	for (n = strlen(cand[1]); n > 1 && cand[1][n - 1] == '/'; n--)
		cand[1][n - 1] = '\0';
	if (!realpath(mp, cand[2]))
		snprintf(cand[2], sizeof(cand[2]), "%s", cand[1]);
	if (sqlite3_prepare_v2(db, "SELECT id, pid, state FROM "
			       "mount_heartbeats WHERE hostname = ? AND "
			       "mountpoint = ?", -1, st, NULL) != SQLITE_OK)
		return -EIO;
	for (int i = 0; i < 3; i++) {
		sqlite3_reset(*st);
		sqlite3_bind_text(*st, 1, host, -1, SQLITE_STATIC);
		sqlite3_bind_text(*st, 2, cand[i], -1, SQLITE_TRANSIENT);
		rc = sqlite3_step(*st);
		if (rc == SQLITE_ROW)
			return 0;
		if (rc != SQLITE_DONE)
			return -EIO;
	}
	return -ESRCH;
}

int mf_report_forget_mount(const char *db_path, const char *mountpoint,
			   struct mf_report_forget *r)
{
	struct mf_store *s = NULL;
	sqlite3_stmt *st = NULL;
	char err[PATH_MAX + 256];
	int64_t id;
	sqlite3 *db;
	int ret;

	r->pid = 0;
	if (mf_heartbeat_hostname(r->host, sizeof(r->host)) < 0)
		r->host[0] = '\0';
	ret = mf_store_open(db_path, 0, &s, err, sizeof(err));
	if (ret < 0) {
		mf_err(NULL, "%s", err);
		return ret;
	}
	db = mf_store_db(s);
	ret = find_mount_row(db, r->host, mountpoint, &st);
	if (ret == -EIO)
		mf_err(NULL, "cannot read store '%s': %s", db_path,
		       sqlite3_errmsg(db));
	if (ret < 0)
		goto out;
	id = sqlite3_column_int64(st, 0);
	r->pid = sqlite3_column_int64(st, 1);
	if (!strcmp(col_text(st, 2), "running") && r->pid > 0 &&
	    r->pid <= INT32_MAX &&
	    (kill((pid_t)r->pid, 0) == 0 || errno == EPERM)) {
		ret = -EBUSY;
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (sqlite3_prepare_v2(db, "DELETE FROM mount_heartbeats WHERE id = ?",
			       -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 1, id) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_DONE) {
		mf_err(NULL, "cannot forget the mount of '%s' in '%s': %s",
		       mountpoint, db_path, sqlite3_errmsg(db));
		ret = -EIO;
		goto out;
	}
	mf_heartbeat_expire(db, (int64_t)time(NULL), NULL);
out:
	sqlite3_finalize(st);
	mf_store_close(s);
	return ret;
}
