//! The embedding neck and the ArcFace head, in Rust.
//!
//! The Kaggle `HappyWhaleModel` maps GeM-pooled backbone features to a 512-d
//! embedding with `BatchNorm1d` (eval mode: running statistics) then `Linear`.
//! Both are affine, so at load time the BatchNorm is folded into the Linear
//! weights (in f64, then rounded once): one matrix product per batch.
//!
//! Every tensor must hold finite numbers, and so must the folded weights; a
//! probe through the neck must give a finite embedding of non-zero length
//! that depends on its input. A NaN neck would store NaN embeddings, a zero
//! one would score every pair 0.000, a constant one every pair 1.000.

use ndarray::{Array1, Array2, ArrayView2, Axis};
use safetensors::{Dtype, SafeTensors};

/// Reads float32 tensors out of a safetensors file, checking their shapes.
pub(crate) struct TensorFile<'a> {
    tensors: SafeTensors<'a>,
}

impl<'a> TensorFile<'a> {
    pub fn parse(bytes: &'a [u8]) -> Result<Self, String> {
        SafeTensors::deserialize(bytes)
            .map(|tensors| Self { tensors })
            .map_err(|e| format!("not a safetensors file: {e}"))
    }

    /// The tensor `name` as f32, with its shape checked against `shape`.
    pub fn f32(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>, String> {
        let view = self
            .tensors
            .tensor(name)
            .map_err(|_| format!("tensor `{name}` is missing"))?;
        if view.dtype() != Dtype::F32 {
            return Err(format!(
                "tensor `{name}` is {:?}, expected F32",
                view.dtype()
            ));
        }
        if view.shape() != shape {
            return Err(format!(
                "tensor `{name}` has shape {:?}, expected {:?}",
                view.shape(),
                shape
            ));
        }
        let values: Vec<f32> = view
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return Err(format!(
                "tensor `{name}` is not finite: element {i} is {}",
                values[i]
            ));
        }
        Ok(values)
    }
}

/// `BatchNorm1d(F)` followed by `Linear(F, D)`, folded into one affine map.
#[derive(Debug, Clone)]
pub struct Neck {
    /// `[D, F]`, BatchNorm scale folded in.
    weight: Array2<f32>,
    /// `[D]`, BatchNorm shift folded in.
    bias: Array1<f32>,
}

impl Neck {
    /// Load from safetensors bytes with the names of `models/PACK-FORMAT.md`.
    pub fn from_safetensors(
        bytes: &[u8],
        feature_dim: usize,
        embedding_dim: usize,
        eps: f64,
    ) -> Result<Self, String> {
        let file = TensorFile::parse(bytes)?;
        let f = [feature_dim];
        let gamma = file.f32("bn.weight", &f)?;
        let beta = file.f32("bn.bias", &f)?;
        let mean = file.f32("bn.running_mean", &f)?;
        let var = file.f32("bn.running_var", &f)?;
        let w = file.f32("linear.weight", &[embedding_dim, feature_dim])?;
        let b = file.f32("linear.bias", &[embedding_dim])?;
        if let Some(i) = var
            .iter()
            .position(|v| (*v as f64 + eps).is_nan() || *v as f64 + eps <= 0.0)
        {
            return Err(format!(
                "bn.running_var[{i}] = {} makes the BatchNorm divide by zero",
                var[i]
            ));
        }
        let neck = Self::fold(&gamma, &beta, &mean, &var, eps, &w, &b);
        neck.check()?;
        Ok(neck)
    }

    /// The folded weights are finite, and a probe gives a finite embedding
    /// of non-zero length that depends on the input.
    fn check(&self) -> Result<(), String> {
        if self.weight.iter().chain(&self.bias).any(|v| !v.is_finite()) {
            return Err(
                "the BatchNorm folded into linear.weight is not finite (bn.weight / sqrt(bn.running_var + bn_eps) overflows float32)"
                    .into(),
            );
        }
        let f = self.feature_dim();
        // GeM features are positive; vary them so that no sane neck maps the
        // probe to zero by accident.
        let probe = Array2::from_shape_fn((1, f), |(_, i)| 1.0 + (i * 7 % 13) as f32 / 13.0);
        let out = self.forward(probe.view());
        if let Some(v) = out.iter().find(|v| !v.is_finite()) {
            return Err(format!(
                "the embedding of a probe input is not finite ({v}): the neck's weights overflow"
            ));
        }
        if out.iter().all(|v| *v == 0.0) {
            return Err(
                "the embedding of a probe input is zero: linear.weight and linear.bias are zero, so every pair would score 0.000"
                    .into(),
            );
        }
        if self.weight.iter().all(|v| *v == 0.0) {
            return Err(
                "linear.weight is zero (after the BatchNorm): every photo would get the same embedding"
                    .into(),
            );
        }
        Ok(())
    }

    fn fold(
        gamma: &[f32],
        beta: &[f32],
        mean: &[f32],
        var: &[f32],
        eps: f64,
        w: &[f32],
        b: &[f32],
    ) -> Self {
        let f = gamma.len();
        let d = b.len();
        // BN(x) = x * scale + shift, with scale = γ/√(σ²+ε), shift = β − μ·scale.
        let scale: Vec<f64> = (0..f)
            .map(|i| gamma[i] as f64 / (var[i] as f64 + eps).sqrt())
            .collect();
        let shift: Vec<f64> = (0..f)
            .map(|i| beta[i] as f64 - mean[i] as f64 * scale[i])
            .collect();
        let mut weight = Array2::<f32>::zeros((d, f));
        let mut bias = Array1::<f32>::zeros(d);
        for o in 0..d {
            let row = &w[o * f..(o + 1) * f];
            let mut acc = b[o] as f64;
            for i in 0..f {
                weight[[o, i]] = (row[i] as f64 * scale[i]) as f32;
                acc += row[i] as f64 * shift[i];
            }
            bias[o] = acc as f32;
        }
        Self { weight, bias }
    }

    pub fn feature_dim(&self) -> usize {
        self.weight.ncols()
    }

    pub fn embedding_dim(&self) -> usize {
        self.weight.nrows()
    }

    /// `[B, F]` features → `[B, D]` embeddings (not normalised).
    pub fn forward(&self, features: ArrayView2<f32>) -> Array2<f32> {
        let mut out = features.dot(&self.weight.t());
        out += &self.bias.view().insert_axis(Axis(0));
        out
    }
}

/// The ArcFace head of one backbone: normalised class centres and who they are.
#[derive(Debug, Clone)]
pub struct Head {
    /// `[C·k, D]`, each row L2-normalised; rows `c·k .. c·k + k` are class `c`'s sub-centres.
    centres: Array2<f32>,
    subcenters: usize,
    pub classes: Vec<String>,
    pub s: f32,
    pub m: f32,
}

impl Head {
    /// `subcenters` is `k` of sub-center ArcFace (1: plain).
    pub fn from_safetensors(
        bytes: &[u8],
        classes: Vec<String>,
        embedding_dim: usize,
        subcenters: usize,
        s: f32,
        m: f32,
    ) -> Result<Self, String> {
        if subcenters == 0 {
            return Err("subcenters must be at least 1".into());
        }
        if classes.is_empty() {
            return Err("the head's class list is empty".into());
        }
        let file = TensorFile::parse(bytes)?;
        let rows = classes.len().checked_mul(subcenters).ok_or_else(|| {
            format!(
                "{} classes × {subcenters} sub-centres overflow",
                classes.len()
            )
        })?;
        let w = file.f32("arcface.weight", &[rows, embedding_dim])?;
        let mut centres = Array2::from_shape_vec((rows, embedding_dim), w)
            .map_err(|e| format!("arcface.weight: {e}"))?;
        for (r, mut row) in centres.rows_mut().into_iter().enumerate() {
            let norm = row
                .iter()
                .map(|v| *v as f64 * *v as f64)
                .sum::<f64>()
                .sqrt();
            if norm == 0.0 || !norm.is_finite() {
                return Err(format!(
                    "arcface.weight row {r} (class `{}`) is zero: a class centre needs a direction",
                    classes[r / subcenters]
                ));
            }
            row.mapv_inplace(|v| (v as f64 / norm) as f32);
        }
        Ok(Self {
            centres,
            subcenters,
            classes,
            s,
            m,
        })
    }

    /// Cosine similarity of an L2-normalised embedding to every class (its
    /// nearest sub-centre), in class order.
    pub fn cosines(&self, embedding: &[f32]) -> Vec<f32> {
        let e = ndarray::ArrayView1::from(embedding);
        let all = self.centres.dot(&e);
        all.as_slice()
            .expect("a fresh dot product is contiguous")
            .chunks(self.subcenters)
            .map(|c| c.iter().copied().fold(f32::NEG_INFINITY, f32::max))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn folded_neck_matches_batchnorm_then_linear() {
        let gamma = [1.5f32, 0.5];
        let beta = [0.1f32, -0.2];
        let mean = [0.3f32, -1.0];
        let var = [4.0f32, 0.25];
        let eps = 1e-5;
        let w = [1.0f32, 2.0, -1.0, 0.5, 0.0, 3.0]; // [3, 2]
        let b = [0.0f32, 1.0, -1.0];
        let neck = Neck::fold(&gamma, &beta, &mean, &var, eps, &w, &b);
        let x = array![[1.0f32, 2.0], [-0.5, 0.0]];
        let got = neck.forward(x.view());
        for (r, row) in x.rows().into_iter().enumerate() {
            let bn: Vec<f64> = (0..2)
                .map(|i| {
                    (row[i] as f64 - mean[i] as f64) / (var[i] as f64 + eps).sqrt()
                        * gamma[i] as f64
                        + beta[i] as f64
                })
                .collect();
            for o in 0..3 {
                let want = b[o] as f64 + w[o * 2] as f64 * bn[0] + w[o * 2 + 1] as f64 * bn[1];
                assert!((got[[r, o]] as f64 - want).abs() < 1e-5, "{r},{o}");
            }
        }
    }

    #[test]
    fn a_sub_center_head_scores_each_class_by_its_nearest_sub_centre() {
        // Two classes × two sub-centres in 2-d; rows are normalised on load.
        let w: Vec<f32> = vec![1.0, 0.0, 0.0, 2.0, -1.0, 0.0, 0.0, -1.0];
        let bytes =
            crate::train::model::write_f32_tensors(&[("arcface.weight", vec![4, 2], w)]).unwrap();
        let classes = vec!["A".to_string(), "B".to_string()];
        let head = Head::from_safetensors(&bytes, classes.clone(), 2, 2, 30.0, 0.5).unwrap();
        assert_eq!(head.cosines(&[0.0, 1.0]), vec![1.0, 0.0]);
        assert_eq!(head.cosines(&[-1.0, 0.0]), vec![0.0, 1.0]);
        // The same file read as a plain head has the wrong row count.
        let err = Head::from_safetensors(&bytes, classes, 2, 1, 30.0, 0.5).unwrap_err();
        assert!(err.contains("[4, 2]"), "{err}");
    }
}
