/* SPDX-License-Identifier: MIT */
/*
 * mf_reader - bounded reads of a backing file for format probers, with the
 * failure reason every prober reports (struct mf_sink, mf_format.h).
 * Probers never trust a length read from a file: every read is checked
 * against the file size taken at the start of the probe.
 */
#ifndef MF_READER_H
#define MF_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * What a prober reads: an open file and what of it the caller already
 * has. With @sized, @size is the file's size (the caller fstat'ed @fd);
 * otherwise the reader fstats @fd. @head holds the file's first @headlen
 * bytes (or is NULL): reads inside them are served from it, the rest with
 * pread(2) on @fd. A source that holds the whole file (MF_PROBE_SRC_MEM)
 * needs no file at all (@fd -1), which is how unit tests probe from
 * memory. Borrowed by the probe for its duration; never modified.
 */
struct mf_probe_src {
	int fd;			/* read with pread(2) only; -1: none */
	bool sized;		/* @size is known */
	uint64_t size;		/* bytes */
	const uint8_t *head;	/* the first @headlen bytes, or NULL */
	size_t headlen;
};

/* A source for the open file @fd, nothing read yet. */
#define MF_PROBE_SRC_FD(fd_) (&(const struct mf_probe_src){ .fd = (fd_) })

/* A source holding the whole file in memory: @buf of @len bytes. */
#define MF_PROBE_SRC_MEM(buf_, len_)					\
	(&(const struct mf_probe_src){ .fd = -1, .sized = true,	\
				       .size = (len_), .head = (buf_),	\
				       .headlen = (len_) })

struct mf_reader {
	int fd;			/* set by mf_reader_init(); pread(2) only */
	uint64_t size;		/* file size in bytes */
	char *why;		/* reason buffer of @whylen bytes, may be NULL */
	size_t whylen;
	const uint8_t *win;	/* set by mf_reader_init(): the bytes the */
	size_t winlen;		/* source already holds, or NULL / 0 */
};

/*
 * Start a probe of @src: clear r->why, take the file's size (from @src
 * when sized, else fstat of src->fd) and the bytes @src holds. Returns 0;
 * -EINVAL "not a regular file"; or the negative errno of fstat(2) with
 * "cannot stat: ..." (-EBADF for a source with no file and no size).
 */
int mf_reader_init(struct mf_reader *r, const struct mf_probe_src *src);

/*
 * Format a short lowercase reason into r->why (when it has room; always
 * NUL-terminated then) and return @err unchanged, so a prober can write
 * `return mf_reader_fail(r, -EBADMSG, "...", ...)`.
 */
int mf_reader_fail(struct mf_reader *r, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * Read exactly @len bytes at @off into @buf. Returns 0; -EBADMSG with
 * "<what> runs past end of file" when [off, off+len) is not inside
 * r->size; -EIO with "file shrank while reading <what>" on a short read;
 * or the negative errno of pread(2) with "cannot read <what>: ...".
 * Thread-safe for distinct readers.
 */
int mf_reader_read(struct mf_reader *r, void *buf, size_t len, uint64_t off,
		   const char *what);

/*
 * pread(2) exactly @len bytes at @off of @fd, retrying on EINTR and short
 * reads. Returns 0, -EIO at end of file, or the negative errno.
 */
int mf_pread_full(int fd, void *buf, size_t len, uint64_t off);

#endif /* MF_READER_H */
