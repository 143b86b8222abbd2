#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='musefs-stat on stores built by hand with SQL

Tracks, scan runs and mount heartbeats are inserted with sqlite3, so that
every number musefs-stat prints is known: the JSON, flat and --get views
agree with SQL, the Prometheus text is valid, mounts are classified live,
stale or stopped, and --check returns 0, 1, 2 and 3 in the situations that
call for them.'

. "${0%/*}/lib.sh"
. "$MF_SOURCE/t/lib-stat.sh"

mf_require_progs sqlite3

NOW=$(date +%s)
HOST=$(uname -n)

mf_test 'a missing store is a clear error; --check says UNKNOWN (3)' '
	test_expect_code 1 musefs-stat --db nowhere.db >out 2>err &&
	test_must_fail test -s out &&
	grep "nowhere.db" err &&
	test_expect_code 1 musefs-stat --db nowhere.db --json >out 2>err &&
	test_must_fail test -s out &&
	test_expect_code 3 musefs-stat --db nowhere.db --check >out 2>err &&
	test "$(wc -l <out)" = 1 &&
	grep "^MUSEFS UNKNOWN - cannot read store .*nowhere.db" out
'

mf_test 'a foreign database is refused; --check says UNKNOWN' '
	sqlite3 foreign.db "CREATE TABLE songs (x); INSERT INTO songs VALUES (1)" &&
	test_expect_code 1 musefs-stat --db foreign.db 2>err &&
	grep "not a musefs store" err &&
	test_expect_code 3 musefs-stat --db foreign.db --check >out &&
	grep "^MUSEFS UNKNOWN" out &&
	printf "not sqlite at all\n" >junk.db &&
	test_expect_code 3 musefs-stat --db junk.db --check >out &&
	grep "^MUSEFS UNKNOWN" out
'

mf_test 'bad options are refused (UNKNOWN under --check)' '
	test_expect_code 1 musefs-stat --bogus 2>err &&
	test_expect_code 1 musefs-stat --json --prometheus 2>err &&
	test_expect_code 1 musefs-stat nonsense 2>err &&
	test_expect_code 1 musefs-stat --max-scan-age 1h 2>err &&
	test_expect_code 1 musefs-stat --watch 1 --json 2>err &&
	test_expect_code 3 musefs-stat --check --max-scan-age 1x 2>err &&
	grep "max-scan-age" err &&
	test_expect_code 3 musefs-stat --check --min-tracks :: 2>err
'

mf_test 'an empty store: every section present, nothing counted' '
	stat_new_store &&
	musefs-stat --json >j &&
	test "$(stat_json j "j[\"tracks\"][\"total\"]")" = 0 &&
	test "$(stat_json j "j[\"tracks\"][\"by_format\"]")" = "{}" &&
	test "$(stat_json j "j[\"last_scan\"]")" = null &&
	test "$(stat_json j "j[\"scans\"]")" = "[]" &&
	test "$(stat_json j "j[\"mounts\"][\"list\"]")" = "[]" &&
	test "$(stat_json j "j[\"mounts\"][\"live\"]")" = 0 &&
	test "$(stat_json j "j[\"store\"][\"path\"]")" = "$MUSEFS_DB" &&
	test "$(stat_json j "j[\"store\"][\"user_version\"]")" = 2 &&
	musefs-stat --prometheus >p &&
	stat_prom_check p &&
	test "$(musefs-stat --get last_scan)" = ""
'

mf_test 'tracks, tags, art and changelog match SQL in JSON, flat and --get' '
	stat_add_tracks 5 flac 1000 &&
	stat_add_tracks 3 mp3 500 &&
	stat_sql "INSERT INTO tags (track_id, key, value) SELECT id, \"title\", \"t\" || id FROM tracks" &&
	musefs-stat --json >j &&
	test "$(stat_json j "j[\"tracks\"][\"total\"]")" = 8 &&
	test "$(stat_json j "j[\"tracks\"][\"by_format\"][\"flac\"]")" = 5 &&
	test "$(stat_json j "j[\"tracks\"][\"by_format\"][\"mp3\"]")" = 3 &&
	test "$(stat_json j "j[\"tracks\"][\"backing_bytes\"]")" = 6500 &&
	test "$(stat_json j "j[\"tags\"][\"rows\"]")" = 8 &&
	test "$(stat_json j "j[\"changelog\"][\"head_seq\"]")" = \
		"$(stat_sql "SELECT max(seq) FROM track_changes")" &&
	musefs-stat --get tracks.total >v &&
	test "$(cat v)" = 8 && test "$(wc -l <v)" = 1 &&
	test "$(musefs-stat --get tracks.by_format.mp3)" = 3 &&
	test_expect_code 1 musefs-stat --get tracks.nothing >v 2>err &&
	test_must_fail test -s v &&
	grep "no value named" err &&
	test_expect_code 1 musefs-stat --get tracks >v 2>err &&
	musefs-stat --flat >flat &&
	grep -c . flat >n && test "$(cat n)" -gt 15 &&
	! grep -v "^[a-z_0-9.]*=" flat &&
	while IFS="=" read -r k v; do
		got=$(musefs-stat --get "$k") &&
		case $k in
		generated_at)
			# the clock may tick between the two calls
			test "$got" -ge "$v" && test "$got" -le $((v + 5)) ;;
		*)	test "$got" = "$v" ;;
		esac || { echo "--get $k: $got differs from flat: $v"; return 1; }
	done <flat
'

mf_test 'scan runs: newest first, --limit, last_scan with moved and pruned' '
	stat_add_scan ok $((NOW - 7200)) $((NOW - 7100)) 0 &&
	stat_add_scan partial $((NOW - 3600)) $((NOW - 3500)) 4 &&
	stat_add_scan ok $((NOW - 60)) $((NOW - 30)) 2 &&
	musefs-stat --json --limit 2 >j &&
	test "$(stat_json j "len(j[\"scans\"])")" = 2 &&
	test "$(stat_json j "j[\"scans\"][0][\"outcome\"]")" = ok &&
	test "$(stat_json j "j[\"scans\"][1][\"outcome\"]")" = partial &&
	test "$(stat_json j "j[\"scans\"][1][\"failed\"]")" = 4 &&
	test "$(stat_json j "j[\"last_scan\"][\"failed\"]")" = 2 &&
	test "$(stat_json j "j[\"last_scan\"][\"moved\"]")" = 1 &&
	test "$(stat_json j "j[\"last_scan\"][\"duration_s\"]")" = 30 &&
	test "$(stat_json j "j[\"last_scan\"][\"ended_at\"]")" = $((NOW - 30)) &&
	musefs-stat scans >t &&
	head -n 1 t | grep "^ID  *STARTED" &&
	test "$(wc -l <t)" = 4 &&
	sed -n 2p t | grep " ok " &&
	sed -n 3p t | grep " partial "
'

mf_test 'a running scan has a null end and counts its age from the start' '
	stat_add_scan running $((NOW - 10)) NULL &&
	musefs-stat --json >j &&
	test "$(stat_json j "j[\"last_scan\"][\"outcome\"]")" = running &&
	test "$(stat_json j "j[\"last_scan\"][\"ended_at\"]")" = null &&
	test "$(stat_json j "j[\"last_scan\"][\"age_s\"]")" -ge 10 &&
	test_expect_code 1 musefs-stat --check --max-scan-age 5s >out &&
	grep "last scan age" out &&
	musefs-stat --prometheus >p &&
	stat_prom_check p &&
	stat_prom_value p "musefs_scan_last_outcome{outcome=\"running\"}" >v &&
	test "$(cat v)" = 1 &&
	! grep "^musefs_scan_last_end_timestamp_seconds" p &&
	stat_sql "DELETE FROM scan_runs WHERE outcome = \"running\""
'

mf_test 'mounts: live, stale by age, stale by a dead pid, stopped' '
	sleep 0 & dead=$! && wait $dead &&
	now=$(date +%s) &&	# not $NOW: earlier tests may have taken seconds
	stat_add_heartbeat "$HOST" /mnt/live $$ running $now 10 \
		"reads=7 read_bytes=7000 changelog.lag_s=2.5 uptime_s=100 future.key=1" &&
	stat_add_heartbeat elsewhere /mnt/old 12345 running $((now - 31)) 10 "reads=1" &&
	stat_add_heartbeat "$HOST" /mnt/killed $dead running $now 10 "reads=2" &&
	stat_add_heartbeat "$HOST" /mnt/done $$ stopped $((now - 5)) 10 "reads=3" &&
	musefs-stat --json >j &&
	test "$(stat_json j "j[\"mounts\"][\"live\"]")" = 1 &&
	test "$(stat_json j "j[\"mounts\"][\"stale\"]")" = 2 &&
	test "$(stat_json j "j[\"mounts\"][\"stopped\"]")" = 1 &&
	stat_json j "[(m[\"mountpoint\"], m[\"state\"]) for m in j[\"mounts\"][\"list\"]]" >states &&
	grep "\"/mnt/live\", \"live\"" states &&
	grep "\"/mnt/old\", \"stale\"" states &&
	grep "\"/mnt/killed\", \"stale\"" states &&
	grep "\"/mnt/done\", \"stopped\"" states &&
	stat_json j "[m for m in j[\"mounts\"][\"list\"] if m[\"mountpoint\"] == \"/mnt/live\"][0]" >live &&
	stat_json live "j[\"metrics\"][\"reads\"]" >v && test "$(cat v)" = 7 &&
	stat_json live "j[\"metrics\"][\"changelog\"][\"lag_s\"]" >v && test "$(cat v)" = 2.5 &&
	stat_json live "j[\"pid\"]" >v && test "$(cat v)" = $$ &&
	stat_json live "j[\"stopped_at\"]" >v && test "$(cat v)" = null &&
	stat_json live "\"future\" in j[\"metrics\"]" >v && test "$(cat v)" = false &&
	musefs-stat mounts >t &&
	head -n 1 t | grep "^STATE" &&
	grep "^live .* /mnt/live$" t &&
	grep "^stopped .* /mnt/done$" t
'

mf_test 'Prometheus text is valid and labels each mount' '
	musefs-stat --prometheus >p &&
	stat_prom_check p &&
	test "$(stat_prom_value p "musefs_tracks{format=\"flac\"}")" = 5 &&
	test "$(stat_prom_value p "musefs_mounts{state=\"stale\"}")" = 2 &&
	test "$(stat_prom_value p "musefs_mount_up{host=\"$HOST\",mountpoint=\"/mnt/live\"}")" = 1 &&
	test "$(stat_prom_value p "musefs_mount_up{host=\"$HOST\",mountpoint=\"/mnt/killed\"}")" = 0 &&
	test "$(stat_prom_value p "musefs_mount_reads_total{host=\"$HOST\",mountpoint=\"/mnt/live\"}")" = 7 &&
	test "$(stat_prom_value p "musefs_mount_changelog_lag_seconds{host=\"$HOST\",mountpoint=\"/mnt/live\"}")" = 2.5 &&
	test "$(stat_prom_value p "musefs_scan_last_files{result=\"failed\"}")" = 2
'

mf_test 'label values with quotes, backslashes and newlines are escaped' '
	stat_sql "INSERT INTO mount_heartbeats (hostname, mountpoint, pid, interval_s,
		started_at, updated_at, state, metrics) VALUES (\"h\", \"/m \" || char(34) ||
		\"q\" || char(92) || char(10) || \"x\", 1, 10, $NOW, $NOW, \"stopped\", \"\")" &&
	musefs-stat --prometheus >p &&
	stat_prom_check p &&
	grep -F "mountpoint=\"/m \\\"q\\\\\\nx\"" p &&
	musefs-stat --json >j &&
	stat_json j "len(j[\"mounts\"][\"list\"])" >v && test "$(cat v)" = 5 &&
	stat_sql "DELETE FROM mount_heartbeats WHERE hostname = \"h\""
'

mf_test 'every Prometheus family is documented in docs/metrics.md' '
	musefs-stat --prometheus >p &&
	stat_prom_documented p >n &&
	test "$(cat n)" -ge 20
'

mf_test '--check: stale mounts are CRITICAL (2)' '
	test_expect_code 2 musefs-stat --check >out &&
	test "$(wc -l <out)" = 1 &&
	grep "^MUSEFS CRITICAL - 2 stale mounts" out &&
	grep " | tracks=8 " out
'

mf_test '--check: a fresh scan and live mounts are OK (0)' '
	stat_sql "DELETE FROM mount_heartbeats WHERE mountpoint IN (\"/mnt/old\", \"/mnt/killed\")" &&
	musefs-stat --check --max-scan-age 1h:1d --min-tracks 1 --max-failed 5 >out &&
	test "$(wc -l <out)" = 1 &&
	grep "^MUSEFS OK - 8 tracks, last scan ok [0-9]*s ago, 1 live mount |" out
'

mf_test '--check: thresholds give WARNING (1) and CRITICAL (2)' '
	test_expect_code 1 musefs-stat --check --max-scan-age 10s >out &&
	grep "^MUSEFS WARNING - last scan age [0-9]*s (max 10s)" out &&
	test_expect_code 2 musefs-stat --check --max-scan-age 5s:29s >out &&
	grep "^MUSEFS CRITICAL" out &&
	test_expect_code 1 musefs-stat --check --max-failed 1 >out &&
	grep "failed files in last scan 2 (max 1)" out &&
	test_expect_code 1 musefs-stat --check --min-tracks 100 >out &&
	test_expect_code 2 musefs-stat --check --min-tracks 100:10 >out &&
	grep "^MUSEFS CRITICAL - tracks 8 (min 10)" out &&
	test_expect_code 1 musefs-stat --check --max-mount-lag 1s >out &&
	grep "mount lag 2s (max 1s)" out &&
	musefs-stat --check --max-mount-lag 1m >out
'

mf_test '--check: a stale scan (timestamps moved back) is a WARNING' '
	stat_sql "UPDATE scan_runs SET started_at = started_at - 2 * 86400,
		ended_at = ended_at - 2 * 86400" &&
	test_expect_code 1 musefs-stat --check --max-scan-age 1d:3d >out &&
	grep "^MUSEFS WARNING - last scan age [0-9]*s (max 86400s)" out &&
	test_expect_code 2 musefs-stat --check --max-scan-age 1d:36h >out &&
	stat_add_scan failed $NOW $NOW 0 &&
	test_expect_code 2 musefs-stat --check >out &&
	grep "last scan failed" out
'

mf_test 'the table has no colour when piped; --watch --count redraws' '
	musefs-stat >t &&
	grep "^tracks  *8 (flac 5, mp3 3)$" t &&
	grep "^mounts  *1 live, 0 stale, 1 stopped$" t &&
	! grep "$(printf "\033")" t &&
	musefs-stat --watch 0.1 --count 3 >t &&
	test "$(grep -c "^tracks " t)" = 3 &&
	! grep "$(printf "\033")" t
'

mf_test '--output writes the file atomically' '
	musefs-stat --prometheus -o metrics.prom &&
	stat_prom_check metrics.prom &&
	test "$(stat -c %a metrics.prom)" = 644 &&
	test "$(ls metrics.prom.* 2>/dev/null | wc -l)" = 0 &&
	test_expect_code 1 musefs-stat --db nowhere.db --prometheus -o m2.prom 2>err &&
	test_path_is_missing m2.prom &&
	test "$(ls m2.prom.* 2>/dev/null | wc -l)" = 0
'

test_done
