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
	const uint8_t *win;	/* set by mf_reader_init(): the thread's */
	size_t winlen;		/* read-ahead window of fd, or NULL / 0 */
};

/*
 * Start a probe of r->fd: clear r->why, fstat the file and set r->size.
 * When the calling thread has a read-ahead window on r->fd
 * (mf_reader_window_set()), its size is used and no fstat is made.
 * Returns 0; -EINVAL "not a regular file"; or the negative errno of
 * fstat(2) with "cannot stat: ...".
 */
int mf_reader_init(struct mf_reader *r);

/*
 * Read-ahead for a probe: until mf_reader_window_clear(), readers of @fd
 * started on the calling thread read [0, @len) of the file from @buf
 * instead of with pread(2) (reads outside it still go to the file), and
 * take @size (bytes) as the file's size. The caller has fstat'ed @fd (a
 * regular file of @size bytes) and read its first @len bytes into @buf,
 * which it keeps alive and unchanged until the clear; it checks the stamp
 * again after the probe, as without a window. One window per thread
 * (thread-local state); a new set replaces the previous one.
 */
void mf_reader_window_set(int fd, const void *buf, size_t len, uint64_t size);
void mf_reader_window_clear(void);

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
