//! The catalogue folder as files on a disk that other programs and other
//! WhaleID processes share (issue 19, items 10-12): a foreign SQLite file is
//! never converted, one writer process at a time holds a catalogue (a lock
//! left by a dead one is taken over), readers (`check`, `backup`) work beside
//! it, a backup is complete or absent, `check` finds missing crops and
//! thumbnails, and a read-only folder is called read-only.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use rusqlite::Connection;
use whaleid::catalogue::{migrate, Catalogue, DB_FILE, LOCK_FILE};
use whaleid::Error;
use whaleid_testkit::{self as kit, photo};

use support::{ingest_args, s, text, whaleid, BIN};

fn application_id(db: &Path) -> i64 {
    Connection::open(db)
        .unwrap()
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .unwrap()
}

/// `n` photos for the tiny pack in `dir/photos`, ingested by the CLI (as a
/// survey: crops and thumbnails) into `dir/cat`.
fn ingested(dir: &Path, n: u32) -> PathBuf {
    let photos = dir.join("photos");
    kit::survey_photos(&photos, n, 5);
    let cat = dir.join("cat");
    let out = whaleid(&ingest_args(&photos, &cat, &[]));
    assert!(out.status.success(), "{}", text(&out));
    cat
}

#[test]
fn a_foreign_sqlite_file_is_refused_and_never_given_whaleid_tables() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join(DB_FILE);
    let conn = Connection::open(&db).unwrap();
    conn.execute_batch(
        "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
         INSERT INTO customers (name) VALUES ('Ada'), ('Grace');",
    )
    .unwrap();
    drop(conn);
    let before = std::fs::read(&db).unwrap();

    let err = Catalogue::open(dir.path()).unwrap_err();
    assert!(matches!(err, Error::Catalogue { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains(&db.display().to_string()) && msg.contains("not a WhaleID catalogue"),
        "{msg}"
    );
    assert!(msg.contains("customers"), "says what it holds: {msg}");
    assert!(Catalogue::open_read_only(dir.path()).is_err());

    // Neither `check` nor an ingest into it converts it.
    let out = whaleid(&["catalogue", "check", s(dir.path())]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("not a WhaleID catalogue"),
        "{}",
        text(&out)
    );
    let photos = dir.path().join("photos");
    std::fs::create_dir_all(&photos).unwrap();
    photo(1, 20, 20).save(photos.join("a.png")).unwrap();
    let out = whaleid(&ingest_args(&photos, dir.path(), &[]));
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("not a WhaleID catalogue"),
        "{}",
        text(&out)
    );

    assert_eq!(std::fs::read(&db).unwrap(), before, "left byte for byte");
    let tables: Vec<String> = Connection::open(&db)
        .unwrap()
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(tables, ["customers"]);
}

#[test]
fn catalogues_carry_the_whaleid_marker_and_unmarked_ones_of_earlier_versions_still_open() {
    let dir = tempfile::tempdir().unwrap();
    drop(Catalogue::create(dir.path().join("new")).unwrap());
    assert_eq!(
        application_id(&dir.path().join("new").join(DB_FILE)),
        migrate::APPLICATION_ID as i64
    );

    // Catalogues written before the marker existed: an older schema and the
    // current one, with a record each.
    for (name, version) in [
        ("older", migrate::latest() - 1),
        ("current", migrate::latest()),
    ] {
        let root = dir.path().join(name);
        std::fs::create_dir_all(&root).unwrap();
        let mut conn = Connection::open(root.join(DB_FILE)).unwrap();
        migrate::migrate(&mut conn, Some(version)).unwrap();
        conn.execute_batch(
            "PRAGMA application_id = 0;
             INSERT INTO settings (key, value) VALUES ('kept', 'yes');",
        )
        .unwrap();
        drop(conn);
        assert_eq!(application_id(&root.join(DB_FILE)), 0);
        let cat = Catalogue::open(&root).unwrap();
        assert_eq!(cat.setting("kept").unwrap().as_deref(), Some("yes"));
        drop(cat);
        assert_eq!(
            application_id(&root.join(DB_FILE)),
            migrate::APPLICATION_ID as i64,
            "{name}"
        );
    }

    // An empty file (a create that died before its first table) is a new
    // catalogue.
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    std::fs::write(empty.join(DB_FILE), b"").unwrap();
    drop(Catalogue::open(&empty).unwrap());
    assert_eq!(
        application_id(&empty.join(DB_FILE)),
        migrate::APPLICATION_ID as i64
    );

    // Another application's marker wins over tables that look like ours.
    let other = dir.path().join("other");
    std::fs::create_dir_all(&other).unwrap();
    let mut conn = Connection::open(other.join(DB_FILE)).unwrap();
    migrate::migrate(&mut conn, None).unwrap();
    conn.execute_batch("PRAGMA application_id = 1179407692;")
        .unwrap();
    drop(conn);
    let err = Catalogue::open(&other).unwrap_err().to_string();
    assert!(
        err.contains("another application") && err.contains(DB_FILE),
        "{err}"
    );
}

#[test]
fn a_second_writer_process_is_refused_with_who_holds_the_catalogue_and_readers_are_not() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("cat");
    let cat = Catalogue::create(&root).unwrap();
    // The same process may open it again (the app's jobs do).
    drop(Catalogue::open(&root).unwrap());

    let out = whaleid(&["catalogue", "config", s(&root), "--observer", "Bea"]);
    assert!(!out.status.success(), "{}", text(&out));
    let msg = text(&out);
    assert!(
        msg.contains(&format!("in use by process {}", std::process::id()))
            && msg.contains("since")
            && msg.contains(&root.display().to_string()),
        "{msg}"
    );
    assert_eq!(cat.setting("observer.name").unwrap(), None);

    // Readers work beside the writer.
    let out = whaleid(&["catalogue", "check", s(&root)]);
    assert!(out.status.success(), "{}", text(&out));
    let copy = dir.path().join("copy");
    let out = whaleid(&["catalogue", "backup", s(&root), s(&copy)]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(copy.join(DB_FILE).is_file());

    drop(cat);
    let out = whaleid(&["catalogue", "config", s(&root), "--observer", "Bea"]);
    assert!(out.status.success(), "{}", text(&out));
}

#[cfg(unix)]
#[test]
fn a_lock_whose_holder_died_is_taken_over() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("cat");
    drop(Catalogue::create(&root).unwrap());
    let lock = root.join(LOCK_FILE);
    // Another program holds the lock (as a killed WhaleID would have) and
    // its note names a process that is long gone.
    std::fs::write(&lock, "pid: 4000000\nsince: 2020-01-01 00:00:00 UTC\n").unwrap();
    let mut holder = Command::new("sh")
        .args([
            "-c",
            // Waits a moment: a child another test thread is just forking
            // may briefly share this process's lock file.
            r#"exec 9>>"$0"; flock -w 10 9 && echo locked && exec sleep 60"#,
            s(&lock),
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(holder.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    assert_eq!(line.trim(), "locked");
    let err = Catalogue::open(&root).unwrap_err().to_string();
    assert!(err.contains("in use by"), "{err}");
    holder.kill().unwrap(); // SIGKILL: the OS lets go of its lock
    holder.wait().unwrap();

    let cat = Catalogue::open(&root).unwrap();
    let note = std::fs::read_to_string(&lock).unwrap();
    assert!(
        note.contains(&format!("pid: {}", std::process::id())),
        "{note}"
    );
    drop(cat);
}

#[test]
fn check_names_every_missing_crop_and_thumbnail_and_a_labelled_import_has_none_missing() {
    let dir = tempfile::tempdir().unwrap();
    let root = ingested(dir.path(), 4);
    let cat = Catalogue::open_read_only(&root).unwrap();
    assert_eq!(cat.check().unwrap(), Vec::<String>::new());
    let (crop, sha): (String, String) = kit::sql(&cat)
        .query_row(
            "SELECT d.crop_file, p.sha256 FROM detections d JOIN photos p ON p.id = d.photo_id
             WHERE d.crop_file IS NOT NULL ORDER BY d.id LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let thumb = whaleid::ingest::media::thumb_file(&sha);
    std::fs::remove_file(root.join("media").join(&crop)).unwrap();
    std::fs::remove_file(root.join("media").join(&thumb)).unwrap();
    let problems = cat.check().unwrap();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(problems.iter().any(|p| p.contains(&crop)), "{problems:?}");
    assert!(problems.iter().any(|p| p.contains(&thumb)), "{problems:?}");
    drop(cat);
    let out = whaleid(&["catalogue", "check", s(&root)]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains(&crop), "{}", text(&out));

    // Labelled imports keep crops but never made thumbnails: nothing missing.
    let other = tempfile::tempdir().unwrap();
    let (_, imported) = kit::imported(other.path());
    assert_eq!(imported.check().unwrap(), Vec::<String>::new());
}

#[test]
fn a_backup_leaves_part_files_behind_and_passes_check() {
    let dir = tempfile::tempdir().unwrap();
    let root = ingested(dir.path(), 3);
    // What a writer in the middle of saving a crop leaves for a moment.
    std::fs::write(root.join("media/crops/abc_0.jpg.1234-1.part"), b"half").unwrap();
    let dest = dir.path().join("backups").join("monday");
    let out = whaleid(&["catalogue", "backup", s(&root), s(&dest)]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!dest.join("media/crops/abc_0.jpg.1234-1.part").exists());
    let out = whaleid(&["catalogue", "check", s(&dest)]);
    assert!(out.status.success(), "{}", text(&out));
    let crops = |root: &Path| {
        kit::names_in(&root.join("media/crops"))
            .iter()
            .filter(|n| !n.ends_with(".part"))
            .count()
    };
    assert_eq!(crops(&dest), crops(&root));
    // Only the finished backup is in the folder it was made in.
    let beside = kit::names_in(&dir.path().join("backups"));
    assert_eq!(beside, ["monday"]);
}

#[cfg(target_os = "linux")]
#[test]
fn a_backup_that_fails_leaves_nothing_and_names_its_destination() {
    let dir = tempfile::tempdir().unwrap();
    let root = ingested(dir.path(), 2);
    // A media file whose read fails with an I/O error (as on a failing
    // disk; even root cannot read /proc/self/mem at offset 0).
    std::os::unix::fs::symlink("/proc/self/mem", root.join("media/crops/bad.jpg")).unwrap();
    let backups = dir.path().join("backups");
    std::fs::create_dir_all(&backups).unwrap();
    let dest = backups.join("tuesday");
    let cat = Catalogue::open_read_only(&root).unwrap();
    let err = cat.backup(&dest).unwrap_err().to_string();
    assert!(err.contains(&dest.display().to_string()), "{err}");
    assert!(err.contains("bad.jpg"), "{err}");
    assert!(!dest.exists(), "no partial backup");
    assert_eq!(
        std::fs::read_dir(&backups).unwrap().count(),
        0,
        "no temporary folder left"
    );
    // Into a folder that is not empty: refused, nothing touched.
    std::fs::create_dir_all(&dest).unwrap();
    std::fs::write(dest.join("notes.txt"), b"mine").unwrap();
    std::fs::remove_file(root.join("media/crops/bad.jpg")).unwrap();
    let err = cat.backup(&dest).unwrap_err().to_string();
    assert!(
        err.contains(&dest.display().to_string()) && err.contains("not empty"),
        "{err}"
    );
    assert_eq!(std::fs::read(dest.join("notes.txt")).unwrap(), b"mine");
    // Into a folder inside the catalogue (its media, say): refused.
    for inside in [root.join("media/copy"), root.join("backup")] {
        let err = cat.backup(&inside).unwrap_err().to_string();
        assert!(err.contains("inside the catalogue"), "{err}");
    }
    assert!(!root.join("backup").exists());
    assert!(!root.join("media/copy").exists());
    // Into an empty folder: made.
    std::fs::remove_file(dest.join("notes.txt")).unwrap();
    cat.backup(&dest).unwrap();
    assert!(dest.join(DB_FILE).is_file());
}

/// `args` for the whaleid CLI, run as an unprivileged user when this test
/// runs as root (whom permissions do not stop).
#[cfg(target_os = "linux")]
fn whaleid_unprivileged(args: &[&str]) -> Output {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let root = status
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .is_some_and(|l| l.split_whitespace().nth(2) == Some("0"));
    let mut cmd = if root {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"]);
        c.arg(BIN);
        c
    } else {
        Command::new(BIN)
    };
    cmd.args(args)
        .output()
        .expect("run whaleid (setpriv when root)")
}

#[cfg(target_os = "linux")]
#[test]
fn a_read_only_catalogue_folder_is_called_read_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let root = dir.path().join("cat");
    drop(Catalogue::create(&root).unwrap());
    std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o555)).unwrap();
    for args in [
        vec!["catalogue", "config", s(&root), "--observer", "Bea"],
        vec!["catalogue", "stats", s(&root)],
    ] {
        let out = whaleid_unprivileged(&args);
        let msg = text(&out);
        assert!(!out.status.success(), "{msg}");
        assert!(
            msg.contains("read-only") && msg.contains(&root.display().to_string()),
            "{args:?}: {msg}"
        );
        assert!(!msg.contains("unable to open database file"), "{msg}");
    }
    std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755)).unwrap();
}
