//! The commands as the UI calls them, without a window: Tauri's mock
//! runtime runs the real command handlers (argument parsing, state, error
//! serialisation) on a real catalogue in a temp folder, with the tiny test
//! pack (`tests/packs/tiny`, a real ONNX detector of dark shapes).
//!
//! Commands whose answer is a plain value go through the IPC layer
//! (`get_ipc_response`), so names, camelCase and `{kind, message}` are
//! checked as the frontend sees them. `ingest_start` is called as a function
//! with a `Channel` that collects its events, because a channel made from an
//! IPC request delivers to a webview the mock runtime does not have.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use image::{Rgb, RgbImage};
use serde_json::{json, Value};
use tauri::ipc::{CallbackFn, Channel, InvokeBody, InvokeResponseBody};
use tauri::test::{mock_builder, mock_context, noop_assets, MockRuntime, INVOKE_KEY};
use tauri::webview::InvokeRequest;
use tauri::{App, Manager, WebviewWindow};

use whaleid_app::dto::{
    IngestEvent, IngestSummary, SyncEvent, TrainEvent, TrainOptions, TrainPhase,
};
use whaleid_app::state::AppState;

fn tiny_pack() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/packs/tiny")
}

/// An app on the mock runtime with its preferences in `config`, and its window.
fn app(config: &Path) -> (App<MockRuntime>, WebviewWindow<MockRuntime>) {
    let app = whaleid_app::app_builder(mock_builder().manage(AppState::new(config.to_path_buf())))
        .build(mock_context(noop_assets()))
        .expect("mock app");
    let window = tauri::WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .expect("mock window");
    (app, window)
}

/// `invoke(cmd, args)` as the frontend does it; `Err` is the rejected value.
fn invoke(window: &WebviewWindow<MockRuntime>, cmd: &str, args: Value) -> Result<Value, Value> {
    let request = InvokeRequest {
        cmd: cmd.into(),
        callback: CallbackFn(0),
        error: CallbackFn(1),
        url: "tauri://localhost".parse().unwrap(),
        body: InvokeBody::Json(args),
        headers: Default::default(),
        invoke_key: INVOKE_KEY.to_string(),
    };
    tauri::test::get_ipc_response(window, request).map(|b| b.deserialize::<Value>().unwrap())
}

/// A bright 200×150 photo with individual `k`'s dark striped patch at `(x, y)`:
/// the tiny pack's detector finds exactly one fin in it.
fn photo(k: u32, x: u32, y: u32) -> RgbImage {
    let mut img = RgbImage::from_pixel(200, 150, Rgb([238, 240, 236]));
    let period = 2 + k % 5;
    for dy in 0..40 {
        for dx in 0..60 {
            let along = if k.is_multiple_of(2) { dx } else { dy };
            let lift = if (along / period).is_multiple_of(2) {
                15
            } else {
                0
            };
            let base = [(k * 23) % 60, (k * 41) % 60, (k * 13) % 60];
            img.put_pixel(
                x + dx,
                y + dy,
                Rgb([
                    (base[0] + lift) as u8,
                    (base[1] + lift) as u8,
                    (base[2] + lift) as u8,
                ]),
            );
        }
    }
    img
}

/// `n` detectable photos in two sub-folders, one notes file the scan skips,
/// and one `.png` that is not a PNG.
fn survey(root: &Path, n: u32) {
    for i in 0..n {
        let day = root.join(format!("day {}", i % 2));
        std::fs::create_dir_all(&day).unwrap();
        photo(i % 7, 5 + (i * 7) % 120, 5 + (i * 13) % 90)
            .save(day.join(format!("p{i:03}.png")))
            .unwrap();
    }
    std::fs::write(root.join("notes.txt"), "tide 14:05").unwrap();
    std::fs::write(root.join("broken.png"), b"not a png at all").unwrap();
}

/// A catalogue made by the engine with no pack yet, opened in the app, with
/// the tiny pack imported through `pack_import`.
fn open_with_tiny_pack(window: &WebviewWindow<MockRuntime>, dir: &Path) -> PathBuf {
    let cat = dir.join("catalogue");
    whaleid::catalogue::Catalogue::create(&cat).unwrap();
    invoke(window, "catalogue_open", json!({ "path": cat })).unwrap();
    let pack = invoke(window, "pack_import", json!({ "path": tiny_pack() })).unwrap();
    assert_eq!(pack["name"], "tiny");
    assert_eq!(pack["detector"], true);
    cat
}

/// Start an ingest as the UI does; events arrive on the returned receiver.
fn start_ingest(
    app: &App<MockRuntime>,
    paths: Vec<PathBuf>,
) -> (
    Result<u32, whaleid_app::error::AppError>,
    mpsc::Receiver<IngestEvent>,
) {
    let (tx, rx) = mpsc::channel();
    let channel = Channel::new(move |body| {
        let InvokeResponseBody::Json(json) = body else {
            panic!("ingest events are JSON");
        };
        let event: IngestEvent = serde_json::from_str(&json).expect("an IngestEvent");
        let _ = tx.send(event);
        Ok(())
    });
    let handle = app.handle().clone();
    let id = tauri::async_runtime::block_on(whaleid_app::commands::ingest::ingest_start(
        handle.clone(),
        handle.state::<AppState>(),
        paths,
        None,
        channel,
    ));
    (id, rx)
}

/// Every event up to and including the closing one.
fn events_until_end(rx: &mpsc::Receiver<IngestEvent>) -> Vec<IngestEvent> {
    let mut events = Vec::new();
    loop {
        let event = rx
            .recv_timeout(Duration::from_secs(120))
            .expect("the job ends within two minutes");
        let end = matches!(
            event,
            IngestEvent::Finished { .. }
                | IngestEvent::Cancelled { .. }
                | IngestEvent::Failed { .. }
        );
        events.push(event);
        if end {
            return events;
        }
    }
}

fn finished(events: &[IngestEvent]) -> &IngestSummary {
    match events.last() {
        Some(IngestEvent::Finished { summary }) => summary,
        other => panic!("expected finished, got {other:?}"),
    }
}

#[test]
fn a_created_catalogue_is_bound_to_the_generic_pack_and_reopens_at_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    let path = dir.path().join("Baie d'Audierne 2026");
    {
        let (app, window) = app(&config);
        assert_eq!(
            invoke(&window, "catalogue_current", json!({})).unwrap(),
            Value::Null
        );
        let info = invoke(&window, "catalogue_create", json!({ "path": path })).unwrap();
        assert_eq!(info["name"], "Baie d'Audierne 2026");
        assert_eq!(
            info["path"],
            path.canonicalize().unwrap().to_string_lossy().as_ref()
        );
        assert_eq!(
            (info["photos"].clone(), info["toReview"].clone()),
            (json!(0), json!(0))
        );
        let pack = &info["pack"];
        assert_eq!(pack["name"], "generic");
        assert_eq!(pack["embeddingDim"], 512);
        assert_eq!(pack["detector"], false);
        assert_eq!(pack["backbones"], json!(["effnet_lite0"]));
        assert_eq!(pack["threshold"].as_f64().unwrap(), 0.5);
        // The webview may now load the catalogue's crops, and nothing else.
        let scope = app.asset_protocol_scope();
        let canonical = path.canonicalize().unwrap();
        assert!(scope.is_allowed(canonical.join("media/crops/a.jpg")));
        assert!(!scope.is_allowed(dir.path().join("elsewhere/a.jpg")));
        // Creating it twice is refused with a kind the UI can show.
        let again = invoke(&window, "catalogue_create", json!({ "path": path })).unwrap_err();
        assert_eq!(again["kind"], "catalogue");
        assert!(again["message"]
            .as_str()
            .unwrap()
            .contains("already holds a catalogue"));
    }
    // A new session finds it again, through the saved preferences.
    let (app, window) = app(&config);
    let current = invoke(&window, "catalogue_current", json!({})).unwrap();
    assert_eq!(current["name"], "Baie d'Audierne 2026");
    assert_eq!(current["pack"]["name"], "generic");
    assert!(app
        .asset_protocol_scope()
        .is_allowed(path.canonicalize().unwrap().join("media/thumbs/b.jpg")));
    let opened = invoke(&window, "catalogue_open", json!({ "path": path })).unwrap();
    assert_eq!(opened, current);
}

#[test]
fn a_folder_that_is_not_a_catalogue_or_does_not_exist_is_an_error_with_kind_and_message() {
    let dir = tempfile::tempdir().unwrap();
    let (app, window) = app(&dir.path().join("config"));
    let err = invoke(&window, "catalogue_open", json!({ "path": dir.path() })).unwrap_err();
    assert_eq!(err["kind"], "catalogue");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("not a WhaleID catalogue"),
        "{err}"
    );
    assert_eq!(
        err.as_object().unwrap().len(),
        2,
        "only kind and message: {err}"
    );

    // Nothing open: an ingest has nowhere to go.
    let (none_open, _) = start_ingest(&app, vec![dir.path().to_path_buf()]);
    assert_eq!(
        none_open.unwrap_err().kind,
        whaleid_app::error::ErrorKind::NotFound
    );

    open_with_tiny_pack(&window, dir.path());
    let missing = dir.path().join("card not plugged in");
    let (result, _) = start_ingest(&app, vec![missing.clone()]);
    let err = serde_json::to_value(result.unwrap_err()).unwrap();
    assert_eq!(err["kind"], "notFound");
    let message = err["message"].as_str().unwrap();
    assert!(message.contains(&*missing.to_string_lossy()), "{message}");
    assert!(message.contains("does not exist"), "{message}");

    let err = invoke(&window, "job_cancel", json!({ "jobId": 77 })).unwrap_err();
    assert_eq!(err, json!({"kind": "notFound", "message": "no job 77"}));
}

#[test]
fn ingest_reports_scan_progress_and_a_summary_then_resumes_with_nothing_new() {
    let dir = tempfile::tempdir().unwrap();
    let (app, window) = app(&dir.path().join("config"));
    open_with_tiny_pack(&window, dir.path());
    let root = dir.path().join("survey");
    survey(&root, 12);

    let (id, rx) = start_ingest(&app, vec![root.clone()]);
    assert!(id.unwrap() > 0);
    let events = events_until_end(&rx);
    // The walk is reported as it goes, ending at what it found: 14 entries,
    // 13 of them photos (broken.png is judged by decoding).
    let scanning: Vec<(usize, usize)> = events
        .iter()
        .map_while(|e| match e {
            IngestEvent::Scanning { seen, photos, .. } => Some((*seen, *photos)),
            _ => None,
        })
        .collect();
    assert_eq!(scanning.last(), Some(&(14, 13)), "{events:?}");
    assert!(scanning
        .windows(2)
        .all(|w| w[0].0 <= w[1].0 && w[0].1 <= w[1].1));
    // 12 photos and broken.png are read; notes.txt is skipped by the scan.
    assert_eq!(
        events[scanning.len()],
        IngestEvent::Scanned {
            files: 13,
            skipped: 1
        }
    );
    let progress: Vec<(usize, usize, usize)> = events
        .iter()
        .filter_map(|e| match e {
            IngestEvent::Progress {
                read, done, total, ..
            } => Some((*read, *done, *total)),
            _ => None,
        })
        .collect();
    assert!(!progress.is_empty());
    assert_eq!(*progress.last().unwrap(), (13, 13, 13));
    assert!(
        progress.windows(2).all(|w| w[0].1 <= w[1].1),
        "{progress:?}"
    );
    let summary = finished(&events);
    assert_eq!(summary.new_photos, 12);
    assert_eq!(summary.known_photos, 0);
    assert_eq!(summary.detections, 12);
    assert_eq!(summary.failed.len(), 1);
    assert!(
        summary.failed[0].path.ends_with("broken.png"),
        "{:?}",
        summary.failed
    );
    assert_eq!(summary.skipped.len(), 1);
    assert!(summary.skipped[0].path.ends_with("notes.txt"));
    assert!(summary.no_detection.is_empty());
    // No EXIF dates: the photos make one undated encounter.
    assert!(summary.encounters >= 1);
    // A new catalogue has no one to suggest: every detection is new.
    assert_eq!(summary.new_individual_suggestions, 0);
    assert!(summary.seconds > 0.0 && summary.photos_per_second > 0.0);

    // The UI's view of the catalogue has caught up, and it may show the photos.
    let info = invoke(&window, "catalogue_current", json!({})).unwrap();
    assert_eq!(
        (info["photos"].clone(), info["detections"].clone()),
        (json!(12), json!(12))
    );
    assert_eq!(info["toReview"], 12);
    assert!(app
        .asset_protocol_scope()
        .is_allowed(root.join("day 0/p000.png")));
    let settings = invoke(&window, "settings_get", json!({})).unwrap();
    assert_eq!(settings["providers"]["used"], json!(["cpu"]));
    assert!(settings["providers"]["available"]
        .as_array()
        .unwrap()
        .contains(&json!("cpu")));

    // The same folder again: nothing new, nothing lost.
    let (_, rx) = start_ingest(&app, vec![root]);
    let again = events_until_end(&rx);
    let summary = finished(&again);
    assert_eq!((summary.new_photos, summary.known_photos), (0, 12));
    assert_eq!(summary.encounters, 0);
}

#[test]
fn a_second_ingest_is_busy_and_cancel_stops_the_first_keeping_what_was_committed() {
    let dir = tempfile::tempdir().unwrap();
    let (app, window) = app(&dir.path().join("config"));
    let cat = open_with_tiny_pack(&window, dir.path());
    let root = dir.path().join("big survey");
    survey(&root, 120);

    let (first, rx) = start_ingest(&app, vec![root.clone()]);
    let first = first.unwrap();
    let (second, _) = start_ingest(&app, vec![root.clone()]);
    let busy = serde_json::to_value(second.unwrap_err()).unwrap();
    assert_eq!(busy["kind"], "busy");

    invoke(&window, "job_cancel", json!({ "jobId": first })).unwrap();
    let events = events_until_end(&rx);
    let Some(IngestEvent::Cancelled { done }) = events.last() else {
        panic!("expected cancelled, got {:?}", events.last());
    };
    let kept = whaleid::catalogue::Catalogue::open(&cat)
        .unwrap()
        .stats()
        .unwrap()
        .photos;
    // Stopped before the end, and what it counted as done is in the catalogue
    // (new photos count once committed; broken.png may be among the done).
    assert!((kept as usize) < 120, "kept {kept}");
    assert!(
        *done >= kept as usize && *done <= kept as usize + 1,
        "done {done}, kept {kept}"
    );

    // The closing event means the job is over: a new ingest is accepted at
    // once and resumes where the first stopped.
    let (third, rx) = start_ingest(&app, vec![root]);
    assert!(third.unwrap() > first);
    let summary = finished(&events_until_end(&rx)).clone();
    assert_eq!(summary.new_photos + summary.known_photos, 120);
    assert_eq!(summary.known_photos, kept as usize);
    // Cancelling a job that has ended is not an error.
    invoke(&window, "job_cancel", json!({ "jobId": first })).unwrap();
}

#[test]
fn settings_keep_the_threshold_in_the_catalogue_and_threads_in_the_preferences() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    let (_app, window) = app(&config);
    // With no catalogue, the threshold is the generic pack's and cannot be set.
    let none = invoke(&window, "settings_get", json!({})).unwrap();
    assert_eq!(none["cataloguePath"], Value::Null);
    assert_eq!(none["threshold"].as_f64().unwrap(), 0.5);
    let err = invoke(
        &window,
        "settings_set",
        json!({ "threads": null, "threshold": 0.4 }),
    )
    .unwrap_err();
    assert_eq!(err["kind"], "notFound");

    let cat = open_with_tiny_pack(&window, dir.path());
    let set = invoke(
        &window,
        "settings_set",
        json!({ "threads": 1, "threshold": 0.42 }),
    )
    .unwrap();
    assert_eq!(set["threads"], 1);
    assert!((set["threshold"].as_f64().unwrap() - 0.42).abs() < 1e-6);
    assert!((set["pack"]["threshold"].as_f64().unwrap() - 0.42).abs() < 1e-6);
    // Where the CLI reads it.
    let stored = whaleid::catalogue::Catalogue::open(&cat)
        .unwrap()
        .setting(whaleid::catalogue::keys::THRESHOLD)
        .unwrap();
    assert_eq!(stored.as_deref(), Some("0.42"));
    assert_eq!(AppState::new(config).prefs().threads, 1);
    // Typed by a person, so no calibration stands behind it; the (empty)
    // review queue was ranked again.
    assert_eq!(set["thresholdSource"], "set");
    assert_eq!(set["calibration"], Value::Null);
    assert_eq!(set["reranked"], 0);
    assert!((set["newShare"].as_f64().unwrap() - 0.15).abs() < 1e-9);
    assert!(set["newShareSource"].as_str().unwrap().contains("default"));
    let set = invoke(
        &window,
        "settings_set",
        json!({ "threads": null, "threshold": null, "newShare": 0.25 }),
    )
    .unwrap();
    assert!((set["newShare"].as_f64().unwrap() - 0.25).abs() < 1e-9);
    assert!(set["newShareSource"].as_str().unwrap().contains("as set"));
    // A set threshold is left alone by a new share.
    assert!((set["threshold"].as_f64().unwrap() - 0.42).abs() < 1e-6);
    let err = invoke(
        &window,
        "settings_set",
        json!({ "threads": null, "threshold": null, "newShare": 2.0 }),
    )
    .unwrap_err();
    assert_eq!(err["kind"], "invalid");

    let err = invoke(
        &window,
        "settings_set",
        json!({ "threads": null, "threshold": 1.5 }),
    )
    .unwrap_err();
    assert_eq!(err["kind"], "invalid");
    // A different pack cannot be bound to a catalogue that holds this one's.
    let generic = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/generic");
    let err = invoke(&window, "pack_import", json!({ "path": generic })).unwrap_err();
    assert_eq!(err["kind"], "invalid");
    assert!(err["message"].as_str().unwrap().contains("tiny"), "{err}");
}

/// The engine answers Ok with an empty report when the cancel lands before
/// its decode workers read a file; the job must still say `cancelled`.
#[test]
fn a_cancel_before_any_photo_is_read_is_reported_as_cancelled_not_finished() {
    let dir = tempfile::tempdir().unwrap();
    let cat = dir.path().join("catalogue");
    whaleid::catalogue::Catalogue::create(&cat).unwrap();
    let root = dir.path().join("survey");
    survey(&root, 4);
    let plan = whaleid_app::ingest_job::IngestPlan {
        catalogue: cat.clone(),
        pack: whaleid::packs::Pack::load(tiny_pack()).unwrap(),
        threshold: 0.5,
        species: None,
        paths: vec![root],
        session: whaleid::runtime::SessionConfig {
            intra_threads: 1,
            ..Default::default()
        },
        batch: 2,
        observer: None,
    };
    let cancel = whaleid::CancelToken::new();
    let mut events = Vec::new();
    // Cancelled once the scan is reported, before ingest reads anything.
    let outcome = whaleid_app::ingest_job::run(plan, &cancel, &mut |e| {
        if matches!(e, IngestEvent::Scanned { .. }) {
            cancel.cancel();
        }
        events.push(e);
    });
    assert_eq!(outcome.closing, IngestEvent::Cancelled { done: 0 });
    events.retain(|e| !matches!(e, IngestEvent::Scanning { .. }));
    assert_eq!(
        events[0],
        IngestEvent::Scanned {
            files: 5,
            skipped: 1
        }
    );
    let photos = whaleid::catalogue::Catalogue::open(&cat)
        .unwrap()
        .stats()
        .unwrap()
        .photos;
    assert_eq!(photos, 0);
}

/// A folder with no photo ends as a clear error, not "Done 0/0" with a
/// button to review nothing.
#[test]
fn an_empty_folder_is_no_photos_found_not_an_empty_success() {
    let dir = tempfile::tempdir().unwrap();
    let cat = dir.path().join("catalogue");
    whaleid::catalogue::Catalogue::create(&cat).unwrap();
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    std::fs::write(empty.join("notes.txt"), "not a photo").unwrap();
    let plan = whaleid_app::ingest_job::IngestPlan {
        catalogue: cat,
        pack: whaleid::packs::Pack::load(tiny_pack()).unwrap(),
        threshold: 0.5,
        species: None,
        paths: vec![empty.clone()],
        session: whaleid::runtime::SessionConfig {
            intra_threads: 1,
            ..Default::default()
        },
        batch: 2,
        observer: None,
    };
    let mut events = Vec::new();
    let outcome =
        whaleid_app::ingest_job::run(plan, &whaleid::CancelToken::new(), &mut |e| events.push(e));
    let IngestEvent::Failed { error } = outcome.closing else {
        panic!("an empty folder should fail: {:?}", outcome.closing);
    };
    assert_eq!(error.kind, whaleid_app::error::ErrorKind::Invalid);
    assert!(
        error.message.contains("no photos found"),
        "{}",
        error.message
    );
    assert!(
        error.message.contains(&empty.display().to_string()),
        "{}",
        error.message
    );
    // The walk is reported; nothing is announced for reading.
    assert!(
        events
            .iter()
            .all(|e| matches!(e, IngestEvent::Scanning { photos: 0, .. })),
        "{events:?}"
    );
}

/// The review, catalogue and export commands through the IPC as the UI
/// calls them: names, camelCase arguments, results and error kinds.
#[test]
fn review_catalogue_and_export_commands_work_through_the_ipc() {
    let dir = tempfile::tempdir().unwrap();
    let (app, window) = app(&dir.path().join("config"));
    open_with_tiny_pack(&window, dir.path());
    let first = dir.path().join("first");
    std::fs::create_dir_all(&first).unwrap();
    photo(1, 20, 20).save(first.join("a.png")).unwrap();
    photo(4, 30, 60).save(first.join("b.png")).unwrap();
    let (id, rx) = start_ingest(&app, vec![first]);
    id.unwrap();
    assert_eq!(finished(&events_until_end(&rx)).new_photos, 2);

    let queue = invoke(&window, "review_queue", json!({ "limit": null })).unwrap();
    assert_eq!(queue["total"], 2);
    let items = queue["items"].as_array().unwrap();
    assert!(items[0]["cropPath"].as_str().unwrap().ends_with(".jpg"));
    assert_eq!(items[0]["box"].as_array().unwrap().len(), 4);
    let (d0, d1) = (
        items[0]["detectionId"].clone(),
        items[1]["detectionId"].clone(),
    );
    let out = invoke(
        &window,
        "review_new_individual",
        json!({ "detectionId": d0, "code": "HW-1", "species": "humpback_whale" }),
    )
    .unwrap();
    assert_eq!(
        (
            out["action"].clone(),
            out["code"].clone(),
            out["toReview"].clone()
        ),
        (json!("newIndividual"), json!("HW-1"), json!(1))
    );
    let hw1 = out["individualId"].clone();
    let out = invoke(
        &window,
        "review_accept",
        json!({ "detectionId": d1, "individualId": hw1, "score": 0.8, "rank": 1 }),
    )
    .unwrap();
    assert_eq!(out["toReview"], 0);
    let undone = invoke(&window, "review_undo", json!({})).unwrap();
    assert_eq!(
        (undone["detectionId"].clone(), undone["action"].clone()),
        (d1.clone(), json!("accept"))
    );
    // Unknown ids are `notFound`, an existing code `invalid`.
    let err = invoke(
        &window,
        "review_unidentifiable",
        json!({ "detectionId": 999 }),
    )
    .unwrap_err();
    assert_eq!(err["kind"], "notFound", "{err}");
    let err = invoke(
        &window,
        "review_new_individual",
        json!({ "detectionId": d1, "code": "HW-1", "species": null }),
    )
    .unwrap_err();
    assert_eq!(err["kind"], "invalid", "{err}");

    let filter = json!({ "search": "hw", "species": null, "dateFrom": null, "dateTo": null, "hasNewSightings": true });
    let list = invoke(&window, "individuals_list", json!({ "filter": filter })).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["code"], "HW-1");
    assert_eq!(list[0]["sightings"], 1);
    let detail = invoke(
        &window,
        "individual_rename",
        json!({ "id": hw1, "code": "HW-7" }),
    )
    .unwrap();
    assert_eq!(detail["summary"]["code"], "HW-7");
    assert_eq!(detail["events"][0]["summary"], "renamed HW-1 to HW-7");
    let event = detail["events"][0]["id"].clone();
    let detail = invoke(&window, "individual_undo", json!({ "eventId": event })).unwrap();
    assert_eq!(detail["summary"]["code"], "HW-1");

    let csv = dir.path().join("out.csv");
    let result = invoke(&window, "export_csv", json!({ "path": csv })).unwrap();
    assert_eq!(result["rows"], 2);
    let text = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(text.lines().count(), 3);
    assert!(text.contains(",HW-1,humpback_whale,person,"), "{text}");
    let kaggle = dir.path().join("kaggle.csv");
    let result = invoke(&window, "export_kaggle", json!({ "path": kaggle })).unwrap();
    assert_eq!(result["rows"], 2);

    // The header counts individuals as the grid does: one named and then
    // undone is not one.
    invoke(
        &window,
        "review_new_individual",
        json!({ "detectionId": d1, "code": "HW-2", "species": null }),
    )
    .unwrap();
    let info = invoke(&window, "catalogue_current", json!({})).unwrap();
    assert_eq!(info["individuals"], 2);
    invoke(&window, "review_undo", json!({})).unwrap();
    let info = invoke(&window, "catalogue_current", json!({})).unwrap();
    assert_eq!(
        (info["individuals"].clone(), info["toReview"].clone()),
        (json!(1), json!(1))
    );
}

/// Start a training run as the UI does; events arrive on the returned receiver.
fn start_training(
    app: &App<MockRuntime>,
    options: TrainOptions,
) -> (
    Result<u32, whaleid_app::error::AppError>,
    mpsc::Receiver<TrainEvent>,
) {
    let (tx, rx) = mpsc::channel();
    let channel = Channel::new(move |body| {
        let InvokeResponseBody::Json(json) = body else {
            panic!("training events are JSON");
        };
        let event: TrainEvent = serde_json::from_str(&json).expect("a TrainEvent");
        let _ = tx.send(event);
        Ok(())
    });
    let handle = app.handle().clone();
    let id = tauri::async_runtime::block_on(whaleid_app::commands::train::train_start(
        handle.clone(),
        handle.state::<AppState>(),
        options,
        channel,
    ));
    (id, rx)
}

#[test]
fn training_reports_epochs_and_a_verdict_and_versions_roll_back_through_the_ipc() {
    use whaleid::ingest::{self, ImportOptions, Labelled, Pipeline};
    use whaleid::train::finetune::{finetune, FinetuneOptions};
    use whaleid::train::versions::adopt;

    let dir = tempfile::tempdir().unwrap();
    let (app, window) = app(&dir.path().join("config"));
    let cat_dir = open_with_tiny_pack(&window, dir.path());
    let empty = invoke(&window, "train_overview", json!({})).unwrap();
    assert_eq!(empty["canTrain"], false);
    assert!(empty["reason"]
        .as_str()
        .unwrap()
        .contains("at least 2 individuals"));
    assert_eq!(empty["versions"], json!([]));
    let refused = invoke(&window, "train_rollback", json!({ "version": null })).unwrap_err();
    assert_eq!(refused["kind"], "invalid", "{refused}");
    assert!(refused["message"]
        .as_str()
        .unwrap()
        .contains("nothing to roll back to"));

    // Five individuals on four photos each, labelled, imported by the engine
    // into the catalogue the app has open.
    let images = dir.path().join("labelled");
    std::fs::create_dir_all(&images).unwrap();
    let mut items = Vec::new();
    for k in 0..5u32 {
        for j in 0..4u32 {
            let (x, y) = (10 + 30 * j, 8 + 25 * (j % 3));
            let path = images.join(format!("k{k}_{j}.png"));
            photo(k, x, y).save(&path).unwrap();
            items.push(Labelled {
                path,
                individual: format!("W{k}"),
                species: None,
                bbox: Some(whaleid::detect::BBox {
                    x1: x as f32,
                    y1: y as f32,
                    x2: (x + 60) as f32,
                    y2: (y + 40) as f32,
                }),
            });
        }
    }
    let pack = whaleid::packs::Pack::load(tiny_pack()).unwrap();
    let pipeline = Pipeline::open(pack.clone(), &Default::default()).unwrap();
    let mut cat = whaleid::catalogue::Catalogue::open(&cat_dir).unwrap();
    ingest::import(
        &mut cat,
        &pipeline,
        &items,
        &ImportOptions::default(),
        &mut |_| {},
        &whaleid::CancelToken::new(),
    )
    .unwrap();

    let ov = invoke(&window, "train_overview", json!({})).unwrap();
    assert_eq!(
        (
            ov["individuals"].clone(),
            ov["detections"].clone(),
            ov["canTrain"].clone()
        ),
        (json!(5), json!(20), json!(true))
    );
    assert_eq!(ov["missingFeatures"], 0);
    assert_eq!(ov["activeVersion"], "0.1.0");

    let bad = tauri::async_runtime::block_on(whaleid_app::commands::train::train_start(
        app.handle().clone(),
        app.handle().state::<AppState>(),
        TrainOptions {
            epochs: 0,
            seed: 1,
            subcenters: 1,
            dynamic_margin: false,
        },
        Channel::new(|_| Ok(())),
    ))
    .unwrap_err();
    assert_eq!(bad.kind, whaleid_app::error::ErrorKind::Invalid);

    let (id, rx) = start_training(
        &app,
        TrainOptions {
            epochs: 3,
            seed: 5,
            subcenters: 2,
            dynamic_margin: true,
        },
    );
    id.unwrap();
    let mut events = Vec::new();
    loop {
        let e = rx
            .recv_timeout(Duration::from_secs(120))
            .expect("the run ends");
        let end = matches!(
            e,
            TrainEvent::Finished { .. } | TrainEvent::Cancelled {} | TrainEvent::Failed { .. }
        );
        events.push(e);
        if end {
            break;
        }
    }
    let epochs: Vec<(String, usize)> = events
        .iter()
        .filter_map(|e| match e {
            TrainEvent::Epoch {
                backbone, epoch, ..
            } => Some((backbone.clone(), *epoch)),
            _ => None,
        })
        .collect();
    assert_eq!(
        epochs,
        [("a", 1), ("a", 2), ("a", 3), ("b", 1), ("b", 2), ("b", 3)]
            .map(|(b, e)| (b.to_string(), e))
    );
    assert!(events.iter().any(|e| matches!(
        e,
        TrainEvent::Phase {
            phase: TrainPhase::Evaluating,
            ..
        }
    )));
    let Some(TrainEvent::Finished { result }) = events.last() else {
        panic!("expected finished, got {:?}", events.last());
    };
    // Five individuals leave none to hold out whole, and the shipped pack
    // already identifies every held-out photo: nothing to gain.
    assert_eq!(result.validation_individuals, 0);
    assert_eq!(result.before.known.map5, 1.0);
    assert_eq!(result.before.open.map5, 1.0);
    assert!(!result.adopted, "{result:?}");
    assert!(
        result.reason.contains("did not improve"),
        "{}",
        result.reason
    );
    assert!(result.validation_photos > 0 && result.train_detections > 0);

    // A version adopted by the engine (asked for whatever the gain) is
    // listed, and the app rolls back to its parent and forward again.
    let options = FinetuneOptions {
        min_gain: -1.0,
        fit: whaleid::train::FitConfig {
            epochs: 2,
            ..Default::default()
        },
        ..Default::default()
    };
    let trained = finetune(
        &cat,
        &pack,
        &options,
        &whaleid::train::device(false),
        &whaleid::CancelToken::new(),
        &mut |_| {},
    )
    .unwrap();
    let adopted = adopt(&mut cat, &pack, &trained, None).unwrap();
    drop(cat);
    invoke(&window, "catalogue_open", json!({ "path": cat_dir })).unwrap();
    let ov = invoke(&window, "train_overview", json!({})).unwrap();
    assert_eq!(ov["activeVersion"], adopted.version.as_str());
    let versions = ov["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[1]["parent"], "0.1.0");
    assert_eq!(versions[1]["active"], true);
    assert!(versions[1]["map5After"].is_number());
    assert!(versions[0]["map5After"].is_null());

    let back = invoke(&window, "train_rollback", json!({ "version": null })).unwrap();
    assert_eq!(back["activeVersion"], "0.1.0");
    let settings = invoke(&window, "settings_get", json!({})).unwrap();
    assert_eq!(settings["pack"]["version"], "0.1.0");
    let forward = invoke(
        &window,
        "train_rollback",
        json!({ "version": adopted.version }),
    )
    .unwrap();
    assert_eq!(forward["activeVersion"], adopted.version.as_str());
    let settings = invoke(&window, "settings_get", json!({})).unwrap();
    assert_eq!(settings["pack"]["version"], adopted.version.as_str());
    let unknown = invoke(&window, "train_rollback", json!({ "version": "7.7" })).unwrap_err();
    assert_eq!(unknown["kind"], "invalid");
}

/// A real sync server on loopback, in this process; its URL and a token.
fn sync_server(data: &Path) -> (String, String) {
    let mut store = whaleid_server::store::SqliteStore::open(data).unwrap();
    let token = store.add_user("ana").unwrap();
    (whaleid_server::spawn_local(store, 1 << 20).unwrap(), token)
}

#[test]
fn sync_is_configured_previewed_and_run_through_the_ipc_against_a_real_server() {
    let dir = tempfile::tempdir().unwrap();
    let (app, window) = app(&dir.path().join("config"));
    let cat_dir = open_with_tiny_pack(&window, dir.path());
    let (url, token) = sync_server(&dir.path().join("server"));

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
    let folder = dir.path().join("survey");
    std::fs::create_dir_all(&folder).unwrap();
    photo(1, 20, 20).save(folder.join("a.png")).unwrap();
    photo(4, 30, 60).save(folder.join("b.png")).unwrap();
    let (id, rx) = start_ingest(&app, vec![folder]);
    id.unwrap();
    assert_eq!(finished(&events_until_end(&rx)).new_photos, 2);

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
    // Photos, detections and embeddings: six changes wait.
    assert_eq!(status["pending"], 6, "{status}");

    let preview = invoke(&window, "sync_preview", json!({})).unwrap();
    assert_eq!(preview["toPush"], 6, "{preview}");
    assert_eq!(preview["toPull"], 0);

    let (tx, rx) = mpsc::channel();
    let channel = Channel::new(move |body| {
        let InvokeResponseBody::Json(json) = body else {
            panic!("sync events are JSON");
        };
        let event: SyncEvent = serde_json::from_str(&json).expect("a SyncEvent");
        let _ = tx.send(event);
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
            break;
        }
    }
    let Some(SyncEvent::Finished { summary }) = events.last() else {
        panic!("{events:?}");
    };
    assert_eq!(summary.pushed, 6);
    assert_eq!(
        summary.pulled, 6,
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
    assert_eq!(status["position"], 6);
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
    assert_eq!(report.pulled, 6);
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
        cat.conn()
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

#[test]
fn review_search_finds_any_individual_with_its_similarity_to_the_detection() {
    let dir = tempfile::tempdir().unwrap();
    let (app, window) = app(&dir.path().join("config"));
    open_with_tiny_pack(&window, dir.path());
    let first = dir.path().join("first");
    std::fs::create_dir_all(&first).unwrap();
    photo(1, 20, 20).save(first.join("a.png")).unwrap();
    photo(1, 30, 60).save(first.join("b.png")).unwrap();
    let (id, rx) = start_ingest(&app, vec![first]);
    id.unwrap();
    assert_eq!(finished(&events_until_end(&rx)).new_photos, 2);
    let queue = invoke(&window, "review_queue", json!({ "limit": null })).unwrap();
    let items = queue["items"].as_array().unwrap();
    let (d0, d1) = (
        items[0]["detectionId"].clone(),
        items[1]["detectionId"].clone(),
    );
    let out = invoke(
        &window,
        "review_new_individual",
        json!({ "detectionId": d0, "code": "HW-1", "species": "humpback_whale" }),
    )
    .unwrap();
    let hw1 = out["individualId"].clone();

    // By species, as typed, with the detection's similarity to HW-1's photo.
    let hits = invoke(
        &window,
        "review_search",
        json!({ "detectionId": d1, "query": "Humpback", "limit": null }),
    )
    .unwrap();
    let hits = hits.as_array().unwrap();
    assert_eq!(hits.len(), 1, "{hits:?}");
    let hit = &hits[0];
    assert_eq!(
        (
            hit["individualId"].clone(),
            hit["code"].clone(),
            hit["species"].clone(),
            hit["sightings"].clone()
        ),
        (hw1, json!("HW-1"), json!("humpback_whale"), json!(1))
    );
    assert!(hit["bestCrop"].as_str().unwrap().ends_with(".jpg"), "{hit}");
    let similarity = hit["similarity"].as_f64().unwrap();
    assert!(similarity > 0.0 && similarity <= 1.0001, "{similarity}");
    // No detection: no similarity; no match: nothing.
    let hits = invoke(
        &window,
        "review_search",
        json!({ "detectionId": null, "query": "hw-1", "limit": 5 }),
    )
    .unwrap();
    assert_eq!(hits[0]["similarity"], Value::Null);
    let hits = invoke(
        &window,
        "review_search",
        json!({ "detectionId": d1, "query": "orca", "limit": 5 }),
    )
    .unwrap();
    assert_eq!(hits, json!([]));
    // An unknown detection is `notFound`, naming it.
    let err = invoke(
        &window,
        "review_search",
        json!({ "detectionId": 999, "query": "", "limit": null }),
    )
    .unwrap_err();
    assert_eq!(err["kind"], "notFound", "{err}");
    assert!(
        err["message"].as_str().unwrap().contains("detection 999"),
        "{err}"
    );
}

/// Issue 13: "Create new" in the survey folder went ahead silently.
#[test]
fn create_new_refuses_a_folder_that_holds_photos_or_files_and_accepts_an_empty_one() {
    let dir = tempfile::tempdir().unwrap();
    let (_app, window) = app(&dir.path().join("config"));
    let survey_dir = dir.path().join("survey");
    survey(&survey_dir, 20);
    // 20 photos in two day folders, broken.png (a photo by its name) and notes.txt.
    let err = invoke(&window, "catalogue_create", json!({ "path": survey_dir })).unwrap_err();
    assert_eq!(err["kind"], "catalogue");
    assert_eq!(
        err["message"],
        format!(
            "{} holds 21 photos; choose an empty folder for the new catalogue",
            survey_dir.display()
        )
    );
    assert!(!survey_dir.join(whaleid::catalogue::DB_FILE).exists());
    assert!(!survey_dir.join("media").exists());

    let notes = dir.path().join("notes");
    std::fs::create_dir_all(notes.join("sub")).unwrap();
    std::fs::write(notes.join("a.txt"), "x").unwrap();
    std::fs::write(notes.join("sub/b.csv"), "x").unwrap();
    let err = invoke(&window, "catalogue_create", json!({ "path": notes })).unwrap_err();
    assert_eq!(
        err["message"],
        format!(
            "{} holds 2 files; choose an empty folder for the new catalogue",
            notes.display()
        )
    );

    // Empty but for what a file manager leaves behind: accepted.
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    std::fs::write(empty.join(".DS_Store"), "x").unwrap();
    let info = invoke(&window, "catalogue_create", json!({ "path": empty })).unwrap();
    assert_eq!(info["name"], "empty");
    // A folder that does not exist yet is made.
    let fresh = dir.path().join("new one");
    invoke(&window, "catalogue_create", json!({ "path": fresh })).unwrap();
    assert!(fresh.join(whaleid::catalogue::DB_FILE).is_file());
    // And a catalogue folder is pointed at the catalogue, not refused as full.
    let again = invoke(&window, "catalogue_create", json!({ "path": fresh })).unwrap_err();
    assert_eq!(
        again["message"],
        format!(
            "{} already holds a catalogue: open it instead",
            fresh.display()
        )
    );
}

/// Issue 13: the not-a-catalogue message said it twice and gave CLI advice.
#[test]
fn opening_a_folder_that_is_not_a_catalogue_says_so_once_in_app_terms() {
    let dir = tempfile::tempdir().unwrap();
    let (_app, window) = app(&dir.path().join("config"));
    let folder = dir.path().join("survey");
    survey(&folder, 2);
    let err = invoke(&window, "catalogue_open", json!({ "path": folder })).unwrap_err();
    assert_eq!(err["kind"], "catalogue");
    let message = err["message"].as_str().unwrap();
    assert_eq!(
        message,
        format!(
            "{} is not a WhaleID catalogue (no catalogue.sqlite). Open a catalogue folder, or create a new one.",
            folder.display()
        )
    );
    assert_eq!(message.matches("catalogue.sqlite").count(), 1);
    // The CLI keeps its own advice.
    let cli = whaleid::catalogue::Catalogue::open(&folder).unwrap_err();
    assert!(
        cli.to_string().contains("whaleid catalogue create"),
        "{cli}"
    );
    // A folder that does not exist is a file-system error naming it.
    let missing = dir.path().join("unplugged");
    let err = invoke(&window, "catalogue_open", json!({ "path": missing })).unwrap_err();
    assert!(
        err["message"].as_str().unwrap().contains("unplugged"),
        "{err}"
    );
}

/// Issue 13's "names on everything": the observer name saved once in the
/// app is on the import, the decisions (and the CSV's decided_by), the
/// merge, the Sync screen's author; the default merge keeps the individual
/// with more sightings; history names codes; an undo offers no Undo.
#[test]
fn the_observer_name_is_on_every_record_and_merges_default_to_the_bigger_individual() {
    let dir = tempfile::tempdir().unwrap();
    let (app, window) = app(&dir.path().join("config"));
    std::env::remove_var(whaleid::catalogue::observer::ENV);
    let cat_dir = open_with_tiny_pack(&window, dir.path());
    assert_eq!(
        invoke(&window, "observer_get", json!({})).unwrap(),
        Value::Null
    );
    let err = invoke(&window, "observer_set", json!({ "name": " \n " })).unwrap_err();
    assert_eq!(err["kind"], "invalid", "{err}");
    assert!(err["message"].as_str().unwrap().contains("empty"), "{err}");
    let saved = invoke(&window, "observer_set", json!({ "name": "  Kim Lee " })).unwrap();
    assert_eq!(saved, "Kim Lee");
    assert_eq!(
        invoke(&window, "observer_get", json!({})).unwrap(),
        "Kim Lee"
    );

    let first = dir.path().join("first");
    std::fs::create_dir_all(&first).unwrap();
    for (k, x, y, name) in [
        (1, 20, 20, "a.png"),
        (4, 30, 60, "b.png"),
        (1, 60, 40, "c.png"),
    ] {
        photo(k, x, y).save(first.join(name)).unwrap();
    }
    let (id, rx) = start_ingest(&app, vec![first]);
    id.unwrap();
    assert_eq!(finished(&events_until_end(&rx)).new_photos, 3);
    let cat = whaleid::catalogue::Catalogue::open(&cat_dir).unwrap();
    let by: Vec<Option<String>> = cat
        .conn()
        .prepare("SELECT imported_by FROM photos")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(by, vec![Some("Kim Lee".to_string()); 3]);

    let queue = invoke(&window, "review_queue", json!({ "limit": null })).unwrap();
    let d: Vec<Value> = queue["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["detectionId"].clone())
        .collect();
    let big = invoke(
        &window,
        "review_new_individual",
        json!({ "detectionId": d[0], "code": "BEL-1", "species": "beluga" }),
    )
    .unwrap()["individualId"]
        .clone();
    invoke(
        &window,
        "review_accept",
        json!({ "detectionId": d[1], "individualId": big, "score": 0.8, "rank": 1 }),
    )
    .unwrap();
    let tmp = invoke(
        &window,
        "review_new_individual",
        json!({ "detectionId": d[2], "code": "tmp-1", "species": null }),
    )
    .unwrap()["individualId"]
        .clone();

    // From the throwaway's page or the beluga's, the throwaway is merged away.
    for (a, b) in [(&tmp, &big), (&big, &tmp)] {
        let dir = invoke(
            &window,
            "individual_merge_direction",
            json!({ "aId": a, "bId": b }),
        )
        .unwrap();
        assert_eq!((&dir["fromId"], &dir["intoId"]), (&tmp, &big), "{dir}");
    }
    let detail = invoke(
        &window,
        "individual_merge",
        json!({ "fromId": tmp, "intoId": big }),
    )
    .unwrap();
    assert_eq!(detail["summary"]["species"], "beluga");
    let merge = &detail["events"][0];
    assert_eq!(merge["summary"], "tmp-1 merged into BEL-1", "{merge}");
    assert_eq!(
        (&merge["by"], &merge["undoable"]),
        (&json!("Kim Lee"), &json!(true))
    );
    for s in detail["sightings"].as_array().unwrap() {
        assert_eq!(s["decidedBy"], "Kim Lee", "{s}");
    }
    let detail = invoke(
        &window,
        "individual_undo",
        json!({ "eventId": merge["id"] }),
    )
    .unwrap();
    let events = detail["events"].as_array().unwrap();
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(
        (&events[0]["undone"], &events[0]["undoable"]),
        (&json!(true), &json!(false))
    );
    assert_eq!(events[1]["summary"], "merge of tmp-1 into BEL-1 undone");
    assert_eq!(events[1]["undoable"], false);
    let err = invoke(
        &window,
        "individual_undo",
        json!({ "eventId": events[1]["id"] }),
    )
    .unwrap_err();
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("cannot be undone"),
        "{err}"
    );

    // The CSV's decided_by carries the name.
    let csv = dir.path().join("out.csv");
    invoke(&window, "export_csv", json!({ "path": csv })).unwrap();
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut rows = csv::Reader::from_reader(text.as_bytes());
    let col = rows
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "decided_by")
        .unwrap();
    let names: Vec<String> = rows
        .records()
        .map(|r| r.unwrap()[col].to_string())
        .collect();
    assert_eq!(names, vec!["Kim Lee"; 3], "{text}");

    // The Sync screen's author is the same name, and setting it there sets it.
    let status = invoke(&window, "sync_status", json!({})).unwrap();
    assert_eq!(status["author"], "Kim Lee");
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

/// One sync run as the Sync screen runs it, to its closing event.
fn sync_now(app: &App<MockRuntime>) -> whaleid_app::dto::SyncSummary {
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
    loop {
        match rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the sync ends")
        {
            SyncEvent::Progress { .. } => {}
            SyncEvent::Finished { summary } => return summary,
            other => panic!("the sync did not finish: {other:?}"),
        }
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
    let mut store = whaleid_server::store::SqliteStore::open(&dir.path().join("server")).unwrap();
    let (ana_token, ben_token) = (
        store.add_user("ana").unwrap(),
        store.add_user("ben").unwrap(),
    );
    let url = whaleid_server::spawn_local(store, 1 << 20).unwrap();
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
    assert_eq!((pushed.pushed, pushed.photos_sent), (3, 1), "{pushed:?}");

    // Laptop B pulls the photo, its original and its whole-frame box.
    let (app_b, win_b) = app(&dir.path().join("b").join("config"));
    open_with_nodetector_pack(&win_b, &dir.path().join("b"));
    invoke(&win_b, "observer_set", json!({ "name": "Ben" })).unwrap();
    configure(&win_b, &ben_token, "Ben");
    let pulled = sync_now(&app_b);
    assert_eq!((pulled.pulled, pulled.photos_fetched), (3, 1), "{pulled:?}");
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
