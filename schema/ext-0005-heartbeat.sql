-- SPDX-License-Identifier: MIT
-- Mount heartbeats: one row per (host, mountpoint), upserted by
-- musefs-mount every --heartbeat-s seconds and marked stopped on a clean
-- exit; read by musefs-stat. Never touches tracks, so no changelog entry.
-- metrics holds the mount's counters as "key=value" lines (docs/metrics.md).
CREATE TABLE mount_heartbeats (
	id          INTEGER PRIMARY KEY,
	hostname    TEXT NOT NULL,
	mountpoint  TEXT NOT NULL,
	pid         INTEGER NOT NULL CHECK (pid > 0),
	template    TEXT NOT NULL DEFAULT '',
	mode        TEXT NOT NULL DEFAULT '',
	interval_s  INTEGER NOT NULL CHECK (interval_s > 0),
	started_at  INTEGER NOT NULL,
	updated_at  INTEGER NOT NULL,
	stopped_at  INTEGER,
	state       TEXT NOT NULL DEFAULT 'running'
	            CHECK (state IN ('running', 'stopped')),
	metrics     TEXT NOT NULL DEFAULT '',
	UNIQUE (hostname, mountpoint)
);
