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
    /// For a box received through sync, the server account that pushed it
    /// (`drawn_by` is the name its laptop gave). Absent for one made here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub drawn_by_account: Option<String>,
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

/// The open models kept for the last key they were opened for: opening
/// again only when the key changes. One lives in [`AppState`], so it lives
/// and dies with the app's state.
#[derive(Debug)]
pub struct Warm<K, V>(Mutex<Option<(K, Arc<V>)>>);

impl<K, V> Default for Warm<K, V> {
    fn default() -> Self {
        Self(Mutex::new(None))
    }
}

impl<K: PartialEq, V> Warm<K, V> {
    /// The value kept for `key`, else a new one from `open`, which is then
    /// kept instead of the old (kept as it was when `open` fails).
    fn get_or_open<E>(&self, key: K, open: impl FnOnce() -> Result<V, E>) -> Result<Arc<V>, E> {
        let mut warm = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((k, v)) = warm.as_ref() {
            if *k == key {
                return Ok(v.clone());
            }
        }
        let v = Arc::new(open()?);
        *warm = Some((key, v.clone()));
        Ok(v)
    }
}

/// The embedder of the last pack a box was drawn with, by `(pack folder,
/// version, threads)`.
pub type WarmEmbedder = Warm<(String, String, usize), Embedder>;

fn embedder(state: &AppState, pack: &Pack, threads: usize) -> AppResult<Arc<Embedder>> {
    let key = (
        pack.root.to_string_lossy().into_owned(),
        pack.version().to_string(),
        threads,
    );
    state.box_embedder().get_or_open(key, || {
        let config = SessionConfig {
            intra_threads: threads,
            ..Default::default()
        };
        Embedder::open(pack, &config).map_err(AppError::from)
    })
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
        let embedder = embedder(state, &pack, threads)?;
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
                drawn_by_account: b.drawn_by_account,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_warm_value_is_reused_while_the_key_stays_and_replaced_when_it_changes() {
        let warm: Warm<(&str, usize), String> = Warm::default();
        let opened = std::cell::Cell::new(0);
        let open = |what: &str| {
            opened.set(opened.get() + 1);
            Ok::<_, AppError>(what.to_string())
        };
        let a = warm.get_or_open(("pack-a", 2), || open("a")).unwrap();
        let again = warm.get_or_open(("pack-a", 2), || open("a2")).unwrap();
        assert!(Arc::ptr_eq(&a, &again));
        assert_eq!(opened.get(), 1);
        // Another thread count is another key.
        let b = warm.get_or_open(("pack-a", 4), || open("b")).unwrap();
        assert_eq!((b.as_str(), opened.get()), ("b", 2));
        // A failed open keeps what was warm.
        let err = warm
            .get_or_open(("pack-c", 4), || Err(AppError::invalid("no models")))
            .unwrap_err();
        assert!(err.message.contains("no models"), "{}", err.message);
        let still = warm.get_or_open(("pack-a", 4), || open("b2")).unwrap();
        assert!(Arc::ptr_eq(&b, &still));
        assert_eq!(opened.get(), 2);
    }
}
