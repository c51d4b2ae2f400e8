//! Grades as a matching scope (issue 16): "same side only" and "quality ≥
//! Q2" in the engine's search, in `whaleid identify` and in the Review's
//! re-ranking of one detection, on real catalogues whose embeddings are
//! placed by hand so that which photo is nearest is known; and the scoped
//! search against a brute-force ranking of the admitted photos, with and
//! without an HNSW snapshot.

mod support;

use std::collections::HashMap;

use proptest::prelude::*;
use whaleid::catalogue::attributes::{Edit, Grades, Part, Quality, Side};
use whaleid::catalogue::records::GalleryItem;
use whaleid::catalogue::{Catalogue, Scope};
use whaleid::index::IndexConfig;
use whaleid::matching::field::threshold_in_use;
use whaleid::matching::scope::{
    scoped_suggestions, suggest_scoped, BoundScope, GalleryGrades, GradeScope, Scoped, SideScope,
};
use whaleid::matching::{
    five_with_new, rank_individuals, Gallery, MatchSettings, NewIndividualPolicy, Prediction,
};
use whaleid_testkit::{self as kit, import_all, labelled, pipeline};

use support::{labelled_import, s, stdout, text, whaleid};

/// Unit vector of `dim` values from `(axis, weight)` pairs.
fn unit(dim: usize, parts: &[(usize, f32)]) -> Vec<f32> {
    let mut v = vec![0.0; dim];
    for &(axis, w) in parts {
        v[axis] += w;
    }
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    v.iter().map(|x| x / n).collect()
}

/// The detections identified as `code`, in id order.
fn detections_of(cat: &Catalogue, code: &str) -> Vec<i64> {
    let db = kit::sql(cat);
    let mut stmt = db
        .prepare(
            "SELECT d.id FROM detections d
             JOIN identifications i ON i.detection_id = d.id AND i.superseded_by IS NULL
             JOIN individuals ind ON ind.id = i.individual_id
             WHERE ind.code = ?1 ORDER BY d.id",
        )
        .unwrap();
    stmt.query_map([code], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// Put `vector` in place of detection `detection`'s embedding.
fn place(cat: &Catalogue, detection: i64, vector: &[f32]) {
    let blob: Vec<u8> = vector.iter().flat_map(|x| x.to_le_bytes()).collect();
    let n = kit::sql(cat)
        .execute(
            "UPDATE embeddings SET vector = ?1 WHERE detection_id = ?2",
            rusqlite::params![blob, detection],
        )
        .unwrap();
    assert_eq!(n, 1);
}

/// Grade every photo identified as `code`.
fn grade_code(cat: &mut Catalogue, code: &str, edits: &[Edit]) {
    let detections = detections_of(cat, code);
    grade(cat, &detections, edits);
}

fn grade(cat: &mut Catalogue, detections: &[i64], edits: &[Edit]) {
    for &d in detections {
        cat.set_attributes(d, edits, "ana").unwrap();
    }
}

/// W1, W2 and W3 with three photos each, imported with the tiny pack, their
/// embeddings then placed around the query `e0`: W1's nearest (0.05 off
/// axis), W2's next (0.3 off), W3's far (mostly `e10`). The embedding
/// width and the catalogue.
fn placed_catalogue(dir: &std::path::Path) -> (usize, Catalogue) {
    let mut cat = Catalogue::create(dir.join("cat")).unwrap();
    import_all(&mut cat, &pipeline(), &labelled(&dir.join("p"), &[1, 2, 3]));
    let dim = {
        let (g, _) = Gallery::from_catalogue(&cat, IndexConfig::new(0)).unwrap();
        assert_eq!(g.len(), 9);
        kit::sql(&cat)
            .query_row("SELECT dim FROM embeddings LIMIT 1", [], |r| {
                r.get::<_, i64>(0)
            })
            .unwrap() as usize
    };
    assert!(dim >= 12, "the tiny pack's embeddings have room: {dim}");
    for (j, d) in detections_of(&cat, "W1").into_iter().enumerate() {
        place(&cat, d, &unit(dim, &[(0, 1.0), (1 + j, 0.05)]));
    }
    for (j, d) in detections_of(&cat, "W2").into_iter().enumerate() {
        place(&cat, d, &unit(dim, &[(0, 1.0), (4 + j, 0.3)]));
    }
    for (j, d) in detections_of(&cat, "W3").into_iter().enumerate() {
        place(&cat, d, &unit(dim, &[(0, 0.2), (10, 1.0), (7 + j, 0.1)]));
    }
    (dim, cat)
}

/// The individual codes of `predictions`, `new` for new_individual.
fn codes(cat: &Catalogue, predictions: &[Prediction<i64>]) -> Vec<String> {
    let names = cat.individual_codes().unwrap();
    predictions
        .iter()
        .map(|p| match p {
            Prediction::Individual { key, .. } => names[key].0.clone(),
            Prediction::NewIndividual => "new".into(),
        })
        .collect()
}

fn search(cat: &Catalogue, query: &[f32], grades: &BoundScope) -> (Vec<String>, usize) {
    let (gallery, _) = Gallery::from_catalogue(cat, IndexConfig::new(0)).unwrap();
    let graded = GalleryGrades::read(cat).unwrap();
    let scope = Scope::default();
    let scoped = Scoped {
        scope: &scope,
        grades,
        graded: &graded,
    };
    let five = suggest_scoped(&gallery, query, &scoped, &MatchSettings::new(0.0), None).unwrap();
    (codes(cat, &five), scoped.left_out(&gallery))
}

fn same_side(side: Side) -> BoundScope {
    GradeScope {
        side: SideScope::Same,
        ..GradeScope::default()
    }
    .bind(Some(side), "the query")
    .unwrap()
}

#[test]
fn a_query_whose_nearest_photos_show_the_other_side_gets_the_same_side_individual_first() {
    let dir = tempfile::tempdir().unwrap();
    let (dim, mut cat) = placed_catalogue(dir.path());
    let w1 = detections_of(&cat, "W1");
    let w2 = detections_of(&cat, "W2");
    grade(&mut cat, &w1, &[Edit::Side(Side::Right)]);
    // One of W2's photos is graded, one shows both sides, one is ungraded:
    // all three stay candidates for a left query.
    grade(&mut cat, &w2[..1], &[Edit::Side(Side::Left)]);
    grade(&mut cat, &w2[1..2], &[Edit::Side(Side::Both)]);
    let query = unit(dim, &[(0, 1.0)]);

    let (anywhere, left_out) = search(&cat, &query, &BoundScope::default());
    assert_eq!(anywhere[0], "W1", "{anywhere:?}");
    assert_eq!(left_out, 0);

    let (left, left_out) = search(&cat, &query, &same_side(Side::Left));
    assert_eq!(left[0], "W2", "{left:?}");
    assert!(!left.contains(&"W1".to_string()), "{left:?}");
    assert_eq!(left_out, 3, "W1's three right-side photos");

    // A right query keeps W1; a query showing both sides matches every side.
    assert_eq!(search(&cat, &query, &same_side(Side::Right)).0[0], "W1");
    assert_eq!(search(&cat, &query, &same_side(Side::Both)), (anywhere, 0));
}

#[test]
fn min_quality_drops_q3_and_ungraded_photos() {
    let dir = tempfile::tempdir().unwrap();
    let (dim, mut cat) = placed_catalogue(dir.path());
    grade_code(&mut cat, "W1", &[Edit::Quality(Quality::Q3)]);
    let w2 = detections_of(&cat, "W2");
    grade(&mut cat, &w2[..2], &[Edit::Quality(Quality::Q2)]);
    grade_code(&mut cat, "W3", &[Edit::Quality(Quality::Q1)]);
    let query = unit(dim, &[(0, 1.0)]);
    let q2 = GradeScope {
        min_quality: Some(Quality::Q2),
        ..GradeScope::default()
    }
    .bind(None, "the query")
    .unwrap();
    let (found, left_out) = search(&cat, &query, &q2);
    assert_eq!(found[..2], ["W2", "W3"], "{found:?}");
    assert!(!found.contains(&"W1".to_string()), "{found:?}");
    assert_eq!(left_out, 4, "W1's three Q3 photos and W2's ungraded one");

    // Q1 only: W3 alone is left.
    let q1 = BoundScope {
        min_quality: Some(Quality::Q1),
        ..BoundScope::default()
    };
    let (found, left_out) = search(&cat, &query, &q1);
    assert_eq!(found[0], "W3", "{found:?}");
    assert!(!found.contains(&"W2".to_string()), "{found:?}");
    assert_eq!(left_out, 6);
}

#[test]
fn review_ranks_a_detection_again_within_its_own_side() {
    let dir = tempfile::tempdir().unwrap();
    let (dim, mut cat) = placed_catalogue(dir.path());
    grade_code(&mut cat, "W1", &[Edit::Side(Side::Right)]);
    // The query: one of W3's photos moved onto the axis, graded left. It is
    // never its own candidate.
    let query = detections_of(&cat, "W3")[0];
    place(&cat, query, &unit(dim, &[(0, 1.0)]));
    let (gallery, _) = Gallery::from_catalogue(&cat, IndexConfig::new(0)).unwrap();
    let threshold = threshold_in_use(&cat, 0.0).unwrap();
    let same = GradeScope {
        side: SideScope::Same,
        min_quality: None,
        parts: Vec::new(),
    };

    let e = scoped_suggestions(&cat, &gallery, query, &same, &threshold).unwrap_err();
    assert!(
        e.to_string().contains(&format!("detection #{query}")) && e.to_string().contains("side"),
        "{e}"
    );

    let any =
        scoped_suggestions(&cat, &gallery, query, &GradeScope::default(), &threshold).unwrap();
    assert_eq!(codes(&cat, &any.predictions)[0], "W1");
    assert_eq!(
        (any.left_out, any.scope.to_string()),
        (0, "any photo".into())
    );

    cat.set_attributes(query, &[Edit::Side(Side::Left)], "ana")
        .unwrap();
    let left = scoped_suggestions(&cat, &gallery, query, &same, &threshold).unwrap();
    let found = codes(&cat, &left.predictions);
    assert_eq!(found[0], "W2", "{found:?}");
    assert!(!found.contains(&"W1".to_string()), "{found:?}");
    assert_eq!(left.left_out, 3);
    assert_eq!(left.scope.to_string(), "same side (left)");

    let e = scoped_suggestions(&cat, &gallery, 9999, &same, &threshold).unwrap_err();
    assert!(e.to_string().contains("#9999"), "{e}");
}

/// The JSON lines `whaleid identify --json` printed.
fn lines(out: &std::process::Output) -> Vec<serde_json::Value> {
    stdout(out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn identify_scopes_by_side_and_quality_and_says_what_it_left_out() {
    let dir = tempfile::tempdir().unwrap();
    let (cat_dir, args) = labelled_import(dir.path(), &["--no-boxes"]);
    let out = whaleid(&args);
    assert!(out.status.success(), "{}", text(&out));
    let mut cat = Catalogue::open(&cat_dir).unwrap();
    let w4 = detections_of(&cat, "W004");
    assert_eq!(w4.len(), 4);
    grade(
        &mut cat,
        &w4,
        &[Edit::Side(Side::Right), Edit::Quality(Quality::Q3)],
    );
    for code in ["W000", "W002"] {
        grade_code(&mut cat, code, &[Edit::Quality(Quality::Q2)]);
    }
    drop(cat);
    // A catalogued photo of W004 in a new file: the detector finds the
    // crop it found at import (the catalogue's crops come from it too).
    let query = dir.path().join("query.tif");
    kit::photo(4, 40, 33).save(&query).unwrap();
    let identify = |extra: &[&str]| {
        let mut a = vec![
            "identify",
            s(&query),
            "-c",
            s(&cat_dir),
            "--threshold",
            "0.5",
        ];
        a.extend_from_slice(extra);
        whaleid(&a)
    };
    let top5 = |line: &serde_json::Value| -> Vec<String> {
        line["top5"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["individual"].as_str().unwrap().to_string())
            .collect()
    };

    let out = identify(&["--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let plain = &lines(&out)[0];
    assert_eq!(top5(plain)[0], "W004", "{plain}");
    assert!(
        plain.get("grade_scope").is_none(),
        "no grades asked: {plain}"
    );

    let out = identify(&["--json", "--same-side", "--side", "left"]);
    assert!(out.status.success(), "{}", text(&out));
    let left = &lines(&out)[0];
    let found = top5(left);
    assert_eq!(found.len(), 5, "{left}");
    assert!(!found.contains(&"W004".to_string()), "{left}");
    assert_eq!(left["scope"], "whole catalogue");
    let g = &left["grade_scope"];
    assert_eq!(g["same_side"], true, "{g}");
    assert_eq!(g["side"], "left");
    assert_eq!(g["label"], "same side (left)");
    assert_eq!(g["left_out"], 4);

    // Human output: the scope in one line with what it left out. Only
    // W000's and W002's eight Q2 photos are left to propose.
    let out = identify(&["--min-quality", "q2"]);
    assert!(out.status.success(), "{}", text(&out));
    let shown = stdout(&out);
    assert!(
        shown.contains("grades: quality >= Q2 | 16 gallery photos left out"),
        "{shown}"
    );
    assert!(!shown.contains("W004"), "{shown}");
    let out = identify(&["--json", "--min-quality", "Q2", "--part", "fluke"]);
    let g = &lines(&out)[0]["grade_scope"];
    assert_eq!(
        (g["min_quality"].as_str(), g["left_out"].as_u64()),
        (Some("Q2"), Some(24))
    );
    assert_eq!(g["parts"], serde_json::json!(["fluke"]));

    // --same-side needs the photos' side; a side not one of the values is named.
    let out = identify(&["--same-side"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("--side"), "{}", text(&out));
    let out = identify(&["--side", "top"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("top"), "{}", text(&out));
    let out = identify(&["--side", "unknown"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("unknown"), "{}", text(&out));
}

/// A gallery drawn from proptest values: `(individual, grades, vector)`
/// per photo.
type Drawn = Vec<(i64, (Option<Side>, Option<Quality>, Option<Part>), Vec<f32>)>;

fn gallery_of(drawn: &Drawn, config: IndexConfig) -> (Gallery, Vec<GalleryItem>, GalleryGrades) {
    let mut grades = HashMap::new();
    let items: Vec<GalleryItem> = drawn
        .iter()
        .enumerate()
        .map(|(i, (individual, (side, quality, part), v))| {
            let id = i as i64 + 1;
            grades.insert(
                id,
                Grades {
                    side: *side,
                    quality: *quality,
                    part: *part,
                    distinctiveness: None,
                },
            );
            let n = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-6);
            GalleryItem {
                embedding_id: id,
                detection_id: id,
                individual_id: *individual,
                species: None,
                taken_at: None,
                latitude: None,
                longitude: None,
                vector: v.iter().map(|x| x / n).collect(),
            }
        })
        .collect();
    let gallery = Gallery::new(items.clone(), config).unwrap();
    (gallery, items, GalleryGrades::from_map(grades))
}

/// The scoped ranking by hand: every admitted photo's cosine, best first.
fn brute_force(
    items: &[GalleryItem],
    query: &[f32],
    scoped: &Scoped<'_>,
    k: usize,
) -> Vec<(i64, f32)> {
    let mut all: Vec<(i64, i64, f32)> = items
        .iter()
        .filter(|i| scoped.admits(i))
        .map(|i| {
            let dot = i.vector.iter().zip(query).map(|(a, b)| a * b).sum::<f32>();
            (i.embedding_id, i.individual_id, dot)
        })
        .collect();
    all.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)));
    all.into_iter()
        .take(k)
        .map(|(_, ind, s)| (ind, s))
        .collect()
}

/// Equal rankings: the same scores in order (to float noise), each with
/// the same key (or NaN for new_individual on both sides).
fn same_ranking(got: &[(i64, f32)], want: &[(i64, f32)]) -> bool {
    got.len() == want.len()
        && got.iter().zip(want).all(|(g, w)| {
            g.0 == w.0 && ((g.1.is_nan() && w.1.is_nan()) || (g.1 - w.1).abs() < 1e-5)
        })
}

/// Eight values far enough from zero to have a direction.
fn vector() -> impl Strategy<Value = Vec<f32>> {
    prop::collection::vec(-1.0f32..1.0, 8).prop_filter("has a direction", |v| {
        v.iter().map(|x| x * x).sum::<f32>() > 0.01
    })
}

fn side() -> impl Strategy<Value = Option<Side>> {
    prop::option::of(prop::sample::select(Side::ALL.to_vec()))
}

fn quality() -> impl Strategy<Value = Option<Quality>> {
    prop::option::of(prop::sample::select(Quality::ALL.to_vec()))
}

fn part() -> impl Strategy<Value = Option<Part>> {
    prop::option::of(prop::sample::select(vec![Part::Fluke, Part::DorsalFin]))
}

fn drawn() -> impl Strategy<Value = Drawn> {
    prop::collection::vec((0i64..12, (side(), quality(), part()), vector()), 1..160)
}

fn scope() -> impl Strategy<Value = BoundScope> {
    (
        prop::option::of(prop::sample::select(vec![
            Side::Left,
            Side::Right,
            Side::Both,
        ])),
        quality(),
        prop::collection::vec(
            prop::sample::select(vec![Part::Fluke, Part::DorsalFin]),
            0..2,
        ),
    )
        .prop_map(|(side, min_quality, parts)| BoundScope {
            same_side: side.is_some(),
            side,
            min_quality,
            parts,
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    /// The scoped search, and the five it suggests, equal the brute-force
    /// ranking of the admitted photos: below the exact threshold, and with
    /// an HNSW snapshot over the whole gallery.
    #[test]
    fn scoped_search_equals_brute_force_over_the_admitted_photos(
        drawn in drawn(),
        grades in scope(),
        query in vector(),
        hnsw in any::<bool>(),
    ) {
        let mut config = IndexConfig::new(8);
        if hnsw {
            config.exact_threshold = 0;
        }
        let (gallery, items, graded) = gallery_of(&drawn, config);
        if hnsw {
            gallery.index().rebuild_in_background();
            gallery.index().wait_for_rebuild().unwrap().unwrap();
        }
        let n = query.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-6);
        let query: Vec<f32> = query.iter().map(|x| x / n).collect();
        let everything = Scope::default();
        let scoped = Scoped { scope: &everything, grades: &grades, graded: &graded };
        let settings = MatchSettings::new(0.3);

        let got = scoped.neighbours(&gallery, &query, settings.neighbours).unwrap();
        let want = brute_force(&items, &query, &scoped, settings.neighbours);
        prop_assert!(same_ranking(&got, &want), "{:?}\n{:?}", got, want);
        let admitted = items.iter().filter(|i| scoped.admits(i)).count();
        prop_assert_eq!(scoped.left_out(&gallery), items.len() - admitted);

        let five = suggest_scoped(&gallery, &query, &scoped, &settings, None).unwrap();
        let by_hand = five_with_new(
            &rank_individuals(&want, None, 0.0),
            settings.threshold,
            NewIndividualPolicy::Threshold,
        );
        let scores = |p: &[Prediction<i64>]| -> Vec<(i64, f32)> {
            p.iter()
                .map(|p| match p {
                    Prediction::Individual { key, score } => (*key, *score),
                    Prediction::NewIndividual => (-1, f32::NAN),
                })
                .collect()
        };
        prop_assert!(same_ranking(&scores(&five), &scores(&by_hand)), "{:?}\n{:?}", five, by_hand);
    }
}
