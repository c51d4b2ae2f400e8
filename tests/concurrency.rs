//! Two writers and a backup against one catalogue at once (issue 19, item
//! 11): two `whaleid ingest` runs of the same folder start together while a
//! `catalogue backup` is taken in the middle. One catalogue has one writer
//! process at a time: the later ingest is refused with the lock's message
//! (or, when the first has already finished, finds everything known), and
//! never dies on a raw SQLite constraint. Afterwards the strengthened
//! `catalogue check` passes on the catalogue and on the backup, and no
//! photo, crop or thumbnail is lost.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};
use whaleid::catalogue::DB_FILE;
use whaleid_testkit::{pack_dir, photo};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn spawn(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_whaleid"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run whaleid")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Photos committed so far, read as an outsider would (0 while the file is
/// not there yet).
fn committed(db: &Path) -> i64 {
    Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .and_then(|c| c.query_row("SELECT count(*) FROM photos", [], |r| r.get(0)))
        .unwrap_or(0)
}

fn count(db: &Path, sql: &str) -> i64 {
    Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap()
        .query_row(sql, [], |r| r.get(0))
        .unwrap()
}

#[test]
fn two_ingests_and_a_backup_at_once_lose_nothing_and_both_pass_check() {
    let dir = tempfile::tempdir().unwrap();
    let photos = dir.path().join("photos");
    std::fs::create_dir_all(&photos).unwrap();
    let n = 40;
    for i in 0..n {
        photo(i % 7, 5 + (i * 7) % 120, 5 + (i * 13) % 90)
            .save(photos.join(format!("p{i:03}.png")))
            .unwrap();
    }
    let cat = dir.path().join("cat");
    let db = cat.join(DB_FILE);
    let pack = pack_dir("tiny");
    let args = [
        "ingest",
        s(&photos),
        "-c",
        s(&cat),
        "--pack",
        s(&pack),
        "--threads",
        "1",
        "--batch",
        "2",
    ];
    let first = spawn(&args);
    let second = spawn(&args);

    // A backup while photos are being committed.
    let started = Instant::now();
    while committed(&db) < 4 {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no ingest committed anything"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let backup = dir.path().join("backup");
    let out = Command::new(env!("CARGO_BIN_EXE_whaleid"))
        .args(["catalogue", "backup", s(&cat), s(&backup)])
        .output()
        .unwrap();
    assert!(out.status.success(), "backup: {}", text(&out));

    let outs = [
        first.wait_with_output().unwrap(),
        second.wait_with_output().unwrap(),
    ];
    let mut finished = 0;
    for out in &outs {
        let all = text(out);
        assert!(!all.contains("UNIQUE"), "{all}");
        if out.status.success() {
            finished += 1;
        } else {
            assert!(
                all.contains("in use by process") && all.contains(s(&cat)),
                "a refused ingest says who holds the catalogue: {all}"
            );
        }
    }
    assert!(finished >= 1, "{:?}", outs.each_ref().map(text));

    // Everything once: photos, crops, thumbnails.
    assert_eq!(count(&db, "SELECT count(*) FROM photos"), n as i64);
    assert_eq!(
        count(&db, "SELECT count(DISTINCT sha256) FROM photos"),
        n as i64
    );
    let thumbs = std::fs::read_dir(cat.join("media/thumbs"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".jpg")
        })
        .count();
    assert_eq!(thumbs, n as usize);
    let check = |root: &Path| {
        let out = Command::new(env!("CARGO_BIN_EXE_whaleid"))
            .args(["catalogue", "check", s(root)])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "check {}: {}",
            root.display(),
            text(&out)
        );
    };
    check(&cat);
    check(&backup);
    let in_backup = count(&backup.join(DB_FILE), "SELECT count(*) FROM photos");
    assert!((4..=n as i64).contains(&in_backup), "{in_backup}");
}
