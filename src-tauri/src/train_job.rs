//! One fine-tuning run, from the Train screen's options to a result,
//! reported as [`TrainEvent`]s; and the overview the screen opens with.
//!
//! This is the job body behind `train_start`, kept apart from Tauri so it
//! can be tested with a plain closure as the event sink. It runs
//! [`whaleid::train::job::run`], as `whaleid train` does, on its own
//! connection to the catalogue.

use std::path::PathBuf;

use whaleid::catalogue::versions::PackVersion;
use whaleid::catalogue::Catalogue;
use whaleid::eval::Metrics;
use whaleid::packs::Pack;
use whaleid::runtime::SessionConfig;
use whaleid::train::finetune::{self, FinetuneOptions, Phase, Progress, Scores};
use whaleid::train::job::{self, JobOptions};
use whaleid::train::{ArcFaceConfig, DynamicMargin, FitConfig};
use whaleid::CancelToken;

use crate::dto::{
    EvalMetrics, PackVersionInfo, TrainEvent, TrainOptions, TrainOverview, TrainPhase, TrainResult,
    ValidationScores,
};
use crate::error::{AppError, AppResult, ErrorKind};

/// Everything the job needs, taken from the app state when it starts.
#[derive(Debug, Clone)]
pub struct TrainPlan {
    pub catalogue: PathBuf,
    pub pack: Pack,
    pub options: TrainOptions,
    pub session: SessionConfig,
}

/// The most epochs the screen may ask for.
const MAX_EPOCHS: usize = 1000;

/// Check the options before a job is registered for them.
pub fn check_options(o: &TrainOptions) -> AppResult<()> {
    if o.epochs == 0 || o.epochs > MAX_EPOCHS {
        return Err(AppError::invalid(format!(
            "epochs must be between 1 and {MAX_EPOCHS}, not {}",
            o.epochs
        )));
    }
    if !(1..=4).contains(&o.subcenters) {
        return Err(AppError::invalid(format!(
            "sub-centres must be between 1 and 4, not {}",
            o.subcenters
        )));
    }
    Ok(())
}

/// What the Train screen shows: eligible data and the pack's versions.
pub fn overview(cat: &Catalogue, pack: &Pack) -> AppResult<TrainOverview> {
    let ov = finetune::overview(cat, pack)?;
    let versions = cat.pack_versions(pack.name())?;
    Ok(TrainOverview {
        individuals: ov.individuals,
        detections: ov.detections,
        individuals_with_repeats: ov.individuals_with_repeats,
        missing_features: ov.missing_features,
        can_train: ov.can_train,
        reason: ov.reason,
        active_version: Some(pack.version().to_string()),
        versions: versions
            .into_iter()
            .map(|v| version_info(v, pack.version()))
            .collect(),
    })
}

fn version_info(v: PackVersion, active: &str) -> PackVersionInfo {
    let report: serde_json::Value = serde_json::from_str(&v.report).unwrap_or_default();
    let map5 = |side: &str| report[side]["open"]["map_at_5"].as_f64();
    PackVersionInfo {
        active: v.pack_version == active,
        map5_before: map5("before"),
        map5_after: map5("after"),
        version: v.pack_version,
        parent: v.parent_version,
        created_at: v.created_at,
    }
}

/// Run the job to its end, sending `phase` and `epoch` events; the closing
/// event is returned, not sent (see `ingest_job::run`), with the adopted
/// pack's folder when a version was adopted.
pub fn run(
    plan: TrainPlan,
    cancel: &CancelToken,
    send: &mut dyn FnMut(TrainEvent),
) -> (TrainEvent, Option<PathBuf>) {
    match train(&plan, cancel, send) {
        Ok((result, adopted)) => (TrainEvent::Finished { result }, adopted),
        Err(e) if e.kind == ErrorKind::Cancelled => (TrainEvent::Cancelled {}, None),
        Err(error) => (TrainEvent::Failed { error }, None),
    }
}

fn train(
    plan: &TrainPlan,
    cancel: &CancelToken,
    send: &mut dyn FnMut(TrainEvent),
) -> AppResult<(TrainResult, Option<PathBuf>)> {
    let mut cat = Catalogue::open(&plan.catalogue)?;
    let o = &plan.options;
    let defaults = FinetuneOptions::default();
    let device = whaleid::train::auto_device();
    let options = JobOptions {
        finetune: FinetuneOptions {
            fit: FitConfig {
                epochs: o.epochs,
                seed: u64::from(o.seed),
                arcface: ArcFaceConfig {
                    k: o.subcenters,
                    dynamic: o.dynamic_margin.then(DynamicMargin::default),
                    ..ArcFaceConfig::default()
                },
                ..defaults.fit.clone()
            },
            ..defaults
        },
        session: plan.session,
        device: device.device,
        adopt: true,
        actor: None,
    };
    let outcome = job::run(&mut cat, &plan.pack, &options, cancel, &mut |p| {
        send(match p {
            Progress::Phase { phase, done, total } => TrainEvent::Phase {
                phase: match phase {
                    Phase::Features => TrainPhase::Features,
                    Phase::Views => TrainPhase::Views,
                    Phase::Training => TrainPhase::Training,
                    Phase::Evaluating => TrainPhase::Evaluating,
                    Phase::Adopting => TrainPhase::Adopting,
                    Phase::Indexing => TrainPhase::Indexing,
                },
                done,
                total,
            },
            Progress::Epoch {
                backbone,
                epochs,
                stats,
            } => TrainEvent::Epoch {
                backbone: backbone.to_string(),
                epoch: stats.epoch + 1,
                epochs,
                loss: stats.loss,
                accuracy: stats.accuracy,
                val_map5: stats.val_map5,
                seconds: stats.seconds,
            },
        })
    })?;
    let r = &outcome.report;
    let result = TrainResult {
        adopted: outcome.adopted.is_some(),
        version: outcome.adopted.as_ref().map(|a| a.version.clone()),
        reason: r.reason.clone(),
        before: scores(&r.before),
        after: scores(&r.after),
        train_detections: r.train_detections,
        validation_photos: r.validation_photos,
        validation_individuals: r.validation_individuals,
        seconds: r.seconds,
        ran_on: device.ran_on,
        gpu_fallback: device.fallback,
    };
    Ok((result, outcome.adopted.map(|a| a.path)))
}

fn scores(s: &Scores) -> ValidationScores {
    let m = |m: &Metrics| EvalMetrics {
        count: m.count,
        map5: m.map_at_5,
        top1: m.top1,
        top5: m.top5,
    };
    ValidationScores {
        known: m(&s.known),
        open: m(&s.open),
        threshold: s.threshold,
    }
}
