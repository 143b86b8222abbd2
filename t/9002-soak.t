#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='soak: 32 readers checking whole files and random ranges, a tree walker and a writer retagging, re-arting and renaming tracks through the store (with rescans), all at once against one mount - the foreground form for SOAK_SECONDS (30 in make check, make soak runs 300), then the daemonized form for SOAK_DAEMON_SECONDS (10; make soak: SOAK_SECONDS): no wrong byte, no unexpected error, no stuck thread, mount RSS flat-ish after warm-up

The only bound is on RSS growth (generous); nothing depends on how fast
the machine is. It found two mount bugs (issue 14), both fixed: under
concurrent retags a handle read bytes mixing two layouts (the kernel keeps
one page cache and one i_size per inode, and handles of two versions
shared an inode: now every served version has its own inode), and a
handle opened before a picture was replaced got EIO once the old art row
was deleted (now a layout pins the blobs it reads at its first open).'
. "${0%/*}/lib.sh"
. "$MF_SOURCE/t/lib-mount.sh"

mf_require_fuse
mf_require_progs sox flac metaflac sqlite3
DB=$MF_TRASH/store.db
N=16

mf_test "set up $N FLAC files titled t<id>-0 in the store and mount them" '
	mkdir lib &&
	i=0 &&
	while test $i -lt $N
	do
		mf_make_flac lib/$i.flac 1 $((300 + 37 * i)) &&
		metaflac --set-tag=ARTIST=Art --set-tag=ALBUM=Alb --set-tag=TITLE=x$i lib/$i.flac ||
			return 1
		i=$((i + 1))
	done &&
	musefs-scan --db "$DB" lib >/dev/null &&
	sqlite3 "$DB" "UPDATE tags SET value = '\''t'\'' || track_id || '\''-0'\''
		WHERE key = '\''title'\''" &&
	mf_mount mnt --db "$DB" --template "\$title" --poll-interval-ms 100 &&
	mf_wait_until 10 test -e mnt/t1-0.flac &&
	test "$(ls mnt | wc -l)" = $N
'

soak() {
	/usr/bin/python3 "$MF_SOURCE/t/helper/soak.py" "$PWD/mnt" "$DB" "$PWD/lib" \
		"$MF_MOUNT_PID" "$1" 32 >soak.out
	rc=$?
	sed "s/^/# /" soak.out
	test $rc = 0
}

mf_test "soak for ${SOAK_SECONDS:-30} s" '
	soak "${SOAK_SECONDS:-30}"
'

mf_test 'the mount is still healthy and unmounts cleanly' '
	test "$(ls mnt | wc -l)" = $N &&
	mf_umount mnt
'

mf_test "the daemonized mount (as fstab starts it): soak for ${SOAK_DAEMON_SECONDS:-10} s" '
	MF_MOUNT_FORM=daemon &&
	mf_mount mnt --db "$DB" --template "\$title" --poll-interval-ms 100 &&
	mf_wait_until 10 test -d mnt &&
	test "$(ls mnt | wc -l)" = $N &&
	soak "${SOAK_DAEMON_SECONDS:-10}" &&
	test "$(ls mnt | wc -l)" = $N &&
	mf_umount mnt
'

test_done
