-- SPDX-License-Identifier: MIT
-- musefs store, core contract (musefs 1.x, user_version 1): tracks, tags,
-- art, track_art, structural_blocks. External writers (beets, Picard and
-- Lidarr plugins, scripts) own tags, art and track_art; the scanner owns
-- the structural columns of tracks and structural_blocks.
--
-- The tables, columns, column order and CHECK constraints are those of
-- the musefs 1.x schema (its SCHEMA_SQL after MIGRATION_V2), so a row a
-- 1.x writer writes is accepted here and a store created here is one a
-- 1.x binary can use. docs/store.md, "Differences from the 1.x schema",
-- lists every place where this file differs and why.

CREATE TABLE tracks (
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
CREATE INDEX tracks_fingerprint_idx ON tracks(fingerprint);

-- key: the canonical name (Picard vocabulary, lowercase as writers write
-- it) or any other key kept verbatim, in any case; matched
-- case-insensitively by every reader. A binary tag has value '' and
-- value_blob.
CREATE TABLE tags (
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

-- Content-addressed images; content columns are immutable (see
-- art_reject_content_update). width/height NULL: unknown.
CREATE TABLE art (
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

CREATE TABLE track_art (
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
CREATE INDEX track_art_art_id_idx ON track_art(art_id);

-- Scanner-owned FLAC STREAMINFO / SEEKTABLE bodies (RFC 9639 8.2, 8.5),
-- without the 4-byte metadata block header; one of each, ordinal 0.
CREATE TABLE structural_blocks (
	track_id INTEGER NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
	kind     TEXT NOT NULL,
	ordinal  INTEGER NOT NULL DEFAULT 0,
	body     BLOB NOT NULL,
	PRIMARY KEY (track_id, kind, ordinal),
	CHECK (kind IN ('STREAMINFO','SEEKTABLE')),
	CHECK (ordinal >= 0),
	CHECK (length(body) <= 16777215)
);

PRAGMA user_version = 1;
