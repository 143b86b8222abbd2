#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='musefs-mount when the store files change under it: the WAL deleted, the store replaced by a restored backup or a replica: it keeps serving, logs, and follows the replaced store'
. "${0%/*}/lib.sh"
. "$MF_SOURCE/t/lib-fault.sh"
fault_require


# served NAME...: exactly these files are served, the first with the
# audio of lib/a.flac.
served () {
	ls mnt >names.got && printf "%s.flac\n" "$@" | sort >names.want &&
	cmp -s names.want names.got &&
	fault_same_audio mnt/$1.flac lib/a.flac
}

mf_test 'set up a library and mount it' '
	mount_lib lib &&
	mf_make_jpeg red.jpg 16x16 red &&
	# another picture of the same length: only the bytes tell them apart
	cp red.jpg blue.jpg &&
	printf "\125\252" | dd of=blue.jpg bs=1 conv=notrunc 2>/dev/null \
		seek=$(($(stat -c %s red.jpg) - 8)) &&
	! cmp -s red.jpg blue.jpg &&
	metaflac --import-picture-from="3||front||red.jpg" lib/a.flac &&
	musefs-scan --db "$DB" lib >/dev/null &&
	A=$(track_of lib/a.flac) &&
	mf_mount mnt --db "$DB" --template "\$title" --poll-interval-ms 100 &&
	served Alpha Beta Gamma
'

mf_test 'the WAL deleted under the mount: it keeps serving what it has' '
	set_tag "$(track_of lib/c.flac)" title Gamma2 &&
	mf_wait_until 10 served Alpha Beta Gamma2 &&
	for f in Alpha Beta Gamma2; do cp mnt/$f.flac $f.before || return 1; done &&
	rm -f "$DB-wal" &&
	fault_drop_caches &&
	ls mnt >names.got && printf "%s.flac\n" Alpha Beta Gamma2 >names.want &&
	test_cmp names.want names.got &&
	for f in Alpha Beta Gamma2; do cmp mnt/$f.flac $f.before || return 1; done &&
	mf_pid_alive "$MF_MOUNT_PID"
'

mf_test 'after the mount is gone the store opens sound; a remount serves it' '
	mf_umount mnt &&
	test "$(fault_sql "PRAGMA integrity_check")" = ok &&
	musefs-scan --db "$DB" lib >/dev/null &&
	mf_mount mnt --db "$DB" --template "\$title" --poll-interval-ms 100 &&
	ls mnt | grep -x Alpha.flac &&
	set_tag "$(track_of lib/b.flac)" title Beta2 &&
	set_tag "$(track_of lib/c.flac)" title Gamma2 &&
	mf_wait_until 10 served Alpha Beta2 Gamma2
'

mf_test 'the store replaced by a restored backup: the mount follows it' '
	sqlite3 "$DB" ".backup backup.db" &&
	set_tag "$(track_of lib/b.flac)" title Beta3 &&
	mf_wait_until 10 served Alpha Beta3 Gamma2 &&
	cp backup.db restore.db && mv restore.db "$DB" && rm -f "$DB-wal" "$DB-shm" &&
	mf_wait_until 10 served Alpha Beta2 Gamma2 &&
	mf_pid_alive "$MF_MOUNT_PID"
'

# followed N: the mount has logged N replacements of the store.
followed () {
	test "$(grep -c "was replaced: following the new one" "$MF_MOUNT_LOG")" -ge "$1"
}

mf_test 'the store replaced by a replica with other ids: the mount follows it, whole' '
	mkdir other && mf_make_flac other/x.flac 1 990 &&
	metaflac --set-tag=TITLE=Other --import-picture-from="3||front||blue.jpg" other/x.flac &&
	musefs-scan --db replica.db other >/dev/null &&
	musefs-scan --db replica.db lib/c.flac lib/a.flac >/dev/null &&
	# a replica of the library records its roots as the original does
	# (files scanned one by one record none; confinement needs them)
	sqlite3 replica.db "ATTACH '"'"'$DB'"'"' AS o; INSERT OR IGNORE INTO main.scan_roots SELECT * FROM o.scan_roots" &&
	cp mnt/Alpha.flac alpha.before &&
	exec 7<mnt/Alpha.flac &&
	n=$(grep -c "was replaced: following the new one" "$MF_MOUNT_LOG") &&
	mv replica.db "$DB" && rm -f "$DB-wal" "$DB-shm" &&
	mf_wait_until 10 followed $((n + 1)) &&
	fault_drop_caches &&
	# a handle from the old store: its bytes or EIO, never the new art
	if cat <&7 >alpha.held; then cmp alpha.held alpha.before; fi &&
	mf_wait_until 10 served Alpha Gamma Other &&
	fault_same_audio mnt/Gamma.flac lib/c.flac &&
	exec 7<&- &&
	set_tag "$(track_of lib/a.flac)" title Aleph &&
	mf_wait_until 10 served Aleph Gamma Other &&
	fault_same_audio mnt/Gamma.flac lib/c.flac &&
	metaflac --export-picture-to=pic mnt/Aleph.flac && cmp pic red.jpg &&
	mf_pid_alive "$MF_MOUNT_PID"
'

# same_or_eio NAME...: each served file reads as before, or gives EIO.
same_or_eio () {
	for f in "$@"
	do
		if cat mnt/$f.flac >$f.now 2>$f.err
		then
			cmp $f.now $f.before || return 1
		else
			grep -i "input/output error" $f.err || return 1
		fi
	done
}

mf_test 'the store deleted: the tree stays, files read as before or EIO, logged; a store put back is followed' '
	sqlite3 "$DB" ".backup keep.db" &&
	for f in Aleph Gamma Other; do cp mnt/$f.flac $f.before || return 1; done &&
	rm -f "$DB" "$DB-wal" "$DB-shm" &&
	mf_wait_until 10 grep "is gone" "$MF_MOUNT_LOG" &&
	fault_drop_caches &&
	ls mnt >names.got && printf "%s.flac\n" Aleph Gamma Other >names.want &&
	test_cmp names.want names.got &&
	same_or_eio Aleph Gamma Other &&
	sqlite3 keep.db "UPDATE tags SET value = '\''Back'\'' WHERE key = '\''title'\'' AND value = '\''Other'\''" &&
	mv keep.db "$DB" &&
	mf_wait_until 10 served Aleph Back Gamma &&
	fault_same_audio mnt/Gamma.flac lib/c.flac &&
	mf_pid_alive "$MF_MOUNT_PID"
'

mf_test 'a handle held across a replacement never reads the new store'\''s art' '
	mkdir lib2 other2 &&
	mf_make_flac lib2/a.flac 1 440 && mf_make_flac other2/x.flac 1 440 &&
	metaflac --set-tag=TITLE=A2 --import-picture-from="3||front||red.jpg" lib2/a.flac &&
	metaflac --set-tag=TITLE=X2 --import-picture-from="3||front||blue.jpg" other2/x.flac &&
	musefs-scan --db two.db lib2 >/dev/null &&
	musefs-scan --db two-replica.db other2 >/dev/null &&
	musefs-scan --db two-replica.db lib2 >/dev/null &&
	# the replica has the other picture under the row id of the first
	test "$(sqlite3 two.db "SELECT sha256 FROM art WHERE id = 1")" != \
		"$(sqlite3 two-replica.db "SELECT sha256 FROM art WHERE id = 1")" &&
	mf_mount mnt2 --db "$PWD/two.db" --template "\$title" --poll-interval-ms 100 &&
	log2=$MF_MOUNT_LOG &&
	cp mnt2/A2.flac a2.before &&
	exec 7<mnt2/A2.flac &&
	mv two-replica.db two.db &&
	mf_wait_until 10 grep "was replaced: following the new one" "$log2" &&
	fault_drop_caches &&
	if cat <&7 >a2.held; then cmp a2.held a2.before; fi &&
	exec 7<&- &&
	mf_umount mnt2
'

mf_test 'unmount cleanly' '
	mf_umount mnt
'

test_done
