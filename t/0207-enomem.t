#!/bin/sh
# SPDX-License-Identifier: MIT
# ENOMEM at every libcore allocation in turn (t/unit/test_enomem.c, linked
# with --wrap=malloc,...) over fixtures made here with the real encoders
# (FLAC and MP3 with a picture).
b=$(cd "${MF_BUILD:-${0%/*}/../build}" && pwd -P) || exit 1
for p in sox flac metaflac lame mid3v2 oggenc ffmpeg
do
	command -v $p >/dev/null || { echo "1..0 # SKIP no $p"; exit 0; }
done
d=$(mktemp -d "$b/t/enomem.XXXXXX") || exit 1
trap 'rm -rf "$d"' EXIT
cd "$d" &&
sox -D -n -r 44100 -c 2 -b 16 a.wav synth 0.2 sine 440 &&
flac -s -f -T TITLE=T -T ARTIST=A -o a.flac a.wav &&
lame --silent -b 128 --add-id3v2 --tt T --ta A a.wav a.mp3 &&
ffmpeg -nostdin -v error -f lavfi -i color=c=red:s=8x8 -frames:v 1 p.jpg &&
metaflac --import-picture-from=p.jpg a.flac &&
mid3v2 -p p.jpg a.mp3 >/dev/null &&
oggenc -Q -t T -a A -o a.ogg a.wav &&
ffmpeg -nostdin -v error -i a.wav -c:a aac -metadata title=T a.m4a &&
"$b/t/test_enomem" "$d" "$d/a.flac" a.mp3 a.ogg a.m4a a.wav
