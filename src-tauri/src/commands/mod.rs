//! The IPC commands, grouped by domain. Each is an adapter: parse the
//! arguments, take the state, call the engine, map the error. The
//! `#[tauri::command]` functions live here, not in `lib.rs`, because the
//! macro's generated `__cmd__` items collide at the crate root (E0255).

pub mod about;
pub mod attributes;
pub mod boxes;
pub mod catalogue;
pub mod dialogs;
pub mod encounters;
pub mod export;
pub mod individuals;
pub mod ingest;
pub mod review;
pub mod scope;
pub mod search;
pub mod second_review;
pub mod settings;
pub mod sync;
pub mod train;
