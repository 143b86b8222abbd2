/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for scan/mf_ignore (gitignore-style patterns, gitignore(5))
 * and scan/mf_queue (the pipeline's bounded queue), linked from
 * libscan.a.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../scan/mf_ignore.h"
#include "../../scan/mf_queue.h"

static void test_glob(void **state)
{
	(void)state;
	assert_true(mf_ignore_glob("*.flac", "a.flac"));
	assert_false(mf_ignore_glob("*.flac", "a.flac.bak"));
	assert_false(mf_ignore_glob("*.flac", "d/a.flac"));
	assert_true(mf_ignore_glob("?.mp3", "x.mp3"));
	assert_false(mf_ignore_glob("?.mp3", "/.mp3"));
	assert_true(mf_ignore_glob("[abc]x", "bx"));
	assert_false(mf_ignore_glob("[!abc]x", "bx"));
	assert_true(mf_ignore_glob("[^abc]x", "dx"));
	assert_true(mf_ignore_glob("[a-c]x", "cx"));
	assert_false(mf_ignore_glob("[a-c]x", "dx"));
	assert_true(mf_ignore_glob("[]]x", "]x"));
	assert_true(mf_ignore_glob("[x", "[x"));	/* unclosed: literal */
	assert_true(mf_ignore_glob("\\*x", "*x"));
	assert_false(mf_ignore_glob("\\*x", "ax"));
	assert_true(mf_ignore_glob("**/b", "b"));
	assert_true(mf_ignore_glob("**/b", "a/b"));
	assert_true(mf_ignore_glob("**/b", "a/c/b"));
	assert_true(mf_ignore_glob("a/**/b", "a/b"));
	assert_true(mf_ignore_glob("a/**/b", "a/x/y/b"));
	assert_false(mf_ignore_glob("a/**/b", "ab"));
	assert_true(mf_ignore_glob("a/**", "a/x/y"));
	assert_true(mf_ignore_glob("a**b", "axxb"));
	assert_false(mf_ignore_glob("a**b", "ax/xb"));
	assert_true(mf_ignore_glob("", ""));
	assert_false(mf_ignore_glob("", "a"));
	/* bytes, not characters: a Latin-1 name */
	assert_true(mf_ignore_glob("caf?.flac", "caf\xe9.flac"));
	assert_true(mf_ignore_glob("caf\xe9*", "caf\xe9.flac"));
}

static struct mf_ignore *rules(const char *text)
{
	struct mf_ignore *ig = NULL;

	assert_int_equal(mf_ignore_add(&ig, text, strlen(text)), 0);
	return ig;
}

static void test_rules(void **state)
{
	struct mf_ignore *ig;

	(void)state;
	ig = rules("# comment\n\n*.tmp\n!keep.tmp\nlive/\n/top.flac\n"
		   "sub/x.flac\ntrailing   \n\\#hash\n\\!bang\r\n");
	assert_int_equal(mf_ignore_count(ig), 8);
	assert_int_equal(mf_ignore_match(ig, "a.tmp", false), MF_IGNORE_EXCLUDE);
	assert_int_equal(mf_ignore_match(ig, "d/e/a.tmp", false),
			 MF_IGNORE_EXCLUDE);
	assert_int_equal(mf_ignore_match(ig, "d/keep.tmp", false),
			 MF_IGNORE_INCLUDE);
	assert_int_equal(mf_ignore_match(ig, "live", true), MF_IGNORE_EXCLUDE);
	assert_int_equal(mf_ignore_match(ig, "live", false), MF_IGNORE_NONE);
	assert_int_equal(mf_ignore_match(ig, "x/live", true), MF_IGNORE_EXCLUDE);
	assert_int_equal(mf_ignore_match(ig, "top.flac", false),
			 MF_IGNORE_EXCLUDE);
	assert_int_equal(mf_ignore_match(ig, "d/top.flac", false),
			 MF_IGNORE_NONE);
	assert_int_equal(mf_ignore_match(ig, "sub/x.flac", false),
			 MF_IGNORE_EXCLUDE);
	assert_int_equal(mf_ignore_match(ig, "d/sub/x.flac", false),
			 MF_IGNORE_NONE);
	assert_int_equal(mf_ignore_match(ig, "trailing", false),
			 MF_IGNORE_EXCLUDE);
	assert_int_equal(mf_ignore_match(ig, "#hash", false), MF_IGNORE_EXCLUDE);
	assert_int_equal(mf_ignore_match(ig, "!bang", false), MF_IGNORE_EXCLUDE);
	assert_int_equal(mf_ignore_match(NULL, "a.tmp", false), MF_IGNORE_NONE);
	mf_ignore_free(ig);
}

static void test_limits(void **state)
{
	struct mf_ignore *ig = NULL;
	size_t big = 5000, n;
	char *text = malloc(4 * 5000);

	(void)state;
	assert_non_null(text);
	memset(text, 'a', big);
	assert_int_equal(mf_ignore_add(&ig, text, big), -E2BIG);
	assert_null(ig);
	/* 5000 one-byte patterns: more than 4096 */
	for (n = 0; n < 5000; n++) {
		text[2 * n] = 'x';
		text[2 * n + 1] = '\n';
	}
	assert_int_equal(mf_ignore_add(&ig, text, 2 * n), -E2BIG);
	assert_null(ig);
	/* garbage bytes and truncated classes never crash */
	ig = rules("[\n[!\n\\\n**\n/\n!\n[a-\n");
	assert_int_equal(mf_ignore_match(ig, "[", false), MF_IGNORE_EXCLUDE);
	(void)mf_ignore_match(ig, "a/b/c", true);
	mf_ignore_free(ig);
	free(text);
}

struct qarg {
	struct mf_queue *q;
	int from, n;
};

static void *producer(void *p)
{
	struct qarg *a = p;

	for (int i = 0; i < a->n; i++)
		assert_int_equal(mf_queue_push(a->q, (void *)(intptr_t)
					       (a->from + i + 1)), 0);
	mf_queue_close(a->q);
	return NULL;
}

static void test_queue(void **state)
{
	struct mf_queue *q;
	struct qarg a[3];
	pthread_t t[3];
	char seen[3001] = { 0 };
	void *v;
	int got = 0;

	(void)state;
	assert_int_equal(mf_queue_new(0, &q), -EINVAL);
	assert_int_equal(mf_queue_new(4, &q), 0);
	assert_int_equal(mf_queue_pop(q, &v, 10), -ETIMEDOUT);
	mf_queue_set_producers(q, 3);
	for (int i = 0; i < 3; i++) {
		a[i] = (struct qarg){ .q = q, .from = 1000 * i, .n = 1000 };
		assert_int_equal(pthread_create(&t[i], NULL, producer, &a[i]), 0);
	}
	while (mf_queue_pop(q, &v, -1) == 0) {
		intptr_t x = (intptr_t)v;

		assert_true(x >= 1 && x <= 3000);
		assert_int_equal(seen[x], 0);
		seen[x] = 1;
		got++;
		assert_true(mf_queue_len(q) <= 4);
	}
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(got, 3000);
	assert_int_equal(mf_queue_push(q, &got), -EPIPE);
	assert_int_equal(mf_queue_pop(q, &v, 0), -EPIPE);
	mf_queue_free(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_glob),
		cmocka_unit_test(test_rules),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_queue),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
