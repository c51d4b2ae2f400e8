//! `whaleid eval`: a labelled collection through the real pipeline.
//!
//! Every photo is embedded once (one crop per photo: the labels' box, or the
//! detector's best crop, or the whole photo), the records are [`split`] by
//! individual and by photo, the gallery is indexed, and each query is
//! identified as the CLI and the app would. The `new_individual` threshold is
//! reported twice: the fixed one (pack or `--threshold`) and the one
//! calibrated leave-one-out on the gallery alone, so no query leaks into it.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::photo::Picture;
use serde::Serialize;

use super::{calibrate_for_share, evaluate, split, Calibration, Outcome, Report, Split};
use crate::catalogue::{GalleryItem, Scope};
use crate::error::Result;
use crate::index::IndexConfig;
use crate::ingest::{Labelled, Pipeline, Progress, Region, Stage};
use crate::matching::{calibration_queries, identify, Gallery, MatchSettings};
use crate::photo;
use crate::CancelToken;

#[derive(Debug, Clone)]
pub struct EvalOptions {
    pub seed: u64,
    pub unseen_fraction: f64,
    pub query_fraction: f64,
    /// Embed the labels' boxes where given (else detect or whole photo).
    pub use_boxes: bool,
    pub settings: MatchSettings,
    /// Thresholds tried by the calibration.
    pub grid: Vec<f32>,
    /// A species gets its own calibrated threshold from this many individuals.
    pub min_individuals: usize,
    /// The share of new individuals the calibration weighs its queries to
    /// (as `catalogue calibrate` does); `None` counts every query once.
    pub new_share: Option<f64>,
}

impl EvalOptions {
    pub fn new(threshold: f32) -> Self {
        Self {
            seed: 42,
            unseen_fraction: 0.2,
            query_fraction: 0.2,
            use_boxes: true,
            settings: MatchSettings::new(threshold),
            grid: (0..=100).map(|i| i as f32 / 100.0).collect(),
            min_individuals: 5,
            new_share: Some(crate::matching::field::DEFAULT_NEW_SHARE),
        }
    }
}

/// What an evaluation found.
#[derive(Debug, Clone, Serialize)]
pub struct EvalResult {
    pub photos: usize,
    pub gallery_photos: usize,
    pub queries: usize,
    pub unseen_individuals: usize,
    pub crops: BTreeMap<String, usize>,
    pub threshold: f32,
    pub report: Report,
    /// Calibrated on the gallery; `None` when it had too little to go on.
    pub calibration: Option<Calibration>,
    /// The queries again with the calibrated thresholds (per species where
    /// a species has its own).
    pub calibrated_report: Option<Report>,
    pub failed: Vec<(PathBuf, String)>,
}

/// Embed, split, index, identify, score.
pub fn run(
    pipeline: &Pipeline,
    items: &[Labelled],
    options: &EvalOptions,
    progress: &mut dyn FnMut(Progress),
    cancel: &CancelToken,
) -> Result<EvalResult> {
    let total = items.len();
    let Embedded {
        vectors: embedded,
        crops,
        failed,
    } = embed_all(pipeline, items, options.use_boxes, progress, cancel)?;
    progress(Progress {
        stage: Stage::Saving,
        done: total,
        total,
    });

    let s = split_records(items, &embedded, options);
    let vectors: BTreeMap<usize, &Vec<f32>> = embedded.iter().map(|(i, v)| (*i, v)).collect();
    let gallery_items = gallery_items(&s, &vectors);
    let dim = gallery_items.first().map_or(1, |g| g.vector.len());
    let gallery = Gallery::new(gallery_items.clone(), IndexConfig::new(dim))?;

    let outcomes = |threshold_for: &dyn Fn(&str) -> f32| {
        identify_queries(&gallery, &s, &vectors, &options.settings, threshold_for)
    };
    let report = evaluate(&outcomes(&|_| options.settings.threshold)?);
    let queries = calibration_queries(&gallery, &gallery_items, options.settings.neighbours)?;
    let calibration = calibrate_for_share(
        &queries,
        &options.grid,
        options.min_individuals,
        options.settings.policy,
        options.new_share,
    );
    let calibrated_report = match &calibration {
        Some(c) => Some(evaluate(&outcomes(&|sp| c.threshold_for(sp))?)),
        None => None,
    };
    Ok(EvalResult {
        photos: total,
        gallery_photos: s.gallery.len(),
        queries: s.queries.len(),
        unseen_individuals: s.unseen.len(),
        crops,
        threshold: options.settings.threshold,
        report,
        calibration,
        calibrated_report,
        failed,
    })
}

/// One crop's embedding per photo that gave one, keyed by the photo's place
/// in the items; the crops by class; the photos that could not be opened.
struct Embedded {
    vectors: Vec<(usize, Vec<f32>)>,
    crops: BTreeMap<String, usize>,
    failed: Vec<(PathBuf, String)>,
}

/// Embed every photo's best crop, 16 photos at a time: the labels' box
/// when `use_boxes` and one is given, else the detector's best, else the
/// whole photo.
fn embed_all(
    pipeline: &Pipeline,
    items: &[Labelled],
    use_boxes: bool,
    progress: &mut dyn FnMut(Progress),
    cancel: &CancelToken,
) -> Result<Embedded> {
    let total = items.len();
    let mut out = Embedded {
        vectors: Vec::with_capacity(total),
        crops: BTreeMap::new(),
        failed: Vec::new(),
    };
    for (c, chunk) in items.chunks(16).enumerate() {
        if cancel.is_cancelled() {
            return Err(crate::Error::Cancelled);
        }
        progress(Progress {
            stage: Stage::Embedding,
            done: c * 16,
            total,
        });
        let mut photos: Vec<(usize, Picture, Region)> = Vec::new();
        for (i, item) in chunk.iter().enumerate() {
            let boxes = use_boxes && item.bbox.is_some();
            match pipeline.open_photo(&item.path, photo::DEFAULT_MAX_PIXELS, boxes) {
                Ok(p) => {
                    let region = match item.bbox.filter(|_| use_boxes) {
                        Some(b) => Region::Box(b),
                        None => Region::Detect {
                            best_only: true,
                            whole_if_none: true,
                        },
                    };
                    photos.push((c * 16 + i, p, region));
                }
                Err(e) => out.failed.push((item.path.clone(), e.to_string())),
            }
        }
        let inputs: Vec<(&Picture, Region)> = photos.iter().map(|(_, p, r)| (p, *r)).collect();
        for ((index, ..), found) in photos.iter().zip(pipeline.run(&inputs, cancel)?) {
            if let Some(f) = found.into_iter().next() {
                *out.crops.entry(f.class).or_default() += 1;
                out.vectors.push((*index, f.embedding.vector));
            }
        }
    }
    Ok(out)
}

/// The embedded photos split into gallery and queries, by individual and by
/// photo. Individuals get small integer keys; codes stay in `items`.
fn split_records(
    items: &[Labelled],
    embedded: &[(usize, Vec<f32>)],
    options: &EvalOptions,
) -> Split<usize, String, i64> {
    let mut keys: BTreeMap<&str, i64> = BTreeMap::new();
    for item in items {
        let next = keys.len() as i64;
        keys.entry(item.individual.as_str()).or_insert(next);
    }
    let species_of = |i: usize| items[i].species.clone().unwrap_or_else(|| "unknown".into());
    let records: Vec<(usize, String, i64)> = embedded
        .iter()
        .map(|(i, _)| (*i, species_of(*i), keys[items[*i].individual.as_str()]))
        .collect();
    split(
        &records,
        options.seed,
        options.unseen_fraction,
        options.query_fraction,
    )
}

/// The split's gallery as the index takes it; a photo's place in the items
/// stands for its embedding and detection.
fn gallery_items(
    s: &Split<usize, String, i64>,
    vectors: &BTreeMap<usize, &Vec<f32>>,
) -> Vec<GalleryItem> {
    s.gallery
        .iter()
        .map(|(i, species, key)| GalleryItem {
            embedding_id: *i as i64,
            detection_id: *i as i64,
            individual_id: *key,
            species: Some(species.clone()),
            taken_at: None,
            latitude: None,
            longitude: None,
            vector: vectors[i].clone(),
        })
        .collect()
}

/// Every query identified against the whole gallery, as the CLI and the app
/// would, with the threshold `threshold_for` gives its species.
fn identify_queries(
    gallery: &Gallery,
    s: &Split<usize, String, i64>,
    vectors: &BTreeMap<usize, &Vec<f32>>,
    settings: &MatchSettings,
    threshold_for: &dyn Fn(&str) -> f32,
) -> Result<Vec<Outcome<i64, String>>> {
    let everything = Scope::default();
    s.queries
        .iter()
        .map(|q| {
            let settings = MatchSettings {
                threshold: threshold_for(&q.species),
                ..*settings
            };
            Ok(Outcome {
                predictions: identify(gallery, vectors[&q.image], &everything, &settings, None)?,
                truth: q.truth,
                species: q.species.clone(),
            })
        })
        .collect()
}
