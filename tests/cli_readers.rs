//! Commands that only read a catalogue run beside its writer (issue 19,
//! item 11). One process at a time may write a catalogue (the writer lock),
//! but the app open on it, or a long ingest, must not stop a researcher
//! exporting, looking an individual up or identifying a photo from the
//! command line. This test holds the writer lock in its own process, as the
//! app does, and runs every reading command through the `whaleid` binary:
//! each works and sees what the writer has committed. Every command that
//! writes is refused with the lock's message naming the holder, and works
//! once the writer has let go.

mod support;

use whaleid::catalogue::Catalogue;
use whaleid_testkit as kit;

use support::{labelled_import, s, stdout, whaleid};

/// `args` ran and succeeded; its standard output.
fn works(args: &[&str]) -> String {
    let out = whaleid(args);
    assert!(
        out.status.success(),
        "{args:?} failed beside the writer:\n{}{}",
        stdout(&out),
        String::from_utf8_lossy(&out.stderr)
    );
    stdout(&out)
}

#[test]
fn reading_commands_run_beside_a_writer_and_writing_ones_are_refused_with_the_lock_message() {
    let dir = tempfile::tempdir().unwrap();
    let (cat, import) = labelled_import(dir.path(), &["--no-boxes"]);
    let import: Vec<&str> = import.iter().map(String::as_str).collect();
    assert!(works(&import).contains("imported 24 photos"));

    // The writer: this process, as the app holds its catalogue open. What
    // it commits the readers see.
    let mut writer = Catalogue::open(&cat).unwrap();
    writer.rename("W000", "W900", Some("ana")).unwrap();

    let stats = works(&["catalogue", "stats", s(&cat), "--json"]);
    let stats: serde_json::Value = serde_json::from_str(&stats).unwrap();
    assert_eq!(stats["photos"], 24);
    assert_eq!(stats["individuals"], 6);
    assert!(works(&["catalogue", "stats", s(&cat)]).contains("photos        24"));

    let csv = dir.path().join("out.csv");
    let kaggle = dir.path().join("kaggle.csv");
    let out = works(&[
        "catalogue",
        "export",
        s(&cat),
        "--csv",
        s(&csv),
        "--kaggle",
        s(&kaggle),
    ]);
    assert!(out.contains("24 detections"), "{out}");
    let exported = std::fs::read_to_string(&csv).unwrap();
    assert!(exported.contains("W900"), "{exported}");
    assert_eq!(
        std::fs::read_to_string(&kaggle).unwrap().lines().count(),
        25
    );

    let out = works(&["individual", "show", "-c", s(&cat), "W900"]);
    assert!(out.contains("W900") && out.contains("rename"), "{out}");

    // A catalogued photo's pixels in a new file: the catalogue's own pack
    // (remembered at import) finds W004.
    let query = dir.path().join("query.tif");
    kit::photo(4, 40, 33).save(&query).unwrap();
    let out = works(&[
        "identify",
        s(&query),
        "-c",
        s(&cat),
        "--json",
        "--threshold",
        "0.5",
        "--threads",
        "1",
    ]);
    let first: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(first["top5"][0]["individual"], "W004", "{out}");

    let out = works(&["catalogue", "calibrate", s(&cat), "--dry-run"]);
    assert!(out.contains("calibrated threshold"), "{out}");
    let out = works(&["catalogue", "config", s(&cat)]);
    assert!(out.contains("pack.name = tiny"), "{out}");
    let out = works(&["detection", "list", "1", "-c", s(&cat)]);
    assert_eq!(out.lines().count(), 1, "{out}");
    let out = works(&["sync", "-c", s(&cat), "--review"]);
    assert!(out.contains("nothing from earlier syncs"), "{out}");
    let out = works(&["train", "-c", s(&cat), "--list"]);
    assert!(out.contains("(active)"), "{out}");
    assert!(works(&["catalogue", "check", s(&cat)]).starts_with("ok:"));
    works(&[
        "catalogue",
        "backup",
        s(&cat),
        s(&dir.path().join("backup")),
    ]);
    // The search index is a cache beside the database, written whole under
    // a temporary name and checked against the vectors when loaded: built
    // beside the writer too, and used by the next identify.
    let out = works(&["catalogue", "index", s(&cat)]);
    assert!(out.contains("indexed 24 embeddings"), "{out}");
    let index = kit::names_in(&cat.join("index"));
    assert_eq!(index.len(), 1, "{index:?}");
    assert!(index[0].ends_with(".hnsw"), "{index:?}");

    // Every command that writes is refused, naming this process.
    let holder = format!("in use by process {}", std::process::id());
    let writers: [&[&str]; 8] = [
        &import,
        &["individual", "rename", "-c", s(&cat), "W001", "W901"],
        &["catalogue", "config", s(&cat), "--threshold", "0.6"],
        &["catalogue", "calibrate", s(&cat)],
        &["catalogue", "repair", s(&cat)],
        &["detection", "remove", "1", "-c", s(&cat), "--author", "ana"],
        &["sync", "-c", s(&cat), "--dismiss", "1"],
        &["train", "-c", s(&cat), "--rollback"],
    ];
    for args in writers {
        let out = whaleid(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && err.contains(&holder) && err.contains(s(&cat)),
            "{args:?} was not refused by the lock:\n{}{err}",
            stdout(&out)
        );
    }
    assert_eq!(writer.stats().unwrap().photos, 24);
    assert!(writer.individual("W901").is_err());

    // Once the writer lets go, a writing command works.
    drop(writer);
    works(&["individual", "rename", "-c", s(&cat), "W001", "W901"]);
    assert!(works(&["catalogue", "stats", s(&cat)]).contains("individuals   6"));
}

/// A reading command reads the newest schema, so a catalogue an older
/// WhaleID wrote is upgraded first, as every command did before readers
/// opened read-only: migrated by a writer's open, the file as it was kept
/// beside it.
#[test]
fn a_reading_command_upgrades_a_catalogue_from_an_older_whaleid_first() {
    use whaleid::catalogue::{migrate, DB_FILE};
    let dir = tempfile::tempdir().unwrap();
    let cat = dir.path().join("cat");
    std::fs::create_dir_all(&cat).unwrap();
    let older = migrate::latest() - 1;
    let mut conn = rusqlite::Connection::open(cat.join(DB_FILE)).unwrap();
    migrate::migrate(&mut conn, Some(older)).unwrap();
    drop(conn);

    let stats = works(&["catalogue", "stats", s(&cat), "--json"]);
    let stats: serde_json::Value = serde_json::from_str(&stats).unwrap();
    assert_eq!(stats["schema_version"], migrate::latest());
    let kept: Vec<String> = kit::names_in(&cat)
        .into_iter()
        .filter(|n| n.starts_with(&format!("catalogue.schema-v{older}-backup-")))
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    // Upgraded once: the next reader opens it read-only and copies nothing.
    works(&["catalogue", "stats", s(&cat)]);
    let backups = kit::names_in(&cat)
        .iter()
        .filter(|n| n.contains("-backup-"))
        .count();
    assert_eq!(backups, 1);
}
