//! The second reviewer through the IPC as the UI calls it (issue 16), on
//! Tauri's mock runtime with the tiny test pack: the switch, the blind
//! queue of whoever the observer is (nothing of the first decision in it),
//! a second opinion, the disagreement list, a resolution and the report;
//! the same person is refused with an `invalid` error.

mod support;

use serde_json::json;

use support::{app, ingest_drawn, invoke, open_with_tiny_pack};

#[test]
fn second_review_commands_work_through_the_ipc_and_the_queue_is_blind() {
    let dir = tempfile::tempdir().unwrap();
    let (app, window) = app(&dir.path().join("config"));
    open_with_tiny_pack(&window, dir.path());
    let drawn = [(1, 20, 20, "a.png"), (4, 30, 60, "b.png")];
    ingest_drawn(&app, &dir.path().join("first"), &drawn);
    let queue = invoke(&window, "review_queue", json!({ "limit": null })).unwrap();
    let d0 = queue["items"][0]["detectionId"].clone();
    let d1 = queue["items"][1]["detectionId"].clone();
    let as_person = |name: &str| {
        invoke(&window, "observer_set", json!({ "name": name })).unwrap();
    };

    let off = invoke(&window, "second_review_required", json!({ "on": null })).unwrap();
    assert_eq!(off, json!(false));
    let on = invoke(&window, "second_review_required", json!({ "on": true })).unwrap();
    assert_eq!(on, json!(true));

    as_person("Ana Ruiz");
    let made = invoke(
        &window,
        "review_new_individual",
        json!({ "detectionId": d0, "code": "HW-NEW", "species": null }),
    )
    .unwrap();
    let hw = made["individualId"].clone();
    let mine = invoke(&window, "second_review_queue", json!({})).unwrap();
    assert_eq!(mine["reviewer"], "Ana Ruiz");
    assert_eq!(mine["items"].as_array().unwrap().len(), 0);

    as_person("Ben Ode");
    let blind = invoke(&window, "second_review_queue", json!({})).unwrap();
    assert_eq!(blind["required"], true);
    let items = blind["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["detectionId"], d0);
    let text = blind["items"].to_string();
    assert!(!text.contains("HW-NEW") && !text.contains("Ana"), "{text}");

    let out = invoke(
        &window,
        "second_opinion",
        json!({ "detectionId": d0, "choice": "unidentifiable", "individualId": null }),
    )
    .unwrap();
    assert_eq!(out["state"], "disagreed");
    assert_eq!(
        (out["first"]["code"].clone(), out["first"]["by"].clone()),
        (json!("HW-NEW"), json!("Ana Ruiz"))
    );
    let list = invoke(&window, "disagreements_list", json!({})).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["second"]["choice"], "unidentifiable");
    assert_eq!(list[0]["second"]["by"], "Ben Ode");

    // Ben decides the other detection; he cannot confirm it himself.
    invoke(
        &window,
        "review_accept",
        json!({ "detectionId": d1, "individualId": hw, "score": null, "rank": null }),
    )
    .unwrap();
    let err = invoke(
        &window,
        "second_opinion",
        json!({ "detectionId": d1, "choice": "individual", "individualId": hw }),
    )
    .unwrap_err();
    assert_eq!(err["kind"], "invalid", "{err}");
    let err = invoke(
        &window,
        "second_opinion",
        json!({ "detectionId": d1, "choice": "maybe", "individualId": null }),
    )
    .unwrap_err();
    assert_eq!(err["kind"], "invalid", "{err}");

    as_person("Cleo Park");
    let resolved = invoke(
        &window,
        "disagreement_resolve",
        json!({ "detectionId": d0, "choice": "individual", "individualId": hw, "code": null, "species": null }),
    )
    .unwrap();
    assert_eq!(resolved["code"], "HW-NEW");
    let list = invoke(&window, "disagreements_list", json!({})).unwrap();
    assert_eq!(list, json!([]));
    let report = invoke(&window, "agreement_report", json!({})).unwrap();
    assert_eq!(
        (report["items"].clone(), report["agreed"].clone()),
        (json!(1), json!(0))
    );
    assert_eq!(report["pairs"][0]["a"], "Ana Ruiz");
    assert_eq!(report["pairs"][0]["b"], "Ben Ode");
    assert_eq!(report["grades"][3]["grade"], "ungraded");
    assert_eq!(report["grades"][3]["items"], 1);
}
