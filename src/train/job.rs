//! A whole fine-tuning run, as `whaleid train` and the app's Train screen
//! start it: missing features, training, validation, and adoption with the
//! index rebuilt when validation improved.

use candle_core::Device;
use serde::Serialize;

use super::finetune::{
    compute_missing_features, finetune, overview, Backfill, FinetuneOptions, FinetuneReport, Phase,
    Progress,
};
use super::versions::{adopt, refresh, Adopted, Refreshed};
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
    pub report: FinetuneReport,
    pub adopted: Option<Adopted>,
    /// The index rebuilt and the review queue re-ranked, after an adoption.
    pub refreshed: Option<Refreshed>,
}

/// Run it all on the catalogue's active `pack`. Cancelling before the
/// adoption leaves the catalogue as it was, apart from features computed.
pub fn run(
    cat: &mut Catalogue,
    pack: &Pack,
    options: &JobOptions,
    cancel: &CancelToken,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<JobOutcome> {
    let before = overview(cat, pack)?;
    if let Some(reason) = before.reason {
        return Err(Error::Invalid(reason));
    }
    let features = if before.missing_features > 0 {
        let embedder = Embedder::open(pack, &options.session)?;
        compute_missing_features(cat, pack, &embedder, cancel, progress)?
    } else {
        Backfill::default()
    };
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
        let adopted = adopt(cat, pack, &trained, options.actor.as_deref())?;
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
        report: trained.report,
        adopted,
        refreshed,
    })
}
