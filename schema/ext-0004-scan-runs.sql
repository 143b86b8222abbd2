-- SPDX-License-Identifier: MIT
-- scan_runs counts for moved and pruned tracks (musefs-scan move
-- detection and --prune), read by musefs-stat.
ALTER TABLE scan_runs ADD COLUMN moved INTEGER NOT NULL DEFAULT 0;
ALTER TABLE scan_runs ADD COLUMN pruned INTEGER NOT NULL DEFAULT 0;
