//! Ranking again the suggestions of every detection waiting for review.
//!
//! Suggestions are stored when a photo is ingested, with the threshold, pack
//! version and gallery of that moment. When any of them changes (a new
//! calibration, a threshold typed in Settings, a new expected share of new
//! individuals, a fine-tuned version adopted or rolled back), the waiting
//! detections are ranked again so the review shows what the catalogue now
//! says, not only for photos imported later. It is a job: progress as it
//! goes, batches committed one at a time, cancel keeps what was done.
//!
//! Each detection is searched within its species scope
//! ([`Scope::for_detection`]): a detection whose survey species is known is
//! matched against that species (and individuals of unknown species); one of
//! unknown species against everything. The threshold is the one in force
//! ([`super::field::threshold_in_use`]), the species' own when calibration
//! gave it one.

use serde::Serialize;

use super::field::{threshold_in_use, ThresholdInUse};
use super::identify::catalogue_pack;
use super::{suggest, Gallery, MatchSettings, Prediction};
use crate::cancel::CancelToken;
use crate::catalogue::records::blob_to_vector;
use crate::catalogue::{Catalogue, Scope};
use crate::error::{Error, Result};
use crate::index::IndexConfig;

/// Detections ranked per committed batch.
const BATCH: usize = 256;

/// What [`rerank_waiting`] did.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Reranked {
    /// Waiting detections ranked again.
    pub detections: usize,
    /// Of those, how many now have `new_individual` first.
    pub new_first: usize,
    pub threshold: f32,
}

/// The rows [`crate::catalogue::Tx::set_suggestions`] stores for a ranked list.
pub fn suggestion_rows(predictions: &[Prediction<i64>]) -> Vec<(Option<i64>, Option<f32>)> {
    predictions
        .iter()
        .map(|p| match p {
            Prediction::Individual { key, score } => (Some(*key), Some(*score)),
            Prediction::NewIndividual => (None, None),
        })
        .collect()
}

impl ThresholdInUse {
    /// The threshold for a detection of `species`: the species' own when
    /// the saved calibration gave it one, else the overall value.
    pub fn for_species(&self, species: Option<&str>) -> f32 {
        let own = match (species, &self.calibration) {
            (Some(s), Some(c)) => c.per_species.iter().find(|(name, _)| name == s),
            _ => None,
        };
        own.map_or(self.value, |(_, t)| *t)
    }
}

/// Rank again every detection waiting for review with the catalogue's
/// gallery, pack version and threshold in force (`pack_default` when the
/// catalogue saved none). `progress(done, total)` is called after each
/// committed batch.
pub fn rerank_waiting(
    cat: &mut Catalogue,
    pack_default: f32,
    cancel: &CancelToken,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Reranked> {
    let (gallery, _) = Gallery::from_catalogue(cat, IndexConfig::new(0))?;
    rerank_with(cat, &gallery, pack_default, cancel, progress)
}

/// [`rerank_waiting`] with a gallery already built (after a version switch
/// the caller has one).
pub fn rerank_with(
    cat: &mut Catalogue,
    gallery: &Gallery,
    pack_default: f32,
    cancel: &CancelToken,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Reranked> {
    let pack = catalogue_pack(cat)?;
    let threshold = threshold_in_use(cat, pack_default)?;
    let waiting = waiting_embeddings(cat, &pack)?;
    let total = waiting.len();
    let mut out = Reranked {
        detections: 0,
        new_first: 0,
        threshold: threshold.value,
    };
    progress(0, total);
    for chunk in waiting.chunks(BATCH) {
        if cancel.is_cancelled() {
            return Err(Error::Cancelled);
        }
        let mut ranked = Vec::with_capacity(chunk.len());
        for (detection, species, vector) in chunk {
            let settings = MatchSettings::new(threshold.for_species(species.as_deref()));
            let scope = Scope::for_detection(species.as_deref());
            let predictions = if gallery.is_empty() {
                vec![Prediction::NewIndividual]
            } else {
                suggest(gallery, vector, &scope, &settings, None)?
            };
            out.new_first +=
                matches!(predictions.first(), Some(Prediction::NewIndividual)) as usize;
            ranked.push((*detection, suggestion_rows(&predictions)));
        }
        cat.with_tx(|tx| {
            for (detection, rows) in &ranked {
                tx.set_suggestions(*detection, (&pack.0, &pack.1), rows)?;
            }
            Ok(())
        })?;
        out.detections += chunk.len();
        progress(out.detections, total);
    }
    Ok(out)
}

/// A waiting detection: `(detection, survey species, embedding)`.
type Waiting = (i64, Option<String>, Vec<f32>);

/// Every detection waiting for review that has an embedding of `pack`.
fn waiting_embeddings(cat: &Catalogue, pack: &(String, String)) -> Result<Vec<Waiting>> {
    let queued: std::collections::HashSet<i64> = cat.queued_detections()?.into_iter().collect();
    let mut stmt = cat.conn().prepare(
        "SELECT d.id, d.species, e.vector FROM embeddings e
         JOIN detections d ON d.id = e.detection_id
         WHERE e.pack_name = ?1 AND e.pack_version = ?2 AND d.removed_at IS NULL ORDER BY d.id",
    )?;
    let rows = stmt.query_map([&pack.0, &pack.1], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, Option<String>>(1)?,
            r.get::<_, Vec<u8>>(2)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (detection, species, blob) = row?;
        if queued.contains(&detection) {
            out.push((detection, species, blob_to_vector(&blob)));
        }
    }
    Ok(out)
}
