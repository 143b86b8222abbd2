#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='musefs-mount under store rows corrupted by a writer with CHECKs and foreign keys off: audio offset past EOF or negative, negative or overlong length, orphaned or deleted art, unknown format: EIO for that file only, the others served, no crash, live and at start-up'
. "${0%/*}/lib.sh"
. "$MF_SOURCE/t/lib-fault.sh"
fault_require

BAD="off offneg neg long orphan artgone fmt"

# corrupt SQL: run SQL as a writer that ignores CHECKs and foreign keys.
corrupt () {
	fault_sql "PRAGMA ignore_check_constraints = ON; PRAGMA foreign_keys = OFF; $1"
}

# id NAME: the track id of lib/NAME.flac.
id () {
	fault_row lib/$1.flac id
}

# served_ok: every corrupted file is absent or gives EIO and no byte;
# the intact ones are served whole; the daemon lives.
served_ok () {
	ls mnt >names &&
	for f in $BAD
	do
		for n in $(grep "^$f\\." names)
		do
			fault_eio cat mnt/$n || { echo >&2 "$n served"; return 1; }
		done
	done &&
	fault_same_audio mnt/good.flac lib/good.flac &&
	fault_same_audio mnt/good2.flac lib/good2.flac &&
	cmp mnt/good2.flac good2.before &&
	mf_pid_alive "$MF_MOUNT_PID"
}

mf_test 'set up a library with art and mount it' '
	mkdir lib &&
	mf_make_jpeg red.jpg 16x16 red && mf_make_jpeg blue.jpg 16x16 blue &&
	mf_make_jpeg green.jpg 16x16 green &&
	f=400 &&
	for n in good good2 $BAD
	do
		mf_make_flac lib/$n.flac 1 $f && f=$((f + 50)) &&
		metaflac --set-tag=ARTIST=Art --set-tag=TITLE=$n lib/$n.flac ||
			return 1
	done &&
	metaflac --import-picture-from="3||front||red.jpg" lib/orphan.flac &&
	metaflac --import-picture-from="3||front||blue.jpg" lib/artgone.flac &&
	metaflac --import-picture-from="3||front||green.jpg" lib/good2.flac &&
	musefs-scan --db "$DB" lib >/dev/null &&
	test "$(fault_sql "SELECT count(*) FROM track_art")" = 3 &&
	mf_mount mnt --db "$DB" --template "\$title" --poll-interval-ms 100 &&
	cp mnt/good2.flac good2.before &&
	for n in $BAD; do cat mnt/$n.flac >/dev/null || return 1; done
'

mf_test 'rows corrupted while mounted: EIO for those files only' '
	corrupt "UPDATE tracks SET audio_offset = backing_size + 1000 WHERE id = $(id off);
		UPDATE tracks SET audio_offset = -1 WHERE id = $(id offneg);
		UPDATE tracks SET audio_length = -5 WHERE id = $(id neg);
		UPDATE tracks SET audio_length = 2 * backing_size WHERE id = $(id long);
		UPDATE track_art SET art_id = 424242 WHERE track_id = $(id orphan);
		DELETE FROM art WHERE id = (SELECT art_id FROM track_art WHERE track_id = $(id artgone));
		UPDATE tracks SET format = '\''xyz'\'' WHERE id = $(id fmt);" &&
	fault_sql "PRAGMA foreign_key_check" >fk && test -s fk &&
	fault_drop_caches &&
	mf_wait_until 10 served_ok &&
	stat mnt/good.flac >/dev/null &&
	served_ok
'

mf_test 'a fresh mount of the corrupted store serves the rest' '
	mf_umount mnt &&
	mf_mount mnt --db "$DB" --template "\$title" --poll-interval-ms 100 &&
	stat mnt/good.flac >/dev/null &&
	served_ok &&
	grep -q . "$MF_MOUNT_LOG"
'

mf_test 'nothing else in the store is lost; a re-ingest repairs the rows' '
	test "$(fault_sql "SELECT count(*) FROM tracks")" = 9 &&
	musefs-scan --db "$DB" --reingest lib >/dev/null &&
	test "$(fault_sql "PRAGMA integrity_check")" = ok &&
	test -z "$(fault_sql "PRAGMA foreign_key_check(track_art)")" &&
	for n in good good2 $BAD
	do
		mf_wait_until 10 fault_same_audio mnt/$n.flac lib/$n.flac || return 1
	done &&
	test "$(fault_sql "SELECT count(*) FROM track_art")" = 3
'

mf_test 'unmount cleanly' '
	mf_umount mnt
'

test_done
