-- SPDX-License-Identifier: MIT
-- The library roots musefs-scan has walked, with the device (st_dev) each
-- was on: --prune refuses when a root is now on a different filesystem
-- (an unmounted disk or NFS share shows the empty mount point instead).
CREATE TABLE scan_roots (
	root       TEXT PRIMARY KEY,
	dev        INTEGER NOT NULL,
	scanned_at INTEGER NOT NULL DEFAULT (unixepoch())
);
