-- WhaleID catalogue, version 12: photo-ID attributes of each detection
-- (see src/catalogue/attributes.rs): photo quality, distinctiveness, the
-- side shown and the body part shown.

-- One row per detection and attribute, so each is set on its own, by its
-- own person, and synced on its own (the latest setting of one attribute
-- wins without touching the others). A cleared attribute keeps its row
-- with a NULL value: clearing is a setting like any other, with who and
-- when. No row: never graded.
CREATE TABLE detection_attributes (
    id           INTEGER PRIMARY KEY,
    detection_id INTEGER NOT NULL REFERENCES detections(id) ON DELETE CASCADE,
    attribute    TEXT NOT NULL
                 CHECK (attribute IN ('quality', 'distinctiveness', 'side', 'part')),
    value        TEXT CHECK (value IS NULL OR
        (attribute = 'quality' AND value IN ('Q1', 'Q2', 'Q3')) OR
        (attribute = 'distinctiveness' AND value IN ('D1', 'D2', 'D3')) OR
        (attribute = 'side' AND value IN ('left', 'right', 'both', 'unknown')) OR
        (attribute = 'part' AND value IN ('dorsal-fin', 'fluke', 'flank', 'head', 'other'))),
    set_by       TEXT,
    set_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    UNIQUE (detection_id, attribute)
) STRICT;

-- Every setting or clearing is an operation.
CREATE TRIGGER sync_attribute_set AFTER INSERT ON detection_attributes
WHEN NOT EXISTS (SELECT 1 FROM sync_applying)
BEGIN INSERT INTO sync_outbox (tbl, row_id, what) VALUES ('detection_attributes', NEW.id, 'set'); END;

CREATE TRIGGER sync_attribute_changed AFTER UPDATE ON detection_attributes
WHEN NOT EXISTS (SELECT 1 FROM sync_applying)
BEGIN INSERT INTO sync_outbox (tbl, row_id, what) VALUES ('detection_attributes', NEW.id, 'set'); END;
