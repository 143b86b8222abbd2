/* SPDX-License-Identifier: MIT */
/*
 * stderr_capture - hold what a unit test's call logs on fd 2 so that a
 * failure the test expects prints no stray line under `make check`, and
 * the test can assert on the message instead. Header-only; cmocka asserts.
 *
 *	struct stderr_capture c;
 *	char msg[512];
 *
 *	stderr_capture_begin(&c);
 *	... the call that logs ...
 *	stderr_capture_end(&c, msg, sizeof(msg));
 *	assert_non_null(strstr(msg, "expected text"));
 */
#ifndef STDERR_CAPTURE_H
#define STDERR_CAPTURE_H

#include <stdio.h>
#include <unistd.h>

struct stderr_capture {
	FILE *tmp;	/* what fd 2 writes to meanwhile */
	int saved;	/* the real fd 2 */
};

static inline void stderr_capture_begin(struct stderr_capture *c)
{
	fflush(stderr);
	c->tmp = tmpfile();
	assert_non_null(c->tmp);
	c->saved = dup(STDERR_FILENO);
	assert_true(c->saved >= 0);
	assert_true(dup2(fileno(c->tmp), STDERR_FILENO) >= 0);
}

/* Restore fd 2; what was written goes to @buf (NUL-terminated). */
static inline void stderr_capture_end(struct stderr_capture *c, char *buf,
				      size_t len)
{
	size_t n;

	fflush(stderr);
	assert_true(dup2(c->saved, STDERR_FILENO) >= 0);
	close(c->saved);
	rewind(c->tmp);
	n = fread(buf, 1, len - 1, c->tmp);
	buf[n] = '\0';
	fclose(c->tmp);
}

#endif /* STDERR_CAPTURE_H */
