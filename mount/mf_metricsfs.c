/* SPDX-License-Identifier: MIT */
/*
 * mf_metricsfs - request counting around mf_fs's operations, and the
 * /.musefs-metrics/metrics node.
 */
#include "mf_metricsfs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mf_metrics.h"
#include "mf_banned.h"

/* Open metrics file: the text rendered at open. */
struct mfile {
	char *text;
	size_t len;
};

/* Set once by mf_metricsfs_ops() before the session starts; then read-only. */
static struct {
	const struct fuse_lowlevel_ops *inner;
	struct fuse_lowlevel_ops ops;
	bool expose;
	void (*sample)(void *ctx);
	void *ctx;
	uid_t uid;
	gid_t gid;
} mfs;

static void enter(void)
{
	mf_metrics_worker_seen();
	mf_metric_inc(MF_M_WORKERS_BUSY);
}

static void leave(void)
{
	mf_metric_add(MF_M_WORKERS_BUSY, -1);
}

static bool ours(fuse_ino_t ino)
{
	return mfs.expose &&
	       (ino == MF_METRICSFS_DIR_INO || ino == MF_METRICSFS_FILE_INO);
}

static void node_stat(fuse_ino_t ino, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_uid = mfs.uid;
	st->st_gid = mfs.gid;
	if (ino == MF_METRICSFS_DIR_INO) {
		st->st_mode = S_IFDIR | 0555;
		st->st_nlink = 2;
	} else {
		st->st_mode = S_IFREG | 0444;
		st->st_nlink = 1;
		st->st_size = 0;	/* rendered at open; read until EOF */
	}
}

int mf_metricsfs_render(char **out, size_t *len)
{
	if (mfs.sample)
		mfs.sample(mfs.ctx);
	return mf_metrics_render_mount(MF_DOC_PROMETHEUS, out, len);
}

void mf_metricsfs_count_read(const uint64_t segs[MF_METRICSFS_KINDS],
			     const uint64_t bytes[MF_METRICSFS_KINDS],
			     size_t n)
{
	static const enum mf_metric reads_m[MF_METRICSFS_KINDS] = {
		[MF_SEG_INLINE] = MF_M_SEG_READS_INLINE,
		[MF_SEG_BLOB] = MF_M_SEG_READS_ART,
		[MF_SEG_BACKING] = MF_M_SEG_READS_BACKING,
		[MF_SEG_CUSTOM] = MF_M_SEG_READS_COMPUTED,
	};
	static const enum mf_metric bytes_m[MF_METRICSFS_KINDS] = {
		[MF_SEG_INLINE] = MF_M_SEG_BYTES_INLINE,
		[MF_SEG_BLOB] = MF_M_SEG_BYTES_ART,
		[MF_SEG_BACKING] = MF_M_SEG_BYTES_BACKING,
		[MF_SEG_CUSTOM] = MF_M_SEG_BYTES_COMPUTED,
	};

	mf_metric_inc(MF_M_READS);
	mf_metric_add(MF_M_READ_BYTES, (int64_t)n);
	for (size_t k = 0; k < MF_METRICSFS_KINDS; k++) {
		if (!segs[k])
			continue;
		mf_metric_add(reads_m[k], (int64_t)segs[k]);
		mf_metric_add(bytes_m[k], (int64_t)bytes[k]);
	}
}

/* ---- wrapped operations ---- */

static void w_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	enter();
	mf_metric_inc(MF_M_LOOKUPS);
	if (mfs.expose &&
	    ((parent == FUSE_ROOT_ID && strcmp(name, MF_METRICSFS_DIR) == 0) ||
	     (parent == MF_METRICSFS_DIR_INO &&
	      strcmp(name, MF_METRICSFS_FILE) == 0))) {
		struct fuse_entry_param e;

		memset(&e, 0, sizeof(e));
		e.ino = parent == FUSE_ROOT_ID ? MF_METRICSFS_DIR_INO :
			MF_METRICSFS_FILE_INO;
		node_stat(e.ino, &e.attr);
		e.attr_timeout = 0;
		e.entry_timeout = 60;
		fuse_reply_entry(req, &e);
	} else if (ours(parent)) {
		fuse_reply_err(req, ENOENT);
	} else {
		mfs.inner->lookup(req, parent, name);
	}
	leave();
}

static void w_getattr(fuse_req_t req, fuse_ino_t ino,
		      struct fuse_file_info *fi)
{
	enter();
	mf_metric_inc(MF_M_GETATTRS);
	if (ours(ino)) {
		struct stat st;

		node_stat(ino, &st);
		fuse_reply_attr(req, &st, 0);
	} else {
		mfs.inner->getattr(req, ino, fi);
	}
	leave();
}

static void w_opendir(fuse_req_t req, fuse_ino_t ino,
		      struct fuse_file_info *fi)
{
	enter();
	if (ino == MF_METRICSFS_FILE_INO && mfs.expose)
		fuse_reply_err(req, ENOTDIR);
	else if (ours(ino))
		fuse_reply_open(req, fi);
	else
		mfs.inner->opendir(req, ino, fi);
	leave();
}

/* The listing of /.musefs-metrics: ".", ".." and the metrics file. */
static void ours_readdir(fuse_req_t req, size_t size, off_t off, bool plus)
{
	static const char *const names[] = { ".", "..", MF_METRICSFS_FILE };
	static const fuse_ino_t inos[] = {
		MF_METRICSFS_DIR_INO, FUSE_ROOT_ID, MF_METRICSFS_FILE_INO,
	};
	char buf[1024];
	size_t used = 0;

	if (size > sizeof(buf))
		size = sizeof(buf);
	for (off_t i = off < 0 ? 0 : off; i < 3; i++) {
		size_t need;

		if (plus && i != 1) {
			struct fuse_entry_param e;

			memset(&e, 0, sizeof(e));
			e.ino = inos[i];
			node_stat(inos[i], &e.attr);
			e.entry_timeout = 60;
			need = fuse_add_direntry_plus(req, buf + used,
						      size - used, names[i],
						      &e, i + 1);
		} else if (plus) {
			/* "..": name only (ino 0: the kernel takes no
			 * reference and caches no attributes) */
			struct fuse_entry_param e;

			memset(&e, 0, sizeof(e));
			e.attr.st_mode = S_IFDIR;
			need = fuse_add_direntry_plus(req, buf + used,
						      size - used, names[i],
						      &e, i + 1);
		} else {
			struct stat st;

			memset(&st, 0, sizeof(st));
			st.st_ino = inos[i];
			st.st_mode = i < 2 ? S_IFDIR : S_IFREG;
			need = fuse_add_direntry(req, buf + used, size - used,
						 names[i], &st, i + 1);
		}
		if (need > size - used)
			break;
		used += need;
	}
	fuse_reply_buf(req, buf, used);
}

static void w_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		      struct fuse_file_info *fi)
{
	enter();
	mf_metric_inc(MF_M_READDIRS);
	if (ours(ino))
		ours_readdir(req, size, off, false);
	else
		mfs.inner->readdir(req, ino, size, off, fi);
	leave();
}

static void w_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size,
			  off_t off, struct fuse_file_info *fi)
{
	enter();
	mf_metric_inc(MF_M_READDIRS);
	if (ours(ino))
		ours_readdir(req, size, off, true);
	else
		mfs.inner->readdirplus(req, ino, size, off, fi);
	leave();
}

static void w_releasedir(fuse_req_t req, fuse_ino_t ino,
			 struct fuse_file_info *fi)
{
	if (ours(ino))
		fuse_reply_err(req, 0);
	else
		mfs.inner->releasedir(req, ino, fi);
}

static void w_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct mfile *m;

	enter();
	if (!ours(ino)) {
		mfs.inner->open(req, ino, fi);
	} else if (ino == MF_METRICSFS_DIR_INO) {
		fuse_reply_err(req, EISDIR);
	} else if ((fi->flags & O_ACCMODE) != O_RDONLY) {
		fuse_reply_err(req, EROFS);
	} else if (!(m = calloc(1, sizeof(*m)))) {
		fuse_reply_err(req, ENOMEM);
	} else if (mf_metricsfs_render(&m->text, &m->len) < 0) {
		free(m);
		fuse_reply_err(req, ENOMEM);
	} else {
		fi->fh = (uint64_t)(uintptr_t)m;
		fi->direct_io = 1;
		fi->keep_cache = 0;
		if (fuse_reply_open(req, fi) != 0) {
			free(m->text);
			free(m);
		}
	}
	leave();
}

static void w_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		   struct fuse_file_info *fi)
{
	enter();
	if (ours(ino)) {
		const struct mfile *m = (const struct mfile *)(uintptr_t)fi->fh;
		size_t n = off < 0 || (uint64_t)off >= m->len ? 0 :
			   m->len - (size_t)off < size ? m->len - (size_t)off :
			   size;
		/*
		 * Reply from a copy: once the kernel has the reply, the reader
		 * may close the file and a release on another thread free
		 * m->text while fuse_reply_buf is still returning.
		 */
		char *copy = malloc(n ? n : 1);

		if (!copy) {
			fuse_reply_err(req, ENOMEM);
		} else {
			if (n)
				memcpy(copy, m->text + off, n);
			fuse_reply_buf(req, copy, n);
			free(copy);
		}
	} else {
		mfs.inner->read(req, ino, size, off, fi);
	}
	leave();
}

static void w_release(fuse_req_t req, fuse_ino_t ino,
		      struct fuse_file_info *fi)
{
	if (ours(ino)) {
		struct mfile *m = (struct mfile *)(uintptr_t)fi->fh;

		if (m)
			free(m->text);
		free(m);
		fuse_reply_err(req, 0);
	} else {
		mfs.inner->release(req, ino, fi);
	}
}

static void w_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	if (ours(ino))
		fuse_reply_none(req);	/* nothing to drop */
	else
		mfs.inner->forget(req, ino, nlookup);
}

/* Forgets of our nodes are dropped; the rest go to the tree in one batch. */
static void w_forget_multi(fuse_req_t req, size_t count,
			   struct fuse_forget_data *forgets)
{
	size_t kept = 0;

	for (size_t i = 0; i < count; i++)
		if (!ours(forgets[i].ino))
			forgets[kept++] = forgets[i];
	mfs.inner->forget_multi(req, kept, forgets);
}

static void w_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
		       size_t size)
{
	enter();
	if (ours(ino))
		fuse_reply_err(req, ENODATA);
	else
		mfs.inner->getxattr(req, ino, name, size);
	leave();
}

static void w_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	enter();
	if (ours(ino) && size == 0)
		fuse_reply_xattr(req, 0);
	else if (ours(ino))
		fuse_reply_buf(req, NULL, 0);
	else
		mfs.inner->listxattr(req, ino, size);
	leave();
}

const struct fuse_lowlevel_ops *
mf_metricsfs_ops(const struct fuse_lowlevel_ops *inner, bool expose,
		 void (*sample)(void *ctx), void *ctx)
{
	mfs.inner = inner;
	mfs.ops = *inner;
	mfs.expose = expose;
	mfs.sample = sample;
	mfs.ctx = ctx;
	mfs.uid = getuid();
	mfs.gid = getgid();
	mfs.ops.lookup = w_lookup;
	mfs.ops.getattr = w_getattr;
	mfs.ops.opendir = w_opendir;
	mfs.ops.readdir = w_readdir;
	mfs.ops.releasedir = w_releasedir;
	mfs.ops.open = w_open;
	mfs.ops.read = w_read;
	mfs.ops.release = w_release;
	if (inner->forget)
		mfs.ops.forget = w_forget;
	if (inner->forget_multi)
		mfs.ops.forget_multi = w_forget_multi;
	if (inner->readdirplus)
		mfs.ops.readdirplus = w_readdirplus;
	if (inner->getxattr)
		mfs.ops.getxattr = w_getxattr;
	if (inner->listxattr)
		mfs.ops.listxattr = w_listxattr;
	return &mfs.ops;
}
