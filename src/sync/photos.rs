//! Original photos, optionally (`whaleid sync --photos`): each laptop sends
//! the originals it imported, and fetches the originals of photos it only
//! received as records, so a researcher can open any photo of the catalogue.
//!
//! Photos are named by the sha256 of their bytes and travel in chunks
//! ([`super::wire::PHOTOS`]). Both directions resume where a cut connection
//! or a crash left them: the server says how much of an upload it holds, and
//! a download grows a `.part` file beside where the photo will be. Every
//! chunk sent carries its hash; every photo is checked whole before it is
//! kept, on both sides. `sync_photos` remembers the photos both sides hold,
//! so a later sync does not ask about them again.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use rusqlite::params;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::client::Remote;
use crate::cancel::CancelToken;
use crate::catalogue::Catalogue;
use crate::error::{Error, Result};

/// Bytes per chunk: large enough that a photo is a few requests, small
/// enough that a cut connection loses little.
pub const CHUNK: usize = 4 << 20;

/// Where fetched originals are kept, in the catalogue's media folder.
pub const ORIGINALS: &str = "originals";

/// What a photo sync did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PhotoReport {
    /// Originals the server now holds from here, and the bytes sent for
    /// them (less than their size when an upload resumed).
    pub sent: usize,
    pub bytes_sent: u64,
    /// Originals fetched, and the bytes received for them.
    pub fetched: usize,
    pub bytes_fetched: u64,
    /// Originals the server does not hold yet (another laptop has not sent
    /// them), fetched by a later sync.
    pub not_on_server: usize,
    /// Local originals not sent, with why (moved, changed since import).
    pub skipped: Vec<String>,
}

/// The sha256 of a file, read in pieces.
fn file_sha256(path: &Path) -> std::io::Result<(String, u64)> {
    let mut f = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    Ok((hex::encode(hasher.finalize()), size))
}

fn remember(cat: &Catalogue, sha256: &str, how: &str) -> Result<()> {
    cat.conn().execute(
        "INSERT OR IGNORE INTO sync_photos (sha256, how) VALUES (?1, ?2)",
        params![sha256, how],
    )?;
    Ok(())
}

/// Send this catalogue's originals the server lacks, then fetch the ones
/// this catalogue lacks, `chunk` bytes a request. Run after [`super::client::sync`]
/// (the server takes only photos whose records it holds). `progress` hears
/// the bytes moved so far. Cancelling stops between chunks; the next call
/// resumes.
pub fn sync_photos(
    cat: &mut Catalogue,
    remote: &Remote,
    chunk: usize,
    cancel: &CancelToken,
    progress: &mut dyn FnMut(u64),
) -> Result<PhotoReport> {
    let mut t = Transfer {
        remote,
        chunk: chunk.clamp(1, super::wire::MAX_CHUNK),
        cancel,
        progress,
        moved: 0,
        report: PhotoReport::default(),
    };
    t.send_all(cat)?;
    t.fetch_all(cat)?;
    Ok(t.report)
}

/// One photo sync under way: where it sends and fetches, and what it did.
struct Transfer<'a> {
    remote: &'a Remote,
    chunk: usize,
    cancel: &'a CancelToken,
    progress: &'a mut dyn FnMut(u64),
    /// Bytes moved both ways so far.
    moved: u64,
    report: PhotoReport,
}

impl Transfer<'_> {
    fn check_cancel(&self) -> Result<()> {
        if self.cancel.is_cancelled() {
            return Err(Error::Cancelled);
        }
        Ok(())
    }

    fn moved(&mut self, n: u64) {
        self.moved += n;
        (self.progress)(self.moved);
    }

    /// Send every local original the server has not acknowledged, unless
    /// it moved or changed since it was imported.
    fn send_all(&mut self, cat: &Catalogue) -> Result<()> {
        let local: Vec<(String, String)> = {
            let mut stmt = cat.conn().prepare(
                "SELECT DISTINCT sha256, original_path FROM photos
                 WHERE original_path != '' AND sha256 NOT IN (SELECT sha256 FROM sync_photos)
                 ORDER BY id",
            )?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        for (sha, path) in local {
            let path = PathBuf::from(path);
            match file_sha256(&path) {
                Ok((got, _)) if got == sha => {}
                Ok(_) => {
                    self.report
                        .skipped
                        .push(format!("{}: changed since it was imported", path.display()));
                    continue;
                }
                Err(e) => {
                    self.report.skipped.push(format!("{}: {e}", path.display()));
                    continue;
                }
            }
            let Some(status) = self.remote.upload_status(&sha)? else {
                // The server has no record of it yet: the next sync sends it.
                continue;
            };
            self.send(&sha, &path, status)?;
            remember(cat, &sha, "sent")?;
            self.report.sent += 1;
        }
        Ok(())
    }

    /// Send `path` from where the server's upload `status` stands until
    /// the server holds it whole.
    fn send(
        &mut self,
        sha: &str,
        path: &Path,
        mut status: super::wire::UploadStatus,
    ) -> Result<()> {
        let remote = self.remote;
        let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
        let size = file.metadata().map_err(|e| Error::io(path, e))?.len();
        let mut buf = vec![0u8; self.chunk];
        while !status.complete {
            self.check_cancel()?;
            let offset = status.received;
            let n = (size - offset).min(self.chunk as u64) as usize;
            file.seek(SeekFrom::Start(offset))
                .and_then(|_| file.read_exact(&mut buf[..n]))
                .map_err(|e| Error::io(path, e))?;
            status = match remote.put_photo_chunk(sha, offset, size, &buf[..n])? {
                Some(s) => {
                    self.report.bytes_sent += n as u64;
                    self.moved(n as u64);
                    s
                }
                // Someone else is sending it too: carry on from theirs.
                None => remote.upload_status(sha)?.ok_or_else(|| {
                    remote.fail(format!("photo {sha}: the server lost its record"))
                })?,
            };
            if !status.complete && status.received == offset && n > 0 {
                return Err(remote.fail(format!("photo {sha}: the server kept nothing")));
            }
        }
        Ok(())
    }

    /// Fetch every original this catalogue holds only as a record and the
    /// server holds.
    fn fetch_all(&mut self, cat: &Catalogue) -> Result<()> {
        let wanted: Vec<String> = {
            let mut stmt = cat.conn().prepare(
                "SELECT DISTINCT sha256 FROM photos p WHERE original_path = ''
                   AND NOT EXISTS (SELECT 1 FROM photos q
                                   WHERE q.sha256 = p.sha256 AND q.original_path != '')
                 ORDER BY id",
            )?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let held = self.held(&wanted)?;
        self.report.not_on_server = wanted.len() - held.len();
        let dir = cat.media_dir().join(ORIGINALS);
        for sha in held {
            // Named by content, not by writer, so a cut download resumes
            // in the next sync; only one writer at a time can be here (the
            // catalogue's lock across processes, one sync job in the app).
            let part = dir.join(format!("{sha}.part"));
            let Some(size) = self.fetch(&dir, &part, &sha)? else {
                self.report.not_on_server += 1;
                continue;
            };
            self.keep(cat, &dir, &part, &sha, size)?;
            remember(cat, &sha, "fetched")?;
            self.report.fetched += 1;
        }
        Ok(())
    }

    /// Which of `wanted` the server holds, asked a batch at a time.
    fn held(&self, wanted: &[String]) -> Result<Vec<String>> {
        let mut held = Vec::new();
        for batch in wanted.chunks(super::wire::BATCH) {
            self.check_cancel()?;
            // Only names asked about: a reply's names become file names here.
            let asked: std::collections::HashSet<&String> = batch.iter().collect();
            held.extend(
                self.remote
                    .photos_held(batch)?
                    .into_iter()
                    .filter(|s| asked.contains(s)),
            );
        }
        Ok(held)
    }

    /// Grow `part` (in `dir`) until it holds the whole photo; its size, or
    /// `None` when the server no longer has it.
    fn fetch(&mut self, dir: &Path, part: &Path, sha: &str) -> Result<Option<u64>> {
        let remote = self.remote;
        let mut have = std::fs::metadata(part).map(|m| m.len()).unwrap_or(0);
        let mut out: Option<File> = None;
        loop {
            self.check_cancel()?;
            let Some((bytes, size)) = remote.get_photo_chunk(sha, have, self.chunk)? else {
                return Ok(None);
            };
            if have > size {
                // A part longer than the photo is not ours to resume.
                std::fs::remove_file(part).map_err(|e| Error::io(part, e))?;
                have = 0;
                out = None;
                continue;
            }
            if have == size {
                return Ok(Some(size));
            }
            if bytes.is_empty() {
                return Err(remote.fail(format!("photo {sha}: an empty chunk at {have}")));
            }
            if out.is_none() {
                std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
                let mut f = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(part)
                    .map_err(|e| Error::io(part, e))?;
                f.seek(SeekFrom::End(0)).map_err(|e| Error::io(part, e))?;
                out = Some(f);
            }
            let f = out.as_mut().expect("opened above");
            f.write_all(&bytes).map_err(|e| Error::io(part, e))?;
            f.flush().map_err(|e| Error::io(part, e))?;
            have += bytes.len() as u64;
            self.report.bytes_fetched += bytes.len() as u64;
            self.moved(bytes.len() as u64);
        }
    }

    /// Check a fetched `part` whole, name it for its bytes and kind, and
    /// point the photo's record at it.
    fn keep(&self, cat: &Catalogue, dir: &Path, part: &Path, sha: &str, size: u64) -> Result<()> {
        let (got, _) = file_sha256(part).map_err(|e| Error::io(part, e))?;
        if got != sha {
            std::fs::remove_file(part).map_err(|e| Error::io(part, e))?;
            return Err(self.remote.fail(format!(
                "photo {sha}: the bytes received hash to {got}; discarded, fetched again next time"
            )));
        }
        let ext = std::fs::File::open(part)
            .and_then(|mut f| {
                let mut head = [0u8; 32];
                let n = f.read(&mut head)?;
                Ok(image::guess_format(&head[..n]).ok())
            })
            .map_err(|e| Error::io(part, e))?
            .and_then(|f| f.extensions_str().first().copied())
            .unwrap_or("bin");
        let dest = dir.join(format!("{sha}.{ext}"));
        std::fs::rename(part, &dest).map_err(|e| Error::io(&dest, e))?;
        cat.conn().execute(
            "UPDATE photos SET original_path = ?1, byte_size = ?2
             WHERE sha256 = ?3 AND original_path = ''",
            params![dest.to_string_lossy(), size as i64, sha],
        )?;
        Ok(())
    }
}
