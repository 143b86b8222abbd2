-- SPDX-License-Identifier: MIT
-- musefs store, core contract (user_version 2): content_version bumps and
-- the self-pruning changelog that mounts follow.
--
-- Anything that changes a track's served bytes bumps tracks.content_version
-- and updated_at; every bump, insert and delete appends (seq, track_id) to
-- track_changes, which keeps the last 8192 entries.

CREATE TABLE track_changes (
	seq      INTEGER PRIMARY KEY AUTOINCREMENT,
	track_id INTEGER NOT NULL
);

CREATE TRIGGER track_changes_prune AFTER INSERT ON track_changes
BEGIN
	DELETE FROM track_changes WHERE seq <= NEW.seq - 8192;
END;

-- content_version only moves forward: a cache keyed by (id, version)
-- must never see an old pair again.
CREATE TRIGGER tracks_version_forward BEFORE UPDATE OF content_version ON tracks
WHEN NEW.content_version < OLD.content_version
BEGIN
	SELECT RAISE(ABORT, 'content_version may only increase');
END;

CREATE TRIGGER tracks_log_insert AFTER INSERT ON tracks
BEGIN
	INSERT INTO track_changes (track_id) VALUES (NEW.id);
END;

CREATE TRIGGER tracks_log_delete AFTER DELETE ON tracks
BEGIN
	INSERT INTO track_changes (track_id) VALUES (OLD.id);
END;

CREATE TRIGGER tracks_log_version AFTER UPDATE OF content_version ON tracks
WHEN NEW.content_version IS NOT OLD.content_version
BEGIN
	INSERT INTO track_changes (track_id) VALUES (NEW.id);
END;

-- The scanner's structural columns: a change bumps the version unless the
-- writer bumped it in the same statement.
CREATE TRIGGER tracks_bump_structure
AFTER UPDATE OF backing_path, format, audio_offset, audio_length, backing_size,
	backing_mtime_ns, backing_ctime_ns ON tracks
WHEN NEW.content_version IS OLD.content_version
BEGIN
	UPDATE tracks SET content_version = content_version + 1,
		updated_at = unixepoch() WHERE id = NEW.id;
END;

CREATE TRIGGER tags_bump_insert AFTER INSERT ON tags
BEGIN
	UPDATE tracks SET content_version = content_version + 1,
		updated_at = unixepoch() WHERE id = NEW.track_id;
END;

CREATE TRIGGER tags_bump_update AFTER UPDATE ON tags
BEGIN
	UPDATE tracks SET content_version = content_version + 1,
		updated_at = unixepoch() WHERE id IN (NEW.track_id, OLD.track_id);
END;

CREATE TRIGGER tags_bump_delete AFTER DELETE ON tags
BEGIN
	UPDATE tracks SET content_version = content_version + 1,
		updated_at = unixepoch() WHERE id = OLD.track_id;
END;

CREATE TRIGGER track_art_bump_insert AFTER INSERT ON track_art
BEGIN
	UPDATE tracks SET content_version = content_version + 1,
		updated_at = unixepoch() WHERE id = NEW.track_id;
END;

CREATE TRIGGER track_art_bump_update AFTER UPDATE ON track_art
BEGIN
	UPDATE tracks SET content_version = content_version + 1,
		updated_at = unixepoch() WHERE id IN (NEW.track_id, OLD.track_id);
END;

CREATE TRIGGER track_art_bump_delete AFTER DELETE ON track_art
BEGIN
	UPDATE tracks SET content_version = content_version + 1,
		updated_at = unixepoch() WHERE id = OLD.track_id;
END;

CREATE TRIGGER structural_bump_insert AFTER INSERT ON structural_blocks
BEGIN
	UPDATE tracks SET content_version = content_version + 1,
		updated_at = unixepoch() WHERE id = NEW.track_id;
END;

CREATE TRIGGER structural_bump_update AFTER UPDATE ON structural_blocks
BEGIN
	UPDATE tracks SET content_version = content_version + 1,
		updated_at = unixepoch() WHERE id IN (NEW.track_id, OLD.track_id);
END;

CREATE TRIGGER structural_bump_delete AFTER DELETE ON structural_blocks
BEGIN
	UPDATE tracks SET content_version = content_version + 1,
		updated_at = unixepoch() WHERE id = OLD.track_id;
END;

PRAGMA user_version = 2;
