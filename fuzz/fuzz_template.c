/* SPDX-License-Identifier: MIT */
/*
 * fuzz_template - libFuzzer target: mf_template_parse() on the input
 * (after its first byte) as template text; a template that parses is
 * rendered for a track whose tags the first byte picks (values with '/',
 * control bytes, invalid UTF-8, a 300-byte value), with and without
 * skip_on_missing, and the path is checked against the contract of
 * mf_template.h: relative, no empty, "." or ".." component, components of
 * 1..MF_TEMPLATE_NAME_MAX bytes, no control byte.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mf_log.h"
#include "mf_template.h"

static const char *const values[] = {
	"Abbey Road", "AC/DC", "a\x01" "b\x7f", "\xff\xfe bad", " . ", "..",
	"/lead/trail/", NULL,
};

struct track {
	unsigned mask;
	char lng[301];
};

static const char *get(void *ctx, const char *field)
{
	struct track *t = ctx;
	unsigned h = 0;

	for (const char *p = field; *p; p++)
		h = h * 31 + (unsigned char)*p;
	if (!(t->mask & (1u << (h % 8))))
		return NULL;
	if (h % 9 == 8)
		return t->lng;
	return values[h % 8] ? values[h % 8] : "";
}

static void check_path(const char *s)
{
	const char *p = s;

	if (*s == '/' || !*s)
		abort();
	while (*p) {
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);

		if (n == 0 || n > MF_TEMPLATE_NAME_MAX ||
		    (n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.'))
			abort();
		for (size_t i = 0; i < n; i++)
			if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
				abort();
		if (!e)
			break;
		p = e + 1;
		if (!*p)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct mf_template_fallback fb[] = {
		{ "genre", "Unknown" }, { "year", "0000" },
	};
	struct mf_template_opts opts = { .fallbacks = fb, .nfallbacks = 2 };
	struct track t = { .mask = size ? data[0] : 0 };
	struct mf_template *tpl = NULL;
	char err[128], *text, *out;
	static int once;

	if (!once++)
		mf_log_init("fuzz", MF_LOG_ERROR);
	if (size == 0)
		return 0;
	memset(t.lng, 'x', sizeof(t.lng) - 1);
	text = malloc(size);
	if (!text)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = 0;
	if (mf_template_parse(text, &tpl, err, sizeof(err)) == 0) {
		for (size_t i = 0; i < mf_template_nfields(tpl); i++)
			if (!mf_template_field(tpl, i))
				abort();
		for (int skip = 0; skip < 2; skip++) {
			opts.skip_on_missing = skip;
			opts.default_fallback = skip ? "none" : NULL;
			if (mf_template_render(tpl, &opts, get, &t, "flac",
					       &out) == 0) {
				check_path(out);
				free(out);
			}
		}
		mf_template_free(tpl);
	}
	free(text);
	return 0;
}
