#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='the musefs 1.x command line: musefs scan, revalidate, mount, vacuum, stat

Each subcommand is checked by its effect on the store or the mount, and by
the exact command line it hands to our binaries (a fake binary next to a
copy of musefs records its arguments). Refused 1.x flags name the
replacement; MUSEFS_<FLAG> variables work and flags win over them.'
. "${0%/*}/lib.sh"

mf_require_fuse
mf_have sox flac metaflac sqlite3 oggenc fusermount3 ||
	skip_all 'needs sox, flac, metaflac, sqlite3, oggenc, fusermount3'
MF_PY=/usr/bin/python3
test -x "$MF_PY" && "$MF_PY" -c 'import mutagen' 2>/dev/null ||
	skip_all "needs $MF_PY with mutagen"
DB=$MF_TRASH/store.db
unset MUSEFS_DB

sql () {
	sqlite3 -batch -cmd '.timeout 5000' "$DB" "$@"
}

# title_of FILE: the stored title of backing file lib/FILE.
title_of () {
	sql "SELECT value FROM tags t JOIN tracks k ON k.id = t.track_id
	     WHERE k.backing_path = '$MF_TRASH/lib/$1' AND t.key = 'title'"
}

# cmd_mount MOUNTPOINT ARGS...: `musefs mount MOUNTPOINT ARGS...` in the
# background, registered like mf_mount's daemons (mf_umount stops it,
# the test's exit cleans it up); waits up to 30 s for the mount.
cmd_mount () {
	mkdir -p "$1" &&
	cm_mp=$(mf_abs "$1") &&
	shift &&
	MF_MOUNT_LOG=$(mf_mount_log_for "$cm_mp") &&
	{ musefs mount "$cm_mp" "$@" </dev/null >"$MF_MOUNT_LOG" 2>&1 & } &&
	MF_MOUNT_PID=$! &&
	mf_mounts="$mf_mounts$MF_MOUNT_PID $cm_mp
" &&
	if ! mf_wait_until 30 mount_up "$cm_mp" "$MF_MOUNT_PID"
	then
		cat "$MF_MOUNT_LOG" >&2
		return 1
	fi
}

mount_up () {
	mf_pid_alive "$2" || { cat "$MF_MOUNT_LOG" >&2; return 2; }
	mf_is_mounted "$1"
}

test_must_be_empty_ () {
	if test -s "$1"; then
		echo >&2 "'$1' is not empty:"; cat >&2 "$1"; return 1
	fi
}

# tags_of FILE: mutagen's view of a served file, "key=value" lines.
tags_of () {
	"$MF_PY" - "$1" <<-\EOF
	import sys, mutagen
	f = mutagen.File(sys.argv[1])
	for k in sorted(f.tags.keys()):
	    for v in f.tags[k]:
	        print("%s=%s" % (k.lower(), v))
	EOF
}

mf_test 'set up a library: two FLAC files and an Ogg Vorbis file' '
	mkdir lib &&
	mf_make_flac lib/a.flac 1 440 &&
	mf_make_flac lib/b.flac 1 550 &&
	metaflac --set-tag=ARTIST=Art --set-tag=ALBUM=One --set-tag=TITLE=Alpha lib/a.flac &&
	metaflac --set-tag=ARTIST=Art --set-tag=TITLE=Beta lib/b.flac &&
	sox -D -n -r 44100 -c 2 -b 16 v.wav synth 1 sine 660 &&
	oggenc -Q -t Gamma -a Art -l One -o lib/c.ogg v.wav &&
	rm v.wav
'

mf_test 'musefs --version, --help, help scan; a bad subcommand exits 2' '
	test "$(musefs --version)" = "musefs 0.1.0" &&
	musefs --help >out && grep "revalidate" out &&
	musefs help scan >out && grep -- "--force" out &&
	musefs scan --help >out && grep -- "--checksum" out &&
	test_expect_code 2 musefs frobnicate 2>err &&
	grep "unknown subcommand .frobnicate." err &&
	test_expect_code 2 musefs 2>err
'

mf_test 'musefs scan TARGET --db PATH fills the store' '
	musefs scan lib --db "$DB" >out &&
	grep "new=3" out &&
	test "$(sql "SELECT count(*) FROM tracks")" = 3 &&
	test "$(title_of a.flac)" = Alpha
'

mf_test 'musefs scan -q prints no summary' '
	musefs scan -q lib --db "$DB" >out &&
	test_must_be_empty_ out
'

mf_test 'plain musefs scan keeps an external edit; musefs scan --force restores the file'"'"'s own tags and art' '
	a=$(sql "SELECT id FROM tracks WHERE backing_path = '"'"'$MF_TRASH/lib/a.flac'"'"'") &&
	sql "UPDATE tags SET value = '"'"'Curated'"'"' WHERE track_id = $a AND key = '"'"'title'"'"';
	     INSERT INTO tags (track_id, key, value, ordinal) VALUES ($a, '"'"'mood'"'"', '"'"'calm'"'"', 0);
	     INSERT INTO art (sha256, mime, width, height, byte_len, data)
	       VALUES (lower(hex(randomblob(32))), '"'"'image/png'"'"', 1, 1, 4, x'"'"'89504e47'"'"');
	     INSERT INTO track_art (track_id, ordinal, art_id, picture_type, description)
	       VALUES ($a, 0, last_insert_rowid(), 3, '"'"''"'"');" &&
	v0=$(sql "SELECT content_version FROM tracks WHERE id = $a") &&
	musefs scan lib --db "$DB" >out &&
	grep "unchanged=3" out &&
	test "$(title_of a.flac)" = Curated &&
	test "$(sql "SELECT count(*) FROM track_art WHERE track_id = $a")" = 1 &&
	musefs scan lib --db "$DB" --force >out &&
	grep "changed=3" out &&
	test "$(title_of a.flac)" = Alpha &&
	test "$(sql "SELECT count(*) FROM tags WHERE track_id = $a AND key = '"'"'mood'"'"'")" = 0 &&
	test "$(sql "SELECT count(*) FROM track_art WHERE track_id = $a")" = 0 &&
	v1=$(sql "SELECT content_version FROM tracks WHERE id = $a") &&
	test "$v1" -gt "$v0" &&
	test "$(sql "SELECT count(*) FROM track_changes WHERE track_id = $a AND seq >
		(SELECT max(seq) FROM track_changes) - 3")" = 1
'

mf_test 'musefs revalidate refreshes stored tracks but imports no new file; --prune deletes gone ones' '
	mf_make_flac lib/d.flac 1 770 &&
	metaflac --set-tag=TITLE=Delta lib/d.flac &&
	metaflac --set-tag=COMMENT=retagged lib/b.flac &&
	musefs revalidate lib --db "$DB" >out &&
	grep "changed=1" out &&
	test "$(title_of b.flac)" = Beta &&
	test "$(sql "SELECT count(*) FROM tags WHERE key = '"'"'comment'"'"'")" = 0 &&
	test "$(sql "SELECT count(*) FROM tracks")" = 3 &&
	test "$(sql "SELECT backing_size FROM tracks WHERE backing_path = '"'"'$MF_TRASH/lib/b.flac'"'"'")" = "$(stat -c %s lib/b.flac)" &&
	rm lib/d.flac &&
	mkdir lib/x &&
	for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22; do
		cp lib/a.flac lib/x/$i.flac || return 1
	done &&
	musefs scan lib --db "$DB" >/dev/null &&
	test "$(sql "SELECT count(*) FROM tracks")" = 25 &&
	rm lib/x/1.flac lib/x/2.flac &&
	musefs revalidate lib --db "$DB" >out &&
	test "$(sql "SELECT count(*) FROM tracks")" = 25 &&
	musefs revalidate lib --db "$DB" --prune >out &&
	grep "pruned=2" out &&
	test "$(sql "SELECT count(*) FROM tracks")" = 23 &&
	rm lib/x/3.flac lib/x/4.flac lib/x/5.flac &&
	test_expect_code 1 musefs revalidate lib --db "$DB" --prune 2>err &&
	grep "prune" err &&
	test "$(sql "SELECT count(*) FROM tracks")" = 23 &&
	rm -r lib/x &&
	musefs-scan --db "$DB" --prune --force lib >/dev/null &&
	test "$(sql "SELECT count(*) FROM tracks")" = 3
'

mf_test 'MUSEFS_DB, MUSEFS_FORCE and MUSEFS_CHECKSUM work; flags win over them' '
	sql "UPDATE tags SET value = '"'"'Curated'"'"' WHERE key = '"'"'title'"'"' AND track_id =
	     (SELECT id FROM tracks WHERE backing_path = '"'"'$MF_TRASH/lib/a.flac'"'"')" &&
	MUSEFS_DB=$DB musefs scan lib >out &&
	grep "unchanged=3" out &&
	test "$(title_of a.flac)" = Curated &&
	MUSEFS_DB=$DB MUSEFS_FORCE=true musefs scan lib >out &&
	grep "changed=3" out &&
	test "$(title_of a.flac)" = Alpha &&
	MUSEFS_DB=$MF_TRASH/other.db musefs scan lib --db "$DB" >out &&
	test_path_is_missing other.db &&
	MUSEFS_CHECKSUM=nonsense musefs scan lib --db "$DB" --checksum full --force >out &&
	test "$(sql "SELECT count(*) FROM tracks WHERE length(content_hash) = 64")" = 3 &&
	test_expect_code 2 env MUSEFS_CHECKSUM=nonsense musefs scan lib --db "$DB" 2>err &&
	grep "invalid value .nonsense. for .MUSEFS_CHECKSUM." err &&
	test_expect_code 2 env MUSEFS_FORCE=perhaps musefs scan lib --db "$DB" 2>err &&
	grep "MUSEFS_FORCE" err &&
	test_expect_code 2 musefs scan lib --db "$DB" --jobs 999 2>err &&
	grep "expected 0..256" err
'

# A copy of musefs beside fake binaries that print their arguments, one
# per line: the exact translation, and the lookup next to musefs first.
mf_test 'the command lines handed to musefs-scan, musefs-mount and musefs-stat' '
	mkdir fake &&
	cp "$MF_BUILD/bin/musefs" fake/ &&
	for p in musefs-scan musefs-mount musefs-stat; do
		printf "#!/bin/sh\necho \$0\nfor a; do echo \"\$a\"; done\n" >fake/$p &&
		chmod +x fake/$p || return 1
	done &&
	fake/musefs -v scan x y --db s.db --force --jobs 0 --follow-symlinks -q \
		--checksum fingerprint --fast >out &&
	printf "%s\n" "$MF_TRASH/fake/musefs-scan" --db s.db --reingest \
		--follow-symlinks -q -v -- x y >want &&
	test_cmp want out &&
	fake/musefs scan x --db s.db --jobs 4 --checksum=full >out &&
	printf "%s\n" "$MF_TRASH/fake/musefs-scan" --db s.db -j 4 --checksum=full -- x >want &&
	test_cmp want out &&
	fake/musefs scan x --db s.db --revalidate >out 2>err &&
	grep -x -- --known-only out && grep deprecated err &&
	fake/musefs revalidate x --db s.db --prune >out &&
	printf "%s\n" "$MF_TRASH/fake/musefs-scan" --known-only --db s.db --prune -- x >want &&
	test_cmp want out &&
	fake/musefs mount mp --db s.db --template "\$a/\$t" --fallback a=A \
		--fallback t=T --case-insensitive true --owner 7 --keep-cache \
		--workers 0 --read-ahead-prefetch=false >out &&
	printf "%s\n" "$MF_TRASH/fake/musefs-mount" -f --db s.db --template "\$a/\$t" \
		--case-insensitive --owner 7 --allow-other --default-fallback Unknown \
		--fallback a=A --fallback t=T -- mp >want &&
	test_cmp want out &&
	MUSEFS_MOUNTPOINT=mp2 MUSEFS_DEFAULT_FALLBACK=None MUSEFS_CASE_INSENSITIVE=no \
		fake/musefs mount --db s.db >out &&
	printf "%s\n" "$MF_TRASH/fake/musefs-mount" -f --db s.db --default-fallback None -- mp2 >want &&
	test_cmp want out &&
	fake/musefs stat --db s.db --get tracks.total >out &&
	printf "%s\n" "$MF_TRASH/fake/musefs-stat" --db s.db --get tracks.total >want &&
	test_cmp want out &&
	touch s.db &&
	fake/musefs vacuum --db s.db >out &&
	printf "%s\n" "$MF_TRASH/fake/musefs-scan" --vacuum --db s.db >want &&
	test_cmp want out
'

mf_test 'without a binary beside it, musefs finds it in PATH' '
	mkdir alone &&
	cp "$MF_BUILD/bin/musefs" alone/ &&
	PATH=$MF_TRASH/fake:$PATH alone/musefs stat --db x >out &&
	test "$(head -n 1 out)" = "$MF_TRASH/fake/musefs-stat"
'

mf_test '1.x flags we do not have are refused with exit 2, naming the replacement' '
	test_expect_code 2 musefs mount m --db "$DB" --read-ahead-budget-mib 8 2>err &&
	grep "musefs mount --read-ahead-budget-mib.*--cache-mib" err &&
	test_expect_code 2 musefs scan lib --db "$DB" --strict 2>err &&
	grep "musefs scan --strict.*no replacement" err &&
	test_expect_code 2 musefs mount m --db "$DB" --keep-cache false 2>err &&
	grep "only true is accepted" err &&
	test_expect_code 2 env MUSEFS_WORKERS=4 musefs mount m --db "$DB" 2>err &&
	grep "musefs mount --workers. (from MUSEFS_WORKERS) is not supported" err &&
	test_expect_code 2 musefs mount m --db "$DB" --max-background 9 2>err &&
	grep "no replacement" err &&
	test_expect_code 2 musefs scan lib --db "$DB" --reingest 2>err &&
	grep "unknown option .--reingest. for .musefs scan." err &&
	test_path_is_missing m
'

mf_test 'musefs mount serves the tree in the foreground and exits 0 when unmounted' '
	cmd_mount mp --db "$DB" --template "\$album/\$title" &&
	test_path_is_file mp/One/Alpha.flac &&
	test_path_is_file mp/One/Gamma.ogg &&
	test_path_is_file mp/Unknown/Beta.flac &&
	tags_of mp/One/Alpha.flac >tags &&
	grep -x "title=Alpha" tags &&
	mf_runs "$MF_MOUNT_PID" "$MF_BUILD/bin/musefs-mount" &&
	mf_umount mp
'

mf_test 'musefs mount: MUSEFS_TEMPLATE, overridden by --template; --owner implies allow_other' '
	MUSEFS_TEMPLATE="\$artist/\$title" cmd_mount mp --db "$DB" &&
	test_path_is_file mp/Art/Beta.flac &&
	mf_umount mp &&
	MUSEFS_TEMPLATE="\$artist/\$title" cmd_mount mp --db "$DB" --template "\$title" --owner nobody &&
	test_path_is_file mp/Beta.flac &&
	test "$(stat -c %U mp/Beta.flac)" = nobody &&
	mp_abs=$(mf_abs mp) &&
	MF_MP=$(mf_mountinfo_escape "$mp_abs") awk '"'"'$5 == ENVIRON["MF_MP"]'"'"' \
		/proc/self/mountinfo >mi &&
	grep allow_other mi &&
	mf_umount mp
'

mf_test 'musefs mount --dry-run needs no mountpoint' '
	musefs mount --db "$DB" --template "\$title" --dry-run >out &&
	grep "Alpha.flac" out
'

mf_test 'musefs vacuum compacts the store; a missing store is refused and not created' '
	sql "CREATE TABLE IF NOT EXISTS bulk (b BLOB);
	     INSERT INTO bulk SELECT randomblob(4096) FROM (WITH RECURSIVE n(i) AS
	       (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500) SELECT i FROM n);
	     DROP TABLE bulk;" &&
	test "$(sql "PRAGMA freelist_count")" -gt 0 &&
	musefs vacuum --db "$DB" >out &&
	grep "vacuum: reclaimed" out &&
	test "$(sql "PRAGMA freelist_count")" = 0 &&
	test_expect_code 1 musefs vacuum --db "$MF_TRASH/none.db" 2>err &&
	grep "database not found: .*none.db (nothing to vacuum)" err &&
	test_path_is_missing none.db
'

mf_test 'musefs stat is musefs-stat' '
	musefs stat --db "$DB" --get tracks.total >out &&
	musefs-stat --db "$DB" --get tracks.total >want &&
	test_cmp want out &&
	test "$(cat out)" = 3
'

test_done
