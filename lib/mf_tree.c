/* SPDX-License-Identifier: MIT */
/*
 * mf_tree - build an immutable directory tree from rendered track paths
 * and serve lookups from it. Nodes live in one array in which the entries
 * of each directory are contiguous and sorted by name, so lookup is a
 * binary search and readdir an index; an open-addressing hash maps inode
 * numbers to nodes. Names are interned in append-only chunks.
 *
 * Divisions: helpers (hash, arena), tree reading, inode table, build.
 */
#include "mf_tree.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "mf_banned.h"

#define NAME_MAX_BYTES 255
#define NODE_DIR 0x80000000u		/* in mf_node.parent */
#define NODE_INDEX_MAX 0x7FFFFFFFu	/* indexes fit beside NODE_DIR */
#define CHUNK_BYTES (64 * 1024)

struct mf_node {
	uint64_t ino;
	const char *name;		/* interned in the tree's chunks */
	union {
		int64_t track_id;	/* files */
		struct {
			uint32_t first;	/* index of the first entry */
			uint32_t nsubdir;	/* entries that are dirs */
		} dir;
	} u;
	uint32_t parent;		/* parent index | NODE_DIR */
	uint32_t nchild;		/* directories: entries */
};

struct chunk {
	struct chunk *next;
	size_t used;
	size_t cap;
	char data[];
};

/* Every field is immutable once mf_tree_build() returns, except refs. */
struct mf_tree {
	atomic_ulong refs;		/* atomic: caller handles + inotab */
	struct mf_node *nodes;		/* [0] is the root */
	size_t nnodes;
	size_t ndirs;
	uint32_t *ino_slots;		/* node index + 1, 0 = empty */
	size_t ino_mask;
	uint32_t *by_track;		/* file node indexes by track_id */
	size_t nfiles;
	struct chunk *names;
	size_t bytes;
};

/* Owned by the one building thread; readers never see it. */
struct mf_inotab {
	struct mf_tree *last;		/* reference held; NULL before a build */
	uint64_t next_ino;		/* monotonic; never handed out twice */
};

/* ---- helpers ---- */

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

static uint32_t name_hash(uint32_t parent, const char *name, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ ((uint64_t)parent << 17);
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)name[i];
		h *= 0x100000001b3ULL;
	}
	return (uint32_t)mix64(h);
}

/* Compare slice @a (@alen bytes) with the string @b, in strcmp order. */
static int slice_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	if (c)
		return c;
	return alen < blen ? -1 : alen > blen;
}

/* Copy @len bytes of @s plus a NUL into the chunk list; NULL on ENOMEM. */
static char *arena_add(struct chunk **head, size_t *bytes, const char *s,
		       size_t len)
{
	struct chunk *c = *head;
	size_t cap;
	char *p;

	if (!c || c->cap - c->used < len + 1) {
		cap = len + 1 > CHUNK_BYTES ? len + 1 : CHUNK_BYTES;
		c = malloc(sizeof(*c) + cap);
		if (!c)
			return NULL;
		c->next = *head;
		c->used = 0;
		c->cap = cap;
		*head = c;
		*bytes += sizeof(*c) + cap;
	}
	p = c->data + c->used;
	memcpy(p, s, len);
	p[len] = '\0';
	c->used += len + 1;
	return p;
}

static void arena_free(struct chunk *c)
{
	struct chunk *next;

	for (; c; c = next) {
		next = c->next;
		free(c);
	}
}

/* Smallest power of two >= 2 * @n (at least 16), or 0 on overflow. */
static size_t table_size(size_t n)
{
	size_t cap = 16;

	while (cap < 2 * n) {
		if (cap > SIZE_MAX / 4)
			return 0;
		cap *= 2;
	}
	return cap;
}

/* ---- reading a tree ---- */

uint64_t mf_node_ino(const struct mf_node *n)
{
	return n->ino;
}

const char *mf_node_name(const struct mf_node *n)
{
	return n->name;
}

bool mf_node_is_dir(const struct mf_node *n)
{
	return n->parent & NODE_DIR;
}

int64_t mf_node_track(const struct mf_node *n)
{
	return mf_node_is_dir(n) ? -1 : n->u.track_id;
}

size_t mf_node_nchild(const struct mf_node *n)
{
	return mf_node_is_dir(n) ? n->nchild : 0;
}

size_t mf_node_nsubdir(const struct mf_node *n)
{
	return mf_node_is_dir(n) ? n->u.dir.nsubdir : 0;
}

const struct mf_node *mf_tree_root(const struct mf_tree *t)
{
	return &t->nodes[0];
}

const struct mf_node *mf_tree_get(const struct mf_tree *t, uint64_t ino)
{
	size_t i = mix64(ino) & t->ino_mask;
	uint32_t slot;

	while ((slot = t->ino_slots[i]) != 0) {
		if (t->nodes[slot - 1].ino == ino)
			return &t->nodes[slot - 1];
		i = (i + 1) & t->ino_mask;
	}
	return NULL;
}

/* Entry @name (@len bytes) of directory @dir, or NULL. */
static const struct mf_node *lookup_slice(const struct mf_tree *t,
					  const struct mf_node *dir,
					  const char *name, size_t len)
{
	const struct mf_node *kids;
	size_t lo = 0, hi, mid;
	int c;

	if (!mf_node_is_dir(dir))
		return NULL;
	kids = t->nodes + dir->u.dir.first;
	hi = dir->nchild;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = slice_cmp(name, len, kids[mid].name, strlen(kids[mid].name));
		if (c == 0)
			return &kids[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

const struct mf_node *mf_tree_lookup(const struct mf_tree *t,
				     uint64_t parent_ino, const char *name)
{
	const struct mf_node *dir = mf_tree_get(t, parent_ino);

	if (!dir)
		return NULL;
	return lookup_slice(t, dir, name, strlen(name));
}

const struct mf_node *mf_tree_child(const struct mf_tree *t,
				    const struct mf_node *dir, size_t i)
{
	if (!mf_node_is_dir(dir) || i >= dir->nchild)
		return NULL;
	return &t->nodes[dir->u.dir.first + i];
}

const struct mf_node *mf_tree_parent(const struct mf_tree *t,
				     const struct mf_node *n)
{
	return &t->nodes[n->parent & ~NODE_DIR];
}

const struct mf_node *mf_tree_find_track(const struct mf_tree *t,
					 int64_t track_id)
{
	size_t lo = 0, hi = t->nfiles, mid;
	const struct mf_node *n;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		n = &t->nodes[t->by_track[mid]];
		if (n->u.track_id == track_id)
			return n;
		if (n->u.track_id > track_id)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

int mf_tree_path(const struct mf_tree *t, const struct mf_node *n,
		 char **out)
{
	const struct mf_node *p;
	size_t len = 0, l;
	char *buf;

	for (p = n; p != t->nodes; p = mf_tree_parent(t, p))
		len += strlen(p->name) + 1;
	buf = malloc(len ? len : 1);
	if (!buf)
		return -ENOMEM;
	buf[len ? len - 1 : 0] = '\0';
	for (p = n; p != t->nodes; p = mf_tree_parent(t, p)) {
		l = strlen(p->name);
		len -= l + 1;
		memcpy(buf + len, p->name, l);
		if (len)
			buf[len - 1] = '/';
	}
	*out = buf;
	return 0;
}

size_t mf_tree_nnodes(const struct mf_tree *t)
{
	return t->nnodes;
}

size_t mf_tree_ndirs(const struct mf_tree *t)
{
	return t->ndirs;
}

size_t mf_tree_nfiles(const struct mf_tree *t)
{
	return t->nfiles;
}

size_t mf_tree_bytes(const struct mf_tree *t)
{
	return t->bytes;
}

static void tree_release(struct mf_tree *t)
{
	arena_free(t->names);
	free(t->by_track);
	free(t->ino_slots);
	free(t->nodes);
	free(t);
}

void mf_tree_free(struct mf_tree *t)
{
	if (t && atomic_fetch_sub(&t->refs, 1) == 1)
		tree_release(t);
}

/* ---- inode table ---- */

struct mf_inotab *mf_inotab_new(void)
{
	struct mf_inotab *tab = calloc(1, sizeof(*tab));

	if (tab)
		tab->next_ino = MF_TREE_ROOT_INO + 1;
	return tab;
}

void mf_inotab_free(struct mf_inotab *tab)
{
	if (!tab)
		return;
	mf_tree_free(tab->last);
	free(tab);
}

uint64_t mf_inotab_next_ino(const struct mf_inotab *tab)
{
	return tab->next_ino;
}

/* ---- build ---- */

/* A node while building; index 0 is the root, directories come first. */
struct bnode {
	const char *name;	/* into an input path or b->extra */
	int64_t track_id;	/* files */
	uint32_t parent;	/* bnode index */
	uint32_t hash;		/* name_hash(parent, name) */
	uint32_t next_suffix;	/* next " (k)" to try for this name */
	uint16_t len;		/* bytes of name */
	bool is_dir;
};

/* A file waiting for its name, in ascending track_id order. */
struct pending {
	uint32_t dir;		/* bnode index */
	uint32_t entry;		/* index into the entries */
	uint32_t occupant;	/* bnode holding the plain name (losers) */
	const char *name;	/* last path component */
	uint16_t len;
};

struct builder {
	const struct mf_tree_entry *entries;
	size_t n;
	struct bnode *nodes;
	size_t nnodes, nodes_cap;
	uint32_t *slots;	/* bnode index + 1, 0 = empty */
	size_t slots_mask;
	struct chunk *extra;	/* suffixed names */
	size_t extra_bytes;
	struct pending *files;
	size_t nfiles;
	uint32_t *losers;	/* indexes into files */
	size_t nlosers;
	struct mf_tree *t;
	uint64_t next_ino;
};

/* Find (@parent, @name) in the name table: the slot index. */
static size_t slot_find(const struct builder *b, uint32_t parent,
			const char *name, size_t len, uint32_t hash)
{
	size_t i = hash & b->slots_mask;
	const struct bnode *e;
	uint32_t slot;

	while ((slot = b->slots[i]) != 0) {
		e = &b->nodes[slot - 1];
		if (e->hash == hash && e->parent == parent && e->len == len &&
		    memcmp(e->name, name, len) == 0)
			break;
		i = (i + 1) & b->slots_mask;
	}
	return i;
}

static int slots_grow(struct builder *b)
{
	size_t cap = (b->slots_mask + 1) * 2, i, j;
	uint32_t *slots;

	if (cap > SIZE_MAX / sizeof(*slots))
		return -ENOMEM;
	slots = calloc(cap, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (i = 0; i <= b->slots_mask; i++) {
		if (!b->slots[i])
			continue;
		j = b->nodes[b->slots[i] - 1].hash & (cap - 1);
		while (slots[j])
			j = (j + 1) & (cap - 1);
		slots[j] = b->slots[i];
	}
	free(b->slots);
	b->slots = slots;
	b->slots_mask = cap - 1;
	return 0;
}

/*
 * Add a node named @name under @parent whose slot_find() result was
 * @slot (an empty slot). Sets *@idx to its bnode index.
 */
static int node_add(struct builder *b, uint32_t parent, const char *name,
		    size_t len, uint32_t hash, size_t slot, bool is_dir,
		    uint32_t *idx)
{
	struct bnode *nodes, *e;
	size_t cap;
	int ret;

	if (b->nnodes >= NODE_INDEX_MAX)
		return -EOVERFLOW;
	if (b->nnodes == b->nodes_cap) {
		cap = b->nodes_cap * 2;
		nodes = realloc(b->nodes, cap * sizeof(*nodes));
		if (!nodes)
			return -ENOMEM;
		b->nodes = nodes;
		b->nodes_cap = cap;
	}
	e = &b->nodes[b->nnodes];
	e->name = name;
	e->len = (uint16_t)len;
	e->parent = parent;
	e->hash = hash;
	e->is_dir = is_dir;
	e->track_id = 0;
	e->next_suffix = 2;
	b->slots[slot] = (uint32_t)++b->nnodes;
	*idx = (uint32_t)(b->nnodes - 1);
	if (b->nnodes * 2 > b->slots_mask + 1) {
		ret = slots_grow(b);
		if (ret)
			return ret;
	}
	return 0;
}

static int cmp_entry_idx(const void *a, const void *c, void *arg)
{
	const struct mf_tree_entry *e = arg;
	int64_t x = e[*(const uint32_t *)a].track_id;
	int64_t y = e[*(const uint32_t *)c].track_id;

	return (x > y) - (x < y);
}

/* Check that @path is relative with valid components. */
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

/*
 * Pass 1: sort the entries by track_id, create every directory and queue
 * the files in that order.
 */
static int build_dirs(struct builder *b)
{
	uint32_t *order, dir, idx;
	const char *s, *end;
	size_t i, slot;
	uint32_t hash;
	int ret = 0;

	order = malloc((b->n ? b->n : 1) * sizeof(*order));
	b->files = malloc((b->n ? b->n : 1) * sizeof(*b->files));
	if (!order || !b->files) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < b->n; i++)
		order[i] = (uint32_t)i;
	qsort_r(order, b->n, sizeof(*order), cmp_entry_idx,
		(void *)b->entries);
	for (i = 0; i < b->n; i++) {
		s = b->entries[order[i]].path;
		if ((i && b->entries[order[i]].track_id ==
			  b->entries[order[i - 1]].track_id) ||
		    !s || !path_valid(s)) {
			ret = -EINVAL;
			goto out;
		}
		dir = 0;
		while ((end = strchr(s, '/')) != NULL) {
			hash = name_hash(dir, s, (size_t)(end - s));
			slot = slot_find(b, dir, s, (size_t)(end - s), hash);
			if (b->slots[slot]) {
				dir = b->slots[slot] - 1;
			} else {
				ret = node_add(b, dir, s, (size_t)(end - s),
					       hash, slot, true, &idx);
				if (ret)
					goto out;
				dir = idx;
			}
			s = end + 1;
		}
		b->files[i].dir = dir;
		b->files[i].entry = order[i];
		b->files[i].name = s;
		b->files[i].len = (uint16_t)strlen(s);
	}
	b->nfiles = b->n;
out:
	free(order);
	return ret;
}

/* Pass 2: the lowest track_id of each path takes the plain name. */
static int build_files(struct builder *b)
{
	struct pending *f;
	size_t i, slot;
	uint32_t hash, idx;
	int ret;

	b->losers = malloc((b->nfiles ? b->nfiles : 1) * sizeof(*b->losers));
	if (!b->losers)
		return -ENOMEM;
	for (i = 0; i < b->nfiles; i++) {
		f = &b->files[i];
		hash = name_hash(f->dir, f->name, f->len);
		slot = slot_find(b, f->dir, f->name, f->len, hash);
		if (b->slots[slot]) {
			f->occupant = b->slots[slot] - 1;
			b->losers[b->nlosers++] = (uint32_t)i;
			continue;
		}
		ret = node_add(b, f->dir, f->name, f->len, hash, slot, false,
			       &idx);
		if (ret)
			return ret;
		b->nodes[idx].track_id = b->entries[f->entry].track_id;
	}
	return 0;
}

/* Cut @len bytes of @s down to at most @max on a UTF-8 boundary. */
static size_t utf8_cut(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return len;
	while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
		max--;
	return max;
}

/* Write "stem (k).ext" for @name into @buf (>= 256 bytes); its length. */
static size_t suffixed_name(char *buf, const char *name, size_t len,
			    uint32_t k)
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
	stem = utf8_cut(name, stem, NAME_MAX_BYTES - slen - ext);
	memcpy(buf, name, stem);
	memcpy(buf + stem, suffix + i, slen);
	memcpy(buf + stem + slen, name + len - ext, ext);
	return stem + slen + ext;
}

/* Pass 3: the other claimants get " (k)", in ascending track_id. */
static int build_suffixes(struct builder *b)
{
	char buf[NAME_MAX_BYTES + 1];
	const struct pending *f;
	struct bnode *occ;
	size_t i, len, slot;
	uint32_t hash, k, idx;
	char *name;
	int ret;

	for (i = 0; i < b->nlosers; i++) {
		f = &b->files[b->losers[i]];
		occ = &b->nodes[f->occupant];
		for (k = occ->next_suffix;; k++) {
			len = suffixed_name(buf, f->name, f->len, k);
			hash = name_hash(f->dir, buf, len);
			slot = slot_find(b, f->dir, buf, len, hash);
			if (!b->slots[slot])
				break;
		}
		/* node_add() may move b->nodes: update the occupant first */
		occ->next_suffix = k + 1;
		name = arena_add(&b->extra, &b->extra_bytes, buf, len);
		if (!name)
			return -ENOMEM;
		ret = node_add(b, f->dir, name, len, hash, slot, false, &idx);
		if (ret)
			return ret;
		b->nodes[idx].track_id = b->entries[f->entry].track_id;
	}
	return 0;
}

static int cmp_bnode_idx(const void *a, const void *c, void *arg)
{
	const struct bnode *nodes = arg;
	const struct bnode *x = &nodes[*(const uint32_t *)a];
	const struct bnode *y = &nodes[*(const uint32_t *)c];

	if (x->parent != y->parent)
		return x->parent < y->parent ? -1 : 1;
	return slice_cmp(x->name, x->len, y->name, y->len);
}

static int cmp_node_track(const void *a, const void *c, void *arg)
{
	const struct mf_node *nodes = arg;
	int64_t x = nodes[*(const uint32_t *)a].u.track_id;
	int64_t y = nodes[*(const uint32_t *)c].u.track_id;

	return (x > y) - (x < y);
}

/* Intern @len bytes of @name into the tree's chunks, using @tab. */
static const char *intern(struct mf_tree *t, const char **tab, size_t mask,
			  const char *name, size_t len)
{
	size_t i = name_hash(0, name, len) & mask;
	const char *p;

	while ((p = tab[i]) != NULL) {
		if (strncmp(p, name, len) == 0 && p[len] == '\0')
			return p;
		i = (i + 1) & mask;
	}
	p = arena_add(&t->names, &t->bytes, name, len);
	tab[i] = p;
	return p;
}

/*
 * Inode of bnode @e whose parent has inode @parent_ino: its number in the
 * previous tree if the same path had the same type there, else a new one.
 */
static uint64_t pick_ino(struct builder *b, const struct mf_tree *prev,
			 uint64_t parent_ino, const struct bnode *e)
{
	const struct mf_node *pdir, *old;

	if (prev) {
		pdir = mf_tree_get(prev, parent_ino);
		old = pdir ? lookup_slice(prev, pdir, e->name, e->len) : NULL;
		if (old && mf_node_is_dir(old) == e->is_dir)
			return old->ino;
	}
	return b->next_ino++;
}

/* Pass 4: lay the nodes out, number them and index them. */
static int build_tree(struct builder *b, const struct mf_tree *prev)
{
	struct mf_tree *t = b->t;
	const char **names = NULL;
	uint32_t *order = NULL, *pos = NULL, p;
	struct mf_node *n, *par;
	size_t i, j, cap, nfiles = 0;
	int ret = -ENOMEM;

	t->nnodes = b->nnodes;
	cap = table_size(b->nnodes);
	order = malloc(b->nnodes * sizeof(*order));
	pos = malloc(b->nnodes * sizeof(*pos));
	names = cap ? calloc(cap, sizeof(*names)) : NULL;
	t->nodes = calloc(b->nnodes, sizeof(*t->nodes));
	t->ino_slots = cap ? calloc(cap, sizeof(*t->ino_slots)) : NULL;
	if (!order || !pos || !names || !t->nodes || !t->ino_slots)
		goto out;
	t->ino_mask = cap - 1;
	t->bytes += sizeof(*t) + b->nnodes * sizeof(*t->nodes) +
		    cap * sizeof(*t->ino_slots);

	/* order[j] = bnode at node j; entries of a directory contiguous */
	for (i = 0; i + 1 < b->nnodes; i++)
		order[i + 1] = (uint32_t)(i + 1);
	order[0] = 0;
	qsort_r(order + 1, b->nnodes - 1, sizeof(*order), cmp_bnode_idx,
		b->nodes);
	for (j = 0; j < b->nnodes; j++)
		pos[order[j]] = (uint32_t)j;

	t->nodes[0].name = intern(t, names, cap - 1, "", 0);
	t->nodes[0].ino = MF_TREE_ROOT_INO;
	t->nodes[0].parent = NODE_DIR;
	if (!t->nodes[0].name)
		goto out;
	t->ndirs = 1;
	for (j = 1; j < b->nnodes; j++) {
		const struct bnode *e = &b->nodes[order[j]];

		n = &t->nodes[j];
		p = pos[e->parent];
		par = &t->nodes[p];
		n->name = intern(t, names, cap - 1, e->name, e->len);
		if (!n->name)
			goto out;
		n->parent = p | (e->is_dir ? NODE_DIR : 0);
		if (par->nchild++ == 0)
			par->u.dir.first = (uint32_t)j;
		if (e->is_dir) {
			par->u.dir.nsubdir++;
			t->ndirs++;
		} else {
			n->u.track_id = e->track_id;
			nfiles++;
		}
	}

	/* numbering in bnode order: parents before children */
	for (i = 1; i < b->nnodes; i++) {
		n = &t->nodes[pos[i]];
		par = &t->nodes[n->parent & ~NODE_DIR];
		n->ino = pick_ino(b, prev, par->ino, &b->nodes[i]);
	}
	for (j = 0; j < b->nnodes; j++) {
		i = mix64(t->nodes[j].ino) & t->ino_mask;
		while (t->ino_slots[i])
			i = (i + 1) & t->ino_mask;
		t->ino_slots[i] = (uint32_t)(j + 1);
	}

	t->by_track = malloc((nfiles ? nfiles : 1) * sizeof(*t->by_track));
	if (!t->by_track)
		goto out;
	t->bytes += nfiles * sizeof(*t->by_track);
	for (j = 0; j < b->nnodes; j++)
		if (!mf_node_is_dir(&t->nodes[j]))
			t->by_track[t->nfiles++] = (uint32_t)j;
	qsort_r(t->by_track, t->nfiles, sizeof(*t->by_track), cmp_node_track,
		t->nodes);
	ret = 0;
out:
	free(names);
	free(pos);
	free(order);
	return ret;
}

int mf_tree_build(struct mf_inotab *tab, const struct mf_tree_entry *entries,
		  size_t n, struct mf_tree **out)
{
	struct builder b = {
		.entries = entries,
		.n = n,
		.next_ino = tab->next_ino,
	};
	int ret = -ENOMEM;

	if (n >= NODE_INDEX_MAX)
		return -EOVERFLOW;
	b.nodes_cap = 64;
	b.nodes = malloc(b.nodes_cap * sizeof(*b.nodes));
	b.slots_mask = 63;
	b.slots = calloc(b.slots_mask + 1, sizeof(*b.slots));
	b.t = calloc(1, sizeof(*b.t));
	if (!b.nodes || !b.slots || !b.t)
		goto out;
	/* the root: a directory that is nobody's entry (not in the slots) */
	b.nodes[0] = (struct bnode){ .name = "", .is_dir = true };
	b.nnodes = 1;

	ret = build_dirs(&b);
	if (!ret)
		ret = build_files(&b);
	if (!ret)
		ret = build_suffixes(&b);
	free(b.slots);
	b.slots = NULL;
	free(b.losers);
	b.losers = NULL;
	if (!ret)
		ret = build_tree(&b, tab->last);
	if (ret)
		goto out;

	atomic_init(&b.t->refs, 2);
	mf_tree_free(tab->last);
	tab->last = b.t;
	tab->next_ino = b.next_ino;
	*out = b.t;
	b.t = NULL;
out:
	if (b.t)
		tree_release(b.t);
	arena_free(b.extra);
	free(b.files);
	free(b.losers);
	free(b.slots);
	free(b.nodes);
	return ret;
}
