/* SPDX-License-Identifier: MIT */
/*
 * musefs-stat - library telemetry from the store, as a table for people or
 * JSON (--json) for scripts.
 *
 * JSON keys (stable):
 *   store.path, store.size_bytes, store.wal_bytes, store.user_version
 *   tracks.total, tracks.by_format.{flac,...}, tracks.backing_bytes,
 *   tracks.duration_s
 *   tags.rows, art.count, art.bytes, changelog.head_seq
 *   last_scan (null or {started_at, ended_at, seen, new, changed,
 *              unchanged, skipped, failed, outcome})
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mf_log.h"
#include "mf_main.h"
#include "mf_store.h"
#include "mf_banned.h"

#define MAX_FORMATS 16

struct stats {
	const char *path;
	int64_t size_bytes, wal_bytes, user_version;
	int64_t tracks, backing_bytes, duration_ms;
	struct {
		char name[16];
		int64_t count;
	} formats[MAX_FORMATS];
	size_t nformats;
	int64_t tag_rows, art_count, art_bytes, head_seq;
	bool have_scan;
	int64_t scan_started, scan_ended, scan_seen, scan_new, scan_changed,
		scan_unchanged, scan_skipped, scan_failed;
	char scan_outcome[16];
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: musefs-stat [--db PATH] [--json]\n"
		"\n"
		"Show what the store holds: tracks by format, backing bytes,\n"
		"tags, art, the changelog head and the last scan.\n"
		"\n"
		"  --db PATH   store file (default: $MUSEFS_DB, else\n"
		"              ${XDG_DATA_HOME:-$HOME/.local/share}/musefs/library.db)\n"
		"  --json      one JSON object on stdout (keys documented in\n"
		"              musefs-stat(1))\n"
		"  -h, --help, -V, --version\n");
}

static int q_int(sqlite3 *db, const char *sql, int64_t *out)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*out = 0;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		mf_err(NULL, "cannot query the store: %s", sqlite3_errmsg(db));
		return -EIO;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		mf_err(NULL, "cannot query the store: %s", sqlite3_errmsg(db));
		return -EIO;
	}
	return 0;
}

/* Extension tables may be missing in a store written by another tool. */
static bool has_table(sqlite3 *db, const char *name)
{
	sqlite3_stmt *st = NULL;
	bool found = false;

	if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_schema WHERE "
			       "type = 'table' AND name = ?", -1, &st,
			       NULL) != SQLITE_OK)
		return false;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	found = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return found;
}

static int64_t file_size(const char *path, const char *suffix)
{
	char p[PATH_MAX + 8];
	struct stat sb;

	snprintf(p, sizeof(p), "%s%s", path, suffix);
	return stat(p, &sb) == 0 ? (int64_t)sb.st_size : 0;
}

static int collect(struct mf_store *s, struct stats *x)
{
	sqlite3 *db = mf_store_db(s);
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return -EIO;
	if (q_int(db, "PRAGMA user_version", &x->user_version) < 0 ||
	    q_int(db, "SELECT count(*) FROM tracks", &x->tracks) < 0 ||
	    q_int(db, "SELECT coalesce(sum(backing_size), 0) FROM tracks",
		  &x->backing_bytes) < 0 ||
	    (has_table(db, "track_props") &&
	     q_int(db, "SELECT coalesce(sum(duration_ms), 0) FROM track_props",
		   &x->duration_ms) < 0) ||
	    q_int(db, "SELECT count(*) FROM tags", &x->tag_rows) < 0 ||
	    q_int(db, "SELECT count(*) FROM art", &x->art_count) < 0 ||
	    q_int(db, "SELECT coalesce(sum(byte_len), 0) FROM art",
		  &x->art_bytes) < 0 ||
	    q_int(db, "SELECT coalesce(max(seq), 0) FROM track_changes",
		  &x->head_seq) < 0)
		goto out_fail;
	if (sqlite3_prepare_v2(db, "SELECT format, count(*) FROM tracks "
			       "GROUP BY format ORDER BY format", -1, &st,
			       NULL) != SQLITE_OK)
		goto out_fail;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && x->nformats < MAX_FORMATS) {
		const char *f = (const char *)sqlite3_column_text(st, 0);

		snprintf(x->formats[x->nformats].name,
			 sizeof(x->formats[0].name), "%s", f ? f : "?");
		x->formats[x->nformats].count = sqlite3_column_int64(st, 1);
		x->nformats++;
	}
	sqlite3_finalize(st);
	if (!has_table(db, "scan_runs")) {
		sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
		goto out_sizes;
	}
	if (sqlite3_prepare_v2(db, "SELECT started_at, coalesce(ended_at, 0), "
			       "seen, new, changed, unchanged, skipped, failed, "
			       "outcome FROM scan_runs ORDER BY id DESC LIMIT 1",
			       -1, &st, NULL) != SQLITE_OK)
		goto out_fail;
	if (sqlite3_step(st) == SQLITE_ROW) {
		const char *o = (const char *)sqlite3_column_text(st, 8);

		x->have_scan = true;
		x->scan_started = sqlite3_column_int64(st, 0);
		x->scan_ended = sqlite3_column_int64(st, 1);
		x->scan_seen = sqlite3_column_int64(st, 2);
		x->scan_new = sqlite3_column_int64(st, 3);
		x->scan_changed = sqlite3_column_int64(st, 4);
		x->scan_unchanged = sqlite3_column_int64(st, 5);
		x->scan_skipped = sqlite3_column_int64(st, 6);
		x->scan_failed = sqlite3_column_int64(st, 7);
		snprintf(x->scan_outcome, sizeof(x->scan_outcome), "%s",
			 o ? o : "");
	}
	sqlite3_finalize(st);
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
out_sizes:
	x->size_bytes = file_size(x->path, "");
	x->wal_bytes = file_size(x->path, "-wal");
	return 0;

out_fail:
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return -EIO;
}

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

static void print_json(const struct stats *x)
{
	printf("{\"store\":{\"path\":");
	json_str(x->path);
	printf(",\"size_bytes\":%lld,\"wal_bytes\":%lld,\"user_version\":%lld},",
	       (long long)x->size_bytes, (long long)x->wal_bytes,
	       (long long)x->user_version);
	printf("\"tracks\":{\"total\":%lld,\"by_format\":{", (long long)x->tracks);
	for (size_t i = 0; i < x->nformats; i++) {
		if (i)
			putchar(',');
		json_str(x->formats[i].name);
		printf(":%lld", (long long)x->formats[i].count);
	}
	printf("},\"backing_bytes\":%lld,\"duration_s\":%lld},",
	       (long long)x->backing_bytes, (long long)(x->duration_ms / 1000));
	printf("\"tags\":{\"rows\":%lld},\"art\":{\"count\":%lld,\"bytes\":%lld},"
	       "\"changelog\":{\"head_seq\":%lld},", (long long)x->tag_rows,
	       (long long)x->art_count, (long long)x->art_bytes,
	       (long long)x->head_seq);
	if (!x->have_scan) {
		printf("\"last_scan\":null}\n");
		return;
	}
	printf("\"last_scan\":{\"started_at\":%lld,\"ended_at\":%lld,"
	       "\"seen\":%lld,\"new\":%lld,\"changed\":%lld,\"unchanged\":%lld,"
	       "\"skipped\":%lld,\"failed\":%lld,\"outcome\":",
	       (long long)x->scan_started, (long long)x->scan_ended,
	       (long long)x->scan_seen, (long long)x->scan_new,
	       (long long)x->scan_changed, (long long)x->scan_unchanged,
	       (long long)x->scan_skipped, (long long)x->scan_failed);
	json_str(x->scan_outcome);
	printf("}}\n");
}

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
		snprintf(buf, len, "%lld B", (long long)n);
	else
		snprintf(buf, len, "%.1f %s", v, units[u]);
}

static void print_table(const struct stats *x)
{
	char b1[32], b2[32];

	printf("%-18s %s\n", "store", x->path);
	human_bytes(x->size_bytes, b1, sizeof(b1));
	human_bytes(x->wal_bytes, b2, sizeof(b2));
	printf("%-18s %s (WAL %s), schema %lld\n", "store size", b1, b2,
	       (long long)x->user_version);
	printf("%-18s %lld\n", "tracks", (long long)x->tracks);
	for (size_t i = 0; i < x->nformats; i++)
		printf("  %-16s %lld\n", x->formats[i].name,
		       (long long)x->formats[i].count);
	human_bytes(x->backing_bytes, b1, sizeof(b1));
	printf("%-18s %s\n", "backing bytes", b1);
	printf("%-18s %.1f h\n", "audio", (double)x->duration_ms / 3.6e6);
	printf("%-18s %lld\n", "tag rows", (long long)x->tag_rows);
	human_bytes(x->art_bytes, b1, sizeof(b1));
	printf("%-18s %lld (%s)\n", "art images", (long long)x->art_count, b1);
	printf("%-18s %lld\n", "changelog head", (long long)x->head_seq);
	if (x->have_scan)
		printf("%-18s %s: %lld seen, %lld new, %lld changed, "
		       "%lld failed\n", "last scan", x->scan_outcome,
		       (long long)x->scan_seen, (long long)x->scan_new,
		       (long long)x->scan_changed, (long long)x->scan_failed);
	else
		printf("%-18s never\n", "last scan");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "db", required_argument, NULL, 'D' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct stats x;
	struct mf_store *s = NULL;
	const char *opt_db = NULL;
	char dbpath[PATH_MAX], err[PATH_MAX + 256];
	bool json = false;
	int c;

	mf_main_init("musefs-stat");
	opterr = 0;
	while ((c = getopt_long(argc, argv, "hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'D':
			opt_db = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("musefs-stat %s\n", MF_VERSION);
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
	if (optind < argc) {
		mf_err(NULL, "unexpected argument '%s'", argv[optind]);
		return 1;
	}
	if (mf_main_db_path(opt_db, dbpath, sizeof(dbpath)) < 0)
		return 1;
	if (mf_store_open(dbpath, MF_STORE_READONLY, &s, err, sizeof(err)) < 0) {
		mf_err(NULL, "%s", err);
		return 1;
	}
	memset(&x, 0, sizeof(x));
	x.path = dbpath;
	if (collect(s, &x) < 0) {
		mf_store_close(s);
		return 1;
	}
	mf_store_close(s);
	if (json)
		print_json(&x);
	else
		print_table(&x);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		mf_err(NULL, "cannot write output: %s", strerror(errno));
		return 1;
	}
	return 0;
}
