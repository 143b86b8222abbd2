/* SPDX-License-Identifier: MIT */
/*
 * mf_metrics - mount counters (atomics) and the one telemetry renderer
 * (JSON, flat key=value, Prometheus text exposition format 0.0.4).
 *
 * Divisions, in order: counters (the registry and its atomics, per-worker
 * accounting); documents (struct mf_doc: a tree of named values built by
 * the mount's sampler and by musefs-stat's report); rendering (the three
 * output formats).
 */
#include "mf_metrics.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mf_array.h"
#include "mf_banned.h"

#define NS_PER_MS INT64_C(1000000)

/* ---- counters ---- */

#define C(k, n, l, u, d, h) { k, n, l, MF_METRIC_COUNTER, u, d, h }
#define G(k, n, l, u, d, h) { k, n, l, MF_METRIC_GAUGE, u, d, h }

const struct mf_metric_desc mf_metric_descs[MF_M__COUNT] = {
	[MF_M_UPTIME_MS] = G("uptime_s", "musefs_mount_uptime_seconds", NULL,
		"seconds", 1000, "Seconds since the mount started."),
	[MF_M_OPEN_HANDLES] = G("open_handles", "musefs_mount_open_handles",
		NULL, "", 1, "Files currently open through the mount."),
	[MF_M_READS] = C("reads", "musefs_mount_reads_total", NULL, "", 1,
		"Read requests answered with data."),
	[MF_M_READ_BYTES] = C("read_bytes", "musefs_mount_read_bytes_total",
		NULL, "bytes", 1, "Bytes returned by read requests."),
	[MF_M_SEG_READS_INLINE] = C("segment_reads.inline",
		"musefs_mount_segment_reads_total", "kind=\"inline\"", "", 1,
		"Layout segments read, by segment kind."),
	[MF_M_SEG_READS_ART] = C("segment_reads.art",
		"musefs_mount_segment_reads_total", "kind=\"art\"", "", 1,
		"Layout segments read, by segment kind."),
	[MF_M_SEG_READS_BACKING] = C("segment_reads.backing",
		"musefs_mount_segment_reads_total", "kind=\"backing\"", "", 1,
		"Layout segments read, by segment kind."),
	[MF_M_SEG_READS_COMPUTED] = C("segment_reads.computed",
		"musefs_mount_segment_reads_total", "kind=\"computed\"", "", 1,
		"Layout segments read, by segment kind."),
	[MF_M_SEG_BYTES_INLINE] = C("served_bytes.inline",
		"musefs_mount_served_bytes_total", "kind=\"inline\"", "bytes", 1,
		"Bytes served, by segment kind."),
	[MF_M_SEG_BYTES_ART] = C("served_bytes.art",
		"musefs_mount_served_bytes_total", "kind=\"art\"", "bytes", 1,
		"Bytes served, by segment kind."),
	[MF_M_SEG_BYTES_BACKING] = C("served_bytes.backing",
		"musefs_mount_served_bytes_total", "kind=\"backing\"", "bytes", 1,
		"Bytes served, by segment kind."),
	[MF_M_SEG_BYTES_COMPUTED] = C("served_bytes.computed",
		"musefs_mount_served_bytes_total", "kind=\"computed\"", "bytes", 1,
		"Bytes served, by segment kind."),
	[MF_M_ERR_DRIFT] = C("read_errors.backing_drift",
		"musefs_mount_read_errors_total", "cause=\"backing_drift\"", "", 1,
		"Opens and reads that failed with EIO, by cause."),
	[MF_M_ERR_STORE] = C("read_errors.store",
		"musefs_mount_read_errors_total", "cause=\"store\"", "", 1,
		"Opens and reads that failed with EIO, by cause."),
	[MF_M_ERR_CONFINEMENT] = C("read_errors.confinement",
		"musefs_mount_read_errors_total", "cause=\"confinement\"", "", 1,
		"Opens and reads that failed with EIO, by cause."),
	[MF_M_ERR_OTHER] = C("read_errors.other",
		"musefs_mount_read_errors_total", "cause=\"other\"", "", 1,
		"Opens and reads that failed with EIO, by cause."),
	[MF_M_LOOKUPS] = C("lookups", "musefs_mount_lookups_total", NULL, "", 1,
		"Lookup requests."),
	[MF_M_GETATTRS] = C("getattrs", "musefs_mount_getattrs_total", NULL, "",
		1, "Getattr requests."),
	[MF_M_READDIRS] = C("readdirs", "musefs_mount_readdirs_total", NULL, "",
		1, "Readdir requests."),
	[MF_M_OPENS] = C("opens", "musefs_mount_opens_total", NULL, "", 1,
		"Files opened successfully."),
	[MF_M_CACHE_ENTRIES] = G("layout_cache.entries",
		"musefs_mount_layout_cache_entries", NULL, "", 1,
		"Layouts held in the layout cache."),
	[MF_M_CACHE_BYTES] = G("layout_cache.bytes",
		"musefs_mount_layout_cache_bytes", NULL, "bytes", 1,
		"Memory charged to the layout cache."),
	[MF_M_CACHE_BUDGET] = G("layout_cache.budget_bytes",
		"musefs_mount_layout_cache_budget_bytes", NULL, "bytes", 1,
		"Byte budget of the layout cache."),
	[MF_M_CACHE_HITS] = C("layout_cache.hits",
		"musefs_mount_layout_cache_hits_total", NULL, "", 1,
		"Layout cache lookups that found a current layout."),
	[MF_M_CACHE_MISSES] = C("layout_cache.misses",
		"musefs_mount_layout_cache_misses_total", NULL, "", 1,
		"Layout cache lookups that had to build a layout."),
	[MF_M_TREE_NODES] = G("tree.nodes", "musefs_mount_tree_nodes", NULL, "",
		1, "Files and directories in the virtual tree."),
	[MF_M_TREE_BYTES] = G("tree.bytes", "musefs_mount_tree_bytes", NULL,
		"bytes", 1,
		"Sum of the backing file sizes of the tracks in the tree."),
	[MF_M_TREE_MEMORY] = G("tree.memory_bytes",
		"musefs_mount_tree_memory_bytes", NULL, "bytes", 1,
		"Heap bytes held by the virtual tree (nodes, names, indexes)."),
	[MF_M_REFRESHES] = C("refresh.count", "musefs_mount_refreshes_total",
		NULL, "", 1, "Refresh passes that applied store changes."),
	[MF_M_REBUILDS_INCR] = C("refresh.incremental",
		"musefs_mount_rebuilds_total", "kind=\"incremental\"", "", 1,
		"Tree rebuilds, incremental (changelog) or full."),
	[MF_M_REBUILDS_FULL] = C("refresh.full",
		"musefs_mount_rebuilds_total", "kind=\"full\"", "", 1,
		"Tree rebuilds, incremental (changelog) or full."),
	[MF_M_REFRESH_LAST_NS] = G("refresh.last_duration_s",
		"musefs_mount_last_refresh_duration_seconds", NULL, "seconds",
		1000000000, "Duration of the last refresh pass."),
	[MF_M_STALE_WAITS] = C("refresh.stale_waits",
		"musefs_mount_stale_waits_total", NULL, "", 1,
		"Requests that found the store ahead of the tree and waited "
		"for a refresh."),
	[MF_M_WATERMARK] = G("changelog.watermark",
		"musefs_mount_changelog_watermark", NULL, "", 1,
		"Changelog sequence number the tree reflects."),
	[MF_M_STORE_HEAD] = G("changelog.head", "musefs_mount_changelog_head",
		NULL, "", 1, "Changelog head seen at the last poll."),
	[MF_M_LAG_SEQ] = G("changelog.lag_seq", "musefs_mount_changelog_lag",
		NULL, "", 1, "Changelog entries not yet applied."),
	[MF_M_LAG_MS] = G("changelog.lag_s",
		"musefs_mount_changelog_lag_seconds", NULL, "seconds", 1000,
		"Seconds since the mount was last caught up with the store."),
	[MF_M_INVAL_ENTRY] = C("invalidations.entry",
		"musefs_mount_invalidations_total", "kind=\"entry\"", "", 1,
		"Kernel cache invalidations sent, by kind."),
	[MF_M_INVAL_INODE] = C("invalidations.inode",
		"musefs_mount_invalidations_total", "kind=\"inode\"", "", 1,
		"Kernel cache invalidations sent, by kind."),
	[MF_M_WORKERS_BUSY] = G("workers.busy", "musefs_mount_worker_threads",
		"state=\"busy\"", "", 1, "FUSE worker threads, busy or idle."),
	[MF_M_WORKERS_IDLE] = G("workers.idle", "musefs_mount_worker_threads",
		"state=\"idle\"", "", 1, "FUSE worker threads, busy or idle."),
	[MF_M_RSS_BYTES] = G("rss_bytes", "musefs_mount_resident_memory_bytes",
		NULL, "bytes", 1, "Resident set size of the mount process."),
	[MF_M_HEARTBEATS] = C("heartbeat.writes", "musefs_mount_heartbeats_total",
		NULL, "", 1, "Heartbeat rows written to the store."),
	[MF_M_HEARTBEAT_ERRORS] = C("heartbeat.errors",
		"musefs_mount_heartbeat_errors_total", NULL, "", 1,
		"Heartbeat writes that failed (busy or read-only store)."),
};

#undef C
#undef G

_Atomic int64_t mf_metric_values[MF_M__COUNT];

static _Atomic int64_t started_ns;	/* atomic; CLOCK_MONOTONIC */
static _Atomic int64_t caught_up_ns;	/* atomic; CLOCK_MONOTONIC */
static _Atomic int64_t workers;		/* atomic; live worker threads */
static pthread_key_t worker_key;	/* set once under worker_once */
static bool worker_key_ok;		/* set once under worker_once */
static pthread_once_t worker_once = PTHREAD_ONCE_INIT;
static _Thread_local bool worker_counted;

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void mf_metrics_start(void)
{
	int64_t now = mono_ns();

	for (size_t i = 0; i < MF_M__COUNT; i++)
		atomic_store_explicit(&mf_metric_values[i], 0,
				      memory_order_relaxed);
	atomic_store(&started_ns, now);
	atomic_store(&caught_up_ns, now);
}

void mf_metrics_changelog(int64_t head, int64_t watermark)
{
	mf_metric_set(MF_M_STORE_HEAD, head);
	mf_metric_set(MF_M_WATERMARK, watermark);
	if (watermark >= head)
		atomic_store(&caught_up_ns, mono_ns());
}

static void worker_gone(void *p)
{
	(void)p;
	atomic_fetch_sub(&workers, 1);
}

static void worker_key_init(void)
{
	worker_key_ok = pthread_key_create(&worker_key, worker_gone) == 0;
}

void mf_metrics_worker_seen(void)
{
	if (worker_counted)
		return;
	worker_counted = true;
	pthread_once(&worker_once, worker_key_init);
	atomic_fetch_add(&workers, 1);
	/* the destructor, which uncounts, runs only for a non-NULL value */
	if (worker_key_ok)
		pthread_setspecific(worker_key, &worker_counted);
}

static int64_t rss_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "re");
	long long size = 0, res = 0;
	long page = sysconf(_SC_PAGESIZE);
	int n;

	if (!f)
		return 0;
	n = fscanf(f, "%lld %lld", &size, &res);
	fclose(f);
	if (n != 2 || page <= 0 || res < 0)
		return 0;
	return (int64_t)res * page;
}

void mf_metrics_snapshot(int64_t out[MF_M__COUNT])
{
	int64_t now = mono_ns(), busy, nworkers;

	for (size_t i = 0; i < MF_M__COUNT; i++)
		out[i] = atomic_load_explicit(&mf_metric_values[i],
					      memory_order_relaxed);
	out[MF_M_UPTIME_MS] = (now - atomic_load(&started_ns)) / NS_PER_MS;
	out[MF_M_LAG_SEQ] = out[MF_M_STORE_HEAD] > out[MF_M_WATERMARK] ?
			    out[MF_M_STORE_HEAD] - out[MF_M_WATERMARK] : 0;
	out[MF_M_LAG_MS] = out[MF_M_LAG_SEQ] ?
			   (now - atomic_load(&caught_up_ns)) / NS_PER_MS : 0;
	busy = out[MF_M_WORKERS_BUSY];
	nworkers = atomic_load(&workers);
	out[MF_M_WORKERS_IDLE] = nworkers > busy ? nworkers - busy : 0;
	out[MF_M_RSS_BYTES] = rss_bytes();
}

int mf_metric_by_key(const char *key)
{
	for (size_t i = 0; i < MF_M__COUNT; i++)
		if (strcmp(mf_metric_descs[i].key, key) == 0)
			return (int)i;
	return -1;
}

/* ---- documents ---- */

enum ent_kind { E_INT, E_FIXED, E_STR, E_NULL, E_EOBJ, E_EARR };

struct ent {
	char *key;			/* owned; NULL: Prometheus only */
	enum ent_kind kind;
	int64_t raw, div;		/* E_INT (div 1), E_FIXED */
	char *str;			/* E_STR, owned */
	const struct mf_metric_desc *desc;	/* borrowed, or NULL */
	char *labels;			/* owned, or NULL */
};

struct mf_doc {
	struct ent *v;
	size_t n, cap;
};

struct mf_doc *mf_doc_new(void)
{
	return calloc(1, sizeof(struct mf_doc));
}

void mf_doc_free(struct mf_doc *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].key);
		free(d->v[i].str);
		free(d->v[i].labels);
	}
	free(d->v);
	free(d);
}

static bool key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '-';
}

static bool key_valid(const char *k)
{
	size_t comp = 0;

	if (!*k)
		return false;
	for (; *k; k++) {
		if (*k == '.') {
			if (!comp)
				return false;
			comp = 0;
		} else if (key_char(*k)) {
			comp++;
		} else {
			return false;
		}
	}
	return comp > 0;
}

/* Length of component starting at @s (up to '.' or NUL). */
static size_t comp_len(const char *s)
{
	return strcspn(s, ".");
}

static bool comp_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return n > 0;
}

/* Does @k start with the @plen bytes of @p followed by '.' or end? */
static bool has_prefix(const char *k, const char *p, size_t plen, bool dot)
{
	if (strncmp(k, p, plen) != 0)
		return false;
	return dot ? k[plen] == '.' : k[plen] == '\0';
}

/*
 * Bytes of the longest common prefix of whole components of @a and @b
 * (without the trailing dot); sets *@depth to the number of components.
 */
static size_t common_prefix(const char *a, const char *b, size_t *depth)
{
	size_t off = 0, last = 0, d = 0;

	for (;;) {
		size_t la = comp_len(a + off), lb = comp_len(b + off);

		if (la != lb || strncmp(a + off, b + off, la) != 0)
			break;
		d++;
		last = off + la;
		if (a[off + la] != '.' || b[off + lb] != '.')
			break;
		off += la + 1;
	}
	*depth = d;
	return last;
}

/* The key of the last keyed entry before index @n, or NULL. */
static const char *last_key(const struct mf_doc *d, size_t n)
{
	while (n-- > 0)
		if (d->v[n].key)
			return d->v[n].key;
	return NULL;
}

static size_t count_comps(const char *k)
{
	size_t n = 1;

	for (; *k; k++)
		n += *k == '.';
	return n;
}

/*
 * May @k follow the document's last key? Linear in the entries of the
 * innermost container @k shares with the last key (they are the tail of
 * the document), so building a document stays near linear.
 */
static int check_key(const struct mf_doc *d, const char *k)
{
	const char *prev;
	size_t clen, depth, off, plen;

	if (!key_valid(k))
		return -EINVAL;
	prev = last_key(d, d->n);
	if (!prev)
		return 0;
	clen = common_prefix(prev, k, &depth);
	/* the same key, or one a container of the other */
	if (depth == count_comps(prev) || depth == count_comps(k))
		return -EINVAL;
	/* sibling components at the first differing depth: same kind */
	off = depth ? clen + 1 : 0;
	if (comp_digits(prev + off, comp_len(prev + off)) !=
	    comp_digits(k + off, comp_len(k + off)))
		return -EINVAL;
	/*
	 * No earlier key may be, or lie under, @k's path down to that first
	 * differing component: it would be a duplicate, a leaf used as a
	 * container, or a closed container reopened. Such a key would be in
	 * the open container shared with the last key, the tail.
	 */
	plen = off + comp_len(k + off);
	for (size_t i = d->n; i-- > 0;) {
		const char *o = d->v[i].key;

		if (!o)
			continue;
		if (depth && !has_prefix(o, k, clen, true))
			break;
		if (has_prefix(o, k, plen, false) || has_prefix(o, k, plen, true))
			return -EINVAL;
	}
	return 0;
}

/* Append @e under @key (NULL: a Prometheus-only sample). */
static int add(struct mf_doc *d, const char *key, struct ent *e)
{
	struct ent *v;
	int ret = key ? check_key(d, key) : 0;

	if (ret < 0)
		return ret;
	v = mf_array_grow(d->v, &d->cap, d->n + 1, sizeof(*d->v));
	if (!v)
		return -ENOMEM;
	d->v = v;
	e->key = NULL;
	if (key) {
		e->key = strdup(key);
		if (!e->key)
			return -ENOMEM;
	}
	d->v[d->n++] = *e;
	return 0;
}

int mf_doc_int(struct mf_doc *d, const char *key, int64_t v)
{
	struct ent e = { .kind = E_INT, .raw = v, .div = 1 };

	return add(d, key, &e);
}

int mf_doc_fixed(struct mf_doc *d, const char *key, int64_t raw, int64_t div)
{
	struct ent e = { .kind = E_FIXED, .raw = raw, .div = div };

	if (div <= 0)
		return -EINVAL;
	return add(d, key, &e);
}

int mf_doc_str(struct mf_doc *d, const char *key, const char *s)
{
	struct ent e = { .kind = E_STR };
	int ret;

	e.str = strdup(s);
	if (!e.str)
		return -ENOMEM;
	ret = add(d, key, &e);
	if (ret < 0)
		free(e.str);
	return ret;
}

int mf_doc_null(struct mf_doc *d, const char *key)
{
	struct ent e = { .kind = E_NULL };

	return add(d, key, &e);
}

int mf_doc_empty_object(struct mf_doc *d, const char *key)
{
	struct ent e = { .kind = E_EOBJ };

	return add(d, key, &e);
}

int mf_doc_empty_array(struct mf_doc *d, const char *key)
{
	struct ent e = { .kind = E_EARR };

	return add(d, key, &e);
}

int mf_doc_metric(struct mf_doc *d, const char *key,
		  const struct mf_metric_desc *desc, const char *labels,
		  int64_t raw)
{
	struct ent e = { .kind = desc->div > 1 ? E_FIXED : E_INT, .raw = raw,
			 .div = desc->div > 1 ? desc->div : 1, .desc = desc };
	int ret;

	if (labels && *labels) {
		e.labels = strdup(labels);
		if (!e.labels)
			return -ENOMEM;
	}
	ret = add(d, key, &e);
	if (ret < 0)
		free(e.labels);
	return ret;
}

int mf_doc_sample(struct mf_doc *d, const struct mf_metric_desc *desc,
		  const char *labels, int64_t raw)
{
	return mf_doc_metric(d, NULL, desc, labels, raw);
}

int mf_doc_mount_metrics(struct mf_doc *d, const char *prefix,
			 const char *labels, const int64_t v[MF_M__COUNT],
			 const bool *present)
{
	char key[256];
	int ret, n;

	for (size_t i = 0; i < MF_M__COUNT; i++) {
		if (present && !present[i])
			continue;
		n = snprintf(key, sizeof(key), "%s%s%s", prefix,
			     *prefix ? "." : "", mf_metric_descs[i].key);
		if (n < 0 || (size_t)n >= sizeof(key))
			return -EINVAL;
		ret = mf_doc_metric(d, key, &mf_metric_descs[i], labels, v[i]);
		if (ret < 0)
			return ret;
	}
	return 0;
}

/* ---- rendering ---- */

/* raw / div in decimal, exact, trailing fraction zeros dropped. */
static void put_fixed(FILE *out, int64_t raw, int64_t div)
{
	uint64_t mag = raw < 0 ? (uint64_t)0 - (uint64_t)raw : (uint64_t)raw;
	uint64_t ud = (uint64_t)div, ip = mag / ud, fp = mag % ud;
	char frac[24];
	size_t digits = 0, n;

	for (uint64_t t = ud; t > 1; t /= 10)
		digits++;
	fprintf(out, "%s%" PRIu64, raw < 0 ? "-" : "", ip);
	if (!fp || !digits)
		return;
	snprintf(frac, sizeof(frac), "%0*" PRIu64, (int)digits, fp);
	n = strlen(frac);
	while (n > 0 && frac[n - 1] == '0')
		frac[--n] = '\0';
	fprintf(out, ".%s", frac);
}

static void put_json_str(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", out);
		else if (c < 0x20 || c == 0x7f)
			fprintf(out, "\\u%04x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

/* A value as the flat view writes it. */
static void put_flat_value(FILE *out, const struct ent *e)
{
	switch (e->kind) {
	case E_INT:
		fprintf(out, "%" PRId64, e->raw);
		break;
	case E_FIXED:
		put_fixed(out, e->raw, e->div);
		break;
	case E_STR:
		for (const char *s = e->str; *s; s++) {
			if (*s == '\\')
				fputs("\\\\", out);
			else if (*s == '\n')
				fputs("\\n", out);
			else
				fputc(*s, out);
		}
		break;
	case E_NULL:
	case E_EOBJ:
	case E_EARR:
		break;
	}
}

static void put_json_value(FILE *out, const struct ent *e)
{
	switch (e->kind) {
	case E_INT:
	case E_FIXED:
		put_fixed(out, e->raw, e->div);
		break;
	case E_STR:
		put_json_str(out, e->str);
		break;
	case E_NULL:
		fputs("null", out);
		break;
	case E_EOBJ:
		fputs("{}", out);
		break;
	case E_EARR:
		fputs("[]", out);
		break;
	}
}

/* Write the name of the component at @c (of @n bytes) unless in an array. */
static void put_member(FILE *out, const char *c, size_t n)
{
	if (comp_digits(c, n))
		return;
	fprintf(out, "\"%.*s\":", (int)n, c);
}

/* Offset of component @i of @k. */
static size_t comp_off(const char *k, size_t i)
{
	size_t off = 0;

	while (i--)
		off += comp_len(k + off) + 1;
	return off;
}

/* Close the containers of @k deeper than @depth (component index). */
static void close_to(FILE *out, const char *k, size_t depth)
{
	size_t nc = count_comps(k);

	/* containers of k are components 0 .. nc-2; close nc-2 down to depth */
	for (size_t i = nc - 1; i-- > depth;) {
		size_t off = comp_off(k, i + 1);

		fputc(comp_digits(k + off, comp_len(k + off)) ? ']' : '}', out);
	}
}

int mf_doc_render_json(const struct mf_doc *d, FILE *out)
{
	const char *prev = NULL;

	fputc('{', out);
	for (size_t i = 0; i < d->n; i++) {
		const char *k = d->v[i].key;
		size_t depth = 0, nc;

		if (!k)
			continue;
		nc = count_comps(k);
		if (prev) {
			common_prefix(prev, k, &depth);
			close_to(out, prev, depth);
			fputc(',', out);
		}
		for (size_t c = depth; c < nc; c++) {
			size_t off = comp_off(k, c), len = comp_len(k + off);

			put_member(out, k + off, len);
			if (c + 1 < nc) {
				size_t noff = off + len + 1;

				fputc(comp_digits(k + noff, comp_len(k + noff)) ?
				      '[' : '{', out);
			}
		}
		put_json_value(out, &d->v[i]);
		prev = k;
	}
	if (prev)
		close_to(out, prev, 0);
	fputs("}\n", out);
	return ferror(out) ? -EIO : 0;
}

int mf_doc_render_flat(const struct mf_doc *d, FILE *out)
{
	for (size_t i = 0; i < d->n; i++) {
		const struct ent *e = &d->v[i];

		if (!e->key || e->kind == E_EOBJ || e->kind == E_EARR)
			continue;
		fprintf(out, "%s=", e->key);
		put_flat_value(out, e);
		fputc('\n', out);
	}
	return ferror(out) ? -EIO : 0;
}

int mf_doc_get(const struct mf_doc *d, const char *key, FILE *out)
{
	for (size_t i = 0; i < d->n; i++) {
		const struct ent *e = &d->v[i];

		if (!e->key || strcmp(e->key, key) != 0 || e->kind == E_EOBJ ||
		    e->kind == E_EARR)
			continue;
		put_flat_value(out, e);
		fputc('\n', out);
		return ferror(out) ? -EIO : 0;
	}
	return -ENOENT;
}

static void put_help(FILE *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", out);
		else if (*s == '\n')
			fputs("\\n", out);
		else
			fputc(*s, out);
	}
}

static void put_sample(FILE *out, const struct ent *e)
{
	const char *l1 = e->labels ? e->labels : "", *l2 = e->desc->label;

	fputs(e->desc->name, out);
	if (*l1 || (l2 && *l2))
		fprintf(out, "{%s%s%s}", l1, *l1 && l2 && *l2 ? "," : "",
			l2 ? l2 : "");
	fputc(' ', out);
	put_fixed(out, e->raw, e->div);
	fputc('\n', out);
}

int mf_doc_render_prometheus(const struct mf_doc *d, FILE *out)
{
	bool *done = calloc(d->n ? d->n : 1, sizeof(*done));

	if (!done)
		return -ENOMEM;
	for (size_t i = 0; i < d->n; i++) {
		const struct mf_metric_desc *m = d->v[i].desc;

		if (!m || done[i])
			continue;
		fprintf(out, "# HELP %s ", m->name);
		put_help(out, m->help);
		fprintf(out, "\n# TYPE %s %s\n", m->name,
			m->type == MF_METRIC_COUNTER ? "counter" : "gauge");
		for (size_t j = i; j < d->n; j++) {
			if (done[j] || !d->v[j].desc ||
			    strcmp(d->v[j].desc->name, m->name) != 0)
				continue;
			put_sample(out, &d->v[j]);
			done[j] = true;
		}
	}
	free(done);
	return ferror(out) ? -EIO : 0;
}

int mf_prom_label(char *buf, size_t len, const char *name, const char *value)
{
	size_t n = strlen(buf), start = n;

#define PUT(c) do { if (n + 1 >= len) goto out_long; buf[n++] = (c); } while (0)
	if (n)
		PUT(',');
	for (const char *p = name; *p; p++)
		PUT(*p);
	PUT('=');
	PUT('"');
	for (const char *p = value; *p; p++) {
		if (*p == '\\' || *p == '"') {
			PUT('\\');
			PUT(*p);
		} else if (*p == '\n') {
			PUT('\\');
			PUT('n');
		} else {
			PUT(*p);
		}
	}
	PUT('"');
#undef PUT
	buf[n] = '\0';
	return 0;

out_long:
	buf[start] = '\0';
	return -ENAMETOOLONG;
}

int mf_metrics_render_mount(enum mf_doc_format fmt, char **out, size_t *len)
{
	int (*const render[])(const struct mf_doc *, FILE *) = {
		[MF_DOC_JSON] = mf_doc_render_json,
		[MF_DOC_FLAT] = mf_doc_render_flat,
		[MF_DOC_PROMETHEUS] = mf_doc_render_prometheus,
	};
	int64_t v[MF_M__COUNT];
	struct mf_doc *d;
	FILE *f;
	int ret;

	*out = NULL;
	*len = 0;
	mf_metrics_snapshot(v);
	d = mf_doc_new();
	if (!d)
		return -ENOMEM;
	ret = mf_doc_mount_metrics(d, "", NULL, v, NULL);
	if (ret < 0)
		goto out;
	f = open_memstream(out, len);
	if (!f) {
		ret = -ENOMEM;
		goto out;
	}
	ret = render[fmt](d, f);
	if (fclose(f) != 0 && !ret)
		ret = -ENOMEM;
	if (ret < 0) {
		free(*out);
		*out = NULL;
	}
out:
	mf_doc_free(d);
	return ret;
}

/* Parse "[-]digits[.digits]" of exactly @n bytes into raw units of @div. */
static bool parse_fixed(const char *s, size_t n, int64_t div, int64_t *out)
{
	bool neg = false;
	size_t i = 0;
	int64_t ip = 0, fp = 0, scale = div;

	if (i < n && s[i] == '-') {
		neg = true;
		i++;
	}
	if (i == n || s[i] < '0' || s[i] > '9')
		return false;
	for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
		if (ip > (INT64_MAX - 9) / 10)
			return false;
		ip = ip * 10 + (s[i] - '0');
	}
	if (i < n && s[i] == '.') {
		i++;
		if (i == n)
			return false;
		for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
			if (scale > 1) {
				scale /= 10;
				fp += (s[i] - '0') * scale;
			}
		}
	}
	if (i != n || ip > INT64_MAX / div)
		return false;
	*out = (neg ? -1 : 1) * (ip * div + fp);
	return true;
}

void mf_metrics_parse_flat(const char *text, int64_t v[MF_M__COUNT],
			   bool present[MF_M__COUNT])
{
	const char *line = text;

	while (line && *line) {
		const char *nl = strchr(line, '\n'), *eq;
		size_t len = nl ? (size_t)(nl - line) : strlen(line);

		eq = memchr(line, '=', len);
		if (eq) {
			for (size_t i = 0; i < MF_M__COUNT; i++) {
				const struct mf_metric_desc *m = &mf_metric_descs[i];
				size_t kl = strlen(m->key);
				int64_t raw;

				if (kl != (size_t)(eq - line) ||
				    memcmp(m->key, line, kl) != 0)
					continue;
				if (parse_fixed(eq + 1, len - kl - 1, m->div,
						&raw)) {
					v[i] = raw;
					present[i] = true;
				}
				break;
			}
		}
		line = nl ? nl + 1 : NULL;
	}
}
