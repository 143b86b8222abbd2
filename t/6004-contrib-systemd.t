#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='contrib/systemd units and contrib/fstab.example: systemd-analyze verify, and the fstab example parses as musefs-mount options

The units name /usr/local/bin (make install); the copies verified here
point at the build tree instead, since verify checks that every command
exists. Documentation=man: references resolve against docs/.'
. "${0%/*}/lib.sh"

C=$MF_SOURCE/contrib

mf_test 'the units and the example are there' '
	test -f "$C/systemd/musefs-mount@.service" &&
	test -f "$C/systemd/musefs-scan.service" &&
	test -f "$C/systemd/musefs-scan.timer" &&
	test -f "$C/systemd/musefs.conf" &&
	test -f "$C/fstab.example" &&
	grep -x "Type=notify" "$C/systemd/musefs-mount@.service" &&
	grep "^ExecStart=/usr/local/bin/musefs-mount -f " "$C/systemd/musefs-mount@.service" &&
	grep -x "Type=oneshot" "$C/systemd/musefs-scan.service" &&
	grep "^OnUnitActiveSec=" "$C/systemd/musefs-scan.timer"
'

mf_test 'systemd-analyze verify accepts every unit, without a warning' '
	mf_have systemd-analyze || {
		echo "# systemd-analyze is missing: not verified"; return 0; }
	mkdir -p units man/man1 &&
	for f in "$C"/systemd/*.service "$C"/systemd/*.timer; do
		sed "s|/usr/local/bin/|$MF_BUILD/bin/|" "$f" >"units/${f##*/}" || return 1
	done &&
	ln -sf "$MF_SOURCE"/docs/*.1 man/man1/ &&
	# an instance of the template: the mountpoint /mnt/music
	(cd units && MANPATH=$MF_TRASH/man systemd-analyze verify \
		./musefs-scan.service ./musefs-scan.timer \
		./musefs-mount@mnt-music.service) >out 2>&1 &&
	cat out && test ! -s out &&
	# the check does catch a mistake
	sed "s/^Type=notify/Type=notfy/" units/musefs-mount@.service >units/bad@.service &&
	(cd units && MANPATH=$MF_TRASH/man systemd-analyze verify ./bad@x.service) >out 2>&1;
	cat out && grep "notfy" out
'

mf_test 'the fstab example: each line has six fields and options musefs-mount accepts' '
	mkdir nolib && musefs-scan -q --db "$MF_TRASH/store.db" nolib &&
	grep -v "^#" "$C/fstab.example" | grep . >lines &&
	test "$(wc -l <lines)" -ge 2 &&
	while read -r src mp type opts dump pass; do
		test "$type" = fuse.musefs-mount && test "$dump$pass" = 00 &&
		test -n "$src" && test -n "$mp" || return 1
		# getmntent(3) turns \040 into a space
		opts=$(printf "%s" "$opts" | sed "s/\\\\040/ /g") &&
		test_expect_code 0 musefs-mount --db "$MF_TRASH/store.db" \
			-o "$opts" --dry-run >dry 2>err || { cat err; return 1; }
		grep -x "files: 0" dry || return 1
	done <lines
'

test_done
