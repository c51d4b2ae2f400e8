//! Individual codes and user-written text (issue 19 item 4): one rule for
//! codes wherever one enters a catalogue (import, naming, rename, receive),
//! terminal escapes never printed raw by the CLI, and spreadsheet formulas
//! neutralised in the CSV export.

mod support;

use std::path::Path;

use whaleid::catalogue::Catalogue;
use whaleid::ingest::labels;
use whaleid::sync::hlc::Hlc;
use whaleid::sync::ops::{Change, Op};
use whaleid_testkit as kit;

use support::{labelled_import, s, tiny_pack_args, whaleid};

const ESC: char = '\u{1b}';

/// Codes that a catalogue must never take: what the issue reproduced (a
/// 10,000-character code, a newline, a terminal escape) and their
/// relatives (a right-to-left override, untrimmed, empty).
fn hostile_codes() -> Vec<(String, &'static str)> {
    vec![
        ("W".repeat(10_000), "characters"),
        ("W1\nW2".into(), "control"),
        (format!("W{ESC}[31m1"), "control"),
        ("W1\u{202e}2".into(), "invisible"),
        ("W\u{7f}1".into(), "control"),
    ]
}

#[test]
fn a_csv_code_too_long_or_with_control_characters_is_refused_naming_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("images")).unwrap();
    for (code, why) in hostile_codes() {
        let csv = dir.path().join("train.csv");
        let mut w = csv::Writer::from_path(&csv).unwrap();
        w.write_record(["image", "species", "individual_id"])
            .unwrap();
        w.write_record(["a.jpg", "beluga", "W0"]).unwrap();
        w.write_record(["b.jpg", "beluga", &code]).unwrap();
        w.flush().unwrap();
        let err = labels::read_csv(&csv, &dir.path().join("images"))
            .map(|items| format!("{} items read", items.len()))
            .expect_err(&format!("code {:?} must be refused", clip(&code)));
        let text = err.to_string();
        assert!(text.contains("train.csv"), "{text}");
        assert!(text.contains("line 3"), "{text}");
        assert!(text.contains("individual_id"), "{text}");
        assert!(text.contains(why), "{text}");
        assert!(!text.contains(ESC) && !text.contains('\n'), "{text:?}");
        assert!(
            text.chars().count() < 300,
            "the message clips the code: {text}"
        );
    }
}

#[test]
fn a_folder_name_that_is_no_code_is_refused_naming_the_folder() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join(format!("W{ESC}[2J1"));
    std::fs::create_dir_all(&bad).unwrap();
    kit::photo(1, 10, 10).save(bad.join("a.png")).unwrap();
    let err = labels::read_folders(dir.path(), None)
        .map(|items| format!("{} items read", items.len()))
        .unwrap_err()
        .to_string();
    assert!(err.contains("control"), "{err}");
    assert!(!err.contains(ESC), "{err:?}");
}

fn clip(s: &str) -> String {
    s.chars().take(20).collect()
}

#[test]
fn naming_renaming_and_splitting_follow_the_code_rule() {
    let dir = tempfile::tempdir().unwrap();
    let mut cat = Catalogue::create(dir.path().join("cat")).unwrap();
    cat.ensure_individual("W0", None).unwrap();
    for (code, why) in hostile_codes() {
        let err = cat
            .ensure_individual(&code, None)
            .map(|id| format!("created #{id}"))
            .unwrap_err();
        assert_eq!(err.kind(), whaleid::ErrorKind::Invalid, "{err}");
        assert!(err.to_string().contains(why), "{err}");
        let err = cat
            .rename("W0", &code, None)
            .map(|e| format!("event {}", e.id))
            .unwrap_err();
        assert!(err.to_string().contains(why), "{err}");
    }
    assert_eq!(cat.individual("W0").unwrap().code, "W0");
    // Surrounding spaces are taken off, as at import.
    cat.rename("W0", "  W0b ", None).unwrap();
    assert_eq!(cat.individual("W0b").unwrap().code, "W0b");
    // The longest code the rule allows is taken, one more is not.
    let longest = "L".repeat(whaleid::sync::ops::MAX_TEXT);
    cat.rename("W0b", &longest, None).unwrap();
    let err = cat
        .rename(&longest, &format!("{longest}L"), None)
        .map(|e| format!("event {}", e.id))
        .unwrap_err();
    assert!(err.to_string().contains("characters"), "{err}");
}

fn create(code: &str) -> Op {
    Op {
        id: "01a22700-0000-7000-8000-0000000000a1".into(),
        hlc: Hlc {
            millis: 1_700_000_000_000,
            counter: 0,
            node: 1,
        },
        author: "ana".into(),
        change: Change::IndividualCreated {
            individual: "01a22700-0000-7000-8000-0000000000a2".into(),
            code: code.into(),
            species: None,
        },
    }
}

#[test]
fn received_codes_follow_the_same_rule_and_the_refusal_shows_no_raw_escape() {
    assert_eq!(create("W1").validate(), Ok(()));
    for (code, why) in hostile_codes()
        .into_iter()
        .chain([(" W1".to_string(), "spaces")])
    {
        let why_refused = create(&code).validate().unwrap_err();
        assert!(why_refused.contains(why), "{why_refused}");
        assert!(!why_refused.contains(ESC), "{why_refused:?}");
        let mut renamed = create("W1");
        renamed.change = Change::IndividualRenamed {
            individual: "01a22700-0000-7000-8000-0000000000a2".into(),
            code,
        };
        assert!(renamed.validate().unwrap_err().contains(why));
    }
}

/// The drawn labelled catalogue, made through the CLI, with the pack's
/// arguments for later commands.
fn cli_catalogue(dir: &Path) -> (std::path::PathBuf, Vec<String>) {
    let (cat, import) = labelled_import(dir, &[]);
    let out = whaleid(&import);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (cat, tiny_pack_args())
}

#[test]
fn the_command_line_never_prints_a_user_written_terminal_escape_raw() {
    let dir = tempfile::tempdir().unwrap();
    let (cat_dir, pack_args) = cli_catalogue(dir.path());

    // A CSV whose code carries an escape is refused, and the refusal does
    // not carry the escape to the terminal.
    let csv = dir.path().join("evil.csv");
    std::fs::write(
        &csv,
        format!(
            "image,individual_id\nind0_0.png,W{ESC}]0;pwned{}\n",
            '\u{7}'
        ),
    )
    .unwrap();
    let mut args = vec!["catalogue", "import", s(&cat_dir), "--labels", s(&csv)];
    let images = dir.path().join("images");
    args.extend(["--images", s(&images)]);
    let out = whaleid(&args);
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("evil.csv") && err.contains("line 2"), "{err}");
    assert!(!err.contains(ESC) && !err.contains('\u{7}'), "{err:?}");

    // A catalogue made before the rule may hold such a code, and photos
    // may have such names: identify shows both escaped.
    let cat = Catalogue::open(&cat_dir).unwrap();
    // The 8-bit CSI (U+009B) is a control JSON leaves raw.
    let evil_code = format!("W{ESC}[31m\u{9b}004");
    kit::sql(&cat)
        .execute(
            "UPDATE individuals SET code = ?1 WHERE code = 'W004'",
            [&evil_code],
        )
        .unwrap();
    drop(cat);
    let query = dir.path().join(format!("q{ESC}[2J.tif"));
    kit::photo(4, 40, 33).save(&query).unwrap();
    let mut args = vec![
        "identify",
        s(&query),
        "-c",
        s(&cat_dir),
        "--threshold",
        "0.5",
    ];
    args.extend(pack_args.iter().map(String::as_str));
    let out = whaleid(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(!table.contains(ESC), "{table:?}");
    assert!(
        table.contains("W\\u{1b}[31m\\u{9b}004"),
        "the code, escaped: {table}"
    );
    assert!(
        table.contains("q\\u{1b}[2J.tif"),
        "the file, escaped: {table}"
    );
    // As JSON: the same values, with nothing raw a terminal would act on.
    args.push("--json");
    let out = whaleid(&args);
    let json = String::from_utf8(out.stdout).unwrap();
    assert!(!json.contains(ESC) && !json.contains('\u{9b}'), "{json:?}");
    let line: serde_json::Value = serde_json::from_str(json.lines().next().unwrap()).unwrap();
    assert_eq!(line["file"], s(&query));
    assert!(
        line["top5"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["individual"] == evil_code.as_str()),
        "{line}"
    );

    // `individual show` of a merged individual names what it was merged into.
    let out = whaleid(&["individual", "merge", "-c", s(&cat_dir), "W005", &evil_code]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = whaleid(&["individual", "show", "-c", s(&cat_dir), "W005"]);
    let shown = String::from_utf8(out.stdout).unwrap();
    assert!(
        shown.contains("merged into W\\u{1b}[31m\\u{9b}004"),
        "{shown}"
    );
    assert!(!shown.contains(ESC), "{shown:?}");

    // Errors that name a path the user typed.
    let missing = dir.path().join(format!("no{ESC}[2Jsuch"));
    let out = whaleid(&["catalogue", "stats", s(&missing)]);
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("no\\u{1b}[2Jsuch"), "{err}");
    assert!(!err.contains(ESC), "{err:?}");
}

#[test]
fn the_csv_export_neutralises_formulas_and_keeps_numbers_numeric() {
    let dir = tempfile::tempdir().unwrap();
    let (_, cat) = kit::imported(dir.path());
    let sql = kit::sql(&cat);
    sql.execute(
        "UPDATE individuals SET code = '=HYPERLINK(\"http://x\",\"y\")' WHERE code = 'W001'",
        [],
    )
    .unwrap();
    sql.execute(
        "UPDATE individuals SET code = '-2+3' WHERE code = 'W002'",
        [],
    )
    .unwrap();
    sql.execute(
        "UPDATE individuals SET species = '@SUM(A1)' WHERE code = 'W003'",
        [],
    )
    .unwrap();
    sql.execute("UPDATE identifications SET decided_by = '+ana'", [])
        .unwrap();
    sql.execute("UPDATE photos SET latitude = -33.5, longitude = -70.25", [])
        .unwrap();
    let out = dir.path().join("out.csv");
    let rows = cat.export_csv(&out).unwrap();
    assert_eq!(rows, 24);
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(
        text.starts_with(
            "photo,photo_sha256,taken_at,latitude,longitude,encounter,detection,x1,y1,x2,y2,individual,species,decision,decided_by,score,detection_number\n"
        ),
        "the header is unchanged: {text}"
    );
    let mut reader = csv::Reader::from_path(&out).unwrap();
    let headers = reader.headers().unwrap().clone();
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    let records: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    let individuals: Vec<&str> = records.iter().map(|r| &r[col("individual")]).collect();
    assert!(
        individuals.contains(&"'=HYPERLINK(\"http://x\",\"y\")"),
        "{individuals:?}"
    );
    assert!(individuals.contains(&"'-2+3"), "{individuals:?}");
    assert!(
        individuals.contains(&"W000"),
        "plain codes stay: {individuals:?}"
    );
    let species: Vec<&str> = records.iter().map(|r| &r[col("species")]).collect();
    assert!(species.contains(&"'@SUM(A1)"), "{species:?}");
    for r in &records {
        assert_eq!(&r[col("decided_by")], "'+ana");
        assert_eq!(&r[col("latitude")], "-33.5", "numbers stay numbers");
        assert_eq!(&r[col("longitude")], "-70.25");
        for cell in r.iter() {
            assert!(
                !cell.starts_with(['=', '+', '@']),
                "no cell starts a formula: {r:?}"
            );
            assert!(
                !cell.starts_with('-') || cell.parse::<f64>().is_ok(),
                "only numbers start with a minus: {r:?}"
            );
        }
    }
}

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    /// A cell: mostly code-like text, sometimes hostile characters,
    /// quotes, separators and line breaks.
    fn cell() -> impl Strategy<Value = String> {
        prop_oneof![
            "[A-Za-z0-9 _-]{0,12}",
            "[\\PC\\x00-\\x1f\\u{7f}\\u{9b}\\u{202e}\",;\\r\\n ]{0,12}",
            Just("W".repeat(250)),
        ]
    }

    proptest! {
        /// Whatever a labels CSV holds, reading it either gives items whose
        /// codes all pass the one rule, or an error that names the file
        /// (and, past the header, the line), escaped; it never panics.
        #[test]
        fn fuzz_labels_csv(
            header in prop_oneof![
                Just("image,species,individual_id,box".to_string()),
                Just("image,individual_id".to_string()),
                cell(),
            ],
            rows in proptest::collection::vec(proptest::collection::vec(cell(), 0..5), 0..6),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let csv = dir.path().join("labels.csv");
            let mut text = header;
            for row in &rows {
                text.push('\n');
                text.push_str(&row.join(","));
            }
            std::fs::write(&csv, &text).unwrap();
            match labels::read_csv(&csv, dir.path()) {
                Ok(items) => {
                    for item in items {
                        prop_assert!(
                            whaleid::catalogue::codes::check_code(&item.individual).is_ok(),
                            "{:?}", item.individual
                        );
                    }
                }
                Err(e) => {
                    let message = e.to_string();
                    prop_assert!(matches!(e, whaleid::Error::Labels { .. }), "{:?}", e);
                    prop_assert!(message.contains("labels.csv"), "{}", message);
                    prop_assert!(message.contains("line "), "{}", message);
                    let after_path = &message[message.find("labels.csv").unwrap()..];
                    prop_assert!(
                        !after_path.contains(['\u{1b}', '\u{9b}', '\u{202e}']),
                        "{:?}", message
                    );
                }
            }
        }
    }
}
