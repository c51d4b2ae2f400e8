//! The labels CSV as careless and hostile hands write it (issue 19): an
//! image under two individuals is a conflict named with both lines and
//! both ids, problems name the file and the line the record starts on,
//! boxes are finite, and no text whatever makes the parser panic or fail
//! without naming the file and a line (`fuzz_labels_csv`). A photo whose
//! content is labelled twice under two names is named too, at import.

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use whaleid::ingest::labels::read_csv;
use whaleid::ingest::{self, ImportOptions, Labelled};
use whaleid::Error;
use whaleid_testkit as kit;

fn write_csv(dir: &Path, text: &[u8]) -> PathBuf {
    let csv = dir.join("labels.csv");
    std::fs::write(&csv, text).unwrap();
    csv
}

#[test]
fn an_image_listed_under_two_individuals_is_a_conflict_naming_both_lines_and_ids() {
    let dir = tempfile::tempdir().unwrap();
    let csv = write_csv(
        dir.path(),
        b"image,species,individual_id\n\
          a.jpg,beluga,W1\n\
          b.jpg,beluga,W2\n\
          a.jpg,beluga,W3\n",
    );
    let err = read_csv(&csv, Path::new("/imgs")).unwrap_err();
    assert!(
        matches!(&err, Error::Labels { path, .. } if *path == csv),
        "{err:?}"
    );
    let msg = err.to_string();
    for part in ["labels.csv", "a.jpg", "W1", "W3", "line 2", "line 4"] {
        assert!(msg.contains(part), "{part} missing: {msg}");
    }
    // The same image twice under the same individual is no conflict.
    let csv = write_csv(
        dir.path(),
        b"image,individual_id\na.jpg,W1\n./a.jpg,W1\nb.jpg,W2\n",
    );
    assert_eq!(read_csv(&csv, Path::new("/imgs")).unwrap().len(), 3);
}

#[test]
fn problems_name_the_line_their_record_starts_on() {
    let dir = tempfile::tempdir().unwrap();
    // A quoted field across two lines: the bad record starts on line 4.
    let csv = write_csv(
        dir.path(),
        b"image,individual_id,box\n\"odd\nname.jpg\",W1,\nc.jpg,W2,1 2 3\n",
    );
    let err = read_csv(&csv, Path::new("/imgs")).unwrap_err().to_string();
    assert!(err.contains("line 4:"), "{err}");
}

#[test]
fn a_box_must_have_finite_coordinates() {
    let dir = tempfile::tempdir().unwrap();
    for b in ["1 2 inf inf", "-inf 0 5 5", "NaN 1 2 3", "1 2 3e39 4e39"] {
        let csv = write_csv(
            dir.path(),
            format!("image,individual_id,box\na.jpg,W1,{b}\n").as_bytes(),
        );
        let err = read_csv(&csv, Path::new("/imgs")).unwrap_err().to_string();
        assert!(err.contains("line 2") && err.contains(b), "{b}: {err}");
    }
}

#[test]
fn one_photo_under_two_names_and_two_individuals_is_named_at_import() {
    let dir = tempfile::tempdir().unwrap();
    let items = kit::labelled(&dir.path().join("imgs"), &[1]);
    let copy = dir.path().join("imgs/copy of k1_0.png");
    std::fs::copy(&items[0].path, &copy).unwrap();
    let mut items = items;
    items.push(Labelled {
        path: copy.clone(),
        individual: "W9".into(),
        ..items[0].clone()
    });
    let mut cat = whaleid::catalogue::Catalogue::create(dir.path().join("cat")).unwrap();
    let report = ingest::import(
        &mut cat,
        &kit::pipeline(),
        &items,
        &ImportOptions::default(),
        &mut |_| {},
        &whaleid::CancelToken::new(),
    )
    .unwrap();
    assert_eq!(report.imported, 3);
    assert_eq!(report.failed.len(), 1, "{report:?}");
    let (path, reason) = &report.failed[0];
    assert_eq!(path, &copy);
    for part in ["k1_0.png", "W1", "W9"] {
        assert!(reason.contains(part), "{part} missing: {reason}");
    }
}

/// The line count of `text` as the CSV reader counts them.
fn lines(text: &[u8]) -> u64 {
    text.iter().filter(|&&b| b == b'\n').count() as u64 + 1
}

/// What a parse of `text` must give: rows that obey the rules, or an
/// error that names the file and a line of it.
fn check_parse(text: &[u8]) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let csv = write_csv(dir.path(), text);
    let images = Path::new("/imgs");
    match read_csv(&csv, images) {
        Ok(rows) => {
            let mut seen = std::collections::HashMap::new();
            for r in &rows {
                prop_assert!(!r.individual.trim().is_empty());
                prop_assert!(r.path.starts_with(images) && r.path != images);
                if let Some(b) = r.bbox {
                    prop_assert!(
                        [b.x1, b.y1, b.x2, b.y2].iter().all(|v| v.is_finite())
                            && b.x2 > b.x1
                            && b.y2 > b.y1,
                        "{b:?}"
                    );
                }
                let first = seen.entry(r.path.clone()).or_insert(&r.individual);
                prop_assert_eq!(*first, &r.individual, "one image, two individuals");
            }
        }
        Err(Error::Labels { path, reason }) => {
            prop_assert_eq!(&path, &csv);
            let line: u64 = reason
                .strip_prefix("line ")
                .and_then(|r| r.split(':').next())
                .and_then(|n| n.parse().ok())
                .ok_or_else(|| TestCaseError::fail(format!("no line: {reason}")))?;
            prop_assert!(
                (1..=lines(text)).contains(&line),
                "line {} of {}: {}",
                line,
                lines(text),
                reason
            );
        }
        Err(other) => prop_assert!(false, "not a labels error: {other:?}"),
    }
    Ok(())
}

/// A field as people and tools write them, odd ones included.
fn field() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9_.]{1,12}",
        "[a-z]{1,6}\\.(jpg|png)",
        Just(String::new()),
        Just(" ".into()),
        Just("\"quoted, with comma\"".into()),
        Just("\"two\nlines\"".into()),
        Just("\"".into()),
        Just("1 2 30 40".into()),
        Just("1,2,30,40".into()),
        Just("5 5 1 1".into()),
        Just("inf 0 1 1".into()),
        Just("NaN NaN NaN NaN".into()),
        Just("1e39 0 2e39 1".into()),
        Just("W1".into()),
        Just("W2".into()),
        Just("a.jpg".into()),
        Just("ü\u{feff}\u{1b}[31m".into()),
        ".{0,8}",
    ]
}

const COLUMNS: &[&str] = &[
    "image",
    "species",
    "individual_id",
    "box",
    "fin_or_body_box_x1_y1_x2_y2",
    "fullbody_box_x1_y1_x2_y2",
    "other",
];

/// A CSV with a header of known and unknown columns and rows of odd fields.
fn labels_text() -> impl Strategy<Value = Vec<u8>> {
    (
        proptest::sample::subsequence(COLUMNS, 0..=COLUMNS.len()).prop_shuffle(),
        proptest::collection::vec(proptest::collection::vec(field(), 0..8), 0..8),
        prop_oneof![Just("\n"), Just("\r\n"), Just("\r")],
    )
        .prop_map(|(header, rows, eol)| {
            let mut text = header.join(",");
            for row in rows {
                text += eol;
                text += &row.join(",");
            }
            text.into_bytes()
        })
}

/// Damage as files get it: bytes inserted, removed or overwritten.
fn mutated() -> impl Strategy<Value = Vec<u8>> {
    (
        labels_text(),
        proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0..3u8), 0..6),
    )
        .prop_map(|(mut text, edits)| {
            for (at, byte, how) in edits {
                if text.is_empty() {
                    text.push(byte);
                    continue;
                }
                let i = at.index(text.len());
                match how {
                    0 => text.insert(i, byte),
                    1 => {
                        text.remove(i);
                    }
                    _ => text[i] = byte,
                }
            }
            text
        })
}

proptest! {
    #[test]
    fn fuzz_labels_csv(text in prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..300),
        labels_text(),
        mutated(),
    ]) {
        check_parse(&text)?;
    }
}
