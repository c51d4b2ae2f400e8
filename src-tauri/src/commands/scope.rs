//! The Review's scope bar: one detection's suggestions ranked again within
//! a scope of photo-ID grades ("same side only", "quality >= Q2"). The
//! engine searches ([`whaleid::matching::scope`]); this adapter shows the
//! result as the review item's own suggestions are shown. Nothing is
//! stored: the queue keeps its stored suggestions.

use tauri::{AppHandle, Runtime};
use whaleid::catalogue::attributes::Quality;
use whaleid::index::IndexConfig;
use whaleid::matching::field::threshold_with;
use whaleid::matching::rerank::suggestion_rows;
use whaleid::matching::scope::{self, GradeScope, SideScope};
use whaleid::matching::Gallery;
use whaleid::Error;

use super::review::suggestion;
use crate::dto::{MatchScope, ScopedSuggestions};
use crate::error::AppResult;
use crate::jobs;

/// Searching builds the gallery's index: off the async runtime.
#[tauri::command]
pub async fn scoped_suggestions<R: Runtime>(
    app: AppHandle<R>,
    detection_id: i64,
    scope: MatchScope,
) -> AppResult<ScopedSuggestions> {
    jobs::blocking(app, move |state| {
        state.with_catalogue(|open| {
            let grades = GradeScope {
                side: if scope.same_side {
                    SideScope::Same
                } else {
                    SideScope::Any
                },
                min_quality: scope
                    .min_quality
                    .as_deref()
                    .map(str::parse::<Quality>)
                    .transpose()?,
                parts: Vec::new(),
            };
            let cat = &open.catalogue;
            let threshold = threshold_with(cat, open.pack.as_ref())?.ok_or_else(|| {
                Error::Invalid(
                    "no new-individual threshold: the catalogue's pack is not installed".into(),
                )
            })?;
            let (gallery, _) = Gallery::from_catalogue(cat, IndexConfig::new(0))?;
            let out = scope::scoped_suggestions(cat, &gallery, detection_id, &grades, &threshold)?;
            let shown =
                cat.review_suggestions_ranked(detection_id, &suggestion_rows(&out.predictions))?;
            Ok(ScopedSuggestions {
                detection_id,
                suggestions: shown.into_iter().map(suggestion).collect(),
                label: out.scope.to_string(),
                left_out: out.left_out,
            })
        })
    })
    .await
}
