//! The review images a catalogue keeps in its media folder: a JPEG per crop
//! and a thumbnail per photo, small enough that the app shows hundreds at
//! once. Written to a temporary name and renamed, so a crash never leaves a
//! half-written image under the final name. The temporary name is unique to
//! the process and the write ([`part_path`]): two writers of one image (two
//! decode workers meeting one photo under two names) never share one.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use image::RgbImage;

use crate::detect::BBox;
use crate::error::{Error, Result};

/// Long side of a crop JPEG.
pub const CROP_SIDE: f32 = 384.0;
/// JPEG quality of crops and thumbnails: enough to compare fin notches.
const QUALITY: u8 = 85;
/// Long side of a photo thumbnail.
pub const THUMB_SIDE: f32 = 256.0;

/// Save `region` of `image` as a JPEG at most `max_side` pixels on its long side.
pub fn save_region(image: &RgbImage, region: BBox, max_side: f32, path: &Path) -> Result<()> {
    let (w, h) = (region.width(), region.height());
    let scale = (max_side / w.max(h)).min(1.0);
    let (tw, th) = (
        (w * scale).round().max(1.0) as u32,
        (h * scale).round().max(1.0) as u32,
    );
    let small = crate::imageops::resize_region(image, Some(region), tw, th);
    let tmp = part_path(path);
    // jpeg-encoder (SIMD) writes these ~3× faster than `image`'s encoder,
    // and ingest writes two per photo.
    jpeg_encoder::Encoder::new_file(&tmp, QUALITY)
        .and_then(|enc| {
            enc.encode(
                small.as_raw(),
                small.width() as u16,
                small.height() as u16,
                jpeg_encoder::ColorType::Rgb,
            )
        })
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            Error::photo(path, format!("cannot write review image: {e}"))
        })?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(path, e)
    })
}

/// A temporary name beside `path` that no other write uses, in this
/// process or another: `NAME.PID-N.part`. Backups skip `.part` files, and a
/// writer that takes a catalogue's lock clears the ones a killed one left.
pub fn part_path(path: &Path) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(
        ".{}-{}.part",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    path.with_file_name(name)
}

/// Where a photo's thumbnail is kept, relative to the catalogue's media
/// folder: named by the start of the photo's sha256.
pub fn thumb_file(photo_sha256: &str) -> String {
    format!("thumbs/{}.jpg", &photo_sha256[..16.min(photo_sha256.len())])
}

/// The whole photo as a thumbnail, from its view.
pub fn save_thumbnail(picture: &crate::photo::Picture, path: &Path) -> Result<()> {
    let whole = picture.view_box(picture.whole());
    save_region(picture.view(), whole, THUMB_SIDE, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writers_of_one_review_image_at_once_never_collide() {
        // Two decode workers meeting the same photo under two names, or two
        // processes, write the same thumbnail at the same moment.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("thumb.jpg");
        let image = RgbImage::from_fn(400, 300, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8])
        });
        let picture = crate::photo::Picture::from_image("p.png", image);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..40 {
                        save_thumbnail(&picture, &path).unwrap();
                    }
                });
            }
        });
        let saved = image::open(&path).unwrap();
        assert_eq!((saved.width(), saved.height()), (256, 192));
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, ["thumb.jpg"], "no temporary file left");
    }
}
