-- Original photos that this catalogue and the team's server both hold
-- whole (sent from here, or fetched from there), so that a sync with
-- photos does not ask about them again. A derived record: not synced.
CREATE TABLE sync_photos (
    sha256 TEXT PRIMARY KEY,
    how    TEXT NOT NULL CHECK (how IN ('sent', 'fetched')),
    at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
) STRICT;
