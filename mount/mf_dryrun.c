/* SPDX-License-Identifier: MIT */
/*
 * mf_dryrun - musefs-mount --dry-run: build the tree the mount would
 * serve, print samples and every collision, mount nothing (mf_fs.h).
 */
#include "mf_fs_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mf_banned.h"

struct dry {
	const struct mf_tree *t;
	FILE *out;
	size_t samples, shown, collisions;
	int err;
};

static int dry_file(void *ctx, const struct mf_node *n)
{
	struct dry *d = ctx;
	char *path = NULL;

	if (d->shown >= d->samples && strcmp(mf_node_name(n), mf_node_want(n)) == 0)
		return 0;
	if (mf_tree_path(d->t, n, &path) < 0)
		return -ENOMEM;
	if (d->shown < d->samples) {
		fprintf(d->out, "sample: %s\n", path);
		d->shown++;
	}
	if (strcmp(mf_node_name(n), mf_node_want(n)) != 0) {
		size_t dl = strlen(path) - strlen(mf_node_name(n));

		fprintf(d->out, "collision: track %lld wanted '%.*s%s', "
			"served as '%s'\n", (long long)mf_node_track(n),
			(int)dl, path, mf_node_want(n), path);
		d->collisions++;
	}
	free(path);
	return 0;
}

int mf_fs_dry_run(const struct mf_fs_config *cfg, FILE *out, size_t samples,
		  struct mf_fs_dry_stats *st, char *err, size_t errlen)
{
	struct mf_store *s = NULL;
	struct mf_render *r = NULL;
	struct mf_tree *t = NULL;
	struct dry d = { .out = out, .samples = samples };
	int64_t head = 0;
	int ret;

	ret = mf_refresh_build(cfg, &s, &r, &t, &head, err, errlen);
	if (!ret) {
		d.t = t;
		ret = mf_tree_each_file(t, dry_file, &d);
		st->files = mf_tree_nfiles(t);
		st->dirs = mf_tree_ndirs(t) - 1;
		st->collisions = d.collisions;
		fprintf(out, "files: %zu\ndirectories: %zu\ncollisions: %zu\n",
			st->files, st->dirs, st->collisions);
		if (ret < 0)
			snprintf(err, errlen, "out of memory");
	}
	mf_tree_free(t);
	mf_render_free(r);
	mf_store_close(s);
	return ret;
}
