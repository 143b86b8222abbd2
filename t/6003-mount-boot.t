#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='musefs-mount at boot: fstab-style -o parsing, mount -t fuse.musefs-mount, --dry-run, sd_notify readiness, distinct exit statuses, SIGTERM with a busy reader

Readiness is checked by a unix datagram listener standing in for systemd
($NOTIFY_SOCKET): when READY=1 arrives it looks at /proc/self/mountinfo and
lists the mount, so READY=1 before the tree is mounted fails the test.'
. "${0%/*}/lib.sh"
. "$MF_SOURCE/t/lib-mount.sh"

mf_require_fuse
mf_have sox flac metaflac sqlite3 || skip_all 'needs sox, flac, metaflac, sqlite3'
MF_PY=/usr/bin/python3
test -x "$MF_PY" || skip_all "needs $MF_PY"
DB=$MF_TRASH/store.db
T='$artist/$album/$title'

mf_test 'set up a library' '
	mount_lib lib
'

mf_test '-o with fstab words, x-systemd options, escaped commas and FUSE options' '
	mf_mount m1 -o "ro,noauto,nofail,_netdev,users,defaults,x-systemd.automount,x-systemd.idle-timeout=60,x-gvfs-show,comment=x,db=$DB,template=$T,heartbeat_s=0,allow_other,owner=nobody,fallback=genre=Un\\,known,default_permissions" &&
	test -f m1/Art/One/Alpha.flac &&
	test "$(stat -c %U m1/Art/One/Alpha.flac)" = nobody &&
	MF_MP=$(mf_abs m1) awk "\$5 == ENVIRON[\"MF_MP\"]" /proc/self/mountinfo >mi &&
	grep -w allow_other mi && grep -w default_permissions mi &&
	grep " - fuse.musefs-mount musefs " mi &&
	grep " ro[ ,]" mi &&
	mf_umount m1 &&
	mf_mount m1 -o "db=$DB,template=\$genre/\$title,fallback=genre=Un\\,known" &&
	test -f "m1/Un,known/Alpha.flac" &&
	mf_umount m1
'

mf_test 'an unknown -o option is refused by name (status 2)' '
	mkdir -p m2 &&
	test_expect_code 2 musefs-mount -f --db "$DB" -o no_such_fuse_option m2 2>err &&
	grep no_such_fuse_option err &&
	! mf_is_mounted "$(mf_abs m2)"
'

mf_test 'mount -t fuse.musefs-mount and an /etc/fstab line (mount --fstab)' '
	test -x /sbin/mount.fuse3 || test -x /usr/sbin/mount.fuse3 || {
		echo "# mount.fuse3 is missing: not checked"; return 0; }
	mf_have unshare || { echo "# unshare is missing: not checked"; return 0; }
	mkdir -p m3 && MP=$(mf_abs m3) &&
	# fstab fields: spaces in values as \040, as getmntent(3) reads them
	printf "%s %s fuse.musefs-mount %s 0 0\n" "$DB" "$MP" \
		"ro,noauto,nofail,_netdev,x-systemd.automount,x-systemd.after=network.target,template=\$album/\$title\\040(\$artist),heartbeat_s=0,allow_other" >fstab &&
	cat fstab &&
	printf "%s" "$T" >tmpl &&
	cat >mount-t.sh <<-EOF &&
	# daemon_of MP: the musefs-mount serving MP (under make
	# check-valgrind the process is the memcheck tool of valgrind)
	daemon_of () {
		for p in \$(pgrep -x "musefs-mount|memcheck-amd64-"); do
			# if, not &&: a last process that is not ours is no failure (sh -e)
			if tr "\\\\0" "\\\\n" <"/proc/\$p/cmdline" | grep -qxF "\$1"; then
				echo "\$p"
			fi
		done
	}
	gone () { ! kill -0 "\$1" 2>/dev/null; }
	wait_gone () {
		n=0
		while ! gone "\$1"; do
			test \$n -lt 100 || return 1
			n=\$((n + 1)); sleep 0.1
		done
	}
	tmpl=\$(cat "$PWD/tmpl")
	mount -t fuse.musefs-mount -o "template=\$tmpl,heartbeat_s=0,file_mode=0440" "$DB" "$MP"
	test "\$(stat -c %a "$MP/Art/Two/Gamma.flac")" = 440
	grep " $MP fuse.musefs-mount " /proc/mounts
	pid=\$(daemon_of "$MP"); test -n "\$pid"
	umount "$MP"
	wait_gone "\$pid"
	! grep " $MP " /proc/mounts
	mount --fstab "$PWD/fstab" "$MP"
	test -f "$MP/One/Alpha (Art).flac"
	test -f "$MP/Two/Gamma (Art).flac"
	grep " $MP " /proc/mounts | grep -w allow_other
	pid=\$(daemon_of "$MP"); test -n "\$pid"
	umount "$MP"
	wait_gone "\$pid"
	echo mount-t-ok
	EOF
	in_mount_ns mount-t.sh >mt.out 2>&1; st=$?
	cat mt.out && test $st = 0 && grep -x mount-t-ok mt.out
'

mf_test '--dry-run prints sample paths, counts and every collision, and mounts nothing' '
	mkdir dup &&
	for i in 01 02 03 04 05 06 07 08 09 10 11 12; do
		mf_make_flac dup/$i.flac 0.1 440 &&
		metaflac --set-tag=ARTIST=Dup --set-tag=ALBUM=Same \
			--set-tag=TITLE=Song dup/$i.flac || return 1
	done &&
	musefs-scan --db "$DB" dup >/dev/null &&
	# 11 of 15 files collide: more than the default 10 % (status 8)
	test_expect_code 8 musefs-mount --db "$DB" --template "$T" --dry-run >out 2>err &&
	grep -x "musefs-mount: 11 of 15 files collide, more than --max-collisions 10%" err &&
	musefs-mount --db "$DB" --template "$T" --dry-run --max-collisions 74 >out 2>err &&
	cat out &&
	test "$(grep -c "^sample: " out)" = 10 &&
	grep -x "files: 15" out && grep -x "directories: 5" out &&
	grep -x "collisions: 11" out &&
	test "$(grep -c "^collision: track [0-9]* wanted '"'"'Dup/Same/Song.flac'"'"', served as '"'"'Dup/Same/Song ([0-9]*).flac'"'"'$" out)" = 11 &&
	for k in 2 3 4 5 6 7 8 9 10 11 12; do
		grep -F "served as '"'"'Dup/Same/Song ($k).flac'"'"'" out || return 1
	done &&
	grep -x "sample: Art/One/Alpha.flac" out &&
	# a bad template is a usage error, no mountpoint needed
	test_expect_code 2 musefs-mount --db "$DB" --template "\${artist" --dry-run 2>err &&
	grep "invalid template" err &&
	# a mountpoint may be given; nothing is mounted on it
	mkdir -p m4 && musefs-mount --db "$DB" --template "$T" --dry-run -o max_collisions=74 m4 >out2 &&
	test_cmp out out2 && ! mf_is_mounted "$(mf_abs m4)" &&
	# the mount(8) form: SOURCE MOUNTPOINT; "musefs" is the default store
	musefs-mount --template "$T" --dry-run --max-collisions 74 "$DB" m4 >out3 &&
	test_cmp out out3 &&
	MUSEFS_DB=$DB musefs-mount --template "$T" --dry-run --max-collisions 74 musefs m4 >out4 &&
	test_cmp out out4 &&
	test_expect_code 3 musefs-mount --template "$T" --dry-run "$PWD/none.db" m4 2>err &&
	sqlite3 "$DB" "DELETE FROM tracks WHERE backing_path LIKE '"'"'%/dup/%'"'"'"
'

mf_test 'distinct exit statuses: usage 2, store 3, mountpoint 4, mount refused 5' '
	mkdir -p m5 && : >notadir &&
	test_expect_code 2 musefs-mount --db "$DB" --bogus m5 2>err &&
	grep "unknown option" err &&
	test_expect_code 2 musefs-mount --db "$DB" 2>err &&
	grep "no MOUNTPOINT" err &&
	test_expect_code 3 musefs-mount --db "$PWD/nope.db" m5 2>err &&
	grep "nope.db" err &&
	: >empty.db &&
	test_expect_code 3 musefs-mount --db "$PWD/empty.db" m5 2>err &&
	cat err &&
	test_expect_code 4 musefs-mount --db "$DB" "$PWD/no-such-dir" 2>err &&
	grep "no-such-dir" err &&
	test_expect_code 4 musefs-mount --db "$DB" notadir 2>err &&
	grep "notadir" err &&
	! mf_is_mounted "$(mf_abs m5)" &&
	if test "$(id -u)" = 0 && mf_have unshare; then
		# /dev/fuse opens but is no FUSE device: the kernel refuses
		test_expect_code 5 unshare -m sh -c "mount --bind /dev/null /dev/fuse && exec \"\$@\"" \
			sh musefs-mount -f --db "$DB" m5 2>err &&
		cat err && grep "cannot mount on" err
	else
		echo "# status 5 needs root and unshare: not checked"
	fi
'

mf_test 'sd_notify: READY=1 arrives once the tree is built and mounted' '
	cat >listen.py <<-\EOF &&
	import os, socket, sys
	sock_path, mp, out = sys.argv[1], sys.argv[2], sys.argv[3]
	s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
	s.bind(sock_path)
	s.settimeout(60)
	open(out + ".bound", "w").close()
	with open(out + ".tmp", "w") as f:
	    while True:
	        msg = s.recv(4096).decode()
	        fields = dict(l.split("=", 1) for l in msg.splitlines() if "=" in l)
	        f.write("message: %s\n" % msg.replace("\n", " | "))
	        if fields.get("READY") == "1":
	            mounted = any(l.split()[4] == mp for l in open("/proc/self/mountinfo"))
	            f.write("mounted: %s\n" % ("yes" if mounted else "no"))
	            f.write("listing: %s\n" % " ".join(sorted(os.listdir(mp))))
	            f.write("mainpid: %s\n" % fields.get("MAINPID", ""))
	            f.write("status: %s\n" % fields.get("STATUS", ""))
	            break
	os.rename(out + ".tmp", out)
	EOF
	mkdir -p m6 && MP=$(mf_abs m6) || return 1
	"$MF_PY" listen.py "$PWD/notify.sock" "$MP" notify.log &
	lpid=$! &&
	test_when_finished "kill $lpid 2>/dev/null; :" &&
	mf_wait_until 10 test -e notify.log.bound &&
	export NOTIFY_SOCKET=$PWD/notify.sock &&
	mf_mount m6 --db "$DB" --template "$T" --heartbeat-s 0 &&
	unset NOTIFY_SOCKET &&
	mf_wait_until 10 test -e notify.log &&
	cat notify.log &&
	grep -x "mounted: yes" notify.log &&
	grep -x "listing: Art" notify.log &&
	grep -x "mainpid: $MF_MOUNT_PID" notify.log &&
	grep -x "status: serving 3 files in 3 directories" notify.log &&
	wait $lpid &&
	mf_umount m6
'

mf_test 'sd_notify: an abstract socket (@name) works too; no socket, no message' '
	cat >listen-abs.py <<-\EOF &&
	import socket, sys
	s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
	s.bind("\0" + sys.argv[1])
	s.settimeout(60)
	open(sys.argv[2] + ".bound", "w").close()
	open(sys.argv[2], "w").write(s.recv(4096).decode())
	EOF
	name=musefs-test-$$-$(date +%s) || return 1
	"$MF_PY" listen-abs.py "$name" abs.log &
	lpid=$! &&
	test_when_finished "kill $lpid 2>/dev/null; :" &&
	mf_wait_until 10 test -e abs.log.bound &&
	export NOTIFY_SOCKET=@$name &&
	mf_mount m6 --db "$DB" --template "$T" --heartbeat-s 0 &&
	unset NOTIFY_SOCKET &&
	wait $lpid &&
	grep -x "READY=1" abs.log &&
	mf_umount m6 &&
	# a socket nobody listens on: a warning, and the mount still serves
	export NOTIFY_SOCKET=$PWD/nobody.sock &&
	mf_mount m6 --db "$DB" --template "$T" --heartbeat-s 0 &&
	unset NOTIFY_SOCKET &&
	test -f m6/Art/One/Alpha.flac &&
	mf_umount m6
'

mf_test 'SIGTERM with a busy reader: unmounted and exited (status 0) within 5 s' '
	mf_mount m7 --db "$DB" --template "$T" --heartbeat-s 0 &&
	MP=$(mf_abs m7) && pid=$MF_MOUNT_PID &&
	cat >reader.py <<-\EOF &&
	import sys, time
	f = open(sys.argv[1], "rb")
	open(sys.argv[2], "w").close()
	try:
	    while True:
	        if not f.read(4096):
	            f.seek(0)
	        time.sleep(0.001)
	except OSError:
	    pass
	EOF
	true || return 1
	"$MF_PY" reader.py m7/Art/One/Alpha.flac reading &
	rpid=$! &&
	test_when_finished "kill $rpid 2>/dev/null; :" &&
	mf_wait_until 10 test -e reading &&
	mf_pid_alive $rpid &&
	kill -TERM "$pid" &&
	mf_wait_until 5 eval "! mf_pid_alive $pid && ! mf_is_mounted \"$MP\"" &&
	wait "$pid" && mf_forget_mount "$pid" &&
	! mf_is_mounted "$MP"
'

test_done
