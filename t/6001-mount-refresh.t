#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='musefs-mount follows store edits in place: renames, moves, deletions, collisions, with open handles held across the refresh; a new inode for every new version and stable inodes otherwise; kernel cache invalidation; mtime on retag; EIO on drift'
. "${0%/*}/lib.sh"
. "$MF_SOURCE/t/lib-mount.sh"

mf_require_fuse
mf_have sox flac metaflac sqlite3 perl || skip_all 'needs sox, flac, metaflac, sqlite3, perl'
DB=$MF_TRASH/store.db

mf_test 'set up a library and mount it' '
	mount_lib lib &&
	A=$(track_of lib/a.flac) && B=$(track_of lib/b.flac) &&
	C=$(track_of lib/c.flac) &&
	mf_mount mnt --db "$DB" --template "\$artist/\$album/\$title" \
		--poll-interval-ms 100 &&
	test -f "mnt/Art/One/Alpha.flac" && test -f "mnt/Art/Two/Gamma.flac"
'

mf_test 'a retag that renames gives a new inode (new bytes); a held handle still reads its own bytes' '
	i=$(ino mnt/Art/One/Alpha.flac) &&
	cat mnt/Art/One/Alpha.flac >alpha.before &&
	exec 7<mnt/Art/One/Alpha.flac &&
	set_tag "$A" title Aleph &&
	mf_wait_until 10 mount_exists mnt/Art/One/Aleph.flac &&
	# the old name is invalidated right after (by the notifier thread)
	mf_wait_until 10 mount_gone mnt/Art/One/Alpha.flac &&
	test "$(ino mnt/Art/One/Aleph.flac)" != "$i" &&
	cat <&7 >alpha.held && exec 7<&- &&
	cmp alpha.before alpha.held &&
	! cmp -s alpha.before mnt/Art/One/Aleph.flac &&
	metaflac --show-tag=TITLE mnt/Art/One/Aleph.flac >t &&
	grep -x "TITLE=Aleph" t
'

mf_test 'a retag that moves between directories gives a new inode; the empty directory goes' '
	i=$(ino mnt/Art/Two/Gamma.flac) &&
	set_tag "$C" album Three &&
	mf_wait_until 10 mount_exists mnt/Art/Three/Gamma.flac &&
	test "$(ino mnt/Art/Three/Gamma.flac)" != "$i" &&
	mf_wait_until 10 mount_gone mnt/Art/Two &&
	ls mnt/Art >dirs && printf "One\nThree\n" >expect && test_cmp expect dirs
'

mf_test 'a deletion with a handle held: its own bytes or a clean error' '
	cat mnt/Art/Three/Gamma.flac >gamma.before &&
	exec 7<mnt/Art/Three/Gamma.flac &&
	sqlite3 "$DB" "DELETE FROM tracks WHERE id = $C" &&
	mf_wait_until 10 mount_gone mnt/Art/Three/Gamma.flac &&
	mf_wait_until 10 mount_gone mnt/Art/Three &&
	if cat <&7 >gamma.held; then cmp gamma.before gamma.held; fi &&
	exec 7<&-
'

mf_test 'collision suffixes follow the store and recede' '
	iA=$(ino mnt/Art/One/Aleph.flac) && iB=$(ino mnt/Art/One/Beta.flac) &&
	set_tag "$B" title Aleph &&
	mf_wait_until 10 mount_exists "mnt/Art/One/Aleph (2).flac" &&
	ls mnt/Art/One >names && printf "Aleph (2).flac\nAleph.flac\n" >expect &&
	test_cmp expect names &&
	# the lower track id keeps the plain name; the untouched track keeps
	# its inode under its new name, the retagged one has a new inode
	if test "$B" -lt "$A"
	then
		test "$(ino "mnt/Art/One/Aleph (2).flac")" = "$iA" &&
		iB2=$(ino mnt/Art/One/Aleph.flac)
	else
		test "$(ino mnt/Art/One/Aleph.flac)" = "$iA" &&
		iB2=$(ino "mnt/Art/One/Aleph (2).flac")
	fi &&
	test "$iB2" != "$iB" && test "$iB2" != "$iA" &&
	set_tag "$B" title Beta &&
	mf_wait_until 10 mount_exists mnt/Art/One/Beta.flac &&
	mf_wait_until 10 mount_gone "mnt/Art/One/Aleph (2).flac" &&
	test "$(ino mnt/Art/One/Aleph.flac)" = "$iA" &&
	test "$(ino mnt/Art/One/Beta.flac)" != "$iB2"
'

mf_test 'read, retag, read again in one process: the page cache is invalidated' '
	cat >reread.pl <<-\EOP &&
	use strict;
	sub slurp { open(my $f, "<", $_[0]) or return ""; local $/; my $d = <$f>; close $f; return $d; }
	my ($path, $db, $id) = @ARGV;
	my $before = slurp($path);
	system("sqlite3", $db, "UPDATE tags SET value = '\''Bet'\'' WHERE track_id = $id AND key = '\''artist'\''") == 0 or die;
	my $p2 = $path; $p2 =~ s{/Art/}{/Bet/};
	for (1 .. 200) { last if -e $p2; select(undef, undef, undef, 0.05); }
	my $after = slurp($p2);
	print length($after) > 0 && $after ne $before && index($after, "ARTIST=Bet") >= 0 ? "changed\n" : "same\n";
	EOP
	perl reread.pl mnt/Art/One/Beta.flac "$DB" "$B" >out &&
	echo changed >expect && test_cmp expect out
'

mf_test 'mtime moves on retag, to the nanosecond' '
	m1=$(stat -c %.9Y mnt/Bet/One/Beta.flac) &&
	set_tag "$B" title Beta2 &&
	mf_wait_until 10 mount_exists mnt/Bet/One/Beta2.flac &&
	m2=$(stat -c %.9Y mnt/Bet/One/Beta2.flac) &&
	test "$m1" != "$m2" &&
	test "$(stat -c %b mnt/Bet/One/Beta2.flac)" -gt 0
'

mf_test 'inode numbers stay stable across unrelated refreshes' '
	i1=$(ino mnt/Art/One/Aleph.flac) && d1=$(ino mnt/Art/One) &&
	set_tag "$B" title Beta3 &&
	mf_wait_until 10 mount_exists mnt/Bet/One/Beta3.flac &&
	test "$(ino mnt/Art/One/Aleph.flac)" = "$i1" &&
	test "$(ino mnt/Art/One)" = "$d1"
'

# art_sql ID: SQL that links a new picture (random bytes) to track ID in
# place of its current one and deletes the art rows no track links to, as
# a tagger that replaces a cover does (one transaction).
art_sql () {
	cat <<-EOS
	BEGIN;
	CREATE TEMP TABLE b AS SELECT randomblob(3000) AS d;
	INSERT INTO art (sha256, mime, width, height, byte_len, data)
		SELECT lower(hex(randomblob(32))), 'image/png', 8, 8, length(d), d FROM b;
	DELETE FROM track_art WHERE track_id = $1;
	INSERT INTO track_art (track_id, art_id) VALUES ($1, last_insert_rowid());
	DELETE FROM art WHERE id NOT IN (SELECT art_id FROM track_art);
	COMMIT;
	EOS
}

mf_test 'a handle opened before its picture was replaced (old art row deleted) reads its own bytes' '
	art_sql "$A" | sqlite3 -cmd ".timeout 10000" "$DB" &&
	art_sql "$A" >replace.sql &&
	mf_wait_until 10 sh -c "metaflac --list --block-type=PICTURE mnt/Art/One/Aleph.flac | grep -q image/png" &&
	old=$(sqlite3 "$DB" "SELECT art_id FROM track_art WHERE track_id = $A") &&
	cat >held.py <<-\EOP &&
	import os, subprocess, sys, time
	path, db, tid, old = sys.argv[1:5]
	fd = os.open(path, os.O_RDONLY)
	before = os.pread(fd, 1 << 24, 0)
	# drop the pages, so that the next read reaches the mount
	os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
	with open("replace.sql") as sql:
	    subprocess.run(["sqlite3", "-cmd", ".timeout 10000", db], stdin=sql, check=True)
	gone = subprocess.run(["sqlite3", db, "SELECT count(*) FROM art WHERE id = " + old],
	                      capture_output=True, text=True).stdout.strip()
	for _ in range(200):
	    with open(path, "rb") as f:
	        if f.read() != before:
	            break
	    time.sleep(0.05)
	else:
	    sys.exit("the served file never changed")
	held = os.pread(fd, 1 << 24, 0)
	print("gone" if gone == "0" else "kept", "same" if held == before else "differs")
	EOP
	/usr/bin/python3 held.py mnt/Art/One/Aleph.flac "$DB" "$A" "$old" >out &&
	echo "gone same" >expect && test_cmp expect out
'

mf_test 'a backing file rewritten in place gives EIO' '
	cp lib/a.flac a.save &&
	printf x | dd of=lib/a.flac bs=1 seek=100 conv=notrunc 2>/dev/null &&
	test_must_fail cat mnt/Art/One/Aleph.flac >/dev/null 2>err &&
	grep -i "input/output error" err &&
	cp a.save lib/a.flac
'

mf_test 'extended attributes name the backing file, the track and the format' '
	/usr/bin/python3 -c "import os,sys; p=sys.argv[1]; print(os.getxattr(p, \"user.musefs.track_id\").decode()); print(os.getxattr(p, \"user.musefs.format\").decode()); print(os.getxattr(p, \"user.musefs.backing_path\").decode()); print(len(os.listxattr(p)))" mnt/Art/One/Aleph.flac >out &&
	printf "%s\nflac\n%s\n3\n" "$A" "$(cd lib && pwd -P)/a.flac" >expect &&
	test_cmp expect out
'

mf_test 'statfs answers' '
	stat -f -c "%b %c" mnt >out &&
	read blocks files <out && test "$blocks" -gt 0 && test "$files" -gt 0
'

mf_test 'writes are refused' '
	test_must_fail touch mnt/new 2>/dev/null &&
	test_must_fail mkdir mnt/d 2>/dev/null
'

mf_test 'SIGTERM unmounts cleanly with a reader holding a file open' '
	exec 7<mnt/Bet/One/Beta3.flac &&
	pid=$(mf_mount_pid "$(mf_abs mnt)") &&
	kill -TERM "$pid" &&
	mf_wait_until 10 eval "! mf_pid_alive $pid" &&
	mf_mount_wait "$pid"; st=$? &&
	exec 7<&- &&
	mf_forget_mount "$pid" &&
	test "$st" = 0 &&
	! mf_is_mounted "$(mf_abs mnt)"
'

test_done
