/* SPDX-License-Identifier: MIT */
/* mf_conn - per-thread read-only store connections (see mf_conn.h). */
#include "mf_conn.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "mf_log.h"

struct mf_conns {
	char *db_path;			/* immutable */
	pthread_key_t key;		/* per-thread struct thread_conn */
	_Atomic uint64_t gen;		/* atomic; bumped on replacement */
};

struct thread_conn {
	struct mf_store *s;
	uint64_t gen;			/* mf_conns.gen when opened */
};

static void thread_conn_free(void *p)
{
	struct thread_conn *tc = p;

	if (tc)
		mf_store_close(tc->s);
	free(tc);
}

int mf_conns_new(const char *db_path, struct mf_conns **out)
{
	struct mf_conns *c = calloc(1, sizeof(*c));
	int ret;

	*out = NULL;
	if (!c)
		return -ENOMEM;
	c->db_path = strdup(db_path);
	if (!c->db_path) {
		free(c);
		return -ENOMEM;
	}
	ret = pthread_key_create(&c->key, thread_conn_free);
	if (ret) {
		free(c->db_path);
		free(c);
		return ret == ENOMEM ? -ENOMEM : -EAGAIN;
	}
	atomic_init(&c->gen, 0);
	*out = c;
	return 0;
}

struct mf_store *mf_conns_get(struct mf_conns *c, uint64_t *gen)
{
	struct thread_conn *tc = pthread_getspecific(c->key);
	uint64_t now = atomic_load(&c->gen);
	char err[512];

	if (tc && tc->s && tc->gen == now) {
		*gen = now;
		return tc->s;
	}
	if (!tc) {
		tc = calloc(1, sizeof(*tc));
		if (!tc || pthread_setspecific(c->key, tc) != 0) {
			free(tc);
			return NULL;
		}
	}
	mf_store_close(tc->s);
	tc->s = NULL;
	if (mf_store_open(c->db_path, MF_STORE_READONLY, &tc->s, err,
			  sizeof(err)) < 0) {
		mf_err("mount", "%s", err);
		return NULL;
	}
	tc->gen = now;
	*gen = now;
	return tc->s;
}

uint64_t mf_conns_gen(const struct mf_conns *c)
{
	return atomic_load(&c->gen);
}

void mf_conns_bump(struct mf_conns *c)
{
	atomic_fetch_add(&c->gen, 1);
}

void mf_conns_free(struct mf_conns *c)
{
	struct thread_conn *tc;

	if (!c)
		return;
	tc = pthread_getspecific(c->key);
	if (tc) {
		pthread_setspecific(c->key, NULL);
		thread_conn_free(tc);
	}
	pthread_key_delete(c->key);
	free(c->db_path);
	free(c);
}
