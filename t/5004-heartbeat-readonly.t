#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='a mount whose store cannot be written logs once and keeps serving

The store is scanned, then seen through a read-only bind mount (as on
read-only media). musefs-mount serves from it with a 1 s heartbeat: every
heartbeat write fails, the mount says so once in its log, counts the
failures, serves files, and exits cleanly.'

. "${0%/*}/lib.sh"
. "$MF_SOURCE/t/lib-stat.sh"

mf_require_fuse
mf_require_progs sox flac sqlite3 mount umount
test "$(id -u)" = 0 || skip_all 'needs root for a read-only bind mount'

mkdir -p src ro lib
stat_require_ro_bind src ro

# Value of the metric $2 in the Prometheus file $1.
metric () {
	stat_prom_value "$@"
}

# True when mountpoint $1 counted at least $2 failed heartbeat writes.
beat_errors_at_least () {
	cat "$1/.musefs-metrics/metrics" >beat.prom &&
	test "$(metric beat.prom musefs_mount_heartbeat_errors_total)" -ge "$2"
}

mf_test 'scan into a store kept with its WAL files, seen read-only' '
	mf_make_flac lib/one.flac 1 440 &&
	musefs-scan -q --db src/store.db lib &&
	# keep -wal and -shm on close: SQLite reads a WAL store on read-only
	# media only when they exist
	sqlite3 src/store.db ".filectrl persist_wal 1" "SELECT count(*) FROM tracks" &&
	test -e src/store.db-shm &&
	mount --bind src ro &&
	mount -o remount,bind,ro ro &&
	test_must_fail touch ro/probe
'

mf_test 'the mount serves, logs one warning and counts the failed beats' '
	test_when_finished "umount ro" &&
	mf_mount mnt --db ro/store.db --heartbeat-s 1 --expose-metrics &&
	mf_wait_until 15 beat_errors_at_least mnt 3 &&
	test "$(metric beat.prom musefs_mount_heartbeats_total)" = 0 &&
	cat mnt/*/*/* >served &&
	test "$(stat -c %s served)" -gt 0 &&
	mf_umount mnt &&
	grep -c "cannot write the heartbeat" "$MF_MOUNT_LOG" >n &&
	test "$(cat n)" = 1 &&
	grep "keeps serving" "$MF_MOUNT_LOG" &&
	test "$(sqlite3 src/store.db "SELECT count(*) FROM mount_heartbeats")" = 0
'

test_done
