//! Boxes drawn by hand on a photo in Review: list, add, move or resize,
//! remove, undo. The engine ([`whaleid::ingest::boxes`]) crops, embeds and
//! ranks each new box at once and records who drew it; these commands hand
//! it the catalogue's pack with an embedder kept warm between boxes (opening
//! the models takes seconds; one box then takes a fraction of one).

use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Runtime, State};
use ts_rs::TS;
use whaleid::embed::Embedder;
use whaleid::ingest::boxes::{self as engine, BoxModels};
use whaleid::packs::Pack;
use whaleid::runtime::SessionConfig;
use whaleid::CancelToken;

use crate::error::{AppError, AppResult};
use crate::jobs;
use crate::state::{AppState, OpenCatalogue};

/// A live box of a photo, as the photo in Review draws it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct PhotoBoxRow {
    #[ts(type = "number")]
    pub detection_id: i64,
    /// x1, y1, x2, y2 in photo pixels.
    #[serde(rename = "box")]
    #[ts(rename = "box")]
    pub bbox: [f32; 4],
    /// `fin`, `fullbody`… (detector), `box` (drawn or given), `whole`.
    pub class: String,
    /// Who drew it; `null` for the detector's and imports' boxes.
    pub drawn_by: Option<String>,
    pub created_at: String,
    /// The individual it is confirmed as, by code.
    pub individual: Option<String>,
}

/// What a box action did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct BoxChanged {
    /// `add`, `set` or `remove` (for an undo, the action taken back).
    pub action: String,
    pub undone: bool,
    #[ts(type = "number")]
    pub photo_id: i64,
    /// The box added, the replacement a move made, or the one removed.
    #[ts(type = "number")]
    pub detection_id: i64,
    /// Boxes that became live.
    #[ts(type = "number[]")]
    pub live: Vec<i64>,
    #[ts(type = "number[]")]
    pub removed: Vec<i64>,
    pub to_review: usize,
}

impl From<engine::BoxChange> for BoxChanged {
    fn from(c: engine::BoxChange) -> Self {
        Self {
            action: c.action,
            undone: c.undone,
            photo_id: c.photo_id,
            detection_id: c.detection_id,
            live: c.live,
            removed: c.removed,
            to_review: c.to_review,
        }
    }
}

/// The embedder of the last pack a box was drawn with: `(pack folder,
/// version, threads)` and the open models.
type Warm = Option<((String, String, usize), Arc<Embedder>)>;
static EMBEDDER: Mutex<Warm> = Mutex::new(None);

fn embedder(pack: &Pack, threads: usize) -> AppResult<Arc<Embedder>> {
    let key = (
        pack.root.to_string_lossy().into_owned(),
        pack.version().to_string(),
        threads,
    );
    let mut warm = EMBEDDER.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((k, e)) = warm.as_ref() {
        if *k == key {
            return Ok(e.clone());
        }
    }
    let config = SessionConfig {
        intra_threads: threads,
        ..Default::default()
    };
    let e = Arc::new(Embedder::open(pack, &config)?);
    *warm = Some((key, e.clone()));
    Ok(e)
}

/// Who draws: the observer name; a box must name someone.
fn drawer(state: &AppState, open: &OpenCatalogue) -> AppResult<String> {
    state.observer(&open.catalogue)?.ok_or_else(|| {
        AppError::invalid("who is drawing? Set your observer name in Settings first")
    })
}

/// Run a box change that crops, embeds and ranks: the catalogue, the
/// catalogue's pack with its warm embedder, who draws, and a cancel token.
fn with_models(
    state: &AppState,
    change: impl FnOnce(
        &mut whaleid::catalogue::Catalogue,
        BoxModels<'_>,
        &str,
        &CancelToken,
    ) -> whaleid::Result<engine::BoxChange>,
) -> AppResult<BoxChanged> {
    let threads = state.prefs().threads;
    state.with_catalogue(|open| {
        let by = drawer(state, open)?;
        let pack = open.pack.clone().ok_or_else(|| {
            AppError::not_found(
                "the catalogue's model pack is not on this machine: import it in Settings to draw boxes",
            )
        })?;
        let embedder = embedder(&pack, threads)?;
        let models = BoxModels {
            pack: &pack,
            embedder: &embedder,
        };
        Ok(change(&mut open.catalogue, models, &by, &CancelToken::new())?.into())
    })
}

#[tauri::command]
pub async fn box_list(state: State<'_, AppState>, photo_id: i64) -> AppResult<Vec<PhotoBoxRow>> {
    state.with_catalogue(|open| {
        Ok(engine::boxes_of(&open.catalogue, photo_id)?
            .into_iter()
            .map(|b| PhotoBoxRow {
                detection_id: b.id,
                bbox: b.bbox,
                class: b.class,
                drawn_by: b.drawn_by,
                created_at: b.created_at,
                individual: b.individual,
            })
            .collect())
    })
}

/// A new box on photo `photo_id`: another animal, or the first box on a
/// whole-frame photo's frame (then use `box_set` on the frame).
///
/// Cropping and embedding (and, the first time, opening the models) takes
/// from a fraction of a second to seconds: off the async runtime.
#[tauri::command]
pub async fn box_add<R: Runtime>(
    app: AppHandle<R>,
    photo_id: i64,
    bbox: [f32; 4],
) -> AppResult<BoxChanged> {
    jobs::blocking(app, move |state| {
        with_models(state, |cat, models, by, cancel| {
            engine::add_box(cat, models, photo_id, bbox, by, cancel)
        })
    })
    .await
}

/// Box `detection_id` moved or resized to `bbox` (a new detection replaces it).
#[tauri::command]
pub async fn box_set<R: Runtime>(
    app: AppHandle<R>,
    detection_id: i64,
    bbox: [f32; 4],
) -> AppResult<BoxChanged> {
    jobs::blocking(app, move |state| {
        with_models(state, |cat, models, by, cancel| {
            engine::set_box(cat, models, detection_id, bbox, by, cancel)
        })
    })
    .await
}

#[tauri::command]
pub async fn box_remove(state: State<'_, AppState>, detection_id: i64) -> AppResult<BoxChanged> {
    state.with_catalogue(|open| {
        let by = drawer(&state, open)?;
        Ok(engine::remove_box(&mut open.catalogue, detection_id, &by)?.into())
    })
}

#[tauri::command]
pub async fn box_undo(state: State<'_, AppState>) -> AppResult<Option<BoxChanged>> {
    state.with_catalogue(|open| {
        let by = drawer(&state, open)?;
        Ok(engine::undo_box(&mut open.catalogue, &by)?.map(Into::into))
    })
}
