//! The `whaleid` binary end to end: photos written to disk, JSON lines out.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{dark_shape, pack_dir, texture};

fn whaleid(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_whaleid"))
        .args(args)
        .output()
        .expect("run whaleid")
}

fn lines(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
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
    let out = Command::new(env!("CARGO_BIN_EXE_whaleid"))
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
