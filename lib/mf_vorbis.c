/* SPDX-License-Identifier: MIT */
/* mf_vorbis - Vorbis comment writer (see mf_vorbis.h). */
#include "mf_vorbis.h"

#include <errno.h>
#include <string.h>

#include "mf_bytes.h"
#include "mf_log.h"
#include "mf_vocab.h"

#include "mf_banned.h"

int mf_vorbis_measure(const struct mf_synth_tag *tags, size_t ntags,
		      uint64_t limit, const char *dom, uint32_t *count,
		      uint64_t *bytes)
{
	char name[MF_VOCAB_KEY_MAX + 1];
	uint64_t total = 0, elen;
	uint32_t n = 0;
	size_t i;

	for (i = 0; i < ntags; i++) {
		const struct mf_synth_tag *t = &tags[i];

		if (!t->key || !t->value || !mf_vocab_key_valid(t->key))
			return -EINVAL;
		if (mf_vocab_to_vorbis(t->key, name, sizeof(name))) {
			mf_debug(dom, "tag '%s' has no vorbis name; left out",
				 t->key);
			continue;
		}
		elen = strlen(name) + 1 + (uint64_t)strlen(t->value);
		if (elen > UINT32_MAX)
			return -EFBIG;
		total += 4 + elen;
		if (total > limit)
			return -EFBIG;
		n++;
	}
	*count = n;
	*bytes = total;
	return 0;
}

static int add_le32(struct mf_layout *l, uint32_t v)
{
	uint8_t b[4];

	mf_put_le32(b, v);
	return mf_layout_add_inline(l, b, sizeof(b));
}

int mf_vorbis_add_head(struct mf_layout *l, const void *vendor,
		       size_t vendor_len, uint32_t count)
{
	int ret;

	if ((ret = add_le32(l, (uint32_t)vendor_len)) ||
	    (ret = mf_layout_add_inline(l, vendor, vendor_len)))
		return ret;
	return add_le32(l, count);
}

int mf_vorbis_add_tags(struct mf_layout *l, const struct mf_synth_tag *tags,
		       size_t ntags)
{
	char name[MF_VOCAB_KEY_MAX + 1];
	size_t i, nlen, vlen;
	int ret;

	for (i = 0; i < ntags; i++) {
		if (mf_vocab_to_vorbis(tags[i].key, name, sizeof(name)))
			continue;
		nlen = strlen(name);
		vlen = strlen(tags[i].value);
		if ((ret = add_le32(l, (uint32_t)(nlen + 1 + vlen))) ||
		    (ret = mf_layout_add_inline(l, name, nlen)) ||
		    (ret = mf_layout_add_inline(l, "=", 1)) ||
		    (ret = mf_layout_add_inline(l, tags[i].value, vlen)))
			return ret;
	}
	return 0;
}
