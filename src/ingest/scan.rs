//! Finding the photos in a folder someone dragged in.
//!
//! A survey folder is whatever a field team copied off their cards: nested day
//! folders, sidecar files, phone HEICs, dot-files left by other tools, and
//! sometimes symlinks into a shared drive. [`scan`] walks it once and sorts
//! every entry into either a photo WhaleID can read or a skipped entry with a
//! reason a person can act on, so the import report can say "these 12 files
//! were not read, and why" instead of silently importing fewer photos. Only a
//! root that is not a readable folder is an error; anything that goes wrong
//! below it (an unreadable folder, a folder deleted mid-scan, a broken link, a
//! symlink loop) is one line in `skipped`. Nothing here decodes an image: that
//! is the pipeline's job, and a file with a photo extension that fails to
//! decode is reported there.
//!
//! A card dump or a shared drive can take seconds to walk, so the walk
//! reports [`ScanProgress`] as it goes (entries looked at, photos found, the
//! folder being read), at most four times a second and once at the end, and
//! stops at a cancel.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::ingest::labels::IMAGE_EXTENSIONS;
use crate::CancelToken;

/// How often the walk reports, at most.
const REPORT_EVERY: Duration = Duration::from_millis(250);

/// Why a file with an unsupported extension was not read.
const READS: &str = "WhaleID reads JPEG, PNG, TIFF, WebP";

/// What a folder holds, as far as import is concerned.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Scan {
    /// Files with a photo extension, sorted by path.
    pub photos: Vec<PathBuf>,
    /// Everything else found, sorted by path, with the reason it was skipped.
    pub skipped: Vec<(PathBuf, String)>,
}

/// Where a walk is, as it goes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScanProgress {
    /// Entries looked at so far: every photo and every skipped entry (a
    /// folder walked into is not counted; a hidden one is, once). At the end
    /// it is `photos.len() + skipped.len()` of the [`Scan`].
    pub seen: usize,
    /// Photos found so far.
    pub photos: usize,
    /// The folder being read.
    pub folder: PathBuf,
}

/// What the user dropped or named: folders are scanned, files are taken as
/// given (decoding judges them). The CLI and the app both start an ingest here.
pub fn scan_all(paths: &[PathBuf]) -> Result<Scan> {
    scan_all_with_progress(paths, &mut |_| {}, &CancelToken::new())
}

/// [`scan_all`], reporting as it walks (counts run on across `paths`) and
/// stopping with [`Error::Cancelled`] when `cancel` is set.
pub fn scan_all_with_progress(
    paths: &[PathBuf],
    progress: &mut dyn FnMut(&ScanProgress),
    cancel: &CancelToken,
) -> Result<Scan> {
    let mut all = Scan::default();
    let mut reporter = Reporter::new(progress, REPORT_EVERY);
    for p in paths {
        if p.is_dir() {
            reporter.base = (all.photos.len() + all.skipped.len(), all.photos.len());
            let (s, r) = walk_root(p, reporter, cancel)?;
            reporter = r;
            all.photos.extend(s.photos);
            all.skipped.extend(s.skipped);
        } else {
            all.photos.push(p.clone());
            reporter.base = (0, 0);
            let folder = p.parent().unwrap_or(Path::new(""));
            reporter.send(&all, folder, false);
        }
    }
    reporter.base = (0, 0);
    let last = paths.last().map(|p| match p.is_dir() {
        true => p.as_path(),
        false => p.parent().unwrap_or(Path::new("")),
    });
    reporter.send(&all, last.unwrap_or(Path::new("")), true);
    Ok(all)
}

/// Walk `root` recursively, following symlinks, and sort what is found into
/// photos and skipped entries.
///
/// Fails only when `root` does not exist, cannot be read, or is not a folder.
pub fn scan(root: &Path) -> Result<Scan> {
    scan_with_progress(root, &mut |_| {}, &CancelToken::new())
}

/// [`scan`], reporting as it walks and stopping with [`Error::Cancelled`]
/// when `cancel` is set.
pub fn scan_with_progress(
    root: &Path,
    progress: &mut dyn FnMut(&ScanProgress),
    cancel: &CancelToken,
) -> Result<Scan> {
    walk_root(root, Reporter::new(progress, REPORT_EVERY), cancel).map(|(s, _)| s)
}

/// Walk one root; the reporter is handed back so that counts and throttling
/// run on into the next root.
fn walk_root<'a>(
    root: &Path,
    reporter: Reporter<'a>,
    cancel: &CancelToken,
) -> Result<(Scan, Reporter<'a>)> {
    let meta = fs::metadata(root).map_err(|e| Error::io(root, e))?;
    if !meta.is_dir() {
        return Err(Error::io(
            root,
            io::Error::new(io::ErrorKind::NotADirectory, "not a folder"),
        ));
    }
    let canonical = fs::canonicalize(root).map_err(|e| Error::io(root, e))?;
    let entries = read_dir_sorted(root).map_err(|e| Error::io(root, e))?;
    let mut walk = Walk {
        reporter,
        cancel: Some(cancel.clone()),
        folder: root.to_path_buf(),
        ..Walk::default()
    };
    walk.seen.insert(canonical.clone(), root.to_path_buf());
    walk.entries(entries, &mut vec![canonical]);
    if cancel.is_cancelled() {
        return Err(Error::Cancelled);
    }
    walk.reporter.send(&walk.out, root, true);
    walk.out.photos.sort();
    walk.out.skipped.sort();
    Ok((walk.out, walk.reporter))
}

/// Sends progress at most once per `every`, and always when forced.
struct Reporter<'a> {
    sink: Option<&'a mut dyn FnMut(&ScanProgress)>,
    every: Duration,
    last: Option<Instant>,
    /// What the roots walked before this one found: (seen, photos).
    base: (usize, usize),
}

impl<'a> Reporter<'a> {
    fn new(sink: &'a mut dyn FnMut(&ScanProgress), every: Duration) -> Self {
        Reporter {
            sink: Some(sink),
            every,
            last: None,
            base: (0, 0),
        }
    }

    fn send(&mut self, found: &Scan, folder: &Path, force: bool) {
        let Some(sink) = self.sink.as_mut() else {
            return;
        };
        if !force && self.last.is_some_and(|t| t.elapsed() < self.every) {
            return;
        }
        self.last = Some(Instant::now());
        sink(&ScanProgress {
            seen: self.base.0 + found.photos.len() + found.skipped.len(),
            photos: self.base.1 + found.photos.len(),
            folder: folder.to_path_buf(),
        });
    }
}

impl Default for Reporter<'_> {
    fn default() -> Self {
        Reporter {
            sink: None,
            every: REPORT_EVERY,
            last: None,
            base: (0, 0),
        }
    }
}

#[derive(Default)]
struct Walk<'a> {
    out: Scan,
    /// Canonical folder → the path it was first scanned under, so a second
    /// link to the same folder does not import its photos twice.
    seen: HashMap<PathBuf, PathBuf>,
    reporter: Reporter<'a>,
    cancel: Option<CancelToken>,
    /// The folder being read, as walked (not canonical), for progress.
    folder: PathBuf,
}

impl Walk<'_> {
    fn cancelled(&self) -> bool {
        self.cancel.as_ref().is_some_and(CancelToken::is_cancelled)
    }

    /// Scan one folder below the root. `ancestors` holds the canonical paths
    /// of the folders above it, which is what tells a loop from a duplicate.
    fn dir(&mut self, path: &Path, ancestors: &mut Vec<PathBuf>) {
        let canonical = match fs::canonicalize(path) {
            Ok(c) => c,
            Err(e) => return self.skip(path, e.to_string()),
        };
        if ancestors.contains(&canonical) {
            return self.skip(path, "symlink loop".to_string());
        }
        if let Some(first) = self.seen.get(&canonical) {
            let reason = format!("same folder as {}", first.display());
            return self.skip(path, reason);
        }
        self.seen.insert(canonical.clone(), path.to_path_buf());
        match read_dir_sorted(path) {
            Ok(entries) => {
                ancestors.push(canonical);
                let parent = std::mem::replace(&mut self.folder, path.to_path_buf());
                self.entries(entries, ancestors);
                self.folder = parent;
                ancestors.pop();
            }
            Err(e) => self.skip(path, e.to_string()),
        }
    }

    fn entries(&mut self, entries: Vec<io::Result<PathBuf>>, ancestors: &mut Vec<PathBuf>) {
        for entry in entries {
            if self.cancelled() {
                return;
            }
            match entry {
                Ok(path) => self.entry(&path, ancestors),
                // The folder's own path is the best we can name when the
                // listing itself breaks part way.
                Err(e) => {
                    let dir = ancestors.last().cloned().unwrap_or_default();
                    self.skip(&dir, e.to_string());
                }
            }
            self.reporter.send(&self.out, &self.folder, false);
        }
    }

    fn entry(&mut self, path: &Path, ancestors: &mut Vec<PathBuf>) {
        let hidden = path
            .file_name()
            .is_some_and(|n| n.as_encoded_bytes().starts_with(b"."));
        if hidden {
            let is_dir = fs::metadata(path).is_ok_and(|m| m.is_dir());
            let what = if is_dir {
                "hidden folder"
            } else {
                "hidden file"
            };
            return self.skip(path, what.to_string());
        }
        // `metadata` follows links, so a link is judged by what it points to.
        let meta = match fs::metadata(path) {
            Ok(m) => m,
            Err(e) => {
                let link = fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
                let reason = if link {
                    format!("broken symlink: {e}")
                } else {
                    // Listed a moment ago and gone now: deleted mid-scan.
                    e.to_string()
                };
                return self.skip(path, reason);
            }
        };
        if meta.is_dir() {
            self.dir(path, ancestors);
        } else if !meta.is_file() {
            self.skip(path, "not a regular file".to_string());
        } else {
            match photo_extension(path) {
                Ok(()) => self.out.photos.push(path.to_path_buf()),
                Err(reason) => self.skip(path, reason),
            }
        }
    }

    fn skip(&mut self, path: &Path, reason: String) {
        self.out.skipped.push((path.to_path_buf(), reason));
    }
}

/// `Ok` when the extension is one WhaleID decodes; else the reason it is not.
fn photo_extension(path: &Path) -> std::result::Result<(), String> {
    match path.extension() {
        None => Err(format!("no file extension ({READS})")),
        Some(ext) => {
            let ext = ext.to_string_lossy();
            if IMAGE_EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str()) {
                Ok(())
            } else {
                Err(format!("unsupported file type .{ext} ({READS})"))
            }
        }
    }
}

/// The entries of one folder, sorted, each one a path or the error met while
/// listing it. Fails when the folder cannot be opened at all (missing,
/// vanished, no permission).
fn read_dir_sorted(dir: &Path) -> io::Result<Vec<io::Result<PathBuf>>> {
    let mut entries: Vec<_> = fs::read_dir(dir)?.map(|e| e.map(|e| e.path())).collect();
    entries.sort_by(|a, b| match (a, b) {
        (Ok(a), Ok(b)) => a.cmp(b),
        (Ok(_), Err(_)) => std::cmp::Ordering::Less,
        (Err(_), Ok(_)) => std::cmp::Ordering::Greater,
        (Err(_), Err(_)) => std::cmp::Ordering::Equal,
    });
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(path: &Path) {
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).unwrap();
        }
        fs::write(path, b"x").unwrap();
    }

    fn reason<'a>(scan: &'a Scan, path: &Path) -> &'a str {
        scan.skipped
            .iter()
            .find(|(p, _)| p == path)
            .map(|(_, r)| r.as_str())
            .unwrap_or_else(|| panic!("{} not skipped: {scan:#?}", path.display()))
    }

    #[test]
    fn nested_folders_and_mixed_types_are_sorted_into_photos_and_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let photos = [
            root.join("a.JPG"),
            root.join("day1/b.jpeg"),
            root.join("day1/deep/c.png"),
            root.join("day2/d.TiFf"),
            root.join("day2/e.tif"),
            root.join("day2/f.webp"),
        ];
        for p in &photos {
            touch(p);
        }
        for p in [
            "day1/IMG_1.heic",
            "notes.txt",
            "day2/README",
            "day1/.DS_Store",
        ] {
            touch(&root.join(p));
        }
        fs::create_dir_all(root.join(".thumbs")).unwrap();
        touch(&root.join(".thumbs/g.jpg"));
        fs::create_dir_all(root.join("empty")).unwrap();

        let s = scan(root).unwrap();
        assert_eq!(s.photos, photos.to_vec());
        assert_eq!(
            reason(&s, &root.join("day1/IMG_1.heic")),
            "unsupported file type .heic (WhaleID reads JPEG, PNG, TIFF, WebP)"
        );
        assert!(reason(&s, &root.join("notes.txt")).starts_with("unsupported file type .txt"));
        assert!(reason(&s, &root.join("day2/README")).starts_with("no file extension"));
        assert_eq!(reason(&s, &root.join("day1/.DS_Store")), "hidden file");
        // A hidden folder is one line, not one per file inside it.
        assert_eq!(reason(&s, &root.join(".thumbs")), "hidden folder");
        assert_eq!(s.skipped.len(), 5, "{:#?}", s.skipped);
        let mut sorted = s.skipped.clone();
        sorted.sort();
        assert_eq!(s.skipped, sorted);
    }

    #[test]
    fn progress_counts_grow_to_the_final_totals() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for p in [
            "a.jpg",
            "day1/b.jpg",
            "day1/c.txt",
            "day1/deep/d.png",
            "day2/e.jpg",
            "day2/f.heic",
            "day2/.DS_Store",
        ] {
            touch(&root.join(p));
        }
        let mut reports: Vec<ScanProgress> = Vec::new();
        let mut sink = |p: &ScanProgress| reports.push(p.clone());
        let (s, _) = walk_root(
            root,
            Reporter::new(&mut sink, Duration::ZERO),
            &CancelToken::new(),
        )
        .unwrap();
        assert_eq!((s.photos.len(), s.skipped.len()), (4, 3));
        // Every entry looked at is reported (the throttle is off here).
        let mut counts: Vec<usize> = reports.iter().map(|r| r.seen).collect();
        counts.dedup();
        assert_eq!(counts, (1..=7).collect::<Vec<_>>(), "{reports:#?}");
        for pair in reports.windows(2) {
            assert!(pair[1].seen >= pair[0].seen && pair[1].photos >= pair[0].photos);
        }
        assert_eq!((reports[0].seen, reports[0].photos), (1, 1));
        let last = reports.last().unwrap();
        assert_eq!((last.seen, last.photos), (7, 4));
        assert_eq!(last.folder, root);
        // The folder named is the one being read when the entry was seen.
        let deep = reports.iter().find(|r| r.photos == 3).unwrap();
        assert_eq!(deep.folder, root.join("day1/deep"));
    }

    #[test]
    fn progress_runs_on_across_roots_and_ends_at_the_total() {
        let dir = tempfile::tempdir().unwrap();
        let (one, two) = (dir.path().join("one"), dir.path().join("two"));
        for p in [one.join("a.jpg"), one.join("b.txt"), two.join("c.jpg")] {
            touch(&p);
        }
        let single = dir.path().join("single.png");
        touch(&single);
        let mut reports: Vec<ScanProgress> = Vec::new();
        let s = scan_all_with_progress(
            &[one.clone(), single.clone(), two.clone()],
            &mut |p| reports.push(p.clone()),
            &CancelToken::new(),
        )
        .unwrap();
        assert_eq!(s.photos, vec![one.join("a.jpg"), single, two.join("c.jpg")]);
        for pair in reports.windows(2) {
            assert!(pair[1].seen >= pair[0].seen && pair[1].photos >= pair[0].photos);
        }
        let last = reports.last().unwrap();
        assert_eq!((last.seen, last.photos, &last.folder), (4, 3, &two));
    }

    #[test]
    fn a_cancelled_scan_stops_with_cancelled() {
        let dir = tempfile::tempdir().unwrap();
        touch(&dir.path().join("a.jpg"));
        let cancel = CancelToken::new();
        cancel.cancel();
        let err = scan_with_progress(dir.path(), &mut |_| {}, &cancel).unwrap_err();
        assert!(matches!(err, Error::Cancelled), "{err:?}");
    }

    #[test]
    fn names_with_spaces_and_non_ascii_are_found() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let photos = [
            root.join("Baleine à bosse/Île d'Orléans 01.jpg"),
            root.join("ザトウクジラ/写真 2.PNG"),
        ];
        for p in &photos {
            touch(p);
        }
        let s = scan(root).unwrap();
        let mut expected = photos.to_vec();
        expected.sort();
        assert_eq!(s.photos, expected);
        assert!(s.skipped.is_empty(), "{:#?}", s.skipped);
    }

    #[test]
    fn missing_root_is_an_error_naming_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("no such survey");
        let err = scan(&missing).unwrap_err();
        assert!(
            matches!(&err, Error::Io { path, source } if path == &missing
                && source.kind() == io::ErrorKind::NotFound),
            "{err:?}"
        );
        assert!(err.to_string().contains("no such survey"), "{err}");
    }

    #[test]
    fn file_as_root_is_an_error_naming_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("one.jpg");
        touch(&file);
        let err = scan(&file).unwrap_err();
        assert!(
            matches!(&err, Error::Io { path, source } if path == &file
                && source.kind() == io::ErrorKind::NotADirectory),
            "{err:?}"
        );
        assert!(err.to_string().contains("one.jpg"), "{err}");
    }

    #[test]
    fn vanished_folder_is_skipped_with_its_error() {
        let dir = tempfile::tempdir().unwrap();
        let gone = dir.path().join("deleted mid-scan");
        let mut walk = Walk::default();
        walk.dir(&gone, &mut Vec::new());
        assert!(walk.out.photos.is_empty());
        assert_eq!(walk.out.skipped.len(), 1);
        let (path, reason) = &walk.out.skipped[0];
        assert_eq!(path, &gone);
        assert_eq!(reason, &fs::read_dir(&gone).unwrap_err().to_string());
        // And an entry that was listed but is gone by the time it is looked at.
        let mut walk = Walk::default();
        walk.entry(&dir.path().join("gone.jpg"), &mut Vec::new());
        assert!(walk.out.photos.is_empty());
        assert_eq!(walk.out.skipped.len(), 1);
        assert!(read_dir_sorted(&gone).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_are_followed_and_loops_and_broken_links_are_skipped() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("survey");
        let outside = dir.path().join("shared drive");
        touch(&root.join("day1/a.jpg"));
        touch(&outside.join("b.jpg"));
        touch(&outside.join("c.png"));
        // A link to a folder outside the root, and one to a file.
        symlink(&outside, root.join("linked")).unwrap();
        symlink(outside.join("c.png"), root.join("day1/c link.png")).unwrap();
        // A link back up to the root: a loop.
        symlink(&root, root.join("day1/back to root")).unwrap();
        // A second link to a folder already scanned: not a loop, but its
        // photos must not be imported twice.
        symlink(root.join("day1"), root.join("day1 again")).unwrap();
        // Broken links, to a file and to a folder.
        symlink(dir.path().join("nowhere.jpg"), root.join("broken.jpg")).unwrap();
        symlink(dir.path().join("nowhere"), root.join("broken dir")).unwrap();

        let s = scan(&root).unwrap();
        assert_eq!(
            s.photos,
            vec![
                root.join("day1/a.jpg"),
                root.join("day1/c link.png"),
                root.join("linked/b.jpg"),
                root.join("linked/c.png"),
            ]
        );
        assert_eq!(reason(&s, &root.join("day1/back to root")), "symlink loop");
        assert_eq!(
            reason(&s, &root.join("day1 again")),
            format!("same folder as {}", root.join("day1").display())
        );
        assert!(reason(&s, &root.join("broken.jpg")).starts_with("broken symlink: "));
        assert!(reason(&s, &root.join("broken dir")).starts_with("broken symlink: "));
        assert_eq!(s.skipped.len(), 4, "{:#?}", s.skipped);
    }

    #[cfg(unix)]
    #[test]
    fn symlink_loop_between_two_folders_terminates() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("a")).unwrap();
        fs::create_dir_all(root.join("b")).unwrap();
        symlink(root.join("b"), root.join("a/to b")).unwrap();
        symlink(root.join("a"), root.join("b/to a")).unwrap();
        touch(&root.join("a/x.jpg"));
        let s = scan(root).unwrap();
        // `a/to b` is b, first seen there; b/to a leads back to a: a loop.
        assert_eq!(s.photos, vec![root.join("a/x.jpg")]);
        assert_eq!(reason(&s, &root.join("a/to b/to a")), "symlink loop");
        assert_eq!(
            reason(&s, &root.join("b")),
            format!("same folder as {}", root.join("a/to b").display())
        );
    }

    #[cfg(unix)]
    #[test]
    fn unreadable_folder_is_skipped_and_the_scan_goes_on() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        touch(&root.join("a locked/x.jpg"));
        touch(&root.join("b open/y.jpg"));
        let locked = root.join("a locked");
        fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).unwrap();
        let readable_anyway = fs::read_dir(&locked).is_ok(); // running as root
        let s = scan(root);
        fs::set_permissions(&locked, fs::Permissions::from_mode(0o755)).unwrap();
        let s = s.unwrap();
        if readable_anyway {
            return;
        }
        assert_eq!(s.photos, vec![root.join("b open/y.jpg")]);
        assert_eq!(s.skipped.len(), 1, "{:#?}", s.skipped);
        assert_eq!(s.skipped[0].0, locked);
    }

    #[cfg(unix)]
    #[test]
    fn symlinked_root_is_followed() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        touch(&dir.path().join("real/a.jpg"));
        let link = dir.path().join("link");
        symlink(dir.path().join("real"), &link).unwrap();
        let s = scan(&link).unwrap();
        assert_eq!(s.photos, vec![link.join("a.jpg")]);
    }
}
