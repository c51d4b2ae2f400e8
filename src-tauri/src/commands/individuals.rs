//! The catalogue by individual: the grid, an individual's page, and the
//! merge, split, rename and undo a researcher does on them (each recorded
//! by the engine as an event that can be undone).

use tauri::State;
use whaleid::catalogue::browse::{self, IndividualFilter as EngineFilter};
use whaleid::catalogue::review::Sighting as EngineSighting;
use whaleid::catalogue::{individuals, Catalogue, Event};

use super::attributes::grades_of;
use super::export::{grade, grades};
use crate::dto::{
    Grades, IndividualDetail, IndividualEvent, IndividualFilter, IndividualSummary, MergeDirection,
    Sighting,
};
use crate::error::AppResult;
use crate::state::{AppState, OpenCatalogue};

/// Who makes the edit: the observer name (see `AppState::observer`).
fn actor(state: &AppState, open: &OpenCatalogue) -> AppResult<Option<String>> {
    state.observer(&open.catalogue)
}

fn key(id: i64) -> String {
    format!("#{id}")
}

#[tauri::command]
pub async fn individuals_list(
    state: State<'_, AppState>,
    filter: IndividualFilter,
) -> AppResult<Vec<IndividualSummary>> {
    let filter = EngineFilter {
        search: filter.search,
        species: filter.species,
        date_from: filter.date_from,
        date_to: filter.date_to,
        has_new_sightings: filter.has_new_sightings,
        min_quality: grade(filter.min_quality.as_deref())?,
        distinctiveness: grades(filter.distinctiveness.as_deref().unwrap_or_default())?,
        side: grade(filter.side.as_deref())?,
        part: grade(filter.part.as_deref())?,
    };
    state.with_catalogue(|open| {
        let list = open.catalogue.list_individuals(&filter)?;
        Ok(list.into_iter().map(summary).collect())
    })
}

#[tauri::command]
pub async fn individual_get(state: State<'_, AppState>, id: i64) -> AppResult<IndividualDetail> {
    state.with_catalogue(|open| detail(&open.catalogue, id))
}

#[tauri::command]
pub async fn individual_merge(
    state: State<'_, AppState>,
    from_id: i64,
    into_id: i64,
) -> AppResult<IndividualDetail> {
    state.with_catalogue(|open| {
        let by = actor(&state, open)?;
        open.catalogue
            .merge(&key(from_id), &key(into_id), by.as_deref())?;
        detail(&open.catalogue, into_id)
    })
}

/// The default direction to merge two individuals (the one with more
/// sightings, or the older one, is kept), whichever page the merge starts on.
#[tauri::command]
pub async fn individual_merge_direction(
    state: State<'_, AppState>,
    a_id: i64,
    b_id: i64,
) -> AppResult<MergeDirection> {
    state.with_catalogue(|open| {
        let (from_id, into_id) = open.catalogue.merge_direction(a_id, b_id)?;
        Ok(MergeDirection { from_id, into_id })
    })
}

#[tauri::command]
pub async fn individual_rename(
    state: State<'_, AppState>,
    id: i64,
    code: String,
) -> AppResult<IndividualDetail> {
    state.with_catalogue(|open| {
        let by = actor(&state, open)?;
        open.catalogue
            .rename(&key(id), code.trim(), by.as_deref())?;
        detail(&open.catalogue, id)
    })
}

#[tauri::command]
pub async fn individual_split(
    state: State<'_, AppState>,
    id: i64,
    detection_ids: Vec<i64>,
    new_code: String,
) -> AppResult<IndividualDetail> {
    state.with_catalogue(|open| {
        let by = actor(&state, open)?;
        let (new, _) =
            open.catalogue
                .split(&key(id), &detection_ids, new_code.trim(), by.as_deref())?;
        detail(&open.catalogue, new.id)
    })
}

#[tauri::command]
pub async fn individual_undo(
    state: State<'_, AppState>,
    event_id: i64,
) -> AppResult<IndividualDetail> {
    state.with_catalogue(|open| {
        let by = actor(&state, open)?;
        let event = open.catalogue.undo(event_id, by.as_deref())?;
        detail(&open.catalogue, event.individual_id)
    })
}

fn detail(cat: &Catalogue, id: i64) -> AppResult<IndividualDetail> {
    let d = cat.individual_detail(&key(id))?;
    Ok(IndividualDetail {
        summary: summary(d.summary),
        sightings: d
            .sightings
            .into_iter()
            .map(|s| {
                let grades = grades_of(cat, s.detection_id)?;
                Ok(sighting(s, grades))
            })
            .collect::<AppResult<_>>()?,
        events: d
            .events
            .into_iter()
            .map(|e| event(cat, e))
            .collect::<AppResult<_>>()?,
    })
}

fn text(p: std::path::PathBuf) -> String {
    p.to_string_lossy().into_owned()
}

fn summary(s: browse::IndividualSummary) -> IndividualSummary {
    IndividualSummary {
        id: s.individual.id,
        code: s.individual.code,
        name: s.individual.name,
        species: s.individual.species,
        sightings: s.sightings,
        first_seen: s.first_seen,
        last_seen: s.last_seen,
        representative_crop: s.representative_crop.map(text),
        new_sightings: s.new_sightings,
    }
}

fn sighting(s: EngineSighting, grades: Grades) -> Sighting {
    Sighting {
        grades,
        detection_id: s.detection_id,
        photo_id: s.photo_id,
        crop_path: s.crop.map(text),
        photo_path: text(s.photo_path),
        taken_at: s.taken_at,
        latitude: s.latitude,
        longitude: s.longitude,
        encounter_id: s.encounter_id,
        source: s.source,
        decided_by: s.decided_by,
        decided_by_account: s.decided_by_account,
        score: s.score.map(|v| v as f32),
    }
}

/// A line a person can read, naming individuals by code ("B12 merged
/// into A3", "renamed A to B"...), never by internal number.
fn event(cat: &Catalogue, e: Event) -> AppResult<IndividualEvent> {
    let code = |id: i64| -> AppResult<String> { Ok(cat.individual_by_id(id)?.code) };
    let this = code(e.individual_id)?;
    let other = match e.other_id {
        Some(o) => code(o)?,
        None => String::new(),
    };
    let payload: serde_json::Value = serde_json::from_str(&e.payload).unwrap_or_default();
    let undoable = individuals::undo_of(&e).is_none() && e.undone_at.is_none();
    let summary = match e.kind.as_str() {
        "merge" => format!("{this} merged into {other}"),
        "unmerge" => format!("merge of {this} into {other} undone"),
        "rename" => format!(
            "renamed {} to {}{}",
            payload["old"].as_str().unwrap_or("?"),
            payload["new"].as_str().unwrap_or("?"),
            if payload["undo_of"].is_i64() {
                " (rename undone)"
            } else {
                ""
            }
        ),
        "split" => format!(
            "split: {} sighting(s) moved from {this} to {other}",
            payload["moved"].as_array().map_or(0, |m| m.len())
        ),
        "unsplit" => format!("split of {this} into {other} undone"),
        other_kind => other_kind.to_string(),
    };
    Ok(IndividualEvent {
        id: e.id,
        kind: e.kind,
        other_id: e.other_id,
        created_at: e.created_at,
        undone: e.undone_at.is_some(),
        undoable,
        by: e.actor,
        by_account: e.actor_account,
        summary,
    })
}
