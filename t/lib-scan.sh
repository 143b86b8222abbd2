# SPDX-License-Identifier: MIT
# t/lib-scan.sh - helpers for the musefs-scan end-to-end tests (t/4NNN-*.t).
# Source after t/lib.sh.

SCAN_DB=$MUSEFS_DB

# scan_sql SQL...: run SQL on the store (waiting out a busy writer).
scan_sql () {
	sqlite3 -batch -cmd '.timeout 5000' "$SCAN_DB" "$@"
}

# scan_sql_str STRING: STRING as an SQL string literal.
scan_sql_str () {
	printf "'%s'" "$(printf '%s' "$1" | sed "s/'/''/g")"
}

# scan_base_flac OUT SECONDS FREQ: one encoded FLAC, cached per
# (SECONDS, FREQ) in the trash so copies are cheap.
scan_base_flac () {
	scan_b_=$MF_TRASH/.base-$2-$3.flac
	if ! test -f "$scan_b_"
	then
		mf_make_flac "$scan_b_" "$2" "$3" || return 1
	fi
	cp "$scan_b_" "$1"
}

# scan_make OUT FREQ TITLE [METAFLAC-ARG...]: a 0.3 s FLAC of sine FREQ
# (distinct FREQ = distinct audio) tagged TITLE, ARTIST=Artist,
# ALBUM=Album, plus any extra metaflac arguments.
scan_make () {
	scan_out_=$1 scan_freq_=$2 scan_title_=$3 &&
	shift 3 &&
	mkdir -p "$(dirname "$scan_out_")" &&
	scan_base_flac "$scan_out_" 0.3 "$scan_freq_" &&
	metaflac --no-utf8-convert --remove-all-tags \
		--set-tag="TITLE=$scan_title_" --set-tag=ARTIST=Artist \
		--set-tag=ALBUM=Album "$@" "$scan_out_"
}

# scan_field FILE NAME: the value of NAME in a key=value summary line.
scan_field () {
	tr ' ' '\n' <"$1" | sed -n "s/^$2=//p"
}

# scan_expect FILE "new=1 changed=0 ...": every NAME=VALUE must hold
# (moved= and pruned=, printed only when non-zero or with --prune, are 0
# when absent).
scan_expect () {
	scan_f_=$1
	shift
	for scan_kv_ in $*
	do
		scan_got_=$(scan_field "$scan_f_" "${scan_kv_%%=*}")
		case ${scan_kv_%%=*},$scan_got_ in
		moved,|pruned,) scan_got_=0 ;;
		esac
		if test "$scan_got_" != "${scan_kv_#*=}"
		then
			echo >&2 "scan summary: ${scan_kv_%%=*}=$scan_got_, want ${scan_kv_#*=}:"
			cat >&2 "$scan_f_"
			return 1
		fi
	done
}

# scan_track_id PATH: the tracks.id of the file at PATH (made absolute).
scan_track_id () {
	scan_sql "SELECT id FROM tracks WHERE backing_path = $(scan_sql_str "$(mf_abs "$(dirname "$1")")/$(basename "$1")")"
}

# scan_tag ID KEY: the values of KEY of track ID, one per line.
scan_tag () {
	scan_sql "SELECT value FROM tags WHERE track_id = $1 AND key = '$2' ORDER BY ordinal"
}

# scan_store_sound: the store passes integrity_check and foreign_key_check
# and holds one row per backing path. Leaves the track count in $stored.
scan_store_sound () {
	test "$(scan_sql "PRAGMA integrity_check")" = ok &&
	test -z "$(scan_sql "PRAGMA foreign_key_check")" &&
	stored=$(scan_sql "SELECT count(*) FROM tracks") &&
	test "$(scan_sql "SELECT count(DISTINCT backing_path) FROM tracks")" = "$stored"
}
