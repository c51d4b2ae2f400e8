//! `whaleid catalogue check`, `index`, `calibrate`, `identify` and `repair`
//! on a catalogue that received an embedding of the wrong size for a pack
//! version it cannot check (issue 19 item 2): every command works, check
//! names the embedding, repair removes it and says which.

use std::path::Path;
use std::process::{Command, Output};

use whaleid::sync::apply::receive;
use whaleid::sync::hlc::{wall_millis, Hlc};
use whaleid::sync::ops::{Change, DecisionSource, Op, Verdict};
use whaleid_testkit as kit;

fn whaleid(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_whaleid"))
        .args(args)
        .output()
        .expect("run whaleid")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A box on a catalogued photo with an embedding of 3 values for the tiny
/// pack (whose have 32), confirmed as an individual already here.
fn poison(cat: &mut whaleid::catalogue::Catalogue) {
    let (photo, individual): (String, String) = kit::sql(cat)
        .query_row(
            "SELECT p.uuid, i.uuid FROM photos p, individuals i ORDER BY p.id, i.id LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let op = |n: u32, change: Change| Op {
        id: format!("01a22700-0000-7000-8000-{n:012x}"),
        hlc: Hlc {
            millis: wall_millis(),
            counter: n,
            node: 99,
        },
        author: "mallory".into(),
        change,
    };
    let detection = "01a22700-0000-7000-8000-00000000d001".to_string();
    let ops = vec![
        op(
            1,
            Change::DetectionAdded {
                detection: detection.clone(),
                photo,
                bbox: [1.0, 1.0, 9.0, 7.0],
                class: "fin".into(),
                score: None,
                crop: None,
                species: None,
                drawn_by: Some("mallory".into()),
                replaces: None,
            },
        ),
        op(
            2,
            Change::EmbeddingAdded {
                detection: detection.clone(),
                pack_name: "tiny".into(),
                pack_version: "0.1.0".into(),
                vector: vec![0.5, 0.25, 0.125],
            },
        ),
        op(
            3,
            Change::Decided {
                decision: "01a22700-0000-7000-8000-00000000d002".into(),
                detection,
                individual,
                verdict: Verdict::Confirmed,
                source: DecisionSource::Person,
                score: None,
            },
        ),
    ];
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
