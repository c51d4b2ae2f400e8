//! Encounters through the IPC as the Review's encounter editor calls them
//! (issue 16), on Tauri's mock runtime with a real catalogue: list, get,
//! edit with the observer as who set each field, split and join, and bad
//! values refused by name with nothing stored.

mod support;

use serde_json::{json, Value};

use support::{app, ingest_drawn, invoke, open_with_tiny_pack};

#[test]
fn an_encounter_is_edited_split_and_joined_through_the_ipc() {
    let dir = tempfile::tempdir().unwrap();
    let (app, window) = app(&dir.path().join("config"));
    std::env::remove_var(whaleid::catalogue::observer::ENV);
    open_with_tiny_pack(&window, dir.path());
    invoke(&window, "observer_set", json!({ "name": "Kim Lee" })).unwrap();
    let drawn = [
        (1, 20, 20, "a.png"),
        (4, 30, 60, "b.png"),
        (2, 60, 40, "c.png"),
    ];
    ingest_drawn(&app, &dir.path().join("s"), &drawn);

    let listed = invoke(
        &window,
        "encounter_list",
        json!({ "from": null, "to": null }),
    )
    .unwrap();
    let photos_in = |e: &Value| e["photoIds"].as_array().unwrap().len();
    let total: usize = listed.as_array().unwrap().iter().map(photos_in).sum();
    assert_eq!(total, 3, "{listed}");
    let first = listed.as_array().unwrap()[0].clone();
    let id = first["id"].clone();

    let after = invoke(
        &window,
        "encounter_edit",
        json!({ "encounterId": id, "changes": [
            { "field": "place", "value": "Bay of Islands" },
            { "field": "observers", "value": "Ana Silva; Ben Cole" },
            { "field": "groupBest", "value": "12" },
            { "field": "groupMin", "value": " 10 " },
            { "field": "position", "value": "-35.25, 174.5" },
            { "field": "notes", "value": "" },
        ] }),
    )
    .unwrap();
    assert_eq!(after["place"], "Bay of Islands");
    assert_eq!(after["observers"], json!(["Ana Silva", "Ben Cole"]));
    assert_eq!(
        (after["groupBest"].clone(), after["groupMin"].clone()),
        (json!(12), json!(10))
    );
    assert_eq!(after["latitude"], -35.25);
    let set_by = |v: &Value, field: &str| {
        v["edits"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["field"] == field)
            .map(|x| x["by"].clone())
    };
    assert_eq!(set_by(&after, "place"), Some(json!("Kim Lee")));

    // Refused by name, nothing stored.
    for (change, why) in [
        (
            json!({ "field": "groupMin", "value": "13" }),
            "greater than the best",
        ),
        (
            json!({ "field": "groupMax", "value": "many" }),
            "not a whole number",
        ),
        (json!({ "field": "mood", "value": "calm" }), "mood"),
        (json!({ "field": "position", "value": "95,0" }), "range"),
    ] {
        let e = invoke(
            &window,
            "encounter_edit",
            json!({ "encounterId": id, "changes": [change] }),
        )
        .unwrap_err();
        assert_eq!(e["kind"], "invalid", "{e}");
        assert!(e["message"].as_str().unwrap().contains(why), "{e}");
    }
    let got = invoke(&window, "encounter_get", json!({ "encounterId": id })).unwrap();
    assert_eq!(got, after);

    // Split one photo off (or, if ingest made several encounters, join
    // them first), then join everything back into the first.
    let others: Vec<Value> = listed.as_array().unwrap()[1..]
        .iter()
        .map(|e| e["id"].clone())
        .collect();
    if !others.is_empty() {
        let joined = invoke(
            &window,
            "encounter_join",
            json!({ "keep": id, "others": others }),
        )
        .unwrap();
        assert_eq!(photos_in(&joined), 3);
    }
    let last = got["photoIds"].as_array().unwrap().last().cloned().unwrap();
    let all = invoke(&window, "encounter_get", json!({ "encounterId": id })).unwrap();
    let split = invoke(
        &window,
        "encounter_split",
        json!({ "encounterId": id, "at": null, "photoIds": [all["photoIds"][0]] }),
    )
    .unwrap();
    assert_eq!(photos_in(&split), 1);
    assert_eq!(split["place"], "Bay of Islands", "the fields are copied");
    let e = invoke(
        &window,
        "encounter_split",
        json!({ "encounterId": id, "at": null, "photoIds": null }),
    )
    .unwrap_err();
    assert_eq!(e["kind"], "invalid");
    let joined = invoke(
        &window,
        "encounter_join",
        json!({ "keep": id, "others": [split["id"]] }),
    )
    .unwrap();
    assert_eq!(photos_in(&joined), 3);
    assert!(joined["photoIds"].as_array().unwrap().contains(&last));
    let listed = invoke(
        &window,
        "encounter_list",
        json!({ "from": null, "to": null }),
    )
    .unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 1);
}
