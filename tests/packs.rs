//! Pack validation: every way a pack can be wrong gives an error that names
//! the file and says what is wrong, before any model runs.

use whaleid::detect::Detector;
use whaleid::embed::Embedder;
use whaleid::packs::Pack;
use whaleid::runtime::SessionConfig;
use whaleid_testkit::{copy_pack, edit_manifest, pack_dir, refresh_checksum};

fn load_err(dir: &std::path::Path) -> String {
    Pack::load(dir).unwrap_err().to_string()
}

#[test]
fn committed_test_packs_are_valid() {
    let tiny = Pack::load(pack_dir("tiny")).unwrap();
    assert_eq!(tiny.name(), "tiny");
    assert_eq!(tiny.backbones.len(), 2);
    assert_eq!(tiny.embedding_dim(), 32);
    assert!(tiny.detector.is_some());
    assert!(tiny.backbones.iter().all(|b| b.head.is_some()));
    let plain = Pack::load(pack_dir("tiny-nodetector")).unwrap();
    assert!(plain.detector.is_none());
}

#[test]
fn missing_file_is_named() {
    let dir = copy_pack("tiny");
    std::fs::remove_file(dir.path().join("b.neck.safetensors")).unwrap();
    let err = load_err(dir.path());
    assert!(err.contains("b.neck.safetensors"), "{err}");
    assert!(err.contains("cannot be read"), "{err}");
}

#[test]
fn file_without_checksum_is_refused() {
    let dir = copy_pack("tiny");
    edit_manifest(dir.path(), |t| {
        t.lines()
            .filter(|l| !l.starts_with("\"a.onnx\""))
            .collect::<Vec<_>>()
            .join("\n")
    });
    let err = load_err(dir.path());
    assert!(err.contains("a.onnx") && err.contains("no sha256"), "{err}");
}

#[test]
fn bad_checksum_is_named() {
    let dir = copy_pack("tiny");
    let path = dir.path().join("detector.onnx");
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xFF;
    std::fs::write(&path, bytes).unwrap();
    let err = load_err(dir.path());
    assert!(
        err.contains("detector.onnx") && err.contains("sha256 mismatch"),
        "{err}"
    );
}

#[test]
fn path_leaving_the_pack_is_refused() {
    let dir = copy_pack("tiny-nodetector");
    edit_manifest(dir.path(), |t| {
        t.replace("file = \"a.onnx\"", "file = \"../a.onnx\"")
    });
    let err = load_err(dir.path());
    assert!(
        err.contains("../a.onnx") && err.contains("inside the pack"),
        "{err}"
    );
}

#[test]
fn wrong_neck_tensor_shape_is_named() {
    // The manifest promises a 24-d embedding; the neck holds 16-d weights.
    let dir = copy_pack("tiny-nodetector");
    edit_manifest(dir.path(), |t| {
        t.replace("embedding_dim = 16", "embedding_dim = 24")
    });
    let err = load_err(dir.path());
    assert!(err.contains("a.neck.safetensors"), "{err}");
    assert!(
        err.contains("linear.weight") && err.contains("[24, 8]"),
        "{err}"
    );
}

#[test]
fn wrong_feature_dimension_is_named() {
    let dir = copy_pack("tiny-nodetector");
    edit_manifest(dir.path(), |t| {
        t.replace("feature_dim = 8", "feature_dim = 9")
    });
    let err = load_err(dir.path());
    assert!(
        err.contains("a.neck.safetensors") && err.contains("bn.weight"),
        "{err}"
    );
}

#[test]
fn backbone_whose_output_disagrees_with_the_manifest_is_refused_when_opened() {
    // Swap in backbone b's ONNX file (12 features) under a's name (8 features).
    let dir = copy_pack("tiny");
    std::fs::copy(dir.path().join("b.onnx"), dir.path().join("a.onnx")).unwrap();
    refresh_checksum(dir.path(), "a.onnx");
    let pack = Pack::load(dir.path()).unwrap();
    let err = Embedder::open(&pack, &SessionConfig::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("a.onnx"), "{err}");
    assert!(
        err.contains("feature_dim") || err.contains("input"),
        "{err}"
    );
}

#[test]
fn backbone_input_size_must_match_the_onnx_file() {
    let dir = copy_pack("tiny-nodetector");
    edit_manifest(dir.path(), |t| {
        t.replace("input_size = [32, 32]", "input_size = [64, 64]")
    });
    let pack = Pack::load(dir.path()).unwrap();
    let err = Embedder::open(&pack, &SessionConfig::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("a.onnx") && err.contains("[N, 3, 64, 64]"),
        "{err}"
    );
}

#[test]
fn detector_class_count_must_match_the_onnx_output() {
    let dir = copy_pack("tiny");
    edit_manifest(dir.path(), |t| {
        t.replace(
            "classes = [\"fin\", \"fullbody\"]",
            "classes = [\"fin\", \"fullbody\", \"fluke\"]",
        )
    });
    let pack = Pack::load(dir.path()).unwrap();
    let (spec, file) = pack.detector.as_ref().unwrap();
    let err = Detector::open(spec, file, &SessionConfig::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("detector.onnx") && err.contains("3 classes"),
        "{err}"
    );
}

#[test]
fn ensemble_must_name_every_backbone_once() {
    let dir = copy_pack("tiny");
    edit_manifest(dir.path(), |t| {
        t.replace("order = [\"a\", \"b\"]", "order = [\"a\", \"a\"]")
    });
    let err = load_err(dir.path());
    assert!(
        err.contains("pack.toml") && err.contains("ensemble.order"),
        "{err}"
    );
}

#[test]
fn unknown_field_is_reported_with_its_name() {
    let dir = copy_pack("tiny-nodetector");
    edit_manifest(dir.path(), |t| {
        t.replace("flip_tta = false", "flip_tta = false\nflip_ttta = true")
    });
    let err = load_err(dir.path());
    assert!(
        err.contains("pack.toml") && err.contains("flip_ttta"),
        "{err}"
    );
}

#[test]
fn crop_class_must_be_a_detector_class() {
    let dir = copy_pack("tiny");
    edit_manifest(dir.path(), |t| {
        t.replace("crop_classes = [\"fin\"]", "crop_classes = [\"fluke\"]")
    });
    let err = load_err(dir.path());
    assert!(
        err.contains("crop_classes") && err.contains("fluke"),
        "{err}"
    );
}

#[test]
fn head_weight_needs_heads_and_a_unit_range() {
    let dir = copy_pack("tiny-nodetector");
    edit_manifest(dir.path(), |t| {
        t.replace(
            "new_individual_threshold = 0.5",
            "new_individual_threshold = 0.5\nhead_weight = 0.3",
        )
    });
    let err = load_err(dir.path());
    assert!(
        err.contains("head_weight") && err.contains("no backbone has"),
        "{err}"
    );

    let dir = copy_pack("tiny");
    edit_manifest(dir.path(), |t| {
        t.replace(
            "new_individual_threshold = 0.5",
            "new_individual_threshold = 0.5\nhead_weight = 1.5",
        )
    });
    assert!(load_err(dir.path()).contains("must be in [0, 1]"));
    let dir = copy_pack("tiny");
    edit_manifest(dir.path(), |t| {
        t.replace(
            "new_individual_threshold = 0.5",
            "new_individual_threshold = 0.5\nhead_weight = 0.25",
        )
    });
    let pack = Pack::load(dir.path()).unwrap();
    assert_eq!(pack.manifest.matching.head_weight, 0.25);
}
