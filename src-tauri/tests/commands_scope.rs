//! The Review's scope bar through the IPC (issue 16): `scoped_suggestions`
//! ranks a waiting detection's suggestions again within a scope of grades,
//! on Tauri's mock runtime with the tiny test pack and a real catalogue.

mod support;

use serde_json::{json, Value};
use whaleid::catalogue::attributes::{Edit, Side};
use whaleid::catalogue::Catalogue;

use support::{app, ingest_drawn, invoke, open_with_tiny_pack};

fn codes(suggestions: &Value) -> Vec<Value> {
    suggestions
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["code"].clone())
        .collect()
}

#[test]
fn scoped_suggestions_leave_out_photos_of_the_other_side() {
    let dir = tempfile::tempdir().unwrap();
    let (app, window) = app(&dir.path().join("config"));
    let cat_dir = open_with_tiny_pack(&window, dir.path());
    let drawn = [
        (1, 20, 20, "a.png"),
        (1, 60, 40, "b.png"),
        (4, 30, 60, "c.png"),
    ];
    assert_eq!(
        ingest_drawn(&app, &dir.path().join("first"), &drawn).new_photos,
        3
    );
    let queue = invoke(&window, "review_queue", json!({ "limit": null })).unwrap();
    let ids: Vec<Value> = queue["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["detectionId"].clone())
        .collect();
    assert_eq!(ids.len(), 3);
    let hw1 = invoke(
        &window,
        "review_new_individual",
        json!({ "detectionId": ids[0], "code": "HW-1", "species": null }),
    )
    .unwrap()["individualId"]
        .clone();
    invoke(
        &window,
        "review_accept",
        json!({ "detectionId": ids[1], "individualId": hw1, "score": null, "rank": null }),
    )
    .unwrap();
    invoke(
        &window,
        "review_new_individual",
        json!({ "detectionId": ids[2], "code": "HW-4", "species": null }),
    )
    .unwrap();
    // A new photo, ranked against HW-1 and HW-4.
    ingest_drawn(&app, &dir.path().join("second"), &[(2, 20, 20, "d.png")]);
    let queue = invoke(&window, "review_queue", json!({ "limit": null })).unwrap();
    let item = &queue["items"][0];
    let query = item["detectionId"].clone();
    assert!(
        codes(&item["suggestions"]).contains(&json!("HW-1")),
        "{item}"
    );

    let scoped = |scope: Value| {
        invoke(
            &window,
            "scoped_suggestions",
            json!({ "detectionId": query, "scope": scope }),
        )
    };
    // No scope: exactly what the queue shows.
    let all = scoped(json!({ "sameSide": false, "minQuality": null })).unwrap();
    assert_eq!(all["suggestions"], item["suggestions"]);
    assert_eq!(
        (all["leftOut"].clone(), all["label"].clone()),
        (json!(0), json!("any photo"))
    );

    // Same side needs the detection's side graded.
    let err = scoped(json!({ "sameSide": true, "minQuality": null })).unwrap_err();
    assert_eq!(err["kind"], "invalid", "{err}");
    assert!(err["message"].as_str().unwrap().contains("side"), "{err}");

    // HW-1's photos show the right side, the new one the left.
    let mut cat = Catalogue::open(&cat_dir).unwrap();
    for d in [&ids[0], &ids[1]] {
        cat.set_attributes(d.as_i64().unwrap(), &[Edit::Side(Side::Right)], "ana")
            .unwrap();
    }
    cat.set_attributes(query.as_i64().unwrap(), &[Edit::Side(Side::Left)], "ana")
        .unwrap();
    drop(cat);
    let left = scoped(json!({ "sameSide": true, "minQuality": null })).unwrap();
    let found = codes(&left["suggestions"]);
    assert!(found.contains(&json!("HW-4")), "{left}");
    assert!(!found.contains(&json!("HW-1")), "{left}");
    assert_eq!(left["label"], "same side (left)");
    assert_eq!(left["leftOut"], 2);
    assert_eq!(left["detectionId"], query);

    // Quality >= Q2 with nothing graded leaves every photo out.
    let q2 = scoped(json!({ "sameSide": false, "minQuality": "Q2" })).unwrap();
    assert_eq!(q2["leftOut"], 3);
    assert_eq!(
        codes(&q2["suggestions"]),
        vec![Value::Null],
        "only new individual: {q2}"
    );

    let err = scoped(json!({ "sameSide": false, "minQuality": "Q5" })).unwrap_err();
    assert_eq!(err["kind"], "invalid", "{err}");
    let err = invoke(
        &window,
        "scoped_suggestions",
        json!({ "detectionId": 9999, "scope": { "sameSide": false, "minQuality": null } }),
    )
    .unwrap_err();
    assert_eq!(err["kind"], "notFound", "{err}");
}
