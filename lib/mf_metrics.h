/* SPDX-License-Identifier: MIT */
/*
 * mf_metrics - the mount's counters and the one renderer of telemetry.
 *
 * Two halves:
 *
 * 1. Counters. One process-wide array of 64-bit atomics indexed by enum
 *    mf_metric (the mount is one process per mount). Hot paths add to them
 *    with mf_metric_add()/mf_metric_inc() (relaxed atomic adds, no locks);
 *    gauges are set with mf_metric_set(). mf_metrics_snapshot() copies
 *    them and fills the derived values (uptime, changelog lag, idle
 *    workers, resident memory). Every counter has a descriptor
 *    (mf_metric_descs[]): its key in the JSON/flat view, its Prometheus
 *    family name and label, type, unit and help text. docs/metrics.md
 *    lists them all.
 *
 * 2. Documents. A struct mf_doc is an ordered list of (dotted key, value)
 *    entries; a value is an integer (optionally a fixed-point number:
 *    raw / div), a string, null, or an empty object/array. An entry may
 *    also carry a metric descriptor and a Prometheus label set. One
 *    renderer turns a document into JSON (dotted keys nest; all-digit
 *    components make arrays), flat "key=value" lines, Prometheus text
 *    exposition format 0.0.4 (entries with a descriptor only, grouped by
 *    family), or one bare value (mf_doc_get). musefs-stat, the heartbeat
 *    and /.musefs-metrics/metrics all render through it.
 *
 * Keys sharing a prefix must be added next to each other (the JSON
 * writer nests by comparing neighbours); mf_doc_* returns -EINVAL for a key
 * that would reopen a closed object.
 */
#ifndef MF_METRICS_H
#define MF_METRICS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- counters ---- */

enum mf_metric {
	MF_M_UPTIME_MS,		/* derived: ms since mf_metrics_start() */
	MF_M_OPEN_HANDLES,	/* gauge: open file handles */
	MF_M_READS,		/* read requests answered with data */
	MF_M_READ_BYTES,	/* bytes replied to read requests */
	MF_M_SEG_READS_INLINE,	/* segment reads by kind */
	MF_M_SEG_READS_ART,
	MF_M_SEG_READS_BACKING,
	MF_M_SEG_READS_COMPUTED,
	MF_M_SEG_BYTES_INLINE,	/* bytes served by segment kind */
	MF_M_SEG_BYTES_ART,
	MF_M_SEG_BYTES_BACKING,
	MF_M_SEG_BYTES_COMPUTED,
	MF_M_ERR_DRIFT,		/* read/open errors by cause */
	MF_M_ERR_STORE,
	MF_M_ERR_CONFINEMENT,
	MF_M_ERR_OTHER,
	MF_M_LOOKUPS,
	MF_M_GETATTRS,
	MF_M_READDIRS,
	MF_M_OPENS,
	MF_M_CACHE_ENTRIES,	/* gauge */
	MF_M_CACHE_BYTES,	/* gauge */
	MF_M_CACHE_BUDGET,	/* gauge */
	MF_M_CACHE_HITS,
	MF_M_CACHE_MISSES,
	MF_M_TREE_NODES,	/* gauge: files + directories */
	MF_M_TREE_BYTES,	/* gauge: sum of served file sizes */
	MF_M_TREE_MEMORY,	/* gauge: heap bytes of the tree */
	MF_M_REFRESHES,		/* refresh passes that found a change */
	MF_M_REBUILDS_INCR,
	MF_M_REBUILDS_FULL,
	MF_M_REFRESH_LAST_NS,	/* gauge: duration of the last refresh */
	MF_M_STALE_WAITS,	/* requests that woke the refresh */
	MF_M_WATERMARK,		/* gauge: changelog seq applied */
	MF_M_STORE_HEAD,	/* gauge: changelog head seen at last poll */
	MF_M_LAG_SEQ,		/* derived: head - watermark, >= 0 */
	MF_M_LAG_MS,		/* derived: ms since last caught up */
	MF_M_INVAL_ENTRY,	/* kernel invalidations sent */
	MF_M_INVAL_INODE,
	MF_M_WORKERS_BUSY,	/* gauge: requests being handled */
	MF_M_WORKERS_IDLE,	/* derived: worker threads - busy */
	MF_M_RSS_BYTES,		/* derived: resident set size */
	MF_M_HEARTBEATS,	/* heartbeat rows written */
	MF_M_HEARTBEAT_ERRORS,	/* heartbeat writes that failed */
	MF_M__COUNT
};

enum mf_metric_type { MF_METRIC_COUNTER, MF_METRIC_GAUGE };

struct mf_metric_desc {
	const char *key;	/* JSON/flat key, e.g. "read_errors.store" */
	const char *name;	/* Prometheus family, e.g. musefs_mount_..._total */
	const char *label;	/* one label pair 'kind="art"', or NULL */
	enum mf_metric_type type;
	const char *unit;	/* "bytes", "seconds", "" (a count) */
	int64_t div;		/* rendered value = raw / div (1, 1000, 1e9) */
	const char *help;	/* one line, no newline */
};

/* Descriptors of the mount counters, indexed by enum mf_metric. */
extern const struct mf_metric_desc mf_metric_descs[MF_M__COUNT];

/*
 * The counters themselves. Use the inline helpers; each access is a
 * relaxed atomic operation (counters need no ordering with other memory).
 */
extern _Atomic int64_t mf_metric_values[MF_M__COUNT];

static inline void mf_metric_add(enum mf_metric m, int64_t n)
{
	atomic_fetch_add_explicit(&mf_metric_values[m], n,
				  memory_order_relaxed);
}

static inline void mf_metric_inc(enum mf_metric m)
{
	mf_metric_add(m, 1);
}

static inline void mf_metric_set(enum mf_metric m, int64_t v)
{
	atomic_store_explicit(&mf_metric_values[m], v, memory_order_relaxed);
}

/*
 * Zero every counter and record now (CLOCK_MONOTONIC) as the start for
 * uptime and now as "caught up". Call once at start-up before threads
 * exist (tests call it to reset).
 */
void mf_metrics_start(void);

/*
 * The changelog position after a poll: @head is the store's newest seq,
 * @watermark the seq the tree reflects. Records the time when both are
 * equal (caught up), from which the lag in seconds is derived.
 * Thread-safe (atomics).
 */
void mf_metrics_changelog(int64_t head, int64_t watermark);

/*
 * Count the calling thread as a worker thread (once per thread; the count
 * drops when the thread exits). Thread-safe.
 */
void mf_metrics_worker_seen(void);

/*
 * Copy every counter into @out and compute the derived ones (uptime,
 * lag, idle workers, RSS from /proc/self/statm; 0 when unreadable).
 * Values are raw (ns for durations); render with the descriptors.
 * Thread-safe; the copy is not one atomic snapshot across counters.
 */
void mf_metrics_snapshot(int64_t out[MF_M__COUNT]);

/* Index of the descriptor whose key is @key, or -1. */
int mf_metric_by_key(const char *key);

/* ---- documents and the renderer ---- */

struct mf_doc;

/* A new empty document; NULL when out of memory. */
struct mf_doc *mf_doc_new(void);

/* Free @d and everything it owns. NULL is a no-op. */
void mf_doc_free(struct mf_doc *d);

/*
 * Append one entry. @key is copied; it is a dotted path of non-empty
 * components ([A-Za-z0-9_-]; all-digit components index arrays in order
 * from 0). Returns 0, -EINVAL for a malformed key or one whose prefix was
 * closed by an earlier, different sibling, or -ENOMEM. @s is copied.
 * Not thread-safe (one document per thread).
 */
int mf_doc_int(struct mf_doc *d, const char *key, int64_t v);
int mf_doc_fixed(struct mf_doc *d, const char *key, int64_t raw, int64_t div);
int mf_doc_str(struct mf_doc *d, const char *key, const char *s);
int mf_doc_null(struct mf_doc *d, const char *key);
int mf_doc_empty_object(struct mf_doc *d, const char *key);
int mf_doc_empty_array(struct mf_doc *d, const char *key);

/*
 * Append a metric: value @raw rendered as @desc says, under @key in the
 * JSON/flat views, and in Prometheus as @desc->name with the labels
 * @labels (a pre-rendered list such as 'mountpoint="/m"', copied; NULL
 * or "" for none) followed by @desc->label. @desc is borrowed and must
 * outlive @d. Errors as mf_doc_int().
 */
int mf_doc_metric(struct mf_doc *d, const char *key,
		  const struct mf_metric_desc *desc, const char *labels,
		  int64_t raw);

/*
 * Append a Prometheus-only sample (no key: left out of the JSON and flat
 * views and of mf_doc_get), e.g. one member of a state set or an info
 * metric. Arguments and errors as mf_doc_metric().
 */
int mf_doc_sample(struct mf_doc *d, const struct mf_metric_desc *desc,
		  const char *labels, int64_t raw);

/*
 * Append all mount counters in @v (a snapshot) under @prefix ("" or a
 * dotted path without trailing dot) with @labels. With @present not NULL,
 * only those with present[i] true. Errors as mf_doc_int().
 */
int mf_doc_mount_metrics(struct mf_doc *d, const char *prefix,
			 const char *labels, const int64_t v[MF_M__COUNT],
			 const bool *present);

/*
 * Render @d to @out. Returns 0, or -EIO when writing failed (ferror).
 *  - JSON: one object, keys nested by their dotted components, a newline
 *    at the end. Strings escaped per RFC 8259.
 *  - flat: one "key=value" line per entry; strings with '\' and newline
 *    escaped as \\ and \n, null as an empty value; empty containers are
 *    left out.
 *  - Prometheus: entries with a metric descriptor, grouped by family in
 *    order of first appearance, each family with # HELP and # TYPE lines.
 */
int mf_doc_render_json(const struct mf_doc *d, FILE *out);
int mf_doc_render_flat(const struct mf_doc *d, FILE *out);
int mf_doc_render_prometheus(const struct mf_doc *d, FILE *out);

/*
 * Write the value of @key as the flat view would (no key, one newline).
 * Returns 0, -ENOENT when @key is not a leaf of @d, or -EIO.
 */
int mf_doc_get(const struct mf_doc *d, const char *key, FILE *out);

/*
 * Append 'name="value"' to the label list in @buf (of @len bytes, NUL-
 * terminated, may be empty), with a comma when not empty and the value
 * escaped as the exposition format wants (\\, \", \n). Returns 0 or
 * -ENAMETOOLONG (then @buf is unchanged).
 */
int mf_prom_label(char *buf, size_t len, const char *name, const char *value);

/* What mf_metrics_render_mount() writes. */
enum mf_doc_format { MF_DOC_JSON, MF_DOC_FLAT, MF_DOC_PROMETHEUS };

/*
 * Snapshot the mount counters (mf_metrics_snapshot) and render them, with
 * no prefix and no labels, as @fmt into a malloc'd, NUL-terminated *@out
 * of *@len bytes (free() it). Returns 0, or -ENOMEM / -EIO with *@out
 * NULL. Thread-safe. The heartbeat stores the flat form; the metrics file
 * serves the Prometheus form.
 */
int mf_metrics_render_mount(enum mf_doc_format fmt, char **out, size_t *len);

/*
 * Parse flat text (as mf_doc_render_flat writes for mount counters) back
 * into @v: for every line "key=integer-or-fixed" whose key names a mount
 * counter, set v[i] (raw units, using the descriptor's div) and
 * present[i]. Unknown keys and malformed lines are skipped (a newer or
 * older mount may write other keys). @text may be NULL.
 */
void mf_metrics_parse_flat(const char *text, int64_t v[MF_M__COUNT],
			   bool present[MF_M__COUNT]);

#endif /* MF_METRICS_H */
