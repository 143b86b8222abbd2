# SPDX-License-Identifier: MIT
# Shared helpers for the per-format end-to-end tests: the three independent
# readers (mutagen, ffprobe, TagLib) and checks on served files. Source after
# t/lib.sh.

MF_PY=/usr/bin/python3
MF_MUTAGEN_DUMP="$MF_SOURCE/t/helper/mutagen_dump.py"
MF_TAGLIB_DUMP="$MF_BUILD/t/taglib_dump"

# mf_dump_mutagen FILE: every tag and picture mutagen reads (see the
# script's header for the line format), sorted; fails if unreadable.
mf_dump_mutagen () {
	"$MF_PY" "$MF_MUTAGEN_DUMP" "$1"
}

# mf_dump_taglib FILE: TagLib C API fields and audio properties.
mf_dump_taglib () {
	"$MF_TAGLIB_DUMP" "$1"
}

# mf_dump_ffprobe FILE: format and stream tags as lowercased key=value,
# sorted and unique (Ogg comments are stream tags in ffprobe).
mf_dump_ffprobe () {
	_out=$(ffprobe -v error -show_entries format_tags:stream_tags \
		-of default=noprint_wrappers=1 "$1" 2>&1) ||
		{ printf '%s\n' "$_out" >&2; return 1; }
	printf '%s\n' "$_out" | sed -e 's/^TAG://' |
		awk -F= 'NF { k = tolower($1); sub(/^[^=]*=/, ""); print k "=" $0 }' |
		LC_ALL=C sort -u
}

# mf_ffprobe_attached_pics FILE: number of attached-picture streams.
mf_ffprobe_attached_pics () {
	ffprobe -v error -show_entries stream_disposition=attached_pic \
		-of csv=p=0 "$1" | grep -c '^1' || true
}

# mf_decode_clean FILE: ffmpeg decodes FILE without printing anything.
mf_decode_clean () {
	out=$(ffmpeg -nostdin -v error -i "$1" -f null - 2>&1) || {
		echo "ffmpeg failed on $1: $out" >&2; return 1; }
	test -z "$out" || { echo "ffmpeg complains on $1: $out" >&2; return 1; }
}

# mf_check_random_reads FILE [COUNT]: COUNT (default 200) reads at random
# offsets and lengths (1 byte .. 256 KiB, some crossing the end) equal the
# same slice of the whole file read sequentially, and stat's size equals
# the number of bytes read. Deterministic seed.
mf_check_random_reads () {
	"$MF_PY" - "$1" "${2:-200}" <<'PY'
import os, random, sys
path, count = sys.argv[1], int(sys.argv[2])
with open(path, "rb") as f:
    whole = f.read()
size = os.stat(path).st_size
if size != len(whole):
    sys.exit("stat size %d != %d bytes read" % (size, len(whole)))
rng = random.Random(42)
fd = os.open(path, os.O_RDONLY)
try:
    for i in range(count):
        off = rng.randrange(0, size + 16) if size else 0
        n = rng.choice([1, 2, 3, 17, 4096, 65536, 131072, 262144, rng.randrange(1, 300000)])
        got = os.pread(fd, n, off)
        if got != whole[off:off + n]:
            sys.exit("pread(%d, %d) differs from the sequential read" % (off, n))
finally:
    os.close(fd)
PY
}

# mf_store_tags DB TRACK_ID: the store's text tags as key=value, sorted.
mf_store_tags () {
	sqlite3 "$1" "SELECT key || '=' || replace(value, char(10), '\\n')
		FROM tags WHERE track_id = $2 AND value_blob IS NULL
		ORDER BY key, ordinal" | LC_ALL=C sort
}

# mf_store_art DB TRACK_ID: picture_type|mime|description|sha256 per linked
# picture, in ordinal order.
mf_store_art () {
	sqlite3 "$1" "SELECT ta.picture_type || '|' || a.mime || '|' ||
		ta.description || '|' || a.sha256 FROM track_art ta
		JOIN art a ON a.id = ta.art_id WHERE ta.track_id = $2
		ORDER BY ta.ordinal"
}

# mf_track_id DB BACKING_PATH: the track id of a backing file.
mf_track_id () {
	sqlite3 "$1" "SELECT id FROM tracks WHERE backing_path = '$(printf %s "$2" | sed "s/'/''/g")'"
}

# mf_insert_art DB TRACK_ID IMAGE TYPE [DESC]: link a new picture (art row
# deduplicated by sha256) as the track's last picture.
mf_insert_art () {
	_sha=$(sha256sum "$3" | cut -d' ' -f1)
	_mime=$(file -b --mime-type "$3")
	sqlite3 "$1" "INSERT OR IGNORE INTO art (sha256, mime, width, height, byte_len, data)
		VALUES ('$_sha', '$_mime', 0, 0, $(stat -c %s "$3"), readfile('$3'));
		INSERT INTO track_art (track_id, ordinal, art_id, picture_type, description)
		SELECT $2, coalesce((SELECT max(ordinal) + 1 FROM track_art WHERE track_id = $2), 0),
		id, $4, '${5:-}' FROM art WHERE sha256 = '$_sha';"
}
