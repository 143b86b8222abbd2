#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='musefs-mount options a sysadmin expects: owner, group, modes, attribute TTL, case-insensitive names, cache budget, ID3v2 version, allow-other, bad values

Each option is checked by what a client sees (stat, lookups, mutagen) or by
the mount'"'"'s own counters in /.musefs-metrics/metrics.'
. "${0%/*}/lib.sh"
. "$MF_SOURCE/t/lib-mount.sh"

mf_require_fuse
mf_have sox flac metaflac sqlite3 lame mid3v2 ||
	skip_all 'needs sox, flac, metaflac, sqlite3, lame, mid3v2'
MF_PY=/usr/bin/python3
test -x "$MF_PY" && "$MF_PY" -c 'import mutagen' 2>/dev/null ||
	skip_all "needs $MF_PY with mutagen"
DB=$MF_TRASH/store.db
T='$artist/$album/$title'

mf_test 'set up a library' '
	mount_lib lib
'

mf_test '--owner, --group, --file-mode, --dir-mode: what stat shows' '
	mf_mount m1 --db "$DB" --template "$T" --owner nobody --group nogroup \
		--file-mode 0640 --dir-mode 0750 &&
	test "$(stat -c "%U:%G %a %F" m1/Art/One/Alpha.flac)" = "nobody:nogroup 640 regular file" &&
	test "$(stat -c "%U:%G %a %F" m1/Art/One)" = "nobody:nogroup 750 directory" &&
	test "$(stat -c "%U:%G %a" m1)" = "nobody:nogroup 750" &&
	mf_umount m1 &&
	mf_mount m1 --db "$DB" --template "$T" --owner 4321 --group 8765 &&
	test "$(stat -c "%u:%g %a" m1/Art/One/Alpha.flac)" = "4321:8765 444" &&
	test "$(stat -c "%u:%g %a" m1/Art)" = "4321:8765 555" &&
	mf_umount m1
'

mf_test 'the same options as -o name=value' '
	mf_mount m1 -o "db=$DB,template=$T,owner=nobody,group=nogroup,file_mode=0604,dir-mode=0705" &&
	test "$(stat -c "%U:%G %a" m1/Art/One/Beta.flac)" = "nobody:nogroup 604" &&
	test "$(stat -c "%U:%G %a" m1/Art/Two)" = "nobody:nogroup 705" &&
	mf_umount m1
'

# requests_between MOUNTPOINT CMD...: how many lookups and getattrs the
# mount answered while CMD ran, less what reading the metrics file itself
# costs (measured with no command in between).
requests_between () {
	mf_rb_mp=$1 && shift &&
	metrics_of "$mf_rb_mp" r0 && metrics_of "$mf_rb_mp" r1 &&
	"$@" && metrics_of "$mf_rb_mp" r2 &&
	echo $(( $(lookups_getattrs r2) - 2 * $(lookups_getattrs r1) + $(lookups_getattrs r0) ))
}

lookups_getattrs () {
	echo $(( $(metric "$1" musefs_mount_getattrs_total) + $(metric "$1" musefs_mount_lookups_total) ))
}

six_stats () {
	for i in 1 2 3 4 5 6; do stat "$1" >/dev/null || return 1; done
}

mf_test '--attr-ttl-ms: 0 asks the mount at every stat, a long TTL never' '
	mf_mount m1 --db "$DB" --template "$T" --expose-metrics --attr-ttl-ms 0 &&
	stat m1/Art/One/Alpha.flac >/dev/null &&
	n0=$(requests_between m1 six_stats m1/Art/One/Alpha.flac) &&
	mf_umount m1 &&
	mf_mount m1 --db "$DB" --template "$T" --expose-metrics -o attr_ttl_ms=600000 &&
	stat m1/Art/One/Alpha.flac >/dev/null &&
	nl=$(requests_between m1 six_stats m1/Art/One/Alpha.flac) &&
	mf_umount m1 &&
	echo "ttl 0: $n0 requests; ttl 600 s: $nl requests" &&
	test "$n0" -ge 6 && test "$nl" = 0
'

mf_test '--case-insensitive: any ASCII case finds a name; without it, only the exact one' '
	mf_mount m1 --db "$DB" --template "$T" --case-insensitive &&
	cmp m1/Art/One/Alpha.flac m1/ART/one/ALPHA.FLAC &&
	test "$(stat -c %i m1/art/ONE/alpha.flac)" = "$(stat -c %i m1/Art/One/Alpha.flac)" &&
	ls m1/Art/One >names && printf "Alpha.flac\nBeta.flac\n" >expect &&
	test_cmp expect names &&
	test_must_fail stat m1/Art/One/Alphaa.flac &&
	mf_umount m1 &&
	mf_mount m1 --db "$DB" --template "$T" &&
	test -f m1/Art/One/Alpha.flac &&
	test_must_fail stat m1/ART/one/ALPHA.FLAC &&
	mf_umount m1
'

mf_test '--case-insensitive: names differing only in case get a collision suffix' '
	A=$(track_of lib/a.flac) && B=$(track_of lib/b.flac) &&
	set_tag "$B" title ALPHA &&
	test_when_finished "set_tag $B title Beta" &&
	# the lower track id keeps the plain name
	if test "$A" -lt "$B"; then hi=$B stem=ALPHA; else hi=$A stem=Alpha; fi &&
	musefs-mount --db "$DB" --template "$T" --case-insensitive --dry-run --max-collisions 50 >dry &&
	grep -x "collision: track $hi wanted '"'"'Art/One/$stem.flac'"'"', served as '"'"'Art/One/$stem (2).flac'"'"'" dry &&
	grep -x "collisions: 1" dry &&
	musefs-mount --db "$DB" --template "$T" --dry-run >dry2 &&
	grep -x "collisions: 0" dry2 &&
	grep -x "sample: Art/One/ALPHA.flac" dry2 &&
	grep -x "sample: Art/One/Alpha.flac" dry2
'

mf_test '--cache-mib bounds the layout cache' '
	# five tracks whose synthesized metadata is ~250 KB each (a long tag, under the 262144-byte value cap)
	mkdir big &&
	head -c 250000 /dev/zero | tr "\0" x >long.txt &&
	for i in 1 2 3 4 5; do
		mf_make_flac big/$i.flac 0.2 440 &&
		metaflac --set-tag=TITLE=Big$i --set-tag=ALBUM=Big \
			--set-tag-from-file=LYRICS=long.txt big/$i.flac || return 1
	done &&
	musefs-scan --db "$DB" big >/dev/null &&
	mf_mount m1 --db "$DB" --template "\$album/\$title" --expose-metrics --cache-mib 1 &&
	for i in 1 2 3 4 5; do cat m1/Big/Big$i.flac >/dev/null || return 1; done &&
	metrics_of m1 m &&
	test "$(metric m musefs_mount_layout_cache_budget_bytes)" = 1048576 &&
	test "$(metric m musefs_mount_layout_cache_bytes)" -le 1048576 &&
	test "$(metric m musefs_mount_layout_cache_entries)" -lt 5 &&
	test "$(metric m musefs_mount_layout_cache_entries)" -ge 1 &&
	mf_umount m1 &&
	mf_mount m1 --db "$DB" --template "\$album/\$title" --expose-metrics &&
	for i in 1 2 3 4 5; do cat m1/Big/Big$i.flac >/dev/null || return 1; done &&
	metrics_of m1 m &&
	test "$(metric m musefs_mount_layout_cache_budget_bytes)" = $((64 << 20)) &&
	test "$(metric m musefs_mount_layout_cache_entries)" = 5 &&
	test "$(metric m musefs_mount_layout_cache_bytes)" -gt 1048576 &&
	mf_umount m1 &&
	sqlite3 "$DB" "DELETE FROM tracks WHERE backing_path LIKE '"'"'%/big/%'"'"'"
'

# id3_version FILE: the ID3v2 version mutagen reads, as 2.3.0 / 2.4.0.
id3_version () {
	"$MF_PY" -c "import sys; from mutagen.id3 import ID3
t = ID3(sys.argv[1]); print(\".\".join(map(str, t.version)), t[\"TIT2\"].text[0], t[\"TPE1\"].text[0])" "$1"
}

mf_test '--id3v2-version 3 serves ID3v2.3 tags; the default is ID3v2.4' '
	mp3_lib mp3 &&
	mf_mount m1 --db "$DB" --template "\$album/\$title" --id3v2-version 3 &&
	test "$(id3_version "m1/Mp Album/Uno.mp3")" = "2.3.0 Uno Mp Artist" &&
	test "$(id3_version "m1/Mp Album/Dos.mp3")" = "2.3.0 Dos Mp Artist" &&
	head -c 4 "m1/Mp Album/Uno.mp3" | od -An -tx1 >hdr &&
	test "$(tr -d " \n" <hdr)" = 49443303 &&
	mf_umount m1 &&
	mf_mount m1 --db "$DB" --template "\$album/\$title" -o id3v2_version=4 &&
	test "$(id3_version "m1/Mp Album/Uno.mp3")" = "2.4.0 Uno Mp Artist" &&
	mf_umount m1 &&
	mf_mount m1 --db "$DB" --template "\$album/\$title" &&
	test "$(id3_version "m1/Mp Album/Dos.mp3")" = "2.4.0 Dos Mp Artist" &&
	mf_umount m1
'

mf_test 'mtime moves on a retag within the second the backing file was written' '
	touch -d @1577836800.900000000 lib/c.flac &&
	musefs-scan --db "$DB" lib >/dev/null &&
	C=$(track_of lib/c.flac) &&
	# the last metadata change in that same second
	sqlite3 "$DB" "UPDATE tracks SET updated_at = 1577836800 WHERE id = $C" &&
	mf_mount m1 --db "$DB" --template "$T" --poll-interval-ms 100 &&
	test_when_finished "mf_umount m1; set_tag $C title Gamma" &&
	m1=$(stat -c %.9Y m1/Art/Two/Gamma.flac) &&
	sqlite3 "$DB" "BEGIN; UPDATE tags SET value = '"'"'Gamma2'"'"' WHERE track_id = $C AND key = '"'"'title'"'"'; UPDATE tracks SET updated_at = 1577836800 WHERE id = $C; COMMIT" &&
	mf_wait_until 30 mount_exists m1/Art/Two/Gamma2.flac &&
	m2=$(stat -c %.9Y m1/Art/Two/Gamma2.flac) &&
	echo "before $m1, after $m2" &&
	test "$m1" != "$m2" && test "${m1%.*}" = 1577836800 &&
	test "${m2%.*}" = 1577836800
'

mf_test 'bad option values are usage errors (status 2) naming the option' '
	mkdir -p m2 &&
	for bad in "--cache-mib 0" "--cache-mib x" "--id3v2-version 2" \
		"--id3v2-version 5" "--file-mode 0999" "--dir-mode -1" \
		"--attr-ttl-ms -5" "--owner no-such-user-xyz" \
		"--group no-such-group-xyz" "-o cache_mib=" "-o dry_run=1" \
		"--mode other" "--no-such-option"; do
		name=${bad%% *} && name=${name#--} && name=${name#-o } &&
		test_expect_code 2 musefs-mount --db "$DB" $bad m2 2>err || return 1
		case $bad in
		--no-such*) grep "unknown option" err ;;
		-o*) grep -e "cache-mib" -e "dry-run" err ;;
		*) grep -e "$name" err ;;
		esac || { echo "no message naming $bad:"; cat err; return 1; }
	done
'

# one_line FILE: FILE holds exactly one line (a message, no usage text).
one_line () {
	cat "$1" && test "$(wc -l <"$1")" = 1
}

mf_test 'unknown -o words are refused by name (status 2); fstab and FUSE words pass' '
	mkdir -p m2 &&
	# a build that accepted the word would have left a daemon serving m2
	test_when_finished "fusermount3 -u \"$PWD/m2\" 2>/dev/null; :" &&
	for bad in id3v2_versoin=3 templat=x bogus=1 bogus; do
		test_expect_code 2 musefs-mount --db "$DB" --template "$T" \
			-o "ro,$bad" m2 2>err || return 1
		one_line err &&
		grep -x "musefs-mount: unknown -o option .$bad." err || return 1
	done &&
	! mf_is_mounted "$(mf_abs m2)" &&
	mf_mount m2 --db "$DB" --template "$T" -o "rw,ro,defaults,auto,noauto,user,users,nouser,owner,group,nofail,_netdev,x-systemd.automount,x-systemd.mount-timeout=30,comment=systemd.x,exec,noexec,suid,nosuid,dev,nodev,async,sync,atime,noatime,nodiratime,relatime,strictatime,lazytime,allow_other,default_permissions" &&
	test -f m2/Art/One/Alpha.flac &&
	test "$(awk -v m="$(mf_abs m2)" "\$5 == m" /proc/self/mountinfo | grep -c allow_other)" = 1 &&
	! grep -i warn "$MF_MOUNT_LOG" &&
	mf_umount m2
'

mf_test '-o template= decodes fstab octal escapes (backslash 040) anywhere in the value' '
	musefs-mount --db "$DB" --dry-run -o "template=\$album/\$artist\\040-\\040\$title" >dry &&
	grep -x "sample: One/Art - Alpha.flac" dry &&
	musefs-mount --db "$DB" --dry-run -o "template=\\044album/\$title\\041,fallback=genre=Un\\,known" >dry &&
	grep -x "sample: One/Alpha!.flac" dry
'

mf_test 'bad values: one line naming the option and the value, no usage text' '
	mkdir -p m2 &&
	test_expect_code 2 musefs-mount --db "$DB" --mode fast m2 2>err &&
	one_line err &&
	grep -x "musefs-mount: invalid value for .mode.: .fast. (expected synthesis or structure-only)" err &&
	test_expect_code 2 musefs-mount --db "$DB" --owner nosuchuser m2 2>err &&
	one_line err && grep -x "musefs-mount: option .owner.: no such user .nosuchuser." err &&
	test_expect_code 2 musefs-mount --db "$DB" -o group=nosuchgroup m2 2>err &&
	one_line err && grep -x "musefs-mount: option .group.: no such group .nosuchgroup." err &&
	test_expect_code 2 musefs-mount --db "$DB" --bogus m2 2>err &&
	one_line err &&
	# a missing operand still shows the usage
	test_expect_code 2 musefs-mount --db "$DB" 2>err &&
	grep "no MOUNTPOINT" err && grep "^usage: musefs-mount" err
'

mf_test 'template fields no track has: a warning each; --dry-run fails when all are unknown (8)' '
	test_expect_code 8 musefs-mount --db "$DB" --template "\$albmu/\$tilte" --dry-run >dry 2>err &&
	cat err &&
	grep -x "musefs-mount: template: field .albmu. is not a tag of any track" err &&
	grep -x "musefs-mount: template: field .tilte. is not a tag of any track" err &&
	grep "no field it references is a tag of any track" err &&
	musefs-mount --db "$DB" --template "\$artist/\$albmu/\$title" --dry-run >dry 2>err &&
	cat err && one_line err &&
	grep -x "musefs-mount: template: field .albmu. is not a tag of any track" err &&
	# audio properties are never unknown
	musefs-mount --db "$DB" --template "\$format-\$ext/\$length \$bitrate \$samplerate \$channels \$bitdepth/\$title" --dry-run >dry 2>err &&
	! test -s err &&
	grep "^sample: FLAC-flac/" dry &&
	# and at mount start
	mf_mount m2 --db "$DB" --template "\$artist/\$albmu/\$title" &&
	grep -x "musefs-mount: template: field .albmu. is not a tag of any track" "$MF_MOUNT_LOG" &&
	mf_umount m2
'

mf_test '--allow-other as root passes allow_other to FUSE' '
	test "$(id -u)" = 0 || { echo "# not root: skipped"; return 0; }
	mf_mount m1 --db "$DB" --template "$T" --allow-other &&
	test_when_finished "mf_umount m1" &&
	MF_MP=$(mf_abs m1) awk "\$5 == ENVIRON[\"MF_MP\"]" /proc/self/mountinfo >mi &&
	grep -w allow_other mi
'

# As user nobody, with /etc/fuse.conf replaced (in a private mount
# namespace) by $1, run musefs-mount --allow-other --dry-run.
as_nobody_allow_other () {
	unshare -m sh -c 'mount --bind "$1" /etc/fuse.conf && shift &&
		exec setpriv --reuid=65534 --regid=65534 --clear-groups "$@"' \
		sh "$1" "$(command -v musefs-mount)" --db "$DB" --template "$T" \
		--allow-other --dry-run
}

mf_test '--allow-other when not root needs user_allow_other in /etc/fuse.conf' '
	test "$(id -u)" = 0 && mf_have unshare setpriv || {
		echo "# needs root, unshare and setpriv to run as another user"; return 0; }
	chmod 755 "$MF_TRASH" && chmod 644 "$DB" &&
	printf "# user_allow_other\nmount_max = 1000\n" >fuse.conf.no &&
	printf "mount_max = 1000\n  user_allow_other\n" >fuse.conf.yes &&
	test_expect_code 2 as_nobody_allow_other "$PWD/fuse.conf.no" >out 2>err &&
	grep "allow-other needs .user_allow_other. in /etc/fuse.conf" err &&
	as_nobody_allow_other "$PWD/fuse.conf.yes" >out 2>err &&
	grep "^files: [1-9]" out && grep "^sample: " out
'

test_done
