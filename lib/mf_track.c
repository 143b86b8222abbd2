/* SPDX-License-Identifier: MIT */
/*
 * mf_track - load a track's served state from the store and synthesize
 * its layout.
 */
#include "mf_track.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mf_array.h"
#include "mf_format.h"
#include "mf_image.h"
#include "mf_log.h"
#include "mf_vocab.h"
#include "mf_banned.h"

struct mf_track {
	struct mf_track_info info;
	char *backing_path;
	struct mf_synth_tag *tags;	/* keys/values owned */
	size_t ntags;
	struct mf_synth_pic *pics;	/* mime/desc owned */
	size_t npics;
	struct mf_synth_bin *bins;	/* keys owned */
	size_t nbins;
	struct mf_synth_block *blocks;	/* kinds and data owned */
	size_t nblocks;
};

/* Bounds for what we accept from a row before allocating for it. */
#define TRACK_MAX_TAGS 65536
#define TRACK_MAX_BLOCKS 4096
/* Bytes of an art blob read for its header when the row has no size:
 * a first read, then one larger one (a JPEG's SOF may follow big EXIF or
 * ICC segments). */
#define ART_HEAD_SMALL (64 * 1024)
#define ART_HEAD_LARGE (1024 * 1024)

static char *dup_text(sqlite3_stmt *st, int col)
{
	const unsigned char *p = sqlite3_column_text(st, col);
	int n = sqlite3_column_bytes(st, col);
	char *s;

	if (!p)
		p = (const unsigned char *)"";
	s = malloc((size_t)n + 1);
	if (!s)
		return NULL;
	memcpy(s, p, (size_t)n);
	s[n] = '\0';
	return s;
}

static bool is_int(sqlite3_stmt *st, int col)
{
	return sqlite3_column_type(st, col) == SQLITE_INTEGER;
}

static int load_row(sqlite3 *db, struct mf_track *t)
{
	static const char sql[] =
		"SELECT backing_path, format, audio_offset, audio_length, "
		"backing_size, backing_mtime_ns, backing_ctime_ns, "
		"content_version, updated_at FROM tracks WHERE id = ?";
	sqlite3_stmt *st = NULL;
	const unsigned char *fmt;
	int rc, ret = 0;
	int64_t off, len, size;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_int64(st, 1, t->info.id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		ret = -ENOENT;
		goto out;
	}
	if (rc != SQLITE_ROW) {
		ret = mf_store_errno(rc);
		goto out;
	}
	for (int c = 2; c <= 8; c++) {
		if (!is_int(st, c)) {
			ret = -EIO;
			goto out;
		}
	}
	off = sqlite3_column_int64(st, 2);
	len = sqlite3_column_int64(st, 3);
	size = sqlite3_column_int64(st, 4);
	fmt = sqlite3_column_text(st, 1);
	if (off < 0 || len < 0 || size < 0 || off > size || len > size - off ||
	    !fmt || strlen((const char *)fmt) >= sizeof(t->info.format) ||
	    sqlite3_column_type(st, 0) != SQLITE_TEXT) {
		ret = -EIO;
		goto out;
	}
	t->info.audio_offset = (uint64_t)off;
	t->info.audio_length = (uint64_t)len;
	t->info.backing_size = (uint64_t)size;
	t->info.backing_mtime_ns = sqlite3_column_int64(st, 5);
	t->info.backing_ctime_ns = sqlite3_column_int64(st, 6);
	t->info.content_version = sqlite3_column_int64(st, 7);
	t->info.updated_at = sqlite3_column_int64(st, 8);
	memcpy(t->info.format, fmt, strlen((const char *)fmt) + 1);
	t->backing_path = dup_text(st, 0);
	if (!t->backing_path)
		ret = -ENOMEM;
out:
	sqlite3_finalize(st);
	return ret;
}

/*
 * Keys are served in their canonical (folded) form and matched
 * case-insensitively. When a track has one key in several cases (a
 * scanned "LABEL" and a writer's "label"), one of them is served: the
 * all-lowercase one if present, else the first in byte order
 * (docs/store.md). The query orders each folded key's rows by that rule,
 * so the first original key of a group is its winner.
 */
static int load_tags(sqlite3 *db, struct mf_track *t)
{
	static const char sql[] =
		"SELECT key, value, value_blob IS NOT NULL, "
		"coalesce(length(value_blob), 0), rowid, lower(key) FROM tags "
		"WHERE track_id = ? ORDER BY lower(key), key <> lower(key), key, "
		"ordinal";
	sqlite3_stmt *st = NULL;
	struct mf_synth_tag *tags;
	char *group = NULL, *owner = NULL;	/* the current folded key and
						 * the original key serving it */
	size_t cap_t = 0, cap_b = 0;
	int rc, ret = 0;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_int64(st, 1, t->info.id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *key = (const char *)sqlite3_column_text(st, 0);
		const char *fold = (const char *)sqlite3_column_text(st, 5);

		if (!key || !fold) {
			ret = -EIO;
			goto out;
		}
		if (!group || strcmp(group, fold) != 0) {
			free(group);
			free(owner);
			group = strdup(fold);
			owner = strdup(key);
			if (!group || !owner) {
				ret = -ENOMEM;
				goto out;
			}
		} else if (strcmp(owner, key) != 0) {
			mf_debug("store", "track %lld: tag '%s' not served: '%s' "
				 "is", (long long)t->info.id, key, owner);
			continue;
		}
		if (!mf_vocab_key_valid(fold)) {
			mf_debug("store", "track %lld: tag key '%s' cannot be "
				 "served; left out", (long long)t->info.id, key);
			continue;
		}
		if (t->ntags + t->nbins >= TRACK_MAX_TAGS ||
		    sqlite3_column_bytes(st, 0) > MF_TRACK_KEY_MAX ||
		    sqlite3_column_bytes(st, 1) > MF_TRACK_VALUE_MAX ||
		    sqlite3_column_int64(st, 3) > MF_TRACK_BLOB_MAX) {
			mf_warn("store", "track %lld: tag '%.64s' is past the "
				"bounds of docs/store.md LIMITS",
				(long long)t->info.id, key);
			ret = -EIO;
			goto out;
		}
		if (sqlite3_column_int(st, 2)) {
			struct mf_synth_bin *b;

			b = mf_array_grow(t->bins, &cap_b, t->nbins + 1,
					  sizeof(*b));
			if (!b) {
				ret = -ENOMEM;
				goto out;
			}
			t->bins = b;
			b = &t->bins[t->nbins];
			b->key = dup_text(st, 5);
			if (!b->key) {
				ret = -ENOMEM;
				goto out;
			}
			b->len = (uint64_t)sqlite3_column_int64(st, 3);
			b->ref.kind = MF_BLOB_TAG;
			b->ref.rowid = sqlite3_column_int64(st, 4);
			t->nbins++;
			continue;
		}
		tags = mf_array_grow(t->tags, &cap_t, t->ntags + 1,
				     sizeof(*t->tags));
		if (!tags) {
			ret = -ENOMEM;
			goto out;
		}
		t->tags = tags;
		t->tags[t->ntags].key = dup_text(st, 5);
		t->tags[t->ntags].value = dup_text(st, 1);
		if (!t->tags[t->ntags].key || !t->tags[t->ntags].value) {
			free((char *)t->tags[t->ntags].key);
			free((char *)t->tags[t->ntags].value);
			ret = -ENOMEM;
			goto out;
		}
		t->ntags++;
	}
	if (rc != SQLITE_DONE)
		ret = mf_store_errno(rc) ? mf_store_errno(rc) : -EIO;
out:
	free(group);
	free(owner);
	sqlite3_finalize(st);
	return ret;
}

/*
 * A picture whose row has no size (NULL, as 1.x writers store it, or 0):
 * take width, height and, when unknown too, depth and colors from the
 * image header at the start of the blob (bounded incremental reads; an
 * unrecognised image keeps them unknown).
 */
static int art_header(struct mf_store *s, struct mf_synth_pic *p)
{
	size_t sizes[2] = { ART_HEAD_SMALL, ART_HEAD_LARGE };
	uint32_t w = 0, h = 0, depth = 0, colors = 0;
	bool jpeg = false;
	int ret = -EINVAL;

	for (int i = 0; i < 2 && ret == -EINVAL; i++) {
		size_t n = p->len < sizes[i] ? (size_t)p->len : sizes[i];
		uint8_t *buf;

		/* only a JPEG's header (SOFn) can lie past the first read */
		if (i && (n <= sizes[0] || !jpeg))
			break;
		buf = malloc(n);
		if (!buf)
			return -ENOMEM;
		ret = mf_store_blob_read(s, &p->ref, 0, buf, n);
		if (!ret) {
			jpeg = n >= 2 && buf[0] == 0xff && buf[1] == 0xd8;
			ret = mf_image_info(buf, n, &w, &h, &depth, &colors);
		}
		free(buf);
		if (ret < 0 && ret != -EINVAL)
			return ret;
	}
	if (ret < 0)
		return 0;	/* not an image we know: size stays unknown */
	p->width = w;
	p->height = h;
	if (!p->depth) {
		p->depth = depth;
		p->colors = colors;
	}
	return 0;
}

static int load_art(struct mf_store *s, struct mf_track *t)
{
	sqlite3 *db = mf_store_db(s);
	/* art_props is an extension table: a store from another tool may
	 * lack it, then depth and colors are 0 ("unknown"). */
	static const char sql[] =
		"SELECT ta.picture_type, a.mime, ta.description, "
		"coalesce(a.width, 0), coalesce(a.height, 0), a.byte_len, a.id, "
		"length(a.data), "
		"coalesce(p.depth, 0), coalesce(p.colors, 0) FROM track_art ta "
		"LEFT JOIN art a ON a.id = ta.art_id "
		"LEFT JOIN art_props p ON p.art_id = a.id "
		"WHERE ta.track_id = ? ORDER BY ta.ordinal";
	static const char sql_core[] =
		"SELECT ta.picture_type, a.mime, ta.description, "
		"coalesce(a.width, 0), coalesce(a.height, 0), a.byte_len, a.id, "
		"length(a.data), 0, 0 "
		"FROM track_art ta LEFT JOIN art a ON a.id = ta.art_id "
		"WHERE ta.track_id = ? ORDER BY ta.ordinal";
	sqlite3_stmt *st = NULL;
	size_t cap = 0;
	int rc, ret = 0;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql_core, -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_int64(st, 1, t->info.id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct mf_synth_pic *p;
		int64_t type = sqlite3_column_int64(st, 0);
		int64_t w = sqlite3_column_int64(st, 3);
		int64_t h = sqlite3_column_int64(st, 4);
		int64_t blen = sqlite3_column_int64(st, 5);
		int64_t depth = sqlite3_column_int64(st, 8);
		int64_t colors = sqlite3_column_int64(st, 9);

		/* LEFT JOIN: a link to a missing art row (a writer with foreign
		 * keys off) is a malformed track, not a track without art. */
		if (sqlite3_column_type(st, 6) == SQLITE_NULL) {
			ret = -EIO;
			goto out;
		}
		if (t->npics >= TRACK_MAX_TAGS || type < 0 || type > 20 ||
		    w < 0 || w > UINT32_MAX || h < 0 || h > UINT32_MAX ||
		    depth < 0 || depth > UINT32_MAX || colors < 0 ||
		    colors > UINT32_MAX || blen > MF_TRACK_BLOB_MAX ||
		    sqlite3_column_bytes(st, 1) > MF_TRACK_MIME_MAX ||
		    sqlite3_column_bytes(st, 2) > MF_TRACK_DESC_MAX ||
		    blen < 0 || blen != sqlite3_column_int64(st, 7)) {
			ret = -EIO;
			goto out;
		}
		if (blen == 0)
			continue;	/* an empty image (1.x allows it) */
		p = mf_array_grow(t->pics, &cap, t->npics + 1, sizeof(*p));
		if (!p) {
			ret = -ENOMEM;
			goto out;
		}
		t->pics = p;
		p = &t->pics[t->npics];
		memset(p, 0, sizeof(*p));
		p->type = (uint32_t)type;
		p->width = (uint32_t)w;
		p->height = (uint32_t)h;
		p->depth = (uint32_t)depth;
		p->colors = (uint32_t)colors;
		p->len = (uint64_t)blen;
		p->ref.kind = MF_BLOB_ART;
		p->ref.rowid = sqlite3_column_int64(st, 6);
		p->mime = dup_text(st, 1);
		p->desc = dup_text(st, 2);
		t->npics++;
		if (!p->mime || !p->desc) {
			ret = -ENOMEM;
			goto out;
		}
		if (!p->width || !p->height) {
			ret = art_header(s, p);
			if (ret < 0)
				goto out;
		}
	}
	if (rc != SQLITE_DONE)
		ret = mf_store_errno(rc) ? mf_store_errno(rc) : -EIO;
out:
	sqlite3_finalize(st);
	return ret;
}

/*
 * Structural blocks: FLAC's from the core table, every other format's from
 * the format_blocks extension table (absent in a store that another tool
 * created and our scanner never migrated: then there are none). The core
 * table has the 1.x shape (kind "STREAMINFO", body), or, in a store of an
 * earlier build not yet converted (read-only), our old one (kind
 * "streaminfo", data); kinds are served in lower case either way.
 */
#define CORE_NEW "SELECT lower(kind), ordinal, body FROM structural_blocks " \
	"WHERE track_id = ?1"
#define CORE_OLD "SELECT kind, 0, data FROM structural_blocks " \
	"WHERE track_id = ?1"
#define EXT_BLOCKS " UNION ALL SELECT kind, ordinal, data FROM format_blocks " \
	"WHERE track_id = ?1"

static int load_structural(sqlite3 *db, struct mf_track *t)
{
	static const char *const sqls[] = {
		CORE_NEW EXT_BLOCKS " ORDER BY 1, 2",
		CORE_NEW " ORDER BY 1, 2",
		CORE_OLD EXT_BLOCKS " ORDER BY 1, 2",
		CORE_OLD " ORDER BY 1, 2",
	};
	sqlite3_stmt *st = NULL;
	size_t cap = 0;
	int rc, ret = 0;

	for (size_t i = 0; !st && i < sizeof(sqls) / sizeof(sqls[0]); i++)
		if (sqlite3_prepare_v2(db, sqls[i], -1, &st, NULL) != SQLITE_OK)
			st = NULL;
	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, t->info.id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct mf_synth_block *b;
		const void *data;
		uint8_t *copy;
		int n;

		if (sqlite3_column_type(st, 0) != SQLITE_TEXT ||
		    sqlite3_column_type(st, 2) != SQLITE_BLOB ||
		    t->nblocks >= TRACK_MAX_BLOCKS) {
			ret = -EIO;
			goto out;
		}
		data = sqlite3_column_blob(st, 2);
		n = sqlite3_column_bytes(st, 2);
		if (n <= 0 || (size_t)n > MF_STRUCT_MAX) {
			ret = -EIO;
			goto out;
		}
		b = mf_array_grow(t->blocks, &cap, t->nblocks + 1, sizeof(*b));
		if (!b) {
			ret = -ENOMEM;
			goto out;
		}
		t->blocks = b;
		b = &t->blocks[t->nblocks];
		copy = malloc((size_t)n);
		b->kind = dup_text(st, 0);
		if (!copy || !b->kind) {
			free(copy);
			free((char *)b->kind);
			ret = -ENOMEM;
			goto out;
		}
		memcpy(copy, data, (size_t)n);
		b->data = copy;
		b->len = (size_t)n;
		t->nblocks++;
	}
	if (rc != SQLITE_DONE)
		ret = mf_store_errno(rc) ? mf_store_errno(rc) : -EIO;
out:
	sqlite3_finalize(st);
	return ret;
}

/*
 * Structural blocks from the backing file itself, for a track whose format
 * keeps them in format_blocks but has none there: a store written by musefs
 * 1.x (whose scanner keeps no such table) or opened read-only before our
 * scanner filled it. The file is probed as the scanner would; only its
 * structural blocks are kept, and only when the file is still the one the
 * row describes (size, mtime, audio range).
 */
struct block_probe {
	struct mf_track *t;
	size_t cap;
	uint64_t off, len;
	bool have_range;
};

static int bp_range(void *ctx, uint64_t off, uint64_t len)
{
	struct block_probe *bp = ctx;

	bp->off = off;
	bp->len = len;
	bp->have_range = true;
	return 0;
}

static int bp_block(void *ctx, const char *kind, const void *data, size_t len)
{
	struct block_probe *bp = ctx;
	struct mf_track *t = bp->t;
	struct mf_synth_block *b;
	uint8_t *copy;

	if (!strchr(kind, ':'))
		return 0;	/* FLAC's own: from structural_blocks */
	if (t->nblocks >= TRACK_MAX_BLOCKS || len == 0 || len > MF_STRUCT_MAX)
		return -EIO;
	b = mf_array_grow(t->blocks, &bp->cap, t->nblocks + 1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	t->blocks = b;
	b = &t->blocks[t->nblocks];
	copy = malloc(len);
	b->kind = strdup(kind);
	if (!copy || !b->kind) {
		free(copy);
		free((char *)b->kind);
		return -ENOMEM;
	}
	memcpy(copy, data, len);
	b->data = copy;
	b->len = len;
	t->nblocks++;
	return 0;
}

static bool needs_format_blocks(const struct mf_track *t)
{
	if (strcmp(t->info.format, "flac") == 0 ||
	    strcmp(t->info.format, "mp3") == 0)
		return false;
	for (size_t i = 0; i < t->nblocks; i++)
		if (strchr(t->blocks[i].kind, ':'))
			return false;
	return true;
}

static int probe_blocks(struct mf_track *t)
{
	struct block_probe bp = { .t = t };
	struct mf_sink sink = { .ctx = &bp, .on_audio_range = bp_range,
				.on_structural = bp_block };
	const char *fmt = NULL;
	mf_probe_fn probe = mf_format_prober(t->backing_path, &fmt);
	size_t first = t->nblocks;
	struct stat st;
	char why[128];
	int fd, ret;

	if (!probe)
		return -EIO;
	fd = open(t->backing_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -EIO;
	bp.cap = t->nblocks;	/* at least: growing past it reallocates */
	ret = fstat(fd, &st) < 0 ? -EIO : 0;
	if (!ret && ((uint64_t)st.st_size != t->info.backing_size ||
		     mf_store_ns(&st.st_mtim) != t->info.backing_mtime_ns))
		ret = -EIO;	/* changed since its scan: EIO, as a read */
	if (!ret)
		ret = probe(&(const struct mf_probe_src){ .fd = fd, .sized = true,
				.size = (uint64_t)st.st_size },
			    &sink, why, sizeof(why));
	close(fd);
	if (!ret && (!bp.have_range || bp.off != t->info.audio_offset ||
		     bp.len != t->info.audio_length))
		ret = -EIO;
	if (ret < 0)
		return ret == -ENOMEM ? -ENOMEM : -EIO;
	/* stable insertion sort by kind: report order is the ordinal */
	for (size_t i = first + 1; i < t->nblocks; i++) {
		struct mf_synth_block b = t->blocks[i];
		size_t j = i;

		while (j > first && strcmp(t->blocks[j - 1].kind, b.kind) > 0) {
			t->blocks[j] = t->blocks[j - 1];
			j--;
		}
		t->blocks[j] = b;
	}
	mf_debug("store", "track %lld: %zu structural blocks read from '%s'",
		 (long long)t->info.id, t->nblocks - first, t->backing_path);
	return 0;
}

int mf_track_load(struct mf_store *s, int64_t id, struct mf_track **out)
{
	sqlite3 *db = mf_store_db(s);
	struct mf_track *t;
	int ret;

	*out = NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->info.id = id;
	if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
		ret = -EIO;
		goto out_free;
	}
	ret = load_row(db, t);
	if (!ret)
		ret = load_tags(db, t);
	if (!ret)
		ret = load_art(s, t);
	if (!ret)
		ret = load_structural(db, t);
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	if (!ret && needs_format_blocks(t))
		ret = probe_blocks(t);
	if (ret < 0)
		goto out_free;
	*out = t;
	return 0;

out_free:
	if (ret == -EIO)
		mf_warn("store", "track %lld: malformed or unreadable row",
			(long long)id);
	mf_track_free(t);
	return ret;
}

void mf_track_free(struct mf_track *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; i < t->ntags; i++) {
		free((char *)t->tags[i].key);
		free((char *)t->tags[i].value);
	}
	for (i = 0; i < t->npics; i++) {
		free((char *)t->pics[i].mime);
		free((char *)t->pics[i].desc);
	}
	for (i = 0; i < t->nbins; i++)
		free((char *)t->bins[i].key);
	free(t->tags);
	free(t->pics);
	free(t->bins);
	for (i = 0; i < t->nblocks; i++) {
		free((char *)t->blocks[i].kind);
		free((uint8_t *)t->blocks[i].data);
	}
	free(t->blocks);
	free(t->backing_path);
	free(t);
}

const struct mf_track_info *mf_track_info(const struct mf_track *t)
{
	return &t->info;
}

const char *mf_track_backing_path(const struct mf_track *t)
{
	return t->backing_path;
}

int mf_track_layout(const struct mf_track *t, enum mf_serve_mode mode,
		    const struct mf_synth_opts *opts, struct mf_layout **out)
{
	static const struct mf_synth_opts defaults = { .id3v2_version = 4 };
	const struct mf_format *f;
	struct mf_synth_input in;
	struct mf_layout *l;
	int ret;

	*out = NULL;
	if (mode == MF_SERVE_STRUCTURE_ONLY) {
		l = mf_layout_new();
		if (!l)
			return -ENOMEM;
		ret = mf_layout_add_backing(l, 0, t->info.backing_size);
		if (ret < 0) {
			mf_layout_free(l);
			return ret;
		}
		*out = l;
		return 0;
	}
	f = mf_format_get(t->info.format);
	if (!f)
		return -ENOTSUP;
	memset(&in, 0, sizeof(in));
	in.format = t->info.format;
	in.blocks = t->blocks;
	in.nblocks = t->nblocks;
	in.tags = t->tags;
	in.ntags = t->ntags;
	in.pics = t->pics;
	in.npics = t->npics;
	in.bins = t->bins;
	in.nbins = t->nbins;
	in.audio_offset = t->info.audio_offset;
	in.audio_length = t->info.audio_length;
	in.backing_size = t->info.backing_size;
	in.opts = opts ? opts : &defaults;
	ret = f->synth(&in, out);
	if (ret == -EINVAL || ret == -EFBIG || ret == -EOVERFLOW)
		ret = -EIO;
	return ret;
}
