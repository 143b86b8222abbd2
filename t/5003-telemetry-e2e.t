#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='telemetry end to end: scan, mount, heartbeat, .musefs-metrics, musefs-stat

Real FLAC files (one with a cover) are scanned and mounted with a 1 s
heartbeat and --expose-metrics. The test reads every file once and checks
that the mount counted exactly the bytes it read, in the metrics file and
in the heartbeat row that musefs-stat shows; that heartbeats never touch
tracks or the changelog; that a clean unmount marks the row stopped, that
kill -9 makes it stale and --check CRITICAL, and that --heartbeat-s 0
writes nothing.'

. "${0%/*}/lib.sh"
. "$MF_SOURCE/t/lib-stat.sh"

mf_require_fuse
mf_require_progs sox flac metaflac ffmpeg sqlite3

HOST=$(uname -n)

# The value of one metric (name and labels exactly) in Prometheus file $1.
metric () {
	stat_prom_value "$@"
}

# Sum of the sizes of the files below directory $1.
tree_bytes () {
	find "$1" -type f -exec stat -c %s {} + | awk '{ s += $1 } END { print s + 0 }'
}

# Read every file below $1 once, completely.
read_all () {
	find "$1" -type f -exec cat {} + >/dev/null
}

# The heartbeat counter KEY of the row for mountpoint $1.
beat_value () {
	stat_sql "SELECT metrics FROM mount_heartbeats WHERE mountpoint = '$1'" |
		sed -n "s/^$2=//p"
}

# True when the heartbeat of mountpoint $1 shows KEY $2 = $3.
beat_is () {
	test "$(beat_value "$1" "$2")" = "$3"
}

# True when the heartbeat of mountpoint $1 shows KEY $2 >= $3.
beat_at_least () {
	test "$(beat_value "$1" "$2")" -ge "$3"
}

# True when musefs-stat --get $1 prints $2 (for mf_wait_until).
stat_is () {
	test "$(musefs-stat --get "$1")" = "$2"
}

mf_test 'scan a small library' '
	mkdir -p lib/a lib/b &&
	mf_make_flac lib/a/one.flac 1 440 &&
	mf_make_flac lib/a/two.flac 2 550 &&
	mf_make_flac lib/b/three.flac 1 660 &&
	mf_make_jpeg cover.jpg 64x64 red &&
	metaflac --set-tag=ALBUMARTIST=A --set-tag=ALBUM=X --set-tag=TITLE=One \
		--import-picture-from="3||||cover.jpg" lib/a/one.flac &&
	metaflac --set-tag=ALBUMARTIST=A --set-tag=ALBUM=X --set-tag=TITLE=Two lib/a/two.flac &&
	metaflac --set-tag=ALBUMARTIST=B --set-tag=ALBUM=Y --set-tag=TITLE=Three lib/b/three.flac &&
	musefs-scan -q lib
'

mf_test 'the JSON matches the store after the scan' '
	musefs-stat --json >j &&
	test "$(stat_json j "j[\"tracks\"][\"total\"]")" = 3 &&
	test "$(stat_json j "j[\"tracks\"][\"by_format\"][\"flac\"]")" = 3 &&
	test "$(stat_json j "j[\"tracks\"][\"backing_bytes\"]")" = "$(tree_bytes lib)" &&
	test "$(stat_json j "j[\"tracks\"][\"duration_s\"]")" = 4 &&
	test "$(stat_json j "j[\"art\"][\"count\"]")" = 1 &&
	test "$(stat_json j "j[\"art\"][\"bytes\"]")" = "$(stat -c %s cover.jpg)" &&
	test "$(stat_json j "j[\"tags\"][\"rows\"]")" = "$(stat_sql "SELECT count(*) FROM tags")" &&
	test "$(stat_json j "j[\"last_scan\"][\"outcome\"]")" = ok &&
	test "$(stat_json j "j[\"last_scan\"][\"new\"]")" = 3 &&
	test "$(stat_json j "j[\"last_scan\"][\"seen\"]")" = 3 &&
	test "$(stat_json j "j[\"last_scan\"][\"failed\"]")" = 0 &&
	test "$(stat_json j "j[\"mounts\"][\"list\"]")" = "[]" &&
	musefs-stat --check --max-scan-age 1h --min-tracks 3 >out &&
	grep "^MUSEFS OK - 3 tracks" out
'

mf_test 'a mount with a heartbeat shows up live' '
	stat_sql "SELECT max(seq), count(*), sum(updated_at) FROM track_changes, tracks" >changes.before &&
	mf_mount mnt --heartbeat-s 1 --expose-metrics &&
	MP=$(mf_abs mnt) &&
	mf_wait_until 10 stat_is mounts.live 1 &&
	musefs-stat --json >j &&
	test "$(stat_json j "j[\"mounts\"][\"list\"][0][\"mountpoint\"]")" = "$MP" &&
	test "$(stat_json j "j[\"mounts\"][\"list\"][0][\"pid\"]")" = "$MF_MOUNT_PID" &&
	test "$(stat_json j "j[\"mounts\"][\"list\"][0][\"hostname\"]")" = "$HOST" &&
	test "$(stat_json j "j[\"mounts\"][\"list\"][0][\"mode\"]")" = synthesis &&
	test "$(stat_json j "j[\"mounts\"][\"list\"][0][\"interval_s\"]")" = 1 &&
	test "$(stat_json j "j[\"mounts\"][\"list\"][0][\"metrics\"][\"tree\"][\"nodes\"]")" = 8 &&
	musefs-stat mounts >t &&
	grep "^live .* $MP\$" t
'

mf_test '/.musefs-metrics/metrics is readable with cat, outside the tree' '
	cat mnt/.musefs-metrics/metrics >m0 &&
	stat_prom_check m0 &&
	stat_prom_documented m0 >n &&
	test "$(cat n)" = "$(grep -c "^| \`musefs_mount_[a-z_]*\` |" "$MF_SOURCE/docs/metrics.md" | awk "{ print \$1 - 3 }")" &&
	test "$(stat -c %s mnt/.musefs-metrics/metrics)" = 0 &&
	! ls -a mnt | grep musefs-metrics &&
	test_must_fail sh -c "echo x >mnt/.musefs-metrics/metrics" &&
	test_must_fail cat mnt/.musefs-metrics/nothing &&
	ls mnt/.musefs-metrics >names &&
	test "$(cat names)" = metrics &&
	test "$(metric m0 musefs_mount_read_bytes_total)" = 0 &&
	test "$(metric m0 musefs_mount_tree_nodes)" = 8 &&
	test "$(metric m0 musefs_mount_tree_bytes)" = "$(tree_bytes lib)"
'

mf_test 'reads and bytes served match what was read' '
	total=$(tree_bytes mnt) &&
	read_all mnt &&
	cat mnt/.musefs-metrics/metrics >m1 &&
	stat_prom_check m1 &&
	test "$(metric m1 musefs_mount_read_bytes_total)" = "$total" &&
	test "$(metric m1 musefs_mount_opens_total)" = 3 &&
	test "$(metric m1 musefs_mount_open_handles)" = 0 &&
	reads=$(metric m1 musefs_mount_reads_total) &&
	test "$reads" -ge 3 &&
	inline=$(metric m1 "musefs_mount_served_bytes_total{kind=\"inline\"}") &&
	art=$(metric m1 "musefs_mount_served_bytes_total{kind=\"art\"}") &&
	backing=$(metric m1 "musefs_mount_served_bytes_total{kind=\"backing\"}") &&
	computed=$(metric m1 "musefs_mount_served_bytes_total{kind=\"computed\"}") &&
	test $((inline + art + backing + computed)) = "$total" &&
	test "$art" = "$(stat -c %s cover.jpg)" &&
	test "$backing" -gt 0 && test "$inline" -gt 0 &&
	test "$(metric m1 musefs_mount_layout_cache_misses_total)" -ge 3 &&
	test "$(metric m1 musefs_mount_lookups_total)" -gt 0 &&
	test "$(metric m1 musefs_mount_getattrs_total)" -gt 0 &&
	test "$(metric m1 musefs_mount_readdirs_total)" -gt 0 &&
	test "$(metric m1 musefs_mount_layout_cache_entries)" = 3 &&
	test "$(metric m1 musefs_mount_resident_memory_bytes)" -gt 0
'

mf_test 'the heartbeat carries the same counters; musefs-stat shows them' '
	mf_wait_until 10 beat_is "$MP" read_bytes "$total" &&
	cat mnt/.musefs-metrics/metrics >m2 &&
	musefs-stat --json >j &&
	test "$(stat_json j "j[\"mounts\"][\"list\"][0][\"metrics\"][\"read_bytes\"]")" = "$total" &&
	test "$(stat_json j "j[\"mounts\"][\"list\"][0][\"metrics\"][\"reads\"]")" = "$reads" &&
	test "$(stat_json j "j[\"mounts\"][\"list\"][0][\"metrics\"][\"served_bytes\"][\"art\"]")" = "$art" &&
	test "$(stat_json j "j[\"mounts\"][\"list\"][0][\"metrics\"][\"opens\"]")" = 3 &&
	test "$(metric m2 musefs_mount_reads_total)" = "$reads" &&
	test "$(metric m2 musefs_mount_read_bytes_total)" = "$total" &&
	musefs-stat --prometheus >p &&
	stat_prom_check p &&
	labels="host=\"$HOST\",mountpoint=\"$MP\"" &&
	test "$(metric p "musefs_mount_read_bytes_total{$labels}")" = "$total" &&
	test "$(metric p "musefs_mount_reads_total{$labels}")" = "$reads" &&
	test "$(metric p "musefs_mount_up{$labels}")" = 1 &&
	test "$(musefs-stat --get mounts.list.0.metrics.read_bytes)" = "$total" &&
	test "$(metric m2 musefs_mount_heartbeats_total)" -ge 1
'

mf_test 'heartbeats never touch tracks or the changelog' '
	n0=$(metric m2 musefs_mount_heartbeats_total) &&
	mf_wait_until 10 beat_at_least "$MP" heartbeat.writes $((n0 + 2)) &&
	stat_sql "SELECT max(seq), count(*), sum(updated_at) FROM track_changes, tracks" >changes.after &&
	test_cmp changes.before changes.after &&
	cat mnt/.musefs-metrics/metrics >m3 &&
	test "$(metric m3 musefs_mount_refreshes_total)" = 0 &&
	test "$(metric m3 musefs_mount_changelog_lag)" = 0 &&
	musefs-stat --check --max-mount-lag 10s >out &&
	grep "^MUSEFS OK - 3 tracks.*1 live mount" out
'

mf_test 'a tag edit is applied by a refresh and counted' '
	stat_sql "UPDATE tags SET value = \"Uno\" WHERE key = \"title\" AND value = \"One\"" &&
	mf_wait_until 10 test -e mnt/A/X/Uno.flac &&
	cat mnt/.musefs-metrics/metrics >m4 &&
	test "$(metric m4 musefs_mount_refreshes_total)" -ge 1 &&
	test "$(metric m4 "musefs_mount_rebuilds_total{kind=\"incremental\"}")" -ge 1 &&
	test "$(metric m4 musefs_mount_changelog_watermark)" = \
		"$(stat_sql "SELECT max(seq) FROM track_changes")" &&
	test "$(metric m4 musefs_mount_changelog_lag)" = 0 &&
	test "$(metric m4 "musefs_mount_invalidations_total{kind=\"entry\"}")" -ge 1
'

mf_test 'a rescan runs while the mount writes heartbeats' '
	musefs-scan -q lib &&
	test "$(musefs-stat --get last_scan.outcome)" = ok &&
	test "$(musefs-stat --get last_scan.unchanged)" = 3
'

mf_test 'a backing file changed without a rescan counts as drift' '
	touch -d "2001-01-01" lib/b/three.flac &&
	test_must_fail cat mnt/B/Y/Three.flac >/dev/null 2>err &&
	cat mnt/.musefs-metrics/metrics >m5 &&
	test "$(metric m5 "musefs_mount_read_errors_total{cause=\"backing_drift\"}")" -ge 1 &&
	musefs-scan -q lib
'

mf_test 'a clean unmount marks the heartbeat stopped' '
	mf_umount mnt &&
	musefs-stat --json >j &&
	test "$(stat_json j "j[\"mounts\"][\"stopped\"]")" = 1 &&
	test "$(stat_json j "j[\"mounts\"][\"live\"]")" = 0 &&
	test "$(stat_json j "j[\"mounts\"][\"list\"][0][\"state\"]")" = stopped &&
	test "$(stat_json j "j[\"mounts\"][\"list\"][0][\"stopped_at\"]")" != null &&
	test "$(stat_sql "SELECT state FROM mount_heartbeats WHERE mountpoint = \"$MP\"")" = stopped &&
	musefs-stat --check >out &&
	grep "^MUSEFS OK" out
'

mf_test '--heartbeat-s 0 writes nothing; kill -9 makes a heartbeat stale' '
	mf_mount quiet --heartbeat-s 0 --expose-metrics &&
	QP=$(mf_abs quiet) &&
	mf_mount loud --heartbeat-s 1 &&
	LP=$(mf_abs loud) &&
	loud_pid=$MF_MOUNT_PID &&
	test_when_finished "fusermount3 -u -z \"$LP\" 2>/dev/null; :" &&
	mf_wait_until 10 stat_is mounts.live 1 &&
	test "$(stat_sql "SELECT count(*) FROM mount_heartbeats WHERE mountpoint = \"$QP\"")" = 0 &&
	cat quiet/.musefs-metrics/metrics >mq &&
	test "$(metric mq musefs_mount_heartbeats_total)" = 0 &&
	mf_umount quiet &&
	test "$(stat_sql "SELECT count(*) FROM mount_heartbeats WHERE mountpoint = \"$QP\"")" = 0 &&
	kill -9 "$loud_pid" &&
	mf_wait_until 10 stat_is mounts.stale 1 &&
	musefs-stat mounts >t &&
	grep "^stale .* $LP\$" t &&
	test_expect_code 2 musefs-stat --check >out &&
	grep "^MUSEFS CRITICAL - 1 stale mount" out &&
	musefs-stat --prometheus >p &&
	stat_prom_check p &&
	test "$(metric p "musefs_mount_up{host=\"$HOST\",mountpoint=\"$LP\"}")" = 0
'

test_done
