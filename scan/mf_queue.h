/* SPDX-License-Identifier: MIT */
/*
 * mf_queue - a bounded multi-producer multi-consumer queue of pointers
 * for the scanner's pipeline (walker -> probe workers -> writer). A full
 * queue blocks producers, so memory does not grow with the library.
 *
 * All functions are thread-safe: the queue's state is guarded by its one
 * mutex (mf_queue.lock).
 */
#ifndef MF_QUEUE_H
#define MF_QUEUE_H

#include <stdbool.h>
#include <stddef.h>

struct mf_queue;

/*
 * A queue holding at most @cap items (1..65536). Returns 0 and sets *@out,
 * -EINVAL for a bad @cap, -ENOMEM, or the pthread error negated.
 */
int mf_queue_new(size_t cap, struct mf_queue **out);

/* Free @q (must have no waiters); NULL is a no-op. Items left are not freed. */
void mf_queue_free(struct mf_queue *q);

/*
 * Append @item (not NULL), blocking while the queue is full. Returns 0, or
 * -EPIPE when the queue was closed (the item is not taken).
 */
int mf_queue_push(struct mf_queue *q, void *item);

/*
 * Take the oldest item into *@item, waiting at most @timeout_ms ms (< 0:
 * forever). Returns 0; -ETIMEDOUT when nothing came in time; -EPIPE when
 * the queue is closed and empty (the end of the stream).
 */
int mf_queue_pop(struct mf_queue *q, void **item, int timeout_ms);

/*
 * Close @q after its last item: pops drain what is queued, then get
 * -EPIPE; pushes fail. After mf_queue_set_producers(@q, n), only the
 * n-th call closes (each producer closes once when it is done).
 */
void mf_queue_close(struct mf_queue *q);

/* Expect @n producers: the @n-th mf_queue_close() closes. Call before use. */
void mf_queue_set_producers(struct mf_queue *q, unsigned n);

/* Items queued now (a snapshot). */
size_t mf_queue_len(struct mf_queue *q);

#endif /* MF_QUEUE_H */
