//! Fine-tuning a catalogue's pack on the catalogue's own confirmed
//! identifications: features, splits, training, validation and the
//! decision to adopt.
//!
//! 1. **Features.** Every embedded detection needs its backbone features
//!    cached; ingest stores them, and [`compute_missing_features`] fills the
//!    gaps (older catalogues) from the photos, once. The confirmed ones also
//!    get K augmented views cached ([`super::views`]), once.
//! 2. **Splits** ([`split`], seeded). Some individuals are held out whole:
//!    their photos test `new_individual`, as new animals in the field do.
//!    Of the others, some photos of each individual with several are held
//!    out: they test recognising a known animal in a new picture. A photo's
//!    detections always stay together, so no picture is on both sides.
//! 3. **Training** ([`super::fit`]), per backbone: its neck from the pack's
//!    weights and a new ArcFace head over the training individuals, each
//!    training photo shown as its plain crop or one of its views at random
//!    each epoch, with early stopping on the held-out photos' MAP@5 (plain
//!    crops: no view of a held-out photo is ever used).
//! 4. **Validation**, before and after, with the real matching code: the
//!    ensemble embeddings of the training photos form the gallery, the
//!    new-individual threshold is calibrated on them (leave one out), and
//!    the held-out photos and individuals are identified against it. MAP@5,
//!    top-1 and top-5 are reported for the known individuals alone (no
//!    threshold) and with the held-out individuals (truth: new).
//! 5. **Decision.** The trained version is proposed for adoption only when
//!    MAP@5 with new individuals improves; otherwise the report says why not.
//!    Adopting it is [`super::versions::adopt`].

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::PathBuf;
use std::time::Instant;

use candle_core::Device;
use ndarray::ArrayView2;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::fit::{fit, Dataset, EpochStats, FitConfig, TrainData, Views};
use crate::cancel::CancelToken;
use crate::catalogue::features::{FeatureTable, FeatureTask, TrainingExample};
use crate::catalogue::{Catalogue, FeatureOrigin, GalleryItem};
use crate::embed::{embed_features, Crop, Embedder};
use crate::error::{Error, Result};
use crate::eval::{evaluate, Metrics, Outcome};
use crate::index::IndexConfig;
use crate::matching::field::{expected_new_share, MIN_SPECIES_INDIVIDUALS};
use crate::matching::identify::calibrate_gallery_for_share;
use crate::matching::{rank_individuals, top5_with, Gallery, NewIndividualPolicy};
use crate::packs::{Backbone, Head, Neck, Pack};
use crate::photo;
use crate::rng::SplitMix64;

/// Neighbours retrieved per validation query (as identification does).
const NEIGHBOURS: usize = 100;
/// Detections embedded per batch when computing missing features.
const FEATURE_BATCH: usize = 16;

#[derive(Debug, Clone)]
pub struct FinetuneOptions {
    /// Epochs, seed, ArcFace settings (sub-centres, dynamic margins), patience.
    pub fit: FitConfig,
    /// Share of each repeat individual's photos held out (at least one).
    pub val_photo_share: f64,
    /// Share of individuals held out whole (their truth is "new").
    pub val_individual_share: f64,
    /// MAP@5 (with new individuals) must rise by more than this to adopt.
    pub min_gain: f64,
    /// Augmented views per training detection (0: the plain crops only).
    pub views: usize,
    /// Seed of the views (see [`super::views::Augment::draw`]).
    pub view_seed: u64,
}

/// Defaults chosen on the Happywhale sample (half of its 286 photos as the
/// catalogue, the other half identified after training, README.md): with
/// 8 views, 40 epochs at a peak learning rate of 1e-3 and patience 10 lift
/// ranked MAP@5 from the frozen pack's 0.755 to 0.807 and top-1 from 0.601
/// to 0.720 (seed 42; 0.796 / 0.685 without views), where 20 epochs at
/// 3e-3 with patience 5 stopped after 8 epochs at 0.755 / 0.615 (0.751 /
/// 0.601 without views): the head overfits 105 photos within a few epochs
/// at 3e-3. Validation MAP@5 on views rises slowly and unevenly, hence the
/// longer patience; 80 epochs did no better (0.799 / 0.699).
impl Default for FinetuneOptions {
    fn default() -> Self {
        Self {
            fit: FitConfig {
                epochs: 40,
                lr: 1e-3,
                patience: Some(10),
                ..FitConfig::default()
            },
            val_photo_share: 0.2,
            val_individual_share: 0.15,
            min_gain: 0.0,
            views: super::views::DEFAULT_VIEWS,
            view_seed: super::views::DEFAULT_VIEW_SEED,
        }
    }
}

/// The steps of a run, for progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    Features,
    /// Augmented views of the training detections (computed once, cached).
    Views,
    Training,
    Evaluating,
    Adopting,
    Indexing,
}

/// What a run reports as it goes.
#[derive(Debug, Clone, Copy)]
pub enum Progress<'a> {
    Phase {
        phase: Phase,
        done: usize,
        total: usize,
    },
    Epoch {
        backbone: &'a str,
        epochs: usize,
        stats: &'a EpochStats,
    },
}

/// What can be trained on, before a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Overview {
    pub individuals: usize,
    pub detections: usize,
    /// Individuals with detections on two or more photos.
    pub individuals_with_repeats: usize,
    /// Embedded detections without cached features.
    pub missing_features: usize,
    pub can_train: bool,
    pub reason: Option<String>,
}

/// Each backbone's feature key, in ensemble order.
pub fn feature_keys(pack: &Pack) -> Vec<String> {
    pack.backbones
        .iter()
        .map(|b| b.feature_key.clone())
        .collect()
}

pub fn overview(cat: &Catalogue, pack: &Pack) -> Result<Overview> {
    let examples = cat.training_examples()?;
    let mut photos: HashMap<i64, HashSet<i64>> = HashMap::new();
    for e in &examples {
        photos
            .entry(e.individual_id)
            .or_default()
            .insert(e.photo_id);
    }
    let repeats = photos.values().filter(|p| p.len() >= 2).count();
    let missing = cat
        .features_missing((pack.name(), pack.version()), &feature_keys(pack))?
        .len();
    let reason = if photos.len() < 2 {
        Some(format!(
            "training needs confirmed photos of at least 2 individuals; the catalogue has {}",
            photos.len()
        ))
    } else if repeats == 0 {
        Some(
            "no individual has confirmed detections on two or more photos, so nothing can be held out to check that training helps"
                .to_string(),
        )
    } else {
        None
    };
    Ok(Overview {
        individuals: photos.len(),
        detections: examples.len(),
        individuals_with_repeats: repeats,
        missing_features: missing,
        can_train: reason.is_none(),
        reason,
    })
}

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
        let crops: Vec<Crop<'_>> = ready
            .iter()
            .map(|(task, _, crop)| sources.crop(task, crop.as_ref()))
            .collect();
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
/// whole. Photos are decoded once per batch.
#[derive(Default)]
pub(super) struct Sources {
    /// Recorded sha256 by photo path (kept across batches).
    expected: HashMap<String, Option<String>>,
    /// This batch's decoded photos, or why one could not be read.
    photos: HashMap<String, std::result::Result<image::RgbImage, String>>,
    /// The pack's JPEG decoder, so features match those of ingest.
    jpeg: photo::JpegDecoder,
}

/// A detection that can be read: where from, and the stored crop when that is it.
pub(super) type Source = (FeatureOrigin, Option<image::RgbImage>);

impl Sources {
    pub(super) fn for_pack(pack: &Pack) -> Self {
        Self {
            jpeg: pack.jpeg_decoder(),
            ..Self::default()
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
        let photo = self
            .photos
            .entry(task.photo_path.clone())
            .or_insert_with(|| read_checked(&task.photo_path, want.as_deref(), self.jpeg));
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
                        self.jpeg,
                    )
                    .map(|p| p.image)
                    .map_err(|e| format!("{photo_err}; crop: {e}"))
                })
                .map(|img| (FeatureOrigin::Crop, Some(img))),
        })
    }

    /// What to embed for a task [`Self::read`] accepted: its stored crop
    /// when that was read, else its region of the photo.
    pub(super) fn crop<'a>(
        &'a self,
        task: &FeatureTask,
        stored: Option<&'a image::RgbImage>,
    ) -> Crop<'a> {
        match stored {
            Some(img) => Crop {
                image: img,
                region: None,
            },
            None => Crop {
                image: self.photos[&task.photo_path]
                    .as_ref()
                    .expect("only readable photos are ready"),
                region: Some(task.region),
            },
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

/// The photo at `path`, decoded, when its bytes still hash to `sha256`.
fn read_checked(
    path: &str,
    sha256: Option<&str>,
    jpeg: photo::JpegDecoder,
) -> std::result::Result<image::RgbImage, String> {
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
    photo::decode_with(&path, &bytes, photo::DEFAULT_MAX_PIXELS, jpeg)
        .map(|p| p.image)
        .map_err(|e| e.to_string())
}

/// Which examples train and which validate (indices into the examples).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Split {
    pub train: Vec<usize>,
    /// Held-out photos of individuals that are also trained on.
    pub val_photos: Vec<usize>,
    /// Every photo of the held-out individuals.
    pub val_individuals: Vec<usize>,
}

/// Split `examples` by individual and by photo, from `seed`. At least two
/// individuals always stay in training; an individual seen on one photo
/// only is never split by photo.
pub fn split(
    examples: &[TrainingExample],
    seed: u64,
    photo_share: f64,
    individual_share: f64,
) -> Split {
    // individual → photo → example indices, all ordered, so the seed alone decides.
    let mut by_individual: BTreeMap<i64, BTreeMap<i64, Vec<usize>>> = BTreeMap::new();
    for (i, e) in examples.iter().enumerate() {
        by_individual
            .entry(e.individual_id)
            .or_default()
            .entry(e.photo_id)
            .or_default()
            .push(i);
    }
    let mut rng = SplitMix64::new(seed ^ SPLIT_SALT);
    let mut individuals: Vec<i64> = by_individual.keys().copied().collect();
    rng.shuffle(&mut individuals);
    let n = individuals.len();
    let held = ((n as f64 * individual_share).floor() as usize).min(n.saturating_sub(2));
    let held_out: BTreeSet<i64> = individuals[..held].iter().copied().collect();
    let mut out = Split::default();
    for (individual, photos) in &by_individual {
        if held_out.contains(individual) {
            out.val_individuals
                .extend(photos.values().flatten().copied());
            continue;
        }
        let mut ids: Vec<i64> = photos.keys().copied().collect();
        let keep = if ids.len() >= 2 {
            rng.shuffle(&mut ids);
            let k = ((ids.len() as f64 * photo_share).round() as usize).clamp(1, ids.len() - 1);
            ids.len() - k
        } else {
            ids.len()
        };
        for (j, photo) in ids.iter().enumerate() {
            let to = if j < keep {
                &mut out.train
            } else {
                &mut out.val_photos
            };
            to.extend(&photos[photo]);
        }
    }
    for v in [
        &mut out.train,
        &mut out.val_photos,
        &mut out.val_individuals,
    ] {
        v.sort_unstable();
    }
    out
}

/// Mixed into the seed so the split and the batch order differ.
const SPLIT_SALT: u64 = 0x5eed_5917_d00d_0001;

/// One model on the validation splits.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Scores {
    /// Held-out photos of known individuals, nearest neighbours alone.
    pub known: Metrics,
    /// Those plus the held-out individuals (truth: new), at `threshold`.
    pub open: Metrics,
    /// The validation's own threshold: calibrated on the training photos
    /// (leave one out), weighed to the catalogue's expected share of new
    /// individuals as the threshold in use is. Adoption then calibrates the
    /// threshold in use on the whole re-embedded catalogue.
    pub threshold: f32,
}

/// A backbone's trained weights, as pack files.
#[derive(Debug, Clone)]
pub struct TrainedBackbone {
    pub name: String,
    /// `bn.*` and `linear.*`, as [`Neck::from_safetensors`] reads them.
    pub neck: Vec<u8>,
    /// `arcface.weight`, `[classes · subcenters, D]`.
    pub head: Vec<u8>,
    pub history: Vec<EpochStats>,
    pub best_epoch: Option<usize>,
}

/// What a run measured and decided.
#[derive(Debug, Clone, Serialize)]
pub struct FinetuneReport {
    pub before: Scores,
    pub after: Scores,
    pub train_detections: usize,
    pub validation_photos: usize,
    pub validation_individuals: usize,
    /// Individuals the head knows (the training individuals).
    pub classes: usize,
    /// Augmented views per training detection asked for.
    pub views: usize,
    /// Training detections that had them cached (the others train on their
    /// plain crop alone).
    pub train_detections_with_views: usize,
    pub improved: bool,
    /// In words: why it is (not) worth adopting.
    pub reason: String,
    /// Per backbone, every epoch.
    pub histories: Vec<(String, Vec<EpochStats>)>,
    pub seed: u64,
    pub epochs: usize,
    pub subcenters: usize,
    pub dynamic_margin: bool,
    pub seconds: f64,
}

/// A finished run: the report and the weights to adopt.
#[derive(Debug, Clone)]
pub struct Finetuned {
    pub report: FinetuneReport,
    pub backbones: Vec<TrainedBackbone>,
    /// Individual codes in class order (the heads' `classes` file).
    pub classes: Vec<String>,
    pub s: f32,
    pub m: f32,
}

/// Train every backbone's neck and head on the catalogue's confirmed
/// detections and measure the result against `pack` as it is. Detections
/// without cached features are left out (run [`compute_missing_features`]
/// first). Writes nothing to the catalogue.
pub fn finetune(
    cat: &Catalogue,
    pack: &Pack,
    options: &FinetuneOptions,
    device: &Device,
    cancel: &CancelToken,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<Finetuned> {
    let started = Instant::now();
    // Validation places "new" as the catalogue's threshold would: calibrated
    // for the share of new individuals expected in the field.
    let new_share = expected_new_share(cat)?.share;
    let keys = feature_keys(pack);
    let mut examples = cat.training_examples()?;
    let only: HashSet<i64> = examples.iter().map(|e| e.detection_id).collect();
    let table = cat.load_features(&keys, Some(&only))?;
    let row_of: HashMap<i64, usize> = table
        .detection_ids
        .iter()
        .enumerate()
        .map(|(r, &d)| (d, r))
        .collect();
    examples.retain(|e| row_of.contains_key(&e.detection_id));
    let rows: Vec<usize> = examples.iter().map(|e| row_of[&e.detection_id]).collect();
    let seed = options.fit.seed;
    let split = split(
        &examples,
        seed,
        options.val_photo_share,
        options.val_individual_share,
    );
    if split.val_photos.is_empty() {
        return Err(Error::Invalid(
            "nothing to validate on: no individual has confirmed detections on two or more photos with cached features".into(),
        ));
    }
    // Classes: the training individuals, by code (stable across runs).
    let mut classes: Vec<(String, i64)> = split
        .train
        .iter()
        .map(|&i| (examples[i].code.clone(), examples[i].individual_id))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    classes.dedup_by_key(|c| c.1);
    let class_of: HashMap<i64, u32> = classes
        .iter()
        .enumerate()
        .map(|(c, (_, id))| (id.to_owned(), c as u32))
        .collect();
    let labels = |idx: &[usize]| -> Vec<u32> {
        idx.iter()
            .map(|&i| class_of[&examples[i].individual_id])
            .collect()
    };
    let (train_labels, val_labels) = (labels(&split.train), labels(&split.val_photos));
    // Views of the training detections only: a held-out photo is never seen
    // augmented or otherwise.
    let view_table = if options.views > 0 {
        let train_ids: HashSet<i64> = split
            .train
            .iter()
            .map(|&i| examples[i].detection_id)
            .collect();
        Some(cat.load_views(
            &keys,
            &super::views::recipe(options.view_seed),
            options.views,
            &train_ids,
        )?)
    } else {
        None
    };
    let view_row_of: HashMap<i64, usize> = view_table.as_ref().map_or_else(HashMap::new, |t| {
        t.detection_ids
            .iter()
            .enumerate()
            .map(|(r, &d)| (d, r))
            .collect()
    });

    let mut trained = Vec::with_capacity(pack.backbones.len());
    for (b, backbone) in pack.backbones.iter().enumerate() {
        progress(Progress::Phase {
            phase: Phase::Training,
            done: b,
            total: pack.backbones.len(),
        });
        let gather = |idx: &[usize]| -> Vec<f32> {
            let block = &table.blocks[b];
            let mut out = Vec::with_capacity(idx.len() * block.ncols());
            for &i in idx {
                out.extend(block.row(rows[i]).iter());
            }
            out
        };
        let (train_rows, val_rows) = (gather(&split.train), gather(&split.val_photos));
        let dim = table.blocks[b].ncols();
        // K views per training row; a detection without cached views
        // stands in for its own views, so it is always drawn plain.
        let view_rows = view_table.as_ref().map(|t| {
            let (block, k) = (&t.blocks[b], t.views);
            let mut out = Vec::with_capacity(split.train.len() * k * dim);
            for &i in &split.train {
                match view_row_of.get(&examples[i].detection_id) {
                    Some(&r) => {
                        for v in 0..k {
                            out.extend(block.row(r * k + v).iter());
                        }
                    }
                    None => {
                        for _ in 0..k {
                            out.extend(table.blocks[b].row(rows[i]).iter());
                        }
                    }
                }
            }
            out
        });
        let data = TrainData {
            train: Dataset {
                rows: &train_rows,
                dim,
                labels: &train_labels,
            },
            views: view_rows.as_ref().map(|r| Views {
                rows: r,
                per_row: options.views,
            }),
            val: Some(Dataset {
                rows: &val_rows,
                dim,
                labels: &val_labels,
            }),
            classes: classes.len(),
        };
        let neck_path = pack.root.join(&backbone.spec.neck.file);
        let init = std::fs::read(&neck_path).map_err(|e| Error::io(&neck_path, e))?;
        let config = FitConfig {
            embedding_dim: backbone.neck.embedding_dim(),
            bn_eps: backbone.spec.neck.bn_eps,
            ..options.fit.clone()
        };
        let name = backbone.spec.name.as_str();
        let t = fit(&data, Some(&init), &config, device, cancel, |stats| {
            progress(Progress::Epoch {
                backbone: name,
                epochs: config.epochs,
                stats,
            })
        })?;
        trained.push(TrainedBackbone {
            name: name.to_string(),
            neck: t.neck.to_safetensors()?,
            head: t.head.to_safetensors()?,
            history: t.history,
            best_epoch: t.best_epoch,
        });
    }

    progress(Progress::Phase {
        phase: Phase::Evaluating,
        done: 0,
        total: 2,
    });
    let views: Vec<ArrayView2<f32>> = table.blocks.iter().map(|b| b.view()).collect();
    let before_vectors = embed_features(&pack.backbones, &views)?;
    let before = score(&before_vectors, &rows, &examples, &split, new_share)?;
    progress(Progress::Phase {
        phase: Phase::Evaluating,
        done: 1,
        total: 2,
    });
    let after_backbones = with_trained_necks(pack, &trained)?;
    let after_vectors = embed_features(&after_backbones, &views)?;
    let after = score(&after_vectors, &rows, &examples, &split, new_share)?;
    progress(Progress::Phase {
        phase: Phase::Evaluating,
        done: 2,
        total: 2,
    });

    let gain = after.open.map_at_5 - before.open.map_at_5;
    let improved = gain > options.min_gain;
    let reason = if improved {
        format!(
            "Validation MAP@5 rose from {:.3} to {:.3} (known individuals {:.3} → {:.3})",
            before.open.map_at_5, after.open.map_at_5, before.known.map_at_5, after.known.map_at_5
        )
    } else {
        format!(
            "Validation MAP@5 did not improve ({:.3} → {:.3}; known individuals {:.3} → {:.3}). More confirmed photos per individual usually help.",
            before.open.map_at_5, after.open.map_at_5, before.known.map_at_5, after.known.map_at_5
        )
    };
    let report = FinetuneReport {
        before,
        after,
        train_detections: split.train.len(),
        validation_photos: split.val_photos.len(),
        validation_individuals: split
            .val_individuals
            .iter()
            .map(|&i| examples[i].individual_id)
            .collect::<HashSet<_>>()
            .len(),
        classes: classes.len(),
        views: options.views,
        train_detections_with_views: split
            .train
            .iter()
            .filter(|&&i| view_row_of.contains_key(&examples[i].detection_id))
            .count(),
        improved,
        reason,
        histories: trained
            .iter()
            .map(|t| (t.name.clone(), t.history.clone()))
            .collect(),
        seed,
        epochs: options.fit.epochs,
        subcenters: options.fit.arcface.k,
        dynamic_margin: options.fit.arcface.dynamic.is_some(),
        seconds: started.elapsed().as_secs_f64(),
    };
    Ok(Finetuned {
        report,
        backbones: trained,
        classes: classes.into_iter().map(|(code, _)| code).collect(),
        s: options.fit.arcface.s as f32,
        m: options.fit.arcface.m as f32,
    })
}

/// `pack`'s backbones with the trained necks (heads dropped).
pub fn with_trained_necks(pack: &Pack, trained: &[TrainedBackbone]) -> Result<Vec<Backbone>> {
    pack.backbones
        .iter()
        .zip(trained)
        .map(|(b, t)| {
            let neck = Neck::from_safetensors(
                &t.neck,
                b.spec.feature_dim,
                b.neck.embedding_dim(),
                b.spec.neck.bn_eps,
            )
            .map_err(|e| Error::Invalid(format!("trained neck of `{}`: {e}", b.spec.name)))?;
            Ok(Backbone {
                neck,
                head: None,
                ..b.clone()
            })
        })
        .collect()
}

/// Identify the validation examples against the training examples with
/// `vectors` (one per table row): MAP@5, top-1 and top-5, known and open.
fn score(
    vectors: &[Vec<f32>],
    rows: &[usize],
    examples: &[TrainingExample],
    split: &Split,
    new_share: f64,
) -> Result<Scores> {
    let item = |i: usize| GalleryItem {
        embedding_id: examples[i].detection_id,
        detection_id: examples[i].detection_id,
        individual_id: examples[i].individual_id,
        species: examples[i].species.clone(),
        taken_at: None,
        latitude: None,
        longitude: None,
        vector: vectors[rows[i]].clone(),
    };
    let items: Vec<GalleryItem> = split.train.iter().map(|&i| item(i)).collect();
    let threshold =
        calibrate_gallery_for_share(items.clone(), MIN_SPECIES_INDIVIDUALS, Some(new_share))?
            .map_or(0.5, |c| c.threshold);
    let gallery = Gallery::new(items, IndexConfig::new(vectors[0].len()))?;
    let ranked = |i: usize| -> Result<Vec<(i64, f32)>> {
        let nb = gallery.neighbours(&vectors[rows[i]], NEIGHBOURS, &|_| true)?;
        Ok(rank_individuals(&nb, None, 0.0))
    };
    let species = |i: usize| examples[i].species.clone().unwrap_or_default();
    let policy = NewIndividualPolicy::Threshold;
    let (mut known, mut open) = (Vec::new(), Vec::new());
    for &i in &split.val_photos {
        let r = ranked(i)?;
        let truth = Some(examples[i].individual_id);
        known.push(Outcome {
            predictions: top5_with(&r, f32::NEG_INFINITY, policy),
            truth,
            species: species(i),
        });
        open.push(Outcome {
            predictions: top5_with(&r, threshold, policy),
            truth,
            species: species(i),
        });
    }
    for &i in &split.val_individuals {
        open.push(Outcome {
            predictions: top5_with(&ranked(i)?, threshold, policy),
            truth: None,
            species: species(i),
        });
    }
    Ok(Scores {
        known: evaluate(&known).overall,
        open: evaluate(&open).overall,
        threshold,
    })
}

/// The trained heads as [`Head`]s, for checks and tests.
pub fn trained_heads(f: &Finetuned, pack: &Pack) -> Result<Vec<Head>> {
    pack.backbones
        .iter()
        .zip(&f.backbones)
        .map(|(b, t)| {
            Head::from_safetensors(
                &t.head,
                f.classes.clone(),
                b.neck.embedding_dim(),
                f.report.subcenters,
                f.s,
                f.m,
            )
            .map_err(|e| Error::Invalid(format!("trained head of `{}`: {e}", b.spec.name)))
        })
        .collect()
}

/// Features of the whole table, re-embedded with `backbones`; for adoption.
pub(crate) fn embed_table(backbones: &[Backbone], table: &FeatureTable) -> Result<Vec<Vec<f32>>> {
    let views: Vec<ArrayView2<f32>> = table.blocks.iter().map(|b| b.view()).collect();
    embed_features(backbones, &views)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Individual `i` has `photos[i]` photos, each with one detection, except
    /// the first photo of every individual, which has two.
    fn examples(photos: &[usize]) -> Vec<TrainingExample> {
        let mut out = Vec::new();
        let mut det = 0;
        for (i, &n) in photos.iter().enumerate() {
            for p in 0..n {
                let copies = if p == 0 { 2 } else { 1 };
                for _ in 0..copies {
                    det += 1;
                    out.push(TrainingExample {
                        detection_id: det,
                        photo_id: (i * 100 + p) as i64,
                        individual_id: i as i64,
                        code: format!("W{i}"),
                        species: None,
                    });
                }
            }
        }
        out
    }

    #[test]
    fn the_split_keeps_photos_and_held_out_individuals_apart() {
        let ex = examples(&[1, 2, 3, 5, 8, 1, 4, 6, 2, 10]);
        let s = split(&ex, 3, 0.2, 0.2);
        let all: BTreeSet<usize> = s
            .train
            .iter()
            .chain(&s.val_photos)
            .chain(&s.val_individuals)
            .copied()
            .collect();
        assert_eq!(all.len(), ex.len(), "every example is used once");
        assert_eq!(
            s.train.len() + s.val_photos.len() + s.val_individuals.len(),
            ex.len()
        );
        let photos =
            |idx: &[usize]| -> BTreeSet<i64> { idx.iter().map(|&i| ex[i].photo_id).collect() };
        let people =
            |idx: &[usize]| -> BTreeSet<i64> { idx.iter().map(|&i| ex[i].individual_id).collect() };
        assert!(photos(&s.train).is_disjoint(&photos(&s.val_photos)));
        assert!(people(&s.train).is_disjoint(&people(&s.val_individuals)));
        assert_eq!(people(&s.val_individuals).len(), 2, "20% of 10 individuals");
        // Held-out photos belong to trained individuals with 2+ photos, and
        // each of those keeps at least one photo in training.
        assert!(people(&s.val_photos).is_subset(&people(&s.train)));
        for i in people(&s.train) {
            let n = ex
                .iter()
                .filter(|e| e.individual_id == i)
                .map(|e| e.photo_id)
                .collect::<BTreeSet<_>>()
                .len();
            let held = s
                .val_photos
                .iter()
                .filter(|&&j| ex[j].individual_id == i)
                .map(|&j| ex[j].photo_id)
                .collect::<BTreeSet<_>>()
                .len();
            if n == 1 {
                assert_eq!(held, 0);
            } else if !people(&s.val_individuals).contains(&i) {
                assert!(held >= 1 && held < n, "individual {i}: {held} of {n}");
            }
        }
        assert_eq!(split(&ex, 3, 0.2, 0.2), s, "the seed decides");
        assert_ne!(split(&ex, 4, 0.2, 0.2), s);
    }

    #[test]
    fn two_individuals_always_stay_in_training() {
        let ex = examples(&[2, 2, 2]);
        let s = split(&ex, 1, 0.5, 0.9);
        let trained: BTreeSet<i64> = s.train.iter().map(|&i| ex[i].individual_id).collect();
        assert_eq!(trained.len(), 2);
    }
}
