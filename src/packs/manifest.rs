//! `pack.toml`, as written by the export tools (see `models/PACK-FORMAT.md`).
//!
//! These types only describe; [`super::Pack::load`] validates them against
//! the files on disk.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: u32,
    pub pack: PackInfo,
    #[serde(default)]
    pub detector: Option<DetectorSpec>,
    pub backbones: Vec<BackboneSpec>,
    pub ensemble: EnsembleSpec,
    #[serde(rename = "match")]
    pub matching: MatchSpec,
    /// Where a fine-tuned version came from (absent in shipped packs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub training: Option<TrainingInfo>,
    /// Relative path → sha256 (hex) of every file the pack uses.
    pub checksums: BTreeMap<String, String>,
}

/// Provenance of a version fine-tuned on a catalogue (`whaleid train`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TrainingInfo {
    /// The version whose backbones and necks it started from.
    pub parent_version: String,
    /// UTC, ISO 8601.
    pub trained_at: String,
    pub seed: u64,
    pub epochs: usize,
    pub detections: usize,
    pub individuals: usize,
    /// Validation MAP@5 with new individuals, of the parent and of this version.
    pub map5_before: f64,
    pub map5_after: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackInfo {
    pub name: String,
    pub version: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub licence: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetectorSpec {
    pub file: String,
    pub input_size: u32,
    pub stride: u32,
    #[serde(default)]
    pub dynamic_shape: bool,
    pub classes: Vec<String>,
    pub crop_classes: Vec<String>,
    pub confidence: f32,
    pub iou: f32,
    #[serde(default = "default_max_detections")]
    pub max_detections: usize,
    #[serde(default)]
    pub crop_margin: f32,
}

fn default_max_detections() -> usize {
    20
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResizeMode {
    /// Plain resize to the input size, ignoring aspect ratio (the Kaggle pipeline).
    Stretch,
    /// Keep aspect ratio and pad with the mean colour.
    Letterbox,
}

/// How the crop is resampled to the backbone's input (both [`ResizeMode`]s).
///
/// A backbone sees best the pixels it was trained on: Kaggle Happywhale
/// checkpoints were trained on crops resized with OpenCV's `INTER_LINEAR`,
/// which does not antialias when it shrinks, so their packs say
/// `opencv-linear`; everything else keeps the default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ResizeFilter {
    /// Antialiased bilinear (a triangle filter widened when shrinking).
    #[default]
    Antialiased,
    /// OpenCV `cv2.resize(..., interpolation=cv2.INTER_LINEAR)` on the crop
    /// `img[int(y1):int(y2), int(x1):int(x2)]`, bit for bit
    /// ([`crate::imageops::resize_opencv_linear`]).
    OpencvLinear,
}

impl ResizeFilter {
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackboneSpec {
    pub name: String,
    pub file: String,
    /// `[height, width]`.
    pub input_size: [u32; 2],
    pub resize: ResizeMode,
    /// Absent in packs written before it existed: those are antialiased.
    #[serde(default, skip_serializing_if = "ResizeFilter::is_default")]
    pub resize_filter: ResizeFilter,
    pub mean: [f32; 3],
    pub std: [f32; 3],
    pub feature_dim: usize,
    pub neck: NeckSpec,
    #[serde(default)]
    pub head: Option<HeadSpec>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NeckSpec {
    pub file: String,
    #[serde(default = "default_embedding_dim")]
    pub embedding_dim: usize,
    #[serde(default = "default_bn_eps")]
    pub bn_eps: f64,
}

fn default_embedding_dim() -> usize {
    512
}

fn default_bn_eps() -> f64 {
    1e-5
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeadSpec {
    pub file: String,
    /// One individual id per line, in class-index order.
    pub classes: String,
    #[serde(default = "default_s")]
    pub s: f32,
    #[serde(default = "default_m")]
    pub m: f32,
    /// Sub-centres per class (sub-center ArcFace); `arcface.weight` then has
    /// `classes × subcenters` rows, the sub-centres of a class adjacent.
    #[serde(default = "default_subcenters")]
    pub subcenters: usize,
}

fn default_subcenters() -> usize {
    1
}

fn default_s() -> f32 {
    30.0
}

fn default_m() -> f32 {
    0.5
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnsembleSpec {
    pub order: Vec<String>,
    #[serde(default)]
    pub flip_tta: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatchSpec {
    pub new_individual_threshold: f32,
    /// Weight of the ArcFace class-centre score blended into each
    /// individual's kNN score (0: pure kNN; needs heads when above 0).
    #[serde(default)]
    pub head_weight: f32,
}
