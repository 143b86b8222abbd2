#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='make install and make uninstall into a DESTDIR (programs and man pages); make run creates a missing MOUNTPOINT and says where the tree is and how to stop it

Runs make in the source tree against the build tree under test, only when
that tree is up to date with the same flags (nothing is rebuilt).'

. "${0%/*}/lib.sh"
. "$MF_SOURCE/t/lib-scan.sh"

mf_require_progs make sox flac metaflac

case $MF_BUILD in
"$MF_SOURCE/build") MK_ARGS= ;;
"$MF_SOURCE/build/san") MK_ARGS=SANITIZE=1 ;;
*) skip_all "build tree '$MF_BUILD' is not the source tree's" ;;
esac
grep -q -e -Werror "$MF_BUILD/CFLAGS" 2>/dev/null && MK_ARGS="$MK_ARGS WERROR=1"

mk () {
	make -C "$MF_SOURCE" --no-print-directory $MK_ARGS "$@"
}

# Would `make all` use other flags (and so rebuild everything)? Then
# leave the tree alone.
mk_flags=$(mk -n all 2>/dev/null |
	sed -n "s/^echo '\(.*\)' > .*CFLAGS\.tmp.*/\1/p" | sed -n 1p)
if test -z "$mk_flags" || test "$mk_flags" != "$(cat "$MF_BUILD/CFLAGS")"; then
	skip_all 'the build tree was built with other flags'
fi

mf_test 'make install puts the programs and the man pages under DESTDIR' '
	mk install DESTDIR="$PWD/dest" PREFIX=/usr >out 2>err &&
	for p in musefs-scan musefs-mount musefs-stat
	do
		test -x dest/usr/bin/$p || return 1
	done &&
	for m in "$MF_SOURCE"/docs/*.1
	do
		test_path_is_file "dest/usr/share/man/man1/${m##*/}" || return 1
	done
'

mf_test 'make uninstall removes all of it' '
	mk uninstall DESTDIR="$PWD/dest" PREFIX=/usr >out 2>err &&
	find dest -type f >left &&
	test_cmp /dev/null left
'

mf_require_fuse

mf_test 'make run creates a missing MOUNTPOINT, says where and how to stop' '
	scan_make lib/a.flac 440 Song || return 1
	mk run LIBRARY="$PWD/lib" MOUNTPOINT="$PWD/new/mp" >run.out 2>&1 &
	run_pid=$!
	test_when_finished "fusermount3 -u \"$PWD/new/mp\" 2>/dev/null; wait $run_pid; :" &&
	mf_wait_until 60 mf_is_mounted "$PWD/new/mp" &&
	grep "^run: mounting the tree at .$PWD/new/mp. in the foreground" run.out &&
	grep "Ctrl-C or: fusermount3 -u .$PWD/new/mp." run.out &&
	find new/mp -type f >files &&
	test "$(wc -l <files)" = 1 &&
	fusermount3 -u "$PWD/new/mp" &&
	wait $run_pid
'

test_done
