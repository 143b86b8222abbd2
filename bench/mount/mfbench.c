// SPDX-License-Identifier: MIT
/*
 * mfbench - the I/O loops of `make bench-mount`, timed in-process so the
 * figures measure the filesystem, not process start-up.
 *
 *   mfbench seq BLOCK FILE...     read each FILE start to end with read(2)
 *                                 in BLOCK-byte calls
 *   mfbench small LIST            for each path in LIST (one per line):
 *                                 open, read the first 64 KiB, close
 *   mfbench rand FILE N [SEED]    N pread(2)s of 4 KiB at random 4 KiB-
 *                                 aligned offsets of FILE
 *   mfbench walk DIR              lstat every entry under DIR (nftw)
 *   mfbench readdir DIR           what `find DIR -type f` does without the
 *                                 process start: readdir(3) every
 *                                 directory, recurse on DT_DIR, count
 *                                 DT_REG, stat nothing
 *
 * Prints one line "count=C bytes=B ns=T" on stdout: C files (seq, small),
 * reads (rand) or entries (walk, readdir: every entry but "." and ".."
 * plus DIR itself), B bytes read, T wall-clock ns of the
 * loop (CLOCK_MONOTONIC). Exit status 0, or 1 with a message on the first
 * error (a benchmark must not time a failing loop).
 */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SMALL_READ (64 * 1024)

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int fail(const char *what, const char *path)
{
	fprintf(stderr, "mfbench: %s '%s': %s\n", what, path, strerror(errno));
	return 1;
}

static void report(uint64_t count, uint64_t bytes, uint64_t ns)
{
	printf("count=%" PRIu64 " bytes=%" PRIu64 " ns=%" PRIu64 "\n", count,
	       bytes, ns);
}

static int cmd_seq(int argc, char **argv)
{
	char *end;
	unsigned long bs = strtoul(argv[0], &end, 10);
	char *buf;
	uint64_t bytes = 0, t0;
	int i;

	if (*end || bs == 0 || bs > (64ul << 20)) {
		fprintf(stderr, "mfbench: bad block size '%s'\n", argv[0]);
		return 1;
	}
	buf = aligned_alloc(4096, (bs + 4095) / 4096 * 4096);
	if (!buf)
		return fail("allocating", argv[0]);
	t0 = now_ns();
	for (i = 1; i < argc; i++) {
		int fd = open(argv[i], O_RDONLY);
		ssize_t n;

		if (fd < 0)
			return fail("cannot open", argv[i]);
		while ((n = read(fd, buf, bs)) > 0)
			bytes += (uint64_t)n;
		if (n < 0)
			return fail("cannot read", argv[i]);
		close(fd);
	}
	report((uint64_t)argc - 1, bytes, now_ns() - t0);
	free(buf);
	return 0;
}

static int cmd_small(const char *list)
{
	static char buf[SMALL_READ];
	FILE *f = fopen(list, "r");
	char **paths = NULL;
	size_t n = 0, cap = 0, i;
	char *line = NULL;
	size_t lcap = 0;
	ssize_t len;
	uint64_t bytes = 0, t0;

	if (!f)
		return fail("cannot open", list);
	while ((len = getline(&line, &lcap, f)) > 0) {
		if (line[len - 1] == '\n')
			line[--len] = '\0';
		if (!len)
			continue;
		if (n == cap) {
			char **p;

			cap = cap ? cap * 2 : 1024;
			p = realloc(paths, cap * sizeof(*paths));
			if (!p)
				return fail("allocating for", list);
			paths = p;
		}
		paths[n] = strdup(line);
		if (!paths[n++])
			return fail("allocating for", list);
	}
	free(line);
	fclose(f);
	t0 = now_ns();
	for (i = 0; i < n; i++) {
		int fd = open(paths[i], O_RDONLY);
		ssize_t r;

		if (fd < 0)
			return fail("cannot open", paths[i]);
		r = read(fd, buf, sizeof(buf));
		if (r < 0)
			return fail("cannot read", paths[i]);
		bytes += (uint64_t)r;
		close(fd);
	}
	report(n, bytes, now_ns() - t0);
	for (i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
	return 0;
}

static int cmd_rand(const char *path, const char *count, const char *seed)
{
	static char buf[4096];
	unsigned long n = strtoul(count, NULL, 10), i;
	unsigned long long x = seed ? strtoull(seed, NULL, 10) : 1;
	struct stat st;
	uint64_t bytes = 0, t0, blocks;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return fail("cannot open", path);
	if (fstat(fd, &st) < 0)
		return fail("cannot stat", path);
	blocks = (uint64_t)st.st_size / 4096;
	if (!blocks) {
		fprintf(stderr, "mfbench: '%s' is under 4 KiB\n", path);
		return 1;
	}
	x = x ? x : 1;
	t0 = now_ns();
	for (i = 0; i < n; i++) {
		ssize_t r;

		x ^= x << 13;	/* xorshift64 */
		x ^= x >> 7;
		x ^= x << 17;
		r = pread(fd, buf, sizeof(buf), (off_t)((x % blocks) * 4096));
		if (r < 0)
			return fail("cannot read", path);
		bytes += (uint64_t)r;
	}
	report(n, bytes, now_ns() - t0);
	close(fd);
	return 0;
}

static uint64_t walk_count;

static int walk_one(const char *p, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	(void)p;
	(void)st;
	(void)ftw;
	if (flag == FTW_NS)
		return 1;
	walk_count++;
	return 0;
}

static int cmd_walk(const char *dir)
{
	uint64_t t0 = now_ns();
	int r = nftw(dir, walk_one, 64, FTW_PHYS);

	if (r != 0)
		return fail("cannot walk", dir);
	report(walk_count, 0, now_ns() - t0);
	return 0;
}

static int readdir_walk(int dfd, const char *name, uint64_t *count)
{
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
	DIR *d;
	struct dirent *e;

	if (fd < 0)
		return fail("cannot open directory", name);
	d = fdopendir(fd);
	if (!d)
		return fail("cannot read directory", name);
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' && (!e->d_name[1] ||
		    (e->d_name[1] == '.' && !e->d_name[2])))
			continue;
		(*count)++;
		if (e->d_type == DT_UNKNOWN) {
			fprintf(stderr, "mfbench: no d_type for '%s'\n",
				e->d_name);
			return 1;
		}
		if (e->d_type == DT_DIR &&
		    readdir_walk(dirfd(d), e->d_name, count))
			return 1;
	}
	closedir(d);
	return 0;
}

static int cmd_readdir(const char *dir)
{
	uint64_t n = 1, t0 = now_ns();

	if (readdir_walk(AT_FDCWD, dir, &n))
		return 1;
	report(n, 0, now_ns() - t0);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 4 && !strcmp(argv[1], "seq"))
		return cmd_seq(argc - 2, argv + 2);
	if (argc == 3 && !strcmp(argv[1], "small"))
		return cmd_small(argv[2]);
	if ((argc == 4 || argc == 5) && !strcmp(argv[1], "rand"))
		return cmd_rand(argv[2], argv[3], argc == 5 ? argv[4] : NULL);
	if (argc == 3 && !strcmp(argv[1], "walk"))
		return cmd_walk(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "readdir"))
		return cmd_readdir(argv[2]);
	fprintf(stderr, "usage: mfbench seq BLOCK FILE... | small LIST | "
		"rand FILE N [SEED] | walk DIR | readdir DIR\n");
	return 2;
}
