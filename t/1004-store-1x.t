#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='a store created by musefs 1.x opens, serves and rescans

The store is built from the published 1.x schema (t/fixtures/schema-1x.sql:
no extension tables, the 1.x triggers) with real FLAC, MP3, Ogg Vorbis,
Opus and M4A rows as the 1.x writers leave them: the values musefs-scan
computes for the real files, copied into the 1.x shape (STREAMINFO and
SEEKTABLE bodies, scanner-case keys such as LABEL, art without
dimensions, one row without a ctime). musefs-mount serves it without
writing to it (tags, art with the size read from the image, decoded
audio equal to the originals), follows a track id reused by delete and
insert, musefs-stat reports it, and musefs-scan rescans it without
breaking it: it adds its extension tables and keeps every 1.x trigger.'

. "${0%/*}/lib.sh"
. "$MF_SOURCE/t/lib-fmt.sh"

mf_require_fuse
mf_require_progs sox flac metaflac lame oggenc opusenc ffmpeg sqlite3
test -x "$MF_PY" || skip_all 'missing /usr/bin/python3'

SCRATCH=$MF_TRASH/scratch.db
DB=$MF_TRASH/1x.db
TEMPLATE='$title'

sql () {
	sqlite3 -batch -cmd '.timeout 5000' "$DB" "$@"
}

# Copy the tracks of $SCRATCH whose backing path ends in one of the
# arguments into $DB in the 1.x shape, as 1.x's scanner and writers leave
# them (see the description).
copy_1x () {
	"$MF_PY" - "$SCRATCH" "$DB" "$@" <<'PY'
import sqlite3, sys
scratch, db, names = sys.argv[1], sys.argv[2], sys.argv[3:]
c = sqlite3.connect(db)
c.execute("ATTACH ? AS s", (scratch,))
for name in names:
    (tid,) = c.execute("SELECT id FROM s.tracks WHERE backing_path LIKE '%/' || ?",
                       (name,)).fetchone()
    c.execute("""INSERT INTO tracks (id, backing_path, format, audio_offset,
        audio_length, backing_size, backing_mtime_ns, content_version,
        updated_at, backing_ctime_ns, fingerprint, content_hash)
        SELECT id, backing_path, format, audio_offset, audio_length,
        backing_size, backing_mtime_ns, 0, updated_at,
        CASE WHEN format = 'mp3' THEN 0 ELSE backing_ctime_ns END,
        fingerprint, content_hash FROM s.tracks WHERE id = ?""", (tid,))
    # 1.x seeds keys it does not map in the file's own case
    c.execute("""INSERT INTO tags (track_id, key, value, ordinal, value_blob)
        SELECT track_id, CASE WHEN key IN ('label', 'mood') THEN upper(key)
        ELSE key END, value, ordinal, value_blob FROM s.tags
        WHERE track_id = ?""", (tid,))
    c.execute("""INSERT INTO art (sha256, mime, width, height, byte_len, data)
        SELECT a.sha256, a.mime, NULL, NULL, a.byte_len, a.data FROM s.art a
        JOIN s.track_art ta ON ta.art_id = a.id WHERE ta.track_id = ?
        ON CONFLICT (sha256) DO NOTHING""", (tid,))
    c.execute("""INSERT INTO track_art (track_id, art_id, picture_type,
        description, ordinal) SELECT ta.track_id, a1.id, ta.picture_type,
        ta.description, ta.ordinal FROM s.track_art ta JOIN s.art a ON
        a.id = ta.art_id JOIN main.art a1 ON a1.sha256 = a.sha256
        WHERE ta.track_id = ?""", (tid,))
    c.execute("""INSERT INTO structural_blocks (track_id, kind, ordinal, body)
        SELECT track_id, kind, ordinal, body FROM s.structural_blocks
        WHERE track_id = ?""", (tid,))
c.commit()
PY
}

# Every served file's decoded audio MD5 equals its original's, and its
# tags carry LABEL once.
check_served () {
	for f in one.flac two.mp3 three.ogg four.opus five.m4a; do
		s=$(ls "$1"/"${f%.*}".* 2>/dev/null) &&
		test -n "$s" &&
		test "$(mf_audio_md5 "$s")" = "$(mf_audio_md5 "lib/$f")" &&
		mf_dump_mutagen "$s" >"dump.${f%.*}" || {
			echo "served ${f%.*}: wrong or missing" >&2; return 1; }
	done &&
	grep -ix "label=Indie" dump.one && test "$(grep -ic "^label=" dump.one)" = 1 &&
	grep -ix "label=Indie" dump.three && test "$(grep -ic "^label=" dump.three)" = 1 &&
	grep -ix "label=Indie" dump.four &&
	grep "^picture=3|image/jpeg|" dump.one &&
	grep "^picture=0|image/jpeg|" dump.two &&
	grep "^picture=3|image/jpeg|" dump.three &&
	grep "nam=five" dump.five &&
	"$MF_PY" -c "
import sys, mutagen
p = mutagen.File(sys.argv[1]).pictures[0]
sys.exit(0 if (p.width, p.height, p.depth) == (40, 30, 24) else 'size %dx%d depth %d' % (p.width, p.height, p.depth))
" "$1/one.flac"
}

# Is mnt/$1 served and mnt/$2 not?
served_instead () {
	test -e "mnt/$1" && test ! -e "mnt/$2"
}

mf_test 'set up: real files scanned, their rows copied into a 1.x store' '
	mkdir -p lib &&
	sox -D -n -r 44100 -c 2 -b 16 tone.wav synth 2 sine 440 &&
	sox -D -n -r 48000 -c 2 -b 16 tone48.wav synth 2 sine 550 &&
	mf_make_jpeg cover.jpg 40x30 red &&
	flac -s -f -o lib/one.flac tone.wav &&
	metaflac --set-tag=TITLE=one --set-tag=ARTIST=A --set-tag=LABEL=Indie \
		--import-picture-from="3||front||cover.jpg" lib/one.flac &&
	lame --quiet --tt two --ta A --ti cover.jpg tone.wav lib/two.mp3 &&
	oggenc -Q -t three -a A -c LABEL=Indie -o lib/three.ogg tone.wav &&
	"$MF_PY" -c "
import base64, sys
from mutagen.oggvorbis import OggVorbis
from mutagen.flac import Picture
p = Picture(); p.type = 3; p.mime = \"image/jpeg\"; p.data = open(\"cover.jpg\", \"rb\").read()
f = OggVorbis(\"lib/three.ogg\"); f[\"metadata_block_picture\"] = [base64.b64encode(p.write()).decode()]; f.save()
" &&
	opusenc --quiet --title four --artist A --comment LABEL=Indie tone48.wav lib/four.opus &&
	ffmpeg -nostdin -v error -i tone.wav -c:a aac -b:a 96k -metadata title=five \
		-metadata artist=A lib/five.m4a &&
	flac -s -f -o lib/six.flac tone.wav &&
	metaflac --set-tag=TITLE=six lib/six.flac &&
	musefs-scan --db "$SCRATCH" lib >out &&
	test "$(sqlite3 "$SCRATCH" "SELECT count(*) FROM tracks")" = 6 &&
	sqlite3 "$DB" <"$MF_SOURCE/t/fixtures/schema-1x.sql" &&
	copy_1x one.flac two.mp3 three.ogg four.opus five.m4a &&
	test "$(sql "SELECT count(*) FROM tracks")" = 5 &&
	test "$(sql "SELECT count(*) FROM tags WHERE key = \"LABEL\"")" = 3 &&
	test "$(sql "SELECT count(*) FROM art WHERE width IS NULL")" = 1 &&
	test "$(sql "SELECT count(*) FROM structural_blocks WHERE kind = \"STREAMINFO\"")" = 1 &&
	sql "SELECT name FROM sqlite_schema ORDER BY 1" >schema.before
'

mf_test 'musefs-mount serves the 1.x store without writing to it' '
	mf_mount mnt --db "$DB" --template "$TEMPLATE" --heartbeat-s 0 &&
	test_when_finished "mf_umount mnt" &&
	check_served mnt &&
	for f in mnt/*; do mf_decode_clean "$f" || return 1; done &&
	sql "SELECT name FROM sqlite_schema ORDER BY 1" >schema.during &&
	test_cmp schema.before schema.during
'

mf_test 'on a read-only filesystem it is served too (heartbeats off)' '
	mkdir -p rosrc ro &&
	cp "$DB" rosrc/1x.db &&
	mount --bind rosrc ro &&
	test_when_finished "umount ro" &&
	mount -o remount,ro,bind ro &&
	! touch ro/probe 2>/dev/null &&
	mf_mount romnt --db "$MF_TRASH/ro/1x.db" --template "$TEMPLATE" &&
	test_when_finished "mf_umount romnt" &&
	check_served romnt
'

mf_test 'a track id reused by delete and insert is served as the new track' '
	mf_mount mnt --db "$DB" --template "$TEMPLATE" --heartbeat-s 0 --poll-interval-ms 100 &&
	test_when_finished "mf_umount mnt" &&
	cat mnt/three.ogg >/dev/null &&	# its layout is now cached
	id=$(sql "SELECT id FROM tracks WHERE backing_path LIKE \"%/three.ogg\"") &&
	six=$(sqlite3 "$SCRATCH" "SELECT id FROM tracks WHERE backing_path LIKE \"%/six.flac\"") &&
	sql "PRAGMA foreign_keys = ON; ATTACH \"$SCRATCH\" AS s; BEGIN;
		DELETE FROM tracks WHERE id = $id;
		INSERT INTO tracks (id, backing_path, format, audio_offset, audio_length,
			backing_size, backing_mtime_ns, content_version, updated_at,
			backing_ctime_ns) SELECT $id, backing_path, format, audio_offset,
			audio_length, backing_size, backing_mtime_ns, 0, updated_at,
			backing_ctime_ns FROM s.tracks WHERE id = $six;
		INSERT INTO tags (track_id, key, value, ordinal) SELECT $id, key, value,
			ordinal FROM s.tags WHERE track_id = $six AND value_blob IS NULL;
		INSERT INTO structural_blocks (track_id, kind, ordinal, body) SELECT $id,
			kind, ordinal, body FROM s.structural_blocks WHERE track_id = $six;
		COMMIT" &&
	mf_wait_until 10 served_instead six.flac three.ogg &&
	test "$(mf_audio_md5 mnt/six.flac)" = "$(mf_audio_md5 lib/six.flac)" &&
	sql "PRAGMA foreign_keys = ON; DELETE FROM tracks WHERE id = $id" &&
	copy_1x three.ogg &&
	mf_wait_until 10 served_instead three.ogg six.flac &&
	test "$(mf_audio_md5 mnt/three.ogg)" = "$(mf_audio_md5 lib/three.ogg)"
'

mf_test 'musefs-stat reports the 1.x store' '
	test "$(musefs-stat --db "$DB" --get tracks.total)" = 5 &&
	musefs-stat --db "$DB" >stat.out &&
	musefs-stat --db "$DB" --json >stat.json &&
	"$MF_PY" -c "import json, sys; json.load(open(sys.argv[1]))" stat.json
'

mf_test 'musefs-scan rescans it: extension tables added, 1.x triggers and rows kept' '
	sql "SELECT name FROM sqlite_schema WHERE type = \"trigger\" ORDER BY 1" >triggers.before &&
	sql "SELECT track_id, key, value FROM tags ORDER BY 1, 2, 3" >tags.before &&
	musefs-scan --db "$DB" lib >out 2>err &&
	! grep -i "error\|cannot" err &&
	test "$(sql "PRAGMA user_version")" = 2 &&
	test "$(sql "PRAGMA integrity_check")" = ok &&
	test "$(sql "PRAGMA foreign_key_check")" = "" &&
	test "$(sql "SELECT count(*) FROM tracks")" = 6 &&
	for t in track_props format_blocks scan_runs art_props musefs_meta; do
		test "$(sql "SELECT count(*) FROM sqlite_schema WHERE name = \"$t\"")" = 1 || return 1
	done &&
	test "$(sql "SELECT count(DISTINCT track_id) FROM format_blocks")" = 3 &&
	# the writer (triggers off) logged and bumped by itself: the new
	# track has its changelog entry, the re-probed ones a new version
	six=$(sql "SELECT id FROM tracks WHERE backing_path LIKE \"%/six.flac\"") &&
	test "$(sql "SELECT count(*) FROM track_changes WHERE track_id = $six")" -ge 1 &&
	test "$(sql "SELECT count(*) FROM tracks WHERE format <> \"flac\" AND format <> \"mp3\" AND content_version = 0")" = 0 &&
	test "$(sql "SELECT count(*) FROM tracks WHERE format = \"mp3\" AND backing_ctime_ns > 0")" = 1 &&
	sql "SELECT name FROM sqlite_schema WHERE type = \"trigger\" AND name NOT LIKE \"format_blocks_%\" ORDER BY 1" >triggers.after &&
	test_cmp triggers.before triggers.after &&
	sql "SELECT track_id, key, value FROM tags WHERE track_id IN (SELECT track_id FROM tags WHERE key = \"LABEL\") ORDER BY 1, 2, 3" >tags.after &&
	grep -c "|LABEL|Indie" tags.after >n && test "$(cat n)" = 3 &&
	test "$(sql "SELECT count(*) FROM structural_blocks WHERE kind NOT IN (\"STREAMINFO\", \"SEEKTABLE\")")" = 0 &&
	test "$(sql "SELECT count(*) FROM art WHERE width IS NULL")" = 1 &&
	musefs-scan --db "$DB" lib >out2 &&
	grep "unchanged=6" out2 &&
	mf_mount mnt --db "$DB" --template "$TEMPLATE" &&
	test_when_finished "mf_umount mnt" &&
	check_served mnt
'

mf_test 'a rescan that reimports tags replaces the scanner-case key, whatever its case' '
	id=$(sql "SELECT id FROM tracks WHERE backing_path LIKE \"%/one.flac\"") &&
	test "$(sql "SELECT key FROM tags WHERE track_id = $id AND lower(key) = \"label\"")" = LABEL &&
	touch lib/one.flac &&
	musefs-scan --db "$DB" --reimport-tags lib >out &&
	grep "changed=1" out &&
	test "$(sql "SELECT key || \"=\" || value FROM tags WHERE track_id = $id AND lower(key) = \"label\"")" = label=Indie
'

test_done
