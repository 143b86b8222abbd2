#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='soak (make soak): 32 readers checking whole files and random ranges, a tree walker and a writer retagging, re-arting and renaming tracks through the store (with rescans), all at once against one mount for SOAK_SECONDS (30 here; make soak runs 300): no wrong byte, no unexpected error, no stuck thread, mount RSS flat-ish after warm-up

The only bound is on RSS growth (generous); nothing depends on how fast
the machine is. Named .sh, so prove -r t/ (make check) does not run it
yet: today it fails on two mount findings (issue 14) - under concurrent
retags a handle reads bytes that mix two layouts (whole reads shorter
than st_size, audio not where the header says; also with
SOAK_KEEP_ART=1), and a handle opened before a picture was replaced gets
EIO once the old art row is deleted ("cannot open art.data of row N").
Rename it to t/9002-soak.t when the mount passes.'
# Likely cause of the first finding (reasoned from mount/mf_fs.c, not yet
# proven by a trace): the kernel keeps one page cache and one i_size per
# inode, but handles opened on one inode before and after a retag serve
# different versions (a snapshot per open, keep_cache). GETATTR with a file
# handle answers that handle's size, without one the current size, so
# i_size flips between versions and cached pages filled through an old
# handle are found by a new one (the invalidation after an old handle's
# READ comes after the reply). Planned fix: a new inode number for every
# (track, content_version, store) served - mf_tree_apply() gives a track
# whose version moved a new node, the old one stays until FORGET - so
# every inode's bytes and size are immutable; a lookup, getattr or open
# that finds a newer version than its node wakes the refresh and answers
# ESTALE (the VFS retries the open with LOOKUP_REVAL).
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

mf_test "soak for ${SOAK_SECONDS:-30} s" '
	/usr/bin/python3 "$MF_SOURCE/t/helper/soak.py" "$PWD/mnt" "$DB" "$PWD/lib" \
		"$MF_MOUNT_PID" "${SOAK_SECONDS:-30}" 32 >soak.out
	rc=$?
	sed "s/^/# /" soak.out
	test $rc = 0
'

mf_test 'the mount is still healthy and unmounts cleanly' '
	test "$(ls mnt | wc -l)" = $N &&
	mf_umount mnt
'

test_done
