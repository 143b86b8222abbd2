#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='the libFuzzer targets (fuzz/, docs/fuzzing.md): each one replays its regression inputs (t/fuzz-regressions/<target>/) and then fuzzes for a few seconds from seeds made by fuzz/mkseeds.sh, without a crash, a leak or a sanitizer report

make check builds the targets into build/fuzz (make fuzz-build) or writes
there why it could not (no clang, no libFuzzer): this script then skips.
MF_FUZZ_SECONDS (default 4) sets the seconds per target.'

. "${0%/*}/lib.sh"

FZ=${MF_FUZZ:-$MF_SOURCE/build/fuzz}
test ! -f "$FZ/SKIP" || skip_all "fuzz part skipped: $(cat "$FZ/SKIP")"
set -- "$MF_SOURCE"/fuzz/fuzz_*.c
test -x "$FZ/fuzz_$(basename "$1" .c | sed 's/^fuzz_//')" ||
	skip_all "fuzz part skipped: the targets are not built in $FZ (make fuzz-build)"
secs=${MF_FUZZ_SECONDS:-4}

mf_test 'fuzz/mkseeds.sh makes a seed for every target' '
	sh "$MF_SOURCE/fuzz/mkseeds.sh" seeds &&
	for src in "$MF_SOURCE"/fuzz/fuzz_*.c
	do
		t=${src##*/fuzz_} && t=${t%.c} &&
		ls seeds/$t/* >/dev/null || return 1
	done
'

for src in "$MF_SOURCE"/fuzz/fuzz_*.c
do
	t=${src##*/fuzz_}
	t=${t%.c}
	mf_test "fuzz_$t replays t/fuzz-regressions/$t and fuzzes $secs s" '
		reg="$MF_SOURCE/t/fuzz-regressions/$t" &&
		if test -d "$reg"
		then
			"$FZ/fuzz_$t" "$reg"/* >replay-$t.log 2>&1 ||
				{ tail -n 40 replay-$t.log; return 1; }
		fi &&
		mkdir -p new-$t &&
		"$FZ/fuzz_$t" -max_total_time=$secs -rss_limit_mb=1024 \
			-max_len=65536 -print_final_stats=1 \
			-artifact_prefix="$PWD/crash-$t-" new-$t seeds/$t \
			$(test -d "$reg" && echo "$reg") >run-$t.log 2>&1 ||
			{ tail -n 40 run-$t.log; return 1; }
	'
	test ! -f run-$t.log ||
		sed -n "s/^stat::number_of_executed_units: */# fuzz_$t: executions in $secs s: /p" run-$t.log
done

test_done
