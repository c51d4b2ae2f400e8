//! Training as the Train screen runs it, on Tauri's mock runtime with the
//! tiny test pack: epochs and a verdict as events, adoption as a new pack
//! version, and rolling versions back and forth through the IPC.

mod support;

use std::sync::mpsc;
use std::time::Duration;

use serde_json::json;
use tauri::ipc::{Channel, InvokeResponseBody};
use tauri::test::MockRuntime;
use tauri::{App, Manager};
use whaleid_app::dto::{TrainEvent, TrainOptions, TrainPhase};
use whaleid_app::state::AppState;
use whaleid_testkit::{straight_stripe_photo, tiny_pack};

use support::{app, invoke, open_with_tiny_pack};

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
            straight_stripe_photo(k, x, y).save(&path).unwrap();
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
    // Where it trained, said: the app's engine has no CUDA training
    // backend, so the CPU is no fallback and there is nothing to warn of.
    assert_eq!(result.ran_on, "CPU");
    assert_eq!(result.gpu_fallback, None);

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
        &whaleid::train::TrainDevice::cpu().device,
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
