//! Model packs: a folder with `pack.toml` and the files it names.
//!
//! A pack is loaded and validated as one unit before any model runs: the
//! manifest parses, every name that becomes a path is a plain name and every
//! size is within its bound ([`validate`]), every file it names is listed in
//! `[checksums]`, really inside the folder, a regular file within its size
//! cap ([`files`]) and matches its sha256, the neck and head tensors have the
//! shapes the manifest promises and hold finite numbers, a probe through each
//! neck gives a usable embedding, and the ensemble names each backbone once.
//! Each failure names the pack, the file and the field. Checking the ONNX
//! files against the manifest (input size, feature dimension, a probe image
//! giving a finite embedding) needs ONNX Runtime and happens when the models
//! are opened ([`crate::detect::Detector`], [`crate::embed::Embedder`]).

pub mod binding;
pub mod files;
pub mod manifest;
mod neck;
pub mod validate;

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use sha2::{Digest, Sha256};

pub use files::{FileKind, MAX_MANIFEST_BYTES, MAX_MODEL_BYTES, MAX_TENSOR_BYTES, MAX_TEXT_BYTES};
pub use manifest::{BackboneSpec, DetectorSpec, Manifest, ResizeFilter, ResizeMode, TrainingInfo};
pub use neck::{Head, Neck};
pub use validate::{check_name, check_pack_name, check_version};

use crate::error::{Error, Result};
use files::{Folder, PackFile};

pub const MANIFEST_FILE: &str = "pack.toml";

/// A backbone with its neck (and head) loaded.
#[derive(Debug, Clone)]
pub struct Backbone {
    pub spec: BackboneSpec,
    pub onnx: PathBuf,
    /// What the backbone's features depend on: the ONNX file's sha256, the
    /// preprocessing and flip TTA. Cached features are keyed by it, so
    /// versions that share a backbone (fine-tuned necks) share the cache.
    pub feature_key: String,
    pub neck: Neck,
    pub head: Option<Head>,
}

/// A validated pack.
#[derive(Debug, Clone)]
pub struct Pack {
    pub root: PathBuf,
    pub manifest: Manifest,
    /// In `ensemble.order`.
    pub backbones: Vec<Backbone>,
    pub detector: Option<(DetectorSpec, PathBuf)>,
    /// Each file of `[checksums]` and where it really is (links resolved,
    /// inside the pack): what was hashed is what gets opened or copied.
    pub files: BTreeMap<String, PathBuf>,
}

impl Pack {
    /// Read and validate the pack in `root`.
    pub fn load(root: impl AsRef<Path>) -> Result<Self> {
        let root = root.as_ref().to_path_buf();
        let err = |file: &str, reason: String| Error::Pack {
            pack: root.clone(),
            file: file.to_string(),
            reason,
        };
        let folder = Folder::open(&root).map_err(|reason| err(MANIFEST_FILE, reason))?;
        let text = folder
            .open_file(Path::new(MANIFEST_FILE), FileKind::Manifest)
            .and_then(PackFile::read)
            .and_then(|bytes| String::from_utf8(bytes).map_err(|_| "is not UTF-8 text".into()))
            .map_err(|reason| err(MANIFEST_FILE, format!("cannot read: {reason}")))?;
        let manifest: Manifest =
            toml::from_str(&text).map_err(|e| err(MANIFEST_FILE, e.to_string()))?;
        let checker = Checker {
            root: &root,
            folder,
            manifest: &manifest,
        };
        validate::structure(&manifest).map_err(|reason| err(MANIFEST_FILE, reason))?;
        let checked = checker.checksums()?;

        let mut by_name: BTreeMap<&str, &BackboneSpec> = BTreeMap::new();
        for spec in &manifest.backbones {
            by_name.insert(spec.name.as_str(), spec);
        }
        let mut backbones = Vec::new();
        for name in &manifest.ensemble.order {
            let spec = by_name[name.as_str()];
            backbones.push(checker.backbone(spec, &checked)?);
        }
        let detector = match &manifest.detector {
            Some(d) => Some((d.clone(), checker.file(&d.file, "detector.file", &checked)?)),
            None => None,
        };
        Ok(Self {
            root,
            manifest,
            backbones,
            detector,
            files: checked.paths,
        })
    }

    pub fn name(&self) -> &str {
        &self.manifest.pack.name
    }

    pub fn version(&self) -> &str {
        &self.manifest.pack.version
    }

    /// Length of the ensemble embedding.
    pub fn embedding_dim(&self) -> usize {
        self.backbones.iter().map(|b| b.neck.embedding_dim()).sum()
    }

    /// How this pack's photos are decoded: libjpeg-turbo (cv2.imread's
    /// pixels) when any backbone resizes with `opencv-linear`, since those
    /// reproduce an OpenCV pipeline; zune-jpeg, as before, otherwise.
    pub fn jpeg_decoder(&self) -> crate::photo::JpegDecoder {
        let opencv = self
            .backbones
            .iter()
            .any(|b| b.spec.resize_filter == ResizeFilter::OpencvLinear);
        if opencv {
            crate::photo::JpegDecoder::LibjpegTurbo
        } else {
            crate::photo::JpegDecoder::Zune
        }
    }
}

/// sha256 over what a backbone's output depends on (see [`Backbone::feature_key`]).
fn feature_key(onnx_sha256: &str, spec: &BackboneSpec, flip_tta: bool) -> String {
    let mut described = format!(
        "onnx={};input={:?};resize={:?};mean={:?};std={:?};flip={flip_tta}",
        onnx_sha256.trim().to_ascii_lowercase(),
        spec.input_size,
        spec.resize,
        spec.mean,
        spec.std,
    );
    // Only when not the default, so that the features cached before the
    // filter existed keep their keys.
    if !spec.resize_filter.is_default() {
        described.push_str(&format!(";filter={:?}", spec.resize_filter));
    }
    hex::encode(Sha256::digest(described.as_bytes()))
}

/// The files of `[checksums]`, checked: where each really is, and the
/// bytes of those parsed here (necks, heads, class lists), read once so that
/// what is parsed is what was hashed.
struct Checked {
    paths: BTreeMap<String, PathBuf>,
    contents: BTreeMap<String, Vec<u8>>,
}

struct Checker<'a> {
    root: &'a Path,
    folder: Folder,
    manifest: &'a Manifest,
}

impl Checker<'_> {
    fn err(&self, file: &str, reason: impl Into<String>) -> Error {
        Error::Pack {
            pack: self.root.to_path_buf(),
            file: file.to_string(),
            reason: reason.into(),
        }
    }

    /// What each file is read as, from the fields that name it (a file no
    /// field names is capped as a model file).
    fn kinds(&self) -> BTreeMap<&str, FileKind> {
        let mut kinds = BTreeMap::new();
        let m = self.manifest;
        for b in &m.backbones {
            kinds.insert(b.file.as_str(), FileKind::Model);
            kinds.insert(b.neck.file.as_str(), FileKind::Tensors);
            if let Some(h) = &b.head {
                kinds.insert(h.file.as_str(), FileKind::Tensors);
                kinds.insert(h.classes.as_str(), FileKind::Text);
            }
        }
        if let Some(d) = &m.detector {
            kinds.insert(d.file.as_str(), FileKind::Model);
        }
        kinds
    }

    /// Open, bound and hash every listed file; keep the bytes of those
    /// parsed here. Nothing outside the pack is read, so no error shows a
    /// foreign file's hash.
    fn checksums(&self) -> Result<Checked> {
        let kinds = self.kinds();
        let mut checked = Checked {
            paths: BTreeMap::new(),
            contents: BTreeMap::new(),
        };
        for (rel, want) in &self.manifest.checksums {
            let kind = kinds.get(rel.as_str()).copied().unwrap_or(FileKind::Model);
            let file = self
                .folder
                .open_file(&self.resolve(rel, "checksums")?, kind)
                .map_err(|reason| self.err(rel, format!("listed in [checksums] but {reason}")))?;
            let path = file.path.clone();
            let got = match kind {
                FileKind::Model | FileKind::Manifest => {
                    file.sha256().map_err(|reason| self.err(rel, reason))?
                }
                FileKind::Tensors | FileKind::Text => {
                    let bytes = file.read().map_err(|reason| self.err(rel, reason))?;
                    let got = hex::encode(Sha256::digest(&bytes));
                    checked.contents.insert(rel.clone(), bytes);
                    got
                }
            };
            if !got.eq_ignore_ascii_case(want.trim()) {
                return Err(self.err(
                    rel,
                    format!("sha256 mismatch: pack.toml says {want}, the file is {got}"),
                ));
            }
            checked.paths.insert(rel.clone(), path);
        }
        Ok(checked)
    }

    /// A path inside the pack folder, as text: relative, no `..`. (Where it
    /// really leads is checked when it is opened: [`Folder::open_file`].)
    fn resolve(&self, rel: &str, field: &str) -> Result<PathBuf> {
        let p = Path::new(rel);
        let inside = !rel.is_empty()
            && p.components()
                .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
        if !inside {
            return Err(self.err(
                MANIFEST_FILE,
                format!("{field}: `{rel}` must be a relative path inside the pack folder"),
            ));
        }
        Ok(p.to_path_buf())
    }

    /// A file a field names: inside the pack and checksummed; its real path.
    fn file(&self, rel: &str, field: &str, checked: &Checked) -> Result<PathBuf> {
        let path = self.resolve(rel, field)?;
        match checked.paths.get(rel) {
            Some(real) => Ok(real.clone()),
            None if !self.root.join(&path).exists() => {
                Err(self.err(rel, format!("named by {field} but the file is missing")))
            }
            None => Err(self.err(
                rel,
                format!("named by {field} but has no sha256 in [checksums]"),
            )),
        }
    }

    /// The bytes of a checksummed file parsed here.
    fn contents<'c>(&self, rel: &str, field: &str, checked: &'c Checked) -> Result<&'c [u8]> {
        self.file(rel, field, checked)?;
        checked.contents.get(rel).map(Vec::as_slice).ok_or_else(|| {
            self.err(
                rel,
                format!("named by {field}, but read as another kind of file"),
            )
        })
    }

    fn backbone(&self, spec: &BackboneSpec, checked: &Checked) -> Result<Backbone> {
        let field = |f: &str| format!("backbones.{}.{f}", spec.name);
        let onnx = self.file(&spec.file, &field("file"), checked)?;
        let bytes = self.contents(&spec.neck.file, &field("neck.file"), checked)?;
        let neck = Neck::from_safetensors(
            bytes,
            spec.feature_dim,
            spec.neck.embedding_dim,
            spec.neck.bn_eps,
        )
        .map_err(|reason| self.err(&spec.neck.file, reason))?;
        let head = match &spec.head {
            None => None,
            Some(h) => {
                let text = self.contents(&h.classes, &field("head.classes"), checked)?;
                let text = std::str::from_utf8(text)
                    .map_err(|_| self.err(&h.classes, "is not UTF-8 text"))?;
                let classes: Vec<String> = text
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(String::from)
                    .collect();
                let bytes = self.contents(&h.file, &field("head.file"), checked)?;
                let count = classes.len();
                Some(
                    Head::from_safetensors(
                        bytes,
                        classes,
                        spec.neck.embedding_dim,
                        h.subcenters,
                        h.s,
                        h.m,
                    )
                    .map_err(|reason| {
                        self.err(
                            &h.file,
                            format!("{reason} ({count} classes in {})", h.classes),
                        )
                    })?,
                )
            }
        };
        let feature_key = feature_key(
            &self.manifest.checksums[&spec.file],
            spec,
            self.manifest.ensemble.flip_tta,
        );
        Ok(Backbone {
            spec: spec.clone(),
            onnx,
            feature_key,
            neck,
            head,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A copy of the committed `tiny-nodetector` pack with `edit` applied to
    /// its pack.toml (the manifest is not checksummed, the files it names are).
    fn tiny_with(edit: impl Fn(&str) -> String) -> tempfile::TempDir {
        let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/packs/tiny-nodetector");
        let dir = tempfile::tempdir().unwrap();
        for entry in std::fs::read_dir(&from).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
        }
        let toml = dir.path().join(MANIFEST_FILE);
        let text = std::fs::read_to_string(&toml).unwrap();
        std::fs::write(&toml, edit(&text)).unwrap();
        dir
    }

    fn with_filter(value: &str) -> impl Fn(&str) -> String + '_ {
        move |text: &str| {
            assert!(text.contains("resize = \"stretch\"\n"));
            text.replace(
                "resize = \"stretch\"\n",
                &format!("resize = \"stretch\"\nresize_filter = {value}\n"),
            )
        }
    }

    #[test]
    fn resize_filter_absent_is_antialiased_and_keeps_the_feature_key() {
        let dir = tiny_with(|t| t.to_string());
        assert!(!std::fs::read_to_string(dir.path().join(MANIFEST_FILE))
            .unwrap()
            .contains("resize_filter"));
        let pack = Pack::load(dir.path()).unwrap();
        let b = &pack.backbones[0];
        assert_eq!(b.spec.resize_filter, ResizeFilter::Antialiased);
        assert_eq!(pack.jpeg_decoder(), crate::photo::JpegDecoder::Zune);
        // The key features were cached under before the filter existed.
        let old = format!(
            "onnx={};input={:?};resize={:?};mean={:?};std={:?};flip=false",
            pack.manifest.checksums[&b.spec.file],
            b.spec.input_size,
            b.spec.resize,
            b.spec.mean,
            b.spec.std
        );
        assert_eq!(b.feature_key, hex::encode(Sha256::digest(old.as_bytes())));
        // Written back (as `whaleid train` does), the default stays absent.
        assert!(!toml::to_string(&pack.manifest)
            .unwrap()
            .contains("resize_filter"));
    }

    #[test]
    fn resize_filter_opencv_linear_is_read_and_changes_the_feature_key() {
        let plain = Pack::load(tiny_with(|t| t.to_string()).path()).unwrap();
        let dir = tiny_with(with_filter("\"opencv-linear\""));
        let pack = Pack::load(dir.path()).unwrap();
        let b = &pack.backbones[0];
        assert_eq!(b.spec.resize_filter, ResizeFilter::OpencvLinear);
        assert_ne!(b.feature_key, plain.backbones[0].feature_key);
        // Its photos decode as cv2.imread does.
        assert_eq!(pack.jpeg_decoder(), crate::photo::JpegDecoder::LibjpegTurbo);
        assert!(toml::to_string(&pack.manifest)
            .unwrap()
            .contains("resize_filter = \"opencv-linear\""));
        let explicit = Pack::load(tiny_with(with_filter("\"antialiased\"")).path()).unwrap();
        assert_eq!(
            explicit.backbones[0].feature_key,
            plain.backbones[0].feature_key
        );
    }

    #[test]
    fn resize_filter_unknown_is_refused_naming_the_file() {
        let dir = tiny_with(with_filter("\"lanczos\""));
        let err = Pack::load(dir.path()).unwrap_err();
        match &err {
            Error::Pack { file, reason, .. } => {
                assert_eq!(file, MANIFEST_FILE);
                assert!(
                    reason.contains("lanczos")
                        && reason.contains("antialiased")
                        && reason.contains("opencv-linear"),
                    "{reason}"
                );
            }
            other => panic!("not a pack error: {other:?}"),
        }
        let shown = err.to_string();
        assert!(shown.contains("pack.toml"), "{shown}");
        assert!(shown.contains(&dir.path().display().to_string()), "{shown}");
    }
}
