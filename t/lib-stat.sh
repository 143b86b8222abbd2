# SPDX-License-Identifier: MIT
# t/lib-stat.sh - helpers for the telemetry tests (t/50NN-*.t): SQL on the
# test store, rows constructed by hand (tracks, scan runs, heartbeats), a
# JSON reader, and a check of Prometheus text exposition format 0.0.4
# (promtool check metrics when present, and always a strict parser).
# Source after t/lib.sh.

PYTHON=${PYTHON:-/usr/bin/python3}
test -x "$PYTHON" || PYTHON=$(command -v python3) || skip_all 'missing python3'

# Run SQL on the test store (waiting out a busy writer such as a heartbeat).
stat_sql () {
	sqlite3 -batch -cmd '.timeout 5000' "$MUSEFS_DB" "$@"
}

# stat_new_store: an empty, migrated store (a scan of an empty directory).
stat_new_store () {
	mkdir -p empty-root &&
	musefs-scan -q empty-root &&
	stat_sql "DELETE FROM scan_runs"
}

# stat_add_tracks N FORMAT [SIZE]: N synthetic tracks of FORMAT, SIZE bytes each.
stat_add_tracks () {
	stat_sql "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1)
		INSERT INTO tracks (backing_path, format, audio_offset, audio_length,
			backing_size, backing_mtime_ns, backing_ctime_ns)
		SELECT '/synthetic/$2/' || i || '-' || abs(random()), '$2', 0, ${3:-1000},
			${3:-1000}, 1, 1 FROM n"
}

# stat_add_scan OUTCOME STARTED ENDED|NULL [FAILED]: one scan_runs row.
stat_add_scan () {
	stat_sql "INSERT INTO scan_runs (started_at, ended_at, roots, seen, new,
		changed, unchanged, skipped, failed, bytes_read, outcome, moved, pruned)
		VALUES ($2, $3, '/music', 10, 2, 1, 7, 0, ${4:-0}, 4096, '$1', 1, 0)"
}

# stat_add_heartbeat HOST MOUNTPOINT PID STATE UPDATED_AT INTERVAL METRICS
stat_add_heartbeat () {
	stat_sql "INSERT INTO mount_heartbeats (hostname, mountpoint, pid, template,
		mode, interval_s, started_at, updated_at, stopped_at, state, metrics)
		VALUES ('$1', '$2', $3, '\$artist/\$title', 'synthesis', $6,
			$5 - 100, $5, CASE WHEN '$4' = 'stopped' THEN $5 END, '$4',
			replace('$7', ' ', char(10)))"
}

# stat_json FILE EXPR: print EXPR evaluated on the JSON object in FILE as
# `j` (python syntax, e.g. j["tracks"]["total"]); fails if FILE is not
# exactly one valid JSON document.
stat_json () {
	"$PYTHON" -c '
import json, sys
with open(sys.argv[1]) as f:
    j = json.load(f)
v = eval(sys.argv[2], {"j": j})
print(json.dumps(v) if isinstance(v, (dict, list, type(None), bool)) else v)
' "$1" "$2"
}

# stat_prom_check FILE: FILE must be valid Prometheus text format.
stat_prom_check () {
	if mf_have promtool; then
		promtool check metrics <"$1" || return 1
	fi
	"$PYTHON" - "$1" <<'EOF'
import re, sys

NAME = r'[a-zA-Z_:][a-zA-Z0-9_:]*'
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*'
VALUE = r'(?:[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?|[-+]?Inf|NaN)'
LVAL = r'"(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(r'^(%s)(?:\{((?:%s=%s)(?:,%s=%s)*)?,?\})? (%s)$' %
                    (NAME, LABEL, LVAL, LABEL, LVAL, VALUE))
PAIR = re.compile(r'(%s)=(%s)' % (LABEL, LVAL))

def fail(n, msg):
    sys.exit("line %d: %s" % (n, msg))

data = open(sys.argv[1], 'rb').read().decode('utf-8')
if not data.endswith('\n'):
    sys.exit('no newline at the end')
help_, type_, closed, series = {}, {}, set(), set()
current = None
for n, line in enumerate(data[:-1].split('\n'), 1):
    if not line:
        fail(n, 'empty line')
    if line.startswith('#'):
        m = re.match(r'^# (HELP|TYPE) (%s) (.*)$' % NAME, line)
        if not m:
            fail(n, 'comment that is neither HELP nor TYPE: %r' % line)
        kind, name, rest = m.groups()
        if name != current:
            if current is not None:
                closed.add(current)
            if name in closed:
                fail(n, 'family %s appears twice' % name)
            current = name
        if kind == 'HELP':
            if name in help_ or name in type_:
                fail(n, 'HELP must come first, once: %s' % name)
            if re.search(r'\\[^\\n]', rest) or rest.endswith('\\') and not rest.endswith('\\\\'):
                fail(n, 'bad escape in HELP')
            help_[name] = rest
        else:
            if rest not in ('counter', 'gauge'):
                fail(n, 'unexpected type %r' % rest)
            if name in type_:
                fail(n, 'TYPE twice for %s' % name)
            if rest == 'counter' and not name.endswith('_total'):
                fail(n, 'counter %s does not end in _total' % name)
            if rest == 'gauge' and name.endswith('_total'):
                fail(n, 'gauge %s ends in _total' % name)
            type_[name] = rest
        continue
    m = SAMPLE.match(line)
    if not m:
        fail(n, 'malformed sample: %r' % line)
    name, labels, value = m.groups()
    if name != current or name not in type_ or name not in help_:
        fail(n, 'sample %s outside its family (after HELP and TYPE)' % name)
    pairs = PAIR.findall(labels or '')
    names = [p[0] for p in pairs]
    if len(set(names)) != len(names):
        fail(n, 'duplicate label name')
    key = (name, tuple(sorted(pairs)))
    if key in series:
        fail(n, 'duplicate series %r' % (key,))
    series.add(key)
    if type_[name] == 'counter' and float(value) < 0:
        fail(n, 'negative counter')
for name in type_:
    if not any(s[0] == name for s in series):
        fail(0, 'family %s has no sample' % name)
EOF
}

# stat_prom_value FILE SERIES: the value of the sample whose name and
# labels are exactly SERIES (e.g. 'musefs_tracks{format="flac"}').
stat_prom_value () {
	awk -v s="$2" 'index($0, s " ") == 1 { print substr($0, length(s) + 2); found = 1 }
		END { exit !found }' "$1"
}

# stat_prom_documented FILE: every family in FILE is in docs/metrics.md;
# prints how many families FILE has.
stat_prom_documented () {
	sed -n "s/^# TYPE \([^ ]*\) .*/\1/p" "$1" >"$1.families" &&
	while read -r stat_f; do
		grep -q "\`$stat_f\`" "$MF_SOURCE/docs/metrics.md" || {
			echo >&2 "undocumented metric: $stat_f"; return 1; }
	done <"$1.families" &&
	wc -l <"$1.families"
}

# stat_require_ro_bind SRC DIR: skip the whole script unless SRC can be
# bind-mounted at DIR (created) and remounted read-only (left unmounted).
stat_require_ro_bind () {
	mkdir -p "$1" "$2"
	if ! mount --bind "$1" "$2" 2>/dev/null; then
		skip_all 'cannot bind-mount'
	fi
	if ! mount -o remount,bind,ro "$2" 2>/dev/null; then
		umount "$2"
		skip_all 'cannot remount read-only'
	fi
	umount "$2"
}
