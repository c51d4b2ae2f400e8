//! The test packs committed in `tests/packs/` (the tiny ONNX detector and
//! embedder the tests run through the real runtime), found from this crate's
//! own folder so every test crate reaches the same files, and scratch copies
//! of them that a test may edit or break.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// The committed pack `tests/packs/NAME`.
pub fn pack_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/packs")
        .join(name)
}

/// The tiny pack: a real ONNX detector of dark shapes and a small embedder.
pub fn tiny_pack() -> PathBuf {
    pack_dir("tiny")
}

/// A scratch copy of a committed pack.
pub fn copy_pack(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let from = pack_dir(name);
    let entries =
        std::fs::read_dir(&from).unwrap_or_else(|e| panic!("test pack {}: {e}", from.display()));
    for entry in entries {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
    }
    dir
}

/// Edit `pack.toml` as text; the edit must change something.
pub fn edit_manifest(dir: &Path, edit: impl FnOnce(String) -> String) {
    let path = dir.join("pack.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let edited = edit(text.clone());
    assert_ne!(text, edited, "the edit changed nothing");
    std::fs::write(path, edited).unwrap();
}

/// Recompute the checksum of `file` in `pack.toml` after changing the file.
pub fn refresh_checksum(dir: &Path, file: &str) {
    let digest = hex::encode(Sha256::digest(std::fs::read(dir.join(file)).unwrap()));
    edit_manifest(dir, |text| {
        text.lines()
            .map(|line| {
                if line.starts_with(&format!("\"{file}\" = ")) {
                    format!("\"{file}\" = \"{digest}\"")
                } else {
                    line.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    });
}
