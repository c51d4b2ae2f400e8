//! Boxes by hand, as the app and `whaleid detection` drive them: a
//! catalogue of six known individuals (the tiny pack without a detector,
//! so a survey photo comes in as one whole-frame detection), then boxes
//! drawn on a photo with two animals, moved, removed and undone. Real ONNX,
//! real SQLite; each box must be cropped, embedded and ranked, and a removed
//! box must leave the queue, the export and the gallery.

use std::path::{Path, PathBuf};
use std::process::Command;
use whaleid_testkit as kit;

use image::{Rgb, RgbImage};
use whaleid::catalogue::records::Source;
use whaleid::catalogue::Catalogue;
use whaleid::embed::Embedder;
use whaleid::ingest::boxes::{self, BoxModels};
use whaleid::ingest::survey::{ingest, IngestOptions};
use whaleid::ingest::{import, labels, ImportOptions, Pipeline};
use whaleid::matching::MatchSettings;
use whaleid::packs::Pack;
use whaleid::CancelToken;
use whaleid_testkit::{labelled_folder, pack_dir, patch, session};

const PACK: &str = "tiny-nodetector";
/// Where the two animals are on the survey photo.
const LEFT: [f32; 4] = [20.0, 30.0, 80.0, 70.0];
const RIGHT: [f32; 4] = [120.0, 90.0, 180.0, 130.0];

/// W000..W005 imported from labelled boxes, then `survey.png` (W003 on the
/// left, W004 on the right) ingested whole. Returns the catalogue, the
/// survey photo's file and its number.
fn catalogue_with_survey(dir: &Path) -> (Catalogue, PathBuf, i64) {
    let pipeline = Pipeline::open(Pack::load(pack_dir(PACK)).unwrap(), &session()).unwrap();
    let labels_csv = labelled_folder(dir);
    let items = labels::read_csv(&labels_csv, &dir.join("images")).unwrap();
    let mut cat = Catalogue::create(dir.join("cat")).unwrap();
    import(
        &mut cat,
        &pipeline,
        &items,
        &ImportOptions::default(),
        &mut |_| {},
        &CancelToken::new(),
    )
    .unwrap();
    let mut img = RgbImage::from_pixel(200, 150, Rgb([238, 240, 236]));
    image::imageops::replace(&mut img, &patch(3), LEFT[0] as i64, LEFT[1] as i64);
    image::imageops::replace(&mut img, &patch(4), RIGHT[0] as i64, RIGHT[1] as i64);
    let survey = dir.join("survey");
    std::fs::create_dir_all(&survey).unwrap();
    let file = survey.join("survey.png");
    img.save(&file).unwrap();
    ingest(
        &mut cat,
        &pipeline,
        std::slice::from_ref(&file),
        &IngestOptions {
            settings: Some(MatchSettings::new(0.5)),
            ..IngestOptions::default()
        },
        &mut |_| {},
        &CancelToken::new(),
    )
    .unwrap();
    let photo = boxes::find_photo(&cat, file.to_str().unwrap()).unwrap();
    (cat, file, photo)
}

/// The first individual suggested for a waiting detection.
fn top_individual(cat: &Catalogue, detection: i64) -> Option<String> {
    let queue = cat.review_queue(None).unwrap();
    let item = queue.iter().find(|i| i.detection_id == detection)?;
    assert!(item.crop.as_ref().is_some_and(|c| c.exists()), "no crop");
    item.suggestions
        .iter()
        .find_map(|s| s.individual.as_ref().map(|i| i.code.clone()))
}

fn gallery_detections(cat: &Catalogue) -> Vec<i64> {
    cat.gallery((PACK, "0.1.0"))
        .unwrap()
        .iter()
        .map(|g| g.detection_id)
        .collect()
}

fn uuid_of(cat: &Catalogue, detection: i64) -> String {
    kit::sql(cat)
        .query_row(
            "SELECT uuid FROM detections WHERE id = ?1",
            [detection],
            |r| r.get(0),
        )
        .unwrap()
}

fn export(cat: &Catalogue, dir: &Path) -> String {
    let out = dir.join("export.csv");
    cat.export_csv(&out).unwrap();
    std::fs::read_to_string(out).unwrap()
}

#[test]
fn drawn_boxes_are_ranked_and_removed_ones_leave_the_queue_the_export_and_the_gallery() {
    let dir = tempfile::tempdir().unwrap();
    let (mut cat, file, photo) = catalogue_with_survey(dir.path());
    let pack = Pack::load(pack_dir(PACK)).unwrap();
    let embedder = Embedder::open(&pack, &session()).unwrap();
    let models = BoxModels {
        pack: &pack,
        embedder: &embedder,
    };
    let cancel = CancelToken::new();

    // The photo came in whole: the first box replaces the whole frame.
    let start = boxes::boxes_of(&cat, photo).unwrap();
    assert_eq!(start.len(), 1);
    assert_eq!(start[0].class, "whole");
    let whole = start[0].id;
    assert_eq!(cat.to_review().unwrap(), 1);
    let left = boxes::set_box(&mut cat, models, whole, LEFT, "ana", &cancel).unwrap();
    assert_eq!(left.removed, vec![whole]);
    assert_eq!(left.to_review, 1);
    let b1 = left.detection_id;
    let listed = boxes::boxes_of(&cat, photo).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (
            listed[0].id,
            listed[0].class.as_str(),
            listed[0].drawn_by.as_deref()
        ),
        (b1, "box", Some("ana"))
    );
    assert_eq!(listed[0].replaces, Some(whole));
    assert_eq!(listed[0].bbox, LEFT);
    assert_eq!(top_individual(&cat, b1).as_deref(), Some("W003"));

    // A second animal in the same photo.
    let right = boxes::add_box(&mut cat, models, photo, RIGHT, "ana", &cancel).unwrap();
    let b2 = right.detection_id;
    assert_eq!(right.to_review, 2);
    assert_eq!(top_individual(&cat, b2).as_deref(), Some("W004"));
    let features: i64 = kit::sql(&cat)
        .query_row(
            "SELECT count(*) FROM features WHERE detection_id = ?1",
            [b2],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(features, 1, "one cached feature row per backbone");

    // Confirmed, it joins the gallery; moved, the confirmation carries over.
    cat.with_tx(|tx| {
        let w004 = tx.ensure_individual("W004", None)?;
        tx.decide(b2, w004, true, Source::Person, Some("ana"), None)
    })
    .unwrap();
    assert!(gallery_detections(&cat).contains(&b2));
    let moved = boxes::set_box(
        &mut cat,
        models,
        b2,
        [118.0, 88.0, 182.0, 132.0],
        "ben",
        &cancel,
    )
    .unwrap();
    let b3 = moved.detection_id;
    let listed = boxes::boxes_of(&cat, photo).unwrap();
    let ids: Vec<i64> = listed.iter().map(|b| b.id).collect();
    assert_eq!(ids, vec![b1, b3]);
    assert_eq!(listed[1].individual.as_deref(), Some("W004"));
    assert_eq!(listed[1].drawn_by.as_deref(), Some("ben"));
    let gallery = gallery_detections(&cat);
    assert!(gallery.contains(&b3) && !gallery.contains(&b2));
    assert_eq!(
        cat.history(b3).unwrap()[0].decided_by.as_deref(),
        Some("ben")
    );

    // Removed: out of the queue and the export, its row kept.
    let csv = export(&cat, dir.path());
    assert!(csv.contains(&uuid_of(&cat, b1)) && !csv.contains(&uuid_of(&cat, whole)));
    let removed = boxes::remove_box(&mut cat, b1, "ana").unwrap();
    assert_eq!(removed.to_review, 0);
    assert!(cat.review_queue(None).unwrap().is_empty());
    let csv = export(&cat, dir.path());
    assert!(!csv.contains(&uuid_of(&cat, b1)) && csv.contains(&uuid_of(&cat, b3)));
    let (at, by): (Option<String>, Option<String>) = kit::sql(&cat)
        .query_row(
            "SELECT removed_at, removed_by FROM detections WHERE id = ?1",
            [b1],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert!(at.is_some());
    assert_eq!(by.as_deref(), Some("ana"));
    let err = boxes::remove_box(&mut cat, b1, "ana").unwrap_err();
    assert!(err.to_string().contains("already removed"), "{err}");

    // Undo, newest first: the removal, then the move.
    let undone = boxes::undo_box(&mut cat, "ana").unwrap().unwrap();
    assert_eq!(
        (undone.action.as_str(), undone.live.clone()),
        ("remove", vec![b1])
    );
    assert_eq!(cat.to_review().unwrap(), 1);
    let undone = boxes::undo_box(&mut cat, "ana").unwrap().unwrap();
    assert_eq!(undone.action, "set");
    assert_eq!(
        (undone.live.clone(), undone.removed.clone()),
        (vec![b2], vec![b3])
    );
    let listed = boxes::boxes_of(&cat, photo).unwrap();
    assert_eq!(
        listed.iter().map(|b| b.id).collect::<Vec<_>>(),
        vec![b1, b2]
    );
    assert_eq!(listed[1].individual.as_deref(), Some("W004"));
    assert!(gallery_detections(&cat).contains(&b2));

    // Bad boxes and a missing original are refused, naming the photo or file.
    let err = boxes::add_box(
        &mut cat,
        models,
        photo,
        [10.0, 10.0, 14.0, 60.0],
        "ana",
        &cancel,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("survey.png") && err.contains("8 px"), "{err}");
    let err = boxes::add_box(
        &mut cat,
        models,
        photo,
        [50.0, 10.0, 20.0, 60.0],
        "ana",
        &cancel,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("empty"), "{err}");
    let err = boxes::add_box(&mut cat, models, photo, RIGHT, " ", &cancel).unwrap_err();
    assert!(err.to_string().contains("empty"), "{err}");
    std::fs::remove_file(&file).unwrap();
    let err = boxes::add_box(&mut cat, models, photo, RIGHT, "ana", &cancel)
        .unwrap_err()
        .to_string();
    assert!(err.contains("survey.png"), "{err}");
    assert_eq!(
        boxes::boxes_of(&cat, photo).unwrap().len(),
        2,
        "nothing stored"
    );
}

fn whaleid(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_whaleid"))
        .args(args)
        .env_remove("WHALEID_OBSERVER")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn json_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn the_detection_commands_draw_move_list_remove_and_undo_boxes() {
    let dir = tempfile::tempdir().unwrap();
    let (cat, file, photo) = catalogue_with_survey(dir.path());
    drop(cat);
    let c = dir.path().join("cat");
    let (c, file) = (c.to_str().unwrap(), file.to_str().unwrap());
    let pack = pack_dir(PACK);
    let pack = pack.to_str().unwrap();

    let (ok, out, err) = whaleid(&["detection", "list", file, "-c", c]);
    assert!(ok, "{err}");
    let rows = json_lines(&out);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["class"], "whole");
    let whole = rows[0]["id"].as_i64().unwrap();

    let set = format!("#{whole}");
    let (ok, out, err) = whaleid(&[
        "detection",
        "set",
        &set,
        "--box",
        "20,30,80,70",
        "-c",
        c,
        "--author",
        "cli",
        "--pack",
        pack,
    ]);
    assert!(ok, "{err}");
    let change = &json_lines(&out)[0];
    assert_eq!(change["action"], "set");
    assert_eq!(change["removed"][0].as_i64(), Some(whole));
    let (ok, out, err) = whaleid(&[
        "detection",
        "add",
        &photo.to_string(),
        "--box",
        "120,90,180,130",
        "-c",
        c,
        "--author",
        "cli",
        "--pack",
        pack,
    ]);
    assert!(ok, "{err}");
    let added = json_lines(&out)[0]["detection_id"].as_i64().unwrap();
    assert_eq!(json_lines(&out)[0]["to_review"], 2);

    let (_, out, _) = whaleid(&["detection", "list", &photo.to_string(), "-c", c]);
    let rows = json_lines(&out);
    assert_eq!(rows.len(), 2);
    assert!(rows
        .iter()
        .all(|r| r["drawn_by"] == "cli" && r["class"] == "box"));
    assert_eq!(
        rows[1]["bbox"],
        serde_json::json!([120.0, 90.0, 180.0, 130.0])
    );

    // Removed by its UUID, then undone.
    let uuid = rows[1]["uuid"].as_str().unwrap().to_string();
    let (ok, _, err) = whaleid(&["detection", "remove", &uuid, "-c", c, "--author", "cli"]);
    assert!(ok, "{err}");
    let (_, out, _) = whaleid(&["detection", "list", file, "-c", c]);
    assert_eq!(json_lines(&out).len(), 1);
    let (ok, out, err) = whaleid(&["detection", "undo", "-c", c, "--author", "cli"]);
    assert!(ok, "{err}");
    assert_eq!(json_lines(&out)[0]["live"][0].as_i64(), Some(added));
    let (_, out, _) = whaleid(&["detection", "list", file, "-c", c]);
    assert_eq!(json_lines(&out).len(), 2);

    // Clear errors: a sliver, a detection that is not there, a bad --box.
    let (ok, _, err) = whaleid(&[
        "detection",
        "add",
        file,
        "--box",
        "10,10,12,60",
        "-c",
        c,
        "--author",
        "cli",
        "--pack",
        pack,
    ]);
    assert!(
        !ok && err.contains("survey.png") && err.contains("8 px"),
        "{err}"
    );
    let (ok, _, err) = whaleid(&["detection", "remove", "#99999", "-c", c, "--author", "cli"]);
    assert!(!ok && err.contains("detection #99999"), "{err}");
    let (ok, _, err) = whaleid(&[
        "detection",
        "add",
        file,
        "--box",
        "1,2,3",
        "-c",
        c,
        "--author",
        "cli",
    ]);
    assert!(!ok && err.contains("four numbers"), "{err}");
}
