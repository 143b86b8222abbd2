#!/bin/sh
# SPDX-License-Identifier: MIT
# fuzz/mkseeds.sh OUTDIR - generate the seed corpora of the fuzz targets
# into OUTDIR/<target>/ with the encoders and taggers the tests use (sox,
# flac/metaflac, lame, oggenc, opusenc, ffmpeg). Every seed is small
# (0.1 s of 8 kHz mono audio, 8x8 images) so the fuzzers run fast; the
# tagged files carry text tags, a picture and the structures each prober
# parses. A missing encoder leaves its seeds out (said on stderr).
# The fuzz_rows seeds are the store rows of those files: they need
# musefs-scan in PATH (or $MUSEFS_SCAN) and /usr/bin/python3.
# Usage: sh fuzz/mkseeds.sh build/fuzz/corpus (make fuzz does this).
set -eu
here=$(cd "${0%/*}" && pwd -P)
out=${1:?usage: mkseeds.sh OUTDIR}
mkdir -p "$out"
out=$(cd "$out" && pwd -P)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mf-seeds.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
for t in flac id3 mp3 ogg mp4 wav image template roundtrip rows; do
	mkdir -p "$out/$t"
done

have () {
	command -v "$1" >/dev/null 2>&1 && return 0
	echo "mkseeds.sh: $1 missing, its seeds are left out" >&2
	return 1
}
ff () {
	ffmpeg -nostdin -v error -y "$@"
}

if have ffmpeg; then
	ff -f lavfi -i color=c=red:s=8x8 -frames:v 1 "$out/image/red.jpg"
	ff -f lavfi -i color=c=blue:s=8x8 -frames:v 1 "$out/image/blue.png"
	ff -f lavfi -i color=c=green:s=8x8 -frames:v 1 "$out/image/green.gif"
	ff -f lavfi -i color=c=white:s=8x8 -frames:v 1 "$out/image/white.bmp"
	cp "$out/image/red.jpg" cover.jpg
fi
if have sox; then
	sox -n -r 8000 -c 1 -b 16 a.wav synth 0.1 sine 440
	cp a.wav "$out/wav/plain.wav"
	if have ffmpeg; then
		ff -i a.wav -metadata title=T -metadata artist=A \
			-metadata album=B "$out/wav/info.wav"
		ff -i a.wav -c:a pcm_s24le -write_id3v2 1 -metadata title=T \
			"$out/wav/id3.wav"
		ff -i a.wav -c:a aac -b:a 16k -metadata title=T \
			-metadata artist=A -metadata track=1/2 "$out/mp4/aac.m4a"
		ff -i a.wav -i cover.jpg -map 0 -map 1 -c:a aac -b:a 16k \
			-c:v copy -disposition:v attached_pic \
			-metadata title=T "$out/mp4/cover.m4a"
		ff -i a.wav -c:a alac -metadata album=B "$out/mp4/alac.m4a"
	fi
	if have flac && have metaflac; then
		flac -s -f -o plain.flac a.wav
		cp plain.flac "$out/flac/plain.flac"
		cp plain.flac tagged.flac
		metaflac --set-tag=TITLE=T --set-tag=ARTIST=A \
			--set-tag=ARTIST=A2 --add-seekpoint=1s tagged.flac
		test ! -f cover.jpg ||
			metaflac --import-picture-from=cover.jpg tagged.flac
		cp tagged.flac "$out/flac/tagged.flac"
	fi
	if have lame; then
		lame --quiet -b 32 --tt T --ta A --tl B --ty 2001 --tn 1/2 \
			--add-id3v2 a.wav "$out/mp3/tagged.mp3"
		lame --quiet -b 32 --id3v1-only --tt T a.wav "$out/mp3/v1.mp3"
		test ! -f cover.jpg || lame --quiet -b 32 --ti cover.jpg \
			--tt T a.wav "$out/mp3/cover.mp3"
		cp "$out/mp3/"*.mp3 "$out/id3/"
		test ! -x "$(command -v ffmpeg)" ||
			ff -i a.wav -c:a libmp3lame -id3v2_version 3 \
				-metadata title=T "$out/id3/v23.mp3"
	fi
	if have oggenc; then
		oggenc -Q -q 0 -t T -a A -c X=Y -o "$out/ogg/vorbis.ogg" a.wav
	fi
	if have opusenc; then
		opusenc --quiet --title T --artist A \
			$(test -f cover.jpg && echo --picture cover.jpg) \
			a.wav "$out/ogg/opus.opus"
	fi
	test ! -f plain.flac || ! have ffmpeg ||
		ff -i a.wav -c:a flac -metadata title=T "$out/ogg/oggflac.oga"
fi
i=0
for t in '$albumartist/$album/$track $title' \
	'${albumartist|artist}/[$year - ]$album/[$disc-]$track - $title' \
	'$!{genre}/$$[x$]/${title}x' '[[${a}]/$b]c/$d' 'plain'; do
	i=$((i + 1))
	printf '\377%s' "$t" > "$out/template/t$i"
done
# fuzz_roundtrip: a format byte (0 FLAC, 1 MP3, 2 Ogg, 3 MP4, 4 WAV), then
# the file.
mkdir -p "$out/roundtrip"
n=0
for d in flac mp3 ogg mp4 wav; do
	for f in "$out/$d"/*; do
		test -f "$f" || continue
		{ printf "\\$(printf %o $n)"; cat "$f"; } \
			> "$out/roundtrip/$d-${f##*/}"
	done
	n=$((n + 1))
done
# fuzz_rows: the rows musefs-scan stores for every audio seed
# (fuzz/rows-seed.py writes the encoding fuzz/fuzz_rows.c reads).
scan=${MUSEFS_SCAN:-musefs-scan}
if have "$scan" && have /usr/bin/python3; then
	mkdir -p rows-lib
	for d in flac mp3 ogg mp4 wav; do
		for f in "$out/$d"/*; do
			test -f "$f" && cp "$f" "rows-lib/$d-${f##*/}"
		done
	done
	# exit 2 (some files refused) is fine: the seeds are what it stored
	"$scan" --db "$tmp/rows.db" -q rows-lib >/dev/null 2>&1 || :
	if test -f rows.db; then
		/usr/bin/python3 "$here/rows-seed.py" rows.db "$out/rows"
	else
		echo "mkseeds.sh: $scan stored nothing, fuzz_rows has no seeds" >&2
	fi
fi
