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

use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::ingest::labels::IMAGE_EXTENSIONS;

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

/// What the user dropped or named: folders are scanned, files are taken as
/// given (decoding judges them). The CLI and the app both start an ingest here.
pub fn scan_all(paths: &[PathBuf]) -> Result<Scan> {
    let mut all = Scan::default();
    for p in paths {
        if p.is_dir() {
            let s = scan(p)?;
            all.photos.extend(s.photos);
            all.skipped.extend(s.skipped);
        } else {
            all.photos.push(p.clone());
        }
    }
    Ok(all)
}

/// Walk `root` recursively, following symlinks, and sort what is found into
/// photos and skipped entries.
///
/// Fails only when `root` does not exist, cannot be read, or is not a folder.
pub fn scan(root: &Path) -> Result<Scan> {
    let meta = fs::metadata(root).map_err(|e| Error::io(root, e))?;
    if !meta.is_dir() {
        return Err(Error::io(
            root,
            io::Error::new(io::ErrorKind::NotADirectory, "not a folder"),
        ));
    }
    let canonical = fs::canonicalize(root).map_err(|e| Error::io(root, e))?;
    let entries = read_dir_sorted(root).map_err(|e| Error::io(root, e))?;
    let mut walk = Walk::default();
    walk.seen.insert(canonical.clone(), root.to_path_buf());
    walk.entries(entries, &mut vec![canonical]);
    walk.out.photos.sort();
    walk.out.skipped.sort();
    Ok(walk.out)
}

#[derive(Default)]
struct Walk {
    out: Scan,
    /// Canonical folder → the path it was first scanned under, so a second
    /// link to the same folder does not import its photos twice.
    seen: HashMap<PathBuf, PathBuf>,
}

impl Walk {
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
                self.entries(entries, ancestors);
                ancestors.pop();
            }
            Err(e) => self.skip(path, e.to_string()),
        }
    }

    fn entries(&mut self, entries: Vec<io::Result<PathBuf>>, ancestors: &mut Vec<PathBuf>) {
        for entry in entries {
            match entry {
                Ok(path) => self.entry(&path, ancestors),
                // The folder's own path is the best we can name when the
                // listing itself breaks part way.
                Err(e) => {
                    let dir = ancestors.last().cloned().unwrap_or_default();
                    self.skip(&dir, e.to_string());
                }
            }
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
