//! Ingesting survey folders as a cancellable background job.

use std::path::PathBuf;

use tauri::ipc::Channel;
use tauri::{AppHandle, Runtime, State};

use crate::commands::catalogue::allow_assets;
use crate::dto::IngestEvent;
use crate::error::{AppError, AppResult};
use crate::ingest_job::{self, IngestPlan};
use crate::jobs;
use crate::state::{AppState, JobKind};

/// Photos per inference batch and per transaction (the CLI's default).
const BATCH: usize = 8;

/// Start ingesting `paths` into the open catalogue. Returns the job id at
/// once; `scanned`, `progress` and one closing event follow on `on_event`.
/// A second ingest while one runs fails with `busy`.
#[tauri::command]
pub async fn ingest_start<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    paths: Vec<PathBuf>,
    species: Option<String>,
    on_event: Channel<IngestEvent>,
) -> AppResult<u32> {
    ingest_job::check_paths(&paths)?;
    let plan = plan(&state, paths, species)?;
    for dir in ingest_job::photo_folders(&plan.paths) {
        allow_assets(&app, &dir)?;
    }
    jobs::spawn_job(
        &app,
        JobKind::Ingest,
        on_event,
        move |state, cancel, send| {
            let outcome = ingest_job::run(plan, cancel, &mut |event| send(event));
            if let Some(ran_on) = outcome.ran_on {
                state.set_ran_on(ran_on);
            }
            outcome.closing
        },
    )
}

/// Cancel a running job; committed photos are kept.
#[tauri::command]
pub async fn job_cancel(state: State<'_, AppState>, job_id: u32) -> AppResult<()> {
    state.cancel_job(job_id)
}

/// What the job needs from the open catalogue, taken now so the job holds
/// no lock.
fn plan(state: &AppState, paths: Vec<PathBuf>, species: Option<String>) -> AppResult<IngestPlan> {
    let species = species
        .filter(|s| !s.trim().is_empty())
        .map(|s| whaleid::ingest::labels::normalise_species(&s));
    let threads = state.prefs().threads;
    state.with_catalogue(|open| {
        let pack = open.pack.clone().ok_or_else(|| {
            AppError::new(
                crate::error::ErrorKind::Model,
                "the model pack this catalogue was made with is not on this machine: import it (Settings → pack)",
            )
        })?;
        let threshold = whaleid::matching::field::threshold_with(&open.catalogue, Some(&pack))?
            .map_or(pack.manifest.matching.new_individual_threshold, |t| {
                t.for_species(species.as_deref())
            });
        Ok(IngestPlan {
            catalogue: open.path.clone(),
            pack,
            threshold,
            species,
            paths,
            session: whaleid::runtime::SessionConfig {
                intra_threads: threads,
                ..Default::default()
            },
            batch: BATCH,
            observer: state.observer(&open.catalogue)?,
        })
    })
}
