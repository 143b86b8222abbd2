-- SPDX-License-Identifier: MIT
-- musefs extension tables (do not change the core contract or
-- user_version; versioned by musefs_meta 'ext_version').

-- Audio properties from the stream header, refreshed by every probe.
CREATE TABLE track_props (
	track_id        INTEGER PRIMARY KEY REFERENCES tracks(id) ON DELETE CASCADE,
	sample_rate     INTEGER NOT NULL DEFAULT 0,
	channels        INTEGER NOT NULL DEFAULT 0,
	bits_per_sample INTEGER NOT NULL DEFAULT 0,
	total_samples   INTEGER NOT NULL DEFAULT 0,
	duration_ms     INTEGER NOT NULL DEFAULT 0,
	bitrate_kbps    INTEGER NOT NULL DEFAULT 0
);

-- One row per scanner run.
CREATE TABLE scan_runs (
	id         INTEGER PRIMARY KEY,
	started_at INTEGER NOT NULL,
	ended_at   INTEGER,
	roots      TEXT NOT NULL DEFAULT '',
	seen       INTEGER NOT NULL DEFAULT 0,
	new        INTEGER NOT NULL DEFAULT 0,
	changed    INTEGER NOT NULL DEFAULT 0,
	unchanged  INTEGER NOT NULL DEFAULT 0,
	skipped    INTEGER NOT NULL DEFAULT 0,
	failed     INTEGER NOT NULL DEFAULT 0,
	bytes_read INTEGER NOT NULL DEFAULT 0,
	outcome    TEXT NOT NULL DEFAULT 'running'
	           CHECK (outcome IN ('running', 'ok', 'partial', 'failed',
	                              'interrupted'))
);
