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
//!
//! The file is WhaleID's only when its header says so ([`migrate::APPLICATION_ID`]):
//! another application's database is refused, never converted. One process
//! at a time opens a catalogue for writing ([`Catalogue::open`] holds the
//! folder's lock, [`lock`]); [`Catalogue::open_read_only`] is for readers
//! such as `check` and `backup`, which run beside it.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, OptionalExtension};
use serde::Serialize;

use crate::error::{Error, Result};
use sql::NOW;

pub mod attributes;
pub mod browse;
pub mod codes;
pub mod encounters;
pub mod export;
pub mod features;
mod files;
pub mod individuals;
mod lock;
pub mod migrate;
pub mod observer;
pub mod publish;
pub mod records;
pub mod review;
pub mod search;
pub mod second_review;
pub(crate) mod sql;
pub mod vectors;
pub mod versions;

pub use individuals::{Event, Individual};
pub use records::{FeatureOrigin, GalleryItem, Scope, Tx};

/// The database file inside a catalogue folder.
pub const DB_FILE: &str = "catalogue.sqlite";
/// Crops and thumbnails, relative to the catalogue folder.
pub const MEDIA_DIR: &str = "media";
pub use lock::LOCK_FILE;

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
    /// The writer lock, shared by this process's writers of the folder;
    /// `None` when opened read-only.
    _writer: Option<std::sync::Arc<lock::WriterLock>>,
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
    /// hold a catalogue), holding its writer lock.
    pub fn create(root: impl AsRef<Path>) -> Result<Self> {
        let root = root.as_ref().to_path_buf();
        let exists = || -> Result<()> {
            if root.join(DB_FILE).exists() {
                return Err(Error::Catalogue {
                    path: root.clone(),
                    reason: "already holds a catalogue".into(),
                });
            }
            Ok(())
        };
        exists()?;
        std::fs::create_dir_all(&root).map_err(|e| Error::io(&root, e))?;
        let writer = lock::acquire(&root)?;
        // Asked again under the lock: another process may have just made it.
        exists()?;
        let media = root.join(MEDIA_DIR);
        std::fs::create_dir_all(&media).map_err(|e| match e.kind() {
            std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem => {
                lock::read_only(&root)
            }
            _ => Error::io(&media, e),
        })?;
        Self::connect(root, OpenFlags::SQLITE_OPEN_CREATE, writer)
    }

    /// Open an existing catalogue for writing, migrating its schema
    /// forward. Refused while another process has it open for writing.
    pub fn open(root: impl AsRef<Path>) -> Result<Self> {
        let root = Self::existing(root.as_ref())?;
        let writer = lock::acquire(&root)?;
        Self::connect(root, OpenFlags::empty(), writer)
    }

    /// Open an existing catalogue to read it, beside a writer if one is at
    /// work: nothing is written (no lock, no migration, no marker), so a
    /// catalogue of any schema this WhaleID knows is read as it is. For
    /// `check`, `backup` and other readers; writing through it fails.
    pub fn open_read_only(root: impl AsRef<Path>) -> Result<Self> {
        let root = Self::existing(root.as_ref())?;
        let path = root.join(DB_FILE);
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn =
            Connection::open_with_flags(&path, flags).map_err(|e| unusable(&root, &path, e))?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        let bad = |reason: String| Error::Catalogue {
            path: path.clone(),
            reason,
        };
        match migrate::inspect(&conn).map_err(|e| unusable(&root, &path, e))? {
            migrate::FileKind::Foreign(what) => return Err(bad(foreign(&what))),
            migrate::FileKind::Empty => {
                return Err(bad("holds no catalogue yet (an empty database)".into()))
            }
            migrate::FileKind::Catalogue { .. } => {}
        }
        let found = migrate::version(&conn).map_err(|e| unusable(&root, &path, e))?;
        if found > migrate::latest() {
            return Err(bad(newer(found)));
        }
        Ok(Catalogue {
            root,
            conn,
            upgraded: None,
            _writer: None,
        })
    }

    /// `root` if it holds a catalogue file.
    fn existing(root: &Path) -> Result<PathBuf> {
        if !root.join(DB_FILE).is_file() {
            return Err(Error::Catalogue {
                path: root.to_path_buf(),
                reason: format!("no {DB_FILE} here: not a WhaleID catalogue (create one with `whaleid catalogue create`)"),
            });
        }
        Ok(root.to_path_buf())
    }

    fn connect(
        root: PathBuf,
        extra: OpenFlags,
        writer: std::sync::Arc<lock::WriterLock>,
    ) -> Result<Self> {
        let path = root.join(DB_FILE);
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX | extra;
        let bad = |reason: String| Error::Catalogue {
            path: path.clone(),
            reason,
        };
        let mut conn =
            Connection::open_with_flags(&path, flags).map_err(|e| unusable(&root, &path, e))?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        // What the file is, read before anything is written to it: another
        // application's database is left exactly as it is.
        match migrate::inspect(&conn).map_err(|e| unusable(&root, &path, e))? {
            migrate::FileKind::Foreign(what) => return Err(bad(foreign(&what))),
            migrate::FileKind::Empty | migrate::FileKind::Catalogue { .. } => {}
        }
        if conn.is_readonly(rusqlite::MAIN_DB)? {
            return Err(if lock::writable(&root) {
                bad("the file is read-only: make it writable (WhaleID records every decision in it)".into())
            } else {
                lock::read_only(&root)
            });
        }
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA foreign_keys = ON;
             PRAGMA synchronous = NORMAL;",
        )
        .map_err(|e| unusable(&root, &path, e))?;
        let found = migrate::version(&conn).map_err(|e| bad(e.to_string()))?;
        if found > migrate::latest() {
            return Err(bad(newer(found)));
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
            _writer: Some(writer),
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

    /// The schema version of the file as open: [`migrate::latest`] once a
    /// writer has opened it; a read-only open reads older ones as they are.
    pub fn schema_version(&self) -> Result<u32> {
        migrate::version(&self.conn)
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
        problems.extend(files::missing_media(self)?);
        problems.extend(self.vector_problems()?);
        Ok(problems)
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

/// The refusal of another application's database.
fn foreign(what: &str) -> String {
    format!("not a WhaleID catalogue: {what}; WhaleID leaves it as it is (open or create a catalogue in another folder)")
}

fn newer(found: u32) -> String {
    format!(
        "schema version {found} was written by a newer WhaleID (this one knows up to {}); update WhaleID",
        migrate::latest()
    )
}

/// SQLite's failure to open or read the catalogue file `path` in `root`,
/// said in the user's terms: a read-only folder or file is called so.
fn unusable(root: &Path, path: &Path, e: impl Into<Error>) -> Error {
    let e = e.into();
    let code = match &e {
        Error::Sql(e) => e.sqlite_error_code(),
        _ => None,
    };
    if matches!(
        code,
        Some(rusqlite::ErrorCode::CannotOpen | rusqlite::ErrorCode::ReadOnly)
    ) && !lock::writable(root)
    {
        return lock::read_only(root);
    }
    Error::Catalogue {
        path: path.to_path_buf(),
        reason: format!(
            "not a readable SQLite database: {}",
            match &e {
                Error::Sql(e) => e.to_string(),
                other => other.to_string(),
            }
        ),
    }
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
