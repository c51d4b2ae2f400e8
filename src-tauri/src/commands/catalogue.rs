//! Opening, creating and describing the catalogue.

use std::path::{Path, PathBuf};

use tauri::{AppHandle, Manager, Runtime, State};

use crate::dto::CatalogueInfo;
use crate::error::AppResult;
use crate::open;
use crate::state::{AppState, OpenCatalogue};

/// The open catalogue, else the last one opened if it still opens.
#[tauri::command]
pub async fn catalogue_current<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
) -> AppResult<Option<CatalogueInfo>> {
    if let Some(open) = state.catalogue().as_ref() {
        return open::info(open).map(Some);
    }
    let Some(last) = state.prefs().last_catalogue else {
        return Ok(None);
    };
    // A catalogue on an unplugged disk is not an error at start-up: the
    // UI shows the start screen.
    match open::open(&last) {
        Ok(opened) => adopt(&app, &state, opened).map(Some),
        Err(_) => Ok(None),
    }
}

#[tauri::command]
pub async fn catalogue_open<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    path: PathBuf,
) -> AppResult<CatalogueInfo> {
    let opened = open::open(&path)?;
    adopt(&app, &state, opened)
}

/// Create a catalogue folder bound to the generic pack, and open it.
#[tauri::command]
pub async fn catalogue_create<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    path: PathBuf,
) -> AppResult<CatalogueInfo> {
    let created = open::create(&path)?;
    adopt(&app, &state, created)
}

/// Make `opened` the app's catalogue: let the webview load its crops and
/// thumbnails, remember it, and describe it.
fn adopt<R: Runtime>(
    app: &AppHandle<R>,
    state: &AppState,
    opened: OpenCatalogue,
) -> AppResult<CatalogueInfo> {
    allow_assets(app, &opened.path)?;
    let info = open::info(&opened)?;
    state.set_catalogue(opened)?;
    Ok(info)
}

/// Grant the asset protocol (`convertFileSrc`) a folder, recursively. The
/// static scope in `tauri.conf.json` is empty: only what the user opened is
/// readable by the webview.
pub fn allow_assets<R: Runtime>(app: &AppHandle<R>, dir: &Path) -> AppResult<()> {
    Ok(app.asset_protocol_scope().allow_directory(dir, true)?)
}
