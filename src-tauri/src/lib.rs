//! WhaleID's desktop app: a Tauri 2 shell over the `whaleid` engine.
//!
//! The frontend (`ui/`) calls the commands in [`commands`] through one typed
//! gateway; their argument and result types are in [`dto`] and are exported
//! to TypeScript by ts-rs. Every command returns `Result<T, AppError>`
//! ([`error`]), which the UI receives as `{ kind, message }`. Long jobs run on
//! blocking threads and report on a per-job `Channel` ([`jobs`] runs them,
//! [`ingest_job`] and [`train_job`] are their bodies). The
//! state between commands (the open catalogue, jobs, preferences) is
//! [`state::AppState`]; catalogues are opened and described as the CLI does
//! ([`open`]).
//!
//! Photos, crops and thumbnails reach the webview through the asset protocol,
//! whose scope starts empty and is granted at run time to the open catalogue
//! and to the folders the user ingests.

pub mod commands;
pub mod dto;
pub mod error;
pub mod ingest_job;
pub mod jobs;
pub mod logging;
pub mod open;
pub mod state;
pub mod train_job;

use tauri::{Manager, Runtime};

use crate::state::AppState;

/// Register the state and every command on `builder`. `run` uses it with the
/// real runtime, the tests with Tauri's mock runtime. A builder that already
/// manages an [`AppState`] (a test's, with its own config folder) keeps it.
///
/// To add a command group: declare its module in `commands/mod.rs` and list
/// its commands below.
pub fn app_builder<R: Runtime>(builder: tauri::Builder<R>) -> tauri::Builder<R> {
    builder
        .setup(|app| {
            // Where the installer put ONNX Runtime and the generic pack.
            if let Ok(dir) = app.path().resource_dir() {
                whaleid::install::set_resource_dir(dir);
            }
            if app.try_state::<AppState>().is_none() {
                let dir = AppState::config_dir_for(|| app.path().app_config_dir().ok());
                app.manage(AppState::new(dir));
            }
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::catalogue::catalogue_current,
            commands::catalogue::catalogue_open,
            commands::catalogue::catalogue_create,
            commands::ingest::ingest_start,
            commands::ingest::job_cancel,
            commands::review::review_queue,
            commands::review::review_accept,
            commands::review::review_new_individual,
            commands::review::review_unidentifiable,
            commands::review::review_same_as,
            commands::review::review_undo,
            commands::second_review::second_review_required,
            commands::second_review::second_review_queue,
            commands::second_review::second_opinion,
            commands::second_review::disagreements_list,
            commands::second_review::disagreement_resolve,
            commands::second_review::agreement_report,
            commands::scope::scoped_suggestions,
            commands::attributes::set_attributes,
            commands::boxes::box_list,
            commands::boxes::box_add,
            commands::boxes::box_set,
            commands::boxes::box_remove,
            commands::boxes::box_undo,
            commands::encounters::encounter_list,
            commands::encounters::encounter_get,
            commands::encounters::encounter_edit,
            commands::encounters::encounter_split,
            commands::encounters::encounter_join,
            commands::individuals::individuals_list,
            commands::individuals::individual_get,
            commands::individuals::individual_merge,
            commands::individuals::individual_rename,
            commands::individuals::individual_split,
            commands::individuals::individual_undo,
            commands::individuals::individual_merge_direction,
            commands::settings::observer_get,
            commands::settings::observer_set,
            commands::export::export_csv,
            commands::export::export_kaggle,
            commands::export::export_dwca,
            commands::export::export_wildbook,
            commands::export::export_mark,
            commands::export::export_socprog,
            commands::settings::settings_get,
            commands::settings::settings_set,
            commands::settings::pack_import,
            commands::dialogs::pick_folder,
            commands::dialogs::pick_save_file,
            commands::train::train_overview,
            commands::train::train_start,
            commands::train::train_rollback,
            commands::sync::sync_status,
            commands::sync::sync_configure,
            commands::sync::sync_preview,
            commands::sync::sync_start,
            commands::sync::sync_dismiss,
            commands::search::review_search,
            commands::about::about_get,
            commands::about::diagnostics_get,
            commands::about::diagnostics_copy,
        ])
}

/// Start the app (the `whaleid-app` binary).
pub fn run() {
    logging::init();
    app_builder(tauri::Builder::default())
        .run(tauri::generate_context!())
        .expect("error while running WhaleID");
}
