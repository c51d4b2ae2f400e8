//! Fixtures shared by the integration tests: the committed test packs, copies
//! of them to break on purpose, and photos drawn by the tests themselves.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use image::{Rgb, RgbImage};
use sha2::{Digest, Sha256};

pub fn pack_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/packs")
        .join(name)
}

/// A scratch copy of a committed pack.
pub fn copy_pack(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(pack_dir(name)).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
    }
    dir
}

/// Edit `pack.toml` as text.
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

/// A bright photo with one dark rectangle `[x1, x2) × [y1, y2)` and some
/// texture, so crops at different places embed differently.
pub fn dark_shape(width: u32, height: u32, rect: (u32, u32, u32, u32)) -> RgbImage {
    let (x1, y1, x2, y2) = rect;
    RgbImage::from_fn(width, height, |x, y| {
        if x >= x1 && x < x2 && y >= y1 && y < y2 {
            Rgb([10 + (x % 7) as u8, 12, 15 + (y % 5) as u8])
        } else {
            Rgb([235, 238 - (x % 13) as u8, 240 - (y % 11) as u8])
        }
    })
}

/// A textured photo with no dark shape at all.
pub fn texture(width: u32, height: u32, seed: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        let v = (x.wrapping_mul(31) ^ y.wrapping_mul(17) ^ seed.wrapping_mul(97)) % 200;
        Rgb([v as u8 + 55, (v / 2) as u8 + 100, (255 - v) as u8])
    })
}
