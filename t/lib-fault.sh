# SPDX-License-Identifier: MIT
# t/lib-fault.sh - helpers for the fault tests (t/62NN-fault-*.t), sourced
# after t/lib.sh (it sources t/lib-mount.sh). $DB is the store.

. "$MF_SOURCE/t/lib-mount.sh"

# fault_require [PROG...]: skip the script without FUSE or without the
# programs every fault test uses (and PROGs); sets $DB.
fault_require () {
	mf_require_fuse
	mf_require_progs sox flac metaflac sqlite3 ffmpeg "$@"
	DB=$MF_TRASH/store.db
}

# fault_sql SQL...: run SQL on the store, waiting out a busy writer.
fault_sql () {
	sqlite3 -batch -cmd '.timeout 10000' "$DB" "$@"
}

# fault_row FILE COLUMN: one column of the tracks row of backing FILE.
fault_row () {
	fault_sql "SELECT $2 FROM tracks WHERE backing_path = '$(mf_abs "${1%/*}")/${1##*/}'"
}

# fault_audio FILE: the audio range the store records for backing FILE.
fault_audio () {
	fault_o_=$(fault_row "$1" audio_offset) &&
	fault_l_=$(fault_row "$1" audio_length) &&
	test -n "$fault_o_" && test -n "$fault_l_" &&
	tail -c +$((fault_o_ + 1)) "$1" | head -c "$fault_l_"
}

# fault_served_audio SERVED FILE: the last audio_length bytes of the
# served file SERVED, whose backing file is FILE.
fault_served_audio () {
	tail -c "$(fault_row "$2" audio_length)" "$1"
}

# fault_same_audio SERVED FILE: the served file carries exactly the audio
# range of FILE, and decodes to the same samples.
fault_same_audio () {
	fault_audio "$2" >.fa.want && fault_served_audio "$1" "$2" >.fa.got &&
	cmp .fa.want .fa.got &&
	test "$(fault_md5 "$1")" = "$(fault_md5 "$2")"
}

# fault_md5 FILE: the md5 of FILE's decoded audio.
fault_md5 () {
	ffmpeg -nostdin -v error -i "$1" -map 0:a -f md5 - 2>/dev/null
}

# fault_drop_caches: so the next read reaches the daemon.
fault_drop_caches () {
	sync && echo 3 >/proc/sys/vm/drop_caches
}

# fault_eio CMD...: CMD fails with "Input/output error" and writes no byte.
fault_eio () {
	: >.fe.out &&
	test_must_fail "$@" >.fe.out 2>.fe.err &&
	grep -i "input/output error" .fe.err >/dev/null &&
	test ! -s .fe.out
}
