//! Search and inference settings, and model packs.

use std::path::PathBuf;

use tauri::State;
use whaleid::catalogue::observer;
use whaleid::matching::field;
use whaleid::matching::rerank::rerank_waiting;
use whaleid::packs::Pack;

use crate::dto::{CalibrationInfo, PackInfo, ProviderInfo, Settings};
use crate::error::AppResult;
use crate::open;
use crate::state::{AppState, OpenCatalogue};

/// The observer name someone chose: saved in the app, else
/// `$WHALEID_OBSERVER`, else the open catalogue's `observer.name` (or the
/// legacy `sync.author`). `null` until one is chosen: the app then asks once.
#[tauri::command]
pub async fn observer_get(state: State<'_, AppState>) -> AppResult<Option<String>> {
    let saved = state.prefs().observer;
    let open = state.catalogue();
    Ok(observer::chosen(
        open.as_ref().map(|o| &o.catalogue),
        saved.as_deref(),
    )?)
}

/// Save the observer name (trimmed; refused when empty, too long or with
/// control characters). Every decision, edit, import and sync made in the
/// app from now on records it; the Sync screen's author is the same name.
#[tauri::command]
pub async fn observer_set(state: State<'_, AppState>, name: String) -> AppResult<String> {
    let name = observer::validate(&name, "observer name")?;
    state.update_prefs(|p| p.observer = Some(name.clone()))?;
    Ok(name)
}

#[tauri::command]
pub async fn settings_get(state: State<'_, AppState>) -> AppResult<Settings> {
    settings(&state)
}

/// Change the inference threads (kept for the app), the new-individual
/// threshold, and the expected share of new individuals (both kept in the
/// catalogue, where `whaleid catalogue config` puts them). A new share
/// recalibrates a calibrated threshold; after either, every detection
/// waiting for review is ranked again. `null` leaves a value as it is.
#[tauri::command]
pub async fn settings_set(
    state: State<'_, AppState>,
    threads: Option<usize>,
    threshold: Option<f32>,
    new_share: Option<f64>,
) -> AppResult<Settings> {
    let mut reranked = None;
    if threshold.is_some() || new_share.is_some() {
        reranked = state.with_catalogue(|open| {
            let cat = &mut open.catalogue;
            if let Some(s) = new_share {
                field::set_expected_new_share(cat, s)?;
            }
            if let Some(t) = threshold {
                field::set_threshold(cat, t)?;
            }
            rerank(open).map(Some)
        })?;
    }
    if let Some(n) = threads {
        state.update_prefs(|p| p.threads = n)?;
    }
    let mut out = settings(&state)?;
    out.reranked = reranked;
    Ok(out)
}

/// Rank the open catalogue's waiting detections again; how many.
fn rerank(open: &mut OpenCatalogue) -> AppResult<usize> {
    if open.catalogue.bound_pack()?.is_none() {
        return Ok(0);
    }
    let pack_default = open
        .pack
        .as_ref()
        .map_or(f32::NAN, |p| p.manifest.matching.new_individual_threshold);
    let r = rerank_waiting(
        &mut open.catalogue,
        pack_default,
        &whaleid::CancelToken::new(),
        &mut |_, _| {},
    )?;
    Ok(r.detections)
}

/// Validate the pack in `path` and bind it to the open catalogue (refused
/// when the catalogue already holds another pack's embeddings).
#[tauri::command]
pub async fn pack_import(state: State<'_, AppState>, path: PathBuf) -> AppResult<PackInfo> {
    let pack = Pack::load(&path)?;
    state.with_catalogue(|open| {
        whaleid::packs::binding::bind(&mut open.catalogue, &pack, &path)?;
        let threshold = whaleid::matching::field::threshold_with(&open.catalogue, Some(&pack))?
            .map_or(pack.manifest.matching.new_individual_threshold, |t| t.value);
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
        ran_on: state.ran_on().map(|r| r.label()),
        gpu_fallback: state.ran_on().and_then(|r| r.fallback),
    };
    let threads = state.prefs().threads;
    let guard = state.catalogue();
    let (catalogue_path, pack, threshold, share) = match guard.as_ref() {
        Some(open) => {
            let threshold =
                whaleid::matching::field::threshold_with(&open.catalogue, open.pack.as_ref())?;
            let pack = open.pack.as_ref().map(|p| {
                open::pack_info(
                    p,
                    threshold
                        .as_ref()
                        .map_or(p.manifest.matching.new_individual_threshold, |t| t.value),
                )
            });
            let path = Some(open.path.to_string_lossy().into_owned());
            let share = field::expected_new_share(&open.catalogue)?;
            (path, pack, threshold, Some(share))
        }
        None => (None, None, None, None),
    };
    let (value, source, calibration) = match threshold {
        Some(t) => {
            let source = match t.source {
                field::ThresholdSource::Calibrated => "calibrated",
                field::ThresholdSource::Set => "set",
                field::ThresholdSource::PackDefault => "pack_default",
            };
            let calibration = t.calibration.map(|c| CalibrationInfo {
                share: c.share.share,
                share_source: c.share.to_string(),
                known_shown_new: c.known_shown_new,
                new_caught: c.new_caught,
                queries: c.queries,
            });
            (t.value, source, calibration)
        }
        // No catalogue, or one whose pack is missing: the generic pack's default.
        None => (
            Pack::load(whaleid::install::generic_pack_dir()?)?
                .manifest
                .matching
                .new_individual_threshold,
            "pack_default",
            None,
        ),
    };
    let share = share.unwrap_or(field::NewShare {
        share: field::DEFAULT_NEW_SHARE,
        source: field::ShareSource::Default,
        new_decisions: 0,
        known_decisions: 0,
    });
    Ok(Settings {
        catalogue_path,
        pack,
        providers,
        threads,
        threshold: value,
        threshold_source: source.to_string(),
        calibration,
        new_share: share.share,
        new_share_source: share.to_string(),
        reranked: None,
    })
}
