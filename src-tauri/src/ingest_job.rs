//! One ingest, from dropped paths to a summary, reported as [`IngestEvent`]s.
//!
//! This is the job body behind `ingest_start`, kept apart from Tauri so it
//! can be tested with a plain closure as the event sink. It mirrors `whaleid
//! ingest` (`src/bin/whaleid/ingest.rs`): scan the folders, open the pack's
//! models, ingest with suggestions at the catalogue's threshold, then group
//! the new photos into encounters. It works on its own connection to the
//! catalogue so the app's connection stays free for the UI.

use std::path::{Path, PathBuf};

use whaleid::catalogue::Catalogue;
use whaleid::ingest::encounters::EncounterRules;
use whaleid::ingest::survey::{self, IngestOptions, IngestReport};
use whaleid::ingest::{scan, Pipeline};
use whaleid::matching::MatchSettings;
use whaleid::packs::Pack;
use whaleid::runtime::{RanOn, SessionConfig};
use whaleid::CancelToken;

use crate::dto::{FileProblem, IngestEvent, IngestSummary};
use crate::error::{AppError, AppResult};

/// Everything the job needs, taken from the app state when it starts.
#[derive(Debug, Clone)]
pub struct IngestPlan {
    pub catalogue: PathBuf,
    pub pack: Pack,
    pub threshold: f32,
    /// The survey's species, when given: recorded on each detection, whose
    /// suggestions are scoped to it.
    pub species: Option<String>,
    pub paths: Vec<PathBuf>,
    pub session: SessionConfig,
    pub batch: usize,
    /// Who imports (the observer name), recorded on each new photo.
    pub observer: Option<String>,
}

/// Check that every path exists, so a mistyped or unplugged folder is an
/// error of the `invoke` itself rather than of a job the UI then tracks.
pub fn check_paths(paths: &[PathBuf]) -> AppResult<()> {
    if paths.is_empty() {
        return Err(AppError::invalid(
            "nothing to ingest: give folders or photos",
        ));
    }
    for p in paths {
        std::fs::metadata(p).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                AppError::not_found(format!(
                    "{} does not exist: check the path, or choose the folder again (was the card removed?)",
                    p.display()
                ))
            } else {
                AppError::from(whaleid::Error::Io {
                    path: p.clone(),
                    source: e,
                })
            }
        })?;
    }
    Ok(())
}

/// The folders the UI will show photos from: each folder given, and the
/// folder of each photo given.
pub fn photo_folders(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = paths
        .iter()
        .filter_map(|p| {
            if p.is_dir() {
                Some(p.clone())
            } else {
                p.parent().map(Path::to_path_buf)
            }
        })
        .collect();
    dirs.sort();
    dirs.dedup();
    dirs
}

/// How a job ended: the closing event (`finished`, `cancelled` or
/// `failed`) and where the models ran (`None` if they never opened).
#[derive(Debug)]
pub struct Outcome {
    pub closing: IngestEvent,
    pub ran_on: Option<RanOn>,
}

/// Run the job to its end, sending `scanning`, `scanned` and `progress` events. The
/// closing event is returned, not sent, so the caller can mark the job over
/// first: a UI that starts another ingest on `finished` must not find the
/// old one still registered.
pub fn run(plan: IngestPlan, cancel: &CancelToken, send: &mut dyn FnMut(IngestEvent)) -> Outcome {
    let mut done = 0;
    let mut ran_on = None;
    let result = ingest(&plan, cancel, &mut ran_on, &mut |event| {
        if let IngestEvent::Progress { done: d, .. } = event {
            done = d;
        }
        send(event)
    });
    let closing = match result {
        Ok(summary) => IngestEvent::Finished { summary },
        Err(e) if e.kind == crate::error::ErrorKind::Cancelled => IngestEvent::Cancelled { done },
        Err(error) => IngestEvent::Failed { error },
    };
    Outcome { closing, ran_on }
}

fn ingest(
    plan: &IngestPlan,
    cancel: &CancelToken,
    ran_on: &mut Option<RanOn>,
    send: &mut dyn FnMut(IngestEvent),
) -> AppResult<IngestSummary> {
    let mut scanning = |p: &scan::ScanProgress| {
        send(IngestEvent::Scanning {
            seen: p.seen,
            photos: p.photos,
            folder: p.folder.to_string_lossy().into_owned(),
        })
    };
    let scan::Scan {
        photos: files,
        skipped,
    } = scan::scan_all_with_progress(&plan.paths, &mut scanning, cancel)?;
    if files.is_empty() {
        let names: Vec<String> = plan.paths.iter().map(|p| p.display().to_string()).collect();
        return Err(AppError::invalid(format!(
            "no photos found in {} ({} other {} skipped): WhaleID reads JPEG, PNG, TIFF and WebP photos",
            names.join(", "),
            skipped.len(),
            if skipped.len() == 1 { "file" } else { "files" }
        )));
    }
    send(IngestEvent::Scanned {
        files: files.len(),
        skipped: skipped.len(),
    });
    let mut cat = Catalogue::open(&plan.catalogue)?;
    let pipeline = Pipeline::open(plan.pack.clone(), &plan.session)?;
    *ran_on = Some(pipeline.ran_on());
    let options = IngestOptions {
        batch: plan.batch,
        settings: Some(MatchSettings::new(plan.threshold)),
        species: plan.species.clone(),
        imported_by: plan.observer.clone(),
        ..IngestOptions::default()
    };
    let mut progress = |p: survey::IngestProgress| {
        send(IngestEvent::Progress {
            read: p.read,
            done: p.done,
            total: p.total,
            photos_per_second: p.photos_per_second,
            eta_seconds: p.eta_seconds,
        })
    };
    let report = survey::ingest(&mut cat, &pipeline, &files, &options, &mut progress, cancel)?;
    let encounters =
        survey::assign_encounters(&mut cat, &report.photos, &EncounterRules::default())?;
    Ok(summary(report, skipped, encounters))
}

fn summary(
    report: IngestReport,
    skipped: Vec<(PathBuf, String)>,
    encounters: usize,
) -> IngestSummary {
    // Photos kept with something refused (an impossible EXIF date): the
    // summary screen lists failures; these go to the app's log.
    for (path, reason) in &report.warnings {
        tracing::warn!("{}: {reason}", path.display());
    }
    let problems = |list: Vec<(PathBuf, String)>| {
        list.into_iter()
            .map(|(path, reason)| FileProblem {
                path: path.to_string_lossy().into_owned(),
                reason,
            })
            .collect()
    };
    IngestSummary {
        photos_per_second: report.photos_per_second(),
        new_photos: report.new_photos,
        known_photos: report.known_photos,
        failed: problems(report.failed),
        skipped: problems(skipped),
        detections: report.detections,
        no_detection: report
            .no_detection
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect(),
        encounters,
        new_individual_suggestions: report.new_individual_suggestions,
        seconds: report.seconds,
        ran_on: report.ran_on.label(),
        gpu_fallback: report.ran_on.fallback,
    }
}
