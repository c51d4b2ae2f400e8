//! The app's log file: appended to, rotated by size, and read back for a
//! bug report.
//!
//! [`RotatingFile`] is a plain [`Write`]: the app hands it to its `tracing`
//! subscriber (behind a `Mutex`, which `tracing-subscriber` accepts as a
//! writer). When the next write would take the file past its size limit, the
//! file becomes `whaleid.log.1`, the older ones shift up (`.1` → `.2` …) and
//! the oldest beyond `keep` is deleted, so the log holds about
//! `(keep + 1) × max_bytes` at most. Lines go to the file whole (a
//! `writeln!` arrives in pieces), so rotation never splits one. What goes in is the app's choice: errors and job
//! summaries, paths but no names.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Rotate when the file would pass this size.
pub const MAX_BYTES: u64 = 1024 * 1024;
/// Rotated files kept besides the current one.
pub const KEEP: usize = 3;

/// An append-only log file that rotates by size.
#[derive(Debug)]
pub struct RotatingFile {
    path: PathBuf,
    max_bytes: u64,
    keep: usize,
    file: File,
    size: u64,
    /// The line being written (a `writeln!` arrives in pieces): lines go to
    /// the file whole, so one is never split across two files.
    pending: Vec<u8>,
}

impl RotatingFile {
    /// Open (creating the folder and the file) `dir/name` for appending.
    pub fn open(dir: &Path, name: &str, max_bytes: u64, keep: usize) -> io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(name);
        let file = append(&path)?;
        let size = file.metadata()?.len();
        Ok(Self {
            path,
            max_bytes,
            keep,
            file,
            size,
            pending: Vec::new(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn write_line(&mut self, line: &[u8]) -> io::Result<()> {
        if self.size > 0 && self.size + line.len() as u64 > self.max_bytes {
            self.rotate()?;
        }
        self.file.write_all(line)?;
        self.size += line.len() as u64;
        Ok(())
    }

    fn rotate(&mut self) -> io::Result<()> {
        let _ = std::fs::remove_file(rotated(&self.path, self.keep));
        for n in (1..self.keep).rev() {
            let from = rotated(&self.path, n);
            if from.exists() {
                std::fs::rename(&from, rotated(&self.path, n + 1))?;
            }
        }
        if self.keep > 0 {
            std::fs::rename(&self.path, rotated(&self.path, 1))?;
        } else {
            std::fs::remove_file(&self.path)?;
        }
        self.file = append(&self.path)?;
        self.size = 0;
        Ok(())
    }
}

impl Drop for RotatingFile {
    fn drop(&mut self) {
        // An unfinished last line is still worth keeping.
        if !self.pending.is_empty() {
            let rest = std::mem::take(&mut self.pending);
            let _ = self.write_line(&rest);
        }
    }
}

impl Write for RotatingFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(buf);
        while let Some(end) = self.pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=end).collect();
            self.write_line(&line)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

fn append(path: &Path) -> io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

/// `whaleid.log.N`.
fn rotated(path: &Path, n: usize) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{n}"));
    path.with_file_name(name)
}

/// The last `n` lines of the log at `path`, oldest first, reaching into the
/// most recent rotated file when the current one is shorter. A missing log
/// gives no lines.
pub fn last_lines(path: &Path, n: usize) -> Vec<String> {
    let read = |p: &Path| -> Vec<String> {
        std::fs::read(p)
            .map(|bytes| {
                String::from_utf8_lossy(&bytes)
                    .lines()
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut lines = read(path);
    if lines.len() < n {
        let mut older = read(&rotated(path, 1));
        older.append(&mut lines);
        lines = older;
    }
    let skip = lines.len().saturating_sub(n);
    lines.split_off(skip)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(dir: &Path) -> Vec<(String, u64)> {
        let mut found: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.file_name().to_string_lossy().into_owned(),
                    e.metadata().unwrap().len(),
                )
            })
            .collect();
        found.sort();
        found
    }

    #[test]
    fn the_log_rotates_by_size_and_keeps_only_the_newest_files() {
        let dir = tempfile::tempdir().unwrap();
        let mut log = RotatingFile::open(dir.path(), "whaleid.log", 100, 2).unwrap();
        for i in 0..40 {
            writeln!(log, "line {i:02} of the log").unwrap(); // 19 bytes
        }
        log.flush().unwrap();
        let found = files(dir.path());
        let names: Vec<&str> = found.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["whaleid.log", "whaleid.log.1", "whaleid.log.2"]);
        assert!(found.iter().all(|(_, len)| *len <= 100), "{found:?}");
        // 40 lines, 5 per file: the last 15 survive, in order.
        assert_eq!(
            last_lines(log.path(), 3),
            [
                "line 37 of the log",
                "line 38 of the log",
                "line 39 of the log"
            ]
        );
        let oldest = std::fs::read_to_string(dir.path().join("whaleid.log.2")).unwrap();
        assert!(oldest.starts_with("line 25 "), "{oldest}");
    }

    #[test]
    fn reopening_appends_and_the_tail_reaches_into_the_rotated_file() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut log = RotatingFile::open(dir.path(), "a.log", 60, 1).unwrap();
            for i in 0..4 {
                writeln!(log, "first {i} ........").unwrap(); // 17 bytes
            }
        }
        let mut log = RotatingFile::open(dir.path(), "a.log", 60, 1).unwrap();
        writeln!(log, "second").unwrap();
        // The first three lines filled a.log; the fourth rotated it; the
        // reopened file goes on appending after the fourth.
        assert_eq!(
            last_lines(log.path(), 3),
            ["first 2 ........", "first 3 ........", "second"]
        );
        assert!(last_lines(&dir.path().join("missing.log"), 5).is_empty());
    }
}
