#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='musefs-scan from cron: one scan per store (exit 75 or --wait), SIGTERM commits and records an interrupted run, SIGKILL leaves a sound store; reruns finish the work

MUSEFS_TEST_SCAN_DELAY_MS slows every probe down so a scan is still running
when the test acts on it; the assertions never depend on timing.'

. "${0%/*}/lib.sh"
. "$MF_SOURCE/t/lib-scan.sh"

mf_require_progs sox flac metaflac sqlite3 script

N=40

# Start a slow scan of lib in the background; its PID in $scan_pid.
slow_scan () {
	MUSEFS_TEST_SCAN_DELAY_MS=60 musefs-scan -j 1 "$@" lib >bg.out 2>bg.err &
	scan_pid=$!
}

running_runs () {
	test "$(scan_sql "SELECT count(*) FROM scan_runs WHERE outcome = \"running\"")" = 1
}

some_tracks () {
	test "$(scan_sql "SELECT count(*) FROM tracks")" -gt 0
}

fresh_store () {
	rm -f "$SCAN_DB" "$SCAN_DB-wal" "$SCAN_DB-shm"
}

fp_index () {
	scan_sql "SELECT sql FROM sqlite_schema WHERE name = \"tracks_fingerprint_idx\""
}

# the index exactly as schema/0001-core.sql creates it
want_index="CREATE INDEX tracks_fingerprint_idx ON tracks(fingerprint)"

mf_test "set up $N files" '
	i=0 &&
	while test $i -lt $N
	do
		scan_make "lib/d$((i % 4))/f$i.flac" $((200 + 7 * i)) "T$i" || return 1
		i=$((i + 1))
	done
'

mf_test 'a second scan of the same store exits 75; with --wait it waits' '
	slow_scan &&
	test_when_finished "wait $scan_pid 2>/dev/null; :" &&
	mf_wait_until 20 running_runs &&
	test_expect_code 75 musefs-scan lib >out 2>err &&
	grep "another musefs-scan is running" err &&
	musefs-scan --wait lib >out &&
	wait $scan_pid &&
	scan_expect bg.out new=$N &&
	scan_expect out unchanged=$N new=0
'

mf_test 'SIGTERM mid-scan: exit 143, the batch is committed, the run is recorded as interrupted' '
	fresh_store &&
	slow_scan &&
	mf_wait_until 20 some_tracks &&
	kill -TERM $scan_pid &&
	test_expect_code 143 wait $scan_pid &&
	done_n=$(scan_sql "SELECT count(*) FROM tracks") &&
	test "$done_n" -gt 0 && test "$done_n" -lt $N &&
	test "$(scan_sql "SELECT outcome FROM scan_runs ORDER BY id DESC LIMIT 1")" = interrupted &&
	test "$(scan_sql "SELECT new FROM scan_runs ORDER BY id DESC LIMIT 1")" = "$done_n" &&
	scan_expect bg.out new=$done_n
'

mf_test 'a rerun after SIGTERM picks up where it stopped' '
	musefs-scan lib >out &&
	scan_expect out unchanged=$done_n new=$((N - done_n)) &&
	test "$(scan_sql "SELECT count(*) FROM tracks")" = $N &&
	test "$(fp_index)" = "$want_index"
'

mf_test 'SIGKILL mid-scan leaves a store that passes integrity_check; a rerun completes' '
	fresh_store &&
	slow_scan &&
	mf_wait_until 20 some_tracks &&
	kill -KILL $scan_pid &&
	test_expect_code 137 wait $scan_pid &&
	test "$(scan_sql "PRAGMA integrity_check")" = ok &&
	test "$(scan_sql "PRAGMA foreign_key_check")" = "" &&
	done_n=$(scan_sql "SELECT count(*) FROM tracks") &&
	test "$done_n" -lt $N &&
	test -z "$(fp_index)" &&
	musefs-scan -v lib >out 2>err &&
	grep "building the fingerprint index" err &&
	test "$(fp_index)" = "$want_index" &&
	scan_expect out unchanged=$done_n new=$((N - done_n)) failed=0 &&
	test "$(scan_sql "SELECT count(*) FROM tracks")" = $N &&
	test "$(scan_sql "SELECT count(*) FROM scan_runs WHERE outcome = \"running\"")" = 0 &&
	test "$(scan_sql "SELECT outcome FROM scan_runs ORDER BY id LIMIT 1")" = interrupted
'

mf_test 'on a terminal a progress line is drawn on stderr; otherwise stderr stays silent' '
	fresh_store &&
	MUSEFS_TEST_SCAN_DELAY_MS=20 script -qec "musefs-scan -j 1 lib" /dev/null >tty.out &&
	tr "\r" "\n" <tty.out >tty.lines &&
	grep "^musefs-scan: [0-9][0-9]* files, [0-9][0-9]*/s" tty.lines &&
	grep "seen=$N new=$N " tty.lines &&
	fresh_store &&
	MUSEFS_TEST_SCAN_DELAY_MS=20 musefs-scan -j 1 lib >out 2>err &&
	test ! -s err &&
	test "$(fp_index)" = "$want_index" &&
	musefs-scan -q lib >out 2>err &&
	test ! -s out &&
	test ! -s err
'

mf_test '--vacuum reports the bytes reclaimed' '
	scan_sql "DELETE FROM tracks" &&
	musefs-scan --vacuum >out &&
	grep "^vacuum: reclaimed [0-9][0-9]* bytes" out &&
	test "$(sed -n "s/^vacuum: reclaimed \([0-9]*\) bytes/\1/p" out)" -gt 0 &&
	test "$(scan_sql "PRAGMA integrity_check")" = ok
'

test_done
