-- WhaleID catalogue, version 10: a detection keeps its five best catalogue
-- candidates and where "new individual" ranks among them: up to six rows
-- (the Kaggle-style top five is the first five). The review's keys 1–5 are
-- then always five catalogued animals, with "new individual" a fixed action.
-- Lists stored before keep their five rows until they are ranked again.
CREATE TABLE suggestions_v10 (
    id            INTEGER PRIMARY KEY,
    uuid          TEXT NOT NULL UNIQUE,
    detection_id  INTEGER NOT NULL REFERENCES detections(id) ON DELETE CASCADE,
    rank          INTEGER NOT NULL CHECK (rank BETWEEN 1 AND 6),
    individual_id INTEGER REFERENCES individuals(id),
    score         REAL,
    pack_name     TEXT NOT NULL,
    pack_version  TEXT NOT NULL,
    created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    updated_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    UNIQUE (detection_id, rank)
) STRICT;
INSERT INTO suggestions_v10 SELECT id, uuid, detection_id, rank, individual_id, score,
    pack_name, pack_version, created_at, updated_at FROM suggestions;
DROP TABLE suggestions;
ALTER TABLE suggestions_v10 RENAME TO suggestions;
