-- SPDX-License-Identifier: MIT
-- Conversion of a store created by an earlier musefs build (the core
-- tables in our own previous shape: structural_blocks (track_id, kind,
-- data) with lower-case kinds, NOT NULL art dimensions, lowercase-only tag
-- keys, typeof() CHECKs) to the 1.x shape of 0001-core.sql. Not a
-- numbered migration: such stores are at user_version 2 already, and so
-- are 1.x stores, which must not run it. lib/mf_migrate.c detects the old
-- shape (structural_blocks has a "data" column), snapshots the store, and
-- runs this script in one transaction with foreign keys off and
-- legacy_alter_table on (SQLite's "12-step" table rebuild: new table,
-- copy, drop, rename, then indexes and triggers). user_version stays 2.
--
-- Art dimensions 0 (what the old scanner stored for "unknown") become
-- NULL; tag values over the 1.x cap of 262144 bytes cannot be kept (the
-- snapshot still has them; mf_migrate.c counts them in its notice);
-- picture descriptions are cut to the 1.x cap of 1024 characters.
CREATE TABLE tracks_new (
	id               INTEGER PRIMARY KEY AUTOINCREMENT,
	backing_path     TEXT NOT NULL UNIQUE,
	format           TEXT NOT NULL,
	audio_offset     INTEGER NOT NULL,
	audio_length     INTEGER NOT NULL,
	backing_size     INTEGER NOT NULL,
	backing_mtime_ns INTEGER NOT NULL,
	content_version  INTEGER NOT NULL DEFAULT 0,
	updated_at       INTEGER NOT NULL DEFAULT (unixepoch()),
	backing_ctime_ns INTEGER NOT NULL DEFAULT 0 CHECK (backing_ctime_ns >= 0),
	fingerprint      TEXT CHECK (fingerprint IS NULL OR length(fingerprint) = 64),
	content_hash     TEXT CHECK (content_hash IS NULL OR length(content_hash) = 64),
	CHECK (format IN ('flac','mp3','m4a','opus','vorbis','oggflac','wav')),
	CHECK (audio_offset >= 0),
	CHECK (audio_length >= 0),
	CHECK (backing_size >= 0),
	CHECK (content_version >= 0),
	CHECK (updated_at >= 0),
	CHECK (audio_offset + audio_length <= backing_size)
);
-- keep "ids are never reused": the old table's AUTOINCREMENT counter
INSERT INTO sqlite_sequence (name, seq)
	SELECT 'tracks_new', seq FROM sqlite_sequence WHERE name = 'tracks';
INSERT INTO tracks_new (id, backing_path, format, audio_offset, audio_length,
	backing_size, backing_mtime_ns, content_version, updated_at,
	backing_ctime_ns, fingerprint, content_hash)
	SELECT id, backing_path, format, audio_offset, audio_length,
	backing_size, backing_mtime_ns, content_version, updated_at,
	backing_ctime_ns, fingerprint, content_hash FROM tracks;
DROP TABLE tracks;
ALTER TABLE tracks_new RENAME TO tracks;
CREATE INDEX tracks_fingerprint_idx ON tracks(fingerprint);

CREATE TABLE tags_new (
	track_id   INTEGER NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
	key        TEXT NOT NULL,
	value      TEXT NOT NULL,
	ordinal    INTEGER NOT NULL DEFAULT 0,
	value_blob BLOB,
	PRIMARY KEY (track_id, key, ordinal),
	CHECK (ordinal >= 0),
	CHECK (value_blob IS NULL OR value = ''),
	CHECK (length(key) <= 256),
	CHECK (length(key) >= 1
	       AND key NOT GLOB '*[' || char(1) || '-' || char(31) || ']*'),
	CHECK (length(CAST(value AS BLOB)) <= 262144),
	CHECK (value_blob IS NULL OR length(value_blob) <= 16711680)
);
INSERT INTO tags_new (track_id, key, value, ordinal, value_blob)
	SELECT track_id, key, value, ordinal, value_blob FROM tags
	WHERE length(CAST(value AS BLOB)) <= 262144;
DROP TABLE tags;
ALTER TABLE tags_new RENAME TO tags;

CREATE TABLE art_new (
	id       INTEGER PRIMARY KEY,
	sha256   TEXT NOT NULL UNIQUE,
	mime     TEXT NOT NULL,
	width    INTEGER,
	height   INTEGER,
	byte_len INTEGER NOT NULL,
	data     BLOB NOT NULL,
	CHECK (byte_len = length(data)),
	CHECK (length(sha256) = 64),
	CHECK (width IS NULL OR width >= 0),
	CHECK (height IS NULL OR height >= 0),
	CHECK (length(mime) <= 255),
	CHECK (byte_len <= 16711680)
);
INSERT INTO art_new (id, sha256, mime, width, height, byte_len, data)
	SELECT id, sha256, mime, nullif(width, 0), nullif(height, 0),
	byte_len, data FROM art;
DROP TABLE art;
ALTER TABLE art_new RENAME TO art;

CREATE TABLE track_art_new (
	track_id     INTEGER NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
	art_id       INTEGER NOT NULL REFERENCES art(id),
	picture_type INTEGER NOT NULL DEFAULT 3,
	description  TEXT NOT NULL DEFAULT '',
	ordinal      INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (track_id, ordinal),
	CHECK (picture_type BETWEEN 0 AND 20),
	CHECK (ordinal >= 0),
	CHECK (length(description) <= 1024)
);
INSERT INTO track_art_new (track_id, art_id, picture_type, description,
	ordinal)
	SELECT track_id, art_id, picture_type, substr(description, 1, 1024),
	ordinal FROM track_art;
DROP TABLE track_art;
ALTER TABLE track_art_new RENAME TO track_art;
CREATE INDEX track_art_art_id_idx ON track_art(art_id);

CREATE TABLE structural_blocks_new (
	track_id INTEGER NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
	kind     TEXT NOT NULL,
	ordinal  INTEGER NOT NULL DEFAULT 0,
	body     BLOB NOT NULL,
	PRIMARY KEY (track_id, kind, ordinal),
	CHECK (kind IN ('STREAMINFO','SEEKTABLE')),
	CHECK (ordinal >= 0),
	CHECK (length(body) <= 16777215)
);
INSERT INTO structural_blocks_new (track_id, kind, ordinal, body)
	SELECT track_id, upper(kind), 0, data FROM structural_blocks;
DROP TABLE structural_blocks;
ALTER TABLE structural_blocks_new RENAME TO structural_blocks;

-- Dropping the tables dropped their triggers (those of 0002-changelog.sql
-- and the old art_immutable); track_changes and its prune trigger stay.
-- mf_migrate.c then runs 0002-changelog.sql again (it is idempotent),
-- which recreates them, in the same transaction.
