//! The second reviewer (issue 16) on real catalogues: a first decision
//! waits blind for another person's opinion; equal opinions make it final,
//! different ones go to the disagreement list, where anyone resolves it;
//! the same person is refused; the analyst-agreement report's numbers are
//! checked against hand-computed ones, per pair of people and per photo
//! quality; and the CLI drives the same calls.

mod support;

use std::path::Path;

use whaleid::catalogue::attributes::{Edit, Quality};
use whaleid::catalogue::review::QueueItem;
use whaleid::catalogue::second_review::{CaseState, Choice, Resolution, Said};
use whaleid::catalogue::Catalogue;
use whaleid::ingest::survey::{ingest, IngestOptions};
use whaleid::matching::MatchSettings;
use whaleid::CancelToken;
use whaleid_testkit::{self as kit, imported, survey_photos};

use support::{s, stdout, whaleid};

/// Six known individuals W000..W005, then a survey of `n` photos waiting
/// for review with the model's suggestions; the switch on.
fn surveyed(dir: &Path, n: u32) -> Catalogue {
    let (pipeline, mut cat) = imported(dir);
    let survey = dir.join("survey");
    survey_photos(&survey, n, 6);
    let files = whaleid::ingest::scan::scan(&survey).unwrap().photos;
    ingest(
        &mut cat,
        &pipeline,
        &files,
        &IngestOptions {
            settings: Some(MatchSettings::new(0.999)),
            ..IngestOptions::default()
        },
        &mut |_| {},
        &CancelToken::new(),
    )
    .unwrap();
    cat.set_second_review_required(true, Some("ana")).unwrap();
    cat
}

fn id(cat: &Catalogue, code: &str) -> i64 {
    cat.individual(code).unwrap().id
}

/// The detection's current confirmed decision: individual code and who.
fn current(cat: &Catalogue, detection: i64) -> Option<(String, String)> {
    kit::sql(cat)
        .query_row(
            "SELECT i.code, idn.decided_by FROM identifications idn
             JOIN individuals i ON i.id = idn.individual_id
             WHERE idn.detection_id = ?1 AND idn.superseded_by IS NULL
               AND idn.withdrawn_at IS NULL AND idn.verdict = 'confirmed'",
            [detection],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .ok()
}

fn queued(cat: &Catalogue, person: &str) -> Vec<i64> {
    cat.second_review_queue(person)
        .unwrap()
        .iter()
        .map(|i| i.detection_id)
        .collect()
}

#[test]
fn the_second_reviewer_sees_the_item_as_the_first_saw_it_and_nothing_of_the_decision() {
    let dir = tempfile::tempdir().unwrap();
    let mut cat = surveyed(dir.path(), 2);
    let before: Vec<QueueItem> = cat.review_queue(None).unwrap();
    let item = before
        .iter()
        .find(|i| i.suggestions.iter().any(|s| s.best_crop.is_some()))
        .expect("a survey detection with a suggested individual that has crops")
        .clone();
    let chosen = item
        .suggestions
        .iter()
        .find_map(|s| s.individual.clone())
        .unwrap();
    cat.review_accept(item.detection_id, chosen.id, None, Some(1), Some("ana"))
        .unwrap();
    // The decision is stored and counts; the detection left the review queue.
    assert_eq!(
        current(&cat, item.detection_id),
        Some((chosen.code.clone(), "ana".into()))
    );
    assert!(!cat
        .review_queue(None)
        .unwrap()
        .iter()
        .any(|i| i.detection_id == item.detection_id));

    // Not in Ana's own second-review queue; in Ben's, exactly as Ana saw
    // it before deciding: no name, no decision, and the suggestion she
    // chose does not show the detection's own crop.
    assert!(queued(&cat, "ana").is_empty());
    let blind = cat.second_review_queue("ben").unwrap();
    assert_eq!(blind.len(), 1);
    let shown = serde_json::to_value(&blind[0]).unwrap();
    assert_eq!(shown, serde_json::to_value(&item).unwrap());
    let text = shown.to_string();
    assert!(!text.contains("ana"), "{text}");
    let own_crop = item.crop.clone().expect("a survey detection has a crop");
    for s in &blind[0].suggestions {
        assert_ne!(s.best_crop.as_ref(), Some(&own_crop));
        assert!(!s.strip.contains(&own_crop));
    }
}

#[test]
fn equal_opinions_make_the_decision_final_and_different_ones_go_to_the_list() {
    let dir = tempfile::tempdir().unwrap();
    let mut cat = surveyed(dir.path(), 3);
    let d: Vec<i64> = cat.queued_detections().unwrap();
    let (w0, w1) = (id(&cat, "W000"), id(&cat, "W001"));

    // Agreed: the same individual.
    cat.review_accept(d[0], w0, None, Some(1), Some("ana"))
        .unwrap();
    let out = cat.give_opinion(d[0], Said::Individual(w0), "ben").unwrap();
    assert_eq!(out.state, CaseState::Agreed);
    assert_eq!(
        (out.first.by.as_str(), out.second.by.as_str()),
        ("ana", "ben")
    );
    assert_eq!(out.first.code.as_deref(), Some("W000"));
    assert_eq!(current(&cat, d[0]), Some(("W000".into(), "ana".into())));
    assert!(queued(&cat, "ben").iter().all(|x| *x != d[0]));
    // A second opinion on a final decision is refused.
    let again = cat.give_opinion(d[0], Said::New, "cleo").unwrap_err();
    assert!(
        again
            .to_string()
            .contains("already has a second opinion, by ben"),
        "{again}"
    );

    // Disagreed: Ana names a new animal, Ben sees W001.
    cat.review_new_individual(d[1], "NEW-1", None, Some("ana"))
        .unwrap();
    let out = cat.give_opinion(d[1], Said::Individual(w1), "ben").unwrap();
    assert_eq!(out.state, CaseState::Disagreed);
    assert_eq!(out.first.choice, Choice::New);
    let list = cat.disagreements().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].detection_id, d[1]);
    assert_eq!(
        (list[0].first.summary(), list[0].second.summary()),
        ("new".to_string(), "W001".to_string())
    );
    // Until resolved, the first decision stays current.
    assert_eq!(current(&cat, d[1]), Some(("NEW-1".into(), "ana".into())));
    // Cleo resolves it as W001: a normal decision, and the list is empty.
    cat.resolve_disagreement(d[1], Resolution::Individual(w1), "cleo")
        .unwrap();
    assert_eq!(current(&cat, d[1]), Some(("W001".into(), "cleo".into())));
    assert!(cat.disagreements().unwrap().is_empty());
    // A resolution opens no new case, and nothing else can be resolved.
    assert!(queued(&cat, "ben").iter().all(|x| *x != d[1]));
    let err = cat
        .resolve_disagreement(d[0], Resolution::Unidentifiable, "cleo")
        .unwrap_err();
    assert!(
        err.to_string().contains("not on the disagreement list"),
        "{err}"
    );

    // Disagreed the other way round, resolved as not identifiable: the
    // decision that was current is withdrawn, kept in the history.
    cat.review_accept(d[2], w0, None, Some(1), Some("ben"))
        .unwrap();
    cat.give_opinion(d[2], Said::Unidentifiable, "ana").unwrap();
    cat.resolve_disagreement(d[2], Resolution::Unidentifiable, "cleo")
        .unwrap();
    assert_eq!(current(&cat, d[2]), None);
    let kept: i64 = kit::sql(&cat)
        .query_row(
            "SELECT count(*) FROM identifications WHERE detection_id = ?1",
            [d[2]],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(kept, 1);
    assert!(cat.disagreements().unwrap().is_empty());
}

/// A Darwin Core Archive says where each identification's second review
/// stands (`identificationVerificationStatus`), read back with
/// python-dwca-reader: agreed, disputed, resolved after a disagreement,
/// awaiting, and awaiting again when another person's decision replaced
/// the first one (a case of its own).
#[test]
fn the_dwc_archive_says_where_each_second_review_stands() {
    let dir = tempfile::tempdir().unwrap();
    let mut cat = surveyed(dir.path(), 5);
    let d: Vec<i64> = cat.queued_detections().unwrap();
    let (w0, w1) = (id(&cat, "W000"), id(&cat, "W001"));
    // Agreed, disputed, resolved, awaiting, and one taken back.
    cat.review_accept(d[0], w0, None, Some(1), Some("ana"))
        .unwrap();
    cat.give_opinion(d[0], Said::Individual(w0), "ben").unwrap();
    cat.review_accept(d[1], w0, None, Some(1), Some("ana"))
        .unwrap();
    cat.give_opinion(d[1], Said::Individual(w1), "ben").unwrap();
    cat.review_accept(d[2], w0, None, Some(1), Some("ana"))
        .unwrap();
    cat.give_opinion(d[2], Said::Individual(w1), "ben").unwrap();
    cat.resolve_disagreement(d[2], Resolution::Individual(w1), "cleo")
        .unwrap();
    cat.review_accept(d[3], w1, None, Some(1), Some("ana"))
        .unwrap();
    cat.review_accept(d[4], w1, None, Some(1), Some("ana"))
        .unwrap();
    cat.review_accept(d[4], w0, None, Some(1), Some("dan"))
        .unwrap();
    // Publishable: a date, a position and a species the table knows.
    let db = kit::sql(&cat);
    db.execute_batch(
        "UPDATE photos SET taken_at = '2024-06-01T10:00:00', latitude = -35.2, longitude = 174.1;
         UPDATE individuals SET species = 'humpback_whale';",
    )
    .unwrap();
    drop(db);

    let zip = dir.path().join("occurrences.zip");
    cat.export_dwca(
        &zip,
        &whaleid::catalogue::publish::Filter::default(),
        &whaleid::catalogue::publish::dwca::DatasetInfo {
            title: "Second review".into(),
            contact: "Ana <ana@example.org>".into(),
            licence: "CC-BY-4.0".into(),
            description: None,
        },
    )
    .unwrap();
    let records: Vec<serde_json::Value> = serde_json::from_str(&kit::dwca_records(&zip)).unwrap();
    let uuid = |det: i64| -> String {
        kit::sql(&cat)
            .query_row("SELECT uuid FROM detections WHERE id = ?1", [det], |r| {
                r.get(0)
            })
            .unwrap()
    };
    let status = |det: i64| -> String {
        let id = uuid(det);
        let r = records
            .iter()
            .find(|r| r["id"].as_str() == Some(id.as_str()))
            .unwrap_or_else(|| panic!("no occurrence for #{det}: {records:?}"));
        r["identificationVerificationStatus"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(status(d[0]), "verified by a second reviewer");
    assert_eq!(status(d[1]), "disputed: two reviewers disagree");
    assert_eq!(
        status(d[2]),
        "verified: two reviewers disagreed, then resolved"
    );
    assert_eq!(status(d[3]), "awaiting a second reviewer");
    // Dan's later decision replaced Ana's first opinion on d[4]; his own
    // decision opened a case of its own, waiting.
    assert_eq!(status(d[4]), "awaiting a second reviewer");
}

#[test]
fn the_same_person_cannot_confirm_their_own_decision() {
    let dir = tempfile::tempdir().unwrap();
    let mut cat = surveyed(dir.path(), 2);
    let d = cat.queued_detections().unwrap();
    cat.review_unidentifiable(d[0], Some("ana")).unwrap();
    let err = cat
        .give_opinion(d[0], Said::Unidentifiable, "ana")
        .unwrap_err();
    assert!(err.to_string().contains("must be someone else's"), "{err}");
    // Nothing was stored: Ben still has it to judge.
    assert_eq!(queued(&cat, "ben"), vec![d[0]]);
    // A detection no one decided waits for no second opinion.
    let err = cat.give_opinion(d[1], Said::New, "ben").unwrap_err();
    assert!(
        err.to_string().contains("not waiting for a second opinion"),
        "{err}"
    );
    // A decision with no name cannot be judged by someone else: refused.
    let err = cat
        .review_accept(d[1], id(&cat, "W000"), None, None, None)
        .unwrap_err();
    assert!(err.to_string().contains("need a second reviewer"), "{err}");
    assert!(cat.queued_detections().unwrap().contains(&d[1]));
}

#[test]
fn an_undone_first_decision_waits_for_no_second_opinion() {
    let dir = tempfile::tempdir().unwrap();
    let mut cat = surveyed(dir.path(), 1);
    let d = cat.queued_detections().unwrap()[0];
    cat.review_accept(d, id(&cat, "W000"), None, None, Some("ana"))
        .unwrap();
    assert_eq!(queued(&cat, "ben"), vec![d]);
    cat.review_undo(Some("ana")).unwrap().unwrap();
    assert!(queued(&cat, "ben").is_empty());
    let err = cat.give_opinion(d, Said::New, "ben").unwrap_err();
    assert!(err.to_string().contains("was taken back"), "{err}");
    // Decided again: a new case, waiting again.
    cat.review_accept(d, id(&cat, "W001"), None, None, Some("ana"))
        .unwrap();
    assert_eq!(queued(&cat, "ben"), vec![d]);
    let out = cat
        .give_opinion(d, Said::Individual(id(&cat, "W001")), "ben")
        .unwrap();
    assert_eq!(out.state, CaseState::Agreed);
}

#[test]
fn with_the_switch_off_decisions_wait_for_no_one() {
    let dir = tempfile::tempdir().unwrap();
    let mut cat = surveyed(dir.path(), 1);
    cat.set_second_review_required(false, Some("ana")).unwrap();
    assert!(!cat.second_review_required().unwrap());
    let d = cat.queued_detections().unwrap()[0];
    cat.review_accept(d, id(&cat, "W000"), None, None, Some("ana"))
        .unwrap();
    assert!(queued(&cat, "ben").is_empty());
    let opinions: i64 = kit::sql(&cat)
        .query_row("SELECT count(*) FROM review_opinions", [], |r| r.get(0))
        .unwrap();
    assert_eq!(opinions, 0);
}

/// Five detections judged by two people each, with grades:
///
/// | det | grade | first       | second            | agree |
/// |-----|-------|-------------|-------------------|-------|
/// | 0   | Q1    | ana W000    | ben W000          | yes   |
/// | 1   | Q1    | ana new     | ben W000          | no    |
/// | 2   | Q2    | ben unident | ana unidentifiable| yes   |
/// | 3   | -     | ana W000    | cleo W001         | no    |
/// | 4   | -     | ana W001    | ben W001          | yes   |
///
/// ana–ben: 4 items, 3 agreed, 75 %; ana's answers W000, new, unid, W001
/// (¼ each), ben's W000 ½, unid ¼, W001 ¼: p_e = ¼·½ + ¼·0 + ¼·¼ + ¼·¼ =
/// 0.25, kappa = (0.75 − 0.25)/(1 − 0.25) = 2/3. ana–cleo: 1 item, 0
/// agreed, p_e = 0, kappa 0. Q1: 2 items 1 agreed; Q2: 1/1; Q3: none;
/// ungraded: 2 items 1 agreed. In all: 5 items, 3 agreed.
#[test]
fn the_agreement_report_matches_hand_computed_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let mut cat = surveyed(dir.path(), 5);
    let d = cat.queued_detections().unwrap();
    assert!(d.len() >= 5, "{d:?}");
    let (w0, w1) = (id(&cat, "W000"), id(&cat, "W001"));
    for (det, q) in [
        (d[0], Quality::Q1),
        (d[1], Quality::Q1),
        (d[2], Quality::Q2),
    ] {
        cat.set_attributes(det, &[Edit::Quality(q)], "ana").unwrap();
    }
    cat.review_accept(d[0], w0, None, None, Some("ana"))
        .unwrap();
    cat.give_opinion(d[0], Said::Individual(w0), "ben").unwrap();
    cat.review_new_individual(d[1], "NEW-1", None, Some("ana"))
        .unwrap();
    cat.give_opinion(d[1], Said::Individual(w0), "ben").unwrap();
    cat.review_unidentifiable(d[2], Some("ben")).unwrap();
    cat.give_opinion(d[2], Said::Unidentifiable, "ana").unwrap();
    cat.review_accept(d[3], w0, None, None, Some("ana"))
        .unwrap();
    cat.give_opinion(d[3], Said::Individual(w1), "cleo")
        .unwrap();
    cat.review_accept(d[4], w1, None, None, Some("ana"))
        .unwrap();
    cat.give_opinion(d[4], Said::Individual(w1), "ben").unwrap();

    let r = cat.agreement_report().unwrap();
    assert_eq!((r.items, r.agreed), (5, 3));
    assert_eq!(r.percent, Some(60.0));
    let pairs: Vec<(&str, &str, usize, usize)> = r
        .pairs
        .iter()
        .map(|p| (p.a.as_str(), p.b.as_str(), p.items, p.agreed))
        .collect();
    assert_eq!(pairs, vec![("ana", "ben", 4, 3), ("ana", "cleo", 1, 0)]);
    assert_eq!(r.pairs[0].percent, Some(75.0));
    assert!(
        (r.pairs[0].kappa.unwrap() - 2.0 / 3.0).abs() < 1e-9,
        "{:?}",
        r.pairs[0]
    );
    assert_eq!(r.pairs[1].kappa, Some(0.0));
    let grades: Vec<(&str, usize, usize, Option<f64>)> = r
        .grades
        .iter()
        .map(|g| (g.grade.as_str(), g.items, g.agreed, g.percent))
        .collect();
    assert_eq!(
        grades,
        vec![
            ("Q1", 2, 1, Some(50.0)),
            ("Q2", 1, 1, Some(100.0)),
            ("Q3", 0, 0, None),
            ("ungraded", 2, 1, Some(50.0)),
        ]
    );

    // Resolving a disagreement leaves the report as judged.
    cat.resolve_disagreement(d[3], Resolution::Individual(w1), "ben")
        .unwrap();
    assert_eq!(cat.agreement_report().unwrap(), r);
}

#[test]
fn the_cli_switches_lists_judges_resolves_and_reports() {
    let dir = tempfile::tempdir().unwrap();
    let mut cat = surveyed(dir.path(), 2);
    cat.set_second_review_required(false, Some("ana")).unwrap();
    let root = cat.root().to_path_buf();
    let d = cat.queued_detections().unwrap();
    drop(cat);
    let on = whaleid(&[
        "review",
        "second-reviewer",
        "on",
        "-c",
        s(&root),
        "--as",
        "ana",
    ]);
    assert_eq!(
        stdout(&on).trim(),
        "second reviewer: on",
        "{}",
        support::text(&on)
    );
    assert!(Catalogue::open(&root)
        .unwrap()
        .second_review_required()
        .unwrap());
    let mut cat = Catalogue::open(&root).unwrap();
    cat.review_accept(d[0], id(&cat, "W000"), None, None, Some("ana"))
        .unwrap();
    cat.review_accept(d[1], id(&cat, "W001"), None, None, Some("ana"))
        .unwrap();
    drop(cat);

    let second = stdout(&whaleid(&[
        "review",
        "second",
        "-c",
        s(&root),
        "--as",
        "ben",
    ]));
    assert_eq!(second.lines().count(), 2, "{second}");
    assert!(!second.contains("ana"), "{second}");
    let own = stdout(&whaleid(&[
        "review",
        "second",
        "-c",
        s(&root),
        "--as",
        "ana",
    ]));
    assert!(own.trim().is_empty(), "{own}");

    let (d0, d1) = (format!("#{}", d[0]), format!("#{}", d[1]));
    let refused = whaleid(&[
        "review",
        "opinion",
        &d0,
        "--new",
        "-c",
        s(&root),
        "--as",
        "ana",
    ]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("someone else"));
    let agreed = stdout(&whaleid(&[
        "review",
        "opinion",
        &d0,
        "--individual",
        "W000",
        "-c",
        s(&root),
        "--as",
        "ben",
    ]));
    let agreed: serde_json::Value = serde_json::from_str(agreed.trim()).unwrap();
    assert_eq!(agreed["state"], "agreed");
    let differed = stdout(&whaleid(&[
        "review",
        "opinion",
        &d1,
        "--unidentifiable",
        "-c",
        s(&root),
        "--as",
        "ben",
    ]));
    assert!(differed.contains("\"disagreed\""), "{differed}");

    let list = stdout(&whaleid(&["review", "disagreements", "-c", s(&root)]));
    let row: serde_json::Value = serde_json::from_str(list.trim()).unwrap();
    assert_eq!(row["detection_id"], d[1]);
    assert_eq!(row["first"]["code"], "W001");
    assert_eq!(row["second"]["choice"], "unidentifiable");

    let table = stdout(&whaleid(&["review", "agreement", "-c", s(&root)]));
    assert!(
        table.contains("2 detections judged by two people, 1 agreed (50.0%)"),
        "{table}"
    );
    assert!(
        table
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>()
                == ["ana", "ben", "2", "1", "50.0%", "0.333"]),
        "{table}"
    );
    assert!(
        table
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["ungraded", "2", "1", "50.0%"]),
        "{table}"
    );

    let resolved = whaleid(&[
        "review",
        "resolve",
        &d1,
        "--individual",
        "W001",
        "-c",
        s(&root),
        "--as",
        "cleo",
    ]);
    assert!(
        resolved.status.success(),
        "{}",
        String::from_utf8_lossy(&resolved.stderr)
    );
    let list = stdout(&whaleid(&["review", "disagreements", "-c", s(&root)]));
    assert!(list.trim().is_empty(), "{list}");
    let json = stdout(&whaleid(&["review", "agreement", "-c", s(&root), "--json"]));
    let report: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
    assert_eq!(report["pairs"][0]["items"], 2);
}
