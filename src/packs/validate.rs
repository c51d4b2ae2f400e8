//! What `pack.toml` may say, checked before any file of the pack is read.
//!
//! Every name that becomes part of a path is checked here: `pack.name` and
//! `pack.version` name a trained version's folder (`packs/<name>-<version>`)
//! and its index, and a backbone's name names its trained neck and head
//! files ([`check_name`], [`check_version`]). Every size is bounded (the
//! `MAX_*` constants): a size is an allocation, and a detector input of
//! 65536 is a 34 GB tensor, 2^31 a panic in ndarray. The bounds are far
//! above what real models use (YOLOv5 runs at 640 to 1280, Happywhale
//! backbones at 384 to 1024, EfficientNet-B7 has 2560 features).

use std::collections::BTreeSet;

use super::manifest::{self, DetectorSpec, Manifest};

/// Longest pack name, version or backbone name.
pub const MAX_NAME_LEN: usize = 64;
/// The detector's square input, in pixels.
pub const MAX_DETECTOR_INPUT: u32 = 2048;
/// The detector's stride, in pixels.
pub const MAX_STRIDE: u32 = 128;
pub const MAX_DETECTOR_CLASSES: usize = 1024;
pub const MAX_DETECTIONS: usize = 1000;
/// Each side of a backbone's input, in pixels.
pub const MAX_BACKBONE_INPUT: u32 = 2048;
pub const MAX_BACKBONES: usize = 16;
/// A backbone's pooled features.
pub const MAX_FEATURE_DIM: usize = 16384;
/// One backbone's embedding (the neck's output).
pub const MAX_EMBEDDING_DIM: usize = 4096;
/// The ensemble's embedding, all backbones together.
pub const MAX_ENSEMBLE_DIM: usize = 16384;
pub const MAX_SUBCENTERS: usize = 16;
/// ArcFace scale; real heads use 30 to 64.
pub const MAX_ARCFACE_S: f32 = 256.0;
/// ArcFace margin in radians; real heads use 0.2 to 0.8.
pub const MAX_ARCFACE_M: f32 = 1.5;
/// Files listed in `[checksums]`.
pub const MAX_FILES: usize = 256;

/// A pack name: lowercase ASCII letters, digits, `-` and `_`.
pub fn check_pack_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "pack.name `{name}` must be 1 to {MAX_NAME_LEN} lowercase letters, digits, - and _"
        ))
    }
}

/// A version, as it becomes part of a folder name: 1 to 64 ASCII letters,
/// digits, `.`, `_`, `+` and `-`, starting with a letter or digit (so never
/// `..`, a hidden name, a separator or a space).
pub fn check_version(version: &str) -> Result<(), String> {
    let ok = version.len() <= MAX_NAME_LEN
        && version
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        && version
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '+' | '-'))
        && !version.contains("..");
    if ok {
        Ok(())
    } else {
        Err(format!(
            "pack.version `{version}` must be 1 to {MAX_NAME_LEN} letters, digits, '.', '_', '+' and '-', starting with a letter or digit"
        ))
    }
}

/// A name that becomes a file name (`<name>.neck.safetensors`): 1 to 64
/// ASCII letters, digits, `-` and `_`.
pub fn check_name(field: &str, name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{field} `{name}` must be 1 to {MAX_NAME_LEN} letters, digits, - and _"
        ))
    }
}

/// `value` in `lo..=hi`, else a reason naming `field` and the range.
fn within<T: PartialOrd + std::fmt::Display>(
    field: &str,
    value: T,
    lo: T,
    hi: T,
) -> Result<(), String> {
    if value < lo {
        Err(format!("{field} = {value} must be at least {lo}"))
    } else if value > hi {
        Err(format!("{field} = {value} must be at most {hi}"))
    } else {
        Ok(())
    }
}

/// A float that must be a finite number in `lo..=hi`.
fn finite_within(field: &str, value: f64, lo: f64, hi: f64) -> Result<(), String> {
    if !value.is_finite() {
        return Err(format!(
            "{field} = {value} must be a finite number (at least {lo}, at most {hi})"
        ));
    }
    within(field, value, lo, hi)
}

/// Everything the manifest says that can be checked without reading a file.
/// The reason names the field.
pub(crate) fn structure(m: &Manifest) -> Result<(), String> {
    if m.format != manifest::FORMAT_VERSION {
        return Err(format!(
            "format = {} is not supported (this WhaleID reads format {})",
            m.format,
            manifest::FORMAT_VERSION
        ));
    }
    check_pack_name(&m.pack.name)?;
    check_version(&m.pack.version)?;
    if m.backbones.is_empty() {
        return Err("backbones: a pack needs at least one backbone".into());
    }
    within(
        "the number of backbones",
        m.backbones.len(),
        1,
        MAX_BACKBONES,
    )?;
    within(
        "the number of files in [checksums]",
        m.checksums.len(),
        0,
        MAX_FILES,
    )?;
    let mut names = BTreeSet::new();
    let mut ensemble_dim = 0;
    for (i, b) in m.backbones.iter().enumerate() {
        check_name(&format!("backbones[{i}].name"), &b.name)?;
        let at = format!("backbones[{i}] (`{}`)", b.name);
        if !names.insert(b.name.as_str()) {
            return Err(format!("{at}: name is used twice"));
        }
        for (side, v) in ["height", "width"].iter().zip(b.input_size) {
            within(&format!("{at}.input_size {side}"), v, 1, MAX_BACKBONE_INPUT)?;
        }
        for (j, (mean, std)) in b.mean.iter().zip(&b.std).enumerate() {
            finite_within(&format!("{at}.mean[{j}]"), *mean as f64, -1e3, 1e3)?;
            if !(std.is_finite() && *std > 0.0) {
                return Err(format!(
                    "{at}.std[{j}] = {std} must be positive and finite (at least 1e-6, at most 1000)"
                ));
            }
            finite_within(&format!("{at}.std[{j}]"), *std as f64, 1e-6, 1e3)?;
        }
        within(
            &format!("{at}.feature_dim"),
            b.feature_dim,
            1,
            MAX_FEATURE_DIM,
        )?;
        within(
            &format!("{at}.neck.embedding_dim"),
            b.neck.embedding_dim,
            1,
            MAX_EMBEDDING_DIM,
        )?;
        ensemble_dim += b.neck.embedding_dim;
        if b.neck.bn_eps.is_nan() || b.neck.bn_eps < 0.0 {
            return Err(format!("{at}.neck.bn_eps must not be negative"));
        }
        finite_within(&format!("{at}.neck.bn_eps"), b.neck.bn_eps, 0.0, 1.0)?;
        if let Some(h) = &b.head {
            within(
                &format!("{at}.head.subcenters"),
                h.subcenters,
                1,
                MAX_SUBCENTERS,
            )?;
            finite_within(
                &format!("{at}.head.s"),
                h.s as f64,
                f64::MIN_POSITIVE,
                MAX_ARCFACE_S as f64,
            )?;
            finite_within(
                &format!("{at}.head.m"),
                h.m as f64,
                0.0,
                MAX_ARCFACE_M as f64,
            )?;
        }
    }
    within(
        "the ensemble's embedding (the sum of neck.embedding_dim)",
        ensemble_dim,
        1,
        MAX_ENSEMBLE_DIM,
    )?;
    let order: BTreeSet<&str> = m.ensemble.order.iter().map(String::as_str).collect();
    if order.len() != m.ensemble.order.len() || order != names {
        return Err(format!(
            "ensemble.order {:?} must name every backbone exactly once (backbones: {:?})",
            m.ensemble.order, names
        ));
    }
    let t = m.matching.new_individual_threshold;
    if !(-1.0..=1.0).contains(&t) {
        return Err(format!(
            "match.new_individual_threshold = {t} is not a cosine similarity in [-1, 1]"
        ));
    }
    let w = m.matching.head_weight;
    if !(0.0..=1.0).contains(&w) {
        return Err(format!("match.head_weight = {w} must be in [0, 1]"));
    }
    if w > 0.0 && m.backbones.iter().all(|b| b.head.is_none()) {
        return Err(format!(
            "match.head_weight = {w} blends ArcFace head scores, but no backbone has a [backbones.head]"
        ));
    }
    if let Some(d) = &m.detector {
        check_detector(d)?;
    }
    Ok(())
}

/// The `[detector]` section: sizes within bounds, classes consistent,
/// thresholds in range. Also what [`crate::detect::Detector::open`] checks
/// of a spec built in code.
pub fn check_detector(d: &DetectorSpec) -> Result<(), String> {
    within("detector.stride", d.stride, 1, MAX_STRIDE)?;
    within("detector.input_size", d.input_size, 1, MAX_DETECTOR_INPUT)?;
    if !d.input_size.is_multiple_of(d.stride) {
        return Err(format!(
            "detector.input_size {} must be a positive multiple of detector.stride {}",
            d.input_size, d.stride
        ));
    }
    if d.classes.is_empty() {
        return Err("detector.classes is empty".into());
    }
    within(
        "the number of detector.classes",
        d.classes.len(),
        1,
        MAX_DETECTOR_CLASSES,
    )?;
    if let Some(c) = d.crop_classes.iter().find(|c| !d.classes.contains(c)) {
        return Err(format!(
            "detector.crop_classes names `{c}`, which is not in detector.classes"
        ));
    }
    within(
        "detector.max_detections",
        d.max_detections,
        1,
        MAX_DETECTIONS,
    )?;
    for (field, v) in [("confidence", d.confidence), ("iou", d.iou)] {
        if !(v > 0.0 && v <= 1.0) {
            return Err(format!("detector.{field} = {v} must be in (0, 1]"));
        }
    }
    if !(0.0..=1.0).contains(&d.crop_margin) {
        return Err(format!(
            "detector.crop_margin = {} must be in [0, 1]",
            d.crop_margin
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_single_plain_names() {
        for ok in ["1.0.0", "0.1.0+ft.3", "2.0.0-rc.1", "v3_b", "7"] {
            check_version(ok).unwrap();
        }
        for bad in [
            "",
            ".",
            "..",
            ".hidden",
            "1.0.0/../x",
            "1.0..2",
            "a\\b",
            "1 0",
            "1.0\n",
            "é",
            &"1".repeat(MAX_NAME_LEN + 1),
        ] {
            let err = check_version(bad).unwrap_err();
            assert!(err.contains("pack.version"), "{bad:?}: {err}");
        }
    }

    #[test]
    fn names_are_single_plain_names() {
        check_name("backbones[0].name", "effnet_lite0").unwrap();
        check_name("backbones[0].name", "B7-1024").unwrap();
        for bad in ["", "a/b", "..", "a.b", "a b", &"x".repeat(MAX_NAME_LEN + 1)] {
            assert!(check_name("backbones[0].name", bad).is_err(), "{bad:?}");
        }
        check_pack_name("generic").unwrap();
        assert!(check_pack_name("Generic").is_err());
    }

    #[test]
    fn bounds_say_the_field_and_the_limit() {
        assert_eq!(
            within("detector.input_size", 65536u32, 1, MAX_DETECTOR_INPUT).unwrap_err(),
            "detector.input_size = 65536 must be at most 2048"
        );
        assert!(finite_within("x", f64::NAN, 0.0, 1.0)
            .unwrap_err()
            .contains("finite"));
        assert!(within("x", 0usize, 1, 2)
            .unwrap_err()
            .contains("at least 1"));
    }
}
