/* SPDX-License-Identifier: MIT */
/*
 * mf_heartbeat - the mount's heartbeat row in the store
 * (mount_heartbeats, schema/ext-0005-heartbeat.sql), and how a reader
 * tells a live mount from a stale or stopped one.
 *
 * A background thread upserts one row per (hostname, mountpoint) every
 * interval with the mount's counters (mf_metrics, rendered as flat
 * "key=value" lines), and on mf_heartbeat_stop() writes it one last time
 * with state 'stopped'. It uses its own read-write connection; it never
 * writes tracks (so no changelog entry, no refresh of any mount). A store
 * that cannot be written (read-only media, no permission) is logged once
 * and retried every interval; a busy store skips that beat. Neither stops
 * the mount.
 */
#ifndef MF_HEARTBEAT_H
#define MF_HEARTBEAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sqlite3.h>

struct mf_heartbeat_config {
	const char *db_path;	/* store file; copied */
	const char *mountpoint;	/* absolute path; copied */
	const char *template_src;	/* path template text; copied */
	const char *mode;	/* "synthesis" or "structure-only"; copied */
	unsigned interval_s;	/* seconds between beats, >= 1 */
	/*
	 * Called on the heartbeat thread before each beat to refresh gauges
	 * that are sampled rather than counted (cache size, tree nodes); may
	 * be NULL. Must be thread-safe with respect to the caller's data.
	 */
	void (*sample)(void *ctx);
	void *ctx;
};

struct mf_heartbeat;

/*
 * Start the heartbeat thread; the first beat is written at once. Returns
 * 0 and sets *@out, -EINVAL when @cfg->interval_s is 0 or a string is
 * NULL, -ENOMEM, or the negative error of pthread_create. Store errors
 * are not returned: the thread logs them (once) and keeps trying.
 */
int mf_heartbeat_start(const struct mf_heartbeat_config *cfg,
		       struct mf_heartbeat **out);

/*
 * Stop the thread after it has marked the row stopped (a final write,
 * waiting at most about 2 s for a busy store), join it and free @hb.
 * NULL is a no-op. Call from one thread, once.
 */
void mf_heartbeat_stop(struct mf_heartbeat *hb);

/* How a heartbeat row looks to a reader. */
enum mf_mount_state {
	MF_MOUNT_LIVE,		/* running and fresh */
	MF_MOUNT_STALE,		/* running, but no beat for 3 intervals, or
				 * the pid is gone on this host */
	MF_MOUNT_STOPPED,	/* marked stopped by a clean exit */
};

/* "live", "stale" or "stopped". */
const char *mf_mount_state_name(enum mf_mount_state s);

/*
 * Classify one row: @state is the row's state column, @hostname/@pid the
 * process that wrote it, @updated_at and @now unix seconds, @interval_s
 * its beat period, @this_host the reader's hostname. A row from this host
 * whose pid does not exist (kill(pid, 0) fails with ESRCH) is stale at
 * once; any running row older than 3 * @interval_s is stale.
 * Thread-safe.
 */
enum mf_mount_state mf_heartbeat_classify(const char *state,
					  const char *hostname, int64_t pid,
					  int64_t updated_at,
					  int64_t interval_s, int64_t now,
					  const char *this_host);

/*
 * Rows that are not live and whose last beat is older than this (7 days)
 * are expired: musefs-stat ignores them (--check, Prometheus, tables) and
 * the next writer that can write the store deletes them
 * (mf_heartbeat_expire(): each mount's heartbeat thread once at start,
 * each musefs-scan run, musefs-stat --forget-mount).
 */
#define MF_HEARTBEAT_EXPIRE_S (7 * 86400)

/*
 * Is a row in state @s whose last beat was at @updated_at (unix seconds)
 * expired at @now? Live rows never are. Thread-safe.
 */
bool mf_heartbeat_expired(enum mf_mount_state s, int64_t updated_at,
			  int64_t now);

/*
 * Delete the expired rows of mount_heartbeats on @db (a read-write
 * connection; one statement, its own implicit transaction unless one is
 * open) and set *@deleted (may be NULL) to their number. A store without
 * the table is not an error. Returns 0 or a negative errno (-EBUSY,
 * -EROFS, -EIO). Same thread rules as the connection.
 */
int mf_heartbeat_expire(sqlite3 *db, int64_t now, int64_t *deleted);

/*
 * This machine's hostname into @buf of @len bytes (NUL-terminated,
 * truncated if longer). Returns 0 or a negative errno.
 */
int mf_heartbeat_hostname(char *buf, size_t len);

#endif /* MF_HEARTBEAT_H */
