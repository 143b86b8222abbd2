#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='musefs-mount confines by default: without --root only backing files beneath the roots musefs-scan recorded are served; /etc/passwd, /proc/self/mem, a file outside every root or a symlink leading out answer EIO and are counted; --no-confine and a store without recorded roots serve unconfined

The store is written by other tools and the mount runs as root with
allow_other; a row must not be a way to read any file on the machine.'
. "${0%/*}/lib.sh"
. "$MF_SOURCE/t/lib-mount.sh"

mf_require_fuse
mf_have sox flac metaflac sqlite3 || skip_all 'needs sox, flac, metaflac, sqlite3'
DB=$MF_TRASH/store.db
T='$artist/$album/$title'

# refused MOUNTPOINT FILE: reading FILE of the mount answers EIO.
refused () {
	test_must_fail cat "$1/$2" >/dev/null 2>err &&
	grep "Input/output error" err
}

# set_path TITLE PATH: the row of the track titled TITLE now names PATH.
set_path () {
	sqlite3 "$DB" "UPDATE tracks SET backing_path = '$2' WHERE id = (SELECT track_id FROM tags WHERE key = 'title' AND value = '$1')"
}

mf_test 'a scanned library, and a file outside it whose root is not recorded' '
	outside_lib &&
	sqlite3 "$DB" "DELETE FROM scan_roots WHERE root = '\''$(mf_abs outside)'\''" &&
	test "$(sqlite3 "$DB" "SELECT root FROM scan_roots")" = "$(mf_abs lib)" &&
	test "$(sqlite3 "$DB" "SELECT count(*) FROM tracks")" = 4
'

mf_test 'without --root: files beneath the scanned root are served, the file outside is EIO, counted and logged' '
	mf_mount m --db "$DB" --template "$T" --expose-metrics &&
	cmp m/Art/One/Alpha.flac m/Art/One/Alpha.flac &&
	test -s m/Art/One/Alpha.flac &&
	refused m Art/Out/Secret.flac &&
	test "$(confinement_errors m)" = 1 &&
	grep "secret.flac. is outside every root" "$MF_MOUNT_LOG" &&
	mf_umount m
'

mf_test 'rows naming /etc/passwd and /proc/self/mem are EIO, counted at each open, logged once per track' '
	set_path Gamma /etc/passwd &&
	set_path Beta /proc/self/mem &&
	mf_mount m --db "$DB" --template "$T" --expose-metrics &&
	refused m Art/Two/Gamma.flac &&
	refused m Art/Two/Gamma.flac &&
	refused m Art/One/Beta.flac &&
	test "$(confinement_errors m)" = 3 &&
	test "$(grep -c "/etc/passwd. is outside every root" "$MF_MOUNT_LOG")" = 1 &&
	grep "/proc/self/mem. is outside every root" "$MF_MOUNT_LOG" &&
	cat m/Art/One/Alpha.flac >/dev/null &&
	mf_umount m
'

mf_test '--root /: every file is beneath it, kernel files and /proc/self are still refused' '
	set_path Beta /proc/version &&
	mf_mount m --db "$DB" --template "$T" --root / --expose-metrics &&
	cat m/Art/One/Alpha.flac >/dev/null &&
	refused m Art/One/Beta.flac &&
	grep "/proc/version. is on a kernel pseudo-filesystem" "$MF_MOUNT_LOG" &&
	test "$(confinement_errors m)" = 1 &&
	mf_umount m &&
	set_path Beta /proc/self/mem &&
	mf_mount m --db "$DB" --template "$T" --root / &&
	refused m Art/One/Beta.flac &&
	grep "/proc/self/mem. leads through a symlink" "$MF_MOUNT_LOG" &&
	mf_umount m
'

mf_test 'the same, from a daemonized mount' '
	MF_MOUNT_FORM=daemon && mf_mount m --db "$DB" --template "$T" --expose-metrics; st=$?; MF_MOUNT_FORM= &&
	test $st = 0 &&
	test -s m/Art/One/Alpha.flac &&
	cat m/Art/One/Alpha.flac >/dev/null &&
	refused m Art/Two/Gamma.flac &&
	refused m Art/Out/Secret.flac &&
	test "$(confinement_errors m)" = 2 &&
	mf_umount m
'

mf_test 'a symlink inside the root that leads out is EIO, also with --follow-symlinks' '
	ln -s ../outside lib/link &&
	set_path Secret "$(mf_abs lib)/link/secret.flac" &&
	mf_mount m --db "$DB" --template "$T" --expose-metrics &&
	refused m Art/Out/Secret.flac &&
	test "$(confinement_errors m)" = 1 &&
	grep "secret.flac. leads through a symlink" "$MF_MOUNT_LOG" &&
	mf_umount m &&
	mf_mount m --db "$DB" --template "$T" --expose-metrics --follow-symlinks &&
	refused m Art/Out/Secret.flac &&
	test "$(confinement_errors m)" = 1 &&
	grep "secret.flac. leads out of its root" "$MF_MOUNT_LOG" &&
	mf_umount m
'

mf_test 'a symlink that stays beneath the root: refused by default, served with -o follow_symlinks' '
	ln -s . lib/here &&
	set_path Alpha "$(mf_abs lib)/here/a.flac" &&
	mf_mount m --db "$DB" --template "$T" &&
	refused m Art/One/Alpha.flac &&
	mf_umount m &&
	mf_mount m -o "db=$DB,template=$T,follow_symlinks" &&
	test -s m/Art/One/Alpha.flac &&
	cat m/Art/One/Alpha.flac >/dev/null &&
	mf_umount m &&
	set_path Alpha "$(mf_abs lib)/a.flac"
'

mf_test 'a path with .. that climbs out of the root is EIO' '
	set_path Secret "$(mf_abs lib)/../outside/secret.flac" &&
	mf_mount m --db "$DB" --template "$T" --expose-metrics &&
	refused m Art/Out/Secret.flac &&
	test "$(confinement_errors m)" = 1 &&
	mf_umount m
'

mf_test '--no-confine (and -o no_confine) serves the file outside every root' '
	set_path Secret "$(mf_abs outside)/secret.flac" &&
	mf_mount m --db "$DB" --template "$T" --no-confine &&
	cat m/Art/Out/Secret.flac >secret &&
	cmp secret m/Art/Out/Secret.flac &&
	test -s secret &&
	grep "no-confine" "$MF_MOUNT_LOG" &&
	mf_umount m &&
	mf_mount m -o "db=$DB,template=$T,no_confine" &&
	cat m/Art/Out/Secret.flac >/dev/null &&
	mf_umount m
'

mf_test 'a root scanned while mounted is served at the next open' '
	mf_mount m --db "$DB" --template "$T" &&
	refused m Art/Out/Secret.flac &&
	musefs-scan --db "$DB" outside >/dev/null &&
	test "$(sqlite3 "$DB" "SELECT count(*) FROM tracks")" = 4 &&
	cat m/Art/Out/Secret.flac >/dev/null &&
	mf_umount m
'

mf_test 'a store with no recorded roots (external tools, a 1.x store): a warning at start, served unconfined, kernel files still refused' '
	sqlite3 "$DB" "DELETE FROM scan_roots" &&
	mf_mount m --db "$DB" --template "$T" --expose-metrics &&
	grep "records no scanned roots" "$MF_MOUNT_LOG" &&
	cat m/Art/Out/Secret.flac >/dev/null &&
	refused m Art/One/Beta.flac &&
	grep "/proc/self/mem. is on a kernel pseudo-filesystem" "$MF_MOUNT_LOG" &&
	test "$(confinement_errors m)" = 1 &&
	mf_umount m &&
	sqlite3 "$DB" "DROP TABLE scan_roots" &&
	mf_mount m --db "$DB" --template "$T" &&
	grep "records no scanned roots" "$MF_MOUNT_LOG" &&
	cat m/Art/Out/Secret.flac >/dev/null &&
	mf_umount m
'

mf_test 'a tag value or a picture past the bounds of docs/store.md LIMITS (CHECKs off): EIO for that track only' '
	sqlite3 "$DB" "PRAGMA ignore_check_constraints = 1; INSERT INTO tags (track_id, key, value) SELECT track_id, '\''comment'\'', replace(hex(zeroblob(131073)), '\''0'\'', '\''x'\'') FROM tags WHERE key = '\''title'\'' AND value = '\''Alpha'\''" &&
	mf_mount m --db "$DB" --template "$T" &&
	refused m Art/One/Alpha.flac &&
	grep "track [0-9]*: tag .comment. is past the bounds" "$MF_MOUNT_LOG" &&
	cat m/Art/Out/Secret.flac >/dev/null &&
	mf_umount m &&
	sqlite3 "$DB" "PRAGMA ignore_check_constraints = 1; INSERT INTO art (sha256, mime, byte_len, data) VALUES (printf('\''%064d'\'', 7), '\''image/png'\'', 16711681, zeroblob(16711681)); INSERT INTO track_art (track_id, art_id) SELECT track_id, last_insert_rowid() FROM tags WHERE key = '\''title'\'' AND value = '\''Secret'\''" &&
	mf_mount m --db "$DB" --template "$T" &&
	refused m Art/Out/Secret.flac &&
	mf_umount m
'

test_done
