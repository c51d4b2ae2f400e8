//! From a decoded photo to embedded crops: the one path that import, identify
//! and the CLI's `embed` share, so a photo is cropped and embedded the same
//! way whether it goes into the catalogue or is matched against it.

use image::RgbImage;

use crate::detect::{BBox, Detection, Detector};
use crate::embed::{Crop, Embedder, Embedding};
use crate::error::Result;
use crate::packs::Pack;
use crate::runtime::SessionConfig;
use crate::CancelToken;

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
        photos: &[(&RgbImage, Region)],
        cancel: &CancelToken,
    ) -> Result<Vec<Vec<Target>>> {
        let mut out = Vec::with_capacity(photos.len());
        for &(image, region) in photos {
            let whole = || {
                let (w, h) = (image.width() as f32, image.height() as f32);
                Target {
                    crop: BBox {
                        x1: 0.0,
                        y1: 0.0,
                        x2: w,
                        y2: h,
                    },
                    class: "whole".to_string(),
                    score: None,
                    detection: None,
                }
            };
            let regions = match (region, &self.detector) {
                (Region::Whole, _) | (Region::Detect { .. }, None) => vec![whole()],
                (Region::Box(b), _) => {
                    let clipped = b.clip(image.width() as f32, image.height() as f32);
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
                    let mut found: Vec<_> = detector
                        .detect(&[image], cancel)?
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
    /// photos. One list per photo, in order.
    pub fn run(
        &self,
        photos: &[(&RgbImage, Region)],
        cancel: &CancelToken,
    ) -> Result<Vec<Vec<Found>>> {
        let regions = self.regions(photos, cancel)?;
        let crops: Vec<Crop<'_>> = regions
            .iter()
            .zip(photos)
            .flat_map(|(rs, (image, _))| {
                rs.iter().map(move |r| Crop {
                    image,
                    region: Some(r.crop),
                })
            })
            .collect();
        let mut embeddings = self.embedder.embed(&crops, cancel)?.into_iter();
        Ok(regions
            .into_iter()
            .map(|rs| {
                rs.into_iter()
                    .map(|t| Found {
                        crop: t.crop,
                        class: t.class,
                        score: t.score,
                        detection: t.detection,
                        embedding: embeddings.next().expect("one embedding per crop"),
                    })
                    .collect()
            })
            .collect())
    }
}
