//! Laptops that name different animals with one code, within a minute,
//! syncing through a real `whaleid-server` (issue 19 item 1): every laptop
//! syncs, the codes the clash gives are distinct, and every catalogue
//! shows the same ones.
//!
//! The individuals' UUIDs are v7, made within seconds of each other: their
//! first eight hex digits (the creation time) are the same, which is what
//! blocked the third laptop when a clash code was made of them.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use support::{on_every_store, run_sync, serving, Backend, Server};
use whaleid::catalogue::Catalogue;
use whaleid::sync::state::canonical;
use whaleid_testkit::{self as kit, import_all, labelled, pipeline};

#[test]
fn three_laptops_naming_different_animals_c1_within_a_minute_all_sync() {
    on_every_store(|dir, backend| laptops_reusing_one_code(dir, backend, 3));
}

#[test]
fn twenty_laptops_naming_different_animals_c1_within_a_minute_all_sync() {
    on_every_store(|dir, backend| laptops_reusing_one_code(dir, backend, 20));
}

/// The codes of every individual in `cat`, by UUID.
fn codes(cat: &Catalogue) -> BTreeMap<String, String> {
    let db = kit::sql(cat);
    let mut stmt = db.prepare("SELECT uuid, code FROM individuals").unwrap();
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    rows
}

fn laptops_reusing_one_code(dir: &Path, backend: &Backend, n: usize) {
    std::fs::create_dir_all(dir).unwrap();
    let token = backend.cmd(&["token", "add", "team"]);
    let pipeline = pipeline();
    let mut laptops: Vec<Catalogue> = (0..n)
        .map(|k| {
            let mut cat = Catalogue::create(dir.join(format!("laptop{k}"))).unwrap();
            // One photo of a different animal on each, labelled C1.
            let mut items = labelled(&dir.join(format!("photos{k}")), &[k as u32]);
            items.truncate(1);
            items[0].individual = "C1".into();
            let report = import_all(&mut cat, &pipeline, &items);
            assert_eq!(report.imported, 1, "{report:?}");
            cat
        })
        .collect();
    let server = Server::start(backend, &[]);
    // Each syncs once, in turn (every one of them must get through), then
    // once more so all hear of everyone.
    for round in 0..2 {
        for (k, cat) in laptops.iter_mut().enumerate() {
            let report = whaleid::sync::client::sync(
                cat,
                &whaleid::sync::client::Remote::new(&server.url, &token).unwrap(),
                &format!("laptop{k}"),
                &whaleid::CancelToken::new(),
                &mut |_, _| {},
            )
            .unwrap_or_else(|e| panic!("round {round}: laptop {k} cannot sync: {e}"));
            assert!(
                report.refused.is_empty(),
                "laptop {k}: {:?}",
                report.refused
            );
        }
    }
    let want = codes(&laptops[0]);
    assert_eq!(want.len(), n, "{want:?}");
    let shown: BTreeSet<&String> = want.values().collect();
    assert_eq!(shown.len(), n, "the codes are distinct: {want:?}");
    assert_eq!(want.values().filter(|c| *c == "C1").count(), 1, "{want:?}");
    for code in want.values().filter(|c| *c != "C1") {
        let tail = code.strip_prefix("C1~").unwrap_or_else(|| panic!("{code}"));
        assert!(
            tail.len() >= 8 && tail.chars().all(|c| c.is_ascii_hexdigit()),
            "{code}"
        );
    }
    // The same codes, and the same catalogue, on every laptop and on a new
    // one that pulls everything from the server.
    let mut fresh = Catalogue::create(dir.join("fresh")).unwrap();
    run_sync(&mut fresh, &server.url, &token, "fresh");
    let dump = canonical(&fresh).unwrap();
    assert_eq!(codes(&fresh), want);
    for (k, cat) in laptops.iter().enumerate() {
        assert_eq!(codes(cat), want, "laptop {k}");
        assert_eq!(canonical(cat).unwrap(), dump, "laptop {k}");
        assert!(cat.check().unwrap().is_empty(), "laptop {k}");
    }
}

/// An operation the planner lets through but the catalogue's rules refuse
/// (here a photo sent again under a UUID the server holds, with other
/// bytes) is refused with the reason; the rest of the push is applied and
/// the laptop is not blocked.
#[test]
fn an_operation_that_breaks_a_rule_of_the_catalogue_is_refused_not_a_500() {
    on_every_store(rule_breaking_operation);
}

fn rule_breaking_operation(dir: &Path, backend: &Backend) {
    use whaleid::sync::log::{collect, unpushed};
    use whaleid::sync::ops::Change;
    let (server, [token]) = serving(dir, backend, ["ana"], &[]);
    let pipeline = pipeline();
    let mut ana = Catalogue::create(dir.join("ana")).unwrap();
    let mut items = labelled(&dir.join("photos"), &[1]);
    items.truncate(1);
    import_all(&mut ana, &pipeline, &items);
    run_sync(&mut ana, &server.url, &token, "ana");
    let photo_op = unpushed(&ana, 1000).unwrap();
    assert!(photo_op.is_empty());
    let all = {
        let remote = whaleid::sync::client::Remote::new(&server.url, &token).unwrap();
        remote.pull(0, 1000).unwrap().ops
    };
    let photo = all
        .iter()
        .find(|o| matches!(o.change, Change::PhotoAdded { .. }))
        .unwrap()
        .clone();
    // The same photo UUID with other bytes, and an innocent new individual
    // in the same push.
    let mut clash = photo.clone();
    clash.id = "01a22700-0000-7000-8000-0000000000a1".into();
    clash.hlc.counter += 10;
    if let Change::PhotoAdded { sha256, .. } = &mut clash.change {
        *sha256 = "cd".repeat(32);
    }
    ana.ensure_individual("Innocent", None).unwrap();
    collect(&mut ana, "ana").unwrap();
    let mut ops = unpushed(&ana, 10).unwrap();
    assert_eq!(ops.len(), 1);
    ops.push(clash.clone());
    let remote = whaleid::sync::client::Remote::new(&server.url, &token).unwrap();
    let reply = remote
        .push(ops.clone())
        .unwrap_or_else(|e| panic!("the push failed instead of refusing one operation: {e}"));
    assert_eq!(reply.accepted, vec![ops[0].id.clone()], "{reply:?}");
    assert_eq!(reply.refused.len(), 1, "{reply:?}");
    assert_eq!(reply.refused[0].op, clash.id);
    assert!(
        reply.refused[0].reason.contains(&photo_uuid(&photo)),
        "{:?}",
        reply.refused
    );
    // The laptop syncs on, and the server's state is what it was plus the
    // innocent individual.
    let report = whaleid::sync::client::sync(
        &mut ana,
        &remote,
        "ana",
        &whaleid::CancelToken::new(),
        &mut |_, _| {},
    )
    .unwrap();
    assert!(report.refused.is_empty(), "{report:?}");
    let mut fresh = Catalogue::create(dir.join("fresh")).unwrap();
    run_sync(&mut fresh, &server.url, &token, "fresh");
    assert_eq!(canonical(&fresh).unwrap(), canonical(&ana).unwrap());
    assert!(fresh.individual("Innocent").is_ok());
}

fn photo_uuid(op: &whaleid::sync::ops::Op) -> String {
    match &op.change {
        whaleid::sync::ops::Change::PhotoAdded { photo, .. } => photo.clone(),
        other => panic!("{other:?}"),
    }
}
