#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='musefs-scan walk rules: .musefsignore, --exclude, hidden and non-audio files, symlinks and cycles, non-UTF-8 names (stored byte-exact and served through the mount)'

. "${0%/*}/lib.sh"
. "$MF_SOURCE/t/lib-scan.sh"

mf_require_progs sox flac metaflac sqlite3 ffmpeg

mf_test 'ignore files and --exclude' '
	scan_make ig/keep.flac 300 Keep &&
	scan_make ig/live/bootleg.flac 310 Bootleg &&
	scan_make ig/live/official.flac 320 Official &&
	scan_make ig/tmp/scratch.flac 330 Scratch &&
	scan_make ig/deep/a/b/skip-me.flac 340 Deep &&
	scan_make ig/deep/a/b/take-me.flac 350 Take &&
	scan_make ig/other/x.flac 360 X &&
	printf "# comments and blank lines are ignored\n\ntmp/\n**/skip-*.flac\n" >ig/.musefsignore &&
	printf "*.flac\n!official.flac\n" >ig/live/.musefsignore &&
	musefs-scan -v --exclude other ig >out 2>err &&
	scan_expect out seen=7 new=3 skipped=4 &&
	scan_sql "SELECT replace(backing_path, $(scan_sql_str "$(mf_abs ig)/"), \"\") FROM tracks ORDER BY 1" >got &&
	cat >want <<-\EOF &&
	deep/a/b/take-me.flac
	keep.flac
	live/official.flac
	EOF
	test_cmp want got &&
	grep "extension .(ignored)." err
'

mf_test 'a root given twice, or inside another root, is walked once' '
	musefs-scan --exclude other ig ig/live "$(mf_abs ig)/deep" ig >out 2>err &&
	scan_expect out seen=7 new=0 unchanged=3 failed=0 &&
	test ! -s err
'

mf_test 'hidden and non-audio files are skipped by extension (-v)' '
	scan_make hid/.secret.flac 370 Secret &&
	scan_make hid/.dir/in-hidden-dir.flac 380 InHidden &&
	scan_make hid/ok.FLAC 390 Upper &&
	echo a >hid/a.txt && echo b >hid/b.TXT && echo c >hid/cover.jpg &&
	musefs-scan -v hid >out 2>err &&
	scan_expect out seen=5 new=1 skipped=4 &&
	grep "skipped 2 file(s) with extension .txt." err &&
	grep "skipped 1 file(s) with extension .jpg." err &&
	grep "skipped 1 file(s) with extension .(hidden)." err
'

mf_test 'symlinks are not followed by default' '
	scan_make real/r1.flac 400 R1 &&
	mkdir links &&
	ln -s ../real links/dirlink &&
	ln -s ../real/r1.flac links/filelink.flac &&
	musefs-scan links >out &&
	scan_expect out seen=0 new=0
'

mf_test '--follow-symlinks: a cycle is walked once, a file reached twice is stored once under its real path' '
	mkdir real/sub &&
	ln -s .. real/sub/loop &&
	ln -s . real/self &&
	musefs-scan --follow-symlinks links >out &&
	scan_expect out new=1 seen=1 &&
	test "$(scan_sql "SELECT count(*) FROM tracks WHERE backing_path LIKE \"%/r1.flac\"")" = 1 &&
	test "$(scan_sql "SELECT backing_path FROM tracks WHERE backing_path LIKE \"%/r1.flac\"")" = "$(mf_abs real)/r1.flac" &&
	musefs-scan --follow-symlinks links real >out &&
	scan_expect out unchanged=1 new=0
'

mf_test 'non-UTF-8 names are stored byte-exact; two such names are two rows' '
	mkdir raw &&
	n1=$(printf "raw/caf\351.flac") &&
	n2=$(printf "raw/caf\350.flac") &&
	scan_make "$n1" 500 Latin1 &&
	scan_make "$n2" 510 Latin2 &&
	musefs-scan raw >out &&
	scan_expect out new=2 failed=0 &&
	scan_sql "SELECT hex(substr(CAST(backing_path AS BLOB), length(CAST(backing_path AS BLOB)) - 9)) FROM tracks WHERE backing_path LIKE \"%/raw/%\" ORDER BY 1" >got &&
	printf "%s\n" 2F636166E82E666C6163 2F636166E92E666C6163 >want &&
	test_cmp want got &&
	musefs-scan raw >out &&
	scan_expect out unchanged=2 new=0
'

mf_require_fuse

mf_test 'a non-UTF-8 backing file is served through the mount' '
	mkdir mnt &&
	mf_mount mnt --db "$SCAN_DB" --template "\$title" &&
	test_when_finished "mf_umount mnt" &&
	test -f mnt/Latin1.flac &&
	test "$(mf_audio_md5 mnt/Latin1.flac)" = "$(mf_audio_md5 "$(printf "raw/caf\351.flac")")" &&
	test "$(mf_audio_md5 mnt/Latin2.flac)" = "$(mf_audio_md5 "$(printf "raw/caf\350.flac")")" &&
	metaflac --show-tag=TITLE mnt/Latin1.flac >got &&
	echo TITLE=Latin1 >want &&
	test_cmp want got
'

test_done
