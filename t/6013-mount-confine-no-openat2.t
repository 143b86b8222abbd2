#!/bin/sh
# SPDX-License-Identifier: MIT
# t/6009's confinement tests once more with openat2 unavailable
# (MUSEFS_TEST_NO_OPENAT2: as on Linux < 5.6, under a seccomp filter that
# answers ENOSYS, or under valgrind): the component walk that replaces it
# must refuse the same rows with the same reasons.
MUSEFS_TEST_NO_OPENAT2=1
export MUSEFS_TEST_NO_OPENAT2
. "${0%/*}/6009-mount-confine-default.t"
