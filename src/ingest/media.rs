//! The review images a catalogue keeps in its media folder: a JPEG per crop
//! and a thumbnail per photo, small enough that the app shows hundreds at
//! once. Written to a temporary name and renamed, so a crash never leaves a
//! half-written image under the final name.

use std::path::Path;

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
    let tmp = path.with_extension("jpg.part");
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
        .map_err(|e| Error::photo(path, format!("cannot write review image: {e}")))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

/// Where a photo's thumbnail is kept, relative to the catalogue's media
/// folder: named by the start of the photo's sha256.
pub fn thumb_file(photo_sha256: &str) -> String {
    format!("thumbs/{}.jpg", &photo_sha256[..16.min(photo_sha256.len())])
}

/// The whole photo as a thumbnail.
pub fn save_thumbnail(image: &RgbImage, path: &Path) -> Result<()> {
    let whole = BBox {
        x1: 0.0,
        y1: 0.0,
        x2: image.width() as f32,
        y2: image.height() as f32,
    };
    save_region(image, whole, THUMB_SIDE, path)
}
