#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""musefs-mount performance harness (issue 6, "Performance").

Run through `make bench-mount` (builds musefs and bench/mount/mfbench.c
first). In one run, on the same warm files, it compares the backing
directory read directly, `bindfs -r`, `mergerfs -o ro,cache.files=off`,
mergerfs with its caching set, and musefs-mount (synthesis mode, long
TTLs), then measures musefs start-up, RSS, tree memory and one retag on
stores of 10^5 and 10^6 tracks generated with SQL. It prints one table:
each figure (median of the runs), its ratio to direct, the issue's target
and PASS/MISS.

Method (see /work/shared/BENCHMARKING.md): this driver pins itself to
BENCH_CPU (every client it runs inherits that) and starts every daemon in
the foreground under `taskset -c BENCH_CPU`; variants are run in a
rotating order within each repetition; the backing files are re-read
directly right before each measurement so they are warm; a "first read"
through a FUSE mount is taken on a fresh mount (the mount's page cache is
cold, the backing's is warm). Everything it mounts is unmounted and only
the PIDs it started are killed, also on errors and on SIGINT/SIGTERM.

What each row measures (all through the C loops of mfbench.c, so no
process start is timed, except the "find -type f" row):
  seq ... first   read the large files start to end right after a fresh
                  mount (1 MiB or 128 KiB read(2)s); MB/s = 10^6 B/s
  seq ... again   the same files read again on that mount (page cache)
  open+64K+close  the small files, after one untimed pass (lookups, layouts)
  find -type f    /usr/bin/find, best of 3, minus find on an empty dir
  readdir walk    the same walk in-process (d_type, no stat)
  stat walk       nftw(3) lstat of every entry, after one untimed walk
  random 4 KiB    aligned pread(2)s on one large file read once before
The backing tree is laid out like musefs's default template, so every
variant shows the same names and directories. After the table it counts
how many pages of one large file sit in large folios of the page cache,
read directly and through musefs: on kernels whose FUSE page cache uses
only 4 KiB folios (6.18 here) that, not the daemon, bounds "seq ... again".

Knobs (environment variables):
  BENCH_QUICK=1        reduced repetition (proof run, under 5 minutes once
                       the corpus and the stores exist)
  BENCH_REPS=N         repetitions of every measurement (7; quick: 3)
  BENCH_MOUNT_DIR=DIR  work directory: corpus, stores, mountpoints
                       (default BUILD/bench-mount); the corpus and the
                       generated stores are kept and reused across runs
  BENCH_CPU=N          the CPU everything is pinned to (0)
  BENCH_SMALL=N        small files (5000)
  BENCH_LARGE=N        large FLAC files of ~30 MiB (3)
  BENCH_RAND=N         random 4 KiB reads per run (20000; quick: 5000)
  BENCH_TRACKS="..."   store sizes for start-up/RSS (100000 1000000);
                       the retag is measured at the largest
  BENCH_MUSEFS_OPTS="..."  extra musefs-mount options (e.g. --handles open)
  BENCH_PEERS="..."    variants to run (direct bindfs mergerfs
                       mergerfs-cache musefs)
  BENCH_ATTR_TTL_MS=N  musefs --attr-ttl-ms (3600000)
"""

import argparse
import ctypes
import json
import mmap
import os
import shutil
import signal
import socket
import sqlite3
import statistics
import struct
import subprocess
import sys
import time

# ---- knobs ----------------------------------------------------------------
QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")
REPS = int(os.environ.get("BENCH_REPS", "3" if QUICK else "7"))
CPU = int(os.environ.get("BENCH_CPU", "0"))
NSMALL = int(os.environ.get("BENCH_SMALL", "5000"))
NLARGE = int(os.environ.get("BENCH_LARGE", "3"))
NRAND = int(os.environ.get("BENCH_RAND", "5000" if QUICK else "20000"))
TRACKS = [int(x) for x in
          os.environ.get("BENCH_TRACKS", "100000 1000000").split()]
PEERS = os.environ.get(
    "BENCH_PEERS", "direct bindfs mergerfs mergerfs-cache musefs").split()
ATTR_TTL_MS = int(os.environ.get("BENCH_ATTR_TTL_MS", "3600000"))
MUSEFS_OPTS = os.environ.get("BENCH_MUSEFS_OPTS", "").split()

LARGE_RAW = 31752000        # 180 s of 16-bit stereo 44.1 kHz: a ~30 MiB FLAC
MIB = 1 << 20
MERGERFS_CACHE = ("ro,cache.files=auto-full,cache.readdir=true,"
                  "cache.attr=120,cache.entry=120,cache.negative_entry=120,"
                  "cache.open=120,cache.statfs=120,xattr=nosys")
ENV_C = dict(os.environ, LC_ALL="C")

# ---- process and mount bookkeeping -----------------------------------------
STARTED = []        # (Popen, mountpoint) of every daemon this run started


def log(*a):
    print("bench-mount:", *a, file=sys.stderr, flush=True)


def die(msg):
    raise SystemExit("bench-mount: " + msg)


def run(cmd, **kw):
    kw.setdefault("check", True)
    kw.setdefault("env", ENV_C)
    return subprocess.run(cmd, **kw)


def is_mounted(mnt):
    mnt = os.path.realpath(mnt)
    with open("/proc/self/mountinfo") as f:
        for line in f:
            if line.split()[4] == mnt:
                return True
    return False


def start_daemon(cmd, mnt, env=None, ready=None, timeout=120.0):
    """Start cmd (a foreground FUSE daemon) pinned to CPU; wait until mnt
    is mounted (or ready() is true). Returns the Popen."""
    os.makedirs(mnt, exist_ok=True)
    if is_mounted(mnt):
        die(f"{mnt} is already mounted")
    p = subprocess.Popen(["taskset", "-c", str(CPU)] + cmd, env=env or ENV_C,
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=open(os.path.join(WORK, "daemon.log"), "a"))
    STARTED.append((p, mnt))
    t_end = time.monotonic() + timeout
    while not (ready() if ready else is_mounted(mnt)):
        if p.poll() is not None:
            die(f"{cmd[0]} exited with {p.returncode} (see "
                f"{WORK}/daemon.log)")
        if time.monotonic() > t_end:
            die(f"{cmd[0]} did not mount {mnt} in {timeout} s")
        time.sleep(0.002)
    # Threads inherit the affinity; pin again in case a daemon resets it.
    run(["taskset", "-a", "-p", "-c", str(CPU), str(p.pid)],
        stdout=subprocess.DEVNULL)
    return p


def stop_daemon(p, mnt):
    if is_mounted(mnt):
        r = subprocess.run(["umount", mnt], stderr=subprocess.DEVNULL)
        if r.returncode != 0:
            subprocess.run(["umount", "-l", mnt], stderr=subprocess.DEVNULL)
    try:
        p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        p.terminate()
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    if (p, mnt) in STARTED:
        STARTED.remove((p, mnt))


def cleanup():
    for p, mnt in list(STARTED):
        try:
            stop_daemon(p, mnt)
        except Exception as e:          # keep cleaning the others
            log(f"cleanup of {mnt}: {e}")


def on_signal(sig, frame):
    raise SystemExit(f"bench-mount: interrupted by signal {sig}")


# ---- the C loops -----------------------------------------------------------
def mfbench(*args):
    out = run([MFBENCH] + [str(a) for a in args], stdout=subprocess.PIPE,
              text=True).stdout
    kv = dict(x.split("=") for x in out.split())
    return {k: int(v) for k, v in kv.items()}


# ---- corpus ----------------------------------------------------------------
def vorbis_comment(tags):
    vendor = b"musefs-bench"
    body = struct.pack("<I", len(vendor)) + vendor
    body += struct.pack("<I", len(tags))
    for k, v in tags:
        c = f"{k}={v}".encode()
        body += struct.pack("<I", len(c)) + c
    return body


def flac_blocks(data):
    """Split a FLAC file into ([(type, body)], frames)."""
    if data[:4] != b"fLaC":
        die("base file is not FLAC")
    pos, blocks = 4, []
    while True:
        hdr = data[pos]
        ln = int.from_bytes(data[pos + 1:pos + 4], "big")
        blocks.append((hdr & 0x7f, data[pos + 4:pos + 4 + ln]))
        pos += 4 + ln
        if hdr & 0x80:
            return blocks, data[pos:]


def write_flac(path, blocks, frames, tags):
    keep = [(t, b) for t, b in blocks if t in (0, 3)]   # STREAMINFO, SEEKTABLE
    keep.append((4, vorbis_comment(tags)))
    out = bytearray(b"fLaC")
    for i, (t, b) in enumerate(keep):
        last = 0x80 if i == len(keep) - 1 else 0
        out += bytes([last | t]) + len(b).to_bytes(3, "big") + b
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(out)
        f.write(frames)
    os.rename(tmp, path)


def small_tags(i):
    """Tags of small file / generated track i: 100 tracks per artist, 10
    per album. The scale stores use the same scheme."""
    return [("ARTIST", f"Artist {i // 100}"),
            ("ALBUMARTIST", f"Artist {i // 100}"),
            ("ALBUM", f"Album {i // 10}"),
            ("TITLE", f"Title {i}"),
            ("TRACKNUMBER", str(i % 10 + 1))]


def make_corpus():
    # The backing tree has the layout of musefs's default template
    # ($albumartist/$album/$title), so every variant shows the same
    # directories and names and per-entry figures compare like for like.
    lib = os.path.join(WORK, "library")
    large_dir = os.path.join(lib, "Bench Large", "Large Files")
    os.makedirs(large_dir, exist_ok=True)
    base = os.path.join(WORK, "base.flac")
    if not os.path.exists(base):
        wav = os.path.join(WORK, "base.wav")
        run(["sox", "-n", "-r", "44100", "-c", "2", "-b", "16", wav,
             "synth", "0.6", "whitenoise", "vol", "0.3"])
        run(["flac", "-s", "-f", "--no-padding", "-o", base, wav])
        os.unlink(wav)
    blocks, frames = flac_blocks(open(base, "rb").read())
    made = 0
    for i in range(NSMALL):
        d = os.path.join(lib, f"Artist {i // 100}", f"Album {i // 10}")
        p = os.path.join(d, f"Title {i}.flac")
        if not os.path.exists(p):
            os.makedirs(d, exist_ok=True)
            write_flac(p, blocks, frames, small_tags(i))
            made += 1
    if made:
        log(f"wrote {made} small FLAC files")
    large = []
    for i in range(NLARGE):
        p = os.path.join(large_dir, f"Big {i}.flac")
        if not os.path.exists(p):
            log(f"encoding {p} from {LARGE_RAW} bytes of random PCM")
            raw = os.path.join(WORK, "big.raw")
            with open(raw, "wb") as f:
                f.write(os.urandom(LARGE_RAW))
            run(["flac", "-s", "-f", "-0", "--force-raw-format",
                 "--endian=little", "--sign=signed", "--channels=2",
                 "--bps=16", "--sample-rate=44100",
                 "-T", "ARTIST=Bench Large", "-T", "ALBUMARTIST=Bench Large",
                 "-T", "ALBUM=Large Files", "-T", f"TITLE=Big {i}",
                 "-T", f"TRACKNUMBER={i + 1}", "-o", p + ".tmp.flac", raw])
            os.rename(p + ".tmp.flac", p)
            os.unlink(raw)
        if os.path.getsize(p) < 30 * MIB:
            die(f"{p} is under 30 MiB")
        large.append(p)
    db = os.path.join(WORK, "library.db")
    log("scanning the corpus")
    r = run([SCAN, "--db", db, "-q", lib], check=False)
    if r.returncode != 0:
        die(f"musefs-scan exited with {r.returncode}")
    small = [os.path.join(lib, f"Artist {i // 100}", f"Album {i // 10}",
                          f"Title {i}.flac") for i in range(NSMALL)]
    return lib, db, large, small


# ---- the variants ----------------------------------------------------------
class Variant:
    def __init__(self, name, lib, db):
        self.name, self.lib, self.db = name, lib, db
        self.mnt = os.path.join(WORK, "mnt", name)
        self.proc = None
        self.map = {}           # backing path -> path through this variant

    @property
    def root(self):
        return self.lib if self.name == "direct" else self.mnt

    def cmd(self):
        n = self.name
        if n == "bindfs":
            return ["bindfs", "-f", "-r", self.lib, self.mnt]
        if n == "mergerfs":
            return ["mergerfs", "-f", "-o", "ro,cache.files=off", self.lib,
                    self.mnt]
        if n == "mergerfs-cache":
            return ["mergerfs", "-f", "-o", MERGERFS_CACHE, self.lib,
                    self.mnt]
        if n == "musefs":
            return [MOUNT, "-f", "-q", "--db", self.db, "--attr-ttl-ms",
                    str(ATTR_TTL_MS)] + MUSEFS_OPTS + [self.mnt]
        die(f"unknown variant {n}")

    def mount(self):
        if self.name != "direct":
            self.proc = start_daemon(self.cmd(), self.mnt)

    def umount(self):
        if self.proc:
            stop_daemon(self.proc, self.mnt)
            self.proc = None

    def remount(self):
        self.umount()
        self.mount()

    def build_map(self, paths):
        if self.name != "musefs":
            self.map = {p: os.path.join(self.root,
                                        os.path.relpath(p, self.lib))
                        for p in paths}
            return
        want = set(paths)
        for dp, _, fs in os.walk(self.mnt):
            for f in fs:
                q = os.path.join(dp, f)
                try:
                    b = os.getxattr(q, "user.musefs.backing_path").decode()
                except OSError:
                    continue
                if b in want:
                    self.map[b] = q
        missing = want - set(self.map)
        if missing:
            die(f"musefs does not serve {len(missing)} corpus files, "
                f"e.g. {sorted(missing)[0]}")

    def paths(self, backing):
        return [self.map[p] for p in backing]


def rotate(seq, k):
    k %= len(seq)
    return seq[k:] + seq[:k]


def perf(lib, db, large, small):
    vs = [Variant(n, lib, db) for n in PEERS]
    res = {v.name: {} for v in vs}

    def add(v, key, val):
        res[v.name].setdefault(key, []).append(val)

    small_list = os.path.join(WORK, "small.direct")
    with open(small_list, "w") as f:
        f.write("\n".join(small) + "\n")
    tail = {}
    for p in large:
        with open(p, "rb") as f:
            f.seek(-MIB, os.SEEK_END)
            tail[p] = f.read()
    for v in vs:
        v.mount()
        v.build_map(large + small)
        nfiles = sum(len(fs) for _, _, fs in os.walk(v.root))
        if nfiles != len(large) + len(small):
            die(f"{v.name} shows {nfiles} files, not "
                f"{len(large) + len(small)}")
        for p in large:         # served audio ends like the backing file
            with open(v.map[p], "rb") as f:
                f.seek(-MIB, os.SEEK_END)
                if f.read() != tail[p]:
                    die(f"{v.map[p]} does not end like {p}")
        with open(os.path.join(WORK, f"small.{v.name}"), "w") as f:
            f.write("\n".join(v.paths(small)) + "\n")

    def warm():
        mfbench("seq", MIB, *large)
        mfbench("small", small_list)

    # Sequential reads: first (fresh mount), again (page cache), 128 KiB.
    for r in range(REPS):
        log(f"sequential reads, run {r + 1}/{REPS}")
        for v in rotate(vs, r):
            files = v.paths(large)
            for bs, key in ((MIB, "seq_1m"), (128 << 10, "seq_128k")):
                warm()
                v.remount()
                m = mfbench("seq", bs, *files)
                add(v, key + "_first", m["bytes"] / m["ns"] * 1e3)  # MB/s
                if bs == MIB:
                    m = mfbench("seq", bs, *files)
                    add(v, "seq_1m_again", m["bytes"] / m["ns"] * 1e3)

    # Metadata and small files, on warm mounts.
    empty = os.path.join(WORK, "empty")
    os.makedirs(empty, exist_ok=True)
    for r in range(REPS):
        log(f"small files, walks, random reads, run {r + 1}/{REPS}")
        t_find0 = []
        for _ in range(5):
            t = time.perf_counter()
            run(["find", empty, "-type", "f"], stdout=subprocess.DEVNULL)
            t_find0.append(time.perf_counter() - t)
        t_find0 = min(t_find0)
        for v in rotate(vs, r):
            warm()
            lst = os.path.join(WORK, f"small.{v.name}")
            mfbench("small", lst)                   # lookups, layouts
            m = mfbench("small", lst)
            add(v, "small", m["count"] / m["ns"] * 1e9)      # files/s
            mfbench("walk", v.root)
            m = mfbench("walk", v.root)
            add(v, "stat_walk", m["ns"] / 1e3 / m["count"])  # µs/entry
            nent = m["count"]
            dt = []
            for _ in range(3):          # the best of 3 sheds exec jitter
                t = time.perf_counter()
                run(["find", v.root, "-type", "f"],
                    stdout=subprocess.DEVNULL)
                dt.append(time.perf_counter() - t)
            dt = min(dt) - t_find0
            add(v, "find", dt * 1e6 / nent)                 # µs/entry
            m = mfbench("readdir", v.root)
            if m["count"] != nent:
                die(f"{v.name}: readdir saw {m['count']} entries, "
                    f"nftw {nent}")
            add(v, "readdir", m["ns"] / 1e3 / m["count"])   # µs/entry
            big = v.paths(large)[0]
            mfbench("seq", MIB, big)                        # cache it
            m = mfbench("rand", big, NRAND, r + 1)
            add(v, "rand_4k", m["ns"] / 1e3 / m["count"])    # µs/read

    for v in vs:
        v.umount()
    return res


# ---- scale: start-up, RSS, tree memory, retag ------------------------------
def gen_store(n, base_file):
    """A store of n tracks: track 1 scanned from a real small FLAC, tracks
    2..n cloned from it with SQL, distinct tags, nonexistent backing
    paths. Kept across runs."""
    db = os.path.join(WORK, f"store-{n}.db")
    if os.path.exists(db):
        return db
    log(f"generating a store of {n} tracks")
    d = os.path.join(WORK, "one")
    os.makedirs(d, exist_ok=True)
    one = os.path.join(d, "one.flac")
    blocks, frames = flac_blocks(open(base_file, "rb").read())
    write_flac(one, blocks, frames, small_tags(1))
    tmp = db + ".tmp"
    for s in ("", "-wal", "-shm"):
        if os.path.exists(tmp + s):
            os.unlink(tmp + s)
    run([SCAN, "--db", tmp, "-q", d])
    c = sqlite3.connect(tmp, isolation_level=None)
    c.execute("PRAGMA synchronous=OFF")
    c.execute("BEGIN")
    c.execute("CREATE TEMP TABLE seq(n INTEGER PRIMARY KEY)")
    c.execute("WITH RECURSIVE c(n) AS (SELECT 2 UNION ALL SELECT n + 1 "
              "FROM c WHERE n < ?) INSERT INTO seq SELECT n FROM c", (n,))
    # Child rows first: the version-bump triggers then find no track and
    # log nothing; inserting the tracks logs one changelog row each.
    for k, expr in (("artist", "'Artist ' || (n / 100)"),
                    ("albumartist", "'Artist ' || (n / 100)"),
                    ("album", "'Album ' || (n / 10)"),
                    ("title", "'Title ' || n"),
                    ("tracknumber", "CAST(n % 10 + 1 AS TEXT)")):
        c.execute(f"INSERT INTO tags (track_id, key, ordinal, value) "
                  f"SELECT n, '{k}', 0, {expr} FROM seq")
    for table in ("structural_blocks", "track_props", "format_blocks"):
        cols = [r[1] for r in c.execute(f"PRAGMA table_info({table})")]
        if not cols:
            continue
        sel = ", ".join("s.n" if x == "track_id" else f"t.{x}" for x in cols)
        c.execute(f"INSERT INTO {table} ({', '.join(cols)}) SELECT {sel} "
                  f"FROM {table} t, seq s WHERE t.track_id = 1")
    cols = [r[1] for r in c.execute("PRAGMA table_info(tracks)")]
    sel = []
    for x in cols:
        if x == "id":
            sel.append("s.n")
        elif x == "backing_path":
            sel.append("'/nonexistent/musefs-bench/' || s.n || '.flac'")
        else:
            sel.append(f"t.{x}")
    c.execute(f"INSERT INTO tracks ({', '.join(cols)}) SELECT "
              f"{', '.join(sel)} FROM tracks t, seq s WHERE t.id = 1")
    c.execute("COMMIT")
    got = c.execute("SELECT count(*) FROM tracks").fetchone()[0]
    c.close()
    if got != n:
        die(f"generated store has {got} tracks, not {n}")
    os.rename(tmp, db)
    for s in ("-wal", "-shm"):
        if os.path.exists(tmp + s):
            os.rename(tmp + s, db + s)
    return db


def metrics(mnt):
    out = {}
    with open(os.path.join(mnt, ".musefs-metrics", "metrics")) as f:
        for line in f:
            if line.startswith("#") or not line.strip():
                continue
            k, v = line.rsplit(None, 1)
            out[k] = float(v)
    return out


def refreshes(mnt):
    return metrics(mnt).get("musefs_mount_refreshes_total", 0)


def refresh_duration(mnt, before):
    """The last refresh duration once the refresh counter has passed
    @before: the mount sends invalidations before it records the pass, so
    the change can be visible a moment before its duration is."""
    if wait_for(lambda: refreshes(mnt) > before, 10) is None:
        return None
    return metrics(mnt).get("musefs_mount_last_refresh_duration_seconds")


def proc_status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                out[line.split(":")[0]] = int(line.split()[1]) * 1024
    return out


def wait_for(pred, timeout):
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if pred():
            return time.monotonic() - t0
        time.sleep(0.001)
    return None


def exists(p):
    try:
        os.stat(p)
        return True
    except OSError:
        return False


def scale(base_file, ext):
    res = {}
    for n in TRACKS:
        db = gen_store(n, base_file)
        mnt = os.path.join(WORK, "mnt", f"scale-{n}")
        os.makedirs(mnt, exist_ok=True)
        probe = os.path.join(mnt, f"Artist {n // 100}", f"Album {n // 10}",
                             f"Title {n}{ext}")
        # Warm the store file: start-up, not the disk, is measured.
        for s in ("", "-wal"):
            if os.path.exists(db + s):
                with open(db + s, "rb") as f:
                    while f.read(MIB):
                        pass
        sock_path = os.path.join(WORK, "notify.sock")
        if os.path.exists(sock_path):
            os.unlink(sock_path)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(sock_path)
        sock.setblocking(False)
        env = dict(ENV_C, NOTIFY_SOCKET=sock_path)
        notified = []

        def ready():
            try:
                if (sock.recv(4096).startswith(b"READY=1")
                        and not notified):
                    notified.append(time.monotonic())
            except BlockingIOError:
                pass
            return exists(probe)

        log(f"mounting the {n}-track store")
        t0 = time.monotonic()
        p = start_daemon([MOUNT, "-f", "-q", "--db", db, "--expose-metrics",
                          "--attr-ttl-ms", str(ATTR_TTL_MS), mnt],
                         mnt, env=env, ready=ready, timeout=600)
        t_ready = time.monotonic() - t0
        # The probe may see the tree before the datagram is read.
        sock.settimeout(10)
        try:
            while not notified:
                if sock.recv(4096).startswith(b"READY=1"):
                    notified.append(time.monotonic())
        except socket.timeout:
            pass
        r = {"ready_s": t_ready,
             "notify_s": notified[0] - t0 if notified else None}
        sock.close()
        os.unlink(sock_path)
        time.sleep(0.5)
        r.update(proc_status(p.pid))
        m = metrics(mnt)
        r["tree_bytes"] = m.get("musefs_mount_tree_memory_bytes")
        r["tree_nodes"] = m.get("musefs_mount_tree_nodes")
        r["tree_bytes_per_track"] = (r["tree_bytes"] / n
                                     if r["tree_bytes"] else None)
        r["rss_per_track"] = r["VmRSS"] / n
        if n == max(TRACKS):
            r.update(retag(db, mnt, n, ext))
        stop_daemon(p, mnt)
        res[n] = r
    return res


def retag(db, mnt, n, ext):
    """Time one title change (the path moves) and one tag change that
    keeps the path (the served size moves), each from its commit until the
    mount shows it. Restores the title afterwards."""
    out = {}
    tid = n // 2
    old = os.path.join(mnt, f"Artist {tid // 100}", f"Album {tid // 10}",
                       f"Title {tid}{ext}")
    title = f"Retagged {tid} {int(time.time())}"
    new = os.path.join(mnt, f"Artist {tid // 100}", f"Album {tid // 10}",
                       title + ext)
    c = sqlite3.connect(db, isolation_level=None, timeout=30)
    # An interrupted earlier run may have left its title behind.
    c.execute("UPDATE tags SET value = ? WHERE track_id = ? AND key = "
              "'title' AND value <> ?", (f"Title {tid}", tid, f"Title {tid}"))
    if wait_for(lambda: exists(old), 10) is None:
        die(f"{old} is not served")
    # Path change.
    n0 = refreshes(mnt)
    c.execute("UPDATE tags SET value = ? WHERE track_id = ? AND key = "
              "'title'", (title, tid))
    t = wait_for(lambda: exists(new), 30)
    out["retag_path_s"] = t
    out["retag_path_refresh_s"] = refresh_duration(mnt, n0)
    # Same path, different bytes: a longer comment.
    c.execute("UPDATE tags SET value = ? WHERE track_id = ? AND key = "
              "'title'", (f"Title {tid}", tid))
    if wait_for(lambda: exists(old), 30) is None:
        die("title restore not visible")
    size0 = os.stat(old).st_size
    row = c.execute("SELECT length(value) FROM tags WHERE track_id = ? "
                    "AND key = 'comment' AND ordinal = 0", (tid,)).fetchone()
    clen = row[0] + 1 if row and row[0] < 200 else 10   # a new length
    n0 = refreshes(mnt)
    c.execute("INSERT OR REPLACE INTO tags (track_id, key, ordinal, value) "
              "VALUES (?, 'comment', 0, ?)", (tid, "x" * clen))
    t = wait_for(lambda: os.stat(old).st_size != size0, 30)
    out["retag_bytes_s"] = t
    out["retag_bytes_refresh_s"] = refresh_duration(mnt, n0)
    c.close()
    return out


# ---- report ----------------------------------------------------------------
def med(xs):
    return statistics.median(xs) if xs else None


def fmt(x, unit):
    if x is None:
        return "-"
    if unit in ("MB/s", "files/s"):
        return f"{x:,.0f}"
    return f"{x:.2f}"


def folio_census(path):
    """Read @path whole, then map it and count how many of its pages sit in
    large folios of the page cache (/proc/self/pagemap + /proc/kpageflags,
    KPF_COMPOUND_HEAD/TAIL; root only). Returns (pages, in_large_folios)."""
    with open(path, "rb") as f:
        while f.read(1 << 20):
            pass
        size = os.fstat(f.fileno()).st_size
        m = mmap.mmap(f.fileno(), size, flags=mmap.MAP_PRIVATE,
                      prot=mmap.PROT_READ | mmap.PROT_WRITE)
    try:
        pages = size // 4096
        for i in range(pages):
            m[i * 4096]         # fault the page cache page in, never written
        base = ctypes.addressof(ctypes.c_char.from_buffer(m)) // 4096
        large = 0
        with open("/proc/self/pagemap", "rb") as pm, \
                open("/proc/kpageflags", "rb") as kf:
            for i in range(pages):
                pm.seek((base + i) * 8)
                e = struct.unpack("Q", pm.read(8))[0]
                if not e >> 63:
                    continue
                kf.seek((e & ((1 << 55) - 1)) * 8)
                if struct.unpack("Q", kf.read(8))[0] & (3 << 15):
                    large += 1
        return pages, large
    finally:
        m.close()


def report(perf_res, scale_res, folios):
    out = (report_perf(perf_res, med, True) + "\n" +
           report_perf(perf_res, best, False) + "\n")
    if folios:
        out += ("page cache after reading a large file (what bounds "
                "'seq read ... again'):\n")
        for name, (pages, large) in folios.items():
            out += (f"  {name:7s} {large} of {pages} pages in large folios "
                    f"({100 * large // max(pages, 1)}%)\n")
        out += "\n"
    return out + report_scale(scale_res)


def best(xs, hi=True):
    return (max(xs) if hi else min(xs)) if xs else None


def report_perf(perf_res, agg, with_targets):
    rows = [  # key, label, unit, higher is better
        # find: wall time of /usr/bin/find minus that of find on an empty
        # directory (process start); readdir: the same walk in mfbench.
        ("seq_1m_first", "seq read 1 MiB, first", "MB/s", True),
        ("seq_128k_first", "seq read 128 KiB, first", "MB/s", True),
        ("seq_1m_again", "seq read 1 MiB, again", "MB/s", True),
        ("small", "open+64K+close, small", "files/s", True),
        ("find", "find -type f", "us/entry", False),
        ("readdir", "readdir walk (find, no exec)", "us/entry", False),
        ("stat_walk", "stat walk (nftw lstat)", "us/entry", False),
        ("rand_4k", "random 4 KiB, cached", "us/read", False),
    ]
    names = [n for n in PEERS]
    W = 16

    def peer_best(key):
        xs = [med(perf_res[p].get(key, []))
              for p in ("bindfs", "mergerfs") if p in perf_res]
        xs = [x for x in xs if x is not None]
        return max(xs) if xs else None

    def target(key):
        """(text, threshold, higher-is-better) for musefs."""
        d = med(perf_res.get("direct", {}).get(key, []))
        if key in ("seq_1m_first", "seq_128k_first"):
            b = peer_best(key)
            return ">= 1.0x best uncached peer", b, True
        if key == "seq_1m_again":
            return ">= 0.8x direct", d * 0.8 if d else None, True
        if key == "small":
            c = med(perf_res.get("mergerfs-cache", {}).get(key, []))
            return ">= 1.5x mergerfs-cache", c * 1.5 if c else None, True
        if key in ("find", "readdir", "stat_walk"):
            return "<= 1.3x direct", d * 1.3 if d else None, False
        if key == "rand_4k":
            return "<= 1.5x direct", d * 1.5 if d else None, False
        return "", None, True

    lines = []
    hdr = f"{'measure':29} {'unit':9}" + "".join(f"{n:>{W}}" for n in names)
    if with_targets:
        hdr += f"  {'target (musefs)':28} verdict"
    lines.append(hdr)
    lines.append("-" * len(hdr))
    for key, label, unit, hib in rows:
        d = med(perf_res.get("direct", {}).get(key, []))
        if not with_targets:
            d = agg(perf_res.get("direct", {}).get(key, []), hib)
        cells = []
        for n in names:
            x = (agg(perf_res[n].get(key, []), hib) if not with_targets
                 else med(perf_res[n].get(key, [])))
            s = fmt(x, unit)
            if d and x is not None:
                s += f" ({x / d:.2f}x)"
            cells.append(f"{s:>{W}}")
        if not with_targets:
            lines.append(f"{label:29} {unit:9}" + "".join(cells))
            continue
        txt, thr, hi = target(key)
        mx = med(perf_res.get("musefs", {}).get(key, []))
        if thr is None or mx is None:
            verdict = "n/a"
        else:
            verdict = "PASS" if (mx >= thr if hi else mx <= thr) else "MISS"
            txt += f" ({fmt(thr, unit)})"
        lines.append(f"{label:29} {unit:9}" + "".join(cells) +
                     f"  {txt:28} {verdict}")
    lines.append("(x) = ratio to direct; %s of %d runs; client and "
                 "daemons pinned to CPU %d" %
                 ("medians" if with_targets else "best", REPS, CPU))
    if with_targets:
        lines.append("musefs-mount --attr-ttl-ms %d %s, synthesis mode, other "
                     "options default; mergerfs-cache: -o %s" %
                     (ATTR_TTL_MS, " ".join(MUSEFS_OPTS), MERGERFS_CACHE))
    return "\n".join(lines) + "\n"


def report_scale(scale_res):
    lines = []

    def verdict(x, thr):
        return "n/a" if x is None else ("PASS" if x <= thr else "MISS")

    for n, r in sorted(scale_res.items()):
        lines.append(f"musefs at {n} tracks:")
        lines.append(f"  start-up to ready (stat of a file) {r['ready_s']:.2f} s"
                     + (f", READY=1 after {r['notify_s']:.2f} s"
                        if r.get("notify_s") is not None else "")
                     + ("   target <= 2 s at 10^5: " +
                        verdict(r["ready_s"], 2.0) if n == 100000 else ""))
        lines.append(f"  RSS {r['VmRSS'] / MIB:.1f} MiB (peak "
                     f"{r['VmHWM'] / MIB:.1f} MiB), "
                     f"{r['rss_per_track']:.0f} bytes/track")
        if r.get("tree_bytes") is not None:
            lines.append(
                f"  tree {r['tree_bytes'] / MIB:.1f} MiB, "
                f"{r['tree_nodes']:.0f} nodes, "
                f"{r['tree_bytes_per_track']:.0f} bytes/track   "
                f"target <= 400: "
                f"{verdict(r['tree_bytes_per_track'], 400)}")
        if "retag_path_s" in r:
            for k, what in (("path", "title change (path moves)"),
                            ("bytes", "tag change (same path, new size)")):
                t = r[f"retag_{k}_s"]
                rf = r[f"retag_{k}_refresh_s"]
                lines.append(
                    f"  retag, {what}: visible after "
                    + (f"{t:.3f} s" if t is not None else "NEVER (30 s)")
                    + f"   target <= 1.5 s: {verdict(t, 1.5)}")
                lines.append(
                    "    refresh " + (f"{rf * 1e3:.2f} ms" if rf is not None
                                      else "not reported")
                    + f"   target <= 5 ms: "
                    + verdict(rf * 1e3 if rf is not None else None, 5.0))
    return "\n".join(lines)


def main():
    global WORK, MFBENCH, SCAN, MOUNT
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    a = ap.parse_args()
    if os.geteuid() != 0:
        die("must run as root (mounts, umount)")
    build = os.path.abspath(a.build)
    WORK = os.path.abspath(os.environ.get("BENCH_MOUNT_DIR",
                                          os.path.join(build, "bench-mount")))
    MFBENCH = os.path.join(build, "bench", "mfbench")
    SCAN = os.path.join(build, "bin", "musefs-scan")
    MOUNT = os.path.join(build, "bin", "musefs-mount")
    for t in ("taskset", "bindfs", "mergerfs", "sox", "flac", "umount"):
        if not shutil.which(t):
            die(f"{t} is missing")
    os.makedirs(WORK, exist_ok=True)
    os.sched_setaffinity(0, {CPU})
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    t_start = time.monotonic()
    try:
        log(f"work directory {WORK}, {REPS} runs, quick={int(QUICK)}")
        lib, db, large, small = make_corpus()
        perf_res = perf(lib, db, large, small)
        # The extension musefs gives a FLAC, for the scale probes.
        v = Variant("musefs", lib, db)
        v.mount()
        v.build_map(small[:1] + large[:1])
        ext = os.path.splitext(v.map[small[0]])[1]
        folios = {"direct": folio_census(large[0]),
                  "musefs": folio_census(v.map[large[0]])}
        v.umount()
        scale_res = scale(os.path.join(WORK, "base.flac"), ext)
    finally:
        cleanup()
    with open(os.path.join(WORK, "results.json"), "w") as f:
        json.dump({"perf": perf_res, "scale": scale_res, "reps": REPS,
                   "quick": QUICK, "folios": folios}, f, indent=1)
    print(report(perf_res, scale_res, folios))
    log(f"done in {time.monotonic() - t_start:.0f} s; raw runs in "
        f"{WORK}/results.json")


if __name__ == "__main__":
    main()
