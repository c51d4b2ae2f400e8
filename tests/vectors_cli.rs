//! `whaleid catalogue check`, `index`, `calibrate`, `identify` and `repair`
//! on a catalogue that received an embedding of the wrong size for a pack
//! version it cannot check (issue 19 item 2): every command works, check
//! names the embedding, repair removes it and says which.

mod support;

use std::process::Output;

use whaleid::sync::apply::receive;
use whaleid_testkit::{self as kit, ops};

use support::{s, whaleid};

/// A command's standard output and standard error.
fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A box on a catalogued photo with an embedding of 3 values for the tiny
/// pack (whose have 32), confirmed as an individual already here.
fn poison(cat: &mut whaleid::catalogue::Catalogue) {
    let (photo, individual) = ops::first_photo_and_individual(cat);
    let ops = ops::careless_push(0, &photo, &individual, ("tiny", "0.1.0"), 3);
    let plan = receive(cat, &ops, "ana").unwrap();
    assert_eq!(plan.changes(), 3, "{plan:?}");
}

#[test]
fn a_vector_of_the_wrong_size_is_named_by_check_left_out_by_index_and_removed_by_repair() {
    let dir = tempfile::tempdir().unwrap();
    let cat_dir = {
        let (_, mut cat) = kit::imported(dir.path());
        poison(&mut cat);
        cat.root().to_path_buf()
    };
    let pack = kit::tiny_pack();
    let c = s(&cat_dir);

    let out = whaleid(&["catalogue", "check", c]);
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(2), "{stdout}");
    let problems: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("problem:"))
        .collect();
    assert_eq!(problems.len(), 1, "{stdout}");
    assert!(
        problems[0].contains("3 values")
            && problems[0].contains("tiny 0.1.0")
            && problems[0].contains("01a22700-0000-7000-8000-00000000d001")
            && problems[0].contains("whaleid catalogue repair"),
        "{stdout}"
    );

    // Index, calibration and identification work, the bad vector left out.
    let out = whaleid(&["catalogue", "index", c]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains("indexed 24 embeddings") && stdout.contains("1 left out"),
        "{stdout}"
    );
    assert!(stderr.contains("left out: embedding"), "{stderr}");
    let out = whaleid(&[
        "catalogue",
        "calibrate",
        c,
        "--dry-run",
        "--min-individuals",
        "2",
    ]);
    assert!(out.status.success(), "{}", text(&out).1);
    let query = dir.path().join("query.tif");
    kit::photo(4, 40, 33).save(&query).unwrap();
    let out = whaleid(&["identify", s(&query), "-c", c, "--json", "--pack", s(&pack)]);
    assert!(out.status.success(), "{}", text(&out).1);
    // A survey ingest ranks its new detections against the same gallery.
    let survey = dir.path().join("survey");
    std::fs::create_dir_all(&survey).unwrap();
    kit::photo(2, 30, 20).save(survey.join("new.png")).unwrap();
    let out = whaleid(&[
        "ingest",
        s(&survey),
        "-c",
        c,
        "--pack",
        s(&pack),
        "--threads",
        "1",
    ]);
    assert!(out.status.success(), "{}\n{}", text(&out).0, text(&out).1);

    // Repair says what it removed; then check is clean.
    let help = text(&whaleid(&["catalogue", "--help"])).0;
    assert!(help.contains("repair"), "{help}");
    let out = whaleid(&["catalogue", "repair", c]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains("removed embedding") && stdout.contains("removed 1 embedding"),
        "{stdout}"
    );
    let out = whaleid(&["catalogue", "check", c]);
    assert!(out.status.success(), "{}", text(&out).0);
    let out = whaleid(&["catalogue", "repair", c]);
    assert!(
        text(&out).0.contains("removed 0 embeddings"),
        "{}",
        text(&out).0
    );
}
