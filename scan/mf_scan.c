/* SPDX-License-Identifier: MIT */
/*
 * mf_scan - mf_scan_run(): the walker (this thread), the pipeline set-up
 * and tear-down, and the scan_runs record. Probe workers live in
 * mf_scan_probe.c, the writer in mf_scan_write.c, pruning and store
 * hygiene in mf_scan_prune.c.
 *
 * Divisions, in order: visited set; ignore frames; walker; progress;
 * run record; mf_scan_run().
 */
#include "mf_scan.h"

#include <dirent.h>
#include <errno.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mf_format.h"
#include "mf_ignore.h"
#include "mf_log.h"
#include "mf_queue.h"
#include "mf_scan_int.h"
#include "mf_store_scan.h"
#include "mf_banned.h"

#define JOBS_QUEUE 256
#define RESULTS_QUEUE 64
#define IGNORE_FILE ".musefsignore"
#define IGNORE_MAX_BYTES (1u << 20)

double scan_elapsed_ms(const struct timespec *since)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - since->tv_sec) * 1e3 +
	       (double)(now.tv_nsec - since->tv_nsec) / 1e6;
}

/*---- visited set: (dev, ino) of what --follow-symlinks reached -------*/

struct visited {
	struct { uint64_t dev, ino; } *slots;	/* ino 0 = empty */
	size_t cap, n;				/* cap: power of two */
};

static size_t visited_hash(uint64_t dev, uint64_t ino, size_t cap)
{
	uint64_t h = (dev * 0x9e3779b97f4a7c15ull) ^ (ino * 0xff51afd7ed558ccdull);

	return (size_t)(h ^ (h >> 29)) & (cap - 1);
}

/* Add (dev, ino); returns 1 if it was new, 0 if already there, -ENOMEM. */
static int visited_add(struct visited **vp, uint64_t dev, uint64_t ino)
{
	struct visited *v = *vp;
	size_t j;

	if (!v) {
		v = calloc(1, sizeof(*v));
		if (!v)
			return -ENOMEM;
		*vp = v;
	}
	if ((v->n + 1) * 2 > v->cap) {
		size_t ncap = v->cap ? v->cap * 2 : 256;
		__typeof__(v->slots) ns = calloc(ncap, sizeof(*ns));

		if (!ns)
			return -ENOMEM;
		for (size_t i = 0; i < v->cap; i++) {
			if (!v->slots[i].ino)
				continue;
			j = visited_hash(v->slots[i].dev, v->slots[i].ino, ncap);
			while (ns[j].ino)
				j = (j + 1) & (ncap - 1);
			ns[j] = v->slots[i];
		}
		free(v->slots);
		v->slots = ns;
		v->cap = ncap;
	}
	ino += !ino;	/* keep 0 as the empty mark */
	j = visited_hash(dev, ino, v->cap);
	while (v->slots[j].ino) {
		if (v->slots[j].dev == dev && v->slots[j].ino == ino)
			return 0;
		j = (j + 1) & (v->cap - 1);
	}
	v->slots[j].dev = dev;
	v->slots[j].ino = ino;
	v->n++;
	return 1;
}

static void visited_free(struct visited *v)
{
	if (v)
		free(v->slots);
	free(v);
}

/*---- ignore frames ---------------------------------------------------*/

/* Push the .musefsignore of the directory open as @dfd (path length @len). */
static void push_ignore_file(struct scan *sc, int dfd, size_t len)
{
	struct mf_ignore *ig = NULL;
	char *buf;
	ssize_t n;
	int fd, ret;

	fd = openat(dfd, IGNORE_FILE, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return;
	buf = malloc(IGNORE_MAX_BYTES);
	n = buf ? read(fd, buf, IGNORE_MAX_BYTES) : -1;
	close(fd);
	if (n < 0) {
		mf_warn("scan", "'%.*s/%s': cannot read: %s", (int)len, sc->path,
			IGNORE_FILE, strerror(errno));
		free(buf);
		return;
	}
	ret = mf_ignore_add(&ig, buf, (size_t)n);
	free(buf);
	if (ret < 0) {
		mf_warn("scan", "'%.*s/%s': not used: %s", (int)len, sc->path,
			IGNORE_FILE, strerror(-ret));
		return;
	}
	if (!ig)
		return;
	if (sc->nframes >= sizeof(sc->frames) / sizeof(sc->frames[0])) {
		mf_ignore_free(ig);
		return;
	}
	sc->frames[sc->nframes].ig = ig;
	sc->frames[sc->nframes].dirlen = len;
	sc->nframes++;
}

static void pop_frames(struct scan *sc, size_t keep)
{
	while (sc->nframes > keep) {
		sc->nframes--;
		if (sc->frames[sc->nframes].ig != sc->excludes)
			mf_ignore_free(sc->frames[sc->nframes].ig);
		sc->frames[sc->nframes].ig = NULL;
	}
}

/* Is sc->path excluded by the frames in force? Deeper frames win. */
static bool ignored(const struct scan *sc, bool is_dir)
{
	enum mf_ignore_verdict v = MF_IGNORE_NONE;

	for (size_t k = 0; k < sc->nframes; k++) {
		enum mf_ignore_verdict r = mf_ignore_match(
			sc->frames[k].ig, sc->path + sc->frames[k].dirlen + 1,
			is_dir);

		if (r != MF_IGNORE_NONE)
			v = r;
	}
	return v == MF_IGNORE_EXCLUDE;
}

/*---- walker ----------------------------------------------------------*/

static bool same_stamp(const struct stamp *e, const struct stat *sb)
{
	return e->size == (int64_t)sb->st_size &&
	       e->mtime_ns == mf_store_ns(&sb->st_mtim) &&
	       e->ctime_ns == mf_store_ns(&sb->st_ctim);
}

static void count_skip(struct mf_scan_stats *st, const char *name,
		       const char *why)
{
	const char *dot = strrchr(name, '.');
	char ext[16] = "";
	size_t i, n;

	stat_add(&st->skipped, 1);
	if (why) {
		snprintf(ext, sizeof(ext), "%s", why);
	} else if (dot && dot != name && dot[1] &&
		   strlen(dot + 1) < sizeof(ext)) {
		for (n = 0; dot[1 + n]; n++) {
			unsigned char c = (unsigned char)dot[1 + n];

			ext[n] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
		}
		ext[n] = '\0';
	}
	for (i = 0; i < st->nskipped_ext; i++) {
		if (strcmp(st->skipped_ext[i].ext, ext) == 0) {
			st->skipped_ext[i].count++;
			return;
		}
	}
	if (st->nskipped_ext < MF_SCAN_MAX_EXTS) {
		memcpy(st->skipped_ext[i].ext, ext, sizeof(ext));
		st->skipped_ext[i].count = 1;
		st->nskipped_ext++;
	}
}

static bool is_audio_name(const char *name)
{
	return mf_format_prober(name, NULL) != NULL;
}

/* Queue the batch of jobs the walker has gathered. */
static void flush_pending(struct scan *sc)
{
	if (!sc->pending)
		return;
	if (mf_queue_push(sc->jobs, sc->pending) < 0)
		item_batch_free(sc->pending);
	sc->pending = NULL;
}

/*
 * One audio file at sc->path with stat @sb: unchanged files end here,
 * the rest are queued for the probe workers. @via_link: the path goes
 * through a followed symlink, so the stored path is its realpath. A NULL
 * @sb (a regular file by its directory entry) is stat'ed, as @name in
 * @dfd, only when the store knows the path: a new file's first stat is
 * the probe worker's fstat, which saves the walk a stat per file of a
 * cold import.
 */
static int candidate(struct scan *sc, const struct stat *sb, bool via_link,
		     int dfd, const char *name)
{
	char *real = NULL;
	const char *path = sc->path;
	struct stamp *old, *bad;
	struct stat lsb;
	struct item *it;

	if (via_link) {
		real = realpath(sc->path, NULL);
		if (!real) {
			mf_warn("scan", "cannot resolve '%s': %s", sc->path,
				strerror(errno));
			return 0;
		}
		path = real;
	}
	old = stamp_map_get(&sc->tracks, path);
	bad = stamp_map_get(&sc->failures, path);
	if (!sb && (old || bad)) {
		if (fstatat(dfd, name, &lsb, AT_SYMLINK_NOFOLLOW) < 0) {
			mf_warn("scan", "cannot stat '%s': %s", sc->path,
				strerror(errno));
			return 0;
		}
		if (!S_ISREG(lsb.st_mode))
			return 0;	/* replaced since the directory read */
		sb = &lsb;
	}
	if (!old && !bad && sc->opts->known_only) {
		free(real);
		return 0;
	}
	if (old) {
		__atomic_store_n(&old->seen, 1, __ATOMIC_RELAXED);
		if (!sc->opts->reingest && same_stamp(old, sb)) {
			stat_add(&sc->st->unchanged, 1);
			free(real);
			return 0;
		}
	}
	if (bad) {
		__atomic_store_n(&bad->seen, 1, __ATOMIC_RELAXED);
		if (!sc->opts->reingest && same_stamp(bad, sb)) {
			mf_log(sc->opts->quiet_known_failures ? MF_LOG_INFO :
			       MF_LOG_ERROR, NULL,
			       "'%s': %s (unchanged since last scan)", path,
			       bad->reason ? bad->reason : "failed");
			stat_add(&sc->st->failed, 1);
			stat_add(&sc->st->failed_known, 1);
			free(real);
			return 0;
		}
	}
	it = calloc(1, sizeof(*it));
	if (!it) {
		free(real);
		return -ENOMEM;
	}
	it->path = real ? real : strdup(path);
	if (!it->path) {
		free(it);
		return -ENOMEM;
	}
	it->pathlen = strlen(it->path);
	if (sb)
		it->sb = *sb;	/* else zero: the worker fills it in */
	it->old_id = old ? old->id : 0;
	it->was_failure = bad != NULL;
	if (!sc->pending) {
		sc->pending = calloc(1, sizeof(*sc->pending));
		if (!sc->pending) {
			item_free(it);
			return -ENOMEM;
		}
	}
	sc->pending->v[sc->pending->n++] = it;
	if (sc->pending->n == ITEM_BATCH)
		flush_pending(sc);
	return 0;
}

/* Walk the directory at sc->path (length @len), open as @dfd (taken). */
static int walk_dir(struct scan *sc, int dfd, size_t len, int depth,
		    bool via_link, size_t root)
{
	bool follow = sc->opts->follow_symlinks;
	DIR *dir;
	struct dirent *de;
	int ret = 0;

	dir = fdopendir(dfd);
	if (!dir) {
		mf_err(NULL, "cannot read directory '%s': %s", sc->path,
		       strerror(errno));
		close(dfd);
		stat_add(&sc->st->failed, 1);
		return 0;
	}
	while (!scan_stopping(sc) && (errno = 0, de = readdir(dir)) != NULL) {
		const char *name = de->d_name;
		size_t nlen = strlen(name);
		bool link = false;
		/* a regular file by its entry, with no symlink to follow:
		 * no stat unless the store knows it (see candidate()) */
		bool lazy = !follow && de->d_type == DT_REG;
		struct stat sb;

		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
			continue;
		if (len + 1 + nlen >= sizeof(sc->path)) {
			mf_err(NULL, "path too long under '%.*s'", (int)len,
			       sc->path);
			stat_add(&sc->st->failed, 1);
			continue;
		}
		sc->path[len] = '/';
		memcpy(sc->path + len + 1, name, nlen + 1);
		if (lazy)
			sb.st_mode = S_IFREG;
		else if (fstatat(dirfd(dir), name, &sb,
				 AT_SYMLINK_NOFOLLOW) < 0) {
			mf_warn("scan", "cannot stat '%s': %s", sc->path,
				strerror(errno));
			continue;
		}
		if (S_ISLNK(sb.st_mode)) {
			if (!follow || name[0] == '.')
				continue;	/* symlinks are not followed */
			if (fstatat(dirfd(dir), name, &sb, 0) < 0) {
				mf_warn("scan", "'%s': dangling symlink: %s",
					sc->path, strerror(errno));
				continue;
			}
			link = true;
		}
		if (S_ISDIR(sb.st_mode)) {
			size_t keep = sc->nframes;
			int sub;

			if (name[0] == '.') {
				mf_debug("scan", "skipping hidden directory '%s'",
					 sc->path);
				continue;
			}
			if (ignored(sc, true)) {
				mf_debug("scan", "ignoring directory '%s'",
					 sc->path);
				continue;
			}
			if (depth >= SCAN_MAX_DEPTH) {
				mf_err(NULL, "'%s': directory nesting too deep",
				       sc->path);
				continue;
			}
			if (follow) {
				ret = visited_add(&sc->visited, sb.st_dev,
						  sb.st_ino);
				if (ret < 0)
					break;
				if (ret == 0) {
					mf_info("scan", "'%s': directory already "
						"walked (symlink loop or alias)",
						sc->path);
					ret = 0;
					continue;
				}
				ret = 0;
			}
			sub = openat(dirfd(dir), name, O_RDONLY | O_DIRECTORY |
				     O_CLOEXEC | (follow ? 0 : O_NOFOLLOW));
			if (sub < 0) {
				mf_err(NULL, "cannot open directory '%s': %s",
				       sc->path, strerror(errno));
				stat_add(&sc->st->failed, 1);
				continue;
			}
			push_ignore_file(sc, sub, len + 1 + nlen);
			ret = walk_dir(sc, sub, len + 1 + nlen, depth + 1,
				       via_link || link, root);
			pop_frames(sc, keep);
			if (ret < 0)
				break;
			continue;
		}
		if (!S_ISREG(sb.st_mode))
			continue;	/* sockets, devices, fifos */
		if (follow) {
			ret = visited_add(&sc->visited, sb.st_dev, sb.st_ino);
			if (ret < 0)
				break;
			if (ret == 0) {
				ret = 0;
				continue;	/* reached twice: stored once */
			}
			ret = 0;
		}
		stat_add(&sc->st->seen, 1);
		sc->root_seen[root]++;
		if (name[0] == '.') {
			count_skip(sc->st, name, "(hidden)");
			continue;
		}
		if (ignored(sc, false)) {
			mf_info("scan", "ignoring '%s'", sc->path);
			count_skip(sc->st, name, "(ignored)");
			continue;
		}
		if (!is_audio_name(name)) {
			count_skip(sc->st, name, NULL);
			continue;
		}
		ret = candidate(sc, lazy ? NULL : &sb, via_link || link,
				dirfd(dir), name);
		if (ret < 0)
			break;
	}
	if (!ret && errno && !scan_stopping(sc)) {
		sc->path[len] = '\0';
		mf_err(NULL, "cannot read directory '%s': %s", sc->path,
		       strerror(errno));
	}
	sc->path[len] = '\0';
	closedir(dir);
	return ret;
}

static int scan_root(struct scan *sc, size_t i)
{
	const char *root = sc->opts->roots[i];
	char *real = realpath(root, NULL);
	struct stat sb;
	size_t len;
	int fd, ret;

	if (!real || stat(real, &sb) < 0) {
		ret = -errno;
		mf_err(NULL, "cannot scan '%s': %s", root, strerror(errno));
		free(real);
		return ret;
	}
	len = strlen(real);
	if (len >= sizeof(sc->path)) {
		free(real);
		return -ENAMETOOLONG;
	}
	memcpy(sc->path, real, len + 1);
	free(real);
	if (S_ISREG(sb.st_mode)) {
		const char *base = strrchr(sc->path, '/') + 1;

		stat_add(&sc->st->seen, 1);
		sc->root_seen[i]++;
		if (!is_audio_name(base)) {
			count_skip(sc->st, base, NULL);
			return 0;
		}
		return candidate(sc, &sb, false, AT_FDCWD, sc->path);
	}
	if (!S_ISDIR(sb.st_mode)) {
		mf_err(NULL, "cannot scan '%s': not a directory or file", root);
		return -ENOTDIR;
	}
	fd = open(sc->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		mf_err(NULL, "cannot scan '%s': %s", root, strerror(errno));
		return ret;
	}
	if (len == 1)
		len = 0;	/* root "/" : children are "/name" */
	if (sc->opts->follow_symlinks) {
		ret = visited_add(&sc->visited, sb.st_dev, sb.st_ino);
		if (ret < 0) {
			close(fd);
			return ret;
		}
		if (ret == 0) {
			close(fd);
			return 0;	/* the same tree given twice */
		}
	}
	sc->nframes = 0;
	if (sc->excludes) {
		sc->frames[0].ig = sc->excludes;
		sc->frames[0].dirlen = len;
		sc->nframes = 1;
	}
	push_ignore_file(sc, fd, len);
	ret = walk_dir(sc, fd, len, 0, false, i);
	pop_frames(sc, 0);
	return ret;
}

/*---- progress line ----------------------------------------------------*/

struct progress {
	struct scan *sc;
	struct timespec t0;
	int stop;		/* atomic */
	pthread_t thread;
};

static void progress_report(struct progress *pg, bool last)
{
	const struct mf_scan_stats *s = pg->sc->st;
	struct mf_scan_progress p = {
		.done = __atomic_load_n(&s->unchanged, __ATOMIC_RELAXED) +
			__atomic_load_n(&s->new, __ATOMIC_RELAXED) +
			__atomic_load_n(&s->changed, __ATOMIC_RELAXED) +
			__atomic_load_n(&s->moved, __ATOMIC_RELAXED) +
			__atomic_load_n(&s->failed, __ATOMIC_RELAXED) +
			__atomic_load_n(&s->skipped, __ATOMIC_RELAXED),
		.total = __atomic_load_n(&s->seen, __ATOMIC_RELAXED),
		.walk_done = __atomic_load_n(&pg->sc->walk_done,
					     __ATOMIC_RELAXED),
		.seconds = scan_elapsed_ms(&pg->t0) / 1e3,
		.last = last,
	};

	pg->sc->opts->progress(pg->sc->opts->progress_ctx, &p);
}

static void *progress_thread(void *arg)
{
	struct progress *pg = arg;
	const struct timespec tick = { .tv_sec = 0, .tv_nsec = 50000000L };
	unsigned n = 0;

	while (!__atomic_load_n(&pg->stop, __ATOMIC_RELAXED)) {
		nanosleep(&tick, NULL);
		if (++n % 5 == 0)
			progress_report(pg, false);
	}
	progress_report(pg, true);
	return NULL;
}

/*---- run record ------------------------------------------------------*/

static int64_t run_begin(struct scan *sc)
{
	char roots[4096] = "";
	size_t n = 0;
	int64_t id = 0;

	for (size_t i = 0; i < sc->opts->nroots; i++) {
		int r = snprintf(roots + n, sizeof(roots) - n, "%s%s",
				 i ? "\n" : "", sc->opts->roots[i]);

		if (r < 0 || (size_t)r >= sizeof(roots) - n)
			break;
		n += (size_t)r;
	}
	if (mf_store_scan_run_begin(sc->store, roots, &id) < 0)
		mf_debug("scan", "cannot record the run's start");
	return id;
}

static void run_end(struct scan *sc, int64_t run_id, const char *outcome)
{
	const struct mf_scan_stats *s = sc->st;
	const struct mf_store_scan_run r = {
		.seen = s->seen, .new = s->new, .changed = s->changed,
		.unchanged = s->unchanged, .skipped = s->skipped,
		.failed = s->failed, .moved = s->moved, .pruned = s->pruned,
		.bytes_read = s->bytes_read, .outcome = outcome,
	};
	int ret = mf_store_scan_run_end(sc->store, run_id, &r);

	if (ret < 0)
		mf_warn("scan", "cannot record the run: %s", strerror(-ret));
}

/*---- mf_scan_run -----------------------------------------------------*/

static int check_roots(const struct mf_scan_opts *o)
{
	for (size_t i = 0; i < o->nroots; i++) {
		struct stat sb;
		int ret;

		if (stat(o->roots[i], &sb) < 0 ||
		    (S_ISDIR(sb.st_mode) &&
		     access(o->roots[i], R_OK | X_OK) < 0)) {
			ret = -errno;
			mf_err(NULL, "cannot scan '%s': %s", o->roots[i],
			       strerror(errno));
			return ret;
		}
	}
	return 0;
}

static unsigned worker_count(const struct mf_scan_opts *o)
{
	long n;

	if (o->jobs)
		return o->jobs > 256 ? 256 : o->jobs;
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > 64 ? 64 : (unsigned)n;
}

/* Is directory @outer an ancestor of (or the same as) @inner? */
static bool path_within(const char *inner, const char *outer)
{
	size_t n = strlen(outer);

	if (n == 1 && outer[0] == '/')
		return true;
	return strncmp(inner, outer, n) == 0 &&
	       (inner[n] == '/' || inner[n] == '\0');
}

/*
 * Mark the roots another root already covers (the same tree given twice,
 * or a root inside another): walking them again would queue their files
 * twice.
 */
static int find_covered_roots(struct scan *sc)
{
	size_t n = sc->opts->nroots;
	char **real = calloc(n ? n : 1, sizeof(*real));
	int ret = 0;

	if (!real)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		real[i] = realpath(sc->opts->roots[i], NULL);
		if (!real[i]) {
			ret = errno == ENOMEM ? -ENOMEM : 0;
			if (ret < 0)
				goto out;
		}
	}
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < n && real[i]; j++) {
			if (i == j || !real[j] || !path_within(real[i], real[j]))
				continue;
			/* equal paths: the first one walks */
			if (strcmp(real[i], real[j]) == 0 && i < j)
				continue;
			sc->root_covered[i] = true;
			mf_info("scan", "'%s' is inside '%s': walked once",
				sc->opts->roots[i], sc->opts->roots[j]);
			break;
		}
	}
out:
	for (size_t i = 0; i < n; i++)
		free(real[i]);
	free(real);
	return ret;
}

static int load_state(struct scan *sc)
{
	const struct mf_scan_opts *o = sc->opts;
	int ret;

	sc->sqlite_checks = o->test_sqlite_checks;
	sc->test_delay_ms = o->test_delay_ms > 10000 ? 10000 : o->test_delay_ms;
	for (size_t i = 0; i < o->nexcludes; i++) {
		ret = mf_ignore_add(&sc->excludes, o->excludes[i],
				    strlen(o->excludes[i]));
		if (ret < 0) {
			mf_err(NULL, "bad --exclude '%s': %s", o->excludes[i],
			       strerror(-ret));
			return ret;
		}
	}
	sc->root_seen = calloc(o->nroots ? o->nroots : 1,
			       sizeof(*sc->root_seen));
	sc->root_refused = calloc(o->nroots ? o->nroots : 1,
				  sizeof(*sc->root_refused));
	sc->root_covered = calloc(o->nroots ? o->nroots : 1,
				  sizeof(*sc->root_covered));
	if (!sc->root_seen || !sc->root_refused || !sc->root_covered)
		return -ENOMEM;
	ret = find_covered_roots(sc);
	if (ret < 0)
		return ret;
	/* mf_store_scan_stamps_each(): a 1.x track without format_blocks
	 * has ctime -1, never matches, and is probed again */
	ret = stamp_map_load(sc->store, MF_STORE_STAMPS_TRACKS, &sc->tracks);
	if (ret < 0)
		return ret;
	return stamp_map_load(sc->store, MF_STORE_STAMPS_FAILURES,
			      &sc->failures);
}

/*
 * Lower the calling thread's priority by SCAN_NICE_STEP (nice(2) is per
 * thread on Linux). The single writer thread is the pipeline's
 * bottleneck: on a busy or small machine the walker and the probe
 * workers yield the CPU to it rather than preempt it, which made a cold
 * scan on two cores 12-15% faster; they still get the CPU the writer
 * leaves, and every idle one. Threads created later inherit it.
 */
void scan_lower_priority(void)
{
	pid_t tid = (pid_t)syscall(SYS_gettid);
	int cur;

	errno = 0;
	cur = getpriority(PRIO_PROCESS, (id_t)tid);
	if (cur == -1 && errno)
		return;
	if (setpriority(PRIO_PROCESS, (id_t)tid,
			cur + SCAN_NICE_STEP > 19 ? 19 : cur + SCAN_NICE_STEP) < 0)
		mf_debug("scan", "cannot lower a thread's priority: %s",
			 strerror(errno));
}

/* Walk every root through the pipeline; returns the first error. */
static int run_pipeline(struct scan *sc)
{
	unsigned nworkers = worker_count(sc->opts), started = 0;
	pthread_t *workers = NULL, writer;
	struct progress pg = { .sc = sc };
	bool writer_up = false, progress_up = false;
	int ret, r;

	workers = calloc(nworkers, sizeof(*workers));
	if (!workers)
		return -ENOMEM;
	ret = mf_queue_new(JOBS_QUEUE, &sc->jobs);
	if (!ret)
		ret = mf_queue_new(RESULTS_QUEUE, &sc->results);
	if (ret < 0)
		goto out;
	mf_queue_set_producers(sc->results, nworkers);
	r = pthread_create(&writer, NULL, scan_writer, sc);
	if (r) {
		ret = -r;
		goto out;
	}
	writer_up = true;
	for (; started < nworkers; started++) {
		r = pthread_create(&workers[started], NULL, scan_worker, sc);
		if (r) {
			ret = -r;
			break;
		}
	}
	/* producers that never started still count as closed */
	for (unsigned k = started; k < nworkers; k++)
		mf_queue_close(sc->results);
	scan_lower_priority();	/* the walker, once the writer runs */
	if (sc->opts->progress) {
		clock_gettime(CLOCK_MONOTONIC, &pg.t0);
		progress_up = pthread_create(&pg.thread, NULL, progress_thread,
					     &pg) == 0;
	}
	for (size_t i = 0; i < sc->opts->nroots && !ret && started; i++) {
		if (scan_stopping(sc))
			break;
		if (!sc->root_covered[i])
			ret = scan_root(sc, i);
	}
	flush_pending(sc);
	__atomic_store_n(&sc->walk_done, 1, __ATOMIC_RELAXED);
	if (ret < 0)
		__atomic_store_n(&sc->fatal, 1, __ATOMIC_RELAXED);
	mf_queue_close(sc->jobs);
	for (unsigned k = 0; k < started; k++)
		pthread_join(workers[k], NULL);
	if (!started)
		mf_queue_close(sc->results);
out:
	if (writer_up) {
		if (ret < 0 && !started)
			mf_queue_close(sc->results);
		pthread_join(writer, NULL);
		if (!ret)
			ret = sc->writer_ret;
	}
	if (progress_up) {
		__atomic_store_n(&pg.stop, 1, __ATOMIC_RELAXED);
		pthread_join(pg.thread, NULL);
	}
	mf_queue_free(sc->jobs);
	mf_queue_free(sc->results);
	sc->jobs = sc->results = NULL;
	free(workers);
	return ret;
}

int mf_scan_run(struct mf_store *s, const struct mf_scan_opts *o,
		struct mf_scan_stats *st)
{
	struct scan *sc;
	struct timespec t0;
	bool interrupted;
	int64_t run_id = 0;
	int ret;

	memset(st, 0, sizeof(*st));
	st->outcome = "failed";
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ret = check_roots(o);
	if (ret < 0)
		return ret;
	sc = calloc(1, sizeof(*sc));
	if (!sc)
		return -ENOMEM;
	sc->store = s;
	sc->db = mf_store_db(s);
	sc->opts = o;
	sc->st = st;
	pthread_mutex_init(&sc->taglib_lock, NULL);
	ret = load_state(sc);
	if (!ret)
		ret = writer_prepare(sc);
	if (ret < 0)
		goto out;
	run_id = run_begin(sc);
	ret = run_pipeline(sc);
	interrupted = o->stop && __atomic_load_n(o->stop, __ATOMIC_RELAXED);
	if (!ret && interrupted)
		ret = -EINTR;
	if (!ret && o->prune)
		ret = scan_prune(sc);
	if (!ret || ret == -EPERM)
		scan_roots_record(sc);
	st->seconds = scan_elapsed_ms(&t0) / 1e3;
	st->outcome = ret == -EINTR ? "interrupted" : ret < 0 ? "failed" :
		      st->failed ? "partial" : "ok";
	run_end(sc, run_id, st->outcome);
out:
	writer_finalize(sc);
	stamp_map_release(&sc->tracks);
	stamp_map_release(&sc->failures);
	pop_frames(sc, 0);
	mf_ignore_free(sc->excludes);
	visited_free(sc->visited);
	free(sc->root_seen);
	free(sc->root_refused);
	free(sc->root_covered);
	pthread_mutex_destroy(&sc->taglib_lock);
	free(sc);
	return ret;
}
