//! Photo-ID grades of a detection (quality, distinctiveness, side, body
//! part; [`whaleid::catalogue::attributes`]) as Review and the individual's
//! page show and set them. Setting one records the observer as who set it,
//! as a review decision does; the engine turns it into a synced operation.

use tauri::State;
use whaleid::catalogue::attributes::{Attribute, Attributes, Edit};
use whaleid::catalogue::Catalogue;

use crate::dto::{AttributeChange, Grades};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

/// Set or clear grades of one detection, all or none; returns its grades after.
#[tauri::command]
pub async fn set_attributes(
    state: State<'_, AppState>,
    detection_id: i64,
    changes: Vec<AttributeChange>,
) -> AppResult<Grades> {
    let edits = changes
        .iter()
        .map(|c| edit(detection_id, c))
        .collect::<AppResult<Vec<_>>>()?;
    state.with_catalogue(|open| {
        let by = state.observer(&open.catalogue)?.ok_or_else(|| {
            AppError::invalid("who is grading? Set your observer name in Settings first")
        })?;
        let after = open.catalogue.set_attributes(detection_id, &edits, &by)?;
        Ok(grades(&after))
    })
}

/// A detection's grades, as the review queue and the individual's page carry them.
pub fn grades_of(cat: &Catalogue, detection_id: i64) -> AppResult<Grades> {
    Ok(grades(&cat.attributes(detection_id)?))
}

fn grades(a: &Attributes) -> Grades {
    Grades {
        quality: a.quality.as_ref().map(|s| s.value.to_string()),
        distinctiveness: a.distinctiveness.as_ref().map(|s| s.value.to_string()),
        side: a.side.as_ref().map(|s| s.value.to_string()),
        part: a.part.as_ref().map(|s| s.value.to_string()),
    }
}

/// One change as the engine takes it; a bad name or value names the
/// detection and the values allowed.
fn edit(detection_id: i64, c: &AttributeChange) -> AppResult<Edit> {
    let bad = |e: whaleid::Error| AppError::invalid(format!("detection #{detection_id}: {e}"));
    let attribute: Attribute = c.attribute.parse().map_err(bad)?;
    let Some(v) = c.value.as_deref() else {
        return Ok(Edit::Clear(attribute));
    };
    Ok(match attribute {
        Attribute::Quality => Edit::Quality(v.parse().map_err(bad)?),
        Attribute::Distinctiveness => Edit::Distinctiveness(v.parse().map_err(bad)?),
        Attribute::Side => Edit::Side(v.parse().map_err(bad)?),
        Attribute::Part => Edit::Part(v.parse().map_err(bad)?),
    })
}
