/* SPDX-License-Identifier: MIT */
/*
 * mf_fs - the FUSE low-level handlers of musefs-mount and its life cycle
 * (mf_fs_new, start, stop, free). What the parts share, the lock order and
 * where the other jobs live: mf_fs_int.h.
 *
 * Divisions, in order: state; attributes; handlers; life cycle.
 */
#include "mf_fs.h"
#include "mf_fs_int.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "mf_array.h"
#include "mf_confine.h"
#include "mf_layout.h"
#include "mf_log.h"
#include "mf_metrics.h"
#include "mf_metricsfs.h"
#include "mf_store.h"
#include "mf_tree.h"
#include "mf_banned.h"

_Static_assert(sizeof(fuse_ino_t) >= sizeof(uint64_t), "64-bit inodes");

/* Largest read answered in one reply (bytes); also the kernel's max_read. */
#define MF_MAX_READ (1u << 20)

/*---- state -----------------------------------------------------------*/

/* A directory listing taken at opendir (readdir offsets index it). */
struct dirsnap {
	size_t base;		/* directory offset of v[0] */
	size_t n;
	struct dirent_copy {
		uint64_t ino;
		uint64_t gen;
		bool is_dir;
		const char *name;	/* into names */
	} *v;
	char *names;
};


static struct mf_fs *fs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/*---- attributes ------------------------------------------------------*/

/*
 * A file's mtime: the whole second of the later of the backing file's
 * mtime and the track's last metadata change (updated_at has whole
 * seconds only), with content_version in the nanoseconds: every change of
 * served bytes moves mtime, even within the second the backing file was
 * written, and a rescan that changes the bytes moves it too.
 */
static int64_t served_mtime(const struct mf_track_info *in)
{
	int64_t meta = in->updated_at * 1000000000;
	int64_t base = in->backing_mtime_ns > meta ? in->backing_mtime_ns : meta;
	int64_t frac = base % 1000000000;

	if (frac < 0)
		frac += 1000000000;	/* floor, also before 1970 */
	return base - frac + in->content_version % 1000000000;
}

static struct timespec ts_of(int64_t ns)
{
	struct timespec ts = { .tv_sec = ns / 1000000000,
			       .tv_nsec = ns % 1000000000 };

	if (ts.tv_nsec < 0) {
		ts.tv_sec--;
		ts.tv_nsec += 1000000000;
	}
	return ts;
}

static void file_attr(struct mf_fs *fs, fuse_ino_t ino, uint64_t size,
		      int64_t mtime_ns, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_mode = S_IFREG | fs->cfg.file_mode;
	st->st_nlink = 1;
	st->st_uid = fs->cfg.uid;
	st->st_gid = fs->cfg.gid;
	st->st_size = (off_t)size;
	st->st_blksize = 65536;
	st->st_blocks = (blkcnt_t)((size + 511) / 512);
	st->st_mtim = ts_of(mtime_ns);
	st->st_ctim = st->st_mtim;
	st->st_atim = st->st_mtim;
}

static void dir_attr(struct mf_fs *fs, fuse_ino_t ino, size_t nsubdir,
		     int64_t mtime_ns, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_mode = S_IFDIR | fs->cfg.dir_mode;
	st->st_nlink = (nlink_t)(2 + nsubdir);
	st->st_uid = fs->cfg.uid;
	st->st_gid = fs->cfg.gid;
	st->st_size = 4096;
	st->st_blksize = 4096;
	st->st_blocks = 8;
	if (mtime_ns > 0) {
		st->st_mtim = ts_of(mtime_ns);
	} else {
		st->st_mtim = fs->started;
	}
	st->st_ctim = st->st_mtim;
	st->st_atim = st->st_mtim;
}

static void copy_node(const struct mf_tree *t, const struct mf_node *n,
		      struct node_copy *c)
{
	c->ino = mf_tree_ino(t, n);
	c->gen = mf_node_gen(n);
	c->is_dir = mf_node_is_dir(n);
	c->live = mf_node_live(n);
	c->version = mf_node_version(n);
	c->track = mf_node_track(n);
	c->nsubdir = mf_node_nsubdir(n);
	c->mtime_ns = mf_node_mtime_ns(n);
	c->have_attr = !c->is_dir && mf_node_attr_get(n, &c->size, &c->mtime_ns);
}

/* See mf_fs_int.h. */
int mf_fs_find_node(struct mf_fs *fs, fuse_ino_t ino, const char *name,
		    bool ref, struct node_copy *c)
{
	const struct mf_node *n;

	pthread_rwlock_rdlock(&fs->tree_lock);
	n = name ? mf_tree_lookup(fs->tree, ino, name) :
		   mf_tree_get_any(fs->tree, ino);
	if (n) {
		copy_node(fs->tree, n, c);
		if (ref)
			mf_tree_ref(fs->tree, n);
	}
	pthread_rwlock_unlock(&fs->tree_lock);
	return n ? 0 : ENOENT;
}

static void unref_node(struct mf_fs *fs, fuse_ino_t ino)
{
	pthread_rwlock_rdlock(&fs->tree_lock);
	mf_tree_forget(fs->tree, ino, 1);
	pthread_rwlock_unlock(&fs->tree_lock);
}

/*
 * Fill c->size and c->mtime_ns of a file from its layout and cache them in
 * the node (a node's version, so its attributes, never change). ESTALE
 * when the store has another version than the node serves (an orphan,
 * or a live node the refresh has not replaced yet: see mf_refresh_wait()).
 */
static int fill_file_attr(struct mf_fs *fs, struct node_copy *c)
{
	const struct mf_node *n;
	struct mf_served *sv;
	int err;

	err = mf_cache_get(fs->cache, c->track, c->version, &sv);
	if (err)
		return err;
	if (mf_served_version(sv) != c->version) {
		mf_served_put(sv);
		return ESTALE;
	}
	c->size = mf_layout_size(sv->layout);
	c->mtime_ns = served_mtime(&sv->info);
	c->have_attr = true;
	mf_served_put(sv);
	pthread_rwlock_rdlock(&fs->tree_lock);
	n = mf_tree_get_any(fs->tree, c->ino);
	if (n && mf_node_gen(n) == c->gen && !mf_node_is_dir(n) &&
	    mf_node_version(n) == c->version)
		mf_node_attr_set(n, c->size, c->mtime_ns);
	pthread_rwlock_unlock(&fs->tree_lock);
	return 0;
}

/* Attributes of a node copy; returns 0 or a positive errno. */
static int node_attr(struct mf_fs *fs, struct node_copy *c, struct stat *st)
{
	int err;

	if (c->is_dir) {
		dir_attr(fs, c->ino, c->nsubdir, c->mtime_ns, st);
		return 0;
	}
	if (!c->have_attr && (err = fill_file_attr(fs, c)) != 0)
		return err;
	file_attr(fs, c->ino, c->size, c->mtime_ns, st);
	return 0;
}

/*---- handlers --------------------------------------------------------*/

static void mf_fs_init(void *userdata, struct fuse_conn_info *conn)
{
	struct mf_fs *fs = userdata;

	/* We invalidate explicitly; keep the page cache across opens. */
	conn->want &= ~(unsigned)FUSE_CAP_AUTO_INVAL_DATA;
	if (conn->capable & FUSE_CAP_ASYNC_READ)
		conn->want |= FUSE_CAP_ASYNC_READ;
	if (conn->capable & FUSE_CAP_SPLICE_WRITE)
		conn->want |= FUSE_CAP_SPLICE_WRITE;
	if (conn->capable & FUSE_CAP_READDIRPLUS)
		conn->want |= FUSE_CAP_READDIRPLUS;
	if (conn->capable & FUSE_CAP_READDIRPLUS_AUTO)
		conn->want |= FUSE_CAP_READDIRPLUS_AUTO;
	if (!fs->cfg.open_handles && (conn->capable & FUSE_CAP_NO_OPEN_SUPPORT)) {
		conn->want |= FUSE_CAP_NO_OPEN_SUPPORT;
		fs->no_open = true;
	}
	if (conn->capable & FUSE_CAP_NO_OPENDIR_SUPPORT) {
		conn->want |= FUSE_CAP_NO_OPENDIR_SUPPORT;
		fs->no_opendir = true;
	}
	/* max_write also sets the kernel's max_pages: 1 MiB read requests */
	conn->max_write = MF_MAX_READ;
	conn->max_readahead = MF_MAX_READ;
	conn->max_read = MF_MAX_READ;	/* as the max_read mount option */
}

static void mf_fs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct mf_fs *fs = fs_of(req);
	struct fuse_entry_param e;
	struct node_copy c;
	bool waited = false;
	int err;

	memset(&e, 0, sizeof(e));
	e.attr_timeout = fs->cfg.entry_timeout_s;
	e.entry_timeout = fs->cfg.entry_timeout_s;
again:
	err = mf_fs_find_node(fs, parent, name, true, &c);
	if (err) {
		struct node_copy p;

		/* a negative entry the kernel may cache (refresh invalidates
		 * new names); not with case folding, where other spellings
		 * of a name would stay cached */
		if (!fs->cfg.casefold &&
		    mf_fs_find_node(fs, parent, NULL, false, &p) == 0 && p.is_dir &&
		    p.live) {
			fuse_reply_entry(req, &e);
			return;
		}
		fuse_reply_err(req, ENOENT);
		return;
	}
	err = node_attr(fs, &c, &e.attr);
	if (err) {
		unref_node(fs, c.ino);
		/* the store has a newer version: answer with its node */
		if (err == ESTALE && !waited) {
			waited = true;
			if (mf_refresh_wait(fs))
				goto again;
		}
		fuse_reply_err(req, err);
		return;
	}
	e.ino = c.ino;
	e.generation = c.gen;
	if (fuse_reply_entry(req, &e) != 0)
		unref_node(fs, c.ino);	/* the kernel did not get it */
}

static void mf_fs_getattr(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	struct mf_fs *fs = fs_of(req);
	struct node_copy c;
	struct stat st;
	bool waited = false;
	int err;

	if (fi && fi->fh) {
		/* an open file answers with the version it serves */
		struct handle *h = (struct handle *)(uintptr_t)fi->fh;

		file_attr(fs, ino, mf_layout_size(h->sv->layout),
			  served_mtime(&h->sv->info), &st);
		fuse_reply_attr(req, &st, fs->cfg.entry_timeout_s);
		return;
	}
again:
	err = mf_fs_find_node(fs, ino, NULL, false, &c);
	if (!err)
		err = node_attr(fs, &c, &st);
	if (err == ESTALE && c.live && !waited) {
		/* after the refresh the node is an orphan with its own
		 * attributes cached, or answers ESTALE (the VFS then looks
		 * the path up again) */
		waited = true;
		if (mf_refresh_wait(fs))
			goto again;
	}
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	fuse_reply_attr(req, &st, fs->cfg.entry_timeout_s);
}

static void dirsnap_free(struct dirsnap *s)
{
	if (s) {
		free(s->v);
		free(s->names);
		free(s);
	}
}

/* Name, inode, generation and kind of entry @k of directory @d (0 ".",
 * 1 "..", then the children in order). Under the tree lock. */
static const char *dir_entry(struct mf_fs *fs, fuse_ino_t ino,
			     const struct mf_node *d, size_t k,
			     struct dirent_copy *e)
{
	const struct mf_node *n;

	if (k == 0) {
		*e = (struct dirent_copy){ ino, mf_node_gen(d), true, NULL };
		return ".";
	}
	if (k == 1) {
		*e = (struct dirent_copy){
			mf_tree_ino(fs->tree, mf_tree_parent(fs->tree, d)), 0,
			true, NULL };
		return "..";
	}
	n = mf_tree_child(fs->tree, d, k - 2);
	*e = (struct dirent_copy){ mf_tree_ino(fs->tree, n), mf_node_gen(n),
				   mf_node_is_dir(n), NULL };
	return mf_node_name(n);
}

/*
 * Copy at most @max entries of directory @ino from entry @from on (".",
 * "..", then the children in order; offset k + 1 follows entry k) under
 * the tree's read lock, so that a readdir without a handle copies only
 * what one reply can hold. Returns 0 and *@out (free with
 * dirsnap_free()), or a positive errno.
 */
static int dir_snapshot(struct mf_fs *fs, fuse_ino_t ino, size_t from,
			size_t max, struct dirsnap **out)
{
	const struct mf_node *d;
	struct dirsnap *s = calloc(1, sizeof(*s));
	size_t names = 0, pos = 0, total;
	int err = 0;

	*out = NULL;
	if (!s)
		return ENOMEM;
	pthread_rwlock_rdlock(&fs->tree_lock);
	d = mf_tree_get(fs->tree, ino);
	if (!d || !mf_node_is_dir(d)) {
		err = d ? ENOTDIR : ENOENT;
		goto out_unlock;
	}
	total = mf_node_nchild(d) + 2;
	s->base = from < total ? from : total;
	s->n = total - s->base < max ? total - s->base : max;
	for (size_t k = 0; k < s->n; k++) {
		struct dirent_copy e;

		names += strlen(dir_entry(fs, ino, d, s->base + k, &e)) + 1;
	}
	s->v = malloc((s->n ? s->n : 1) * sizeof(*s->v));
	s->names = malloc(names ? names : 1);
	if (!s->v || !s->names) {
		err = ENOMEM;
		goto out_unlock;
	}
	for (size_t k = 0; k < s->n; k++) {
		const char *name = dir_entry(fs, ino, d, s->base + k, &s->v[k]);
		size_t l = strlen(name) + 1;

		memcpy(s->names + pos, name, l);
		s->v[k].name = s->names + pos;
		pos += l;
	}
out_unlock:
	pthread_rwlock_unlock(&fs->tree_lock);
	if (err) {
		dirsnap_free(s);
		return err;
	}
	*out = s;
	return 0;
}

/*
 * With FUSE_CAP_NO_OPENDIR_SUPPORT the first ENOSYS tells the kernel to
 * stop sending OPENDIR/RELEASEDIR (two round trips per directory in every
 * walk); it then opens directories with FOPEN_KEEP_CACHE|FOPEN_CACHE_DIR,
 * and readdir snapshots the directory per request (fi->fh is 0).
 */
static void mf_fs_opendir(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	struct mf_fs *fs = fs_of(req);
	struct dirsnap *s;
	int err;

	if (fs->no_opendir) {
		fuse_reply_err(req, ENOSYS);
		return;
	}
	err = dir_snapshot(fs, ino, 0, SIZE_MAX, &s);
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	fi->fh = (uint64_t)(uintptr_t)s;
	/* the kernel may keep listings; a change invalidates the inode */
	fi->cache_readdir = 1;
	fi->keep_cache = 1;
	if (fuse_reply_open(req, fi) != 0)
		dirsnap_free(s);
}

/* One entry for readdirplus: attributes when cheap, else a plain dirent. */
static const struct mf_node *plus_entry(struct mf_fs *fs,
					const struct dirent_copy *d,
					size_t i, struct fuse_entry_param *e)
{
	const struct mf_node *n = i < 2 ? NULL : mf_tree_get(fs->tree, d->ino);
	struct node_copy c;

	memset(e, 0, sizeof(*e));
	e->attr.st_ino = d->ino;
	e->attr.st_mode = d->is_dir ? S_IFDIR : S_IFREG;
	e->attr_timeout = fs->cfg.entry_timeout_s;
	e->entry_timeout = fs->cfg.entry_timeout_s;
	if (!n || mf_node_gen(n) != d->gen)
		return NULL;	/* gone since opendir: name only */
	copy_node(fs->tree, n, &c);
	if (c.is_dir)
		dir_attr(fs, c.ino, c.nsubdir, c.mtime_ns, &e->attr);
	else if (c.have_attr)
		file_attr(fs, c.ino, c.size, c.mtime_ns, &e->attr);
	else
		return NULL;	/* its size needs the store: lookup later */
	e->ino = c.ino;
	e->generation = c.gen;
	return n;
}

static void do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size,
		       off_t off, struct fuse_file_info *fi, bool plus)
{
	struct mf_fs *fs = fs_of(req);
	struct dirsnap *s = (struct dirsnap *)(uintptr_t)fi->fh;
	struct dirsnap *own = NULL;	/* no OPENDIR: this request's copy */
	size_t used = 0;
	char *buf;
	int err;

	if (size > MF_MAX_READ)
		size = MF_MAX_READ;
	if (!s) {
		/* a reply holds at most size / 24 entries (struct fuse_dirent) */
		err = dir_snapshot(fs, ino, off < 0 ? 0 : (size_t)off,
				   size / 24 + 1, &own);
		if (err) {
			fuse_reply_err(req, err);
			return;
		}
		s = own;
	}
	buf = malloc(size ? size : 1);
	if (!buf) {
		dirsnap_free(own);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if (plus)
		pthread_rwlock_rdlock(&fs->tree_lock);
	for (size_t i = off < 0 ? 0 : (size_t)off; i < s->base + s->n; i++) {
		const struct dirent_copy *d = &s->v[i - s->base];
		size_t need;

		if (plus) {
			struct fuse_entry_param e;
			const struct mf_node *n = plus_entry(fs, d, i, &e);

			need = fuse_add_direntry_plus(req, buf + used,
						      size - used, d->name, &e,
						      (off_t)i + 1);
			if (need > size - used)
				break;
			if (n)	/* the kernel now holds a reference */
				mf_tree_ref(fs->tree, n);
		} else {
			struct stat st;

			memset(&st, 0, sizeof(st));
			st.st_ino = d->ino;
			st.st_mode = d->is_dir ? S_IFDIR : S_IFREG;
			need = fuse_add_direntry(req, buf + used, size - used,
						 d->name, &st, (off_t)i + 1);
			if (need > size - used)
				break;
		}
		used += need;
	}
	if (plus)
		pthread_rwlock_unlock(&fs->tree_lock);
	fuse_reply_buf(req, buf, used);
	free(buf);
	dirsnap_free(own);
}

static void mf_fs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size,
			  off_t off, struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, false);
}

static void mf_fs_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size,
			      off_t off, struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, fi, true);
}

static void mf_fs_releasedir(fuse_req_t req, fuse_ino_t ino,
			     struct fuse_file_info *fi)
{
	(void)ino;
	dirsnap_free((struct dirsnap *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}

static void mf_fs_open(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct mf_fs *fs = fs_of(req);
	struct handle *h;
	int err;

	if ((fi->flags & O_ACCMODE) != O_RDONLY) {
		fuse_reply_err(req, EROFS);
		return;
	}
	if (fs->no_open) {
		/* the kernel stops sending OPEN and RELEASE from now on */
		fuse_reply_err(req, ENOSYS);
		return;
	}
	err = mf_handle_make(fs, ino, &h);
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	fi->fh = (uint64_t)(uintptr_t)h;
	fi->keep_cache = 1;	/* invalidated by the refresh on change */
	fi->noflush = 1;	/* nothing to flush: no round trip on close */
	mf_handle_link(fs, h);
	if (fuse_reply_open(req, fi) != 0)
		mf_handle_free(fs, h);
}

struct read_io {
	struct mf_fs *fs;
	int fd;
	const struct mf_served *sv;	/* the layout's blobs: pinned or rows */
};

static int io_read_blob(void *ctx, const struct mf_blob_ref *ref, uint64_t off,
			void *buf, size_t len)
{
	struct read_io *io = ctx;

	return mf_cache_blob_read(io->fs->cache, io->sv, ref, off, buf, len);
}

static int io_read_backing(void *ctx, uint64_t off, void *buf, size_t len)
{
	struct read_io *io = ctx;
	size_t done = 0;

	while (done < len) {
		ssize_t r = pread(io->fd, (char *)buf + done, len - done,
				  (off_t)(off + done));

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			mf_metric_inc(MF_M_ERR_DRIFT);
			return -EIO;	/* short: the file shrank */
		}
		done += (size_t)r;
	}
	return 0;
}

/*
 * A read: backing ranges go to the kernel as file-descriptor buffers
 * (spliced, never copied through user space); every other segment kind
 * is rendered by mf_layout_read_at() into one memory buffer.
 */
static void mf_fs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	struct mf_fs *fs = fs_of(req);
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;
	struct handle *own = NULL;	/* a no-open reference, put at out */
	const struct mf_layout *l;
	struct read_io rio = { .fs = fs };
	struct mf_layout_io io = {
		.ctx = &rio,
		.read_blob = io_read_blob,
		.read_backing = io_read_backing,
	};
	uint64_t total, pos, end, membytes = 0;
	struct fuse_bufvec *bv = NULL;
	uint64_t kseg[MF_METRICSFS_KINDS] = { 0 };
	uint64_t kbytes[MF_METRICSFS_KINDS] = { 0 };
	size_t k = 0, cap = 0;
	char *mem = NULL;
	int err = 0;

	if (off < 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if (!h) {	/* no-open model: the kernel sent no OPEN */
		err = mf_handle_by_ino(fs, ino, &own);
		if (err) {
			fuse_reply_err(req, err);
			return;
		}
		h = own;
	}
	l = h->sv->layout;
	rio.fd = h->fd;
	rio.sv = h->sv;
	total = mf_layout_size(l);
	/* every read re-checks the stamp: drift gives EIO, never mixed bytes */
	if (!mf_handle_fresh(h)) {
		err = EIO;
		goto out;
	}
	if ((uint64_t)off >= total || size == 0) {
		fuse_reply_buf(req, NULL, 0);
		goto out;
	}
	if (size > MF_MAX_READ)
		size = MF_MAX_READ;
	end = (uint64_t)off + size < total ? (uint64_t)off + size : total;
	/*
	 * One walk of the segments the read covers, merging neighbours into
	 * runs: memory (inline, blob, custom: rendered into one buffer) and
	 * backing (contiguous in the file: one spliced buffer each). A
	 * memory run's served offset waits in ->pos until the buffer exists.
	 */
	pos = (uint64_t)off;
	for (size_t i = mf_layout_find(l, pos); pos < end; i++) {
		struct mf_seg sg;
		uint64_t stop, src;
		bool inmem;
		struct fuse_buf *b;

		mf_layout_seg(l, i, &sg);
		stop = sg.start + sg.len < end ? sg.start + sg.len : end;
		if ((unsigned)sg.kind < MF_METRICSFS_KINDS) {
			kseg[sg.kind]++;
			kbytes[sg.kind] += stop - pos;
		}
		inmem = sg.kind != MF_SEG_BACKING;
		src = inmem ? 0 : sg.src_off + (pos - sg.start);
		b = k ? &bv->buf[k - 1] : NULL;
		if (b && !(b->flags & FUSE_BUF_IS_FD) == inmem &&
		    (inmem || (uint64_t)b->pos + b->size == src)) {
			b->size += (size_t)(stop - pos);
		} else {
			struct fuse_bufvec *nbv;

			if (k == cap) {
				cap = cap ? cap * 2 : 4;
				nbv = realloc(bv, sizeof(*bv) +
					      cap * sizeof(bv->buf[0]));
				if (!nbv) {
					err = ENOMEM;
					goto out;
				}
				bv = nbv;
			}
			b = &bv->buf[k++];
			memset(b, 0, sizeof(*b));
			b->size = (size_t)(stop - pos);
			if (inmem) {
				b->pos = (off_t)pos;
			} else {
				b->flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK |
					   FUSE_BUF_FD_RETRY;
				b->fd = h->fd;
				b->pos = (off_t)src;
			}
		}
		if (inmem)
			membytes += stop - pos;
		pos = stop;
	}
	mem = membytes ? malloc(membytes) : NULL;
	if (membytes && !mem) {
		err = ENOMEM;
		goto out;
	}
	membytes = 0;
	for (size_t j = 0; j < k; j++) {
		struct fuse_buf *b = &bv->buf[j];
		ssize_t n;

		if (b->flags & FUSE_BUF_IS_FD)
			continue;
		n = mf_layout_read_at(l, (uint64_t)b->pos, mem + membytes,
				      b->size, &io);
		if (n < 0 || (size_t)n != b->size) {
			err = n == -ENOMEM ? ENOMEM : EIO;
			goto out;
		}
		b->mem = mem + membytes;
		b->pos = 0;
		membytes += b->size;
	}
	bv->count = k;
	bv->idx = 0;
	bv->off = 0;
	mf_metricsfs_count_read(kseg, kbytes, (size_t)(end - (uint64_t)off));
	/* the inode serves this one version: its page cache keeps it */
	fuse_reply_data(req, bv, 0);
out:
	if (err)
		fuse_reply_err(req, err);
	free(mem);
	free(bv);
	mf_handle_put(own);
}

static void mf_fs_release(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;

	(void)ino;
	if (h)
		mf_handle_free(fs_of(req), h);
	fuse_reply_err(req, 0);
}

/*
 * Totals: the served files' backing bytes (tree.bytes, statfs's used
 * blocks; kept by the refresh) into *@bytes, and into *@out a statvfs with
 * those plus the free space of the store's file system (asked at most
 * every 5 s, under statfs_lock), so that tools that check free space do
 * not refuse. Either pointer may be NULL.
 */
static void fs_totals(struct mf_fs *fs, struct statvfs *out, uint64_t *bytes)
{
	uint64_t b = atomic_load(&fs->backing_bytes), avail;
	time_t now;

	if (bytes)
		*bytes = b;
	if (!out)
		return;
	now = time(NULL);
	pthread_mutex_lock(&fs->statfs_lock);
	if (!fs->host_at || now - fs->host_at >= 5) {
		struct statvfs host;

		fs->host_avail = statvfs(fs->cfg.db_path, &host) == 0 ?
				 (uint64_t)host.f_bavail * host.f_frsize : 0;
		fs->host_at = now;
	}
	avail = fs->host_avail;
	pthread_mutex_unlock(&fs->statfs_lock);
	memset(out, 0, sizeof(*out));
	out->f_bsize = 4096;
	out->f_frsize = 4096;
	out->f_bavail = (fsblkcnt_t)(avail / 4096);
	out->f_bfree = out->f_bavail;
	out->f_blocks = (fsblkcnt_t)((b + 4095) / 4096) + out->f_bfree;
	out->f_namemax = 255;
}

static void mf_fs_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct mf_fs *fs = fs_of(req);
	struct statvfs sv;

	(void)ino;
	fs_totals(fs, &sv, NULL);
	pthread_rwlock_rdlock(&fs->tree_lock);
	sv.f_files = (fsfilcnt_t)mf_tree_nnodes(fs->tree);
	pthread_rwlock_unlock(&fs->tree_lock);
	fuse_reply_statfs(req, &sv);
}

/* Extended attributes of files: where the bytes come from. */
static const char xattr_names[] = "user.musefs.backing_path\0"
				  "user.musefs.track_id\0"
				  "user.musefs.format";

static void reply_xattr_value(fuse_req_t req, const char *v, size_t len,
			      size_t size)
{
	if (size == 0)
		fuse_reply_xattr(req, len);
	else if (size < len)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, v, len);
}

static void mf_fs_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			   size_t size)
{
	struct mf_fs *fs = fs_of(req);
	struct node_copy c;
	struct mf_served *sv;
	char buf[32];
	const char *v;
	int err;

	err = mf_fs_find_node(fs, ino, NULL, false, &c);
	if (!err && c.is_dir)
		err = ENODATA;
	if (!err && strncmp(name, "user.musefs.", 12) != 0)
		err = ENODATA;
	if (!err)
		err = mf_cache_get(fs->cache, c.track, MF_ANY_VERSION, &sv);
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	if (strcmp(name, "user.musefs.backing_path") == 0) {
		v = sv->backing_path;
	} else if (strcmp(name, "user.musefs.track_id") == 0) {
		snprintf(buf, sizeof(buf), "%lld", (long long)c.track);
		v = buf;
	} else if (strcmp(name, "user.musefs.format") == 0) {
		v = sv->info.format;
	} else {
		mf_served_put(sv);
		fuse_reply_err(req, ENODATA);
		return;
	}
	reply_xattr_value(req, v, strlen(v), size);
	mf_served_put(sv);
}

static void mf_fs_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct mf_fs *fs = fs_of(req);
	struct node_copy c;
	int err = mf_fs_find_node(fs, ino, NULL, false, &c);

	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	if (c.is_dir)
		reply_xattr_value(req, "", 0, size);
	else
		reply_xattr_value(req, xattr_names, sizeof(xattr_names), size);
}

static void mf_fs_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	struct mf_fs *fs = fs_of(req);

	pthread_rwlock_rdlock(&fs->tree_lock);
	mf_tree_forget(fs->tree, ino, nlookup);
	pthread_rwlock_unlock(&fs->tree_lock);
	fuse_reply_none(req);
}

static void mf_fs_forget_multi(fuse_req_t req, size_t count,
			       struct fuse_forget_data *forgets)
{
	struct mf_fs *fs = fs_of(req);

	pthread_rwlock_rdlock(&fs->tree_lock);
	for (size_t i = 0; i < count; i++)
		mf_tree_forget(fs->tree, forgets[i].ino, forgets[i].nlookup);
	pthread_rwlock_unlock(&fs->tree_lock);
	fuse_reply_none(req);
}

/* Every write-type operation: the mount is read-only. */
/*
 * Requests that would change something: a read-only file system. The
 * kernel refuses most of them itself (the mount is "ro"); these answer
 * the rest. Their parameters are unused by design.
 */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
static void mf_fs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
			  int to_set, struct fuse_file_info *fi)
{
	fuse_reply_err(req, EROFS);
}

static void mf_fs_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
			mode_t mode, dev_t rdev)
{
	fuse_reply_err(req, EROFS);
}

static void mf_fs_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
			mode_t mode)
{
	fuse_reply_err(req, EROFS);
}

static void mf_fs_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	fuse_reply_err(req, EROFS);
}

static void mf_fs_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
			  const char *name)
{
	fuse_reply_err(req, EROFS);
}

static void mf_fs_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
			 fuse_ino_t newparent, const char *newname,
			 unsigned int flags)
{
	fuse_reply_err(req, EROFS);
}

static void mf_fs_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		       const char *newname)
{
	fuse_reply_err(req, EROFS);
}

static void mf_fs_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
			size_t size, off_t off, struct fuse_file_info *fi)
{
	fuse_reply_err(req, EROFS);
}

static void mf_fs_create(fuse_req_t req, fuse_ino_t parent, const char *name,
			 mode_t mode, struct fuse_file_info *fi)
{
	fuse_reply_err(req, EROFS);
}

static void mf_fs_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			   const char *value, size_t size, int flags)
{
	fuse_reply_err(req, EROFS);
}

static void mf_fs_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	fuse_reply_err(req, EROFS);
}
#pragma GCC diagnostic pop

static const struct fuse_lowlevel_ops mf_fs_oper = {
	.init = mf_fs_init,
	.lookup = mf_fs_lookup,
	.forget = mf_fs_forget,
	.forget_multi = mf_fs_forget_multi,
	.getattr = mf_fs_getattr,
	.opendir = mf_fs_opendir,
	.readdir = mf_fs_readdir,
	.readdirplus = mf_fs_readdirplus,
	.releasedir = mf_fs_releasedir,
	.open = mf_fs_open,
	.read = mf_fs_read,
	.release = mf_fs_release,
	.statfs = mf_fs_statfs,
	.getxattr = mf_fs_getxattr,
	.listxattr = mf_fs_listxattr,
	.setattr = mf_fs_setattr,
	.mknod = mf_fs_mknod,
	.mkdir = mf_fs_mkdir,
	.unlink = mf_fs_unlink,
	.rmdir = mf_fs_unlink,
	.symlink = mf_fs_symlink,
	.rename = mf_fs_rename,
	.link = mf_fs_link,
	.write = mf_fs_write,
	.create = mf_fs_create,
	.setxattr = mf_fs_setxattr,
	.removexattr = mf_fs_removexattr,
};

const struct fuse_lowlevel_ops *mf_fs_ops(void)
{
	return &mf_fs_oper;
}

/*---- life cycle ------------------------------------------------------*/

int mf_fs_new(const struct mf_fs_config *cfg, struct mf_fs **out, char *err,
	      size_t errlen)
{
	pthread_rwlockattr_t at;
	struct mf_fs *fs;
	int ret;

	*out = NULL;
	fs = calloc(1, sizeof(*fs));
	if (!fs)
		return -ENOMEM;
	fs->cfg = *cfg;
	if (!fs->cfg.poll_ms)
		fs->cfg.poll_ms = 1000;
	if (!fs->cfg.cache_bytes)
		fs->cfg.cache_bytes = 64u << 20;
	clock_gettime(CLOCK_REALTIME, &fs->started);
	/* a refresh is never starved by a stream of readers */
	pthread_rwlockattr_init(&at);
	pthread_rwlockattr_setkind_np(&at,
				      PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&fs->tree_lock, &at);
	pthread_rwlockattr_destroy(&at);
	pthread_mutex_init(&fs->statfs_lock, NULL);
	pthread_mutex_init(&fs->handles_lock, NULL);
	pthread_mutex_init(&fs->fd_lock, NULL);
	pthread_mutex_init(&fs->notify_lock, NULL);
	pthread_cond_init(&fs->notify_cond, NULL);
	pthread_mutex_init(&fs->wake_lock, NULL);
	pthread_cond_init(&fs->wake_cond, NULL);
	pthread_cond_init(&fs->ended_cond, NULL);
	ret = mf_conns_new(cfg->db_path, &fs->conns);
	if (!ret) {
		struct mf_cache_config cc = {
			.max_bytes = fs->cfg.cache_bytes,
			.mode = fs->cfg.mode,
			.id3v2_version = fs->cfg.id3v2_version,
		};

		ret = -mf_cache_new(&cc, fs->conns, &fs->cache);
	}
	if (ret < 0)
		goto out_free;
	ret = mf_refresh_build(cfg, &fs->poll_store, &fs->render, &fs->tree,
			     &fs->watermark, err, errlen);
	if (!ret && mf_store_data_version(fs->poll_store, &fs->data_version) < 0)
		ret = -EIO;
	if (!ret) {
		struct stat sb;

		/* the store's identity, to notice its replacement */
		if (stat(cfg->db_path, &sb) == 0) {
			fs->store_dev = sb.st_dev;
			fs->store_ino = sb.st_ino;
		}
	}
	if (ret < 0)
		goto out_free;
	mf_refresh_backing_total(fs);
	mf_confine_announce(&fs->cfg.confine, fs->poll_store);
	mf_metrics_changelog(fs->watermark, fs->watermark);
	mf_metric_set(MF_M_CACHE_BUDGET, (int64_t)fs->cfg.cache_bytes);
	*out = fs;
	return 0;

out_free:
	mf_fs_free(fs);
	return ret;
}

int mf_fs_start(struct mf_fs *fs, struct fuse_session *se)
{
	int r;

	fs->se = se;
	atomic_store(&fs->stop, false);
	r = pthread_create(&fs->notify_thread, NULL, mf_notify_main, fs);
	if (r != 0)
		return -r;
	pthread_mutex_lock(&fs->notify_lock);
	fs->notify_running = true;
	pthread_mutex_unlock(&fs->notify_lock);
	r = pthread_create(&fs->refresh_thread, NULL, mf_refresh_main, fs);
	if (r != 0) {
		mf_fs_stop(fs);
		return -r;
	}
	atomic_store(&fs->refresh_running, true);
	return 0;
}

void mf_fs_stop(struct mf_fs *fs)
{
	/* set before each broadcast, read under each lock: no lost wake-up */
	atomic_store(&fs->stop, true);
	pthread_mutex_lock(&fs->wake_lock);
	pthread_cond_broadcast(&fs->wake_cond);
	pthread_cond_broadcast(&fs->ended_cond);
	pthread_mutex_unlock(&fs->wake_lock);
	pthread_mutex_lock(&fs->notify_lock);
	pthread_cond_broadcast(&fs->notify_cond);
	pthread_mutex_unlock(&fs->notify_lock);
	if (atomic_load(&fs->refresh_running)) {
		pthread_join(fs->refresh_thread, NULL);
		atomic_store(&fs->refresh_running, false);
	}
	if (fs->notify_running) {	/* what it had not sent is freed */
		pthread_join(fs->notify_thread, NULL);
		pthread_mutex_lock(&fs->notify_lock);
		fs->notify_running = false;
		pthread_mutex_unlock(&fs->notify_lock);
	}
}

void mf_fs_counts(struct mf_fs *fs, size_t *files, size_t *dirs)
{
	pthread_rwlock_rdlock(&fs->tree_lock);
	*files = mf_tree_nfiles(fs->tree);
	*dirs = mf_tree_ndirs(fs->tree) - 1;	/* not the root */
	pthread_rwlock_unlock(&fs->tree_lock);
}

size_t mf_fs_tree_bytes(struct mf_fs *fs)
{
	size_t b;

	pthread_rwlock_rdlock(&fs->tree_lock);
	b = mf_tree_bytes(fs->tree);
	pthread_rwlock_unlock(&fs->tree_lock);
	return b;
}

void mf_fs_free(struct mf_fs *fs)
{
	if (!fs)
		return;
	mf_fs_stop(fs);
	while (fs->handles)	/* never released: the session ended */
		mf_handle_free(fs, fs->handles);
	mf_handles_drop_ino(fs);
	mf_cache_free(fs->cache);
	mf_tree_free(fs->tree);
	mf_render_free(fs->render);
	mf_store_close(fs->poll_store);
	for (size_t i = 0; i < fs->ninvals; i++)
		free(fs->invals[i].name);
	free(fs->invals);
	for (size_t i = 0; i < fs->nq_n; i++)	/* not sent: the session ended */
		free(fs->nq[i].name);
	free(fs->nq);
	mf_conns_free(fs->conns);
	pthread_rwlock_destroy(&fs->tree_lock);
	pthread_mutex_destroy(&fs->statfs_lock);
	pthread_mutex_destroy(&fs->handles_lock);
	pthread_mutex_destroy(&fs->fd_lock);
	pthread_mutex_destroy(&fs->wake_lock);
	pthread_cond_destroy(&fs->wake_cond);
	pthread_cond_destroy(&fs->ended_cond);
	pthread_mutex_destroy(&fs->notify_lock);
	pthread_cond_destroy(&fs->notify_cond);
	free(fs);
}

void mf_fs_sample_metrics(void *arg)
{
	struct mf_fs *fs = arg;
	uint64_t bytes;
	size_t entries, cbytes;

	mf_cache_stats(fs->cache, &entries, &cbytes);
	mf_metric_set(MF_M_CACHE_ENTRIES, (int64_t)entries);
	mf_metric_set(MF_M_CACHE_BYTES, (int64_t)cbytes);
	pthread_rwlock_rdlock(&fs->tree_lock);
	mf_metric_set(MF_M_TREE_NODES, (int64_t)mf_tree_nnodes(fs->tree));
	mf_metric_set(MF_M_TREE_MEMORY, (int64_t)mf_tree_bytes(fs->tree));
	pthread_rwlock_unlock(&fs->tree_lock);
	fs_totals(fs, NULL, &bytes);
	mf_metric_set(MF_M_TREE_BYTES, (int64_t)bytes);
}
