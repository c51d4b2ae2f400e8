//! The catalogue by individual: the grid, an individual's page, and the
//! merge, split, rename and undo a researcher does on them (each recorded
//! by the engine as an event that can be undone).

use tauri::State;
use whaleid::catalogue::browse::{self, IndividualFilter as EngineFilter};
use whaleid::catalogue::review::Sighting as EngineSighting;
use whaleid::catalogue::{Catalogue, Event};

use crate::dto::{
    IndividualDetail, IndividualEvent, IndividualFilter, IndividualSummary, Sighting,
};
use crate::error::AppResult;
use crate::state::AppState;

fn actor() -> Option<String> {
    std::env::var("USER").ok().filter(|u| !u.is_empty())
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
        open.catalogue
            .merge(&key(from_id), &key(into_id), actor().as_deref())?;
        detail(&open.catalogue, into_id)
    })
}

#[tauri::command]
pub async fn individual_rename(
    state: State<'_, AppState>,
    id: i64,
    code: String,
) -> AppResult<IndividualDetail> {
    state.with_catalogue(|open| {
        open.catalogue
            .rename(&key(id), code.trim(), actor().as_deref())?;
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
        let (new, _) = open.catalogue.split(
            &key(id),
            &detection_ids,
            new_code.trim(),
            actor().as_deref(),
        )?;
        detail(&open.catalogue, new.id)
    })
}

#[tauri::command]
pub async fn individual_undo(
    state: State<'_, AppState>,
    event_id: i64,
) -> AppResult<IndividualDetail> {
    state.with_catalogue(|open| {
        let event = open.catalogue.undo(event_id, actor().as_deref())?;
        detail(&open.catalogue, event.individual_id)
    })
}

fn detail(cat: &Catalogue, id: i64) -> AppResult<IndividualDetail> {
    let d = cat.individual_detail(&key(id))?;
    Ok(IndividualDetail {
        summary: summary(d.summary),
        sightings: d.sightings.into_iter().map(sighting).collect(),
        events: d.events.into_iter().map(event).collect(),
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

fn sighting(s: EngineSighting) -> Sighting {
    Sighting {
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
        score: s.score.map(|v| v as f32),
    }
}

/// A line a person can read: "merged #12 into this", "renamed A to B"...
fn event(e: Event) -> IndividualEvent {
    let other = e.other_id.map(|o| format!("#{o}")).unwrap_or_default();
    let payload: serde_json::Value = serde_json::from_str(&e.payload).unwrap_or_default();
    let summary = match e.kind.as_str() {
        "merge" => format!("merged with {other}"),
        "unmerge" => format!("merge with {other} undone"),
        "rename" => format!(
            "renamed {} to {}",
            payload["old"].as_str().unwrap_or("?"),
            payload["new"].as_str().unwrap_or("?")
        ),
        "split" => format!(
            "split: {} sighting(s) moved to {other}",
            payload["moved"].as_array().map_or(0, |m| m.len())
        ),
        "unsplit" => format!("split with {other} undone"),
        other_kind => other_kind.to_string(),
    };
    IndividualEvent {
        id: e.id,
        kind: e.kind,
        other_id: e.other_id,
        created_at: e.created_at,
        undone: e.undone_at.is_some(),
        summary,
    }
}
