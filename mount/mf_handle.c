/* SPDX-License-Identifier: MIT */
/*
 * mf_handle - musefs-mount's file handles: one version of one inode, its
 * backing file opened confined and checked against the scan's stamp; the
 * open model's handles (one per FUSE open, listed for mf_fs_free()) and
 * the no-open model's inode-keyed cache (--handles inode). See
 * mf_fs_int.h.
 */
#include "mf_fs_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mf_confine.h"
#include "mf_log.h"
#include "mf_metrics.h"
#include "mf_banned.h"

static bool stamp_matches(const struct stat *sb, const struct mf_track_info *in)
{
	return S_ISREG(sb->st_mode) && (uint64_t)sb->st_size == in->backing_size &&
	       mf_store_ns(&sb->st_mtim) == in->backing_mtime_ns &&
	       (in->backing_ctime_ns == 0 ||	/* a 1.x row without one */
		mf_store_ns(&sb->st_ctim) == in->backing_ctime_ns);
}

bool mf_handle_fresh(const struct handle *h)
{
	struct stat sb;

	if (fstat(h->fd, &sb) == 0 && stamp_matches(&sb, &h->sv->info))
		return true;
	mf_metric_inc(MF_M_ERR_DRIFT);
	mf_warn("mount", "'%s' changed on disk since the last scan: refusing "
		"to serve it (rescan)", h->sv->backing_path);
	return false;
}

void mf_handle_link(struct mf_fs *fs, struct handle *h)
{
	pthread_mutex_lock(&fs->handles_lock);
	h->prev = NULL;
	h->next = fs->handles;
	if (fs->handles)
		fs->handles->prev = h;
	fs->handles = h;
	pthread_mutex_unlock(&fs->handles_lock);
}

void mf_handle_free(struct mf_fs *fs, struct handle *h)
{
	pthread_mutex_lock(&fs->handles_lock);
	if (h->prev)
		h->prev->next = h->next;
	else
		fs->handles = h->next;
	if (h->next)
		h->next->prev = h->prev;
	pthread_mutex_unlock(&fs->handles_lock);
	mf_handle_put(h);
}

int mf_handle_make(struct mf_fs *fs, fuse_ino_t ino, struct handle **out)
{
	struct node_copy c;
	struct handle *h;
	struct mf_store *s;
	const char *why;
	uint64_t gen;
	int err;

	err = mf_fs_find_node(fs, ino, NULL, false, &c);
	if (err)
		return err;
	if (c.is_dir)
		return EISDIR;
	h = calloc(1, sizeof(*h));
	if (!h)
		return ENOMEM;
	h->ino = ino;
	h->gen = c.gen;
	atomic_init(&h->refs, 1);
	err = mf_cache_get(fs->cache, c.track, c.version, &h->sv);
	if (err == EIO)
		mf_metric_inc(MF_M_ERR_STORE);
	if (err)
		goto out_free;
	/* the store has moved past the node's version - already, or while
	 * the layout's blobs were copied (a tagger dropped the old ones) */
	err = mf_served_version(h->sv) != c.version ? ESTALE :
	      mf_cache_pin(fs->cache, h->sv);
	if (err == EIO && mf_cache_moved(fs->cache, h->sv))
		err = ESTALE;
	if (err == ESTALE && c.live)
		mf_refresh_wait(fs);
	if (err) {
		if (err != ESTALE)
			mf_metric_inc(err == EIO ? MF_M_ERR_STORE :
				      MF_M_ERR_OTHER);
		goto out_put;
	}
	s = mf_conns_get(fs->conns, &gen);
	h->fd = mf_confine_open(&fs->cfg.confine, s,
				h->sv->backing_path, &why);
	if (h->fd == -EPERM && why) {
		if (!atomic_exchange(&h->sv->refused, true))
			mf_confine_warn(h->sv->backing_path, why);
		mf_metric_inc(MF_M_ERR_CONFINEMENT);
		err = EIO;
		goto out_put;
	}
	if (h->fd < 0) {
		err = -h->fd;
		mf_warn("mount", "cannot open '%s': %s", h->sv->backing_path,
			strerror(err));
		err = err == ENOENT ? EIO : err;
		mf_metric_inc(err == EIO ? MF_M_ERR_DRIFT : MF_M_ERR_OTHER);
		goto out_put;
	}
	if (!mf_handle_fresh(h)) {
		err = EIO;
		goto out_close;
	}
	mf_metric_inc(MF_M_OPENS);
	mf_metric_inc(MF_M_OPEN_HANDLES);
	*out = h;
	return 0;

out_close:
	close(h->fd);
out_put:
	mf_served_put(h->sv);
out_free:
	free(h);
	return err;
}

void mf_handle_put(struct handle *h)
{
	if (!h || atomic_fetch_sub(&h->refs, 1) != 1)
		return;
	close(h->fd);
	mf_served_put(h->sv);
	free(h);
	mf_metric_add(MF_M_OPEN_HANDLES, -1);
}

int mf_handle_by_ino(struct mf_fs *fs, fuse_ino_t ino, struct handle **out)
{
	size_t slot = (size_t)(ino * 0x9E3779B97F4A7C15ull >> 32) %
		      MF_INO_HANDLES;
	struct handle *h, *old = NULL;
	struct node_copy c;
	int err;

	err = mf_fs_find_node(fs, ino, NULL, false, &c);
	if (err)
		return err;
	pthread_mutex_lock(&fs->fd_lock);
	h = fs->ino_handles[slot];
	if (h && h->ino == ino && h->gen == c.gen &&
	    h->sv->store_gen == mf_conns_gen(fs->conns)) {
		atomic_fetch_add(&h->refs, 1);
		pthread_mutex_unlock(&fs->fd_lock);
		*out = h;
		return 0;
	}
	pthread_mutex_unlock(&fs->fd_lock);
	err = mf_handle_make(fs, ino, &h);
	if (err)
		return err;
	pthread_mutex_lock(&fs->fd_lock);
	old = fs->ino_handles[slot];
	fs->ino_handles[slot] = h;
	atomic_fetch_add(&h->refs, 1);	/* the cache's */
	pthread_mutex_unlock(&fs->fd_lock);
	mf_handle_put(old);
	*out = h;
	return 0;
}

void mf_handles_drop_ino(struct mf_fs *fs)
{
	for (size_t i = 0; i < MF_INO_HANDLES; i++) {
		struct handle *h;

		pthread_mutex_lock(&fs->fd_lock);
		h = fs->ino_handles[i];
		fs->ino_handles[i] = NULL;
		pthread_mutex_unlock(&fs->fd_lock);
		mf_handle_put(h);
	}
}
