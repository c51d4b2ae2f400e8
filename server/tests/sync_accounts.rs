//! The account behind a received operation is visible on the laptops that
//! receive it (issue 19 item 5). An operation's author is whatever the
//! laptop that made it claims; the server knows the user of the token it
//! came with and says so in its pulls (`pushed_by`). A laptop keeps the
//! claimed author and shows the account beside it where the two differ:
//! on an individual's sightings and history and in what a sync leaves to
//! review, in the engine's API, in `whaleid individual show` and in
//! `whaleid sync --review`. What a laptop did itself has no account.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::{on_every_store, run_sync, serving, Backend, BIN};
use whaleid::catalogue::Catalogue;
use whaleid::sync::plan::Conflict;
use whaleid::sync::review::{self, Found};
use whaleid::sync::state::describe;
use whaleid_testkit::{self as kit, import_all, labelled, pipeline};

/// The `whaleid` CLI, built beside the server by `cargo test --workspace`
/// (a test can only be handed its own package's binaries).
fn cli() -> PathBuf {
    let path = Path::new(BIN).with_file_name(format!("whaleid{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.is_file(),
        "{} is missing: build the CLI first (cargo build -p whaleid, or cargo test --workspace)",
        path.display()
    );
    path
}

/// `whaleid individual show -c DIR CODE`: its standard output.
fn show(cat: &Path, code: &str) -> String {
    let out = Command::new(cli())
        .args(["individual", "show", "-c"])
        .arg(cat)
        .arg(code)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A person on `cat` (who names themself `by`) says that the first
/// detection of `from` shows `into`.
fn reassign(cat: &mut Catalogue, from: &str, into: &str, by: &str) {
    let detection = cat.detections_of(cat.individual(from).unwrap().id).unwrap()[0];
    let into = cat.individual(into).unwrap().id;
    cat.review_same_as(detection, into, Some(by)).unwrap();
}

/// Who decided each sighting of `code`: (claimed author, account).
fn deciders(cat: &Catalogue, code: &str) -> Vec<(String, Option<String>)> {
    let id = cat.individual(code).unwrap().id;
    let mut out: Vec<_> = cat
        .sightings(id, None)
        .unwrap()
        .into_iter()
        .map(|s| (s.decided_by.unwrap_or_default(), s.decided_by_account))
        .collect();
    out.sort();
    out
}

fn named(by: &str, account: Option<&str>) -> (String, Option<String>) {
    (by.to_string(), account.map(String::from))
}

/// The `sighting` lines of `individual show`.
fn sighting_lines(out: &str) -> Vec<&str> {
    out.lines().filter(|l| l.starts_with("sighting ")).collect()
}

fn accounts_beside_claimed_authors(dir: &Path, backend: &Backend) {
    let (server, [mallory, cai, ben]) = serving(dir, backend, ["mallory", "cai", "ben"], &[]);
    let pipeline = pipeline();

    // Whoever holds Mallory's token claims to be Kim Lee: W1, W2 and W5
    // imported (decisions by "import"), then as Kim Lee W1 merged into W2
    // and a photo of W5 said to show W2.
    let kim_dir = dir.join("kim");
    let mut kims = Catalogue::create(&kim_dir).unwrap();
    let photos = labelled(&dir.join("kim-photos"), &[1, 2, 5]);
    import_all(&mut kims, &pipeline, &photos);
    kims.merge("W1", "W2", Some("Kim Lee")).unwrap();
    reassign(&mut kims, "W5", "W2", "Kim Lee");
    run_sync(&mut kims, &server.url, &mallory, "Kim Lee");
    // Cai pushes as himself.
    let mut cais = Catalogue::create(dir.join("cai")).unwrap();
    let photos = labelled(&dir.join("cai-photos"), &[3, 6]);
    import_all(&mut cais, &pipeline, &photos);
    reassign(&mut cais, "W6", "W3", "cai");
    run_sync(&mut cais, &server.url, &cai, "cai");
    // Ben imports W4 himself, then receives everyone's.
    let ben_dir = dir.join("ben");
    let mut bens = Catalogue::create(&ben_dir).unwrap();
    let photos = labelled(&dir.join("ben-photos"), &[4]);
    import_all(&mut bens, &pipeline, &photos);
    let report = run_sync(&mut bens, &server.url, &ben, "Ben");
    assert!(report.pulled > 0, "{report:?}");
    // Kim's laptop hears its own operations back: still its own.
    run_sync(&mut kims, &server.url, &mallory, "Kim Lee");

    // The engine, on Ben's laptop: W2's seven sightings (its own three,
    // W1's three through the merge, and W5's photo) keep the authors
    // Kim's laptop claimed, each with the account that pushed it; so does
    // the merge in W2's history.
    let mallorys = |by: &str| named(by, Some("mallory"));
    let mut expected = vec![mallorys("import"); 6];
    expected.insert(0, mallorys("Kim Lee"));
    assert_eq!(deciders(&bens, "W2"), expected);
    let events = bens.events(bens.individual("W2").unwrap().id).unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].kind, "merge");
    assert_eq!(events[0].actor.as_deref(), Some("Kim Lee"));
    assert_eq!(events[0].actor_account.as_deref(), Some("mallory"));
    let cais_ = |by: &str| named(by, Some("cai"));
    assert_eq!(
        deciders(&bens, "W3"),
        [
            cais_("cai"),
            cais_("import"),
            cais_("import"),
            cais_("import")
        ]
    );
    // Ben's own import has no account, nor has Kim's own work on Kim's
    // laptop.
    assert_eq!(deciders(&bens, "W4"), vec![named("import", None); 3]);
    let mut own = vec![named("import", None); 6];
    own.insert(0, named("Kim Lee", None));
    assert_eq!(deciders(&kims, "W2"), own);
    let kims_events = kims.events(kims.individual("W2").unwrap().id).unwrap();
    assert_eq!(kims_events[0].actor.as_deref(), Some("Kim Lee"));
    assert_eq!(kims_events[0].actor_account, None);
    drop(bens);
    drop(kims);

    // The CLI, on Ben's laptop: each received sighting and the merge say
    // both names; an author who is the account is named once.
    let w2 = show(&ben_dir, "W2");
    let lines = sighting_lines(&w2);
    assert_eq!(lines.len(), 7, "{w2}");
    let by = |who: &str| lines.iter().filter(|l| l.contains(who)).count();
    assert_eq!(by(" by Kim Lee (account mallory) at "), 1, "{w2}");
    assert_eq!(by(" by import (account mallory) at "), 6, "{w2}");
    let merge: Vec<&str> = w2.lines().filter(|l| l.contains(" merge ")).collect();
    assert_eq!(merge.len(), 1, "{w2}");
    assert!(
        merge[0].contains(" by Kim Lee (account mallory) at "),
        "{w2}"
    );
    let w3 = show(&ben_dir, "W3");
    let lines = sighting_lines(&w3);
    assert_eq!(lines.len(), 4, "{w3}");
    assert_eq!(
        lines.iter().filter(|l| l.contains(" by cai at ")).count(),
        1,
        "{w3}"
    );
    // What a laptop did itself shows as it always did.
    let w4 = show(&ben_dir, "W4");
    assert_eq!(sighting_lines(&w4).len(), 3, "{w4}");
    let kims_w2 = show(&kim_dir, "W2");
    let lines = sighting_lines(&kims_w2);
    assert_eq!(lines.len(), 7, "{kims_w2}");
    assert!(
        lines.iter().any(|l| l.contains(" by Kim Lee at ")),
        "{kims_w2}"
    );
    for out in [&w4, &kims_w2] {
        assert!(!out.contains("account"), "{out}");
    }

    // Ben, then Kim later, decide one of W5's photos (received by Ben)
    // differently: on Ben's laptop the sync's review names both deciders,
    // Kim Lee with the account, in the engine and in `whaleid sync --review`.
    let mut kims = Catalogue::open(&kim_dir).unwrap();
    let mut bens = Catalogue::open(&ben_dir).unwrap();
    let kims_photo = kims
        .detections_of(kims.individual("W5").unwrap().id)
        .unwrap()[0];
    let uuid: String = kit::sql(&kims)
        .query_row(
            "SELECT uuid FROM detections WHERE id = ?1",
            [kims_photo],
            |r| r.get(0),
        )
        .unwrap();
    let bens_photo: i64 = kit::sql(&bens)
        .query_row("SELECT id FROM detections WHERE uuid = ?1", [&uuid], |r| {
            r.get(0)
        })
        .unwrap();
    let w4 = bens.individual("W4").unwrap().id;
    bens.review_same_as(bens_photo, w4, Some("Ben")).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(5));
    let w3 = kims.individual("W3").unwrap().id;
    kims.review_same_as(kims_photo, w3, Some("Kim Lee"))
        .unwrap();
    run_sync(&mut kims, &server.url, &mallory, "Kim Lee");
    run_sync(&mut bens, &server.url, &ben, "Ben");
    let items = review::open_items(&bens).unwrap();
    let said: Vec<String> = items
        .iter()
        .filter_map(|i| match &i.what {
            Found::Conflict(c @ Conflict::Decisions { detection, .. }) if *detection == uuid => {
                Some(describe(&bens, c).unwrap())
            }
            _ => None,
        })
        .collect();
    assert_eq!(said.len(), 1, "{items:?}");
    assert!(
        said[0].contains(
            "W3 by Kim Lee (account mallory) counts (the later decision) over W4 by Ben;"
        ),
        "{said:?}"
    );
    drop(bens);
    let out = Command::new(cli())
        .args(["sync", "--review", "-c"])
        .arg(&ben_dir)
        .output()
        .unwrap();
    let listed = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(listed.contains(&said[0]), "{listed}");
}

#[test]
fn a_received_decision_shows_the_account_that_pushed_it_beside_its_claimed_author() {
    on_every_store(accounts_beside_claimed_authors);
}
