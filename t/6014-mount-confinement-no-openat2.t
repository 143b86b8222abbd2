#!/bin/sh
# SPDX-License-Identifier: MIT
# t/6005's --root tests once more with openat2 unavailable
# (MUSEFS_TEST_NO_OPENAT2; see t/6013).
MUSEFS_TEST_NO_OPENAT2=1
export MUSEFS_TEST_NO_OPENAT2
. "${0%/*}/6005-mount-confinement.t"
