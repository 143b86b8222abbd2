#!/bin/sh
# SPDX-License-Identifier: MIT
# t/6201-fault-backing.t again with --handles inode (no OPEN round trip,
# backing files found by inode): the stamp is still checked on every
# read that reaches the daemon, so drift is EIO, then the new bytes.
MF_MOUNT_EXTRA='--handles inode'
. "${0%/*}/6201-fault-backing.t"
