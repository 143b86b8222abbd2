#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""t/helper/soak.py - hold a musefs mount under load (t/9002-soak.t, make soak).

soak.py MNT DB LIB MOUNT_PID SECONDS [READERS]

The store DB maps backing files under LIB to served files MNT/<title>.flac
(mounted with --template '$title'); every title is "t<N>-<gen>".  For
SECONDS, all at once:
  - READERS readers open a random served file, read it whole, check its
    last audio_length bytes equal the backing file's audio range, then
    pread random ranges on the same handle and check they equal the whole
    read (one handle serves one store version) - any mismatch is a wrong
    byte; ENOENT (a rename raced the open) and ESTALE on open (the file
    changed twice while the VFS retried the open) are expected and
    counted, any error of a read is not;
  - a walker lists and stats the tree;
  - a writer, through the store as a tagger would, retags (renames) a
    random track, sets a new comment, replaces its picture, and every 20th
    round runs musefs-scan on LIB; it deletes art rows no track links to
    (as a tagger replacing a picture would) unless SOAK_KEEP_ART=1.
Every second the mount's VmRSS is sampled.  Prints one summary line of
key=value pairs and exits 0 only if there was no wrong byte, no unexpected
error, every thread finished, and RSS after warm-up grew by at most
max(64 MiB, 100%) (a generous bound: a leak per operation shows).
"""
import errno, os, random, sqlite3, struct, subprocess, sys, threading, time, zlib

mnt, db, lib, pid, seconds = sys.argv[1:6]
seconds = float(seconds)
nreaders = int(sys.argv[6]) if len(sys.argv) > 6 else 32
deadline = time.monotonic() + seconds
lock = threading.Lock()
stats = dict(reads=0, ranges=0, bytes=0, enoent=0, estale=0, walks=0, writes=0,
             rescans=0, wrong=0, errors=0)
notes = []
kinds = {}


def bump(key, n=1):
    with lock:
        stats[key] += n


def fail(key, msg):
    with lock:
        stats[key] += 1
        kinds[key] = kinds.get(key, 0) + 1
        if kinds[key] <= 10:
            notes.append(key + ": " + msg)


def connect():
    c = sqlite3.connect(db, timeout=30, isolation_level=None)
    c.execute("PRAGMA busy_timeout = 30000")
    return c


# The audio range of every track, from its backing file (never changed).
con = connect()
audio = {}
for tid, path, off, length in con.execute(
        "SELECT id, backing_path, audio_offset, audio_length FROM tracks"):
    with open(path, "rb") as f:
        f.seek(off)
        audio[tid] = f.read(length)
con.close()
ids = sorted(audio)


def num_of(name):
    # "t<id>-<gen>.flac" -> id
    return int(name[1:].split("-")[0])


def reader(seed):
    rnd = random.Random(seed)
    while time.monotonic() < deadline:
        try:
            names = os.listdir(mnt)
        except OSError as e:
            fail("errors", "listdir: %s" % e)
            continue
        names = [n for n in names if n.startswith("t") and n.endswith(".flac")]
        if not names:
            fail("errors", "empty tree")
            time.sleep(0.01)
            continue
        name = rnd.choice(names)
        try:
            fd = os.open(os.path.join(mnt, name), os.O_RDONLY)
        except FileNotFoundError:
            bump("enoent")
            continue
        except OSError as e:
            # ESTALE: the file changed twice while the VFS retried the
            # open (documented); reads on an open handle never may fail
            if e.errno == errno.ESTALE:
                bump("estale")
            else:
                fail("errors", "open %s: %s" % (name, e))
            continue
        try:
            size = os.fstat(fd).st_size
            whole = b""
            while True:
                b = os.read(fd, 1 << 16)
                if not b:
                    break
                whole += b
            want = audio[num_of(name)]
            if len(whole) != size or not whole.endswith(want):
                fail("wrong", "%s: whole read of %d bytes (st_size %d) does not end in the audio" %
                     (name, len(whole), size))
            bump("reads")
            bump("bytes", len(whole))
            for _ in range(4):
                o = rnd.randrange(0, size)
                n = rnd.randrange(1, min(size - o, 65536) + 1)
                got = os.pread(fd, n, o)
                if got != whole[o:o + n]:
                    fail("wrong", "%s: pread(%d, %d) differs from the whole read" % (name, n, o))
                bump("ranges")
                bump("bytes", len(got))
        except OSError as e:
            fail("errors", "read %s: %s" % (name, e))
        finally:
            os.close(fd)


def walker():
    while time.monotonic() < deadline:
        try:
            for root, dirs, files in os.walk(mnt):
                for f in files:
                    try:
                        os.stat(os.path.join(root, f))
                    except FileNotFoundError:
                        bump("enoent")
            bump("walks")
        except OSError as e:
            fail("errors", "walk: %s" % e)


def png(rnd):
    raw = b"".join(b"\0" + bytes(rnd.randrange(256) for _ in range(24)) for _ in range(8))

    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def writer():
    import hashlib
    rnd = random.Random(1)
    c = connect()
    gen = 0
    while time.monotonic() < deadline:
        gen += 1
        tid = rnd.choice(ids)
        data = png(rnd)
        try:
            c.execute("BEGIN IMMEDIATE")
            c.execute("UPDATE tags SET value = ? WHERE track_id = ? AND key = 'title'",
                      ("t%d-%d" % (tid, gen), tid))
            c.execute("DELETE FROM tags WHERE track_id = ? AND key = 'comment'", (tid,))
            c.execute("INSERT INTO tags (track_id, key, value) VALUES (?, 'comment', ?)",
                      (tid, "round %d" % gen))
            c.execute("INSERT OR IGNORE INTO art (sha256, mime, width, height, byte_len, data) "
                      "VALUES (?, 'image/png', 8, 8, ?, ?)",
                      (hashlib.sha256(data).hexdigest(), len(data), data))
            aid = c.execute("SELECT id FROM art WHERE sha256 = ?",
                            (hashlib.sha256(data).hexdigest(),)).fetchone()[0]
            c.execute("DELETE FROM track_art WHERE track_id = ?", (tid,))
            c.execute("INSERT INTO track_art (track_id, art_id) VALUES (?, ?)", (tid, aid))
            if os.environ.get("SOAK_KEEP_ART") != "1":
                c.execute("DELETE FROM art WHERE id NOT IN (SELECT art_id FROM track_art)")
            c.execute("COMMIT")
            bump("writes")
        except sqlite3.Error as e:
            fail("errors", "write: %s" % e)
            try:
                c.execute("ROLLBACK")
            except sqlite3.Error:
                pass
        if gen % 20 == 0:
            r = subprocess.run(["musefs-scan", "--db", db, lib],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            if r.returncode != 0:
                fail("errors", "musefs-scan: %d %s" % (r.returncode, r.stderr[-300:]))
            bump("rescans")
        time.sleep(0.02)
    c.close()


def rss_kib():
    with open("/proc/%s/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


threads = [threading.Thread(target=reader, args=(i,), daemon=True) for i in range(nreaders)]
threads += [threading.Thread(target=walker, daemon=True), threading.Thread(target=writer, daemon=True)]
for t in threads:
    t.start()
samples = []
start = time.monotonic()
while time.monotonic() < deadline:
    time.sleep(1)
    samples.append((time.monotonic() - start, rss_kib()))
stuck = 0
for t in threads:
    t.join(60)
    stuck += t.is_alive()
warm = [r for s, r in samples if s >= seconds / 4] or [samples[-1][1]]
rss_warm, rss_max, rss_end = warm[0], max(warm), samples[-1][1]
growth_ok = rss_max <= rss_warm + max(65536, rss_warm)
print(" ".join("%s=%d" % kv for kv in stats.items()) +
      " stuck=%d rss_warm_kib=%d rss_max_kib=%d rss_end_kib=%d" % (stuck, rss_warm, rss_max, rss_end))
for n in notes:
    print("# " + n)
ok = stats["wrong"] == 0 and stats["errors"] == 0 and stuck == 0 and growth_ok and \
    stats["reads"] > 0 and stats["writes"] > 0 and stats["walks"] > 0
sys.exit(0 if ok else 1)
