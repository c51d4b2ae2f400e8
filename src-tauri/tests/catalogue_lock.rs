//! The app and the catalogue's writer lock (issue 19, item 11): the app
//! holds the lock of the catalogue it has open, so a `whaleid ingest` of it
//! is refused while the app shows it and can run once the app has moved to
//! another; and the app refuses a catalogue another program writes, saying
//! which one and since when, in its own error shape.

mod support;

use std::fs::{File, TryLockError};
use std::io::Write;
use std::path::Path;

use serde_json::json;
use whaleid::catalogue::{Catalogue, LOCK_FILE};

use support::{app, invoke};

/// Whether another open of `cat`'s lock file (as another process makes)
/// can take the lock. Asked a few times over a second: a child process
/// being forked at that moment shares a lock being let go until it execs.
fn free(cat: &Path) -> bool {
    let file = File::open(cat.join(LOCK_FILE)).unwrap();
    for _ in 0..50 {
        match file.try_lock() {
            Ok(()) => return true,
            Err(TryLockError::WouldBlock) => {
                std::thread::sleep(std::time::Duration::from_millis(20))
            }
            Err(TryLockError::Error(e)) => panic!("{e}"),
        }
    }
    false
}

/// Whether another open of `cat`'s lock file is refused the lock now.
fn held(cat: &Path) -> bool {
    let file = File::open(cat.join(LOCK_FILE)).unwrap();
    matches!(file.try_lock(), Err(TryLockError::WouldBlock))
}

#[test]
fn the_open_catalogue_is_locked_against_other_programs_until_the_app_moves_on() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    drop(Catalogue::create(&a).unwrap());
    drop(Catalogue::create(&b).unwrap());
    assert!(free(&a) && free(&b));
    let (_app, window) = app(&dir.path().join("config"));

    invoke(&window, "catalogue_open", json!({ "path": a })).unwrap();
    assert!(held(&a), "the app holds the catalogue it shows");
    let note = std::fs::read_to_string(a.join(LOCK_FILE)).unwrap();
    assert!(
        note.contains(&format!("pid: {}", std::process::id())),
        "{note}"
    );

    invoke(&window, "catalogue_open", json!({ "path": b })).unwrap();
    assert!(free(&a), "let go when the app moved on");
    assert!(held(&b));
}

#[test]
fn a_catalogue_another_program_writes_is_refused_with_who_and_since_when() {
    let dir = tempfile::tempdir().unwrap();
    let cat = dir.path().join("cat");
    drop(Catalogue::create(&cat).unwrap());
    // Another program takes the lock and says who it is, as WhaleID does.
    let mut other = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(cat.join(LOCK_FILE))
        .unwrap();
    other.try_lock().unwrap();
    other.set_len(0).unwrap();
    other
        .write_all(b"pid: 4242\nsince: 2026-12-03 07:00:00 UTC\nprogram: whaleid ingest\n")
        .unwrap();

    let (_app, window) = app(&dir.path().join("config"));
    let err = invoke(&window, "catalogue_open", json!({ "path": cat })).unwrap_err();
    assert_eq!(err["kind"], "catalogue", "{err}");
    let message = err["message"].as_str().unwrap();
    assert!(
        message.contains("in use by process 4242 (whaleid ingest) since 2026-12-03 07:00:00 UTC"),
        "{message}"
    );
    assert_eq!(
        invoke(&window, "catalogue_current", json!({})).unwrap(),
        serde_json::Value::Null
    );

    // Once it is done, the app opens it.
    drop(other);
    invoke(&window, "catalogue_open", json!({ "path": cat })).unwrap();
}
