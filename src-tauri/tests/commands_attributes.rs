//! Photo-ID grades through the IPC as Review and the individual's page
//! call them (issue 16), on Tauri's mock runtime with a real catalogue:
//! `set_attributes` stores them with the observer as who set them, the
//! review queue and the individual's detail carry them back, and a bad
//! name or value is refused by name with nothing stored.

mod support;

use serde_json::{json, Value};

use support::{app, ingest_drawn, invoke, open_with_tiny_pack};

fn grades(q: Value, d: Value, s: Value, p: Value) -> Value {
    json!({ "quality": q, "distinctiveness": d, "side": s, "part": p })
}

#[test]
fn grades_set_in_review_come_back_on_the_queue_and_the_individual_page() {
    let dir = tempfile::tempdir().unwrap();
    let (app, window) = app(&dir.path().join("config"));
    std::env::remove_var(whaleid::catalogue::observer::ENV);
    let cat_dir = open_with_tiny_pack(&window, dir.path());
    invoke(&window, "observer_set", json!({ "name": "Kim Lee" })).unwrap();
    let drawn = [
        (1, 20, 20, "a.png"),
        (4, 30, 60, "b.png"),
        (2, 60, 40, "c.png"),
    ];
    assert_eq!(
        ingest_drawn(&app, &dir.path().join("s"), &drawn).new_photos,
        3
    );

    let queue = invoke(&window, "review_queue", json!({ "limit": null })).unwrap();
    let ids: Vec<Value> = queue["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            assert_eq!(
                i["grades"],
                grades(Value::Null, Value::Null, Value::Null, Value::Null)
            );
            i["detectionId"].clone()
        })
        .collect();
    let d = ids[1].clone();

    // Set two at once (any case, as typed); the answer is the grades after.
    let after = invoke(
        &window,
        "set_attributes",
        json!({ "detectionId": d, "changes": [
            { "attribute": "quality", "value": "q2" },
            { "attribute": "side", "value": "Left" },
        ] }),
    )
    .unwrap();
    assert_eq!(
        after,
        grades(json!("Q2"), Value::Null, json!("left"), Value::Null)
    );
    let after = invoke(
        &window,
        "set_attributes",
        json!({ "detectionId": d, "changes": [
            { "attribute": "part", "value": "dorsal-fin" },
            { "attribute": "distinctiveness", "value": "D1" },
        ] }),
    )
    .unwrap();
    assert_eq!(
        after,
        grades(json!("Q2"), json!("D1"), json!("left"), json!("dorsal-fin"))
    );

    // Grading is no decision: the queue keeps the item where it was, with its grades.
    let queue = invoke(&window, "review_queue", json!({ "limit": null })).unwrap();
    assert_eq!(queue["total"], 3);
    let items = queue["items"].as_array().unwrap();
    let again: Vec<Value> = items.iter().map(|i| i["detectionId"].clone()).collect();
    assert_eq!(again, ids);
    assert_eq!(items[1]["grades"], after);
    assert_eq!(items[0]["grades"]["quality"], Value::Null);

    // Who set them is the observer, as for a review decision.
    let cat = whaleid::catalogue::Catalogue::open(&cat_dir).unwrap();
    let stored = cat.attributes(d.as_i64().unwrap()).unwrap();
    assert_eq!(stored.quality.unwrap().by.as_deref(), Some("Kim Lee"));
    assert_eq!(stored.part.unwrap().by.as_deref(), Some("Kim Lee"));

    // A null value clears one attribute and leaves the others.
    let after = invoke(
        &window,
        "set_attributes",
        json!({ "detectionId": d, "changes": [{ "attribute": "side", "value": null }] }),
    )
    .unwrap();
    assert_eq!(
        after,
        grades(json!("Q2"), json!("D1"), Value::Null, json!("dorsal-fin"))
    );

    // The individual's page shows each photo's grades.
    let ind = invoke(
        &window,
        "review_new_individual",
        json!({ "detectionId": d, "code": "BEL-1", "species": "beluga" }),
    )
    .unwrap()["individualId"]
        .clone();
    let detail = invoke(&window, "individual_get", json!({ "id": ind })).unwrap();
    let sightings = detail["sightings"].as_array().unwrap();
    assert_eq!(sightings.len(), 1);
    assert_eq!(sightings[0]["detectionId"], d);
    assert_eq!(sightings[0]["grades"], after);
    // Graded from that page too.
    invoke(
        &window,
        "set_attributes",
        json!({ "detectionId": d, "changes": [{ "attribute": "quality", "value": "Q1" }] }),
    )
    .unwrap();
    let detail = invoke(&window, "individual_get", json!({ "id": ind })).unwrap();
    assert_eq!(detail["sightings"][0]["grades"]["quality"], "Q1");
}

#[test]
fn a_bad_grade_is_refused_by_name_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (app, window) = app(&dir.path().join("config"));
    std::env::remove_var(whaleid::catalogue::observer::ENV);
    open_with_tiny_pack(&window, dir.path());
    invoke(&window, "observer_set", json!({ "name": "Kim Lee" })).unwrap();
    ingest_drawn(&app, &dir.path().join("s"), &[(1, 20, 20, "a.png")]);
    let queue = invoke(&window, "review_queue", json!({ "limit": null })).unwrap();
    let d = queue["items"][0]["detectionId"].clone();
    let set = |changes: Value| {
        invoke(
            &window,
            "set_attributes",
            json!({ "detectionId": d, "changes": changes }),
        )
    };
    set(json!([{ "attribute": "quality", "value": "Q3" }])).unwrap();

    // A value of no grade: the detection, the value and the choices named.
    let err = set(json!([
        { "attribute": "side", "value": "right" },
        { "attribute": "quality", "value": "Q4" },
    ]))
    .unwrap_err();
    assert_eq!(err["kind"], "invalid", "{err}");
    let msg = err["message"].as_str().unwrap();
    assert!(msg.contains(&format!("#{d}")), "{msg}");
    assert!(msg.contains("Q4") && msg.contains("Q1, Q2, Q3"), "{msg}");
    // An attribute that is none, a value of another attribute, one given twice, none at all.
    for (changes, words) in [
        (
            json!([{ "attribute": "colour", "value": "grey" }]),
            "colour",
        ),
        (json!([{ "attribute": "side", "value": "fluke" }]), "fluke"),
        (
            json!([
                { "attribute": "side", "value": "left" },
                { "attribute": "side", "value": "right" },
            ]),
            "twice",
        ),
        (json!([]), "nothing to set"),
    ] {
        let err = set(changes).unwrap_err();
        assert_eq!(err["kind"], "invalid", "{err}");
        assert!(err["message"].as_str().unwrap().contains(words), "{err}");
    }
    // All or none: the right side given beside the bad quality was not stored.
    let queue = invoke(&window, "review_queue", json!({ "limit": null })).unwrap();
    assert_eq!(
        queue["items"][0]["grades"],
        grades(json!("Q3"), Value::Null, Value::Null, Value::Null)
    );

    let err = invoke(
        &window,
        "set_attributes",
        json!({ "detectionId": 99_999, "changes": [{ "attribute": "quality", "value": "Q1" }] }),
    )
    .unwrap_err();
    assert_eq!(err["kind"], "notFound", "{err}");
    assert!(err["message"].as_str().unwrap().contains("#99999"), "{err}");
}
