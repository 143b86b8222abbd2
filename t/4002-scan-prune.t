#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='musefs-scan --prune: deletes gone files and orphaned art, refuses when a root looks unmounted, emptied or mostly deleted'

. "${0%/*}/lib.sh"
. "$MF_SOURCE/t/lib-scan.sh"

mf_require_progs sox flac metaflac sqlite3

# A library of 20 files; the first two have their own covers.
make_lib () {
	mf_make_jpeg c1.jpg 16x16 red &&
	mf_make_jpeg c2.jpg 16x16 blue &&
	scan_make "$1/a/01.flac" 300 One --import-picture-from="3||||c1.jpg" &&
	scan_make "$1/a/02.flac" 310 Two --import-picture-from="3||||c2.jpg" &&
	for i in 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20
	do
		scan_make "$1/b/$i.flac" $((300 + 10 * i)) "T$i" || return 1
	done
}

mf_test 'set up and scan a library of 20 files' '
	make_lib lib &&
	musefs-scan lib >out &&
	scan_expect out new=20 &&
	test "$(scan_sql "SELECT count(*) FROM art")" = 2
'

mf_test 'without --prune a removed file stays in the store' '
	rm lib/a/01.flac &&
	musefs-scan lib >out &&
	scan_expect out pruned=0 seen=19 &&
	test "$(scan_sql "SELECT count(*) FROM tracks")" = 20
'

mf_test '--prune deletes the removed file and its orphaned art' '
	keep=$(scan_sql "SELECT art_id FROM track_art ta JOIN tracks t ON t.id = ta.track_id WHERE t.backing_path LIKE \"%/02.flac\"") &&
	musefs-scan --prune lib >out &&
	scan_expect out pruned=1 &&
	test "$(scan_sql "SELECT count(*) FROM tracks")" = 19 &&
	test "$(scan_sql "SELECT count(*) FROM tracks WHERE backing_path LIKE \"%/01.flac\"")" = 0 &&
	test "$(scan_sql "SELECT group_concat(id) FROM art")" = "$keep" &&
	test "$(scan_sql "SELECT pruned FROM scan_runs ORDER BY id DESC LIMIT 1")" = 1
'

mf_test '--prune keeps a moved file (it is retargeted, not deleted)' '
	mv lib/b/3.flac lib/a/three.flac &&
	musefs-scan --prune lib >out &&
	scan_expect out moved=1 pruned=0 &&
	test "$(scan_sql "SELECT count(*) FROM tracks")" = 19
'

mf_test '--prune refuses when more than --prune-limit of a root would go' '
	rm lib/b/4.flac lib/b/5.flac lib/b/6.flac &&
	test_expect_code 1 musefs-scan --prune lib >out 2>err &&
	grep "prune-limit" err &&
	test "$(scan_sql "SELECT count(*) FROM tracks")" = 19 &&
	test_expect_code 1 musefs-scan --prune --prune-limit 10 lib 2>err &&
	musefs-scan --prune --prune-limit 20 lib >out &&
	scan_expect out pruned=3 &&
	test "$(scan_sql "SELECT count(*) FROM tracks")" = 16
'

mf_test '--prune refuses on an emptied root, --force overrides' '
	mkdir lib2 &&
	scan_make lib2/x.flac 700 X &&
	scan_make lib2/y.flac 710 Y &&
	musefs-scan lib2 >out &&
	mv lib2 lib2.away && mkdir lib2 &&
	test_expect_code 1 musefs-scan --prune lib2 >out 2>err &&
	grep "is empty" err &&
	test "$(scan_sql "SELECT count(*) FROM tracks WHERE backing_path LIKE \"%/lib2/%\"")" = 2 &&
	musefs-scan --prune --force lib2 >out &&
	scan_expect out pruned=2 &&
	test "$(scan_sql "SELECT count(*) FROM tracks WHERE backing_path LIKE \"%/lib2/%\"")" = 0
'

if test "$(id -u)" = 0 && mkdir tmpfs-probe && mount -t tmpfs -o size=8m none tmpfs-probe 2>/dev/null
then
	umount tmpfs-probe && mf_set_prereq TMPFS
fi
rmdir tmpfs-probe 2>/dev/null

mf_test TMPFS '--prune refuses when the root is on another filesystem (unmounted)' '
	mkdir disk &&
	scan_make disk/underneath.flac 800 Under &&
	mount -t tmpfs -o size=16m none disk &&
	test_when_finished "umount disk 2>/dev/null; :" &&
	scan_make disk/m1.flac 810 M1 &&
	scan_make disk/m2.flac 820 M2 &&
	musefs-scan disk >out &&
	scan_expect out new=2 &&
	umount disk &&
	test_expect_code 1 musefs-scan --prune disk >out 2>err &&
	grep "different filesystem" err &&
	scan_expect out new=1 &&
	test "$(scan_sql "SELECT count(*) FROM tracks WHERE backing_path LIKE \"%/disk/m_.flac\"")" = 2
'

mf_test '--prune refuses a missing root' '
	test_expect_code 1 musefs-scan --prune no-such-dir 2>err &&
	grep no-such-dir err
'

test_done
