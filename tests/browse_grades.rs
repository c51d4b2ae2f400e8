//! The catalogue grid filtered by photo-ID grades (issue 16):
//! `list_individuals` keeps an individual when one of its sightings is
//! graded as asked (quality this good or better, one of the
//! distinctiveness grades, the side, the part) all at once and within the
//! dates, on a real catalogue.

use whaleid::catalogue::attributes::{Distinctiveness, Edit, Part, Quality, Side};
use whaleid::catalogue::browse::IndividualFilter;
use whaleid::catalogue::publish::Filter;
use whaleid::catalogue::Catalogue;
use whaleid_testkit::{self as kit, import_all, labelled, pipeline};

/// The codes `filter` lists.
fn codes(cat: &Catalogue, filter: &IndividualFilter) -> Vec<String> {
    cat.list_individuals(filter)
        .unwrap()
        .into_iter()
        .map(|s| s.individual.code)
        .collect()
}

#[test]
fn the_grid_lists_individuals_with_one_sighting_graded_as_asked() {
    let dir = tempfile::tempdir().unwrap();
    let mut cat = Catalogue::create(dir.path().join("cat")).unwrap();
    import_all(
        &mut cat,
        &pipeline(),
        &labelled(&dir.path().join("p"), &[1, 2, 3]),
    );
    kit::sql(&cat)
        .execute_batch("UPDATE photos SET taken_at = '2024-06-0' || (id % 3 + 1) || 'T10:00:00'")
        .unwrap();
    // W1: one Q1 D1 left dorsal fin; W2: a Q3 D2 right fluke and a Q2
    // left (no distinctiveness); W3 ungraded.
    let of = |code: &str| -> Vec<(i64, String)> {
        cat.identified_sightings(&Filter::default())
            .unwrap()
            .into_iter()
            .filter(|s| s.code == code)
            .map(|s| (s.detection_number, s.taken_at.unwrap()))
            .collect()
    };
    let (w1, w2) = (of("W1"), of("W2"));
    let w1_day = w1[0].1[..10].to_string();
    cat.set_attributes(
        w1[0].0,
        &[
            Edit::Quality(Quality::Q1),
            Edit::Distinctiveness(Distinctiveness::D1),
            Edit::Side(Side::Left),
            Edit::Part(Part::DorsalFin),
        ],
        "ana",
    )
    .unwrap();
    cat.set_attributes(
        w2[0].0,
        &[
            Edit::Quality(Quality::Q3),
            Edit::Distinctiveness(Distinctiveness::D2),
            Edit::Side(Side::Right),
            Edit::Part(Part::Fluke),
        ],
        "ana",
    )
    .unwrap();
    cat.set_attributes(
        w2[1].0,
        &[Edit::Quality(Quality::Q2), Edit::Side(Side::Left)],
        "ana",
    )
    .unwrap();

    assert_eq!(
        codes(&cat, &IndividualFilter::default()),
        ["W1", "W2", "W3"]
    );
    let q = |min| IndividualFilter {
        min_quality: Some(min),
        ..IndividualFilter::default()
    };
    assert_eq!(codes(&cat, &q(Quality::Q1)), ["W1"]);
    assert_eq!(codes(&cat, &q(Quality::Q2)), ["W1", "W2"]);
    assert_eq!(codes(&cat, &q(Quality::Q3)), ["W1", "W2"]);
    let d = |ds: &[Distinctiveness]| IndividualFilter {
        distinctiveness: ds.to_vec(),
        ..IndividualFilter::default()
    };
    assert_eq!(codes(&cat, &d(&[Distinctiveness::D2])), ["W2"]);
    assert_eq!(
        codes(&cat, &d(&[Distinctiveness::D1, Distinctiveness::D2])),
        ["W1", "W2"]
    );
    assert!(codes(&cat, &d(&[Distinctiveness::D3])).is_empty());
    let side = |s| IndividualFilter {
        side: Some(s),
        ..IndividualFilter::default()
    };
    assert_eq!(codes(&cat, &side(Side::Left)), ["W1", "W2"]);
    assert_eq!(codes(&cat, &side(Side::Right)), ["W2"]);
    assert!(codes(&cat, &side(Side::Both)).is_empty());
    let part = |p| IndividualFilter {
        part: Some(p),
        ..IndividualFilter::default()
    };
    assert_eq!(codes(&cat, &part(Part::Fluke)), ["W2"]);
    assert_eq!(codes(&cat, &part(Part::DorsalFin)), ["W1"]);

    // One sighting must have every grade asked for: W2's Q2 photo is
    // left-side but has no fluke, its fluke is Q3.
    let together = IndividualFilter {
        min_quality: Some(Quality::Q2),
        part: Some(Part::Fluke),
        ..IndividualFilter::default()
    };
    assert!(codes(&cat, &together).is_empty());
    let together = IndividualFilter {
        min_quality: Some(Quality::Q2),
        side: Some(Side::Left),
        ..IndividualFilter::default()
    };
    assert_eq!(codes(&cat, &together), ["W1", "W2"]);
    // ... and be in the dates: W1's graded photo only on its own day.
    let other_day = ["2024-06-01", "2024-06-02", "2024-06-03"]
        .into_iter()
        .find(|d| *d != w1_day && w1.iter().any(|(_, t)| t.starts_with(d)))
        .expect("W1 has photos on two days");
    let dated = |day: &str| IndividualFilter {
        min_quality: Some(Quality::Q1),
        date_from: Some(day.into()),
        date_to: Some(day.into()),
        ..IndividualFilter::default()
    };
    assert_eq!(codes(&cat, &dated(&w1_day)), ["W1"]);
    assert!(codes(&cat, &dated(other_day)).is_empty());

    // The card still counts every sighting, graded or not.
    let w1_card = cat.list_individuals(&q(Quality::Q1)).unwrap();
    assert_eq!(w1_card[0].sightings, 3);

    // A cleared grade no longer matches.
    cat.set_attributes(
        w1[0].0,
        &[Edit::Clear(
            whaleid::catalogue::attributes::Attribute::Quality,
        )],
        "ana",
    )
    .unwrap();
    assert!(codes(&cat, &q(Quality::Q1)).is_empty());
}
