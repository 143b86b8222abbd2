#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='end to end on WAV: scan, mount, read with mutagen, ffprobe and TagLib

WAV files made by sox (16- and 24-bit, mono and stereo) and ffmpeg,
tagged with an ffmpeg LIST/INFO, with mutagen (WAVE "id3 " chunk, ID3v2.4
with a cover and a PRIV frame) or both, one with an odd-sized custom
chunk, one untagged, next to corrupt and refused files. Every served file
is read by three independent readers, each checked against the store;
audio, byte ranges and kept chunks are compared with the originals; store
edits show up live.'

. "${0%/*}/lib.sh"
. "$MF_SOURCE/t/lib-fmt.sh"

mf_require_fuse
mf_require_progs sox ffmpeg ffprobe sqlite3
test -x "$MF_PY" || skip_all 'missing /usr/bin/python3'
"$MF_PY" -c 'import mutagen' 2>/dev/null || skip_all 'missing python3-mutagen'
test -x "$MF_TAGLIB_DUMP" || skip_all 'missing the taglib_dump helper'

DB=$MF_TRASH/store.db
TEMPLATE='$title'
SQ="'"

sql () {
	sqlite3 -batch -cmd '.timeout 5000' "$DB" "$@"
}

# The track id of library file lib/$1.
wav_id () {
	mf_track_id "$DB" "$(mf_abs lib)/$1"
}

# wav_expect READER TRACK_ID: what READER (mutagen, ffprobe, taglib) must
# show for the track, derived from the store by expect.py.
wav_expect () {
	"$MF_PY" expect.py "$DB" "$2" "$1"
}

# wav_show READER FILE: what READER shows, in the same form.
wav_show () {
	case $1 in
	mutagen) mf_dump_mutagen "$2" ;;
	ffprobe)
		ffprobe -v error -show_entries format_tags \
			-of default=noprint_wrappers=1 "$2" >ffprobe.out || return 1
		sed -e 's/^TAG://' ffprobe.out |
			awk -F= '{ k = tolower($1); sub(/^[^=]*=/, ""); print k "=" $0 }' |
			LC_ALL=C sort
		;;
	taglib) mf_dump_taglib "$2" | grep -v -e '^length=' -e '^bitrate=' \
		-e '^samplerate=' -e '^channels=' ;;
	esac
}

# wav_check_readers NAME: the three readers show the store's view of
# lib/NAME.wav, served as mnt/$(title).wav.
wav_check_readers () {
	id=$(wav_id "$1.wav") &&
	title=$(sql "SELECT value FROM tags WHERE track_id = $id AND key = 'title' ORDER BY ordinal LIMIT 1") &&
	served="mnt/${title:-Untitled}.wav" &&
	for reader in mutagen ffprobe taglib
	do
		wav_expect $reader "$id" >"expect.$1.$reader" &&
		wav_show $reader "$served" >"actual.$1.$reader" &&
		test_cmp "expect.$1.$reader" "actual.$1.$reader" || return 1
	done
}

# Quietly, for mf_wait_until.
wav_readers_agree () {
	wav_check_readers "$1" >/dev/null 2>&1
}

mf_test 'make WAV files with sox and ffmpeg, tag them with ffmpeg and mutagen' '
	cat >expect.py <<\EOF &&
# expect.py DB TRACK_ID READER: what a reader must show for a served WAV
# file (the id3 chunk holds every tag; ffmpeg prefers LIST/INFO, which
# holds the INFO-able tags with values joined by "; ", and discards ID3
# text then; TagLib C API reads the ID3v2 tag).
import hashlib, sqlite3, sys
db, tid, reader = sys.argv[1], int(sys.argv[2]), sys.argv[3]
c = sqlite3.connect(db)
tags = {}
order = []
bins = []
for k, v, b in c.execute("SELECT key, value, value_blob FROM tags WHERE track_id = ? ORDER BY key, ordinal", (tid,)):
    if b is not None:
        bins.append((k, bytes(b)))
        continue
    if k not in tags:
        tags[k] = []
        order.append(k)
    tags[k].append(v)
pics = list(c.execute("SELECT ta.picture_type, a.mime, ta.description, a.data FROM track_art ta JOIN art a ON a.id = ta.art_id WHERE ta.track_id = ? ORDER BY ta.ordinal", (tid,)))
def esc(v):
    return v.replace("\\", "\\\\").replace("\n", "\\n")
out = []
if reader == "mutagen":
    frames = {"title": "TIT2", "artist": "TPE1", "album": "TALB",
              "albumartist": "TPE2", "date": "TDRC", "genre": "TCON",
              "copyright": "TCOP", "encodersettings": "TSSE",
              "language": "TLAN", "encodedby": "TENC", "composer": "TCOM",
              "media": "TMED"}
    txxx = {"musicbrainz_albumid": "MusicBrainz Album Id",
            "releasecountry": "MusicBrainz Album Release Country",
            "writer": "Writer"}
    for k in order:
        vals = tags[k]
        if k in frames:
            out += ["%s=%s" % (frames[k], esc(v)) for v in vals]
        elif k == "tracknumber":
            t = tags.get("totaltracks")
            out.append("TRCK=%s" % (vals[0] + ("/" + t[0] if t else "")))
        elif k == "totaltracks" and "tracknumber" in tags:
            pass
        elif k == "comment":
            out.append("COMM::eng=%s" % esc("\n".join(vals)))
        else:
            out += ["TXXX:%s=%s" % (txxx.get(k, k), esc(v)) for v in vals]
    for t, m, d, data in pics:
        out.append("picture=%d|%s|%s|%s" % (t, m, esc(d), hashlib.sha256(data).hexdigest()))
    for k, b in bins:
        if k == "id3:priv":
            owner, data = b.split(b"\0", 1)
            out.append("PRIV:%s=sha256:%s" % (owner.decode(), hashlib.sha256(data).hexdigest()))
    if out:
        out.append("id3.version=2.4.0")
    print("format=WAVE")
elif reader == "ffprobe":
    names = {"title": "title", "artist": "artist", "album": "album",
             "genre": "genre", "date": "date", "comment": "comment",
             "tracknumber": "track", "copyright": "copyright",
             "encodersettings": "encoder", "language": "language",
             "riff:itch": "encoded_by", "engineer": "ieng",
             "releasecountry": "icnt", "encodedby": "ienc",
             "media": "imed", "composer": "imus", "producer": "ipro",
             "writer": "iwri"}
    for k in order:
        n = names.get(k)
        if n is None and k.startswith("riff:") and len(k) == 9:
            n = k[5:]
        if n is not None:
            out.append("%s=%s" % (n, "; ".join(tags[k])))
    # ffmpeg adds the PRIV frames of the id3 chunk to the format tags
    for k, b in bins:
        if k == "id3:priv":
            owner, data = b.split(b"\0", 1)
            out.append("id3v2_priv.%s=%s" % (owner.decode(), "".join(
                chr(x) if 32 <= x <= 126 and x != 92 else "\\x%02x" % x
                for x in data)))
elif reader == "taglib":
    def j(k):
        return " ".join(tags.get(k, []))
    def num(s):
        d = ""
        for ch in s:
            if not ch.isdigit():
                break
            d += ch
        return int(d) if d else 0
    print("title=%s\nartist=%s\nalbum=%s\ncomment=%s\ngenre=%s\nyear=%d\ntrack=%d"
          % (j("title"), j("artist"), j("album"), j("comment"), j("genre"),
             num(j("date")[:4]), num(tags.get("tracknumber", [""])[0])))
for line in sorted(out):
    print(line)
EOF
	cat >chunks.py <<\EOF &&
# chunks.py FILE: the RIFF chunks of FILE except those musefs rebuilds or
# drops (LIST/INFO, id3, JUNK), as "id size sha256", in file order.
import hashlib, struct, sys
d = open(sys.argv[1], "rb").read()
assert d[:4] == b"RIFF" and d[8:12] == b"WAVE"
assert struct.unpack("<I", d[4:8])[0] + 8 == len(d), "riff size"
p = 12
while p < len(d):
    cid, n = d[p:p + 4], struct.unpack("<I", d[p + 4:p + 8])[0]
    body = d[p + 8:p + 8 + n]
    assert len(body) == n, "chunk past end"
    if not (cid in (b"id3 ", b"ID3 ", b"JUNK") or (cid == b"LIST" and body[:4] == b"INFO")):
        print(cid.decode(), n, hashlib.sha256(body).hexdigest())
    p += 8 + n + (n & 1)
EOF
	mkdir lib &&
	mf_make_jpeg cover.jpg 120x120 red &&
	mf_make_jpeg big.jpg 600x600 blue &&
	ffmpeg -nostdin -v error -f lavfi -i color=c=green:s=32x16 -frames:v 1 small.png &&

	# one: sox 16-bit stereo, mutagen ID3v2.4 with a cover
	sox -D -n -r 44100 -c 2 -b 16 lib/one.wav synth 0.5 sine 440 &&
	"$MF_PY" - <<-\EOF &&
	import mutagen.wave
	from mutagen.id3 import TIT2, TPE1, TALB, TPE2, TDRC, TCON, COMM, TRCK, TXXX, APIC
	w = mutagen.wave.WAVE("lib/one.wav")
	w.add_tags()
	for f in (TIT2(encoding=3, text=["One"]), TPE1(encoding=3, text=["X", "Ÿ"]),
	          TALB(encoding=3, text=["Album Ü"]), TPE2(encoding=3, text=["AA"]),
	          TDRC(encoding=3, text=["2021-03-04"]), TCON(encoding=3, text=["Rock"]),
	          COMM(encoding=3, lang="eng", desc="", text=["a comment"]),
	          TRCK(encoding=3, text=["1/5"]),
	          TXXX(encoding=3, desc="MusicBrainz Album Id", text=["abc-123"]),
	          TXXX(encoding=3, desc="Custom", text=["cv"]),
	          APIC(encoding=3, mime="image/jpeg", type=3, desc="front",
	               data=open("cover.jpg", "rb").read())):
	    w.tags.add(f)
	w.save()
	EOF

	# two: sox 24-bit mono, ffmpeg LIST/INFO, an odd-sized chunk before data
	sox -D -n -r 48000 -c 1 -b 24 two-src.wav synth 0.4 sine 300 &&
	ffmpeg -nostdin -v error -i two-src.wav -c:a copy -metadata title=Two \
		-metadata artist=Solo -metadata album=Album2 -metadata genre=Jazz \
		-metadata date=1999 -metadata track=2 -metadata comment=c2 \
		-metadata copyright=Cpy two-info.wav &&
	"$MF_PY" - <<-\EOF &&
	import struct
	d = open("two-info.wav", "rb").read()
	p = d.index(b"data")
	odd = b"abcd" + struct.pack("<I", 5) + b"hello" + b"\0"
	d = d[:p] + odd + d[p:]
	d = d[:4] + struct.pack("<I", len(d) - 8) + d[8:]
	open("lib/two.wav", "wb").write(d)
	EOF

	# three: ffmpeg 24-bit stereo with INFO, then mutagen ID3 (PNG, PRIV)
	ffmpeg -nostdin -v error -f lavfi -i "sine=frequency=500:duration=0.3" \
		-ac 2 -c:a pcm_s24le -metadata title="Info Title" \
		-metadata artist="Info Artist" -metadata album=Album3 lib/three.wav &&
	"$MF_PY" - <<-\EOF &&
	import mutagen.wave
	from mutagen.id3 import TIT2, TPE1, APIC, PRIV
	w = mutagen.wave.WAVE("lib/three.wav")
	w.add_tags()
	for f in (TIT2(encoding=3, text=["Three"]), TPE1(encoding=3, text=["Id3 Artist"]),
	          PRIV(owner="org.example", data=bytes(range(40))),
	          APIC(encoding=3, mime="image/png", type=4, desc="back",
	               data=open("small.png", "rb").read())):
	    w.tags.add(f)
	w.save()
	EOF

	# four: sox 16-bit mono 8 kHz, no tags at all
	sox -D -n -r 8000 -c 1 -b 16 lib/four.wav synth 0.6 sine 200 &&

	# corrupt and refused files
	head -c 1000 lib/one.wav >lib/bad-truncated.wav &&
	head -c 4096 /dev/urandom >lib/bad-random.wav &&
	"$MF_PY" - <<-\EOF &&
	import struct
	d = bytearray(open("lib/four.wav", "rb").read())
	p = d.index(b"data")
	d[p + 4:p + 8] = struct.pack("<I", 0x7fffff00)
	open("lib/bad-pastend.wav", "wb").write(d)
	EOF
	# huge: the ID3 frame after TIT2 claims 256 MiB
	cp lib/one.wav lib/huge.wav &&
	"$MF_PY" - <<-\EOF &&
	import mutagen.wave
	from mutagen.id3 import TIT2
	w = mutagen.wave.WAVE("lib/huge.wav")
	w.tags.add(TIT2(encoding=3, text=["Huge"]))
	w.save()
	d = bytearray(open("lib/huge.wav", "rb").read())
	p = d.index(b"id3 ") + 8 + 10
	assert d[p:p + 4] == b"TIT2"
	n = (d[p + 4] << 21) | (d[p + 5] << 14) | (d[p + 6] << 7) | d[p + 7]
	p += 10 + n
	d[p + 4:p + 8] = bytes([0x7f, 0x7f, 0x7f, 0x7f])
	open("lib/huge.wav", "wb").write(d)
	EOF
	ffmpeg -nostdin -v error -i lib/four.wav -rf64 always lib/bad-rf64.wav &&
	sox -D -n -r 8000 -c 1 -b 16 -t flac lib/bad-flac.wav synth 0.1 sine 200 &&

	# the originals are what the readers expect
	mf_dump_mutagen lib/one.wav >m1 &&
	grep "^TPE1=Ÿ$" m1 && grep "^picture=3|image/jpeg|front|" m1 &&
	ffprobe -v error -show_entries format_tags lib/two.wav | grep "TAG:title=Two" &&
	"$MF_PY" chunks.py lib/two.wav | grep "^abcd 5 "
'

mf_test 'musefs-scan stores the good files and names the bad ones with a reason' '
	test_expect_code 2 musefs-scan --db "$DB" lib >out 2>err &&
	cat out err &&
	grep "failed=6" out &&
	grep "bad-truncated\.wav.*riff size .* runs past end of file" err &&
	grep "bad-random\.wav.*not a RIFF WAVE file" err &&
	grep "bad-pastend\.wav.*${SQ}data${SQ} chunk at offset .* runs past end of file" err &&
	grep "bad-rf64\.wav.*RF64 (64-bit wave) files are not supported" err &&
	grep "bad-flac\.wav.*not a RIFF WAVE file (content looks like FLAC)" err &&
	grep "huge\.wav${SQ}: ${SQ}id3 ${SQ} chunk at offset .*: .*TPE1" err &&
	test "$(sql "SELECT count(*) FROM tracks WHERE format = ${SQ}wav${SQ}")" = 4
'

mf_test 'the probe maps INFO and ID3 to the store (ID3 wins, INFO fills in)' '
	id=$(wav_id two.wav) &&
	mf_store_tags "$DB" "$id" >actual &&
	cat >expect <<-\EOF &&
	album=Album2
	artist=Solo
	comment=c2
	copyright=Cpy
	date=1999
	encodersettings=Lavf59.27.100
	genre=Jazz
	title=Two
	tracknumber=2
	EOF
	sed -i "s/^encodersettings=Lavf.*/encodersettings=Lavf59.27.100/" actual &&
	test_cmp expect actual &&
	id=$(wav_id three.wav) &&
	mf_store_tags "$DB" "$id" >actual &&
	grep -x "title=Three" actual &&
	grep -x "artist=Id3 Artist" actual &&
	grep -x "album=Album3" actual &&
	! grep "Info" actual &&
	test "$(sql "SELECT count(*) FROM tags WHERE track_id = $id AND key = ${SQ}id3:priv${SQ} AND length(value_blob) = 52")" = 1 &&
	id=$(wav_id one.wav) &&
	test "$(sql "SELECT group_concat(value, ${SQ}|${SQ}) FROM (SELECT value FROM tags WHERE track_id = $id AND key = ${SQ}artist${SQ} ORDER BY ordinal)")" = "X|Ÿ" &&
	test "$(sql "SELECT sample_rate || ${SQ} ${SQ} || channels || ${SQ} ${SQ} || bits_per_sample || ${SQ} ${SQ} || duration_ms FROM track_props WHERE track_id = $(wav_id two.wav)")" = "48000 1 24 400"
'

mf_test 'mount the store' '
	mf_mount mnt --db "$DB" --template "$TEMPLATE" --fallback title=Untitled \
		--poll-interval-ms 100 &&
	ls mnt >actual &&
	cat >expect <<-\EOF &&
	One.wav
	Three.wav
	Two.wav
	Untitled.wav
	EOF
	test_cmp expect actual
'

mf_test 'mutagen, ffprobe and TagLib show exactly the store tags and art' '
	for n in one two three four
	do
		wav_check_readers $n || return 1
	done &&
	# the served cover is the original image, byte for byte
	grep "^picture=3|image/jpeg|front|$(sha256sum <cover.jpg | cut -d" " -f1)" actual.one.mutagen &&
	test "$(mf_ffprobe_attached_pics mnt/One.wav)" = 1 &&
	test "$(mf_ffprobe_attached_pics mnt/Untitled.wav)" = 0
'

mf_test 'served audio decodes to the original samples, cleanly' '
	for n in one:One two:Two three:Three four:Untitled
	do
		mf_audio_md5 "lib/${n%%:*}.wav" >expect &&
		mf_audio_md5 "mnt/${n#*:}.wav" >actual &&
		test_cmp expect actual &&
		mf_decode_clean "mnt/${n#*:}.wav" || return 1
	done
'

mf_test 'fmt, data and the other chunks are served verbatim, padding right' '
	for n in one:One two:Two three:Three four:Untitled
	do
		"$MF_PY" chunks.py "lib/${n%%:*}.wav" >expect &&
		"$MF_PY" chunks.py "mnt/${n#*:}.wav" >actual &&
		test_cmp expect actual || return 1
	done &&
	"$MF_PY" chunks.py mnt/Two.wav | grep "^abcd 5 " &&
	# audio properties as TagLib sees them are the originals
	for n in one:One two:Two three:Three four:Untitled
	do
		mf_dump_taglib "lib/${n%%:*}.wav" | grep -e ^samplerate -e ^channels -e ^bitrate >expect &&
		mf_dump_taglib "mnt/${n#*:}.wav" | grep -e ^samplerate -e ^channels -e ^bitrate >actual &&
		test_cmp expect actual || return 1
	done
'

mf_test 'random-offset reads equal the whole file; stat size equals bytes read' '
	for f in One Two Three Untitled
	do
		mf_check_random_reads "mnt/$f.wav" 150 || return 1
	done
'

mf_test 'store edits show up live in all three readers' '
	id=$(wav_id one.wav) &&
	# add a tag, change one, delete one
	sql "INSERT INTO tags (track_id, key, ordinal, value) VALUES ($id, ${SQ}copyright${SQ}, 0, ${SQ}(c) me${SQ})" &&
	mf_wait_until 10 wav_readers_agree one &&
	grep -x "copyright=(c) me" actual.one.ffprobe &&
	grep -x "TCOP=(c) me" actual.one.mutagen &&
	sql "UPDATE tags SET value = ${SQ}Album Neu${SQ} WHERE track_id = $id AND key = ${SQ}album${SQ}" &&
	mf_wait_until 10 wav_readers_agree one &&
	grep -x "album=Album Neu" actual.one.taglib &&
	sql "DELETE FROM tags WHERE track_id = $id AND key = ${SQ}genre${SQ}" &&
	mf_wait_until 10 wav_readers_agree one &&
	! grep "Rock" actual.one.mutagen actual.one.ffprobe actual.one.taglib &&
	# replace the art with a larger image
	sql "DELETE FROM track_art WHERE track_id = $id" &&
	mf_insert_art "$DB" "$id" big.jpg 3 bigger &&
	mf_wait_until 10 wav_readers_agree one &&
	grep "^picture=3|image/jpeg|bigger|$(sha256sum <big.jpg | cut -d" " -f1)" actual.one.mutagen &&
	# remove the art
	sql "DELETE FROM track_art WHERE track_id = $id" &&
	mf_wait_until 10 wav_readers_agree one &&
	! grep "^picture=" actual.one.mutagen &&
	test "$(mf_ffprobe_attached_pics mnt/One.wav)" = 0 &&
	# two pictures
	mf_insert_art "$DB" "$id" cover.jpg 3 front &&
	mf_insert_art "$DB" "$id" small.png 4 back &&
	mf_wait_until 10 wav_readers_agree one &&
	test "$(grep -c "^picture=" actual.one.mutagen)" = 2 &&
	test "$(mf_ffprobe_attached_pics mnt/One.wav)" = 2 &&
	mf_audio_md5 lib/one.wav >expect &&
	mf_audio_md5 mnt/One.wav >actual &&
	test_cmp expect actual &&
	mf_check_random_reads mnt/One.wav 50
'

mf_test 'a tag added to an untagged file appears in INFO and ID3' '
	id=$(wav_id four.wav) &&
	sql "INSERT INTO tags (track_id, key, ordinal, value) VALUES ($id, ${SQ}artist${SQ}, 0, ${SQ}Nobody${SQ})" &&
	mf_wait_until 10 wav_readers_agree four &&
	grep -x "artist=Nobody" actual.four.ffprobe &&
	grep -x "TPE1=Nobody" actual.four.mutagen &&
	grep -x "artist=Nobody" actual.four.taglib
'

mf_test 'unmount cleanly' '
	mf_umount mnt
'

test_done
