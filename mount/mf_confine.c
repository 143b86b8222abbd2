/* SPDX-License-Identifier: MIT */
/*
 * mf_confine - confinement of the backing files musefs-mount opens.
 *
 * Roots come from --root, or else from the store's scan_roots, read at
 * each open (a root scanned while mounted is served at once). Each open
 * resolves the root itself with RESOLVE_NO_SYMLINKS to an O_PATH
 * descriptor (a disk mounted on the root since the last open is seen)
 * and the rest of the path beneath it with RESOLVE_BENEATH. With no root
 * at all the mount is unconfined but still refuses magic links, kernel
 * pseudo-filesystems and anything but a regular file.
 */
#include "mf_confine.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <time.h>
#include <unistd.h>

#include "mf_log.h"
#include "mf_store_mount.h"
#include "mf_banned.h"

/* O_NONBLOCK: a FIFO named by a bad row must not hang a worker */
#define OPEN_FLAGS (O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)

static long sys_openat2(int dfd, const char *path, uint64_t flags,
			uint64_t resolve)
{
	struct open_how how = { .flags = flags, .resolve = resolve };

	return syscall(SYS_openat2, dfd, path, &how, sizeof(how));
}

/* Absolute, shorter than PATH_MAX, no empty, "." or ".." component. */
static bool canonical(const char *path)
{
	const char *p = path;

	if (path[0] != '/' || strlen(path) >= PATH_MAX)
		return false;
	while (*p == '/') {
		const char *q = ++p;

		while (*q && *q != '/')
			q++;
		if (q == p || (q - p == 1 && p[0] == '.') ||
		    (q - p == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		p = q;
	}
	return true;
}

/* The part of @path beneath @root, or NULL when it is not beneath it. */
static const char *beneath(const char *root, const char *path)
{
	size_t n = strlen(root);

	while (n && root[n - 1] == '/')
		n--;
	if (strncmp(path, root, n) != 0 || path[n] != '/' || !path[n + 1])
		return NULL;
	return path + n + 1;
}

/*
 * The longest root in @c or the store holding @path: 0 and *@rel into
 * @path with *@root (free it), 1 when there are roots but none holds it,
 * 2 when there are no roots at all, or -EIO.
 */
struct best_root {
	const char *path;	/* the backing file */
	const char *rel;	/* into path: below the best root so far */
	size_t best;		/* bytes of path the best root covers; 0: none */
	bool any;		/* a root was seen */
};

/* One root (mf_store_roots_each() callback, or a --root): keep it if it
 * holds the path more closely than the best so far. */
static int note_root(void *ctx, const char *root)
{
	struct best_root *b = ctx;
	const char *r = beneath(root, b->path);

	b->any = true;
	if (r && (size_t)(r - b->path) > b->best) {
		b->best = (size_t)(r - b->path);
		b->rel = r;
	}
	return 0;
}

static int find_root(const struct mf_confine *c, struct mf_store *s,
		     const char *path, char **root, const char **rel)
{
	struct best_root b = { .path = path };
	int ret;

	*root = NULL;
	for (size_t i = 0; i < c->nroots; i++)
		note_root(&b, c->roots[i]);
	if (!c->nroots) {
		if (!s)
			return -EIO;
		ret = mf_store_roots_each(s, note_root, &b);
		if (ret < 0)
			return -EIO;
	}
	if (!b.any)
		return 2;	/* none recorded (a 1.x store, or never scanned) */
	if (!b.best)
		return 1;
	*rel = b.rel;
	*root = b.best > 1 ? strndup(path, b.best - 1) : strdup("/");
	return *root ? 0 : -ENOMEM;
}

/* Is the open file @fd one to serve: a regular file, not in a kernel fs? */
static const char *refused_kind(int fd)
{
	struct stat sb;
	struct statfs sf;

	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode))
		return "is not a regular file";
	if (fstatfs(fd, &sf) != 0)
		return "is on an unknown filesystem";
	switch ((unsigned long)sf.f_type) {
	case PROC_SUPER_MAGIC: case SYSFS_MAGIC: case DEBUGFS_MAGIC:
	case TRACEFS_MAGIC: case SECURITYFS_MAGIC: case CGROUP_SUPER_MAGIC:
	case CGROUP2_SUPER_MAGIC: case BPF_FS_MAGIC: case EFIVARFS_MAGIC:
		return "is on a kernel pseudo-filesystem";
	default:
		return NULL;
	}
}

/*
 * Without openat2 (Linux < 5.6, or a seccomp filter or valgrind answering
 * ENOSYS): open canonical @path one component at a time from "/", every
 * one with O_NOFOLLOW, so that no symlink anywhere on it is followed (what
 * RESOLVE_NO_SYMLINKS gives). @path is beneath @root by name and has no
 * "..", so with no symlink followed it stays there. With --follow-symlinks
 * @path is resolved first (realpath) and must still be beneath @root; the
 * resolved path is then walked the same way, so a link swapped in between
 * is refused, never followed.
 */
static int open_walk(const struct mf_confine *c, const char *root,
		     const char *path, const char **why)
{
	size_t rootlen = strlen(root);
	char *real = NULL;
	const char *p;
	int dfd, ret;

	if (c->follow) {
		real = realpath(path, NULL);
		if (!real)
			return -errno;
		if (!beneath(root, real)) {
			free(real);
			*why = "leads out of its root";
			return -EPERM;
		}
		path = real;
	}
	dfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		ret = -errno;
		goto out;
	}
	for (p = path + 1;;) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		char name[NAME_MAX + 1];
		struct stat sb;
		int next;

		if (n > NAME_MAX) {
			ret = -ENAMETOOLONG;
			goto out;
		}
		memcpy(name, p, n);
		name[n] = '\0';
		if (!slash) {
			ret = openat(dfd, name, OPEN_FLAGS | O_NOFOLLOW);
			if (ret < 0)
				ret = -errno;
			if (ret == -ELOOP) {
				*why = "leads through a symlink";
				ret = -EPERM;
			}
			goto out;
		}
		next = openat(dfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0) {
			ret = -errno;
			goto out;
		}
		if (fstat(next, &sb) < 0) {
			ret = -errno;
			close(next);
			goto out;
		}
		if (!S_ISDIR(sb.st_mode)) {
			ret = S_ISLNK(sb.st_mode) ? -EPERM : -ENOTDIR;
			if (ret == -EPERM)
				*why = (size_t)(slash - path) <= rootlen ?
				       "has a root that leads through a symlink" :
				       "leads through a symlink";
			close(next);
			goto out;
		}
		close(dfd);
		dfd = next;
		p = slash + 1;
	}
out:
	if (dfd >= 0)
		close(dfd);
	free(real);
	return ret;
}

/* Open @rel beneath @root (-ENOSYS: no openat2, the caller falls back). */
static int open_beneath(const struct mf_confine *c, const char *root,
			const char *rel, const char **why)
{
	uint64_t res = RESOLVE_BENEATH |
		       (c->follow ? RESOLVE_NO_MAGICLINKS : RESOLVE_NO_SYMLINKS);
	long dfd, fd;
	int e;

	if (c->test_no_openat2)
		return -ENOSYS;
	dfd = sys_openat2(AT_FDCWD, root, O_PATH | O_DIRECTORY | O_CLOEXEC,
			  RESOLVE_NO_SYMLINKS);
	if (dfd < 0 && errno == ENOSYS)
		return -ENOSYS;
	if (dfd < 0 && errno == ELOOP) {
		*why = "has a root that leads through a symlink";
		return -EPERM;
	}
	if (dfd < 0)
		return -errno;
	fd = sys_openat2((int)dfd, rel, OPEN_FLAGS, res);
	e = errno;
	close((int)dfd);
	if (fd < 0 && (e == ELOOP || e == EXDEV)) {
		*why = e == EXDEV ? "leads out of its root" :
				    "leads through a symlink";
		return -EPERM;
	}
	return fd < 0 ? -e : (int)fd;
}

int mf_confine_open(const struct mf_confine *c, struct mf_store *s,
		    const char *path, const char **why)
{
	const char *rel = NULL;
	char *root = NULL;
	int fd, r;

	*why = NULL;
	if (c->off) {
		fd = open(path, OPEN_FLAGS);
		return fd < 0 ? -errno : fd;
	}
	r = find_root(c, s, path, &root, &rel);
	if (r < 0)
		return r;
	if (r == 1) {
		*why = "is outside every root";
		return -EPERM;
	}
	if (r == 2) {		/* no roots: unconfined, but no magic links */
		fd = (int)sys_openat2(AT_FDCWD, path, OPEN_FLAGS,
				      RESOLVE_NO_MAGICLINKS);
		if (fd < 0 && errno == ENOSYS)
			fd = open(path, OPEN_FLAGS);
		if (fd < 0 && errno == ELOOP) {
			*why = "leads through a magic link";
			return -EPERM;
		}
		if (fd < 0)
			return -errno;
		goto check;
	}
	if (!canonical(path)) {
		*why = "is not a canonical path";
		fd = -EPERM;
		goto out;
	}
	fd = open_beneath(c, root, rel, why);
	if (fd == -ENOSYS)	/* no openat2 */
		fd = open_walk(c, root, path, why);
	if (fd < 0)
		goto out;
check:
	*why = refused_kind(fd);
	if (*why) {
		close(fd);
		fd = -EPERM;
	}
out:
	free(root);
	return fd;
}

static int count_root(void *ctx, const char *root)
{
	(void)root;
	++*(int64_t *)ctx;
	return 0;
}

bool mf_confine_announce(const struct mf_confine *c, struct mf_store *s)
{
	int64_t n = 0;

	if (c->off) {
		mf_warn("mount", "--no-confine: serving any file a store row "
			"names");
		return false;
	}
	if (c->nroots) {
		mf_info("mount", "serving only files beneath the %zu --root "
			"director%s", c->nroots, c->nroots == 1 ? "y" : "ies");
		return true;
	}
	if (mf_store_roots_each(s, count_root, &n) != 0)
		n = 0;
	if (!n) {
		mf_warn("mount", "the store records no scanned roots and no "
			"--root was given: serving unconfined (rescan with "
			"musefs-scan or give --root)");
		return false;
	}
	mf_info("mount", "serving only files beneath the %lld roots the "
		"store's scans recorded", (long long)n);
	return true;
}

/* Messages per window and the window (s) of mf_confine_warn(). */
#define WARN_BURST 10
#define WARN_WINDOW_S 60

void mf_confine_warn(const char *path, const char *why)
{
	static _Atomic int64_t window;
	static _Atomic unsigned count;
	struct timespec ts;
	int64_t now, w;
	unsigned n;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (int64_t)ts.tv_sec / WARN_WINDOW_S;
	w = atomic_load(&window);
	if (w != now && atomic_compare_exchange_strong(&window, &w, now))
		atomic_store(&count, 0);
	n = atomic_fetch_add(&count, 1);
	if (n < WARN_BURST)
		mf_warn("mount", "'%s' %s: not served (confinement)", path,
			why);
	else if (n == WARN_BURST)
		mf_warn("mount", "more files refused by confinement: not "
			"logged for up to %d s (see the metrics)",
			WARN_WINDOW_S);
}
