//! The review queue and a person's decisions on it. The engine records each
//! decision with its provenance ([`whaleid::catalogue::review`]); these
//! commands only translate to and from the UI's types.

use tauri::{AppHandle, Runtime, State};
use whaleid::catalogue::review::{self as engine, QueueItem, ReviewSuggestion};

use super::attributes::grades_of;
use crate::dto::{
    Grades, ReviewAction, ReviewItem, ReviewOutcome, ReviewQueue, Suggestion, Undone,
};
use crate::error::AppResult;
use crate::jobs;
use crate::state::{AppState, OpenCatalogue};

/// Who decides: the observer name (see `AppState::observer`).
fn reviewer(state: &AppState, open: &OpenCatalogue) -> AppResult<Option<String>> {
    state.observer(&open.catalogue)
}

/// The queue ranks each detection's suggestions and draws their strips:
/// seconds on a big catalogue, so off the async runtime.
#[tauri::command]
pub async fn review_queue<R: Runtime>(
    app: AppHandle<R>,
    limit: Option<usize>,
) -> AppResult<ReviewQueue> {
    jobs::blocking(app, move |state| {
        state.with_catalogue(|open| {
            let in_use =
                whaleid::matching::field::threshold_with(&open.catalogue, open.pack.as_ref())?;
            let cat = &open.catalogue;
            Ok(ReviewQueue {
                items: cat
                    .review_queue(limit)?
                    .into_iter()
                    .map(|i| {
                        let threshold =
                            in_use.as_ref().map(|t| t.for_species(i.species.as_deref()));
                        let grades = grades_of(cat, i.detection_id)?;
                        Ok(item(i, threshold, grades))
                    })
                    .collect::<AppResult<_>>()?,
                total: cat.to_review()?,
            })
        })
    })
    .await
}

#[tauri::command]
pub async fn review_accept(
    state: State<'_, AppState>,
    detection_id: i64,
    individual_id: i64,
    score: Option<f32>,
    rank: Option<u32>,
) -> AppResult<ReviewOutcome> {
    state.with_catalogue(|open| {
        let by = reviewer(&state, open)?;
        let out = open.catalogue.review_accept(
            detection_id,
            individual_id,
            score,
            rank,
            by.as_deref(),
        )?;
        Ok(outcome(out))
    })
}

#[tauri::command]
pub async fn review_new_individual(
    state: State<'_, AppState>,
    detection_id: i64,
    code: String,
    species: Option<String>,
) -> AppResult<ReviewOutcome> {
    state.with_catalogue(|open| {
        let by = reviewer(&state, open)?;
        let out = open.catalogue.review_new_individual(
            detection_id,
            &code,
            species.as_deref(),
            by.as_deref(),
        )?;
        Ok(outcome(out))
    })
}

#[tauri::command]
pub async fn review_unidentifiable(
    state: State<'_, AppState>,
    detection_id: i64,
) -> AppResult<ReviewOutcome> {
    state.with_catalogue(|open| {
        let by = reviewer(&state, open)?;
        Ok(outcome(
            open.catalogue
                .review_unidentifiable(detection_id, by.as_deref())?,
        ))
    })
}

#[tauri::command]
pub async fn review_same_as(
    state: State<'_, AppState>,
    detection_id: i64,
    individual_id: i64,
) -> AppResult<ReviewOutcome> {
    state.with_catalogue(|open| {
        let by = reviewer(&state, open)?;
        Ok(outcome(open.catalogue.review_same_as(
            detection_id,
            individual_id,
            by.as_deref(),
        )?))
    })
}

#[tauri::command]
pub async fn review_undo(state: State<'_, AppState>) -> AppResult<Option<Undone>> {
    state.with_catalogue(|open| {
        let by = reviewer(&state, open)?;
        Ok(open.catalogue.review_undo(by.as_deref())?.map(|u| Undone {
            detection_id: u.detection_id,
            action: action(u.action),
            to_review: u.to_review,
        }))
    })
}

fn action(a: engine::ReviewAction) -> ReviewAction {
    match a {
        // "Same as previous" is an acceptance of an individual.
        engine::ReviewAction::Accept | engine::ReviewAction::SameAs => ReviewAction::Accept,
        engine::ReviewAction::NewIndividual => ReviewAction::NewIndividual,
        engine::ReviewAction::Unidentifiable => ReviewAction::Unidentifiable,
    }
}

pub(super) fn outcome(o: engine::ReviewOutcome) -> ReviewOutcome {
    ReviewOutcome {
        detection_id: o.detection_id,
        action: action(o.action),
        individual_id: o.individual.as_ref().map(|i| i.id),
        code: o.individual.map(|i| i.code),
        to_review: o.to_review,
    }
}

fn path(p: std::path::PathBuf) -> String {
    p.to_string_lossy().into_owned()
}

/// "2026-06-30 14:05 · 12 photos", or "no date" for undated photos.
fn encounter_label(i: &QueueItem) -> String {
    let when = i
        .encounter_started_at
        .as_deref()
        .map(|t| t.get(..16).unwrap_or(t).replace('T', " "))
        .unwrap_or_else(|| "no date".to_string());
    match i.encounter_photos {
        0 => when,
        1 => format!("{when} · 1 photo"),
        n => format!("{when} · {n} photos"),
    }
}

pub(super) fn item(i: QueueItem, threshold: Option<f32>, grades: Grades) -> ReviewItem {
    ReviewItem {
        grades,
        threshold,
        encounter_label: encounter_label(&i),
        detection_id: i.detection_id,
        photo_id: i.photo_id,
        encounter_id: i.encounter_id,
        photo_path: path(i.photo_path),
        thumb_path: i.thumb.map(path),
        crop_path: i.crop.map(path),
        photo_width: i.width,
        photo_height: i.height,
        bbox: i.bbox,
        taken_at: i.taken_at,
        latitude: i.latitude,
        longitude: i.longitude,
        species: i.species,
        suggested_species: i.suggested_species,
        suggestions: i.suggestions.into_iter().map(suggestion).collect(),
    }
}

pub(crate) fn suggestion(s: ReviewSuggestion) -> Suggestion {
    let individual = s.individual;
    Suggestion {
        rank: s.rank,
        individual_id: individual.as_ref().map(|i| i.id),
        code: individual.as_ref().map(|i| i.code.clone()),
        name: individual.as_ref().and_then(|i| i.name.clone()),
        species: individual.and_then(|i| i.species),
        score: s.score,
        best_crop: s.best_crop.map(path),
        strip: s.strip.into_iter().map(path).collect(),
    }
}
