#!/bin/sh
# SPDX-License-Identifier: MIT
test_description='musefs-mount under backing files changed behind its back: truncated, grown, rewritten in place with the mtime restored, replaced by rename, deleted, each with a handle held and on a fresh open: EIO until a rescan, then the new bytes, never a mix'
. "${0%/*}/lib.sh"
. "$MF_SOURCE/t/lib-fault.sh"
fault_require lame mid3v2


# fault_flac NAME FREQ: lib/NAME.flac, 2 s of sine FREQ, titled NAME.
fault_flac () {
	mf_make_flac "lib/$1.flac" 2 "$2" &&
	metaflac --set-tag=ARTIST=Art --set-tag=ALBUM=Alb --set-tag="TITLE=$1" \
		"lib/$1.flac"
}

mf_test 'set up a library of FLAC and MP3 files and mount it' '
	mkdir lib &&
	fault_flac trunc 440 && fault_flac grow 550 && fault_flac inplace 660 &&
	fault_flac renamed 770 && fault_flac deleted 880 &&
	fault_flac cached 990 &&
	sox -D -n -r 44100 -c 2 -b 16 w.wav synth 2 sine 330 &&
	lame --quiet -b 128 w.wav lib/mp3inplace.mp3 &&
	mid3v2 -a Art -A Alb -t mp3inplace lib/mp3inplace.mp3 >/dev/null &&
	musefs-scan --db "$DB" lib >/dev/null &&
	mf_mount mnt --db "$DB" --template "\$title" --poll-interval-ms 100 &&
	for f in trunc grow inplace renamed deleted cached
	do
		fault_same_audio mnt/$f.flac lib/$f.flac &&
		cp mnt/$f.flac $f.before || return 1
	done &&
	fault_same_audio mnt/mp3inplace.mp3 lib/mp3inplace.mp3 &&
	cp mnt/mp3inplace.mp3 mp3inplace.before
'

# fault_check NAME EXT: a handle opened before the change (fd 7) and a
# fresh open both give EIO and no byte; after a rescan the served file
# carries the new audio exactly. The change itself is done by the caller
# between "exec 7<" and this.
fault_check () {
	fault_drop_caches &&
	fault_eio cat <&7 && exec 7<&- &&
	fault_eio cat mnt/$1.$2 &&
	musefs-scan --db "$DB" lib >scan.out &&
	mf_wait_until 10 fault_served_changed $1 $2 &&
	fault_same_audio mnt/$1.$2 lib/$1.$2
}

# The served file differs from the one before the change and reads whole.
fault_served_changed () {
	cat mnt/$1.$2 >.served 2>/dev/null && ! cmp -s .served $1.before
}

mf_test 'truncated: EIO on the held handle and a fresh open; the rescan serves the rest' '
	exec 7<mnt/trunc.flac &&
	size=$(stat -c %s lib/trunc.flac) &&
	truncate -s $((size / 2)) lib/trunc.flac &&
	fault_check trunc flac
'

mf_test 'grown (appended): EIO, then the rescan serves the new bytes' '
	exec 7<mnt/grow.flac &&
	head -c 5000 /dev/urandom >>lib/grow.flac &&
	fault_check grow flac
'

# fault_rewrite FILE: the same size, other bytes in the audio, the old
# mtime restored: only the ctime tells.
fault_rewrite () {
	mtime=$(stat -c %.9Y "$1") && size=$(stat -c %s "$1") &&
	off=$(fault_row "$1" audio_offset) &&
	head -c 4096 /dev/urandom |
		dd of="$1" bs=1 seek=$((off + 100)) conv=notrunc 2>/dev/null &&
	touch -d "@$mtime" "$1" &&
	test "$(stat -c %.9Y "$1")" = "$mtime" &&
	test "$(stat -c %s "$1")" = "$size"
}

mf_test 'FLAC rewritten in place with its mtime restored: EIO, then the new bytes' '
	exec 7<mnt/inplace.flac &&
	fault_rewrite lib/inplace.flac &&
	fault_check inplace flac
'

mf_test 'MP3 rewritten in place with its mtime restored: EIO, then the new bytes' '
	exec 7<mnt/mp3inplace.mp3 &&
	fault_rewrite lib/mp3inplace.mp3 &&
	fault_check mp3inplace mp3
'

mf_test 'replaced by rename: EIO, then the new file is served' '
	exec 7<mnt/renamed.flac &&
	mf_make_flac new.flac 3 1100 &&
	metaflac --set-tag=ARTIST=Art --set-tag=ALBUM=Alb --set-tag=TITLE=renamed new.flac &&
	mv new.flac lib/renamed.flac &&
	fault_check renamed flac
'

mf_test 'deleted: EIO on the held handle and a fresh open; the pruning rescan drops it' '
	exec 7<mnt/deleted.flac &&
	rm lib/deleted.flac &&
	fault_drop_caches &&
	fault_eio cat <&7 && exec 7<&- &&
	fault_eio cat mnt/deleted.flac &&
	musefs-scan --db "$DB" --prune --prune-limit 100 lib >scan.out &&
	mf_wait_until 10 mount_gone mnt/deleted.flac &&
	fault_same_audio mnt/trunc.flac lib/trunc.flac
'

mf_test 'a handle held across a change may read pages cached before it; nothing else' '
	cat >held.py <<-\EOP &&
	import os, sys
	served, backing, off = sys.argv[1], sys.argv[2], int(sys.argv[3])
	fd = os.open(served, os.O_RDONLY)
	size = os.fstat(fd).st_size
	warm = os.pread(fd, size, 0)
	st = os.stat(backing)
	b = os.open(backing, os.O_WRONLY)
	os.pwrite(b, os.urandom(4096), off + 100)
	os.close(b)
	os.utime(backing, ns=(st.st_atime_ns, st.st_mtime_ns))
	cached = os.pread(fd, size, 0)
	open("/proc/sys/vm/drop_caches", "w").write("3")
	err = "served after the cache was dropped"
	try: os.pread(fd, size, 0)
	except OSError as e: err = os.strerror(e.errno)
	print("cached" if cached == warm else "mixed", err)
	EOP
	/usr/bin/python3 held.py mnt/cached.flac lib/cached.flac 		"$(fault_row lib/cached.flac audio_offset)" >out &&
	echo "cached Input/output error" >expect && test_cmp expect out &&
	fault_eio cat mnt/cached.flac
'

mf_test 'unmount cleanly' '
	mf_umount mnt
'

test_done
