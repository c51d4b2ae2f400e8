//! What the engine's command-line tests share: the `whaleid` binary run as a
//! researcher runs it, its output as text, and the two commands most tests
//! start from (an ingest of a folder and an import of the drawn labelled
//! folder) with the tiny pack on one ONNX thread. The photos, packs and
//! catalogues come from `whaleid_testkit`; this module exists because only
//! the engine's own tests know where cargo built the binary.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use whaleid_testkit as kit;

/// The `whaleid` binary this test run built.
pub const BIN: &str = env!("CARGO_BIN_EXE_whaleid");

/// `whaleid ARGS`, run to the end; its status and output.
pub fn whaleid<S: AsRef<OsStr>>(args: &[S]) -> Output {
    Command::new(BIN).args(args).output().expect("run whaleid")
}

/// A path as a command-line argument.
pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// What a command printed on standard output.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// What a command printed, standard output then standard error.
pub fn text(out: &Output) -> String {
    format!("{}{}", stdout(out), String::from_utf8_lossy(&out.stderr))
}

/// The tiny pack on one ONNX thread, as options of a command that runs
/// the models.
pub fn tiny_pack_args() -> Vec<String> {
    vec![
        "--pack".into(),
        s(&kit::tiny_pack()).into(),
        "--threads".into(),
        "1".into(),
    ]
}

/// `whaleid ingest PHOTOS -c CAT` with [`tiny_pack_args`], then `extra`.
pub fn ingest_args(photos: &Path, cat: &Path, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = vec![
        "ingest".into(),
        s(photos).into(),
        "-c".into(),
        s(cat).into(),
    ];
    args.extend(tiny_pack_args());
    args.extend(extra.iter().map(|a| a.to_string()));
    args
}

/// The drawn labelled folder ([`kit::labelled_folder`]) in `dir`, and the
/// `whaleid catalogue import` of it into `dir/cat` with
/// [`tiny_pack_args`] and `extra`, not yet run: the catalogue's folder and
/// the arguments.
pub fn labelled_import(dir: &Path, extra: &[&str]) -> (PathBuf, Vec<String>) {
    let labels = kit::labelled_folder(dir);
    let cat = dir.join("cat");
    let mut args: Vec<String> = ["catalogue", "import", s(&cat), "--labels", s(&labels)]
        .map(String::from)
        .into();
    args.extend(["--images".into(), s(&dir.join("images")).into()]);
    args.extend(extra.iter().map(|a| a.to_string()));
    args.extend(tiny_pack_args());
    (cat, args)
}
