//! Reading a pack's files without leaving the pack.
//!
//! A pack is a folder someone else made, so a name in `pack.toml` is checked
//! as text ([`super::Checker::resolve`]: relative, no `..`) and then as a
//! file: its real path (links followed) must still be inside the pack's real
//! folder, it must be a regular file (a FIFO would block the reader, a device
//! such as `/dev/zero` never ends), and it may be at most a size that depends
//! on what it is ([`FileKind`]). Only then is it read, and never more than
//! that size even if it grows meanwhile. A link to a file elsewhere is refused
//! before a byte of it is read, so no error ever shows a foreign file's hash.
//!
//! The caps are far above what real packs hold (the generic pack's files are
//! 14 MB and 2.6 MB) and low enough that a pack cannot make WhaleID read or
//! hold more memory than a laptop has.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// `pack.toml`.
pub const MAX_MANIFEST_BYTES: u64 = 1 << 20;
/// An ONNX model: 2 GiB is protobuf's own limit for one file. Hashed as a
/// stream, never held in memory by WhaleID.
pub const MAX_MODEL_BYTES: u64 = 2 << 30;
/// A neck or head (safetensors), read whole: 1 GiB holds a 16384 × 16384
/// float32 matrix.
pub const MAX_TENSOR_BYTES: u64 = 1 << 30;
/// A head's class list.
pub const MAX_TEXT_BYTES: u64 = 16 << 20;

/// What a pack file is read as, which sets its size cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Manifest,
    /// ONNX files, and any listed file that no field names.
    Model,
    Tensors,
    Text,
}

impl FileKind {
    pub fn cap(self) -> u64 {
        match self {
            FileKind::Manifest => MAX_MANIFEST_BYTES,
            FileKind::Model => MAX_MODEL_BYTES,
            FileKind::Tensors => MAX_TENSOR_BYTES,
            FileKind::Text => MAX_TEXT_BYTES,
        }
    }

    fn what(self) -> &'static str {
        match self {
            FileKind::Manifest => "a pack.toml",
            FileKind::Model => "a model file",
            FileKind::Tensors => "a tensor file",
            FileKind::Text => "a text file",
        }
    }

    fn too_large(self, len: u64) -> String {
        format!(
            "is {len} bytes, larger than the {} MiB {} may be",
            self.cap() >> 20,
            self.what()
        )
    }
}

/// The pack folder, by its real path.
pub(crate) struct Folder {
    real: PathBuf,
}

impl Folder {
    /// `root` with its links resolved; the reason when it is not a folder.
    pub fn open(root: &Path) -> Result<Self, String> {
        let real = root
            .canonicalize()
            .map_err(|e| format!("cannot read: {}", describe(&e)))?;
        if !real.is_dir() {
            return Err("cannot read: the pack is not a folder".into());
        }
        Ok(Self { real })
    }

    /// Open `rel` (already checked as text: relative, no `..`) as a file of
    /// this pack of the given kind. The error is the reason, for the caller
    /// to put beside the file's name.
    pub fn open_file(&self, rel: &Path, kind: FileKind) -> Result<PackFile, String> {
        let real = self
            .real
            .join(rel)
            .canonicalize()
            .map_err(|e| format!("cannot be read ({})", describe(&e)))?;
        if !real.starts_with(&self.real) || real == self.real {
            return Err(format!(
                "is a link that leads outside the pack folder (to {}); pack files must be inside it",
                real.display()
            ));
        }
        // Checked before opening: opening a FIFO blocks until a writer comes.
        let meta =
            std::fs::metadata(&real).map_err(|e| format!("cannot be read ({})", describe(&e)))?;
        regular(&meta)?;
        if meta.len() > kind.cap() {
            return Err(kind.too_large(meta.len()));
        }
        let file = File::open(&real).map_err(|e| format!("cannot be read ({})", describe(&e)))?;
        // The same checks on what was opened, in case it was swapped meanwhile.
        let meta = file
            .metadata()
            .map_err(|e| format!("cannot be read ({})", describe(&e)))?;
        regular(&meta)?;
        if meta.len() > kind.cap() {
            return Err(kind.too_large(meta.len()));
        }
        Ok(PackFile {
            path: real,
            file,
            kind,
        })
    }
}

/// An opened pack file: its real path, and reading bounded by its kind's cap.
pub(crate) struct PackFile {
    pub path: PathBuf,
    file: File,
    kind: FileKind,
}

impl PackFile {
    /// The whole file (at most the cap).
    pub fn read(self) -> Result<Vec<u8>, String> {
        let cap = self.kind.cap();
        let mut bytes = Vec::new();
        self.file
            .take(cap + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("cannot be read ({})", describe(&e)))?;
        if bytes.len() as u64 > cap {
            return Err(self.kind.too_large(bytes.len() as u64));
        }
        Ok(bytes)
    }

    /// Hex sha256 of the file, read as a stream (at most the cap).
    pub fn sha256(self) -> Result<String, String> {
        let cap = self.kind.cap();
        let mut reader = self.file.take(cap + 1);
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 1 << 20];
        let mut total = 0u64;
        loop {
            let n = reader
                .read(&mut buf)
                .map_err(|e| format!("cannot be read ({})", describe(&e)))?;
            if n == 0 {
                break;
            }
            total += n as u64;
            hasher.update(&buf[..n]);
        }
        if total > cap {
            return Err(self.kind.too_large(total));
        }
        Ok(hex::encode(hasher.finalize()))
    }
}

fn regular(meta: &std::fs::Metadata) -> Result<(), String> {
    if meta.is_file() {
        return Ok(());
    }
    let what = if meta.is_dir() {
        "a folder"
    } else {
        special_kind(meta)
    };
    Err(format!(
        "is not a regular file ({what}); pack files must be plain files"
    ))
}

#[cfg(unix)]
fn special_kind(meta: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_block_device() || t.is_char_device() {
        "a device"
    } else {
        "not a plain file"
    }
}

#[cfg(not(unix))]
fn special_kind(_: &std::fs::Metadata) -> &'static str {
    "not a plain file"
}

/// An I/O error in a few lowercase words ("entity not found").
fn describe(e: &std::io::Error) -> String {
    e.kind().to_string().to_lowercase()
}
