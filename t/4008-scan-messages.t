#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='musefs-scan messages: the progress line is cleared before a message; --json says a held scan lock as a JSON object; --db never creates a missing directory (only the default store'"'"'s is made)

MUSEFS_TEST_SCAN_DELAY_MS slows every probe so the progress line is drawn
before the broken file (in a second root, walked after the first) is
reported; the assertions never depend on timing.'

. "${0%/*}/lib.sh"
. "$MF_SOURCE/t/lib-scan.sh"
. "$MF_SOURCE/t/lib-stat.sh"

mf_require_progs sox flac metaflac sqlite3 script flock

ESC=$(printf "\033")

mf_test 'set up 8 good files and a broken one in a second root' '
	i=0 &&
	while test $i -lt 8
	do
		scan_make "good/f$i.flac" $((300 + 11 * i)) "T$i" || return 1
		i=$((i + 1))
	done &&
	mkdir bad &&
	printf "fLaC garbage" >bad/broken.flac
'

mf_test 'on a terminal, a message never lands on the progress line' '
	test_expect_code 2 env MUSEFS_TEST_SCAN_DELAY_MS=80 \
		script -qec "musefs-scan -j 1 good bad" /dev/null >tty.out &&
	tr "\r" "\n" <tty.out >tty.lines &&
	grep "^musefs-scan: [0-9][0-9]* files, " tty.lines &&
	grep "^$ESC\[Kmusefs-scan: .*broken.flac" tty.lines &&
	! grep "files, .*musefs-scan: " tty.lines &&
	! grep "ETA [0-9]*smusefs" tty.lines
'

mf_test '--json while another scan holds the lock: a JSON error, exit 75' '
	test_expect_code 75 flock "$MUSEFS_DB" musefs-scan --json good >out 2>err &&
	test "$(wc -l <out)" = 1 &&
	test "$(stat_json out "j[\"error\"]")" = busy &&
	test "$(stat_json out "j[\"exit_status\"]")" = 75 &&
	test "$(stat_json out "j[\"store\"]")" = "$MUSEFS_DB" &&
	stat_json out "j[\"message\"]" | grep "another musefs-scan is running" &&
	grep "another musefs-scan is running" err
'

mf_test '--db in a missing directory: one line, exit 1, nothing created' '
	test_expect_code 1 musefs-scan --db "$PWD/no/such/dir/x.db" good >out 2>err &&
	test "$(wc -l <err)" = 1 &&
	grep "directory .*/no/such/dir. does not exist" err &&
	test_path_is_missing no &&
	test_expect_code 1 env MUSEFS_DB="$PWD/nope/x.db" musefs-scan good 2>err &&
	grep "nope. does not exist" err &&
	test_path_is_missing nope
'

mf_test 'the default store (XDG data dir) is still created with its directories' '
	test_path_is_missing home/.local &&
	env -u MUSEFS_DB musefs-scan -q good &&
	test_path_is_file home/.local/share/musefs/library.db &&
	env -u MUSEFS_DB XDG_DATA_HOME="$PWD/xdg/data" musefs-scan -q good &&
	test_path_is_file xdg/data/musefs/library.db
'

test_done
