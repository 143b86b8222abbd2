/* SPDX-License-Identifier: MIT */
/*
 * taglib_dump - print what TagLib's C API reads from an audio file, one
 * `key=value` per line, for end-to-end tests (an independent reader of
 * served files). TagLib 1.13's C API exposes only the basic fields:
 * title, artist, album, comment, genre, year, track, and the audio
 * properties length (s), bitrate (kb/s), samplerate (Hz), channels.
 * Empty strings and zero numbers are printed too, so absence is visible.
 *
 * Exit status: 0, or 1 when TagLib cannot open the file or finds it
 * invalid (printed on stderr).
 */
#include <stdio.h>
#include <stdlib.h>

#include <tag_c.h>

static void print_str(const char *key, const char *v)
{
	/* One value per line: newlines inside are shown as "\n". */
	printf("%s=", key);
	for (; v && *v; v++) {
		if (*v == '\n')
			fputs("\\n", stdout);
		else
			putchar(*v);
	}
	putchar('\n');
}

int main(int argc, char **argv)
{
	TagLib_File *f;
	TagLib_Tag *tag;
	const TagLib_AudioProperties *ap;

	if (argc != 2) {
		fprintf(stderr, "usage: taglib_dump FILE\n");
		return 2;
	}
	taglib_set_strings_unicode(1);
	f = taglib_file_new(argv[1]);
	if (!f || !taglib_file_is_valid(f)) {
		fprintf(stderr, "taglib_dump: '%s': TagLib cannot read it\n",
			argv[1]);
		if (f)
			taglib_file_free(f);
		return 1;
	}
	tag = taglib_file_tag(f);
	if (tag) {
		print_str("title", taglib_tag_title(tag));
		print_str("artist", taglib_tag_artist(tag));
		print_str("album", taglib_tag_album(tag));
		print_str("comment", taglib_tag_comment(tag));
		print_str("genre", taglib_tag_genre(tag));
		printf("year=%u\n", taglib_tag_year(tag));
		printf("track=%u\n", taglib_tag_track(tag));
	}
	ap = taglib_file_audioproperties(f);
	if (ap) {
		printf("length=%d\n", taglib_audioproperties_length(ap));
		printf("bitrate=%d\n", taglib_audioproperties_bitrate(ap));
		printf("samplerate=%d\n", taglib_audioproperties_samplerate(ap));
		printf("channels=%d\n", taglib_audioproperties_channels(ap));
	}
	taglib_tag_free_strings();
	taglib_file_free(f);
	return 0;
}
