//! Model packs: a folder with `pack.toml` and the files it names.
//!
//! A pack is loaded and validated as one unit before any model runs: the
//! manifest parses, every path stays inside the folder, every file is listed
//! in `[checksums]` and matches its sha256, the neck and head tensors have the
//! shapes the manifest promises, and the ensemble names each backbone once.
//! Each failure names the file and the field. Checking the ONNX files against
//! the manifest (input size, feature dimension) needs ONNX Runtime and happens
//! when the models are opened ([`crate::detect::Detector`],
//! [`crate::embed::Embedder`]).

pub mod binding;
pub mod manifest;
mod neck;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

use sha2::{Digest, Sha256};

pub use manifest::{BackboneSpec, DetectorSpec, Manifest, ResizeFilter, ResizeMode, TrainingInfo};
pub use neck::{Head, Neck};

use crate::error::{Error, Result};

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
        let text = std::fs::read_to_string(root.join(MANIFEST_FILE))
            .map_err(|e| err(MANIFEST_FILE, format!("cannot read: {e}")))?;
        let manifest: Manifest =
            toml::from_str(&text).map_err(|e| err(MANIFEST_FILE, e.to_string()))?;
        let checker = Checker {
            root: &root,
            manifest: &manifest,
        };
        checker.structure()?;
        let hashed = checker.checksums()?;

        let mut by_name: BTreeMap<&str, &BackboneSpec> = BTreeMap::new();
        for spec in &manifest.backbones {
            by_name.insert(spec.name.as_str(), spec);
        }
        let mut backbones = Vec::new();
        for name in &manifest.ensemble.order {
            let spec = by_name[name.as_str()];
            backbones.push(checker.backbone(spec, &hashed)?);
        }
        let detector = match &manifest.detector {
            Some(d) => Some((d.clone(), checker.file(&d.file, "detector.file", &hashed)?)),
            None => None,
        };
        Ok(Self {
            root,
            manifest,
            backbones,
            detector,
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

struct Checker<'a> {
    root: &'a Path,
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

    /// Everything that can be checked without reading the model files.
    fn structure(&self) -> Result<()> {
        let m = self.manifest;
        let bad = |reason: String| self.err(MANIFEST_FILE, reason);
        if m.format != manifest::FORMAT_VERSION {
            return Err(bad(format!(
                "format = {} is not supported (this WhaleID reads format {})",
                m.format,
                manifest::FORMAT_VERSION
            )));
        }
        let name_ok = !m.pack.name.is_empty()
            && m.pack
                .name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
        if !name_ok {
            return Err(bad(format!(
                "pack.name `{}` must be lowercase letters, digits, - and _",
                m.pack.name
            )));
        }
        if m.backbones.is_empty() {
            return Err(bad("backbones: a pack needs at least one backbone".into()));
        }
        let mut names = BTreeSet::new();
        for (i, b) in m.backbones.iter().enumerate() {
            let at = format!("backbones[{i}] (`{}`)", b.name);
            if !names.insert(b.name.as_str()) {
                return Err(bad(format!("{at}: name is used twice")));
            }
            if b.input_size.contains(&0) {
                return Err(bad(format!("{at}.input_size must be positive")));
            }
            if let Some(j) = b.std.iter().position(|s| s.is_nan() || *s <= 0.0) {
                return Err(bad(format!("{at}.std[{j}] must be positive")));
            }
            if b.feature_dim == 0 || b.neck.embedding_dim == 0 {
                return Err(bad(format!(
                    "{at}: feature_dim and neck.embedding_dim must be positive"
                )));
            }
            if b.neck.bn_eps.is_nan() || b.neck.bn_eps < 0.0 {
                return Err(bad(format!("{at}.neck.bn_eps must not be negative")));
            }
        }
        let order: BTreeSet<&str> = m.ensemble.order.iter().map(String::as_str).collect();
        if order.len() != m.ensemble.order.len() || order != names {
            return Err(bad(format!(
                "ensemble.order {:?} must name every backbone exactly once (backbones: {:?})",
                m.ensemble.order, names
            )));
        }
        let t = m.matching.new_individual_threshold;
        if !(-1.0..=1.0).contains(&t) {
            return Err(bad(format!(
                "match.new_individual_threshold = {t} is not a cosine similarity in [-1, 1]"
            )));
        }
        let w = m.matching.head_weight;
        if !(0.0..=1.0).contains(&w) {
            return Err(bad(format!("match.head_weight = {w} must be in [0, 1]")));
        }
        if w > 0.0 && m.backbones.iter().all(|b| b.head.is_none()) {
            return Err(bad(format!(
                "match.head_weight = {w} blends ArcFace head scores, but no backbone has a [backbones.head]"
            )));
        }
        if let Some(d) = &m.detector {
            if d.stride == 0 || d.input_size == 0 || d.input_size % d.stride != 0 {
                return Err(bad(format!(
                    "detector.input_size {} must be a positive multiple of detector.stride {}",
                    d.input_size, d.stride
                )));
            }
            if d.classes.is_empty() {
                return Err(bad("detector.classes is empty".into()));
            }
            if let Some(c) = d.crop_classes.iter().find(|c| !d.classes.contains(c)) {
                return Err(bad(format!(
                    "detector.crop_classes names `{c}`, which is not in detector.classes"
                )));
            }
            for (field, v) in [("confidence", d.confidence), ("iou", d.iou)] {
                if !(v > 0.0 && v <= 1.0) {
                    return Err(bad(format!("detector.{field} = {v} must be in (0, 1]")));
                }
            }
            if !(0.0..=1.0).contains(&d.crop_margin) {
                return Err(bad(format!(
                    "detector.crop_margin = {} must be in [0, 1]",
                    d.crop_margin
                )));
            }
        }
        Ok(())
    }

    /// Hash every listed file; returns the set of files that matched.
    fn checksums(&self) -> Result<BTreeSet<String>> {
        let mut ok = BTreeSet::new();
        for (rel, want) in &self.manifest.checksums {
            let path = self.resolve(rel, "checksums")?;
            let bytes = std::fs::read(&path).map_err(|e| {
                self.err(
                    rel,
                    format!(
                        "listed in [checksums] but cannot be read ({})",
                        e.kind().to_string().to_lowercase()
                    ),
                )
            })?;
            let got = hex::encode(Sha256::digest(&bytes));
            if !got.eq_ignore_ascii_case(want.trim()) {
                return Err(self.err(
                    rel,
                    format!("sha256 mismatch: pack.toml says {want}, the file is {got}"),
                ));
            }
            ok.insert(rel.clone());
        }
        Ok(ok)
    }

    /// A path inside the pack folder, refusing escapes.
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
        Ok(self.root.join(p))
    }

    /// A file a field names: inside the pack and checksummed.
    fn file(&self, rel: &str, field: &str, hashed: &BTreeSet<String>) -> Result<PathBuf> {
        let path = self.resolve(rel, field)?;
        if !hashed.contains(rel) {
            if !path.exists() {
                return Err(self.err(rel, format!("named by {field} but the file is missing")));
            }
            return Err(self.err(
                rel,
                format!("named by {field} but has no sha256 in [checksums]"),
            ));
        }
        Ok(path)
    }

    fn backbone(&self, spec: &BackboneSpec, hashed: &BTreeSet<String>) -> Result<Backbone> {
        let field = |f: &str| format!("backbones.{}.{f}", spec.name);
        let onnx = self.file(&spec.file, &field("file"), hashed)?;
        let neck_path = self.file(&spec.neck.file, &field("neck.file"), hashed)?;
        let bytes = std::fs::read(&neck_path).map_err(|e| Error::io(&neck_path, e))?;
        let neck = Neck::from_safetensors(
            &bytes,
            spec.feature_dim,
            spec.neck.embedding_dim,
            spec.neck.bn_eps,
        )
        .map_err(|reason| self.err(&spec.neck.file, reason))?;
        let head = match &spec.head {
            None => None,
            Some(h) => {
                let head_path = self.file(&h.file, &field("head.file"), hashed)?;
                let classes_path = self.file(&h.classes, &field("head.classes"), hashed)?;
                let classes: Vec<String> = std::fs::read_to_string(&classes_path)
                    .map_err(|e| Error::io(&classes_path, e))?
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(String::from)
                    .collect();
                let bytes = std::fs::read(&head_path).map_err(|e| Error::io(&head_path, e))?;
                Some(
                    Head::from_safetensors(
                        &bytes,
                        classes,
                        spec.neck.embedding_dim,
                        h.subcenters,
                        h.s,
                        h.m,
                    )
                    .map_err(|reason| self.err(&h.file, reason))?,
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
