//! Ingest as the UI runs it, on Tauri's mock runtime with the tiny test
//! pack (a real ONNX detector of dark shapes): scan progress and a summary,
//! a resumed run with nothing new, a second ingest refused as busy, cancel
//! (before or after the first photo), and a folder with no photo.

mod support;

use serde_json::json;
use tauri::Manager;
use whaleid_app::dto::IngestEvent;
use whaleid_testkit::tiny_pack;

use support::{app, events_until_end, finished, invoke, open_with_tiny_pack, start_ingest, survey};

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
    // The app asks for `auto`; the tests' ONNX Runtime is the CPU wheel, so
    // there is no GPU runtime to try: the models ran on the CPU, and that is
    // no fallback to warn of.
    assert_eq!(summary.ran_on, "CPU");
    assert_eq!(summary.gpu_fallback, None);

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
    assert_eq!(settings["providers"]["ranOn"], "CPU");
    assert_eq!(settings["providers"].get("gpuFallback"), None);
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
        session: whaleid_testkit::session(),
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
        session: whaleid_testkit::session(),
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
