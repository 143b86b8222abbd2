#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='musefs-scan killed with SIGKILL mid-import of 3000 files, twice: the store passes integrity_check, every stored track is whole, and the rerun completes with one track per file, no duplicates

MUSEFS_TEST_SCAN_DELAY_MS slows every probe down so the scan is still running
when it is killed; the assertions never depend on timing.'
. "${0%/*}/lib.sh"
. "$MF_SOURCE/t/lib-scan.sh"

mf_require_progs sox flac lame sqlite3
N=3000

# Start a slowed scan of lib in the background; its PID in $scan_pid.
slow_scan () {
	MUSEFS_TEST_SCAN_DELAY_MS=2 musefs-scan -j 2 lib >bg.out 2>bg.err &
	scan_pid=$!
}

# more_tracks_than N: the store holds more than N tracks.
more_tracks_than () {
	test "$(scan_sql "SELECT count(*) FROM tracks")" -gt "$1"
}

# sound: the store is consistent and every stored track is whole: one row
# per file (a file that exists), its title tag from the file's name, its
# stream description for FLAC. Leaves the track count in $stored.
sound () {
	scan_store_sound &&
	scan_sql "SELECT t.backing_path, g.value FROM tracks t
		LEFT JOIN tags g ON g.track_id = t.id AND g.key = 'title'" >rows &&
	test "$(wc -l <rows)" = "$stored" &&
	while IFS="|" read -r path title
	do
		test -f "$path" || { echo >&2 "no file: $path"; return 1; }
		case ${path##*/} in
		*" track ${title#Track }."*) ;;
		*) echo >&2 "bad title for $path: $title"; return 1 ;;
		esac
	done <rows &&
	test -z "$(scan_sql "SELECT id FROM tracks t WHERE format = 'flac' AND
		NOT EXISTS (SELECT 1 FROM structural_blocks s
			WHERE s.track_id = t.id AND lower(s.kind) = 'streaminfo')")"
}

mf_test "set up $N small FLAC and MP3 files" '
	mkdir base &&
	sox -D -n -r 44100 -c 2 -b 16 base/0.wav synth 0.1 sine 440 &&
	flac -s -f -o base/0.flac base/0.wav &&
	lame --silent -b 128 base/0.wav base/0.mp3 &&
	/usr/bin/python3 "$MF_SOURCE/bench/scan/mkcorpus.py" base lib $N &&
	test "$(find lib -type f | wc -l)" = $N
'

mf_test 'SIGKILL mid-import: a sound store with part of the files' '
	slow_scan &&
	mf_wait_until 60 more_tracks_than 0 &&
	kill -KILL $scan_pid &&
	test_expect_code 137 wait $scan_pid &&
	sound &&
	first=$stored &&
	test "$first" -lt $N
'

mf_test 'SIGKILL mid-rerun: still sound, nothing lost' '
	slow_scan &&
	mf_wait_until 60 more_tracks_than "$first" &&
	kill -KILL $scan_pid &&
	test_expect_code 137 wait $scan_pid &&
	sound &&
	test "$stored" -gt "$first" && test "$stored" -lt $N &&
	second=$stored &&
	echo "# killed with $first, then $second of $N tracks stored"
'

mf_test 'the rerun completes: one track per file, no duplicates' '
	musefs-scan lib >out &&
	scan_expect out seen=$N new=$((N - second)) unchanged=$second failed=0 &&
	sound &&
	test "$stored" = $N &&
	musefs-scan lib >out &&
	scan_expect out seen=$N new=0 changed=0 unchanged=$N failed=0 &&
	test "$(scan_sql "SELECT count(*) FROM scan_runs WHERE outcome = '\''running'\''")" = 0
'

test_done
