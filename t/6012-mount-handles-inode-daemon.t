#!/bin/sh
# SPDX-License-Identifier: MIT
# t/6011-mount-handles-inode.t again with the mount daemonized (no -f),
# as fstab and mount(8) start it.
MF_MOUNT_FORM=daemon
. "${0%/*}/6011-mount-handles-inode.t"
