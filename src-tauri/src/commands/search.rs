//! "Assign to any individual": the review's search over the whole catalogue
//! ([`whaleid::catalogue::search`]), ranked by similarity to the detection
//! under review.

use tauri::{AppHandle, Runtime};
use whaleid::catalogue::search::IndividualMatch;

use crate::dto::IndividualHit;
use crate::error::AppResult;
use crate::jobs;

/// Hits shown when the UI does not say how many.
const DEFAULT_LIMIT: usize = 20;

/// Ranks every individual by similarity to the detection: off the async
/// runtime.
#[tauri::command]
pub async fn review_search<R: Runtime>(
    app: AppHandle<R>,
    detection_id: Option<i64>,
    query: String,
    limit: Option<usize>,
) -> AppResult<Vec<IndividualHit>> {
    jobs::blocking(app, move |state| {
        state.with_catalogue(|open| {
            let found = open.catalogue.search_individuals(
                &query,
                detection_id,
                limit.unwrap_or(DEFAULT_LIMIT),
            )?;
            Ok(found.into_iter().map(hit).collect())
        })
    })
    .await
}

fn hit(m: IndividualMatch) -> IndividualHit {
    IndividualHit {
        individual_id: m.individual.id,
        code: m.individual.code,
        name: m.individual.name,
        species: m.individual.species,
        sightings: m.sightings,
        best_crop: m.best_crop.map(|p| p.to_string_lossy().into_owned()),
        similarity: m.similarity,
    }
}
