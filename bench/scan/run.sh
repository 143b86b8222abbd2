#!/bin/sh
# SPDX-License-Identifier: MIT
# bench/scan/run.sh - `make bench-scan`: musefs-scan against mpd and beets
# on one corpus of small real FLAC, MP3, M4A and WAV files, warm page cache.
#
# Measures, in one run: musefs-scan cold scan into an empty store, a
# no-change rescan and a rescan after touching 1% of the files (each
# BENCH_RUNS times; medians), peak RSS of the cold scan; mpd cold update
# and no-change update (`mpc update --wait`, private config on loopback);
# beets (`beet import -A -q`, private config) on the first BENCH_BEETS_FILES
# files. Prints files/s and the ratios the issue sets as targets.
#
# Knobs: BENCH_FILES (100000), BENCH_RUNS (3), BENCH_JOBS (CPU count),
# BENCH_BEETS_FILES (BENCH_FILES), BENCH_DIR (build/bench-scan), MF_BUILD.
set -eu

N=${BENCH_FILES:-100000}
RUNS=${BENCH_RUNS:-3}
JOBS=${BENCH_JOBS:-$(nproc)}
BEETS_N=${BENCH_BEETS_FILES:-$N}
TOP=$(cd "$(dirname "$0")/../.." && pwd -P)
B=${MF_BUILD:-$TOP/build}
W=${BENCH_DIR:-$B/bench-scan}
SCAN=$B/bin/musefs-scan
CORPUS=$W/corpus3-$N

for p in sox flac lame ffmpeg mpd mpc beet /usr/bin/python3; do
	command -v "$p" >/dev/null || { echo "bench-scan: missing $p" >&2; exit 1; }
done
mkdir -p "$W"
W=$(cd "$W" && pwd -P)
CORPUS=$W/corpus3-$N

now () { date +%s.%N; }
# rate FILES SECONDS
rate () { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", (s > 0) ? n / s : 0 }'; }
median () { sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
warm () { find "$CORPUS" -type f -print0 | xargs -0 cat >/dev/null; }

# ---- corpus ----
if ! test -f "$CORPUS/.complete"; then
	echo "bench-scan: building a corpus of $N files (5/10 FLAC, 2/10 MP3, 2/10 M4A, 1/10 WAV) in $CORPUS"
	rm -rf "$CORPUS" "$W/base"
	mkdir -p "$W/base" "$CORPUS"
	i=0
	for spec in "0.10 220" "0.15 330" "0.20 440" "0.12 550" "0.18 660" "0.25 770" "0.08 880" "0.22 990"; do
		set -- $spec
		sox -D -n -r 44100 -c 2 -b 16 "$W/base/$i.wav" synth "$1" sine "$2"
		flac -s -f -o "$W/base/$i.flac" "$W/base/$i.wav"
		lame --silent -b 128 "$W/base/$i.wav" "$W/base/$i.mp3"
		ffmpeg -nostdin -v error -y -i "$W/base/$i.wav" -c:a aac -b:a 96k "$W/base/$i.m4a"
		i=$((i + 1))
	done
	/usr/bin/python3 "$TOP/bench/scan/mkcorpus.py" "$W/base" "$CORPUS" "$N"
	touch "$CORPUS/.complete"
fi
echo "bench-scan: corpus $CORPUS: $N files ($(find "$CORPUS" -name '*.flac' | wc -l) FLAC, $(find "$CORPUS" -name '*.mp3' | wc -l) MP3, $(find "$CORPUS" -name '*.m4a' | wc -l) M4A, $(find "$CORPUS" -name '*.wav' | wc -l) WAV), $(du -sh "$CORPUS" | cut -f1); jobs=$JOBS; runs=$RUNS; load $(cut -d' ' -f1-3 /proc/loadavg)"

# The 1% of files a touched rescan sees changed (every 100th).
find "$CORPUS" -type f ! -name '.*' | sort | awk 'NR % 100 == 0' >"$W/touch.list"
NT=$(wc -l <"$W/touch.list")
touch_some () { xargs -d '\n' touch <"$W/touch.list"; }

# ---- musefs-scan ----
DB=$W/musefs.db
: >"$W/cold.t"; : >"$W/nochange.t"; : >"$W/touched.t"; : >"$W/rss"
r=0
while test "$r" -lt "$RUNS"; do
	rm -f "$DB" "$DB-wal" "$DB-shm"
	warm
	t0=$(now)
	/usr/bin/time -f %M -o "$W/rss.1" "$SCAN" -q -j "$JOBS" --db "$DB" "$CORPUS"
	t1=$(now)
	echo "$t1 - $t0" | bc -l >>"$W/cold.t"
	cat "$W/rss.1" >>"$W/rss"
	t0=$(now); "$SCAN" -q -j "$JOBS" --db "$DB" "$CORPUS"; t1=$(now)
	echo "$t1 - $t0" | bc -l >>"$W/nochange.t"
	touch_some
	t0=$(now); "$SCAN" -q -j "$JOBS" --db "$DB" "$CORPUS"; t1=$(now)
	echo "$t1 - $t0" | bc -l >>"$W/touched.t"
	r=$((r + 1))
done
"$SCAN" --json -j "$JOBS" --db "$DB" "$CORPUS" >"$W/last.json"
stored=$(sqlite3 "$DB" "SELECT count(*) FROM tracks")
changes=$(sqlite3 "$DB" "SELECT count(*) FROM track_changes")
test "$stored" = "$N" || { echo "bench-scan: musefs stored $stored of $N files" >&2; exit 1; }
M_COLD=$(median <"$W/cold.t"); M_NOCH=$(median <"$W/nochange.t"); M_TOUCH=$(median <"$W/touched.t")
RSS=$(sort -n "$W/rss" | tail -1)

# ---- mpd ----
PORT=$((20000 + $$ % 20000))
mkdir -p "$W/mpd" "$W/mpd/empty"
mpd_conf () {
	cat >"$W/mpd/mpd.conf" <<-EOC
	music_directory "$1"
	db_file "$W/mpd/db"
	log_file "$W/mpd/log"
	pid_file "$W/mpd/pid"
	bind_to_address "127.0.0.1"
	port "$PORT"
	auto_update "no"
	audio_output {
		type "null"
		name "null"
	}
	EOC
}
mpd_pid=
mpd_start () {
	mpd --no-daemon "$W/mpd/mpd.conf" 2>>"$W/mpd/stderr" &
	mpd_pid=$!
	i=0
	until mpc -q -p "$PORT" status >/dev/null 2>&1; do
		i=$((i + 1)); test "$i" -lt 100 || { echo "bench-scan: mpd did not start" >&2; exit 1; }
		sleep 0.1
	done
}
mpd_stop () {
	test -n "$mpd_pid" || return 0
	kill "$mpd_pid" 2>/dev/null || :
	wait "$mpd_pid" 2>/dev/null || :
	mpd_pid=
}
trap 'mpd_stop' EXIT
: >"$W/mpd.cold.t"; : >"$W/mpd.nochange.t"
r=0
while test "$r" -lt "$RUNS"; do
	# a valid empty database first, so the start-up does not scan
	rm -f "$W/mpd/db"
	mpd_conf "$W/mpd/empty"; mpd_start; mpc -q -p "$PORT" update --wait; mpd_stop
	mpd_conf "$CORPUS"; mpd_start
	warm
	t0=$(now); mpc -q -p "$PORT" update --wait; t1=$(now)
	echo "$t1 - $t0" | bc -l >>"$W/mpd.cold.t"
	t0=$(now); mpc -q -p "$PORT" update --wait; t1=$(now)
	echo "$t1 - $t0" | bc -l >>"$W/mpd.nochange.t"
	mpd_songs=$(mpc -p "$PORT" stats | awk '/^Songs:/ { print $2 }')
	mpd_stop
	r=$((r + 1))
done
P_COLD=$(median <"$W/mpd.cold.t"); P_NOCH=$(median <"$W/mpd.nochange.t")

# ---- beets ----
BD=$W/beets
rm -rf "$BD"; mkdir -p "$BD/music"
cat >"$BD/config.yaml" <<EOC
directory: $BD/music
library: $BD/library.db
plugins: []
import:
    copy: no
    move: no
    write: no
    resume: no
    incremental: no
    duplicate_action: keep
    log:
EOC
# the first BEETS_N files: whole album directories in corpus order
find "$CORPUS" -mindepth 2 -maxdepth 2 -type d | sort |
	head -n $(( (BEETS_N + 99) / 100 )) >"$W/beets.dirs"
BEETS_FILES=$(xargs -d '\n' -I{} find {} -type f <"$W/beets.dirs" | wc -l)
warm
t0=$(now)
xargs -d '\n' env BEETSDIR="$BD" beet -c "$BD/config.yaml" import -A -q <"$W/beets.dirs" >"$BD/log" 2>&1
t1=$(now)
Q_COLD=$(echo "$t1 - $t0" | bc -l)
beets_items=$(BEETSDIR="$BD" beet -c "$BD/config.yaml" stats 2>/dev/null | awk '/^Tracks:/ { print $2 }')

# ---- report ----
mc=$(rate "$N" "$M_COLD"); mn=$(rate "$N" "$M_NOCH"); mt=$(rate "$N" "$M_TOUCH")
pc=$(rate "$N" "$P_COLD"); pn=$(rate "$N" "$P_NOCH"); qc=$(rate "$BEETS_FILES" "$Q_COLD")
bound=$(echo "2 * $M_NOCH + $NT / ($N / $M_COLD)" | bc -l)
cat <<EOR

musefs-scan bench (medians of $RUNS runs; warm page cache; not pinned; load at end: $(cut -d' ' -f1-3 /proc/loadavg))
  corpus: $N files; musefs stored $stored (changelog entries: $changes); mpd songs: ${mpd_songs:-?}; beets items: ${beets_items:-?} of $BEETS_FILES
  what                      seconds   files/s
  musefs cold scan         $(printf '%8.2f %9s' "$M_COLD" "$mc")   peak RSS $(( RSS / 1024 )) MiB
  musefs no-change rescan  $(printf '%8.2f %9s' "$M_NOCH" "$mn")
  musefs 1% touched ($NT)  $(printf '%8.2f %9s' "$M_TOUCH" "$mt")   bound 2*no-change + probe cost = $(printf '%.2f' "$bound") s
  mpd cold update          $(printf '%8.2f %9s' "$P_COLD" "$pc")
  mpd no-change update     $(printf '%8.2f %9s' "$P_NOCH" "$pn")
  beets import -A          $(printf '%8.2f %9s' "$Q_COLD" "$qc")   ($BEETS_FILES files)
  ratios (target):
    cold vs mpd cold        $(awk -v a="$mc" -v b="$pc" 'BEGIN { printf "%.1fx", a / b }')   (>= 10x)
    cold vs beets           $(awk -v a="$mc" -v b="$qc" 'BEGIN { printf "%.1fx", a / b }')   (>= 100x)
    no-change vs mpd        $(awk -v a="$mn" -v b="$pn" 'BEGIN { printf "%.1fx", a / b }')   (>= 1.5x)
    1% touched vs bound     $(awk -v a="$M_TOUCH" -v b="$bound" 'BEGIN { printf "%.2f", a / b }')   (<= 1)
    peak RSS                $(( RSS / 1024 )) MiB   (<= 64 MiB)
EOR
