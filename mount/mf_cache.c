/* SPDX-License-Identifier: MIT */
/* mf_cache - the mount's layout cache (see mf_cache.h). */
#include "mf_cache.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "mf_array.h"
#include "mf_log.h"
#include "mf_metrics.h"
#include "mf_store.h"

struct mf_cache {
	struct mf_cache_config cfg;	/* immutable */
	struct mf_conns *conns;		/* borrowed; thread-safe */
	pthread_mutex_t cache_lock;
	struct mf_served **slots;	/* guarded by cache_lock; by track id */
	size_t nslots;			/* power of two; guarded by cache_lock */
	size_t nentries;		/* guarded by cache_lock */
	size_t cache_mem;		/* guarded by cache_lock */
	uint64_t cache_gen;		/* guarded by cache_lock */
	struct mf_served *lru_head;	/* most recent; guarded by cache_lock */
	struct mf_served *lru_tail;	/* guarded by cache_lock */
};

int mf_cache_new(const struct mf_cache_config *cfg, struct mf_conns *conns,
		 struct mf_cache **out)
{
	struct mf_cache *c = calloc(1, sizeof(*c));

	*out = NULL;
	if (!c)
		return ENOMEM;
	c->cfg = *cfg;
	c->conns = conns;
	pthread_mutex_init(&c->cache_lock, NULL);
	*out = c;
	return 0;
}

uint64_t mf_version_of(uint64_t store_gen, int64_t content_version)
{
	return store_gen << 48 ^ (uint64_t)content_version;
}

uint64_t mf_served_version(const struct mf_served *sv)
{
	return mf_version_of(sv->store_gen, sv->info.content_version);
}

static void pins_free(struct mf_pin *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].data);
	free(v);
}

void mf_served_put(struct mf_served *sv)
{
	if (!sv || atomic_fetch_sub(&sv->refs, 1) != 1)
		return;
	pins_free(sv->pins, sv->npins);
	mf_layout_free(sv->layout);
	free(sv->backing_path);
	free(sv);
}

static size_t slot_of(const struct mf_cache *c, int64_t id)
{
	uint64_t h = (uint64_t)id * 0x9e3779b97f4a7c15ull;

	return (size_t)(h >> 20) & (c->nslots - 1);
}

/* Caller holds cache_lock. Returns the slot index of @id or nslots. */
static size_t cache_find(const struct mf_cache *c, int64_t id)
{
	size_t j;

	if (!c->nslots)
		return 0;
	j = slot_of(c, id);
	while (c->slots[j]) {
		if (c->slots[j]->info.id == id)
			return j;
		j = (j + 1) & (c->nslots - 1);
	}
	return c->nslots;
}

static void lru_unlink(struct mf_cache *c, struct mf_served *sv)
{
	if (sv->prev)
		sv->prev->next = sv->next;
	else
		c->lru_head = sv->next;
	if (sv->next)
		sv->next->prev = sv->prev;
	else
		c->lru_tail = sv->prev;
	sv->prev = sv->next = NULL;
}

static void lru_push(struct mf_cache *c, struct mf_served *sv)
{
	sv->prev = NULL;
	sv->next = c->lru_head;
	if (c->lru_head)
		c->lru_head->prev = sv;
	c->lru_head = sv;
	if (!c->lru_tail)
		c->lru_tail = sv;
}

/* Remove slot @j, keeping linear probing intact. Caller holds cache_lock. */
static struct mf_served *cache_remove_slot(struct mf_cache *c, size_t j)
{
	struct mf_served *sv = c->slots[j];
	size_t k = j;

	c->slots[j] = NULL;
	for (;;) {
		size_t home;

		k = (k + 1) & (c->nslots - 1);
		if (!c->slots[k])
			break;
		home = slot_of(c, c->slots[k]->info.id);
		/* move back if its home is cyclically outside (j, k] */
		if ((j < k && (home <= j || home > k)) ||
		    (j > k && (home <= j && home > k))) {
			c->slots[j] = c->slots[k];
			c->slots[k] = NULL;
			j = k;
		}
	}
	lru_unlink(c, sv);
	c->nentries--;
	c->cache_mem -= sv->mem;
	return sv;
}

static int cache_grow(struct mf_cache *c)
{
	size_t ncap = c->nslots ? c->nslots * 2 : 256;
	struct mf_served **old = c->slots;
	size_t oldn = c->nslots;
	struct mf_served **ns = calloc(ncap, sizeof(*ns));

	if (!ns)
		return -ENOMEM;
	c->slots = ns;
	c->nslots = ncap;
	for (size_t i = 0; i < oldn; i++) {
		size_t j;

		if (!old[i])
			continue;
		j = slot_of(c, old[i]->info.id);
		while (ns[j])
			j = (j + 1) & (ncap - 1);
		ns[j] = old[i];
	}
	free(old);
	return 0;
}

/* Release a chain (linked by ->next) of entries taken out of the cache. */
static void served_put_chain(struct mf_served *dead)
{
	while (dead) {
		struct mf_served *next = dead->next;

		mf_served_put(dead);
		dead = next;
	}
}

void mf_cache_drop(struct mf_cache *c, const int64_t *ids, size_t n)
{
	struct mf_served *dead = NULL;

	pthread_mutex_lock(&c->cache_lock);
	c->cache_gen++;
	if (!ids) {
		while (c->lru_head) {
			struct mf_served *sv = cache_remove_slot(c,
					cache_find(c, c->lru_head->info.id));

			sv->next = dead;
			dead = sv;
		}
	} else {
		for (size_t i = 0; i < n; i++) {
			size_t j = cache_find(c, ids[i]);
			struct mf_served *sv;

			if (j >= c->nslots)
				continue;
			sv = cache_remove_slot(c, j);
			sv->next = dead;
			dead = sv;
		}
	}
	pthread_mutex_unlock(&c->cache_lock);
	served_put_chain(dead);
}

int mf_cache_get(struct mf_cache *c, int64_t id, uint64_t want,
		 struct mf_served **out)
{
	struct mf_store *s;
	struct mf_track *t = NULL;
	struct mf_served *sv, *evict = NULL;
	uint64_t gen, sgen;
	size_t j;
	int ret;

	pthread_mutex_lock(&c->cache_lock);
	j = cache_find(c, id);
	if (j < c->nslots &&
	    c->slots[j]->store_gen == mf_conns_gen(c->conns) &&
	    (want == MF_ANY_VERSION || mf_served_version(c->slots[j]) == want)) {
		sv = c->slots[j];
		atomic_fetch_add(&sv->refs, 1);
		lru_unlink(c, sv);
		lru_push(c, sv);
		pthread_mutex_unlock(&c->cache_lock);
		mf_metric_inc(MF_M_CACHE_HITS);
		*out = sv;
		return 0;
	}
	gen = c->cache_gen;
	pthread_mutex_unlock(&c->cache_lock);
	mf_metric_inc(MF_M_CACHE_MISSES);

	s = mf_conns_get(c->conns, &sgen);
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
	sv->store_gen = sgen;
	sv->backing_path = strdup(mf_track_backing_path(t));
	{
		struct mf_synth_opts so = { .id3v2_version = c->cfg.id3v2_version };

		ret = mf_track_layout(t, c->cfg.mode, &so, &sv->layout);
	}
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

	pthread_mutex_lock(&c->cache_lock);
	j = gen == c->cache_gen ? cache_find(c, id) : 0;
	if (gen == c->cache_gen && j < c->nslots &&
	    mf_served_version(c->slots[j]) != mf_served_version(sv)) {
		/* another version (older, or of a replaced store) */
		evict = cache_remove_slot(c, j);
		evict->next = NULL;
		j = c->nslots;
	}
	if (gen == c->cache_gen && j >= c->nslots &&
	    ((c->nentries + 1) * 2 <= c->nslots || cache_grow(c) == 0)) {
		j = slot_of(c, id);
		while (c->slots[j])
			j = (j + 1) & (c->nslots - 1);
		c->slots[j] = sv;
		atomic_fetch_add(&sv->refs, 1);
		lru_push(c, sv);
		c->nentries++;
		c->cache_mem += sv->mem;
		while (c->cache_mem > c->cfg.max_bytes && c->lru_tail &&
		       c->lru_tail != sv) {
			struct mf_served *old = cache_remove_slot(c,
					cache_find(c, c->lru_tail->info.id));

			old->next = evict;
			evict = old;
		}
	}
	pthread_mutex_unlock(&c->cache_lock);
	served_put_chain(evict);
	*out = sv;
	return 0;
}


struct pin_set {
	struct mf_pin *v;
	size_t n, cap;
};

/* mf_layout_each_blob() callback: one pin per blob, the largest need. */
static int pin_note(void *ctx, const struct mf_blob_ref *ref, uint64_t need)
{
	struct pin_set *ps = ctx;
	struct mf_pin *v;

	for (size_t i = 0; i < ps->n; i++)
		if (ps->v[i].ref.kind == ref->kind &&
		    ps->v[i].ref.rowid == ref->rowid) {
			if (need > ps->v[i].len)
				ps->v[i].len = need;
			return 0;
		}
	v = mf_array_grow(ps->v, &ps->cap, ps->n + 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	ps->v = v;
	v[ps->n].ref = *ref;
	v[ps->n].len = need;
	v[ps->n].data = NULL;
	ps->n++;
	return 0;
}

int mf_cache_pin(struct mf_cache *c, struct mf_served *sv)
{
	struct pin_set ps = { 0 };
	struct mf_store *s;
	uint64_t gen = 0;
	size_t bytes = 0, j;
	int ret;

	if (atomic_load_explicit(&sv->pinned, memory_order_acquire))
		return 0;
	if (mf_layout_each_blob(sv->layout, pin_note, &ps) < 0) {
		ret = ENOMEM;
		goto out;
	}
	s = ps.n ? mf_conns_get(c->conns, &gen) : NULL;
	if (ps.n && (!s || gen != sv->store_gen)) {
		ret = EIO;
		goto out;
	}
	for (size_t i = 0; i < ps.n; i++) {
		struct mf_pin *p = &ps.v[i];

		/* the layout's blob lengths were bounded when it was made */
		if (p->len > SIZE_MAX / 2) {
			ret = EIO;
			goto out;
		}
		p->data = malloc(p->len ? (size_t)p->len : 1);
		if (!p->data) {
			ret = ENOMEM;
			goto out;
		}
		if (p->len && mf_store_blob_read(s, &p->ref, 0, p->data,
						 (size_t)p->len) < 0) {
			mf_warn("mount", "track %lld: cannot read its %s blob "
				"(row %lld): the store changed under the open",
				(long long)sv->info.id,
				p->ref.kind == MF_BLOB_ART ? "art" : "tag",
				(long long)p->ref.rowid);
			ret = EIO;
			goto out;
		}
		bytes += (size_t)p->len;
	}
	pthread_mutex_lock(&c->cache_lock);
	if (!atomic_load(&sv->pinned)) {
		sv->pins = ps.v;
		sv->npins = ps.n;
		ps.v = NULL;
		ps.n = 0;
		j = cache_find(c, sv->info.id);
		if (j < c->nslots && c->slots[j] == sv)
			c->cache_mem += bytes;
		sv->mem += bytes;
		atomic_store_explicit(&sv->pinned, true, memory_order_release);
	}
	pthread_mutex_unlock(&c->cache_lock);
	ret = 0;
out:
	pins_free(ps.v, ps.n);
	return ret;
}

bool mf_cache_moved(struct mf_cache *c, const struct mf_served *sv)
{
	struct mf_store *s;
	struct mf_track *t = NULL;
	uint64_t gen = 0;
	bool moved;

	s = mf_conns_get(c->conns, &gen);
	if (!s || gen != sv->store_gen)
		return true;
	if (mf_track_load(s, sv->info.id, &t) < 0)
		return true;	/* gone, or unreadable now */
	moved = mf_track_info(t)->content_version != sv->info.content_version;
	mf_track_free(t);
	return moved;
}

int mf_cache_blob_read(struct mf_cache *c, const struct mf_served *sv,
		       const struct mf_blob_ref *ref, uint64_t off, void *buf,
		       size_t len)
{
	uint64_t gen = 0;
	struct mf_store *s;
	int ret;

	if (atomic_load_explicit(&sv->pinned,
				 memory_order_acquire)) {
		for (size_t i = 0; i < sv->npins; i++) {
			const struct mf_pin *p = &sv->pins[i];

			if (p->ref.kind != ref->kind || p->ref.rowid != ref->rowid)
				continue;
			if (off > p->len || len > p->len - off) {
				mf_metric_inc(MF_M_ERR_STORE);
				return -EIO;
			}
			memcpy(buf, p->data + off, len);
			return 0;
		}
	}
	s = mf_conns_get(c->conns, &gen);
	/* a layout from a replaced store: its row ids name other blobs */
	ret = s && gen == sv->store_gen ?
	      mf_store_blob_read(s, ref, off, buf, len) : -EIO;
	if (ret < 0)
		mf_metric_inc(MF_M_ERR_STORE);
	return ret;
}

void mf_cache_invalidate(struct mf_cache *c)
{
	pthread_mutex_lock(&c->cache_lock);
	c->cache_gen++;
	pthread_mutex_unlock(&c->cache_lock);
}

void mf_cache_stats(struct mf_cache *c, size_t *entries, size_t *bytes)
{
	pthread_mutex_lock(&c->cache_lock);
	*entries = c->nentries;
	*bytes = c->cache_mem;
	pthread_mutex_unlock(&c->cache_lock);
}

void mf_cache_free(struct mf_cache *c)
{
	if (!c)
		return;
	mf_cache_drop(c, NULL, 0);
	free(c->slots);
	pthread_mutex_destroy(&c->cache_lock);
	free(c);
}
