/* SPDX-License-Identifier: MIT */
/*
 * lib-unit - helpers shared by the cmocka unit tests; contracts in
 * lib-unit.h.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib-unit.h"

#include "mf_banned.h"

/*---- files ------------------------------------------------------------*/

uint8_t *lu_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	if (!f)
		print_error("# %s: %s\n", path, strerror(errno));
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	buf[n] = 0;
	*len = (size_t)n;
	return buf;
}

void lu_spew(const char *path, const void *buf, size_t len)
{
	FILE *f = fopen(path, "wb");

	if (!f)
		print_error("# %s: %s\n", path, strerror(errno));
	assert_non_null(f);
	if (len)
		assert_int_equal(fwrite(buf, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

int lu_mem_fd(const void *buf, size_t len)
{
	int fd = memfd_create("lib-unit", MFD_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	return fd;
}

void lu_path(char *buf, size_t size, const char *dir, const char *name)
{
	int n = snprintf(buf, size, "%s/%s", dir, name);

	assert_true(n > 0 && (size_t)n < size);
}

/*---- a scratch directory and shell commands ---------------------------*/

int lu_tmpdir(char *dir, size_t size, const char *tag)
{
	int n = snprintf(dir, size, "/tmp/mf-%s-XXXXXX", tag);

	if (n < 0 || (size_t)n >= size || !mkdtemp(dir)) {
		if (size)
			dir[0] = '\0';
		return -1;
	}
	return 0;
}

int lu_tmpdir_remove(const char *dir)
{
	if (!dir[0] || getenv("MF_KEEP"))
		return 0;
	return lu_run("rm -rf '%s'", dir) ? -1 : 0;
}

int lu_run(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(cmd))
		return -1;
	return system(cmd);
}

/*---- random -----------------------------------------------------------*/

static uint32_t rng = 0x9e3779b9u;

uint32_t lu_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

/*---- probing bytes in memory ------------------------------------------*/

int lu_probe_bytes(mf_probe_fn probe, const struct mf_sink *sink,
		   const void *buf, size_t len, char *why, size_t whylen)
{
	int fd = lu_mem_fd(buf, len);
	int ret = probe(MF_PROBE_SRC_FD(fd), sink, why, whylen);

	close(fd);
	return ret;
}

/*---- every prefix of a file -------------------------------------------*/

void lu_prefix_open(struct lu_prefix *p, const void *file, size_t size)
{
	p->file = file;
	p->size = size;
	p->len = size;
	p->fd = lu_mem_fd(file, size);
}

int lu_prefix_cut(struct lu_prefix *p, size_t n)
{
	assert_true(n <= p->size);
	if (n < p->len) {
		assert_int_equal(ftruncate(p->fd, (off_t)n), 0);
	} else if (n > p->len) {
		size_t more = n - p->len;

		assert_int_equal(pwrite(p->fd, p->file + p->len, more,
					(off_t)p->len), (ssize_t)more);
	}
	p->len = n;
	return p->fd;
}

void lu_prefix_close(struct lu_prefix *p)
{
	close(p->fd);
	p->fd = -1;
}

/*---- every byte of a range mutated ------------------------------------*/

void lu_mutant_begin(struct lu_mutant *m, const void *file, size_t len,
		     size_t from, size_t to, unsigned skip)
{
	m->buf = malloc(len ? len : 1);
	assert_non_null(m->buf);
	m->len = len;
	m->pos = from;
	m->file = file;
	m->to = to < len ? to : len;
	m->skip = skip;
	m->variant = -1;
}

bool lu_mutant_next(struct lu_mutant *m)
{
	uint8_t b;

	if (++m->variant == 3) {
		m->pos += 1 + (m->skip ? lu_rand() % m->skip : 0);
		m->variant = 0;
	}
	if (m->pos >= m->to)
		return false;
	memcpy(m->buf, m->file, m->len);
	b = m->file[m->pos];
	m->buf[m->pos] = (uint8_t)(m->variant == 0 ? 0xffu
				   : m->variant == 1 ? 0x00u
				   : b ^ (1u << (lu_rand() % 8)));
	return true;
}

void lu_mutant_end(struct lu_mutant *m)
{
	free(m->buf);
	m->buf = NULL;
}
