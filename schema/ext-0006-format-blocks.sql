-- SPDX-License-Identifier: MIT
-- Scanner-owned structural data of formats other than FLAC (the core
-- structural_blocks table holds only FLAC STREAMINFO and SEEKTABLE): Ogg
-- header packets, the MP4 moov atom, WAV chunks, ... Kinds are namespaced
-- by format ("ogg:", "mp4:", "wav:", "mp3:"); a kind may repeat, ordered
-- by ordinal. Like structural_blocks, any change bumps the owning track's
-- content_version so mounts re-synthesize.
CREATE TABLE format_blocks (
	track_id INTEGER NOT NULL REFERENCES tracks(id) ON DELETE CASCADE,
	kind     TEXT NOT NULL
	         CHECK (typeof(kind) = 'text' AND length(kind) BETWEEN 3 AND 64
	                AND instr(kind, ':') > 1),
	ordinal  INTEGER NOT NULL CHECK (typeof(ordinal) = 'integer' AND ordinal >= 0),
	data     BLOB NOT NULL
	         CHECK (typeof(data) = 'blob' AND length(data) <= 16777216),
	PRIMARY KEY (track_id, kind, ordinal)
) WITHOUT ROWID;

CREATE TRIGGER format_blocks_bump_insert AFTER INSERT ON format_blocks
BEGIN
	UPDATE tracks SET content_version = content_version + 1,
		updated_at = unixepoch() WHERE id = NEW.track_id;
END;

CREATE TRIGGER format_blocks_bump_update AFTER UPDATE ON format_blocks
BEGIN
	UPDATE tracks SET content_version = content_version + 1,
		updated_at = unixepoch() WHERE id IN (NEW.track_id, OLD.track_id);
END;

CREATE TRIGGER format_blocks_bump_delete AFTER DELETE ON format_blocks
BEGIN
	UPDATE tracks SET content_version = content_version + 1,
		updated_at = unixepoch() WHERE id = OLD.track_id;
END;
