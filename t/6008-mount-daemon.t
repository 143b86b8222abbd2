#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='musefs-mount daemonized (no -f, mount -t): store edits, checkpoints and the heartbeat; mountpoint checks (busy, dead FUSE mount, non-empty, a file)

Without -f the mount forks before it opens the store or starts a thread:
POSIX locks, which SQLite in WAL mode relies on, are not inherited by a
child, and a connection opened before fork() and used after it loses them,
so other connections delete and recreate the WAL under it.'
. "${0%/*}/lib.sh"
. "$MF_SOURCE/t/lib-mount.sh"

mf_require_fuse
mf_have sox flac metaflac sqlite3 || skip_all 'needs sox, flac, metaflac, sqlite3'
MF_PY=/usr/bin/python3
test -x "$MF_PY" || skip_all "needs $MF_PY"
DB=$MF_TRASH/store.db
T='$artist/$album/$title'

# beat_after PID T: the heartbeat row of mount PID was written after T (s).
beat_after () {
	test "$(sqlite3 "$DB" "SELECT count(*) FROM mount_heartbeats WHERE pid = $1 AND state = 'running' AND updated_at > $2")" = 1
}

# retag ID TITLE MP: set track ID's title (one sqlite3 process, which
# closes the store after it) and wait until MP serves it.
retag () {
	set_tag "$1" title "$2" &&
	mf_wait_until 10 mount_exists "$3/Art/One/$2.flac"
}

mf_test 'set up a library' '
	mount_lib lib
'

mf_test 'daemonized: the parent returns once mounted; the daemon is in its own session' '
	MF_MOUNT_FORM=daemon && mf_mount m --db "$DB" --template "$T" \
		--poll-interval-ms 100 --heartbeat-s 1; st=$?; MF_MOUNT_FORM= &&
	test "$st" = 0 && pid=$MF_MOUNT_PID &&
	test -f m/Art/One/Alpha.flac &&
	test "$(awk "/^PPid:/ { print \$2 }" /proc/$pid/status)" != $$ &&
	test "$(ps -o sid= -p "$pid" | tr -d " ")" = "$pid" &&
	test "$(readlink /proc/$pid/cwd)" = /
'

mf_test 'daemonized: retags while another process holds the store open reach the tree' '
	cat >hold.py <<-\EOF &&
	import os, sqlite3, sys, time
	c = sqlite3.connect(sys.argv[1])
	c.execute("SELECT count(*) FROM tracks").fetchall()
	open(sys.argv[2], "w").close()
	end = time.monotonic() + 120	# bounded: the test stops it well before
	while not os.path.exists(sys.argv[3]) and time.monotonic() < end:
	    time.sleep(0.05)
	c.close()
	EOF
	A=$(track_of lib/a.flac) || return 1
	"$MF_PY" hold.py "$DB" holding stop &
	hpid=$! &&
	test_when_finished ": >stop; kill $hpid 2>/dev/null; :" &&
	mf_wait_until 10 test -e holding &&
	retag "$A" R1 m && retag "$A" R2 m && retag "$A" R3 m &&
	: >stop && wait $hpid &&
	retag "$A" S1 m && retag "$A" S2 m && retag "$A" S3 m &&
	metaflac --show-tag=TITLE m/Art/One/S3.flac >t &&
	grep -x TITLE=S3 t
'

mf_test 'daemonized: a WAL checkpoint by another connection does not break it' '
	A=$(track_of lib/a.flac) &&
	sqlite3 -cmd ".timeout 10000" "$DB" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null &&
	retag "$A" C1 m &&
	sqlite3 -cmd ".timeout 10000" "$DB" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null &&
	retag "$A" C2 m &&
	metaflac --show-tag=TITLE m/Art/One/C2.flac >t &&
	grep -x TITLE=C2 t
'

mf_test 'daemonized: the heartbeat stays fresh and musefs-stat --check says OK' '
	pid=$(mf_mount_pid "$(mf_abs m)") &&
	t0=$(mf_now) &&
	mf_wait_until 20 beat_after "$pid" "$((t0 + 1))" &&
	musefs-stat --db "$DB" --check >chk; st=$? &&
	cat chk && test "$st" = 0 &&
	grep "^MUSEFS OK - .*1 live mount" chk &&
	mf_umount m &&
	A=$(track_of lib/a.flac) && set_tag "$A" title Alpha
'

mf_test 'mount -t fuse.musefs-mount (daemonized by mount.fuse3): edits, checkpoint, heartbeat' '
	test -x /sbin/mount.fuse3 || test -x /usr/sbin/mount.fuse3 || {
		echo "# mount.fuse3 is missing: not checked"; return 0; }
	mf_have unshare || { echo "# unshare is missing: not checked"; return 0; }
	mkdir -p mt && MP=$(mf_abs mt) && A=$(track_of lib/a.flac) &&
	printf "%s" "$T" >tmpl &&
	cat >mount-t.sh <<-EOF &&
	cleanup () { st=\$?; umount "$MP" 2>/dev/null || :; exit \$st; }
	trap cleanup EXIT
	wait_for () {
		n=0
		until eval "\$1"; do
			test \$n -lt 200 || return 1
			n=\$((n + 1)); sleep 0.05
		done
	}
	mount -t fuse.musefs-mount -o "template=\$(cat "$PWD/tmpl"),poll_interval_ms=100,heartbeat_s=1" "$DB" "$MP"
	test -f "$MP/Art/One/Alpha.flac"
	for t in M1 M2 M3; do
		sqlite3 -cmd .timeout\ 10000 "$DB" "UPDATE tags SET value = '"'"'\$t'"'"' WHERE track_id = $A AND key = '"'"'title'"'"'"
		wait_for "test -f \"$MP/Art/One/\$t.flac\""
	done
	sqlite3 -cmd .timeout\ 10000 "$DB" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
	sqlite3 -cmd .timeout\ 10000 "$DB" "UPDATE tags SET value = '"'"'M4'"'"' WHERE track_id = $A AND key = '"'"'title'"'"'"
	wait_for "test -f \"$MP/Art/One/M4.flac\""
	t0=\$(date +%s)
	wait_for "test \\\$(sqlite3 \"$DB\" \"SELECT count(*) FROM mount_heartbeats WHERE mountpoint = '"'"'$MP'"'"' AND state = '"'"'running'"'"' AND updated_at > \$((t0 + 1))\") = 1"
	musefs-stat --db "$DB" --check
	umount "$MP"
	echo mount-t-ok
	EOF
	in_mount_ns mount-t.sh >mt.out 2>&1; st=$?
	cat mt.out && test $st = 0 && grep -x mount-t-ok mt.out &&
	set_tag "$A" title Alpha
'

mf_test 'a mountpoint that is already a mount is refused (status 6), in one line' '
	mf_mount busy --db "$DB" --template "$T" &&
	test_expect_code 6 musefs-mount --db "$DB" --template "$T" busy 2>err &&
	cat err && test "$(wc -l <err)" = 1 &&
	grep -x "musefs-mount: cannot mount on .busy.: already a mount point (fuse.musefs-mount)" err &&
	test "$(awk -v m="$(mf_abs busy)" "\$5 == m" /proc/self/mountinfo | wc -l)" = 1 &&
	mf_umount busy &&
	if test "$(id -u)" = 0; then
		mkdir -p tmp && mount -t tmpfs musefs-test tmp &&
		test_when_finished "umount \"$PWD/tmp\"" &&
		test_expect_code 6 musefs-mount --db "$DB" --template "$T" tmp 2>err &&
		grep "already a mount point (tmpfs)" err
	fi
'

mf_test 'a dead FUSE mountpoint gets its own status (7) and says how to clear it' '
	mf_mount dead --db "$DB" --template "$T" --heartbeat-s 0 &&
	pid=$MF_MOUNT_PID && kill -KILL "$pid" && wait "$pid"
	mf_forget_mount "$pid" &&
	test_when_finished "fusermount3 -u \"$PWD/dead\" 2>/dev/null; :" &&
	test_must_fail stat dead 2>serr && grep "not connected" serr &&
	test_expect_code 7 musefs-mount --db "$DB" --template "$T" dead 2>err &&
	cat err && test "$(wc -l <err)" = 1 &&
	grep "cannot mount on .dead.: a dead FUSE mount (Transport endpoint is not connected); unmount it with .fusermount3 -u dead." err &&
	fusermount3 -u dead && test -d dead
'

mf_test 'a non-empty directory: one warning, and the mount goes on' '
	mkdir -p full && : >full/left-over &&
	mf_mount full --db "$DB" --template "$T" &&
	test -f full/Art/One/Alpha.flac && ! test -e full/left-over &&
	grep -c "is not empty" "$MF_MOUNT_LOG" >n && echo 1 >one && test_cmp one n &&
	mf_umount full && test -f full/left-over &&
	MF_MOUNT_FORM=daemon && mf_mount full --db "$DB" --template "$T"; st=$?; MF_MOUNT_FORM= &&
	test "$st" = 0 && grep "mountpoint .*full. is not empty" "$MF_MOUNT_LOG" &&
	mf_umount full
'

mf_test 'a regular file as mountpoint: one line, status 4' '
	: >afile &&
	test_expect_code 4 musefs-mount --db "$DB" --template "$T" afile 2>err &&
	cat err && test "$(wc -l <err)" = 1 &&
	grep -x "musefs-mount: cannot mount on .afile.: not a directory" err
'

mf_test 'daemonized: a failure after the fork still gives its status' '
	# the kernel refuses the mount in the daemon: status 5 reaches the shell
	test "$(id -u)" = 0 && mf_have unshare || {
		echo "# needs root and unshare: not checked"; return 0; }
	mkdir -p m5 &&
	test_expect_code 5 unshare -m sh -c "mount --bind /dev/null /dev/fuse && exec \"\$@\"" \
		sh musefs-mount --db "$DB" m5 2>err &&
	grep "cannot mount" err && ! mf_is_mounted "$(mf_abs m5)"
'

test_done
