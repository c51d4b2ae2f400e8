-- WhaleID catalogue, version 3: the review of suggestions by a person.

-- A decision a person took back (undo). It stays in the history; when it had
-- replaced an earlier decision, that one is asserted again as a new row.
ALTER TABLE identifications ADD COLUMN withdrawn_at TEXT;

-- A detection a person marked as not identifiable (too far, blurred, no
-- marks visible): it leaves the review queue without naming an individual.
CREATE TABLE review_marks (
    id           INTEGER PRIMARY KEY,
    uuid         TEXT NOT NULL UNIQUE,
    detection_id INTEGER NOT NULL REFERENCES detections(id) ON DELETE CASCADE,
    mark         TEXT NOT NULL CHECK (mark IN ('unidentifiable')),
    decided_by   TEXT,
    withdrawn_at TEXT,
    created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;
CREATE INDEX review_marks_detection ON review_marks(detection_id);

-- Every review action in order, with what it wrote, so "undo" works across
-- sessions and each decision keeps its provenance (which suggestion rank a
-- person accepted, whether it created the individual).
CREATE TABLE review_log (
    id                 INTEGER PRIMARY KEY,
    uuid               TEXT NOT NULL UNIQUE,
    detection_id       INTEGER NOT NULL REFERENCES detections(id) ON DELETE CASCADE,
    action             TEXT NOT NULL CHECK (action IN ('accept', 'new_individual', 'unidentifiable', 'same_as')),
    identification_id  INTEGER REFERENCES identifications(id),
    mark_id            INTEGER REFERENCES review_marks(id),
    created_individual INTEGER REFERENCES individuals(id),
    rank               INTEGER,
    decided_by         TEXT,
    undone_at          TEXT,
    undone_by          TEXT,
    created_at         TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at         TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;
