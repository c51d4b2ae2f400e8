//! Numbered schema migrations, embedded in the binary.
//!
//! A catalogue lives for decades and is opened by whatever WhaleID version the
//! researcher has: each `migrations/NNNN_name.sql` runs once, in order, in its
//! own transaction, and `schema_migrations` records which ran. A catalogue
//! written by a newer WhaleID (a version we do not know) is refused rather
//! than half-understood.
//!
//! A WhaleID catalogue is marked as one in its SQLite header:
//! `PRAGMA application_id` = [`APPLICATION_ID`] (`0x57684944`, "WhID"), set
//! when it is created and on the first open of a catalogue made before the
//! marker existed (recognised by its own `schema_migrations` history). Any
//! other non-empty SQLite file named `catalogue.sqlite` is someone else's:
//! [`inspect`] says so before anything is written, and it is never migrated.

use std::path::{Path, PathBuf};

use rusqlite::Connection;

use super::sql::NOW;
use crate::error::{Error, Result};

/// `(version, name, sql)`, in order; versions are 1, 2, 3... without gaps.
pub const MIGRATIONS: &[(u32, &str, &str)] = &[
    (1, "core", include_str!("migrations/0001_core.sql")),
    (
        2,
        "suggestions_history",
        include_str!("migrations/0002_suggestions_history.sql"),
    ),
    (3, "review", include_str!("migrations/0003_review.sql")),
    (4, "training", include_str!("migrations/0004_training.sql")),
    (5, "sync", include_str!("migrations/0005_sync.sql")),
    (
        6,
        "sync_local",
        include_str!("migrations/0006_sync_local.sql"),
    ),
    (
        7,
        "feature_views",
        include_str!("migrations/0007_feature_views.sql"),
    ),
    (
        8,
        "detection_species",
        include_str!("migrations/0008_detection_species.sql"),
    ),
    (
        9,
        "boxes_and_people",
        include_str!("migrations/0009_boxes_and_people.sql"),
    ),
    (
        10,
        "six_suggestions",
        include_str!("migrations/0010_six_suggestions.sql"),
    ),
    (
        11,
        "sync_accounts",
        include_str!("migrations/0011_sync_accounts.sql"),
    ),
    (
        12,
        "detection_attributes",
        include_str!("migrations/0012_detection_attributes.sql"),
    ),
    (
        13,
        "encounters",
        include_str!("migrations/0013_encounters.sql"),
    ),
    (
        14,
        "second_review",
        include_str!("migrations/0014_second_review.sql"),
    ),
];

/// WhaleID's `PRAGMA application_id`: "WhID" in ASCII. Every catalogue
/// this version creates or opens for writing carries it.
pub const APPLICATION_ID: u32 = 0x5768_4944;

/// What a SQLite file is, as read before anything is written to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileKind {
    /// No schema at all (a new file, or a create that died first): a
    /// catalogue may be made in it.
    Empty,
    /// A WhaleID catalogue; `marked` unless written before the marker.
    Catalogue { marked: bool },
    /// Another application's database: what it holds, for the refusal.
    Foreign(String),
}

/// Tell a WhaleID catalogue from an empty file and from another
/// application's database, by the marker or, for catalogues older than the
/// marker, by their migration history. Reads only.
pub fn inspect(conn: &Connection) -> Result<FileKind> {
    let id: i64 = conn.query_row("PRAGMA application_id", [], |r| r.get(0))?;
    if id == APPLICATION_ID as i64 {
        return Ok(FileKind::Catalogue { marked: true });
    }
    if id != 0 {
        return Ok(FileKind::Foreign(format!(
            "it is marked as another application's database (application_id {:#010x})",
            id as u32
        )));
    }
    let mut stmt = conn.prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
         ORDER BY name",
    )?;
    let tables: Vec<String> = stmt
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let objects: i64 = conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))?;
    if objects == 0 {
        return Ok(FileKind::Empty);
    }
    if tables.iter().any(|t| t == "schema_migrations") && our_history(conn, &tables)? {
        return Ok(FileKind::Catalogue { marked: false });
    }
    let mut named: Vec<String> = tables
        .iter()
        .take(5)
        .map(|t| format!("`{}`", t.escape_debug()))
        .collect();
    if tables.len() > 5 {
        named.push(format!("{} more", tables.len() - 5));
    }
    Ok(FileKind::Foreign(if named.is_empty() {
        "it holds no tables but other schema objects, and no WhaleID marker".into()
    } else {
        format!(
            "it holds other tables ({}) and no WhaleID marker",
            named.join(", ")
        )
    }))
}

/// Whether `schema_migrations` is WhaleID's: the versions this build knows
/// carry the names it gave them (other tools keep tables of that name too).
fn our_history(conn: &Connection, tables: &[String]) -> Result<bool> {
    let Ok(mut stmt) = conn.prepare("SELECT version, name FROM schema_migrations ORDER BY version")
    else {
        return Ok(false);
    };
    let rows: Vec<(i64, String)> = match stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .and_then(|rows| rows.collect::<rusqlite::Result<_>>())
    {
        Ok(rows) => rows,
        Err(_) => return Ok(false),
    };
    if rows.is_empty() {
        // Made by a create that died before its first migration.
        return Ok(tables.len() == 1);
    }
    Ok(rows.iter().enumerate().all(|(i, (version, name))| {
        *version == i as i64 + 1
            && MIGRATIONS
                .get(i)
                .is_none_or(|(v, known, _)| i64::from(*v) == *version && known == name)
    }))
}

/// The newest schema this build knows.
pub fn latest() -> u32 {
    MIGRATIONS.last().map_or(0, |m| m.0)
}

/// The schema version of an open database (0 for an empty file). Reads
/// only: a file that is not a catalogue is not given a table by asking.
pub fn version(conn: &Connection) -> Result<u32> {
    let tracked: i64 = conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'",
        [],
        |r| r.get(0),
    )?;
    if tracked == 0 {
        return Ok(0);
    }
    Ok(conn.query_row(
        "SELECT coalesce(max(version), 0) FROM schema_migrations",
        [],
        |r| r.get(0),
    )?)
}

/// Copy the database at `db` (open as `conn`, at schema version `from`)
/// beside itself before it is migrated, through SQLite's online backup (a
/// consistent copy, WAL included): `catalogue.schema-v{from}-backup-{UTC
/// time}.sqlite`. Returns the copy's path.
pub fn backup_before_upgrade(conn: &Connection, db: &Path, from: u32) -> Result<PathBuf> {
    let stamp: String =
        conn.query_row("SELECT strftime('%Y%m%d-%H%M%S', 'now')", [], |r| r.get(0))?;
    let stem = db.file_stem().unwrap_or_default().to_string_lossy();
    let name = |n: u32| {
        let again = if n > 1 {
            format!("-{n}")
        } else {
            String::new()
        };
        db.with_file_name(format!(
            "{stem}.schema-v{from}-backup-{stamp}{again}.sqlite"
        ))
    };
    let backup = (1..).map(name).find(|p| !p.exists()).expect("a free name");
    let failed = |e: rusqlite::Error| {
        Error::Catalogue {
        path: backup.clone(),
        reason: format!("could not back up the catalogue before upgrading its schema from version {from}, so it was left as it is: {e}"),
    }
    };
    let mut target = Connection::open(&backup).map_err(failed)?;
    rusqlite::backup::Backup::new(conn, &mut target)
        .map_err(failed)?
        .run_to_completion(256, std::time::Duration::from_millis(5), None)
        .map_err(failed)?;
    // One self-contained file (the copy took the catalogue's WAL mode).
    target
        .pragma_update(None, "journal_mode", "DELETE")
        .map_err(failed)?;
    Ok(backup)
}

/// Apply every migration above the current version, up to `target`
/// (the latest when `None`), after marking the file as WhaleID's. Returns
/// the version reached. Only for an empty file or a catalogue (see
/// [`inspect`]).
pub fn migrate(conn: &mut Connection, target: Option<u32>) -> Result<u32> {
    let target = target.unwrap_or_else(latest);
    let id: i64 = conn.query_row("PRAGMA application_id", [], |r| r.get(0))?;
    if id != APPLICATION_ID as i64 {
        conn.pragma_update(None, "application_id", APPLICATION_ID)?;
    }
    conn.execute_batch(&format!(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version    INTEGER PRIMARY KEY,
            name       TEXT NOT NULL,
            applied_at TEXT NOT NULL DEFAULT ({NOW})
        ) STRICT;"
    ))?;
    let mut current = version(conn)?;
    for &(v, name, sql) in MIGRATIONS {
        if v <= current || v > target {
            continue;
        }
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name) VALUES (?1, ?2)",
            (v, name),
        )?;
        tx.commit()?;
        tracing::debug!(version = v, name, "catalogue migrated");
        current = v;
    }
    Ok(current)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema(conn: &Connection) -> Vec<(String, String)> {
        let mut stmt = conn
            .prepare(
                "SELECT name, coalesce(sql, '') FROM sqlite_master
                 WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name",
            )
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(|r| r.unwrap())
            .collect()
    }

    #[test]
    fn versions_are_numbered_without_gaps() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.0 as usize, i + 1, "{}", m.1);
        }
    }

    #[test]
    fn every_earlier_version_migrates_to_the_same_schema_as_a_new_file() {
        let mut fresh = Connection::open_in_memory().unwrap();
        assert_eq!(migrate(&mut fresh, None).unwrap(), latest());
        let want = schema(&fresh);
        assert!(want.iter().any(|(n, _)| n == "identifications"));
        for start in 0..latest() {
            let mut conn = Connection::open_in_memory().unwrap();
            assert_eq!(migrate(&mut conn, Some(start)).unwrap(), start);
            assert_eq!(version(&conn).unwrap(), start);
            assert_eq!(migrate(&mut conn, None).unwrap(), latest(), "from {start}");
            assert_eq!(schema(&conn), want, "from version {start}");
        }
    }

    #[test]
    fn data_written_at_version_1_survives_the_later_migrations() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn, Some(1)).unwrap();
        conn.execute(
            "INSERT INTO individuals (uuid, code, species) VALUES ('u1', 'A-001', 'beluga')",
            [],
        )
        .unwrap();
        migrate(&mut conn, None).unwrap();
        let species: String = conn
            .query_row(
                "SELECT species FROM individuals WHERE code = 'A-001'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(species, "beluga");
        // Version 2 tables reference version 1 rows.
        conn.execute(
            "INSERT INTO individual_events (uuid, kind, individual_id) VALUES ('e1', 'rename', 1)",
            [],
        )
        .unwrap();
    }

    #[test]
    fn the_view_cache_arrives_on_a_version_6_catalogue_and_is_not_synced() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn, Some(6)).unwrap();
        conn.execute_batch(
            "INSERT INTO photos (uuid, sha256, original_path, byte_size, width, height)
                VALUES ('p1', 'abc', '/a.jpg', 10, 100, 80);
             INSERT INTO detections (uuid, photo_id, x1, y1, x2, y2, class)
                VALUES ('d1', 1, 0, 0, 100, 80, 'whole');
             INSERT INTO features (detection_id, feature_key, dim, vector)
                VALUES (1, 'k', 1, x'0000803f');",
        )
        .unwrap();
        let outbox = |c: &Connection| -> i64 {
            c.query_row("SELECT count(*) FROM sync_outbox", [], |r| r.get(0))
                .unwrap()
        };
        let logged = outbox(&conn);
        migrate(&mut conn, None).unwrap();
        // Two views of two half floats each.
        conn.execute(
            "INSERT INTO feature_views (detection_id, feature_key, recipe, views, dim, vector)
             VALUES (1, 'k', 'r', 2, 2, x'003c003c00400040')",
            [],
        )
        .unwrap();
        assert!(conn
            .execute(
                "INSERT INTO feature_views (detection_id, feature_key, recipe, views, dim, vector)
                 VALUES (1, 'k2', 'r', 2, 2, x'003c')",
                [],
            )
            .is_err());
        assert_eq!(outbox(&conn), logged, "views are a local cache");
        let triggers: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'feature_views'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(triggers, 0);
        let dim: i64 = conn
            .query_row("SELECT dim FROM features WHERE detection_id = 1", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(dim, 1, "the plain features survive");
        conn.execute("DELETE FROM detections", []).unwrap();
        let left: i64 = conn
            .query_row("SELECT count(*) FROM feature_views", [], |r| r.get(0))
            .unwrap();
        assert_eq!(left, 0, "views go with their detection");
    }

    #[test]
    fn migrating_twice_does_nothing() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn, None).unwrap();
        let before = schema(&conn);
        assert_eq!(migrate(&mut conn, None).unwrap(), latest());
        assert_eq!(schema(&conn), before);
    }
}
