/* SPDX-License-Identifier: MIT */
/*
 * mf_fs_int - what the parts of musefs-mount's file system share, private
 * to mount/ (as SQLite's sqliteInt.h): the state of one mount and the
 * calls between its jobs. mf_fs.c holds the FUSE handlers and the life
 * cycle, mf_handle.c the file handles, mf_refresh.c the refresh and
 * notifier threads, mf_dryrun.c --dry-run; the layout cache is
 * mf_cache.c, the per-thread connections mf_conn.c.
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

/* An open file handle: one version of one inode (the node's version). */
struct handle {
	int fd;				/* the backing file */
	struct mf_served *sv;		/* one reference */
	fuse_ino_t ino;			/* immutable */
	uint64_t gen;			/* immutable: the node's generation */
	_Atomic int refs;		/* atomic: open model 1, else cache + reads */
	struct handle *prev, *next;	/* fs->handles; guarded by handles_lock */
};

/* What a handler needs of a node, copied out under tree_lock. */
struct node_copy {
	fuse_ino_t ino;
	uint64_t gen;
	uint64_t version;	/* files: what the node serves */
	bool live;		/* in the tree (else an orphan the kernel holds) */
	bool is_dir;
	bool have_attr;		/* files: size and mtime below are cached */
	int64_t track;
	size_t nsubdir;
	int64_t mtime_ns;
	uint64_t size;
};

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

/*---- mf_fs.c ---------------------------------------------------------*/

/*
 * Copy node @ino (live, or an orphan the kernel still holds) or, with
 * @name, the live entry @name of directory @ino into *@c under tree_lock;
 * with @ref, count one kernel reference to it. Returns 0 or ENOENT.
 */
int mf_fs_find_node(struct mf_fs *fs, fuse_ino_t ino, const char *name,
		    bool ref, struct node_copy *c);

/*---- mf_handle.c -----------------------------------------------------*/

/*
 * A handle on inode @ino: its served state and its backing file, opened
 * confined and checked against the scan's stamp. Returns 0 and sets *@out
 * (one reference, mf_handle_put()), or a positive errno for the reply:
 * ENOENT, EISDIR, EIO (store error, confinement, drift), ENOMEM, ESTALE
 * when the store no longer has the version the inode serves (after waiting
 * for the refresh when the node is still live, so that the VFS's retry
 * with LOOKUP_REVAL finds the new node). Thread-safe.
 */
int mf_handle_make(struct mf_fs *fs, fuse_ino_t ino, struct handle **out);

/* Drop one reference to @h (NULL: no-op); the last one closes its file
 * and frees it. Thread-safe (atomic). */
void mf_handle_put(struct handle *h);

/* The open model: list @h in fs->handles (handles_lock), so that
 * mf_fs_free() closes it if the kernel never releases it. */
void mf_handle_link(struct mf_fs *fs, struct handle *h);

/* Unlist @h and drop the list's reference (mf_handle_put()). */
void mf_handle_free(struct mf_fs *fs, struct handle *h);

/*
 * Does @h's backing file still have the stamp of the scan (fstat: size,
 * mtime, ctime)? Logs and counts MF_M_ERR_DRIFT when not. Every read
 * asks, so drift gives EIO, never mixed bytes.
 */
bool mf_handle_fresh(const struct handle *h);

/*
 * The no-open model: the handle a read of @ino uses, from the bounded
 * inode-keyed cache (direct-mapped, MF_INO_HANDLES slots, fd_lock), made
 * anew when missing or when the inode number now names another node (a
 * reused slot). An orphan's handle goes on serving its version; once
 * evicted, reads of the orphan get ESTALE. Returns 0 and a reference in
 * *@out, or a positive errno as mf_handle_make().
 */
int mf_handle_by_ino(struct mf_fs *fs, fuse_ino_t ino, struct handle **out);

/* Close every cached no-open handle (a replaced store, the end). */
void mf_handles_drop_ino(struct mf_fs *fs);

/*---- mf_refresh.c ----------------------------------------------------*/

/*
 * The store is ahead of the tree: a request found a newer version of a
 * track than its live node serves (the refresh has not run since the
 * commit). Wake the refresh thread and wait, at most 5 s, for a refresh
 * that began after this call to end. Returns whether one did (then the
 * track's new node is in the tree). Blocks the calling worker.
 */
bool mf_refresh_wait(struct mf_fs *fs);


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
