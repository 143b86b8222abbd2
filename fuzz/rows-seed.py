#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""fuzz/rows-seed.py STORE OUTDIR - write one fuzz_rows seed per track of
STORE (a store musefs-scan wrote) into OUTDIR, in the input encoding of
fuzz/fuzz_rows.c: a flags byte, the tracks row's eight values, the backing
file, then (table byte, values) records for the track's tags, art,
art_props, track_art, structural_blocks and format_blocks rows. Each value
keeps its stored type. Two seeds per track: served with synthesis (flags
0) and structure-only (flags 1)."""
import os, sqlite3, struct, sys

store, out = sys.argv[1:3]
os.makedirs(out, exist_ok=True)
con = sqlite3.connect("file:%s?mode=ro" % store, uri=True)


def val(v):
    if v is None:
        return b"\3"
    if isinstance(v, int):
        return b"\0" + struct.pack("<q", v)
    if isinstance(v, float):
        return b"\4" + struct.pack("<d", v)
    if isinstance(v, str):
        v = v.encode()
        return b"\1" + struct.pack("<I", len(v)) + v
    return b"\2" + struct.pack("<I", len(v)) + bytes(v)


def rows(table, sql, *args):
    return b"".join(bytes([table]) + b"".join(val(v) for v in r)
                    for r in con.execute(sql, args))


def has(table):
    return con.execute("SELECT 1 FROM sqlite_master WHERE name = ?",
                       (table,)).fetchone() is not None


for (tid, path, fmt, off, alen, size, mtime, cv, upd, ctime) in con.execute(
        "SELECT id, backing_path, format, audio_offset, audio_length, "
        "backing_size, backing_mtime_ns, content_version, updated_at, "
        "backing_ctime_ns FROM tracks").fetchall():
    with open(path, "rb") as f:
        body = f.read()
    head = b"".join(val(v) for v in (fmt, off, alen, size, mtime, cv, upd, ctime)) + val(body)
    recs = rows(0, "SELECT key, value, ordinal, value_blob FROM tags WHERE track_id = ?", tid)
    recs += rows(1, "SELECT id, sha256, mime, width, height, byte_len, data FROM art "
                 "WHERE id IN (SELECT art_id FROM track_art WHERE track_id = ?)", tid)
    if has("art_props"):
        recs += rows(2, "SELECT art_id, depth, colors FROM art_props WHERE art_id IN "
                     "(SELECT art_id FROM track_art WHERE track_id = ?)", tid)
    recs += rows(3, "SELECT art_id, picture_type, description, ordinal FROM track_art "
                 "WHERE track_id = ?", tid)
    recs += rows(4, "SELECT kind, ordinal, body FROM structural_blocks WHERE track_id = ?", tid)
    if has("format_blocks"):
        recs += rows(5, "SELECT kind, ordinal, data FROM format_blocks WHERE track_id = ?", tid)
    name = os.path.basename(path)
    for flags in (0, 1):
        with open(os.path.join(out, "%s-%d" % (name, flags)), "wb") as f:
            f.write(bytes([flags]) + head + recs)
