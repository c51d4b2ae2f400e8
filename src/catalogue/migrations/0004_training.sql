-- WhaleID catalogue, version 4: fine-tuning.

-- Backbone features (GeM-pooled, before the neck) of each detection: what
-- fine-tuning trains on and what re-embedding with a new neck reads, so
-- neither decodes a photo nor runs a backbone again. `feature_key` names
-- what the features depend on (the backbone file's sha256, preprocessing,
-- flip TTA), so every pack version sharing a backbone shares the rows. A
-- cache derived from the photos: it has no uuid and is not synced.
CREATE TABLE features (
    id           INTEGER PRIMARY KEY,
    detection_id INTEGER NOT NULL REFERENCES detections(id) ON DELETE CASCADE,
    feature_key  TEXT NOT NULL,
    -- 'photo' (computed from the photo with the detection's box) or 'crop'
    -- (from the stored crop, when the photo was no longer there)
    origin       TEXT NOT NULL DEFAULT 'photo' CHECK (origin IN ('photo', 'crop')),
    dim          INTEGER NOT NULL,
    -- dim little-endian f32 values
    vector       BLOB NOT NULL CHECK (length(vector) = 4 * dim),
    created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    UNIQUE (detection_id, feature_key)
) STRICT;
CREATE INDEX features_key ON features(feature_key);

-- Every version of the catalogue's pack it has used: the one it started
-- with (parent NULL) and each fine-tuned version adopted since. `path` is
-- the pack folder; `threshold` the new-individual threshold that goes with
-- it; `report` the training run's JSON (splits, metrics before and after).
CREATE TABLE pack_versions (
    id             INTEGER PRIMARY KEY,
    uuid           TEXT NOT NULL UNIQUE,
    pack_name      TEXT NOT NULL,
    pack_version   TEXT NOT NULL,
    parent_version TEXT,
    path           TEXT NOT NULL,
    threshold      REAL,
    report         TEXT NOT NULL DEFAULT '{}',
    created_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    UNIQUE (pack_name, pack_version)
) STRICT;

-- Each switch of the active version (adopting a trained one, rolling back).
CREATE TABLE pack_switches (
    id           INTEGER PRIMARY KEY,
    uuid         TEXT NOT NULL UNIQUE,
    pack_name    TEXT NOT NULL,
    from_version TEXT NOT NULL,
    to_version   TEXT NOT NULL,
    action       TEXT NOT NULL CHECK (action IN ('adopt', 'rollback', 'switch')),
    actor        TEXT,
    created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;
