//! From a decoded photo to embedded crops: the one path that import, identify
//! and the CLI's `embed` share, so a photo is cropped and embedded the same
//! way whether it goes into the catalogue or is matched against it.

use std::borrow::Cow;
use std::path::Path;

use image::RgbImage;

use crate::detect::{BBox, Detection, Detector, Frame};
use crate::embed::{Crop, Embedder, Embedding};
use crate::error::{Error, Result};
use crate::packs::{Pack, ResizeFilter};
use crate::photo::{self, Picture, Pixels, ViewPlan};
use crate::runtime::SessionConfig;
use crate::CancelToken;

use super::media::{CROP_SIDE, THUMB_SIDE};

/// Which part of a photo to embed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Region {
    /// Run the pack's detector (the whole photo when it has none). With
    /// `best_only`, keep only the highest-scoring crop: a labelled photo names
    /// one animal. With `whole_if_none`, a photo where nothing is found is
    /// embedded whole instead of being reported.
    Detect {
        best_only: bool,
        whole_if_none: bool,
    },
    /// A box the user or the labels give, in photo pixels.
    Box(BBox),
    /// The whole photo.
    Whole,
}

/// One embedded crop of a photo.
#[derive(Debug, Clone)]
pub struct Found {
    /// The region embedded (detector box grown by the pack's margin, a given
    /// box clipped to the photo, or the whole photo).
    pub crop: BBox,
    /// `fin`, `fullbody`... for detections; `box` or `whole` otherwise.
    pub class: String,
    pub score: Option<f32>,
    pub detection: Option<Detection>,
    pub embedding: Embedding,
    /// The crop's pixels when they were decoded apart from the photo's
    /// view (a region with more detail than the view), and where the crop
    /// lies in them; `None` when they are the view's.
    pub patch: Option<(RgbImage, BBox)>,
}

impl Found {
    /// Pixels of this crop and where it lies in them, for its review image:
    /// its own patch, else `picture`'s view.
    pub fn pixels<'a>(&'a self, picture: &'a Picture) -> (&'a RgbImage, BBox) {
        match &self.patch {
            Some((image, region)) => (image, *region),
            None => (picture.view(), picture.view_box(self.crop)),
        }
    }
}

/// A region chosen for embedding, before it is embedded.
#[derive(Debug, Clone)]
pub struct Target {
    pub crop: BBox,
    pub class: String,
    pub score: Option<f32>,
    pub detection: Option<Detection>,
}

/// A pack's models, opened once.
#[derive(Debug)]
pub struct Pipeline {
    pack: Pack,
    detector: Option<Detector>,
    embedder: Embedder,
}

impl Pipeline {
    pub fn open(pack: Pack, config: &SessionConfig) -> Result<Self> {
        let detector = match &pack.detector {
            Some((spec, file)) => Some(Detector::open(spec, file, config)?),
            None => None,
        };
        let embedder = Embedder::open(&pack, config)?;
        Ok(Self {
            pack,
            detector,
            embedder,
        })
    }

    pub fn with_batch(mut self, batch: usize) -> Self {
        self.embedder = self.embedder.with_batch(batch);
        self
    }

    pub fn pack(&self) -> &Pack {
        &self.pack
    }

    pub fn detector(&self) -> Option<&Detector> {
        self.detector.as_ref()
    }

    pub fn embedder(&self) -> &Embedder {
        &self.embedder
    }

    /// Decode a photo's bytes as this pack's work needs them ([`decode_for`]).
    pub fn decode_photo(
        &self,
        path: &Path,
        bytes: &[u8],
        max_pixels: u64,
        boxes: bool,
    ) -> Result<Picture> {
        decode_for(&self.pack, path, bytes, max_pixels, boxes)
    }

    /// Read and [`Self::decode`] the photo at `path`.
    pub fn open_photo(&self, path: &Path, max_pixels: u64, boxes: bool) -> Result<Picture> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        self.decode_photo(path, &bytes, max_pixels, boxes)
    }

    /// Where the detector and the backbones run, and why not on a GPU
    /// that was asked for.
    pub fn ran_on(&self) -> crate::runtime::RanOn {
        crate::runtime::RanOn::of(
            self.detector
                .as_ref()
                .map(Detector::info)
                .into_iter()
                .chain(self.embedder.workers()),
        )
    }

    /// The regions to embed in each photo, without embedding them. A photo
    /// where the detector finds nothing (and `whole_if_none` is off) gets an
    /// empty list.
    pub fn regions(
        &self,
        photos: &[(&Picture, Region)],
        cancel: &CancelToken,
    ) -> Result<Vec<Vec<Target>>> {
        let mut out = Vec::with_capacity(photos.len());
        for &(picture, region) in photos {
            let whole = || Target {
                crop: picture.whole(),
                class: "whole".to_string(),
                score: None,
                detection: None,
            };
            let regions = match (region, &self.detector) {
                (Region::Whole, _) | (Region::Detect { .. }, None) => vec![whole()],
                (Region::Box(b), _) => {
                    let clipped = b.clip(picture.width() as f32, picture.height() as f32);
                    vec![Target {
                        crop: clipped,
                        class: "box".to_string(),
                        score: None,
                        detection: None,
                    }]
                }
                (
                    Region::Detect {
                        best_only,
                        whole_if_none,
                    },
                    Some(detector),
                ) => {
                    let frame = Frame::of(picture);
                    let mut found: Vec<_> = detector
                        .detect_frames(&[frame], cancel)?
                        .remove(0)
                        .into_iter()
                        .filter(|d| d.embed)
                        .map(|d| Target {
                            crop: d.crop,
                            class: d.class.clone(),
                            score: Some(d.score),
                            detection: Some(d),
                        })
                        .collect();
                    // Detections come best first.
                    if best_only {
                        found.truncate(1);
                    }
                    if found.is_empty() && whole_if_none {
                        found.push(whole());
                    }
                    found
                }
            };
            out.push(regions);
        }
        Ok(out)
    }

    /// Detect (as each photo's `Region` says) and embed, batching crops across
    /// photos. One list per photo, in order. Each crop is embedded from the
    /// photo's view when that has the detail its backbones need, else from
    /// a decode of its region ([`Picture::pixels`]).
    pub fn run(
        &self,
        photos: &[(&Picture, Region)],
        cancel: &CancelToken,
    ) -> Result<Vec<Vec<Found>>> {
        let regions = self.regions(photos, cancel)?;
        let pixels: Vec<Vec<_>> = regions
            .iter()
            .zip(photos)
            .map(|(rs, (picture, _))| {
                rs.iter()
                    .map(|r| crop_pixels(&self.pack, picture, r.crop))
                    .collect()
            })
            .collect();
        let crops: Vec<Crop<'_>> = pixels
            .iter()
            .flatten()
            .map(|p| Crop {
                image: &p.image,
                region: Some(p.region),
            })
            .collect();
        let mut embeddings = self.embedder.embed(&crops, cancel)?.into_iter();
        drop(crops);
        Ok(regions
            .into_iter()
            .zip(pixels)
            .map(|(rs, ps)| {
                rs.into_iter()
                    .zip(ps)
                    .map(|(t, p)| Found {
                        crop: t.crop,
                        class: t.class,
                        score: t.score,
                        detection: t.detection,
                        embedding: embeddings.next().expect("one embedding per crop"),
                        patch: match p.image {
                            Cow::Owned(image) => Some((image, p.region)),
                            Cow::Borrowed(_) => None,
                        },
                    })
                    .collect()
            })
            .collect())
    }
}

/// How photos are decoded for `pack`: the view is just big enough for the
/// thumbnail, the detector's input and, without a detector, the
/// whole-photo crop, [`photo::picture::MODEL_MARGIN`] times its backbones'
/// input (see [`photo::picture`]). `boxes`: the caller will embed given
/// boxes, so regions may need more detail than the view.
/// `WHALEID_FULL_DECODE=1` decodes every photo in full, as before reduced
/// decoding (to check results against it). Everything that embeds a
/// region of a stored photo again (drawn boxes, training features and
/// views) decodes it this way, so it gets the pixels ingest embedded.
pub fn view_plan(pack: &Pack, boxes: bool) -> ViewPlan {
    if full_decode_forced() {
        return ViewPlan::FULL;
    }
    let mut plan = ViewPlan {
        long_side: THUMB_SIDE as u32,
        model_width: 0,
        model_height: 0,
        keep_source: boxes || pack.detector.is_some(),
    };
    match &pack.detector {
        Some((spec, _)) => plan.long_side = plan.long_side.max(spec.input_size),
        None if opencv_crops(pack) => return ViewPlan::FULL,
        None => {
            plan.long_side = plan.long_side.max(CROP_SIDE as u32);
            for b in &pack.backbones {
                let [h, w] = b.spec.input_size;
                plan.model_width = plan.model_width.max(w);
                plan.model_height = plan.model_height.max(h);
            }
        }
    }
    plan
}

/// Decode a photo's bytes as `pack`'s work needs them ([`view_plan`]).
pub fn decode_for(
    pack: &Pack,
    path: &Path,
    bytes: &[u8],
    max_pixels: u64,
    boxes: bool,
) -> Result<Picture> {
    photo::decode_picture(
        path,
        bytes,
        max_pixels,
        pack.jpeg_decoder(),
        &view_plan(pack, boxes),
    )
}

/// Whether a backbone of `pack` crops as OpenCV does: its crops must be
/// the full-resolution pixels `cv2.imread` gives.
fn opencv_crops(pack: &Pack) -> bool {
    pack.backbones
        .iter()
        .any(|b| b.spec.resize_filter == ResizeFilter::OpencvLinear)
}

/// The coarsest reduction (1, 2, 4 or 8) at which `crop` still has
/// [`photo::picture::MODEL_MARGIN`] times every backbone's input of `pack`
/// and the review image's side; 1 for packs that crop as OpenCV does.
pub fn crop_shrink(pack: &Pack, crop: BBox) -> u32 {
    if opencv_crops(pack) {
        return 1;
    }
    let (w, h) = (crop.width().max(1.0) as f64, crop.height().max(1.0) as f64);
    // The review image is at most CROP_SIDE, never enlarged.
    let side = CROP_SIDE as f64;
    let mut most = w.max(h) / side.min(w.max(h));
    for b in &pack.backbones {
        let [ih, iw] = b.spec.input_size;
        let margin = photo::picture::MODEL_MARGIN;
        most = most.min((w / (margin * iw as f64)).min(h / (margin * ih as f64)));
    }
    photo::picture::SHRINKS
        .into_iter()
        .find(|&d| d as f64 <= most)
        .unwrap_or(1)
}

/// The pixels `pack`'s backbones embed `crop` (full-size, upright) of
/// `picture` from: the view when it has the detail ([`crop_shrink`]), else
/// a decode of the region alone.
pub fn crop_pixels<'a>(pack: &Pack, picture: &'a Picture, crop: BBox) -> Pixels<'a> {
    picture.pixels(crop, crop_shrink(pack, crop))
}

/// `WHALEID_FULL_DECODE=1`: every photo decoded in full.
fn full_decode_forced() -> bool {
    std::env::var_os("WHALEID_FULL_DECODE").is_some_and(|v| v == "1")
}
