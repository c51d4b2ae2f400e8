//! One writing process per catalogue.
//!
//! Two processes writing one catalogue at once (two `whaleid ingest` runs of
//! the same folder, the app and an ingest) each check what is there and then
//! write, and SQLite cannot make those two steps one: the second one died on
//! a raw unique constraint, or lost a thumbnail to the first. So a writer
//! holds an OS lock on `catalogue.lock` in the catalogue folder for as long
//! as it has the catalogue open, and a second process is refused at once
//! with who holds it ("in use by process N (whaleid ingest) since ...").
//! Readers (`catalogue check`, `catalogue backup`) take no lock: SQLite gives
//! them a consistent snapshot beside the writer.
//!
//! The lock is `File::try_lock` (flock on Unix, LockFileEx on Windows): the
//! OS lets go of it when its process dies, however it dies, so a lock left
//! by a killed process is simply taken over; what the file says about its
//! holder is only read to explain a refusal. Within one process every open
//! of a catalogue shares one lock (the app opens a second connection for a
//! job), so the rule is about processes: the app's own jobs are kept apart
//! by the app.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};

use crate::error::{Error, Result};

/// The lock file inside a catalogue folder.
pub const LOCK_FILE: &str = "catalogue.lock";

/// This process's hold on one catalogue's writer lock; released when the
/// last [`super::Catalogue`] sharing it is dropped.
#[derive(Debug)]
pub(crate) struct WriterLock {
    file: File,
}

impl Drop for WriterLock {
    fn drop(&mut self) {
        // The note describes a holder; without one it would mislead.
        let _ = self.file.set_len(0);
    }
}

/// The locks this process holds, by canonical catalogue folder.
static HELD: Mutex<Vec<(PathBuf, Weak<WriterLock>)>> = Mutex::new(Vec::new());

/// Take the writer lock of the catalogue in `root` (an existing folder), or
/// share the one this process already holds.
pub(crate) fn acquire(root: &Path) -> Result<Arc<WriterLock>> {
    let key = std::fs::canonicalize(root).map_err(|e| Error::io(root, e))?;
    let mut held = HELD.lock().unwrap_or_else(|e| e.into_inner());
    held.retain(|(_, lock)| lock.strong_count() > 0);
    if let Some(lock) = held
        .iter()
        .find(|(k, _)| *k == key)
        .and_then(|(_, lock)| lock.upgrade())
    {
        return Ok(lock);
    }
    let path = root.join(LOCK_FILE);
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| unwritable(root, &path, e))?;
    // A holder writes its note just after it takes the lock, and clears it
    // as it lets go: a refusal waits a moment for a note to name.
    let mut tries = 0;
    loop {
        match file.try_lock() {
            Ok(()) => {
                // Ours now: say who holds it, and clear what a killed
                // writer left half-written.
                let _ = file
                    .set_len(0)
                    .and_then(|()| (&file).write_all(note().as_bytes()));
                sweep_parts(root);
                break;
            }
            Err(TryLockError::WouldBlock) => {
                let mut text = String::new();
                // Unreadable where the OS locks the bytes themselves
                // (Windows): the refusal says less.
                let _ = std::io::Seek::rewind(&mut file)
                    .and_then(|()| (&file).take(4096).read_to_string(&mut text));
                tries += 1;
                if text.contains("pid: ") || tries >= 25 {
                    return Err(in_use(root, &text));
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            Err(TryLockError::Error(e)) if e.kind() == std::io::ErrorKind::Unsupported => {
                tracing::warn!(
                    "{}: this file system cannot lock files; two WhaleID programs writing this catalogue at once are not prevented",
                    path.display()
                );
                break;
            }
            Err(TryLockError::Error(e)) => return Err(Error::io(&path, e)),
        }
    }
    let lock = Arc::new(WriterLock { file });
    held.push((key, Arc::downgrade(&lock)));
    Ok(lock)
}

/// The refusal for a catalogue another process writes, from its lock note.
fn in_use(root: &Path, note: &str) -> Error {
    let field = |name: &str| {
        note.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(": "))
            .map(|v| v.trim().escape_debug().to_string())
            .filter(|v| !v.is_empty())
    };
    let who = match (field("pid"), field("program")) {
        (Some(pid), Some(program)) => format!("process {pid} ({program})"),
        (Some(pid), None) => format!("process {pid}"),
        _ => "another process".to_string(),
    };
    let since = field("since")
        .map(|s| format!(" since {s}"))
        .unwrap_or_default();
    Error::Catalogue {
        path: root.to_path_buf(),
        reason: format!(
            "in use by {who}{since}: one program at a time may write to a catalogue; \
             wait for it to finish, or close the catalogue there, then try again"
        ),
    }
}

/// What the lock file says about its holder.
fn note() -> String {
    format!(
        "pid: {}\nsince: {}\nprogram: {}\n",
        std::process::id(),
        utc_now(),
        program()
    )
}

/// This program and its subcommand words (`whaleid catalogue import`), for
/// a person to recognise; arguments that could be paths are left out.
fn program() -> String {
    let mut args = std::env::args_os();
    let name = args
        .next()
        .and_then(|a| {
            Path::new(&a)
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "whaleid".into());
    let words = args
        .map_while(|a| {
            a.to_str()
                .filter(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'))
                .filter(|w| !w.starts_with('-'))
                .map(str::to_string)
        })
        .take(2);
    std::iter::once(name)
        .chain(words)
        .collect::<Vec<_>>()
        .join(" ")
        .escape_debug()
        .to_string()
}

/// Now as `2026-12-03 07:16:38 UTC`.
fn utc_now() -> String {
    let ((y, m, d), rem) = crate::calendar::utc_now();
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// Review images a killed writer left half-written (their temporary
/// names end in `.part`); only called by a process that has just taken the
/// lock, so no writer is making them now. Downloads of originals are left
/// alone: sync resumes them.
fn sweep_parts(root: &Path) {
    for dir in ["crops", "thumbs"] {
        let Ok(entries) = std::fs::read_dir(root.join(super::MEDIA_DIR).join(dir)) else {
            continue;
        };
        for entry in entries.flatten() {
            if entry.file_name().as_encoded_bytes().ends_with(b".part") {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}

/// Whether a file can be made in `dir` (tried, since permission bits do not
/// tell: read-only mounts, ACLs, root).
pub(crate) fn writable(dir: &Path) -> bool {
    let probe = dir.join(format!(".whaleid-write-test-{}", std::process::id()));
    match OpenOptions::new().write(true).create_new(true).open(&probe) {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            true
        }
        Err(e) => e.kind() == std::io::ErrorKind::AlreadyExists,
    }
}

/// The error for a catalogue folder WhaleID cannot write in.
pub(crate) fn read_only(root: &Path) -> Error {
    Error::Catalogue {
        path: root.to_path_buf(),
        reason: format!(
            "the folder is read-only, and WhaleID writes beside {} (its lock, journal and \
             media): copy the catalogue to a folder you can write to, or make this one writable",
            super::DB_FILE
        ),
    }
}

/// `e`, met creating or opening `path` in `root`: a read-only folder said so.
fn unwritable(root: &Path, path: &Path, e: std::io::Error) -> Error {
    use std::io::ErrorKind::{PermissionDenied, ReadOnlyFilesystem};
    if matches!(e.kind(), PermissionDenied | ReadOnlyFilesystem) && !writable(root) {
        read_only(root)
    } else {
        Error::io(path, e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_names_the_holder_from_its_note_and_escapes_it() {
        let msg = in_use(
            Path::new("/data/cat"),
            "pid: 42\nsince: 2026-12-03 07:16:38 UTC\nprogram: whaleid \u{1b}[2Jingest\n",
        )
        .to_string();
        assert!(
            msg.contains("/data/cat")
                && msg.contains(
                    "in use by process 42 (whaleid \\u{1b}[2Jingest) since 2026-12-03 07:16:38 UTC"
                ),
            "{msg}"
        );
        assert!(!msg.contains('\u{1b}'));
        let msg = in_use(Path::new("/data/cat"), "").to_string();
        assert!(msg.contains("in use by another process:"), "{msg}");
    }

    #[test]
    fn one_process_shares_its_lock_and_lets_go_when_the_last_holder_drops() {
        let dir = tempfile::tempdir().unwrap();
        let a = acquire(dir.path()).unwrap();
        let b = acquire(dir.path()).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        // Another open file (as another process has) is refused meanwhile.
        let other = File::open(dir.path().join(LOCK_FILE)).unwrap();
        assert!(matches!(other.try_lock(), Err(TryLockError::WouldBlock)));
        drop((a, b));
        // (A child being forked elsewhere shares the lock until it execs.)
        let taken = (0..50).any(|_| {
            let ok = other.try_lock().is_ok();
            if !ok {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            ok
        });
        assert!(taken);
        assert_eq!(
            std::fs::read_to_string(dir.path().join(LOCK_FILE)).unwrap(),
            ""
        );
    }
}
