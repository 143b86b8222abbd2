/* SPDX-License-Identifier: MIT */
/*
 * mf_fs_int - what the parts of musefs-mount's file system share, private
 * to mount/ (as SQLite's sqliteInt.h): the state of one mount and the
 * calls between its jobs. mf_fs.c holds the FUSE handlers and the life
 * cycle, mf_refresh.c the refresh and notifier threads, mf_dryrun.c
 * --dry-run; the layout cache is mf_cache.c, the per-thread connections
 * mf_conn.c.
 *
 * Lock order: tree_lock before the cache's lock (mf_cache.c). No lock is
 * held across a fuse_reply_* call or a kernel notification. The refresh
 * thread is the only writer of the tree: it reads it without the lock and
 * takes the write side only to patch it.
 */
#ifndef MF_FS_INT_H
#define MF_FS_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "mf_cache.h"
#include "mf_conn.h"
#include "mf_fs.h"
#include "mf_render.h"
#include "mf_store.h"
#include "mf_tree.h"

struct handle;

/* The no-open model's inode-keyed handle cache: slots (a power of two). */
#define MF_INO_HANDLES 512

/* One invalidation queued by a tree patch, sent after the lock is gone. */
struct inval {
	uint64_t ino;
	char *name;			/* NULL: the inode itself */
};

struct mf_fs {
	struct mf_fs_config cfg;	/* immutable after mf_fs_new */
	struct timespec started;	/* root times; immutable */
	bool no_opendir;		/* set in init, before any request */
	bool no_open;			/* set in init: OPEN answers ENOSYS */
	/* the no-open model's backing files, by inode (ino_handle_get()) */
	pthread_mutex_t fd_lock;
	struct handle *ino_handles[MF_INO_HANDLES];	/* guarded by fd_lock */

	pthread_rwlock_t tree_lock;	/* writer-preferring */
	struct mf_tree *tree;		/* guarded by tree_lock */

	struct mf_store *poll_store;	/* refresh thread (or mf_fs_new) only */
	struct mf_render *render;	/* refresh thread (or mf_fs_new) only */
	int64_t watermark;		/* refresh thread only */
	int64_t data_version;		/* refresh thread only */
	struct inval *invals;		/* refresh thread only */
	size_t ninvals, invals_cap;	/* refresh thread only */
	/* invalidations handed to the notifier thread: never sent from a
	 * request handler or the refresh thread, since the kernel may wait
	 * for requests in flight (a lookup holds its directory's lock while
	 * it waits for the refresh) before it invalidates */
	pthread_mutex_t notify_lock;
	pthread_cond_t notify_cond;	/* work queued, or stop */
	struct inval *nq;		/* guarded by notify_lock */
	size_t nq_n, nq_cap;		/* guarded by notify_lock */
	pthread_t notify_thread;
	bool notify_running;		/* guarded by notify_lock; owner writes */

	struct mf_cache *cache;		/* thread-safe */

	/* the served files' backing bytes, summed by the refresh thread (or
	 * mf_fs_new) after every applied refresh: no request reads the
	 * store for a statfs */
	_Atomic uint64_t backing_bytes;	/* atomic */
	pthread_mutex_t statfs_lock;
	uint64_t host_avail;		/* guarded by statfs_lock; bytes */
	time_t host_at;			/* guarded by statfs_lock; 0: stale */

	/* per-thread read-only connections; their generation is bumped when
	 * the store file is replaced (a restored backup, a replica moved in):
	 * connections and layouts of an older one are not used again */
	struct mf_conns *conns;		/* thread-safe */
	dev_t store_dev;		/* refresh thread (or mf_fs_new) only */
	ino_t store_ino;		/* refresh thread (or mf_fs_new) only */
	bool store_gone;		/* refresh thread only: logged once */

	/* open handles, freed by mf_fs_free() if the kernel never released
	 * them (a signal ended the session with files open) */
	pthread_mutex_t handles_lock;
	struct handle *handles;		/* guarded by handles_lock */

	struct fuse_session *se;	/* set before the refresh thread starts */
	pthread_t refresh_thread;
	/* atomic: the refresh thread runs (written by the owner thread,
	 * read by wait_refresh()) */
	_Atomic bool refresh_running;
	/* the refresh thread sleeps on wake_cond between polls; a request
	 * that finds the store ahead of its node (wait_refresh()) wakes it
	 * and waits on ended_cond for a refresh that began after it asked */
	pthread_mutex_t wake_lock;
	pthread_cond_t wake_cond;	/* mf_fs_stop, wait_refresh */
	pthread_cond_t ended_cond;	/* a refresh ended, or stop */
	bool refresh_wanted;		/* guarded by wake_lock */
	uint64_t refresh_begun;		/* guarded by wake_lock */
	uint64_t refresh_ended;		/* guarded by wake_lock */
	_Atomic bool stop;		/* atomic */
};

static inline int64_t mf_fs_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return mf_store_ns(&ts);
}

/*---- mf_refresh.c ----------------------------------------------------*/

/*
 * Open @cfg's store (read-only) and renderer and build a tree of every
 * track in one read snapshot; *@head: the changelog head inside it.
 * Returns 0 with *@s, *@r, *@t set (the caller frees them), or a negative
 * errno with @err (@errlen bytes) saying why.
 */
int mf_refresh_build(const struct mf_fs_config *cfg, struct mf_store **s,
		     struct mf_render **r, struct mf_tree **t, int64_t *head,
		     char *err, size_t errlen);

/* Sum the served files' backing bytes into fs->backing_bytes (the
 * refresh thread, or mf_fs_new() before it starts). */
void mf_refresh_backing_total(struct mf_fs *fs);

/* The refresh thread (pthread start routine; @arg: the struct mf_fs):
 * polls the store every cfg.poll_ms or when woken, until fs->stop. */
void *mf_refresh_main(void *arg);

/* The notifier thread: sends the queued kernel invalidations (fs->nq),
 * never from a request handler or the refresh thread, until fs->stop. */
void *mf_notify_main(void *arg);

#endif /* MF_FS_INT_H */
