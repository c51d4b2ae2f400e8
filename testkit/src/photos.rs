//! Photos the tests draw themselves, so they need no data files and each
//! expected answer follows from how the photo was made.
//!
//! An "individual" `k` is a dark 60×40 patch with its own tint and stripes,
//! pasted into a bright 200×150 photo: the tiny pack's detector finds
//! exactly one fin in it, and crops of one individual are pixel-identical
//! wherever the patch sits. There are two drawings of the patch, kept apart
//! because tests were written against each: [`photo`] (the engine's tests)
//! bends the stripes of individuals 5 and up, [`straight_stripe_photo`] (the
//! server's and the app's tests) keeps every individual's stripes straight.
//! For `k < 5` both give the same pixels.

use std::path::{Path, PathBuf};

use image::{Rgb, RgbImage};
use whaleid::detect::BBox;
use whaleid::ingest::Labelled;

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

/// The size of an individual's patch.
pub const PATCH: (u32, u32) = (60, 40);

/// Individual `k`'s patch: dark, with its own tint and stripe period and
/// direction; from `k = 5` on the stripes bend as well, so more individuals
/// stay apart.
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

/// A 200×150 bright photo with individual `k`'s [`patch`] at `(x, y)`
/// (clipped at the photo's edge).
pub fn photo(k: u32, x: u32, y: u32) -> RgbImage {
    let mut img = RgbImage::from_pixel(200, 150, Rgb([238, 240, 236]));
    image::imageops::replace(&mut img, &patch(k), x as i64, y as i64);
    img
}

/// A 200×150 bright photo with individual `k`'s patch at `(x, y)`, its
/// stripes straight for every `k` (unlike [`patch`] from `k = 5` on). The
/// patch must lie inside the photo.
pub fn straight_stripe_photo(k: u32, x: u32, y: u32) -> RgbImage {
    let mut img = RgbImage::from_pixel(200, 150, Rgb([238, 240, 236]));
    let period = 2 + k % 5;
    for dy in 0..PATCH.1 {
        for dx in 0..PATCH.0 {
            let along = if k.is_multiple_of(2) { dx } else { dy };
            let lift = if (along / period).is_multiple_of(2) {
                15
            } else {
                0
            };
            let base = [(k * 23) % 60, (k * 41) % 60, (k * 13) % 60];
            img.put_pixel(x + dx, y + dy, Rgb(base.map(|b| (b + lift) as u8)));
        }
    }
    img
}

/// `n` [`photo`]s saved in `dir` (made if missing) as `p000.png`,
/// `p001.png`…: photo `i` is of individual `i % individuals`, its patch moved
/// about the frame, so a survey folder of any size has no two alike.
pub fn survey_photos(dir: &Path, n: u32, individuals: u32) {
    std::fs::create_dir_all(dir).unwrap();
    for i in 0..n {
        photo(i % individuals, 5 + (i * 7) % 120, 5 + (i * 13) % 90)
            .save(dir.join(format!("p{i:03}.png")))
            .unwrap();
    }
}

/// `img` as a JPEG (quality 95) carrying the EXIF block `exif`.
pub fn jpeg_with_exif(img: &RgbImage, exif: Vec<u8>) -> Vec<u8> {
    use image::ImageEncoder;
    let mut out = Vec::new();
    let mut enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 95);
    enc.set_exif_metadata(exif).unwrap();
    enc.write_image(
        img.as_raw(),
        img.width(),
        img.height(),
        image::ExtendedColorType::Rgb8,
    )
    .unwrap();
    out
}

/// 6 individuals × 4 [`photo`]s each as PNGs in `dir/images`, and their
/// labels in `dir/train.csv` (returned): codes `W000`…`W005`, the patch's
/// box, species by parity (beluga for even `k`).
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

/// Three [`straight_stripe_photo`]s of each individual in `ks`, saved in
/// `dir` as `k{k}_{j}.png` and labelled `W{k}` with the patch's box, no
/// species: the labelled items an import takes.
pub fn labelled(dir: &Path, ks: &[u32]) -> Vec<Labelled> {
    std::fs::create_dir_all(dir).unwrap();
    let mut items = Vec::new();
    for &k in ks {
        for j in 0..3u32 {
            let (x, y) = (10 + 40 * j, 10 + 30 * j);
            let path = dir.join(format!("k{k}_{j}.png"));
            straight_stripe_photo(k, x, y).save(&path).unwrap();
            items.push(Labelled {
                path,
                individual: format!("W{k}"),
                species: None,
                bbox: Some(BBox {
                    x1: x as f32,
                    y1: y as f32,
                    x2: (x + PATCH.0) as f32,
                    y2: (y + PATCH.1) as f32,
                }),
            });
        }
    }
    items
}
