/* SPDX-License-Identifier: MIT */
/*
 * fuzz_rows - libFuzzer target: store rows -> layout -> served bytes, the
 * path of a mount read. The input is a set of rows for one track (tracks,
 * tags, art, art_props, track_art, structural_blocks, format_blocks) and
 * the backing file's bytes; they are written into a real store by a
 * connection with CHECK constraints and foreign keys off (as a careless
 * writer could), then the track is loaded read-only with mf_track_load(),
 * laid out with mf_track_layout() in the mode the input picks, and the
 * served file is read whole through mf_layout_read_at() with the blobs
 * read from the store (mf_store_blob_read) and the backing bytes from the
 * file, as the mount reads them. Checked:
 *   - a loaded row holds what the core CHECKs promise (audio range inside
 *     backing_size, a format name that fits), whatever the rows were;
 *   - a read either fills what it promised or fails with EIO; chunked
 *     reads at every size equal one read of the same range;
 *   - served structure-only, the bytes are the backing file's own.
 *
 * Input encoding (docs/fuzzing.md; fuzz/mkseeds.sh writes seeds from
 * scanned files with t/helper/rows-seed.py): a byte of flags (bit 0:
 * structure-only), the tracks row's eight values (format, audio_offset,
 * audio_length, backing_size, backing_mtime_ns, content_version,
 * updated_at, backing_ctime_ns), the backing file as one value, then
 * records: a table byte and that table's values (see tables[] below).
 * A value is a type byte (0 integer: 8 bytes LE, 1 text and 2 blob: a
 * 4-byte LE length and the bytes, 3 NULL, 4 real: 8 bytes) so a fuzzed row
 * may hold a value of any type in any column.
 */
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mf_layout.h"
#include "mf_log.h"
#include "mf_store.h"
#include "mf_track.h"

#define ROWS_SERVE_MAX (16u << 20)	/* served bytes read whole */
#define ROWS_VALUE_MAX (1u << 20)	/* one text or blob value */
#define ROWS_RECORDS_MAX 256

struct in {
	const uint8_t *p;
	size_t n;
};

static const char *const tables[] = {
	"INSERT OR REPLACE INTO tags (track_id, key, value, ordinal, "
	"value_blob) VALUES (1, ?, ?, ?, ?)",
	"INSERT OR REPLACE INTO art (id, sha256, mime, width, height, "
	"byte_len, data) VALUES (?, ?, ?, ?, ?, ?, ?)",
	"INSERT OR REPLACE INTO art_props (art_id, depth, colors) "
	"VALUES (?, ?, ?)",
	"INSERT OR REPLACE INTO track_art (track_id, art_id, picture_type, "
	"description, ordinal) VALUES (1, ?, ?, ?, ?)",
	"INSERT OR REPLACE INTO structural_blocks (track_id, kind, ordinal, "
	"body) VALUES (1, ?, ?, ?)",
	"INSERT OR REPLACE INTO format_blocks (track_id, kind, ordinal, data) "
	"VALUES (1, ?, ?, ?)",
};
#define NTABLES (sizeof(tables) / sizeof(tables[0]))

static const char track_sql[] =
	"INSERT INTO tracks (id, backing_path, format, audio_offset, "
	"audio_length, backing_size, backing_mtime_ns, content_version, "
	"updated_at, backing_ctime_ns) VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

static char dir[64], db_path[96], backing[96];
static sqlite3 *wdb;			/* writer: CHECKs and FKs off */
static struct mf_store *store;		/* reader, as the mount opens it */
static sqlite3_stmt *ins[NTABLES], *ins_track;
static int backing_fd = -1;

static void cleanup(void)
{
	for (size_t i = 0; i < NTABLES; i++)
		sqlite3_finalize(ins[i]);
	sqlite3_finalize(ins_track);
	sqlite3_close(wdb);
	mf_store_close(store);
	if (backing_fd >= 0)
		close(backing_fd);
	if (dir[0]) {
		char p[128];

		unlink(backing);
		unlink(db_path);
		snprintf(p, sizeof(p), "%s-wal", db_path);
		unlink(p);
		snprintf(p, sizeof(p), "%s-shm", db_path);
		unlink(p);
		rmdir(dir);
	}
}

static void setup(void)
{
	struct mf_store *s = NULL;
	const char *tmp = getenv("TMPDIR");
	char err[256];

	mf_log_init("fuzz", MF_LOG_ERROR);
	snprintf(dir, sizeof(dir), "%s/fuzz-rows.XXXXXX",
		 tmp && *tmp && strlen(tmp) < 32 ? tmp : "/tmp");
	if (!mkdtemp(dir))
		abort();
	atexit(cleanup);
	snprintf(db_path, sizeof(db_path), "%s/store.db", dir);
	snprintf(backing, sizeof(backing), "%s/backing", dir);
	if (mf_store_open(db_path, MF_STORE_CREATE, &s, err, sizeof(err))) {
		fprintf(stderr, "fuzz_rows: %s\n", err);
		abort();
	}
	mf_store_close(s);
	if (sqlite3_open(db_path, &wdb) != SQLITE_OK ||
	    sqlite3_exec(wdb, "PRAGMA foreign_keys = OFF;"
			 "PRAGMA ignore_check_constraints = ON;"
			 "PRAGMA synchronous = OFF", NULL, NULL, NULL) !=
	    SQLITE_OK)
		abort();
	for (size_t i = 0; i < NTABLES; i++)
		if (sqlite3_prepare_v2(wdb, tables[i], -1, &ins[i], NULL) !=
		    SQLITE_OK)
			abort();
	if (sqlite3_prepare_v2(wdb, track_sql, -1, &ins_track, NULL) !=
	    SQLITE_OK)
		abort();
	if (mf_store_open(db_path, MF_STORE_READONLY, &store, err,
			  sizeof(err))) {
		fprintf(stderr, "fuzz_rows: %s\n", err);
		abort();
	}
	backing_fd = open(backing, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC,
			  0600);
	if (backing_fd < 0)
		abort();
}

static int take(struct in *in, void *out, size_t len)
{
	if (in->n < len)
		return -1;
	memcpy(out, in->p, len);
	in->p += len;
	in->n -= len;
	return 0;
}

/* A 4-byte LE length, cut to what is left of the input. */
static int take_len(struct in *in, uint32_t *len)
{
	uint8_t b[4];

	if (take(in, b, 4))
		return -1;
	*len = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	       (uint32_t)b[3] << 24;
	if (*len > in->n)
		*len = (uint32_t)in->n;
	return 0;
}

static uint64_t le64(const uint8_t *b)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | b[i];
	return v;
}

/*
 * Bind the next value of @in to parameter @col of @st. Returns 0, or -1
 * when the input ends. A text or blob value is borrowed from the input
 * (SQLITE_STATIC: the input outlives the statement's step).
 */
static int bind_value(struct in *in, sqlite3_stmt *st, int col)
{
	uint8_t t, b[8];
	uint32_t len;
	uint64_t v;
	double d;

	if (take(in, &t, 1))
		return -1;
	switch (t % 5) {
	case 0:
		if (take(in, b, 8))
			return -1;
		return sqlite3_bind_int64(st, col, (sqlite3_int64)le64(b)) ?
			-1 : 0;
	case 1:
	case 2:
		if (take_len(in, &len))
			return -1;
		if (len > ROWS_VALUE_MAX)
			len = ROWS_VALUE_MAX;
		if (t % 5 == 1)
			sqlite3_bind_text(st, col, (const char *)in->p,
					  (int)len, SQLITE_STATIC);
		else
			sqlite3_bind_blob(st, col, in->p, (int)len,
					  SQLITE_STATIC);
		in->p += len;
		in->n -= len;
		return 0;
	case 3:
		return sqlite3_bind_null(st, col) ? -1 : 0;
	default:
		if (take(in, b, 8))
			return -1;
		v = le64(b);
		memcpy(&d, &v, sizeof(d));
		return sqlite3_bind_double(st, col, d) ? -1 : 0;
	}
}

/* Bind every parameter of @st from @in and run it; errors are ignored
 * (a row SQLite refuses, NOT NULL say, is simply not there). Returns -1
 * when the input ended before the row was complete. */
static int insert(struct in *in, sqlite3_stmt *st, int first)
{
	int n = sqlite3_bind_parameter_count(st), ret = 0;

	for (int c = first; c <= n; c++)
		if (bind_value(in, st, c)) {
			ret = -1;
			goto out;
		}
	(void)sqlite3_step(st);
out:
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return ret;
}

/* Write the backing file (the next value of @in, any type as bytes). */
static int write_backing(struct in *in)
{
	uint8_t t;
	uint32_t len = 0;

	if (take(in, &t, 1))
		return -1;
	if (t % 5 == 1 || t % 5 == 2) {
		if (take_len(in, &len))
			return -1;
	}
	if (ftruncate(backing_fd, 0) ||
	    pwrite(backing_fd, in->p, len, 0) != (ssize_t)len)
		abort();
	in->p += len;
	in->n -= len;
	return 0;
}

struct io {
	struct mf_store *s;
	int fd;
};

static int read_blob(void *ctx, const struct mf_blob_ref *ref, uint64_t off,
		     void *buf, size_t len)
{
	const struct io *io = ctx;

	return mf_store_blob_read(io->s, ref, off, buf, len);
}

static int read_backing(void *ctx, uint64_t off, void *buf, size_t len)
{
	const struct io *io = ctx;

	if (off > INT64_MAX)
		return -EIO;
	return pread(io->fd, buf, len, (off_t)off) == (ssize_t)len ? 0 : -EIO;
}

static int count_blob(void *ctx, const struct mf_blob_ref *ref,
		      uint64_t need)
{
	(void)ref;
	(void)need;
	++*(size_t *)ctx;
	return 0;
}

/*
 * Read [@off, @off + @len) of @l in chunks of @chunk bytes into @buf.
 * Returns the bytes read, or a negative errno; a short count is only
 * allowed at end of file.
 */
static ssize_t read_range(const struct mf_layout *l,
			  const struct mf_layout_io *io, uint64_t off,
			  uint8_t *buf, size_t len, size_t chunk)
{
	size_t got = 0;

	while (got < len) {
		size_t want = len - got < chunk ? len - got : chunk;
		ssize_t n = mf_layout_read_at(l, off + got, buf + got, want,
					      io);

		if (n < 0) {
			if (n != -EIO)
				abort();	/* only EIO reaches a reader */
			return n;
		}
		if ((size_t)n > want)
			abort();
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

static void serve(const struct mf_track *t, const struct mf_layout *l,
		  enum mf_serve_mode mode, size_t chunk)
{
	struct io rio = { store, backing_fd };
	struct mf_layout_io io = { &rio, read_blob, read_backing };
	uint64_t size = mf_layout_size(l);
	size_t nblobs = 0, len;
	uint8_t *whole, *again;
	ssize_t n, m;

	if (mf_layout_each_blob(l, count_blob, &nblobs))
		abort();
	if (size > INT64_MAX)
		abort();
	len = size < ROWS_SERVE_MAX ? (size_t)size : ROWS_SERVE_MAX;
	whole = malloc(len ? len : 1);
	again = malloc(len ? len : 1);
	if (!whole || !again)
		abort();
	n = read_range(l, &io, 0, whole, len, len ? len : 1);
	if (n >= 0 && (size_t)n != len)
		abort();	/* short before the end of the file */
	if (n >= 0) {
		/* chunked reads at odd sizes give the same bytes */
		m = read_range(l, &io, 0, again, len, chunk);
		if (m != n || memcmp(whole, again, len))
			abort();
		if (len > 3) {
			m = read_range(l, &io, len / 3, again, len - len / 3,
				       chunk + 1);
			if (m != (ssize_t)(len - len / 3) ||
			    memcmp(whole + len / 3, again, (size_t)m))
				abort();
		}
		/* a read at or past the end gives 0 */
		if (mf_layout_read_at(l, size, again, 1, &io) != 0)
			abort();
		if (mode == MF_SERVE_STRUCTURE_ONLY) {
			const struct mf_track_info *ti = mf_track_info(t);

			if (ti->backing_size != size)
				abort();
			m = pread(backing_fd, again, len, 0);
			if (m != (ssize_t)len || memcmp(whole, again, len))
				abort();
		}
	}
	free(whole);
	free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int once;
	struct in in = { data, size };
	struct mf_track *t = NULL;
	struct mf_layout *l = NULL;
	const struct mf_track_info *ti;
	enum mf_serve_mode mode;
	uint8_t flags, table;
	int rc;

	if (!once++)
		setup();
	if (take(&in, &flags, 1))
		return 0;
	mode = flags & 1 ? MF_SERVE_STRUCTURE_ONLY : MF_SERVE_SYNTHESIS;
	if (sqlite3_exec(wdb, "BEGIN;"
			 "DELETE FROM tracks; DELETE FROM tags;"
			 "DELETE FROM art; DELETE FROM art_props;"
			 "DELETE FROM track_art; DELETE FROM structural_blocks;"
			 "DELETE FROM format_blocks", NULL, NULL, NULL) !=
	    SQLITE_OK)
		abort();
	if (sqlite3_bind_text(ins_track, 1, backing, -1, SQLITE_STATIC))
		abort();
	if (insert(&in, ins_track, 2) || write_backing(&in))
		goto commit;
	for (int r = 0; r < ROWS_RECORDS_MAX && !take(&in, &table, 1); r++)
		if (insert(&in, ins[table % NTABLES], 1))
			break;
commit:
	if (sqlite3_exec(wdb, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		abort();

	rc = mf_track_load(store, 1, &t);
	if (rc == -ENOENT || rc == -EIO)
		return 0;
	if (rc)
		abort();
	ti = mf_track_info(t);
	if (ti->audio_offset > ti->backing_size ||
	    ti->audio_length > ti->backing_size - ti->audio_offset ||
	    ti->backing_size > INT64_MAX || !memchr(ti->format, 0,
						     sizeof(ti->format)) ||
	    strcmp(mf_track_backing_path(t), backing))
		abort();
	rc = mf_track_layout(t, mode, NULL, &l);
	if (rc == 0)
		serve(t, l, mode, 1 + (flags >> 1) * 97u);
	else if (rc != -EIO && rc != -ENOTSUP)
		abort();
	mf_layout_free(l);
	mf_track_free(t);
	return 0;
}
