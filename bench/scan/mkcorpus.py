#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# mkcorpus.py BASE_DIR OUT_DIR N - a corpus of N small real audio files
# for `make bench-scan`: copies of the base files in BASE_DIR (encoded by
# run.sh with sox, flac and lame) with distinct tags, 100 per album
# directory; 5 in 10 FLAC, 2 in 10 MP3, 2 in 10 M4A, 1 in 10 WAV
# (formats without a base file are left out). Tags are written byte by byte, so 10^5 files
# take seconds, not the minutes a tagger would: FLAC (RFC 9639 8.1)
# keeps STREAMINFO and SEEKTABLE and gets a new VORBIS_COMMENT last; MP3
# gets an ID3v2.4 tag of UTF-8 text frames in front of the frames; WAV
# gets a LIST/INFO chunk after its chunks; M4A (moov after mdat, as
# ffmpeg writes it) gets a new moov/udta/meta/ilst, so no chunk offset
# moves.
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


def syncsafe(n):
    return bytes([(n >> 21) & 0x7F, (n >> 14) & 0x7F, (n >> 7) & 0x7F, n & 0x7F])


def strip_id3(data):
    if data[:3] == b"ID3":
        size = 0
        for b in data[6:10]:
            size = size << 7 | b
        return data[10 + size:]
    return data


def id3v24(fields):
    names = {"TITLE": "TIT2", "ARTIST": "TPE1", "ALBUMARTIST": "TPE2",
             "ALBUM": "TALB", "TRACKNUMBER": "TRCK", "DATE": "TDRC",
             "GENRE": "TCON"}
    frames = b""
    for f in fields:
        k, v = f.split("=", 1)
        body = b"\x03" + v.encode()
        frames += names[k].encode() + syncsafe(len(body)) + b"\x00\x00" + body
    return b"ID3\x04\x00\x00" + syncsafe(len(frames)) + frames


def wav_info(data, fields):
    names = {"TITLE": b"INAM", "ARTIST": b"IART", "ALBUM": b"IPRD",
             "TRACKNUMBER": b"ITRK", "DATE": b"ICRD", "GENRE": b"IGNR"}
    body = b"INFO"
    for f in fields:
        k, v = f.split("=", 1)
        if k not in names:
            continue
        v = v.encode() + b"\x00"
        body += names[k] + struct.pack("<I", len(v)) + v + (b"\x00" if len(v) % 2 else b"")
    chunk = b"LIST" + struct.pack("<I", len(body)) + body
    out = data + chunk
    return out[:4] + struct.pack("<I", len(out) - 8) + out[8:]


def box(kind, body):
    return struct.pack(">I", 8 + len(body)) + kind + body


def boxes(data):
    pos, out = 0, []
    while pos + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[pos:pos + 8])
        assert size >= 8, "odd MP4 box"
        out.append((kind, data[pos + 8:pos + size]))
        pos += size
    return out


def m4a_split(data):
    # (bytes before moov, moov children without udta); moov must be last
    top = boxes(data)
    assert top[-1][0] == b"moov", "moov is not after mdat"
    head = data[:len(data) - 8 - len(top[-1][1])]
    return head, b"".join(box(k, b) for k, b in boxes(top[-1][1]) if k != b"udta")


def m4a_tags(fields):
    names = {"TITLE": b"\xa9nam", "ARTIST": b"\xa9ART", "ALBUMARTIST": b"aART",
             "ALBUM": b"\xa9alb", "DATE": b"\xa9day", "GENRE": b"\xa9gen"}
    items = b""
    for f in fields:
        k, v = f.split("=", 1)
        if k == "TRACKNUMBER":
            data = struct.pack(">IIHHH", 0, 0, 0, int(v), 0)
            items += box(b"trkn", box(b"data", data))
        elif k in names:
            items += box(names[k], box(b"data", struct.pack(">II", 1, 0) + v.encode()))
    hdlr = box(b"hdlr", b"\0" * 8 + b"mdir" + b"appl" + b"\0" * 9)
    meta = box(b"meta", b"\0" * 4 + hdlr + box(b"ilst", items))
    return box(b"udta", meta)


def load_bases(base_dir):
    bases = {"flac": [], "mp3": [], "wav": [], "m4a": []}
    for name in sorted(os.listdir(base_dir)):
        ext = name.rsplit(".", 1)[-1]
        if ext not in bases:
            continue
        with open(os.path.join(base_dir, name), "rb") as f:
            data = f.read()
        if ext == "flac":
            blks, audio = blocks(data)
            keep = b"".join(
                bytes([t]) + len(b).to_bytes(3, "big") + b
                for t, b in blks if t in (0, 3))
            bases[ext].append((keep, audio))
        elif ext == "mp3":
            bases[ext].append(strip_id3(data))
        elif ext == "m4a":
            bases[ext].append(m4a_split(data))
        else:
            bases[ext].append(data)
    return bases


def main():
    base_dir, out_dir, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    bases = load_bases(base_dir)
    assert bases["flac"], "no FLAC base files"
    mix = ["flac"] * 5 + ["mp3"] * 2 + ["m4a"] * 2 + ["wav"]
    mix = [m if bases[m] else "flac" for m in mix]
    for i in range(n):
        album = i // 100
        d = os.path.join(out_dir, "artist %03d" % (album // 10), "album %05d" % album)
        if i % 100 == 0:
            os.makedirs(d, exist_ok=True)
        fields = [
            "TITLE=Track %d" % i,
            "ARTIST=Artist %d" % (album // 10),
            "ALBUMARTIST=Artist %d" % (album // 10),
            "ALBUM=Album %d" % album,
            "TRACKNUMBER=%d" % (i % 100 + 1),
            "DATE=%d" % (1960 + album % 60),
            "GENRE=Genre %d" % (album % 17),
        ]
        fmt = mix[i % len(mix)]
        base = bases[fmt][i % len(bases[fmt])]
        if fmt == "flac":
            keep, audio = base
            vc = vorbis_comment(fields)
            data = b"fLaC" + keep + bytes([0x84]) + len(vc).to_bytes(3, "big") + vc + audio
        elif fmt == "mp3":
            data = id3v24(fields) + base
        elif fmt == "m4a":
            head, moov = base
            data = head + box(b"moov", moov + m4a_tags(fields))
        else:
            data = wav_info(base, fields)
        with open(os.path.join(d, "%02d track %d.%s" % (i % 100 + 1, i, fmt)), "wb") as f:
            f.write(data)


main()
