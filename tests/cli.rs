//! The `whaleid` binary end to end: photos written to disk, JSON lines out.

mod support;

use std::process::{Command, Output};
use whaleid_testkit as kit;

use support::{s, whaleid, BIN};
use whaleid_testkit::{dark_shape, pack_dir, texture};

fn lines(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn detect_then_embed_photos_from_disk() {
    let dir = tempfile::tempdir().unwrap();
    let fin = dir.path().join("fin one.jpg");
    dark_shape(240, 160, (100, 50, 170, 120))
        .save(&fin)
        .unwrap();
    let empty_sea = dir.path().join("sea.png");
    texture(200, 150, 4).save(&empty_sea).unwrap();
    let broken = dir.path().join("broken.jpg");
    std::fs::write(&broken, b"not a photo at all").unwrap();
    let pack = pack_dir("tiny");

    let out = whaleid(&["detect", s(&fin), s(&empty_sea), "--pack", s(&pack)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows = lines(&out);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["provider"], "cpu");
    assert_eq!(rows[0]["width"], 240);
    let fins: Vec<_> = rows[0]["detections"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["class"] == "fin")
        .collect();
    assert_eq!(fins.len(), 1);
    let x1 = fins[0]["bbox"]["x1"].as_f64().unwrap();
    assert!((x1 - 100.0).abs() < 3.0, "{x1}");
    assert_eq!(rows[1]["detections"].as_array().unwrap().len(), 0);

    let out = whaleid(&[
        "embed",
        s(&fin),
        s(&empty_sea),
        s(&broken),
        "--pack",
        s(&pack),
        "--full",
    ]);
    // Exit code 2: some files had problems, each reported on its own line.
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows = lines(&out);
    assert_eq!(rows.len(), 3, "{rows:?}");
    let broken_row = rows.iter().find(|r| r["file"] == s(&broken)).unwrap();
    assert_eq!(broken_row["error"]["kind"], "photo");
    assert!(broken_row["error"]["message"]
        .as_str()
        .unwrap()
        .contains("broken.jpg"));
    let sea_row = rows.iter().find(|r| r["file"] == s(&empty_sea)).unwrap();
    assert_eq!(sea_row["error"]["kind"], "no_detection");
    let fin_row = rows.iter().find(|r| r["file"] == s(&fin)).unwrap();
    assert_eq!(fin_row["dim"], 32);
    assert_eq!(fin_row["detection"]["class"], "fin");
    let v: Vec<f64> = fin_row["embedding"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
    assert!((norm - 1.0).abs() < 1e-5, "{norm}");
}

#[test]
fn embed_dump_writes_the_tensors_the_backbones_saw() {
    let dir = tempfile::tempdir().unwrap();
    let photo = dir.path().join("p.png");
    texture(80, 60, 2).save(&photo).unwrap();
    let dump = dir.path().join("dump");
    let out = whaleid(&[
        "embed",
        s(&photo),
        "--pack",
        s(&pack_dir("tiny")),
        "--whole",
        "--dump",
        s(&dump),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (name, bytes) in [
        ("p.a.input.npy", 3 * 32 * 32 * 4),
        ("p.b.input.npy", 3 * 48 * 40 * 4),
        ("p.a.neck.npy", 16 * 4),
        ("p.b.neck.npy", 16 * 4),
    ] {
        let data = std::fs::read(dump.join(name)).unwrap();
        assert!(data.starts_with(b"\x93NUMPY"), "{name}");
        let header = u16::from_le_bytes([data[8], data[9]]) as usize;
        assert_eq!(data.len() - 10 - header, bytes, "{name}");
    }
}

#[test]
fn doctor_reports_library_pack_and_providers() {
    let out = whaleid(&["doctor", "--pack", s(&pack_dir("tiny"))]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("ONNX Runtime 1."), "{text}");
    assert!(
        text.contains("pack tiny 0.1.0") && text.contains("valid"),
        "{text}"
    );
    assert!(text.contains("detector.onnx: runs on cpu"), "{text}");
    assert_eq!(text.matches("runs on cpu").count(), 3, "{text}");
}

#[test]
fn missing_onnx_runtime_says_what_to_do() {
    let out = Command::new(BIN)
        .args(["doctor", "--pack", s(&pack_dir("tiny"))])
        .env("ORT_DYLIB_PATH", "/nonexistent/libonnxruntime.so")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("/nonexistent/libonnxruntime.so"), "{err}");
    assert!(err.contains("scripts/setup-ort.sh"), "{err}");
}

#[test]
#[cfg(not(feature = "cuda"))]
fn explicit_gpu_device_without_the_feature_is_a_clear_error() {
    let out = whaleid(&["doctor", "--pack", s(&pack_dir("tiny")), "--device", "cuda"]);
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("cuda") && err.contains("feature"), "{err}");
}

#[test]
fn catalogue_import_identify_eval_and_merge_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let labels = kit::labelled_folder(dir.path());
    let images = dir.path().join("images");
    let cat = dir.path().join("cat");
    let pack = pack_dir("tiny");
    let pack_args = ["--pack", s(&pack), "--threads", "1"];

    let out = whaleid(&[&["catalogue", "create", s(&cat)], &pack_args[..]].concat());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Detector crops, as the query below gets.
    let import = [
        &[
            "catalogue",
            "import",
            s(&cat),
            "--labels",
            s(&labels),
            "--images",
            s(&images),
            "--no-boxes",
        ],
        &pack_args[..],
    ]
    .concat();
    let out = whaleid(&import);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("imported 24 photos"));
    // Again: everything is already there.
    let out = whaleid(&import);
    assert!(String::from_utf8_lossy(&out.stdout).contains("imported 0 photos, skipped 24"));

    let out = whaleid(&["catalogue", "stats", s(&cat), "--json"]);
    let stats: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(stats["individuals"], 6);
    assert_eq!(stats["embeddings"], 24);
    let out = whaleid(&["catalogue", "check", s(&cat)]);
    assert!(out.status.success());

    // A catalogued photo's pixels in a new file (TIFF: other bytes, so not
    // recognised by hash): the detector finds the same crop, so W004 scores
    // 1.0; the catalogue's own pack is used without --pack.
    let query = dir.path().join("query.tif");
    kit::photo(4, 40, 33).save(&query).unwrap();
    let identify = || {
        whaleid(&[
            "identify",
            s(&query),
            "-c",
            s(&cat),
            "--json",
            "--threshold",
            "0.5",
        ])
    };
    let out = identify();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let result = &lines(&out)[0];
    assert_eq!(result["class"], "fin");
    assert_eq!(result["scope"], "whole catalogue");
    let top5 = result["top5"].as_array().unwrap();
    assert_eq!(top5.len(), 5);
    assert_eq!(top5[0]["individual"], "W004", "{result}");
    assert!(top5[0]["score"].as_f64().unwrap() > 0.9999, "{result}");

    // Merge W004 into W002, then undo it.
    let out = whaleid(&["individual", "merge", "-c", s(&cat), "W004", "W002"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let event = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .nth(1)
        .unwrap()
        .trim_end_matches(':')
        .to_string();
    let out = identify();
    assert_eq!(lines(&out)[0]["top5"][0]["individual"], "W002");
    let out = whaleid(&["individual", "undo", "-c", s(&cat), &event]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = identify();
    assert_eq!(lines(&out)[0]["top5"][0]["individual"], "W004");

    // Calibrate from the confirmed identifications and keep the threshold.
    let out = whaleid(&["catalogue", "calibrate", s(&cat)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("saved: identify now uses threshold"));

    let out = whaleid(
        &[
            &[
                "eval",
                "--labels",
                s(&labels),
                "--images",
                s(&images),
                "--json",
            ],
            &pack_args[..],
        ]
        .concat(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["photos"], 24);
    let map = r["report"]["overall"]["map_at_5"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&map));
    assert!(r["calibration"]["threshold"].is_number());
}

#[test]
fn train_measures_adopts_lists_and_rolls_back_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let labels = kit::labelled_folder(dir.path());
    let images = dir.path().join("images");
    let cat = dir.path().join("cat");
    let pack = pack_dir("tiny");
    let ok = |out: &Output| {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    ok(&whaleid(&[
        "catalogue",
        "import",
        s(&cat),
        "--labels",
        s(&labels),
        "--images",
        s(&images),
        "--pack",
        s(&pack),
        "--threads",
        "1",
    ]));
    let list = ok(&whaleid(&["train", "-c", s(&cat), "--list"]));
    assert!(
        list.contains("tiny 0.1.0 (active): no trained versions yet"),
        "{list}"
    );
    let out = whaleid(&["train", "-c", s(&cat), "--rollback"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("nothing to roll back to"), "{err}");

    // Measured only.
    let json = ok(&whaleid(&[
        "train",
        "-c",
        s(&cat),
        "--epochs",
        "2",
        "--dry-run",
        "--json",
    ]));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["report"]["before"]["known"]["map_at_5"], 1.0);
    assert_eq!(v["report"]["histories"].as_array().unwrap().len(), 2);
    assert_eq!(v["report"]["train_detections"], 18);
    assert!(v["adopted"].is_null());
    let list = ok(&whaleid(&["train", "-c", s(&cat), "--list"]));
    assert!(list.contains("no trained versions yet"), "{list}");

    // Adopted (asked for whatever the gain), listed, rolled back.
    let report = ok(&whaleid(&[
        "train",
        "-c",
        s(&cat),
        "--epochs",
        "2",
        "--min-gain",
        "-1",
    ]));
    assert!(report.contains("before   after"), "{report}");
    assert!(
        report.contains("adopted as tiny 0.1.0+ft.1")
            && report.contains("re-embedded 24 detections"),
        "{report}"
    );
    let list = ok(&whaleid(&["train", "-c", s(&cat), "--list"]));
    assert!(
        list.contains("tiny 0.1.0+ft.1 from 0.1.0 (active)"),
        "{list}"
    );
    assert!(cat.join("packs/tiny-0.1.0+ft.1/pack.toml").is_file());
    let back = ok(&whaleid(&["train", "-c", s(&cat), "--rollback"]));
    assert!(back.contains("now using 0.1.0 (was 0.1.0+ft.1)"), "{back}");
    let list = ok(&whaleid(&["train", "-c", s(&cat), "--list"]));
    assert!(list.contains("tiny 0.1.0 (active)"), "{list}");
}

#[test]
fn sync_review_lists_what_syncs_left_and_dismiss_takes_it_off() {
    let dir = tempfile::tempdir().unwrap();
    let cat_dir = dir.path().join("cat");
    let mut cat = whaleid::catalogue::Catalogue::create(&cat_dir).unwrap();
    cat.ensure_individual("HW-1", None).unwrap();
    cat.ensure_individual("HW-9", None).unwrap();
    let uuid = |code: &str| -> String {
        kit::sql(&cat)
            .query_row(
                "SELECT uuid FROM individuals WHERE code = ?1",
                [code],
                |r| r.get(0),
            )
            .unwrap()
    };
    let (a, b) = (uuid("HW-1"), uuid("HW-9"));
    let duplicate = whaleid::sync::duplicates::Duplicate {
        individual: b,
        code: "HW-9".into(),
        other: a,
        other_code: "HW-1".into(),
        score: 0.91,
    };
    whaleid::sync::review::record(&mut cat, &[], &[duplicate]).unwrap();
    drop(cat);

    let out = whaleid(&["sync", "-c", s(&cat_dir), "--review"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("HW-9 looks like HW-1 (similarity 0.91)"),
        "{text}"
    );
    let id = text.split('\t').next().unwrap().trim().to_string();
    let out = whaleid(&["sync", "-c", s(&cat_dir), "--dismiss", &id]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = whaleid(&["sync", "-c", s(&cat_dir), "--review"]);
    assert_eq!(
        String::from_utf8(out.stdout).unwrap().trim(),
        "nothing from earlier syncs to review"
    );
    // Dismissing it again says why not; syncing needs a server.
    let out = whaleid(&["sync", "-c", s(&cat_dir), "--dismiss", &id]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("dismissed already"));
    let out = whaleid(&["sync", "-c", s(&cat_dir)]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--server"));
}
