//! Fuzzing the pack manifest and loader (issue 19): arbitrary and mutated
//! `pack.toml` text, and pack folders whose neck, head, class list and ONNX
//! files are truncated, garbled or resized. Whatever the input, loading
//! never panics, every error is a `whaleid::Error` that names the pack and
//! the file, a pack that loads keeps every bound of `whaleid::packs::validate`
//! and only files inside its folder, and no single allocation made while
//! loading is larger than [`MAX_ALLOCATION`] (a size read from a file is
//! never trusted as an allocation).
//!
//! Case counts follow proptest's defaults (256, or `PROPTEST_CASES`); the
//! ONNX one, which builds an ONNX Runtime session per case, runs a quarter.

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

use proptest::prelude::*;
use proptest::test_runner::Config;
use whaleid::embed::Embedder;
use whaleid::packs::validate::{self, check_detector, check_version};
use whaleid::packs::Pack;
use whaleid::Error;
use whaleid_testkit::{copy_pack, refresh_checksum, session};

/// Counts the largest single allocation of this test binary.
struct Largest;

static LARGEST: AtomicUsize = AtomicUsize::new(0);

// The only unsafe code of these tests, allowed because measuring the
// allocations is the point. SAFETY: every call is passed on unchanged to the
// system allocator.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Largest {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LARGEST.fetch_max(new_size, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Largest = Largest;

/// The tiny packs' files are kilobytes; the loader's own buffers (1 MiB to
/// hash a model) stay below this whatever the files claim.
const MAX_ALLOCATION: usize = 16 << 20;

fn assert_allocations_bounded() {
    let largest = LARGEST.load(Ordering::Relaxed);
    assert!(
        largest <= MAX_ALLOCATION,
        "an allocation of {largest} bytes while loading fuzzed packs"
    );
}

/// The outcome of loading `dir` is acceptable: an error is a pack error for
/// `dir` naming `pack.toml` or a file the manifest text names; a pack that
/// loads is within bounds.
fn check_load(dir: &Path, manifest: &str, loaded: whaleid::Result<Pack>) -> Result<(), String> {
    match loaded {
        Err(Error::Pack { pack, file, reason }) => {
            if pack != dir {
                return Err(format!(
                    "error names pack {}, not {}",
                    pack.display(),
                    dir.display()
                ));
            }
            if file != "pack.toml" && !manifest.contains(file.as_str()) {
                return Err(format!(
                    "error names `{file}`, which pack.toml does not: {reason}"
                ));
            }
            if reason.is_empty() {
                return Err(format!("{file}: no reason"));
            }
            Ok(())
        }
        Err(other) => Err(format!("not a pack error: {other:?}")),
        Ok(pack) => {
            let m = &pack.manifest;
            check_version(&m.pack.version)?;
            if let Some(d) = &m.detector {
                check_detector(d)?;
            }
            if pack.embedding_dim() > validate::MAX_ENSEMBLE_DIM {
                return Err(format!("{}-d embedding", pack.embedding_dim()));
            }
            for b in &m.backbones {
                if b.input_size
                    .iter()
                    .any(|s| *s > validate::MAX_BACKBONE_INPUT)
                    || b.feature_dim > validate::MAX_FEATURE_DIM
                    || b.neck.embedding_dim > validate::MAX_EMBEDDING_DIM
                {
                    return Err(format!("backbone {} out of bounds: {b:?}", b.name));
                }
            }
            let root = dir.canonicalize().unwrap();
            for (rel, real) in &pack.files {
                if !real.starts_with(&root) {
                    return Err(format!("{rel} is {}, outside the pack", real.display()));
                }
            }
            Ok(())
        }
    }
}

/// Values a careless or hostile manifest puts where a number or a string goes.
fn odd_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("0".to_string()),
        Just("-1".to_string()),
        Just("1".to_string()),
        Just("2147483648".to_string()),
        Just("4294967296".to_string()),
        Just("9223372036854775807".to_string()),
        Just("65536".to_string()),
        Just("1e308".to_string()),
        Just("nan".to_string()),
        Just("-inf".to_string()),
        Just("0.5".to_string()),
        Just("[]".to_string()),
        Just("[0, 0]".to_string()),
        Just("[1000000, 1]".to_string()),
        Just("\"../../etc/passwd\"".to_string()),
        Just("\"/dev/zero\"".to_string()),
        Just("\"1.0.0/../../x\"".to_string()),
        Just("\"\"".to_string()),
        Just("\".\"".to_string()),
        Just("\"a.onnx\"".to_string()),
        Just("\"a.neck.safetensors\"".to_string()),
        Just("{}".to_string()),
        (0u64..u64::MAX).prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|f| format!("{f:?}")),
        "\"[a-z./]{0,12}\"",
    ]
}

/// One edit of a manifest's text.
#[derive(Debug, Clone)]
enum Mutation {
    /// Replace the value of line `line` (mod the line count) with `value`.
    Value(usize, String),
    DeleteLine(usize),
    DuplicateLine(usize),
    Truncate(usize),
    FlipByte(usize, u8),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<usize>(), odd_value()).prop_map(|(l, v)| Mutation::Value(l, v)),
        1 => any::<usize>().prop_map(Mutation::DeleteLine),
        1 => any::<usize>().prop_map(Mutation::DuplicateLine),
        1 => any::<usize>().prop_map(Mutation::Truncate),
        1 => (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Mutation::FlipByte(at, b)),
    ]
}

fn mutate(text: &str, mutations: &[Mutation]) -> Vec<u8> {
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let mut tail: Option<Vec<u8>> = None;
    for m in mutations {
        let n = lines.len().max(1);
        match m {
            Mutation::Value(l, v) => {
                if let Some(line) = lines.get_mut(l % n) {
                    if let Some((key, _)) = line.split_once(" = ") {
                        *line = format!("{key} = {v}");
                    }
                }
            }
            Mutation::DeleteLine(l) if !lines.is_empty() => {
                lines.remove(l % n);
            }
            Mutation::DuplicateLine(l) if !lines.is_empty() => {
                let copy = lines[l % n].clone();
                lines.insert(l % n, copy);
            }
            Mutation::Truncate(at) | Mutation::FlipByte(at, _) => {
                let mut bytes = lines.join("\n").into_bytes();
                if bytes.is_empty() {
                    continue;
                }
                let at = at % bytes.len();
                match m {
                    Mutation::Truncate(_) => bytes.truncate(at),
                    Mutation::FlipByte(_, b) => bytes[at] ^= b | 1,
                    _ => unreachable!(),
                }
                tail = Some(bytes);
                break;
            }
            _ => {}
        }
    }
    tail.unwrap_or_else(|| (lines.join("\n") + "\n").into_bytes())
}

proptest! {
    #[test]
    fn fuzz_manifest_arbitrary_text(text in prop_oneof![
        ".{0,400}",
        // TOML-shaped: sections and keys the manifest has, values anything.
        proptest::collection::vec(
            ("(format|pack|name|version|detector|input_size|stride|backbones|file|neck|embedding_dim|checksums|ensemble|order|match)", ".{0,20}"),
            0..12,
        ).prop_map(|kv| kv.into_iter().map(|(k, v)| format!("{k} = {v}\n")).collect::<String>()),
    ]) {
        let dir = copy_pack("tiny");
        std::fs::write(dir.path().join("pack.toml"), &text).unwrap();
        let loaded = Pack::load(dir.path());
        prop_assert!(loaded.is_err(), "arbitrary text loaded as a pack: {text:?}");
        check_load(dir.path(), &text, loaded).map_err(TestCaseError::fail)?;
    }

    #[test]
    fn fuzz_manifest_mutated(
        pack in prop_oneof![Just("tiny"), Just("tiny-nodetector")],
        mutations in proptest::collection::vec(mutation(), 1..5),
    ) {
        let dir = copy_pack(pack);
        let original = std::fs::read_to_string(dir.path().join("pack.toml")).unwrap();
        let bytes = mutate(&original, &mutations);
        std::fs::write(dir.path().join("pack.toml"), &bytes).unwrap();
        let loaded = Pack::load(dir.path());
        let text = String::from_utf8_lossy(&bytes);
        check_load(dir.path(), &text, loaded).map_err(TestCaseError::fail)?;
        assert_allocations_bounded();
    }
}

/// One way to break a file's bytes.
#[derive(Debug, Clone)]
enum Damage {
    Truncate(usize),
    Flip(usize, u8),
    /// Overwrite 8 bytes at an offset with a little-endian number (the
    /// safetensors header length, a protobuf length...).
    Number(usize, u64),
    Insert(usize, Vec<u8>),
    Empty,
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        2 => any::<usize>().prop_map(Damage::Truncate),
        3 => (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Damage::Flip(at, b)),
        2 => (
            any::<usize>(),
            prop_oneof![Just(u64::MAX), Just(1u64 << 40), Just(0), any::<u64>()]
        )
            .prop_map(|(at, n)| Damage::Number(at, n)),
        1 => (any::<usize>(), proptest::collection::vec(any::<u8>(), 1..64))
            .prop_map(|(at, b)| Damage::Insert(at, b)),
        1 => Just(Damage::Empty),
    ]
}

fn apply(bytes: &mut Vec<u8>, damage: &[Damage]) {
    for d in damage {
        let len = bytes.len().max(1);
        match d {
            Damage::Truncate(at) => bytes.truncate(at % len),
            Damage::Flip(at, b) if !bytes.is_empty() => bytes[at % len] ^= b | 1,
            Damage::Number(at, n) if bytes.len() >= 8 => {
                // Half the time at the start: a safetensors header's length.
                let at = if at % 2 == 0 {
                    0
                } else {
                    at % (bytes.len() - 7)
                };
                bytes[at..at + 8].copy_from_slice(&n.to_le_bytes());
            }
            Damage::Insert(at, b) => {
                let at = at % (bytes.len() + 1);
                bytes.splice(at..at, b.iter().copied());
            }
            Damage::Empty => bytes.clear(),
            _ => {}
        }
    }
}

/// A scratch copy of the tiny pack with `file` damaged by `damage`; when
/// `refresh` is set and the bytes changed, the manifest's checksum is made
/// to match them, so the parser (not the checksum) meets the damage.
fn damaged_copy(file: &str, damage: &[Damage], refresh: bool) -> tempfile::TempDir {
    let dir = copy_pack("tiny");
    let path = dir.path().join(file);
    let mut bytes = std::fs::read(&path).unwrap();
    let before = bytes.clone();
    apply(&mut bytes, damage);
    std::fs::write(&path, &bytes).unwrap();
    if refresh && bytes != before {
        refresh_checksum(dir.path(), file);
    }
    dir
}

proptest! {
    #[test]
    fn fuzz_pack_loader_damaged_tensors_and_classes(
        file in prop_oneof![
            Just("a.neck.safetensors"),
            Just("b.neck.safetensors"),
            Just("a.head.safetensors"),
            Just("b.classes.txt"),
        ],
        damage in proptest::collection::vec(damage(), 1..4),
        // Mostly with the checksum refreshed, so the parser sees the bytes.
        refresh in proptest::bool::weighted(0.9),
    ) {
        let dir = damaged_copy(file, &damage, refresh);
        let manifest = std::fs::read_to_string(dir.path().join("pack.toml")).unwrap();
        let loaded = Pack::load(dir.path());
        if let Err(Error::Pack { file: named, .. }) = &loaded {
            // A class list that disagrees with its head is named with the head.
            let head = file == "b.classes.txt" && named == "b.head.safetensors";
            prop_assert!(named == file || head, "{file} damaged, {named} named");
        }
        check_load(dir.path(), &manifest, loaded).map_err(TestCaseError::fail)?;
        assert_allocations_bounded();
    }
}

proptest! {
    #![proptest_config(Config { cases: (Config::default().cases / 4).max(16), ..Config::default() })]

    #[test]
    fn fuzz_pack_loader_damaged_onnx(
        file in prop_oneof![Just("a.onnx"), Just("b.onnx")],
        damage in proptest::collection::vec(damage(), 1..3),
    ) {
        let dir = damaged_copy(file, &damage, true);
        // The loader hashes ONNX files; ONNX Runtime parses them on open.
        let pack = Pack::load(dir.path()).unwrap();
        match Embedder::open(&pack, &session()) {
            Ok(_) => {}
            Err(e @ (Error::Model { .. } | Error::ModelOutput { .. } | Error::Runtime { .. })) => {
                let text = e.to_string();
                prop_assert!(
                    text.contains(file) || text.contains("onnx") || text.contains("ONNX"),
                    "{file} damaged: {text}"
                );
            }
            Err(other) => prop_assert!(false, "{file} damaged: {other:?}"),
        }
        assert_allocations_bounded();
    }
}
