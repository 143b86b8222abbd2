/* SPDX-License-Identifier: MIT */
/* mf_picture - FLAC PICTURE block bodies (see mf_picture.h). */
#include "mf_picture.h"

#include <errno.h>
#include <string.h>

#include "mf_bytes.h"
#include "mf_utf8.h"

#include "mf_banned.h"

int mf_picture_parse(const uint8_t *body, size_t len,
		     struct mf_picture_fields *f)
{
	uint64_t mlen, dlen, datalen;
	const uint8_t *p;

	if (len < MF_PICTURE_FIXED)
		return -EBADMSG;
	mlen = mf_get_be32(body + 4);
	if (mlen > len - MF_PICTURE_FIXED)
		return -EBADMSG;
	dlen = mf_get_be32(body + 8 + mlen);
	if (dlen > len - MF_PICTURE_FIXED - mlen)
		return -EBADMSG;
	p = body + 12 + mlen + dlen;
	datalen = mf_get_be32(p + 16);
	if (MF_PICTURE_FIXED + mlen + dlen + datalen != len)
		return -EBADMSG;
	f->type = mf_get_be32(body);
	f->mime = (const char *)body + 8;
	f->mime_len = (size_t)mlen;
	f->desc = (const char *)body + 12 + mlen;
	f->desc_len = (size_t)dlen;
	f->width = mf_get_be32(p);
	f->height = mf_get_be32(p + 4);
	f->depth = mf_get_be32(p + 8);
	f->colors = mf_get_be32(p + 12);
	f->data = p + 20;
	f->data_len = (size_t)datalen;
	return 0;
}

bool mf_picture_mime_ok(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return false;
	return true;
}

bool mf_picture_fields_legal(const struct mf_picture_fields *f)
{
	return f->type <= MF_PICTURE_TYPE_MAX &&
	       mf_picture_mime_ok(f->mime, f->mime_len) &&
	       !memchr(f->desc, 0, f->desc_len) &&
	       mf_utf8_valid(f->desc, f->desc_len);
}

uint64_t mf_picture_body_len(const struct mf_synth_pic *pic)
{
	return MF_PICTURE_FIXED + (uint64_t)strlen(pic->mime) +
	       strlen(pic->desc) + pic->len;
}

static int add_be32(struct mf_layout *l, uint32_t v)
{
	uint8_t b[4];

	mf_put_be32(b, v);
	return mf_layout_add_inline(l, b, sizeof(b));
}

int mf_picture_add(struct mf_layout *l, const struct mf_synth_pic *pic,
		   bool dims)
{
	size_t mlen = strlen(pic->mime), dlen = strlen(pic->desc);
	int ret;

	if ((ret = add_be32(l, pic->type)) ||
	    (ret = add_be32(l, (uint32_t)mlen)) ||
	    (ret = mf_layout_add_inline(l, pic->mime, mlen)) ||
	    (ret = add_be32(l, (uint32_t)dlen)) ||
	    (ret = mf_layout_add_inline(l, pic->desc, dlen)) ||
	    (ret = add_be32(l, dims ? pic->width : 0)) ||
	    (ret = add_be32(l, dims ? pic->height : 0)) ||
	    (ret = add_be32(l, dims ? pic->depth : 0)) ||
	    (ret = add_be32(l, dims ? pic->colors : 0)) ||
	    (ret = add_be32(l, (uint32_t)pic->len)))
		return ret;
	return mf_layout_add_blob(l, &pic->ref, 0, pic->len);
}
