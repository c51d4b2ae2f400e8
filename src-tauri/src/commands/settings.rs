//! Search and inference settings, and model packs.

use std::path::PathBuf;

use tauri::State;
use whaleid::catalogue::keys;
use whaleid::packs::Pack;

use crate::dto::{PackInfo, ProviderInfo, Settings};
use crate::error::{AppError, AppResult};
use crate::open;
use crate::state::AppState;

#[tauri::command]
pub async fn settings_get(state: State<'_, AppState>) -> AppResult<Settings> {
    settings(&state)
}

/// Change the inference threads (kept for the app) and the new-individual
/// threshold (kept in the catalogue, where `whaleid catalogue config
/// --threshold` puts it). `null` leaves a value as it is.
#[tauri::command]
pub async fn settings_set(
    state: State<'_, AppState>,
    threads: Option<usize>,
    threshold: Option<f32>,
) -> AppResult<Settings> {
    if let Some(t) = threshold {
        if !(-1.0..=1.0).contains(&t) {
            return Err(AppError::invalid(format!(
                "threshold {t} is not a cosine similarity in [-1, 1]"
            )));
        }
        state.with_catalogue(|open| {
            Ok(open
                .catalogue
                .set_setting(keys::THRESHOLD, &t.to_string())?)
        })?;
    }
    if let Some(n) = threads {
        state.update_prefs(|p| p.threads = n)?;
    }
    settings(&state)
}

/// Validate the pack in `path` and bind it to the open catalogue (refused
/// when the catalogue already holds another pack's embeddings).
#[tauri::command]
pub async fn pack_import(state: State<'_, AppState>, path: PathBuf) -> AppResult<PackInfo> {
    let pack = Pack::load(&path)?;
    state.with_catalogue(|open| {
        open::bind(&mut open.catalogue, &pack, &path)?;
        let threshold = open::threshold(&open.catalogue, Some(&pack))?
            .unwrap_or(pack.manifest.matching.new_individual_threshold);
        let info = open::pack_info(&pack, threshold);
        open.pack = Some(pack);
        Ok(info)
    })
}

fn settings(state: &AppState) -> AppResult<Settings> {
    let providers = ProviderInfo {
        // Without an ONNX Runtime library nothing is available; ingest says why.
        available: whaleid::runtime::init()
            .map(|rt| rt.providers_compiled.clone())
            .unwrap_or_default(),
        used: state.providers_used(),
    };
    let threads = state.prefs().threads;
    let guard = state.catalogue();
    let (catalogue_path, pack, threshold) = match guard.as_ref() {
        Some(open) => {
            let threshold = open::threshold(&open.catalogue, open.pack.as_ref())?;
            let pack = open.pack.as_ref().map(|p| {
                open::pack_info(
                    p,
                    threshold.unwrap_or(p.manifest.matching.new_individual_threshold),
                )
            });
            let path = Some(open.path.to_string_lossy().into_owned());
            (path, pack, threshold)
        }
        None => (None, None, None),
    };
    let threshold = match threshold {
        Some(t) => t,
        // No catalogue, or one whose pack is missing: the generic pack's default.
        None => {
            Pack::load(open::generic_pack_dir())?
                .manifest
                .matching
                .new_individual_threshold
        }
    };
    Ok(Settings {
        catalogue_path,
        pack,
        providers,
        threads,
        threshold,
    })
}
