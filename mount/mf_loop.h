/* SPDX-License-Identifier: MIT */
/*
 * mf_loop - the multithreaded FUSE session loop of musefs-mount.
 *
 * libfuse's fuse_session_loop_mt() keeps every idle worker blocked in
 * read(/dev/fuse): two requests queued close together (the asynchronous
 * RELEASE of one file, the OPEN of the next) wake two threads, and the
 * first usually handles both while the second wakes for nothing. On
 * machines where a context switch costs more than the request, that is
 * most of the daemon's time. Here at most one thread (the reader) waits
 * in read(/dev/fuse) and handles what it reads itself, so a request wakes
 * one thread and a burst is drained by the thread that is already awake.
 *
 * A request that blocks (a backing file on slow or network storage, a
 * store query on a layout cache miss, a lock) must not stall the others:
 * one idle worker, the watcher, looks at the reader every tick (1 ms)
 * while requests flow, and when the reader has spent a whole tick on one
 * request it takes the reader role over (leader/follower); the blocked
 * thread joins the idle workers when its request is done. The watcher
 * parks (no ticks) after 50 quiet ticks and the reader wakes it with the
 * next request. Threads are created on demand up to a bound and reused
 * until the session ends.
 */
#ifndef MF_LOOP_H
#define MF_LOOP_H

#include "mf_fs.h"	/* FUSE_USE_VERSION, fuse_lowlevel.h */

#include <stdbool.h>

/* Most worker threads accepted by mf_loop_run(). */
#define MF_LOOP_MAX_THREADS 64

struct mf_loop_config {
	unsigned max_threads;	/* workers at most, 2..MF_LOOP_MAX_THREADS */
	bool batch;		/* run the workers as SCHED_BATCH */
};

/*
 * Serve @se (mounted, with fuse_set_signal_handlers() done) until it
 * ends: unmounted (the kernel's ENODEV), or fuse_session_exit() from
 * SIGINT, SIGTERM or SIGHUP. Call from the main thread; it waits for
 * those signals (which the workers, and the threads they create, block)
 * and returns once every worker has finished its request and been
 * joined. Requests already answered stay answered; the caller unmounts.
 *
 * Uses the real-time signal SIGRTMIN to interrupt the reader's read() on
 * the way out: installs a handler that does nothing, and leaves it
 * installed. Returns 0 (the session ended), -EINVAL (bad @cfg), the
 * negative errno of pthread_create() when not even one worker starts, or
 * the negative errno of a failed read of /dev/fuse. Not reentrant: one
 * loop per process at a time.
 */
int mf_loop_run(struct fuse_session *se, const struct mf_loop_config *cfg);

/*
 * Make the calling thread SCHED_BATCH (sched(7)): a wake-up does not
 * preempt the running task, so the daemon answering a request does not
 * interrupt the client that asked until that client sleeps or its slice
 * ends. Returns 0 or a negative errno (sched_setscheduler()).
 */
int mf_loop_batch_self(void);

#endif
