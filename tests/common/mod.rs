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

pub const PATCH: (u32, u32) = (60, 40);

/// Individual `k`'s patch: dark, with its own tint and stripe period/direction.
pub fn patch(k: u32) -> RgbImage {
    let period = 2 + k % 5;
    RgbImage::from_fn(PATCH.0, PATCH.1, |x, y| {
        let along = if k.is_multiple_of(2) { x } else { y } + (k / 5) * x * y / 40;
        let stripe = (along / period).is_multiple_of(2);
        let base = [(k * 23) % 60, (k * 41) % 60, (k * 13) % 60];
        let lift = if stripe { 15 } else { 0 };
        Rgb([
            (base[0] + lift) as u8,
            (base[1] + lift) as u8,
            (base[2] + lift) as u8,
        ])
    })
}

/// A 200×150 bright photo with individual `k`'s patch at `(x, y)`.
pub fn photo(k: u32, x: u32, y: u32) -> RgbImage {
    let mut img = RgbImage::from_pixel(200, 150, Rgb([238, 240, 236]));
    image::imageops::replace(&mut img, &patch(k), x as i64, y as i64);
    img
}

/// 6 individuals × 4 photos each as PNGs, a CSV with boxes, species by parity.
pub fn labelled_folder(dir: &Path) -> PathBuf {
    let images = dir.join("images");
    std::fs::create_dir_all(&images).unwrap();
    let mut csv = String::from("image,species,individual_id,box\n");
    for k in 0..6u32 {
        for j in 0..4u32 {
            let (x, y) = (10 + 30 * j, 8 + 25 * (j % 3));
            let name = format!("ind{k}_{j}.png");
            photo(k, x, y).save(images.join(&name)).unwrap();
            let species = if k % 2 == 0 {
                "beluga"
            } else {
                "humpback_whale"
            };
            csv += &format!(
                "{name},{species},W{k:03},{x} {y} {} {}\n",
                x + PATCH.0,
                y + PATCH.1
            );
        }
    }
    let labels = dir.join("train.csv");
    std::fs::write(&labels, csv).unwrap();
    labels
}
