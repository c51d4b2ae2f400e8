//! The trainable neck: `BatchNorm1d(F) → Linear(F, D)` over frozen GeM features.
//!
//! It is the same network as [`crate::packs::Neck`] but unfolded, because
//! training needs the BatchNorm's batch statistics (training mode) and its
//! running statistics separately (eval mode). It starts from a pack's
//! `bn.*`/`linear.*` tensors, or at random from a seed with PyTorch's default
//! initialisation, and is written back under the same names.

use std::collections::HashMap;

use candle_core::{Device, Tensor, Var};
use candle_nn::{BatchNorm, Linear, Module, ModuleT};
use safetensors::{Dtype, SafeTensors};

use super::arcface::l2_normalize;
use crate::error::{Error, Result};
use crate::rng::SplitMix64;

/// The tensor names of a pack's neck file (`models/PACK-FORMAT.md`).
pub const NECK_TENSORS: [&str; 6] = [
    "bn.weight",
    "bn.bias",
    "bn.running_mean",
    "bn.running_var",
    "linear.weight",
    "linear.bias",
];

/// A tensor by its pack name: `(name, shape, row-major f32 values)`.
pub type NamedTensor = (&'static str, Vec<usize>, Vec<f32>);

#[derive(Debug)]
pub struct TrainNeck {
    bn: BatchNorm,
    linear: Linear,
    gamma: Var,
    beta: Var,
    weight: Var,
    bias: Var,
    eps: f64,
}

impl TrainNeck {
    /// PyTorch's defaults: γ = 1, β = 0, running mean 0 and variance 1;
    /// Linear weights and bias uniform in ±1/√F.
    pub fn random(
        feature_dim: usize,
        embedding_dim: usize,
        eps: f64,
        rng: &mut SplitMix64,
        device: &Device,
    ) -> Result<Self> {
        let bound = 1.0 / (feature_dim as f64).sqrt();
        let mut uniform = |n: usize| -> Vec<f32> {
            (0..n)
                .map(|_| rng.uniform_in(-bound, bound) as f32)
                .collect()
        };
        let w = uniform(embedding_dim * feature_dim);
        let b = uniform(embedding_dim);
        let f = feature_dim;
        Self::from_parts(
            [vec![1.0; f], vec![0.0; f], vec![0.0; f], vec![1.0; f], w, b],
            f,
            embedding_dim,
            eps,
            device,
        )
    }

    /// From a pack's neck file; dimensions come from `linear.weight`.
    pub fn from_safetensors(bytes: &[u8], eps: f64, device: &Device) -> Result<Self> {
        let bad = |reason: String| Error::Invalid(format!("neck weights: {reason}"));
        let file = SafeTensors::deserialize(bytes).map_err(|e| bad(e.to_string()))?;
        let read = |name: &str| -> Result<(Vec<usize>, Vec<f32>)> {
            let view = file
                .tensor(name)
                .map_err(|_| bad(format!("tensor `{name}` is missing")))?;
            if view.dtype() != Dtype::F32 {
                return Err(bad(format!("tensor `{name}` is {:?}", view.dtype())));
            }
            let data = view
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            Ok((view.shape().to_vec(), data))
        };
        let (shape, _) = read("linear.weight")?;
        let [d, f] = shape[..] else {
            return Err(bad(format!("linear.weight has shape {shape:?}")));
        };
        let mut parts: [Vec<f32>; 6] = Default::default();
        for (slot, name) in parts.iter_mut().zip(NECK_TENSORS) {
            let (shape, data) = read(name)?;
            let want = if name == "linear.weight" {
                vec![d, f]
            } else if name == "linear.bias" {
                vec![d]
            } else {
                vec![f]
            };
            if shape != want {
                return Err(bad(format!(
                    "`{name}` has shape {shape:?}, expected {want:?}"
                )));
            }
            *slot = data;
        }
        Self::from_parts(parts, f, d, eps, device)
    }

    fn from_parts(
        [gamma, beta, mean, var, w, b]: [Vec<f32>; 6],
        f: usize,
        d: usize,
        eps: f64,
        device: &Device,
    ) -> Result<Self> {
        let t = |v: Vec<f32>| Tensor::from_vec(v, f, device);
        let gamma = Var::from_tensor(&t(gamma)?)?;
        let beta = Var::from_tensor(&t(beta)?)?;
        let weight = Var::from_tensor(&Tensor::from_vec(w, (d, f), device)?)?;
        let bias = Var::from_tensor(&Tensor::from_vec(b, d, device)?)?;
        // The layers hold clones of the variables' tensors: same storage, so
        // the optimiser's updates are what they compute with.
        let bn = BatchNorm::new(
            f,
            t(mean)?,
            t(var)?,
            gamma.as_tensor().clone(),
            beta.as_tensor().clone(),
            eps,
        )?;
        let linear = Linear::new(weight.as_tensor().clone(), Some(bias.as_tensor().clone()));
        Ok(Self {
            bn,
            linear,
            gamma,
            beta,
            weight,
            bias,
            eps,
        })
    }

    pub fn feature_dim(&self) -> usize {
        self.gamma.dim(0).unwrap_or(0)
    }

    pub fn embedding_dim(&self) -> usize {
        self.bias.dim(0).unwrap_or(0)
    }

    pub fn eps(&self) -> f64 {
        self.eps
    }

    /// What the optimiser updates (running statistics are not trained).
    pub fn trainable(&self) -> Vec<Var> {
        vec![
            self.gamma.clone(),
            self.beta.clone(),
            self.weight.clone(),
            self.bias.clone(),
        ]
    }

    /// `[B, F]` → `[B, D]`, not normalised. `train` uses (and updates) batch
    /// statistics; otherwise the running ones.
    pub fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        Ok(self.linear.forward(&self.bn.forward_t(x, train)?)?)
    }

    /// Eval-mode embeddings, L2-normalised for retrieval.
    pub fn embed(&self, x: &Tensor) -> Result<Tensor> {
        Ok(l2_normalize(&self.forward_t(x, false)?)?)
    }

    /// The six tensors by their pack names, as f32 rows.
    pub fn tensors(&self) -> Result<Vec<NamedTensor>> {
        let flat = |t: &Tensor| -> Result<Vec<f32>> { Ok(t.flatten_all()?.to_vec1::<f32>()?) };
        let parts = [
            self.gamma.as_tensor(),
            self.beta.as_tensor(),
            self.bn.running_mean(),
            self.bn.running_var(),
            self.weight.as_tensor(),
            self.bias.as_tensor(),
        ];
        NECK_TENSORS
            .iter()
            .zip(parts)
            .map(|(name, t)| Ok((*name, t.dims().to_vec(), flat(t)?)))
            .collect()
    }

    /// A safetensors file with the pack's names, loadable by
    /// [`crate::packs::Neck::from_safetensors`].
    pub fn to_safetensors(&self) -> Result<Vec<u8>> {
        write_f32_tensors(&self.tensors()?)
    }
}

/// Serialise little-endian f32 tensors (what packs store).
pub(crate) fn write_f32_tensors(tensors: &[NamedTensor]) -> Result<Vec<u8>> {
    let bytes: Vec<Vec<u8>> = tensors
        .iter()
        .map(|(_, _, data)| data.iter().flat_map(|v| v.to_le_bytes()).collect())
        .collect();
    let mut views = HashMap::new();
    for ((name, shape, _), data) in tensors.iter().zip(&bytes) {
        let view = safetensors::tensor::TensorView::new(Dtype::F32, shape.clone(), data)
            .map_err(|e| Error::Invalid(format!("tensor `{name}`: {e}")))?;
        views.insert(name.to_string(), view);
    }
    safetensors::tensor::serialize(views, None)
        .map_err(|e| Error::Invalid(format!("writing safetensors: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cancel::CancelToken;
    use crate::packs::{Head, Neck};
    use crate::train::fit::tests::{clustered, only_train, small_config};
    use crate::train::fit::{fit, Dataset, Trained};

    fn trained() -> (Trained, Vec<f32>) {
        let (rows, labels) = clustered(5, 10, 16, 0.5, 11);
        let data = Dataset {
            rows: &rows,
            dim: 16,
            labels: &labels,
        };
        let mut config = small_config(3, 5);
        config.batch_size = 8;
        config.embedding_dim = 8;
        let t = fit(
            &only_train(data, 5),
            None,
            &config,
            &Device::Cpu,
            &CancelToken::new(),
            |_| {},
        )
        .unwrap();
        (t, rows)
    }

    #[test]
    fn saved_neck_reloads_bit_identically() {
        let (t, _) = trained();
        let bytes = t.neck.to_safetensors().unwrap();
        let again = TrainNeck::from_safetensors(&bytes, t.neck.eps(), &Device::Cpu).unwrap();
        assert_eq!(again.to_safetensors().unwrap(), bytes);
        let bits = |n: &TrainNeck| -> Vec<Vec<u32>> {
            n.tensors()
                .unwrap()
                .into_iter()
                .map(|(_, _, v)| v.iter().map(|x| x.to_bits()).collect())
                .collect()
        };
        assert_eq!(bits(&again), bits(&t.neck));
        // Training moved the running statistics off their initial 0 and 1.
        let tensors = t.neck.tensors().unwrap();
        assert!(tensors[2].2.iter().any(|&m| m != 0.0));
        assert!(tensors[3].2.iter().any(|&v| v != 1.0));
    }

    #[test]
    fn pack_neck_loads_the_trained_weights_and_embeds_the_same() {
        let (t, rows) = trained();
        let bytes = t.neck.to_safetensors().unwrap();
        let pack_neck = Neck::from_safetensors(&bytes, 16, 8, t.neck.eps()).unwrap();
        let x = ndarray::Array2::from_shape_vec((rows.len() / 16, 16), rows.clone()).unwrap();
        let mut theirs = pack_neck.forward(x.view());
        for mut row in theirs.rows_mut() {
            let norm = row.dot(&row).sqrt();
            row /= norm;
        }
        let xt = Tensor::from_vec(rows, (x.nrows(), 16), &Device::Cpu).unwrap();
        let ours = t.neck.embed(&xt).unwrap().to_vec2::<f32>().unwrap();
        for (a, b) in ours.iter().zip(theirs.rows()) {
            for (p, q) in a.iter().zip(b) {
                assert!((p - q).abs() < 1e-5, "{p} vs {q}");
            }
        }
        // And the head file is what `packs::Head` reads.
        let classes: Vec<String> = (0..5).map(|c| c.to_string()).collect();
        let head_bytes = t.head.to_safetensors().unwrap();
        let head = Head::from_safetensors(&head_bytes, classes, 8, 1, 30.0, 0.5).unwrap();
        let cos = head.cosines(&ours[0]);
        let want = t
            .head
            .cosine(&t.neck.embed(&xt.narrow(0, 0, 1).unwrap()).unwrap())
            .unwrap()
            .to_vec2::<f32>()
            .unwrap();
        for (p, q) in cos.iter().zip(&want[0]) {
            assert!((p - q).abs() < 1e-5, "{p} vs {q}");
        }
    }
}
