//! What the command tests share: the app on Tauri's mock runtime (the real
//! command handlers, argument parsing, state and error serialisation, no
//! window), `invoke` as the frontend calls it, and an ingest started the
//! way the UI starts it, with its events collected, and a real sync server
//! in the test's process. The photos and the test packs come from
//! `whaleid_testkit`.
//!
//! `ingest_start` is called as a function with a `Channel` that collects
//! its events, because a channel made from an IPC request delivers to a
//! webview the mock runtime does not have.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{json, Value};
use tauri::ipc::{CallbackFn, Channel, InvokeBody, InvokeResponseBody};
use tauri::test::{mock_builder, mock_context, noop_assets, MockRuntime, INVOKE_KEY};
use tauri::webview::InvokeRequest;
use tauri::{App, Manager, WebviewWindow};
use whaleid_app::dto::{IngestEvent, IngestSummary};
use whaleid_app::state::AppState;
use whaleid_testkit::{straight_stripe_photo, tiny_pack};

/// An app on the mock runtime with its preferences in `config`, and its window.
pub fn app(config: &Path) -> (App<MockRuntime>, WebviewWindow<MockRuntime>) {
    let app = whaleid_app::app_builder(mock_builder().manage(AppState::new(config.to_path_buf())))
        .build(mock_context(noop_assets()))
        .expect("mock app");
    let window = tauri::WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .expect("mock window");
    (app, window)
}

/// `invoke(cmd, args)` as the frontend does it; `Err` is the rejected value.
pub fn invoke(window: &WebviewWindow<MockRuntime>, cmd: &str, args: Value) -> Result<Value, Value> {
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

/// A real sync server on loopback, in this process, keeping its data in
/// `data`: its URL and a token for each of `users`, in that order.
pub fn sync_server<const N: usize>(data: &Path, users: [&str; N]) -> (String, [String; N]) {
    let mut store = whaleid_server::store::SqliteStore::open(data).unwrap();
    let tokens = users.map(|user| store.add_user(user).unwrap());
    (whaleid_server::spawn_local(store, 1 << 20).unwrap(), tokens)
}

/// `n` detectable photos in two sub-folders, one notes file the scan skips,
/// and one `.png` that is not a PNG.
pub fn survey(root: &Path, n: u32) {
    for i in 0..n {
        let day = root.join(format!("day {}", i % 2));
        std::fs::create_dir_all(&day).unwrap();
        straight_stripe_photo(i % 7, 5 + (i * 7) % 120, 5 + (i * 13) % 90)
            .save(day.join(format!("p{i:03}.png")))
            .unwrap();
    }
    std::fs::write(root.join("notes.txt"), "tide 14:05").unwrap();
    std::fs::write(root.join("broken.png"), b"not a png at all").unwrap();
}

/// A catalogue made by the engine with no pack yet, opened in the app, with
/// the tiny pack imported through `pack_import`.
pub fn open_with_tiny_pack(window: &WebviewWindow<MockRuntime>, dir: &Path) -> PathBuf {
    let cat = dir.join("catalogue");
    whaleid::catalogue::Catalogue::create(&cat).unwrap();
    invoke(window, "catalogue_open", json!({ "path": cat })).unwrap();
    let pack = invoke(window, "pack_import", json!({ "path": tiny_pack() })).unwrap();
    assert_eq!(pack["name"], "tiny");
    assert_eq!(pack["detector"], true);
    cat
}

/// Start an ingest as the UI does; events arrive on the returned receiver.
pub fn start_ingest(
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
pub fn events_until_end(rx: &mpsc::Receiver<IngestEvent>) -> Vec<IngestEvent> {
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

/// Draw `photos` (`(animal, x, y, file name)`, see
/// `straight_stripe_photo`) into a new folder `folder`, ingest it as the UI
/// does, and wait for the job: its summary.
pub fn ingest_drawn(
    app: &App<MockRuntime>,
    folder: &Path,
    photos: &[(u32, u32, u32, &str)],
) -> IngestSummary {
    std::fs::create_dir_all(folder).unwrap();
    for &(k, x, y, name) in photos {
        straight_stripe_photo(k, x, y)
            .save(folder.join(name))
            .unwrap();
    }
    let (id, rx) = start_ingest(app, vec![folder.to_path_buf()]);
    id.unwrap();
    finished(&events_until_end(&rx)).clone()
}

pub fn finished(events: &[IngestEvent]) -> &IngestSummary {
    match events.last() {
        Some(IngestEvent::Finished { summary }) => summary,
        other => panic!("expected finished, got {other:?}"),
    }
}
