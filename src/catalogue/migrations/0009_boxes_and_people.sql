-- WhaleID catalogue, version 9: boxes drawn by hand, and who did what.

-- A box a person drew, moved or resized names them here (the detector's
-- and an import's boxes leave it NULL); created_at says when.
ALTER TABLE detections ADD COLUMN drawn_by TEXT;
-- A box a person removed, or replaced by moving or resizing it, stays as a
-- row (its decisions are history, and other catalogues learn of the removal
-- by sync) with when and by whom; every live view skips it.
ALTER TABLE detections ADD COLUMN removed_at TEXT;
ALTER TABLE detections ADD COLUMN removed_by TEXT;
-- The box this one was moved or resized from.
ALTER TABLE detections ADD COLUMN replaces INTEGER REFERENCES detections(id);
CREATE INDEX detections_live ON detections(photo_id) WHERE removed_at IS NULL;

-- Who imported a photo (the observer name of the ingest or import).
ALTER TABLE photos ADD COLUMN imported_by TEXT;

-- Box actions taken here, newest last, so the latest can be undone (a
-- local record: other catalogues learn of what it did through the
-- removals and restorations it made). `detection_id` is the box added, the
-- replacement a move made, or the box removed; `previous_id` the box a
-- move replaced.
CREATE TABLE box_log (
    id           INTEGER PRIMARY KEY,
    action       TEXT NOT NULL CHECK (action IN ('add', 'set', 'remove')),
    detection_id INTEGER NOT NULL REFERENCES detections(id) ON DELETE CASCADE,
    previous_id  INTEGER REFERENCES detections(id) ON DELETE CASCADE,
    by           TEXT NOT NULL,
    at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    undone_at    TEXT,
    undone_by    TEXT
) STRICT;

-- Removing a box and taking a removal back are operations too.
CREATE TRIGGER sync_detection_removed AFTER UPDATE OF removed_at ON detections
WHEN OLD.removed_at IS NULL AND NEW.removed_at IS NOT NULL
     AND NOT EXISTS (SELECT 1 FROM sync_applying)
BEGIN INSERT INTO sync_outbox (tbl, row_id, what) VALUES ('detections', NEW.id, 'remove'); END;

CREATE TRIGGER sync_detection_restored AFTER UPDATE OF removed_at ON detections
WHEN OLD.removed_at IS NOT NULL AND NEW.removed_at IS NULL
     AND NOT EXISTS (SELECT 1 FROM sync_applying)
BEGIN INSERT INTO sync_outbox (tbl, row_id, what) VALUES ('detections', NEW.id, 'restore'); END;

-- Sync's review list learns two box conflicts: a decision on a box that
-- was removed elsewhere, and one box moved on two laptops.
CREATE TABLE sync_review_9 (
    id           INTEGER PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (kind IN ('decisions', 'code_clash', 'duplicate',
                                               'removed_box', 'box_moves')),
    key          TEXT NOT NULL UNIQUE,
    body         TEXT NOT NULL,
    found_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    dismissed_at TEXT
) STRICT;
INSERT INTO sync_review_9 (id, kind, key, body, found_at, dismissed_at)
SELECT id, kind, key, body, found_at, dismissed_at FROM sync_review;
DROP TABLE sync_review;
ALTER TABLE sync_review_9 RENAME TO sync_review;
