#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='end to end on MP3: lame files tagged by mid3v2, mutagen and lame

CBR and VBR MP3 files from lame, tagged in ID3v2.4 by mid3v2, in ID3v2.3 by
mutagen (with PRIV, UFID and two pictures), by lame itself (ID3v2.3 plus
ID3v1, with art), and one with only an ID3v1 tag; next to corrupt files.
musefs-scan stores them, musefs-mount serves them, and mutagen, ffprobe
and TagLib read exactly the store tags and art; the decoded audio is the
original; random reads agree; store edits show up live.'

. "${0%/*}/lib.sh"
. "$MF_SOURCE/t/lib-fmt.sh"
. "$MF_SOURCE/t/lib-mp3.sh"

mf_require_fuse
mf_require_progs sox lame mid3v2 ffmpeg ffprobe sqlite3
test -x "$MF_PY" || skip_all "missing $MF_PY"
test -x "$MF_TAGLIB_DUMP" || skip_all "missing $MF_TAGLIB_DUMP"

DB=$MF_TRASH/store.db
GOOD="cbr24 vbr23 noart24 v1only lametag"

sql () {
	sqlite3 -batch -cmd '.timeout 5000' "$DB" "$@"
}

tid () {
	mf_track_id "$DB" "$MF_TRASH/lib/$1.mp3"
}

# The served path of a track: the template is $title.
served () {
	printf 'mnt/%s.mp3\n' "$(sql "SELECT value FROM tags WHERE track_id = $(tid "$1") AND key = 'title' AND ordinal = 0" | tr / _)"
}

# All three readers agree with the store for track $1 (a file name stem).
check_readers () {
	id=$(tid "$1") && f=$(served "$1") &&
	mp3_expect "$DB" "$id" mutagen >exp.mutagen &&
	mf_dump_mutagen "$f" >act.mutagen &&
	test_cmp exp.mutagen act.mutagen &&
	mp3_expect "$DB" "$id" ffprobe >exp.ffprobe &&
	mp3_ffprobe_tags "$f" >act.ffprobe &&
	test_cmp exp.ffprobe act.ffprobe &&
	sql "SELECT count(*) FROM track_art WHERE track_id = $id" >exp.pics &&
	mf_ffprobe_attached_pics "$f" >act.pics &&
	test_cmp exp.pics act.pics &&
	mp3_expect "$DB" "$id" taglib >exp.taglib &&
	mp3_taglib_tags "$f" >act.taglib &&
	test_cmp exp.taglib act.taglib
}

quiet_check () {
	check_readers "$1" >/dev/null 2>&1
}

mf_test 'make MP3 files with lame and tag them with mid3v2, mutagen and lame' '
	sox -n -r 44100 -c 2 -b 16 a.wav synth 1.5 sine 440 &&
	sox -n -r 22050 -c 1 -b 16 b.wav synth 1.2 sine 660 &&
	mf_make_jpeg front.jpg 120x90 red &&
	mf_make_jpeg back.jpg 64x48 blue &&
	mf_make_jpeg big.jpg 640x480 green &&
	mkdir lib &&
	lame --quiet -b 128 a.wav lib/cbr24.mp3 &&
	mid3v2 -t "CBR Two Four" -a "Ärtist" --TPE1 "Second Artist" \
		-A "Album 24" -T 1/3 -y 2020-01-02 -g Pop \
		-c ":a comment:eng" --TCOM "Composer X" \
		--TXXX "MusicBrainz Album Id:mb-album-1" \
		--TXXX "Mood Ring:blue" \
		-p "front.jpg:Front:3:image/jpeg" lib/cbr24.mp3 &&
	lame --quiet -V 4 b.wav lib/vbr23.mp3 &&
	"$MF_PY" - <<-\EOF &&
	from mutagen.id3 import (ID3, TIT2, TPE1, TALB, TRCK, TDRC, TCON,
	    COMM, PRIV, UFID, APIC, TXXX)
	t = ID3()
	t.add(TIT2(encoding=1, text=["VBR Two Three"]))
	t.add(TPE1(encoding=1, text=["AC/DC"]))
	t.add(TALB(encoding=0, text=["Album 23"]))
	t.add(TRCK(encoding=0, text=["2/5"]))
	t.add(TDRC(encoding=0, text=["1999-12-31"]))
	t.add(TCON(encoding=0, text=["(17)"]))
	t.add(COMM(encoding=1, lang="eng", desc="", text=["v2.3 comment"]))
	t.add(TXXX(encoding=1, desc="MusicBrainz Artist Id", text=["mb-artist-9"]))
	t.add(PRIV(owner="musefs@test", data=b"\x00\x01\xffpriv"))
	t.add(UFID(owner="http://musicbrainz.org", data=b"mb-recording-7"))
	t.add(APIC(encoding=1, mime="image/jpeg", type=3, desc="Cöver",
	           data=open("front.jpg", "rb").read()))
	t.add(APIC(encoding=0, mime="image/jpeg", type=4, desc="back",
	           data=open("back.jpg", "rb").read()))
	t.save("lib/vbr23.mp3", v2_version=3)
	EOF
	lame --quiet -b 96 a.wav lib/noart24.mp3 &&
	mid3v2 -t "No Art" -a "Solo" -A "Album 24" -T 2/3 -g Rock -y 2021 \
		lib/noart24.mp3 &&
	lame --quiet -b 64 --id3v1-only --tt "Version One" --ta "Old Band" \
		--tl "Old Album" --ty 1995 --tn 4 --tg Jazz --tc "v1 note" \
		b.wav lib/v1only.mp3 &&
	lame --quiet -V 2 --add-id3v2 --tt "Lame Tagged" --ta "Lame Artist" \
		--tl "Lame Album" --ty 2005 --tn 5/9 --tg Blues --ti back.jpg \
		a.wav lib/lametag.mp3 &&
	mid3v2 --list-raw lib/vbr23.mp3 | grep -F "PRIV(owner=" &&
	head -c 3 lib/vbr23.mp3 >magic && printf "ID3" | cmp - magic &&
	test "$(head -c 4 lib/vbr23.mp3 | tail -c 1 | od -An -tu1 | tr -d " ")" = 3 &&
	test "$(head -c 4 lib/cbr24.mp3 | tail -c 1 | od -An -tu1 | tr -d " ")" = 4 &&
	tail -c 128 lib/v1only.mp3 | head -c 3 >magic && printf TAG | cmp - magic &&
	tail -c 128 lib/lametag.mp3 | head -c 3 >magic && printf TAG | cmp - magic &&

	# corrupt files
	head -c 1000 lib/vbr23.mp3 >lib/bad-truncated.mp3 &&
	head -c 8192 /dev/urandom >lib/bad-random.mp3 &&
	{ printf "ID3\004\000\000\000\177\177\177" && cat lib/noart24.mp3; } \
		>lib/bad-pastend.mp3 &&
	"$MF_PY" - <<-\EOF &&
	body = b"TIT2" + bytes([0x7f, 0x7f, 0x7f, 0x7f, 0, 0]) + b"\x03huge"
	size = len(body)
	ss = bytes([(size >> 21) & 0x7f, (size >> 14) & 0x7f, (size >> 7) & 0x7f, size & 0x7f])
	audio = open("lib/noart24.mp3", "rb").read()
	audio = audio[10 + int.from_bytes(audio[6:10], "big"):] if audio[:3] == b"ID3" else audio
	open("lib/bad-frame.mp3", "wb").write(b"ID3\x04\x00\x00" + ss + body + audio)
	EOF
	{ printf "fLaC" && head -c 3000 lib/cbr24.mp3; } >lib/bad-notmp3.mp3
'

mf_test 'musefs-scan stores the good files and names each bad one with a reason' '
	test_expect_code 2 musefs-scan --db "$DB" lib >out 2>err &&
	cat err &&
	grep "bad-truncated\.mp3.*runs past end of file" err &&
	grep "bad-random\.mp3.*no mpeg audio frames" err &&
	grep "bad-pastend\.mp3.*runs past end of file" err &&
	grep "bad-frame\.mp3.*frame TIT2.*runs past the end of the tag" err &&
	grep "bad-notmp3\.mp3.*not an mp3 file.*FLAC" err &&
	grep "new=5 " out &&
	grep "failed=5 " out &&
	test "$(sql "SELECT count(*) FROM tracks WHERE format = '"'"'mp3'"'"'")" = 5
'

mf_test 'the store holds the mapped tags, binary frames and art' '
	id=$(tid vbr23) &&
	cat >expect <<-\EOF &&
	album=Album 23
	artist=AC/DC
	comment=v2.3 comment
	date=1999-12-31
	genre=Rock
	musicbrainz_artistid=mb-artist-9
	musicbrainz_recordingid=mb-recording-7
	title=VBR Two Three
	totaltracks=5
	tracknumber=2
	EOF
	mf_store_tags "$DB" "$id" >actual &&
	test_cmp expect actual &&
	test "$(sql "SELECT key || length(value_blob) FROM tags WHERE track_id = $id AND value_blob IS NOT NULL")" = id3:priv19 &&
	printf "%s\n" "3image/jpegCöver120x90" "4image/jpegback64x48" >expect &&
	sql "SELECT ta.picture_type || a.mime || ta.description || a.width || '"'"'x'"'"' || a.height FROM track_art ta JOIN art a ON a.id = ta.art_id WHERE track_id = $id ORDER BY ta.ordinal" | sort >actual &&
	test_cmp expect actual &&
	test "$(sql "SELECT sha256 FROM art a JOIN track_art ta ON ta.art_id = a.id WHERE track_id = $id AND picture_type = 3")" = "$(sha256sum front.jpg | cut -d" " -f1)" &&
	cat >expect <<-\EOF &&
	album=Old Album
	artist=Old Band
	comment=v1 note
	date=1995
	genre=Jazz
	title=Version One
	tracknumber=4
	EOF
	mf_store_tags "$DB" "$(tid v1only)" >actual &&
	test_cmp expect actual &&
	mf_store_tags "$DB" "$(tid cbr24)" >actual &&
	grep "^artist=Ärtist$" actual && grep "^artist=Second Artist$" actual &&
	grep "^musicbrainz_albumid=mb-album-1$" actual &&
	grep "^mood ring=blue$" actual && grep "^composer=Composer X$" actual &&
	grep "^totaltracks=3$" actual &&
	mf_store_tags "$DB" "$(tid lametag)" >actual &&
	grep "^title=Lame Tagged$" actual && grep "^tracknumber=5$" actual &&
	test "$(grep -c "^title=" actual)" = 1 &&
	test "$(sql "SELECT count(*) FROM track_art WHERE track_id = $(tid lametag)")" = 1 &&
	for f in $GOOD
	do
		id=$(tid $f) &&
		range=$(sql "SELECT audio_offset + audio_length FROM tracks WHERE id = $id") &&
		size=$(stat -c %s lib/$f.mp3) &&
		case $f in
		v1only|lametag) test "$range" -lt "$size" ;;
		*) test "$range" = "$size" ;;
		esac || return 1
	done
'

mf_test 'mount the library' '
	mf_mount mnt --db "$DB" --template "\$title" --poll-interval-ms 200
'

mf_test 'mutagen, ffprobe and TagLib read exactly the store tags and art' '
	for f in $GOOD
	do
		check_readers $f || return 1
	done
'

mf_test 'served art is the original image, byte for byte' '
	f=$(served vbr23) &&
	"$MF_PY" -c "
import sys
from mutagen.id3 import ID3
t = ID3(sys.argv[1])
sys.stdout.buffer.write([p for p in t.getall(\"APIC\") if p.desc == \"back\"][0].data)" "$f" >pic.jpg &&
	cmp pic.jpg back.jpg
'

mf_test 'served audio decodes to the original audio, cleanly' '
	for f in $GOOD
	do
		m=$(served $f) &&
		mf_audio_md5 lib/$f.mp3 >expect &&
		mf_audio_md5 "$m" >actual &&
		test_cmp expect actual &&
		mf_decode_clean "$m" &&
		mp3_taglib_props lib/$f.mp3 >expect &&
		mp3_taglib_props "$m" >actual &&
		test_cmp expect actual || return 1
	done
'

mf_test 'stat size, whole reads and random reads agree; audio is verbatim' '
	for f in $GOOD
	do
		m=$(served $f) &&
		mf_check_random_reads "$m" 200 &&
		id=$(tid $f) &&
		off=$(sql "SELECT audio_offset FROM tracks WHERE id = $id") &&
		len=$(sql "SELECT audio_length FROM tracks WHERE id = $id") &&
		tail -c "$len" "$m" >served.audio &&
		tail -c +$((off + 1)) lib/$f.mp3 | head -c "$len" >orig.audio &&
		cmp served.audio orig.audio &&
		# one ID3v2 tag and the audio: nothing else (no ID3v1 trailer)
		test "$(stat -c %s "$m")" = $((len + $("$MF_PY" -c "
import sys
h = open(sys.argv[1], \"rb\").read(10)
assert h[:3] == b\"ID3\" and h[3] == 4
print(10 + (h[6] << 21 | h[7] << 14 | h[8] << 7 | h[9]))" "$m"))) || return 1
	done
'

mf_test 'store edits show up live in all three readers' '
	id=$(tid noart24) &&
	sql "INSERT INTO tags (track_id, key, ordinal, value) VALUES ($id, '"'"'comment'"'"', 0, '"'"'added live'"'"')" &&
	mf_wait_until 5 quiet_check noart24 && check_readers noart24 &&
	sql "UPDATE tags SET value = '"'"'Changed Album'"'"' WHERE track_id = $id AND key = '"'"'album'"'"'" &&
	mf_wait_until 5 quiet_check noart24 && check_readers noart24 &&
	sql "DELETE FROM tags WHERE track_id = $id AND key = '"'"'genre'"'"'" &&
	mf_wait_until 5 quiet_check noart24 && check_readers noart24 &&
	grep "^comment=added live$" act.taglib &&
	grep "^album=Changed Album$" act.taglib &&
	grep "^genre=$" act.taglib
'

mf_test 'art edits: replace with a larger image, remove, add a second picture' '
	id=$(tid cbr24) &&
	before=$(stat -c %s "$(served cbr24)") &&
	mf_insert_art "$DB" "$id" big.jpg 3 "Bigger" &&
	sql "DELETE FROM track_art WHERE track_id = $id AND ordinal = 0" &&
	mf_wait_until 5 quiet_check cbr24 && check_readers cbr24 &&
	grep "^picture=3|image/jpeg|Bigger|$(sha256sum big.jpg | cut -d" " -f1)$" act.mutagen &&
	test "$(stat -c %s "$(served cbr24)")" -gt "$before" &&
	sql "DELETE FROM track_art WHERE track_id = $id" &&
	mf_wait_until 5 quiet_check cbr24 && check_readers cbr24 &&
	! grep "^picture=" act.mutagen &&
	id=$(tid noart24) &&
	mf_insert_art "$DB" "$id" front.jpg 3 "one" &&
	mf_insert_art "$DB" "$id" back.jpg 4 "two" &&
	mf_wait_until 5 quiet_check noart24 && check_readers noart24 &&
	test "$(grep -c "^picture=" act.mutagen)" = 2 &&
	mf_audio_md5 lib/noart24.mp3 >expect &&
	mf_audio_md5 "$(served noart24)" >actual &&
	test_cmp expect actual &&
	mf_check_random_reads "$(served noart24)" 100
'

mf_test 'unmount cleanly' '
	mf_umount mnt
'

test_done
