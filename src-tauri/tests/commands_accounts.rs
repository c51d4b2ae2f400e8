//! An individual's page and a photo's boxes, as `individual_get` and
//! `box_list` give them to the UI, name the server account that pushed a
//! received decision, merge or box beside the author it claims (issue 19
//! item 5); what the laptop did itself carries no account. Laptops sync
//! with the engine's client through a real sync server in this process;
//! the app opens the receiving one.

mod support;

use serde_json::{json, Value};
use tauri::test::MockRuntime;
use tauri::WebviewWindow;
use whaleid::catalogue::Catalogue;
use whaleid::ingest::boxes::{self, BoxModels};
use whaleid::ingest::Pipeline;
use whaleid::sync::client::{sync, Remote};
use whaleid::CancelToken;
use whaleid_testkit::{self as kit, import_all, labelled};

use support::{app, invoke, sync_server};

/// `box_list` of `photo` as the UI gets it, and the boxes in it that `by`
/// drew.
fn boxes_drawn_by(
    window: &WebviewWindow<MockRuntime>,
    photo: i64,
    by: &str,
) -> (Value, Vec<Value>) {
    let boxes = invoke(window, "box_list", json!({ "photoId": photo })).unwrap();
    let drawn = boxes
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["drawnBy"] == by)
        .cloned()
        .collect();
    (boxes, drawn)
}

/// `by` draws a box beside the first detection of `code`; its photo.
fn draw(cat: &mut Catalogue, pipeline: &Pipeline, code: &str, by: &str) -> i64 {
    let detection = cat.detections_of(cat.individual(code).unwrap().id).unwrap()[0];
    let photo: i64 = kit::sql(cat)
        .query_row(
            "SELECT photo_id FROM detections WHERE id = ?1",
            [detection],
            |r| r.get(0),
        )
        .unwrap();
    let models = BoxModels {
        pack: pipeline.pack(),
        embedder: pipeline.embedder(),
    };
    boxes::add_box(
        cat,
        models,
        photo,
        [150.0, 100.0, 190.0, 140.0],
        by,
        &CancelToken::new(),
    )
    .unwrap();
    photo
}

#[test]
fn the_individual_page_and_the_photo_boxes_name_the_account_beside_a_received_author() {
    let dir = tempfile::tempdir().unwrap();
    let (url, [mallory, ben]) = sync_server(&dir.path().join("server"), ["mallory", "ben"]);
    let run = |cat: &mut Catalogue, token: &str, author: &str| {
        let remote = Remote::new(&url, token).unwrap();
        let report = sync(cat, &remote, author, &CancelToken::new(), &mut |_, _| {}).unwrap();
        assert!(report.refused.is_empty(), "{report:?}");
    };
    let pipeline = kit::pipeline();

    // Mallory's token on a laptop that calls itself Kim Lee: W1 and W2
    // imported, W1 merged into W2, a box drawn on a photo of W2.
    let mut kim = Catalogue::create(dir.path().join("kim")).unwrap();
    import_all(
        &mut kim,
        &pipeline,
        &labelled(&dir.path().join("kp"), &[1, 2]),
    );
    kim.merge("W1", "W2", Some("Kim Lee")).unwrap();
    draw(&mut kim, &pipeline, "W2", "Kim Lee");
    run(&mut kim, &mallory, "Kim Lee");
    // Ben's laptop: his own W4, then Kim's work.
    let ben_dir = dir.path().join("ben");
    let mut bens = Catalogue::create(&ben_dir).unwrap();
    import_all(
        &mut bens,
        &pipeline,
        &labelled(&dir.path().join("bp"), &[4]),
    );
    run(&mut bens, &ben, "Ben");
    let ben_photo = draw(&mut bens, &pipeline, "W4", "Ben");
    let (w2, w4) = (
        bens.individual("W2").unwrap().id,
        bens.individual("W4").unwrap().id,
    );
    let kim_photo: i64 = kit::sql(&bens)
        .query_row(
            "SELECT photo_id FROM detections WHERE drawn_by = 'Kim Lee'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    drop(bens);

    let (_app, window) = app(&dir.path().join("config"));
    invoke(&window, "catalogue_open", json!({ "path": ben_dir })).unwrap();
    let page = invoke(&window, "individual_get", json!({ "id": w2 })).unwrap();
    let sightings = page["sightings"].as_array().unwrap();
    assert_eq!(sightings.len(), 6, "{page}");
    for s in sightings {
        assert_eq!(s["decidedBy"], "import", "{s}");
        assert_eq!(s["decidedByAccount"], "mallory", "{s}");
    }
    let events = page["events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{page}");
    assert_eq!(events[0]["by"], "Kim Lee");
    assert_eq!(events[0]["byAccount"], "mallory");

    // The box drawn on Kim's laptop names the account too.
    let (boxes, drawn) = boxes_drawn_by(&window, kim_photo, "Kim Lee");
    assert_eq!(drawn.len(), 1, "{boxes}");
    assert_eq!(drawn[0]["drawnByAccount"], "mallory", "{boxes}");

    // Ben's own import and box: no account at all.
    let (boxes, drawn) = boxes_drawn_by(&window, ben_photo, "Ben");
    assert_eq!(drawn.len(), 1, "{boxes}");
    assert_eq!(drawn[0].get("drawnByAccount"), None, "{boxes}");
    let own = invoke(&window, "individual_get", json!({ "id": w4 })).unwrap();
    let sightings = own["sightings"].as_array().unwrap();
    assert_eq!(sightings.len(), 3, "{own}");
    for s in sightings {
        assert_eq!(s["decidedBy"], "import", "{s}");
        assert_eq!(s.get("decidedByAccount"), None::<&Value>, "{s}");
    }
}
