//! Exports: identifications as CSV and the Kaggle submission format, written
//! by the engine (atomically: a failed export leaves no half file).

use std::path::PathBuf;

use tauri::State;

use crate::dto::ExportResult;
use crate::error::AppResult;
use crate::state::AppState;

#[tauri::command]
pub async fn export_csv(state: State<'_, AppState>, path: PathBuf) -> AppResult<ExportResult> {
    state.with_catalogue(|open| {
        let rows = open.catalogue.export_csv(&path)?;
        Ok(ExportResult {
            path: path.to_string_lossy().into_owned(),
            rows,
        })
    })
}

#[tauri::command]
pub async fn export_kaggle(state: State<'_, AppState>, path: PathBuf) -> AppResult<ExportResult> {
    state.with_catalogue(|open| {
        let rows = open.catalogue.export_kaggle(&path)?;
        Ok(ExportResult {
            path: path.to_string_lossy().into_owned(),
            rows,
        })
    })
}
