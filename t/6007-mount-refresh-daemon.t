#!/bin/sh
# SPDX-License-Identifier: MIT
# t/6001-mount-refresh.t again with the mount daemonized (no -f), as
# fstab, mount(8) and the README quick start run it.
MF_MOUNT_FORM=daemon
. "${0%/*}/6001-mount-refresh.t"
