/* SPDX-License-Identifier: MIT */
/*
 * mf_metricsfs - the mount's telemetry at the FUSE boundary.
 *
 * mf_metricsfs_ops() wraps the operations table of mf_fs: every request
 * it passes on counts in mf_metrics (lookups, getattrs, readdirs, busy
 * and idle worker threads), and with @expose it serves two nodes outside
 * the virtual tree:
 *
 *   /.musefs-metrics            a directory (not listed in the root)
 *   /.musefs-metrics/metrics    the mount's counters as Prometheus text,
 *                               rendered at open, direct I/O, st_size 0
 *
 * Their inode numbers are at the top of the 64-bit range, where the tree
 * (which numbers its paths upwards from 2) never reaches. A tree entry
 * named ".musefs-metrics" at the root is hidden while metrics are exposed.
 *
 * The wrapper keeps its state in one process-wide, immutable-after-setup
 * structure: one mount per process.
 */
#ifndef MF_METRICSFS_H
#define MF_METRICSFS_H

#define FUSE_USE_VERSION 312

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <fuse_lowlevel.h>

#include "mf_layout.h"

#define MF_METRICSFS_DIR ".musefs-metrics"
#define MF_METRICSFS_FILE "metrics"
#define MF_METRICSFS_DIR_INO ((fuse_ino_t)(UINT64_MAX - 2))
#define MF_METRICSFS_FILE_INO ((fuse_ino_t)(UINT64_MAX - 1))

/*
 * The wrapped operations table for fuse_session_new() (pass the same
 * userdata as for @inner). @inner is borrowed and must outlive the
 * session. @sample (may be NULL) is called with @ctx before the metrics
 * file is rendered, to refresh sampled gauges; it must be thread-safe.
 * Call once, before the session starts; not thread-safe.
 */
const struct fuse_lowlevel_ops *
mf_metricsfs_ops(const struct fuse_lowlevel_ops *inner, bool expose,
		 void (*sample)(void *ctx), void *ctx);

/* Segment kinds counted per read (enum mf_seg_kind, MF_SEG_CUSTOM last). */
#define MF_METRICSFS_KINDS (MF_SEG_CUSTOM + 1)

/*
 * Count a successful read of @n bytes: one read, @n bytes, and per
 * segment kind (indexed by enum mf_seg_kind: inline, art, backing,
 * computed) the segments touched, @segs, and the bytes served from them,
 * @bytes, as the read handler's one walk of the layout found them.
 * Thread-safe (atomics).
 */
void mf_metricsfs_count_read(const uint64_t segs[MF_METRICSFS_KINDS],
			     const uint64_t bytes[MF_METRICSFS_KINDS],
			     size_t n);

/*
 * The mount's counters as Prometheus text into a malloc'd *@out of *@len
 * bytes (after calling the sample hook). Returns 0 or -ENOMEM / -EIO.
 * Thread-safe.
 */
int mf_metricsfs_render(char **out, size_t *len);

#endif /* MF_METRICSFS_H */
