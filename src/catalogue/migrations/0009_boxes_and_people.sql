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
