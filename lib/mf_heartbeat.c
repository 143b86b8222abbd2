/* SPDX-License-Identifier: MIT */
/*
 * mf_heartbeat - upsert the mount's heartbeat row, mark it stopped, and
 * classify rows as live, stale or stopped.
 */
#include "mf_heartbeat.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mf_log.h"
#include "mf_metrics.h"
#include "mf_store.h"
#include "mf_banned.h"

#define HB_BUSY_TIMEOUT_MS 2000
#define HB_STALE_INTERVALS 3
#define Q_(x) #x
#define STR(x) Q_(x)

struct mf_heartbeat {
	/* immutable after mf_heartbeat_start */
	char *db_path, *mountpoint, *template_src, *mode;
	char hostname[256];
	unsigned interval_s;
	void (*sample)(void *ctx);
	void *ctx;
	int64_t started_at;		/* unix seconds */
	pid_t pid;

	struct mf_store *store;		/* heartbeat thread only */
	bool warned;			/* heartbeat thread only */

	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;		/* CLOCK_MONOTONIC; signalled by stop */
	bool stop;			/* guarded by lock */
};

static const char upsert_sql[] =
	"INSERT INTO mount_heartbeats (hostname, mountpoint, pid, template, "
	"mode, interval_s, started_at, updated_at, stopped_at, state, metrics) "
	"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) "
	"ON CONFLICT (hostname, mountpoint) DO UPDATE SET pid = excluded.pid, "
	"template = excluded.template, mode = excluded.mode, "
	"interval_s = excluded.interval_s, started_at = excluded.started_at, "
	"updated_at = excluded.updated_at, stopped_at = excluded.stopped_at, "
	"state = excluded.state, metrics = excluded.metrics";

int mf_heartbeat_hostname(char *buf, size_t len)
{
	if (!len)
		return -EINVAL;
	if (gethostname(buf, len) < 0)
		return -errno;
	buf[len - 1] = '\0';
	return 0;
}

const char *mf_mount_state_name(enum mf_mount_state s)
{
	switch (s) {
	case MF_MOUNT_LIVE:
		return "live";
	case MF_MOUNT_STALE:
		return "stale";
	case MF_MOUNT_STOPPED:
		return "stopped";
	}
	return "unknown";
}

enum mf_mount_state mf_heartbeat_classify(const char *state,
					  const char *hostname, int64_t pid,
					  int64_t updated_at,
					  int64_t interval_s, int64_t now,
					  const char *this_host)
{
	if (state && strcmp(state, "stopped") == 0)
		return MF_MOUNT_STOPPED;
	if (hostname && this_host && strcmp(hostname, this_host) == 0 &&
	    (pid <= 0 || pid > INT32_MAX ||
	     (kill((pid_t)pid, 0) < 0 && errno == ESRCH)))
		return MF_MOUNT_STALE;
	if (interval_s < 1)
		interval_s = 1;
	if (now - updated_at > HB_STALE_INTERVALS * interval_s)
		return MF_MOUNT_STALE;
	return MF_MOUNT_LIVE;
}

bool mf_heartbeat_expired(enum mf_mount_state s, int64_t updated_at,
			  int64_t now)
{
	return s != MF_MOUNT_LIVE && now - updated_at > MF_HEARTBEAT_EXPIRE_S;
}

int mf_heartbeat_expire(sqlite3 *db, int64_t now, int64_t *deleted)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (deleted)
		*deleted = 0;
	/* stopped, or stale by age (3 intervals), and over the expiry; a
	 * store without the table (older than ext-0005) has nothing to do */
	rc = sqlite3_prepare_v2(db, "DELETE FROM mount_heartbeats WHERE "
				"updated_at < ?1 - ?2 AND (state = 'stopped' OR "
				"updated_at < ?1 - " STR(HB_STALE_INTERVALS)
				" * interval_s)", -1, &st, NULL);
	if (rc != SQLITE_OK) {
		sqlite3_finalize(st);
		return strstr(sqlite3_errmsg(db), "no such table") ? 0 :
			(mf_store_errno(rc) ? mf_store_errno(rc) : -EIO);
	}
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int64(st, 2, MF_HEARTBEAT_EXPIRE_S);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return mf_store_errno(rc) ? mf_store_errno(rc) : -EIO;
	if (deleted)
		*deleted = sqlite3_changes(db);
	return 0;
}

/* The counters as flat text, malloc'd into *@out. */
static int render_metrics(struct mf_heartbeat *hb, char **out)
{
	size_t len;

	if (hb->sample)
		hb->sample(hb->ctx);
	return mf_metrics_render_mount(MF_DOC_FLAT, out, &len);
}

/* Say once why the store cannot take heartbeats; later failures count. */
static void beat_failed(struct mf_heartbeat *hb, int err, const char *what)
{
	mf_metric_inc(MF_M_HEARTBEAT_ERRORS);
	if (err == -EBUSY)
		return;		/* a writer holds the store: skip this beat */
	if (hb->warned)
		return;
	hb->warned = true;
	mf_warn("heartbeat", "cannot write the heartbeat to '%s' (%s); the "
		"mount keeps serving without it", hb->db_path, what);
}

static int open_store(struct mf_heartbeat *hb)
{
	char err[512];
	int ret;

	if (hb->store)
		return 0;
	ret = mf_store_open(hb->db_path, 0, &hb->store, err, sizeof(err));
	if (ret < 0) {
		beat_failed(hb, ret, err);
		return ret;
	}
	sqlite3_busy_timeout(mf_store_db(hb->store), HB_BUSY_TIMEOUT_MS);
	/* this connection can write: drop rows of mounts long gone */
	mf_heartbeat_expire(mf_store_db(hb->store), (int64_t)time(NULL), NULL);
	return 0;
}

static int beat(struct mf_heartbeat *hb, bool stopping)
{
	sqlite3_stmt *st = NULL;
	sqlite3 *db;
	char *metrics = NULL;
	int64_t now = (int64_t)time(NULL);
	int rc, ret;

	ret = open_store(hb);
	if (ret < 0)
		return ret;
	db = mf_store_db(hb->store);
	ret = render_metrics(hb, &metrics);
	if (ret < 0) {
		beat_failed(hb, ret, strerror(-ret));
		return ret;
	}
	rc = sqlite3_prepare_v2(db, upsert_sql, -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, hb->hostname, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, hb->mountpoint, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, hb->pid);
		sqlite3_bind_text(st, 4, hb->template_src, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, hb->mode, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 6, hb->interval_s);
		sqlite3_bind_int64(st, 7, hb->started_at);
		sqlite3_bind_int64(st, 8, now);
		if (stopping)
			sqlite3_bind_int64(st, 9, now);
		else
			sqlite3_bind_null(st, 9);
		sqlite3_bind_text(st, 10, stopping ? "stopped" : "running", -1,
				  SQLITE_STATIC);
		sqlite3_bind_text(st, 11, metrics, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		if (rc == SQLITE_DONE)
			rc = SQLITE_OK;
	}
	if (rc != SQLITE_OK) {
		ret = mf_store_errno(rc) ? mf_store_errno(rc) : -EIO;
		beat_failed(hb, ret, sqlite3_errmsg(db));
	} else {
		mf_metric_inc(MF_M_HEARTBEATS);
		if (hb->warned)
			mf_info("heartbeat", "heartbeats to '%s' work again",
				hb->db_path);
		hb->warned = false;
	}
	sqlite3_finalize(st);
	free(metrics);
	return ret;
}

static void *hb_main(void *arg)
{
	struct mf_heartbeat *hb = arg;
	struct timespec ts;
	bool stop = false;

	while (!stop) {
		beat(hb, false);
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += (time_t)hb->interval_s;
		pthread_mutex_lock(&hb->lock);
		while (!hb->stop &&
		       pthread_cond_timedwait(&hb->cond, &hb->lock, &ts) == 0)
			;
		stop = hb->stop;
		pthread_mutex_unlock(&hb->lock);
	}
	beat(hb, true);
	mf_store_close(hb->store);
	hb->store = NULL;
	return NULL;
}

static void hb_free(struct mf_heartbeat *hb)
{
	free(hb->db_path);
	free(hb->mountpoint);
	free(hb->template_src);
	free(hb->mode);
	free(hb);
}

int mf_heartbeat_start(const struct mf_heartbeat_config *cfg,
		       struct mf_heartbeat **out)
{
	struct mf_heartbeat *hb;
	pthread_condattr_t ca;
	int ret;

	*out = NULL;
	if (!cfg->interval_s || !cfg->db_path || !cfg->mountpoint ||
	    !cfg->template_src || !cfg->mode)
		return -EINVAL;
	hb = calloc(1, sizeof(*hb));
	if (!hb)
		return -ENOMEM;
	hb->db_path = strdup(cfg->db_path);
	hb->mountpoint = strdup(cfg->mountpoint);
	hb->template_src = strdup(cfg->template_src);
	hb->mode = strdup(cfg->mode);
	if (!hb->db_path || !hb->mountpoint || !hb->template_src || !hb->mode) {
		hb_free(hb);
		return -ENOMEM;
	}
	if (mf_heartbeat_hostname(hb->hostname, sizeof(hb->hostname)) < 0)
		snprintf(hb->hostname, sizeof(hb->hostname), "localhost");
	hb->interval_s = cfg->interval_s;
	hb->sample = cfg->sample;
	hb->ctx = cfg->ctx;
	hb->started_at = (int64_t)time(NULL);
	hb->pid = getpid();
	pthread_mutex_init(&hb->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&hb->cond, &ca);
	pthread_condattr_destroy(&ca);
	ret = pthread_create(&hb->thread, NULL, hb_main, hb);
	if (ret != 0) {
		pthread_cond_destroy(&hb->cond);
		pthread_mutex_destroy(&hb->lock);
		hb_free(hb);
		return -ret;
	}
	*out = hb;
	return 0;
}

void mf_heartbeat_stop(struct mf_heartbeat *hb)
{
	if (!hb)
		return;
	pthread_mutex_lock(&hb->lock);
	hb->stop = true;
	pthread_cond_signal(&hb->cond);
	pthread_mutex_unlock(&hb->lock);
	pthread_join(hb->thread, NULL);
	pthread_cond_destroy(&hb->cond);
	pthread_mutex_destroy(&hb->lock);
	hb_free(hb);
}
