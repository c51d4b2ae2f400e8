//! A whole fine-tuning run, as `whaleid train` and the app's Train screen
//! start it: missing features, missing augmented views, training,
//! validation, and adoption with the index rebuilt when validation improved.
//!
//! A cancel stops the run up to the moment the adoption commits: before
//! that nothing is adopted and what adoption wrote is removed. The commit is
//! one transaction, so a cancel that comes after it cannot stop it; the run
//! then finishes (rebuilding the index, which takes a moment, so that the
//! version adopted is usable) and says so in
//! [`JobOutcome::cancelled_after_adoption`]. Undoing it on the user's behalf
//! would be a second switch the user did not ask for; `--rollback` is one
//! command away.

use candle_core::Device;
use serde::Serialize;

use super::finetune::{
    compute_missing_features, finetune, overview, Backfill, FinetuneOptions, FinetuneReport, Phase,
    Progress,
};
use super::versions::{adopt_with, clean_leftovers, refresh, Adopted, Refreshed};
use super::views::{compute_missing_views, training_detections, views_missing, ViewBackfill};
use crate::cancel::CancelToken;
use crate::catalogue::Catalogue;
use crate::embed::Embedder;
use crate::error::{Error, Result};
use crate::packs::Pack;
use crate::runtime::SessionConfig;

#[derive(Debug, Clone)]
pub struct JobOptions {
    pub finetune: FinetuneOptions,
    /// How backbones run when features are missing.
    pub session: SessionConfig,
    /// Where training runs.
    pub device: Device,
    /// Adopt when validation improves (`false`: only measure).
    pub adopt: bool,
    /// Recorded with the switch of versions.
    pub actor: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct JobOutcome {
    pub features: Backfill,
    /// The augmented views computed now, and the size of their cache.
    pub views: ViewBackfill,
    pub report: FinetuneReport,
    pub adopted: Option<Adopted>,
    /// The index rebuilt and the review queue re-ranked, after an adoption.
    pub refreshed: Option<Refreshed>,
    /// The cancel came after the adoption had committed: the version in
    /// `adopted` is in use all the same (see the module docs).
    pub cancelled_after_adoption: bool,
}

/// Run it all on the catalogue's active `pack`. Cancelling before the
/// adoption commits leaves the catalogue as it was, apart from features
/// computed. Starts by removing what an interrupted adoption left
/// ([`clean_leftovers`]).
pub fn run(
    cat: &mut Catalogue,
    pack: &Pack,
    options: &JobOptions,
    cancel: &CancelToken,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<JobOutcome> {
    clean_leftovers(cat)?;
    let before = overview(cat, pack)?;
    if let Some(reason) = before.reason {
        return Err(Error::Invalid(reason));
    }
    let o = &options.finetune;
    let confirmed = training_detections(cat)?;
    let need_views = views_missing(cat, pack, &confirmed, o.views, o.view_seed)? > 0;
    let embedder = if before.missing_features > 0 || need_views {
        Some(Embedder::open(pack, &options.session)?)
    } else {
        None
    };
    let features = match &embedder {
        Some(e) if before.missing_features > 0 => {
            compute_missing_features(cat, pack, e, cancel, progress)?
        }
        _ => Backfill::default(),
    };
    let views = match &embedder {
        Some(e) if need_views => compute_missing_views(
            cat,
            pack,
            e,
            &confirmed,
            o.views,
            o.view_seed,
            cancel,
            progress,
        )?,
        _ => ViewBackfill {
            views: o.views,
            cache: cat.view_cache_size()?,
            ..ViewBackfill::default()
        },
    };
    drop(embedder);
    let trained = finetune(
        cat,
        pack,
        &options.finetune,
        &options.device,
        cancel,
        progress,
    )?;
    if cancel.is_cancelled() {
        return Err(Error::Cancelled);
    }
    let (adopted, refreshed) = if options.adopt && trained.report.improved {
        progress(Progress::Phase {
            phase: Phase::Adopting,
            done: 0,
            total: 1,
        });
        let adopted = adopt_with(cat, pack, &trained, options.actor.as_deref(), cancel)?;
        progress(Progress::Phase {
            phase: Phase::Indexing,
            done: 0,
            total: 1,
        });
        let refreshed = refresh(cat)?;
        progress(Progress::Phase {
            phase: Phase::Indexing,
            done: 1,
            total: 1,
        });
        (Some(adopted), Some(refreshed))
    } else {
        (None, None)
    };
    Ok(JobOutcome {
        features,
        views,
        report: trained.report,
        cancelled_after_adoption: adopted.is_some() && cancel.is_cancelled(),
        adopted,
        refreshed,
    })
}
