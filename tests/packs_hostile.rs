//! Packs made to hurt (issue 19, items 6 to 9): names that would become
//! paths outside the catalogue, files that are links out of the pack, FIFOs
//! and devices, sizes that would crash or exhaust memory, and weights that
//! are NaN or zero. Each is refused by `Pack::load` (or, for the ONNX files,
//! `Embedder::open`) with an error that names the pack, the file and the
//! reason, before any photo is touched.

use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use sha2::{Digest, Sha256};
use whaleid::embed::Embedder;
use whaleid::packs::Pack;
use whaleid::Error;
use whaleid_testkit::{
    copy_pack, edit_manifest, refresh_checksum, session, set_onnx_initializer, write_tensors,
};

/// `Pack::load`'s error, which must be a pack error naming `dir`, and its text.
fn refused(dir: &Path) -> (String, String) {
    match Pack::load(dir) {
        Ok(_) => panic!("{} loaded", dir.display()),
        Err(e @ Error::Pack { .. }) => {
            let Error::Pack { file, pack, .. } = &e else {
                unreachable!()
            };
            assert_eq!(pack, dir, "{e}");
            (file.clone(), e.to_string())
        }
        Err(other) => panic!("not a pack error: {other:?}"),
    }
}

/// `Pack::load` on another thread: a load that blocks (a FIFO) or reads
/// without end (/dev/zero) fails the test instead of hanging it.
fn load_within(dir: &Path, secs: u64) -> whaleid::Result<Pack> {
    let (tx, rx) = mpsc::channel();
    let dir = dir.to_path_buf();
    std::thread::spawn(move || {
        let _ = tx.send(Pack::load(&dir));
    });
    rx.recv_timeout(Duration::from_secs(secs))
        .unwrap_or_else(|_| panic!("Pack::load did not return within {secs} s"))
}

/// A scratch copy of the tiny-nodetector pack whose `file` is replaced by
/// what `make` puts at its path (a link, a FIFO).
#[cfg(unix)]
fn pack_with(file: &str, make: impl FnOnce(&Path)) -> tempfile::TempDir {
    let pack = copy_pack("tiny-nodetector");
    let path = pack.path().join(file);
    std::fs::remove_file(&path).unwrap();
    make(&path);
    pack
}

/// A FIFO at `path`: whoever opens it to read waits for a writer.
#[cfg(unix)]
fn mkfifo(path: &Path) {
    let made = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(made.success());
}

#[test]
fn a_version_that_is_a_path_is_refused() {
    let dir = copy_pack("tiny");
    edit_manifest(dir.path(), |t| {
        t.replace(
            "version = \"0.1.0\"",
            "version = \"1.0.0/../../../../../elsewhere/ESCAPED\"",
        )
    });
    let (file, err) = refused(dir.path());
    assert_eq!(file, "pack.toml", "{err}");
    assert!(
        err.contains("pack.version") && err.contains("ESCAPED"),
        "{err}"
    );
    for bad in ["..", ".hidden", "1.0 beta", "", "1.0.0\\x", &"9".repeat(65)] {
        let dir = copy_pack("tiny-nodetector");
        edit_manifest(dir.path(), |t| {
            t.replace("version = \"0.1.0\"", &format!("version = {bad:?}"))
        });
        let (_, err) = refused(dir.path());
        assert!(err.contains("pack.version"), "{bad:?}: {err}");
    }
    // What versions look like stays accepted.
    for good in ["1.0.0", "0.1.0+ft.12", "2.0.0-rc.1", "v3_b"] {
        let dir = copy_pack("tiny-nodetector");
        edit_manifest(dir.path(), |t| {
            t.replace("version = \"0.1.0\"", &format!("version = {good:?}"))
        });
        assert_eq!(Pack::load(dir.path()).unwrap().version(), good);
    }
}

#[test]
fn a_backbone_name_that_is_a_path_is_refused() {
    // Adoption writes `<backbone>.neck.safetensors`: the name must be one
    // plain file name.
    let dir = copy_pack("tiny-nodetector");
    edit_manifest(dir.path(), |t| {
        t.replace("name = \"a\"", "name = \"../../a\"")
            .replace("order = [\"a\"]", "order = [\"../../a\"]")
    });
    let (file, err) = refused(dir.path());
    assert_eq!(file, "pack.toml");
    assert!(
        err.contains("backbones[0].name") && err.contains("../../a"),
        "{err}"
    );
}

#[cfg(unix)]
#[test]
fn an_onnx_file_linked_from_outside_the_pack_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let pack = copy_pack("tiny-nodetector");
    let outside = tmp.path().join("a.onnx");
    std::fs::rename(pack.path().join("a.onnx"), &outside).unwrap();
    std::os::unix::fs::symlink(&outside, pack.path().join("a.onnx")).unwrap();
    let (file, err) = refused(pack.path());
    assert_eq!(file, "a.onnx", "{err}");
    assert!(err.contains("outside the pack"), "{err}");
    // A link that stays inside the pack is fine.
    std::fs::remove_file(pack.path().join("a.onnx")).unwrap();
    std::fs::rename(&outside, pack.path().join("real.onnx")).unwrap();
    std::os::unix::fs::symlink("real.onnx", pack.path().join("a.onnx")).unwrap();
    let loaded = Pack::load(pack.path()).unwrap();
    assert_eq!(
        loaded.backbones[0].onnx,
        pack.path().join("real.onnx").canonicalize().unwrap(),
        "the runtime opens the file that was checked"
    );
}

#[cfg(unix)]
#[test]
fn a_checksum_entry_linked_to_a_foreign_file_never_prints_its_hash() {
    let tmp = tempfile::tempdir().unwrap();
    let secret = tmp.path().join("shadow");
    std::fs::write(&secret, "root:$6$secret-hash:19000:0:99999:7:::\n").unwrap();
    let foreign_sha = hex::encode(Sha256::digest(std::fs::read(&secret).unwrap()));
    let pack = copy_pack("tiny-nodetector");
    std::os::unix::fs::symlink(&secret, pack.path().join("notes.txt")).unwrap();
    edit_manifest(pack.path(), |t| {
        format!("{t}\"notes.txt\" = \"{}\"\n", "0".repeat(64))
    });
    let (file, err) = refused(pack.path());
    assert_eq!(file, "notes.txt", "{err}");
    assert!(err.contains("outside the pack"), "{err}");
    assert!(!err.contains(&foreign_sha), "{err}");
    // The same for a guess that is right: no oracle either.
    edit_manifest(pack.path(), |t| t.replace(&"0".repeat(64), &foreign_sha));
    let (_, err) = refused(pack.path());
    assert!(err.contains("outside the pack"), "{err}");
}

#[cfg(unix)]
#[test]
fn a_link_to_dev_zero_is_refused_without_reading_it() {
    let pack = pack_with("a.neck.safetensors", |neck| {
        std::os::unix::fs::symlink("/dev/zero", neck).unwrap()
    });
    let err = load_within(pack.path(), 10).unwrap_err().to_string();
    assert!(err.contains("a.neck.safetensors"), "{err}");
    assert!(err.contains("outside the pack"), "{err}");
}

#[cfg(unix)]
#[test]
fn a_fifo_in_the_pack_is_refused_without_blocking() {
    let pack = pack_with("a.onnx", mkfifo);
    let err = load_within(pack.path(), 10).unwrap_err().to_string();
    assert!(
        err.contains("a.onnx") && err.contains("not a regular file"),
        "{err}"
    );
    // The same for pack.toml itself.
    let pack = pack_with("pack.toml", mkfifo);
    let err = load_within(pack.path(), 10).unwrap_err().to_string();
    assert!(
        err.contains("pack.toml") && err.contains("not a regular file"),
        "{err}"
    );
}

#[test]
fn a_file_over_its_size_cap_is_refused_before_it_is_read() {
    // Sparse: the size is there, the bytes are not.
    let pack = copy_pack("tiny-nodetector");
    let neck = std::fs::OpenOptions::new()
        .write(true)
        .open(pack.path().join("a.neck.safetensors"))
        .unwrap();
    neck.set_len((1 << 30) + 1).unwrap();
    drop(neck);
    let err = load_within(pack.path(), 10).unwrap_err().to_string();
    assert!(err.contains("a.neck.safetensors"), "{err}");
    assert!(
        err.contains("larger than") && err.contains("1024 MiB"),
        "{err}"
    );

    let pack = copy_pack("tiny-nodetector");
    let toml = pack.path().join("pack.toml");
    let mut text = std::fs::read_to_string(&toml).unwrap();
    text.push_str(&format!("# {}\n", "x".repeat(2 << 20)));
    std::fs::write(&toml, text).unwrap();
    let (file, err) = refused(pack.path());
    assert_eq!(file, "pack.toml");
    assert!(err.contains("larger than"), "{err}");
}

/// `pack.toml` of the tiny pack with `from` replaced by `to`, refused with an
/// error that says `field` and `words`.
fn size_refused(pack: &str, from: &str, to: &str, field: &str) {
    let dir = copy_pack(pack);
    edit_manifest(dir.path(), |t| {
        assert!(t.contains(from), "{from}");
        t.replacen(from, to, 1)
    });
    let (file, err) = refused(dir.path());
    assert_eq!(file, "pack.toml", "{to}: {err}");
    assert!(err.contains(field), "{to}: {err}");
    assert!(
        err.contains("at most") || err.contains("at least"),
        "{to}: {err}"
    );
}

#[test]
fn sizes_beyond_their_bounds_are_refused() {
    // The detector sizes of the issue: a panic in ndarray, a 34 GB allocation.
    for size in ["2147483648", "65536", "4096"] {
        size_refused(
            "tiny",
            "input_size = 128",
            &format!("input_size = {size}"),
            "detector.input_size",
        );
    }
    size_refused("tiny", "stride = 32", "stride = 1024", "detector.stride");
    size_refused(
        "tiny",
        "max_detections = 20",
        "max_detections = 100000000",
        "detector.max_detections",
    );
    size_refused(
        "tiny-nodetector",
        "input_size = [32, 32]",
        "input_size = [32, 100000]",
        "input_size",
    );
    size_refused(
        "tiny-nodetector",
        "feature_dim = 8",
        "feature_dim = 1000000000",
        "feature_dim",
    );
    size_refused(
        "tiny-nodetector",
        "embedding_dim = 16",
        "embedding_dim = 1000000000",
        "embedding_dim",
    );
    size_refused(
        "tiny",
        "m = 0.5\n",
        "m = 0.5\nsubcenters = 1000000000\n",
        "subcenters",
    );
    size_refused("tiny", "s = 30.0", "s = 1e30", "head.s");
    size_refused(
        "tiny-nodetector",
        "bn_eps = 1e-05",
        "bn_eps = 1e300",
        "bn_eps",
    );
    size_refused(
        "tiny-nodetector",
        "mean = [0.485, 0.456, 0.406]",
        "mean = [0.485, nan, 0.406]",
        "mean",
    );
    size_refused(
        "tiny-nodetector",
        "std = [0.229, 0.224, 0.225]",
        "std = [0.229, inf, 0.225]",
        "std",
    );
}

/// The `tiny-nodetector` neck (8 → 16) with `edit` applied to its tensors.
fn neck_with(edit: impl Fn(&str, &mut Vec<f32>)) -> tempfile::TempDir {
    let dir = copy_pack("tiny-nodetector");
    let (f, d) = (8, 16);
    let mut tensors: Vec<(&str, Vec<usize>, Vec<f32>)> = vec![
        ("bn.weight", vec![f], vec![1.0; f]),
        ("bn.bias", vec![f], vec![0.1; f]),
        ("bn.running_mean", vec![f], vec![0.2; f]),
        ("bn.running_var", vec![f], vec![1.0; f]),
        (
            "linear.weight",
            vec![d, f],
            (0..d * f)
                .map(|i| ((i * 7 % 11) as f32 - 5.0) / 10.0)
                .collect(),
        ),
        ("linear.bias", vec![d], vec![0.0; d]),
    ];
    for (name, _, values) in &mut tensors {
        edit(name, values);
    }
    write_tensors(&dir.path().join("a.neck.safetensors"), &tensors);
    refresh_checksum(dir.path(), "a.neck.safetensors");
    dir
}

#[test]
fn a_well_formed_written_neck_loads() {
    // The fixture itself is fine: the refusals below are for their edits.
    let dir = neck_with(|_, _| {});
    Pack::load(dir.path()).unwrap();
}

#[test]
fn a_neck_with_nan_or_infinite_weights_is_refused_naming_pack_and_file() {
    for (tensor, value) in [
        ("linear.weight", f32::NAN),
        ("linear.bias", f32::INFINITY),
        ("bn.running_mean", f32::NEG_INFINITY),
        ("bn.weight", f32::NAN),
    ] {
        let dir = neck_with(|name, v| {
            if name == tensor {
                v[3] = value;
            }
        });
        let (file, err) = refused(dir.path());
        assert_eq!(file, "a.neck.safetensors", "{err}");
        assert!(err.contains(tensor) && err.contains("not finite"), "{err}");
        assert!(err.contains(&dir.path().display().to_string()), "{err}");
    }
}

#[test]
fn a_neck_that_overflows_when_folded_is_refused() {
    // Each value is finite, but γ/√(σ²+ε) is not a float32.
    let dir = neck_with(|name, v| match name {
        "bn.weight" => v.fill(3.0e38),
        "bn.running_var" => v.fill(1.0e-30),
        _ => {}
    });
    edit_manifest(dir.path(), |t| t.replace("bn_eps = 1e-05", "bn_eps = 0.0"));
    let (file, err) = refused(dir.path());
    assert_eq!(file, "a.neck.safetensors", "{err}");
    assert!(err.contains("not finite"), "{err}");
}

#[test]
fn a_zero_neck_is_refused() {
    // Everything would score 0.000 against everything.
    let dir = neck_with(|name, v| {
        if name.starts_with("linear.") {
            v.fill(0.0)
        }
    });
    let (file, err) = refused(dir.path());
    assert_eq!(file, "a.neck.safetensors", "{err}");
    assert!(err.contains("zero"), "{err}");
    // Weights zero but a bias: every photo would get the same embedding.
    let dir = neck_with(|name, v| match name {
        "linear.weight" => v.fill(0.0),
        "linear.bias" => v.fill(0.5),
        _ => {}
    });
    let (file, err) = refused(dir.path());
    assert_eq!(file, "a.neck.safetensors", "{err}");
    assert!(err.contains("same embedding"), "{err}");
}

#[test]
fn a_head_with_nan_or_zero_centres_is_refused() {
    for (value, words) in [(f32::NAN, "not finite"), (0.0, "zero")] {
        let dir = copy_pack("tiny");
        let mut w: Vec<f32> = (0..48).map(|i| (i as f32 - 20.0) / 7.0).collect();
        w[16..32].fill(value);
        write_tensors(
            &dir.path().join("b.head.safetensors"),
            &[("arcface.weight", vec![3, 16], w)],
        );
        refresh_checksum(dir.path(), "b.head.safetensors");
        let (file, err) = refused(dir.path());
        assert_eq!(file, "b.head.safetensors", "{err}");
        assert!(
            err.contains("arcface.weight") && err.contains(words),
            "{err}"
        );
    }
}

#[test]
fn a_backbone_whose_onnx_gives_nan_is_refused_when_opened() {
    let dir = copy_pack("tiny-nodetector");
    set_onnx_initializer(dir.path(), "a.onnx", "conv.weight", f32::NAN);
    // The file is hashed, not run, by the loader.
    let pack = Pack::load(dir.path()).unwrap();
    let err = Embedder::open(&pack, &session()).unwrap_err();
    assert!(matches!(err, Error::ModelOutput { .. }), "{err:?}");
    let err = err.to_string();
    assert!(err.contains("a.onnx") && err.contains("probe"), "{err}");
    assert!(err.contains("not finite") && err.contains("tiny"), "{err}");
    // The unbroken file opens.
    let ok = copy_pack("tiny-nodetector");
    Embedder::open(&Pack::load(ok.path()).unwrap(), &session()).unwrap();
}

#[test]
fn a_detector_spec_built_in_code_is_bounded_too() {
    let pack = Pack::load(whaleid_testkit::tiny_pack()).unwrap();
    let (mut spec, file) = pack.detector.clone().unwrap();
    spec.input_size = 65536;
    let err = whaleid::detect::Detector::open(&spec, &file, &session())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("detector.input_size") && err.contains("at most 2048"),
        "{err}"
    );
}
