-- WhaleID catalogue, version 14: the second reviewer (see
-- src/catalogue/second_review.rs). Opinions on what a detection shows,
-- given by people: the first with the decision it came with, a second given
-- blind by another person, and the resolution of a disagreement.

-- Opinions are events: none is ever changed or deleted, and the state of a
-- detection's review (waiting for a second opinion, agreed, in
-- disagreement, resolved) is derived from all of them. A case is opened by
-- a first opinion (round 1, whose `case_uuid` is its own `uuid`); the
-- second opinion (round 2) and the resolution (round 3) name its case.
CREATE TABLE review_opinions (
    id            INTEGER PRIMARY KEY,
    uuid          TEXT NOT NULL UNIQUE,
    case_uuid     TEXT NOT NULL,
    detection_id  INTEGER NOT NULL REFERENCES detections(id) ON DELETE CASCADE,
    round         INTEGER NOT NULL CHECK (round IN (1, 2, 3)),
    choice        TEXT NOT NULL CHECK (choice IN ('individual', 'new', 'unidentifiable')),
    -- The individual named (for `new`: the one the decision created, when
    -- it created one; a blind "new individual" names none).
    individual_id INTEGER REFERENCES individuals(id),
    given_by      TEXT NOT NULL,
    given_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    CHECK (round <> 1 OR case_uuid = uuid),
    CHECK (choice <> 'individual' OR individual_id IS NOT NULL),
    CHECK (choice <> 'unidentifiable' OR individual_id IS NULL)
) STRICT;
CREATE INDEX review_opinions_detection ON review_opinions(detection_id);
CREATE INDEX review_opinions_case ON review_opinions(case_uuid);

-- Every opinion is an operation.
CREATE TRIGGER sync_opinion_given AFTER INSERT ON review_opinions
WHEN NOT EXISTS (SELECT 1 FROM sync_applying)
BEGIN INSERT INTO sync_outbox (tbl, row_id, what) VALUES ('review_opinions', NEW.id, 'insert'); END;

-- Whether decisions need a second reviewer, switched on any laptop and
-- synced: every switching is kept, and the latest (time, then UUID) holds.
-- No row: off.
CREATE TABLE second_review_switches (
    id       INTEGER PRIMARY KEY,
    uuid     TEXT NOT NULL UNIQUE,
    required INTEGER NOT NULL CHECK (required IN (0, 1)),
    set_by   TEXT,
    set_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;

CREATE TRIGGER sync_second_review_switched AFTER INSERT ON second_review_switches
WHEN NOT EXISTS (SELECT 1 FROM sync_applying)
BEGIN INSERT INTO sync_outbox (tbl, row_id, what) VALUES ('second_review_switches', NEW.id, 'insert'); END;
