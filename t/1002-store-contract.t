#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='the 1.x writer contract: what python-musefs does to a store, musefs serves

A store made by musefs-scan from real FLAC, MP3 and Ogg Vorbis files is
edited with exactly the SQL of python-musefs (musefs_common/store.py, the
library the beets, Picard and Lidarr plugins share): upsert_art (NULL
width and height, ON CONFLICT DO NOTHING) and replace_track_art,
replace_tags, merge_tags with case-variant keys (its case-folded delete),
delete_tracks (cascade) and prune_missing. Then the mount serves those
tags and that art (mutagen reads them; a FLAC PICTURE and an Ogg
METADATA_BLOCK_PICTURE carry the width and height read from the image)
and the audio is the original.'

. "${0%/*}/lib.sh"
. "$MF_SOURCE/t/lib-fmt.sh"

mf_require_fuse
mf_require_progs sox flac lame oggenc ffmpeg sqlite3
test -x "$MF_PY" || skip_all 'missing /usr/bin/python3'

DB=$MF_TRASH/store.db

sql () {
	sqlite3 -batch -cmd '.timeout 5000' "$DB" "$@"
}

# The writer: python-musefs's store functions, their SQL verbatim, run on
# a connection set up as its connect() does. $1 = operation, then args.
writer () {
	"$MF_PY" - "$DB" "$@" <<'PY'
import hashlib, os, sqlite3, sys

db, op, args = sys.argv[1], sys.argv[2], sys.argv[3:]
conn = sqlite3.connect(db, isolation_level=None)
conn.execute("PRAGMA busy_timeout = 5000")
conn.execute("PRAGMA foreign_keys = ON")

def savepoint(name, body):
    conn.execute("BEGIN")
    conn.execute(f"SAVEPOINT {name}")
    try:
        body()
    except BaseException:
        conn.execute(f"ROLLBACK TO {name}")
        conn.execute(f"RELEASE {name}")
        conn.execute("ROLLBACK")
        raise
    conn.execute(f"RELEASE {name}")
    conn.execute("COMMIT")

def track_id(path):
    return conn.execute("SELECT id FROM tracks WHERE backing_path = ?",
                        (path,)).fetchone()[0]

def upsert_art(data, mime):
    sha = hashlib.sha256(data).hexdigest()
    conn.execute(
        "INSERT INTO art (sha256, mime, width, height, byte_len, data) "
        "VALUES (?, ?, NULL, NULL, ?, ?) ON CONFLICT(sha256) DO NOTHING",
        (sha, mime, len(data), data))
    return conn.execute("SELECT id FROM art WHERE sha256 = ?", (sha,)).fetchone()[0]

def replace_track_art(tid, arts):
    def body():
        conn.execute("DELETE FROM track_art WHERE track_id = ?", (tid,))
        conn.executemany(
            "INSERT INTO track_art (track_id, art_id, picture_type, description, "
            "ordinal) VALUES (?, ?, ?, ?, ?)",
            [(tid, a, t, d, i) for i, (a, t, d) in enumerate(arts)])
    savepoint("musefs_replace_track_art", body)

def replace_tags(tid, pairs):
    def body():
        conn.execute("DELETE FROM tags WHERE track_id = ? AND value_blob IS NULL", (tid,))
        ordinals, rows = {}, []
        for k, v in pairs:
            o = ordinals.get(k, 0)
            ordinals[k] = o + 1
            rows.append((tid, k, v, o))
        conn.executemany(
            "INSERT INTO tags (track_id, key, value, ordinal) VALUES (?, ?, ?, ?)", rows)
    savepoint("musefs_replace_tags", body)

def merge_tags(tid, managed, delete_keys):
    def body():
        by_key = {}
        for k, v in managed:
            by_key.setdefault(k, []).append(v)
        for k in set(by_key) | set(delete_keys):
            conn.execute(
                "DELETE FROM tags WHERE track_id = ? AND lower(key) = lower(?) "
                "AND value_blob IS NULL", (tid, k))
        conn.executemany(
            "INSERT INTO tags (track_id, key, value, ordinal) VALUES (?, ?, ?, ?)",
            [(tid, k, v, o) for k, vs in by_key.items() for o, v in enumerate(vs)])
    savepoint("musefs_merge_tags", body)

def delete_tracks(ids):
    n = 0
    for i in ids:
        n += conn.execute("DELETE FROM tracks WHERE id = ?", (i,)).rowcount
    return n

def prune_missing():
    gone = [(tid,) for tid, path in conn.execute("SELECT id, backing_path FROM tracks")
            if not os.path.exists(path)]
    conn.executemany("DELETE FROM tracks WHERE id = ?", gone)
    return len(gone)

if op == "art":		# art PATH IMAGE: upsert twice (the second is a no-op), link
    path, image = args
    data = open(image, "rb").read()
    a = upsert_art(data, "image/jpeg")
    assert upsert_art(data, "image/jpeg") == a
    replace_track_art(track_id(path), [(a, 3, "cover")])
elif op == "replace":	# replace PATH KEY=VALUE...
    replace_tags(track_id(args[0]), [kv.split("=", 1) for kv in args[1:]])
elif op == "merge":	# merge PATH DELETE_KEY KEY=VALUE...
    merge_tags(track_id(args[0]), [kv.split("=", 1) for kv in args[2:]], [args[1]])
elif op == "delete":	# delete PATH
    print(delete_tracks([track_id(args[0])]))
elif op == "prune":
    print(prune_missing())
PY
}

# The served file of library file $1 (the only file under mnt/*/$2*).
served () {
	ls mnt/*/*/"$1".* 2>/dev/null | head -n 1
}

# Picture width, height and depth mutagen reads from FILE (FLAC PICTURE or
# the Ogg METADATA_BLOCK_PICTURE comment).
pic_size () {
	"$MF_PY" - "$1" <<'PY'
import base64, sys, mutagen
from mutagen.flac import Picture
f = mutagen.File(sys.argv[1])
if hasattr(f, "pictures") and f.pictures:
    p = f.pictures[0]
else:
    p = Picture(base64.b64decode(f["metadata_block_picture"][0]))
print("%dx%d depth=%d type=%d desc=%s" % (p.width, p.height, p.depth, p.type, p.desc))
PY
}

mf_test 'set up: FLAC, MP3 and Ogg Vorbis files, scanned' '
	mkdir -p lib &&
	sox -D -n -r 44100 -c 2 -b 16 tone.wav synth 2 sine 440 &&
	flac -s -f -o lib/one.flac tone.wav &&
	metaflac --set-tag=TITLE=One --set-tag=ARTIST=A --set-tag=ALBUM=Al \
		--set-tag=LABEL=Scanned --set-tag=COMMENT=scan lib/one.flac &&
	lame --quiet --tt Two --ta A --tl Al tone.wav lib/two.mp3 &&
	oggenc -Q -t Three -a A -l Al -c LABEL=Scanned -o lib/three.ogg tone.wav &&
	lame --quiet --tt Four --ta A --tl Al tone.wav lib/four.mp3 &&
	cp lib/three.ogg lib/five.ogg &&
	mf_make_jpeg cover.jpg 40x30 red &&
	# the same image behind 120 KB of comment segments: its SOF0 lies past
	# the first 64 KiB the mount reads for a size
	"$MF_PY" -c "
d = open(\"cover.jpg\", \"rb\").read()
com = b\"\\xff\\xfe\" + (60002).to_bytes(2, \"big\") + b\"c\" * 60000
open(\"big.jpg\", \"wb\").write(d[:2] + com + com + d[2:])
" &&
	test "$(stat -c %s big.jpg)" -gt 120000 &&
	musefs-scan --db "$DB" lib >out &&
	test "$(sql "SELECT count(*) FROM tracks")" = 5
'

P1=$(mf_abs lib)/one.flac
P2=$(mf_abs lib)/two.mp3
P3=$(mf_abs lib)/three.ogg
P4=$(mf_abs lib)/four.mp3
P5=$(mf_abs lib)/five.ogg

mf_test 'upsert_art with NULL dimensions is stored and linked' '
	writer art "$P1" big.jpg &&
	writer art "$P2" cover.jpg &&
	writer art "$P3" cover.jpg &&
	test "$(sql "SELECT count(*) FROM art WHERE width IS NULL AND height IS NULL")" = 2 &&
	test "$(sql "SELECT count(*) FROM track_art ta JOIN art a ON a.id = ta.art_id WHERE a.width IS NULL")" = 3
'

mf_test 'replace_tags and merge_tags with case-variant keys' '
	writer replace "$P2" title=Two2 artist=B artist=C album=Al &&
	writer merge "$P1" comment LABEL=Writer Title=One2 &&
	writer merge "$P3" COMMENT label=Writer &&
	test "$(sql "SELECT count(*) FROM tags t JOIN tracks r ON r.id = t.track_id WHERE r.backing_path = '"'$P1'"' AND lower(key) = '"'label'"'")" = 1 &&
	id2=$(mf_track_id "$DB" "$P2") &&
	sql "INSERT INTO tags (track_id, key, value) VALUES ($id2, '"'GENRE'"', '"'Scanned'"'), ($id2, '"'genre'"', '"'Writer'"'), ($id2, '"'Mood'"', '"'Calm'"'), ($id2, '"'MOOD'"', '"'Loud'"')"
'

mf_test 'delete_tracks cascades; prune_missing drops a vanished file' '
	id4=$(mf_track_id "$DB" "$P4") &&
	test "$(writer delete "$P4")" = 1 &&
	test "$(sql "SELECT count(*) FROM tags WHERE track_id = $id4")" = 0 &&
	rm lib/five.ogg &&
	test "$(writer prune)" = 1 &&
	test "$(sql "SELECT count(*) FROM tracks")" = 3 &&
	test "$(sql "PRAGMA foreign_key_check")" = ""
'

mf_test 'the mount serves the writer tags and art' '
	id1=$(mf_track_id "$DB" "$P1") && id2=$(mf_track_id "$DB" "$P2") &&
	sql "INSERT INTO tags (track_id, key, value) VALUES ($id1, '"'my=key'"', '"'v'"'), ($id2, '"'my=key'"', '"'v'"')" &&
	mf_mount mnt --db "$DB" --template "\$ARTIST/\$album/\$Title" &&
	test_when_finished "mf_umount mnt" &&
	f1=$(served One2) && f2=$(served Two2) && f3=$(served Three) &&
	test -n "$f1" && test -n "$f2" && test -n "$f3" &&
	test -z "$(served Four)" &&
	mf_dump_mutagen "$f1" >d1 &&
	grep -x "title=One2" d1 && grep -x "label=Writer" d1 &&
	test "$(grep -c "^label=" d1)" = 1 && ! grep "^comment=" d1 &&
	grep -x "picture=3|image/jpeg|cover|$(sha256sum big.jpg | cut -d" " -f1)" d1 &&
	test "$(pic_size "$f1")" = "40x30 depth=24 type=3 desc=cover" &&
	mf_dump_mutagen "$f2" >d2 &&
	grep -x "TIT2=Two2" d2 && grep -x "TPE1=B" d2 && grep -x "TPE1=C" d2 &&
	grep "^picture=3|image/jpeg|cover|" d2 &&
	grep -x "TCON=Writer" d2 && ! grep -x "TCON=Scanned" d2 &&
	! grep "my=key" d1 && grep -x "TXXX:my=key=v" d2 &&
	grep -x "TMOO=Loud" d2 && ! grep "TMOO=Calm" d2 &&
	mf_dump_mutagen "$f3" >d3 &&
	grep -x "label=Writer" d3 && test "$(grep -c "^label=" d3)" = 1 &&
	! grep "^comment=" d3 &&
	test "$(pic_size "$f3")" = "40x30 depth=24 type=3 desc=cover" &&
	test "$(mf_audio_md5 "$f1")" = "$(mf_audio_md5 lib/one.flac)" &&
	test "$(mf_audio_md5 "$f3")" = "$(mf_audio_md5 lib/three.ogg)" &&
	mf_decode_clean "$f2"
'

test_done
