#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='musefs-mount while another writer holds the store write lock for 10 s: reads and lookups go on, the locked edit never shows, the refresh resumes once the lock is gone'
. "${0%/*}/lib.sh"
. "$MF_SOURCE/t/lib-fault.sh"
fault_require


# locked: another writer holds the store's write lock.
locked () {
	! sqlite3 -batch -cmd '.timeout 0' "$DB" "BEGIN IMMEDIATE; ROLLBACK" 2>/dev/null
}

# reads_ok: every file served as before (fresh opens, past the cache).
reads_ok () {
	fault_drop_caches &&
	for f in Alpha Beta Gamma
	do
		cmp mnt/$f.flac $f.before || return 1
	done &&
	ls mnt >names && printf "Alpha.flac\nBeta.flac\nGamma.flac\n" >expect &&
	test_cmp expect names
}

mf_test 'set up a library and mount it' '
	mount_lib lib &&
	A=$(track_of lib/a.flac) &&
	mf_mount mnt --db "$DB" --template "\$title" --poll-interval-ms 100 &&
	for f in Alpha Beta Gamma; do cp mnt/$f.flac $f.before || return 1; done
'

mf_test 'a writer holds the write lock for 10 s: reads go on throughout' '
	mkfifo lockin || return 1
	sqlite3 -batch "$DB" <lockin >locker.out 2>&1 &
	LOCKER=$! &&
	exec 8>lockin &&
	echo "BEGIN IMMEDIATE; UPDATE tags SET value = '\''Locked'\'' WHERE track_id = $A AND key = '\''title'\'';" >&8 &&
	mf_wait_until 10 locked &&
	end=$(($(date +%s) + 10)) && n=0 &&
	while test "$(date +%s)" -lt "$end"
	do
		reads_ok && n=$((n + 1)) || return 1
	done &&
	echo "# $n rounds of reads under the lock" &&
	locked && mf_pid_alive "$LOCKER" &&
	! test -e mnt/Locked.flac &&
	kill "$LOCKER" && { wait "$LOCKER"; exec 8>&-; } &&
	! locked
'

mf_test 'the locked edit never shows; an edit after the lock shows up' '
	reads_ok &&
	set_tag "$A" title Aleph &&
	mf_wait_until 10 mount_exists mnt/Aleph.flac &&
	! test -e mnt/Locked.flac && mf_wait_until 10 mount_gone mnt/Alpha.flac &&
	fault_same_audio mnt/Aleph.flac lib/a.flac &&
	mf_pid_alive "$MF_MOUNT_PID"
'

mf_test 'unmount cleanly' '
	mf_umount mnt
'

test_done
