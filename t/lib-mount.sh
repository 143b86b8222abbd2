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

# outside_lib: mount_lib lib, and outside/secret.flac (Art/Out/Secret) in
# its own scanned root outside it.
outside_lib () {
	mount_lib lib &&
	mkdir outside &&
	mf_make_flac outside/secret.flac 1 770 &&
	metaflac --set-tag=ARTIST=Art --set-tag=ALBUM=Out --set-tag=TITLE=Secret outside/secret.flac &&
	musefs-scan --db "$DB" outside >/dev/null
}

# confinement_errors MOUNTPOINT: the mount's confinement error count (the
# mount needs --expose-metrics).
confinement_errors () {
	metrics_of "$1" metrics.txt &&
	metric metrics.txt 'musefs_mount_read_errors_total{cause="confinement"}'
}

# track_of FILE: the store id of backing file FILE (relative to the trash).
track_of () {
	sqlite3 "$DB" "SELECT id FROM tracks WHERE backing_path = '$(cd "${1%/*}" && pwd -P)/${1##*/}'"
}

# set_tag ID KEY VALUE: replace a tag in the store (as a tagger would).
set_tag () {
	sqlite3 -cmd '.timeout 10000' "$DB" "UPDATE tags SET value = '$3' WHERE track_id = $1 AND key = '$2'"
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

# metric FILE SERIES: one sample of a Prometheus text file (exact series).
metric () {
	awk -v s="$2" 'index($0, s " ") == 1 { print substr($0, length(s) + 2); found = 1 }
		END { exit !found }' "$1"
}

# metrics_of MOUNTPOINT FILE: snapshot of the mount's metrics file
# (the mount needs --expose-metrics).
metrics_of () {
	cat "$1/.musefs-metrics/metrics" >"$2"
}

# mp3_lib DIR: two tagged MP3 files (ID3v2.4 from mid3v2) under DIR,
# scanned into $DB.
mp3_lib () {
	mkdir -p "$1" &&
	sox -D -n -r 44100 -c 2 -b 16 "$1/.w.wav" synth 1 sine 440 &&
	lame --quiet -b 128 "$1/.w.wav" "$1/one.mp3" &&
	lame --quiet -b 96 "$1/.w.wav" "$1/two.mp3" &&
	rm -f "$1/.w.wav" &&
	mid3v2 -a "Mp Artist" -A "Mp Album" -t "Uno" -T 1 "$1/one.mp3" >/dev/null &&
	mid3v2 -a "Mp Artist" -A "Mp Album" -t "Dos" -T 2 "$1/two.mp3" >/dev/null &&
	musefs-scan --db "$DB" "$1" >/dev/null
}

# In a private mount namespace where /usr/local/bin (on the PATH that
# mount(8) gives its helpers) holds musefs-mount, run script $1 with sh.
in_mount_ns () {
	mkdir -p nsbin &&
	ln -sf "$(command -v musefs-mount)" nsbin/musefs-mount &&
	unshare -m --propagation private sh -c \
		'mount --bind "$1/nsbin" /usr/local/bin && exec sh -ex "$2"' \
		sh "$PWD" "$1"
}
