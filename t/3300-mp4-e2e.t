#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='end to end on MP4 audio: AAC and ALAC, moov before and after mdat, an .m4b

Files made with ffmpeg (-c:a aac, -c:a alac, with and without -movflags
+faststart, an audiobook with chapters) and tagged with mutagen (text
atoms, trkn/disk/tmpo/cpil, freeform atoms, covr with two images, a
binary rtng atom). musefs-scan stores them; the mounted files are read by
mutagen, ffprobe and TagLib and must show exactly the store, decode to
the original audio and read consistently at any offset; store edits show
up live; corrupt files are named with a reason.'

. "${0%/*}/lib.sh"
. "$MF_SOURCE/t/lib-fmt.sh"

mf_require_fuse
mf_require_progs ffmpeg ffprobe sqlite3
test -x "$MF_PY" || skip_all 'missing /usr/bin/python3'
"$MF_PY" -c 'import mutagen' 2>/dev/null || skip_all 'missing python3-mutagen'
test -x "$MF_TAGLIB_DUMP" || skip_all 'missing the taglib_dump helper'

DB=$MF_TRASH/store.db
TEMPLATE='$album/$title'

sql () {
	sqlite3 -batch -cmd '.timeout 5000' "$DB" "$@"
}

# name | codec | faststart (1/0) | title | covers (a, ab, none)
cat >"$MF_TRASH/files.txt" <<\EOF
aac.m4a|aac|0|Sine AAC|ab
aacf.m4a|aac|1|Sine AAC Fast|none
alac.m4a|alac|0|Sine ALAC|a
alacf.m4a|alac|1|Sine ALAC Fast|ab
book.m4b|aac|1|The Book|a
EOF

# The expected mutagen dump of a served file, from the store: the MP4
# spelling of every text tag (the inverse of the probe's mapping, written
# independently here), the covr pictures, and the binary rtng atom.
cat >"$MF_TRASH/expect_mutagen.py" <<\EOF
import sqlite3, sys
db, tid = sys.argv[1], int(sys.argv[2])
con = sqlite3.connect(db)
atoms = {"title": "\xa9nam", "artist": "\xa9ART", "album": "\xa9alb",
         "albumartist": "aART", "date": "\xa9day", "genre": "\xa9gen",
         "comment": "\xa9cmt", "encodedby": "\xa9too", "artistsort": "soar",
         "composer": "\xa9wrt", "grouping": "\xa9grp"}
free = {"musicbrainz_albumid": "MusicBrainz Album Id",
        "musicbrainz_recordingid": "MusicBrainz Track Id"}
tags = {}
for k, v, blob in con.execute("SELECT key, value, value_blob FROM tags "
                              "WHERE track_id = ? ORDER BY key, ordinal", (tid,)):
    tags.setdefault(k, []).append(blob if blob is not None else v)
out = []
def esc(v):
    return v.replace("\\", "\\\\").replace("\n", "\\n")
for k, vals in tags.items():
    if k in atoms:
        out += ["%s=%s" % (atoms[k], esc(v)) for v in vals]
    elif k in ("tracknumber", "discnumber"):
        tot = tags.get("totaltracks" if k == "tracknumber" else "totaldiscs", ["0"])
        out.append("%s=%s/%s" % ("trkn" if k == "tracknumber" else "disk",
                                 int(vals[0]), int(tot[0])))
    elif k in ("totaltracks", "totaldiscs"):
        continue
    elif k == "bpm":
        out.append("tmpo=%d" % int(vals[0]))
    elif k == "compilation":
        out.append("cpil=%s" % (vals[0] == "1"))
    elif k == "mp4:rtng":
        out.append("rtng=%d" % vals[0][-1])
    elif k.startswith("mp4:"):
        sys.exit("unexpected binary tag " + k)
    else:
        name = free.get(k, k)
        out += ["----:com.apple.iTunes:%s=%s" % (name, esc(v)) for v in vals]
for mime, sha in con.execute("SELECT a.mime, a.sha256 FROM track_art t JOIN art a "
                             "ON a.id = t.art_id WHERE t.track_id = ? "
                             "ORDER BY t.ordinal", (tid,)):
    out.append("picture=|%s||%s" % (mime, sha))
print("format=MP4")
for line in sorted(out):
    print(line)
EOF

# t/helper/mutagen_dump.py iterates every MP4 value, but mutagen gives
# boolean atoms (cpil) as a bare bool: wrap those in a list first.
cat >"$MF_TRASH/mutagen_dump_mp4.py" <<\EOF
import sys
sys.path.insert(0, sys.argv[1])
import mutagen_dump
plain = mutagen_dump.dump_mp4
def dump_mp4(tags, out):
    plain({k: v if isinstance(v, list) else [v] for k, v in tags.items()}, out)
mutagen_dump.dump_mp4 = dump_mp4
sys.argv = sys.argv[1:]
sys.exit(mutagen_dump.main())
EOF

mutagen_dump () {
	"$MF_PY" "$MF_TRASH/mutagen_dump_mp4.py" "${MF_MUTAGEN_DUMP%/*}" "$1"
}

# mf_dump_ffprobe writes its temporary file next to the file it reads,
# which fails on the read-only mount: the same dump, kept in the cwd.
ffprobe_dump () {
	ffprobe -v error -show_entries format_tags:stream_tags \
		-of default=noprint_wrappers=1 "$1" >ffprobe.tmp &&
	sed -e 's/^TAG://' ffprobe.tmp |
		awk -F= '{ k = tolower($1); sub(/^[^=]*=/, ""); print k "=" $0 }' |
		LC_ALL=C sort -u
}

# Tag an MP4 file with mutagen: $1 file, $2 title, $3 covers (a, ab, none).
cat >"$MF_TRASH/tag.py" <<\EOF
import sys
from mutagen.mp4 import MP4, MP4Cover, MP4FreeForm
f = MP4(sys.argv[1])
f["\xa9nam"] = [sys.argv[2]]
f["\xa9ART"] = ["Artist Ä", "Second Artist"]
f["aART"] = ["The Album Artist"]
f["\xa9alb"] = ["MP4 Album"]
f["\xa9day"] = ["2019-04-01"]
f["\xa9gen"] = ["Electronic"]
f["\xa9cmt"] = ["a comment\nover two lines"]
f["soar"] = ["Artist, The"]
f["trkn"] = [(4, 11)]
f["disk"] = [(1, 2)]
f["tmpo"] = [128]
f["cpil"] = True
f["rtng"] = [2]
f["----:com.apple.iTunes:MusicBrainz Album Id"] = [MP4FreeForm(b"0f4e1e1c-2b7c-4a6e-9f1f-000000000001")]
f["----:com.apple.iTunes:Custom Key"] = [MP4FreeForm(b"one"), MP4FreeForm("twö".encode())]
covers = []
if "a" in sys.argv[3]:
    covers.append(MP4Cover(open("cover-a.jpg", "rb").read(), MP4Cover.FORMAT_JPEG))
if "b" in sys.argv[3]:
    covers.append(MP4Cover(open("cover-b.png", "rb").read(), MP4Cover.FORMAT_PNG))
if covers:
    f["covr"] = covers
f.save()
EOF

track_of () {
	mf_track_id "$DB" "$(mf_abs lib)/$1"
}

# The served path of backing file $1: an .m4b audiobook keeps its extension
# (format m4a plus an mp4:ext block), everything else is .m4a.
mounted () {
	printf 'mnt/MP4 Album/%s.%s\n' "$(sql "SELECT value FROM tags WHERE track_id = $(track_of "$1") AND key = 'title' AND ordinal = 0")" "${1##*.}"
}

# mutagen on the served file $2 shows exactly the store of track $1.
check_mutagen () {
	"$MF_PY" expect_mutagen.py "$DB" "$1" >mutagen.expect &&
	mutagen_dump "$2" >mutagen.actual &&
	test_cmp mutagen.expect mutagen.actual
}

# ffprobe on $2 shows the store of track $1 (ffmpeg reads the first value
# of each atom) and one attached picture stream per stored picture.
check_ffprobe () {
	ffprobe_dump "$2" >ffprobe.actual &&
	for pair in title:title artist:artist album:album \
		album_artist:albumartist date:date genre:genre \
		sort_artist:artistsort "musicbrainz album id:musicbrainz_albumid"
	do
		f=${pair%%:*} k=${pair#*:} &&
		v=$(sql "SELECT value FROM tags WHERE track_id = $1 AND key = '$k' ORDER BY ordinal LIMIT 1") &&
		if test -n "$v"
		then
			grep -Fx "$f=$v" ffprobe.actual
		else
			! grep "^$f=" ffprobe.actual
		fi || { echo "ffprobe: $f is not '$v'" >&2; cat ffprobe.actual >&2; return 1; }
	done &&
	tn=$(sql "SELECT value FROM tags WHERE track_id = $1 AND key = 'tracknumber'") &&
	tt=$(sql "SELECT value FROM tags WHERE track_id = $1 AND key = 'totaltracks'") &&
	grep -Fx "track=$tn/$tt" ffprobe.actual &&
	test "$(mf_ffprobe_attached_pics "$2")" = \
		"$(sql "SELECT count(*) FROM track_art WHERE track_id = $1")"
}

# TagLib's basic fields on $2 equal the store of track $1 (multiple values
# joined with ", ", the year from the date).
check_taglib () {
	for k in title artist album comment genre
	do
		printf '%s=' "$k" &&
		sql "SELECT group_concat(replace(value, char(10), '\\n'), ', ') FROM (SELECT value FROM tags WHERE track_id = $1 AND key = '$k' ORDER BY ordinal)" || return 1
	done >taglib.expect &&
	printf 'year=%s\n' "$(sql "SELECT coalesce(substr(value, 1, 4) + 0, 0) FROM tags WHERE track_id = $1 AND key = 'date'")" >>taglib.expect &&
	printf 'track=%s\n' "$(sql "SELECT coalesce(max(value + 0), 0) FROM tags WHERE track_id = $1 AND key = 'tracknumber'")" >>taglib.expect &&
	mf_dump_taglib "$2" >taglib.all &&
	grep -E '^(title|artist|album|comment|genre|year|track)=' taglib.all >taglib.actual &&
	test_cmp taglib.expect taglib.actual &&
	grep -E '^samplerate=44100$' taglib.all &&
	grep -E '^length=[12]$' taglib.all
}

check_all () {
	check_mutagen "$1" "$2" &&
	check_ffprobe "$1" "$2" &&
	check_taglib "$1" "$2"
}

mf_test 'make AAC and ALAC files with ffmpeg, tag them with mutagen' '
	mkdir lib &&
	mf_make_jpeg cover-a.jpg 120x90 red &&
	ffmpeg -nostdin -v error -f lavfi -i color=c=blue:s=64x64 -frames:v 1 cover-b.png &&
	mf_make_jpeg cover-big.jpg 800x600 green &&
	printf ";FFMETADATA1\n[CHAPTER]\nTIMEBASE=1/1000\nSTART=0\nEND=700\ntitle=Chapter One\n[CHAPTER]\nTIMEBASE=1/1000\nSTART=700\nEND=1500\ntitle=Chapter Two\n" >chapters.txt &&
	while IFS="|" read -r name codec fast title covers <&3
	do
		set -- &&
		if test "$fast" = 1
		then
			set -- -movflags +faststart
		fi &&
		if test "${name##*.}" = m4b
		then
			ffmpeg -nostdin -v error -f lavfi -i "sine=frequency=330:duration=1.5" \
				-i chapters.txt -map_metadata 1 -map 0:a -ac 2 -c:a "$codec" "$@" "lib/$name"
		else
			ffmpeg -nostdin -v error -f lavfi -i "sine=frequency=440:duration=1.5" \
				-ac 2 -c:a "$codec" "$@" "lib/$name"
		fi &&
		"$MF_PY" tag.py "lib/$name" "$title" "$covers" || return 1
	done 3<files.txt &&
	ffprobe -v error -show_chapters lib/book.m4b >chapters.orig &&
	grep -F "Chapter Two" chapters.orig &&
	# corrupt files: truncated, random bytes, a box size past the end, a
	# huge atom, and content of another format
	head -c 3000 lib/aac.m4a >lib/truncated.m4a &&
	head -c 4096 /dev/urandom >lib/random.m4a &&
	"$MF_PY" -c "
import struct
b = bytearray(open(\"lib/aacf.m4a\", \"rb\").read())
b[28:32] = struct.pack(\">I\", len(b))          # moov size past the end
open(\"lib/pastend.m4a\", \"wb\").write(b)
b = bytearray(open(\"lib/aacf.m4a\", \"rb\").read())
i = b.index(b\"\\xa9nam\")
b[i - 4:i] = struct.pack(\">I\", 0xfffffff0)   # a huge atom in the ilst
open(\"lib/hugeatom.m4a\", \"wb\").write(b)
" &&
	cp cover-a.jpg lib/image.m4a
'

mf_test 'musefs-scan stores the good files and names the bad ones' '
	test_expect_code 2 musefs-scan --db "$DB" lib >out 2>err &&
	cat err &&
	grep "truncated.m4a.*: .*past end of file" err &&
	grep "random.m4a.*: not an MP4 file" err &&
	grep "pastend.m4a.*: .*past end of file" err &&
	grep "hugeatom.m4a.*: malformed moov" err &&
	grep "image.m4a.*: not an MP4 file" err &&
	test "$(sql "SELECT count(*) FROM tracks WHERE format = '"'"'m4a'"'"'")" = 5 &&
	test "$(sql "SELECT count(*) FROM scan_failures")" = 5
'

mf_test 'the store holds the mapped tags, art and structure' '
	id=$(track_of aac.m4a) &&
	cat >expect <<-\EOF &&
	album=MP4 Album
	albumartist=The Album Artist
	artist=Artist Ä
	artist=Second Artist
	artistsort=Artist, The
	bpm=128
	comment=a comment\nover two lines
	compilation=1
	custom key=one
	custom key=twö
	date=2019-04-01
	discnumber=1
	genre=Electronic
	musicbrainz_albumid=0f4e1e1c-2b7c-4a6e-9f1f-000000000001
	title=Sine AAC
	totaldiscs=2
	totaltracks=11
	tracknumber=4
	EOF
	mf_store_tags "$DB" "$id" | grep -v "^encodedby=" >actual &&
	test_cmp expect actual &&
	test "$(sql "SELECT key FROM tags WHERE track_id = $id AND value_blob IS NOT NULL")" = "mp4:rtng" &&
	sql "SELECT a.mime || '"'"' '"'"' || a.width || '"'"'x'"'"' || a.height FROM track_art t JOIN art a ON a.id = t.art_id WHERE t.track_id = $id ORDER BY t.ordinal" >actual &&
	printf "image/jpeg 120x90\nimage/png 64x64\n" >expect &&
	test_cmp expect actual &&
	sql "SELECT kind FROM format_blocks WHERE track_id = $(track_of book.m4b) ORDER BY kind" >actual &&
	printf "mp4:ext\nmp4:ftyp\nmp4:mdat\nmp4:moov\nmp4:order\n" >expect &&
	test_cmp expect actual &&
	sql "SELECT sample_rate, channels, bits_per_sample FROM track_props WHERE track_id = $(track_of alac.m4a)" >actual &&
	echo "44100|2|16" >expect &&
	test_cmp expect actual
'

mf_test 'mount the library' '
	mf_mount mnt --db "$DB" --template "$TEMPLATE" --poll-interval-ms 200
'

mf_test 'mutagen, ffprobe and TagLib read exactly the store' '
	while IFS="|" read -r name codec fast title covers <&3
	do
		m=$(mounted "$name") &&
		test_path_is_file "$m" &&
		check_all "$(track_of "$name")" "$m" || return 1
	done 3<files.txt
'

mf_test 'served art is the tagged images, byte for byte' '
	m=$(mounted aac.m4a) &&
	mutagen_dump "$m" | grep "^picture=" >actual &&
	printf "picture=|image/jpeg||%s\npicture=|image/png||%s\n" \
		"$(sha256sum <cover-a.jpg | cut -d" " -f1)" \
		"$(sha256sum <cover-b.png | cut -d" " -f1)" | sort >expect &&
	test_cmp expect actual
'

mf_test 'served files round-trip the tags mutagen wrote' '
	while IFS="|" read -r name codec fast title covers <&3
	do
		# freeform names that are not Picard'"'"'s come back lowercased
		mutagen_dump "lib/$name" |
			sed "s/^----:com.apple.iTunes:Custom Key=/----:com.apple.iTunes:custom key=/" |
			LC_ALL=C sort >expect &&
		mutagen_dump "$(mounted "$name")" | LC_ALL=C sort >actual &&
		test_cmp expect actual || return 1
	done 3<files.txt
'

mf_test 'served audio decodes cleanly to the original audio' '
	while IFS="|" read -r name codec fast title covers <&3
	do
		m=$(mounted "$name") &&
		mf_decode_clean "$m" &&
		mf_audio_md5 "lib/$name" >expect &&
		mf_audio_md5 "$m" >actual &&
		grep "^MD5=" expect &&
		test_cmp expect actual || return 1
	done 3<files.txt
'

mf_test 'chunk offsets: faststart files keep moov first, others keep it last' '
	for name in aacf.m4a alacf.m4a book.m4b
	do
		"$MF_PY" -c "
import sys
b = open(sys.argv[1], \"rb\").read()
assert b.index(b\"moov\") < b.index(b\"mdat\"), sys.argv[1]
" "$(mounted "$name")" || return 1
	done &&
	for name in aac.m4a alac.m4a
	do
		"$MF_PY" -c "
import sys
b = open(sys.argv[1], \"rb\").read()
assert b.rindex(b\"moov\") > b.index(b\"mdat\"), sys.argv[1]
" "$(mounted "$name")" || return 1
	done
'

mf_test 'the audiobook keeps its chapters' '
	ffprobe -v error -show_chapters "$(mounted book.m4b)" >chapters.served &&
	test_cmp chapters.orig chapters.served
'

mf_test 'stat sizes, whole reads and random preads agree' '
	while IFS="|" read -r name codec fast title covers <&3
	do
		m=$(mounted "$name") &&
		test "$(stat -c %s "$m")" = "$(wc -c <"$m")" &&
		mf_check_random_reads "$m" 150 || return 1
	done 3<files.txt
'

# Wait until mutagen on the served file of $1 shows the store.
live () {
	m=$(mounted "$1") && test -f "$m" &&
	check_mutagen "$(track_of "$1")" "$m" 2>/dev/null
}

mf_test 'store edits show up live in all three readers' '
	id=$(track_of alacf.m4a) &&
	# change a tag, add one, delete one
	sql "UPDATE tags SET value = '"'"'Changed Title'"'"' WHERE track_id = $id AND key = '"'"'title'"'"';
	     INSERT INTO tags (track_id, key, ordinal, value) VALUES ($id, '"'"'composer'"'"', 0, '"'"'Somebody'"'"');
	     INSERT INTO tags (track_id, key, ordinal, value) VALUES ($id, '"'"'musicbrainz_recordingid'"'"', 0, '"'"'rec-1'"'"');
	     DELETE FROM tags WHERE track_id = $id AND key = '"'"'genre'"'"';" &&
	mf_wait_until 10 test -f "mnt/MP4 Album/Changed Title.m4a" &&
	mf_wait_until 10 live alacf.m4a &&
	check_all "$id" "mnt/MP4 Album/Changed Title.m4a" &&
	mf_decode_clean "mnt/MP4 Album/Changed Title.m4a" &&
	mf_audio_md5 lib/alacf.m4a >expect &&
	mf_audio_md5 "mnt/MP4 Album/Changed Title.m4a" >actual &&
	test_cmp expect actual
'

mf_test 'art edits: a larger image, none, a second picture' '
	id=$(track_of alac.m4a) &&
	m=$(mounted alac.m4a) &&
	# replace the one picture with a larger image
	sql "DELETE FROM track_art WHERE track_id = $id" &&
	mf_insert_art "$DB" "$id" cover-big.jpg 3 &&
	mf_wait_until 10 live alac.m4a &&
	mutagen_dump "$m" | grep -c "^picture=" >n && echo 1 >expect && test_cmp expect n &&
	mutagen_dump "$m" | grep -F "$(sha256sum <cover-big.jpg | cut -d" " -f1)" &&
	check_all "$id" "$m" &&
	# remove it
	sql "DELETE FROM track_art WHERE track_id = $id" &&
	mf_wait_until 10 live alac.m4a &&
	! mutagen_dump "$m" | grep "^picture=" &&
	check_all "$id" "$m" &&
	# add two pictures back
	mf_insert_art "$DB" "$id" cover-a.jpg 3 &&
	mf_insert_art "$DB" "$id" cover-b.png 4 &&
	mf_wait_until 10 live alac.m4a &&
	mutagen_dump "$m" | grep -c "^picture=" >n && echo 2 >expect && test_cmp expect n &&
	check_all "$id" "$m" &&
	mf_decode_clean "$m" &&
	mf_check_random_reads "$m" 100
'

mf_test 'unmount' '
	mf_umount mnt
'

test_done
