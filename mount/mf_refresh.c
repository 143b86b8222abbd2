/* SPDX-License-Identifier: MIT */
/*
 * mf_refresh - musefs-mount following the store: the refresh thread
 * (poll data_version, read the changelog after the watermark, re-render
 * what changed, patch the tree, drop cached layouts), the store's
 * replacement, and the notifier thread that tells the kernel what the
 * patches invalidated. See mf_fs_int.h.
 */
#include "mf_fs_int.h"

#include <errno.h>
#include <fuse_lowlevel.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "mf_array.h"
#include "mf_log.h"
#include "mf_metrics.h"
#include "mf_store_mount.h"
#include "mf_banned.h"

/* More changed tracks than this: one full scan beats that many lookups. */
#define MF_FULL_SCAN_MIN 4096

/* Longest wait (s) of a request for a refresh to catch up with the store. */
#define MF_STALE_WAIT_S 5

/*---- rendering into changes ------------------------------------------*/

struct changes {
	struct mf_tree_change *v;
	size_t n, cap;
	uint64_t store_gen;	/* of the versions: see mf_version_of() */
};

static void changes_release(struct changes *c)
{
	for (size_t i = 0; i < c->n; i++)
		free((char *)c->v[i].path);
	free(c->v);
	memset(c, 0, sizeof(*c));
}

/* Append (@id, @path, @cv); @path is copied (NULL: a removal). */
static int changes_add(struct changes *c, int64_t id, const char *path,
		       int64_t cv)
{
	struct mf_tree_change *v = mf_array_grow(c->v, &c->cap, c->n + 1,
						 sizeof(*v));
	char *p = NULL;

	if (!v)
		return -ENOMEM;
	c->v = v;
	if (path && !(p = strdup(path)))
		return -ENOMEM;
	c->v[c->n].track_id = id;
	c->v[c->n].path = p;
	c->v[c->n].version = mf_version_of(c->store_gen, cv);
	c->n++;
	return 0;
}

static int add_rendered(void *ctx, int64_t id, int64_t cv, const char *path)
{
	return changes_add(ctx, id, path, cv);
}

struct gone_ctx {
	struct changes *c;
	size_t nrendered;	/* c->v[0 .. nrendered) sorted by id */
};

/* A file of the tree whose track the full scan did not render: removal. */
static int add_gone(void *ctx, const struct mf_node *n)
{
	struct gone_ctx *g = ctx;
	int64_t id = mf_node_track(n);
	size_t lo = 0, hi = g->nrendered;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (g->c->v[mid].track_id == id)
			return 0;
		if (g->c->v[mid].track_id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return changes_add(g->c, id, NULL, 0);
}

/*
 * Every track's path, and a removal for every file of @t (may be NULL)
 * whose track is gone. Caller holds a read transaction.
 */
static int render_full(struct mf_render *r, const struct mf_tree *t,
		       struct changes *c)
{
	struct gone_ctx g = { .c = c };
	int ret = mf_render_all(r, add_rendered, c);

	if (ret || !t)
		return ret;
	g.nrendered = c->n;
	return mf_tree_each_file(t, add_gone, &g);
}

/*---- refresh thread --------------------------------------------------*/

/* mf_tree_apply() callback: queue; sent once the write lock is gone. */
static void queue_inval(void *ctx, uint64_t ino, const char *name)
{
	struct mf_fs *fs = ctx;
	struct inval *v = mf_array_grow(fs->invals, &fs->invals_cap,
					fs->ninvals + 1, sizeof(*v));
	char *copy = NULL;

	if (!v || (name && !(copy = strdup(name)))) {
		if (v)
			fs->invals = v;
		mf_warn("mount", "out of memory: a kernel cache entry may stay "
			"stale until its timeout");
		return;
	}
	fs->invals = v;
	v[fs->ninvals].ino = ino;
	v[fs->ninvals].name = copy;
	fs->ninvals++;
}

/* Send @n invalidations @v to the kernel and free their names. */
static void send_invals(struct mf_fs *fs, struct inval *v0, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct inval *v = &v0[i];
		int r;

		if (v->name)
			r = fuse_lowlevel_notify_inval_entry(fs->se, v->ino,
						v->name, strlen(v->name));
		else
			r = fuse_lowlevel_notify_inval_inode(fs->se, v->ino, 0, 0);
		mf_metric_inc(v->name ? MF_M_INVAL_ENTRY : MF_M_INVAL_INODE);
		if (r < 0 && r != -ENOENT && r != -EBADF && r != -ENODEV)
			mf_debug("mount", "invalidate %llu %s: %s",
				 (unsigned long long)v->ino,
				 v->name ? v->name : "", strerror(-r));
		free(v->name);
	}
}

/*
 * Hand the refresh's queued invalidations to the notifier thread (in
 * order, after those of earlier refreshes). Without a notifier (tests of
 * the tree alone, or out of memory), they are sent from here.
 */
static void post_invals(struct mf_fs *fs)
{
	struct inval *v = NULL;

	if (!fs->ninvals)
		return;
	pthread_mutex_lock(&fs->notify_lock);
	if (fs->notify_running)
		v = mf_array_grow(fs->nq, &fs->nq_cap, fs->nq_n + fs->ninvals,
				  sizeof(*v));
	if (v) {
		fs->nq = v;
		memcpy(v + fs->nq_n, fs->invals, fs->ninvals * sizeof(*v));
		fs->nq_n += fs->ninvals;
		pthread_cond_signal(&fs->notify_cond);
	}
	pthread_mutex_unlock(&fs->notify_lock);
	if (!v)
		send_invals(fs, fs->invals, fs->ninvals);
	fs->ninvals = 0;
}

void *mf_notify_main(void *arg)
{
	struct mf_fs *fs = arg;
	struct inval *v = NULL;
	size_t n, cap = 0;

	pthread_mutex_lock(&fs->notify_lock);
	for (;;) {
		while (!fs->nq_n && !atomic_load(&fs->stop))
			pthread_cond_wait(&fs->notify_cond, &fs->notify_lock);
		if (atomic_load(&fs->stop))
			break;
		/* take the queue, leave our empty array in its place */
		{
			struct inval *t = fs->nq;
			size_t tcap = fs->nq_cap;

			n = fs->nq_n;
			fs->nq = v;
			fs->nq_cap = cap;
			fs->nq_n = 0;
			v = t;
			cap = tcap;
		}
		pthread_mutex_unlock(&fs->notify_lock);
		send_invals(fs, v, n);
		pthread_mutex_lock(&fs->notify_lock);
	}
	pthread_mutex_unlock(&fs->notify_lock);
	free(v);
	return NULL;
}

/* Append @id to the array *@ids of *@n items (capacity *@cap). */
/*
 * Has the store file been replaced (another inode at the path: a restored
 * backup, a replica moved in)? Then open the new one for the refresh
 * thread, bump store_gen so every worker reopens its connection and no
 * older layout is served again, and return 1: a full refresh follows.
 * A store deleted is logged once; what the mount has is still served.
 */
static int store_replaced(struct mf_fs *fs)
{
	struct mf_store *s = NULL;
	struct mf_render *r = NULL;
	struct stat sb;
	char err[512];

	if (stat(fs->cfg.db_path, &sb) < 0) {
		if (!fs->store_gone)
			mf_warn("mount", "store '%s' is gone (%s): serving what "
				"the mount has", fs->cfg.db_path,
				strerror(errno));
		fs->store_gone = true;
		return 0;
	}
	fs->store_gone = false;
	if (sb.st_dev == fs->store_dev && sb.st_ino == fs->store_ino)
		return 0;
	if (mf_store_open(fs->cfg.db_path, MF_STORE_READONLY, &s, err,
			  sizeof(err)) < 0) {
		mf_warn("mount", "store '%s' was replaced: %s", fs->cfg.db_path,
			err);
		return -EIO;
	}
	if (mf_render_new(s, fs->cfg.tmpl, &fs->cfg.topts, &r) < 0) {
		mf_store_close(s);
		return -EIO;
	}
	mf_warn("mount", "store '%s' was replaced: following the new one",
		fs->cfg.db_path);
	mf_render_free(fs->render);
	mf_store_close(fs->poll_store);
	fs->poll_store = s;
	fs->render = r;
	fs->store_dev = sb.st_dev;
	fs->store_ino = sb.st_ino;
	mf_conns_bump(fs->conns);
	return 1;
}

/*
 * One refresh: if the store moved, re-render the tracks the changelog
 * names after the watermark (every track after a gap), patch the tree
 * under the write lock, drop their cached layouts, then tell the kernel.
 */
static int refresh_once(struct mf_fs *fs, bool force_full)
{
	struct changes c = { 0 };
	int64_t *ids = NULL, head = 0, dv = 0;
	size_t n = 0;
	bool gap = false, full = false;
	struct timespec t0, t1;
	int ret;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	ret = store_replaced(fs);
	if (ret < 0)
		return ret;
	force_full = force_full || ret;
	c.store_gen = mf_conns_gen(fs->conns);
	if (mf_store_data_version(fs->poll_store, &dv) < 0)
		return -EIO;
	if (dv == fs->data_version && !force_full)
		return 0;
	if (mf_store_snapshot_begin(fs->poll_store) < 0)
		return -EIO;
	ret = mf_store_changes_since(fs->poll_store, fs->watermark, &ids, &n,
				     &gap, &head);
	if (ret < 0)
		goto out_end;
	fs->data_version = dv;
	if (!gap && !force_full && n == 0) {
		fs->watermark = head;	/* a commit that changed no track */
		goto out_end;
	}
	/* the refresh thread is the only writer: it reads the tree unlocked */
	full = gap || force_full ||
	       n > (mf_tree_nfiles(fs->tree) / 4 > MF_FULL_SCAN_MIN ?
		    mf_tree_nfiles(fs->tree) / 4 : MF_FULL_SCAN_MIN);
	if (full) {
		ret = render_full(fs->render, fs->tree, &c);
	} else {
		for (size_t i = 0; i < n && !ret; i++) {
			char *path = NULL;
			int64_t cv = 0;

			ret = mf_render_one(fs->render, ids[i], &path, &cv);
			if (!ret)
				ret = changes_add(&c, ids[i], path, cv);
			free(path);
		}
	}
out_end:
	mf_store_snapshot_end(fs->poll_store);
	if (ret < 0 || !c.n)
		goto out;
	/* before the patch: see fill_file_attr() */
	mf_cache_invalidate(fs->cache);
	pthread_rwlock_wrlock(&fs->tree_lock);
	ret = mf_tree_apply(fs->tree, c.v, c.n, mf_fs_now_ns(), queue_inval,
			    fs);
	pthread_rwlock_unlock(&fs->tree_lock);
	if (full)
		mf_cache_drop(fs->cache, NULL, 0);
	else
		mf_cache_drop(fs->cache, ids, n);
	post_invals(fs);
	if (ret < 0) {
		mf_warn("mount", "cannot patch the tree: %s; a full rebuild "
			"follows", strerror(-ret));
		goto out;
	}
	mf_info("mount", "refreshed: %zu changed track(s)%s, changelog at %lld",
		c.n, full ? " (full rescan)" : "", (long long)head);
	fs->watermark = head;
	mf_refresh_backing_total(fs);	/* backing sizes may have changed */
	clock_gettime(CLOCK_MONOTONIC, &t1);
	mf_metric_inc(MF_M_REFRESHES);
	mf_metric_inc(full ? MF_M_REBUILDS_FULL : MF_M_REBUILDS_INCR);
	mf_metric_set(MF_M_REFRESH_LAST_NS, mf_store_ns(&t1) - mf_store_ns(&t0));
out:
	if (head)
		mf_metrics_changelog(head, fs->watermark);
	changes_release(&c);
	free(ids);
	return ret;
}

void *mf_refresh_main(void *arg)
{
	struct mf_fs *fs = arg;
	bool force_full = false;

	while (!atomic_load(&fs->stop)) {
		struct timespec ts;
		uint64_t seq;
		int ret;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += fs->cfg.poll_ms / 1000;
		ts.tv_nsec += (long)(fs->cfg.poll_ms % 1000) * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_mutex_lock(&fs->wake_lock);
		while (!atomic_load(&fs->stop) && !fs->refresh_wanted &&
		       pthread_cond_timedwait(&fs->wake_cond, &fs->wake_lock,
					      &ts) == 0)
			;
		fs->refresh_wanted = false;
		seq = ++fs->refresh_begun;
		pthread_mutex_unlock(&fs->wake_lock);
		if (atomic_load(&fs->stop))
			break;
		ret = refresh_once(fs, force_full);
		pthread_mutex_lock(&fs->wake_lock);
		fs->refresh_ended = seq;
		pthread_cond_broadcast(&fs->ended_cond);
		pthread_mutex_unlock(&fs->wake_lock);
		force_full = ret == -ENOMEM;
		if (ret < 0)
			mf_warn("mount", "refresh failed; retrying in %u ms",
				fs->cfg.poll_ms);
	}
	return NULL;
}

void mf_refresh_backing_total(struct mf_fs *fs)
{
	uint64_t b;

	if (mf_store_backing_total(fs->poll_store, &b) == 0)
		atomic_store(&fs->backing_bytes, b);
}

/*---- the first build ------------------------------------------------*/

int mf_refresh_build(const struct mf_fs_config *cfg, struct mf_store **s,
		     struct mf_render **r, struct mf_tree **t, int64_t *head,
		     char *err, size_t errlen)
{
	struct changes c = { 0 };
	bool gap;
	int ret;

	ret = mf_store_open(cfg->db_path, MF_STORE_READONLY, s, err, errlen);
	if (ret < 0)
		return ret;
	ret = mf_render_new(*s, cfg->tmpl, &cfg->topts, r);
	if (!ret) {
		*t = mf_tree_new(cfg->casefold);
		if (!*t)
			ret = -ENOMEM;
	}
	if (!ret)
		ret = mf_store_snapshot_begin(*s);
	if (!ret) {
		/* the head inside the snapshot, so no change is missed */
		ret = mf_store_changes_since(*s, INT64_MAX, NULL, NULL, &gap,
					     head);
		if (!ret)
			ret = render_full(*r, NULL, &c);
		mf_store_snapshot_end(*s);
	}
	if (!ret)
		ret = mf_tree_apply(*t, c.v, c.n, 0, NULL, NULL);
	if (ret < 0)
		snprintf(err, errlen, "cannot build the tree from '%s': %s",
			 cfg->db_path, strerror(-ret));
	changes_release(&c);
	return ret;
}

/*---- requests waiting for a refresh -----------------------------------*/

bool mf_refresh_wait(struct mf_fs *fs)
{
	struct timespec ts;
	uint64_t target;
	bool done;

	if (!atomic_load(&fs->refresh_running))
		return false;
	mf_metric_inc(MF_M_STALE_WAITS);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += MF_STALE_WAIT_S;
	pthread_mutex_lock(&fs->wake_lock);
	target = fs->refresh_begun + 1;
	fs->refresh_wanted = true;
	pthread_cond_signal(&fs->wake_cond);
	while (fs->refresh_ended < target && !atomic_load(&fs->stop) &&
	       pthread_cond_timedwait(&fs->ended_cond, &fs->wake_lock,
				      &ts) == 0)
		;
	done = fs->refresh_ended >= target;
	pthread_mutex_unlock(&fs->wake_lock);
	return done;
}
