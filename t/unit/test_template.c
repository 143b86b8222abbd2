/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for mf_template: every syntax element, parse errors with
 * their columns, sanitizing of components (control bytes, '/', "." and
 * "..", trimming, the 255-byte cap on UTF-8 boundaries, invalid UTF-8),
 * fallbacks and skip-on-missing. TAP output via cmocka.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fault_alloc.h"
#include "mf_template.h"

#include "mf_banned.h"

/* A track: NULL-terminated list of "key", "value" pairs. */
struct track {
	const char *const *kv;
	unsigned calls;
};

static const char *get_tag(void *ctx, const char *field)
{
	struct track *tr = ctx;
	size_t i;

	tr->calls++;
	for (i = 0; tr->kv[i]; i += 2)
		if (strcmp(tr->kv[i], field) == 0)
			return tr->kv[i + 1];
	return NULL;
}

/* Render @tpl for @kv; returns the result code, *@out the path. */
static int render_opts(const char *tpl, const struct mf_template_opts *opts,
		       const char *const *kv, const char *ext, char **out)
{
	struct track tr = { .kv = kv };
	struct mf_template *t = NULL;
	char err[128];
	int ret;

	*out = NULL;
	ret = mf_template_parse(tpl, &t, err, sizeof(err));
	if (ret)
		print_error("parse '%s': %s\n", tpl, err);
	assert_int_equal(ret, 0);
	ret = mf_template_render(t, opts, get_tag, &tr, ext, out);
	mf_template_free(t);
	return ret;
}

/* Assert that @tpl renders @kv to @expect (with extension "flac"). */
static void check_opts(const char *tpl, const struct mf_template_opts *opts,
		       const char *const *kv, const char *expect)
{
	char *out;

	assert_int_equal(render_opts(tpl, opts, kv, "flac", &out), 0);
	assert_string_equal(out, expect);
	free(out);
}

static void check(const char *tpl, const char *const *kv, const char *expect)
{
	check_opts(tpl, NULL, kv, expect);
}

/* Assert that @tpl fails to parse with @msg ("column N: ..."). */
static void check_error(const char *tpl, const char *msg)
{
	struct mf_template *t = (struct mf_template *)&t;
	char err[160];

	assert_int_equal(mf_template_parse(tpl, &t, err, sizeof(err)), -EINVAL);
	assert_ptr_equal(t, (struct mf_template *)&t);	/* unchanged */
	if (strncmp(err, msg, strlen(msg)) != 0)
		print_error("template '%s': got '%s', want '%s...'\n",
			    tpl, err, msg);
	assert_int_equal(strncmp(err, msg, strlen(msg)), 0);
}

static const char *const basic[] = {
	"albumartist", "Boards of Canada", "album", "Geogaddi",
	"title", "Music Is Math", "tracknumber", "07", "year", "2002",
	"genre", "Electronic/IDM", NULL,
};

static void test_plain_fields(void **state)
{
	(void)state;
	check("$albumartist/$album/$title", basic,
	      "Boards of Canada/Geogaddi/Music Is Math.flac");
	check("$tracknumber - $title", basic, "07 - Music Is Math.flac");
	check("${tracknumber}x", basic, "07x.flac");
	/* greedy names: $tracknumberx is the (absent) field "tracknumberx" */
	check("$tracknumberx", basic, "_.flac");
	/* field names are case-insensitive */
	check("$AlbumArtist/${TITLE}", basic,
	      "Boards of Canada/Music Is Math.flac");
	check("plain text", basic, "plain text.flac");
}

static void test_alternatives(void **state)
{
	(void)state;
	check("${artist|albumartist}", basic, "Boards of Canada.flac");
	check("${nope|album|title}", basic, "Geogaddi.flac");
	check("${x|y|z}", basic, "_.flac");
}

static void test_optional(void **state)
{
	static const char *const no_year[] = { "title", "T", "album", "A", NULL };
	static const char *const disc[] = { "title", "T", "disc", "2", NULL };

	(void)state;
	check("[$year - ]$album/$title", basic, "2002 - Geogaddi/Music Is Math.flac");
	check("[$year - ]$album/$title", no_year, "A/T.flac");
	/* any present field inside makes the section appear */
	check("[$year$album-]$title", no_year, "A-T.flac");
	/* nesting: the outer needs one field anywhere inside */
	check("[<$disc[ of $totaldiscs]>]$title", disc, "<2>T.flac");
	check("[<[$totaldiscs]>]$title", disc, "T.flac");
	/* '/' inside a section makes an optional directory level */
	check("$album/[Disc $disc/]$title", disc, "_/Disc 2/T.flac");
	check("$album/[Disc $disc/]$title", no_year, "A/T.flac");
	/* a fallback does not make a field present */
	{
		static const struct mf_template_fallback fb[] = {
			{ "year", "0000" },
		};
		struct mf_template_opts o = {
			.fallbacks = fb, .nfallbacks = 1,
		};

		check_opts("[$year - ]$title", &o, no_year, "T.flac");
		check_opts("[$album $year - ]$title", &o, no_year,
			   "A 0000 - T.flac");
	}
}

static void test_explode(void **state)
{
	static const char *const odd[] = {
		"genre", "/Rock//Punk/../x/", "title", "T", NULL,
	};

	(void)state;
	check("$!{genre}/$title", basic, "Electronic/IDM/Music Is Math.flac");
	check("$genre/$title", basic, "Electronic_IDM/Music Is Math.flac");
	/* empty segments dropped; ".." becomes "__" */
	check("$!{genre}/$title", odd, "Rock/Punk/__/x/T.flac");
	check("$!{nope|genre}-$title", basic, "Electronic/IDM-Music Is Math.flac");
	check("g=$!{genre}", basic, "g=Electronic/IDM.flac");
}

static void test_escapes(void **state)
{
	(void)state;
	check("$$$title", basic, "$Music Is Math.flac");
	check("$[$year$] $title", basic, "[2002] Music Is Math.flac");
	check("[$[$year$] ]$title", basic, "[2002] Music Is Math.flac");
	check("100$$", basic, "100$.flac");
}

static void test_fields_list(void **state)
{
	struct mf_template *t;

	(void)state;
	assert_int_equal(mf_template_parse(
		"$Artist/[$year ]${album|Artist}/$!{genre}$$x", &t, NULL, 0), 0);
	assert_int_equal(mf_template_nfields(t), 4);
	assert_string_equal(mf_template_field(t, 0), "artist");
	assert_string_equal(mf_template_field(t, 1), "year");
	assert_string_equal(mf_template_field(t, 2), "album");
	assert_string_equal(mf_template_field(t, 3), "genre");
	assert_null(mf_template_field(t, 4));
	mf_template_free(t);
	mf_template_free(NULL);
}

static void test_parse_errors(void **state)
{
	(void)state;
	check_error("", "column 1: empty template");
	check_error("/$title", "column 1: absolute path");
	check_error("$album/", "column 7: template ends with '/'");
	check_error("$album/[$disc/]", "column 14: template ends with '/'");
	check_error("$album//$title", "column 8: empty directory name");
	check_error("x${title", "column 2: unterminated '${'");
	check_error("x$!{title", "column 2: unterminated '$!{'");
	check_error("${}", "column 3: empty field name");
	check_error("${a|}", "column 5: empty field name");
	check_error("${|a}", "column 3: empty field name");
	check_error("${a b}", "column 4: invalid character in field name");
	check_error("a$", "column 2: empty field name after '$'");
	check_error("a$ b", "column 2: empty field name after '$'");
	check_error("$!title", "column 1: '$!' must be followed by '{'");
	check_error("[$a", "column 1: unterminated '['");
	check_error("[[$a]", "column 1: unterminated '['");
	check_error("$a]", "column 3: unmatched ']'");
	check_error("[live] $title", "column 1: optional section references no field");
	/* a rendered path is at most MF_TEMPLATE_PATH_MAX bytes */
	{
		static char deep[MF_TEMPLATE_PATH_MAX + 2];
		const char *kv[] = { "a", deep, NULL };
		char *out;

		for (size_t i = 0; i + 1 < sizeof(deep); i += 2)
			memcpy(deep + i, "x/", 2);
		deep[MF_TEMPLATE_PATH_MAX - 6] = 'x';	/* "...x/xx" */
		deep[MF_TEMPLATE_PATH_MAX - 5] = '\0';	/* + ".flac" */
		assert_int_equal(render_opts("$!{a}", NULL, kv, "flac", &out), 0);
		assert_int_equal(strlen(out), MF_TEMPLATE_PATH_MAX);
		free(out);
		deep[MF_TEMPLATE_PATH_MAX - 5] = 'x';
		deep[MF_TEMPLATE_PATH_MAX - 4] = '\0';
		assert_int_equal(render_opts("$!{a}", NULL, kv, "flac", &out),
				 -ENAMETOOLONG);
		assert_null(out);
	}
	/* sections nest at most MF_TEMPLATE_DEPTH_MAX deep */
	{
		char deep[3 * MF_TEMPLATE_DEPTH_MAX + 8];
		struct mf_template *t;
		size_t n = 0;

		for (int i = 0; i < MF_TEMPLATE_DEPTH_MAX; i++)
			deep[n++] = '[';
		memcpy(deep + n, "$a", 2);
		n += 2;
		for (int i = 0; i < MF_TEMPLATE_DEPTH_MAX; i++)
			deep[n++] = ']';
		deep[n] = '\0';
		assert_int_equal(mf_template_parse(deep, &t, NULL, 0), 0);
		mf_template_free(t);
		memmove(deep + 1, deep, n + 1);
		check_error(deep, "column 33: optional sections nested more than 32 deep");
	}
	/* columns count characters, not bytes */
	check_error("\xc3\xa9\xc3\xa9${x", "column 3: unterminated '${'");
	/* no error buffer is fine */
	{
		struct mf_template *t;

		assert_int_equal(mf_template_parse("${", &t, NULL, 0), -EINVAL);
	}
	/* a short buffer is truncated, still terminated */
	{
		struct mf_template *t;
		char err[8];

		assert_int_equal(mf_template_parse("${", &t, err, sizeof(err)),
				 -EINVAL);
		assert_string_equal(err, "column ");
	}
}

static void test_sanitize(void **state)
{
	static const char *const v[] = {
		"ctl", "a\tb\nc\x7f" "d\x1f", "slash", "AC/DC",
		"dot", ".", "dotdot", "..", "dots", "...", "sp", "  x y  ",
		"allsp", "   ", "bad", "a\xff" "b\xc3(\xe2\x82",
		"overlong", "\xc0\xaf\xe0\x80\xaf", "surr", "\xed\xa0\x80z",
		"big", "\xf4\x90\x80\x80", "ok4", "\xf0\x9f\x8e\xb5",
		NULL,
	};

	(void)state;
	check("$ctl", v, "a_b_c_d_.flac");
	check("$slash/$title", v, "AC_DC/_.flac");
	check("$dot/$dotdot/$dots/$dot", v, "_/__/.../_.flac");
	check("$sp/$sp", v, "x y/x y.flac");
	check("$allsp/x", v, "_/x.flac");
	check("$bad", v, "a_b_(__.flac");
	check("$overlong", v, "_____.flac");
	check("$surr", v, "___z.flac");
	check("$big", v, "____.flac");
	check("$ok4", v, "\xf0\x9f\x8e\xb5.flac");
	/* literal template text is sanitized like values */
	check("a\tb/\x01", v, "a_b/_.flac");
	/* "." + extension is fine as a stem rule: it still becomes "_" */
	check("x/$dot", v, "x/_.flac");
}

/* Build a string of @n copies of @unit. */
static char *repeat(const char *unit, size_t n)
{
	size_t u = strlen(unit), i;
	char *s = malloc(u * n + 1);

	assert_non_null(s);
	for (i = 0; i < n; i++)
		memcpy(s + i * u, unit, u);
	s[u * n] = '\0';
	return s;
}

static void check_cap(const char *unit, size_t n, size_t want_dir,
		      size_t want_file)
{
	char *val = repeat(unit, n), *out, *slash;
	const char *kv[] = { "v", val, NULL };

	assert_int_equal(render_opts("$v/$v", NULL, kv, "flac", &out), 0);
	slash = strchr(out, '/');
	assert_non_null(slash);
	assert_int_equal((size_t)(slash - out), want_dir);
	assert_int_equal(strlen(slash + 1), want_file);
	assert_int_equal(memcmp(out, val, want_dir), 0);
	assert_string_equal(out + strlen(out) - 5, ".flac");
	assert_int_equal(memcmp(slash + 1, val, want_file - 5), 0);
	free(out);
	free(val);
}

static void test_cap(void **state)
{
	(void)state;
	/* ASCII: 255 for a directory, stem 250 + ".flac" for the file */
	check_cap("a", 300, 255, 255);
	check_cap("a", 255, 255, 255);
	check_cap("a", 250, 250, 255);
	check_cap("a", 10, 10, 15);
	/* 2-byte characters: 127 fit in 255 bytes, 125 in 250 */
	check_cap("\xc3\xa9", 200, 254, 255);
	/* 3-byte characters: 85 in 255, 83 in 250 (249 bytes) */
	check_cap("\xe2\x82\xac", 100, 255, 254);
	/* 4-byte characters: 63 in 255 (252), 62 in 250 (248) */
	check_cap("\xf0\x9f\x8e\xb5", 70, 252, 253);
	/* a cut that leaves trailing spaces trims them */
	{
		char *val = repeat("a", 254), *out;
		const char *kv[] = { "v", val, NULL };

		assert_int_equal(render_opts("$v   z/x", NULL, kv, "flac",
					     &out), 0);
		assert_int_equal(strchr(out, '/') - out, 254);
		free(out);
		free(val);
	}
}

static void test_ext(void **state)
{
	static const char *const kv[] = { "title", "T", NULL };
	char *out;

	(void)state;
	assert_int_equal(render_opts("$title", NULL, kv, NULL, &out), 0);
	assert_string_equal(out, "T");
	free(out);
	assert_int_equal(render_opts("$title", NULL, kv, "", &out), 0);
	assert_string_equal(out, "T");
	free(out);
	assert_int_equal(render_opts("$title", NULL, kv, "opus", &out), 0);
	assert_string_equal(out, "T.opus");
	free(out);
	assert_int_equal(render_opts("$title", NULL, kv, "a/b", &out), -EINVAL);
	assert_null(out);
	assert_int_equal(render_opts("$title", NULL, kv, "a.b", &out), -EINVAL);
	assert_int_equal(render_opts("$title", NULL, kv, "a\n", &out), -EINVAL);
	assert_int_equal(render_opts("$title", NULL, kv, "\xff", &out), -EINVAL);
	assert_int_equal(render_opts("$title", NULL, kv,
				     "abcdefghijklmnopq", &out), -EINVAL);
}

static void test_fallbacks(void **state)
{
	static const char *const kv[] = {
		"title", "T", "album", "", "artist", "Ar", NULL,
	};
	static const struct mf_template_fallback fb[] = {
		{ "ALBUM", "No Album" },
		{ "genre", "x/y" },
		{ "composer", "Comp" },
	};
	struct mf_template_opts o = { .fallbacks = fb, .nfallbacks = 3 };

	(void)state;
	/* "" counts as absent */
	check("$album/$title", kv, "_/T.flac");
	check_opts("$album/$title", &o, kv, "No Album/T.flac");
	/* a fallback value is sanitized like a tag value */
	check_opts("$genre/$title", &o, kv, "x_y/T.flac");
	check_opts("$!{genre}/$title", &o, kv, "x/y/T.flac");
	/* alternatives: first present, else first fallback among them */
	check_opts("${year|album|composer}", &o, kv, "No Album.flac");
	check_opts("${year|artist|album}", &o, kv, "Ar.flac");
	check_opts("$year/$title", &o, kv, "_/T.flac");
	o.default_fallback = "Unknown";
	check_opts("$year/$album/$title", &o, kv, "Unknown/No Album/T.flac");
	check_opts("[$year ]$title", &o, kv, "T.flac");
	check_opts("[$artist $year ]$title", &o, kv, "Ar Unknown T.flac");
}

static void test_skip_on_missing(void **state)
{
	static const char *const kv[] = { "title", "T", "artist", "Ar", NULL };
	static const struct mf_template_fallback fb[] = {
		{ "album", "No Album" },
	};
	struct mf_template_opts o = {
		.fallbacks = fb, .nfallbacks = 1,
		.default_fallback = "Unknown", .skip_on_missing = true,
	};
	char *out;

	(void)state;
	check_opts("$artist/$title", &o, kv, "Ar/T.flac");
	assert_int_equal(render_opts("$year/$title", &o, kv, "flac", &out),
			 -ENOENT);
	assert_null(out);
	/* per-field fallback rescues; default_fallback does not */
	check_opts("$album/$title", &o, kv, "No Album/T.flac");
	assert_int_equal(render_opts("${year|genre}", &o, kv, "flac", &out),
			 -ENOENT);
	check_opts("${year|album}", &o, kv, "No Album.flac");
	check_opts("${year|artist}", &o, kv, "Ar.flac");
	/* inside an optional section a missing field does not drop */
	check_opts("[$year ]$title", &o, kv, "T.flac");
	check_opts("[$artist $year ]$title", &o, kv, "Ar Unknown T.flac");
	assert_int_equal(render_opts("$!{genre}/$title", &o, kv, "flac", &out),
			 -ENOENT);
}

static void test_reuse_and_callback(void **state)
{
	static const char *const a[] = { "title", "One", NULL };
	static const char *const b[] = { "title", "Two", NULL };
	struct track ta = { .kv = a }, tb = { .kv = b };
	struct mf_template *t;
	char *out;

	(void)state;
	assert_int_equal(mf_template_parse("$title", &t, NULL, 0), 0);
	assert_int_equal(mf_template_render(t, NULL, get_tag, &ta, "mp3",
					    &out), 0);
	assert_string_equal(out, "One.mp3");
	free(out);
	assert_int_equal(mf_template_render(t, NULL, get_tag, &tb, "mp3",
					    &out), 0);
	assert_string_equal(out, "Two.mp3");
	free(out);
	assert_int_equal(ta.calls, 1);
	mf_template_free(t);
}

/*
 * Parse and render @tpl failing each allocation in turn: every failure
 * gives -ENOMEM (parse: with a message), leaves the output alone and
 * leaks nothing; the first run without a failure renders @expect.
 */
static void oom_one(const char *tpl, const char *const *kv,
		    const char *expect)
{
	struct track tr = { .kv = kv };
	struct mf_template *t;
	char err[64], *out;
	long i;
	int ret;

	for (i = 0;; i++) {
		t = (struct mf_template *)&t;
		fail_countdown = i;
		ret = mf_template_parse(tpl, &t, err, sizeof(err));
		fail_countdown = -1;
		if (ret == 0)
			break;
		assert_int_equal(ret, -ENOMEM);
		assert_string_equal(err, "out of memory");
		assert_ptr_equal(t, (struct mf_template *)&t);
	}
	printf("# parse of '%s' survived %ld allocation failures\n", tpl, i);
	for (i = 0;; i++) {
		out = (char *)&out;
		fail_countdown = i;
		ret = mf_template_render(t, NULL, get_tag, &tr, "flac", &out);
		fail_countdown = -1;
		if (ret == 0)
			break;
		assert_int_equal(ret, -ENOMEM);
		assert_ptr_equal(out, (char *)&out);
	}
	printf("# render survived %ld allocation failures\n", i);
	assert_true(i >= 2);
	assert_string_equal(out, expect);
	free(out);
	mf_template_free(t);
}

static void test_oom(void **state)
{
	static const char *const kv[] = {
		"a", "first value that is long enough to grow the buffer",
		"b", "bee", "d", "dee", "f", "x/y/z", "g", "gee",
		"n", "last value, also long enough to need more room",
		"v", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx/y",
		NULL,
	};

	(void)state;
	oom_one("$a/[$b - ]${c|d|e}/$!{f} some literal text [$g$h]$i$j$k$l$m$n",
		kv, "first value that is long enough to grow the buffer/"
		"bee - dee/x/y/z some literal text gee"
		"last value, also long enough to need more room.flac");
	/* the ninth node (first array growth) of each kind */
	oom_one("$b$b$b$b$b$b$b$b[$b]", kv, "beebeebeebeebeebeebeebeebee.flac");
	oom_one("$b$b$b$b$b$b$b$b/$b", kv, "beebeebeebeebeebeebeebee/bee.flac");
	oom_one("$b$b$b$b$b$b$b$b$[", kv, "beebeebeebeebeebeebeebee[.flac");
	/* the render buffer grows on a $!{} separator; an empty render */
	oom_one("$!{v}", kv, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx/y.flac");
	oom_one("[$zz]", kv, "_.flac");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_fields),
		cmocka_unit_test(test_alternatives),
		cmocka_unit_test(test_optional),
		cmocka_unit_test(test_explode),
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_fields_list),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_sanitize),
		cmocka_unit_test(test_cap),
		cmocka_unit_test(test_ext),
		cmocka_unit_test(test_fallbacks),
		cmocka_unit_test(test_skip_on_missing),
		cmocka_unit_test(test_reuse_and_callback),
		cmocka_unit_test(test_oom),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
