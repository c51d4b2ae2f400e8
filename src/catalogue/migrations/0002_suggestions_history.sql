-- WhaleID catalogue, version 2: model suggestions and the history of
-- merges, splits and renames.

-- The model's ranked candidates for a detection (rank 1..5); individual_id
-- NULL is "new individual". A new run for the same pack replaces them.
CREATE TABLE suggestions (
    id            INTEGER PRIMARY KEY,
    uuid          TEXT NOT NULL UNIQUE,
    detection_id  INTEGER NOT NULL REFERENCES detections(id) ON DELETE CASCADE,
    rank          INTEGER NOT NULL CHECK (rank BETWEEN 1 AND 5),
    individual_id INTEGER REFERENCES individuals(id),
    score         REAL,
    pack_name     TEXT NOT NULL,
    pack_version  TEXT NOT NULL,
    created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    UNIQUE (detection_id, rank)
) STRICT;

-- One row per merge, split or rename; `payload` (JSON) holds what undoing it
-- needs. undone_at is set when it was undone (the undo is itself recorded).
CREATE TABLE individual_events (
    id            INTEGER PRIMARY KEY,
    uuid          TEXT NOT NULL UNIQUE,
    kind          TEXT NOT NULL CHECK (kind IN ('merge', 'split', 'rename', 'unmerge', 'unsplit')),
    individual_id INTEGER NOT NULL REFERENCES individuals(id),
    other_id      INTEGER REFERENCES individuals(id),
    payload       TEXT NOT NULL DEFAULT '{}',
    actor         TEXT,
    undone_at     TEXT,
    created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;
CREATE INDEX individual_events_individual ON individual_events(individual_id);
