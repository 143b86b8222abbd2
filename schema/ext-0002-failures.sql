-- SPDX-License-Identifier: MIT
-- Files the scanner could not parse, with the stamp they had: an unchanged
-- bad file is reported again without being re-read.
CREATE TABLE scan_failures (
	path             TEXT PRIMARY KEY,
	backing_size     INTEGER NOT NULL,
	backing_mtime_ns INTEGER NOT NULL,
	backing_ctime_ns INTEGER NOT NULL,
	reason           TEXT NOT NULL,
	failed_at        INTEGER NOT NULL DEFAULT (unixepoch())
);
