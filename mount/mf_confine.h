/* SPDX-License-Identifier: MIT */
/*
 * mf_confine - which backing files musefs-mount may open, and opening
 * them: only beneath a confinement root (the --root directories, else the
 * roots musefs-scan recorded in the store's scan_roots table), resolved
 * with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) relative to an
 * O_PATH descriptor of the root; where openat2 is missing, by a walk of
 * the path one O_NOFOLLOW component at a time. Spec: docs/musefs-mount.1 CONFINEMENT;
 * issue 14.
 */
#ifndef MF_CONFINE_H
#define MF_CONFINE_H

#include <stdbool.h>
#include <stddef.h>
#include "mf_store.h"

struct mf_confine {
	/*
	 * --root: canonical directories; when nroots > 0 they replace the
	 * store's scan_roots (a store writer cannot widen them). Borrowed,
	 * must outlive every call.
	 */
	const char *const *roots;
	size_t nroots;
	bool off;		/* --no-confine: open any path, as given */
	bool follow;		/* --follow-symlinks: links beneath the root */
	/* test knob (MUSEFS_TEST_NO_OPENAT2): act as if the kernel had no
	 * openat2, to test the component walk that replaces it */
	bool test_no_openat2;
};

/*
 * Open backing file @path read-only (O_NONBLOCK, O_NOCTTY, O_CLOEXEC)
 * under @c, reading the store's roots through @s (a read-only
 * connection of the calling thread, or NULL when none could be opened:
 * then only --root roots work; a store without scan_roots has none).
 * Returns the descriptor (>= 0); or a negative errno when the open failed
 * for an ordinary reason (-ENOENT, -EACCES, ...); or -EPERM when
 * confinement refused @path, with *@why set to a static phrase for the
 * log ("is outside every root", "leads through a symlink", ...). Nothing
 * of a refused file is read. Thread-safe (one @s per thread).
 */
int mf_confine_open(const struct mf_confine *c, struct mf_store *s,
		    const char *path, const char **why);

/*
 * Log, once at start, how the mount is confined: by --root, by the
 * store's recorded roots, or (no roots at all, or --no-confine) a warning
 * that it is not. Returns true when opens are confined to roots.
 */
bool mf_confine_announce(const struct mf_confine *c, struct mf_store *s);

/*
 * Log that @path was refused for @why (from mf_confine_open()): at most
 * 10 messages a minute for the whole mount, then one saying the rest are
 * not logged. The caller logs once per track. Thread-safe.
 */
void mf_confine_warn(const char *path, const char *why);

#endif
