//! The catalogue: the researchers' long-lived record of individuals, photos,
//! detections, embeddings and decisions.
//!
//! One catalogue is one folder: `catalogue.sqlite` (the source of truth) and
//! `media/` (crops and thumbnails the app shows). SQLite runs in WAL mode with
//! foreign keys on; the schema comes from numbered migrations ([`migrate`]).
//! Every record carries a UUID and created/updated timestamps so catalogues
//! from different laptops can be synced without collisions. Writes go through
//! [`Catalogue::with_tx`], so an import batch or a merge is all or nothing.
//!
//! Individuals are merged and split as reversible, recorded operations
//! ([`individuals`]); identifications keep their history (a new decision
//! supersedes the old one, nothing is overwritten) ([`records`]).

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, OptionalExtension};
use serde::Serialize;

use crate::error::{Error, Result};
use sql::NOW;

pub mod browse;
pub mod codes;
pub mod export;
pub mod features;
pub mod individuals;
pub mod migrate;
pub mod observer;
pub mod records;
pub mod review;
pub mod search;
pub(crate) mod sql;
pub mod versions;

pub use individuals::{Event, Individual};
pub use records::{FeatureOrigin, GalleryItem, Scope, Tx};

/// The database file inside a catalogue folder.
pub const DB_FILE: &str = "catalogue.sqlite";
/// Crops and thumbnails, relative to the catalogue folder.
pub const MEDIA_DIR: &str = "media";

/// Setting keys.
pub mod keys {
    /// The pack whose embeddings this catalogue searches: name and version.
    pub const PACK_NAME: &str = "pack.name";
    pub const PACK_VERSION: &str = "pack.version";
    /// Where that pack was last loaded from (a hint for the CLI and app).
    pub const PACK_PATH: &str = "pack.path";
    /// The new_individual threshold in force (overrides the pack's default);
    /// read it through `matching::field::threshold_in_use`.
    pub const THRESHOLD: &str = "match.new_individual_threshold";
    /// `calibrated` or `set` (typed by a person): where THRESHOLD came from.
    pub const THRESHOLD_SOURCE: &str = "match.threshold_source";
    /// Expected share of new individuals among survey detections, used to
    /// weigh calibration until the catalogue has review history of its own.
    pub const NEW_SHARE: &str = "match.expected_new_share";

    /// What the calibration for a pack version measured (JSON of
    /// `matching::field::FieldCalibration`).
    pub fn calibration(pack_name: &str, pack_version: &str) -> String {
        format!("match.calibration.{pack_name}/{pack_version}")
    }
    /// Weight of the ArcFace class-centre score in the identification blend.
    pub const HEAD_BLEND: &str = "match.head_blend";
    /// `f32` (default) or `f16`: how the search index holds vectors in memory.
    pub const INDEX_PRECISION: &str = "index.precision";
}

/// An open catalogue.
#[derive(Debug)]
pub struct Catalogue {
    root: PathBuf,
    conn: Connection,
    upgraded: Option<Upgrade>,
}

/// A catalogue whose schema this open migrated forward, and where the file
/// as it was is kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Upgrade {
    pub from: u32,
    pub to: u32,
    pub backup: PathBuf,
}

/// Counts for `whaleid catalogue stats`.
#[derive(Debug, Clone, Serialize)]
pub struct Stats {
    pub schema_version: u32,
    pub individuals: i64,
    pub merged_individuals: i64,
    pub photos: i64,
    pub detections: i64,
    pub embeddings: i64,
    pub confirmed_detections: i64,
    pub species: Vec<(String, i64)>,
    pub pack: Option<String>,
}

impl Catalogue {
    /// Create a new catalogue in `root` (made if missing; must not already
    /// hold a catalogue).
    pub fn create(root: impl AsRef<Path>) -> Result<Self> {
        let root = root.as_ref().to_path_buf();
        if root.join(DB_FILE).exists() {
            return Err(Error::Catalogue {
                path: root,
                reason: "already holds a catalogue".into(),
            });
        }
        std::fs::create_dir_all(root.join(MEDIA_DIR)).map_err(|e| Error::io(&root, e))?;
        Self::connect(root, OpenFlags::SQLITE_OPEN_CREATE)
    }

    /// Open an existing catalogue, migrating its schema forward.
    pub fn open(root: impl AsRef<Path>) -> Result<Self> {
        let root = root.as_ref().to_path_buf();
        if !root.join(DB_FILE).is_file() {
            return Err(Error::Catalogue {
                path: root,
                reason: format!("no {DB_FILE} here: not a WhaleID catalogue (create one with `whaleid catalogue create`)"),
            });
        }
        Self::connect(root, OpenFlags::empty())
    }

    fn connect(root: PathBuf, extra: OpenFlags) -> Result<Self> {
        let path = root.join(DB_FILE);
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX | extra;
        let bad = |reason: String| Error::Catalogue {
            path: path.clone(),
            reason,
        };
        let mut conn = Connection::open_with_flags(&path, flags).map_err(|e| bad(e.to_string()))?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA foreign_keys = ON;
             PRAGMA synchronous = NORMAL;
             PRAGMA busy_timeout = 5000;",
        )
        .map_err(|e| bad(format!("not a readable SQLite database: {e}")))?;
        let found = migrate::version(&conn).map_err(|e| bad(e.to_string()))?;
        if found > migrate::latest() {
            return Err(bad(format!(
                "schema version {found} was written by a newer WhaleID (this one knows up to {}); update WhaleID",
                migrate::latest()
            )));
        }
        // An existing catalogue about to be migrated is copied first, so a
        // migration that goes wrong (or a user who must go back to the older
        // WhaleID) loses nothing.
        let upgraded = match found {
            0 => None,
            v if v < migrate::latest() => Some(Upgrade {
                from: v,
                to: migrate::latest(),
                backup: migrate::backup_before_upgrade(&conn, &path, v)?,
            }),
            _ => None,
        };
        migrate::migrate(&mut conn, None)?;
        if let Some(u) = &upgraded {
            tracing::warn!(
                "catalogue {} upgraded from schema version {} to {}; the file as it was is kept at {}",
                root.display(),
                u.from,
                u.to,
                u.backup.display()
            );
        }
        Ok(Catalogue {
            root,
            conn,
            upgraded,
        })
    }

    /// Set when this open migrated the catalogue to a newer schema: the
    /// versions and the backup made before.
    pub fn upgraded(&self) -> Option<&Upgrade> {
        self.upgraded.as_ref()
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn media_dir(&self) -> PathBuf {
        self.root.join(MEDIA_DIR)
    }

    /// The connection, for the engine's own queries; outside the engine,
    /// ask for what is meant through a function named for it.
    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Run `f` in one transaction: committed when it returns `Ok`, rolled back
    /// otherwise.
    pub fn with_tx<T>(&mut self, f: impl FnOnce(&Tx<'_>) -> Result<T>) -> Result<T> {
        let tx = Tx::new(self.conn.transaction()?);
        let value = f(&tx)?;
        tx.commit()?;
        Ok(value)
    }

    pub fn setting(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()?)
    }

    pub fn set_setting(&mut self, key: &str, value: &str) -> Result<()> {
        upsert_setting(&self.conn, key, value)
    }

    /// `PRAGMA integrity_check` and `PRAGMA foreign_key_check`: the problems
    /// found (empty when the file is sound).
    pub fn check(&self) -> Result<Vec<String>> {
        let mut problems = Vec::new();
        let mut stmt = self.conn.prepare("PRAGMA integrity_check")?;
        for row in stmt.query_map([], |r| r.get::<_, String>(0))? {
            let row = row?;
            if row != "ok" {
                problems.push(row);
            }
        }
        let mut stmt = self.conn.prepare("PRAGMA foreign_key_check")?;
        let rows = stmt.query_map([], |r| {
            Ok(format!(
                "{} row {} references a missing {} row",
                r.get::<_, String>(0)?,
                r.get::<_, Option<i64>>(1)?.unwrap_or(-1),
                r.get::<_, String>(2)?
            ))
        })?;
        for row in rows {
            problems.push(row?);
        }
        Ok(problems)
    }

    /// Copy the catalogue, while it stays usable, into a new folder `dest`:
    /// the database through SQLite's online backup API (a consistent snapshot
    /// even with the app writing), then the media files.
    pub fn backup(&self, dest: impl AsRef<Path>) -> Result<()> {
        let dest = dest.as_ref();
        if dest.join(DB_FILE).exists() {
            return Err(Error::Catalogue {
                path: dest.to_path_buf(),
                reason: "already holds a catalogue; back up into a new folder".into(),
            });
        }
        std::fs::create_dir_all(dest).map_err(|e| Error::io(dest, e))?;
        let mut target = Connection::open(dest.join(DB_FILE))?;
        {
            let backup = rusqlite::backup::Backup::new(&self.conn, &mut target)?;
            backup.run_to_completion(256, std::time::Duration::from_millis(5), None)?;
        }
        drop(target);
        copy_tree(&self.media_dir(), &dest.join(MEDIA_DIR))
    }

    pub fn stats(&self) -> Result<Stats> {
        let count = |sql: &str| -> Result<i64> { Ok(self.conn.query_row(sql, [], |r| r.get(0))?) };
        let mut stmt = self.conn.prepare(
            "SELECT coalesce(species, '(unknown)'), count(*) FROM individuals
             WHERE merged_into IS NULL GROUP BY 1 ORDER BY 2 DESC, 1",
        )?;
        let species = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let pack = match (
            self.setting(keys::PACK_NAME)?,
            self.setting(keys::PACK_VERSION)?,
        ) {
            (Some(n), Some(v)) => Some(format!("{n} {v}")),
            _ => None,
        };
        Ok(Stats {
            schema_version: migrate::version(&self.conn)?,
            individuals: count("SELECT count(*) FROM individuals WHERE merged_into IS NULL")?,
            merged_individuals: count(
                "SELECT count(*) FROM individuals WHERE merged_into IS NOT NULL",
            )?,
            photos: count("SELECT count(*) FROM photos")?,
            detections: count("SELECT count(*) FROM detections WHERE removed_at IS NULL")?,
            embeddings: count("SELECT count(*) FROM embeddings")?,
            confirmed_detections: count(
                "SELECT count(DISTINCT i.detection_id) FROM identifications i
                 JOIN detections d ON d.id = i.detection_id AND d.removed_at IS NULL
                 WHERE i.superseded_by IS NULL AND i.withdrawn_at IS NULL AND i.verdict = 'confirmed'",
            )?,
            species,
            pack,
        })
    }
}

fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).map_err(|e| Error::io(to, e))?;
    let Ok(entries) = std::fs::read_dir(from) else {
        return Ok(());
    };
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(from, e))?;
        let path = entry.path();
        let target = to.join(entry.file_name());
        if path.is_dir() {
            copy_tree(&path, &target)?;
        } else {
            std::fs::copy(&path, &target).map_err(|e| Error::io(&path, e))?;
        }
    }
    Ok(())
}

/// Insert or replace one setting.
pub(crate) fn upsert_setting(conn: &Connection, key: &str, value: &str) -> Result<()> {
    conn.execute(
        &format!(
            "INSERT INTO settings (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value,
             updated_at = {NOW}"
        ),
        (key, value),
    )?;
    Ok(())
}

/// A new stable id for a record.
pub fn new_uuid() -> String {
    uuid::Uuid::now_v7().to_string()
}
