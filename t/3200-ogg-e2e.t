#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='end to end on Ogg Vorbis, Opus and FLAC

Files made with oggenc, opusenc and flac --ogg, tagged with vorbiscomment,
opusenc, flac and mutagen (pictures as METADATA_BLOCK_PICTURE, a legacy
COVERART, an Ogg FLAC PICTURE block, a big picture spanning many pages),
next to corrupt, chained and multiplexed files. Scan, mount, then check
every served file with mutagen, ffprobe and TagLib against the store, its
decoded audio against the original, every page (CRC, sequence numbers,
BOS) and random reads; then store edits show up live, with the header
page count changing (audio pages renumbered in flight).'

. "${0%/*}/lib.sh"
. "$MF_SOURCE/t/lib-fmt.sh"

mf_require_fuse
mf_require_progs sox oggenc vorbiscomment opusenc opusinfo ogginfo flac ffmpeg \
	ffprobe sqlite3 base64
test -x "$MF_PY" || skip_all "missing $MF_PY"
test -x "$MF_TAGLIB_DUMP" || skip_all "missing $MF_TAGLIB_DUMP"

SQ="'"
DB=$MF_TRASH/store.db

sql () {
	sqlite3 -batch -cmd '.timeout 5000' "$DB" "$@"
}

# Store keys to Vorbis field names (lowercase), as the writer spells them.
VORBIS_AWK='{
	i = index($0, "="); k = substr($0, 1, i - 1); v = substr($0, i + 1)
	if (k == "totaltracks") k = "tracktotal"
	else if (k == "totaldiscs") k = "disctotal"
	else if (k == "musicbrainz_recordingid") k = "musicbrainz_trackid"
	else if (k == "musicbrainz_trackid") k = "musicbrainz_releasetrackid"
	print k "=" v
}'

# ffmpeg renames some fields and joins repeated ones with ";".
FFPROBE_AWK='{
	i = index($0, "="); k = substr($0, 1, i - 1); v = substr($0, i + 1)
	if (k == "tracknumber") k = "track"
	else if (k == "albumartist") k = "album_artist"
	else if (k == "discnumber") k = "disc"
	else if (k == "description") k = "comment"
	if (k in val) val[k] = val[k] ";" v; else { val[k] = v; order[++n] = k }
}
END { for (j = 1; j <= n; j++) print order[j] "=" val[order[j]] }'

# Like mf_dump_ffprobe, but the audio stream only: ffmpeg gives each
# attached picture stream tags of its own (title, comment) from the
# METADATA_BLOCK_PICTURE description and type.
ffprobe_tags () {
	ffprobe -v error -select_streams a -show_entries format_tags:stream_tags \
		-of default=noprint_wrappers=1 "$1" >ffprobe.tmp 2>&1 ||
		{ cat ffprobe.tmp >&2; return 1; }
	sed -e 's/^TAG://' ffprobe.tmp |
		awk -F= '{ k = tolower($1); sub(/^[^=]*=/, ""); print k "=" $0 }' |
		LC_ALL=C sort -u
}

track_of () {
	mf_track_id "$DB" "$(mf_abs "lib/${1%/*}")/${1##*/}"
}

# What mutagen must print for track $1 whose mutagen class is $2.
expect_mutagen () {
	echo "format=$2" &&
	{
		mf_store_tags "$DB" "$1" | awk "$VORBIS_AWK" &&
		sql "SELECT 'picture=' || ta.picture_type || '|' || a.mime || '|' ||
			ta.description || '|' || a.sha256 FROM track_art ta
			JOIN art a ON a.id = ta.art_id WHERE ta.track_id = $1"
	} | LC_ALL=C sort
}

expect_ffprobe () {
	sql "SELECT key || '=' || value FROM tags WHERE track_id = $1 AND
		value_blob IS NULL ORDER BY key, ordinal" |
		awk "$VORBIS_AWK" | awk "$FFPROBE_AWK" | LC_ALL=C sort -u
}

# TagLib joins repeated fields with a space.
store_join () {
	sql "SELECT coalesce(group_concat(value, ' '), '') FROM (SELECT value
		FROM tags WHERE track_id = $1 AND key = '$2' ORDER BY ordinal)"
}

expect_taglib () {
	echo "title=$(store_join "$1" title)" &&
	echo "artist=$(store_join "$1" artist)" &&
	echo "album=$(store_join "$1" album)" &&
	echo "genre=$(store_join "$1" genre)" &&
	echo "track=$(sql "SELECT coalesce(max(CAST(value AS INTEGER)), 0)
		FROM tags WHERE track_id = $1 AND key = 'tracknumber'")"
}

# All three readers show exactly the store's tags and pictures for the
# served file $1 of track $2 (mutagen class $3).
readers_agree () {
	expect_mutagen "$2" "$3" >exp.mutagen &&
	mf_dump_mutagen "$1" >act.mutagen &&
	test_cmp exp.mutagen act.mutagen &&
	expect_ffprobe "$2" >exp.ffprobe &&
	ffprobe_tags "$1" >act.ffprobe &&
	test_cmp exp.ffprobe act.ffprobe &&
	expect_taglib "$2" >exp.taglib &&
	mf_dump_taglib "$1" | grep -E "^(title|artist|album|genre|track)=" >act.taglib &&
	test_cmp exp.taglib act.taglib &&
	sql "SELECT count(*) FROM track_art WHERE track_id = $2" >exp.npics &&
	mf_ffprobe_attached_pics "$1" >act.npics &&
	test_cmp exp.npics act.npics
}

# Quiet variant for mf_wait_until.
readers_agree_quiet () {
	readers_agree "$@" >/dev/null 2>&1
}

# The codec's own checker (ogginfo, opusinfo, flac -t) has no complaint.
validator_ok () {
	case $1 in
	*.ogg) ogginfo "$1" >vinfo 2>&1 ;;
	*.opus) opusinfo "$1" >vinfo 2>&1 ;;
	*) flac -t -s "$1" >vinfo 2>&1 ;;
	esac &&
	! grep -i "warning\|error" vinfo
}

# Served file $1 is a valid Ogg stream decoding to the audio of $2.
audio_ok () {
	"$MF_PY" ogg_check.py "$1" >/dev/null &&
	validator_ok "$1" &&
	mf_decode_clean "$1" &&
	mf_audio_md5 "$2" >md5.orig &&
	mf_audio_md5 "$1" >md5.served &&
	test_cmp md5.orig md5.served &&
	mf_check_random_reads "$1" 60
}

mf_test 'set up a library of Ogg files, good and bad' '
	cat >oggcrc.py <<-\EOF &&
	# The Ogg page CRC (RFC 3533: polynomial 0x04c11db7, no reflection).
	T = []
	for i in range(256):
	    r = i << 24
	    for _ in range(8):
	        r = ((r << 1) ^ 0x04c11db7) if r & 0x80000000 else (r << 1)
	    T.append(r & 0xffffffff)
	def crc(data):
	    c = 0
	    for b in data:
	        c = ((c << 8) & 0xffffffff) ^ T[((c >> 24) ^ b) & 0xff]
	    return c
	EOF
	cat >ogg_check.py <<-\EOF &&
	import sys
	from oggcrc import crc
	# Check every Ogg page of a file (RFC 3533): capture pattern, version,
	# CRC, one serial number, sequence numbers 0, 1, 2..., BOS on the first
	# page only, pages tiling the file. Print the number of pages.
	d = open(sys.argv[1], "rb").read()
	off = n = 0
	serial = None
	while off < len(d):
	    if d[off:off + 4] != b"OggS" or d[off + 4] != 0:
	        sys.exit("no page at offset %d" % off)
	    nseg = d[off + 26]
	    plen = 27 + nseg + sum(d[off + 27:off + 27 + nseg])
	    page = bytearray(d[off:off + plen])
	    if len(page) != plen:
	        sys.exit("truncated page at offset %d" % off)
	    stored = int.from_bytes(page[22:26], "little")
	    page[22:26] = bytes(4)
	    if crc(page) != stored:
	        sys.exit("bad CRC on page %d" % n)
	    ser = int.from_bytes(page[14:18], "little")
	    serial = ser if serial is None else serial
	    if ser != serial:
	        sys.exit("serial number changes on page %d" % n)
	    if int.from_bytes(page[18:22], "little") != n:
	        sys.exit("page %d has sequence number %d" % (n, int.from_bytes(page[18:22], "little")))
	    if bool(page[5] & 2) != (n == 0):
	        sys.exit("BOS flag wrong on page %d" % n)
	    n += 1
	    off += plen
	print(n)
	EOF
	cat >add_pic.py <<-\EOF &&
	# add_pic.py FILE IMAGE TYPE DESC: append a METADATA_BLOCK_PICTURE with
	# mutagen (dimensions left 0: the scanner reads them from the image).
	import base64, sys, mutagen
	from mutagen.flac import Picture
	f = mutagen.File(sys.argv[1])
	p = Picture()
	p.type = int(sys.argv[3])
	p.mime = "image/jpeg"
	p.desc = sys.argv[4]
	p.data = open(sys.argv[2], "rb").read()
	old = f.tags.get("metadata_block_picture", []) if f.tags else []
	f["metadata_block_picture"] = old + [base64.b64encode(p.write()).decode("ascii")]
	f.save()
	EOF
	cat >tag.py <<-\EOF &&
	# tag.py FILE FIELD=VALUE...: set Vorbis comments with mutagen.
	import sys, mutagen
	f = mutagen.File(sys.argv[1])
	vals = {}
	for a in sys.argv[2:]:
	    k, v = a.split("=", 1)
	    vals.setdefault(k, []).append(v)
	for k, v in vals.items():
	    f[k] = v
	f.save()
	EOF
	cat >vendor.py <<-\EOF &&
	# vendor.py IN OUT: set the comment header vendor length of an Ogg
	# Vorbis file past the end of its packet, with a valid page CRC.
	import sys
	from oggcrc import crc
	d = bytearray(open(sys.argv[1], "rb").read())
	p1 = 27 + d[26] + sum(d[27:27 + d[26]])
	body = p1 + 27 + d[p1 + 26]
	assert d[body:body + 7] == b"\x03vorbis"
	d[body + 7:body + 11] = (0x7ffffff0).to_bytes(4, "little")
	end = body + sum(d[p1 + 27:p1 + 27 + d[p1 + 26]])
	d[p1 + 22:p1 + 26] = bytes(4)
	d[p1 + 22:p1 + 26] = crc(d[p1:end]).to_bytes(4, "little")
	open(sys.argv[2], "wb").write(d)
	EOF
	mkdir -p lib/vorbis lib/opus lib/flac lib/bad &&
	sox -n -r 44100 -c 2 -b 16 a.wav synth 2 sine 440 &&
	sox -n -r 44100 -c 2 -b 16 b.wav synth 1.5 sine 660 &&
	sox -n -r 48000 -c 1 -b 16 c.wav synth 1 sine 550 &&
	mf_make_jpeg cover.jpg 300x200 red &&
	mf_make_jpeg back.jpg 64x64 blue &&
	ffmpeg -nostdin -v error -y -f lavfi \
		-i "nullsrc=s=700x700,geq=random(1)*255:128:128" \
		-frames:v 1 -q:v 2 big.jpg &&
	test $(stat -c %s big.jpg) -gt 200000 &&
	set -- -t "ARTIST=One" -t "ARTIST=Two" -t "ALBUM=Ogg Album" \
		-t "DATE=2024" -t "GENRE=Test" -t "TRACKTOTAL=12" \
		-t "CUSTOMTAG=custom Ünï" &&

	oggenc -Q -o lib/vorbis/plain.ogg a.wav &&
	vorbiscomment -R -w -t "TITLE=V Plain" -t TRACKNUMBER=1 "$@" lib/vorbis/plain.ogg &&
	oggenc -Q -o lib/vorbis/art.ogg b.wav &&
	vorbiscomment -R -w -t "TITLE=V Art" -t TRACKNUMBER=2 "$@" lib/vorbis/art.ogg &&
	"$MF_PY" add_pic.py lib/vorbis/art.ogg cover.jpg 3 "front" &&
	"$MF_PY" add_pic.py lib/vorbis/art.ogg back.jpg 4 "back" &&
	oggenc -Q -o lib/vorbis/big.ogg c.wav &&
	vorbiscomment -R -w -t "TITLE=V Big" -t TRACKNUMBER=3 "$@" lib/vorbis/big.ogg &&
	"$MF_PY" add_pic.py lib/vorbis/big.ogg big.jpg 3 "big one" &&
	oggenc -Q -o lib/vorbis/cover.ogg c.wav &&
	vorbiscomment -R -w -t "TITLE=V Cover" -t TRACKNUMBER=4 "$@" \
		-t COVERARTMIME=image/jpeg -t "COVERART=$(base64 -w0 back.jpg)" \
		lib/vorbis/cover.ogg &&

	opusenc --quiet --title "O Plain" --artist One --artist Two \
		--album "Ogg Album" --date 2024 --genre Test --tracknumber 5 \
		--comment TRACKTOTAL=12 --comment "CUSTOMTAG=custom Ünï" \
		a.wav lib/opus/plain.opus &&
	opusenc --quiet --title "O Art" --artist One --tracknumber 6 \
		--picture "3||opus front||cover.jpg" b.wav lib/opus/art.opus &&
	opusenc --quiet --title "O In Ogg" --artist One c.wav lib/opus/opus-in.ogg &&

	flac -s --ogg -T "TITLE=F Plain" -T TRACKNUMBER=7 -o lib/flac/plain.oga a.wav &&
	"$MF_PY" tag.py lib/flac/plain.oga "ARTIST=One" "ARTIST=Two" \
		"ALBUM=Ogg Album" "CUSTOMTAG=custom Ünï" "TITLE=F Plain" \
		"TRACKNUMBER=7" &&
	flac -s --ogg -T "TITLE=F Art" -T ARTIST=One -T TRACKNUMBER=8 \
		--picture "3|image/jpeg|flac front||cover.jpg" -o lib/flac/art.oga b.wav &&
	flac -s --ogg -T "TITLE=F Mbp" -T ARTIST=One -o lib/flac/mbp.oga c.wav &&
	"$MF_PY" add_pic.py lib/flac/mbp.oga back.jpg 0 "other" &&
	flac -s --ogg -T "TITLE=F In Ogg" -o lib/flac/flac-in.ogg c.wav &&

	head -c 3000 lib/vorbis/plain.ogg >lib/bad/truncated.ogg &&
	head -c 4096 /dev/urandom >lib/bad/random.opus &&
	"$MF_PY" vendor.py lib/vorbis/plain.ogg lib/bad/vendor.ogg &&
	cat lib/vorbis/plain.ogg lib/vorbis/art.ogg >lib/bad/chained.ogg &&
	ffmpeg -nostdin -v error -i lib/vorbis/plain.ogg -i lib/opus/plain.opus \
		-map 0 -map 1 -c copy -f ogg lib/bad/mux.ogg &&
	flac -s -o lib/bad/native.oga a.wav &&

	cat >expect-paths <<-\EOF
	F Art.oga
	F In Ogg.oga
	F Mbp.oga
	F Plain.oga
	O Art.opus
	O In Ogg.opus
	O Plain.opus
	V Art.ogg
	V Big.ogg
	V Cover.ogg
	V Plain.ogg
	EOF
'

mf_test 'musefs-scan stores the good files and names the bad ones' '
	test_expect_code 2 musefs-scan --db "$DB" lib >out 2>err &&
	cat err &&
	grep "truncated.ogg.*runs past end of file" err &&
	grep "random.opus.*not an Ogg file" err &&
	grep "vendor.ogg.*comment header is malformed" err &&
	grep "chained.ogg.*chained ogg file" err &&
	grep "mux.ogg.*multiplexed ogg file" err &&
	grep "native.oga.*not an Ogg file.*FLAC" err &&
	test $(grep -c "^musefs-scan: " err) = 6 &&
	echo 11 >expect &&
	sql "SELECT count(*) FROM tracks" >actual &&
	test_cmp expect actual
'

mf_test 'store formats come from the content, not the extension' '
	cat >expect <<-\EOF &&
	flac/art.oga|oggflac
	flac/flac-in.ogg|oggflac
	flac/mbp.oga|oggflac
	flac/plain.oga|oggflac
	opus/art.opus|opus
	opus/opus-in.ogg|opus
	opus/plain.opus|opus
	vorbis/art.ogg|vorbis
	vorbis/big.ogg|vorbis
	vorbis/cover.ogg|vorbis
	vorbis/plain.ogg|vorbis
	EOF
	sql "SELECT substr(backing_path, length(${SQ}$MF_TRASH/lib/${SQ}) + 1) || ${SQ}|${SQ} ||
		format FROM tracks ORDER BY 1" >actual &&
	test_cmp expect actual
'

mf_test 'the probe read tags, pictures and properties' '
	id=$(track_of vorbis/plain.ogg) &&
	cat >expect <<-\EOF &&
	album=Ogg Album
	artist=One
	artist=Two
	customtag=custom Ünï
	date=2024
	genre=Test
	title=V Plain
	totaltracks=12
	tracknumber=1
	EOF
	mf_store_tags "$DB" "$id" >actual &&
	test_cmp expect actual &&
	# dimensions from the image when the picture block says 0
	cat >expect <<-\EOF &&
	3|image/jpeg|front|300|200
	4|image/jpeg|back|64|64
	EOF
	sql "SELECT ta.picture_type || ${SQ}|${SQ} || a.mime || ${SQ}|${SQ} || ta.description ||
		${SQ}|${SQ} || a.width || ${SQ}|${SQ} || a.height FROM track_art ta JOIN art a
		ON a.id = ta.art_id WHERE ta.track_id = $(track_of vorbis/art.ogg)
		ORDER BY ta.ordinal" >actual &&
	test_cmp expect actual &&
	echo "3|image/jpeg||64|64" >expect &&
	sql "SELECT ta.picture_type || ${SQ}|${SQ} || a.mime || ${SQ}|${SQ} || ta.description ||
		${SQ}|${SQ} || a.width || ${SQ}|${SQ} || a.height FROM track_art ta JOIN art a
		ON a.id = ta.art_id WHERE ta.track_id = $(track_of vorbis/cover.ogg)" >actual &&
	test_cmp expect actual &&
	echo "3|flac front" >expect &&
	sql "SELECT picture_type || ${SQ}|${SQ} || description FROM track_art
		WHERE track_id = $(track_of flac/art.oga)" >actual &&
	test_cmp expect actual &&
	sha256sum <big.jpg | cut -d" " -f1 >expect &&
	sql "SELECT a.sha256 FROM track_art ta JOIN art a ON a.id = ta.art_id
		WHERE ta.track_id = $(track_of vorbis/big.ogg)" >actual &&
	test_cmp expect actual &&
	echo "48000|1|1000" >expect &&
	sql "SELECT sample_rate || ${SQ}|${SQ} || channels || ${SQ}|${SQ} || duration_ms
		FROM track_props WHERE track_id = $(track_of opus/opus-in.ogg)" >actual &&
	test_cmp expect actual &&
	echo "44100|2|16|88200|2000" >expect &&
	sql "SELECT sample_rate || ${SQ}|${SQ} || channels || ${SQ}|${SQ} || bits_per_sample ||
		${SQ}|${SQ} || total_samples || ${SQ}|${SQ} || duration_ms FROM track_props
		WHERE track_id = $(track_of flac/plain.oga)" >actual &&
	test_cmp expect actual
'

mf_test 'mount the library' '
	mf_mount mnt --db "$DB" --template "\$title" --poll-interval-ms 200 &&
	(cd mnt && find . -type f) | sed "s|^\./||" | sort >actual &&
	test_cmp expect-paths actual
'

# The served name, mutagen class and backing file of every good file.
cat >served.txt <<\EOF
V Plain.ogg|OggVorbis|vorbis/plain.ogg
V Art.ogg|OggVorbis|vorbis/art.ogg
V Big.ogg|OggVorbis|vorbis/big.ogg
V Cover.ogg|OggVorbis|vorbis/cover.ogg
O Plain.opus|OggOpus|opus/plain.opus
O Art.opus|OggOpus|opus/art.opus
O In Ogg.opus|OggOpus|opus/opus-in.ogg
F Plain.oga|OggFLAC|flac/plain.oga
F Art.oga|OggFLAC|flac/art.oga
F Mbp.oga|OggFLAC|flac/mbp.oga
F In Ogg.oga|OggFLAC|flac/flac-in.ogg
EOF

mf_test 'mutagen, ffprobe and TagLib show exactly the store' '
	while IFS="|" read -r m cls p <&3
	do
		readers_agree "mnt/$m" "$(track_of "$p")" "$cls" || return 1
	done 3<served.txt
'

mf_test 'served pictures are the original image bytes' '
	# the big picture is the whole JPEG, through the streamed base64
	mf_dump_mutagen "mnt/V Big.ogg" | grep "^picture=" >actual &&
	echo "picture=3|image/jpeg|big one|$(sha256sum <big.jpg | cut -d" " -f1)" >expect &&
	test_cmp expect actual &&
	mf_dump_mutagen "mnt/F Art.oga" | grep "^picture=" >actual &&
	echo "picture=3|image/jpeg|flac front|$(sha256sum <cover.jpg | cut -d" " -f1)" >expect &&
	test_cmp expect actual &&
	ffmpeg -nostdin -v error -y -i "mnt/O Art.opus" -map 0:v -c copy -f image2 pic.jpg &&
	cmp pic.jpg cover.jpg
'

mf_test 'served files: valid pages, same decoded audio, clean decode, random reads' '
	while IFS="|" read -r m cls p <&3
	do
		audio_ok "mnt/$m" "lib/$p" || return 1
	done 3<served.txt
'

mf_test 'the served audio pages are the original pages' '
	while IFS="|" read -r m cls p <&3
	do
		id=$(track_of "$p") &&
		range=$(sql "SELECT audio_offset || ${SQ} ${SQ} || audio_length FROM tracks WHERE id = $id") &&
		"$MF_PY" - "mnt/$m" "lib/$p" $range <<-\EOF || return 1
		import sys
		served = open(sys.argv[1], "rb").read()
		orig = open(sys.argv[2], "rb").read()
		off, n = int(sys.argv[3]), int(sys.argv[4])
		a, b = served[len(served) - n:], orig[off:off + n]
		assert len(a) == n and len(b) == n
		pos = 0
		while pos < n:  # equal but for sequence number and CRC
		    plen = 27 + b[pos + 26] + sum(b[pos + 27:pos + 27 + b[pos + 26]])
		    assert a[pos:pos + 18] == b[pos:pos + 18], pos
		    assert a[pos + 26:pos + plen] == b[pos + 26:pos + plen], pos
		    pos += plen
		EOF
	done 3<served.txt
'

# Edits on one file of each codec.
cat >edit.txt <<\EOF
V Plain.ogg|OggVorbis|vorbis/plain.ogg
O Plain.opus|OggOpus|opus/plain.opus
F Plain.oga|OggFLAC|flac/plain.oga
EOF

mf_test 'store edits of tags show up live in all three readers' '
	while IFS="|" read -r m cls p <&3
	do
		id=$(track_of "$p") &&
		sql "INSERT INTO tags (track_id, key, ordinal, value) VALUES
			($id, ${SQ}mood${SQ}, 0, ${SQ}Happy${SQ}), ($id, ${SQ}genre${SQ}, 1, ${SQ}Second${SQ});
			UPDATE tags SET value = ${SQ}New Album${SQ} WHERE track_id = $id AND key = ${SQ}album${SQ};
			DELETE FROM tags WHERE track_id = $id AND key = ${SQ}customtag${SQ};" &&
		mf_wait_until 5 readers_agree_quiet "mnt/$m" "$id" "$cls" &&
		readers_agree "mnt/$m" "$id" "$cls" &&
		mf_dump_mutagen "mnt/$m" >act &&
		grep "^mood=Happy$" act && grep "^album=New Album$" act &&
		! grep "^customtag=" act &&
		audio_ok "mnt/$m" "lib/$p" || return 1
	done 3<edit.txt
'

mf_test 'a larger picture adds header pages: audio pages renumbered in flight' '
	while IFS="|" read -r m cls p <&3
	do
		id=$(track_of "$p") &&
		n_orig=$("$MF_PY" ogg_check.py "lib/$p") &&
		n_before=$("$MF_PY" ogg_check.py "mnt/$m") &&
		mf_insert_art "$DB" "$id" cover.jpg 3 "small" &&
		mf_wait_until 5 readers_agree_quiet "mnt/$m" "$id" "$cls" &&
		sql "DELETE FROM track_art WHERE track_id = $id" &&
		mf_insert_art "$DB" "$id" big.jpg 3 "bigger" &&
		mf_wait_until 5 readers_agree_quiet "mnt/$m" "$id" "$cls" &&
		readers_agree "mnt/$m" "$id" "$cls" &&
		n_after=$("$MF_PY" ogg_check.py "mnt/$m") &&
		test "$n_after" -gt "$n_before" &&
		test "$n_after" -gt "$n_orig" &&
		mf_dump_mutagen "mnt/$m" | grep "^picture=" >actual &&
		echo "picture=3|image/jpeg|bigger|$(sha256sum <big.jpg | cut -d" " -f1)" >expect &&
		test_cmp expect actual &&
		audio_ok "mnt/$m" "lib/$p" || return 1
	done 3<edit.txt
'

mf_test 'a second picture, then no picture, show up live' '
	while IFS="|" read -r m cls p <&3
	do
		id=$(track_of "$p") &&
		mf_insert_art "$DB" "$id" back.jpg 4 "second" &&
		mf_wait_until 5 readers_agree_quiet "mnt/$m" "$id" "$cls" &&
		readers_agree "mnt/$m" "$id" "$cls" &&
		test $(mf_dump_mutagen "mnt/$m" | grep -c "^picture=") = 2 &&
		audio_ok "mnt/$m" "lib/$p" &&
		sql "DELETE FROM track_art WHERE track_id = $id" &&
		mf_wait_until 5 readers_agree_quiet "mnt/$m" "$id" "$cls" &&
		readers_agree "mnt/$m" "$id" "$cls" &&
		! mf_dump_mutagen "mnt/$m" | grep "^picture=" &&
		audio_ok "mnt/$m" "lib/$p" || return 1
	done 3<edit.txt
'

mf_test 'unmount' '
	mf_umount mnt
'

test_done
