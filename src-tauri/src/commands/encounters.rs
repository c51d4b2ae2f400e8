//! Encounters as records in the app: list, one encounter, edit its fields,
//! split and join ([`whaleid::catalogue::encounters`]). Edits, splits and
//! joins record the observer as who made them; the engine turns each into
//! synced operations.

use serde::{Deserialize, Serialize};
use tauri::State;
use ts_rs::TS;
use whaleid::catalogue::encounters::{EncounterRecord, Patch, SplitAt};

use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// An encounter as the editor shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct EncounterView {
    #[ts(type = "number")]
    pub id: i64,
    pub uuid: String,
    pub started_at: Option<String>,
    pub ended_at: Option<String>,
    pub place: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub observers: Vec<String>,
    pub vessel: Option<String>,
    pub group_best: Option<u32>,
    pub group_min: Option<u32>,
    pub group_max: Option<u32>,
    pub behaviour: Option<String>,
    pub notes: Option<String>,
    pub survey: Option<String>,
    /// The encounter this one was joined into.
    #[ts(type = "number | null")]
    pub joined_into: Option<i64>,
    /// Its photos, by number, in time order.
    #[ts(type = "number[]")]
    pub photo_ids: Vec<i64>,
    /// Who set each field and when (the fields an ingest filled name nobody).
    pub edits: Vec<EncounterFieldSet>,
}

/// Who set one field of an encounter, and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct EncounterFieldSet {
    /// As synced: `started_at`, `place`, `position`, `group`...
    pub field: String,
    pub by: Option<String>,
    pub at: String,
}

/// One field set (`value`) or cleared (`null` or blank): `start`, `end`,
/// `place`, `position` (`lat,lon`), `observers` (`Ana; Ben`), `vessel`,
/// `groupBest`, `groupMin`, `groupMax`, `behaviour`, `notes`, `survey`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct EncounterChange {
    pub field: String,
    pub value: Option<String>,
}

impl From<EncounterRecord> for EncounterView {
    fn from(r: EncounterRecord) -> Self {
        let e = r.encounter;
        Self {
            id: e.id,
            uuid: e.uuid,
            started_at: e.started_at,
            ended_at: e.ended_at,
            place: e.place,
            latitude: e.latitude,
            longitude: e.longitude,
            observers: e.observers,
            vessel: e.vessel,
            group_best: e.group.best,
            group_min: e.group.min,
            group_max: e.group.max,
            behaviour: e.behaviour,
            notes: e.notes,
            survey: e.survey,
            joined_into: e.joined_into,
            photo_ids: r.photo_ids,
            edits: r
                .edits
                .into_iter()
                .map(|x| EncounterFieldSet {
                    field: x.field.as_str().into(),
                    by: x.by,
                    at: x.at,
                })
                .collect(),
        }
    }
}

/// Who is editing: the observer, or a refusal saying where to set one.
fn editor(state: &AppState, cat: &whaleid::catalogue::Catalogue) -> AppResult<String> {
    state.observer(cat)?.ok_or_else(|| {
        AppError::invalid("who is editing? Set your observer name in Settings first")
    })
}

/// Encounters in time order; `from`/`to` (`YYYY-MM-DD`) keep those started within.
#[tauri::command]
pub async fn encounter_list(
    state: State<'_, AppState>,
    from: Option<String>,
    to: Option<String>,
) -> AppResult<Vec<EncounterView>> {
    state.with_catalogue(|open| {
        let cat = &open.catalogue;
        let listed = cat.encounters(from.as_deref(), to.as_deref())?;
        listed
            .iter()
            .map(|e| Ok(cat.encounter_record(e.id)?.into()))
            .collect()
    })
}

#[tauri::command]
pub async fn encounter_get(
    state: State<'_, AppState>,
    encounter_id: i64,
) -> AppResult<EncounterView> {
    state.with_catalogue(|open| Ok(open.catalogue.encounter_record(encounter_id)?.into()))
}

/// Set or clear fields, all or none; the encounter after.
#[tauri::command]
pub async fn encounter_edit(
    state: State<'_, AppState>,
    encounter_id: i64,
    changes: Vec<EncounterChange>,
) -> AppResult<EncounterView> {
    let mut patch = Patch::default();
    for c in &changes {
        patch.set(&c.field, c.value.as_deref())?;
    }
    state.with_catalogue(|open| {
        let by = editor(&state, &open.catalogue)?;
        Ok(open
            .catalogue
            .edit_encounter(encounter_id, &patch, &by)?
            .into())
    })
}

/// Photos taken at or after `at`, or the photos `photo_ids`, go to a new
/// encounter with a copy of the fields; the new encounter.
#[tauri::command]
pub async fn encounter_split(
    state: State<'_, AppState>,
    encounter_id: i64,
    at: Option<String>,
    photo_ids: Option<Vec<i64>>,
) -> AppResult<EncounterView> {
    let how = match (at, photo_ids) {
        (Some(t), None) => SplitAt::Time(t),
        (None, Some(ids)) => SplitAt::Photos(ids),
        _ => {
            return Err(AppError::invalid(
                "split at a time or by photos, one of the two",
            ))
        }
    };
    state.with_catalogue(|open| {
        let by = editor(&state, &open.catalogue)?;
        Ok(open
            .catalogue
            .split_encounter(encounter_id, &how, &by)?
            .into())
    })
}

/// Join `others` into `keep`; the kept encounter after.
#[tauri::command]
pub async fn encounter_join(
    state: State<'_, AppState>,
    keep: i64,
    others: Vec<i64>,
) -> AppResult<EncounterView> {
    state.with_catalogue(|open| {
        let by = editor(&state, &open.catalogue)?;
        Ok(open.catalogue.join_encounters(keep, &others, &by)?.into())
    })
}
