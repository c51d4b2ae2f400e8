-- WhaleID catalogue, version 7: augmented views for fine-tuning.

-- Backbone features of K augmented views of each confirmed detection
-- (random crop inside its region, flip, brightness and contrast; see
-- src/train/views.rs), computed once with the frozen backbone so that
-- training can show the neck a different view of a photo each epoch
-- without running the backbone again. One row per detection and feature
-- key holds all its views: `vector` is `views × dim` little-endian IEEE
-- half floats (view-major), half the size of f32 for what is only a
-- training input. `recipe` names the augmentations and their seed: rows of
-- another recipe are stale and replaced. A local cache derived from the
-- photos, like `features`: no uuid, no sync trigger, never synced.
CREATE TABLE feature_views (
    id           INTEGER PRIMARY KEY,
    detection_id INTEGER NOT NULL REFERENCES detections(id) ON DELETE CASCADE,
    feature_key  TEXT NOT NULL,
    recipe       TEXT NOT NULL,
    -- 'photo' (augmented from the photo's region) or 'crop' (from the
    -- stored crop, when the photo was no longer there)
    origin       TEXT NOT NULL DEFAULT 'photo' CHECK (origin IN ('photo', 'crop')),
    views        INTEGER NOT NULL CHECK (views > 0),
    dim          INTEGER NOT NULL CHECK (dim > 0),
    vector       BLOB NOT NULL CHECK (length(vector) = 2 * views * dim),
    UNIQUE (detection_id, feature_key)
) STRICT;
