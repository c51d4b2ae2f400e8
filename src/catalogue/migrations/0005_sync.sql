-- WhaleID catalogue, version 5: sync.

-- Every operation made here or received, in the order it was applied here
-- (see src/sync). `record` is the UUID the operation is about (the
-- decision, the individual, the merge event...), for looking up when it
-- happened. `pushed` is set once the server has acknowledged it.
CREATE TABLE sync_ops (
    seq    INTEGER PRIMARY KEY,
    id     TEXT NOT NULL UNIQUE,
    hlc    TEXT NOT NULL,
    author TEXT NOT NULL,
    kind   TEXT NOT NULL,
    record TEXT NOT NULL,
    body   TEXT NOT NULL,
    origin TEXT NOT NULL CHECK (origin IN ('local', 'remote')),
    pushed INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX sync_ops_record ON sync_ops(record, hlc);
CREATE INDEX sync_ops_unpushed ON sync_ops(seq) WHERE origin = 'local' AND pushed = 0;

-- Rows changed here that are not operations yet: the triggers below fill
-- it in the order things happen, and a sync turns each into an operation.
CREATE TABLE sync_outbox (
    seq    INTEGER PRIMARY KEY,
    tbl    TEXT NOT NULL,
    row_id INTEGER NOT NULL,
    what   TEXT NOT NULL,
    at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;

-- A UUID from another catalogue that names a record here (the same photo
-- imported on two laptops, the same detection on it).
CREATE TABLE sync_aliases (
    remote TEXT PRIMARY KEY,
    local  TEXT NOT NULL,
    kind   TEXT NOT NULL CHECK (kind IN ('photo', 'detection'))
) STRICT;

-- Holds a row only inside a transaction that applies received operations,
-- so the triggers do not send them back as local changes.
CREATE TABLE sync_applying (applying INTEGER NOT NULL) STRICT;

CREATE TRIGGER sync_photo_added AFTER INSERT ON photos
WHEN NOT EXISTS (SELECT 1 FROM sync_applying)
BEGIN INSERT INTO sync_outbox (tbl, row_id, what) VALUES ('photos', NEW.id, 'insert'); END;

CREATE TRIGGER sync_detection_added AFTER INSERT ON detections
WHEN NOT EXISTS (SELECT 1 FROM sync_applying)
BEGIN INSERT INTO sync_outbox (tbl, row_id, what) VALUES ('detections', NEW.id, 'insert'); END;

CREATE TRIGGER sync_embedding_added AFTER INSERT ON embeddings
WHEN NOT EXISTS (SELECT 1 FROM sync_applying)
BEGIN INSERT INTO sync_outbox (tbl, row_id, what) VALUES ('embeddings', NEW.id, 'insert'); END;

CREATE TRIGGER sync_individual_added AFTER INSERT ON individuals
WHEN NOT EXISTS (SELECT 1 FROM sync_applying)
BEGIN INSERT INTO sync_outbox (tbl, row_id, what) VALUES ('individuals', NEW.id, 'insert'); END;

CREATE TRIGGER sync_individual_renamed AFTER UPDATE OF code ON individuals
WHEN OLD.code IS NOT NEW.code AND NOT EXISTS (SELECT 1 FROM sync_applying)
BEGIN INSERT INTO sync_outbox (tbl, row_id, what) VALUES ('individuals', NEW.id, 'rename'); END;

CREATE TRIGGER sync_decided AFTER INSERT ON identifications
WHEN NOT EXISTS (SELECT 1 FROM sync_applying)
BEGIN INSERT INTO sync_outbox (tbl, row_id, what) VALUES ('identifications', NEW.id, 'insert'); END;

CREATE TRIGGER sync_decision_withdrawn AFTER UPDATE OF withdrawn_at ON identifications
WHEN OLD.withdrawn_at IS NULL AND NEW.withdrawn_at IS NOT NULL
     AND NOT EXISTS (SELECT 1 FROM sync_applying)
BEGIN INSERT INTO sync_outbox (tbl, row_id, what) VALUES ('identifications', NEW.id, 'withdraw'); END;

CREATE TRIGGER sync_merged AFTER INSERT ON individual_events
WHEN NEW.kind = 'merge' AND NOT EXISTS (SELECT 1 FROM sync_applying)
BEGIN INSERT INTO sync_outbox (tbl, row_id, what) VALUES ('individual_events', NEW.id, 'insert'); END;

CREATE TRIGGER sync_merge_undone AFTER UPDATE OF undone_at ON individual_events
WHEN NEW.kind = 'merge' AND OLD.undone_at IS NULL AND NEW.undone_at IS NOT NULL
     AND NOT EXISTS (SELECT 1 FROM sync_applying)
BEGIN INSERT INTO sync_outbox (tbl, row_id, what) VALUES ('individual_events', NEW.id, 'undo'); END;

-- What the catalogue already holds becomes its first operations, in the
-- order it was made (a photo before its detections, an individual before
-- the decisions naming it).
INSERT INTO sync_outbox (tbl, row_id, what, at)
SELECT tbl, row_id, what, at FROM (
    SELECT 'photos' AS tbl, id AS row_id, 'insert' AS what, created_at AS at, 1 AS o FROM photos
    UNION ALL SELECT 'individuals', id, 'insert', created_at, 2 FROM individuals
    UNION ALL SELECT 'detections', id, 'insert', created_at, 3 FROM detections
    UNION ALL SELECT 'embeddings', id, 'insert', created_at, 4 FROM embeddings
    UNION ALL SELECT 'identifications', id, 'insert', created_at, 5 FROM identifications
    UNION ALL SELECT 'identifications', id, 'withdraw', withdrawn_at, 6 FROM identifications
        WHERE withdrawn_at IS NOT NULL
    UNION ALL SELECT 'individual_events', id, 'insert', created_at, 7 FROM individual_events
        WHERE kind = 'merge'
    UNION ALL SELECT 'individual_events', id, 'undo', undone_at, 8 FROM individual_events
        WHERE kind = 'merge' AND undone_at IS NOT NULL
) ORDER BY o, row_id;
