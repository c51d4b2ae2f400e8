//! The fixtures every integration test of WhaleID shares: the engine's
//! (`tests/`), the sync server's (`server/tests/`, `server/benches/`) and the
//! desktop app's (`src-tauri/tests/`). One copy, so a photo drawn for one
//! crate's test is the same photo in another's.
//!
//! - [`packs`]: the committed test packs (`tests/packs/NAME`), scratch copies
//!   of them to break on purpose, and manifest edits.
//! - [`photos`]: photos drawn by the tests themselves: dark shapes, texture,
//!   and "individuals" (a distinctive dark striped patch pasted into bright
//!   photos), as files with labels.
//! - [`catalogue`]: the tiny pack's pipeline, labelled imports, and a second
//!   SQLite connection to a catalogue's file for assertions the engine's API
//!   does not answer.
//! - [`ops`]: sync operations written by hand (plain records, a careless
//!   push) for the planner, the applier and the server.
//! - [`files`]: what a folder holds.
//! - [`dwca`]: python-dwca-reader, to read an exported Darwin Core Archive
//!   back with a real reader.
//!
//! It is a dev-dependency only. Integration tests link it with the engine;
//! the engine's own unit tests (in `src/`) must not use it, because it
//! depends on the engine library and would be a second copy of it there.

pub mod catalogue;
pub mod dwca;
pub mod files;
pub mod ops;
pub mod packs;
pub mod photos;

pub use catalogue::{
    committed_photos, detections_by_photo, import_all, imported, on_every_connection, pipeline,
    session, sql, stored_embeddings,
};
pub use dwca::{dwca_python, dwca_records};
pub use files::names_in;
pub use ops::{relay, relay_all};
pub use packs::{
    copy_pack, edit_manifest, pack_dir, refresh_checksum, set_onnx_initializer, tiny_pack,
    write_tensors,
};
pub use photos::{
    dark_shape, jpeg_with_exif, labelled, labelled_folder, patch, photo, straight_stripe_photo,
    survey_photos, texture, PATCH,
};
/// The SQLite crate the kit opens catalogues with, for tests that build a
/// database by hand (an older schema, a damaged file).
pub use rusqlite;
