#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='end to end on FLAC: scan a messy library, mount it, check every served file

Real FLAC files made with sox and flac, tagged with metaflac (multi-valued
and non-ASCII tags, embedded JPEG covers) in awkward folders, next to
non-audio and broken files. musefs-scan stores them, musefs-mount serves
them under a template, and independent readers (metaflac, flac, ffmpeg,
python os.pread) check tags, pictures, audio and byte ranges; then a tag
edited in the store shows up live, and musefs-stat reports the store.'

. "${0%/*}/lib.sh"

mf_require_fuse
mf_require_progs sox flac metaflac ffmpeg sqlite3
PYTHON=${PYTHON:-/usr/bin/python3}
test -x "$PYTHON" || PYTHON=$(command -v python3) || skip_all 'missing python3'

SQ="'"
DB=$MF_TRASH/store.db
TEMPLATE='${albumartist|artist}/$album/$tracknumber - $title'

# Run SQL on the store (waiting out a busy writer, such as a heartbeat).
sql () {
	sqlite3 -batch -cmd '.timeout 5000' "$DB" "$@"
}

# $1 as an SQL string literal.
sql_str () {
	printf "'%s'" "$(printf '%s' "$1" | sed "s/'/''/g")"
}

# The canonical backing path of library file $1 (relative to lib/).
backing_path () {
	printf '%s/%s\n' "$(mf_abs "lib/${1%/*}")" "${1##*/}"
}

track_id () {
	sql "SELECT id FROM tracks WHERE backing_path = $(sql_str "$(backing_path "$1")")"
}

# The text tags of track $1 as the FLAC writer must spell them: canonical
# key mapped to its Vorbis field name, uppercase; sorted by field, keeping
# the order of values within a field.
store_tags () {
	sql "SELECT key || '=' || value FROM tags WHERE track_id = $1 AND value_blob IS NULL ORDER BY key, ordinal" >store-tags.raw &&
	awk '{
		i = index($0, "=")
		k = substr($0, 1, i - 1)
		if (k == "totaltracks") k = "tracktotal"
		else if (k == "totaldiscs") k = "disctotal"
		else if (k == "musicbrainz_recordingid") k = "musicbrainz_trackid"
		else if (k == "musicbrainz_trackid") k = "musicbrainz_releasetrackid"
		print toupper(k) substr($0, i)
	}' store-tags.raw | sort -s -t= -k1,1
}

# The Vorbis comments of FLAC file $1, field names uppercased, same order.
file_tags () {
	metaflac --no-utf8-convert --export-tags-to=- "$1" >file-tags.raw &&
	awk '{
		i = index($0, "=")
		print toupper(substr($0, 1, i - 1)) substr($0, i)
	}' file-tags.raw | sort -s -t= -k1,1
}

# The value of NAME in the one-line scan summary in file $1.
summary_field () {
	tr ' ' '\n' <"$1" | sed -n "s/^$2=//p"
}

# True when $1 is gone and $2 exists.
renamed () {
	test ! -e "$1" && test -e "$2"
}

# Print how many mounted files fail to read; fail if a failure is not EIO.
eio_count () {
	eio_n_=0 &&
	for g in mnt/*/*/*
	do
		if ! cat "$g" >/dev/null 2>cat-err
		then
			grep -i "input/output error" cat-err >/dev/null &&
			eio_n_=$((eio_n_ + 1))
		fi || return 1
	done &&
	echo "$eio_n_"
}

# True when exactly one mounted file reads as EIO.
one_eio () {
	test "$(eio_count)" = 1
}

mf_test 'set up a messy library of 20 FLAC files and some junk' '
	# The library: path under lib/ | title | artists (;-separated, one ARTIST
	# tag each) | album | albumartist (empty: none) | tracknumber | date |
	# genre | cover (a, b, c or none) | seconds | sine frequency | tracktotal
	cat >tracks.txt <<\EOF &&
Incoming/Björk - Homogenic (1997)/01 Hunter.flac|Hunter|Björk|Homogenic|Björk|01|1997|Electronic|a|1.0|220|3
Incoming/Björk - Homogenic (1997)/02 Jóga.flac|Jóga|Björk|Homogenic|Björk|02|1997|Electronic|a|1.2|233|3
Incoming/Björk - Homogenic (1997)/03 Unravel.flac|Unravel|Björk|Homogenic|Björk|03|1997|Electronic|a|0.8|247|3
Música/Sigur Rós/( ) [2002]/untitled 1.flac|Untitled 1|Sigur Rós|( )|Sigur Rós|01|2002|Post-Rock|b|1.1|262|
Música/Sigur Rós/( ) [2002]/untitled 2.flac|Untitled 2|Sigur Rós|( )|Sigur Rós|02|2002|Post-Rock|b|0.9|277|
Música/Sigur Rós/( ) [2002]/untitled 3.flac|Untitled 3 (Álafoss)|Sigur Rós|( )|Sigur Rós|03|2002|Post-Rock|b|1.3|294|
Compilations/東京 Nights/disc 1/track01.flac|Tank!|Yoko Kanno;The Seatbelts|東京 Nights||01|1998|Jazz|c|1.0|311|
Compilations/東京 Nights/disc 1/track02.flac|群青日和|東京事変|東京 Nights||02|2004|J-Pop|c|0.7|330|
Compilations/東京 Nights/disc 1/track03.flac|Either/Or|Artist A;Artist B;Artist C|東京 Nights||03|2010|Mixed|c|0.6|349|
Compilations/東京 Nights/disc 2/track04.flac|Tokyo Drift|Teriyaki Boyz|東京 Nights||04|2006|Hip Hop|c|0.9|370|
deep/a/b/c/d/e/f/g/Deep Cuts/01.flac|Deep One|Diver|Deep Cuts|Various Artists|01|2020|Ambient|none|0.5|392|4
deep/a/b/c/d/e/f/g/Deep Cuts/02.flac|Deep Two|Submariner|Deep Cuts|Various Artists|02|2020|Ambient|none|0.6|415|4
deep/a/b/c/d/e/f/g/Deep Cuts/03.flac|Deep Three|Diver;Submariner|Deep Cuts|Various Artists|03|2020|Ambient|none|0.7|440|4
deep/a/b/c/d/e/f/g/Deep Cuts/04.flac|Deep Four|Abyss|Deep Cuts|Various Artists|04|2021|Ambient|none|0.8|466|4
Loose Files With Spaces/  spaced   out  name .flac|Spaced Out|Loner|Singles||01|2015|Música Popular Brasileira|none|0.5|494|
Loose Files With Spaces/another one.flac|Another One|Loner|Singles||02|2016|Rock|a|0.6|523|
Loose Files With Spaces/sub dir/x.flac|Ex|Loner|Singles||03|2017|Rock|none|0.7|554|
Música/Ñandú/Pájaros/01 - Vuelo.flac|Vuelo|Ñandú|Pájaros|Ñandú|01|1979|Folk|none|0.8|587|
Música/Ñandú/Pájaros/02 - Nido.flac|Nido|Ñandú|Pájaros|Ñandú|02|1979|Folk|b|0.9|622|
Música/Ñandú/Pájaros/03 - Cielo.flac|Cielo|Ñandú;Guest Star|Pájaros|Ñandú|03|1979|Folk|none|1.0|659|
EOF
	# Random reads: python3 reads.py SEED MOUNTED|ORIGINAL|AUDIO_OFFSET|AUDIO_LENGTH...
	# Every file: stat size = bytes read; pread at random and edge offsets =
	# the same slice of the whole file; the last AUDIO_LENGTH bytes = the
	# audio range of the original.
	cat >reads.py <<\EOF &&
import os, random, sys

random.seed(int(sys.argv[1]))
bad = 0
for arg in sys.argv[2:]:
    mounted, original, aoff, alen = arg.split("|")
    aoff, alen = int(aoff), int(alen)
    with open(mounted, "rb") as f:
        whole = f.read()
    n = len(whole)
    size = os.stat(mounted).st_size
    if size != n:
        print("%s: stat says %d bytes, read gave %d" % (mounted, size, n))
        bad += 1
        continue
    with open(original, "rb") as f:
        f.seek(aoff)
        audio = f.read(alen)
    if alen == 0 or n < alen or whole[n - alen:] != audio:
        print("%s: the served audio is not %s[%d:+%d]" % (mounted, original, aoff, alen))
        bad += 1
    meta = n - alen
    cases = [(0, 1), (0, 4), (0, n), (0, n + 1), (n - 1, 1), (n - 1, 100),
             (n, 1), (n + 4096, 10), (meta - 1, 2), (meta - 4096, 8192),
             (meta, 1), (max(meta - 3, 0), 131072 * 2 + 5)]
    for i in range(150):
        off = random.randrange(0, n + 1)
        cnt = random.choice([1, 2, 3, 17, 511, 4096, 65536, 131073,
                             random.randrange(1, n + 2)])
        cases.append((off, cnt))
    fd = os.open(mounted, os.O_RDONLY)
    for off, cnt in cases:
        if off < 0:
            continue
        got = os.pread(fd, cnt, off)
        if got != whole[off:off + cnt]:
            print("%s: pread(count=%d, offset=%d) gave %d bytes that differ from the whole read"
                  % (mounted, cnt, off, len(got)))
            bad += 1
            break
    os.close(fd)
sys.exit(1 if bad else 0)
EOF
	mkdir lib &&
	mf_make_jpeg cover-a.jpg 300x300 red &&
	mf_make_jpeg cover-b.jpg 500x500 blue &&
	mf_make_jpeg cover-c.jpg 200x100 green &&
	: >expect-paths.raw &&
	: >map.txt &&
	while IFS="|" read -r path title artists album aa tn date genre cover secs freq total <&3
	do
		mkdir -p "lib/${path%/*}" &&
		mf_make_flac "lib/$path" "$secs" "$freq" &&
		set -- --set-tag="TITLE=$title" --set-tag="ALBUM=$album" \
			--set-tag="TRACKNUMBER=$tn" --set-tag="DATE=$date" \
			--set-tag="GENRE=$genre" &&
		if test -n "$aa"
		then
			set -- "$@" --set-tag="ALBUMARTIST=$aa"
		fi &&
		if test -n "$total"
		then
			set -- "$@" --set-tag="TRACKTOTAL=$total"
		fi &&
		rest=$artists &&
		while test -n "$rest"
		do
			set -- "$@" --set-tag="ARTIST=${rest%%;*}" &&
			case $rest in
			*";"*) rest=${rest#*;} ;;
			*) rest= ;;
			esac
		done &&
		if test "$cover" != none
		then
			set -- "$@" --import-picture-from="3||front||cover-$cover.jpg"
		fi &&
		metaflac --no-utf8-convert --remove-all-tags "$@" "lib/$path" &&
		if test -n "$aa"
		then
			top=$aa
		else
			top=$(printf "%s" "$artists" | sed "s/;/; /g")
		fi &&
		safe_title=$(printf "%s" "$title" | tr / _) &&
		mounted="$top/$album/$tn - $safe_title.flac" &&
		echo "$mounted" >>expect-paths.raw &&
		echo "$mounted|$path|$cover" >>map.txt || return 1
	done 3<tracks.txt &&
	sort expect-paths.raw >expect-paths &&
	test_line_count=$(wc -l <map.txt) &&
	test "$test_line_count" = 20 &&

	echo "just some notes" >lib/Incoming/notes.txt &&
	mf_make_jpeg "lib/Incoming/Björk - Homogenic (1997)/cover.jpg" 64x64 yellow &&
	head -c 60 "lib/Incoming/Björk - Homogenic (1997)/01 Hunter.flac" \
		>lib/Incoming/bad1.flac &&
	head -c 4096 /dev/urandom >"lib/Loose Files With Spaces/random.flac" &&
	metaflac --no-utf8-convert --export-tags-to=- \
		"lib/Compilations/東京 Nights/disc 1/track03.flac" >tags &&
	grep -c "^ARTIST=" tags >n &&
	echo 3 >expect && test_cmp expect n &&
	metaflac --export-picture-to=pic.jpg "lib/Música/Ñandú/Pájaros/02 - Nido.flac" &&
	cmp pic.jpg cover-b.jpg
'

mf_test 'musefs-scan stores the good files and fails on the bad ones' '
	test_expect_code 2 musefs-scan --db "$DB" lib >out 2>err &&
	grep -F "bad1.flac" err &&
	grep -F "random.flac" err &&
	grep "^musefs-scan: ${SQ}.*bad1\.flac${SQ}: " err &&
	grep "^musefs-scan: ${SQ}.*random\.flac${SQ}: " err &&
	! grep -F "Hunter" err &&
	test "$(wc -l <out)" = 1 &&
	test "$(summary_field out new)" = 20 &&
	test "$(summary_field out failed)" = 2 &&
	test "$(summary_field out skipped)" = 2 &&
	test "$(summary_field out changed)" = 0 &&
	test "$(summary_field out unchanged)" = 0 &&
	grep "^seen=[0-9]* new=[0-9]* changed=[0-9]* unchanged=[0-9]* skipped=[0-9]* failed=[0-9]* probed=[0-9]* seconds=[0-9.]*$" out
'

mf_test 'the store holds the 20 tracks, all FLAC, with their tags and art' '
	echo 20 >expect &&
	sql "SELECT count(*) FROM tracks" >actual &&
	test_cmp expect actual &&
	sql "SELECT count(*) FROM tracks WHERE format = ${SQ}flac${SQ}" >actual &&
	test_cmp expect actual &&
	echo 3 >expect &&
	sql "SELECT count(*) FROM art" >actual &&
	test_cmp expect actual &&
	echo "Yoko Kanno|The Seatbelts" >expect &&
	sql "SELECT group_concat(value, ${SQ}|${SQ}) FROM (SELECT value FROM tags WHERE key = ${SQ}artist${SQ} AND track_id = $(track_id "Compilations/東京 Nights/disc 1/track01.flac") ORDER BY ordinal)" >actual &&
	test_cmp expect actual &&
	echo 0 >expect &&
	sql "SELECT count(*) FROM tracks WHERE backing_path LIKE ${SQ}%bad1.flac${SQ} OR backing_path LIKE ${SQ}%random.flac${SQ} OR backing_path LIKE ${SQ}%.txt${SQ} OR backing_path LIKE ${SQ}%.jpg${SQ}" >actual &&
	test_cmp expect actual
'

mf_test 'a rescan probes nothing and still reports the known failures' '
	sql "SELECT max(seq) FROM track_changes" >head.before &&
	test_expect_code 2 musefs-scan --db "$DB" lib >out 2>err &&
	grep -F "bad1.flac" err &&
	grep -F "random.flac" err &&
	test "$(summary_field out probed)" = 0 &&
	test "$(summary_field out new)" = 0 &&
	test "$(summary_field out changed)" = 0 &&
	test "$(summary_field out unchanged)" = 20 &&
	test "$(summary_field out failed)" = 2 &&
	sql "SELECT max(seq) FROM track_changes" >head.after &&
	test_cmp head.before head.after
'

mf_test 'musefs-mount refuses a missing store before mounting' '
	mkdir mnt-fail &&
	test_when_finished "fusermount3 -u -z \"$MF_TRASH/mnt-fail\" 2>/dev/null; :" &&
	test_must_fail timeout -s KILL 30 \
		musefs-mount -f --db /nonexistent/x.db mnt-fail 2>err &&
	test -s err &&
	grep -F "/nonexistent/x.db" err &&
	! mf_is_mounted "$MF_TRASH/mnt-fail" &&
	test_path_is_missing /nonexistent/x.db
'

mf_test 'musefs-mount refuses an invalid template before mounting' '
	test_when_finished "fusermount3 -u -z \"$MF_TRASH/mnt-fail\" 2>/dev/null; :" &&
	test_must_fail timeout -s KILL 30 \
		musefs-mount -f --db "$DB" --template "\${unterminated" mnt-fail 2>err &&
	test -s err &&
	! mf_is_mounted "$MF_TRASH/mnt-fail"
'

mf_test 'mount the library under the template' '
	mf_mount mnt --db "$DB" --template "$TEMPLATE" --poll-interval-ms 200
'

mf_test 'the tree is the template rendered from the tags' '
	(cd mnt && find . -type f) | sed "s|^\./||" | sort >actual &&
	test_cmp expect-paths actual &&
	test -z "$(find mnt ! -type f ! -type d)"
'

mf_test 'served tags equal the store, field by field, values in order' '
	while IFS="|" read -r m p c <&3
	do
		id=$(track_id "$p") &&
		test -n "$id" &&
		store_tags "$id" >expect &&
		file_tags "mnt/$m" >actual &&
		test_cmp expect actual || return 1
	done 3<map.txt
'

mf_test 'served tags round-trip the tags written to the originals' '
	while IFS="|" read -r m p c <&3
	do
		file_tags "lib/$p" >expect &&
		file_tags "mnt/$m" >actual &&
		test_cmp expect actual || return 1
	done 3<map.txt
'

mf_test 'served pictures are the imported JPEGs, byte for byte' '
	while IFS="|" read -r m p c <&3
	do
		rm -f pic.jpg &&
		metaflac --list --block-type=PICTURE "mnt/$m" >pictures &&
		if test "$c" = none
		then
			test ! -s pictures || return 1
		else
			grep -c "type: 6 (PICTURE)" pictures >n &&
			echo 1 >expect && test_cmp expect n &&
			metaflac --export-picture-to=pic.jpg "mnt/$m" &&
			cmp pic.jpg "cover-$c.jpg" &&
			# the PICTURE fields are the original'"'"'s (RFC 9639 8.8)
			metaflac --list --block-type=PICTURE "lib/$p" |
				grep -E "^  (type|MIME type|description|width|height|depth|colors|data length):" >expect &&
			grep -E "^  (type|MIME type|description|width|height|depth|colors|data length):" pictures >actual &&
			test_cmp expect actual || return 1
		fi
	done 3<map.txt
'

mf_test 'served files pass flac -t' '
	while IFS="|" read -r m p c <&3
	do
		flac -t -s "mnt/$m" || return 1
	done 3<map.txt
'

mf_test 'served audio decodes to the original audio' '
	while IFS="|" read -r m p c <&3
	do
		mf_audio_md5 "lib/$p" >expect &&
		mf_audio_md5 "mnt/$m" >actual &&
		grep "^MD5=" expect &&
		test_cmp expect actual || return 1
	done 3<map.txt
'

mf_test 'stat sizes, whole reads and random preads agree' '
	set -- &&
	while IFS="|" read -r m p c <&3
	do
		test "$(stat -c %s "mnt/$m")" = "$(wc -c <"mnt/$m")" &&
		id=$(track_id "$p") &&
		range=$(sql "SELECT audio_offset || ${SQ}|${SQ} || audio_length FROM tracks WHERE id = $id") &&
		set -- "$@" "mnt/$m|lib/$p|$range" || return 1
	done 3<map.txt &&
	test $# = 20 &&
	"$PYTHON" reads.py 9001 "$@"
'

old_path='Björk/Homogenic/01 - Hunter.flac'
new_path='Björk/Homogenic/01 - New Title.flac'

mf_test 'a title edited in the store shows up live, without a remount' '
	id=$(track_id "Incoming/Björk - Homogenic (1997)/01 Hunter.flac") &&
	test -n "$id" &&
	test_path_is_file "mnt/$old_path" &&
	sql "UPDATE tags SET value = ${SQ}New Title${SQ} WHERE key = ${SQ}title${SQ} AND track_id = $id" &&
	mf_wait_until 3 renamed "mnt/$old_path" "mnt/$new_path" &&
	test_path_is_missing "mnt/$old_path" &&
	test_path_is_file "mnt/$new_path" &&
	echo "TITLE=New Title" >expect &&
	metaflac --no-utf8-convert --show-tag=TITLE "mnt/$new_path" >actual &&
	test_cmp expect actual &&
	sed "s|^$old_path\$|$new_path|" expect-paths | sort >expect &&
	(cd mnt && find . -type f) | sed "s|^\./||" | sort >actual &&
	test_cmp expect actual &&
	flac -t -s "mnt/$new_path" &&
	mf_audio_md5 "lib/Incoming/Björk - Homogenic (1997)/01 Hunter.flac" >expect &&
	mf_audio_md5 "mnt/$new_path" >actual &&
	test_cmp expect actual
'

mf_test 'musefs-stat --json describes the store' '
	musefs-stat --db "$DB" --json >out.json &&
	rows=$(sql "SELECT count(*) FROM tags") &&
	head=$(sql "SELECT max(seq) FROM track_changes") &&
	"$PYTHON" -c "
import json, sys
d = json.load(open(\"out.json\"))
want = {
    (\"tracks\", \"total\"): 20,
    (\"art\", \"count\"): 3,
    (\"tags\", \"rows\"): int(sys.argv[1]),
    (\"changelog\", \"head_seq\"): int(sys.argv[2]),
}
bad = 0
for (a, b), v in want.items():
    if d[a][b] != v:
        print(\"%s.%s is %r, expected %r\" % (a, b, d[a][b], v))
        bad = 1
if d[\"tracks\"][\"by_format\"].get(\"flac\") != 20:
    print(\"tracks.by_format is %r\" % d[\"tracks\"][\"by_format\"])
    bad = 1
for k in (\"size_bytes\", \"wal_bytes\"):
    if not isinstance(d[\"store\"][k], int) or d[\"store\"][k] < 0:
        print(\"store.%s is %r\" % (k, d[\"store\"][k]))
        bad = 1
sys.exit(bad)
" "$rows" "$head"
'

mf_test 'unmount: the daemon exits cleanly and nothing is left mounted' '
	mf_umount mnt &&
	! mf_is_mounted "$MF_TRASH/mnt" &&
	! grep -F " $(mf_mountinfo_escape "$MF_TRASH/mnt") " /proc/self/mountinfo &&
	test -z "$(ls -A mnt)"
'

mf_test 'structure-only mode serves the original bytes unchanged' '
	mf_mount mnt --db "$DB" --template "$TEMPLATE" --mode structure-only &&
	(cd lib && find . -name "*.flac" ! -name "bad1.flac" ! -name "random.flac" \
		-exec md5sum {} + ) | cut -d" " -f1 | sort >expect &&
	(cd mnt && find . -type f -exec md5sum {} + ) | cut -d" " -f1 | sort >actual &&
	test_cmp expect actual
'

mf_test 'a backing file changed on disk since the scan gives EIO, not bytes' '
	p=$(sql "SELECT backing_path FROM tracks ORDER BY id LIMIT 1") &&
	cp -p "$p" saved.flac &&
	test_when_finished "cp -p saved.flac \"\$p\"" &&
	test "$(eio_count)" = 0 &&
	touch -d "2001-01-01 00:00:00" "$p" &&
	test "$(eio_count)" = 1 &&
	mf_umount mnt
'

mf_test 'a rescan picks up the file restored in place (new ctime)' '
	test_expect_code 2 musefs-scan --db "$DB" lib >out 2>err &&
	test "$(summary_field out changed)" = 1 &&
	test "$(summary_field out probed)" = 1
'

mf_test 'a malformed store row is served as EIO; the other files are fine' '
	mf_mount mnt --db "$DB" --template "$TEMPLATE" --poll-interval-ms 100 &&
	id=$(sql "SELECT id FROM tracks ORDER BY id LIMIT 1") &&
	test "$(eio_count)" = 0 &&
	sql "DELETE FROM structural_blocks WHERE track_id = $id AND kind = ${SQ}STREAMINFO${SQ}" &&
	mf_wait_until 5 one_eio &&
	mf_umount mnt
'

test_done
