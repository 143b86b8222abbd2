/* SPDX-License-Identifier: MIT */
/*
 * mf_tree - a mutable directory tree patched in place by batches of
 * changes. Nodes live in one array of slots (inode = slot + 1); each
 * directory keeps a sorted array of its entries' slot numbers, so lookup
 * is a binary search and readdir an index; a hash maps track ids to file
 * slots. Names are one allocation per node ("name\0" or, for a file with
 * a collision suffix, "name\0want\0").
 *
 * An apply runs in four phases: (A) detach the files of the changed
 * tracks, (B) find or create their directories, then append them to the
 * unsorted tail of their directory's entries, (C) compact and sort every
 * directory touched and, where names clash, work out its suffixes again,
 * (D) remove directories left empty and release removed nodes.
 *
 * Divisions: node and name helpers, track index, slots, reading, lookup
 * counts, apply.
 */
#include "mf_tree.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "mf_array.h"
#include "mf_utf8.h"
#include "mf_banned.h"

#define NAME_MAX_BYTES 255
#define NO_SLOT UINT32_MAX
#define MAX_SLOTS (UINT32_MAX - 2)

/* node flags */
#define F_DIR 0x01u		/* a directory */
#define F_LIVE 0x02u		/* in the tree */
#define F_ORPHAN 0x04u		/* removed, the kernel still holds it */
#define F_SUFFIXED 0x08u	/* name is "name\0want\0" */
#define F_DETACHED 0x10u	/* apply: left its directory */
#define F_RELINK 0x20u		/* apply: appended to a directory's tail */
#define F_TOUCHED 0x40u		/* apply: directory in the touched list */
#define F_UNSETTLED 0x80u	/* ENOMEM left names or emptiness to fix */

struct mf_node {
	char *name;			/* owned; NULL for free slots */
	uint32_t parent;		/* slot of the parent; root: 0 */
	uint32_t gen;			/* bumped when the slot is reused */
	uint32_t flags;			/* F_* above */
	uint32_t aux;			/* free list link; apply: sorted prefix */
	_Atomic uint64_t nlookup;	/* atomic: kernel references */
	union {
		struct {
			int64_t track;
			uint64_t version;	/* immutable */
			_Atomic uint64_t size1;	/* atomic: size + 1, 0 = none */
			_Atomic int64_t mtime;	/* atomic: with size1 */
		} f;
		struct {
			uint32_t *kids;		/* sorted slot numbers */
			uint32_t nkids;
			uint32_t nsubdir;
			int64_t mtime;
		} d;
	} u;
};

struct mf_tree {
	bool casefold;
	struct mf_node *nodes;		/* slots; [0] is the root */
	uint32_t nslots, cap;
	uint32_t free_head;		/* slot + 1 of a free slot, 0 = none */
	size_t nfiles, ndirs;
	uint32_t *tix;			/* track index: slot + 1, 0 = empty */
	size_t tix_mask, tix_n;
	uint32_t *orphans;		/* removed slots still referenced */
	size_t norphans, orphans_cap;
	size_t name_bytes, kid_bytes;
	bool unsettled;			/* some directory has F_UNSETTLED */
};

/* ---- node and name helpers ---- */

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

static unsigned char fold(const struct mf_tree *t, unsigned char c)
{
	return t->casefold && c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

/* Compare the slice @a (@alen bytes) with the string @b. */
static int name_cmp(const struct mf_tree *t, const char *a, size_t alen,
		    const char *b)
{
	size_t i;

	for (i = 0; i < alen; i++) {
		unsigned char x = fold(t, (unsigned char)a[i]);
		unsigned char y = fold(t, (unsigned char)b[i]);

		if (x != y || !y)
			return x < y ? -1 : x > y;
	}
	return b[alen] ? -1 : 0;
}

static uint64_t name_hash(const struct mf_tree *t, uint32_t parent,
			  const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ ((uint64_t)parent << 21);

	for (size_t i = 0; i < len; i++) {
		h ^= fold(t, (unsigned char)s[i]);
		h *= 0x100000001b3ULL;
	}
	return mix64(h);
}

/* The name of a file without its suffix. */
static const char *want_of(const struct mf_node *n)
{
	return n->flags & F_SUFFIXED ? n->name + strlen(n->name) + 1 : n->name;
}

/* Allocated size of a name block for accounting. */
static size_t name_block(const char *name, uint32_t flags)
{
	size_t l = strlen(name) + 1;

	if (flags & F_SUFFIXED)
		l += strlen(name + l) + 1;
	return l + sizeof(size_t);
}

/* Set @n's name to @name (@len bytes), suffixed form when @want. */
static int set_name(struct mf_tree *t, struct mf_node *n, const char *name,
		    size_t len, const char *want)
{
	size_t wl = want ? strlen(want) + 1 : 0;
	char *p = malloc(len + 1 + wl);

	if (!p)
		return -ENOMEM;
	memcpy(p, name, len);
	p[len] = '\0';
	if (want)
		memcpy(p + len + 1, want, wl);
	if (n->name)
		t->name_bytes -= name_block(n->name, n->flags);
	free(n->name);
	n->name = p;
	n->flags = want ? n->flags | F_SUFFIXED : n->flags & ~F_SUFFIXED;
	t->name_bytes += name_block(p, n->flags);
	return 0;
}

/* Capacity of a child array holding @n entries. */
static uint32_t kcap(uint32_t n)
{
	uint32_t c = 2;

	if (!n)
		return 0;
	while (c < n)
		c *= 2;
	return c;
}

static int kids_push(struct mf_tree *t, struct mf_node *d, uint32_t k)
{
	uint32_t n = d->u.d.nkids;

	if (n == UINT32_MAX - 1)
		return -EOVERFLOW;
	if (kcap(n + 1) != kcap(n)) {
		uint32_t *p = realloc(d->u.d.kids, kcap(n + 1) * sizeof(*p));

		if (!p)
			return -ENOMEM;
		t->kid_bytes += (kcap(n + 1) - kcap(n)) * sizeof(*p);
		d->u.d.kids = p;
	}
	d->u.d.kids[n] = k;
	d->u.d.nkids = n + 1;
	return 0;
}

/* Shrink @d's child array after it lost entries (@old entries before). */
static void kids_shrink(struct mf_tree *t, struct mf_node *d, uint32_t old)
{
	uint32_t n = d->u.d.nkids;
	uint32_t *p;

	if (kcap(n) == kcap(old))
		return;
	t->kid_bytes -= (kcap(old) - kcap(n)) * sizeof(*p);
	if (!n) {
		free(d->u.d.kids);
		d->u.d.kids = NULL;
		return;
	}
	p = realloc(d->u.d.kids, kcap(n) * sizeof(*p));
	if (p)
		d->u.d.kids = p;
	else	/* keeping the larger block is harmless */
		t->kid_bytes += (kcap(old) - kcap(n)) * sizeof(*p);
}

/* ---- track index ---- */

static size_t tix_find(const struct mf_tree *t, int64_t track)
{
	size_t i = mix64((uint64_t)track) & t->tix_mask;
	uint32_t s;

	while ((s = t->tix[i]) != 0) {
		if (t->nodes[s - 1].u.f.track == track)
			return i;
		i = (i + 1) & t->tix_mask;
	}
	return i;
}

static uint32_t tix_get(const struct mf_tree *t, int64_t track)
{
	uint32_t s = t->tix[tix_find(t, track)];

	return s ? s - 1 : NO_SLOT;
}

static int tix_grow(struct mf_tree *t)
{
	size_t cap = (t->tix_mask + 1) * 2;
	uint32_t *nt;

	if (cap > SIZE_MAX / sizeof(*nt))
		return -ENOMEM;
	nt = calloc(cap, sizeof(*nt));
	if (!nt)
		return -ENOMEM;
	for (size_t i = 0; i <= t->tix_mask; i++) {
		uint32_t s = t->tix[i];
		size_t j;

		if (!s)
			continue;
		j = mix64((uint64_t)t->nodes[s - 1].u.f.track) & (cap - 1);
		while (nt[j])
			j = (j + 1) & (cap - 1);
		nt[j] = s;
	}
	free(t->tix);
	t->tix = nt;
	t->tix_mask = cap - 1;
	return 0;
}

/* Point the entry of @slot's track (present) at @slot instead. */
static void tix_swap(struct mf_tree *t, uint32_t slot)
{
	t->tix[tix_find(t, t->nodes[slot].u.f.track)] = slot + 1;
}

/* Make room for one more entry (call before tix_put). */
static int tix_reserve(struct mf_tree *t)
{
	if ((t->tix_n + 1) * 2 > t->tix_mask + 1)
		return tix_grow(t);
	return 0;
}

static void tix_put(struct mf_tree *t, uint32_t slot)
{
	size_t i = tix_find(t, t->nodes[slot].u.f.track);

	t->tix[i] = slot + 1;
	t->tix_n++;
}

static void tix_del(struct mf_tree *t, int64_t track)
{
	size_t j = tix_find(t, track), k = j;

	if (!t->tix[j])
		return;
	t->tix[j] = 0;
	t->tix_n--;
	for (;;) {
		size_t home;

		k = (k + 1) & t->tix_mask;
		if (!t->tix[k])
			break;
		home = mix64((uint64_t)t->nodes[t->tix[k] - 1].u.f.track) &
		       t->tix_mask;
		if ((j < k && (home <= j || home > k)) ||
		    (j > k && home <= j && home > k)) {
			t->tix[j] = t->tix[k];
			t->tix[k] = 0;
			j = k;
		}
	}
}

/* ---- slots ---- */

/* A fresh slot (its gen preserved); NO_SLOT on ENOMEM/EOVERFLOW. */
static uint32_t slot_alloc(struct mf_tree *t)
{
	struct mf_node *n;
	uint32_t s, gen = 0;

	if (t->free_head) {
		s = t->free_head - 1;
		t->free_head = t->nodes[s].aux;
		gen = t->nodes[s].gen;
	} else {
		if (t->nslots >= MAX_SLOTS)
			return NO_SLOT;
		if (t->nslots == t->cap) {
			uint32_t cap = t->cap > MAX_SLOTS / 2 ? MAX_SLOTS :
				       t->cap * 2;
			struct mf_node *p = realloc(t->nodes,
						    (size_t)cap * sizeof(*p));

			if (!p)
				return NO_SLOT;
			t->nodes = p;
			t->cap = cap;
		}
		s = t->nslots++;
	}
	n = &t->nodes[s];
	memset(n, 0, sizeof(*n));
	n->gen = gen;
	atomic_init(&n->nlookup, 0);
	return s;
}

static void slot_release(struct mf_tree *t, uint32_t s)
{
	struct mf_node *n = &t->nodes[s];

	if (n->name)
		t->name_bytes -= name_block(n->name, n->flags);
	if ((n->flags & F_DIR) && n->u.d.kids) {
		t->kid_bytes -= kcap(n->u.d.nkids) * sizeof(uint32_t);
		free(n->u.d.kids);
	}
	free(n->name);
	n->name = NULL;
	n->flags = 0;
	n->gen++;
	n->aux = t->free_head;
	t->free_head = s + 1;
}

/* A node left the tree: free its slot, or keep it while referenced. */
static void slot_drop(struct mf_tree *t, uint32_t s)
{
	struct mf_node *n = &t->nodes[s];
	uint32_t *p;

	if (n->flags & F_DIR)
		t->ndirs--;
	else
		t->nfiles--;
	n->flags &= ~(F_LIVE | F_DETACHED | F_RELINK | F_TOUCHED);
	if (atomic_load(&n->nlookup) == 0)
		goto release;
	p = t->orphans;
	if (t->norphans == t->orphans_cap) {
		size_t cap = t->orphans_cap ? t->orphans_cap * 2 : 16;

		p = realloc(t->orphans, cap * sizeof(*p));
		if (!p)
			goto release;	/* the kernel then sees ENOENT on it */
		t->orphans = p;
		t->orphans_cap = cap;
	}
	n->flags |= F_ORPHAN;
	t->orphans[t->norphans++] = s;
	return;
release:
	slot_release(t, s);
}

static void reclaim_orphans(struct mf_tree *t)
{
	size_t w = 0;

	for (size_t i = 0; i < t->norphans; i++) {
		uint32_t s = t->orphans[i];

		if (atomic_load(&t->nodes[s].nlookup) == 0)
			slot_release(t, s);
		else
			t->orphans[w++] = s;
	}
	t->norphans = w;
}

struct mf_tree *mf_tree_new(bool casefold)
{
	struct mf_tree *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->casefold = casefold;
	t->cap = 64;
	t->nodes = malloc(t->cap * sizeof(*t->nodes));
	t->tix_mask = 63;
	t->tix = calloc(t->tix_mask + 1, sizeof(*t->tix));
	if (!t->nodes || !t->tix) {
		free(t->nodes);
		free(t->tix);
		free(t);
		return NULL;
	}
	memset(&t->nodes[0], 0, sizeof(t->nodes[0]));
	t->nslots = 1;
	t->nodes[0].flags = F_DIR | F_LIVE;
	t->nodes[0].name = NULL;
	atomic_init(&t->nodes[0].nlookup, 0);
	t->ndirs = 1;
	return t;
}

void mf_tree_free(struct mf_tree *t)
{
	if (!t)
		return;
	for (uint32_t s = 0; s < t->nslots; s++) {
		if (t->nodes[s].flags & F_DIR)
			free(t->nodes[s].u.d.kids);
		free(t->nodes[s].name);
	}
	free(t->nodes);
	free(t->tix);
	free(t->orphans);
	free(t);
}

/* ---- reading ---- */

uint64_t mf_tree_ino(const struct mf_tree *t, const struct mf_node *n)
{
	return (uint64_t)(n - t->nodes) + 1;
}

uint64_t mf_node_gen(const struct mf_node *n)
{
	return n->gen;
}

const char *mf_node_name(const struct mf_node *n)
{
	return n->name ? n->name : "";
}

const char *mf_node_want(const struct mf_node *n)
{
	return n->name ? want_of(n) : "";
}

bool mf_node_is_dir(const struct mf_node *n)
{
	return n->flags & F_DIR;
}

int64_t mf_node_track(const struct mf_node *n)
{
	return n->flags & F_DIR ? -1 : n->u.f.track;
}

size_t mf_node_nchild(const struct mf_node *n)
{
	return n->flags & F_DIR ? n->u.d.nkids : 0;
}

size_t mf_node_nsubdir(const struct mf_node *n)
{
	return n->flags & F_DIR ? n->u.d.nsubdir : 0;
}

uint64_t mf_node_version(const struct mf_node *n)
{
	return n->flags & F_DIR ? 0 : n->u.f.version;
}

bool mf_node_live(const struct mf_node *n)
{
	return n->flags & F_LIVE;
}

int64_t mf_node_mtime_ns(const struct mf_node *n)
{
	return n->flags & F_DIR ? n->u.d.mtime : 0;
}

bool mf_node_attr_get(const struct mf_node *n, uint64_t *size,
		      int64_t *mtime_ns)
{
	uint64_t s1;

	if (n->flags & F_DIR)
		return false;
	s1 = atomic_load_explicit(&n->u.f.size1, memory_order_acquire);
	if (!s1)
		return false;
	*size = s1 - 1;
	*mtime_ns = atomic_load_explicit(&n->u.f.mtime, memory_order_relaxed);
	return true;
}

void mf_node_attr_set(const struct mf_node *n, uint64_t size, int64_t mtime_ns)
{
	struct mf_node *w = (struct mf_node *)n;	/* atomic fields only */

	if (n->flags & F_DIR || size == UINT64_MAX)
		return;
	atomic_store_explicit(&w->u.f.mtime, mtime_ns, memory_order_relaxed);
	atomic_store_explicit(&w->u.f.size1, size + 1, memory_order_release);
}

const struct mf_node *mf_tree_root(const struct mf_tree *t)
{
	return &t->nodes[0];
}

const struct mf_node *mf_tree_get(const struct mf_tree *t, uint64_t ino)
{
	if (ino == 0 || ino > t->nslots)
		return NULL;
	return t->nodes[ino - 1].flags & F_LIVE ? &t->nodes[ino - 1] : NULL;
}

const struct mf_node *mf_tree_get_any(const struct mf_tree *t, uint64_t ino)
{
	if (ino == 0 || ino > t->nslots)
		return NULL;
	return t->nodes[ino - 1].flags & (F_LIVE | F_ORPHAN) ?
	       &t->nodes[ino - 1] : NULL;
}

/* Binary search of @len bytes of @name among the first @hi entries of @d. */
static uint32_t find_kid(const struct mf_tree *t, const struct mf_node *d,
			 uint32_t hi, const char *name, size_t len)
{
	uint32_t lo = 0;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		uint32_t s = d->u.d.kids[mid];
		int c = name_cmp(t, name, len, t->nodes[s].name);

		if (c == 0)
			return mid;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NO_SLOT;
}

const struct mf_node *mf_tree_lookup(const struct mf_tree *t,
				     uint64_t parent_ino, const char *name)
{
	const struct mf_node *d = mf_tree_get(t, parent_ino);
	uint32_t i;

	if (!d || !(d->flags & F_DIR))
		return NULL;
	i = find_kid(t, d, d->u.d.nkids, name, strlen(name));
	return i == NO_SLOT ? NULL : &t->nodes[d->u.d.kids[i]];
}

const struct mf_node *mf_tree_child(const struct mf_tree *t,
				    const struct mf_node *dir, size_t i)
{
	if (!(dir->flags & F_DIR) || i >= dir->u.d.nkids)
		return NULL;
	return &t->nodes[dir->u.d.kids[i]];
}

const struct mf_node *mf_tree_parent(const struct mf_tree *t,
				     const struct mf_node *n)
{
	return &t->nodes[n->parent];
}

const struct mf_node *mf_tree_find_track(const struct mf_tree *t,
					 int64_t track_id)
{
	uint32_t s = tix_get(t, track_id);

	return s == NO_SLOT ? NULL : &t->nodes[s];
}

int mf_tree_path(const struct mf_tree *t, const struct mf_node *n, char **out)
{
	const struct mf_node *p;
	size_t len = 0, l;
	char *buf;

	for (p = n; p != t->nodes; p = &t->nodes[p->parent])
		len += strlen(p->name) + 1;
	buf = malloc(len ? len : 1);
	if (!buf)
		return -ENOMEM;
	buf[len ? len - 1 : 0] = '\0';
	for (p = n; p != t->nodes; p = &t->nodes[p->parent]) {
		l = strlen(p->name);
		len -= l + 1;
		memcpy(buf + len, p->name, l);
		if (len)
			buf[len - 1] = '/';
	}
	*out = buf;
	return 0;
}

int mf_tree_each_file(const struct mf_tree *t,
		      int (*fn)(void *ctx, const struct mf_node *n), void *ctx)
{
	for (uint32_t s = 1; s < t->nslots; s++) {
		const struct mf_node *n = &t->nodes[s];
		int r;

		if ((n->flags & (F_LIVE | F_DIR)) != F_LIVE)
			continue;
		r = fn(ctx, n);
		if (r)
			return r;
	}
	return 0;
}

size_t mf_tree_nnodes(const struct mf_tree *t)
{
	return t->nfiles + t->ndirs;
}

size_t mf_tree_ndirs(const struct mf_tree *t)
{
	return t->ndirs;
}

size_t mf_tree_nfiles(const struct mf_tree *t)
{
	return t->nfiles;
}

bool mf_tree_casefold(const struct mf_tree *t)
{
	return t->casefold;
}

size_t mf_tree_bytes(const struct mf_tree *t)
{
	return sizeof(*t) + (size_t)t->cap * sizeof(*t->nodes) +
	       (t->tix_mask + 1) * sizeof(*t->tix) +
	       t->orphans_cap * sizeof(*t->orphans) + t->name_bytes +
	       t->kid_bytes;
}

/* ---- lookup counts ---- */

void mf_tree_ref(const struct mf_tree *t, const struct mf_node *n)
{
	struct mf_node *w = (struct mf_node *)n;	/* atomic field only */

	(void)t;
	atomic_fetch_add(&w->nlookup, 1);
}

void mf_tree_forget(const struct mf_tree *t, uint64_t ino, uint64_t nlookup)
{
	struct mf_node *n;
	uint64_t old;

	if (ino <= 1 || ino > t->nslots)
		return;
	n = &t->nodes[ino - 1];
	if (!(n->flags & (F_LIVE | F_ORPHAN)))
		return;
	old = atomic_load(&n->nlookup);
	do {
		if (!old)
			return;
	} while (!atomic_compare_exchange_weak(&n->nlookup, &old,
					       old > nlookup ? old - nlookup : 0));
}

uint64_t mf_tree_nlookup(const struct mf_tree *t, uint64_t ino)
{
	if (ino == 0 || ino > t->nslots)
		return 0;
	return atomic_load(&t->nodes[ino - 1].nlookup);
}

/* ---- apply ---- */

struct apply {
	struct mf_tree *t;
	const struct mf_tree_change *ch;
	size_t n;
	int64_t now;
	mf_tree_inval_fn inval;
	void *ctx;
	uint32_t *slot;		/* per change: its node, or NO_SLOT */
	uint32_t *old;		/* per change: the node it replaces, or NO_SLOT */
	uint32_t *dir;		/* per change: target directory, or NO_SLOT */
	uint8_t *state;		/* per change: ST_* */
	uint32_t *touched;	/* directories touched */
	size_t ntouched, touched_cap;
	uint32_t *dead;		/* directories left empty */
	size_t ndead, dead_cap;
	uint32_t *newdirs;	/* hash of directories made: slot + 1 */
	size_t newdirs_mask, nnewdirs;
};

enum { ST_TODO, ST_SAME, ST_GONE, ST_DONE };

static void inval(struct apply *a, uint32_t s, const char *name)
{
	if (a->inval)
		a->inval(a->ctx, (uint64_t)s + 1, name);
}

static int touch(struct apply *a, uint32_t d)
{
	struct mf_node *n = &a->t->nodes[d];

	if (n->flags & F_TOUCHED)
		return 0;
	if (a->ntouched == a->touched_cap) {
		size_t cap = a->touched_cap ? a->touched_cap * 2 : 64;
		uint32_t *p = realloc(a->touched, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		a->touched = p;
		a->touched_cap = cap;
	}
	n->flags |= F_TOUCHED;
	n->aux = n->u.d.nkids;
	a->touched[a->ntouched++] = d;
	return 0;
}

/* The directory named by @len bytes of @s under @d, if it exists. */
static uint32_t find_dir(struct apply *a, uint32_t d, const char *s, size_t len)
{
	struct mf_tree *t = a->t;
	const struct mf_node *n = &t->nodes[d];
	uint32_t hi = n->flags & F_TOUCHED ? n->aux : n->u.d.nkids;
	uint32_t i = find_kid(t, n, hi, s, len);

	if (i != NO_SLOT && (t->nodes[n->u.d.kids[i]].flags & F_DIR))
		return n->u.d.kids[i];
	if (a->newdirs) {
		size_t j = name_hash(t, d, s, len) & a->newdirs_mask;
		uint32_t k;

		while ((k = a->newdirs[j]) != 0) {
			const struct mf_node *m = &t->nodes[k - 1];

			if (m->parent == d && name_cmp(t, s, len, m->name) == 0)
				return k - 1;
			j = (j + 1) & a->newdirs_mask;
		}
	}
	return NO_SLOT;
}

static int newdirs_add(struct apply *a, uint32_t s)
{
	struct mf_tree *t = a->t;

	if ((a->nnewdirs + 1) * 2 > a->newdirs_mask + 1) {
		size_t cap = a->newdirs ? (a->newdirs_mask + 1) * 2 : 64;
		uint32_t *nt = calloc(cap, sizeof(*nt));

		if (!nt)
			return -ENOMEM;
		for (size_t i = 0; a->newdirs && i <= a->newdirs_mask; i++) {
			uint32_t k = a->newdirs[i];
			const struct mf_node *m;
			size_t j;

			if (!k)
				continue;
			m = &t->nodes[k - 1];
			j = name_hash(t, m->parent, m->name, strlen(m->name)) &
			    (cap - 1);
			while (nt[j])
				j = (j + 1) & (cap - 1);
			nt[j] = k;
		}
		free(a->newdirs);
		a->newdirs = nt;
		a->newdirs_mask = cap - 1;
	}
	{
		const struct mf_node *m = &t->nodes[s];
		size_t j = name_hash(t, m->parent, m->name, strlen(m->name)) &
			   a->newdirs_mask;

		while (a->newdirs[j])
			j = (j + 1) & a->newdirs_mask;
		a->newdirs[j] = s + 1;
		a->nnewdirs++;
	}
	return 0;
}

/* Append node @s to the entries of directory @d (touching @d). */
static int link_into(struct apply *a, uint32_t d, uint32_t s)
{
	int ret = touch(a, d);

	if (!ret)
		ret = kids_push(a->t, &a->t->nodes[d], s);
	if (!ret)
		a->t->nodes[s].parent = d;
	return ret;
}

static int make_dir(struct apply *a, uint32_t parent, const char *s,
		    size_t len, uint32_t *out)
{
	struct mf_tree *t = a->t;
	uint32_t d = slot_alloc(t);
	struct mf_node *n;
	int ret;

	if (d == NO_SLOT)
		return -ENOMEM;
	n = &t->nodes[d];
	n->flags = F_DIR | F_LIVE;
	n->u.d.mtime = a->now;
	ret = set_name(t, n, s, len, NULL);
	if (!ret)
		ret = link_into(a, parent, d);
	if (!ret)
		ret = newdirs_add(a, d);
	if (ret) {
		/* not linked anywhere reachable: undo */
		struct mf_node *p = &t->nodes[parent];

		if (p->u.d.nkids && p->u.d.kids[p->u.d.nkids - 1] == d)
			p->u.d.nkids--;
		t->ndirs++;
		slot_drop(t, d);
		return ret;
	}
	t->ndirs++;
	inval(a, parent, n->name);	/* a cached negative entry */
	*out = d;
	return 0;
}

/* Does change @c put its existing node @s where it already is? */
static bool same_place(struct apply *a, uint32_t s, const char *path)
{
	struct mf_tree *t = a->t;
	const struct mf_node *n = &t->nodes[s];
	uint32_t d = 0;
	const char *end;

	while ((end = strchr(path, '/')) != NULL) {
		d = find_dir(a, d, path, (size_t)(end - path));
		if (d == NO_SLOT)
			return false;
		path = end + 1;
	}
	return d == n->parent && strcmp(want_of(n), path) == 0;
}

static bool path_valid(const char *path)
{
	const char *s = path, *end;
	size_t len;

	for (;;) {
		end = strchr(s, '/');
		len = end ? (size_t)(end - s) : strlen(s);
		if (len == 0 || len > NAME_MAX_BYTES)
			return false;
		if (s[0] == '.' && (len == 1 || (len == 2 && s[1] == '.')))
			return false;
		if (!end)
			return true;
		s = end + 1;
	}
}

static int cmp_i64(const void *x, const void *y)
{
	int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;

	return (a > b) - (a < b);
}

/* -EINVAL for a bad path or a repeated track id. */
static int validate(const struct mf_tree_change *ch, size_t n)
{
	int64_t *ids;
	int ret = 0;

	for (size_t i = 0; i < n; i++)
		if (ch[i].path && !path_valid(ch[i].path))
			return -EINVAL;
	ids = malloc((n ? n : 1) * sizeof(*ids));
	if (!ids)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		ids[i] = ch[i].track_id;
	qsort(ids, n, sizeof(*ids), cmp_i64);
	for (size_t i = 1; i < n; i++)
		if (ids[i] == ids[i - 1])
			ret = -EINVAL;
	free(ids);
	return ret;
}

/* Phase A: detach the files of the changed tracks. */
static int phase_detach(struct apply *a)
{
	struct mf_tree *t = a->t;

	for (size_t i = 0; i < a->n; i++) {
		uint32_t s = tix_get(t, a->ch[i].track_id);
		struct mf_node *n;
		bool replace;
		int ret;

		a->slot[i] = s;
		a->old[i] = NO_SLOT;
		a->dir[i] = NO_SLOT;
		a->state[i] = ST_TODO;
		if (s == NO_SLOT) {
			if (!a->ch[i].path)
				a->state[i] = ST_DONE;
			continue;
		}
		n = &t->nodes[s];
		/* a new version gets a new node; the old one keeps its bytes
		 * (and cached attributes) for its handles */
		replace = a->ch[i].path && n->u.f.version != a->ch[i].version;
		if (!replace) {
			atomic_store(&n->u.f.size1, 0);
			inval(a, s, NULL);
			if (a->ch[i].path && same_place(a, s, a->ch[i].path)) {
				a->state[i] = ST_SAME;
				continue;
			}
		}
		ret = touch(a, n->parent);
		if (ret)
			return ret;
		inval(a, n->parent, n->name);
		n->flags |= F_DETACHED;
		if (replace) {
			a->old[i] = s;
			a->slot[i] = NO_SLOT;
		} else if (!a->ch[i].path) {
			a->state[i] = ST_GONE;
		}
	}
	return 0;
}

/*
 * Out of memory in phase B: change @i leaves its track out of the tree
 * (the node it would have replaced, if any, goes as a removal would).
 */
static void left_out(struct apply *a, size_t i)
{
	if (a->old[i] != NO_SLOT) {
		a->slot[i] = a->old[i];
		a->old[i] = NO_SLOT;
	}
	a->state[i] = a->slot[i] == NO_SLOT ? ST_DONE : ST_GONE;
}

/* Phase B: directories for every path, then link the files. */
static int phase_link(struct apply *a)
{
	struct mf_tree *t = a->t;
	int ret = 0;

	for (size_t i = 0; i < a->n && !ret; i++) {
		const char *p = a->ch[i].path, *end;
		uint32_t d = 0, e;

		if (a->state[i] != ST_TODO)
			continue;
		while ((end = strchr(p, '/')) != NULL) {
			e = find_dir(a, d, p, (size_t)(end - p));
			if (e == NO_SLOT) {
				ret = make_dir(a, d, p, (size_t)(end - p), &e);
				if (ret)
					break;
			}
			d = e;
			p = end + 1;
		}
		a->dir[i] = d;
	}
	/* no lookups from here on: names may change */
	for (size_t i = 0; i < a->n; i++) {
		const char *p = a->ch[i].path, *base;
		uint32_t s = a->slot[i];
		struct mf_node *n;

		if (a->state[i] != ST_TODO)
			continue;
		if (a->dir[i] == NO_SLOT || ret) {
			/* out of memory: the track is left out */
			left_out(a, i);
			continue;
		}
		base = strrchr(p, '/');
		base = base ? base + 1 : p;
		if (s == NO_SLOT) {
			bool swap = a->old[i] != NO_SLOT;

			ret = swap ? 0 : tix_reserve(t);
			s = ret ? NO_SLOT : slot_alloc(t);
			if (s == NO_SLOT) {
				ret = -ENOMEM;
				left_out(a, i);
				continue;
			}
			n = &t->nodes[s];
			n->flags = F_LIVE;
			n->u.f.track = a->ch[i].track_id;
			n->u.f.version = a->ch[i].version;
			atomic_init(&n->u.f.size1, 0);
			atomic_init(&n->u.f.mtime, 0);
			t->nfiles++;
			a->slot[i] = s;
			if (set_name(t, n, base, strlen(base), NULL) < 0 ||
			    link_into(a, a->dir[i], s) < 0) {
				ret = -ENOMEM;
				t->nfiles--;
				slot_release(t, s);
				a->slot[i] = NO_SLOT;
				left_out(a, i);
				continue;
			}
			if (swap)
				tix_swap(t, s);
			else
				tix_put(t, s);
		} else {
			n = &t->nodes[s];
			if (set_name(t, n, base, strlen(base), NULL) < 0 ||
			    link_into(a, a->dir[i], s) < 0) {
				ret = -ENOMEM;
				a->state[i] = ST_GONE;
				continue;
			}
			n->flags &= ~F_DETACHED;
		}
		n->flags |= F_RELINK;
		a->state[i] = ST_DONE;
		inval(a, a->dir[i], n->name);	/* a cached negative entry */
	}
	for (size_t i = 0; i < a->n; i++)
		if (a->state[i] == ST_GONE)
			tix_del(t, a->ch[i].track_id);
	return ret;
}

static int cmp_kids(const void *x, const void *y, void *arg)
{
	const struct mf_tree *t = arg;
	const char *a = t->nodes[*(const uint32_t *)x].name;
	const char *b = t->nodes[*(const uint32_t *)y].name;
	int c = name_cmp(t, a, strlen(a), b);

	return c ? c : strcmp(a, b);
}

static int cmp_track(const void *x, const void *y, void *arg)
{
	const struct mf_tree *t = arg;
	int64_t a = t->nodes[*(const uint32_t *)x].u.f.track;
	int64_t b = t->nodes[*(const uint32_t *)y].u.f.track;

	return (a > b) - (a < b);
}

/* Write "stem (k).ext" for @name into @buf (>= 256 bytes); its length. */
static size_t suffixed_name(char *buf, const char *name, size_t len, uint32_t k)
{
	char suffix[16];
	size_t stem = len, ext, slen, i;
	uint32_t v = k;

	i = sizeof(suffix);
	suffix[--i] = ')';
	do {
		suffix[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	suffix[--i] = '(';
	suffix[--i] = ' ';
	slen = sizeof(suffix) - i;
	while (stem > 1 && name[stem - 1] != '.')
		stem--;
	stem = stem > 1 ? stem - 1 : len;
	ext = len - stem;
	if (ext + slen >= NAME_MAX_BYTES) {
		stem = len;
		ext = 0;
	}
	stem = mf_utf8_cut(name, stem, NAME_MAX_BYTES - slen - ext);
	memcpy(buf, name, stem);
	memcpy(buf + stem, suffix + i, slen);
	memcpy(buf + stem + slen, name + len - ext, ext);
	buf[stem + slen + ext] = '\0';
	return stem + slen + ext;
}

/* A set of names (borrowed strings) for suffix resolution. */
struct nameset {
	const struct mf_tree *t;
	const char **v;
	size_t mask;
};

/* Is @s in the set? If not and @add, add it. */
static bool nameset_has(struct nameset *ns, const char *s, bool add)
{
	size_t len = strlen(s);
	size_t i = name_hash(ns->t, 0, s, len) & ns->mask;

	while (ns->v[i]) {
		if (name_cmp(ns->t, s, len, ns->v[i]) == 0)
			return true;
		i = (i + 1) & ns->mask;
	}
	if (add)
		ns->v[i] = s;
	return false;
}

/*
 * Work out the names of directory @d's files again: directories keep
 * theirs, the lowest track of each wanted name gets it plain, the others
 * a suffix, in ascending track order.
 */
static int resolve_names(struct apply *a, uint32_t d)
{
	struct mf_tree *t = a->t;
	struct mf_node *dn = &t->nodes[d];
	uint32_t nk = dn->u.d.nkids, nf = 0, *files = NULL;
	char **assigned = NULL;
	uint8_t *owned = NULL;
	struct nameset ns = { .t = t };
	char buf[NAME_MAX_BYTES + 1];
	size_t cap = 16;
	int ret = -ENOMEM;

	while (cap < (size_t)nk * 2 + 2)
		cap *= 2;
	ns.v = calloc(cap, sizeof(*ns.v));
	ns.mask = cap - 1;
	files = malloc(((size_t)nk + 1) * sizeof(*files));
	assigned = calloc((size_t)nk + 1, sizeof(*assigned));
	owned = calloc((size_t)nk + 1, 1);
	if (!ns.v || !files || !assigned || !owned)
		goto out;
	for (uint32_t i = 0; i < nk; i++) {
		uint32_t s = dn->u.d.kids[i];

		if (t->nodes[s].flags & F_DIR)
			nameset_has(&ns, t->nodes[s].name, true);
		else
			files[nf++] = s;
	}
	qsort_r(files, nf, sizeof(*files), cmp_track, t);
	for (uint32_t i = 0; i < nf; i++) {
		const char *w = want_of(&t->nodes[files[i]]);

		if (!nameset_has(&ns, w, true))
			assigned[i] = (char *)w;	/* borrowed: plain */
	}
	for (uint32_t i = 0; i < nf; i++) {
		const char *w = want_of(&t->nodes[files[i]]);

		if (assigned[i])
			continue;
		for (uint32_t k = 2;; k++) {
			size_t l = suffixed_name(buf, w, strlen(w), k);
			char *p;

			if (nameset_has(&ns, buf, false))
				continue;
			p = malloc(l + 1);
			if (!p)
				goto out;
			memcpy(p, buf, l + 1);
			assigned[i] = p;
			owned[i] = 1;
			nameset_has(&ns, p, true);
			break;
		}
	}
	ret = 0;
	for (uint32_t i = 0; i < nf; i++) {
		struct mf_node *n = &t->nodes[files[i]];
		const char *w = want_of(n);
		bool plain = !owned[i];
		char *want;

		if (strcmp(n->name, assigned[i]) == 0 &&
		    plain == !(n->flags & F_SUFFIXED))
			continue;
		want = malloc(strlen(w) + 1);
		if (!want) {
			ret = -ENOMEM;
			continue;
		}
		memcpy(want, w, strlen(w) + 1);
		inval(a, d, n->name);
		if (plain) {
			if (set_name(t, n, want, strlen(want), NULL) < 0)
				ret = -ENOMEM;
		} else if (set_name(t, n, assigned[i], strlen(assigned[i]),
				    want) < 0) {
			ret = -ENOMEM;
		}
		inval(a, d, n->name);
		free(want);
	}
out:
	for (uint32_t i = 0; assigned && owned && i < nf; i++)
		if (owned[i])
			free(assigned[i]);
	free(owned);
	free(assigned);
	free(files);
	free(ns.v);
	return ret;
}

/*
 * Phase C for directory @d: drop the entries that left, sort, resolve the
 * names. A directory left empty (not the root) is marked for removal and
 * its parent touched, so that it is settled (again) later in the list.
 */
static int settle_dir(struct apply *a, uint32_t d)
{
	struct mf_tree *t = a->t;
	struct mf_node *dn = &t->nodes[d];
	uint32_t old = dn->u.d.nkids, w = 0, nsub = 0;
	bool clash = false;
	int ret = 0;

	dn->flags &= ~F_UNSETTLED;
	for (uint32_t i = 0; i < old; i++) {
		uint32_t s = dn->u.d.kids[i];
		uint32_t f = t->nodes[s].flags;

		/* a moved entry sits in the sorted prefix and in a tail */
		if (f & F_DETACHED || (i < dn->aux && (f & F_RELINK)))
			continue;
		dn->u.d.kids[w++] = s;
		if (f & F_DIR)
			nsub++;
		if (f & F_SUFFIXED)
			clash = true;
	}
	dn->u.d.nkids = w;
	dn->u.d.nsubdir = nsub;
	dn->u.d.mtime = a->now;
	kids_shrink(t, dn, old);
	if (old > dn->aux)	/* entries were appended */
		qsort_r(dn->u.d.kids, w, sizeof(uint32_t), cmp_kids, t);
	for (uint32_t i = 1; i < w && !clash; i++) {
		const char *x = t->nodes[dn->u.d.kids[i]].name;

		if (name_cmp(t, x, strlen(x),
			     t->nodes[dn->u.d.kids[i - 1]].name) == 0)
			clash = true;
	}
	if (clash) {
		ret = resolve_names(a, d);
		qsort_r(dn->u.d.kids, w, sizeof(uint32_t), cmp_kids, t);
		if (ret)
			dn->flags |= F_UNSETTLED;
	}
	inval(a, d, NULL);
	dn->flags &= ~F_TOUCHED;	/* may be touched (and settled) again */
	if (w == 0 && d != 0) {
		uint32_t p = dn->parent;

		uint32_t *v = mf_array_grow(a->dead, &a->dead_cap,
					    a->ndead + 1, sizeof(*v));

		if (v)
			a->dead = v;
		/* out of memory: an empty directory stays, harmless */
		if (v && touch(a, p) == 0) {
			dn = &t->nodes[d];
			dn->flags |= F_DETACHED;
			inval(a, p, dn->name);
			a->dead[a->ndead++] = d;
		} else {
			dn->flags |= F_UNSETTLED;
			ret = -ENOMEM;
		}
	}
	return ret;
}

int mf_tree_apply(struct mf_tree *t, const struct mf_tree_change *changes,
		  size_t n, int64_t now_ns, mf_tree_inval_fn inval_fn, void *ctx)
{
	struct apply a = {
		.t = t, .ch = changes, .n = n, .now = now_ns,
		.inval = inval_fn, .ctx = ctx,
	};
	int ret, r;

	ret = validate(changes, n);
	if (ret)
		return ret;
	reclaim_orphans(t);
	a.slot = malloc((n ? n : 1) * sizeof(*a.slot));
	a.old = malloc((n ? n : 1) * sizeof(*a.old));
	a.dir = malloc((n ? n : 1) * sizeof(*a.dir));
	a.state = malloc(n ? n : 1);
	if (!a.slot || !a.old || !a.dir || !a.state) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		a.slot[i] = NO_SLOT;
		a.old[i] = NO_SLOT;
		a.state[i] = ST_DONE;
	}
	/* directories an earlier ENOMEM left unsettled are settled now */
	for (uint32_t s = 0; t->unsettled && s < t->nslots; s++)
		if ((t->nodes[s].flags & (F_LIVE | F_UNSETTLED)) ==
		    (F_LIVE | F_UNSETTLED))
			if (touch(&a, s) < 0) {
				ret = -ENOMEM;
				goto rollback;
			}
	t->unsettled = false;
	ret = phase_detach(&a);
	if (ret) {
rollback:
		/* nothing moved yet: put back what was marked */
		for (size_t i = 0; i < n; i++) {
			if (a.slot[i] != NO_SLOT && a.state[i] != ST_SAME)
				t->nodes[a.slot[i]].flags &= ~F_DETACHED;
			if (a.old[i] != NO_SLOT)
				t->nodes[a.old[i]].flags &= ~F_DETACHED;
		}
		for (size_t i = 0; i < a.ntouched; i++) {
			t->nodes[a.touched[i]].flags &= ~F_TOUCHED;
			if (t->nodes[a.touched[i]].flags & F_UNSETTLED)
				t->unsettled = true;
		}
		goto out;
	}
	ret = phase_link(&a);
	for (size_t i = 0; i < a.ntouched; i++) {
		r = settle_dir(&a, a.touched[i]);
		if (r && !ret)
			ret = r;
	}
	for (size_t i = 0; i < a.ndead; i++)
		slot_drop(t, a.dead[i]);
	for (size_t i = 0; i < a.ntouched; i++)
		if (t->nodes[a.touched[i]].flags & F_UNSETTLED)
			t->unsettled = true;
	for (size_t i = 0; i < n; i++) {
		uint32_t s = a.slot[i];

		if (a.old[i] != NO_SLOT)
			slot_drop(t, a.old[i]);	/* replaced: the new one is s */
		if (s == NO_SLOT)
			continue;
		if (a.state[i] == ST_GONE)
			slot_drop(t, s);
		else
			t->nodes[s].flags &= ~F_RELINK;
	}
out:
	free(a.dead);
	free(a.newdirs);
	free(a.touched);
	free(a.state);
	free(a.dir);
	free(a.old);
	free(a.slot);
	return ret;
}
