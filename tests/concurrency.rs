//! Two writers and a backup against one catalogue at once (issue 19, item
//! 11): two `whaleid ingest` runs of the same folder start together while a
//! `catalogue backup` is taken in the middle. One catalogue has one writer
//! process at a time: the later ingest is refused with the lock's message
//! (or, when the first has already finished, finds everything known), and
//! never dies on a raw SQLite constraint. Afterwards the strengthened
//! `catalogue check` passes on the catalogue and on the backup, and no
//! photo, crop or thumbnail is lost.

mod support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};
use whaleid::catalogue::DB_FILE;
use whaleid_testkit::{committed_photos, names_in, survey_photos};

use support::{ingest_args, s, text, whaleid, BIN};

fn spawn(args: &[String]) -> Child {
    Command::new(BIN)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run whaleid")
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
    let n = 40;
    survey_photos(&photos, n, 7);
    let cat = dir.path().join("cat");
    let db = cat.join(DB_FILE);
    let args = ingest_args(&photos, &cat, &["--batch", "2"]);
    let first = spawn(&args);
    let second = spawn(&args);

    // A backup while photos are being committed.
    let started = Instant::now();
    while committed_photos(&cat) < 4 {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "no ingest committed anything"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let backup = dir.path().join("backup");
    let out = whaleid(&["catalogue", "backup", s(&cat), s(&backup)]);
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
    let thumbs = names_in(&cat.join("media/thumbs"))
        .iter()
        .filter(|n| n.ends_with(".jpg"))
        .count();
    assert_eq!(thumbs, n as usize);
    let check = |root: &Path| {
        let out = whaleid(&["catalogue", "check", s(root)]);
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
