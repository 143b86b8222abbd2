#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='musefs-scan -q from cron: a file that failed before and is unchanged since is not reported again and does not fail the run; a new or changed failure still exits 2

Known failures stay counted in the summary, --json, scan history and
musefs-stat.'

. "${0%/*}/lib.sh"
. "$MF_SOURCE/t/lib-scan.sh"
. "$MF_SOURCE/t/lib-stat.sh"

mf_require_progs sox flac metaflac sqlite3

last_run () {
	scan_sql "SELECT $1 FROM scan_runs ORDER BY id DESC LIMIT 1"
}

mf_test 'a new broken file: exit 2 and one message, even with -q' '
	scan_make lib/good.flac 440 Good &&
	printf "fLaC garbage" >lib/broken.flac &&
	test_expect_code 2 musefs-scan -q lib >out 2>err &&
	test ! -s out &&
	test "$(wc -l <err)" = 1 &&
	grep "broken.flac" err &&
	! grep "unchanged since last scan" err
'

mf_test 'unchanged since: -q prints nothing and exits 0' '
	musefs-scan -q lib >out 2>err &&
	test ! -s out &&
	test ! -s err &&
	test "$(last_run failed)" = 1 &&
	test "$(last_run outcome)" = partial
'

mf_test 'it stays counted: --json (failed, failed_known), musefs-stat' '
	musefs-scan -q --json lib >j 2>err &&
	test ! -s err &&
	test "$(stat_json j "j[\"failed\"]")" = 1 &&
	test "$(stat_json j "j[\"failed_known\"]")" = 1 &&
	test "$(stat_json j "j[\"outcome\"]")" = partial &&
	musefs-stat --json >s &&
	test "$(stat_json s "j[\"last_scan\"][\"failed\"]")" = 1 &&
	test "$(stat_json s "j[\"scans\"][1][\"failed\"]")" = 1
'

mf_test 'without -q a known failure is still reported and exits 2' '
	test_expect_code 2 musefs-scan lib >out 2>err &&
	grep "broken.flac.*unchanged since last scan" err &&
	grep " failed=1 " out
'

mf_test 'a changed broken file is news again: exit 2 with -q' '
	printf "fLaC more garbage" >lib/broken.flac &&
	test_expect_code 2 musefs-scan -q lib >out 2>err &&
	grep "broken.flac" err &&
	musefs-scan -q lib 2>err &&
	test ! -s err
'

mf_test 'a second, new broken file exits 2; the old one stays silent' '
	printf "fLaC other garbage" >lib/broken2.flac &&
	test_expect_code 2 musefs-scan -q --json lib >j 2>err &&
	test "$(wc -l <err)" = 1 &&
	grep "broken2.flac" err &&
	test "$(stat_json j "j[\"failed\"]")" = 2 &&
	test "$(stat_json j "j[\"failed_known\"]")" = 1
'

test_done
