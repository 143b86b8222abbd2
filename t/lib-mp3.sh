# SPDX-License-Identifier: MIT
# t/lib-mp3.sh - helpers for the MP3 end-to-end tests (t/31NN-*.t).
# Source after t/lib.sh and t/lib-fmt.sh.
#
# mp3_expect DB TRACK_ID mutagen|ffprobe|taglib: what each reader must
# print for a served MP3 of that track, computed from the store with the
# mapping mf_id3 writes (Picard's ID3v2.4 table): mutagen_dump.py lines;
# ffprobe format tags as lowercased key=value (ffmpeg keeps the first
# value of a multi-valued frame, names TXXX and described COMM by their
# description, shows PRIV as id3v2_priv.<owner> with \xNN escapes and no
# UFID); taglib_dump's tag lines (TagLib joins values with a space).

mp3_expect () {
	"$MF_PY" - "$@" <<'PY'
import hashlib, sqlite3, sys

db, tid, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
con = sqlite3.connect(db)
tags = {}
for k, v in con.execute("SELECT key, value FROM tags WHERE track_id = ? AND "
                        "value_blob IS NULL ORDER BY key, ordinal", (tid,)):
    tags.setdefault(k, []).append(v)
bins = con.execute("SELECT key, value_blob FROM tags WHERE track_id = ? AND "
                   "value_blob IS NOT NULL ORDER BY key, ordinal",
                   (tid,)).fetchall()
pics = con.execute("SELECT ta.picture_type, a.mime, ta.description, a.sha256 "
                   "FROM track_art ta JOIN art a ON a.id = ta.art_id WHERE "
                   "ta.track_id = ? ORDER BY ta.ordinal", (tid,)).fetchall()

TEXT = {"title": "TIT2", "artist": "TPE1", "album": "TALB",
        "albumartist": "TPE2", "genre": "TCON", "date": "TDRC",
        "composer": "TCOM", "compilation": "TCMP", "bpm": "TBPM",
        "isrc": "TSRC", "encodedby": "TENC", "copyright": "TCOP",
        "label": "TPUB", "originaldate": "TDOR", "encodersettings": "TSSE"}
PAIRS = {"tracknumber": ("TRCK", "totaltracks"),
         "discnumber": ("TPOS", "totaldiscs")}
TXXX = {"musicbrainz_albumid": "MusicBrainz Album Id",
        "musicbrainz_artistid": "MusicBrainz Artist Id",
        "musicbrainz_albumartistid": "MusicBrainz Album Artist Id",
        "musicbrainz_releasegroupid": "MusicBrainz Release Group Id",
        "catalognumber": "CATALOGNUMBER", "barcode": "BARCODE"}
FF = {"TIT2": "title", "TPE1": "artist", "TALB": "album",
      "TPE2": "album_artist", "TCON": "genre", "TDRC": "date",
      "TCOM": "composer", "TCMP": "compilation", "TRCK": "track",
      "TPOS": "disc", "TCOP": "copyright", "TENC": "encoded_by",
      "TPUB": "publisher", "TSSE": "encoder"}

frames = []     # (frame id, description, values)
for k, vs in tags.items():
    if k in PAIRS:
        fid, tk = PAIRS[k]
        frames.append((fid, None, [vs[0] + ("/" + tags[tk][0] if tk in tags else "")]))
    elif k in ("totaltracks", "totaldiscs"):
        if {"totaltracks": "tracknumber", "totaldiscs": "discnumber"}[k] not in tags:
            frames.append(("TXXX", k, vs))
    elif k == "comment" or k.startswith("comment:"):
        frames.append(("COMM", k[8:], vs))
    elif k == "lyrics" or k.startswith("lyrics:"):
        frames.append(("USLT", k[7:], vs))
    elif k == "musicbrainz_recordingid":
        frames.append(("UFID", "http://musicbrainz.org", vs[:1]))
    elif k in TEXT:
        frames.append((TEXT[k], None, vs))
    else:
        frames.append(("TXXX", TXXX.get(k, k), vs))

def text_values(b):
    """Values of a raw text frame body (encoding byte, strings)."""
    codec = ("latin-1", "utf-16", "utf-16-be", "utf-8")[b[0]]
    s = bytes(b[1:]).decode(codec)
    return [v for v in s.rstrip("\0").split("\0") if v]

def esc(s):
    return s.replace("\\", "\\\\").replace("\n", "\\n")

def ffesc(b):
    return "".join(chr(c) if 0x20 <= c < 0x7f else "\\x%02x" % c for c in b)

out = []
if mode == "mutagen":
    if frames or pics or bins:
        out.append("id3.version=2.4.0")
    for fid, desc, vs in frames:
        if fid == "TXXX":
            out += ["TXXX:%s=%s" % (esc(desc), esc(v)) for v in vs]
        elif fid in ("COMM", "USLT"):
            out.append("%s:%s:eng=%s" % (fid, esc(desc), esc("\n".join(vs))))
        elif fid == "UFID":
            out.append("UFID:%s=%s" % (desc, vs[0]))
        else:
            out += ["%s=%s" % (fid, esc(v)) for v in vs]
    for t, m, d, s in pics:
        out.append("picture=%d|%s|%s|%s" % (t, m, esc(d), s))
    for k, b in bins:
        if k == "id3:priv":
            owner, data = bytes(b).split(b"\0", 1)
            out.append("PRIV:%s=sha256:%s" % (owner.decode("latin-1"),
                                              hashlib.sha256(data).hexdigest()))
        elif k.startswith("id3:t"):
            out += ["%s=%s" % (k[4:].upper(), esc(v)) for v in text_values(b)]
        else:
            sys.exit("mp3_expect: no mutagen line for binary tag %s" % k)
    print("format=MP3")
elif mode == "ffprobe":
    for fid, desc, vs in frames:
        if fid == "TXXX":
            out.append("%s=%s" % (desc.lower(), vs[0]))
        elif fid == "COMM":
            out.append("%s=%s" % (desc.lower() or "comment", vs[0]))
        elif fid == "USLT":
            out.append("lyrics-%seng=%s" % (desc + "-" if desc else "", vs[0]))
        elif fid in FF:
            out.append("%s=%s" % (FF[fid], vs[0]))
        elif fid != "UFID":
            sys.exit("mp3_expect: no ffprobe key for %s" % fid)
    for k, b in bins:
        if k == "id3:priv":
            owner, data = bytes(b).split(b"\0", 1)
            out.append("id3v2_priv.%s=%s" % (owner.decode("latin-1").lower(),
                                             ffesc(data)))
        elif k.startswith("id3:t"):
            out.append("%s=%s" % (k[4:], text_values(b)[0]))
    out = sorted(set(out))
else:
    def joined(key):
        return " ".join(tags.get(key, []))
    comm = tags.get("comment", [])
    if not comm:
        comm = next((v for k, v in tags.items() if k.startswith("comment:")), [])
    year = tags.get("date", [""])[0][:4]
    track = tags.get("tracknumber", ["0"])[0]
    print("title=%s" % esc(joined("title")))
    print("artist=%s" % esc(joined("artist")))
    print("album=%s" % esc(joined("album")))
    print("comment=%s" % esc(comm[0] if comm else ""))
    print("genre=%s" % esc(joined("genre")))
    print("year=%d" % (int(year) if year.isdigit() else 0))
    print("track=%d" % (int(track) if track.isdigit() else 0))
for line in sorted(out):
    print(line)
PY
}

# mp3_ffprobe_tags FILE: the format tags ffprobe reads, key lowercased
# (uses ffprobe.tmp in the current directory).
mp3_ffprobe_tags () {
	ffprobe -v error -show_entries format_tags \
		-of default=noprint_wrappers=1 "$1" >ffprobe.tmp || return 1
	sed -e 's/^TAG://' ffprobe.tmp |
		awk -F= '{ k = tolower($1); sub(/^[^=]*=/, ""); print k "=" $0 }' |
		LC_ALL=C sort -u
	rm -f ffprobe.tmp
}

# mp3_taglib_tags FILE: taglib_dump's tag lines (no audio properties).
mp3_taglib_tags () {
	mf_dump_taglib "$1" | grep -E '^(title|artist|album|comment|genre|year|track)='
}

# mp3_taglib_props FILE: taglib_dump's audio property lines.
mp3_taglib_props () {
	mf_dump_taglib "$1" | grep -E '^(length|bitrate|samplerate|channels)='
}
