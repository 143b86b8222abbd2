-- SPDX-License-Identifier: MIT
-- musefs store, core contract (user_version 2): content_version bumps and
-- the self-pruning changelog that mounts follow.
--
-- Anything that changes a track's served bytes bumps tracks.content_version
-- and updated_at; every bump, insert and delete appends (seq, track_id) to
-- track_changes, which keeps the last 8192 entries.
--
-- Idempotent (IF NOT EXISTS): lib/mf_migrate.c runs it again after
-- conv-0001-1x.sql has rebuilt the tables these triggers are on.

CREATE TABLE IF NOT EXISTS track_changes (
	seq      INTEGER PRIMARY KEY AUTOINCREMENT,
	track_id INTEGER NOT NULL
);

CREATE TRIGGER IF NOT EXISTS track_changes_prune AFTER INSERT ON track_changes
BEGIN
	DELETE FROM track_changes WHERE seq <= NEW.seq - 8192;
END;

-- content_version only moves forward: a cache keyed by (id, version)
-- must never see an old pair again.
CREATE TRIGGER IF NOT EXISTS tracks_version_forward BEFORE UPDATE OF content_version ON tracks
WHEN NEW.content_version < OLD.content_version
BEGIN
	SELECT RAISE(ABORT, 'content_version may only increase');
END;

CREATE TRIGGER IF NOT EXISTS tracks_log_insert AFTER INSERT ON tracks
BEGIN
	INSERT INTO track_changes (track_id) VALUES (NEW.id);
END;

CREATE TRIGGER IF NOT EXISTS tracks_log_delete AFTER DELETE ON tracks
BEGIN
	INSERT INTO track_changes (track_id) VALUES (OLD.id);
END;

CREATE TRIGGER IF NOT EXISTS tracks_log_version AFTER UPDATE OF content_version ON tracks
WHEN NEW.content_version IS NOT OLD.content_version
BEGIN
	INSERT INTO track_changes (track_id) VALUES (NEW.id);
END;

-- The scanner's structural columns: a change bumps the version unless the
-- writer bumped it in the same statement.
CREATE TRIGGER IF NOT EXISTS tracks_bump_structure
AFTER UPDATE OF backing_path, format, audio_offset, audio_length, backing_size,
	backing_mtime_ns, backing_ctime_ns ON tracks
WHEN NEW.content_version IS OLD.content_version
BEGIN
	UPDATE tracks SET content_version = content_version + 1,
		updated_at = unixepoch() WHERE id = NEW.id;
END;

CREATE TRIGGER IF NOT EXISTS tags_bump_insert AFTER INSERT ON tags
BEGIN
	UPDATE tracks SET content_version = content_version + 1,
		updated_at = unixepoch() WHERE id = NEW.track_id;
END;

CREATE TRIGGER IF NOT EXISTS tags_bump_update AFTER UPDATE ON tags
BEGIN
	UPDATE tracks SET content_version = content_version + 1,
		updated_at = unixepoch() WHERE id IN (NEW.track_id, OLD.track_id);
END;

CREATE TRIGGER IF NOT EXISTS tags_bump_delete AFTER DELETE ON tags
BEGIN
	UPDATE tracks SET content_version = content_version + 1,
		updated_at = unixepoch() WHERE id = OLD.track_id;
END;

CREATE TRIGGER IF NOT EXISTS track_art_bump_insert AFTER INSERT ON track_art
BEGIN
	UPDATE tracks SET content_version = content_version + 1,
		updated_at = unixepoch() WHERE id = NEW.track_id;
END;

CREATE TRIGGER IF NOT EXISTS track_art_bump_update AFTER UPDATE ON track_art
BEGIN
	UPDATE tracks SET content_version = content_version + 1,
		updated_at = unixepoch() WHERE id IN (NEW.track_id, OLD.track_id);
END;

CREATE TRIGGER IF NOT EXISTS track_art_bump_delete AFTER DELETE ON track_art
BEGIN
	UPDATE tracks SET content_version = content_version + 1,
		updated_at = unixepoch() WHERE id = OLD.track_id;
END;

CREATE TRIGGER IF NOT EXISTS structural_bump_insert AFTER INSERT ON structural_blocks
BEGIN
	UPDATE tracks SET content_version = content_version + 1,
		updated_at = unixepoch() WHERE id = NEW.track_id;
END;

CREATE TRIGGER IF NOT EXISTS structural_bump_update AFTER UPDATE ON structural_blocks
BEGIN
	UPDATE tracks SET content_version = content_version + 1,
		updated_at = unixepoch() WHERE id IN (NEW.track_id, OLD.track_id);
END;

CREATE TRIGGER IF NOT EXISTS structural_bump_delete AFTER DELETE ON structural_blocks
BEGIN
	UPDATE tracks SET content_version = content_version + 1,
		updated_at = unixepoch() WHERE id = OLD.track_id;
END;

-- Art rows are content-addressed: their content columns never change (a
-- writer needing other bytes inserts a new row and relinks). As in 1.x,
-- an UPDATE that leaves them as they are is allowed.
CREATE TRIGGER IF NOT EXISTS art_reject_content_update BEFORE UPDATE ON art
WHEN NEW.data <> OLD.data OR NEW.sha256 <> OLD.sha256
  OR NEW.mime <> OLD.mime OR NEW.byte_len <> OLD.byte_len
  OR NEW.width IS NOT OLD.width OR NEW.height IS NOT OLD.height
BEGIN
	SELECT RAISE(ABORT, 'art rows are immutable: insert a new row and relink');
END;

-- An art row deleted while still linked (a writer with foreign keys off)
-- bumps the tracks that link it, so no mount serves a cached layout that
-- streams the vanished blob.
CREATE TRIGGER IF NOT EXISTS art_bump_delete AFTER DELETE ON art
BEGIN
	UPDATE tracks SET content_version = content_version + 1,
		updated_at = unixepoch()
	WHERE id IN (SELECT track_id FROM track_art WHERE art_id = OLD.id);
END;

PRAGMA user_version = 2;
