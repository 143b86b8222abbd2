-- SPDX-License-Identifier: MIT
-- Picture fields the core art table has no column for (FLAC PICTURE colour
-- depth and palette size, RFC 9639 8.8), so served PICTURE blocks keep
-- them. Missing rows mean 0 ("unknown").
CREATE TABLE art_props (
	art_id INTEGER PRIMARY KEY REFERENCES art(id) ON DELETE CASCADE,
	depth  INTEGER NOT NULL DEFAULT 0 CHECK (depth BETWEEN 0 AND 4294967295),
	colors INTEGER NOT NULL DEFAULT 0 CHECK (colors BETWEEN 0 AND 4294967295)
);
