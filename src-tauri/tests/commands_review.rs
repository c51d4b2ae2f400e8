//! The review, catalogue browsing and export commands through the IPC as
//! the UI calls them, on Tauri's mock runtime with the tiny test pack:
//! names, camelCase arguments, results and error kinds; search with
//! similarities; and the observer's name on every record it makes.

mod support;

use serde_json::{json, Value};
use whaleid_testkit as kit;

use support::{app, ingest_drawn, invoke, open_with_tiny_pack};

/// The review, catalogue and export commands through the IPC as the UI
/// calls them: names, camelCase arguments, results and error kinds.
#[test]
fn review_catalogue_and_export_commands_work_through_the_ipc() {
    let dir = tempfile::tempdir().unwrap();
    let (app, window) = app(&dir.path().join("config"));
    open_with_tiny_pack(&window, dir.path());
    let drawn = [(1, 20, 20, "a.png"), (4, 30, 60, "b.png")];
    let summary = ingest_drawn(&app, &dir.path().join("first"), &drawn);
    assert_eq!(summary.new_photos, 2);

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

#[test]
fn review_search_finds_any_individual_with_its_similarity_to_the_detection() {
    let dir = tempfile::tempdir().unwrap();
    let (app, window) = app(&dir.path().join("config"));
    open_with_tiny_pack(&window, dir.path());
    let drawn = [(1, 20, 20, "a.png"), (1, 30, 60, "b.png")];
    let summary = ingest_drawn(&app, &dir.path().join("first"), &drawn);
    assert_eq!(summary.new_photos, 2);
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

    let drawn = [
        (1, 20, 20, "a.png"),
        (4, 30, 60, "b.png"),
        (1, 60, 40, "c.png"),
    ];
    let summary = ingest_drawn(&app, &dir.path().join("first"), &drawn);
    assert_eq!(summary.new_photos, 3);
    let cat = whaleid::catalogue::Catalogue::open(&cat_dir).unwrap();
    let by: Vec<Option<String>> = kit::sql(&cat)
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
