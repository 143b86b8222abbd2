/* SPDX-License-Identifier: MIT */
/*
 * mf_loop - the multithreaded FUSE session loop (see mf_loop.h).
 *
 * Roles. Every worker is, at any time, one of: the reader (the one
 * thread allowed to call fuse_session_receive_buf(); it handles what it
 * reads itself), the watcher (an idle worker that ticks while requests
 * flow and takes the reader role over from a reader stuck on one
 * request), a demoted worker still finishing the request it was stuck
 * on, or an idle follower waiting on idle_cond. lp->reader and
 * lp->have_watcher say who holds the two roles.
 *
 * The reader publishes its progress in one atomic word, lp->state:
 * bit 0 (BUSY) is set while it handles a request and the rest counts the
 * requests read (never decreases, so no ABA). The reader sets BUSY with
 * a plain store and clears it with a compare-and-swap; the watcher takes
 * over with a compare-and-swap from the BUSY value it saw one tick
 * earlier to the next count without BUSY. Exactly one of the two
 * succeeds: a reader whose swap fails has been demoted and never reads
 * again; one whose swap succeeds keeps reading.
 *
 * clone_fd: libfuse's mt loop gives each worker its own cloned
 * /dev/fuse descriptor so that many concurrent readers do not contend on
 * one processing queue. With one reader at a time there is no such
 * contention, and the public API (fuse_session_receive_buf() and
 * fuse_session_process_buf(), which reply through the session's
 * descriptor) cannot read from a clone anyway: a reply must go to the
 * descriptor the request was read from. So this loop uses the session's
 * descriptor only.
 *
 * Exit. SIGINT/SIGTERM/SIGHUP run libfuse's handler (fuse_session_exit())
 * in the main thread, the only thread that does not block them, while it
 * waits in ppoll(). A reader that sees the session end (ENODEV on
 * unmount) sends the main thread MF_LOOP_KICK. The main thread then wakes
 * the idle workers and interrupts the reader's read() with MF_LOOP_KICK
 * (a handler without SA_RESTART, so read() fails with EINTR), again every
 * 10 ms until all workers are gone: a kick that lands just before the
 * read() starts is not lost for good.
 */
#include "mf_loop.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mf_log.h"
#include "mf_banned.h"

#define MF_LOOP_KICK SIGRTMIN

/* The watcher's tick (ns): the longest one request may hold the reader. */
#define TICK_NS 1000000L

/* Quiet ticks (no request read) before the watcher parks. */
#define PARK_TICKS 50u

/* How often the main thread repeats its kick on the way out (ns). */
#define KICK_NS 10000000L

#define BUSY UINT64_C(1)
#define COUNT_ONE UINT64_C(2)

struct worker {
	pthread_t tid;			/* set before the thread runs */
	struct mf_loop *lp;		/* immutable */
	struct fuse_buf buf;		/* the worker's own request buffer */
	_Atomic bool in_read;		/* atomic: in fuse_session_receive_buf */
};

struct mf_loop {
	struct fuse_session *se;	/* immutable */
	unsigned max_threads;		/* immutable */
	bool batch;			/* immutable */
	pthread_t main_tid;		/* immutable */

	pthread_mutex_t lock;
	pthread_cond_t idle_cond;	/* followers wait here */
	pthread_cond_t watch_cond;	/* the watcher waits here */
	pthread_cond_t exit_cond;	/* the main thread waits for nlive 0 */
	struct worker *workers;		/* [max_threads]; slots < nstarted
					   guarded by lock */
	unsigned nstarted;		/* guarded by lock; never decreases */
	unsigned nlive;			/* guarded by lock */
	unsigned nidle;			/* guarded by lock */
	struct worker *reader;		/* guarded by lock */
	bool have_watcher;		/* guarded by lock */
	bool stopping;			/* guarded by lock */
	int error;			/* guarded by lock; first failure */
	unsigned long ticks, takeovers, parks;	/* guarded by lock */

	_Atomic uint64_t state;		/* atomic: request count | BUSY */
	_Atomic bool parked;		/* atomic; set, and cleared by the
					   reader, under lock */
};

static void kick_handler(int sig)
{
	(void)sig;	/* only there to make a blocking call fail with EINTR */
}

static void term_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGQUIT);
}

int mf_loop_batch_self(void)
{
	struct sched_param sp = { .sched_priority = 0 };

	/* on Linux this applies to the calling thread only */
	if (sched_setscheduler(0, SCHED_BATCH, &sp) < 0)
		return -errno;
	return 0;
}

/* An absolute CLOCK_MONOTONIC time @ns from now. */
static struct timespec deadline(long ns)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_nsec += ns;
	while (ts.tv_nsec >= 1000000000L) {
		ts.tv_nsec -= 1000000000L;
		ts.tv_sec++;
	}
	return ts;
}

static void *worker_main(void *arg);

/* Start one more worker; lock held. Returns 0 or a negative errno. */
static int spawn_locked(struct mf_loop *lp)
{
	struct worker *w;
	int r;

	if (lp->nstarted >= lp->max_threads)
		return -EAGAIN;
	w = &lp->workers[lp->nstarted];
	memset(w, 0, sizeof(*w));
	w->lp = lp;
	atomic_init(&w->in_read, false);
	r = pthread_create(&w->tid, NULL, worker_main, w);
	if (r != 0)
		return -r;
	lp->nstarted++;
	lp->nlive++;
	return 0;
}

/* Find a new watcher after the watcher became the reader; lock held. */
static void replace_watcher_locked(struct mf_loop *lp)
{
	int r;

	if (lp->nidle) {
		pthread_cond_signal(&lp->idle_cond);
		return;
	}
	if (lp->nstarted >= lp->max_threads)
		return;	/* all busy: a worker that finishes watches */
	r = spawn_locked(lp);
	if (r < 0)
		mf_warn("mount", "cannot start a FUSE worker: %s", strerror(-r));
}

/* Record the end of the session; lock held. */
static void stop_locked(struct mf_loop *lp, int err)
{
	if (err < 0 && !lp->error)
		lp->error = err;
	if (!lp->stopping) {
		lp->stopping = true;
		fuse_session_exit(lp->se);
		if (!pthread_equal(pthread_self(), lp->main_tid))
			pthread_kill(lp->main_tid, MF_LOOP_KICK);
	}
	pthread_cond_broadcast(&lp->idle_cond);
	pthread_cond_broadcast(&lp->watch_cond);
}

static void wake_watcher(struct mf_loop *lp)
{
	pthread_mutex_lock(&lp->lock);
	if (atomic_load(&lp->parked)) {
		atomic_store(&lp->parked, false);
		pthread_cond_signal(&lp->watch_cond);
	}
	pthread_mutex_unlock(&lp->lock);
}

/*
 * The reader's loop, without the lock. Returns 0 when the watcher took
 * the reader role over (this thread must not read again), 1 when the
 * session ended, or a negative errno (a failed read of /dev/fuse).
 */
static int serve(struct mf_loop *lp, struct worker *w)
{
	for (;;) {
		uint64_t busy;
		int res;

		if (fuse_session_exited(lp->se))
			return 1;
		atomic_store(&w->in_read, true);
		res = fuse_session_receive_buf(lp->se, &w->buf);
		atomic_store(&w->in_read, false);
		if (res == -EINTR || res == -EAGAIN)
			continue;
		if (res == 0)
			return 1;	/* unmounted, or fuse_session_exit() */
		if (res < 0)
			return res;
		busy = ((atomic_load(&lp->state) | BUSY) + COUNT_ONE);
		atomic_store(&lp->state, busy);
		if (atomic_load(&lp->parked))
			wake_watcher(lp);
		fuse_session_process_buf(lp->se, &w->buf);
		if (!atomic_compare_exchange_strong(&lp->state, &busy,
						    busy & ~BUSY))
			return 0;	/* demoted while handling it */
	}
}

/*
 * The watcher's loop; lock held on entry and on return. Returns when the
 * session stops or after taking the reader role over.
 */
static void watch_locked(struct mf_loop *lp, struct worker *w)
{
	uint64_t last = atomic_load(&lp->state);
	unsigned quiet = 0;

	lp->have_watcher = true;
	while (!lp->stopping) {
		struct timespec dl = deadline(TICK_NS);
		uint64_t s;

		pthread_cond_timedwait(&lp->watch_cond, &lp->lock, &dl);
		if (lp->stopping)
			break;
		lp->ticks++;
		s = atomic_load(&lp->state);
		if ((s & BUSY) && s == last &&
		    atomic_compare_exchange_strong(&lp->state, &s,
						   (s & ~BUSY) + COUNT_ONE)) {
			/* one request has held the reader for a tick */
			lp->reader = w;
			lp->takeovers++;
			lp->have_watcher = false;
			replace_watcher_locked(lp);
			return;
		}
		quiet = s == last ? quiet + 1 : 0;
		last = s;
		if (quiet < PARK_TICKS)
			continue;
		/* idle: sleep until the reader reads a request */
		atomic_store(&lp->parked, true);
		lp->parks++;
		while (atomic_load(&lp->parked) && !lp->stopping &&
		       atomic_load(&lp->state) == last)
			pthread_cond_wait(&lp->watch_cond, &lp->lock);
		atomic_store(&lp->parked, false);
		quiet = 0;
		last = atomic_load(&lp->state);
	}
	lp->have_watcher = false;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	struct mf_loop *lp = w->lp;
	sigset_t set;

	term_signals(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	sigemptyset(&set);
	sigaddset(&set, MF_LOOP_KICK);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	if (lp->batch) {
		int r = mf_loop_batch_self();

		if (r < 0)
			mf_debug("mount", "cannot use SCHED_BATCH: %s",
			       strerror(-r));
	}

	pthread_mutex_lock(&lp->lock);
	while (!lp->stopping) {
		if (!lp->reader)
			lp->reader = w;
		if (lp->reader == w) {
			int r;

			pthread_mutex_unlock(&lp->lock);
			r = serve(lp, w);
			pthread_mutex_lock(&lp->lock);
			if (r != 0)
				stop_locked(lp, r < 0 ? r : 0);
			continue;
		}
		if (!lp->have_watcher) {
			watch_locked(lp, w);
			continue;
		}
		lp->nidle++;
		pthread_cond_wait(&lp->idle_cond, &lp->lock);
		lp->nidle--;
	}
	lp->nlive--;
	pthread_cond_signal(&lp->exit_cond);
	pthread_mutex_unlock(&lp->lock);
	free(w->buf.mem);	/* allocated by fuse_session_receive_buf */
	w->buf.mem = NULL;
	return NULL;
}

static int cond_init_mono(pthread_cond_t *c)
{
	pthread_condattr_t at;
	int r;

	r = pthread_condattr_init(&at);
	if (r)
		return -r;
	r = pthread_condattr_setclock(&at, CLOCK_MONOTONIC);
	if (!r)
		r = pthread_cond_init(c, &at);
	pthread_condattr_destroy(&at);
	return -r;
}

int mf_loop_run(struct fuse_session *se, const struct mf_loop_config *cfg)
{
	struct mf_loop lp;
	struct sigaction sa;
	sigset_t block, orig, waitmask;
	int ret = 0;

	if (!se || !cfg || cfg->max_threads < 2 ||
	    cfg->max_threads > MF_LOOP_MAX_THREADS)
		return -EINVAL;
	memset(&lp, 0, sizeof(lp));
	lp.se = se;
	lp.max_threads = cfg->max_threads;
	lp.batch = cfg->batch;
	lp.main_tid = pthread_self();
	atomic_init(&lp.state, 0);
	atomic_init(&lp.parked, false);
	lp.workers = calloc(cfg->max_threads, sizeof(*lp.workers));
	if (!lp.workers)
		return -ENOMEM;
	pthread_mutex_init(&lp.lock, NULL);
	pthread_cond_init(&lp.idle_cond, NULL);
	if ((ret = cond_init_mono(&lp.watch_cond)) < 0) {
		pthread_cond_destroy(&lp.idle_cond);
		goto out_lock;
	}
	if ((ret = cond_init_mono(&lp.exit_cond)) < 0)
		goto out_watch;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kick_handler;	/* no SA_RESTART: read() gets EINTR */
	sigemptyset(&sa.sa_mask);
	sigaction(MF_LOOP_KICK, &sa, NULL);
	/* workers inherit this mask; the main thread opens it in ppoll() */
	term_signals(&block);
	sigaddset(&block, MF_LOOP_KICK);
	pthread_sigmask(SIG_BLOCK, &block, &orig);
	waitmask = orig;
	sigdelset(&waitmask, SIGINT);
	sigdelset(&waitmask, SIGTERM);
	sigdelset(&waitmask, SIGHUP);
	sigdelset(&waitmask, SIGQUIT);
	sigdelset(&waitmask, MF_LOOP_KICK);

	pthread_mutex_lock(&lp.lock);
	ret = spawn_locked(&lp);	/* the first reader */
	if (ret < 0) {
		mf_err("mount", "cannot start a FUSE worker: %s", strerror(-ret));
		pthread_mutex_unlock(&lp.lock);
		goto out_mask;
	}
	if (spawn_locked(&lp) < 0)	/* the first watcher; later is fine */
		mf_warn("mount", "cannot start a second FUSE worker");
	for (;;) {
		struct timespec second = { .tv_sec = 1 };

		if (lp.stopping || fuse_session_exited(se))
			break;
		pthread_mutex_unlock(&lp.lock);
		/* the 1 s timeout only guards against a signal taken by a
		 * thread that does not block it (not one of ours) */
		ppoll(NULL, 0, &second, &waitmask);
		pthread_mutex_lock(&lp.lock);
	}
	stop_locked(&lp, 0);
	while (lp.nlive) {
		struct timespec dl = deadline(KICK_NS);

		for (unsigned i = 0; i < lp.nstarted; i++)
			if (atomic_load(&lp.workers[i].in_read))
				pthread_kill(lp.workers[i].tid, MF_LOOP_KICK);
		pthread_cond_timedwait(&lp.exit_cond, &lp.lock, &dl);
	}
	ret = lp.error;
	mf_debug("mount", "FUSE loop: %u workers, %lu watcher ticks, %lu "
		 "takeovers, %lu parks", lp.nstarted, lp.ticks, lp.takeovers,
		 lp.parks);
	pthread_mutex_unlock(&lp.lock);
	for (unsigned i = 0; i < lp.nstarted; i++)
		pthread_join(lp.workers[i].tid, NULL);
out_mask:
	/* a kick still pending meets kick_handler, which stays installed */
	pthread_sigmask(SIG_SETMASK, &orig, NULL);
	pthread_cond_destroy(&lp.exit_cond);
out_watch:
	pthread_cond_destroy(&lp.watch_cond);
	pthread_cond_destroy(&lp.idle_cond);
out_lock:
	pthread_mutex_destroy(&lp.lock);
	free(lp.workers);
	return ret;
}
