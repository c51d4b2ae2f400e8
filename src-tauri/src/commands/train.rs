//! Fine-tuning as a cancellable background job, and switching versions.

use tauri::ipc::Channel;
use tauri::{AppHandle, Runtime, State};
use whaleid::packs::Pack;
use whaleid::train::versions::{refresh, switch_version};

use crate::dto::{TrainEvent, TrainOptions, TrainOverview};
use crate::error::{AppError, AppResult, ErrorKind};
use crate::jobs;
use crate::state::{AppState, JobKind};
use crate::train_job::{self, TrainPlan};

fn no_pack() -> AppError {
    AppError::new(
        ErrorKind::Model,
        "the model pack this catalogue was made with is not on this machine: import it (Settings → pack)",
    )
}

/// Eligible individuals and detections, and the pack's versions.
#[tauri::command]
pub async fn train_overview(state: State<'_, AppState>) -> AppResult<TrainOverview> {
    state.with_catalogue(|open| {
        let pack = open.pack.as_ref().ok_or_else(no_pack)?;
        train_job::overview(&open.catalogue, pack)
    })
}

/// Start fine-tuning the open catalogue's pack. Returns the job id at once;
/// `phase` and `epoch` events and one closing event follow on `on_event`.
/// Refused with `busy` while another job (an ingest) runs.
#[tauri::command]
pub async fn train_start<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    options: TrainOptions,
    on_event: Channel<TrainEvent>,
) -> AppResult<u32> {
    train_job::check_options(&options)?;
    let threads = state.prefs().threads;
    let plan = state.with_catalogue(|open| {
        Ok(TrainPlan {
            catalogue: open.path.clone(),
            pack: open.pack.clone().ok_or_else(no_pack)?,
            options,
            session: whaleid::runtime::SessionConfig {
                intra_threads: threads,
                ..Default::default()
            },
        })
    })?;
    jobs::spawn_job(
        &app,
        JobKind::Train,
        on_event,
        move |state, cancel, send| {
            let (closing, adopted) = train_job::run(plan, cancel, &mut |event| send(event));
            match adopted.map(|dir| use_pack(state, &dir)) {
                Some(Err(error)) => TrainEvent::Failed { error },
                _ => closing,
            }
        },
    )
}

/// Go back to the active version's parent (`version` null) or to a recorded
/// version. Detections added since are embedded from their cached features,
/// and the index is rebuilt before this returns.
#[tauri::command]
pub async fn train_rollback<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    version: Option<String>,
) -> AppResult<TrainOverview> {
    // A switch while a job runs would change the pack under it.
    let job = state.start_job(JobKind::Train)?;
    // Switching re-embeds and rebuilds the index: seconds, off the runtime.
    jobs::blocking(app, move |state| {
        let _job = job; // registered until this returns, however it returns
        let dir = state.with_catalogue(|open| {
            switch_version(&mut open.catalogue, version.as_deref(), None)?;
            refresh(&mut open.catalogue)?;
            Ok(open
                .catalogue
                .setting(whaleid::catalogue::keys::PACK_PATH)?
                .unwrap_or_default())
        })?;
        use_pack(state, std::path::Path::new(&dir))?;
        state.with_catalogue(|open| {
            let pack = open.pack.as_ref().ok_or_else(no_pack)?;
            train_job::overview(&open.catalogue, pack)
        })
    })
    .await
}

/// Make the app use the pack in `dir` for the open catalogue.
fn use_pack(state: &AppState, dir: &std::path::Path) -> AppResult<()> {
    let pack = Pack::load(dir)?;
    state.with_catalogue(|open| {
        open.pack = Some(pack);
        Ok(())
    })
}
