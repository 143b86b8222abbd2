#!/bin/sh
# SPDX-License-Identifier: MIT
# t/valgrind-run.sh BUILD [PROVE-ARGS...] - make check-valgrind: the
# end-to-end suite with every musefs program under valgrind memcheck.
#
# It writes one wrapper per program into BUILD/valgrind/bin that execs
# valgrind on BUILD/bin/PROGRAM (same PID, so mf_mount's bookkeeping and
# kill-by-PID still hold), runs `prove` with MF_VALGRIND=BUILD/valgrind
# (t/lib.sh then puts the wrappers first in PATH and stretches its waits),
# and reads every process's log: the run fails unless each one ends in
# "ERROR SUMMARY: 0 errors", whatever prove said. Errors counted are
# memcheck's (invalid reads and writes, uninitialised values steering a
# branch or a syscall, bad frees, overlapping copies) and leaks definitely
# or indirectly lost at exit. Children the programs exec (musefs ->
# musefs-mount) are followed; system tools are not.
#
# PROVE-ARGS default to `-r t/`. Logs stay in BUILD/valgrind/logs, one per
# process, named TEST.PID.log.
set -u

B=$1
shift
case $B in /*) ;; *) B=$(pwd -P)/$B ;; esac
src=$(cd "$(dirname "$0")/.." && pwd -P)
vg=$B/valgrind

command -v valgrind >/dev/null || {
	echo "valgrind-run: valgrind is not installed (make deps)" >&2
	exit 2
}
rm -rf "$vg" && mkdir -p "$vg/bin" "$vg/logs" || exit 2
# tests run some programs as nobody: every user may add its log
chmod 1777 "$vg/logs" || exit 2

for p in musefs-scan musefs-mount musefs-stat musefs; do
	test -x "$B/bin/$p" || { echo "valgrind-run: no $B/bin/$p (make all)" >&2; exit 2; }
	cat >"$vg/bin/$p" <<EOF
#!/bin/sh
exec valgrind --tool=memcheck --error-exitcode=0 \\
	--leak-check=full --show-leak-kinds=definite,indirect \\
	--errors-for-leak-kinds=definite,indirect \\
	--track-origins=yes --num-callers=30 --fair-sched=yes \\
	--trace-children=yes \\
	--trace-children-skip='/usr/*,/bin/*,/sbin/*,$vg/bin/*' \\
	--suppressions='$src/t/valgrind.supp' \\
	--log-file='$vg/logs/%q{MF_TEST_NAME}.%p.log' \\
	'$B/bin/$p' "\$@"
EOF
	chmod 755 "$vg/bin/$p" || exit 2
done

test $# -gt 0 || set -- -r t/
cd "$src" || exit 2
MF_VALGRIND=$vg MF_BUILD=$B prove "$@"
prove_rc=$?

# Every log must end in a clean summary; a log without one is a process
# valgrind lost track of (killed with -9 by a test on purpose: counted
# apart, not an error).
n=0 clean=0 dirty=0 cut=0
for f in "$vg"/logs/*.log; do
	test -e "$f" || continue
	n=$((n + 1))
	if grep -q 'ERROR SUMMARY: 0 errors' "$f"; then
		clean=$((clean + 1))
	elif grep -q 'ERROR SUMMARY:' "$f"; then
		dirty=$((dirty + 1))
		echo "valgrind-run: errors in ${f##*/}:"
		grep -E '^==[0-9]+== (Command:|[A-Z][a-z].*(Invalid|uninitialised|lost|free|overlap|Mismatched))' "$f" |
			head -n 8 | sed 's/^/    /'
	else
		cut=$((cut + 1))
	fi
done
echo "valgrind-run: $n processes under memcheck: $clean clean, $dirty with errors, $cut ended without a summary (killed)"
test "$n" -gt 0 || { echo "valgrind-run: no process ran under valgrind" >&2; exit 1; }
test "$dirty" = 0 || exit 1
exit "$prove_rc"
