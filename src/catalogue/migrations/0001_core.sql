-- WhaleID catalogue, version 1: the records.
-- Every table has a stable UUID (text, v7) and created/updated timestamps
-- (UTC, ISO 8601 with milliseconds), so catalogues made on different laptops
-- can later be synced and merged without id collisions.

CREATE TABLE settings (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;

CREATE TABLE individuals (
    id          INTEGER PRIMARY KEY,
    uuid        TEXT NOT NULL UNIQUE,
    code        TEXT NOT NULL,
    name        TEXT,
    species     TEXT,
    sex         TEXT CHECK (sex IN ('female', 'male', 'unknown')),
    notes       TEXT,
    -- Set when this individual was merged into another; its photos then count
    -- for that one. Cleared again when the merge is undone.
    merged_into INTEGER REFERENCES individuals(id),
    created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    CHECK (merged_into IS NULL OR merged_into <> id)
) STRICT;
CREATE UNIQUE INDEX individuals_code ON individuals(code);
CREATE INDEX individuals_species ON individuals(species);

CREATE TABLE individual_aliases (
    id            INTEGER PRIMARY KEY,
    uuid          TEXT NOT NULL UNIQUE,
    individual_id INTEGER NOT NULL REFERENCES individuals(id) ON DELETE CASCADE,
    alias         TEXT NOT NULL,
    created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    UNIQUE (individual_id, alias)
) STRICT;

CREATE TABLE encounters (
    id         INTEGER PRIMARY KEY,
    uuid       TEXT NOT NULL UNIQUE,
    started_at TEXT,
    ended_at   TEXT,
    latitude   REAL,
    longitude  REAL,
    location   TEXT,
    survey     TEXT,
    vessel     TEXT,
    notes      TEXT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;

CREATE TABLE photos (
    id            INTEGER PRIMARY KEY,
    uuid          TEXT NOT NULL UNIQUE,
    sha256        TEXT NOT NULL UNIQUE,
    original_path TEXT NOT NULL,
    byte_size     INTEGER NOT NULL,
    width         INTEGER NOT NULL,
    height        INTEGER NOT NULL,
    taken_at      TEXT,
    latitude      REAL,
    longitude     REAL,
    camera_model  TEXT,
    orientation   INTEGER,
    encounter_id  INTEGER REFERENCES encounters(id) ON DELETE SET NULL,
    created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;
CREATE INDEX photos_taken_at ON photos(taken_at);

CREATE TABLE detections (
    id         INTEGER PRIMARY KEY,
    uuid       TEXT NOT NULL UNIQUE,
    photo_id   INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
    x1 REAL NOT NULL, y1 REAL NOT NULL, x2 REAL NOT NULL, y2 REAL NOT NULL,
    -- 'fin', 'fullbody'... from the detector; 'box' (given), 'whole' (no detector)
    class      TEXT NOT NULL,
    score      REAL,
    crop_file  TEXT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    CHECK (x2 > x1 AND y2 > y1)
) STRICT;
CREATE INDEX detections_photo ON detections(photo_id);

CREATE TABLE embeddings (
    id           INTEGER PRIMARY KEY,
    uuid         TEXT NOT NULL UNIQUE,
    detection_id INTEGER NOT NULL REFERENCES detections(id) ON DELETE CASCADE,
    pack_name    TEXT NOT NULL,
    pack_version TEXT NOT NULL,
    dim          INTEGER NOT NULL,
    -- dim little-endian f32 values, unit length
    vector       BLOB NOT NULL CHECK (length(vector) = 4 * dim),
    created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    UNIQUE (detection_id, pack_name, pack_version)
) STRICT;
CREATE INDEX embeddings_pack ON embeddings(pack_name, pack_version);

-- Decisions that a detection shows an individual (or does not). Rows are never
-- updated in place except to point superseded_by at the decision that
-- replaced them: the current decision is the one with superseded_by NULL, and
-- the chain is the history.
CREATE TABLE identifications (
    id            INTEGER PRIMARY KEY,
    uuid          TEXT NOT NULL UNIQUE,
    detection_id  INTEGER NOT NULL REFERENCES detections(id) ON DELETE CASCADE,
    individual_id INTEGER NOT NULL REFERENCES individuals(id),
    verdict       TEXT NOT NULL CHECK (verdict IN ('confirmed', 'rejected')),
    -- who decided: a person in the app/CLI, an import of labelled data, or the
    -- model (only when a person asked to accept its suggestion as is)
    source        TEXT NOT NULL CHECK (source IN ('person', 'import', 'model')),
    decided_by    TEXT,
    score         REAL,
    superseded_by INTEGER REFERENCES identifications(id),
    created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;
CREATE INDEX identifications_detection ON identifications(detection_id);
CREATE INDEX identifications_individual ON identifications(individual_id);
CREATE UNIQUE INDEX identifications_current
    ON identifications(detection_id) WHERE superseded_by IS NULL AND verdict = 'confirmed';
