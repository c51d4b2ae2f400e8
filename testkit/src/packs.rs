//! The test packs committed in `tests/packs/` (the tiny ONNX detector and
//! embedder the tests run through the real runtime), found from this crate's
//! own folder so every test crate reaches the same files, and scratch copies
//! of them that a test may edit or break.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// The committed pack `tests/packs/NAME`.
pub fn pack_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/packs")
        .join(name)
}

/// The tiny pack: a real ONNX detector of dark shapes and a small embedder.
pub fn tiny_pack() -> PathBuf {
    pack_dir("tiny")
}

/// A scratch copy of a committed pack.
pub fn copy_pack(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let from = pack_dir(name);
    let entries =
        std::fs::read_dir(&from).unwrap_or_else(|e| panic!("test pack {}: {e}", from.display()));
    for entry in entries {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
    }
    dir
}

/// Edit `pack.toml` as text; the edit must change something.
pub fn edit_manifest(dir: &Path, edit: impl FnOnce(String) -> String) {
    let path = dir.join("pack.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let edited = edit(text.clone());
    assert_ne!(text, edited, "the edit changed nothing");
    std::fs::write(path, edited).unwrap();
}

/// Recompute the checksum of `file` in `pack.toml` after changing the file.
pub fn refresh_checksum(dir: &Path, file: &str) {
    let digest = hex::encode(Sha256::digest(std::fs::read(dir.join(file)).unwrap()));
    edit_manifest(dir, |text| {
        text.lines()
            .map(|line| {
                if line.starts_with(&format!("\"{file}\" = ")) {
                    format!("\"{file}\" = \"{digest}\"")
                } else {
                    line.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    });
}

/// Write float32 tensors as a safetensors file (`(name, shape, values)`), for
/// necks and heads broken on purpose (NaN, zero, odd shapes).
pub fn write_tensors(path: &Path, tensors: &[(&str, Vec<usize>, Vec<f32>)]) {
    let mut header = Vec::new();
    let mut data = Vec::new();
    for (name, shape, values) in tensors {
        let start = data.len();
        data.extend(values.iter().flat_map(|v| v.to_le_bytes()));
        let shape: Vec<String> = shape.iter().map(usize::to_string).collect();
        header.push(format!(
            "\"{name}\":{{\"dtype\":\"F32\",\"shape\":[{}],\"data_offsets\":[{start},{}]}}",
            shape.join(","),
            data.len()
        ));
    }
    let mut header = format!("{{{}}}", header.join(",")).into_bytes();
    while header.len() % 8 != 0 {
        header.push(b' ');
    }
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend(header);
    bytes.extend(data);
    std::fs::write(path, bytes).unwrap();
}

/// Overwrite every value of the float32 initializer `name` of the ONNX file
/// `file` in the pack `dir` with `value` (the protobuf stays valid: only the
/// bytes of its `raw_data` change), and refresh its checksum.
pub fn set_onnx_initializer(dir: &Path, file: &str, name: &str, value: f32) {
    let path = dir.join(file);
    let mut bytes = std::fs::read(&path).unwrap();
    // TensorProto: name is field 8 (tag 0x42), raw_data field 9 (tag 0x4a).
    let mut needle = vec![0x42, name.len() as u8];
    needle.extend(name.as_bytes());
    needle.push(0x4a);
    let at = bytes
        .windows(needle.len())
        .position(|w| w == needle.as_slice())
        .unwrap_or_else(|| panic!("{file} has no raw initializer `{name}`"));
    let (mut len, mut shift, mut i) = (0usize, 0, at + needle.len());
    loop {
        let b = bytes[i];
        len |= ((b & 0x7f) as usize) << shift;
        shift += 7;
        i += 1;
        if b & 0x80 == 0 {
            break;
        }
    }
    assert_eq!(len % 4, 0, "`{name}` is not float32");
    for chunk in bytes[i..i + len].chunks_exact_mut(4) {
        chunk.copy_from_slice(&value.to_le_bytes());
    }
    std::fs::write(&path, bytes).unwrap();
    refresh_checksum(dir, file);
}
