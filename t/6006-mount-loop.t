#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='musefs-mount FUSE loop (mount/mf_loop.c): parallel readers get the bytes of a serial read; a request storm stays within the thread bound; a request blocked on its backing file does not stall the others; SIGTERM and a lazy unmount with busy clients exit cleanly; -s and --scheduler'
. "${0%/*}/lib.sh"
. "$MF_SOURCE/t/lib-mount.sh"

mf_require_fuse
mf_have sox flac metaflac sqlite3 ffmpeg chrt timeout ||
	skip_all 'needs sox, flac, metaflac, sqlite3, ffmpeg, chrt, timeout'
DB=$MF_TRASH/store.db
NFILES=24
# FUSE worker threads at most (bin/musefs-mount.c MAX_WORKERS), plus the
# main, refresh and heartbeat threads
MAX_TASKS=19

# Dropping the page cache makes every read reach the daemon (keep_cache
# would serve a second read from memory).
if test -w /proc/sys/vm/drop_caches; then
	mf_set_prereq DROP
fi
drop_caches () {
	sync && echo 3 >/proc/sys/vm/drop_caches
}

# loop_lib DIR N ALBUM: N tagged FLAC files under DIR, copies of three
# encodings with distinct titles, so every synthesized header differs.
loop_lib () {
	mkdir -p "$1" &&
	mf_make_flac "$1/.b0" 1 330 && mf_make_flac "$1/.b1" 2 440 &&
	mf_make_flac "$1/.b2" 1 550 &&
	i=0 &&
	while test "$i" -lt "$2"; do
		cp "$1/.b$((i % 3))" "$1/f$i.flac" &&
		metaflac --remove-all-tags --set-tag=ARTIST=Loop \
			--set-tag="ALBUM=$3" --set-tag="TITLE=T$i" \
			--set-tag="TRACKNUMBER=$i" "$1/f$i.flac" || return 1
		i=$((i + 1))
	done &&
	rm -f "$1"/.b?
}

# md5_all LIST OUT: "md5 path" of every file in LIST, in order.
md5_all () {
	while read -r f; do
		md5sum "$f" || return 1
	done <"$1" >"$2"
}

# tasks PID: threads of process PID.
tasks () {
	ls "/proc/$1/task" | wc -l
}

mf_test 'set up a library and mount it (default loop)' '
	loop_lib lib $NFILES Main &&
	musefs-scan --db "$DB" lib >/dev/null &&
	mf_mount mnt --db "$DB" --template "\$album/\$title" --expose-metrics &&
	PID=$MF_MOUNT_PID &&
	find mnt/Main -type f | sort >list &&
	test "$(wc -l <list)" = $NFILES &&
	md5_all list serial &&
	test "$(wc -l <serial)" = $NFILES
'

mf_test 'the audio served is the audio of the backing files' '
	for i in 0 1 2; do
		test "$(mf_audio_md5 mnt/Main/T$i.flac)" = \
		     "$(mf_audio_md5 lib/f$i.flac)" || return 1
	done
'

mf_test DROP '8 parallel readers from a cold cache get the bytes of the serial read' '
	drop_caches &&
	pids= &&
	for r in 1 2 3 4 5 6 7 8; do
		# each reader starts at a different file
		{ tail -n +$((r * 3)) list; head -n $((r * 3 - 1)) list; } >list.$r &&
		{ md5_all list.$r out.$r & } &&
		pids="$pids $!" || return 1
	done &&
	for p in $pids; do wait "$p" || return 1; done &&
	sort -k2 serial >expect &&
	for r in 1 2 3 4 5 6 7 8; do
		sort -k2 out.$r >got.$r && test_cmp expect got.$r || return 1
	done
'

mf_test 'a storm of 32 parallel clients: every read succeeds, threads stay bounded' '
	cat >storm.sh <<-\EOF &&
	# storm.sh LIST ROUNDS: open and read every file ROUNDS times,
	# stat the tree; prints "ok" when all of it succeeded
	n=0
	while test "$n" -lt "$2"; do
		while read -r f; do
			head -c 70000 "$f" >/dev/null || exit 1
			stat "$f" >/dev/null || exit 1
		done <"$1"
		ls -R mnt >/dev/null || exit 1
		n=$((n + 1))
	done
	echo ok
	EOF
	true || return 1
	{ test -w /proc/sys/vm/drop_caches && drop_caches; true; } &&
	pids= && i=0 &&
	while test $i -lt 32; do
		{ sh storm.sh list 10 >storm.$i 2>&1 & } &&
		pids="$pids $!" && i=$((i + 1)) || return 1
	done &&
	peak=0 && deadline=$(($(date +%s) + 120)) &&
	while kill -0 $pids 2>/dev/null; do
		t=$(tasks $PID) &&
		if test "$t" -gt "$peak"; then peak=$t; fi &&
		test "$(date +%s)" -le "$deadline" &&
		sleep 0.05 || { echo "# clients still running after 120 s" >&2; return 1; }
	done &&
	for p in $pids; do wait "$p" || return 1; done &&
	i=0 && while test $i -lt 32; do
		test "$(cat storm.$i)" = ok || { cat storm.$i; return 1; }
		i=$((i + 1))
	done &&
	echo "peak threads $peak" &&
	test "$peak" -le $MAX_TASKS &&
	md5_all list after && test_cmp serial after
'

mf_test 'the workers run SCHED_BATCH by default' '
	for t in /proc/$PID/task/*; do chrt -p "${t##*/}"; done >policies &&
	grep -q SCHED_BATCH policies
'

# A request whose backing file hangs: the backing files of the outer
# mount live on an inner musefs mount whose daemon is stopped.
mf_test 'set up a mount whose backing files are on a second mount' '
	loop_lib lib2 3 Plain &&
	mf_mount inner --db "$DB" --template "Inner/\$title" --heartbeat-s 0 &&
	INNER=$MF_MOUNT_PID &&
	musefs-scan --db "$MF_TRASH/outer.db" inner lib2 >/dev/null &&
	mf_mount outer --db "$MF_TRASH/outer.db" --template "\$album/\$title" \
		--expose-metrics --heartbeat-s 0 &&
	OUTER=$MF_MOUNT_PID &&
	test -f outer/Main/T0.flac && test -f outer/Plain/T1.flac &&
	cat outer/Main/T0.flac >held.serial &&
	cat outer/Plain/T1.flac >plain.serial &&
	! cmp -s held.serial plain.serial
'

mf_test DROP 'a request stuck on its backing file does not stall the others' '
	test_when_finished "kill -CONT $INNER 2>/dev/null; :" &&
	drop_caches &&
	kill -STOP "$INNER" &&
	{ cat outer/Main/T0.flac >held.out 2>held.err & } && bg=$! &&
	test_when_finished "kill -CONT $INNER 2>/dev/null; wait $bg; :" &&
	# the outer daemon has a worker stuck in open() on the inner mount
	busy () {
		timeout 10 cat outer/.musefs-metrics/metrics >m &&
		b=$(metric m "musefs_mount_worker_threads{state=\"busy\"}") &&
		test "$b" -ge 2	# the stuck request and this read
	} &&
	mf_wait_until 10 busy &&
	timeout 10 cat outer/Plain/T1.flac >plain.out &&
	cmp plain.serial plain.out &&
	timeout 10 ls -R outer >/dev/null &&
	timeout 10 stat outer/Plain/T2.flac >/dev/null &&
	# the stuck reader is still stuck: the others did not wait for it
	mf_pid_alive "$bg" &&
	kill -CONT "$INNER" &&
	wait "$bg" && cmp held.serial held.out
'

mf_test 'both mounts unmount cleanly after the stall' '
	mf_umount outer && mf_umount inner
'

mf_test 'SIGTERM with 8 busy clients: exits with status 0, unmounted, within 10 s' '
	mf_mount m2 --db "$DB" --template "\$album/\$title" --heartbeat-s 0 &&
	pid=$MF_MOUNT_PID && MP=$(mf_abs m2) &&
	cat >busy.sh <<-\EOF &&
	# busy.sh DIR: read every file under DIR until the mount goes
	touch "started.$$"
	while :; do
		for f in "$1"/*/*; do
			cat "$f" >/dev/null 2>&1 || exit 0
		done
	done
	EOF
	true || return 1
	pids= &&
	for r in 1 2 3 4 5 6 7 8; do
		{ sh busy.sh m2 & } && pids="$pids $!" || return 1
	done &&
	test_when_finished "kill $pids 2>/dev/null; :" &&
	mf_wait_until 10 eval "test \$(ls started.* | wc -l) -ge 8" &&
	kill -TERM "$pid" &&
	mf_wait_until 10 eval "! mf_pid_alive $pid && ! mf_is_mounted \"$MP\"" &&
	wait "$pid" && mf_forget_mount "$pid" &&
	for p in $pids; do wait "$p"; done &&
	rm -f started.*
'

mf_test 'a lazy unmount with busy clients: the daemon exits with status 0' '
	mf_mount m3 --db "$DB" --template "\$album/\$title" --heartbeat-s 0 &&
	pid=$MF_MOUNT_PID && MP=$(mf_abs m3) &&
	pids= &&
	for r in 1 2 3 4; do
		{ sh busy.sh m3 & } && pids="$pids $!" || return 1
	done &&
	test_when_finished "kill $pids 2>/dev/null; :" &&
	mf_wait_until 10 eval "test \$(ls started.* | wc -l) -ge 4" &&
	fusermount3 -u -z "$MP" &&
	for p in $pids; do wait "$p"; done &&
	mf_wait_until 10 eval "! mf_pid_alive $pid" &&
	wait "$pid" && mf_forget_mount "$pid" && rm -f started.*
'

mf_test '-s serves the same bytes and ends on SIGTERM' '
	mf_mount m4 -s --db "$DB" --template "\$album/\$title" --heartbeat-s 0 &&
	pid=$MF_MOUNT_PID &&
	sed "s#/mnt/#/m4/#" serial >expect.s &&
	sed "s#/mnt/#/m4/#" list >list.s &&
	md5_all list.s got.s && test_cmp expect.s got.s &&
	test "$(tasks $pid)" -le 3 &&
	kill -TERM "$pid" &&
	mf_wait_until 10 eval "! mf_pid_alive $pid" &&
	wait "$pid" && mf_forget_mount "$pid"
'

mf_test '--scheduler normal keeps every thread SCHED_OTHER; a bad value is a usage error' '
	mf_mount m5 --scheduler normal --db "$DB" --heartbeat-s 0 &&
	pid=$MF_MOUNT_PID &&
	ls -R m5 >/dev/null &&
	for t in /proc/$pid/task/*; do chrt -p "${t##*/}"; done >policies &&
	! grep -q SCHED_BATCH policies && grep -q SCHED_OTHER policies &&
	mf_umount m5 &&
	test_expect_code 2 musefs-mount --scheduler fast --db "$DB" m5 2>err &&
	grep -q "scheduler" err
'

mf_test 'the first mount still serves the serial bytes and unmounts cleanly' '
	md5_all list after && test_cmp serial after &&
	mf_umount mnt
'

test_done
