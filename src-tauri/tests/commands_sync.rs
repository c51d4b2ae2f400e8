//! Sync as the Sync screen runs it, on Tauri's mock runtime against a real
//! sync server in this process: configuration (refused with reasons),
//! preview, a run, and boxes drawn on two laptops that end the same on
//! both.

mod support;

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use image::{Rgb, RgbImage};
use serde_json::{json, Value};
use tauri::ipc::{Channel, InvokeResponseBody};
use tauri::test::MockRuntime;
use tauri::{App, Manager, WebviewWindow};
use whaleid_app::dto::SyncEvent;
use whaleid_app::state::AppState;
use whaleid_testkit::{self as kit, tiny_pack};

use support::{
    app, events_until_end, finished, ingest_drawn, invoke, open_with_tiny_pack, start_ingest,
    sync_server,
};

#[test]
fn sync_is_configured_previewed_and_run_through_the_ipc_against_a_real_server() {
    let dir = tempfile::tempdir().unwrap();
    let (app, window) = app(&dir.path().join("config"));
    let cat_dir = open_with_tiny_pack(&window, dir.path());
    let (url, [token]) = sync_server(&dir.path().join("server"), ["ana"]);

    let status = invoke(&window, "sync_status", json!({})).unwrap();
    assert_eq!(status["server"], Value::Null);
    assert_eq!(status["hasToken"], false);
    let err = invoke(&window, "sync_preview", json!({})).unwrap_err();
    assert_eq!(err["kind"], "invalid", "{err}");
    let bad = invoke(
        &window,
        "sync_configure",
        json!({ "settings": { "server": "ftp://x", "token": null, "author": "ana", "photos": false } }),
    )
    .unwrap_err();
    assert_eq!(bad["kind"], "invalid");

    // Some work to send: two photos ingested through the app.
    let drawn = [(1, 20, 20, "a.png"), (4, 30, 60, "b.png")];
    let summary = ingest_drawn(&app, &dir.path().join("survey"), &drawn);
    assert_eq!(summary.new_photos, 2);

    // A wrong token reaches the server and is refused, in words.
    invoke(
        &window,
        "sync_configure",
        json!({ "settings": { "server": url, "token": "wrong", "author": "ana", "photos": false } }),
    )
    .unwrap();
    let refused = invoke(&window, "sync_preview", json!({})).unwrap_err();
    assert_eq!(refused["kind"], "sync", "{refused}");
    assert!(
        refused["message"].as_str().unwrap().contains("401"),
        "{refused}"
    );

    // A CA file that holds no certificate is refused by name, and not kept.
    let not_a_ca = dir.path().join("survey").join("a.png");
    let bad_ca = invoke(
        &window,
        "sync_configure",
        json!({ "settings": { "server": url, "token": token, "author": "ana",
                              "caCert": not_a_ca, "photos": true } }),
    )
    .unwrap_err();
    assert_eq!(bad_ca["kind"], "invalid", "{bad_ca}");
    assert!(
        bad_ca["message"].as_str().unwrap().contains("a.png"),
        "{bad_ca}"
    );
    let status = invoke(
        &window,
        "sync_configure",
        json!({ "settings": { "server": url, "token": token, "author": "ana",
                              "caCert": "", "photos": true } }),
    )
    .unwrap();
    assert_eq!(status["caCert"], Value::Null);
    assert_eq!(status["photos"], true);
    assert_eq!(status["hasToken"], true);
    assert_eq!(status["author"], "ana");
    // Photos, detections and embeddings, and each photo's encounter: eight
    // changes wait.
    assert_eq!(status["pending"], 8, "{status}");

    let preview = invoke(&window, "sync_preview", json!({})).unwrap();
    assert_eq!(preview["toPush"], 8, "{preview}");
    assert_eq!(preview["toPull"], 0);

    let events = sync_events(&app);
    let Some(SyncEvent::Finished { summary }) = events.last() else {
        panic!("{events:?}");
    };
    assert_eq!(summary.pushed, 8);
    assert_eq!(
        summary.pulled, 8,
        "its own operations come back, already applied"
    );
    assert_eq!(summary.applied, 0);
    assert!(summary.refused.is_empty() && summary.conflicts.is_empty());
    // The originals went too.
    assert_eq!((summary.photos_sent, summary.photos_fetched), (2, 0));
    assert!(summary.photos_skipped.is_empty(), "{summary:?}");
    assert!(events.iter().any(
        |e| matches!(e, SyncEvent::Progress { stage, done } if stage == "photos" && *done > 0)
    ));
    assert!(events
        .iter()
        .any(|e| matches!(e, SyncEvent::Progress { stage, .. } if stage == "pushing")));
    let status = invoke(&window, "sync_status", json!({})).unwrap();
    assert_eq!(status["pending"], 0);
    assert!(status["lastSync"].is_string());
    assert_eq!(status["position"], 8);
    // The server holds them: a second catalogue pulls both photos.
    let mut other = whaleid::catalogue::Catalogue::create(dir.path().join("other")).unwrap();
    let report = whaleid::sync::client::sync(
        &mut other,
        &whaleid::sync::client::Remote::new(status["server"].as_str().unwrap(), &token).unwrap(),
        "ben",
        &whaleid::CancelToken::new(),
        &mut |_, _| {},
    )
    .unwrap();
    assert_eq!(report.pulled, 8);
    let fetched = whaleid::sync::photos::sync_photos(
        &mut other,
        &whaleid::sync::client::Remote::new(status["server"].as_str().unwrap(), &token).unwrap(),
        whaleid::sync::photos::CHUNK,
        &whaleid::CancelToken::new(),
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(fetched.fetched, 2, "{fetched:?}");
    assert_eq!(
        whaleid::sync::state::canonical(&other).unwrap(),
        whaleid::sync::state::canonical(&whaleid::catalogue::Catalogue::open(&cat_dir).unwrap())
            .unwrap()
    );

    assert_eq!(status["toReview"], json!([]));

    // What a sync leaves to look at stays on the Sync screen: a possible
    // duplicate (done once the two are merged) and a code clash (until
    // dismissed). Recorded as a sync records them, on the app's catalogue.
    let mut cat = whaleid::catalogue::Catalogue::open(&cat_dir).unwrap();
    let a = cat.ensure_individual("HW-1", None).unwrap();
    let b = cat.ensure_individual("HW-9", None).unwrap();
    let uuid = |id: i64| -> String {
        kit::sql(&cat)
            .query_row("SELECT uuid FROM individuals WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .unwrap()
    };
    let (ua, ub) = (uuid(a), uuid(b));
    whaleid::sync::review::record(
        &mut cat,
        &[whaleid::sync::plan::Conflict::CodeClash {
            code: "HW-1".into(),
            kept: ua.clone(),
            renamed: ub.clone(),
            renamed_to: "HW-1-2".into(),
        }],
        &[whaleid::sync::duplicates::Duplicate {
            individual: ub,
            code: "HW-9".into(),
            other: ua,
            other_code: "HW-1".into(),
            score: 0.91,
        }],
    )
    .unwrap();
    drop(cat);
    let status = invoke(&window, "sync_status", json!({})).unwrap();
    let items = status["toReview"].as_array().unwrap().clone();
    assert_eq!(items.len(), 2, "{status}");
    let dup = items.iter().find(|i| i["kind"] == "duplicate").unwrap();
    assert!(
        dup["detail"].as_str().unwrap().contains("HW-9 and HW-1"),
        "{dup}"
    );
    assert_eq!(
        (dup["individualId"].as_i64(), dup["otherId"].as_i64()),
        (Some(b), Some(a))
    );
    invoke(
        &window,
        "individual_merge",
        json!({ "fromId": b, "intoId": a }),
    )
    .unwrap();
    let status = invoke(&window, "sync_status", json!({})).unwrap();
    let items = status["toReview"].as_array().unwrap().clone();
    assert_eq!(items.len(), 1, "the merged pair is done: {status}");
    assert_eq!(items[0]["kind"], "codeClash");
    let id = items[0]["id"].as_i64().unwrap();
    let status = invoke(&window, "sync_dismiss", json!({ "id": id })).unwrap();
    assert_eq!(status["toReview"], json!([]));
    let again = invoke(&window, "sync_dismiss", json!({ "id": id })).unwrap_err();
    assert_eq!(again["kind"], "invalid", "{again}");
}

/// A catalogue made by the engine, opened in the app, with the tiny pack
/// that has no detector: every photo comes in as one whole-frame box.
fn open_with_nodetector_pack(window: &WebviewWindow<MockRuntime>, dir: &Path) -> PathBuf {
    let cat = dir.join("catalogue");
    whaleid::catalogue::Catalogue::create(&cat).unwrap();
    invoke(window, "catalogue_open", json!({ "path": cat })).unwrap();
    let pack = invoke(
        window,
        "pack_import",
        json!({ "path": tiny_pack().with_file_name("tiny-nodetector") }),
    )
    .unwrap();
    assert_eq!(pack["name"], "tiny-nodetector");
    assert_eq!(pack["detector"], false);
    cat
}

/// One sync run as the Sync screen starts it: every event up to and
/// including the closing one.
fn sync_events(app: &App<MockRuntime>) -> Vec<SyncEvent> {
    let (tx, rx) = mpsc::channel();
    let channel = Channel::new(move |body| {
        let InvokeResponseBody::Json(json) = body else {
            panic!("sync events are JSON");
        };
        let _ = tx.send(serde_json::from_str::<SyncEvent>(&json).expect("a SyncEvent"));
        Ok(())
    });
    let handle = app.handle().clone();
    tauri::async_runtime::block_on(whaleid_app::commands::sync::sync_start(
        handle.clone(),
        handle.state::<AppState>(),
        channel,
    ))
    .unwrap();
    let mut events = Vec::new();
    loop {
        let e = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the sync ends");
        let end = !matches!(e, SyncEvent::Progress { .. });
        events.push(e);
        if end {
            return events;
        }
    }
}

/// One sync run, which must finish: its summary.
fn sync_now(app: &App<MockRuntime>) -> whaleid_app::dto::SyncSummary {
    match sync_events(app).pop() {
        Some(SyncEvent::Finished { summary }) => summary,
        other => panic!("the sync did not finish: {other:?}"),
    }
}

/// The live boxes of a photo as `(box, drawnBy, class)`, sorted: local ids
/// differ between laptops, coordinates and names do not.
fn live_boxes(window: &WebviewWindow<MockRuntime>, photo: &Value) -> Vec<(String, Value, Value)> {
    let mut out: Vec<(String, Value, Value)> =
        invoke(window, "box_list", json!({ "photoId": photo }))
            .unwrap()
            .as_array()
            .unwrap()
            .iter()
            .map(|b| {
                (
                    b["box"].to_string(),
                    b["drawnBy"].clone(),
                    b["class"].clone(),
                )
            })
            .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[test]
fn boxes_drawn_on_two_laptops_sync_through_the_real_server() {
    let dir = tempfile::tempdir().unwrap();
    let (url, [ana_token, ben_token]) = sync_server(&dir.path().join("server"), ["ana", "ben"]);
    let configure = |window: &WebviewWindow<MockRuntime>, token: &str, author: &str| {
        let status = invoke(
            window,
            "sync_configure",
            json!({ "settings": { "server": url, "token": token, "author": author,
                                  "caCert": "", "photos": true } }),
        )
        .unwrap();
        assert_eq!(status["author"], author);
    };

    // Laptop A: one wide photo, two animals side by side, taken in whole.
    let (app_a, win_a) = app(&dir.path().join("a").join("config"));
    open_with_nodetector_pack(&win_a, &dir.path().join("a"));
    assert_eq!(
        invoke(&win_a, "observer_set", json!({ "name": "Ana" })).unwrap(),
        "Ana"
    );
    let folder = dir.path().join("survey");
    std::fs::create_dir_all(&folder).unwrap();
    let mut img = RgbImage::from_pixel(640, 240, Rgb([238, 240, 236]));
    for (x, y) in (60..220).flat_map(|x| (60..180).map(move |y| (x, y))) {
        let v = if (y / 6) % 2 == 0 { 20 } else { 70 };
        img.put_pixel(x, y, Rgb([v, v + 10, v]));
    }
    for (x, y) in (420..580).flat_map(|x| (60..180).map(move |y| (x, y))) {
        let v = if (x / 11) % 2 == 0 { 40 } else { 5 };
        img.put_pixel(x, y, Rgb([v + 30, v, v]));
    }
    img.save(folder.join("pair.png")).unwrap();
    let (id, rx) = start_ingest(&app_a, vec![folder]);
    id.unwrap();
    assert_eq!(finished(&events_until_end(&rx)).new_photos, 1);
    let item = |window: &WebviewWindow<MockRuntime>| {
        let queue = invoke(window, "review_queue", json!({ "limit": null })).unwrap();
        let items = queue["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{queue}");
        (items[0]["photoId"].clone(), items[0]["detectionId"].clone())
    };
    let (photo_a, whole_a) = item(&win_a);
    let whole = vec![(
        json!([0.0, 0.0, 640.0, 240.0]).to_string(),
        Value::Null,
        json!("whole"),
    )];
    assert_eq!(live_boxes(&win_a, &photo_a), whole);
    configure(&win_a, &ana_token, "Ana");
    let pushed = sync_now(&app_a);
    // The photo, its box, its embedding and its encounter.
    assert_eq!((pushed.pushed, pushed.photos_sent), (4, 1), "{pushed:?}");

    // Laptop B pulls the photo, its original and its whole-frame box.
    let (app_b, win_b) = app(&dir.path().join("b").join("config"));
    open_with_nodetector_pack(&win_b, &dir.path().join("b"));
    invoke(&win_b, "observer_set", json!({ "name": "Ben" })).unwrap();
    configure(&win_b, &ben_token, "Ben");
    let pulled = sync_now(&app_b);
    assert_eq!((pulled.pulled, pulled.photos_fetched), (4, 1), "{pulled:?}");
    let (photo_b, whole_b) = item(&win_b);
    assert_eq!(live_boxes(&win_b, &photo_b), whole);

    // Offline, both move the whole frame onto the left animal (Ben first,
    // Ana a moment later, so Ana's move is the later one), and Ben also
    // draws the right animal.
    const LEFT_A: [f32; 4] = [60.0, 60.0, 220.0, 180.0];
    const LEFT_B: [f32; 4] = [70.0, 66.0, 226.0, 184.0];
    const RIGHT_B: [f32; 4] = [420.0, 60.0, 580.0, 180.0];
    let set_b = invoke(
        &win_b,
        "box_set",
        json!({ "detectionId": whole_b, "bbox": LEFT_B }),
    )
    .unwrap();
    assert_eq!(set_b["removed"], json!([whole_b]), "{set_b}");
    let left_b = set_b["detectionId"].clone();
    invoke(
        &win_b,
        "box_add",
        json!({ "photoId": photo_b, "bbox": RIGHT_B }),
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(20));
    let set_a = invoke(
        &win_a,
        "box_set",
        json!({ "detectionId": whole_a, "bbox": LEFT_A }),
    )
    .unwrap();
    assert_eq!(set_a["removed"], json!([whole_a]), "{set_a}");
    let left_a = set_a["detectionId"].clone();
    assert_eq!(live_boxes(&win_b, &photo_b).len(), 2);
    assert_eq!(live_boxes(&win_a, &photo_a).len(), 1);

    // A, then B, then A again.
    let first = sync_now(&app_a);
    assert!(first.conflicts.is_empty(), "{first:?}");
    let second = sync_now(&app_b);
    assert!(second.refused.is_empty(), "{second:?}");
    assert_eq!(
        second
            .conflicts
            .iter()
            .filter(|c| c.kind == "boxMoves")
            .count(),
        1,
        "{second:?}"
    );
    let third = sync_now(&app_a);
    assert!(third.refused.is_empty(), "{third:?}");
    assert_eq!(
        third
            .conflicts
            .iter()
            .filter(|c| c.kind == "boxMoves")
            .count(),
        1,
        "{third:?}"
    );

    // The later move of the left box (Ana's) stays, Ben's is removed by the
    // rule, and Ben's right box stays: the same two boxes on both laptops.
    let key = |b: [f32; 4]| json!(b).to_string();
    let expected = {
        let mut e = vec![
            (key(LEFT_A), json!("Ana"), json!("box")),
            (key(RIGHT_B), json!("Ben"), json!("box")),
        ];
        e.sort_by(|a, b| a.0.cmp(&b.0));
        e
    };
    assert_eq!(live_boxes(&win_a, &photo_a), expected);
    assert_eq!(live_boxes(&win_b, &photo_b), expected);

    // Both Sync screens list the double move for review, naming the box kept.
    let kept_b = invoke(&win_b, "box_list", json!({ "photoId": photo_b }))
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["drawnBy"] == "Ana")
        .unwrap()["detectionId"]
        .clone();
    for (window, kept, other) in [(&win_a, &left_a, None), (&win_b, &kept_b, Some(&left_b))] {
        let status = invoke(window, "sync_status", json!({})).unwrap();
        let moves: Vec<&Value> = status["toReview"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["kind"] == "boxMoves")
            .collect();
        assert_eq!(moves.len(), 1, "{status}");
        let detail = moves[0]["detail"].as_str().unwrap();
        assert!(detail.contains("moved on two laptops"), "{detail}");
        assert!(detail.contains(&format!("#{kept}:")), "{detail}");
        if let Some(other) = other {
            assert!(detail.contains(&format!("#{other})")), "{detail}");
        }
    }
}
