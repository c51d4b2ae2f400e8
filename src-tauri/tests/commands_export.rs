//! The publication exports of the Export screen (issue 16) through the IPC
//! as the UI calls them, on Tauri's mock runtime with a real catalogue: a
//! Darwin Core Archive read back with python-dwca-reader, MARK capture
//! histories checked against histories worked out by hand, the Wildbook
//! sheet and the SOCPROG tables counted, each with its filter, what it
//! left out and why, and bad input refused naming the value.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};
use whaleid::catalogue::attributes::{Distinctiveness, Edit, Quality};
use whaleid::catalogue::Catalogue;
use whaleid_testkit::{self as kit, dwca_records, import_all, labelled, pipeline};

use support::{app, invoke};

/// Three humpbacks, three photos each (`k{K}_{J}.png` of `W{K}`), placed
/// off Skye: W1 on 1 and 3 June, W2 on 2 June (k2_1 with no position,
/// k2_2 undated), W3 on 3 June. k1_0 is graded Q1 D1, k2_0 Q2 D2, k2_1 Q1.
/// Returns the catalogue and each photo's detection UUID by file name.
fn catalogue(dir: &Path) -> (PathBuf, BTreeMap<String, String>) {
    let root = dir.join("catalogue");
    let mut cat = Catalogue::create(&root).unwrap();
    import_all(&mut cat, &pipeline(), &labelled(&dir.join("p"), &[1, 2, 3]));
    let db = kit::sql(&cat);
    db.execute_batch(
        "UPDATE photos SET latitude = 57.25, longitude = -6.5;
         UPDATE photos SET taken_at = CASE
             WHEN original_path LIKE '%k1_0.png' THEN '2024-06-01T09:00:00'
             WHEN original_path LIKE '%k1_1.png' THEN '2024-06-01T09:30:00'
             WHEN original_path LIKE '%k1_2.png' THEN '2024-06-03T10:00:00'
             WHEN original_path LIKE '%k2_0.png' THEN '2024-06-02T11:00:00'
             WHEN original_path LIKE '%k2_1.png' THEN '2024-06-02T11:10:00'
             WHEN original_path LIKE '%k2_2.png' THEN NULL
             ELSE '2024-06-03T12:00:00' END;
         UPDATE photos SET latitude = NULL, longitude = NULL WHERE original_path LIKE '%k2_1.png';
         UPDATE individuals SET species = 'humpback_whale';",
    )
    .unwrap();
    let mut detections = BTreeMap::new();
    let mut stmt = db
        .prepare("SELECT p.original_path, d.uuid, d.id FROM detections d JOIN photos p ON p.id = d.photo_id")
        .unwrap();
    let rows: Vec<(String, String, i64)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for (path, uuid, id) in rows {
        let name = Path::new(&path).file_name().unwrap().to_string_lossy();
        let edits: &[Edit] = match name.as_ref() {
            "k1_0.png" => &[
                Edit::Quality(Quality::Q1),
                Edit::Distinctiveness(Distinctiveness::D1),
            ],
            "k2_0.png" => &[
                Edit::Quality(Quality::Q2),
                Edit::Distinctiveness(Distinctiveness::D2),
            ],
            "k2_1.png" => &[Edit::Quality(Quality::Q1)],
            _ => &[],
        };
        if !edits.is_empty() {
            cat.set_attributes(id, edits, "Ana").unwrap();
        }
        detections.insert(name.into_owned(), uuid);
    }
    assert_eq!(detections.len(), 9);
    (root, detections)
}

fn no_filter() -> Value {
    json!({ "species": [], "from": null, "to": null, "minQuality": null, "distinctiveness": [] })
}

fn dataset() -> Value {
    json!({ "title": "Skye humpbacks 2024", "contact": "Ana Ruiz <ana@example.org>", "licence": "CC-BY-4.0" })
}

#[test]
fn a_dwc_archive_from_the_export_command_reads_back_with_python_dwca_reader() {
    let dir = tempfile::tempdir().unwrap();
    let (root, detections) = catalogue(dir.path());
    let (_app, window) = app(&dir.path().join("config"));
    invoke(&window, "catalogue_open", json!({ "path": root })).unwrap();

    let zip = dir.path().join("skye.zip");
    let mut filter = no_filter();
    filter["minQuality"] = json!("Q2");
    let r = invoke(
        &window,
        "export_dwca",
        json!({ "path": zip, "filter": filter, "dataset": dataset() }),
    )
    .unwrap();
    assert_eq!(r["rows"], 2, "{r}");
    assert_eq!(r["unit"], "occurrence");
    assert_eq!(r["path"], zip.to_string_lossy().as_ref());
    // k2_1 is graded Q1 but has no position: listed, never guessed.
    let left = r["leftOut"].as_array().unwrap();
    assert_eq!(left.len(), 1, "{r}");
    assert!(
        left[0]["sighting"].as_str().unwrap().ends_with("k2_1.png"),
        "{r}"
    );
    assert_eq!(left[0]["reasons"], json!(["no position"]));

    let records: Vec<Value> = serde_json::from_str(&dwca_records(&zip)).unwrap();
    let mut ids: Vec<&str> = records.iter().map(|r| r["id"].as_str().unwrap()).collect();
    ids.sort();
    let mut want = vec![
        detections["k1_0.png"].as_str(),
        detections["k2_0.png"].as_str(),
    ];
    want.sort();
    assert_eq!(ids, want);
    for r in &records {
        assert_eq!(r["scientificName"], "Megaptera novaeangliae", "{r}");
        assert_eq!(r["decimalLatitude"], "57.25", "{r}");
        assert!(!r["organismID"].as_str().unwrap().is_empty(), "{r}");
    }

    // Distinctiveness D2 only: k2_0 alone.
    let mut filter = no_filter();
    filter["distinctiveness"] = json!(["D2"]);
    let r = invoke(
        &window,
        "export_dwca",
        json!({ "path": zip, "filter": filter, "dataset": dataset() }),
    )
    .unwrap();
    assert_eq!(
        (r["rows"].clone(), r["leftOut"].clone()),
        (json!(1), json!([]))
    );
    let records: Vec<Value> = serde_json::from_str(&dwca_records(&zip)).unwrap();
    assert_eq!(records[0]["id"], detections["k2_0.png"].as_str());
}

#[test]
fn bad_export_input_is_refused_naming_the_value_or_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let (root, _) = catalogue(dir.path());
    let (_app, window) = app(&dir.path().join("config"));
    invoke(&window, "catalogue_open", json!({ "path": root })).unwrap();
    let zip = dir.path().join("out.zip");
    let refused = |cmd: &str, args: Value, needle: &str| {
        let err = invoke(&window, cmd, args).unwrap_err();
        assert_eq!(err["kind"], "invalid", "{cmd}: {err}");
        let message = err["message"].as_str().unwrap();
        assert!(message.contains(needle), "{cmd}: {message}");
    };
    let mut licence = dataset();
    licence["licence"] = json!("GPL-3.0");
    refused(
        "export_dwca",
        json!({ "path": zip, "filter": no_filter(), "dataset": licence }),
        "GPL-3.0",
    );
    let mut quality = no_filter();
    quality["minQuality"] = json!("Q9");
    refused(
        "export_wildbook",
        json!({ "path": zip, "filter": quality }),
        "Q9",
    );
    let mut dates = no_filter();
    dates["from"] = json!("2024-06-31");
    refused(
        "export_socprog",
        json!({ "path": zip, "filter": dates }),
        "2024-06-31",
    );
    let surveys = json!({ "occasions": "surveys", "surveys": [{ "from": "2024-06-03", "to": "2024-06-01" }], "groups": null, "comments": false });
    refused(
        "export_mark",
        json!({ "path": zip, "filter": no_filter(), "choices": surveys }),
        "2024-06-03",
    );
    assert!(!zip.exists(), "nothing is written for refused input");
    // A folder that does not exist: the error names the file.
    let nowhere = dir.path().join("no such folder").join("out.csv");
    let err = invoke(
        &window,
        "export_wildbook",
        json!({ "path": nowhere, "filter": no_filter() }),
    )
    .unwrap_err();
    assert!(
        err["message"].as_str().unwrap().contains("no such folder"),
        "{err}"
    );
}

/// MARK's `.inp` lines as (comment, history, frequencies).
fn inp(path: &Path) -> Vec<(String, String, String)> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with("/* occasions"))
        .map(|l| {
            let l = l.strip_suffix(';').expect("a history ends with ;");
            let (code, rest) = match l.strip_prefix("/* ") {
                Some(c) => {
                    let (code, rest) = c.split_once(" */ ").unwrap();
                    (code.to_string(), rest)
                }
                None => (String::new(), l),
            };
            let (history, freq) = rest.split_once(' ').unwrap();
            (code, history.to_string(), freq.to_string())
        })
        .collect()
}

#[test]
fn mark_histories_from_the_export_command_are_the_ones_worked_out_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    let (root, _) = catalogue(dir.path());
    let (_app, window) = app(&dir.path().join("config"));
    invoke(&window, "catalogue_open", json!({ "path": root })).unwrap();
    let path = dir.path().join("skye.inp");
    let choices = |occasions: &str, surveys: Value, groups: Value| json!({ "occasions": occasions, "surveys": surveys, "groups": groups, "comments": true });

    // Days: 1, 2 and 3 June. W1 on the 1st and 3rd, W2 on the 2nd (its
    // undated k2_2 left out), W3 on the 3rd.
    let r = invoke(
        &window,
        "export_mark",
        json!({ "path": path, "filter": no_filter(), "choices": choices("days", json!([]), Value::Null) }),
    )
    .unwrap();
    assert_eq!(
        (r["rows"].clone(), r["unit"].clone()),
        (json!(3), json!("individual"))
    );
    assert_eq!(
        r["notes"][0],
        "3 occasions: 2024-06-01, 2024-06-02, 2024-06-03"
    );
    let left = r["leftOut"].as_array().unwrap();
    assert_eq!(left.len(), 1, "{r}");
    assert!(left[0]["sighting"].as_str().unwrap().contains("W2"), "{r}");
    assert_eq!(left[0]["reasons"], json!(["no date"]));
    assert_eq!(
        inp(&path),
        [
            ("W1".into(), "101".into(), "1".into()),
            ("W2".into(), "010".into(), "1".into()),
            ("W3".into(), "001".into(), "1".into()),
        ]
    );

    // Two surveys, grouped by distinctiveness: W1 D1, W2 D2, W3 ungraded.
    let surveys = json!([
        { "from": "2024-06-01", "to": "2024-06-02" },
        { "from": "2024-06-03", "to": "2024-06-03" }
    ]);
    let r = invoke(
        &window,
        "export_mark",
        json!({ "path": path, "filter": no_filter(), "choices": choices("surveys", surveys, json!("distinctiveness")) }),
    )
    .unwrap();
    assert_eq!(r["notes"][1], "groups: D1, D2, ungraded", "{r}");
    assert_eq!(
        inp(&path),
        [
            ("W1".into(), "11".into(), "1 0 0".into()),
            ("W2".into(), "10".into(), "0 1 0".into()),
            ("W3".into(), "01".into(), "0 0 1".into()),
        ]
    );

    // Quality Q2 or better: k1_0 (1 June) and k2_0, k2_1 (2 June) only.
    let mut filter = no_filter();
    filter["minQuality"] = json!("Q2");
    invoke(
        &window,
        "export_mark",
        json!({ "path": path, "filter": filter, "choices": choices("days", json!([]), Value::Null) }),
    )
    .unwrap();
    assert_eq!(
        inp(&path),
        [
            ("W1".into(), "10".into(), "1".into()),
            ("W2".into(), "01".into(), "1".into()),
        ]
    );
}

#[test]
fn wildbook_and_socprog_from_the_export_commands_say_what_they_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let (root, _) = catalogue(dir.path());
    let (_app, window) = app(&dir.path().join("config"));
    invoke(&window, "catalogue_open", json!({ "path": root })).unwrap();

    let sheet = dir.path().join("wildbook.csv");
    let r = invoke(
        &window,
        "export_wildbook",
        json!({ "path": sheet, "filter": no_filter() }),
    )
    .unwrap();
    assert_eq!(
        (r["rows"].clone(), r["unit"].clone()),
        (json!(9), json!("encounter"))
    );
    let mut reader = csv::Reader::from_path(&sheet).unwrap();
    assert_eq!(reader.records().count(), 9);

    let mut june_2 = no_filter();
    june_2["from"] = json!("2024-06-02");
    june_2["to"] = json!("2024-06-02");
    let r = invoke(
        &window,
        "export_wildbook",
        json!({ "path": sheet, "filter": june_2 }),
    )
    .unwrap();
    assert_eq!(r["rows"], 2, "{r}");

    let table = dir.path().join("socprog.csv");
    let r = invoke(
        &window,
        "export_socprog",
        json!({ "path": table, "filter": no_filter() }),
    )
    .unwrap();
    assert_eq!(
        (r["rows"].clone(), r["unit"].clone()),
        (json!(8), json!("sighting"))
    );
    let individuals = dir.path().join("socprog-individuals.csv");
    assert_eq!(
        r["notes"],
        json!([format!("{}: 3 individuals", individuals.display())])
    );
    assert_eq!(r["leftOut"][0]["reasons"], json!(["no date"]));
    assert_eq!(csv::Reader::from_path(&table).unwrap().records().count(), 8);
    assert_eq!(
        csv::Reader::from_path(&individuals)
            .unwrap()
            .records()
            .count(),
        3
    );
}
