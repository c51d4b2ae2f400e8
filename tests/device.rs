//! `--device`: what the CLI runs on, and that a GPU request never lands on
//! the CPU unsaid (issue 17). These run with the CPU-only ONNX Runtime the
//! tests load (the `onnxruntime` wheel): `--device cuda` must fail naming
//! the library and the missing provider, `auto` must run on the CPU and
//! say why not on CUDA, and `cpu` must say plainly `CPU`.

mod support;

use support::{ingest_args, stdout, text, tiny_pack_args, whaleid};
use whaleid_testkit as kit;

fn doctor(device: &str) -> std::process::Output {
    let mut args = vec!["doctor".to_string(), "--device".into(), device.into()];
    args.extend(tiny_pack_args());
    whaleid(&args)
}

/// Whether the library the tests load has CUDA (the GPU wheel): then these
/// checks do not apply, and scripts/gpu-check.sh is the one to run.
fn library_has_cuda() -> bool {
    whaleid::runtime::init()
        .map(|rt| rt.providers_compiled.iter().any(|p| p == "cuda"))
        .unwrap_or(false)
}

#[test]
fn device_cuda_on_a_cpu_only_library_is_an_error_naming_library_and_provider() {
    if library_has_cuda() {
        eprintln!("the loaded ONNX Runtime has CUDA: scripts/gpu-check.sh checks this machine");
        return;
    }
    let out = doctor("cuda");
    let all = text(&out);
    assert!(!out.status.success(), "{all}");
    // Nothing may claim to have run: no model line, no `ran on`.
    assert!(!stdout(&out).contains("runs on"), "{all}");
    assert!(!stdout(&out).contains("ran on:"), "{all}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("device `cuda` requested"), "{err}");
    if cfg!(feature = "cuda") {
        let library = whaleid::runtime::init()
            .unwrap()
            .library
            .display()
            .to_string();
        assert!(err.contains("has no CUDA provider"), "{err}");
        assert!(err.contains(&library), "{err}");
        assert!(err.contains("onnxruntime-gpu"), "{err}");
    } else {
        assert!(err.contains("without the `cuda` feature"), "{err}");
    }
}

/// `auto` with no GPU runtime to try (the CPU wheel, or a build without
/// the `cuda` feature) is the usual laptop: it runs on the CPU and says
/// plainly `CPU`, with no warning; doctor's provider line shows that the
/// library has no GPU provider. A GPU runtime that is there but fails is
/// the fallback that warns (scripts/gpu-check.sh checks that on a GPU
/// build without a driver).
#[test]
fn device_auto_without_a_gpu_runtime_runs_on_the_cpu_without_a_warning() {
    if library_has_cuda() {
        return;
    }
    let out = doctor("auto");
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    assert!(stdout(&out).lines().any(|l| l == "ran on: CPU"), "{all}");
    assert!(
        stdout(&out)
            .lines()
            .any(|l| l.contains("providers in the library")
                && l.contains("cpu")
                && !l.contains("cuda")),
        "{all}"
    );
    assert!(!all.contains("warning"), "{all}");
}

#[test]
fn device_cpu_says_cpu_and_warns_of_nothing() {
    let out = doctor("cpu");
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    assert!(stdout(&out).lines().any(|l| l == "ran on: CPU"), "{all}");
    assert!(!all.contains("warning"), "{all}");
    assert!(!all.contains("not available"), "{all}");
}

#[test]
fn the_ingest_summary_says_what_the_models_ran_on() {
    let dir = tempfile::tempdir().unwrap();
    let photos = dir.path().join("photos");
    kit::survey_photos(&photos, 3, 2);
    let cat = dir.path().join("cat");

    let out = whaleid(&ingest_args(&photos, &cat, &["--device", "cpu"]));
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    // The line just before the summary table; the table's row stays last.
    let printed = stdout(&out);
    let lines: Vec<&str> = printed.lines().collect();
    let table = lines
        .iter()
        .position(|l| l.starts_with("| photos new"))
        .unwrap_or_else(|| panic!("no summary table: {all}"));
    assert_eq!(lines[table - 1], "ran on: CPU", "{all}");
    assert_eq!(lines.len(), table + 3, "{all}");
    assert!(!all.contains("warning"), "{all}");

    if library_has_cuda() {
        return;
    }
    // The same folder again under `auto`: known photos, but the models
    // still open; with no GPU runtime here it is plainly the CPU.
    let out = whaleid(&ingest_args(&photos, &cat, &[]));
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    assert!(stdout(&out).lines().any(|l| l == "ran on: CPU"), "{all}");
    assert!(!all.contains("warning"), "{all}");
}

#[test]
fn train_gpu_without_a_cuda_training_build_is_an_error_not_a_cpu_run() {
    if cfg!(feature = "train-cuda") {
        eprintln!("this build trains on CUDA: scripts/gpu-check.sh checks this machine");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let photos = dir.path().join("photos");
    kit::survey_photos(&photos, 3, 2);
    let cat = dir.path().join("cat");
    let out = whaleid(&ingest_args(&photos, &cat, &["--device", "cpu"]));
    assert!(out.status.success(), "{}", text(&out));
    let cat = cat.to_str().unwrap();
    let before = whaleid(&["train", "-c", cat, "--list"]);

    let out = whaleid(&["train", "-c", cat, "--epochs", "1", "--gpu"]);
    let all = text(&out);
    assert!(!out.status.success(), "{all}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("training on the GPU: this build has no CUDA training backend"),
        "{err}"
    );
    assert!(!all.contains("training on: CPU"), "{all}");
    assert!(!stdout(&out).contains("trained on"), "{all}");
    // Nothing trained, nothing adopted.
    let after = whaleid(&["train", "-c", cat, "--list"]);
    assert_eq!(stdout(&before), stdout(&after));

    // Without --gpu it trains and says where.
    let out = whaleid(&["train", "-c", cat, "--epochs", "1", "--dry-run"]);
    let all = text(&out);
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .lines()
            .any(|l| l == "training on: CPU"),
        "{all}"
    );
}
