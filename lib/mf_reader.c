/* SPDX-License-Identifier: MIT */
/* mf_reader - bounded reads for probers. */
#include "mf_reader.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mf_banned.h"

int mf_reader_fail(struct mf_reader *r, int err, const char *fmt, ...)
{
	va_list ap;

	if (r->why && r->whylen) {
		va_start(ap, fmt);
		vsnprintf(r->why, r->whylen, fmt, ap);
		va_end(ap);
	}
	return err;
}

int mf_reader_init(struct mf_reader *r, const struct mf_probe_src *src)
{
	struct stat st;

	if (r->why && r->whylen)
		r->why[0] = '\0';
	r->fd = src->fd;
	r->win = NULL;
	r->winlen = 0;
	if (src->sized) {
		r->size = src->size;
	} else {
		if (fstat(src->fd, &st) < 0)
			return mf_reader_fail(r, -errno, "cannot stat: %s",
					      strerror(errno));
		if (!S_ISREG(st.st_mode))
			return mf_reader_fail(r, -EINVAL, "not a regular file");
		r->size = (uint64_t)st.st_size;
	}
	if (src->head) {
		r->win = src->head;
		r->winlen = src->headlen < r->size ? src->headlen :
			    (size_t)r->size;
	}
	return 0;
}

int mf_pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	uint8_t *dst = buf;

	while (len) {
		ssize_t n = pread(fd, dst, len, (off_t)off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		dst += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

int mf_reader_read(struct mf_reader *r, void *buf, size_t len, uint64_t off,
		   const char *what)
{
	int ret;

	if (off > r->size || len > r->size - off)
		return mf_reader_fail(r, -EBADMSG, "%s runs past end of file",
				      what);
	if (off < r->winlen && len <= r->winlen - off) {
		memcpy(buf, r->win + off, len);
		return 0;
	}
	ret = mf_pread_full(r->fd, buf, len, off);
	if (ret == -EIO)
		return mf_reader_fail(r, ret, "file shrank while reading %s",
				      what);
	if (ret)
		return mf_reader_fail(r, ret, "cannot read %s: %s", what,
				      strerror(-ret));
	return 0;
}
