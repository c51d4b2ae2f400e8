//! The second reviewer across two laptops syncing through a real
//! `whaleid-server` process (issue 16): Ana decides on her laptop, Ben
//! gives his blind opinions on his, and after syncing both see the same
//! final decisions, the same disagreement and the same agreement report;
//! a disagreement resolved on one laptop is resolved on the other.

mod support;

use std::path::Path;

use support::{on_every_store, run_sync, serving, Backend};
use whaleid::catalogue::second_review::{CaseState, Resolution, Said};
use whaleid::catalogue::Catalogue;
use whaleid::sync::state::canonical;
use whaleid_testkit::{self as kit, import_all, labelled, pipeline};

#[test]
fn a_decision_and_its_blind_second_opinion_on_two_laptops_converge() {
    on_every_store(converge);
}

/// The code of the detection's current decision, and who took it.
fn current(cat: &Catalogue, detection: i64) -> (String, String) {
    kit::sql(cat)
        .query_row(
            "SELECT i.code, idn.decided_by FROM identifications idn
             JOIN individuals i ON i.id = idn.individual_id
             WHERE idn.detection_id = ?1 AND idn.superseded_by IS NULL
               AND idn.withdrawn_at IS NULL",
            [detection],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
}

fn code_of(cat: &Catalogue, code: &str) -> i64 {
    cat.individual(code).unwrap().id
}

fn converge(dir: &Path, backend: &Backend) {
    let (server, [ana_token, ben_token]) = serving(dir, backend, ["ana", "ben"], &[]);
    let url = server.url.clone();
    let pipeline = pipeline();
    let photos = labelled(&dir.join("photos"), &[1, 2]);
    let mut ana = Catalogue::create(dir.join("ana")).unwrap();
    import_all(&mut ana, &pipeline, &photos);
    // Ben's laptop gets everything from the server (one W1, one W2).
    let mut ben = Catalogue::create(dir.join("ben")).unwrap();
    let sync_all = |ana: &mut Catalogue, ben: &mut Catalogue| {
        run_sync(ana, &url, &ana_token, "ana");
        run_sync(ben, &url, &ben_token, "ben");
        run_sync(ana, &url, &ana_token, "ana");
    };
    sync_all(&mut ana, &mut ben);
    // The first detection of W1's photos and the first of W2's.
    let first_of = |cat: &Catalogue, code: &str| -> i64 {
        let ids = kit::detections_by_photo(cat);
        *ids.iter()
            .find(|d| current(cat, **d).0 == code)
            .expect("an imported photo of the individual")
    };
    let (a1, a2) = (first_of(&ana, "W1"), first_of(&ana, "W2"));
    let (b1, b2) = (first_of(&ben, "W1"), first_of(&ben, "W2"));

    // Ana reviews with the second reviewer on: W1's photo as W1, and
    // W2's photo, wrongly, as W1.
    ana.set_second_review_required(true, Some("ana")).unwrap();
    let w1 = code_of(&ana, "W1");
    ana.review_accept(a1, w1, None, Some(1), Some("ana"))
        .unwrap();
    ana.review_accept(a2, w1, None, Some(1), Some("ana"))
        .unwrap();
    assert!(ben.second_review_queue("ben").unwrap().is_empty());
    assert!(!ben.second_review_required().unwrap());
    sync_all(&mut ana, &mut ben);
    // The switch is the team's: on for Ben's decisions too.
    assert!(ben.second_review_required().unwrap());

    // On Ben's laptop both wait for him, blind; none waits for Ana.
    let mut waiting: Vec<i64> = ben
        .second_review_queue("ben")
        .unwrap()
        .iter()
        .map(|i| i.detection_id)
        .collect();
    waiting.sort();
    let mut expected = vec![b1, b2];
    expected.sort();
    assert_eq!(waiting, expected);
    assert!(ben.second_review_queue("ana").unwrap().is_empty());
    let (bw1, bw2) = (code_of(&ben, "W1"), code_of(&ben, "W2"));
    let agreed = ben.give_opinion(b1, Said::Individual(bw1), "ben").unwrap();
    assert_eq!(agreed.state, CaseState::Agreed);
    let differed = ben.give_opinion(b2, Said::Individual(bw2), "ben").unwrap();
    assert_eq!(differed.state, CaseState::Disagreed);
    sync_all(&mut ana, &mut ben);

    // Both see Ana's decision on W1's photo as final, and the same
    // disagreement on W2's, and the same report.
    for (name, cat, d1, d2) in [("ana", &ana, a1, a2), ("ben", &ben, b1, b2)] {
        assert_eq!(current(cat, d1), ("W1".into(), "ana".into()), "{name}");
        assert!(cat.second_review_queue("ben").unwrap().is_empty(), "{name}");
        assert!(
            cat.second_review_queue("cleo").unwrap().is_empty(),
            "{name}"
        );
        let list = cat.disagreements().unwrap();
        assert_eq!(list.len(), 1, "{name}: {list:?}");
        assert_eq!(list[0].detection_id, d2, "{name}");
        assert_eq!(
            (list[0].first.summary(), list[0].first.by.as_str()),
            ("W1".to_string(), "ana"),
            "{name}"
        );
        assert_eq!(
            (list[0].second.summary(), list[0].second.by.as_str()),
            ("W2".to_string(), "ben"),
            "{name}"
        );
        let report = cat.agreement_report().unwrap();
        assert_eq!((report.items, report.agreed), (2, 1), "{name}");
        assert_eq!(
            (report.pairs[0].a.as_str(), report.pairs[0].b.as_str()),
            ("ana", "ben")
        );
    }
    assert_eq!(
        ana.agreement_report().unwrap(),
        ben.agreement_report().unwrap()
    );

    // Ana resolves it on her laptop as W2: on Ben's too after a sync.
    let w2 = code_of(&ana, "W2");
    ana.resolve_disagreement(a2, Resolution::Individual(w2), "ana")
        .unwrap();
    sync_all(&mut ana, &mut ben);
    assert!(ben.disagreements().unwrap().is_empty());
    assert_eq!(current(&ben, b2), ("W2".into(), "ana".into()));
    assert_eq!(canonical(&ana).unwrap(), canonical(&ben).unwrap());

    // Ben switches it off later: off on both.
    std::thread::sleep(std::time::Duration::from_millis(20));
    ben.set_second_review_required(false, Some("ben")).unwrap();
    sync_all(&mut ana, &mut ben);
    assert!(!ana.second_review_required().unwrap());
    assert_eq!(canonical(&ana).unwrap(), canonical(&ben).unwrap());
    drop(server);
}

#[test]
fn two_second_opinions_given_at_once_count_the_same_one_everywhere() {
    on_every_store(two_seconds);
}

/// Ana decides; Ben and Cleo, each offline on their own laptop, both give
/// a second opinion on it, Ben agreeing and Cleo not. After syncing, every
/// laptop counts the same one (the earlier made) and keeps both.
fn two_seconds(dir: &Path, backend: &Backend) {
    let (server, [ana_t, ben_t, cleo_t]) = serving(dir, backend, ["ana", "ben", "cleo"], &[]);
    let url = server.url.clone();
    let mut ana = Catalogue::create(dir.join("ana")).unwrap();
    import_all(
        &mut ana,
        &pipeline(),
        &labelled(&dir.join("photos"), &[1, 2]),
    );
    let mut ben = Catalogue::create(dir.join("ben")).unwrap();
    let mut cleo = Catalogue::create(dir.join("cleo")).unwrap();
    let sync_all = |ana: &mut Catalogue, ben: &mut Catalogue, cleo: &mut Catalogue| {
        for _ in 0..2 {
            run_sync(ana, &url, &ana_t, "ana");
            run_sync(ben, &url, &ben_t, "ben");
            run_sync(cleo, &url, &cleo_t, "cleo");
        }
    };
    ana.set_second_review_required(true, Some("ana")).unwrap();
    let a = kit::detections_by_photo(&ana)[0];
    let (w1, w2) = (code_of(&ana, "W1"), code_of(&ana, "W2"));
    let shown = current(&ana, a).0;
    let (agree, other) = if shown == "W1" { (w1, w2) } else { (w2, w1) };
    ana.review_accept(a, agree, None, None, Some("ana"))
        .unwrap();
    sync_all(&mut ana, &mut ben, &mut cleo);

    let on = |cat: &Catalogue, id: i64| cat.individual_by_id(id).unwrap().code;
    let (agree_code, other_code) = (on(&ana, agree), on(&ana, other));
    let b = kit::detections_by_photo(&ben)[0];
    let c = kit::detections_by_photo(&cleo)[0];
    let ben_said = Said::Individual(code_of(&ben, &agree_code));
    assert_eq!(
        ben.give_opinion(b, ben_said, "ben").unwrap().state,
        CaseState::Agreed
    );
    std::thread::sleep(std::time::Duration::from_millis(5));
    let cleo_said = Said::Individual(code_of(&cleo, &other_code));
    assert_eq!(
        cleo.give_opinion(c, cleo_said, "cleo").unwrap().state,
        CaseState::Disagreed
    );
    sync_all(&mut ana, &mut ben, &mut cleo);

    // Ben's came first: agreed on every laptop, Cleo's kept but not counted.
    for (name, cat) in [("ana", &ana), ("ben", &ben), ("cleo", &cleo)] {
        assert!(cat.disagreements().unwrap().is_empty(), "{name}");
        let r = cat.agreement_report().unwrap();
        assert_eq!((r.items, r.agreed), (1, 1), "{name}");
        assert_eq!(
            (r.pairs[0].a.as_str(), r.pairs[0].b.as_str()),
            ("ana", "ben"),
            "{name}"
        );
        let opinions = kit::sql(cat)
            .query_row("SELECT count(*) FROM review_opinions", [], |r| {
                r.get::<_, i64>(0)
            })
            .unwrap();
        assert_eq!(opinions, 3, "{name}");
    }
    assert_eq!(canonical(&ana).unwrap(), canonical(&cleo).unwrap());
    drop(server);
}
