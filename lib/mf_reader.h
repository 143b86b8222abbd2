/* SPDX-License-Identifier: MIT */
/*
 * mf_reader - bounded reads of a backing file for format probers, with the
 * failure reason every prober reports (struct mf_sink, mf_format.h).
 * Probers never trust a length read from a file: every read is checked
 * against the file size taken at the start of the probe.
 */
#ifndef MF_READER_H
#define MF_READER_H

#include <stddef.h>
#include <stdint.h>

struct mf_reader {
	int fd;			/* borrowed; read with pread(2) only */
	uint64_t size;		/* file size in bytes, from fstat */
	char *why;		/* reason buffer of @whylen bytes, may be NULL */
	size_t whylen;
};

/*
 * Start a probe of r->fd: clear r->why, fstat the file and set r->size.
 * Returns 0; -EINVAL "not a regular file"; or the negative errno of
 * fstat(2) with "cannot stat: ...".
 */
int mf_reader_init(struct mf_reader *r);

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
