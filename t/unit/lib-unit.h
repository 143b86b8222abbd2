/* SPDX-License-Identifier: MIT */
/*
 * lib-unit - helpers shared by the cmocka unit tests in t/unit/ (linked
 * into every build/t/test_* but test_enomem, which has no cmocka): files
 * in and out of memory, a scratch directory, shell commands, a
 * deterministic random stream, probing bytes held in memory, and the
 * loops of the hostile-input tests (every prefix of a file, every byte
 * mutated).
 *
 * Errors: a helper that cannot do its job (no memory, a file that does
 * not open, a short write) fails the running test with a cmocka assert;
 * it never returns a half-done result. The exceptions return a status
 * and say so: lu_tmpdir(), lu_run() and lu_probe_bytes() (the probe's own
 * result). Include after <cmocka.h>. Single-threaded, like the tests.
 */
#ifndef LIB_UNIT_H
#define LIB_UNIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mf_format.h"
#include "mf_sink.h"

/*---- files ------------------------------------------------------------*/

/*
 * Read the whole file at @path. Returns a malloc'd buffer the caller
 * frees, holding *@len bytes and one NUL after them (so a text file is
 * a string). A file that does not open or read fails the test.
 */
uint8_t *lu_slurp(const char *path, size_t *len);

/* Write @len bytes of @buf to @path (created or truncated, 0666 less the
 * umask); any error fails the test. */
void lu_spew(const char *path, const void *buf, size_t len);

/*
 * An anonymous file (memfd_create(2)) holding @len bytes of @buf, its
 * offset at the end; the caller closes it. Failure fails the test.
 */
int lu_mem_fd(const void *buf, size_t len);

/* "@dir/@name" into @buf of @size bytes; a result that does not fit
 * fails the test. */
void lu_path(char *buf, size_t size, const char *dir, const char *name);

/*---- a scratch directory and shell commands ---------------------------*/

/*
 * Make a fresh directory /tmp/mf-@tag-XXXXXX (mkdtemp(3)) and put its
 * path into @dir (@size bytes, at least 64 is plenty). Returns 0, or -1
 * with @dir empty; for a group setup, which reports by its return value.
 */
int lu_tmpdir(char *dir, size_t size, const char *tag);

/*
 * Remove @dir and all below it, unless @dir is empty (lu_tmpdir() never
 * ran or failed) or MF_KEEP is set in the environment (to look at the
 * files a failing test made). Returns 0, or -1 when rm failed.
 */
int lu_tmpdir_remove(const char *dir);

/*
 * Format a command as printf(3) does and run it with system(3).
 * Returns system()'s status: 0 when the command exited 0, -1 when the
 * command does not fit in 4 KiB or could not run. Prints nothing: some
 * callers expect a command to fail.
 */
int lu_run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*---- random -----------------------------------------------------------*/

/*
 * The next number of a xorshift32 stream, the same in every run: one
 * stream per test binary, seeded 0x9e3779b9. Not for anything but
 * choosing test inputs.
 */
uint32_t lu_rand(void);

/*---- probing bytes in memory ------------------------------------------*/

/*
 * Probe @len bytes of @buf with @probe (mf_flac_probe and the like),
 * reporting to @sink, through an anonymous file as the prober needs a
 * descriptor. Returns the probe's result; *@why as the probe left it.
 */
int lu_probe_bytes(mf_probe_fn probe, const struct mf_sink *sink,
		   const void *buf, size_t len, char *why, size_t whylen);

/*---- every prefix of a file -------------------------------------------*/

/*
 * One anonymous file that holds a prefix of @file, cut anew for each
 * length a truncation loop visits, so that no loop copies the file:
 *
 *	struct lu_prefix p;
 *
 *	lu_prefix_open(&p, file, len);
 *	for (n = len; ; n--) {
 *		ret = probe(lu_prefix_cut(&p, n), ...);
 *		...
 *		if (!n)
 *			break;
 *	}
 *	lu_prefix_close(&p);
 *
 * The lengths may come in any order: a shorter one is cut with
 * ftruncate(2), a longer one written back from @file.
 */
struct lu_prefix {
	const uint8_t *file;	/* the caller's, read only; outlives @p */
	size_t size;		/* of @file: the longest prefix */
	size_t len;		/* what the file holds now */
	int fd;			/* the anonymous file; owned */
};

/* Open @p on all @size bytes of @file. Failure fails the test. */
void lu_prefix_open(struct lu_prefix *p, const void *file, size_t size);

/* Make @p's file hold exactly the first @n bytes (@n <= size); returns
 * its descriptor (@p's, not to close). Failure fails the test. */
int lu_prefix_cut(struct lu_prefix *p, size_t n);

/* Close @p's file. */
void lu_prefix_close(struct lu_prefix *p);

/*---- every byte of a range mutated ------------------------------------*/

/*
 * Mutants of a buffer, one byte changed in each: for every position in
 * [@from, @to) (clipped to the buffer), three in turn with that byte
 * 0xff, 0x00, and the original with one bit flipped (lu_rand()):
 *
 *	struct lu_mutant m;
 *
 *	lu_mutant_begin(&m, file, len, from, to, 0);
 *	while (lu_mutant_next(&m))
 *		... probe m.buf (m.len bytes; m.pos changed) ...
 *	lu_mutant_end(&m);
 *
 * m.buf is a fresh copy of @file for each mutant, so the loop may change
 * more of it (fix a checksum up) without harm to the next one. @skip: 0
 * visits every position; more steps 1 + lu_rand() % @skip positions on,
 * for long ranges.
 */
struct lu_mutant {
	uint8_t *buf;		/* the mutant: len bytes, owned */
	size_t len;
	size_t pos;		/* the position changed */
	/* private */
	const uint8_t *file;	/* the caller's, read only */
	size_t to;
	unsigned skip;
	int variant;		/* 0 to 2 at pos; -1 before the first */
};

/* Begin the mutants of @len bytes of @file; failure fails the test. */
void lu_mutant_begin(struct lu_mutant *m, const void *file, size_t len,
		     size_t from, size_t to, unsigned skip);

/* Make the next mutant in m->buf; false when there are no more. */
bool lu_mutant_next(struct lu_mutant *m);

/* Free what lu_mutant_begin() took. */
void lu_mutant_end(struct lu_mutant *m);

#endif /* LIB_UNIT_H */
