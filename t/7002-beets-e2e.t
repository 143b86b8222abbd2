#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='real beets writes its tags and album art into the store the way the 1.x beets plugin does

beets (Debian'"'"'s package) imports a small library as-is (-A: no
autotagging, no network; fetchart takes the cover from the album folder),
its tags are edited in beets only (-W: the files keep their own), then a
beets plugin written here does what the 1.x plugin does
(contrib/beets/beetsplug/musefs.py and _core.py of musefs 1.x): it runs
`musefs scan PATHS --db DB --force`, maps the beets fields to store keys
and, per file in one savepoint, merges the tags (python-musefs merge_tags:
case-folded per-key replace) and, with --art, links the album cover (upsert_art
with NULL dimensions, replace_track_art), all in plain SQL. The mount is
then read with mutagen.'
. "${0%/*}/lib.sh"
. "$MF_SOURCE/t/lib-fmt.sh"

mf_require_fuse
mf_have sox flac metaflac lame mid3v2 sqlite3 beet ffmpeg ||
	skip_all 'needs sox, flac, metaflac, lame, mid3v2, sqlite3, beet, ffmpeg'
MF_PY=/usr/bin/python3
test -x "$MF_PY" && "$MF_PY" -c 'import mutagen' 2>/dev/null ||
	skip_all "needs $MF_PY with mutagen"
DB=$MF_TRASH/store.db
BEETSDIR=$MF_TRASH/beets
export BEETSDIR

beet_ () {
	beet -c "$BEETSDIR/config.yaml" "$@"
}

# tags_of FILE: mutagen's easy view of a served file, "key=value" lines.
tags_of () {
	"$MF_PY" - "$1" <<-\EOF
	import sys, mutagen
	f = mutagen.File(sys.argv[1], easy=True)
	for k in sorted(f.tags.keys()):
	    for v in f.tags[k]:
	        print("%s=%s" % (k.lower(), v))
	EOF
}

# pictures_of FILE: type, mime, WxH (FLAC) and sha256 of each embedded
# picture, in order.
pictures_of () {
	"$MF_PY" - "$1" <<-\EOF
	import hashlib, sys, mutagen
	f = mutagen.File(sys.argv[1])
	pics = getattr(f, "pictures", None)
	if pics is None:
	    pics = [f.tags[k] for k in f.tags.keys() if k.startswith("APIC")]
	for p in pics:
	    size = "%dx%d" % (p.width, p.height) if hasattr(p, "width") else "-"
	    print(p.type, p.mime, size, hashlib.sha256(p.data).hexdigest())
	EOF
}

mf_test 'set up a library: a FLAC album with a cover, an MP3 album' '
	mkdir -p lib/One lib/Two "$BEETSDIR/plug" &&
	mf_make_flac lib/One/01.flac 1 440 &&
	mf_make_flac lib/One/02.flac 1 550 &&
	metaflac --set-tag=TITLE=Song1 --set-tag=ARTIST=Art --set-tag=ALBUMARTIST=Art \
		--set-tag=ALBUM=One --set-tag=TRACKNUMBER=1 --set-tag=DATE=2001 \
		--set-tag=LABEL=FileLabel lib/One/01.flac &&
	metaflac --set-tag=TITLE=Song2 --set-tag=ARTIST=Art --set-tag=ALBUMARTIST=Art \
		--set-tag=ALBUM=One --set-tag=TRACKNUMBER=2 --set-tag=DATE=2001 lib/One/02.flac &&
	mf_make_jpeg lib/One/cover.jpg 32x32 red &&
	sox -D -n -r 44100 -c 2 -b 16 w.wav synth 1 sine 660 &&
	lame --quiet -b 128 w.wav lib/Two/01.mp3 &&
	rm w.wav &&
	mid3v2 -a Other -A Two -t Uno -T 1 -y 1999 lib/Two/01.mp3 >/dev/null &&
	cat >"$BEETSDIR/config.yaml" <<-EOF
	directory: $MF_TRASH/beetslib
	library: $BEETSDIR/library.db
	pluginpath: [$BEETSDIR/plug]
	plugins: fetchart musefssync
	import:
	  copy: no
	  move: no
	  write: no
	  quiet: yes
	  log: $BEETSDIR/import.log
	fetchart:
	  auto: yes
	  sources: filesystem
	musefssync:
	  db: $DB
	EOF
'

# The 1.x plugin's sync, condensed: same scan command line, same field
# mapping rules, same SQL (python-musefs store.py) per record.
cat >"$BEETSDIR/plug/musefssync.py" <<\EOF
import hashlib, os, sqlite3, subprocess
from beets import ui
from beets.plugins import BeetsPlugin

RENAME = {"track": "tracknumber", "disc": "discnumber",
          "comments": "comment", "comp": "compilation",
          "mb_trackid": "musicbrainz_trackid",
          "mb_albumid": "musicbrainz_albumid",
          "artist_sort": "artistsort", "albumartist_sort": "albumartistsort"}
TWINS = {"artists": "artist", "albumartists": "albumartist",
         "genres": "genre", "composers": "composer",
         "artists_sort": "artist_sort",
         "albumartists_sort": "albumartist_sort"}
DROP_IF_ZERO = {"tracknumber", "discnumber", "tracktotal", "disctotal",
                "compilation", "bpm", "original_year", "original_month",
                "original_day"}


def text(v):
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else str(v)
    return str(v).strip()


def pairs_of(item):
    out = {}
    # plural twins first: the plural list wins its key
    for field in sorted(item._media_tag_fields,
                        key=lambda f: (f not in TWINS, f)):
        if field in ("year", "month", "day"):
            continue
        base = TWINS.get(field, field)
        key = RENAME.get(base, base.lower())
        if key in out:
            continue
        v = getattr(item, field, None)
        vals = v if isinstance(v, (list, tuple)) else [v]
        vals = [text(x) for x in vals
                if x is not None and x is not False and text(x)]
        vals = [x for x in vals if not (key in DROP_IF_ZERO and
                                        float(x) == 0)]
        if vals:
            out[key] = vals
    if item.year:
        d = "%04d" % item.year
        if item.month and item.day:
            d += "-%02d-%02d" % (item.month, item.day)
        out.setdefault("date", [d])
    return out


class MusefsSync(BeetsPlugin):
    def __init__(self):
        super().__init__()
        self.config.add({"db": None, "bin": "musefs"})

    def commands(self):
        cmd = ui.Subcommand("musefssync")
        cmd.parser.add_option("--art", action="store_true", default=False)
        cmd.func = self.run
        return [cmd]

    def run(self, lib, opts, args):
        db = self.config["db"].as_filename()
        items = list(lib.items(args))
        paths = [os.fsdecode(i.path) for i in items]
        r = subprocess.run([self.config["bin"].get(str), "scan", *paths,
                            "--db", db, "--force"], capture_output=True)
        if r.returncode:
            raise ui.UserError("musefs scan failed (%d): %s" %
                               (r.returncode, r.stderr.decode()))
        conn = sqlite3.connect(db)
        conn.execute("PRAGMA busy_timeout = 5000")
        conn.execute("PRAGMA foreign_keys = ON")
        if conn.execute("PRAGMA user_version").fetchone()[0] != 2:
            raise ui.UserError("musefs: not a user_version 2 store")
        synced = linked = invalid = 0
        for item in items:
            key = os.path.realpath(os.fsdecode(item.path))
            row = conn.execute("SELECT id FROM tracks WHERE backing_path = ?",
                               (key,)).fetchone()
            if row is None:
                continue
            tid = row[0]
            cover = None
            album = item.get_album()
            if opts.art and album is not None and album.artpath:
                with open(album.artpath, "rb") as f:
                    cover = f.read()
            conn.execute("SAVEPOINT musefs_sync_one")
            try:
                pairs = pairs_of(item)
                for k in pairs:
                    conn.execute("DELETE FROM tags WHERE track_id = ? AND "
                                 "lower(key) = lower(?) AND value_blob IS NULL",
                                 (tid, k))
                conn.executemany(
                    "INSERT INTO tags (track_id, key, value, ordinal) "
                    "VALUES (?, ?, ?, ?)",
                    [(tid, k, v, n) for k, vs in pairs.items()
                     for n, v in enumerate(vs)])
                if cover is not None:
                    sha = hashlib.sha256(cover).hexdigest()
                    conn.execute(
                        "INSERT INTO art (sha256, mime, width, height, "
                        "byte_len, data) VALUES (?, ?, NULL, NULL, ?, ?) "
                        "ON CONFLICT(sha256) DO NOTHING",
                        (sha, "image/jpeg", len(cover), cover))
                    art = conn.execute("SELECT id FROM art WHERE sha256 = ?",
                                       (sha,)).fetchone()[0]
                    conn.execute("DELETE FROM track_art WHERE track_id = ?",
                                 (tid,))
                    conn.execute(
                        "INSERT INTO track_art (track_id, art_id, "
                        "picture_type, description, ordinal) "
                        "VALUES (?, ?, 3, '', 0)", (tid, art))
                    linked += 1
                conn.execute("RELEASE musefs_sync_one")
                synced += 1
            except sqlite3.IntegrityError as e:
                conn.execute("ROLLBACK TO musefs_sync_one")
                conn.execute("RELEASE musefs_sync_one")
                invalid += 1
                self._log.warning("musefs: {}: {}", key, e)
        conn.commit()
        conn.close()
        print("musefs: synced=%d art_linked=%d skipped_invalid=%d" %
              (synced, linked, invalid))
EOF

mf_test 'beets imports the library as-is and takes the cover from the folder' '
	beet_ import -A lib >out 2>&1 &&
	beet_ ls -f "\$title|\$artist|\$album|\$track" >items &&
	grep -x "Song1|Art|One|01" items &&
	grep -x "Uno|Other|Two|01" items &&
	beet_ ls -a -f "\$album|\$artpath" album:One >albums &&
	grep -x "One|$MF_TRASH/lib/One/cover.jpg" albums
'

mf_test 'the tags are changed in beets only' '
	beet_ modify -y -W title:Song1 title=Renamed genre=Jazz label=BeetsLabel >out &&
	beet_ modify -y -W -a album:Two albumartist="The Others" album=Deux >out &&
	beet_ ls -f "\$title|\$genre|\$label" title:Renamed >items &&
	grep -x "Renamed|Jazz|BeetsLabel" items &&
	metaflac --show-tag=TITLE lib/One/01.flac >t &&
	grep -x TITLE=Song1 t
'

mf_test 'the sync runs musefs scan --force and writes the beets tags' '
	beet_ musefssync >out &&
	grep "synced=3 art_linked=0 skipped_invalid=0" out &&
	id=$(mf_track_id "$DB" "$MF_TRASH/lib/One/01.flac") &&
	sqlite3 "$DB" "SELECT key || '"'"'='"'"'|| value FROM tags WHERE track_id = $id
		AND lower(key) IN ('"'"'title'"'"', '"'"'label'"'"', '"'"'genre'"'"')
		ORDER BY key" >tags &&
	printf "%s\n" genre=Jazz label=BeetsLabel title=Renamed >want &&
	test_cmp want tags
'

mf_test 'the mount serves the beets tags (mutagen)' '
	mf_mount mp --db "$DB" --template "\$albumartist/\$album/\$title" &&
	test_path_is_file mp/Art/One/Renamed.flac &&
	test_path_is_file mp/Art/One/Song2.flac &&
	test_path_is_file "mp/The Others/Deux/Uno.mp3" &&
	tags_of mp/Art/One/Renamed.flac >t1 &&
	grep -x "title=Renamed" t1 && grep -x "genre=Jazz" t1 &&
	grep -x "label=BeetsLabel" t1 &&
	! grep -i "FileLabel" t1 &&
	grep -x "tracknumber=1" t1 && grep -x "date=2001" t1 &&
	tags_of "mp/The Others/Deux/Uno.mp3" >t2 &&
	grep -x "title=Uno" t2 && grep -x "album=Deux" t2 &&
	grep -x "albumartist=The Others" t2 && grep -x "artist=Other" t2 &&
	test "$(mf_audio_md5 mp/Art/One/Renamed.flac)" = "$(mf_audio_md5 lib/One/01.flac)" &&
	mf_umount mp
'

mf_test 'a second sync is the same: the files'"'"' own tags come back by --force, the beets tags win again' '
	beet_ musefssync >out &&
	grep "synced=3" out &&
	mf_mount mp --db "$DB" --template "\$albumartist/\$album/\$title" &&
	tags_of mp/Art/One/Renamed.flac >t1b &&
	test_cmp t1 t1b &&
	mf_umount mp
'

mf_test 'the sync links the album cover with NULL dimensions; the mount serves it' '
	beet_ musefssync --art album:One >out &&
	grep "synced=2 art_linked=2 skipped_invalid=0" out &&
	test "$(sqlite3 "$DB" "SELECT count(*) FROM art WHERE width IS NULL")" = 1 &&
	sha=$(sha256sum lib/One/cover.jpg | cut -d" " -f1) &&
	mf_mount mp --db "$DB" --template "\$albumartist/\$album/\$title" &&
	pictures_of mp/Art/One/Renamed.flac >p1 &&
	echo "3 image/jpeg 32x32 $sha" >want &&
	test_cmp want p1 &&
	pictures_of mp/Art/One/Song2.flac >p2 &&
	test_cmp want p2 &&
	tags_of mp/Art/One/Renamed.flac >t1c &&
	test_cmp t1 t1c &&
	mf_umount mp
'

test_done
