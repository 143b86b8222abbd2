# SPDX-License-Identifier: MIT
# t/lib.sh - the shell test library every t/NNNN-*.t script sources with
# `. "${0%/*}/lib.sh"` (after setting test_description).
#
# It gives each script a fresh trash directory under $MF_BUILD/t and runs
# there with $MF_BUILD/bin first in PATH and MUSEFS_DB and HOME pointing
# inside the trash, then offers TAP test cases (mf_test, test_done), the
# usual assertions (test_must_fail, test_expect_code, test_cmp), FUSE
# helpers that never leave a mount or a daemon behind (mf_mount, mf_umount)
# and audio fixture helpers (mf_make_flac, mf_make_jpeg, mf_audio_md5).
#
# Divisions, in order: environment and trash; TAP core; assertions;
# prerequisites; FUSE helpers; fixture helpers; start-up.
#
# Environment knobs: MF_BUILD (build tree, default <repo>/build),
# MF_TEST_VERBOSE=1 (show every test's output, not only failures),
# MF_TEST_TRACE=1 (set -x inside test bodies; note that the trace of a
# function whose stderr a test redirects lands in that file),
# MF_TEST_KEEP_TRASH=1 (keep the trash directory after a clean run),
# MF_VALGRIND=DIR (set by t/valgrind-run.sh: DIR/bin's memcheck wrappers
# go first in PATH and every bounded wait here is stretched MF_TIME_SCALE
# times, default 1, or 10 under valgrind).
# Test bodies run in this shell with eval (variables persist between
# tests), stdin from /dev/null and their output captured; never `exit` in
# one, and call mf_mount and test_when_finished outside subshells.

# ---- environment and trash ----

case $0 in
*/*) mf_test_dir=${0%/*} ;;
*) mf_test_dir=. ;;
esac
mf_test_dir=$(cd "$mf_test_dir" && pwd -P) || exit 1
MF_SOURCE=${mf_test_dir%/t}
case $MF_SOURCE in
"$mf_test_dir") MF_SOURCE=$(cd "$mf_test_dir/.." && pwd -P) ;;
esac
MF_BUILD=${MF_BUILD:-$MF_SOURCE/build}
export MF_BUILD MF_SOURCE

mf_test_name=${0##*/}
mf_test_name=${mf_test_name%.t}
mf_test_name=${mf_test_name%.sh}

# Predictable tools: byte-wise sort, no translated messages, and no
# user configuration leaking in.
LC_ALL=C
LANG=C
export LC_ALL LANG
unset XDG_DATA_HOME XDG_CONFIG_HOME XDG_CACHE_HOME MUSEFS_LOG CDPATH \
	GREP_OPTIONS 2>/dev/null
PATH=$MF_BUILD/bin:$PATH
MF_TEST_NAME=$mf_test_name
export PATH MF_TEST_NAME
if test -n "${MF_VALGRIND-}"; then
	PATH=$MF_VALGRIND/bin:$PATH
	MF_TIME_SCALE=${MF_TIME_SCALE:-10}
fi
MF_TIME_SCALE=${MF_TIME_SCALE:-1}
export MF_TIME_SCALE

mf_exit_ok=
mf_test_count=0
mf_test_failed=0
mf_test_skipped=0
mf_mounts=
mf_daemons=
mf_prereqs=,

# ---- TAP core ----

mf_bug () {
	mf_exit_ok=t
	echo "Bail out! t/lib.sh: bug in $mf_test_name: $*"
	exit 1
}

# Print every line of file $1 as a TAP diagnostic.
mf_diag_file () {
	test -s "$1" || return 0
	sed -e 's/^/# /' "$1"
}

# test_when_finished 'cmd': run cmd after the current test, whatever the
# outcome; a failing cleanup fails the test. Cleanups run last-in first-out.
test_when_finished () {
	test -n "$mf_in_test" ||
		mf_bug "test_when_finished outside a test: $*"
	mf_cleanup="{ $*
	} && (exit \"\$mf_eval_ret\"); mf_eval_ret=\$?; $mf_cleanup"
}

# Run one test body in this shell. Its output goes to $mf_test_out.
mf_eval_ () {
	if test -n "$MF_TEST_TRACE"; then
		set -x
		eval "$1"
		mf_eval_ret=$?
		{ set +x; } 2>/dev/null
	else
		eval "$1"
		mf_eval_ret=$?
	fi
	return "$mf_eval_ret"
}

# Run the cleanups test_when_finished queued; they fold the body's status
# and their own into $mf_eval_ret.
mf_run_cleanup_ () {
	eval "$mf_cleanup"
}

# Is every prerequisite in the comma-separated list $1 satisfied?
mf_prereq_ok () {
	mf_prereq_missing=
	mf_save_ifs=$IFS
	IFS=,
	for mf_p in $1; do
		IFS=$mf_save_ifs
		case $mf_p in
		!*)
			case $mf_prereqs in
			*,"${mf_p#!}",*) mf_prereq_missing="$mf_prereq_missing $mf_p" ;;
			esac
			;;
		?*)
			case $mf_prereqs in
			*,"$mf_p",*) ;;
			*) mf_prereq_missing="$mf_prereq_missing $mf_p" ;;
			esac
			;;
		esac
	done
	IFS=$mf_save_ifs
	test -z "$mf_prereq_missing"
}

# mf_test [PREREQS] 'title' 'body'
mf_test () {
	case $# in
	2) mf_t_prereq= ;;
	3) mf_t_prereq=$1; shift ;;
	*) mf_bug "mf_test needs 2 or 3 arguments, got $#: $1" ;;
	esac
	mf_test_count=$((mf_test_count + 1))
	mf_t_title=$1
	if ! mf_prereq_ok "$mf_t_prereq"; then
		mf_test_skipped=$((mf_test_skipped + 1))
		echo "ok $mf_test_count # skip $1 (missing$mf_prereq_missing)"
		return 0
	fi
	mf_cleanup=:
	mf_in_test=t
	mf_eval_ "$2" </dev/null >"$mf_test_out" 2>&1
	mf_eval_ret=$?
	{ set +x; } 2>/dev/null
	if test "$mf_cleanup" != :; then
		mf_run_cleanup_ </dev/null >>"$mf_test_out" 2>&1
	fi
	mf_in_test=
	# A body may have left us anywhere; tests must cd only in subshells.
	if test "$(pwd -P)" != "$mf_trash"; then
		echo "t/lib.sh: the test changed directory to '$(pwd)'" \
			>>"$mf_test_out"
		cd "$mf_trash" || mf_bug "cannot return to '$mf_trash'"
		mf_eval_ret=1
	fi
	if test "$mf_eval_ret" = 0; then
		echo "ok $mf_test_count - $1"
		test -z "$MF_TEST_VERBOSE" || mf_diag_file "$mf_test_out"
	else
		mf_test_failed=$((mf_test_failed + 1))
		echo "not ok $mf_test_count - $1"
		# on stderr: prove shows it even when not verbose, so a
		# CI log says why a test failed, not only which
		{
			printf '%s\n' "$2" | sed -e 's/^/#	/'
			mf_diag_file "$mf_test_out"
		} >&2
	fi
	return 0
}

# test_done: print the plan and exit, non-zero if any test failed.
test_done () {
	if test "$mf_test_failed" -gt 0; then
		echo "# failed $mf_test_failed among $mf_test_count test(s)"
	fi
	echo "1..$mf_test_count"
	mf_exit_ok=t
	mf_cleanup_all
	if test "$mf_test_failed" = 0 && test -z "$MF_TEST_KEEP_TRASH"; then
		mf_remove_trash
	fi
	test "$mf_test_failed" = 0
	exit
}

# skip_all 'reason': skip the whole script (or the rest of it).
skip_all () {
	if test "$mf_test_count" -gt 0; then
		echo "# skipping the remaining tests: $*"
		test_done
	fi
	echo "1..0 # SKIP $*"
	mf_exit_ok=t
	mf_cleanup_all
	mf_remove_trash
	exit 0
}

# ---- assertions ----

# test_must_fail [ok=sigpipe|ok=signal] CMD...: CMD must exit non-zero,
# neither by a signal (unless allowed) nor as "not found" (126, 127).
test_must_fail () {
	case $1 in
	ok=*) mf_tmf_ok=${1#ok=}; shift ;;
	*) mf_tmf_ok= ;;
	esac
	"$@"
	mf_tmf_code=$?
	if test "$mf_tmf_code" = 0; then
		echo >&2 "test_must_fail: command succeeded: $*"
		return 1
	elif test "$mf_tmf_code" = 127 || test "$mf_tmf_code" = 126; then
		echo >&2 "test_must_fail: command not found or not executable ($mf_tmf_code): $*"
		return 1
	elif test "$mf_tmf_code" -gt 128 && test "$mf_tmf_code" -le 192; then
		case $mf_tmf_ok,$mf_tmf_code in
		signal,*|sigpipe,141) return 0 ;;
		esac
		echo >&2 "test_must_fail: died by signal $((mf_tmf_code - 128)): $*"
		return 1
	fi
	return 0
}

# test_expect_code N CMD...: CMD must exit with status N.
test_expect_code () {
	mf_tec_want=$1
	shift
	"$@"
	mf_tec_code=$?
	test "$mf_tec_code" = "$mf_tec_want" && return 0
	echo >&2 "test_expect_code: command exited with $mf_tec_code, we wanted $mf_tec_want: $*"
	return 1
}

# test_cmp EXPECT ACTUAL
test_cmp () {
	diff -u -- "$@"
}

# test_path_is_file / _dir / _missing: with a message on failure.
test_path_is_file () {
	test -f "$1" && return 0
	echo >&2 "file '$1' does not exist"
	return 1
}

test_path_is_dir () {
	test -d "$1" && return 0
	echo >&2 "directory '$1' does not exist"
	return 1
}

test_path_is_missing () {
	test -e "$1" || test -L "$1" || return 0
	echo >&2 "path '$1' exists but should not"
	return 1
}

# ---- prerequisites ----

# mf_have PROG...: are all these programs on PATH?
mf_have () {
	for mf_h in "$@"; do
		command -v "$mf_h" >/dev/null 2>&1 || return 1
	done
	return 0
}

# mf_set_prereq NAME: declare NAME satisfied (for mf_test NAME ...).
mf_set_prereq () {
	mf_prereqs="$mf_prereqs$1,"
}

# mf_require_progs PROG...: skip the whole script unless all are present.
mf_require_progs () {
	for mf_h in "$@"; do
		mf_have "$mf_h" || skip_all "missing program: $mf_h"
	done
}

# ---- FUSE helpers ----

# mf_require_fuse: skip the whole script unless we can mount FUSE.
mf_require_fuse () {
	test -c /dev/fuse || skip_all '/dev/fuse is missing'
	mf_have fusermount3 || skip_all 'fusermount3 is missing'
	if test "$(id -u)" != 0; then
		mf_fm=$(command -v fusermount3)
		test -u "$mf_fm" || skip_all 'not root and fusermount3 is not setuid'
		test -r /dev/fuse && test -w /dev/fuse ||
			skip_all '/dev/fuse is not accessible'
	fi
}

# /proc/self/mountinfo escapes space, tab, newline and backslash in octal.
mf_mountinfo_escape () {
	printf '%s' "$1" | sed -e 's/\\/\\134/g' -e 's/ /\\040/g' \
		-e 's/	/\\011/g'
}

# mf_is_mounted DIR: is anything mounted at DIR (an absolute, resolved path)?
mf_is_mounted () {
	MF_MP=$(mf_mountinfo_escape "$1") \
		awk '$5 == ENVIRON["MF_MP"] { found = 1 } END { exit !found }' \
		/proc/self/mountinfo
}

# Is PID running (and not a zombie waiting to be reaped)?
mf_pid_alive () {
	kill -0 "$1" 2>/dev/null || return 1
	mf_state=$(sed -e 's/.*) //' "/proc/$1/stat" 2>/dev/null) || return 1
	case $mf_state in
	Z*|X*) return 1 ;;
	esac
	return 0
}

mf_now () {
	date +%s
}

# mf_abs DIR: absolute resolved path of an existing directory.
mf_abs () {
	(cd "$1" && pwd -P)
}

mf_mount_log_for () {
	printf '%s/.mount%s.log\n' "$mf_trash" "$(printf '%s' "$1" | tr '/ ' '__')"
}

# mf_runs PID PROGRAM: process PID runs executable PROGRAM (an absolute
# path); under valgrind (MF_VALGRIND) PROGRAM is one of its arguments.
mf_runs () {
	if test -n "${MF_VALGRIND-}"; then
		tr '\0' '\n' <"/proc/$1/cmdline" | grep -qxF "$2"
	else
		test "$(readlink "/proc/$1/exe")" = "$2"
	fi
}

# mf_daemon_of MOUNTPOINT: the PID of the daemonized musefs-mount (no -f)
# serving MOUNTPOINT, found in /proc by its executable (under valgrind:
# an argument) and its last argument.
mf_daemon_of () {
	mf_exe=$(readlink -f "$MF_BUILD/bin/musefs-mount")
	for mf_d in /proc/[0-9]*; do
		mf_runs "${mf_d#/proc/}" "$mf_exe" 2>/dev/null || continue
		if tr '\0' '\n' <"$mf_d/cmdline" 2>/dev/null | tail -n 1 |
			grep -qxF "$1"; then
			echo "${mf_d#/proc/}"
		fi
	done
}

# mf_mount MOUNTPOINT [ARGS...]: start `musefs-mount -f ARGS MOUNTPOINT` in
# the background (log in $MF_MOUNT_LOG, PID in $MF_MOUNT_PID) and wait up
# to 30 s for the mount to appear. Fails at once, showing the log, if the
# daemon dies first. With MF_MOUNT_FORM=daemon, runs the daemonized form
# (`musefs-mount ARGS MOUNTPOINT`, no -f), which returns once the tree is
# mounted; $MF_MOUNT_PID is then the daemon it left running.
# $MF_MOUNT_EXTRA (split on blanks) goes before ARGS: a script that
# sources another runs its tests again with other options.
mf_mount () {
	test $# -ge 1 || mf_bug "mf_mount needs a mountpoint"
	mkdir -p "$1" || return 1
	mf_mp=$(mf_abs "$1") || return 1
	shift
	if mf_is_mounted "$mf_mp"; then
		echo >&2 "mf_mount: '$mf_mp' is already mounted"
		return 1
	fi
	MF_MOUNT_LOG=$(mf_mount_log_for "$mf_mp")
	if test "${MF_MOUNT_FORM-}" = daemon; then
		musefs-mount ${MF_MOUNT_EXTRA-} "$@" "$mf_mp" </dev/null >"$MF_MOUNT_LOG" 2>&1 || {
			mf_status=$?
			echo >&2 "mf_mount: musefs-mount exited with status $mf_status; its log:"
			cat >&2 "$MF_MOUNT_LOG"
			return 1
		}
		MF_MOUNT_PID=$(mf_daemon_of "$mf_mp")
		if test -z "$MF_MOUNT_PID" || ! mf_is_mounted "$mf_mp"; then
			echo >&2 "mf_mount: no daemon serving '$mf_mp' after musefs-mount returned"
			return 1
		fi
		mf_mounts="$mf_mounts$MF_MOUNT_PID $mf_mp
"
		mf_daemons="$mf_daemons $MF_MOUNT_PID "
		return 0
	fi
	musefs-mount -f ${MF_MOUNT_EXTRA-} "$@" "$mf_mp" </dev/null >"$MF_MOUNT_LOG" 2>&1 &
	MF_MOUNT_PID=$!
	mf_mounts="$mf_mounts$MF_MOUNT_PID $mf_mp
"
	mf_deadline=$(($(mf_now) + 30 * MF_TIME_SCALE))
	while ! mf_is_mounted "$mf_mp"; do
		if ! mf_pid_alive "$MF_MOUNT_PID"; then
			wait "$MF_MOUNT_PID"
			mf_status=$?
			mf_forget_mount "$MF_MOUNT_PID"
			echo >&2 "mf_mount: musefs-mount exited with status $mf_status before mounting '$mf_mp'; its log:"
			cat >&2 "$MF_MOUNT_LOG"
			return 1
		fi
		if test "$(mf_now)" -gt "$mf_deadline"; then
			echo >&2 "mf_mount: '$mf_mp' not mounted after 30 s; log:"
			cat >&2 "$MF_MOUNT_LOG"
			return 1
		fi
		sleep 0.1
	done
	return 0
}

# mf_mount_wait PID: the exit status of musefs-mount PID, started by
# mf_mount, once it has exited. A daemon (MF_MOUNT_FORM=daemon) is no
# child of the shell: 0 once it is gone, as no status can be read.
mf_mount_wait () {
	case $mf_daemons in
	*" $1 "*)
		! mf_pid_alive "$1" ;;
	*)
		wait "$1" ;;
	esac
}

# The PID recorded for mountpoint $1 (empty if none).
mf_mount_pid () {
	printf '%s' "$mf_mounts" | while read -r mf_p mf_m; do
		if test "$mf_m" = "$1"; then
			echo "$mf_p"
			break
		fi
	done
}

mf_forget_mount () {
	mf_mounts=$(printf '%s' "$mf_mounts" | awk -v p="$1" '$1 != p')
	test -z "$mf_mounts" || mf_mounts="$mf_mounts
"
}

# mf_umount MOUNTPOINT: fusermount3 -u, then wait up to 10 s (times
# MF_TIME_SCALE) for the daemon
# started by mf_mount to exit; fail if it does not, or exits non-zero.
mf_umount () {
	mf_mp=$(mf_abs "$1") || return 1
	mf_pid=$(mf_mount_pid "$mf_mp")
	if test -z "$mf_pid"; then
		echo >&2 "mf_umount: '$mf_mp' was not mounted by mf_mount"
		return 1
	fi
	MF_MOUNT_LOG=$(mf_mount_log_for "$mf_mp")
	mf_deadline=$(($(mf_now) + 10 * MF_TIME_SCALE))
	until fusermount3 -u "$mf_mp"; do
		if test "$(mf_now)" -gt "$mf_deadline"; then
			echo >&2 "mf_umount: cannot unmount '$mf_mp'"
			return 1
		fi
		sleep 0.2
	done
	while mf_pid_alive "$mf_pid"; do
		if test "$(mf_now)" -gt "$mf_deadline"; then
			echo >&2 "mf_umount: musefs-mount (pid $mf_pid) still running 10 s after unmounting '$mf_mp'; log:"
			cat >&2 "$MF_MOUNT_LOG"
			return 1
		fi
		sleep 0.1
	done
	mf_mount_wait "$mf_pid"
	mf_status=$?
	mf_forget_mount "$mf_pid"
	if test "$mf_status" != 0; then
		echo >&2 "mf_umount: musefs-mount exited with status $mf_status; log:"
		cat >&2 "$MF_MOUNT_LOG"
		return 1
	fi
	return 0
}

# Unmount what this script mounted and stop only the daemons it started.
mf_cleanup_all () {
	test -n "$mf_mounts" || return 0
	while read -r mf_p mf_m; do
		test -n "$mf_p" || continue
		if mf_is_mounted "$mf_m"; then
			fusermount3 -u "$mf_m" 2>/dev/null ||
				fusermount3 -u -z "$mf_m" 2>/dev/null
		fi
		mf_n=0
		while mf_pid_alive "$mf_p" && test "$mf_n" -lt 20; do
			sleep 0.1
			mf_n=$((mf_n + 1))
		done
		if mf_pid_alive "$mf_p"; then
			kill "$mf_p" 2>/dev/null
			mf_n=0
			while mf_pid_alive "$mf_p" && test "$mf_n" -lt 20; do
				sleep 0.1
				mf_n=$((mf_n + 1))
			done
			mf_pid_alive "$mf_p" && kill -9 "$mf_p" 2>/dev/null
		fi
	done <<EOF
$mf_mounts
EOF
	mf_mounts=
}

# Mountpoints below the trash directory, one per line (escaped).
mf_mounts_in_trash () {
	MF_MP=$(mf_mountinfo_escape "$mf_trash/") \
		awk 'index($5, ENVIRON["MF_MP"]) == 1 { print $5 }' \
		/proc/self/mountinfo
}

# Remove the trash directory, but never through a live mount.
mf_remove_trash () {
	cd "$mf_trash_parent" || return 1
	if test -n "$(mf_mounts_in_trash)"; then
		echo "# t/lib.sh: something is still mounted in '$mf_trash'; keeping it"
		return 1
	fi
	rm -rf "$mf_trash" "$mf_test_out"
}

mf_on_exit () {
	mf_code=$?
	if test -z "$mf_exit_ok"; then
		if test -n "$mf_in_test"; then
			echo "not ok $mf_test_count - $mf_t_title"
			mf_diag_file "$mf_test_out"
		fi
		echo "Bail out! $mf_test_name: unexpected exit with status $mf_code (a test body called exit?)"
		mf_exit_ok=t
		mf_cleanup_all
		exit 1
	fi
	mf_cleanup_all
	exit "$mf_code"
}

# ---- fixture helpers ----

# mf_audio_md5 FILE: MD5 of the decoded audio (independent of metadata).
mf_audio_md5 () {
	ffmpeg -nostdin -v error -i "$1" -map 0:a -f md5 -
}

# mf_make_flac OUT SECONDS FREQ: a 44.1 kHz 16-bit stereo sine as FLAC.
# Dither is off, so the same SECONDS and FREQ give the same audio: vary
# them to get files that differ.
# mf_wait_until SECONDS CMD...: run CMD every 0.1 s until it succeeds;
# fail (status 1) if it has not succeeded within SECONDS. Use instead of a
# fixed sleep: it returns as soon as the condition holds.
mf_wait_until () {
	mf_wait_deadline_=$(( $(date +%s) + $1 * MF_TIME_SCALE )) &&
	shift &&
	until "$@"
	do
		if test "$(date +%s)" -ge "$mf_wait_deadline_"
		then
			echo "# condition not met in time: $*" >&2
			return 1
		fi
		sleep 0.1
	done
}

mf_make_flac () {
	mf_wav=$mf_trash/.mf-make-flac.$$.wav
	sox -D -n -r 44100 -c 2 -b 16 "$mf_wav" synth "$2" sine "$3" &&
	flac -s -f -o "$1" "$mf_wav" &&
	rm -f "$mf_wav"
}

# mf_make_jpeg OUT WxH COLOR: a one-colour JPEG.
mf_make_jpeg () {
	ffmpeg -nostdin -v error -y -f lavfi -i "color=c=$3:s=$2" \
		-frames:v 1 "$1"
}

# ---- start-up ----

mf_trash_parent=$MF_BUILD/t
mkdir -p "$mf_trash_parent" || exit 1
mf_trash_parent=$(mf_abs "$mf_trash_parent") || exit 1
mf_trash=$mf_trash_parent/trash.$mf_test_name
mf_test_out=$mf_trash_parent/$mf_test_name.out

trap 'mf_on_exit' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# A previous run killed hard may have left mounts in its trash: detach
# them lazily before removing anything.
if test -d "$mf_trash"; then
	for mf_m in $(mf_mounts_in_trash); do
		fusermount3 -u -z "$(printf '%b' "$(printf '%s' "$mf_m" | sed 's/\\\([0-7][0-7][0-7]\)/\\0\1/g')")" 2>/dev/null
	done
	if test -n "$(mf_mounts_in_trash)"; then
		mf_exit_ok=t
		echo "Bail out! '$mf_trash' still has mounts in it"
		exit 1
	fi
	rm -rf "$mf_trash" || exit 1
fi
mkdir -p "$mf_trash/home" || exit 1
cd "$mf_trash" || exit 1
mf_trash=$(pwd -P)

HOME=$mf_trash/home
MUSEFS_DB=$mf_trash/library.db
export HOME MUSEFS_DB
MF_TRASH=$mf_trash
export MF_TRASH

if test -n "$test_description"; then
	echo "# $mf_test_name: $test_description" | head -n 1
fi
