/* SPDX-License-Identifier: MIT */
/*
 * mf_scan_prune - store hygiene for musefs-scan: --prune with its safety
 * rules, the per-root device record (scan_roots), the per-store scan lock
 * and --vacuum.
 *
 * --prune deletes the tracks rows under the scanned roots whose files are
 * gone (not reached by this walk, not retargeted by a move, and lstat(2)
 * says ENOENT), then the art no track links to. It refuses (naming the
 * reason, nothing deleted) when a root that holds tracks is empty, is on a
 * different filesystem than at the last scan, or would lose more than
 * --prune-limit percent of its tracks; --force overrides.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mf_array.h"
#include "mf_log.h"
#include "mf_scan_int.h"
#include "mf_banned.h"

static bool under(const char *path, const char *root, size_t rlen)
{
	if (rlen == 1 && root[0] == '/')
		return path[0] == '/';
	return strncmp(path, root, rlen) == 0 && path[rlen] == '/';
}

static bool gone(const char *path)
{
	struct stat sb;

	return lstat(path, &sb) < 0 && (errno == ENOENT || errno == ENOTDIR);
}

/*
 * Check root @i and append its doomed rows to @ids. Returns 0, 1 when it
 * refused (logged), or a negative errno.
 */
static int prune_root(struct scan *sc, size_t i, int64_t **ids, size_t *nids,
		      size_t *cap)
{
	const char *arg = sc->opts->roots[i];
	char *root = realpath(arg, NULL);
	struct stat sb;
	uint64_t total = 0, doomed = 0;
	size_t rlen, first = *nids;
	int64_t dev = 0;
	int ret = 0;

	if (!root || stat(root, &sb) < 0) {
		mf_err(NULL, "not pruning: root '%s' is missing", arg);
		free(root);
		return 1;
	}
	if (!S_ISDIR(sb.st_mode))
		goto out;	/* a file root: nothing under it */
	rlen = strlen(root);
	for (size_t k = 0; k < sc->tracks.n; k++) {
		struct stamp *e = &sc->tracks.v[k];
		int64_t *n;

		if (!under(e->path, root, rlen))
			continue;
		total++;
		if (e->claimed || __atomic_load_n(&e->seen, __ATOMIC_RELAXED) ||
		    !gone(e->path))
			continue;
		doomed++;
		n = mf_array_grow(*ids, cap, *nids + 1, sizeof(**ids));
		if (!n) {
			ret = -ENOMEM;
			goto out;
		}
		*ids = n;
		(*ids)[(*nids)++] = e->id;
	}
	if (!total)
		goto out;
	if (sc->opts->force)
		goto out;
	if (sc->root_seen[i] == 0) {
		mf_err(NULL, "not pruning: root '%s' is empty but %llu track(s) "
		       "are stored under it (not mounted?); --force to prune "
		       "anyway", arg, (unsigned long long)total);
		ret = 1;
	} else if ((ret = mf_store_scan_root_dev(sc->store, root, &dev)) == 1 &&
		   dev != (int64_t)sb.st_dev) {
		mf_err(NULL, "not pruning: root '%s' is on a different "
		       "filesystem than at the last scan (not mounted?); "
		       "--force to prune anyway", arg);
		ret = 1;
	} else if (ret >= 0 && (double)doomed * 100.0 >
		   sc->opts->prune_limit * (double)total) {
		mf_err(NULL, "not pruning: %llu of the %llu track(s) under '%s' "
		       "are gone, more than --prune-limit %g%%; --force to "
		       "prune anyway", (unsigned long long)doomed,
		       (unsigned long long)total, arg, sc->opts->prune_limit);
		ret = 1;
	} else if (ret >= 0) {
		ret = 0;
	}
out:
	if (ret == 1) {
		sc->root_refused[i] = true;
		*nids = first;
	}
	free(root);
	return ret;
}

int scan_prune(struct scan *sc)
{
	int64_t *ids = NULL;
	const char **paths = NULL;
	size_t nids = 0, cap = 0, npaths = 0;
	bool refused = false;
	int ret = 0;

	for (size_t i = 0; i < sc->opts->nroots; i++) {
		if (sc->root_covered[i])
			continue;	/* its covering root decides */
		ret = prune_root(sc, i, &ids, &nids, &cap);
		if (ret < 0)
			goto out;
		if (ret == 1)
			refused = true;
	}
	ret = 0;
	if (refused) {
		ret = -EPERM;
		goto out;
	}
	/* known failures whose files are gone (and unreferenced art) */
	paths = calloc(sc->failures.n ? sc->failures.n : 1, sizeof(*paths));
	if (!paths) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t k = 0; k < sc->failures.n; k++) {
		const struct stamp *e = &sc->failures.v[k];

		if (__atomic_load_n(&e->seen, __ATOMIC_RELAXED) || !gone(e->path))
			continue;
		paths[npaths++] = e->path;
	}
	ret = mf_store_scan_prune(sc->store, ids, nids, paths, npaths,
				  &sc->st->pruned);
	if (ret < 0)
		goto out;
	for (size_t k = 0; k < nids; k++)
		mf_debug("scan", "pruned track %lld", (long long)ids[k]);
out:
	free(paths);
	free(ids);
	return ret;
}

int scan_roots_record(struct scan *sc)
{
	int ret = 0;

	for (size_t i = 0; i < sc->opts->nroots && !ret; i++) {
		char *root;
		struct stat sb;

		/* an empty root may be an unmounted one: keep the old dev */
		if (!sc->root_seen[i] || sc->root_refused[i] ||
		    sc->root_covered[i])
			continue;
		root = realpath(sc->opts->roots[i], NULL);
		if (root && stat(root, &sb) == 0 && S_ISDIR(sb.st_mode))
			ret = mf_store_scan_root_record(sc->store, root,
							(int64_t)sb.st_dev);
		free(root);
	}
	return ret;
}

/*---- lock ------------------------------------------------------------*/

int mf_scan_lock(const char *dbpath, bool wait, int *fd)
{
	int f = open(dbpath, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	*fd = -1;
	if (f < 0)
		return -errno;
	/* on failure too @f stays open (*@fd): closing it would drop this
	 * process's POSIX locks on the store; see mf_scan_unlock() */
	*fd = f;
	if (flock(f, LOCK_EX | (wait ? 0 : LOCK_NB)) < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return 0;
}

void mf_scan_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}

/*---- vacuum ----------------------------------------------------------*/

static int64_t file_bytes(const char *path, const char *suffix)
{
	char buf[PATH_MAX];
	struct stat sb;

	if ((size_t)snprintf(buf, sizeof(buf), "%s%s", path, suffix) >=
	    sizeof(buf))
		return 0;
	return stat(buf, &sb) == 0 ? (int64_t)sb.st_size : 0;
}

int mf_scan_vacuum(struct mf_store *s, int64_t *reclaimed)
{
	const char *path = mf_store_path(s);
	int64_t before = file_bytes(path, "") + file_bytes(path, "-wal");
	int ret;

	*reclaimed = 0;
	ret = mf_store_vacuum(s);
	if (ret < 0)
		return ret;
	*reclaimed = before - (file_bytes(path, "") + file_bytes(path, "-wal"));
	return 0;
}
