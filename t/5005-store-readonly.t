#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='read-only readers of the store: another user and a read-only bind mount

A user who may read the store but not write its directory (here: nobody,
through setpriv) runs musefs-stat --check and --json with and without the
-wal and -shm files; without a usable -shm the store is opened immutable
and musefs-stat says so. As root, musefs-mount serves a store seen
through a read-only bind mount that has no -wal or -shm.'

. "${0%/*}/lib.sh"
. "$MF_SOURCE/t/lib-stat.sh"

mf_require_progs sox flac sqlite3 setpriv mount umount
test "$(id -u)" = 0 || skip_all 'needs root to run as nobody and to bind-mount'

as_nobody () {
	setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"
}

mf_test 'scan a store; nobody may read it but not write its directory' '
	mkdir -p lib st &&
	mf_make_flac lib/one.flac 2 440 &&
	musefs-scan -q --db st/store.db lib &&
	chmod 755 st && chmod 644 st/store.db &&
	test_path_is_missing st/store.db-wal &&
	test_path_is_missing st/store.db-shm &&
	as_nobody test -r st/store.db &&
	! as_nobody touch st/probe
'
as_nobody test -r "$PWD/st/store.db" 2>/dev/null ||
	skip_all 'nobody cannot reach the trash directory'

mf_test 'no -wal, no -shm: --check is OK and says the store was read immutable' '
	as_nobody musefs-stat --db st/store.db --check >out 2>err &&
	test "$(wc -l <out)" = 1 &&
	grep "^MUSEFS OK - 1 tracks" out &&
	grep "store read immutable" out &&
	test ! -s err &&
	test_path_is_missing st/store.db-shm
'

mf_test 'no -wal, no -shm: --json and the table work and report the open mode' '
	as_nobody musefs-stat --db st/store.db --json >j 2>err &&
	test ! -s err &&
	test "$(stat_json j "j[\"tracks\"][\"total\"]")" = 1 &&
	test "$(stat_json j "j[\"store\"][\"open_mode\"]")" = immutable &&
	as_nobody musefs-stat --db st/store.db >t &&
	grep "^read as  *immutable" t &&
	grep "^audio  *0:02 min" t
'

mf_test 'with -wal and a readable -shm: a shared read that sees the WAL' '
	sqlite3 st/store.db ".filectrl persist_wal 1" "SELECT count(*) FROM tracks" &&
	test -e st/store.db-shm &&
	chmod 644 st/store.db-shm st/store.db-wal &&
	as_nobody musefs-stat --db st/store.db --json >j 2>err &&
	test ! -s err &&
	test "$(stat_json j "j[\"store\"][\"open_mode\"]")" = shared &&
	as_nobody musefs-stat --db st/store.db --check >out &&
	! grep immutable out
'

mf_test 'with a -shm nobody may not read: immutable again' '
	chmod 600 st/store.db-shm &&
	as_nobody musefs-stat --db st/store.db --check >out 2>err &&
	grep "^MUSEFS OK - 1 tracks" out &&
	grep "store read immutable" out &&
	rm -f st/store.db-shm st/store.db-wal
'

mf_test 'a writable directory: nobody reads shared (SQLite makes the -shm)' '
	chmod 1777 st &&
	test_when_finished "chmod 755 st; rm -f st/store.db-shm st/store.db-wal" &&
	as_nobody musefs-stat --db st/store.db --json >j &&
	test "$(stat_json j "j[\"store\"][\"open_mode\"]")" = shared
'

mf_require_fuse
stat_require_ro_bind st ro

mf_test 'musefs-mount serves a store on a read-only bind mount without -wal/-shm' '
	test_path_is_missing st/store.db-shm &&
	mount --bind st ro &&
	test_when_finished "umount ro" &&
	mount -o remount,bind,ro ro &&
	test_must_fail touch ro/probe &&
	mf_mount mnt --db ro/store.db &&
	find mnt -type f >files &&
	test "$(wc -l <files)" = 1 &&
	test "$(mf_audio_md5 "$(cat files)")" = "$(mf_audio_md5 lib/one.flac)" &&
	mf_umount mnt &&
	! grep "attempt to write a readonly database" "$MF_MOUNT_LOG"
'

test_done
