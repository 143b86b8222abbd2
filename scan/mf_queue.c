/* SPDX-License-Identifier: MIT */
/*
 * mf_queue - bounded pointer queue (mutex + two condition variables).
 */
#include "mf_queue.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "mf_banned.h"

struct mf_queue {
	pthread_mutex_t lock;	/* guards every field below */
	pthread_cond_t not_empty;
	pthread_cond_t not_full;
	void **items;		/* ring of cap slots */
	size_t cap, head, len;
	unsigned producers;	/* closes left before the queue is closed */
	bool closed;
};

int mf_queue_new(size_t cap, struct mf_queue **out)
{
	struct mf_queue *q;
	pthread_condattr_t ca;
	int rc;

	*out = NULL;
	if (cap == 0 || cap > 65536)
		return -EINVAL;
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->items = calloc(cap, sizeof(*q->items));
	if (!q->items) {
		free(q);
		return -ENOMEM;
	}
	q->cap = cap;
	q->producers = 1;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	rc = pthread_mutex_init(&q->lock, NULL);
	if (!rc)
		rc = pthread_cond_init(&q->not_empty, &ca);
	if (!rc)
		rc = pthread_cond_init(&q->not_full, NULL);
	pthread_condattr_destroy(&ca);
	if (rc) {
		free(q->items);
		free(q);
		return -rc;
	}
	*out = q;
	return 0;
}

void mf_queue_free(struct mf_queue *q)
{
	if (!q)
		return;
	pthread_mutex_destroy(&q->lock);
	pthread_cond_destroy(&q->not_empty);
	pthread_cond_destroy(&q->not_full);
	free(q->items);
	free(q);
}

void mf_queue_set_producers(struct mf_queue *q, unsigned n)
{
	pthread_mutex_lock(&q->lock);
	q->producers = n ? n : 1;
	pthread_mutex_unlock(&q->lock);
}

int mf_queue_push(struct mf_queue *q, void *item)
{
	int ret = 0;

	pthread_mutex_lock(&q->lock);
	while (q->len == q->cap && !q->closed)
		pthread_cond_wait(&q->not_full, &q->lock);
	if (q->closed) {
		ret = -EPIPE;
	} else {
		q->items[(q->head + q->len) % q->cap] = item;
		q->len++;
		pthread_cond_signal(&q->not_empty);
	}
	pthread_mutex_unlock(&q->lock);
	return ret;
}

int mf_queue_pop(struct mf_queue *q, void **item, int timeout_ms)
{
	struct timespec until;
	int ret = 0;

	if (timeout_ms >= 0) {
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += timeout_ms / 1000;
		until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
	}
	pthread_mutex_lock(&q->lock);
	while (q->len == 0 && !q->closed) {
		if (timeout_ms < 0) {
			pthread_cond_wait(&q->not_empty, &q->lock);
		} else if (pthread_cond_timedwait(&q->not_empty, &q->lock,
						  &until) == ETIMEDOUT) {
			if (q->len == 0 && !q->closed) {
				pthread_mutex_unlock(&q->lock);
				return -ETIMEDOUT;
			}
		}
	}
	if (q->len == 0) {
		ret = -EPIPE;
	} else {
		*item = q->items[q->head];
		q->head = (q->head + 1) % q->cap;
		q->len--;
		pthread_cond_signal(&q->not_full);
	}
	pthread_mutex_unlock(&q->lock);
	return ret;
}

void mf_queue_close(struct mf_queue *q)
{
	pthread_mutex_lock(&q->lock);
	if (q->producers > 1) {
		q->producers--;
	} else {
		q->producers = 0;
		q->closed = true;
		pthread_cond_broadcast(&q->not_empty);
		pthread_cond_broadcast(&q->not_full);
	}
	pthread_mutex_unlock(&q->lock);
}

size_t mf_queue_len(struct mf_queue *q)
{
	size_t n;

	pthread_mutex_lock(&q->lock);
	n = q->len;
	pthread_mutex_unlock(&q->lock);
	return n;
}
