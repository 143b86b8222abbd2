-- SPDX-License-Identifier: MIT
-- musefs store, core contract (musefs 1.x, user_version 1): tracks, tags,
-- art, track_art, structural_blocks. External writers (beets, Picard and
-- Lidarr plugins, scripts) own tags, art and track_art; the scanner owns
-- the structural columns of tracks and structural_blocks.

CREATE TABLE tracks (
	id               INTEGER PRIMARY KEY AUTOINCREMENT,
	backing_path     TEXT NOT NULL UNIQUE
	                 CHECK (length(CAST(backing_path AS BLOB)) BETWEEN 2 AND 4096
	                        AND substr(backing_path, 1, 1) = '/'),
	format           TEXT NOT NULL
	                 CHECK (format IN ('flac', 'mp3', 'm4a', 'opus', 'vorbis',
	                                   'oggflac', 'wav')),
	audio_offset     INTEGER NOT NULL
	                 CHECK (typeof(audio_offset) = 'integer' AND audio_offset >= 0),
	audio_length     INTEGER NOT NULL
	                 CHECK (typeof(audio_length) = 'integer' AND audio_length >= 0),
	backing_size     INTEGER NOT NULL
	                 CHECK (typeof(backing_size) = 'integer' AND backing_size >= 0),
	backing_mtime_ns INTEGER NOT NULL CHECK (typeof(backing_mtime_ns) = 'integer'),
	backing_ctime_ns INTEGER NOT NULL CHECK (typeof(backing_ctime_ns) = 'integer'),
	content_version  INTEGER NOT NULL DEFAULT 1
	                 CHECK (typeof(content_version) = 'integer'),
	updated_at       INTEGER NOT NULL DEFAULT (unixepoch()),
	fingerprint      TEXT CHECK (fingerprint IS NULL OR
	                             (length(fingerprint) = 64 AND
	                              fingerprint NOT GLOB '*[^0-9a-f]*')),
	content_hash     TEXT CHECK (content_hash IS NULL OR
	                             (length(content_hash) = 64 AND
	                              content_hash NOT GLOB '*[^0-9a-f]*')),
	CHECK (audio_offset + audio_length <= backing_size)
);
CREATE INDEX tracks_fingerprint ON tracks(fingerprint) WHERE fingerprint IS NOT NULL;

-- key: lowercase canonical name (Picard vocabulary) or a custom key kept
-- verbatim; no control characters, NUL or '=' (illegal in Vorbis field
-- names). A binary tag has value '' and value_blob.
CREATE TABLE tags (
	track_id   INTEGER NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
	key        TEXT NOT NULL
	           CHECK (length(CAST(key AS BLOB)) BETWEEN 1 AND 255
	                  AND key = lower(key)
	                  AND instr(key, '=') = 0
	                  AND instr(CAST(key AS BLOB), x'00') = 0
	                  AND key NOT GLOB ('*[' || char(1) || '-' || char(31) || char(127) || ']*')),
	ordinal    INTEGER NOT NULL DEFAULT 0
	           CHECK (typeof(ordinal) = 'integer' AND ordinal BETWEEN 0 AND 65535),
	value      TEXT NOT NULL DEFAULT ''
	           CHECK (typeof(value) = 'text' AND length(CAST(value AS BLOB)) <= 1048576
	                  AND instr(CAST(value AS BLOB), x'00') = 0),
	value_blob BLOB
	           CHECK (value_blob IS NULL OR
	                  (typeof(value_blob) = 'blob' AND value = ''
	                   AND length(value_blob) <= 16777215)),
	PRIMARY KEY (track_id, key, ordinal)
);

-- Content-addressed images; rows are immutable (see art_immutable).
CREATE TABLE art (
	id       INTEGER PRIMARY KEY,
	sha256   TEXT NOT NULL UNIQUE
	         CHECK (length(sha256) = 64 AND sha256 NOT GLOB '*[^0-9a-f]*'),
	mime     TEXT NOT NULL
	         CHECK (length(mime) BETWEEN 1 AND 255
	                AND instr(CAST(mime AS BLOB), x'00') = 0
	                AND mime NOT GLOB ('*[' || char(1) || '-' || char(31) || char(127) || ']*')),
	width    INTEGER NOT NULL DEFAULT 0 CHECK (typeof(width) = 'integer' AND width >= 0),
	height   INTEGER NOT NULL DEFAULT 0 CHECK (typeof(height) = 'integer' AND height >= 0),
	byte_len INTEGER NOT NULL CHECK (typeof(byte_len) = 'integer' AND byte_len > 0),
	data     BLOB NOT NULL
	         CHECK (typeof(data) = 'blob' AND length(data) = byte_len
	                AND byte_len <= 16777215),
	CHECK (byte_len = length(data))
);

CREATE TABLE track_art (
	track_id     INTEGER NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
	ordinal      INTEGER NOT NULL DEFAULT 0
	             CHECK (typeof(ordinal) = 'integer' AND ordinal BETWEEN 0 AND 65535),
	art_id       INTEGER NOT NULL REFERENCES art(id),
	picture_type INTEGER NOT NULL DEFAULT 3
	             CHECK (typeof(picture_type) = 'integer' AND picture_type BETWEEN 0 AND 20),
	description  TEXT NOT NULL DEFAULT ''
	             CHECK (length(CAST(description AS BLOB)) <= 65535
	                    AND instr(CAST(description AS BLOB), x'00') = 0),
	PRIMARY KEY (track_id, ordinal)
);
CREATE INDEX track_art_art ON track_art(art_id);

-- Scanner-owned FLAC STREAMINFO / SEEKTABLE bodies (RFC 9639 8.2, 8.5),
-- without the 4-byte metadata block header.
CREATE TABLE structural_blocks (
	track_id INTEGER NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
	kind     TEXT NOT NULL CHECK (kind IN ('streaminfo', 'seektable')),
	data     BLOB NOT NULL
	         CHECK (typeof(data) = 'blob' AND length(data) <= 16777215
	                AND (kind <> 'streaminfo' OR length(data) = 34)
	                AND (kind <> 'seektable' OR length(data) % 18 = 0)),
	PRIMARY KEY (track_id, kind)
);

CREATE TRIGGER art_immutable BEFORE UPDATE ON art
BEGIN
	SELECT RAISE(ABORT, 'art rows are immutable: insert a new row and relink');
END;

PRAGMA user_version = 1;
