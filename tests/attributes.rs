//! Photo-ID attributes of detections (issue 16): set and cleared through
//! the engine and the CLI, carried on the identified sightings and their
//! filter, and synced between two laptops' catalogues through the real
//! log, planner and applier.

mod support;

use whaleid::catalogue::attributes::{Attribute, Distinctiveness, Edit, Part, Quality, Side};
use whaleid::catalogue::publish::Filter;
use whaleid::catalogue::Catalogue;
use whaleid::sync::log::collect;
use whaleid_testkit::{self as kit, import_all, labelled, pipeline};

use support::{labelled_import, s, stdout, whaleid};

/// A catalogue of W1's and W2's photos, three each, all identified.
fn two_whales(dir: &std::path::Path, name: &str) -> Catalogue {
    let mut cat = Catalogue::create(dir.join(name)).unwrap();
    import_all(&mut cat, &pipeline(), &labelled(&dir.join("p"), &[1, 2]));
    cat
}

#[test]
fn attributes_are_set_and_cleared_one_by_one_with_who_and_when() {
    let dir = tempfile::tempdir().unwrap();
    let mut cat = two_whales(dir.path(), "cat");
    let d = kit::detections_by_photo(&cat)[0];
    assert_eq!(cat.attributes(d).unwrap(), Default::default());

    let a = cat
        .set_attributes(
            d,
            &[Edit::Quality(Quality::Q2), Edit::Side(Side::Left)],
            "ana",
        )
        .unwrap();
    assert_eq!(a.quality.as_ref().unwrap().value, Quality::Q2);
    assert_eq!(a.side.as_ref().unwrap().by.as_deref(), Some("ana"));
    assert!(a.side.as_ref().unwrap().at.ends_with('Z'));
    assert!(a.distinctiveness.is_none() && a.part.is_none());

    // Another person sets two more and changes none of the others.
    let a = cat
        .set_attributes(
            d,
            &[
                Edit::Distinctiveness(Distinctiveness::D1),
                Edit::Part(Part::DorsalFin),
            ],
            "ben",
        )
        .unwrap();
    assert_eq!(a.summary(), "Q2 D1 left dorsal-fin");
    assert_eq!(a.quality.as_ref().unwrap().by.as_deref(), Some("ana"));
    assert_eq!(a.part.as_ref().unwrap().by.as_deref(), Some("ben"));

    let a = cat
        .set_attributes(d, &[Edit::Clear(Attribute::Side)], "ben")
        .unwrap();
    assert_eq!(a.summary(), "Q2 D1 - dorsal-fin");
    assert_eq!(cat.attributes(d).unwrap(), a);

    // Refused, with the reason, and nothing changed.
    let twice = [Edit::Quality(Quality::Q1), Edit::Clear(Attribute::Quality)];
    let e = cat
        .set_attributes(d, &twice, "ana")
        .unwrap_err()
        .to_string();
    assert!(e.contains("quality is given twice"), "{e}");
    let e = cat.set_attributes(d, &[], "ana").unwrap_err().to_string();
    assert!(e.contains("nothing to set"), "{e}");
    let e = cat
        .set_attributes(99_999, &[Edit::Quality(Quality::Q1)], "ana")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("#99999") && e.contains("not in this catalogue"),
        "{e}"
    );
    assert_eq!(cat.attributes(d).unwrap(), a);

    // The database itself refuses a value not of its attribute.
    let db = kit::sql(&cat);
    assert!(db
        .execute(
            "UPDATE detection_attributes SET value = 'left' WHERE attribute = 'quality'",
            []
        )
        .is_err());
}

#[test]
fn sightings_carry_their_grades_and_filter_by_quality_and_distinctiveness() {
    let dir = tempfile::tempdir().unwrap();
    let mut cat = two_whales(dir.path(), "cat");
    let all = cat.identified_sightings(&Filter::default()).unwrap();
    assert_eq!(all.len(), 6);
    assert!(all.iter().all(|s| s.grades == Default::default()));
    let number = |i: usize| all[i].detection_number;
    let grade = |cat: &mut Catalogue, i: usize, q: Quality, d: Distinctiveness| {
        cat.set_attributes(
            number(i),
            &[Edit::Quality(q), Edit::Distinctiveness(d)],
            "ana",
        )
        .unwrap();
    };
    grade(&mut cat, 0, Quality::Q1, Distinctiveness::D1);
    grade(&mut cat, 1, Quality::Q2, Distinctiveness::D3);
    grade(&mut cat, 2, Quality::Q3, Distinctiveness::D1);
    cat.set_attributes(number(3), &[Edit::Side(Side::Right)], "ana")
        .unwrap();

    let numbers = |f: &Filter| -> Vec<i64> {
        let mut v: Vec<i64> = cat
            .identified_sightings(f)
            .unwrap()
            .iter()
            .map(|s| s.detection_number)
            .collect();
        v.sort();
        v
    };
    let sorted = |mut v: Vec<i64>| {
        v.sort();
        v
    };
    // Q2 or better: Q1 and Q2; ungraded ones are left out.
    let good = Filter {
        min_quality: Some(Quality::Q2),
        ..Filter::default()
    };
    assert_eq!(numbers(&good), sorted(vec![number(0), number(1)]));
    let d1 = Filter {
        distinctiveness: vec![Distinctiveness::D1],
        ..Filter::default()
    };
    assert_eq!(numbers(&d1), sorted(vec![number(0), number(2)]));
    let both = Filter {
        min_quality: Some(Quality::Q2),
        distinctiveness: vec![Distinctiveness::D1, Distinctiveness::D2],
        ..Filter::default()
    };
    assert_eq!(numbers(&both), vec![number(0)]);

    let got = cat.identified_sightings(&Filter::default()).unwrap();
    let of = |n: i64| got.iter().find(|s| s.detection_number == n).unwrap().grades;
    assert_eq!(of(number(1)).quality, Some(Quality::Q2));
    assert_eq!(of(number(1)).distinctiveness, Some(Distinctiveness::D3));
    assert_eq!(of(number(3)).side, Some(Side::Right));
    assert_eq!(of(number(3)).quality, None);
}

/// Ana and Ben imported the same photos (their detections are one through
/// sync's aliases) and grade one detection offline: both set its quality
/// (Ben later), Ana its side and Ben its part. After syncing both ways,
/// both show Ben's quality, Ana's side and Ben's part, and the same
/// catalogue content.
#[test]
fn two_laptops_grading_one_detection_converge_and_keep_both_attributes() {
    let dir = tempfile::tempdir().unwrap();
    let mut ana = two_whales(dir.path(), "ana");
    let mut ben = two_whales(dir.path(), "ben");
    // Both know each other's photos first, as after a first sync.
    kit::relay_all(&mut ana, &mut ben, "ana", "ben");
    kit::relay_all(&mut ben, &mut ana, "ben", "ana");
    let (a, b) = (
        kit::detections_by_photo(&ana)[0],
        kit::detections_by_photo(&ben)[0],
    );
    let before = whaleid::sync::state::canonical(&ana).unwrap();

    ana.set_attributes(
        a,
        &[Edit::Quality(Quality::Q3), Edit::Side(Side::Left)],
        "ana",
    )
    .unwrap();
    collect(&mut ana, "ana").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    ben.set_attributes(
        b,
        &[Edit::Quality(Quality::Q1), Edit::Part(Part::Fluke)],
        "ben",
    )
    .unwrap();
    collect(&mut ben, "ben").unwrap();

    kit::relay_all(&mut ana, &mut ben, "ana", "ben");
    kit::relay_all(&mut ben, &mut ana, "ben", "ana");
    for (cat, d) in [(&ana, a), (&ben, b)] {
        let got = cat.attributes(d).unwrap();
        assert_eq!(got.summary(), "Q1 - left fluke", "{got:?}");
        assert_eq!(got.quality.unwrap().by.as_deref(), Some("ben"));
        assert_eq!(got.side.unwrap().by.as_deref(), Some("ana"));
    }
    let dump = |c: &Catalogue| whaleid::sync::state::canonical(c).unwrap();
    assert_eq!(dump(&ana), dump(&ben));
    // The content compared holds the attributes.
    assert_ne!(dump(&ana), before);

    // A clearing on Ana's laptop, later still, wins on both.
    ana.set_attributes(a, &[Edit::Clear(Attribute::Quality)], "ana")
        .unwrap();
    kit::relay_all(&mut ana, &mut ben, "ana", "ben");
    assert!(ben.attributes(b).unwrap().quality.is_none());
    assert_eq!(dump(&ana), dump(&ben));
}

#[test]
fn the_cli_grades_a_detection_and_shows_it_in_the_list_and_on_the_individual() {
    let dir = tempfile::tempdir().unwrap();
    let (cat, import) = labelled_import(dir.path(), &[]);
    assert!(whaleid(&import).status.success());
    let (d, code) = {
        let c = Catalogue::open(&cat).unwrap();
        let s = c.identified_sightings(&Filter::default()).unwrap();
        (s[0].detection_number, s[0].code.clone())
    };
    let n = format!("#{d}");
    let out = whaleid(&[
        "detection",
        "grade",
        &n,
        "-c",
        s(&cat),
        "--author",
        "ana",
        "--quality",
        "q2",
        "--side",
        "left",
        "--part",
        "dorsal-fin",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(v["attributes"]["quality"]["value"], "Q2");
    assert_eq!(v["attributes"]["side"]["by"], "ana");

    let out = whaleid(&[
        "detection",
        "grade",
        &n,
        "-c",
        s(&cat),
        "--author",
        "ana",
        "--clear",
        "side",
        "--distinctiveness",
        "D1",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let out = whaleid(&["individual", "show", &code, "-c", s(&cat)]);
    let shown = stdout(&out);
    assert!(
        shown.contains(&format!("grades detection #{d} Q2 D1 - dorsal-fin")),
        "{shown}"
    );
    assert!(shown.contains("detections: ["), "{shown}");

    let photo: i64 = kit::sql(&Catalogue::open(&cat).unwrap())
        .query_row("SELECT photo_id FROM detections WHERE id = ?1", [d], |r| {
            r.get(0)
        })
        .unwrap();
    let out = whaleid(&["detection", "list", &photo.to_string(), "-c", s(&cat)]);
    let row: serde_json::Value = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|r| r["id"] == d)
        .unwrap();
    assert_eq!(row["attributes"]["distinctiveness"]["value"], "D1");
    assert!(row["attributes"]["side"].is_null());
    assert!(row["uuid"].is_string() && row["bbox"].is_array());

    // The export filter takes the grades: of every dated sighting, only
    // the one graded Q2 and D1 is written.
    kit::sql(&Catalogue::open(&cat).unwrap())
        .execute("UPDATE photos SET taken_at = '2024-06-01T10:00:00'", [])
        .unwrap();
    let rows = |extra: &[&str]| -> usize {
        let table = dir.path().join("F.csv");
        let mut args = vec!["catalogue", "export", s(&cat), "--socprog", s(&table)];
        args.extend(extra);
        let out = whaleid(&args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        csv::Reader::from_path(&table).unwrap().records().count()
    };
    assert!(rows(&[]) > 1);
    let graded = ["--min-quality", "Q2", "--distinctiveness", "D1,D2"];
    assert_eq!(rows(&graded), 1);
    assert_eq!(rows(&["--min-quality", "Q1"]), 0);

    // A wrong value is refused by the parser, naming the choices.
    let out = whaleid(&["detection", "grade", &n, "-c", s(&cat), "--quality", "Q5"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Q5") && err.contains("Q1, Q2, Q3"), "{err}");
}
