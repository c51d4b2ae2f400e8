//! Catalogues as the tests make and inspect them: the tiny pack's pipeline
//! on one ONNX thread (the tests run in parallel on small machines),
//! labelled imports with the CLI's default options, and a second SQLite
//! connection to a catalogue's file.
//!
//! The engine keeps its own connection to itself. A test that must look
//! at a row no API returns, or plant a fault, opens the same file again
//! with [`sql`]: the catalogue is in WAL mode, so this connection sees
//! everything the engine has committed, and what it writes (outside any
//! engine transaction, as tests run one step at a time) the engine sees at
//! its next statement. A test that needs something on the engine's own
//! connection (a function or a temporary trigger) installs it with
//! [`on_every_connection`] before the catalogue is opened.

use std::ffi::{c_char, c_int};
use std::path::Path;
use std::sync::OnceLock;

use rusqlite::{Connection, OpenFlags};
use whaleid::catalogue::{Catalogue, DB_FILE};
use whaleid::ingest::{self, labels, ImportOptions, ImportReport, Labelled, Pipeline};
use whaleid::packs::Pack;
use whaleid::runtime::SessionConfig;
use whaleid::CancelToken;

use crate::packs::tiny_pack;
use crate::photos::labelled_folder;

/// The runtime settings of every test: one intra-op thread.
pub fn session() -> SessionConfig {
    SessionConfig {
        intra_threads: 1,
        ..SessionConfig::default()
    }
}

/// The tiny pack's pipeline (detector and embedder) on [`session`].
pub fn pipeline() -> Pipeline {
    let pack = Pack::load(tiny_pack()).unwrap();
    Pipeline::open(pack, &session()).unwrap()
}

/// Import `items` with the default options, as the CLI does: not
/// cancelled, progress unheard.
pub fn import_all(cat: &mut Catalogue, pipeline: &Pipeline, items: &[Labelled]) -> ImportReport {
    ingest::import(
        cat,
        pipeline,
        items,
        &ImportOptions::default(),
        &mut |_| {},
        &CancelToken::new(),
    )
    .unwrap()
}

/// The [`labelled_folder`] drawn in `dir` and imported into a new catalogue
/// in `dir/cat`, with the pipeline that did it.
pub fn imported(dir: &Path) -> (Pipeline, Catalogue) {
    let labels_csv = labelled_folder(dir);
    let items = labels::read_csv(&labels_csv, &dir.join("images")).unwrap();
    let pipeline = pipeline();
    let mut cat = Catalogue::create(dir.join("cat")).unwrap();
    import_all(&mut cat, &pipeline, &items);
    (pipeline, cat)
}

/// A catalogue's detections in the order of their photos' bytes: the same
/// order on every laptop that imported the same files, so tests can name
/// "the same detection" on two catalogues.
pub fn detections_by_photo(cat: &Catalogue) -> Vec<i64> {
    let db = sql(cat);
    let mut stmt = db
        .prepare(
            "SELECT d.id FROM detections d JOIN photos p ON p.id = d.photo_id
             ORDER BY p.sha256, d.id",
        )
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// The stored embeddings of a pack version, by detection.
pub fn stored_embeddings(cat: &Catalogue, version: &str) -> Vec<(i64, Vec<f32>)> {
    let db = sql(cat);
    let mut stmt = db
        .prepare(
            "SELECT detection_id, vector FROM embeddings WHERE pack_version = ?1 ORDER BY detection_id",
        )
        .unwrap();
    stmt.query_map([version], |r| {
        let blob: Vec<u8> = r.get(1)?;
        Ok((
            r.get(0)?,
            blob.chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
        ))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

/// A second connection to `cat`'s SQLite file (see the module's note),
/// with foreign keys on and the engine's busy timeout.
pub fn sql(cat: &Catalogue) -> Connection {
    let path = cat.root().join(DB_FILE);
    let conn = Connection::open_with_flags(
        &path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .unwrap_or_else(|e| panic!("catalogue database {}: {e}", path.display()));
    conn.execute_batch("PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;")
        .unwrap_or_else(|e| panic!("catalogue database {}: {e}", path.display()));
    conn
}

/// The photos the catalogue in `root` has committed so far, read as another
/// program would, on a read-only connection: 0 while its database is not
/// there yet. For watching a running `whaleid` process from outside.
pub fn committed_photos(root: &Path) -> i64 {
    Connection::open_with_flags(root.join(DB_FILE), OpenFlags::SQLITE_OPEN_READ_ONLY)
        .and_then(|c| c.query_row("SELECT count(*) FROM photos", [], |r| r.get(0)))
        .unwrap_or(0)
}

/// What [`on_every_connection`] runs on each new connection.
pub type ConnectionHook = fn(&Connection) -> rusqlite::Result<()>;

static HOOK: OnceLock<ConnectionHook> = OnceLock::new();

/// Run `hook` on every SQLite connection this process opens from now on,
/// the engine's included, as it opens (SQLite's auto-extension): the way
/// to give the engine's own connection a test-only function or temporary
/// trigger. One hook per process; the hook is for a test's child process
/// that does nothing else. An error from the hook fails that open.
pub fn on_every_connection(hook: ConnectionHook) {
    if HOOK.set(hook).is_err() {
        panic!("on_every_connection: this process has a hook already");
    }
    // SAFETY: `run_hook` neither opens nor closes a database and does not
    // touch the list of auto-extensions, which is all SQLite asks of one.
    #[allow(unsafe_code)]
    let registered = unsafe { rusqlite::auto_extension::register_auto_extension(run_hook_raw) };
    registered.unwrap_or_else(|e| panic!("on_every_connection: SQLite refused the hook: {e}"));
}

#[allow(unsafe_code)]
unsafe extern "C" fn run_hook_raw(
    db: *mut rusqlite::ffi::sqlite3,
    err: *mut *mut c_char,
    _api: *const rusqlite::ffi::sqlite3_api_routines,
) -> c_int {
    // SAFETY: SQLite calls this with the handle of the connection being
    // opened; `init_auto_extension` borrows it without closing it.
    unsafe { rusqlite::auto_extension::init_auto_extension(db, err, run_hook) }
}

fn run_hook(conn: Connection) -> rusqlite::Result<()> {
    match HOOK.get() {
        Some(hook) => hook(&conn),
        None => Ok(()),
    }
}
