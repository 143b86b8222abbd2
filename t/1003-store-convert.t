#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='a store in the shape of earlier musefs builds is converted to the 1.x shape in place

A store with the core tables of earlier builds (t/fixtures/schema-old.sql:
structural_blocks (track_id, kind, data) with lower-case kinds, NOT NULL
art dimensions, lowercase-only keys) is filled with the rows musefs-scan
wrote for real FLAC and Ogg files. Opening it read-write converts it in
one transaction: a snapshot is left beside it, one notice line is
printed, user_version stays 2, every row is kept (ids, versions, the
AUTOINCREMENT counter), and the mount serves exactly the bytes it served
from a store created in the new shape.'

. "${0%/*}/lib.sh"

mf_require_fuse
mf_require_progs sox flac metaflac oggenc ffmpeg sqlite3 cmp
PY=/usr/bin/python3
test -x "$PY" || skip_all 'missing /usr/bin/python3'

NEW=$MF_TRASH/new.db
OLD=$MF_TRASH/old.db

# Every served file under mountpoint $1 as "path sha256", sorted.
served_sums () {
	(cd "$1" && find . -type f | LC_ALL=C sort | while read -r f; do
		printf '%s %s\n' "$f" "$(sha256sum <"$f" | cut -d" " -f1)"
	done)
}

# Build $OLD in the previous shape with the rows of $NEW (versions + 1,
# so that keeping them is visible).
make_old () {
	"$PY" - "$NEW" "$OLD" "$MF_SOURCE/t/fixtures/schema-old.sql" <<'PYEOF'
import sqlite3, sys
new, old, ddl = sys.argv[1:]
o = sqlite3.connect(old)
o.executescript(open(ddl).read())
o.execute("ATTACH ? AS n", (new,))
# the extension tables, as the scanner created them
for (sql,) in o.execute("SELECT sql FROM n.sqlite_schema WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' AND tbl_name IN ('track_props', 'scan_runs', 'scan_failures', 'art_props', 'mount_heartbeats', 'format_blocks', 'scan_roots', 'musefs_meta') ORDER BY type = 'trigger'").fetchall():
    o.execute(sql)
o.executescript("""
PRAGMA foreign_keys = OFF;
INSERT INTO tracks (id, backing_path, format, audio_offset, audio_length, backing_size, backing_mtime_ns, backing_ctime_ns, content_version, updated_at, fingerprint, content_hash)
  SELECT id, backing_path, format, audio_offset, audio_length, backing_size, backing_mtime_ns, backing_ctime_ns, content_version + 1, updated_at, fingerprint, content_hash FROM n.tracks;
UPDATE sqlite_sequence SET seq = (SELECT seq FROM n.sqlite_sequence WHERE name = 'tracks') WHERE name = 'tracks';
INSERT INTO tags (track_id, key, ordinal, value, value_blob) SELECT track_id, key, ordinal, value, value_blob FROM n.tags;
INSERT INTO art (id, sha256, mime, width, height, byte_len, data) SELECT id, sha256, mime, coalesce(width, 0), coalesce(height, 0), byte_len, data FROM n.art;
INSERT INTO track_art (track_id, ordinal, art_id, picture_type, description) SELECT track_id, ordinal, art_id, picture_type, description FROM n.track_art;
INSERT INTO structural_blocks (track_id, kind, data) SELECT track_id, lower(kind), body FROM n.structural_blocks;
""")
for t in ('track_props', 'art_props', 'format_blocks', 'musefs_meta', 'scan_roots', 'scan_runs'):
    o.execute(f"INSERT INTO {t} SELECT * FROM n.{t}")
o.commit()
PYEOF
}

mf_test 'set up: a library scanned into a new store, then copied into the old shape' '
	mkdir -p lib &&
	sox -D -n -r 44100 -c 2 -b 16 tone.wav synth 2 sine 330 &&
	mf_make_jpeg cover.jpg 32x24 blue &&
	flac -s -f -o lib/a.flac tone.wav &&
	metaflac --set-tag=TITLE=A --set-tag=ARTIST=X --set-tag=ALBUM=Y \
		--import-picture-from="3||front||cover.jpg" lib/a.flac &&
	flac -s -f -o lib/b.flac tone.wav &&
	metaflac --set-tag=TITLE=B --set-tag=ARTIST=X --set-tag=ALBUM=Y lib/b.flac &&
	oggenc -Q -t C -a X -l Y -o lib/c.ogg tone.wav &&
	flac -s -f -o lib/gone.flac tone.wav &&
	metaflac --set-tag=TITLE=Gone lib/gone.flac &&
	musefs-scan --db "$NEW" lib >out &&
	rm lib/gone.flac &&
	musefs-scan --db "$NEW" --prune --force lib >out &&
	test "$(sqlite3 "$NEW" "SELECT count(*) FROM tracks")" = 3 &&
	make_old &&
	test "$(sqlite3 "$OLD" "SELECT count(*) FROM pragma_table_info(\"structural_blocks\") WHERE name = \"data\"")" = 1 &&
	test "$(sqlite3 "$OLD" "SELECT seq FROM sqlite_sequence WHERE name = \"tracks\"")" = 4 &&
	sqlite3 "$OLD" "SELECT id, content_version FROM tracks ORDER BY id" >versions.before &&
	sqlite3 "$OLD" "SELECT track_id, key, ordinal, value FROM tags ORDER BY 1, 2, 3" >tags.before
'

mf_test 'the new store serves: the reference bytes' '
	mf_mount ref --db "$NEW" &&
	served_sums ref >sums.new &&
	mf_umount ref &&
	test "$(wc -l <sums.new)" = 3
'

mf_test 'a mount that only reads serves the old shape as it is' '
	mf_mount ro --db "$OLD" --heartbeat-s 0 &&
	served_sums ro >sums.ro &&
	mf_umount ro &&
	test_cmp sums.new sums.ro &&
	test "$(sqlite3 "$OLD" "SELECT count(*) FROM pragma_table_info(\"structural_blocks\") WHERE name = \"data\"")" = 1
'

mf_test 'opening it read-write converts it: snapshot, one notice, rows kept' '
	musefs-scan --db "$OLD" lib >out 2>err &&
	test "$(grep -c "converted .* to the musefs 1.x shape" err)" = 1 &&
	snap=$(ls "$OLD".pre-1x-*) && test -f "$snap" &&
	test "$(sqlite3 "$snap" "SELECT count(*) FROM pragma_table_info(\"structural_blocks\") WHERE name = \"data\"")" = 1 &&
	test "$(sqlite3 "$OLD" "PRAGMA user_version")" = 2 &&
	test "$(sqlite3 "$OLD" "PRAGMA integrity_check")" = ok &&
	test "$(sqlite3 "$OLD" "PRAGMA foreign_key_check")" = "" &&
	test "$(sqlite3 "$OLD" "SELECT group_concat(kind) FROM (SELECT DISTINCT kind FROM structural_blocks ORDER BY 1)")" = "SEEKTABLE,STREAMINFO" &&
	test "$(sqlite3 "$OLD" "SELECT count(*) FROM art WHERE width = 32 AND height = 24")" = 1 &&
	test "$(sqlite3 "$OLD" "SELECT seq FROM sqlite_sequence WHERE name = \"tracks\"")" = 4 &&
	sqlite3 "$OLD" "SELECT id, content_version FROM tracks ORDER BY id" >versions.after &&
	test_cmp versions.before versions.after &&
	sqlite3 "$OLD" "SELECT track_id, key, ordinal, value FROM tags ORDER BY 1, 2, 3" >tags.after &&
	test_cmp tags.before tags.after &&
	sqlite3 "$OLD" "SELECT sql FROM sqlite_schema WHERE name IN (\"tracks\", \"tags\", \"art\", \"track_art\", \"structural_blocks\") ORDER BY name" >ddl.old &&
	sqlite3 "$NEW" "SELECT sql FROM sqlite_schema WHERE name IN (\"tracks\", \"tags\", \"art\", \"track_art\", \"structural_blocks\") ORDER BY name" >ddl.new &&
	sed -e "s/^CREATE TABLE \"\\([a-z_]*\\)\"/CREATE TABLE \\1/" -e "s/_new (/ (/" ddl.old >ddl.old.norm &&
	test_cmp ddl.new ddl.old.norm &&
	sqlite3 "$OLD" "SELECT name FROM sqlite_schema WHERE type IN (\"trigger\", \"index\") AND name NOT LIKE \"sqlite_%\" ORDER BY 1" >objs.old &&
	sqlite3 "$NEW" "SELECT name FROM sqlite_schema WHERE type IN (\"trigger\", \"index\") AND name NOT LIKE \"sqlite_%\" ORDER BY 1" >objs.new &&
	test_cmp objs.new objs.old &&
	musefs-scan --db "$OLD" lib >out2 2>err2 &&
	! grep converted err2 &&
	test "$(ls "$OLD".pre-1x-* | wc -l)" = 1
'

mf_test 'the converted store serves the same bytes; a new track gets a fresh id' '
	mf_mount mnt --db "$OLD" &&
	served_sums mnt >sums.old &&
	mf_umount mnt &&
	test_cmp sums.new sums.old &&
	flac -s -f -o lib/d.flac tone.wav &&
	musefs-scan --db "$OLD" lib >out &&
	test "$(sqlite3 "$OLD" "SELECT max(id) FROM tracks")" = 5
'

test_done
