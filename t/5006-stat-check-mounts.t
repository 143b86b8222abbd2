#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='musefs-stat --check judges failed files by --max-failed; --forget-mount drops a gone mount; rows stopped or stale for more than 7 days are ignored and removed by the next writer'

. "${0%/*}/lib.sh"
. "$MF_SOURCE/t/lib-stat.sh"

mf_require_progs sqlite3 sox flac

NOW=$(date +%s)
HOST=$(uname -n)
DAY=86400

mf_test 'a partial scan warns by default, naming the failed files' '
	stat_new_store &&
	stat_add_tracks 3 flac &&
	stat_add_scan partial $NOW $NOW 1 &&
	test_expect_code 1 musefs-stat --check >out &&
	grep "^MUSEFS WARNING - last scan partial (1 failed file);" out
'

mf_test '--max-failed W:C replaces that default: under W is OK' '
	musefs-stat --check --max-failed 5:10 >out &&
	grep "^MUSEFS OK - 3 tracks, last scan partial" out &&
	! grep "WARNING" out
'

mf_test '--max-failed W:C: over W warns, over C is CRITICAL' '
	stat_add_scan partial $NOW $NOW 7 &&
	test_expect_code 1 musefs-stat --check --max-failed 5:10 >out &&
	grep "^MUSEFS WARNING - failed files in last scan 7 (max 5);" out &&
	test_expect_code 2 musefs-stat --check --max-failed 2:6 >out &&
	grep "^MUSEFS CRITICAL - failed files in last scan 7 (max 6);" out &&
	test_expect_code 2 musefs-stat --check --max-failed :0 >out &&
	stat_add_scan ok $NOW $NOW 0
'

mf_test '--forget-mount deletes a crashed mount row; --check is OK again' '
	sleep 0 & dead=$! && wait $dead &&
	stat_add_heartbeat "$HOST" /mnt/crashed $dead running $NOW 10 "reads=1" &&
	test_expect_code 2 musefs-stat --check >out &&
	grep "1 stale mount" out &&
	musefs-stat --forget-mount /mnt/crashed/ >out &&
	grep "forgot the mount of ./mnt/crashed/. on host" out &&
	test "$(stat_sql "SELECT count(*) FROM mount_heartbeats")" = 0 &&
	musefs-stat --check >out
'

mf_test '--forget-mount refuses a running mount whose pid exists' '
	stat_add_heartbeat "$HOST" /mnt/live $$ running $NOW 10 "reads=1" &&
	test_expect_code 1 musefs-stat --forget-mount /mnt/live 2>err &&
	test "$(wc -l <err)" = 1 &&
	grep "is running (pid $$); unmount it first" err &&
	test "$(stat_sql "SELECT count(*) FROM mount_heartbeats")" = 1
'

mf_test '--forget-mount: a stopped row goes; an unknown mountpoint is an error' '
	stat_add_heartbeat "$HOST" /mnt/done $$ stopped $NOW 10 "reads=1" &&
	musefs-stat --forget-mount /mnt/done >out &&
	test "$(stat_sql "SELECT count(*) FROM mount_heartbeats WHERE mountpoint = \"/mnt/done\"")" = 0 &&
	test_expect_code 1 musefs-stat --forget-mount /mnt/never 2>err &&
	grep "no mount of ./mnt/never. on host" err &&
	test_expect_code 1 musefs-stat --forget-mount /mnt/live --json 2>err
'

mf_test 'rows stopped or stale for more than 7 days are ignored by --check, Prometheus and the tables' '
	stat_add_heartbeat elsewhere /mnt/old-stale 4242 running $((NOW - 8 * DAY)) 10 "reads=1" &&
	stat_add_heartbeat "$HOST" /mnt/old-stopped $$ stopped $((NOW - 9 * DAY)) 10 "reads=1" &&
	stat_add_heartbeat elsewhere /mnt/recent-stale 4243 running $((NOW - 6 * DAY)) 10 "reads=1" &&
	musefs-stat --json >j &&
	test "$(stat_json j "j[\"mounts\"][\"expired\"]")" = 2 &&
	test "$(stat_json j "j[\"mounts\"][\"stale\"]")" = 1 &&
	stat_json j "sorted(m[\"mountpoint\"] for m in j[\"mounts\"][\"list\"])" >mps &&
	grep "/mnt/recent-stale" mps && ! grep "/mnt/old" mps &&
	musefs-stat --prometheus >p &&
	stat_prom_check p &&
	grep "/mnt/recent-stale" p && ! grep "/mnt/old" p &&
	test_expect_code 2 musefs-stat --check >out &&
	grep "1 stale mount" out &&
	musefs-stat mounts >t && ! grep "/mnt/old" t
'

mf_test 'the next writer (a scan) removes the expired rows, and only them' '
	musefs-scan -q empty-root &&
	stat_sql "SELECT mountpoint FROM mount_heartbeats ORDER BY mountpoint" >left &&
	printf "/mnt/live\n/mnt/recent-stale\n" >want &&
	test_cmp want left
'

mf_test 'the summary shows the audio of a small library in minutes' '
	mkdir -p lib &&
	mf_make_flac lib/a.flac 2 440 &&
	mf_make_flac lib/b.flac 3 660 &&
	musefs-scan -q lib &&
	musefs-stat >t &&
	grep "^audio  *0:05 min, " t &&
	stat_sql "UPDATE track_props SET duration_ms = 5400000 WHERE rowid = (SELECT min(rowid) FROM track_props)" &&
	musefs-stat >t &&
	grep "^audio  *1.5 h, " t
'

test_done
