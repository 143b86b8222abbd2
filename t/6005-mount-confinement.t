#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='musefs-mount --root: only backing files under the given roots (in place of the scanned roots) are served, never through a symlink; a row naming a FIFO or a directory answers EIO without hanging

The store is writable by other tools; a mount that runs as root with
--allow-other must not become a way to read files outside the library.'
. "${0%/*}/lib.sh"
. "$MF_SOURCE/t/lib-mount.sh"

mf_require_fuse
mf_have sox flac metaflac sqlite3 timeout || skip_all 'needs sox, flac, metaflac, sqlite3, timeout'
DB=$MF_TRASH/store.db
T='$artist/$album/$title'

mf_test 'a library and a file outside it, both in the store' '
	outside_lib &&
	test "$(sqlite3 "$DB" "SELECT count(*) FROM tracks")" = 4
'

mf_test 'without --root every row under a scanned root is served' '
	mf_mount m --db "$DB" --template "$T" &&
	cmp m/Art/Out/Secret.flac m/Art/Out/Secret.flac &&
	cat m/Art/Out/Secret.flac >/dev/null &&
	mf_umount m
'

mf_test '--root lib: files under it are served, the file outside answers EIO and is counted' '
	mf_mount m --db "$DB" --template "$T" --root lib --expose-metrics &&
	cat m/Art/One/Alpha.flac >alpha &&
	test -s alpha &&
	test_must_fail cat m/Art/Out/Secret.flac 2>err &&
	grep "Input/output error" err &&
	test "$(confinement_errors m)" = 1 &&
	grep "secret.flac. is outside every root" "$MF_MOUNT_LOG" &&
	mf_umount m
'

mf_test '--root also as -o root=DIR; a prefix of a directory name is not inside it' '
	mkdir lib2 &&
	mf_mount m -o "db=$DB,template=$T,root=$(mf_abs lib)2" &&
	test_must_fail cat m/Art/One/Alpha.flac 2>err &&
	grep "Input/output error" err &&
	mf_umount m
'

mf_test 'a row whose path leads through a symlink inside the root is refused' '
	ln -s ../outside lib/link &&
	id=$(track_of outside/secret.flac) &&
	sqlite3 "$DB" "UPDATE tracks SET backing_path = '\''$(mf_abs lib)/link/secret.flac'\'' WHERE id = $id" &&
	mf_mount m --db "$DB" --template "$T" --root lib --expose-metrics &&
	test_must_fail cat m/Art/Out/Secret.flac 2>err &&
	grep "Input/output error" err &&
	test "$(confinement_errors m)" = 1 &&
	grep "through a symlink" "$MF_MOUNT_LOG" &&
	mf_umount m &&
	mf_mount m --db "$DB" --template "$T" --no-confine &&
	cat m/Art/Out/Secret.flac >/dev/null &&
	mf_umount m
'

mf_test 'a row naming a FIFO or a directory answers EIO at once, with or without --root' '
	mkfifo lib/fifo.flac &&
	id=$(track_of lib/c.flac) &&
	sqlite3 "$DB" "UPDATE tracks SET backing_path = '\''$(mf_abs lib)/fifo.flac'\'', backing_size = 0, audio_offset = 0, audio_length = 0 WHERE id = $id" &&
	mf_mount m --db "$DB" --template "$T" &&
	test_must_fail timeout 10 cat m/Art/Two/Gamma.flac 2>err &&
	grep "Input/output error" err &&
	mf_umount m &&
	mf_mount m --db "$DB" --template "$T" --root lib &&
	test_must_fail timeout 10 cat m/Art/Two/Gamma.flac 2>err &&
	grep "Input/output error" err &&
	mf_umount m &&
	sqlite3 "$DB" "UPDATE tracks SET backing_path = '\''$(mf_abs lib)'\'' WHERE id = $id" &&
	mf_mount m --db "$DB" --template "$T" &&
	test_must_fail timeout 10 cat m/Art/Two/Gamma.flac 2>err &&
	grep "Input/output error" err &&
	mf_umount m
'

mf_test 'a --root that does not exist is refused with a message naming the option' '
	mkdir mp &&
	test_expect_code 2 musefs-mount --db "$DB" --root nowhere mp 2>err &&
	grep "option .root.: .nowhere." err &&
	! mf_is_mounted mp
'

test_done
