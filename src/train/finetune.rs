//! Fine-tuning a catalogue's pack on the catalogue's own confirmed
//! identifications: features, splits, training, validation and the
//! decision to adopt.
//!
//! 1. **Features.** Every embedded detection needs its backbone features
//!    cached; ingest stores them, and [`compute_missing_features`]
//!    ([`super::backfill`]) fills the gaps (older catalogues) from the
//!    photos, once. The confirmed ones also get K augmented views cached
//!    ([`super::views`]), once.
//! 2. **Splits** ([`split`] in [`super::split`], seeded): some individuals
//!    held out whole (truth: new), some photos of the others held out
//!    (truth: known), a photo's detections always on one side.
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

use std::collections::{BTreeSet, HashMap, HashSet};
use std::time::Instant;

use candle_core::Device;
use ndarray::ArrayView2;
use serde::Serialize;

use super::fit::{fit, Dataset, EpochStats, FitConfig, TrainData, Views};
use crate::cancel::CancelToken;
use crate::catalogue::features::{FeatureTable, TrainingExample, ViewTable};
use crate::catalogue::{Catalogue, GalleryItem};
use crate::embed::embed_features;
use crate::error::{Error, Result};
use crate::eval::{evaluate, Metrics, Outcome};
use crate::index::IndexConfig;
use crate::matching::field::{expected_new_share, MIN_SPECIES_INDIVIDUALS};
use crate::matching::identify::calibrate_gallery_for_share;
use crate::matching::{rank_individuals, top5_with, Gallery, NewIndividualPolicy};
use crate::packs::{Backbone, Neck, Pack};

pub use super::backfill::{compute_missing_features, Backfill};
pub use super::split::{split, Split};

/// Neighbours retrieved per validation query (as identification does).
const NEIGHBOURS: usize = 100;

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
    let data = Data::load(cat, &feature_keys(pack), options)?;
    let mut trained = Vec::with_capacity(pack.backbones.len());
    for b in 0..pack.backbones.len() {
        progress(Progress::Phase {
            phase: Phase::Training,
            done: b,
            total: pack.backbones.len(),
        });
        trained.push(train_backbone(
            &data, pack, b, options, device, cancel, progress,
        )?);
    }
    let (before, after) = compare(pack, &trained, &data, new_share, progress)?;
    let report = data.report(before, after, &trained, options, started);
    Ok(Finetuned {
        report,
        backbones: trained,
        classes: data.classes.into_iter().map(|(code, _)| code).collect(),
        s: options.fit.arcface.s as f32,
        m: options.fit.arcface.m as f32,
    })
}

/// What a run trains and validates on: the confirmed detections with cached
/// features, split, labelled, and the cached views of the training ones.
struct Data {
    examples: Vec<TrainingExample>,
    table: FeatureTable,
    /// `table` row of each example.
    rows: Vec<usize>,
    split: Split,
    /// The training individuals, by code (stable across runs): `(code, id)`.
    classes: Vec<(String, i64)>,
    train_labels: Vec<u32>,
    val_labels: Vec<u32>,
    /// Views of the training detections only (none when `views` is 0): a
    /// held-out photo is never seen augmented or otherwise.
    views: Option<ViewTable>,
    /// `views` row of each detection that has them.
    view_row_of: HashMap<i64, usize>,
}

impl Data {
    fn load(cat: &Catalogue, keys: &[String], options: &FinetuneOptions) -> Result<Self> {
        let mut examples = cat.training_examples()?;
        let only: HashSet<i64> = examples.iter().map(|e| e.detection_id).collect();
        let table = cat.load_features(keys, Some(&only))?;
        let row_of = row_index(&table.detection_ids);
        examples.retain(|e| row_of.contains_key(&e.detection_id));
        let rows: Vec<usize> = examples.iter().map(|e| row_of[&e.detection_id]).collect();
        let split = split(
            &examples,
            options.fit.seed,
            options.val_photo_share,
            options.val_individual_share,
        );
        if split.val_photos.is_empty() {
            return Err(Error::Invalid(
                "nothing to validate on: no individual has confirmed detections on two or more photos with cached features".into(),
            ));
        }
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
        let views = if options.views > 0 {
            let train_ids: HashSet<i64> = split
                .train
                .iter()
                .map(|&i| examples[i].detection_id)
                .collect();
            Some(cat.load_views(
                keys,
                &super::views::recipe(options.view_seed),
                options.views,
                &train_ids,
            )?)
        } else {
            None
        };
        let view_row_of = views
            .as_ref()
            .map_or_else(HashMap::new, |t| row_index(&t.detection_ids));
        Ok(Self {
            examples,
            table,
            rows,
            split,
            classes,
            train_labels,
            val_labels,
            views,
            view_row_of,
        })
    }

    /// Backbone `b`'s feature rows of the examples `idx`, concatenated.
    fn gather(&self, b: usize, idx: &[usize]) -> Vec<f32> {
        let block = &self.table.blocks[b];
        let mut out = Vec::with_capacity(idx.len() * block.ncols());
        for &i in idx {
            out.extend(block.row(self.rows[i]).iter());
        }
        out
    }

    /// Backbone `b`'s K views per training row; a detection without cached
    /// views stands in for its own views, so it is always drawn plain.
    fn gather_views(&self, b: usize) -> Option<Vec<f32>> {
        let t = self.views.as_ref()?;
        let (block, k) = (&t.blocks[b], t.views);
        let plain = &self.table.blocks[b];
        let mut out = Vec::with_capacity(self.split.train.len() * k * plain.ncols());
        for &i in &self.split.train {
            match self.view_row_of.get(&self.examples[i].detection_id) {
                Some(&r) => {
                    for v in 0..k {
                        out.extend(block.row(r * k + v).iter());
                    }
                }
                None => {
                    for _ in 0..k {
                        out.extend(plain.row(self.rows[i]).iter());
                    }
                }
            }
        }
        Some(out)
    }

    /// The run's report: the scores, the decision and what was trained on.
    fn report(
        &self,
        before: Scores,
        after: Scores,
        trained: &[TrainedBackbone],
        options: &FinetuneOptions,
        started: Instant,
    ) -> FinetuneReport {
        let (improved, reason) = decide(&before, &after, options.min_gain);
        let split = &self.split;
        let examples = &self.examples;
        FinetuneReport {
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
            classes: self.classes.len(),
            views: options.views,
            train_detections_with_views: split
                .train
                .iter()
                .filter(|&&i| self.view_row_of.contains_key(&examples[i].detection_id))
                .count(),
            improved,
            reason,
            histories: trained
                .iter()
                .map(|t| (t.name.clone(), t.history.clone()))
                .collect(),
            seed: options.fit.seed,
            epochs: options.fit.epochs,
            subcenters: options.fit.arcface.k,
            dynamic_margin: options.fit.arcface.dynamic.is_some(),
            seconds: started.elapsed().as_secs_f64(),
        }
    }
}

/// Row of each detection in a table's row order.
fn row_index(detection_ids: &[i64]) -> HashMap<i64, usize> {
    detection_ids
        .iter()
        .enumerate()
        .map(|(r, &d)| (d, r))
        .collect()
}

/// Train backbone `b`'s neck (from the pack's weights) and a new head.
fn train_backbone(
    data: &Data,
    pack: &Pack,
    b: usize,
    options: &FinetuneOptions,
    device: &Device,
    cancel: &CancelToken,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<TrainedBackbone> {
    let (train_rows, val_rows) = (
        data.gather(b, &data.split.train),
        data.gather(b, &data.split.val_photos),
    );
    let backbone = &pack.backbones[b];
    let dim = data.table.blocks[b].ncols();
    let view_rows = data.gather_views(b);
    let fit_data = TrainData {
        train: Dataset {
            rows: &train_rows,
            dim,
            labels: &data.train_labels,
        },
        views: view_rows.as_ref().map(|r| Views {
            rows: r,
            per_row: options.views,
        }),
        val: Some(Dataset {
            rows: &val_rows,
            dim,
            labels: &data.val_labels,
        }),
        classes: data.classes.len(),
    };
    let neck_path = pack.root.join(&backbone.spec.neck.file);
    let init = std::fs::read(&neck_path).map_err(|e| Error::io(&neck_path, e))?;
    let config = FitConfig {
        embedding_dim: backbone.neck.embedding_dim(),
        bn_eps: backbone.spec.neck.bn_eps,
        ..options.fit.clone()
    };
    let name = backbone.spec.name.as_str();
    let t = fit(&fit_data, Some(&init), &config, device, cancel, |stats| {
        progress(Progress::Epoch {
            backbone: name,
            epochs: config.epochs,
            stats,
        })
    })?;
    Ok(TrainedBackbone {
        name: name.to_string(),
        neck: t.neck.to_safetensors()?,
        head: t.head.to_safetensors()?,
        history: t.history,
        best_epoch: t.best_epoch,
    })
}

/// Validation scores of `pack` as it is and with the trained necks.
fn compare(
    pack: &Pack,
    trained: &[TrainedBackbone],
    data: &Data,
    new_share: f64,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<(Scores, Scores)> {
    let step = |done| Progress::Phase {
        phase: Phase::Evaluating,
        done,
        total: 2,
    };
    // Where calibration gives no threshold, "new" is placed where the pack
    // places it.
    let fallback = pack.manifest.matching.new_individual_threshold;
    progress(step(0));
    let views: Vec<ArrayView2<f32>> = data.table.blocks.iter().map(|b| b.view()).collect();
    let before_vectors = embed_features(&pack.backbones, &views)?;
    let before = score(&before_vectors, data, new_share, fallback)?;
    progress(step(1));
    let after_backbones = with_trained_necks(pack, trained)?;
    let after_vectors = embed_features(&after_backbones, &views)?;
    let after = score(&after_vectors, data, new_share, fallback)?;
    progress(step(2));
    Ok((before, after))
}

/// Whether the trained version is worth adopting, and why (not).
fn decide(before: &Scores, after: &Scores, min_gain: f64) -> (bool, String) {
    let gain = after.open.map_at_5 - before.open.map_at_5;
    let improved = gain > min_gain;
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
    (improved, reason)
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
/// "New" is placed at the threshold calibrated on the training examples,
/// or at `fallback` where calibration gives none (no training example).
fn score(vectors: &[Vec<f32>], data: &Data, new_share: f64, fallback: f32) -> Result<Scores> {
    let (examples, rows, split) = (&data.examples, &data.rows, &data.split);
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
            .map_or(fallback, |c| c.threshold);
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

/// Features of the whole table, re-embedded with `backbones`; for adoption.
pub(crate) fn embed_table(backbones: &[Backbone], table: &FeatureTable) -> Result<Vec<Vec<f32>>> {
    let views: Vec<ArrayView2<f32>> = table.blocks.iter().map(|b| b.view()).collect();
    embed_features(backbones, &views)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two individuals with two photos each, every photo held out: nothing
    /// trains, so the validation threshold cannot be calibrated. (A real
    /// run always trains on some photos, and calibration then answers;
    /// this is the one case where the fallback is used.)
    fn nothing_trains() -> (Data, Vec<Vec<f32>>) {
        let examples: Vec<TrainingExample> = (0..4)
            .map(|d| TrainingExample {
                detection_id: d + 1,
                photo_id: d + 1,
                individual_id: d / 2,
                code: format!("W{}", d / 2),
                species: None,
            })
            .collect();
        let vectors = vec![
            vec![1.0, 0.0, 0.0],
            vec![0.0, 1.0, 0.0],
            vec![0.0, 0.0, 1.0],
            vec![0.6, 0.8, 0.0],
        ];
        let data = Data {
            examples,
            table: FeatureTable {
                detection_ids: vec![1, 2, 3, 4],
                blocks: vec![ndarray::Array2::zeros((4, 3))],
            },
            rows: vec![0, 1, 2, 3],
            split: Split {
                train: vec![],
                val_photos: vec![0, 1, 2, 3],
                val_individuals: vec![],
            },
            classes: vec![],
            train_labels: vec![],
            val_labels: vec![0, 0, 1, 1],
            views: None,
            view_row_of: HashMap::new(),
        };
        (data, vectors)
    }

    #[test]
    fn a_validation_that_cannot_calibrate_uses_the_packs_threshold_not_0_5() {
        let (data, vectors) = nothing_trains();
        for fallback in [0.37, 0.5, 0.8] {
            let s = score(&vectors, &data, 0.2, fallback).unwrap();
            assert_eq!(s.threshold, fallback);
            assert_eq!(s.known.count, 4);
        }
    }
}
