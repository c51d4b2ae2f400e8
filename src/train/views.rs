//! Augmented views of the confirmed detections, cached for training.
//!
//! With one fixed row per photo, a neck trained on a small catalogue
//! learns those rows; showing it a different view of each photo every
//! epoch is the usual remedy. The backbone stays frozen, so the views'
//! backbone features are computed once per detection, K of them
//! ([`DEFAULT_VIEWS`]), and cached with the features (`feature_views`, half
//! floats); each epoch then picks one of a detection's K views or its plain
//! crop at random ([`super::fit`]), so an epoch costs what it did. On the
//! Happywhale sample (143 catalogue photos, the other 143 identified;
//! README.md) the views add a little over the same schedule without them:
//! ranked MAP@5 0.796 → 0.807 and top-1 0.685 → 0.720 at seed 42, about
//! even at seeds 2 and 3.
//!
//! A view ([`Augment`]) is, in this order:
//! - a random crop of the detection's region: its **area** is 80–100% of
//!   the region's ([`AREA`]), with the region's aspect ratio (each side
//!   √area, 89–100%), placed uniformly inside it;
//! - a horizontal flip with probability 0.5;
//! - brightness and contrast jitter as albumentations'
//!   `RandomBrightnessContrast` does it: `v' = α·v + β·255`, α uniform in
//!   1 ± [`CONTRAST`] (0.8–1.2), β uniform in ± [`BRIGHTNESS`] (±0.2),
//!   clamped to 0–255.
//!
//! Every number is drawn from a [`SplitMix64`] seeded by the view seed, the
//! detection's id and the view's index, so a re-run, a resumed run or more
//! views (K grows: the first views stay the same) give the same pixels. The
//! recipe string stored with the rows ([`recipe`]) names the augmentations'
//! version and the seed: views of another recipe are recomputed.
//!
//! Pixels are read as for missing features ([`super::backfill::Sources`]):
//! the photo checked against its sha256 and decoded as ingest decodes it
//! (a camera-size JPEG's region at the detail the backbones need, not the
//! whole photo in full), else the stored crop. A view is
//! resized once to at most twice the largest backbone input side before it
//! goes to the embedder, so sixteen views of a 12-megapixel photo do not
//! hold sixteen full-resolution copies.

use std::collections::HashSet;

use image::RgbImage;
use serde::Serialize;

use super::backfill::Sources;
use super::finetune::{feature_keys, Phase, Progress};
use crate::cancel::CancelToken;
use crate::catalogue::{Catalogue, FeatureOrigin};
use crate::detect::BBox;
use crate::embed::{Crop, Embedder};
use crate::error::{Error, Result};
use crate::imageops;
use crate::packs::Pack;
use crate::rng::SplitMix64;

/// Views cached per confirmed detection unless told otherwise.
pub const DEFAULT_VIEWS: usize = 8;
/// The views' seed unless told otherwise (independent of the training seed,
/// so a run with another seed reuses the cached views).
pub const DEFAULT_VIEW_SEED: u64 = 0x71e0_5eed;
/// Share of the region's area a view keeps, `[low, high]`.
pub const AREA: (f64, f64) = (0.8, 1.0);
/// Brightness shift as a share of 255, `±`.
pub const BRIGHTNESS: f64 = 0.2;
/// Contrast factor around 1, `±`.
pub const CONTRAST: f64 = 0.2;
/// Probability of a horizontal flip.
pub const FLIP: f64 = 0.5;
/// Names this module's augmentations: change it when they change, so that
/// views cached by the old ones are recomputed rather than mixed in.
const RECIPE_VERSION: &str = "views-1 area 0.8-1 flip 0.5 brightness 0.2 contrast 0.2";
/// Detections per committed batch (× K views each to the embedder).
const VIEW_BATCH: usize = 8;

/// What the cached views of `seed` are stored under.
pub fn recipe(seed: u64) -> String {
    format!("{RECIPE_VERSION} seed {seed}")
}

/// One view's random choices.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Augment {
    /// Share of the region's area kept.
    pub area: f64,
    /// Where the kept part sits, 0 (left/top) to 1 (right/bottom).
    pub x: f64,
    pub y: f64,
    pub flip: bool,
    /// `β`, a share of 255 added.
    pub brightness: f64,
    /// `α`, the factor the pixel values are multiplied by.
    pub contrast: f64,
}

impl Augment {
    /// View `view` of detection `detection_id` under `seed`.
    pub fn draw(seed: u64, detection_id: i64, view: usize) -> Self {
        let mut mix = SplitMix64::new(seed ^ VIEW_SALT);
        let mut mix = SplitMix64::new(mix.next_u64() ^ detection_id as u64);
        let mut rng = SplitMix64::new(mix.next_u64() ^ view as u64);
        Self {
            area: rng.uniform_in(AREA.0, AREA.1),
            x: rng.uniform(),
            y: rng.uniform(),
            flip: rng.uniform() < FLIP,
            brightness: rng.uniform_in(-BRIGHTNESS, BRIGHTNESS),
            contrast: rng.uniform_in(1.0 - CONTRAST, 1.0 + CONTRAST),
        }
    }

    /// The part of `region` this view keeps.
    pub fn region(&self, region: BBox) -> BBox {
        let side = self.area.sqrt() as f32;
        let (w, h) = (region.width() * side, region.height() * side);
        let x1 = region.x1 + (region.width() - w) * self.x as f32;
        let y1 = region.y1 + (region.height() - h) * self.y as f32;
        BBox {
            x1,
            y1,
            x2: x1 + w,
            y2: y1 + h,
        }
    }

    /// The view of `region` of `image` (the whole image when `None`), at
    /// most `max_side` pixels on its longer side.
    pub fn apply(&self, image: &RgbImage, region: Option<BBox>, max_side: u32) -> RgbImage {
        let (iw, ih) = (image.width() as f32, image.height() as f32);
        let full = region.map_or(
            BBox {
                x1: 0.0,
                y1: 0.0,
                x2: iw,
                y2: ih,
            },
            |b| b.clip(iw, ih),
        );
        let part = self.region(full);
        let (pw, ph) = (part.width().max(1.0), part.height().max(1.0));
        let scale = (max_side.max(1) as f32 / pw.max(ph)).min(1.0);
        let (w, h) = (
            ((pw * scale).round() as u32).max(1),
            ((ph * scale).round() as u32).max(1),
        );
        let mut out = imageops::resize_region(image, Some(part), w, h);
        if self.flip {
            image::imageops::flip_horizontal_in_place(&mut out);
        }
        let lut: [u8; 256] = std::array::from_fn(|v| {
            (self.contrast * v as f64 + self.brightness * 255.0)
                .round()
                .clamp(0.0, 255.0) as u8
        });
        for p in out.iter_mut() {
            *p = lut[*p as usize];
        }
        out
    }
}

/// Mixed into the view seed so views and other seeded choices differ.
const VIEW_SALT: u64 = 0x7e35_5eed_0fa1_1000;

/// The longest side a view is embedded from: twice the largest input side
/// of `pack`'s backbones, so the embedder's own resize still downsamples.
pub fn view_side(pack: &Pack) -> u32 {
    pack.backbones
        .iter()
        .flat_map(|b| b.spec.input_size)
        .max()
        .unwrap_or(224)
        * 2
}

/// What [`compute_missing_views`] did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ViewBackfill {
    /// Views per detection.
    pub views: usize,
    /// Detections whose views were computed now.
    pub computed: usize,
    /// Of those, computed from the stored crop (the photo was gone or changed).
    pub from_crops: usize,
    /// `(detection, why)`: neither the photo nor the crop could be read.
    pub failed: Vec<(i64, String)>,
    /// The cache afterwards (all detections, all keys).
    pub cache: crate::catalogue::features::ViewCacheSize,
}

/// Of `detections`, those whose `views` views under `seed` are not cached yet.
pub fn views_missing(
    cat: &Catalogue,
    pack: &Pack,
    detections: &[i64],
    views: usize,
    seed: u64,
) -> Result<usize> {
    if views == 0 {
        return Ok(0);
    }
    Ok(cat
        .views_missing(&feature_keys(pack), &recipe(seed), views, detections)?
        .len())
}

/// Compute and cache `views` augmented views (under `seed`) of each of
/// `detections` that lacks them, with `embedder`'s frozen backbones. Each
/// batch is committed, so a cancelled run keeps what it did and the next
/// one goes on from there.
#[allow(clippy::too_many_arguments)]
pub fn compute_missing_views(
    cat: &mut Catalogue,
    pack: &Pack,
    embedder: &Embedder,
    detections: &[i64],
    views: usize,
    seed: u64,
    cancel: &CancelToken,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<ViewBackfill> {
    let mut out = ViewBackfill {
        views,
        ..ViewBackfill::default()
    };
    if views == 0 {
        out.cache = cat.view_cache_size()?;
        return Ok(out);
    }
    let keys = feature_keys(pack);
    let recipe = recipe(seed);
    let tasks = cat.views_missing(&keys, &recipe, views, detections)?;
    let (total, side) = (tasks.len(), view_side(pack));
    let mut sources = Sources::for_pack(pack);
    for (done, chunk) in tasks.chunks(VIEW_BATCH).enumerate() {
        progress(Progress::Phase {
            phase: Phase::Views,
            done: done * VIEW_BATCH,
            total,
        });
        if cancel.is_cancelled() {
            return Err(Error::Cancelled);
        }
        sources.next_batch();
        let (mut ready, mut images) = (Vec::new(), Vec::new());
        for task in chunk {
            match sources.read(cat, task)? {
                Ok((origin, stored)) => {
                    let base = sources.crop(task, stored.as_ref());
                    images.extend((0..views).map(|v| {
                        Augment::draw(seed, task.detection_id, v).apply(
                            &base.image,
                            base.region,
                            side,
                        )
                    }));
                    ready.push((task.detection_id, origin));
                }
                Err(why) => out.failed.push((task.detection_id, why)),
            }
        }
        let crops: Vec<Crop<'_>> = images
            .iter()
            .map(|image| Crop {
                image,
                region: None,
            })
            .collect();
        let embedded = embedder.embed(&crops, cancel)?;
        cat.with_tx(|tx| {
            for ((detection, origin), mine) in ready.iter().zip(embedded.chunks(views)) {
                let per_key: Vec<Vec<f32>> = (0..keys.len())
                    .map(|k| {
                        mine.iter()
                            .flat_map(|e| e.features[k].iter().copied())
                            .collect()
                    })
                    .collect();
                tx.insert_views(*detection, &keys, &recipe, views, &per_key, *origin)?;
            }
            Ok(())
        })?;
        out.computed += ready.len();
        out.from_crops += ready.iter().filter(|r| r.1 == FeatureOrigin::Crop).count();
    }
    progress(Progress::Phase {
        phase: Phase::Views,
        done: total,
        total,
    });
    out.cache = cat.view_cache_size()?;
    Ok(out)
}

/// The detections training would use: the confirmed ones.
pub fn training_detections(cat: &Catalogue) -> Result<Vec<i64>> {
    let ids: HashSet<i64> = cat
        .training_examples()?
        .iter()
        .map(|e| e.detection_id)
        .collect();
    let mut ids: Vec<i64> = ids.into_iter().collect();
    ids.sort_unstable();
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A photo with structure everywhere, so any crop, flip or jitter shows.
    fn photo() -> RgbImage {
        RgbImage::from_fn(120, 90, |x, y| {
            image::Rgb([(x * 2) as u8, (y * 2 + x) as u8, ((x * y) % 251) as u8])
        })
    }

    const BOX: BBox = BBox {
        x1: 10.0,
        y1: 5.0,
        x2: 110.0,
        y2: 85.0,
    };

    #[test]
    fn views_are_deterministic_for_a_seed_and_differ_from_each_other() {
        let img = photo();
        let view = |seed, det, v| Augment::draw(seed, det, v).apply(&img, Some(BOX), 448);
        assert_eq!(view(1, 7, 0), view(1, 7, 0), "same seed, detection, view");
        assert_eq!(Augment::draw(1, 7, 3), Augment::draw(1, 7, 3));
        let all: Vec<RgbImage> = (0..8).map(|v| view(1, 7, v)).collect();
        for i in 0..8 {
            for j in i + 1..8 {
                assert_ne!(all[i], all[j], "views {i} and {j}");
            }
        }
        assert_ne!(view(1, 7, 0), view(2, 7, 0), "the seed matters");
        assert_ne!(view(1, 7, 0), view(1, 8, 0), "the detection matters");
    }

    #[test]
    fn a_view_differs_from_the_plain_crop_and_stays_inside_the_region() {
        let img = photo();
        let plain = imageops::resize_region(&img, Some(BOX), 100, 80);
        let mut flips = 0;
        for v in 0..32 {
            let a = Augment::draw(3, 1, v);
            assert!((AREA.0..AREA.1).contains(&a.area));
            assert!((-BRIGHTNESS..BRIGHTNESS).contains(&a.brightness));
            assert!((1.0 - CONTRAST..1.0 + CONTRAST).contains(&a.contrast));
            flips += a.flip as usize;
            let r = a.region(BOX);
            assert!(
                r.x1 >= BOX.x1 && r.y1 >= BOX.y1 && r.x2 <= BOX.x2 + 1e-3 && r.y2 <= BOX.y2 + 1e-3
            );
            let kept = (r.width() * r.height()) / (BOX.width() * BOX.height());
            assert!((kept as f64 - a.area).abs() < 1e-4, "{kept} vs {}", a.area);
            assert!((r.width() / r.height() - 1.25).abs() < 1e-4, "aspect kept");
            assert_ne!(a.apply(&img, Some(BOX), 448), plain, "view {v}");
        }
        assert!((8..=24).contains(&flips), "{flips} flips in 32");
    }

    #[test]
    fn a_view_without_changes_is_the_plain_crop() {
        let img = photo();
        let same = Augment {
            area: 1.0,
            x: 0.5,
            y: 0.5,
            flip: false,
            brightness: 0.0,
            contrast: 1.0,
        };
        let plain = imageops::resize_region(&img, Some(BOX), 100, 80);
        assert_eq!(same.apply(&img, Some(BOX), 448), plain);
    }

    #[test]
    fn a_large_region_is_shrunk_to_the_longest_side_keeping_its_shape() {
        let img = RgbImage::from_pixel(2000, 1000, image::Rgb([100, 100, 100]));
        let a = Augment {
            area: 1.0,
            x: 0.0,
            y: 0.0,
            flip: false,
            brightness: 0.1,
            contrast: 1.0,
        };
        let out = a.apply(&img, None, 448);
        assert_eq!(out.dimensions(), (448, 224));
        // 100 + 0.1 · 255 = 125.5, rounded.
        assert_eq!(out.get_pixel(10, 10).0, [126, 126, 126]);
    }

    #[test]
    fn the_recipe_names_the_seed() {
        assert_ne!(recipe(1), recipe(2));
        assert!(recipe(5).ends_with("seed 5"));
    }
}
