//! Crops and thumbnails travel beside the records, by content: a detection
//! operation names its crop by sha256 (a photo operation its thumbnail), the
//! laptop that made it uploads the file
//! (`PUT /v1/media/SHA256`, refused unless the bytes hash to the name), and
//! a laptop that received the detection fetches the file it lacks
//! (`GET /v1/media/SHA256`), checks the hash and writes it atomically. What
//! is missing after a cut connection is fetched by the next sync.

use std::path::Path;

use sha2::{Digest, Sha256};

use super::ops::is_sha256;
use crate::catalogue::Catalogue;
use crate::error::{Error, Result};

/// Where a received crop is kept, relative to the catalogue's media folder.
pub fn crop_path(sha256: &str) -> String {
    format!("crops/{sha256}.jpg")
}

/// The sha256 a received crop is named by, from its `crop_file`.
pub fn crop_sha(crop_file: &str) -> Option<&str> {
    crop_file
        .strip_prefix("crops/")
        .and_then(|f| f.strip_suffix(".jpg"))
        .filter(|s| is_sha256(s))
}

/// Received crops whose file is not here yet: `(sha256, path)`.
pub fn missing_crops(cat: &Catalogue) -> Result<Vec<(String, std::path::PathBuf)>> {
    let mut stmt = cat
        .conn()
        .prepare("SELECT DISTINCT crop_file FROM detections WHERE crop_file LIKE 'crops/%.jpg'")?;
    let media = cat.media_dir();
    let mut out = Vec::new();
    for f in stmt.query_map([], |r| r.get::<_, String>(0))? {
        let f = f?;
        if let Some(sha) = crop_sha(&f) {
            let path = media.join(&f);
            if !path.exists() {
                out.push((sha.to_string(), path));
            }
        }
    }
    Ok(out)
}

/// Thumbnails of received photos that are not here yet: `(sha256 of the
/// thumbnail, path)`. Read from the received photo operations, which name
/// each thumbnail by content.
pub fn missing_thumbs(cat: &Catalogue) -> Result<Vec<(String, std::path::PathBuf)>> {
    let mut stmt = cat.conn().prepare(
        "SELECT body FROM sync_ops WHERE origin = 'remote' AND kind = 'photo_added' ORDER BY seq",
    )?;
    let media = cat.media_dir();
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for body in stmt.query_map([], |r| r.get::<_, String>(0))? {
        let op: super::ops::Op = serde_json::from_str(&body?).map_err(|e| Error::Catalogue {
            path: cat.root().to_path_buf(),
            reason: format!("sync_ops holds an unreadable operation: {e}"),
        })?;
        if let super::ops::Change::PhotoAdded {
            sha256,
            thumb: Some(thumb),
            ..
        } = op.change
        {
            let path = media.join(crate::ingest::media::thumb_file(&sha256));
            if seen.insert(path.clone()) && !path.exists() {
                out.push((thumb, path));
            }
        }
    }
    Ok(out)
}

/// Write fetched bytes to `path` if they hash to `sha256` (through a
/// temporary file, so a half-written crop is never seen).
pub fn store_checked(path: &Path, sha256: &str, bytes: &[u8]) -> Result<()> {
    let got = hex::encode(Sha256::digest(bytes));
    if got != sha256 {
        return Err(Error::Invalid(format!(
            "media {sha256}: the bytes received hash to {got}"
        )));
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let tmp = crate::ingest::media::part_path(path);
    std::fs::write(&tmp, bytes).map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(path, e)
    })
}

/// The local file of the crop a detection names by `sha256`, if any.
pub fn local_crop(cat: &Catalogue, detection: &str) -> Result<Option<std::path::PathBuf>> {
    use rusqlite::OptionalExtension;
    let f: Option<Option<String>> = cat
        .conn()
        .query_row(
            "SELECT crop_file FROM detections WHERE uuid = ?1",
            [detection],
            |r| r.get(0),
        )
        .optional()?;
    Ok(f.flatten().map(|f| cat.media_dir().join(f)))
}
