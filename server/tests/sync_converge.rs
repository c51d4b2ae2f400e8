//! Laptops syncing through a real `whaleid-server` process on loopback:
//! they converge, and the server refuses what it must.
//!
//! Catalogues are made with the tiny test pack through real ONNX Runtime
//! and SQLite, edited offline, and synced with the engine's client (what
//! `whaleid sync` runs). They must all end in the server's state, with the
//! server killed and restarted on its data between syncs and a push whose
//! reply was lost sent again; bad requests are refused with a clear error
//! and nothing stored. Each runs on every store (`support::on_every_store`).

mod support;

use std::path::Path;

use support::{on_every_store, run_sync, sync_via, Backend, Server};
use whaleid::catalogue::records::Source;
use whaleid::catalogue::Catalogue;
use whaleid::sync::client::Remote;
use whaleid::sync::log::{collect, unpushed};
use whaleid::sync::state::canonical;
use whaleid_testkit::{self as kit, import_all, labelled, pipeline, straight_stripe_photo};

#[test]
fn three_laptops_converge_through_a_server_that_is_killed_and_restarted() {
    on_every_store(converge);
}

fn converge(dir: &Path, backend: &Backend) {
    std::fs::create_dir_all(dir).unwrap();
    let tokens: Vec<String> = ["ana", "ben", "cai"]
        .iter()
        .map(|u| backend.cmd(&["token", "add", u]))
        .collect();
    assert!(tokens.iter().all(|t| t.len() == 64), "{tokens:?}");
    let listed = backend.cmd(&["token", "list"]);
    assert_eq!(listed.lines().count(), 3);
    let pipeline = pipeline();

    // Offline work. Ana: W0..W3. Ben: W1, W2 (the same files) and a merge,
    // a rename and his own decision. Cai: nothing yet.
    let mut ana = Catalogue::create(dir.join("ana")).unwrap();
    import_all(
        &mut ana,
        &pipeline,
        &labelled(&dir.join("photos"), &[0, 1, 2, 3]),
    );
    let mut ben = Catalogue::create(dir.join("ben")).unwrap();
    import_all(&mut ben, &pipeline, &labelled(&dir.join("photos"), &[1, 2]));
    ben.merge("W1", "W2", Some("ben")).unwrap();
    // Ben's W1 is not Ana's W1: both imported their own (a code clash).
    let bens_w1 = ben.individual("W1").unwrap().uuid;
    ben.rename("W2", "Notch", Some("ben")).unwrap();
    // The same animal (7) met by both on different days: each names it.
    let seven = |who: &str, name: &str, at: u32| {
        let mut items = labelled(&dir.join(who), &[7]);
        for (n, item) in items.iter_mut().enumerate() {
            // Other photos than the other laptop's: the patch sits elsewhere.
            let (x, y) = (at + 3 * n as u32, 15 + 20 * n as u32);
            straight_stripe_photo(7, x, y).save(&item.path).unwrap();
            item.individual = name.into();
            item.bbox = Some(whaleid::detect::BBox {
                x1: x as f32,
                y1: y as f32,
                x2: (x + 60) as f32,
                y2: (y + 40) as f32,
            });
        }
        items
    };
    import_all(&mut ana, &pipeline, &seven("ana-7", "A7", 5));
    import_all(&mut ben, &pipeline, &seven("ben-7", "B7", 90));
    let mut cai = Catalogue::create(dir.join("cai")).unwrap();

    let server = Server::start(backend, &[]);
    let a1 = run_sync(&mut ana, &server.url, &tokens[0], "ana");
    assert!(a1.pushed > 0 && a1.pulled >= a1.pushed, "{a1:?}");
    // The server dies without warning; it comes back on the same data.
    server.kill();
    let server = Server::start(backend, &[]);
    let b1 = run_sync(&mut ben, &server.url, &tokens[1], "ben");
    assert!(b1.applied > 0, "Ben received Ana's work: {b1:?}");
    // Ana's A7 and Ben's B7 are one animal in different photos: suggested
    // as a duplicate (identical crops: similarity 1), not merged.
    let pairs: Vec<(String, String, f32)> = b1
        .duplicates
        .iter()
        .map(|d| (d.code.clone(), d.other_code.clone(), d.score))
        .collect();
    assert!(
        b1.duplicates
            .iter()
            .any(|d| d.score > 0.99 && d.code == "A7" && d.other_code == "B7"),
        "{pairs:?}"
    );
    let c1 = run_sync(&mut cai, &server.url, &tokens[2], "cai");
    assert!(c1.pushed == 0 && c1.pulled > 0);

    // Cai, now with everything, decides about one of Ana's detections and
    // renames W3; Ana meanwhile renames W3 too, later.
    let det: i64 = kit::sql(&cai)
        .query_row("SELECT min(id) FROM detections", [], |r| r.get(0))
        .unwrap();
    let w0 = cai.individual("W0").unwrap().id;
    let w3 = cai.individual("W3").unwrap().id;
    cai.with_tx(|tx| {
        tx.decide(det, w3, true, Source::Person, Some("cai"), None)
            .map(|_| ())
    })
    .unwrap();
    cai.rename("W3", "Scar", Some("cai")).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(5));
    ana.rename("W3", "Nick", Some("ana")).unwrap();
    let _ = w0;

    // A push whose reply was lost: Ana's operations reach the server but
    // she never hears back, so she sends them again with the next sync.
    collect(&mut ana, "ana").unwrap();
    let lost = unpushed(&ana, 1000).unwrap();
    assert!(!lost.is_empty());
    let remote = Remote::new(&server.url, &tokens[0]).unwrap();
    let first = remote.push(lost.clone()).unwrap();
    let again = remote.push(lost.clone()).unwrap();
    assert_eq!(first.accepted.len(), lost.len());
    assert_eq!(
        again.accepted.len(),
        lost.len(),
        "a resent batch is accepted again"
    );
    assert_eq!(again.last_seq, first.last_seq, "and stores nothing twice");

    for _ in 0..2 {
        run_sync(&mut cai, &server.url, &tokens[2], "cai");
        run_sync(&mut ana, &server.url, &tokens[0], "ana");
        run_sync(&mut ben, &server.url, &tokens[1], "ben");
    }
    // Crops came with the records: every detection Cai received shows its
    // crop, byte for byte the one its author made.
    let crops: Vec<String> = {
        let db = kit::sql(&cai);
        let mut stmt = db
            .prepare("SELECT crop_file FROM detections WHERE crop_file IS NOT NULL")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    assert_eq!(crops.len(), 18, "every detection has a crop");
    for f in &crops {
        let sha = whaleid::sync::media::crop_sha(f).unwrap_or_else(|| panic!("{f}"));
        let bytes = std::fs::read(cai.media_dir().join(f)).unwrap();
        assert_eq!(
            hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes)),
            sha
        );
    }
    // What the server holds: everything, as a new laptop pulls it.
    let mut master = Catalogue::create(dir.join("dave")).unwrap();
    let d = run_sync(&mut master, &server.url, &tokens[0], "dave");
    assert_eq!(d.media_missing, 0);
    let want = canonical(&master).unwrap();
    for (who, cat) in [("ana", &ana), ("ben", &ben), ("cai", &cai)] {
        assert_eq!(
            canonical(cat).unwrap(),
            want,
            "{who} differs from the server"
        );
        assert!(cat.check().unwrap().is_empty());
    }
    // The later rename (Ana's) won everywhere; Ben's merge holds.
    assert_eq!(ana.individual("Nick").unwrap().code, "Nick");
    assert!(ana.individual("Scar").is_err());
    let merged: bool = kit::sql(&ana)
        .query_row(
            "SELECT merged_into IS NOT NULL FROM individuals WHERE uuid = ?1",
            [&bens_w1],
            |r| r.get(0),
        )
        .unwrap();
    assert!(merged, "Ben's merge of his W1 reached Ana");
    let photos: i64 = kit::sql(&master)
        .query_row("SELECT count(*) FROM photos", [], |r| r.get(0))
        .unwrap();
    assert_eq!(photos, 18, "Ben's copies of W1 and W2 are Ana's photos");
}

#[test]
fn bad_requests_are_refused_with_a_reason_and_nothing_is_stored() {
    on_every_store(refuse);
}

fn refuse(dir: &Path, backend: &Backend) {
    std::fs::create_dir_all(dir).unwrap();
    let token = backend.cmd(&["token", "add", "ana"]);
    let server = Server::start(backend, &["--max-body-mib", "1"]);
    let mut cat = Catalogue::create(dir.join("ana")).unwrap();
    cat.ensure_individual("W0", None).unwrap();

    // Wrong token.
    let err = sync_via(
        &mut cat,
        &Remote::new(&server.url, "not-a-token").unwrap(),
        "ana",
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("401") && err.contains("unknown token"),
        "{err}"
    );

    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let try_post = |body: &str| -> Result<(u16, String), ureq::Error> {
        let mut resp = agent
            .post(&format!("{}/v1/push", server.url))
            .header("Authorization", &format!("Bearer {token}"))
            .header("Content-Type", "application/json")
            .send(body)?;
        let status = resp.status().as_u16();
        Ok((status, resp.body_mut().read_to_string().unwrap_or_default()))
    };
    let post = |body: &str| try_post(body).unwrap();
    // Malformed JSON, and an operation of an unknown kind.
    let (status, body) = post("{\"ops\": [");
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("error"), "{body}");
    let (status, body) = post(
        r#"{"ops":[{"id":"x","hlc":"000000000001-00000000-0000000000000001","author":"a","change":{"kind":"format_disk"}}]}"#,
    );
    assert!(status == 400 || status == 422, "{status} {body}");
    // Over the size limit.
    let huge = format!("{{\"ops\": [], \"pad\": \"{}\"}}", "x".repeat(2 << 20));
    // The server answers 413 as soon as it sees the length, and may close
    // the connection while the client is still sending: either is a refusal.
    match try_post(&huge) {
        Ok((status, _)) => assert_eq!(status, 413),
        Err(e) => assert!(matches!(e, ureq::Error::Io(_)), "{e}"),
    }

    // An operation naming a record the server does not have is refused
    // with the reason, and never handed to anyone.
    collect(&mut cat, "ana").unwrap();
    let mut ops = unpushed(&cat, 10).unwrap();
    assert_eq!(ops.len(), 1);
    let mut orphan = ops[0].clone();
    orphan.id = "01a22700-0000-7000-8000-000000000001".into();
    orphan.change = whaleid::sync::ops::Change::Decided {
        decision: "01a22700-0000-7000-8000-000000000002".into(),
        detection: "01a22700-0000-7000-8000-000000000003".into(),
        individual: "01a22700-0000-7000-8000-000000000004".into(),
        verdict: whaleid::sync::ops::Verdict::Confirmed,
        source: whaleid::sync::ops::DecisionSource::Person,
        score: None,
    };
    ops.push(orphan.clone());
    // An operation stamped two days ahead of the server's clock.
    let mut future = ops[0].clone();
    future.id = "01a22700-0000-7000-8000-000000000005".into();
    future.hlc.millis = whaleid::sync::hlc::wall_millis() + 48 * 3_600_000;
    future.change = whaleid::sync::ops::Change::IndividualCreated {
        individual: "01a22700-0000-7000-8000-000000000006".into(),
        code: "FUTURE-1".into(),
        species: None,
    };
    ops.push(future.clone());
    let remote = Remote::new(&server.url, &token).unwrap();
    // Media whose bytes do not hash to their name are refused; nothing kept.
    let sha = "ab".repeat(32);
    let err = remote
        .put_media(&sha, b"not those bytes")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("400") && err.contains("nothing stored"),
        "{err}"
    );
    assert_eq!(remote.get_media(&sha).unwrap(), None);
    // A name that tries to leave the media folder gets nothing.
    match remote.get_media("../../etc/passwd") {
        Ok(found) => assert_eq!(found, None),
        Err(e) => assert!(e.to_string().contains("400"), "{e}"),
    }
    let reply = remote.push(ops).unwrap();
    assert_eq!(reply.accepted.len(), 1);
    assert_eq!(reply.refused.len(), 2);
    let ahead = reply.refused.iter().find(|r| r.op == future.id).unwrap();
    assert!(
        ahead.reason.contains("ahead of the server's clock"),
        "{ahead:?}"
    );
    let reply_refused: Vec<_> = reply
        .refused
        .into_iter()
        .filter(|r| r.op != future.id)
        .collect();
    let reply = whaleid::sync::wire::PushReply {
        refused: reply_refused,
        ..reply
    };
    assert_eq!(reply.refused[0].op, orphan.id);
    assert!(
        reply.refused[0].reason.contains("not in this catalogue"),
        "{:?}",
        reply.refused
    );
    let pulled = remote.pull(0, 100).unwrap();
    assert_eq!(pulled.ops.len(), 1);
    assert!(pulled
        .ops
        .iter()
        .all(|o| o.id != orphan.id && o.id != future.id));
}
