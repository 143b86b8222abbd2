/* SPDX-License-Identifier: MIT */
/*
 * mf_fs - FUSE low-level handlers, tree building, layout cache and the
 * refresh thread of musefs-mount.
 *
 * Divisions, in order: state; per-thread store; rendering and tree
 * building; layout cache; attributes; handlers; refresh thread; life cycle.
 *
 * Lock order: fs->refresh_lock (refresh thread only) before fs->tree_lock
 * before fs->cache_lock. No lock is held across a fuse_reply_* call or a
 * kernel notification.
 */
#include "mf_fs.h"

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
#include "mf_layout.h"
#include "mf_log.h"
#include "mf_metrics.h"
#include "mf_metricsfs.h"
#include "mf_store.h"
#include "mf_tree.h"
#include "mf_banned.h"

_Static_assert(sizeof(fuse_ino_t) >= sizeof(uint64_t), "64-bit inodes");

/*---- state -----------------------------------------------------------*/

/* One cached layout of one track version; reference counted. */
struct served {
	_Atomic int refs;		/* atomic */
	struct mf_track_info info;	/* immutable after publication */
	char *backing_path;		/* immutable */
	struct mf_layout *layout;	/* immutable */
	size_t mem;			/* bytes charged to the cache */
	struct served *prev, *next;	/* LRU list; guarded by cache_lock */
};

/* An open file handle. */
struct handle {
	int fd;				/* the backing file */
	struct served *sv;		/* one reference */
};

struct mf_fs {
	struct mf_fs_config cfg;	/* immutable after mf_fs_new */
	uid_t uid;
	gid_t gid;
	struct timespec started;	/* directory times; immutable */

	pthread_rwlock_t tree_lock;
	struct mf_tree *tree;		/* guarded by tree_lock */
	uint64_t total_bytes;		/* guarded by tree_lock */

	struct mf_inotab *inotab;	/* refresh thread (or mf_fs_new) only */
	struct mf_store *poll_store;	/* refresh thread (or mf_fs_new) only */
	int64_t watermark;		/* refresh thread only */
	int64_t data_version;		/* refresh thread only */

	pthread_mutex_t cache_lock;
	struct served **slots;		/* guarded by cache_lock; by track id */
	size_t nslots;			/* power of two; guarded by cache_lock */
	size_t nentries;		/* guarded by cache_lock */
	size_t cache_mem;		/* guarded by cache_lock */
	uint64_t cache_gen;		/* guarded by cache_lock */
	struct served *lru_head;	/* most recent; guarded by cache_lock */
	struct served *lru_tail;	/* guarded by cache_lock */

	pthread_key_t store_key;	/* per-thread read-only connection */

	struct fuse_session *se;	/* set before the refresh thread starts */
	pthread_t refresh_thread;
	bool refresh_running;		/* owner thread only */
	pthread_mutex_t stop_lock;
	pthread_cond_t stop_cond;	/* signalled by mf_fs_stop */
	_Atomic bool stop;		/* atomic */
};

/*---- per-thread store ------------------------------------------------*/

static void store_key_free(void *p)
{
	mf_store_close(p);
}

/* This thread's read-only connection, opened on first use. */
static struct mf_store *thread_store(struct mf_fs *fs)
{
	struct mf_store *s = pthread_getspecific(fs->store_key);
	char err[512];

	if (s)
		return s;
	if (mf_store_open(fs->cfg.db_path, MF_STORE_READONLY, &s, err,
			  sizeof(err)) < 0) {
		mf_err("mount", "%s", err);
		return NULL;
	}
	if (pthread_setspecific(fs->store_key, s) != 0) {
		mf_store_close(s);
		return NULL;
	}
	return s;
}

/*---- rendering and tree building -------------------------------------*/

/* Values of the template's fields for one track. */
struct render_ctx {
	size_t nfields;
	const char **names;	/* borrowed from the template */
	char **values;		/* joined multi-values, or NULL */
	size_t *lens;
	size_t *caps;
};

static const char *render_get(void *ctx, const char *field)
{
	struct render_ctx *rc = ctx;

	for (size_t i = 0; i < rc->nfields; i++)
		if (strcmp(rc->names[i], field) == 0)
			return rc->values[i];
	return NULL;
}

/* Append @v to field @i, joining multi-values with "; ". */
static int render_add(struct render_ctx *rc, size_t i, const char *v, size_t n)
{
	size_t need = rc->lens[i] + (rc->lens[i] ? 2 : 0) + n + 1;

	if (need > rc->caps[i]) {
		size_t cap = need < 64 ? 64 : need * 2;
		char *p = realloc(rc->values[i], cap);

		if (!p)
			return -ENOMEM;
		rc->values[i] = p;
		rc->caps[i] = cap;
	}
	if (rc->lens[i]) {
		memcpy(rc->values[i] + rc->lens[i], "; ", 2);
		rc->lens[i] += 2;
	}
	memcpy(rc->values[i] + rc->lens[i], v, n);
	rc->lens[i] += n;
	rc->values[i][rc->lens[i]] = '\0';
	return 0;
}

static void render_reset(struct render_ctx *rc)
{
	for (size_t i = 0; i < rc->nfields; i++) {
		rc->lens[i] = 0;
		if (rc->values[i])
			rc->values[i][0] = '\0';
	}
}

struct entries {
	struct mf_tree_entry *v;
	size_t n, cap;
};

static void entries_release(struct entries *e)
{
	for (size_t i = 0; i < e->n; i++)
		free((char *)e->v[i].path);
	free(e->v);
	memset(e, 0, sizeof(*e));
}

static int entries_add(struct entries *e, int64_t id, char *path)
{
	struct mf_tree_entry *v = mf_array_grow(e->v, &e->cap, e->n + 1,
						sizeof(*v));

	if (!v)
		return -ENOMEM;
	e->v = v;
	e->v[e->n].track_id = id;
	e->v[e->n].path = path;
	e->n++;
	return 0;
}

/* Render one track into @e; an empty-valued ctx means no tags. */
static int render_one(struct mf_fs *fs, struct render_ctx *rc, int64_t id,
		      const char *format, struct entries *e)
{
	char *path = NULL;
	int ret;

	ret = mf_template_render(fs->cfg.tmpl, &fs->cfg.topts, render_get, rc,
				 mf_track_ext(format), &path);
	if (ret == -ENOENT) {
		mf_debug("mount", "track %lld skipped: missing field",
			 (long long)id);
		return 0;
	}
	if (ret < 0) {
		mf_warn("mount", "track %lld: cannot render its path: %s",
			(long long)id, strerror(-ret));
		return ret == -ENOMEM ? ret : 0;
	}
	ret = entries_add(e, id, path);
	if (ret < 0)
		free(path);
	return ret;
}

/*
 * Render every track's path in one read transaction on @s and build a new
 * tree. Also reads the changelog head (*@head) inside the same snapshot so
 * that no change is missed, and the total backing bytes.
 */
static int build_tree(struct mf_fs *fs, struct mf_store *s,
		      struct mf_tree **out, int64_t *head, uint64_t *total)
{
	static const char tracks_sql[] =
		"SELECT id, format, backing_size FROM tracks ORDER BY id";
	sqlite3 *db = mf_store_db(s);
	sqlite3_stmt *ts = NULL, *gs = NULL, *hs = NULL;
	struct render_ctx rc = { 0 };
	struct entries e = { 0 };
	char *tags_sql = NULL;
	size_t tags_len = 0;
	FILE *mem = NULL;
	int rc_t, rc_g = SQLITE_DONE, ret = 0;
	int64_t g_id = -1;

	*total = 0;
	rc.nfields = mf_template_nfields(fs->cfg.tmpl);
	rc.names = calloc(rc.nfields + 1, sizeof(*rc.names));
	rc.values = calloc(rc.nfields + 1, sizeof(*rc.values));
	rc.lens = calloc(rc.nfields + 1, sizeof(*rc.lens));
	rc.caps = calloc(rc.nfields + 1, sizeof(*rc.caps));
	if (!rc.names || !rc.values || !rc.lens || !rc.caps) {
		ret = -ENOMEM;
		goto out;
	}
	/* SELECT the template's fields only: key IN (?, ?, ...) */
	mem = open_memstream(&tags_sql, &tags_len);
	if (!mem) {
		ret = -ENOMEM;
		goto out;
	}
	fputs("SELECT track_id, key, value FROM tags WHERE value_blob IS NULL "
	      "AND key IN (", mem);
	for (size_t i = 0; i < rc.nfields; i++) {
		rc.names[i] = mf_template_field(fs->cfg.tmpl, i);
		fputs(i ? ", ?" : "?", mem);
	}
	fputs(") ORDER BY track_id, key, ordinal", mem);
	if (fclose(mem) != 0) {
		mem = NULL;
		ret = -ENOMEM;
		goto out;
	}
	mem = NULL;

	if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		ret = -EIO;
		goto out;
	}
	if (sqlite3_prepare_v2(db, tracks_sql, -1, &ts, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, tags_sql, -1, &gs, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "SELECT coalesce(max(seq), 0) FROM "
			       "track_changes", -1, &hs, NULL) != SQLITE_OK) {
		mf_err("mount", "cannot read the store: %s", sqlite3_errmsg(db));
		ret = -EIO;
		goto out_end;
	}
	for (size_t i = 0; i < rc.nfields; i++)
		sqlite3_bind_text(gs, (int)i + 1, rc.names[i], -1, SQLITE_STATIC);
	if (sqlite3_step(hs) != SQLITE_ROW) {
		ret = -EIO;
		goto out_end;
	}
	*head = sqlite3_column_int64(hs, 0);
	rc_g = rc.nfields ? sqlite3_step(gs) : SQLITE_DONE;
	if (rc_g == SQLITE_ROW)
		g_id = sqlite3_column_int64(gs, 0);
	while ((rc_t = sqlite3_step(ts)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(ts, 0);
		const char *format = (const char *)sqlite3_column_text(ts, 1);
		int64_t size = sqlite3_column_int64(ts, 2);

		if (size > 0)
			*total += (uint64_t)size;
		render_reset(&rc);
		while (rc_g == SQLITE_ROW && g_id <= id) {
			if (g_id == id) {
				const char *key = (const char *)
					sqlite3_column_text(gs, 1);
				const char *v = (const char *)
					sqlite3_column_text(gs, 2);
				int n = sqlite3_column_bytes(gs, 2);

				for (size_t i = 0; key && v && i < rc.nfields; i++) {
					if (strcmp(rc.names[i], key) != 0)
						continue;
					ret = render_add(&rc, i, v, (size_t)n);
					if (ret < 0)
						goto out_end;
				}
			}
			rc_g = sqlite3_step(gs);
			if (rc_g == SQLITE_ROW)
				g_id = sqlite3_column_int64(gs, 0);
		}
		if (!format)
			continue;
		ret = render_one(fs, &rc, id, format, &e);
		if (ret < 0)
			goto out_end;
	}
	if (rc_t != SQLITE_DONE || (rc_g != SQLITE_DONE && rc_g != SQLITE_ROW)) {
		mf_err("mount", "cannot read the store: %s", sqlite3_errmsg(db));
		ret = -EIO;
		goto out_end;
	}
	ret = mf_tree_build(fs->inotab, e.v, e.n, out);
	if (ret < 0)
		mf_err("mount", "cannot build the tree: %s", strerror(-ret));
out_end:
	sqlite3_finalize(ts);
	sqlite3_finalize(gs);
	sqlite3_finalize(hs);
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
out:
	if (mem)
		fclose(mem);
	free(tags_sql);
	for (size_t i = 0; rc.values && i < rc.nfields; i++)
		free(rc.values[i]);
	free(rc.names);
	free(rc.values);
	free(rc.lens);
	free(rc.caps);
	entries_release(&e);
	return ret;
}

/*---- layout cache ----------------------------------------------------*/

static void served_put(struct served *sv)
{
	if (!sv || atomic_fetch_sub(&sv->refs, 1) != 1)
		return;
	mf_layout_free(sv->layout);
	free(sv->backing_path);
	free(sv);
}

static size_t slot_of(const struct mf_fs *fs, int64_t id)
{
	uint64_t h = (uint64_t)id * 0x9e3779b97f4a7c15ull;

	return (size_t)(h >> 20) & (fs->nslots - 1);
}

/* Caller holds cache_lock. Returns the slot index of @id or nslots. */
static size_t cache_find(const struct mf_fs *fs, int64_t id)
{
	size_t j;

	if (!fs->nslots)
		return 0;
	j = slot_of(fs, id);
	while (fs->slots[j]) {
		if (fs->slots[j]->info.id == id)
			return j;
		j = (j + 1) & (fs->nslots - 1);
	}
	return fs->nslots;
}

static void lru_unlink(struct mf_fs *fs, struct served *sv)
{
	if (sv->prev)
		sv->prev->next = sv->next;
	else
		fs->lru_head = sv->next;
	if (sv->next)
		sv->next->prev = sv->prev;
	else
		fs->lru_tail = sv->prev;
	sv->prev = sv->next = NULL;
}

static void lru_push(struct mf_fs *fs, struct served *sv)
{
	sv->prev = NULL;
	sv->next = fs->lru_head;
	if (fs->lru_head)
		fs->lru_head->prev = sv;
	fs->lru_head = sv;
	if (!fs->lru_tail)
		fs->lru_tail = sv;
}

/* Remove slot @j, keeping linear probing intact. Caller holds cache_lock. */
static struct served *cache_remove_slot(struct mf_fs *fs, size_t j)
{
	struct served *sv = fs->slots[j];
	size_t k = j;

	fs->slots[j] = NULL;
	for (;;) {
		size_t home;

		k = (k + 1) & (fs->nslots - 1);
		if (!fs->slots[k])
			break;
		home = slot_of(fs, fs->slots[k]->info.id);
		/* move back if its home is cyclically outside (j, k] */
		if ((j < k && (home <= j || home > k)) ||
		    (j > k && (home <= j && home > k))) {
			fs->slots[j] = fs->slots[k];
			fs->slots[k] = NULL;
			j = k;
		}
	}
	lru_unlink(fs, sv);
	fs->nentries--;
	fs->cache_mem -= sv->mem;
	return sv;
}

static int cache_grow(struct mf_fs *fs)
{
	size_t ncap = fs->nslots ? fs->nslots * 2 : 256;
	struct served **old = fs->slots;
	size_t oldn = fs->nslots;
	struct served **ns = calloc(ncap, sizeof(*ns));

	if (!ns)
		return -ENOMEM;
	fs->slots = ns;
	fs->nslots = ncap;
	for (size_t i = 0; i < oldn; i++) {
		size_t j;

		if (!old[i])
			continue;
		j = slot_of(fs, old[i]->info.id);
		while (ns[j])
			j = (j + 1) & (ncap - 1);
		ns[j] = old[i];
	}
	free(old);
	return 0;
}

/* Release a chain (linked by ->next) of entries taken out of the cache. */
static void served_put_chain(struct served *dead)
{
	while (dead) {
		struct served *next = dead->next;

		served_put(dead);
		dead = next;
	}
}

/* Drop cached layouts of @ids (all when @ids is NULL). */
static void cache_drop(struct mf_fs *fs, const int64_t *ids, size_t n)
{
	struct served *dead = NULL;

	pthread_mutex_lock(&fs->cache_lock);
	fs->cache_gen++;
	if (!ids) {
		while (fs->lru_head) {
			struct served *sv = cache_remove_slot(fs,
					cache_find(fs, fs->lru_head->info.id));

			sv->next = dead;
			dead = sv;
		}
	} else {
		for (size_t i = 0; i < n; i++) {
			size_t j = cache_find(fs, ids[i]);
			struct served *sv;

			if (j >= fs->nslots)
				continue;
			sv = cache_remove_slot(fs, j);
			sv->next = dead;
			dead = sv;
		}
	}
	pthread_mutex_unlock(&fs->cache_lock);
	served_put_chain(dead);
}

/*
 * The served state of track @id, with one reference for the caller
 * (served_put()). Returns 0, ENOENT (track gone), EIO (malformed row,
 * store error, synthesis refused) or ENOMEM: positive errno for replies.
 */
static int served_get(struct mf_fs *fs, int64_t id, struct served **out)
{
	struct mf_store *s;
	struct mf_track *t = NULL;
	struct served *sv, *evict = NULL;
	uint64_t gen;
	size_t j;
	int ret;

	pthread_mutex_lock(&fs->cache_lock);
	j = cache_find(fs, id);
	if (j < fs->nslots) {
		sv = fs->slots[j];
		atomic_fetch_add(&sv->refs, 1);
		lru_unlink(fs, sv);
		lru_push(fs, sv);
		pthread_mutex_unlock(&fs->cache_lock);
		mf_metric_inc(MF_M_CACHE_HITS);
		*out = sv;
		return 0;
	}
	gen = fs->cache_gen;
	pthread_mutex_unlock(&fs->cache_lock);
	mf_metric_inc(MF_M_CACHE_MISSES);

	s = thread_store(fs);
	if (!s)
		return EIO;
	ret = mf_track_load(s, id, &t);
	if (ret < 0)
		return ret == -ENOENT ? ENOENT : ret == -ENOMEM ? ENOMEM : EIO;
	sv = calloc(1, sizeof(*sv));
	if (!sv) {
		mf_track_free(t);
		return ENOMEM;
	}
	sv->info = *mf_track_info(t);
	sv->backing_path = strdup(mf_track_backing_path(t));
	ret = mf_track_layout(t, fs->cfg.mode, NULL, &sv->layout);
	mf_track_free(t);
	if (ret < 0 || !sv->backing_path) {
		if (ret < 0)
			mf_warn("mount", "track %lld: cannot synthesize: %s",
				(long long)id, strerror(-ret));
		mf_layout_free(sv->layout);
		free(sv->backing_path);
		free(sv);
		return ret == -ENOMEM || !ret ? ENOMEM : EIO;
	}
	sv->mem = sizeof(*sv) + mf_layout_mem(sv->layout) +
		  strlen(sv->backing_path);
	atomic_init(&sv->refs, 1);

	pthread_mutex_lock(&fs->cache_lock);
	if (gen == fs->cache_gen && cache_find(fs, id) >= fs->nslots &&
	    ((fs->nentries + 1) * 2 <= fs->nslots || cache_grow(fs) == 0)) {
		j = slot_of(fs, id);
		while (fs->slots[j])
			j = (j + 1) & (fs->nslots - 1);
		fs->slots[j] = sv;
		atomic_fetch_add(&sv->refs, 1);
		lru_push(fs, sv);
		fs->nentries++;
		fs->cache_mem += sv->mem;
		while (fs->cache_mem > fs->cfg.cache_bytes && fs->lru_tail &&
		       fs->lru_tail != sv) {
			struct served *old = cache_remove_slot(fs,
					cache_find(fs, fs->lru_tail->info.id));

			old->next = evict;
			evict = old;
		}
	}
	pthread_mutex_unlock(&fs->cache_lock);
	served_put_chain(evict);
	*out = sv;
	return 0;
}

/*---- attributes ------------------------------------------------------*/

/*
 * A file's mtime: the later of the backing file's mtime and the track's
 * last metadata change. updated_at has whole seconds only, so the
 * nanoseconds carry content_version: every change of served bytes moves
 * mtime even within one second.
 */
static struct timespec served_mtime(const struct mf_track_info *in)
{
	int64_t meta = in->updated_at * 1000000000 +
		       (in->content_version % 1000000000);
	int64_t ns = in->backing_mtime_ns > meta ? in->backing_mtime_ns : meta;
	struct timespec ts = { .tv_sec = ns / 1000000000,
			       .tv_nsec = ns % 1000000000 };
	return ts;
}

static void file_attr(struct mf_fs *fs, fuse_ino_t ino, const struct served *sv,
		      struct stat *st)
{
	uint64_t size = mf_layout_size(sv->layout);

	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_mode = S_IFREG | 0444;
	st->st_nlink = 1;
	st->st_uid = fs->uid;
	st->st_gid = fs->gid;
	st->st_size = (off_t)size;
	st->st_blksize = 65536;
	st->st_blocks = (blkcnt_t)((size + 511) / 512);
	st->st_mtim = served_mtime(&sv->info);
	st->st_ctim = st->st_mtim;
	st->st_atim = st->st_mtim;
}

static void dir_attr(struct mf_fs *fs, fuse_ino_t ino, size_t nsubdir,
		     struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_mode = S_IFDIR | 0555;
	st->st_nlink = (nlink_t)(2 + nsubdir);
	st->st_uid = fs->uid;
	st->st_gid = fs->gid;
	st->st_size = 4096;
	st->st_blksize = 4096;
	st->st_blocks = 8;
	st->st_mtim = fs->started;
	st->st_ctim = fs->started;
	st->st_atim = fs->started;
}

/* What a handler needs of a node, copied out under tree_lock. */
struct node_copy {
	fuse_ino_t ino;
	bool is_dir;
	int64_t track;
	size_t nsubdir;
};

static void copy_node(const struct mf_node *n, struct node_copy *c)
{
	c->ino = mf_node_ino(n);
	c->is_dir = mf_node_is_dir(n);
	c->track = mf_node_track(n);
	c->nsubdir = mf_node_nsubdir(n);
}

/*
 * Copy node @ino (or, with @name, entry @name of directory @ino) of the
 * current tree into *@c under tree_lock. Returns 0 or ENOENT.
 */
static int find_node(struct mf_fs *fs, fuse_ino_t ino, const char *name,
		     struct node_copy *c)
{
	const struct mf_node *n;

	pthread_rwlock_rdlock(&fs->tree_lock);
	n = name ? mf_tree_lookup(fs->tree, ino, name) : mf_tree_get(fs->tree, ino);
	if (n)
		copy_node(n, c);
	pthread_rwlock_unlock(&fs->tree_lock);
	return n ? 0 : ENOENT;
}

/* Attributes of a node copy; returns 0 or a positive errno. */
static int node_attr(struct mf_fs *fs, const struct node_copy *c,
		     struct stat *st)
{
	struct served *sv;
	int err;

	if (c->is_dir) {
		dir_attr(fs, c->ino, c->nsubdir, st);
		return 0;
	}
	err = served_get(fs, c->track, &sv);
	if (err)
		return err;
	file_attr(fs, c->ino, sv, st);
	served_put(sv);
	return 0;
}

/*---- handlers --------------------------------------------------------*/

static struct mf_fs *fs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static void mf_fs_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	/* We invalidate explicitly; keep the page cache across opens. */
	conn->want &= ~(unsigned)FUSE_CAP_AUTO_INVAL_DATA;
	if (conn->capable & FUSE_CAP_ASYNC_READ)
		conn->want |= FUSE_CAP_ASYNC_READ;
}

static void mf_fs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct mf_fs *fs = fs_of(req);
	struct fuse_entry_param e;
	struct node_copy c;
	int err;

	memset(&e, 0, sizeof(e));
	err = find_node(fs, parent, name, &c);
	if (!err)
		err = node_attr(fs, &c, &e.attr);
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	e.ino = c.ino;
	e.generation = 0;	/* inode numbers are never reused */
	e.attr_timeout = fs->cfg.entry_timeout_s;
	e.entry_timeout = fs->cfg.entry_timeout_s;
	fuse_reply_entry(req, &e);
}

static void mf_fs_getattr(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	struct mf_fs *fs = fs_of(req);
	struct node_copy c;
	struct stat st;
	int err;

	if (fi && fi->fh) {
		/* an open file answers with the version it serves */
		struct handle *h = (struct handle *)(uintptr_t)fi->fh;

		file_attr(fs, ino, h->sv, &st);
		fuse_reply_attr(req, &st, fs->cfg.entry_timeout_s);
		return;
	}
	err = find_node(fs, ino, NULL, &c);
	if (!err)
		err = node_attr(fs, &c, &st);
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	fuse_reply_attr(req, &st, fs->cfg.entry_timeout_s);
}

static void mf_fs_opendir(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	struct node_copy c;
	int err = find_node(fs_of(req), ino, NULL, &c);

	if (!err && !c.is_dir)
		err = ENOTDIR;
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_open(req, fi);
}

static void mf_fs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size,
			  off_t off, struct fuse_file_info *fi)
{
	struct mf_fs *fs = fs_of(req);
	const struct mf_node *dir, *n;
	char *buf;
	size_t used = 0;
	int err = 0;

	(void)fi;
	if (size > (1u << 20))
		size = 1u << 20;
	buf = malloc(size);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	pthread_rwlock_rdlock(&fs->tree_lock);
	dir = mf_tree_get(fs->tree, ino);
	if (!dir) {
		err = ENOENT;
		goto out_unlock;
	}
	for (off_t i = off; ; i++) {
		struct stat st;
		const char *name;
		size_t need;

		/* offsets: 0 ".", 1 "..", 2 + k the k-th entry */
		memset(&st, 0, sizeof(st));
		if (i == 0) {
			name = ".";
			st.st_ino = mf_node_ino(dir);
			st.st_mode = S_IFDIR;
		} else if (i == 1) {
			name = "..";
			st.st_ino = mf_node_ino(mf_tree_parent(fs->tree, dir));
			st.st_mode = S_IFDIR;
		} else {
			n = mf_tree_child(fs->tree, dir, (size_t)(i - 2));
			if (!n)
				break;
			name = mf_node_name(n);
			st.st_ino = mf_node_ino(n);
			st.st_mode = mf_node_is_dir(n) ? S_IFDIR : S_IFREG;
		}
		need = fuse_add_direntry(req, buf + used, size - used, name,
					 &st, i + 1);
		if (need > size - used)
			break;
		used += need;
	}
out_unlock:
	pthread_rwlock_unlock(&fs->tree_lock);
	if (err)
		fuse_reply_err(req, err);
	else
		fuse_reply_buf(req, buf, used);
	free(buf);
}

static void mf_fs_releasedir(fuse_req_t req, fuse_ino_t ino,
			     struct fuse_file_info *fi)
{
	(void)ino;
	(void)fi;
	fuse_reply_err(req, 0);
}

static bool stamp_matches(const struct stat *sb, const struct mf_track_info *in)
{
	return (uint64_t)sb->st_size == in->backing_size &&
	       mf_store_ns(&sb->st_mtim) == in->backing_mtime_ns &&
	       mf_store_ns(&sb->st_ctim) == in->backing_ctime_ns;
}

/* The handle's backing file still has the stamp of the scan; logs if not. */
static bool handle_fresh(const struct handle *h)
{
	struct stat sb;

	if (fstat(h->fd, &sb) == 0 && stamp_matches(&sb, &h->sv->info))
		return true;
	mf_metric_inc(MF_M_ERR_DRIFT);
	mf_warn("mount", "'%s' changed on disk since the last scan: refusing "
		"to serve it (rescan)", h->sv->backing_path);
	return false;
}

static void mf_fs_open(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct mf_fs *fs = fs_of(req);
	struct node_copy c;
	struct handle *h;
	int err;

	if ((fi->flags & O_ACCMODE) != O_RDONLY) {
		fuse_reply_err(req, EROFS);
		return;
	}
	err = find_node(fs, ino, NULL, &c);
	if (err) {
		fuse_reply_err(req, err);
		return;
	}
	if (c.is_dir) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	h = calloc(1, sizeof(*h));
	if (!h) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	err = served_get(fs, c.track, &h->sv);
	if (err == EIO)
		mf_metric_inc(MF_M_ERR_STORE);
	if (err)
		goto out_free;
	h->fd = open(h->sv->backing_path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (h->fd < 0) {
		mf_warn("mount", "cannot open '%s': %s", h->sv->backing_path,
			strerror(errno));
		err = errno == ENOENT ? EIO : errno;
		mf_metric_inc(err == EIO ? MF_M_ERR_DRIFT : MF_M_ERR_OTHER);
		goto out_put;
	}
	if (!handle_fresh(h)) {
		err = EIO;
		goto out_close;
	}
	fi->fh = (uint64_t)(uintptr_t)h;
	fi->keep_cache = 1;
	mf_metric_inc(MF_M_OPENS);
	mf_metric_inc(MF_M_OPEN_HANDLES);
	fuse_reply_open(req, fi);
	return;

out_close:
	close(h->fd);
out_put:
	served_put(h->sv);
out_free:
	free(h);
	fuse_reply_err(req, err);
}

struct read_io {
	struct mf_fs *fs;
	int fd;
};

static int io_read_blob(void *ctx, const struct mf_blob_ref *ref, uint64_t off,
			void *buf, size_t len)
{
	struct read_io *io = ctx;
	struct mf_store *s = thread_store(io->fs);

	int ret = s ? mf_store_blob_read(s, ref, off, buf, len) : -EIO;

	if (ret < 0)
		mf_metric_inc(MF_M_ERR_STORE);
	return ret;
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

static void mf_fs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	struct mf_fs *fs = fs_of(req);
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;
	struct read_io rio = { .fs = fs, .fd = h->fd };
	struct mf_layout_io io = {
		.ctx = &rio,
		.read_blob = io_read_blob,
		.read_backing = io_read_backing,
	};
	ssize_t n;
	char *buf;

	(void)ino;
	if (off < 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	/* every read re-checks the stamp: drift gives EIO, never mixed bytes */
	if (!handle_fresh(h)) {
		fuse_reply_err(req, EIO);
		return;
	}
	if (size > (1u << 20))
		size = 1u << 20;
	buf = malloc(size ? size : 1);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	n = mf_layout_read_at(h->sv->layout, (uint64_t)off, buf, size, &io);
	if (n < 0) {
		fuse_reply_err(req, n == -ENOMEM ? ENOMEM : EIO);
	} else {
		mf_metricsfs_count_read(h->sv->layout, (uint64_t)off, (size_t)n);
		fuse_reply_buf(req, buf, (size_t)n);
	}
	free(buf);
}

static void mf_fs_release(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	struct handle *h = (struct handle *)(uintptr_t)fi->fh;

	(void)ino;
	if (h) {
		close(h->fd);
		served_put(h->sv);
		free(h);
		mf_metric_add(MF_M_OPEN_HANDLES, -1);
	}
	fuse_reply_err(req, 0);
}

static void mf_fs_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct mf_fs *fs = fs_of(req);
	struct statvfs sv;

	(void)ino;
	memset(&sv, 0, sizeof(sv));
	sv.f_bsize = 4096;
	sv.f_frsize = 4096;
	pthread_rwlock_rdlock(&fs->tree_lock);
	sv.f_blocks = (fsblkcnt_t)((fs->total_bytes + 4095) / 4096);
	sv.f_files = (fsfilcnt_t)mf_tree_nnodes(fs->tree);
	pthread_rwlock_unlock(&fs->tree_lock);
	sv.f_namemax = 255;
	fuse_reply_statfs(req, &sv);
}

static void mf_fs_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	/*
	 * Inode numbers are never reused for another path (mf_inotab), so
	 * there is no per-inode state to drop here.
	 */
	(void)ino;
	(void)nlookup;
	fuse_reply_none(req);
}

static void mf_fs_forget_multi(fuse_req_t req, size_t count,
			       struct fuse_forget_data *forgets)
{
	(void)count;
	(void)forgets;
	fuse_reply_none(req);
}

/* Every write-type operation: the mount is read-only. */
static void mf_fs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
			  int to_set, struct fuse_file_info *fi)
{
	(void)ino;
	(void)attr;
	(void)to_set;
	(void)fi;
	fuse_reply_err(req, EROFS);
}

static void mf_fs_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
			mode_t mode, dev_t rdev)
{
	(void)parent;
	(void)name;
	(void)mode;
	(void)rdev;
	fuse_reply_err(req, EROFS);
}

static void mf_fs_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
			mode_t mode)
{
	(void)parent;
	(void)name;
	(void)mode;
	fuse_reply_err(req, EROFS);
}

static void mf_fs_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	(void)parent;
	(void)name;
	fuse_reply_err(req, EROFS);
}

static void mf_fs_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
			  const char *name)
{
	(void)link;
	(void)parent;
	(void)name;
	fuse_reply_err(req, EROFS);
}

static void mf_fs_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
			 fuse_ino_t newparent, const char *newname,
			 unsigned int flags)
{
	(void)parent;
	(void)name;
	(void)newparent;
	(void)newname;
	(void)flags;
	fuse_reply_err(req, EROFS);
}

static void mf_fs_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		       const char *newname)
{
	(void)ino;
	(void)newparent;
	(void)newname;
	fuse_reply_err(req, EROFS);
}

static void mf_fs_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
			size_t size, off_t off, struct fuse_file_info *fi)
{
	(void)ino;
	(void)buf;
	(void)size;
	(void)off;
	(void)fi;
	fuse_reply_err(req, EROFS);
}

static void mf_fs_create(fuse_req_t req, fuse_ino_t parent, const char *name,
			 mode_t mode, struct fuse_file_info *fi)
{
	(void)parent;
	(void)name;
	(void)mode;
	(void)fi;
	fuse_reply_err(req, EROFS);
}

static void mf_fs_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name,
			   const char *value, size_t size, int flags)
{
	(void)ino;
	(void)name;
	(void)value;
	(void)size;
	(void)flags;
	fuse_reply_err(req, EROFS);
}

static void mf_fs_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	(void)ino;
	(void)name;
	fuse_reply_err(req, EROFS);
}

static const struct fuse_lowlevel_ops mf_fs_oper = {
	.init = mf_fs_init,
	.lookup = mf_fs_lookup,
	.forget = mf_fs_forget,
	.forget_multi = mf_fs_forget_multi,
	.getattr = mf_fs_getattr,
	.opendir = mf_fs_opendir,
	.readdir = mf_fs_readdir,
	.releasedir = mf_fs_releasedir,
	.open = mf_fs_open,
	.read = mf_fs_read,
	.release = mf_fs_release,
	.statfs = mf_fs_statfs,
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

/*---- refresh thread --------------------------------------------------*/

static void notify_entry(struct mf_fs *fs, fuse_ino_t parent, const char *name)
{
	int r = fuse_lowlevel_notify_inval_entry(fs->se, parent, name,
						 strlen(name));

	mf_metric_inc(MF_M_INVAL_ENTRY);
	if (r < 0 && r != -ENOENT && r != -EBADF && r != -ENODEV)
		mf_debug("mount", "inval_entry %s: %s", name, strerror(-r));
}

static void notify_inode(struct mf_fs *fs, fuse_ino_t ino)
{
	int r = fuse_lowlevel_notify_inval_inode(fs->se, ino, 0, 0);

	mf_metric_inc(MF_M_INVAL_INODE);
	if (r < 0 && r != -ENOENT && r != -EBADF && r != -ENODEV)
		mf_debug("mount", "inval_inode %llu: %s",
			 (unsigned long long)ino, strerror(-r));
}

/*
 * Tell the kernel what changed for node @n of tree @from, which is not
 * (or not the same way) in tree @to: the entry (and each ancestor
 * directory that vanished or appeared) and the parent's attributes.
 */
static void notify_path(struct mf_fs *fs, const struct mf_tree *from,
			const struct mf_tree *to, const struct mf_node *n)
{
	while (n && mf_node_ino(n) != MF_TREE_ROOT_INO) {
		const struct mf_node *p = mf_tree_parent(from, n);
		const struct mf_node *other = mf_tree_get(to, mf_node_ino(n));

		notify_entry(fs, mf_node_ino(p), mf_node_name(n));
		notify_inode(fs, mf_node_ino(p));
		if (other)
			break;	/* this directory exists in both trees */
		n = p;
	}
}

static void notify_changes(struct mf_fs *fs, const struct mf_tree *old,
			   const struct mf_tree *new, const int64_t *ids,
			   size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct mf_node *o = mf_tree_find_track(old, ids[i]);
		const struct mf_node *m = mf_tree_find_track(new, ids[i]);

		if (o && m && mf_node_ino(o) == mf_node_ino(m)) {
			notify_inode(fs, mf_node_ino(o));	/* new bytes */
			continue;
		}
		if (o) {
			notify_inode(fs, mf_node_ino(o));
			notify_path(fs, old, new, o);
		}
		if (m)
			notify_path(fs, new, old, m);
	}
}

/* Append @id to the array *@ids of *@n items (capacity *@cap). */
static int push_id(int64_t **ids, size_t *n, size_t *cap, int64_t id)
{
	int64_t *v = mf_array_grow(*ids, cap, *n + 1, sizeof(*v));

	if (!v)
		return -ENOMEM;
	*ids = v;
	v[(*n)++] = id;
	return 0;
}

/* Track ids of every file of @t, appended to *@ids. */
static int all_tracks(const struct mf_tree *t, int64_t **ids, size_t *n,
		      size_t *cap)
{
	size_t total = mf_tree_nnodes(t);

	/* walk by inode is not available; walk directories from the root */
	const struct mf_node **stack = malloc((total + 1) * sizeof(*stack));
	size_t sp = 0;

	if (!stack)
		return -ENOMEM;
	stack[sp++] = mf_tree_root(t);
	while (sp) {
		const struct mf_node *d = stack[--sp];

		for (size_t i = 0; i < mf_node_nchild(d); i++) {
			const struct mf_node *c = mf_tree_child(t, d, i);

			if (mf_node_is_dir(c)) {
				stack[sp++] = c;
				continue;
			}
			if (push_id(ids, n, cap, mf_node_track(c)) < 0) {
				free(stack);
				return -ENOMEM;
			}
		}
	}
	free(stack);
	return 0;
}

/* Changed track ids after the watermark; *@gap when the ring was pruned. */
static int read_changes(struct mf_fs *fs, int64_t from, int64_t **ids,
			size_t *n, size_t *cap, bool *gap, int64_t *head)
{
	sqlite3 *db = mf_store_db(fs->poll_store);
	sqlite3_stmt *st = NULL;
	int64_t minseq = 0;
	int rc, ret = 0;

	*gap = false;
	if (sqlite3_prepare_v2(db, "SELECT coalesce(min(seq), 0), "
			       "coalesce(max(seq), 0) FROM track_changes", -1,
			       &st, NULL) != SQLITE_OK)
		return -EIO;
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		return -EIO;
	}
	minseq = sqlite3_column_int64(st, 0);
	*head = sqlite3_column_int64(st, 1);
	sqlite3_finalize(st);
	if (*head < from || minseq > from + 1) {
		*gap = true;	/* pruned past us, or the store was replaced */
		return 0;
	}
	if (sqlite3_prepare_v2(db, "SELECT DISTINCT track_id FROM "
			       "track_changes WHERE seq > ? AND seq <= ?", -1,
			       &st, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_int64(st, 1, from);
	sqlite3_bind_int64(st, 2, *head);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		ret = push_id(ids, n, cap, sqlite3_column_int64(st, 0));
		if (ret < 0)
			break;
	}
	if (!ret && rc != SQLITE_DONE)
		ret = -EIO;
	sqlite3_finalize(st);
	return ret;
}

static int refresh_once(struct mf_fs *fs)
{
	struct mf_tree *new = NULL, *old;
	int64_t *ids = NULL, head = 0, seen = 0, dv = 0;
	size_t n = 0, cap = 0;
	uint64_t total = 0;
	bool gap = false;
	struct timespec t0, t1;
	int ret;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (mf_store_data_version(fs->poll_store, &dv) < 0)
		return -EIO;
	if (dv == fs->data_version)
		return 0;
	fs->data_version = dv;
	ret = read_changes(fs, fs->watermark, &ids, &n, &cap, &gap, &seen);
	if (ret < 0)
		goto out;
	if (!gap && n == 0) {
		fs->watermark = seen;	/* a commit that changed no track */
		goto out;
	}
	ret = build_tree(fs, fs->poll_store, &new, &head, &total);
	if (ret < 0)
		goto out;
	if (!gap && head > seen) {
		/* commits between the two reads are in the new tree too */
		int64_t later = 0;

		ret = read_changes(fs, seen, &ids, &n, &cap, &gap, &later);
		if (ret < 0) {
			mf_tree_free(new);
			goto out;
		}
	}
	pthread_rwlock_wrlock(&fs->tree_lock);
	old = fs->tree;
	fs->tree = new;
	fs->total_bytes = total;
	pthread_rwlock_unlock(&fs->tree_lock);
	if (gap) {
		n = 0;
		ret = all_tracks(old, &ids, &n, &cap);
		if (!ret)
			ret = all_tracks(new, &ids, &n, &cap);
		cache_drop(fs, NULL, 0);
	} else {
		cache_drop(fs, ids, n);
	}
	if (!ret)
		notify_changes(fs, old, new, ids, n);
	mf_tree_free(old);
	mf_info("mount", "refreshed: %zu changed track(s)%s, changelog at %lld",
		n, gap ? " (full rebuild)" : "", (long long)head);
	fs->watermark = head;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	mf_metric_inc(MF_M_REFRESHES);
	mf_metric_inc(gap ? MF_M_REBUILDS_FULL : MF_M_REBUILDS_INCR);
	mf_metric_set(MF_M_REFRESH_LAST_NS, mf_store_ns(&t1) - mf_store_ns(&t0));
out:
	if (head || seen)
		mf_metrics_changelog(head > seen ? head : seen, fs->watermark);
	free(ids);
	return ret;
}

static void *refresh_main(void *arg)
{
	struct mf_fs *fs = arg;

	while (!atomic_load(&fs->stop)) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += fs->cfg.poll_ms / 1000;
		ts.tv_nsec += (long)(fs->cfg.poll_ms % 1000) * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_mutex_lock(&fs->stop_lock);
		while (!atomic_load(&fs->stop) &&
		       pthread_cond_timedwait(&fs->stop_cond, &fs->stop_lock,
					      &ts) == 0)
			;
		pthread_mutex_unlock(&fs->stop_lock);
		if (atomic_load(&fs->stop))
			break;
		if (refresh_once(fs) < 0)
			mf_warn("mount", "refresh failed; retrying in %u ms",
				fs->cfg.poll_ms);
	}
	return NULL;
}

/*---- life cycle ------------------------------------------------------*/

int mf_fs_new(const struct mf_fs_config *cfg, struct mf_fs **out, char *err,
	      size_t errlen)
{
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
	fs->uid = getuid();
	fs->gid = getgid();
	clock_gettime(CLOCK_REALTIME, &fs->started);
	pthread_rwlock_init(&fs->tree_lock, NULL);
	pthread_mutex_init(&fs->cache_lock, NULL);
	pthread_mutex_init(&fs->stop_lock, NULL);
	pthread_cond_init(&fs->stop_cond, NULL);
	if (pthread_key_create(&fs->store_key, store_key_free) != 0) {
		free(fs);
		return -ENOMEM;
	}
	ret = mf_store_open(cfg->db_path, MF_STORE_READONLY, &fs->poll_store,
			    err, errlen);
	if (ret < 0)
		goto out_free;
	fs->inotab = mf_inotab_new();
	if (!fs->inotab) {
		ret = -ENOMEM;
		goto out_free;
	}
	if (mf_store_data_version(fs->poll_store, &fs->data_version) < 0 ||
	    (ret = build_tree(fs, fs->poll_store, &fs->tree, &fs->watermark,
			      &fs->total_bytes)) < 0) {
		snprintf(err, errlen, "cannot build the tree from '%s'",
			 cfg->db_path);
		ret = ret < 0 ? ret : -EIO;
		goto out_free;
	}
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
	r = pthread_create(&fs->refresh_thread, NULL, refresh_main, fs);
	if (r != 0)
		return -r;
	fs->refresh_running = true;
	return 0;
}

void mf_fs_stop(struct mf_fs *fs)
{
	if (!fs->refresh_running)
		return;
	pthread_mutex_lock(&fs->stop_lock);
	atomic_store(&fs->stop, true);
	pthread_cond_broadcast(&fs->stop_cond);
	pthread_mutex_unlock(&fs->stop_lock);
	pthread_join(fs->refresh_thread, NULL);
	fs->refresh_running = false;
}

void mf_fs_counts(struct mf_fs *fs, size_t *files, size_t *dirs)
{
	pthread_rwlock_rdlock(&fs->tree_lock);
	*files = mf_tree_nfiles(fs->tree);
	*dirs = mf_tree_ndirs(fs->tree);
	pthread_rwlock_unlock(&fs->tree_lock);
}

void mf_fs_free(struct mf_fs *fs)
{
	struct mf_store *s;

	if (!fs)
		return;
	mf_fs_stop(fs);
	cache_drop(fs, NULL, 0);
	free(fs->slots);
	mf_tree_free(fs->tree);
	mf_inotab_free(fs->inotab);
	mf_store_close(fs->poll_store);
	s = pthread_getspecific(fs->store_key);
	if (s) {
		pthread_setspecific(fs->store_key, NULL);
		mf_store_close(s);
	}
	pthread_key_delete(fs->store_key);
	pthread_rwlock_destroy(&fs->tree_lock);
	pthread_mutex_destroy(&fs->cache_lock);
	pthread_mutex_destroy(&fs->stop_lock);
	pthread_cond_destroy(&fs->stop_cond);
	free(fs);
}

void mf_fs_sample_metrics(void *arg)
{
	struct mf_fs *fs = arg;

	pthread_mutex_lock(&fs->cache_lock);
	mf_metric_set(MF_M_CACHE_ENTRIES, (int64_t)fs->nentries);
	mf_metric_set(MF_M_CACHE_BYTES, (int64_t)fs->cache_mem);
	pthread_mutex_unlock(&fs->cache_lock);
	pthread_rwlock_rdlock(&fs->tree_lock);
	mf_metric_set(MF_M_TREE_NODES, (int64_t)mf_tree_nnodes(fs->tree));
	mf_metric_set(MF_M_TREE_BYTES, (int64_t)fs->total_bytes);
	pthread_rwlock_unlock(&fs->tree_lock);
}
