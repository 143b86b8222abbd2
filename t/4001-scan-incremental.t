#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='musefs-scan: incremental rescans, curated tags, moves, fingerprints, changelog economy, --json

Real FLAC files (sox + flac, tagged with metaflac) are scanned, touched,
retagged on disk, moved and rescanned; the store is checked with sqlite3
and the --json summary with python.'

. "${0%/*}/lib.sh"
. "$MF_SOURCE/t/lib-scan.sh"

mf_require_progs sox flac metaflac sqlite3 sha256sum
PY=/usr/bin/python3
test -x "$PY" || skip_all 'missing /usr/bin/python3'

mf_test 'set up 12 tagged FLAC files, a cover and some junk' '
	mf_make_jpeg cover.jpg 64x64 red &&
	for i in 1 2 3 4 5 6 7 8 9 10 11 12
	do
		scan_make "lib/album $((i % 3))/track $i.flac" $((200 + 17 * i)) "Song $i" \
			--set-tag=TRACKNUMBER=$i --set-tag=GENRE=Rock \
			--set-tag=COMMENT=one --set-tag=COMMENT=two \
			--import-picture-from="3||front||cover.jpg" || return 1
	done &&
	echo notes >lib/notes.txt &&
	echo x >"lib/album 1/.hidden.flac" &&
	: >lib/README
'

mf_test 'the first scan imports everything' '
	musefs-scan -j 2 lib >out &&
	scan_expect out seen=15 new=12 changed=0 moved=0 unchanged=0 skipped=3 failed=0 &&
	test "$(scan_sql "SELECT count(*) FROM tracks")" = 12 &&
	test "$(scan_sql "SELECT count(*) FROM art")" = 1 &&
	test "$(scan_sql "SELECT count(*) FROM track_art")" = 12
'

mf_test 'importing appends one changelog entry per track, not one per row' '
	rows=$(scan_sql "SELECT (SELECT count(*) FROM tags) + (SELECT count(*) FROM track_art) + (SELECT count(*) FROM structural_blocks)") &&
	test "$rows" -gt 80 &&
	test "$(scan_sql "SELECT count(*) FROM track_changes")" = 12 &&
	test "$(scan_sql "SELECT count(DISTINCT track_id) FROM track_changes")" = 12 &&
	test "$(scan_sql "PRAGMA foreign_key_check")" = ""
'

mf_test 'every track has a fingerprint and audio properties' '
	test "$(scan_sql "SELECT count(*) FROM tracks WHERE length(fingerprint) = 64")" = 12 &&
	test "$(scan_sql "SELECT count(DISTINCT fingerprint) FROM tracks")" = 12 &&
	test "$(scan_sql "SELECT count(*) FROM tracks WHERE content_hash IS NULL")" = 12 &&
	test "$(scan_sql "SELECT count(*) FROM track_props WHERE sample_rate = 44100 AND channels = 2 AND bits_per_sample = 16 AND duration_ms BETWEEN 250 AND 350")" = 12
'

mf_test 'a rescan opens nothing' '
	musefs-scan lib >out &&
	scan_expect out seen=15 new=0 changed=0 unchanged=12 skipped=3 probed=0 &&
	test "$(scan_sql "SELECT count(*) FROM track_changes")" = 12
'

mf_test '--json prints the summary as JSON' '
	touch "lib/album 1/track 1.flac" &&
	musefs-scan --json lib >out.json &&
	"$PY" -c "
import json, sys
d = json.load(open(\"out.json\"))
want = dict(seen=15, new=0, changed=1, moved=0, unchanged=11, skipped=3, failed=0, pruned=0, probed=1)
bad = {k: d.get(k) for k in want if d.get(k) != want[k]}
assert not bad, bad
assert d[\"outcome\"] == \"ok\", d
assert d[\"skipped_by_extension\"] == {\"txt\": 1, \"(hidden)\": 1, \"\": 1} or \
       d[\"skipped_by_extension\"] == {\"txt\": 1, \"(hidden)\": 1, \"(none)\": 1}, d
assert isinstance(d[\"seconds\"], float) and d[\"bytes_read\"] > 0, d
"
'

mf_test 'a touched file is refreshed with one changelog entry' '
	test "$(scan_sql "SELECT count(*) FROM track_changes")" = 13
'

mf_test 'a file retagged on disk keeps the store tags' '
	id=$(scan_track_id "lib/album 2/track 2.flac") &&
	test -n "$id" &&
	scan_sql "UPDATE tags SET value = $(scan_sql_str "Curated Title") WHERE track_id = $id AND key = $(scan_sql_str title)" &&
	metaflac --remove-tag=TITLE --set-tag="TITLE=Disk Title" --set-tag=MOOD=happy "lib/album 2/track 2.flac" &&
	musefs-scan lib >out &&
	scan_expect out changed=1 new=0 &&
	test "$(scan_tag $id title)" = "Curated Title" &&
	test -z "$(scan_tag $id mood)" &&
	test "$(scan_track_id "lib/album 2/track 2.flac")" = "$id"
'

mf_test '--reimport-tags replaces the store tags and art with the file'"'"'s' '
	id=$(scan_track_id "lib/album 2/track 2.flac") &&
	mf_make_jpeg cover2.jpg 32x32 blue &&
	metaflac --remove --block-type=PICTURE "lib/album 2/track 2.flac" &&
	metaflac --import-picture-from="3||back||cover2.jpg" --remove-tag=COMMENT "lib/album 2/track 2.flac" &&
	before=$(scan_sql "SELECT count(*) FROM track_changes") &&
	musefs-scan --reimport-tags lib >out &&
	scan_expect out changed=1 &&
	test "$(scan_tag $id title)" = "Disk Title" &&
	test "$(scan_tag $id mood)" = happy &&
	test -z "$(scan_tag $id comment)" &&
	test "$(scan_tag $id tracknumber)" = 2 &&
	test "$(scan_sql "SELECT a.width || \"x\" || a.height || \" \" || ta.description FROM track_art ta JOIN art a ON a.id = ta.art_id WHERE ta.track_id = $id")" = "32x32 back" &&
	after=$(scan_sql "SELECT count(*) FROM track_changes") &&
	test "$after" -gt "$before" &&
	musefs-scan --reimport-tags lib >out &&
	scan_expect out changed=0 unchanged=12
'

mf_test 'a moved and retagged file keeps its row id and curated tags' '
	id=$(scan_track_id "lib/album 0/track 3.flac") &&
	scan_sql "INSERT INTO tags (track_id, key, value) VALUES ($id, $(scan_sql_str "curated"), $(scan_sql_str "by hand"))" &&
	mkdir -p lib/elsewhere &&
	mv "lib/album 0/track 3.flac" lib/elsewhere/renamed.flac &&
	metaflac --set-tag=TITLE=Retagged --set-tag=EXTRA=padding-grows lib/elsewhere/renamed.flac &&
	musefs-scan lib >out &&
	scan_expect out moved=1 new=0 changed=0 &&
	test "$(scan_track_id lib/elsewhere/renamed.flac)" = "$id" &&
	test "$(scan_tag $id curated)" = "by hand" &&
	test "$(scan_tag $id title)" = "Song 3" &&
	test "$(scan_sql "SELECT count(*) FROM tracks")" = 12 &&
	test "$(scan_sql "SELECT moved FROM scan_runs ORDER BY id DESC LIMIT 1")" = 1
'

mf_test 'a copy of a file is new, not a move (the original is still there)' '
	cp lib/elsewhere/renamed.flac lib/elsewhere/copy.flac &&
	musefs-scan lib >out &&
	scan_expect out new=1 moved=0 &&
	rm lib/elsewhere/copy.flac
'

mf_test 'two vanished rows with the same audio: ambiguous, imported as new' '
	scan_make amb/a.flac 900 A &&
	scan_make amb/b.flac 900 B &&
	musefs-scan amb >out &&
	scan_expect out new=2 &&
	mkdir amb2 &&
	mv amb/a.flac amb2/x.flac &&
	rm amb/b.flac &&
	musefs-scan amb amb2 >out &&
	scan_expect out new=1 moved=0
'

mf_have lame mid3v2 && mf_set_prereq MP3

mf_test MP3 'formats other than FLAC: a moved and retagged MP3 keeps its row id' '
	mkdir mp3 &&
	sox -D -n -r 44100 -c 2 -b 16 mp3/a.wav synth 0.4 sine 523 &&
	lame --silent -b 128 mp3/a.wav mp3/a.mp3 &&
	rm mp3/a.wav &&
	mid3v2 -t "MP3 Song" -a "MP3 Artist" mp3/a.mp3 &&
	musefs-scan mp3 >out &&
	scan_expect out new=1 &&
	id=$(scan_track_id mp3/a.mp3) &&
	test "$(scan_tag $id title)" = "MP3 Song" &&
	test "$(scan_sql "SELECT format FROM tracks WHERE id = $id")" = mp3 &&
	test "$(scan_sql "SELECT count(*) FROM track_props WHERE track_id = $id AND duration_ms BETWEEN 300 AND 600")" = 1 &&
	mkdir mp3/sub &&
	mv mp3/a.mp3 mp3/sub/b.mp3 &&
	mid3v2 -t "Retagged On Disk" --TXXX "note:much longer frame to move the audio offset" mp3/sub/b.mp3 &&
	musefs-scan mp3 >out &&
	scan_expect out moved=1 new=0 &&
	test "$(scan_track_id mp3/sub/b.mp3)" = "$id" &&
	test "$(scan_tag $id title)" = "MP3 Song"
'

mf_have oggenc vorbiscomment && mf_set_prereq OGG
mf_test OGG 'a moved Ogg Vorbis file whose retag re-pages its audio keeps its row id' '
	mkdir ogg &&
	sox -D -n -r 44100 -c 2 -b 16 ogg/a.wav synth 2 sine 587 &&
	oggenc -Q -t "Ogg Song" -a "Ogg Artist" -o ogg/a.ogg ogg/a.wav &&
	rm ogg/a.wav &&
	musefs-scan ogg >out &&
	scan_expect out new=1 &&
	id=$(scan_track_id ogg/a.ogg) &&
	old_off=$(scan_sql "SELECT audio_offset FROM tracks WHERE id = $id") &&
	mkdir ogg/sub &&
	mv ogg/a.ogg ogg/sub/b.ogg &&
	big=$(head -c 70000 /dev/zero | tr "\\000" x) &&
	vorbiscomment -a -t "LYRICS=$big" ogg/sub/b.ogg &&
	musefs-scan ogg >out &&
	scan_expect out moved=1 new=0 &&
	test "$(scan_track_id ogg/sub/b.ogg)" = "$id" &&
	test "$(scan_tag $id title)" = "Ogg Song" &&
	new_off=$(scan_sql "SELECT audio_offset FROM tracks WHERE id = $id") &&
	test "$new_off" -gt "$old_off"
'

mf_test OGG 'an Ogg row fingerprinted by an earlier build (no page-number zeroing) is still found when moved' '
	id=$(scan_track_id ogg/sub/b.ogg) &&
	set -- $(scan_sql "SELECT audio_offset, audio_length FROM tracks WHERE id = $id" | tr "|" " ") &&
	legacy=$("$PY" -c "
import hashlib, struct, sys
off, n = int(sys.argv[2]), int(sys.argv[3])
with open(sys.argv[1], \"rb\") as f:
    f.seek(off)
    print(hashlib.sha256(struct.pack(\"<Q\", n) + f.read(n)).hexdigest())
" ogg/sub/b.ogg $1 $2) &&
	test "$(scan_sql "SELECT value FROM musefs_meta WHERE key = \"ogg_fingerprint\"")" = zeroed &&
	scan_sql "UPDATE tracks SET fingerprint = \"$legacy\" WHERE id = $id" &&
	scan_sql "DELETE FROM musefs_meta WHERE key = \"ogg_fingerprint\"" &&
	mv ogg/sub/b.ogg ogg/c.ogg &&
	musefs-scan ogg >out &&
	scan_expect out moved=1 new=0 &&
	test "$(scan_track_id ogg/c.ogg)" = "$id" &&
	test "$(scan_sql "SELECT fingerprint FROM tracks WHERE id = $id")" != "$legacy"
'

mf_test '--checksum=full stores the whole-file SHA-256' '
	touch "lib/album 1/track 4.flac" &&
	musefs-scan --checksum=full lib >out &&
	scan_expect out changed=1 &&
	id=$(scan_track_id "lib/album 1/track 4.flac") &&
	want=$(sha256sum "lib/album 1/track 4.flac" | cut -d" " -f1) &&
	test "$(scan_sql "SELECT content_hash FROM tracks WHERE id = $id")" = "$want"
'

mf_test 'a broken file is reported, remembered, and reported again unread' '
	printf "fLaC garbage" >lib/broken.flac &&
	test_expect_code 2 musefs-scan lib >out 2>err &&
	scan_expect out failed=1 probed=1 &&
	grep broken.flac err &&
	test_expect_code 2 musefs-scan lib >out 2>err &&
	scan_expect out failed=1 probed=0 &&
	grep "unchanged since last scan" err &&
	rm lib/broken.flac
'

mf_test 'a tag the store refuses (over 1 MiB) is skipped, the others are kept' '
	scan_make big/big.flac 950 Big --set-tag=GENRE=Jazz &&
	"$PY" -c "
from mutagen.flac import FLAC
f = FLAC(\"big/big.flac\")
f[\"lyrics\"] = \"x\" * 1100000
f[\"mood\"] = \"calm\"
f.save()
" &&
	musefs-scan big >out 2>err &&
	scan_expect out new=1 failed=0 &&
	grep "tag .lyrics. not stored" err &&
	id=$(scan_track_id big/big.flac) &&
	test "$(scan_tag $id genre)" = Jazz &&
	test "$(scan_tag $id mood)" = calm &&
	test "$(scan_tag $id title)" = Big &&
	test -z "$(scan_tag $id lyrics)"
'

mf_test 'with SQLite checking rows, a refused tag sends its group file by file' '
	for i in 1 2 3 4 5; do
		scan_make group/ok$i.flac $((960 + i)) "Ok $i" --set-tag=GENRE=Pop || return 1
	done &&
	cp big/big.flac group/big.flac &&
	MUSEFS_TEST_SCAN_CHECKS=sqlite MUSEFS_LOG=debug musefs-scan group >out 2>err &&
	scan_expect out new=6 failed=0 &&
	grep "group of 6 new files was refused" err &&
	grep "tag .lyrics. not stored" err &&
	id=$(scan_track_id group/big.flac) &&
	test "$(scan_tag $id mood)" = calm &&
	test -z "$(scan_tag $id lyrics)" &&
	for i in 1 2 3 4 5; do
		id=$(scan_track_id group/ok$i.flac) &&
		test "$(scan_tag $id title)" = "Ok $i" &&
		test "$(scan_tag $id genre)" = Pop &&
		test "$(scan_sql "SELECT count(*) FROM track_changes WHERE track_id = $id")" = 1 &&
		test "$(scan_sql "SELECT content_version FROM tracks WHERE id = $id")" = 0 &&
		test "$(scan_sql "SELECT count(*) FROM structural_blocks WHERE track_id = $id")" -ge 1 &&
		test "$(scan_sql "SELECT count(*) FROM track_props WHERE track_id = $id")" = 1 || return 1
	done &&
	test "$(scan_sql "PRAGMA foreign_key_check")" = ""
'

mf_test 'scan_runs records every run with its counts' '
	test "$(scan_sql "SELECT count(*) FROM scan_runs WHERE outcome IN (\"ok\", \"partial\") AND ended_at IS NOT NULL")" = "$(scan_sql "SELECT count(*) FROM scan_runs")" &&
	test "$(scan_sql "SELECT new || \" \" || seen FROM scan_runs ORDER BY id LIMIT 1")" = "12 15" &&
	test "$(scan_sql "SELECT sum(bytes_read) > 0 FROM scan_runs")" = 1
'

test_done
