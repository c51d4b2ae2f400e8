//! MARK capture histories and SOCPROG tables (issue 16), written by
//! `whaleid catalogue export` and read back here: MARK with a small parser
//! of its own against histories worked out by hand, SOCPROG with the csv
//! crate.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use support::{s, text, whaleid};
use whaleid::catalogue::Catalogue;
use whaleid_testkit::{self as kit, import_all, labelled, pipeline};

/// Three individuals photographed over four days, 1–4 June 2024, three
/// photos each (`k{K}_{J}.png` of `W{K}`):
///
/// | | 1 Jun | 2 Jun | 3 Jun | 4 Jun | |
/// |---|---|---|---|---|---|
/// | W1 | k1_0, k1_2 | | k1_1 | | `1010` |
/// | W2 | | k2_0 | k2_1, k2_2 | | `0110` |
/// | W3 | k3_0 | | | k3_1 | `1001` (k3_2 undated) |
///
/// W1 is a beluga, W3 a humpback, W2 a female of no species. k1_0, k1_2
/// and k3_0 are one encounter; k1_0 has a position. Distinctiveness: k1_0
/// D2 then k1_1 D1 (W1's latest), k3_0 D3; W2 ungraded.
fn four_days(dir: &Path) -> PathBuf {
    let root = dir.join("cat");
    let mut cat = Catalogue::create(&root).unwrap();
    import_all(&mut cat, &pipeline(), &labelled(&dir.join("p"), &[1, 2, 3]));
    let db = kit::sql(&cat);
    for (photo, day) in [
        ("k1_0", 1),
        ("k1_1", 3),
        ("k1_2", 1),
        ("k2_0", 2),
        ("k2_1", 3),
        ("k2_2", 3),
        ("k3_0", 1),
        ("k3_1", 4),
    ] {
        let minute = &photo[3..];
        db.execute(
            "UPDATE photos SET taken_at = ?1 WHERE original_path LIKE ?2",
            [
                format!("2024-06-0{day}T10:0{minute}:00"),
                format!("%k{}.png", &photo[1..]),
            ],
        )
        .unwrap();
    }
    db.execute_batch(
        "UPDATE photos SET taken_at = NULL WHERE original_path LIKE '%k3_2.png';
         UPDATE photos SET latitude = 57.5, longitude = -6.25 WHERE original_path LIKE '%k1_0.png';
         UPDATE individuals SET species = 'beluga' WHERE code = 'W1';
         UPDATE individuals SET species = 'humpback_whale' WHERE code = 'W3';
         UPDATE individuals SET sex = 'female' WHERE code = 'W2';
         INSERT INTO encounters (uuid, started_at) VALUES ('enc-1', '2024-06-01T10:00:00');
         UPDATE photos SET encounter_id = (SELECT id FROM encounters WHERE uuid = 'enc-1')
          WHERE original_path LIKE '%k1_0.png' OR original_path LIKE '%k1_2.png'
             OR original_path LIKE '%k3_0.png';
         INSERT INTO detection_attributes (detection_id, attribute, value)
          SELECT d.id, 'distinctiveness', g.value
            FROM detections d JOIN photos p ON p.id = d.photo_id
            JOIN (SELECT '%k1_0.png' AS photo, 'D2' AS value UNION ALL SELECT '%k1_1.png', 'D1'
                  UNION ALL SELECT '%k3_0.png', 'D3') g ON p.original_path LIKE g.photo;",
    )
    .unwrap();
    root
}

/// `whaleid catalogue export CAT ARGS`, which must succeed; what it printed.
fn export(cat: &Path, args: &[&str]) -> String {
    let mut all = vec!["catalogue", "export", s(cat)];
    all.extend(args);
    let out = whaleid(&all);
    assert!(out.status.success(), "{}", text(&out));
    text(&out)
}

/// A MARK `.inp` read as MARK reads it: comments dropped, then one record
/// per `;`: the history and its frequency columns. Keyed by the comment
/// that precedes each record (the individual's code).
fn parse_inp(inp: &str) -> BTreeMap<String, (String, Vec<u32>)> {
    let mut out = BTreeMap::new();
    let mut rest = inp;
    let mut name = String::new();
    let mut record = String::new();
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("/*") {
            let end = after.find("*/").expect("an unclosed comment");
            name = after[..end].trim().to_string();
            rest = &after[end + 2..];
        } else if let Some(after) = rest.strip_prefix(';') {
            let mut fields = record.split_whitespace();
            let history = fields.next().expect("a record without a history");
            assert!(history.chars().all(|c| c == '0' || c == '1'), "{history:?}");
            let freqs = fields.map(|f| f.parse().unwrap()).collect();
            assert!(
                out.insert(name.clone(), (history.to_string(), freqs))
                    .is_none(),
                "{name} twice"
            );
            record.clear();
            rest = after;
        } else {
            let c = rest.chars().next().unwrap();
            record.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    assert!(
        record.trim().is_empty(),
        "text after the last `;`: {record:?}"
    );
    out
}

fn histories(path: &Path) -> Vec<(String, String, Vec<u32>)> {
    parse_inp(&std::fs::read_to_string(path).unwrap())
        .into_iter()
        .filter(|(name, _)| !name.starts_with("occasions:") && !name.starts_with("groups:"))
        .map(|(name, (h, f))| (name, h, f))
        .collect()
}

fn row(code: &str, history: &str, freqs: &[u32]) -> (String, String, Vec<u32>) {
    (code.into(), history.into(), freqs.to_vec())
}

#[test]
fn mark_histories_are_the_hand_computed_ones() {
    let dir = tempfile::tempdir().unwrap();
    let cat = four_days(dir.path());
    let inp = dir.path().join("days.inp");
    let said = export(&cat, &["--mark", s(&inp), "--comments"]);
    assert_eq!(
        histories(&inp),
        [
            row("W1", "1010", &[1]),
            row("W2", "0110", &[1]),
            row("W3", "1001", &[1])
        ]
    );
    assert!(
        said.contains("3 individuals over 4 occasions") && said.contains("k3_2.png"),
        "{said}"
    );

    // Without comments the lines are the histories alone, in code order.
    let bare = dir.path().join("bare.inp");
    export(&cat, &["--mark", s(&bare)]);
    assert_eq!(
        std::fs::read_to_string(&bare).unwrap(),
        "1010 1;\n0110 1;\n1001 1;\n"
    );

    // Two surveys: 1 June, and 3–5 June; 2 June is in neither.
    let surveys = dir.path().join("surveys.inp");
    let said = export(
        &cat,
        &[
            "--mark",
            s(&surveys),
            "--comments",
            "--occasions",
            "surveys",
            "--survey",
            "2024-06-01:2024-06-01",
            "--survey",
            "2024-06-03:2024-06-05",
        ],
    );
    assert_eq!(
        histories(&surveys),
        [
            row("W1", "11", &[1]),
            row("W2", "01", &[1]),
            row("W3", "11", &[1])
        ]
    );
    assert!(said.contains("in no survey"), "{said}");

    // All in one month; one frequency column per species.
    let months = dir.path().join("months.inp");
    export(
        &cat,
        &[
            "--mark",
            s(&months),
            "--comments",
            "--occasions",
            "months",
            "--groups",
            "species",
        ],
    );
    assert_eq!(
        histories(&months),
        [
            row("W1", "1", &[1, 0, 0]),
            row("W2", "1", &[0, 0, 1]),
            row("W3", "1", &[0, 1, 0])
        ]
    );

    // One frequency column per distinctiveness grade: D1, D3, ungraded.
    let graded = dir.path().join("graded.inp");
    export(
        &cat,
        &[
            "--mark",
            s(&graded),
            "--comments",
            "--groups",
            "distinctiveness",
        ],
    );
    assert_eq!(
        histories(&graded),
        [
            row("W1", "1010", &[1, 0, 0]),
            row("W2", "0110", &[0, 0, 1]),
            row("W3", "1001", &[0, 1, 0])
        ]
    );
    assert!(std::fs::read_to_string(&graded)
        .unwrap()
        .starts_with("/* occasions: 2024-06-01 2024-06-02 2024-06-03 2024-06-04 */ /* groups: D1 D3 ungraded */\n"));

    // The shared filter: belugas from 2 June on.
    let filtered = dir.path().join("filtered.inp");
    export(
        &cat,
        &[
            "--mark",
            s(&filtered),
            "--comments",
            "--species",
            "beluga",
            "--from",
            "2024-06-02",
        ],
    );
    assert_eq!(histories(&filtered), [row("W1", "1", &[1])]);
}

#[test]
fn mark_refuses_surveys_it_cannot_use_before_writing() {
    let dir = tempfile::tempdir().unwrap();
    let cat = four_days(dir.path());
    let inp = dir.path().join("bad.inp");
    for (args, says) in [
        (
            vec![
                "--occasions",
                "surveys",
                "--survey",
                "2024-06-03:2024-06-01",
            ],
            "ends before",
        ),
        (vec!["--occasions", "surveys"], "at least one --survey"),
        (
            vec!["--survey", "2024-06-01:2024-06-02"],
            "--occasions surveys",
        ),
        (
            vec!["--occasions", "surveys", "--survey", "June"],
            "FROM:TO",
        ),
    ] {
        let mut all = vec!["catalogue", "export", s(&cat), "--mark", s(&inp)];
        all.extend(args);
        let out = whaleid(&all);
        assert!(
            !out.status.success() && text(&out).contains(says),
            "{}",
            text(&out)
        );
        assert!(!inp.exists());
    }
}

fn read_csv(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(path).unwrap();
    let header = r.headers().unwrap().iter().map(String::from).collect();
    let rows = r
        .records()
        .map(|rec| rec.unwrap().iter().map(String::from).collect())
        .collect();
    (header, rows)
}

#[test]
fn socprog_tables_read_back_with_one_row_per_animal_per_encounter() {
    let dir = tempfile::tempdir().unwrap();
    let cat = four_days(dir.path());
    let table = dir.path().join("F.csv");
    let said = export(&cat, &["--socprog", s(&table)]);
    assert!(
        said.contains("7 sightings") && said.contains("k3_2.png"),
        "{said}"
    );

    let (header, rows) = read_csv(&table);
    assert_eq!(
        header,
        ["Date", "Time", "Latitude", "Longitude", "Group", "ID"]
    );
    let encounter: String = kit::sql(&Catalogue::open_read_only(&cat).unwrap())
        .query_row("SELECT id FROM encounters WHERE uuid = 'enc-1'", [], |r| {
            r.get::<_, i64>(0)
        })
        .unwrap()
        .to_string();
    // The encounter on 1 June: W1 once (two photos), at its first photo's
    // time and position, and W3.
    let in_encounter: Vec<Vec<String>> =
        rows.iter().filter(|r| r[4] == encounter).cloned().collect();
    let e = encounter.as_str();
    assert_eq!(
        in_encounter,
        [
            ["2024-06-01", "10:00:00", "57.5", "-6.25", e, "W1"],
            ["2024-06-01", "10:00:00", "", "", e, "W3"],
        ]
        .map(|r| r.map(String::from).to_vec())
    );
    // Every other photo is a group of its own.
    let others: Vec<(&str, &str, &str)> = rows
        .iter()
        .filter(|r| r[4] != encounter)
        .map(|r| (r[0].as_str(), r[1].as_str(), r[5].as_str()))
        .collect();
    assert_eq!(
        others,
        [
            ("2024-06-02", "10:00:00", "W2"),
            ("2024-06-03", "10:01:00", "W1"),
            ("2024-06-03", "10:01:00", "W2"),
            ("2024-06-03", "10:02:00", "W2"),
            ("2024-06-04", "10:01:00", "W3"),
        ]
    );
    let groups: std::collections::HashSet<&str> = rows
        .iter()
        .filter(|r| r[4] != encounter)
        .map(|r| r[4].as_str())
        .collect();
    assert_eq!(groups.len(), 5);

    let (header, individuals) = read_csv(&dir.path().join("F-individuals.csv"));
    assert_eq!(header, ["ID", "Sex", "Distinctiveness"]);
    assert_eq!(
        individuals,
        [["W1", "", "D1"], ["W2", "female", ""], ["W3", "", "D3"]]
            .map(|r| r.map(String::from).to_vec())
    );
}

/// Each photo's file name and what the catalogue in `root` says of it:
/// individual, species, time, position and encounter.
type Known = BTreeMap<
    String,
    (
        String,
        Option<String>,
        Option<String>,
        Option<(f64, f64)>,
        Option<String>,
    ),
>;

fn known(root: &Path) -> Known {
    let cat = Catalogue::open_read_only(root).unwrap();
    cat.identified_sightings(&Default::default())
        .unwrap()
        .into_iter()
        .map(|s| {
            let name = Path::new(&s.photo)
                .file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .to_string();
            let at = s.latitude.zip(s.longitude);
            (name, (s.code, s.species, s.taken_at, at, s.encounter))
        })
        .collect()
}

#[test]
fn wildbook_sheet_round_trip_keeps_individuals_and_encounters() {
    let dir = tempfile::tempdir().unwrap();
    let cat = four_days(dir.path());
    // An encounter's place and observers travel as locationID and
    // photographer0 (its first observer).
    kit::sql(&Catalogue::open(&cat).unwrap())
        .execute(
            "UPDATE encounters SET location = 'Sound of Sleat', observers = 'Ana Silva; Ben Cole'
             WHERE uuid = 'enc-1'",
            [],
        )
        .unwrap();
    let sheet = dir.path().join("wildbook.csv");
    let said = export(&cat, &["--wildbook", s(&sheet)]);
    assert!(said.contains("9 encounters"), "{said}");
    let (header, rows) = read_csv(&sheet);
    assert_eq!(
        header,
        [
            "Encounter.mediaAsset0",
            "Encounter.genus",
            "Encounter.specificEpithet",
            "Encounter.year",
            "Encounter.month",
            "Encounter.day",
            "Encounter.hour",
            "Encounter.minutes",
            "Encounter.decimalLatitude",
            "Encounter.decimalLongitude",
            "Encounter.locationID",
            "MarkedIndividual.individualID",
            "Encounter.occurrenceID",
            "Encounter.photographer0.fullName",
            "Encounter.submitterID",
            "Encounter.sex",
        ]
    );
    let k1_0 = rows.iter().find(|r| r[0] == "k1_0.png").unwrap();
    assert_eq!(
        k1_0[..14],
        [
            "k1_0.png",
            "Delphinapterus",
            "leucas",
            "2024",
            "6",
            "1",
            "10",
            "0",
            "57.5",
            "-6.25",
            "Sound of Sleat",
            "W1",
            "enc-1",
            "Ana Silva"
        ]
    );

    let copy = dir.path().join("copy");
    let mut args: Vec<String> = ["catalogue", "import", s(&copy), "--wildbook", s(&sheet)]
        .map(String::from)
        .into();
    args.extend(["--images".into(), s(&dir.path().join("p")).into()]);
    args.extend(support::tiny_pack_args());
    let out = whaleid(&args);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("1 encounters from its occurrences"),
        "{}",
        text(&out)
    );

    let (before, after) = (known(&cat), known(&copy));
    assert_eq!(before.len(), 9);
    assert_eq!(after, before);
    // The encounter's place and its photographer came back with it.
    let copied = Catalogue::open(&copy).unwrap();
    let enc = copied
        .encounters(None, None)
        .unwrap()
        .into_iter()
        .find(|e| e.uuid == "enc-1")
        .expect("enc-1 imported");
    assert_eq!(enc.place.as_deref(), Some("Sound of Sleat"));
    assert_eq!(enc.observers, ["Ana Silva"]);
}
