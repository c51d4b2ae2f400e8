//! The files beside the database: the crops and thumbnails the catalogue
//! refers to, checked by `catalogue check`, and the backup that copies
//! database and media together.
//!
//! A backup is complete or absent. The database is copied first (SQLite's
//! online backup: a consistent snapshot, even with a writer at work), then
//! the media it refers to, into a hidden folder beside the destination that
//! is renamed to it only once the copy is whole and every file its snapshot
//! refers to is in it. Writers make media under temporary `.part` names and
//! rename them when written; those are never copied. Crops and thumbnails
//! are written before the records that name them are committed, so each
//! file the snapshot names is there to copy.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use rusqlite::Connection;

use super::{Catalogue, DB_FILE, MEDIA_DIR};
use crate::error::{Error, Result};

/// One media file a catalogue's records refer to: its name under `media/`
/// and what refers to it.
struct Referenced {
    file: String,
    by: String,
    /// Received by sync and fetched by the next sync when missing.
    received: bool,
}

/// Every crop and thumbnail the records of `conn` refer to.
///
/// Crops are named by their detection. Thumbnails have no column: a photo
/// ingested here from a survey has one (ingest writes it before the photo is
/// kept); photos of a labelled import have none, and a photo received by
/// sync has the one its author sent, fetched like a received crop.
fn referenced(conn: &Connection) -> Result<Vec<Referenced>> {
    if super::migrate::version(conn)? == 0 {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    let mut stmt = conn.prepare(
        "SELECT id, crop_file FROM detections WHERE crop_file IS NOT NULL AND crop_file != ''
         ORDER BY id",
    )?;
    for row in stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))? {
        let (id, file) = row?;
        out.push(Referenced {
            received: crate::sync::media::crop_sha(&file).is_some(),
            by: format!("the crop of detection {id}"),
            file,
        });
    }
    let fetched: i64 = conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'sync_photos'",
        [],
        |r| r.get(0),
    )?;
    let fetched = if fetched > 0 {
        "EXISTS (SELECT 1 FROM sync_photos s WHERE s.sha256 = p.sha256 AND s.how = 'fetched')"
    } else {
        "0"
    };
    let mut stmt = conn.prepare(&format!(
        "SELECT p.id, p.sha256, p.original_path = '' OR {fetched} FROM photos p
         WHERE NOT EXISTS (SELECT 1 FROM detections d JOIN identifications i ON i.detection_id = d.id
                           WHERE d.photo_id = p.id AND i.source = 'import')
         ORDER BY p.id"
    ))?;
    for row in stmt.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, bool>(2)?,
        ))
    })? {
        let (id, sha256, received) = row?;
        out.push(Referenced {
            file: crate::ingest::media::thumb_file(&sha256),
            by: format!("the thumbnail of photo {id}"),
            received,
        });
    }
    Ok(out)
}

/// `catalogue check`'s media problems: each crop or thumbnail the records
/// refer to that is not a file in `media/`. Those received by sync and not
/// fetched yet are not problems: the next sync fetches them.
pub(super) fn missing_media(cat: &Catalogue) -> Result<Vec<String>> {
    let media = cat.media_dir();
    Ok(referenced(cat.conn())?
        .into_iter()
        .filter(|r| !r.received && !media.join(&r.file).is_file())
        .map(|r| format!("{MEDIA_DIR}/{} is missing ({})", r.file, r.by))
        .collect())
}

/// Names the temporary backup folders of this process apart.
static NEXT: AtomicU32 = AtomicU32::new(0);

impl Catalogue {
    /// Copy the catalogue, while it stays usable (writers carry on), into
    /// `dest`, a new or empty folder: complete, or not there at all. Errors
    /// name `dest`.
    pub fn backup(&self, dest: impl AsRef<Path>) -> Result<()> {
        let dest = dest.as_ref();
        let failed = |reason: String| Error::Catalogue {
            path: dest.to_path_buf(),
            reason: format!("backup not made: {reason}"),
        };
        match std::fs::read_dir(dest).map(|mut entries| entries.next().is_some()) {
            Ok(true) => {
                return Err(failed(if dest.join(DB_FILE).exists() {
                    "already holds a catalogue; back up into a new folder".into()
                } else {
                    "the folder is not empty; back up into a new or empty folder".into()
                }))
            }
            Ok(false) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(failed(e.to_string())),
        }
        let Some(name) = dest.file_name() else {
            return Err(failed("name a folder to back up into".into()));
        };
        let parent = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        std::fs::create_dir_all(parent).map_err(|e| failed(Error::io(parent, e).to_string()))?;
        // A copy inside the catalogue would be copied into the next backup,
        // or (under media/) become the catalogue's own media.
        let inside = match (
            std::fs::canonicalize(parent),
            std::fs::canonicalize(&self.root),
        ) {
            (Ok(parent), Ok(root)) => parent.starts_with(root),
            _ => false,
        };
        if inside {
            return Err(failed(
                "the folder is inside the catalogue; back up into a folder outside it".into(),
            ));
        }
        // Beside the destination, so the last step is a rename.
        let tmp = parent.join(format!(
            ".{}.backup-{}-{}.part",
            name.to_string_lossy(),
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let made = self.backup_into(&tmp).and_then(|()| {
            if dest.is_dir() {
                // Empty, as checked; a folder filled since is not removed.
                std::fs::remove_dir(dest).map_err(|e| Error::io(dest, e))?;
            }
            std::fs::rename(&tmp, dest).map_err(|e| Error::io(dest, e))
        });
        made.map_err(|e| {
            let _ = std::fs::remove_dir_all(&tmp);
            failed(e.to_string())
        })
    }

    /// The database snapshot and its media into the new folder `tmp`.
    fn backup_into(&self, tmp: &Path) -> Result<()> {
        std::fs::create_dir(tmp).map_err(|e| Error::io(tmp, e))?;
        let db = tmp.join(DB_FILE);
        let mut target = Connection::open(&db)?;
        rusqlite::backup::Backup::new(&self.conn, &mut target)?.run_to_completion(
            256,
            std::time::Duration::from_millis(5),
            None,
        )?;
        let media = self.media_dir();
        let copy = tmp.join(MEDIA_DIR);
        copy_tree(&media, &copy)?;
        // Every file the snapshot refers to and the catalogue has is in the
        // copy (one the catalogue lacks, `check` reports on both).
        for r in referenced(&target)? {
            let (from, to) = (media.join(&r.file), copy.join(&r.file));
            if from.is_file() && !to.is_file() {
                return Err(Error::Catalogue {
                    path: from,
                    reason: format!("{} was not copied", r.by),
                });
            }
        }
        target.close().map_err(|(_, e)| Error::Sql(e))
    }
}

/// Copy the files under `from` into `to`, leaving out temporary `.part`
/// files, what is neither file nor folder, and files gone since listed.
fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).map_err(|e| Error::io(to, e))?;
    let entries = match std::fs::read_dir(from) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(from, e)),
    };
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(from, e))?;
        let path = entry.path();
        if entry.file_name().as_encoded_bytes().ends_with(b".part") {
            continue;
        }
        let target: PathBuf = to.join(entry.file_name());
        let kind = entry.file_type().map_err(|e| Error::io(&path, e))?;
        if kind.is_dir() {
            copy_tree(&path, &target)?;
        } else if kind.is_file() || (kind.is_symlink() && path.is_file()) {
            match std::fs::copy(&path, &target) {
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(&path, e)),
            }
        }
    }
    Ok(())
}
