/* SPDX-License-Identifier: MIT */
/*
 * mf_scan - the scanner: walk library roots, compare each audio file's
 * (size, mtime_ns, ctime_ns) stamp with the store, probe new and changed
 * files, and write tracks, tags, art and structural blocks in batched
 * transactions. Unchanged files cost one lstat and nothing else.
 *
 * A changed file gets its geometry, structural blocks and audio properties
 * refreshed; its tags and art in the store are kept (the store is where
 * users curate them). New files are imported whole; art is deduplicated by
 * SHA-256. Files that fail to parse are logged with path and reason and
 * remembered with their stamp, so an unchanged bad file is reported again
 * without being re-read.
 */
#ifndef MF_SCAN_H
#define MF_SCAN_H

#include <stddef.h>
#include <stdint.h>

#include "mf_store.h"

struct mf_scan_opts {
	const char *const *roots;	/* directories or files; borrowed */
	size_t nroots;
	unsigned batch_files;		/* files per transaction; 0 = 256 */
	unsigned batch_ms;		/* ms per transaction; 0 = 250 */
};

/* Distinct skipped extensions reported with -v. */
#define MF_SCAN_MAX_EXTS 32

struct mf_scan_stats {
	uint64_t seen;		/* regular files found under the roots */
	uint64_t new;		/* imported */
	uint64_t changed;	/* re-probed and refreshed */
	uint64_t unchanged;	/* stamp equal: not opened */
	uint64_t skipped;	/* hidden or not audio */
	uint64_t failed;	/* could not be parsed (incl. known failures) */
	uint64_t probed;	/* opened and parsed this run */
	uint64_t bytes_read;	/* header bytes read by probes (approx.) */
	double seconds;		/* wall time */
	struct {
		char ext[16];	/* lowercase, "" for none */
		uint64_t count;
	} skipped_ext[MF_SCAN_MAX_EXTS];
	size_t nskipped_ext;
};

/*
 * Scan @o->roots into @s (opened read-write). Fills *@st. Returns 0 when
 * every root was walked (files may still have failed: see st->failed), or
 * a negative errno for a fatal error: -ENOENT/-ENOTDIR/-EACCES for an
 * unusable root (nothing is scanned), -EIO for a store failure (work
 * committed so far stays, the batch in flight is rolled back). Messages
 * are logged. Not thread-safe: one scan per store handle.
 */
int mf_scan_run(struct mf_store *s, const struct mf_scan_opts *o,
		struct mf_scan_stats *st);

#endif /* MF_SCAN_H */
