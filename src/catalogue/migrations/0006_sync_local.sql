-- What sync keeps for this laptop only (neither is synced).

-- Original photos that this catalogue and the team's server both hold
-- whole (sent from here, or fetched from there), so that a sync with
-- photos does not ask about them again. A derived record: not synced.
CREATE TABLE sync_photos (
    sha256 TEXT PRIMARY KEY,
    how    TEXT NOT NULL CHECK (how IN ('sent', 'fetched')),
    at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;

-- What a sync left for a person to look at: conflicts the merge rules
-- settled one way (two decisions about one detection, two individuals with
-- one code) and possible duplicate individuals. Listed on the Sync screen
-- until dismissed; `key` keeps a later sync from adding one twice.
CREATE TABLE sync_review (
    id           INTEGER PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (kind IN ('decisions', 'code_clash', 'duplicate')),
    key          TEXT NOT NULL UNIQUE,
    body         TEXT NOT NULL,
    found_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    dismissed_at TEXT
) STRICT;
