/* SPDX-License-Identifier: MIT */
/*
 * mf_fs - the FUSE adapter of musefs-mount (libfuse 3 low-level API).
 *
 * It owns the tree (patched in place by the refresh thread under
 * fs->tree_lock), the layout cache keyed by (track_id, content_version)
 * under a byte budget, one read-only store connection per worker thread,
 * and the refresh thread that polls PRAGMA data_version, reads the
 * changelog after its watermark, re-renders only the tracks that changed
 * (all of them after a changelog gap), patches the tree and invalidates
 * exactly the kernel entries and inodes that changed.
 */
#ifndef MF_FS_H
#define MF_FS_H

#define FUSE_USE_VERSION 312

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>
#include <fuse_lowlevel.h>

#include "mf_confine.h"
#include "mf_template.h"
#include "mf_track.h"

struct mf_fs_config {
	const char *db_path;			/* borrowed, must outlive fs */
	const struct mf_template *tmpl;		/* borrowed */
	struct mf_template_opts topts;		/* borrowed contents */
	enum mf_serve_mode mode;
	unsigned poll_ms;			/* data_version poll period */
	double entry_timeout_s;			/* kernel entry/attr cache */
	size_t cache_bytes;			/* layout cache budget */
	uid_t uid;				/* owner of every node */
	gid_t gid;
	mode_t file_mode;			/* permission bits, files */
	mode_t dir_mode;			/* permission bits, dirs */
	bool casefold;				/* --case-insensitive */
	int id3v2_version;			/* 3 or 4 */
	struct mf_confine confine;		/* borrowed roots; mf_confine.h */
	/*
	 * true (--handles open, the default): OPEN answers with a handle (a
	 * FUSE_OPEN and a FUSE_RELEASE round trip per open); the handle reads
	 * the version it opened. false (--handles inode): where the kernel
	 * offers FUSE_CAP_NO_OPEN_SUPPORT, OPEN answers ENOSYS, the kernel
	 * stops sending OPEN and RELEASE, and reads find the backing file by
	 * inode in a bounded cache and see the current version. Not with the
	 * metrics file (mf_metricsfs snapshots at OPEN).
	 */
	bool open_handles;
};

struct mf_fs;

/*
 * Open the store read-only at @cfg->db_path and build the first tree.
 * Returns 0 and sets *@out (free with mf_fs_free()), or a negative errno
 * with a message in @err: -ENOENT/-EPROTO/-EIO from mf_store_open(), -EIO
 * when the tracks cannot be read, -ENOMEM. Call before mounting, so that
 * a bad store is refused with a message and nothing is mounted.
 */
int mf_fs_new(const struct mf_fs_config *cfg, struct mf_fs **out, char *err,
	      size_t errlen);

/* Stop the refresh thread if running, and free everything. NULL is a no-op. */
void mf_fs_free(struct mf_fs *fs);

/* The low-level operations table; pass @fs as userdata to fuse_session_new. */
const struct fuse_lowlevel_ops *mf_fs_ops(void);

/*
 * Start the refresh thread, which sends invalidations through @se.
 * Returns 0 or a negative errno (pthread_create failed).
 */
int mf_fs_start(struct mf_fs *fs, struct fuse_session *se);

/* Ask the refresh thread to stop and join it. Idempotent. */
void mf_fs_stop(struct mf_fs *fs);

/*
 * Counts of the current tree, for the start-up message: files, and
 * directories other than the root (as --dry-run counts them).
 */
void mf_fs_counts(struct mf_fs *fs, size_t *files, size_t *dirs);

/* Heap bytes held by the tree (start-up message, benchmarks). */
size_t mf_fs_tree_bytes(struct mf_fs *fs);

/* What --dry-run counted: files, directories (not the root), collisions. */
struct mf_fs_dry_stats {
	size_t files, dirs, collisions;
};

/*
 * --dry-run: render every track of @cfg's store with its template, print
 * up to @samples sample paths, the file and directory counts and every
 * collision (suffixed name and the name it wanted) to @out, and set *@st.
 * Returns 0 or a negative errno with a message in @err (as mf_fs_new()).
 */
int mf_fs_dry_run(const struct mf_fs_config *cfg, FILE *out, size_t samples,
		  struct mf_fs_dry_stats *st, char *err, size_t errlen);

/*
 * Set the sampled gauges of mf_metrics (layout cache entries and bytes,
 * tree nodes, backing bytes of the served tracks) from @fs (a struct
 * mf_fs *; void * to serve as the sample hook of mf_heartbeat and
 * mf_metricsfs). The backing bytes are at most 5 s old and exact after a
 * refresh; computing them may open the calling thread's store connection.
 * Thread-safe: takes cache_lock, tree_lock and statfs_lock one after the
 * other.
 */
void mf_fs_sample_metrics(void *fs);

#endif /* MF_FS_H */
