/* SPDX-License-Identifier: MIT */
/*
 * mf_report - the store as musefs-stat reports it: library, scan and
 * mount telemetry read into one document (mf_doc, lib/mf_metrics.h),
 * plus the few facts the table and --check judge; and --forget-mount,
 * the one write musefs-stat makes.
 *
 * The collector reads everything in one read transaction on a read-only
 * connection (mf_store_open(MF_STORE_READONLY): it works on a read-only
 * store or directory, then reading it immutable). Stores written by
 * musefs 1.x or by older builds lack some extension tables or columns
 * (track_props.duration_ms, scan_runs.outcome, .moved and .pruned,
 * mount_heartbeats.metrics): those values read as 0 or as empty, never
 * as an error. The document's keys are stable and documented in
 * docs/musefs-stat.1; every output of musefs-stat renders them.
 *
 * Errors are logged here (mf_log, no domain: the messages are the
 * program's) unless a function says otherwise; nothing is printed.
 */
#ifndef MF_REPORT_H
#define MF_REPORT_H

#include <stdbool.h>
#include <stdint.h>

struct mf_doc;

/* What to collect. */
struct mf_report_opts {
	long scan_limit;	/* newest scan_runs rows listed as scans.N,
				 * >= 1 */
	int64_t now;		/* unix s the report is made at (generated_at,
				 * ages, mount states); 0: time(NULL) */
	const char *hostname;	/* this host, to classify mounts; borrowed;
				 * NULL: mf_heartbeat_hostname() */
};

/* What the table and --check need besides the document. */
struct mf_report_facts {
	int64_t now;		/* unix s the report was made at */
	int64_t tracks;		/* rows in tracks */
	bool have_scan;		/* scan_runs has a row (with an outcome) */
	int64_t scan_age;	/* s since the newest run ended (started,
				 * while it runs); 0 without a scan */
	int64_t scan_failed;	/* failed files of the newest run */
	char scan_outcome[16];	/* its outcome ("running", "ok", "partial",
				 * "failed", "interrupted"); "" without */
	int64_t live, stale, stopped;	/* mounts by state (expired rows
					 * not counted) */
	int64_t expired;	/* heartbeat rows past MF_HEARTBEAT_EXPIRE_S:
				 * ignored everywhere */
	int64_t max_lag_ms;	/* ms: the largest changelog lag of a live
				 * mount that reports one; 0 without */
	bool immutable;		/* the store was read immutable
				 * (mf_store_immutable()) */
};

/*
 * Open the store at @db_path read-only and read the whole report into a
 * new document *@out (free it with mf_doc_free()), filling @facts. @o is
 * borrowed for the call.
 *
 * Returns 0, or a negative errno with *@out NULL (then @facts holds what
 * was read so far: do not use it):
 *   -ENOENT, -EPROTO, -EIO, -ENOMEM   from mf_store_open() (the store is
 *                missing, not a musefs store or of a newer version, or
 *                unreadable); logged;
 *   -EIO         a query failed (logged with SQLite's message), or the
 *                read transaction could not begin (not logged);
 *   -ENOMEM      out of memory (not logged when the document itself
 *                could not be allocated);
 *   -ENAMETOOLONG  a mount's labels do not fit (logged);
 *   -EINVAL      @o->scan_limit < 1 (not logged; nothing is opened), or
 *                a key the document refuses (logged).
 * Thread-safe: it opens and closes its own connection.
 */
int mf_report_collect(const char *db_path, const struct mf_report_opts *o,
		      struct mf_doc **out, struct mf_report_facts *facts);

/* Out-parameters of mf_report_forget_mount(). */
struct mf_report_forget {
	char host[256];		/* this machine's hostname, the row's host
				 * looked for; "" when unknown */
	int64_t pid;		/* with -EBUSY: the running mount's pid */
};

/*
 * Delete this host's mount_heartbeats row of mountpoint @mountpoint in
 * the store at @db_path (opened read-write, so migrated if older). The
 * row is looked for under @mountpoint as given, without trailing
 * slashes, and resolved by realpath(3) while the directory exists. A row
 * whose state is 'running' and whose pid exists is not deleted. After a
 * delete, expired rows go too (mf_heartbeat_expire() at time(NULL); its
 * failure is ignored). @r is always filled (host first).
 *
 * Returns 0 when the row was deleted, or a negative errno:
 *   -ESRCH   no such row (not logged: the caller says so);
 *   -EBUSY   the mount runs: r->pid is set (not logged);
 *   -ENOENT, -EPROTO, -EIO, -ENOMEM   from mf_store_open(); logged;
 *   -EIO     the row could not be read or deleted; logged with SQLite's
 *            message.
 * Thread-safe: it opens and closes its own connection.
 */
int mf_report_forget_mount(const char *db_path, const char *mountpoint,
			   struct mf_report_forget *r);

#endif /* MF_REPORT_H */
