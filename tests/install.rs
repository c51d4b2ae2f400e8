//! The CLI finds ONNX Runtime and the generic pack relative to its own
//! install, never in the source folder it was built from: a copy of the
//! built binary in a temporary "prefix" (`bin/whaleid`, resources in
//! `lib/WhaleID/`, as the Linux package lays them out), run with no variable
//! pointing into the checkout.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The built CLI, copied (hard-linked when the file system allows) to
/// `prefix/bin/whaleid`.
fn installed_cli(prefix: &Path) -> PathBuf {
    let bin = prefix.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let exe = bin.join("whaleid");
    let built = Path::new(env!("CARGO_BIN_EXE_whaleid"));
    if std::fs::hard_link(built, &exe).is_err() {
        std::fs::copy(built, &exe).unwrap();
    }
    exe
}

/// `whaleid doctor` from `prefix`, with HOME there too and neither lookup
/// variable set (cargo sets both for tests, pointing into the checkout).
fn doctor(exe: &Path, prefix: &Path) -> Output {
    Command::new(exe)
        .arg("doctor")
        .current_dir(prefix)
        .env("HOME", prefix)
        .env_remove("ORT_DYLIB_PATH")
        .env_remove("WHALEID_GENERIC_PACK")
        .env_remove("WHALEID_PACK")
        .env_remove("WHALEID_CONFIG_DIR")
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("XDG_DATA_HOME")
        .output()
        .expect("run the installed whaleid")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `out` failed with an error that names every path in `tried` and the
/// variable that would override them, and nothing in the checkout.
fn assert_fails_naming(out: &Output, tried: &[PathBuf], variable: &str) {
    assert!(!out.status.success());
    let err = text(&out.stderr);
    for path in tried {
        assert!(
            err.contains(&path.display().to_string()),
            "{} not named in: {err}",
            path.display()
        );
    }
    let checkout = env!("CARGO_MANIFEST_DIR");
    assert!(!err.contains(checkout), "the checkout is named in: {err}");
    assert!(err.contains(variable), "{err}");
}

/// The library the tests run with (cargo's `ORT_DYLIB_PATH`, from
/// `.cargo/config.toml`), resolved to its real file.
fn built_library() -> PathBuf {
    let path = std::env::var_os("ORT_DYLIB_PATH").expect("cargo sets ORT_DYLIB_PATH for tests");
    std::fs::canonicalize(path).unwrap()
}

#[cfg(unix)]
fn link(from: &Path, to: &Path) {
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(from, to).unwrap();
}

#[cfg(unix)]
#[test]
fn an_installed_cli_looks_only_beside_its_install_and_names_every_path_tried() {
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path();
    let exe = installed_cli(prefix);
    let checkout = env!("CARGO_MANIFEST_DIR");

    // Nothing installed beside it: the library is missing, and the error
    // names the folders tried, none of them in the checkout.
    assert_fails_naming(
        &doctor(&exe, prefix),
        &[
            prefix.join("bin/lib"),
            prefix.join("bin"),
            prefix.join("lib/WhaleID/lib"),
            prefix.join("lib/WhaleID"),
        ],
        "ORT_DYLIB_PATH",
    );

    // The library installed as the package puts it, the pack still missing:
    // the pack's error names its folders tried.
    let library = built_library();
    link(
        &library,
        &prefix
            .join("lib/WhaleID/lib")
            .join(library.file_name().unwrap()),
    );
    assert_fails_naming(
        &doctor(&exe, prefix),
        &[
            prefix.join("bin/models/generic"),
            prefix.join("lib/WhaleID/models/generic"),
        ],
        "WHALEID_GENERIC_PACK",
    );

    // Both installed: doctor runs, on the installed files.
    link(
        &Path::new(checkout).join("models/generic"),
        &prefix.join("lib/WhaleID/models/generic"),
    );
    let out = doctor(&exe, prefix);
    let said = text(&out.stdout);
    assert!(out.status.success(), "{said}{}", text(&out.stderr));
    assert!(
        said.contains(&prefix.join("lib/WhaleID/lib").display().to_string()),
        "{said}"
    );
    assert!(
        said.contains(
            &prefix
                .join("lib/WhaleID/models/generic")
                .display()
                .to_string()
        ),
        "{said}"
    );
    // And where the app keeps its preferences and log, under HOME.
    for folder in [
        format!(
            "app preferences: {}",
            prefix.join(".config/org.whaleid.app").display()
        ),
        format!(
            "app log: {}",
            prefix
                .join(".local/share/org.whaleid.app/logs/whaleid.log")
                .display()
        ),
    ] {
        assert!(said.contains(&folder), "{folder} not in: {said}");
    }
}
