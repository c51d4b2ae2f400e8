//! Backbone features for detections that have none, computed after ingest.
//!
//! Ingest caches every embedded detection's backbone (GeM) features; older
//! catalogues, and detections embedded before a pack was swapped in, lack
//! them. Training needs them for every confirmed detection, so
//! [`compute_missing_features`] fills the gaps once, from each photo
//! (checked against the sha256 recorded at ingest) or else the stored crop.
//! [`Sources`] is that choice of pixels, shared with the augmented views
//! ([`super::views`]).

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::PathBuf;

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::finetune::{feature_keys, Phase, Progress};
use crate::cancel::CancelToken;
use crate::catalogue::features::FeatureTask;
use crate::catalogue::{Catalogue, FeatureOrigin};
use crate::detect::BBox;
use crate::embed::{Crop, Embedder};
use crate::error::{Error, Result};
use crate::ingest::pipeline;
use crate::packs::Pack;
use crate::photo::{self, Picture};

/// Detections embedded per batch when computing missing features.
const FEATURE_BATCH: usize = 16;

/// What [`compute_missing_features`] did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Backfill {
    pub computed: usize,
    /// Computed from the stored crop because the photo was gone or changed.
    pub from_crops: usize,
    /// `(detection, why)`: neither the photo nor the crop could be read.
    pub failed: Vec<(i64, String)>,
}

/// Compute and cache the backbone features of every detection embedded with
/// `embedder`'s pack that has none, from its photo (checked against the
/// recorded sha256) or else its stored crop. Each batch is committed, so a
/// cancelled run keeps what it did.
pub fn compute_missing_features(
    cat: &mut Catalogue,
    pack: &Pack,
    embedder: &Embedder,
    cancel: &CancelToken,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<Backfill> {
    let keys = feature_keys(pack);
    let tasks = cat.features_missing((pack.name(), pack.version()), &keys)?;
    let total = tasks.len();
    let mut out = Backfill::default();
    let mut sources = Sources::for_pack(pack);
    for (done, chunk) in tasks.chunks(FEATURE_BATCH).enumerate() {
        progress(Progress::Phase {
            phase: Phase::Features,
            done: done * FEATURE_BATCH,
            total,
        });
        if cancel.is_cancelled() {
            return Err(Error::Cancelled);
        }
        sources.next_batch();
        let mut ready = Vec::new();
        for task in chunk {
            match sources.read(cat, task)? {
                Ok((origin, crop)) => ready.push((task, origin, crop)),
                Err(why) => out.failed.push((task.detection_id, why)),
            }
        }
        let bases: Vec<Base<'_>> = ready
            .iter()
            .map(|(task, _, crop)| sources.crop(task, crop.as_ref()))
            .collect();
        let crops: Vec<Crop<'_>> = bases.iter().map(Base::crop).collect();
        let embedded = embedder.embed(&crops, cancel)?;
        cat.with_tx(|tx| {
            for ((task, origin, _), e) in ready.iter().zip(&embedded) {
                tx.insert_features(task.detection_id, &keys, &e.features, *origin)?;
            }
            Ok(())
        })?;
        out.computed += ready.len();
        out.from_crops += ready.iter().filter(|r| r.1 == FeatureOrigin::Crop).count();
    }
    progress(Progress::Phase {
        phase: Phase::Features,
        done: total,
        total,
    });
    Ok(out)
}

/// Where a detection's pixels are read from when its features (or views)
/// are computed after ingest: its photo, checked against the sha256
/// recorded at ingest, with the detection's region; else its stored crop,
/// whole. A photo is decoded once per batch and as ingest decodes it
/// ([`pipeline::decode_for`]): a camera-size JPEG at a DCT scale, each
/// region again at the detail the backbones need, so the features are
/// those ingest computed and a batch holds no full-size photos.
pub(super) struct Sources<'p> {
    pack: &'p Pack,
    /// Recorded sha256 by photo path (kept across batches).
    expected: HashMap<String, Option<String>>,
    /// This batch's decoded photos, or why one could not be read.
    photos: HashMap<String, std::result::Result<Picture, String>>,
}

/// A detection that can be read: where from, and the stored crop when that is it.
pub(super) type Source = (FeatureOrigin, Option<image::RgbImage>);

/// The pixels a detection is embedded from: `region` of `image`, or all of
/// it when `None`.
pub(super) struct Base<'a> {
    pub image: Cow<'a, image::RgbImage>,
    pub region: Option<BBox>,
}

impl Base<'_> {
    pub(super) fn crop(&self) -> Crop<'_> {
        Crop {
            image: &self.image,
            region: self.region,
        }
    }
}

impl<'p> Sources<'p> {
    pub(super) fn for_pack(pack: &'p Pack) -> Self {
        Self {
            pack,
            expected: HashMap::new(),
            photos: HashMap::new(),
        }
    }

    /// Forget the previous batch's photos (memory stays flat).
    pub(super) fn next_batch(&mut self) {
        self.photos.clear();
    }

    /// Read `task`'s photo (kept for [`Self::crop`]) or else its stored
    /// crop; the inner error says why neither could be read.
    pub(super) fn read(
        &mut self,
        cat: &Catalogue,
        task: &FeatureTask,
    ) -> Result<std::result::Result<Source, String>> {
        let want = match self.expected.get(&task.photo_path) {
            Some(w) => w.clone(),
            None => {
                let w = photo_sha256(cat, &task.photo_path)?;
                self.expected.insert(task.photo_path.clone(), w.clone());
                w
            }
        };
        let pack = self.pack;
        let photo = self
            .photos
            .entry(task.photo_path.clone())
            .or_insert_with(|| read_checked(pack, &task.photo_path, want.as_deref()));
        Ok(match photo {
            Ok(_) => Ok((FeatureOrigin::Photo, None)),
            Err(photo_err) => task
                .crop_file
                .as_ref()
                .ok_or_else(|| format!("{photo_err}; no stored crop"))
                .and_then(|c| {
                    photo::open_with(
                        &cat.media_dir().join(c),
                        photo::DEFAULT_MAX_PIXELS,
                        pack.jpeg_decoder(),
                    )
                    .map(|p| p.image)
                    .map_err(|e| format!("{photo_err}; crop: {e}"))
                })
                .map(|img| (FeatureOrigin::Crop, Some(img))),
        })
    }

    /// What to embed for a task [`Self::read`] accepted: its stored crop
    /// when that was read, else its region of the photo, decoded again at
    /// the detail the backbones need when the photo's view lacks it.
    pub(super) fn crop<'a>(
        &'a self,
        task: &FeatureTask,
        stored: Option<&'a image::RgbImage>,
    ) -> Base<'a> {
        match stored {
            Some(img) => Base {
                image: Cow::Borrowed(img),
                region: None,
            },
            None => {
                let picture = self.photos[&task.photo_path]
                    .as_ref()
                    .expect("only readable photos are ready");
                let pixels = pipeline::crop_pixels(self.pack, picture, task.region);
                Base {
                    image: pixels.image,
                    region: Some(pixels.region),
                }
            }
        }
    }
}

fn photo_sha256(cat: &Catalogue, path: &str) -> Result<Option<String>> {
    use rusqlite::OptionalExtension;
    Ok(cat
        .conn()
        .query_row(
            "SELECT sha256 FROM photos WHERE original_path = ?1",
            [path],
            |r| r.get(0),
        )
        .optional()?)
}

/// The photo at `path`, decoded as ingest decodes it for `pack`, when its
/// bytes still hash to `sha256`.
fn read_checked(
    pack: &Pack,
    path: &str,
    sha256: Option<&str>,
) -> std::result::Result<Picture, String> {
    let path = PathBuf::from(path);
    let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    if let Some(want) = sha256 {
        let got = hex::encode(Sha256::digest(&bytes));
        if got != want {
            return Err(format!(
                "{}: the file changed since it was ingested",
                path.display()
            ));
        }
    }
    pipeline::decode_for(pack, &path, &bytes, photo::DEFAULT_MAX_PIXELS, true)
        .map_err(|e| e.to_string())
}
