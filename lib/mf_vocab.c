/* SPDX-License-Identifier: MIT */
/*
 * mf_vocab - canonical tag keys and their Vorbis comment spelling.
 *
 * The known-key list and the Vorbis exceptions follow the MusicBrainz
 * Picard tag-mapping table; everything else maps by case folding only.
 */
#include "mf_vocab.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "mf_banned.h"

/* Picard internal names; sorted (strcmp order) for bsearch. */
static const char *const vocab_known[] = {
	"acoustid_fingerprint",
	"acoustid_id",
	"album",
	"albumartist",
	"albumartistsort",
	"albumsort",
	"arranger",
	"artist",
	"artists",
	"artistsort",
	"asin",
	"barcode",
	"bpm",
	"catalognumber",
	"comment",
	"compilation",
	"composer",
	"composersort",
	"conductor",
	"copyright",
	"date",
	"director",
	"discnumber",
	"discsubtitle",
	"djmixer",
	"encodedby",
	"encodersettings",
	"engineer",
	"gapless",
	"genre",
	"grouping",
	"isrc",
	"key",
	"label",
	"language",
	"license",
	"lyricist",
	"lyrics",
	"media",
	"mixer",
	"mood",
	"movement",
	"movementnumber",
	"movementtotal",
	"musicbrainz_albumartistid",
	"musicbrainz_albumid",
	"musicbrainz_artistid",
	"musicbrainz_discid",
	"musicbrainz_originalalbumid",
	"musicbrainz_originalartistid",
	"musicbrainz_recordingid",
	"musicbrainz_releasegroupid",
	"musicbrainz_trackid",
	"musicbrainz_trmid",
	"musicbrainz_workid",
	"musicip_fingerprint",
	"musicip_puid",
	"originalalbum",
	"originalartist",
	"originaldate",
	"originalfilename",
	"originalyear",
	"performer",
	"podcast",
	"podcasturl",
	"producer",
	"releasecountry",
	"releasedate",
	"releasestatus",
	"releasetype",
	"remixer",
	"replaygain_album_gain",
	"replaygain_album_peak",
	"replaygain_album_range",
	"replaygain_reference_loudness",
	"replaygain_track_gain",
	"replaygain_track_peak",
	"replaygain_track_range",
	"script",
	"show",
	"showmovement",
	"showsort",
	"subtitle",
	"title",
	"titlesort",
	"totaldiscs",
	"totaltracks",
	"tracknumber",
	"website",
	"work",
	"writer",
};

/* Vorbis field (lowercased) -> canonical key, where they differ. */
static const struct {
	const char *vorbis;
	const char *key;
} vocab_from_vorbis[] = {
	{ "tracktotal", "totaltracks" },
	{ "disctotal", "totaldiscs" },
	{ "musicbrainz_trackid", "musicbrainz_recordingid" },
	{ "musicbrainz_releasetrackid", "musicbrainz_trackid" },
	{ "album artist", "albumartist" },
	{ "album_artist", "albumartist" },
};

/* Canonical key -> Vorbis field, where it is not the uppercase key. */
static const struct {
	const char *key;
	const char *vorbis;
} vocab_to_vorbis[] = {
	{ "totaltracks", "TRACKTOTAL" },
	{ "totaldiscs", "DISCTOTAL" },
	{ "musicbrainz_recordingid", "MUSICBRAINZ_TRACKID" },
	{ "musicbrainz_trackid", "MUSICBRAINZ_RELEASETRACKID" },
};

static int vocab_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int vocab_is_upper(unsigned char c)
{
	return c >= 'A' && c <= 'Z';
}

static int vocab_is_lower(unsigned char c)
{
	return c >= 'a' && c <= 'z';
}

bool mf_vocab_key_valid(const char *key)
{
	size_t i;

	if (!key || !key[0])
		return false;
	for (i = 0; key[i]; i++) {
		unsigned char c = (unsigned char)key[i];

		if (i >= MF_VOCAB_KEY_MAX)
			return false;
		if (c < 0x20 || vocab_is_upper(c))
			return false;
	}
	return true;
}

int mf_vocab_fold(const char *key, char *out, size_t outlen)
{
	size_t i;

	if (!key)
		return -EINVAL;
	for (i = 0; key[i]; i++) {
		unsigned char c = (unsigned char)key[i];

		if (i + 1 >= outlen)
			return -ENAMETOOLONG;
		out[i] = (char)(vocab_is_upper(c) ? c - 'A' + 'a' : c);
	}
	if (i >= outlen)
		return -ENAMETOOLONG;
	out[i] = '\0';
	return 0;
}

bool mf_vocab_key_known(const char *key)
{
	if (!key)
		return false;
	return bsearch(&key, vocab_known,
		       sizeof(vocab_known) / sizeof(vocab_known[0]),
		       sizeof(vocab_known[0]), vocab_cmp) != NULL;
}

/* Copy NUL-terminated @src into @out; -ENAMETOOLONG if it does not fit. */
static int vocab_put(const char *src, char *out, size_t outlen)
{
	size_t n = strlen(src);

	if (n >= outlen)
		return -ENAMETOOLONG;
	memcpy(out, src, n + 1);
	return 0;
}

int mf_vocab_from_vorbis(const char *field, size_t len, char *out,
			 size_t outlen)
{
	char buf[MF_VOCAB_KEY_MAX + 1];
	size_t i;

	if (!field || !len)
		return -EINVAL;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)field[i];

		if (c < 0x20 || c > 0x7d || c == '=')
			return -EINVAL;
	}
	if (len > MF_VOCAB_KEY_MAX)
		return -ENAMETOOLONG;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)field[i];

		buf[i] = (char)(vocab_is_upper(c) ? c - 'A' + 'a' : c);
	}
	buf[len] = '\0';
	for (i = 0; i < sizeof(vocab_from_vorbis) / sizeof(vocab_from_vorbis[0]);
	     i++) {
		if (strcmp(buf, vocab_from_vorbis[i].vorbis) == 0)
			return vocab_put(vocab_from_vorbis[i].key, out, outlen);
	}
	return vocab_put(buf, out, outlen);
}

int mf_vocab_to_vorbis(const char *key, char *out, size_t outlen)
{
	size_t i, n;

	if (!mf_vocab_key_valid(key))
		return -EINVAL;
	for (i = 0; i < sizeof(vocab_to_vorbis) / sizeof(vocab_to_vorbis[0]);
	     i++) {
		if (strcmp(key, vocab_to_vorbis[i].key) == 0)
			return vocab_put(vocab_to_vorbis[i].vorbis, out, outlen);
	}
	n = strlen(key);
	for (i = 0; i < n; i++) {
		if ((unsigned char)key[i] > 0x7d || key[i] == '=')
			return -EINVAL;
	}
	if (n >= outlen)
		return -ENAMETOOLONG;
	for (i = 0; i <= n; i++) {
		unsigned char c = (unsigned char)key[i];

		out[i] = (char)(vocab_is_lower(c) ? c - 'a' + 'A' : c);
	}
	return 0;
}
