#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='musefs-mount under allocation failures while it serves: every 5th allocation made by libcore, mount/ and bin/ fails (build/t/musefs-mount-enomem, t/unit/enomem_wrap.c; armed by SIGUSR1 once the mount serves) while 8 readers list and read and a writer retags and re-arts through the store; a read gives the right bytes or an error (ENOMEM, EIO, ESTALE), never wrong bytes, and the mount never dies; once the faults stop, it serves every file as a fresh mount of the final store does, and unmounts with status 0 (no leak under SANITIZE=1)

The test with a fault at every allocation in turn, one at a time, is
t/0207-enomem.t (libcore). This one covers the mount: the layout cache and
its pins, the refresh thread and the notifier queue, the tree patches.'
. "${0%/*}/lib.sh"
. "$MF_SOURCE/t/lib-mount.sh"

mf_require_fuse
mf_require_progs sox flac metaflac sqlite3
test -x "$MF_BUILD/t/musefs-mount-enomem" ||
	skip_all "build/t/musefs-mount-enomem is not built (make tests)"
DB=$MF_TRASH/store.db
N=12

cat >load.py <<'EOF'
import errno, hashlib, os, random, sqlite3, sys, threading, time

mnt, db, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
deadline = time.monotonic() + seconds
ok_errs = {errno.ENOMEM, errno.EIO, errno.ESTALE, errno.ENOENT}
lock = threading.Lock()
st = dict(reads=0, failed=0, wrong=0, bad=0, writes=0)
notes = []


def note(k, msg):
    with lock:
        st[k] += 1
        if len(notes) < 10:
            notes.append(msg)


# The audio of every track, from its backing file (never changed).
c = sqlite3.connect(db)
audio = {}
for tid, path, off, n in c.execute(
        "SELECT id, backing_path, audio_offset, audio_length FROM tracks"):
    with open(path, "rb") as f:
        f.seek(off)
        audio[tid] = f.read(n)
c.close()


def reader(seed):
    rnd = random.Random(seed)
    while time.monotonic() < deadline:
        try:
            names = [n for n in os.listdir(mnt) if n.endswith(".flac")]
            name = rnd.choice(names)
            with open(os.path.join(mnt, name), "rb") as f:
                size = os.fstat(f.fileno()).st_size
                data = f.read()
        except (IndexError, OSError) as e:
            if isinstance(e, OSError) and e.errno not in ok_errs:
                note("bad", "%s: %s" % (name if "name" in dir() else "?", e))
            else:
                with lock:
                    st["failed"] += 1
            continue
        tid = int(name.split("-")[0][1:])
        if len(data) != size or not data.endswith(audio[tid]):
            note("wrong", "%s: %d bytes, st_size %d" % (name, len(data), size))
        with lock:
            st["reads"] += 1


def writer():
    rnd = random.Random(7)
    c = sqlite3.connect(db, timeout=30, isolation_level=None)
    gen = 0
    while time.monotonic() < deadline:
        gen += 1
        tid = rnd.choice(sorted(audio))
        c.execute("BEGIN IMMEDIATE")
        c.execute("UPDATE tags SET value = ? WHERE track_id = ? AND key = 'title'",
                  ("t%d-%d" % (tid, gen), tid))
        c.execute("UPDATE track_art SET art_id = (SELECT id FROM art ORDER BY "
                  "random() LIMIT 1) WHERE track_id = ?", (tid,))
        c.execute("COMMIT")
        with lock:
            st["writes"] += 1
        time.sleep(0.02)


threads = [threading.Thread(target=reader, args=(i,)) for i in range(8)]
threads.append(threading.Thread(target=writer))
for t in threads:
    t.start()
for t in threads:
    t.join()
print(" ".join("%s=%d" % kv for kv in st.items()))
for n in notes:
    print("# " + n)
sys.exit(0 if st["wrong"] == 0 and st["bad"] == 0 and st["reads"] > 0 and st["writes"] > 0 else 1)
EOF

mf_test "set up $N FLAC files with pictures, titled t<id>-0" '
	mkdir lib &&
	mf_make_jpeg red.jpg 16x16 red && mf_make_jpeg blue.jpg 16x16 blue &&
	i=0 &&
	while test $i -lt $N
	do
		mf_make_flac lib/$i.flac 1 $((300 + 41 * i)) &&
		metaflac --set-tag=ARTIST=Art --set-tag=TITLE=x$i lib/$i.flac &&
		if test $((i % 2)) = 0
		then
			metaflac --import-picture-from="3||front||red.jpg" lib/$i.flac
		else
			metaflac --import-picture-from="3||front||blue.jpg" lib/$i.flac
		fi || return 1
		i=$((i + 1))
	done &&
	musefs-scan --db "$DB" lib >/dev/null &&
	sqlite3 "$DB" "UPDATE tags SET value = '\''t'\'' || track_id || '\''-0'\''
		WHERE key = '\''title'\''" &&
	test "$(sqlite3 "$DB" "SELECT count(*) FROM track_art")" = $N
'

mf_test 'faults at every 5th allocation under load: right bytes or an error, the mount lives' '
	mkdir fbin &&
	ln -s "$MF_BUILD/t/musefs-mount-enomem" fbin/musefs-mount &&
	opath=$PATH && PATH=$PWD/fbin:$PATH &&
	export MUSEFS_TEST_ENOMEM_EVERY=5 MUSEFS_TEST_ENOMEM_BUDGET=2000 \
		MUSEFS_TEST_ENOMEM_DONE=$PWD/faults-done &&
	mf_mount mnt --db "$DB" --template "\$title" --poll-interval-ms 50 &&
	unset MUSEFS_TEST_ENOMEM_EVERY MUSEFS_TEST_ENOMEM_BUDGET \
		MUSEFS_TEST_ENOMEM_DONE &&
	PATH=$opath &&
	mf_wait_until 10 test -e mnt/t1-0.flac &&
	kill -USR1 "$MF_MOUNT_PID" &&
	/usr/bin/python3 load.py "$PWD/mnt" "$DB" 8 >load.out
	rc=$? &&
	cat load.out &&
	test $rc = 0 &&
	mf_pid_alive "$MF_MOUNT_PID" &&
	test -e faults-done
'

# What a fresh mount of the final store serves, name by name.
reference () {
	mf_mount ref --db "$DB" --template "\$title" &&
	(cd ref && ls | sort >../ref.names && for f in *; do cksum "$f"; done) \
		>ref.sums &&
	mf_umount ref
}

served_as_reference () {
	ls mnt | sort >names &&
	cmp -s names ref.names &&
	(cd mnt && for f in *; do cksum "$f"; done) >sums &&
	cmp -s sums ref.sums
}

mf_test 'after the faults: the tree and every byte equal a fresh mount of the final store' '
	reference &&
	mf_wait_until 20 served_as_reference ||
		{ diff ref.names names; diff ref.sums sums; false; }
'

mf_test 'a retag after the faults is followed; the mount unmounts with status 0' '
	id=$(sqlite3 "$DB" "SELECT min(id) FROM tracks") &&
	sqlite3 "$DB" "UPDATE tags SET value = '\''after'\'' WHERE track_id = $id AND key = '\''title'\''" &&
	mf_wait_until 10 test -e mnt/after.flac &&
	reference &&
	served_as_reference &&
	mf_umount mnt
'

test_done
