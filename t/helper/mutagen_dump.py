#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""mutagen_dump - print every tag and picture mutagen reads from FILE, one
per line, sorted, for end-to-end tests (an independent reader of served
files). Run with /usr/bin/python3 (Debian's python3-mutagen).

Lines, by container (keys in the container's native spelling):
  format=<mutagen class>            always first
  ID3 (MP3, WAV id3 chunk):  id3.version=2.4.0, FRAMEID=value (one line per
    value), TXXX:desc=value, COMM:desc:lang=text, USLT:desc:lang=text,
    APIC -> picture=type|mime|desc|sha256, PRIV:owner=sha256:<hex>,
    UFID:owner=<data as text>, GEOB:desc=mime|filename|sha256:<hex>,
    other frames FRAMEID=<repr>
  Vorbis comments (Ogg Vorbis/Opus/FLAC, FLAC): lowercased field=value;
    METADATA_BLOCK_PICTURE is decoded -> picture=type|mime|desc|sha256;
    FLAC PICTURE blocks -> picture=... likewise
  MP4: atom=value (one line per value), trkn/disk as n/total,
    freeform ----:mean:name=value, covr -> picture=|mime||sha256
Newlines inside values are printed as \\n. Exit 1 if mutagen cannot read
the file.
"""
import base64
import hashlib
import sys

import mutagen
from mutagen.flac import Picture


def esc(v):
    return str(v).replace("\\", "\\\\").replace("\n", "\\n")


def sha(b):
    return hashlib.sha256(bytes(b)).hexdigest()


def pic_line(ptype, mime, desc, data):
    return "picture=%s|%s|%s|%s" % (ptype, mime, esc(desc), sha(data))


def dump_id3(tags, out):
    out.append("id3.version=%d.%d.%d" % tags.version)
    for frame in tags.values():
        fid = frame.FrameID
        if fid == "TXXX":
            for v in frame.text:
                out.append("TXXX:%s=%s" % (esc(frame.desc), esc(v)))
        elif fid in ("COMM", "USLT"):
            text = frame.text if fid == "USLT" else "\n".join(map(str, frame.text))
            out.append("%s:%s:%s=%s" % (fid, esc(frame.desc), frame.lang, esc(text)))
        elif fid == "APIC":
            out.append(pic_line(int(frame.type), frame.mime, frame.desc, frame.data))
        elif fid == "PRIV":
            out.append("PRIV:%s=sha256:%s" % (esc(frame.owner), sha(frame.data)))
        elif fid == "UFID":
            out.append("UFID:%s=%s" % (esc(frame.owner),
                                       frame.data.decode("utf-8", "replace")))
        elif fid == "GEOB":
            out.append("GEOB:%s=%s|%s|sha256:%s" % (esc(frame.desc), frame.mime,
                                                   esc(frame.filename), sha(frame.data)))
        elif hasattr(frame, "text"):
            for v in frame.text:
                out.append("%s=%s" % (fid, esc(v)))
        else:
            out.append("%s=%s" % (fid, esc(repr(frame))))


def dump_vorbis(tags, out):
    for k, v in tags:
        k = k.lower()
        if k == "metadata_block_picture":
            p = Picture(base64.b64decode(v))
            out.append(pic_line(p.type, p.mime, p.desc, p.data))
        else:
            out.append("%s=%s" % (k, esc(v)))


def dump_mp4(tags, out):
    for k, vals in tags.items():
        if not isinstance(vals, list):  # cpil, pgap, ... are bare values
            vals = [vals]
        if k == "covr":
            for c in vals:
                mime = {13: "image/jpeg", 14: "image/png"}.get(c.imageformat, "?")
                out.append(pic_line("", mime, "", c))
            continue
        for v in vals:
            if k in ("trkn", "disk"):
                out.append("%s=%d/%d" % (k, v[0], v[1]))
            elif k.startswith("----"):
                out.append("%s=%s" % (k, esc(bytes(v).decode("utf-8", "replace"))))
            else:
                out.append("%s=%s" % (k, esc(v)))


def main():
    if len(sys.argv) != 2:
        sys.stderr.write("usage: mutagen_dump.py FILE\n")
        return 2
    try:
        f = mutagen.File(sys.argv[1])
    except Exception as e:  # mutagen raises many kinds
        sys.stderr.write("mutagen_dump: %s: %s\n" % (sys.argv[1], e))
        return 1
    if f is None:
        sys.stderr.write("mutagen_dump: %s: unknown format\n" % sys.argv[1])
        return 1
    out = []
    tags = f.tags
    if tags is not None:
        name = type(tags).__name__
        if name in ("ID3", "_WaveID3"):
            dump_id3(tags, out)
        elif name == "MP4Tags":
            dump_mp4(tags, out)
        elif hasattr(tags, "_internal") or name.endswith("Comment") or \
                name.startswith("VC") or name.startswith("Ogg"):
            dump_vorbis(tags, out)
        else:
            for k, v in tags.items():
                out.append("%s=%s" % (k, esc(v)))
    for p in getattr(f, "pictures", []) or []:
        out.append(pic_line(p.type, p.mime, p.desc, p.data))
    print("format=%s" % type(f).__name__)
    for line in sorted(out):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
