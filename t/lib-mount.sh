# SPDX-License-Identifier: MIT
# t/lib-mount.sh - helpers for the musefs-mount tests (t/6NNN-*.t), sourced
# after t/lib.sh.

# mount_lib DIR: three tagged FLAC files under DIR (two albums), scanned
# into $DB.
mount_lib () {
	mkdir -p "$1" &&
	mf_make_flac "$1/a.flac" 1 440 &&
	mf_make_flac "$1/b.flac" 1 550 &&
	mf_make_flac "$1/c.flac" 1 660 &&
	metaflac --set-tag=ARTIST=Art --set-tag=ALBUM=One --set-tag=TITLE=Alpha "$1/a.flac" &&
	metaflac --set-tag=ARTIST=Art --set-tag=ALBUM=One --set-tag=TITLE=Beta "$1/b.flac" &&
	metaflac --set-tag=ARTIST=Art --set-tag=ALBUM=Two --set-tag=TITLE=Gamma "$1/c.flac" &&
	musefs-scan --db "$DB" "$1" >/dev/null
}

# track_of FILE: the store id of backing file FILE (relative to the trash).
track_of () {
	sqlite3 "$DB" "SELECT id FROM tracks WHERE backing_path = '$(cd "${1%/*}" && pwd -P)/${1##*/}'"
}

# set_tag ID KEY VALUE: replace a tag in the store (as a tagger would).
set_tag () {
	sqlite3 "$DB" "UPDATE tags SET value = '$3' WHERE track_id = $1 AND key = '$2'"
}

# ino PATH: inode number.
ino () {
	stat -c %i "$1"
}

# mount_exists / mount_gone PATH: for mf_wait_until.
mount_exists () {
	test -e "$1"
}
mount_gone () {
	! test -e "$1"
}
