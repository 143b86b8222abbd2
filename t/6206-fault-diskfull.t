#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='musefs-scan runs out of disk part-way: the store lives on a small tmpfs and a library of FLAC and MP3 files with distinct cover art (the APIC and PICTURE blocks make the rows big) fills it. The scan exits nonzero with a clear message naming the store and the lack of space, the store passes integrity_check and keeps every row an earlier scan stored; once the tmpfs is enlarged the rerun completes with one track per file, no duplicates.'
. "${0%/*}/lib.sh"
. "$MF_SOURCE/t/lib-scan.sh"

mf_require_progs sox flac metaflac lame mid3v2 ffmpeg sqlite3
test "$(id -u)" = 0 || skip_all 'mounting a tmpfs needs root'
N=60

mkdir small || exit 1
mount -t tmpfs -o size=1m musefs-test-diskfull small 2>/dev/null ||
	skip_all 'cannot mount a tmpfs here'
SMALL=$PWD/small
# small_umount: unmount the tmpfs if it is mounted (keeps $? for the trap).
small_umount () {
	small_rc_=$?
	if mountpoint -q "$SMALL"
	then
		umount "$SMALL" 2>/dev/null || umount -l "$SMALL"
	fi
	return $small_rc_
}
trap 'small_umount; mf_on_exit' EXIT
SCAN_DB=$SMALL/store.db

# sound: the store is consistent, one row per backing file, and holds the
# earlier scan's tracks with their titles. Leaves the track count in $stored.
sound () {
	scan_store_sound &&
	scan_sql "SELECT t.backing_path, g.value FROM tracks t
		JOIN tags g ON g.track_id = t.id AND g.key = 'title'
		WHERE t.backing_path LIKE '%/early/%' ORDER BY 1" >early.rows &&
	test_cmp early.want early.rows
}

mf_test "set up 4 early files and $N FLAC and MP3 files with 100 kB of distinct cover art each" '
	mkdir -p lib/early lib/big art &&
	sox -D -n -r 44100 -c 2 -b 16 w.wav synth 0.2 sine 440 &&
	flac -s -f -o base.flac w.wav &&
	lame --silent -b 128 w.wav base.mp3 &&
	ffmpeg -nostdin -v error -f lavfi -i color=c=gray:s=320x320 \
		-vf noise=alls=100:allf=t -frames:v $N -q:v 2 art/%03d.jpg &&
	for i in 1 2 3 4
	do
		cp base.flac lib/early/e$i.flac &&
		metaflac --set-tag=TITLE=early$i --set-tag=ARTIST=Art \
			lib/early/e$i.flac || return 1
	done &&
	i=1 &&
	while test $i -le $N
	do
		a=art/$(printf %03d $i).jpg &&
		if test $((i % 2)) = 0
		then
			cp base.flac lib/big/b$i.flac &&
			metaflac --set-tag=TITLE=big$i --import-picture-from="$a" \
				lib/big/b$i.flac
		else
			cp base.mp3 lib/big/b$i.mp3 &&
			mid3v2 -t big$i -p "$a" lib/big/b$i.mp3 >/dev/null
		fi || return 1
		i=$((i + 1))
	done &&
	test "$(find lib -type f | wc -l)" = $((N + 4))
'

mf_test 'an earlier small scan fits' '
	musefs-scan --db "$SCAN_DB" lib/early >out &&
	scan_expect out seen=4 new=4 failed=0 &&
	for i in 1 2 3 4
	do
		echo "$(mf_abs lib/early)/e$i.flac|early$i" || return 1
	done >early.want &&
	sound && test "$stored" = 4
'

mf_test 'the big scan runs out of space: nonzero exit, a clear message, a sound store' '
	test_must_fail musefs-scan --db "$SCAN_DB" lib >out 2>err &&
	cat err >&2 &&
	grep -i "store" err >/dev/null &&
	grep -i "no space\|disk is full" err >/dev/null &&
	! grep -i "cannot rollback" err &&
	sound &&
	first=$stored &&
	test "$first" -lt $((N + 4)) &&
	echo "# $first of $((N + 4)) tracks stored when the disk filled"
'

mf_test 'enlarged, the rerun completes: one track per file, no duplicates' '
	mount -o remount,size=64m "$SMALL" &&
	musefs-scan --db "$SCAN_DB" lib >out &&
	scan_expect out seen=$((N + 4)) failed=0 &&
	sound &&
	test "$stored" = $((N + 4)) &&
	test "$(scan_sql "SELECT count(*) FROM art")" -ge $N &&
	musefs-scan --db "$SCAN_DB" lib >out &&
	scan_expect out seen=$((N + 4)) new=0 changed=0 unchanged=$((N + 4)) failed=0 &&
	test "$(scan_sql "SELECT count(*) FROM scan_runs WHERE outcome = '\''running'\''")" = 0
'

small_umount
test_done
