/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for mf_vocab: key validation and the Vorbis comment mapping
 * (Picard's table, Vorbis I spec section 5.2.3 field-name rules).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "mf_vocab.h"

#include "mf_banned.h"

static void check_from(const char *field, const char *want)
{
	char out[MF_VOCAB_KEY_MAX + 1];

	assert_int_equal(mf_vocab_from_vorbis(field, strlen(field), out,
					      sizeof(out)), 0);
	assert_string_equal(out, want);
}

static void check_to(const char *key, const char *want)
{
	char out[MF_VOCAB_KEY_MAX + 1];

	assert_int_equal(mf_vocab_to_vorbis(key, out, sizeof(out)), 0);
	assert_string_equal(out, want);
}

static void test_key_valid(void **state)
{
	char big[MF_VOCAB_KEY_MAX + 2];

	(void)state;
	assert_true(mf_vocab_key_valid("title"));
	assert_true(mf_vocab_key_valid("album artist"));
	assert_true(mf_vocab_key_valid("my_custom:tag~1"));
	assert_true(mf_vocab_key_valid("caf\xc3\xa9"));
	assert_false(mf_vocab_key_valid(NULL));
	assert_false(mf_vocab_key_valid(""));
	assert_false(mf_vocab_key_valid("Title"));
	/* the store (as 1.x) allows '=' and DEL in keys */
	assert_true(mf_vocab_key_valid("a=b"));
	assert_false(mf_vocab_key_valid("a\tb"));
	assert_true(mf_vocab_key_valid("a\x7f"));
	memset(big, 'a', sizeof(big));
	big[MF_VOCAB_KEY_MAX] = '\0';
	assert_true(mf_vocab_key_valid(big));
	big[MF_VOCAB_KEY_MAX] = 'a';
	big[MF_VOCAB_KEY_MAX + 1] = '\0';
	assert_false(mf_vocab_key_valid(big));
}

/* Store keys of any case fold to the canonical key as SQLite's lower(). */
static void test_fold(void **state)
{
	char out[16];

	(void)state;
	assert_int_equal(mf_vocab_fold("LABEL", out, sizeof(out)), 0);
	assert_string_equal(out, "label");
	assert_int_equal(mf_vocab_fold("Caf\xc3\x89=X", out, sizeof(out)), 0);
	assert_string_equal(out, "caf\xc3\x89=x");
	assert_true(mf_vocab_key_valid(out));
	assert_int_equal(mf_vocab_fold("", out, sizeof(out)), 0);
	assert_string_equal(out, "");
	assert_int_equal(mf_vocab_fold("0123456789abcdef", out, sizeof(out)),
			 -ENAMETOOLONG);
	assert_int_equal(mf_vocab_fold("0123456789abcde", out, sizeof(out)), 0);
	assert_int_equal(mf_vocab_fold(NULL, out, sizeof(out)), -EINVAL);
}

static void test_known(void **state)
{
	static const char *const known[] = {
		"acoustid_fingerprint", "acoustid_id", "album", "albumartist",
		"artists", "bpm", "comment", "date", "genre", "isrc", "key",
		"musicbrainz_recordingid", "musicbrainz_trackid",
		"replaygain_track_gain", "title", "titlesort", "totaldiscs",
		"totaltracks", "tracknumber", "website", "writer",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		assert_true(mf_vocab_key_known(known[i]));
	assert_false(mf_vocab_key_known("tracktotal"));
	assert_false(mf_vocab_key_known("my custom"));
	assert_false(mf_vocab_key_known(NULL));
}

static void test_from_vorbis(void **state)
{
	char out[MF_VOCAB_KEY_MAX + 1], big[MF_VOCAB_KEY_MAX + 2];

	(void)state;
	check_from("TITLE", "title");
	check_from("Title", "title");
	check_from("ARTIST", "artist");
	check_from("TRACKTOTAL", "totaltracks");
	check_from("totalTracks", "totaltracks");
	check_from("DISCTOTAL", "totaldiscs");
	check_from("TOTALDISCS", "totaldiscs");
	check_from("MUSICBRAINZ_TRACKID", "musicbrainz_recordingid");
	check_from("MUSICBRAINZ_RELEASETRACKID", "musicbrainz_trackid");
	check_from("ALBUM ARTIST", "albumartist");
	check_from("ALBUM_ARTIST", "albumartist");
	check_from("ALBUMARTIST", "albumartist");
	check_from("DESCRIPTION", "description");
	check_from("My Custom Tag", "my custom tag");
	check_from(" }", " }");

	/* only the first @len bytes count */
	assert_int_equal(mf_vocab_from_vorbis("DATE=2001", 4, out, sizeof(out)), 0);
	assert_string_equal(out, "date");

	assert_int_equal(mf_vocab_from_vorbis("", 0, out, sizeof(out)), -EINVAL);
	assert_int_equal(mf_vocab_from_vorbis("A=B", 3, out, sizeof(out)), -EINVAL);
	assert_int_equal(mf_vocab_from_vorbis("A~", 2, out, sizeof(out)), -EINVAL);
	assert_int_equal(mf_vocab_from_vorbis("A\x1f", 2, out, sizeof(out)), -EINVAL);
	assert_int_equal(mf_vocab_from_vorbis("\xc3\xa9", 2, out, sizeof(out)),
			 -EINVAL);
	assert_int_equal(mf_vocab_from_vorbis("A\0B", 3, out, sizeof(out)),
			 -EINVAL);
	memset(big, 'X', sizeof(big));
	assert_int_equal(mf_vocab_from_vorbis(big, MF_VOCAB_KEY_MAX, out,
					      sizeof(out)), 0);
	assert_int_equal(strlen(out), MF_VOCAB_KEY_MAX);
	assert_true(mf_vocab_key_valid(out));
	assert_int_equal(mf_vocab_from_vorbis(big, MF_VOCAB_KEY_MAX + 1, out,
					      sizeof(out)), -ENAMETOOLONG);
	assert_int_equal(mf_vocab_from_vorbis("TITLE", 5, out, 5), -ENAMETOOLONG);
	assert_int_equal(mf_vocab_from_vorbis("TITLE", 5, out, 6), 0);
	assert_int_equal(mf_vocab_from_vorbis("TRACKTOTAL", 10, out, 11),
			 -ENAMETOOLONG);
}

static void test_to_vorbis(void **state)
{
	static const char *const keys[] = {
		"title", "artist", "albumartist", "totaltracks", "totaldiscs",
		"musicbrainz_recordingid", "musicbrainz_trackid",
		"replaygain_album_gain", "my custom tag", "a:b}",
	};
	char out[MF_VOCAB_KEY_MAX + 1], back[MF_VOCAB_KEY_MAX + 1];
	size_t i;

	(void)state;
	check_to("title", "TITLE");
	check_to("totaltracks", "TRACKTOTAL");
	check_to("totaldiscs", "DISCTOTAL");
	check_to("musicbrainz_recordingid", "MUSICBRAINZ_TRACKID");
	check_to("musicbrainz_trackid", "MUSICBRAINZ_RELEASETRACKID");
	check_to("albumartist", "ALBUMARTIST");
	check_to("my custom tag", "MY CUSTOM TAG");

	assert_int_equal(mf_vocab_to_vorbis("Title", out, sizeof(out)), -EINVAL);
	assert_int_equal(mf_vocab_to_vorbis("", out, sizeof(out)), -EINVAL);
	assert_int_equal(mf_vocab_to_vorbis(NULL, out, sizeof(out)), -EINVAL);
	assert_int_equal(mf_vocab_to_vorbis("a=b", out, sizeof(out)), -EINVAL);
	assert_int_equal(mf_vocab_to_vorbis("caf\xc3\xa9", out, sizeof(out)),
			 -EINVAL);
	assert_int_equal(mf_vocab_to_vorbis("a~b", out, sizeof(out)), -EINVAL);
	assert_int_equal(mf_vocab_to_vorbis("a\x7f", out, sizeof(out)), -EINVAL);
	assert_int_equal(mf_vocab_to_vorbis("title", out, 5), -ENAMETOOLONG);
	assert_int_equal(mf_vocab_to_vorbis("totaltracks", out, 10),
			 -ENAMETOOLONG);

	/* writing then reading gives the key back */
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		assert_int_equal(mf_vocab_to_vorbis(keys[i], out, sizeof(out)), 0);
		assert_int_equal(mf_vocab_from_vorbis(out, strlen(out), back,
						      sizeof(back)), 0);
		assert_string_equal(back, keys[i]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_valid),
		cmocka_unit_test(test_fold),
		cmocka_unit_test(test_known),
		cmocka_unit_test(test_from_vorbis),
		cmocka_unit_test(test_to_vorbis),
	};

	cmocka_set_message_output(CM_OUTPUT_TAP);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
