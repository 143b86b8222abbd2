#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# mkcorpus.py BASE_DIR OUT_DIR N - a corpus of N small real FLAC files for
# `make bench-scan`: copies of the base files in BASE_DIR (encoded by
# run.sh with sox + flac) with distinct Vorbis comments, 100 per album
# directory. The FLAC metadata is rebuilt byte by byte (RFC 9639 8.1:
# STREAMINFO and SEEKTABLE kept, a new VORBIS_COMMENT last), so 10^5
# files take seconds, not the minutes a tagger would.
import os
import struct
import sys


def blocks(data):
    assert data[:4] == b"fLaC", "not FLAC"
    pos, out = 4, []
    while True:
        hdr = data[pos]
        btype, last = hdr & 0x7F, hdr >> 7
        blen = int.from_bytes(data[pos + 1:pos + 4], "big")
        out.append((btype, data[pos + 4:pos + 4 + blen]))
        pos += 4 + blen
        if last:
            return out, data[pos:]


def vorbis_comment(fields):
    vendor = b"musefs bench"
    body = struct.pack("<I", len(vendor)) + vendor + struct.pack("<I", len(fields))
    for f in fields:
        f = f.encode()
        body += struct.pack("<I", len(f)) + f
    return body


def main():
    base_dir, out_dir, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    bases = []
    for name in sorted(os.listdir(base_dir)):
        if name.endswith(".flac"):
            with open(os.path.join(base_dir, name), "rb") as f:
                blks, audio = blocks(f.read())
            keep = b"".join(
                bytes([t]) + len(b).to_bytes(3, "big") + b
                for t, b in blks if t in (0, 3))
            bases.append((keep, audio))
    assert bases, "no base files"
    for i in range(n):
        album = i // 100
        d = os.path.join(out_dir, "artist %03d" % (album // 10), "album %05d" % album)
        if i % 100 == 0:
            os.makedirs(d, exist_ok=True)
        keep, audio = bases[i % len(bases)]
        vc = vorbis_comment([
            "TITLE=Track %d" % i,
            "ARTIST=Artist %d" % (album // 10),
            "ALBUMARTIST=Artist %d" % (album // 10),
            "ALBUM=Album %d" % album,
            "TRACKNUMBER=%d" % (i % 100 + 1),
            "DATE=%d" % (1960 + album % 60),
            "GENRE=Genre %d" % (album % 17),
        ])
        data = b"fLaC" + keep + bytes([0x84]) + len(vc).to_bytes(3, "big") + vc + audio
        with open(os.path.join(d, "%02d track %d.flac" % (i % 100 + 1, i)), "wb") as f:
            f.write(data)


main()
