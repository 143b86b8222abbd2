#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='musefs-mount --handles inode: OPEN answers ENOSYS, so the kernel sends no OPEN or RELEASE; reads find the backing file by inode in a bounded cache, reuse it, give a retagged file a new inode while a descriptor held across the retag reads its own version, and refuse rows outside the roots as EIO; --handles with a bad value is refused'
. "${0%/*}/lib.sh"
. "$MF_SOURCE/t/lib-fault.sh"
fault_require
T='$artist/$album/$title'

# held FILE: how many descriptors of backing FILE the mount holds.
held () {
	ls -l /proc/$MF_MOUNT_PID/fd | grep -c "$(mf_abs "${1%/*}")/${1##*/}\$"
}

# held_none FILE: the mount holds no descriptor of FILE (RELEASE reaches
# it after close(2) returns: wait for it, do not assume it).
held_none () {
	test "$(held "$1")" = 0
}

mf_test 'a library mounted with --handles inode serves every file whole' '
	mount_lib lib &&
	mf_mount mnt --db "$DB" --template "$T" --handles inode \
		--poll-interval-ms 100 &&
	fault_same_audio mnt/Art/One/Alpha.flac lib/a.flac &&
	fault_same_audio mnt/Art/One/Beta.flac lib/b.flac &&
	fault_same_audio mnt/Art/Two/Gamma.flac lib/c.flac &&
	metaflac --show-tag=TITLE mnt/Art/Two/Gamma.flac >t &&
	grep -x "TITLE=Gamma" t &&
	cp mnt/Art/One/Alpha.flac alpha.first
'

mf_test 'reads that reach the daemon reuse the one backing file kept for the inode' '
	for i in 1 2 3 4 5; do
		fault_drop_caches &&
		cmp alpha.first mnt/Art/One/Alpha.flac || return 1
	done &&
	test "$(held lib/a.flac)" = 1 &&
	test "$(held lib/b.flac)" = 1
'

mf_test 'a retag gives a new inode; a descriptor held across it reads its own version' '
	A=$(track_of lib/a.flac) &&
	i=$(stat -c %i mnt/Art/One/Alpha.flac) &&
	cp mnt/Art/One/Alpha.flac alpha.before &&
	exec 7<mnt/Art/One/Alpha.flac &&
	set_tag "$A" title Aleph &&
	mf_wait_until 10 mount_exists mnt/Art/One/Aleph.flac &&
	test "$(stat -c %i mnt/Art/One/Aleph.flac)" != "$i" &&
	cat <&7 >alpha.held && exec 7<&- &&
	cmp alpha.before alpha.held &&
	cp mnt/Art/One/Aleph.flac aleph.now &&
	! cmp -s alpha.before aleph.now &&
	metaflac --show-tag=TITLE aleph.now >t && grep -x "TITLE=Aleph" t &&
	fault_same_audio mnt/Art/One/Aleph.flac lib/a.flac
'

mf_test 'a row naming a file outside every root is EIO, never read' '
	B=$(track_of lib/b.flac) &&
	fault_sql "UPDATE tracks SET backing_path = '\''/etc/passwd'\'' WHERE id = $B" &&
	mf_wait_until 10 fault_eio cat mnt/Art/One/Beta.flac &&
	# a daemon detaches stderr (to /dev/null): its log file stops there
	if test "${MF_MOUNT_FORM-}" != daemon
	then
		grep "/etc/passwd. is outside every root" "$MF_MOUNT_LOG"
	fi &&
	fault_same_audio mnt/Art/Two/Gamma.flac lib/c.flac &&
	mf_umount mnt
'

mf_test '--handles open keeps no backing file once the reader closed it' '
	mf_mount mnt --db "$DB" --template "$T" --handles open &&
	cat mnt/Art/Two/Gamma.flac >/dev/null &&
	mf_wait_until 10 held_none lib/c.flac &&
	mf_umount mnt
'

mf_test '--handles inode with --expose-metrics falls back to open, and says so' '
	mf_mount mnt --db "$DB" --template "$T" --handles inode --expose-metrics &&
	grep "using --handles open" "$MF_MOUNT_LOG" &&
	cat mnt/Art/Two/Gamma.flac >/dev/null &&
	metrics_of mnt metrics.txt &&
	metric metrics.txt musefs_mount_opens_total >/dev/null &&
	mf_umount mnt
'

mf_test '--handles with a bad value is refused, naming the option' '
	test_must_fail musefs-mount --db "$DB" --handles bogus mnt 2>err &&
	grep "handles" err && grep "bogus" err
'

test_done
