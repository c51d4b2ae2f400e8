-- WhaleID catalogue, version 13: encounters as edited, synced records
-- (see src/catalogue/encounters.rs): observers, group size and behaviour
-- beside the time, place, position, vessel, survey and notes of version 1,
-- who set each field and when, and encounters joined into another.

-- Observers' names, as "Ana; Ben" (a name holds no `;`).
ALTER TABLE encounters ADD COLUMN observers TEXT;
-- Group size: best estimate, minimum and maximum (min <= best <= max is
-- checked by the engine and by sync before anything is stored).
ALTER TABLE encounters ADD COLUMN group_best INTEGER CHECK (group_best >= 0);
ALTER TABLE encounters ADD COLUMN group_min INTEGER CHECK (group_min >= 0);
ALTER TABLE encounters ADD COLUMN group_max INTEGER CHECK (group_max >= 0);
ALTER TABLE encounters ADD COLUMN behaviour TEXT;
-- Set when this encounter was joined into another: its photos went there,
-- and it stays (with its fields) so that nothing written in it is lost.
ALTER TABLE encounters ADD COLUMN joined_into INTEGER REFERENCES encounters(id);

-- Who set each field of an encounter and when: one row per encounter and
-- synced field (the values are the encounter's columns). Each field syncs
-- on its own, as an `encounter_set` operation, and the latest setting of
-- each wins (crate::sync::plan). `position` is latitude and longitude
-- together and `group` the three sizes together, so that two laptops
-- editing them at once never leave half of one and half of the other.
CREATE TABLE encounter_edits (
    id           INTEGER PRIMARY KEY,
    encounter_id INTEGER NOT NULL REFERENCES encounters(id) ON DELETE CASCADE,
    field        TEXT NOT NULL CHECK (field IN ('started_at', 'ended_at', 'place', 'position',
                     'observers', 'vessel', 'group', 'behaviour', 'notes', 'survey', 'joined_into')),
    set_by       TEXT,
    set_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    UNIQUE (encounter_id, field)
) STRICT;

-- Holds the editor's name only inside a transaction that edits
-- encounters, so the triggers below record who set each field.
CREATE TABLE encounter_editor (name TEXT NOT NULL) STRICT;

CREATE TRIGGER sync_encounter_set AFTER INSERT ON encounter_edits
WHEN NOT EXISTS (SELECT 1 FROM sync_applying)
BEGIN INSERT INTO sync_outbox (tbl, row_id, what) VALUES ('encounter_edits', NEW.id, 'set'); END;

CREATE TRIGGER sync_encounter_changed AFTER UPDATE ON encounter_edits
WHEN NOT EXISTS (SELECT 1 FROM sync_applying)
BEGIN INSERT INTO sync_outbox (tbl, row_id, what) VALUES ('encounter_edits', NEW.id, 'set'); END;

-- Existing encounters are sent once: every field they hold, then every
-- photo's encounter (after the photos themselves, already noted or sent).
INSERT INTO encounter_edits (encounter_id, field, set_at)
SELECT id, field, updated_at FROM (
    SELECT id, 'started_at' AS field, updated_at, 1 AS o FROM encounters WHERE started_at IS NOT NULL
    UNION ALL SELECT id, 'ended_at', updated_at, 2 FROM encounters WHERE ended_at IS NOT NULL
    UNION ALL SELECT id, 'place', updated_at, 3 FROM encounters WHERE location IS NOT NULL
    UNION ALL SELECT id, 'position', updated_at, 4 FROM encounters
        WHERE latitude IS NOT NULL AND longitude IS NOT NULL
    UNION ALL SELECT id, 'vessel', updated_at, 5 FROM encounters WHERE vessel IS NOT NULL
    UNION ALL SELECT id, 'notes', updated_at, 6 FROM encounters WHERE notes IS NOT NULL
    UNION ALL SELECT id, 'survey', updated_at, 7 FROM encounters WHERE survey IS NOT NULL
) ORDER BY id, o;

INSERT INTO sync_outbox (tbl, row_id, what)
SELECT 'photo_encounters', id, 'set' FROM photos WHERE encounter_id IS NOT NULL ORDER BY id;

-- From now on every change of a field is noted, whatever code makes it
-- (an ingest grouping photos, an import, an edit, a split or a join).
CREATE TRIGGER encounter_fields_added AFTER INSERT ON encounters
WHEN NOT EXISTS (SELECT 1 FROM sync_applying)
BEGIN
    INSERT INTO encounter_edits (encounter_id, field, set_by)
    SELECT NEW.id, f.field, (SELECT name FROM encounter_editor LIMIT 1) FROM (
        SELECT 'started_at' AS field, NEW.started_at IS NOT NULL AS held
        UNION ALL SELECT 'ended_at', NEW.ended_at IS NOT NULL
        UNION ALL SELECT 'place', NEW.location IS NOT NULL
        UNION ALL SELECT 'position', NEW.latitude IS NOT NULL AND NEW.longitude IS NOT NULL
        UNION ALL SELECT 'observers', NEW.observers IS NOT NULL
        UNION ALL SELECT 'vessel', NEW.vessel IS NOT NULL
        UNION ALL SELECT 'group', coalesce(NEW.group_best, NEW.group_min, NEW.group_max) IS NOT NULL
        UNION ALL SELECT 'behaviour', NEW.behaviour IS NOT NULL
        UNION ALL SELECT 'notes', NEW.notes IS NOT NULL
        UNION ALL SELECT 'survey', NEW.survey IS NOT NULL
        UNION ALL SELECT 'joined_into', NEW.joined_into IS NOT NULL
    ) f WHERE f.held
    ON CONFLICT (encounter_id, field) DO UPDATE
    SET set_by = excluded.set_by, set_at = excluded.set_at;
END;

CREATE TRIGGER encounter_fields_changed AFTER UPDATE ON encounters
WHEN NOT EXISTS (SELECT 1 FROM sync_applying)
BEGIN
    INSERT INTO encounter_edits (encounter_id, field, set_by)
    SELECT NEW.id, f.field, (SELECT name FROM encounter_editor LIMIT 1) FROM (
        SELECT 'started_at' AS field, OLD.started_at IS NOT NEW.started_at AS changed
        UNION ALL SELECT 'ended_at', OLD.ended_at IS NOT NEW.ended_at
        UNION ALL SELECT 'place', OLD.location IS NOT NEW.location
        UNION ALL SELECT 'position',
            OLD.latitude IS NOT NEW.latitude OR OLD.longitude IS NOT NEW.longitude
        UNION ALL SELECT 'observers', OLD.observers IS NOT NEW.observers
        UNION ALL SELECT 'vessel', OLD.vessel IS NOT NEW.vessel
        UNION ALL SELECT 'group', OLD.group_best IS NOT NEW.group_best
            OR OLD.group_min IS NOT NEW.group_min OR OLD.group_max IS NOT NEW.group_max
        UNION ALL SELECT 'behaviour', OLD.behaviour IS NOT NEW.behaviour
        UNION ALL SELECT 'notes', OLD.notes IS NOT NEW.notes
        UNION ALL SELECT 'survey', OLD.survey IS NOT NEW.survey
        UNION ALL SELECT 'joined_into', OLD.joined_into IS NOT NEW.joined_into
    ) f WHERE f.changed
    ON CONFLICT (encounter_id, field) DO UPDATE
    SET set_by = excluded.set_by, set_at = excluded.set_at;
END;

-- A photo moved to another encounter (or out of any) is an operation.
CREATE TRIGGER sync_photo_encounter AFTER UPDATE OF encounter_id ON photos
WHEN OLD.encounter_id IS NOT NEW.encounter_id AND NOT EXISTS (SELECT 1 FROM sync_applying)
BEGIN INSERT INTO sync_outbox (tbl, row_id, what) VALUES ('photo_encounters', NEW.id, 'set'); END;
