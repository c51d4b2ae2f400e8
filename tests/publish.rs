//! The rows every publication format starts from (issue 16):
//! `Catalogue::identified_sightings` and its filter.

use whaleid::catalogue::publish::Filter;
use whaleid::catalogue::Catalogue;
use whaleid_testkit::{self as kit, import_all, labelled, pipeline};

#[test]
fn identified_sightings_follow_merges_and_the_filter() {
    let dir = tempfile::tempdir().unwrap();
    let mut cat = Catalogue::create(dir.path().join("cat")).unwrap();
    import_all(
        &mut cat,
        &pipeline(),
        &labelled(&dir.path().join("p"), &[1, 2]),
    );
    let db = kit::sql(&cat);
    // W1's photos on two days, W2's undated; W1 is a humpback.
    db.execute_batch(
        "UPDATE photos SET taken_at = '2024-06-0' || (id % 2 + 1) || 'T10:00:00'
           WHERE original_path LIKE '%k1_%';
         UPDATE individuals SET species = 'humpback_whale' WHERE code = 'W1';",
    )
    .unwrap();

    let all = cat.identified_sightings(&Filter::default()).unwrap();
    assert_eq!(all.len(), 6);
    assert!(all[..3]
        .iter()
        .all(|s| s.code == "W1" && s.taken_at.is_some()));
    assert!(all[3..]
        .iter()
        .all(|s| s.code == "W2" && s.taken_at.is_none()));
    assert!(all.iter().all(|s| s.source == "import"));

    let humpbacks = Filter {
        species: vec!["Humpback_Whale".into()],
        ..Filter::default()
    };
    assert_eq!(cat.identified_sightings(&humpbacks).unwrap().len(), 3);
    let day_two = Filter {
        from: Some("2024-06-02".into()),
        to: Some("2024-06-02".into()),
        ..Filter::default()
    };
    let got = cat.identified_sightings(&day_two).unwrap();
    assert!(!got.is_empty() && got.len() < 3, "{got:?}");
    assert!(got
        .iter()
        .all(|s| s.taken_at.as_deref().unwrap().starts_with("2024-06-02")));

    // A merge counts W2's sightings as W1's.
    cat.merge("W2", "W1", Some("tester")).unwrap();
    let merged = cat.identified_sightings(&Filter::default()).unwrap();
    assert!(merged.iter().all(|s| s.code == "W1"), "{merged:?}");

    for bad in [("2024-02-30", None), ("2024-06-02", Some("2024-06-01"))] {
        let f = Filter {
            from: Some(bad.0.into()),
            to: bad.1.map(String::from),
            ..Filter::default()
        };
        let err = cat.identified_sightings(&f).unwrap_err().to_string();
        assert!(err.contains(bad.0), "{err}");
    }
}

/// The photo-ID grades narrow the sightings in SQL: `min_quality` keeps
/// the photos graded that good or better (never an ungraded one), and
/// `distinctiveness` the grades listed; each sighting carries its grades.
#[test]
fn identified_sightings_filter_by_quality_and_distinctiveness() {
    use whaleid::catalogue::attributes::{Distinctiveness, Edit, Quality};
    let dir = tempfile::tempdir().unwrap();
    let mut cat = Catalogue::create(dir.path().join("cat")).unwrap();
    import_all(
        &mut cat,
        &pipeline(),
        &labelled(&dir.path().join("p"), &[1, 2]),
    );
    let all = cat.identified_sightings(&Filter::default()).unwrap();
    let (good, poor) = (all[0].detection_number, all[1].detection_number);
    cat.set_attributes(
        good,
        &[
            Edit::Quality(Quality::Q1),
            Edit::Distinctiveness(Distinctiveness::D2),
        ],
        "ana",
    )
    .unwrap();
    cat.set_attributes(poor, &[Edit::Quality(Quality::Q3)], "ana")
        .unwrap();
    let numbers = |f: &Filter| -> Vec<i64> {
        cat.identified_sightings(f)
            .unwrap()
            .iter()
            .map(|s| s.detection_number)
            .collect()
    };
    for q in [Quality::Q1, Quality::Q2] {
        let f = Filter {
            min_quality: Some(q),
            ..Filter::default()
        };
        assert_eq!(numbers(&f), vec![good]);
    }
    let f = Filter {
        min_quality: Some(Quality::Q3),
        ..Filter::default()
    };
    let mut both = numbers(&f);
    both.sort();
    assert_eq!(both, {
        let mut v = vec![good, poor];
        v.sort();
        v
    });
    let f = Filter {
        distinctiveness: vec![Distinctiveness::D2, Distinctiveness::D3],
        ..Filter::default()
    };
    assert_eq!(numbers(&f), vec![good]);
    let got = cat.identified_sightings(&Filter::default()).unwrap();
    assert_eq!(got.len(), 6);
    let of = |n: i64| got.iter().find(|s| s.detection_number == n).unwrap().grades;
    assert_eq!(of(good).distinctiveness, Some(Distinctiveness::D2));
    assert_eq!(of(poor).quality, Some(Quality::Q3));
    assert_eq!(of(poor).distinctiveness, None);
}
