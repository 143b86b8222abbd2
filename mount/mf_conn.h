/* SPDX-License-Identifier: MIT */
/*
 * mf_conn - the mount's per-thread read-only store connections. Every
 * thread that reads the store (a FUSE worker, the metrics sampler) gets
 * its own connection, opened on first use; a store file replaced under
 * the mount (a restored backup, a replica moved in) bumps the generation
 * and every thread reopens before it reads again, so that no row id of
 * the old file is looked up in the new one.
 */
#ifndef MF_CONN_H
#define MF_CONN_H

#include <stdint.h>

#include "mf_store.h"

struct mf_conns;

/*
 * A connection set for the store at @db_path (copied). Returns 0 and
 * *@out (free with mf_conns_free()), or -ENOMEM / -EAGAIN (no pthread
 * key left).
 */
int mf_conns_new(const char *db_path, struct mf_conns **out);

/*
 * The calling thread's connection, opened (MF_STORE_READONLY) on first
 * use and again after mf_conns_bump(); *@gen: the generation it belongs
 * to. Returns NULL when it cannot be opened (logged) or on ENOMEM. The
 * connection is the thread's own: never hand it to another thread; it is
 * closed when the thread exits or by mf_conns_free() for its caller.
 */
struct mf_store *mf_conns_get(struct mf_conns *c, uint64_t *gen);

/* The current generation (starts at 0). Thread-safe (atomic). */
uint64_t mf_conns_gen(const struct mf_conns *c);

/* The store file was replaced: every thread reopens. Thread-safe. */
void mf_conns_bump(struct mf_conns *c);

/*
 * Close the calling thread's connection and free @c (NULL is a no-op).
 * Threads that still hold one must have exited (their connections close
 * as they exit); no thread may call mf_conns_get() afterwards.
 */
void mf_conns_free(struct mf_conns *c);

#endif
