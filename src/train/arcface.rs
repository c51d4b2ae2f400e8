//! The ArcFace head (`ArcMarginProduct` of the Kaggle Happywhale reference).
//!
//! Logits are computed exactly as the PyTorch reference does:
//! `cosine = normalize(x) · normalize(W)ᵀ` (max-pooled over `k` sub-centres),
//! `phi = cos(θ + m)` with the `th`/`mm` fallback where `θ + m` would pass π
//! (or `cosine > 0` with `easy_margin`), a one-hot target softened by
//! `ls_eps`, and `s · (one_hot · phi + (1 − one_hot) · cosine)`. The margin
//! may be one number or one per individual ([`DynamicMargin`]); a row uses
//! the margin of its own label, as the 1st-place Happywhale solution does.

use candle_core::{DType, Device, Result, Tensor, Var};

use crate::rng::SplitMix64;

/// Dynamic margins, `m_c = a · n_c^(−λ) + b` for an individual with `n_c`
/// training images: rare individuals get a larger margin.
///
/// The defaults are the 1st-place Happywhale solution's, checked in its
/// code (github.com/knshnb/kaggle-happywhale-1st-place, commit `badb4b2`):
/// `config/default.yaml` line 41 `margin_coef_id: 0.27126` (a), line 43
/// `margin_power_id: -0.364399` (−λ), line 48 `margin_cons_id: 0.05` (b);
/// `src/train.py`, `SphereClassifier.__init__`, computes
/// `margins_id = np.power(id_class_nums, margin_power_id) * margin_coef_id +
/// margin_cons_id` with `id_class_nums` the images per individual in the
/// whole `train.csv` (before the fold split), and `src/metric_learning.py`
/// `ArcFaceLossAdaptiveMargin` applies each row's own label's margin with
/// the `th`/`mm` fallback, as [`ArcMarginProduct`] does. The same config
/// trains it with `s_id: 20.9588` (line 45) and `n_center_id: 2` (line 50,
/// sub-center ArcFace), not this head's s = 30, m = 0.5 defaults (the
/// reference notebook's); those are not changed by turning dynamic margins
/// on. Its per-individual margins run from 0.32 (one image) down to about
/// 0.1 (hundreds).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DynamicMargin {
    pub a: f64,
    pub lambda: f64,
    pub b: f64,
}

impl Default for DynamicMargin {
    fn default() -> Self {
        Self {
            a: 0.27126,
            lambda: 0.364399,
            b: 0.05,
        }
    }
}

impl DynamicMargin {
    /// The margin for an individual with `count` images (at least 1 is assumed).
    pub fn margin(&self, count: usize) -> f64 {
        self.a * (count.max(1) as f64).powf(-self.lambda) + self.b
    }

    /// One margin per class from the labels of the training rows.
    pub fn margins(&self, labels: &[u32], classes: usize) -> Vec<f64> {
        let mut counts = vec![0usize; classes];
        for &l in labels {
            counts[l as usize] += 1;
        }
        counts.iter().map(|&n| self.margin(n)).collect()
    }
}

/// Settings of the head; defaults are the reference's (s = 30, m = 0.5).
#[derive(Debug, Clone, PartialEq)]
pub struct ArcFaceConfig {
    pub s: f64,
    pub m: f64,
    pub easy_margin: bool,
    pub ls_eps: f64,
    /// Sub-centres per class (1 = plain ArcFace; sub-center ArcFace uses 2).
    pub k: usize,
    /// Per-class margins replacing `m` when set.
    pub dynamic: Option<DynamicMargin>,
}

impl Default for ArcFaceConfig {
    fn default() -> Self {
        Self {
            s: 30.0,
            m: 0.5,
            easy_margin: false,
            ls_eps: 0.0,
            k: 1,
            dynamic: None,
        }
    }
}

/// `weight` is `[classes · k, dim]`; row `c · k + j` is sub-centre `j` of class `c`.
#[derive(Debug)]
pub struct ArcMarginProduct {
    pub weight: Var,
    pub classes: usize,
    pub config: ArcFaceConfig,
    /// The margin of each class (all `m` unless dynamic).
    margins: Vec<f64>,
}

impl ArcMarginProduct {
    /// A head with the given weights; `margins` is one per class (see
    /// [`DynamicMargin::margins`]) or `None` for `config.m` everywhere.
    pub fn new(
        weight: Tensor,
        classes: usize,
        config: ArcFaceConfig,
        margins: Option<Vec<f64>>,
    ) -> Result<Self> {
        let (rows, _) = weight.dims2()?;
        if config.k == 0 || rows != classes * config.k {
            candle_core::bail!(
                "arcface weight has {rows} rows, expected classes {classes} × k {}",
                config.k
            );
        }
        let margins = margins.unwrap_or_else(|| vec![config.m; classes]);
        if margins.len() != classes {
            candle_core::bail!("{} margins for {classes} classes", margins.len());
        }
        Ok(Self {
            weight: Var::from_tensor(&weight)?,
            classes,
            config,
            margins,
        })
    }

    /// Xavier-uniform weights, as `nn.init.xavier_uniform_` in the reference.
    pub fn random(
        classes: usize,
        dim: usize,
        config: ArcFaceConfig,
        margins: Option<Vec<f64>>,
        rng: &mut SplitMix64,
        device: &Device,
    ) -> Result<Self> {
        let rows = classes * config.k.max(1);
        let bound = (6.0 / (rows + dim) as f64).sqrt();
        let w: Vec<f32> = (0..rows * dim)
            .map(|_| rng.uniform_in(-bound, bound) as f32)
            .collect();
        Self::new(
            Tensor::from_vec(w, (rows, dim), device)?,
            classes,
            config,
            margins,
        )
    }

    /// The head as a pack's head file (`arcface.weight`, `[classes · k, dim]`).
    pub fn to_safetensors(&self) -> crate::Result<Vec<u8>> {
        let w = self.weight.as_tensor();
        let data = w.flatten_all()?.to_vec1::<f32>()?;
        super::model::write_f32_tensors(&[("arcface.weight", w.dims().to_vec(), data)])
    }

    pub fn margins(&self) -> &[f64] {
        &self.margins
    }

    /// `[B, classes]` cosine of each row to each class (best sub-centre).
    pub fn cosine(&self, x: &Tensor) -> Result<Tensor> {
        let cos = l2_normalize(x)?.matmul(&l2_normalize(self.weight.as_tensor())?.t()?)?;
        if self.config.k == 1 {
            return Ok(cos);
        }
        let b = cos.dim(0)?;
        cos.reshape((b, self.classes, self.config.k))?.max(2)
    }

    /// `(logits, cosine)`, both `[B, classes]`, for rows `x` with `labels`.
    ///
    /// Without label smoothing only the label's column gets a margin, so
    /// `phi` is computed on that column alone (`[B, 1]`) and added to the
    /// cosine through the one-hot; the `[B, classes]` work is then the
    /// cosine itself and one multiply-add, which is what makes an epoch
    /// affordable with thousands of individuals. With label smoothing every
    /// column carries some of `phi`, and it is computed everywhere, as the
    /// reference does. Both give the reference's logits (tested).
    pub fn forward(&self, x: &Tensor, labels: &[u32]) -> Result<(Tensor, Tensor)> {
        let cosine = self.cosine(x)?;
        let logits = if self.config.ls_eps > 0.0 {
            self.logits_everywhere(&cosine, labels)?
        } else {
            self.logits_on_target(&cosine, labels)?
        };
        Ok(((logits * self.config.s)?, cosine))
    }

    /// `cos(θ + m)` of `cosine` (`[B, n]`), each row with its label's
    /// margin, with the reference's `th`/`mm` fallback (or easy margin).
    fn phi(&self, cosine: &Tensor, labels: &[u32]) -> Result<Tensor> {
        let b = cosine.dim(0)?;
        let device = cosine.device();
        // Per-row constants of the row's own margin: cos m, sin m, th, mm.
        let per_row = |f: &dyn Fn(f64) -> f64| -> Result<Tensor> {
            let v: Vec<f32> = labels
                .iter()
                .map(|&l| f(self.margins[l as usize]) as f32)
                .collect();
            Tensor::from_vec(v, (b, 1), device)
        };
        let cos_m = per_row(&|m| m.cos())?;
        let sin_m = per_row(&|m| m.sin())?;
        // clamp keeps sqrt's gradient finite at |cos| = 1.
        let sine = (1.0 - cosine.sqr()?)?.clamp(1e-12f32, 1f32)?.sqrt()?;
        let phi = (cosine.broadcast_mul(&cos_m)? - sine.broadcast_mul(&sin_m)?)?;
        if self.config.easy_margin {
            cosine.gt(0f64)?.where_cond(&phi, cosine)
        } else {
            let th = per_row(&|m| (std::f64::consts::PI - m).cos())?;
            let mm = per_row(&|m| (std::f64::consts::PI - m).sin() * m)?;
            let fallback = cosine.broadcast_sub(&mm)?;
            cosine.broadcast_gt(&th)?.where_cond(&phi, &fallback)
        }
    }

    /// `one_hot[b][c]` = `on` at the label, `off` elsewhere.
    fn one_hot(labels: &[u32], c: usize, on: f32, off: f32, device: &Device) -> Result<Tensor> {
        let b = labels.len();
        let mut v = vec![off; b * c];
        for (row, &l) in labels.iter().enumerate() {
            v[row * c + l as usize] = on;
        }
        Tensor::from_vec(v, (b, c), device)
    }

    /// `cosine + one_hot · (phi − cos)` at the label: phi on `[B, 1]` only.
    fn logits_on_target(&self, cosine: &Tensor, labels: &[u32]) -> Result<Tensor> {
        let (b, c) = cosine.dims2()?;
        let device = cosine.device();
        let index = Tensor::from_slice(labels, (b, 1), device)?;
        let target = cosine.gather(&index, 1)?;
        let delta = (self.phi(&target, labels)? - &target)?;
        let one_hot = Self::one_hot(labels, c, 1.0, 0.0, device)?;
        cosine + one_hot.broadcast_mul(&delta)?
    }

    /// The reference's formula over every column (needed with label smoothing).
    fn logits_everywhere(&self, cosine: &Tensor, labels: &[u32]) -> Result<Tensor> {
        let c = cosine.dim(1)?;
        let phi = self.phi(cosine, labels)?;
        let eps = self.config.ls_eps;
        let (on, off) = ((1.0 - eps) + eps / c as f64, eps / c as f64);
        let one_hot = Self::one_hot(labels, c, on as f32, off as f32, cosine.device())?;
        (&one_hot * &phi)? + ((1.0 - &one_hot)? * cosine)?
    }
}

/// Rows divided by their L2 norm (at least 1e-12, as `F.normalize`).
pub fn l2_normalize(x: &Tensor) -> Result<Tensor> {
    let norm = x
        .to_dtype(DType::F32)?
        .sqr()?
        .sum_keepdim(1)?
        .sqrt()?
        .clamp(1e-12f32, f32::MAX)?;
    x.broadcast_div(&norm)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(t: &Tensor) -> Vec<Vec<f32>> {
        t.to_vec2::<f32>().unwrap()
    }

    /// Three unit-ish class centres in 2-d: east, north (length 2: the head
    /// must normalise it) and west.
    fn head(config: ArcFaceConfig) -> ArcMarginProduct {
        let w = Tensor::from_vec(vec![1f32, 0., 0., 2., -1., 0.], (3, 2), &Device::Cpu).unwrap();
        ArcMarginProduct::new(w, 3, config, None).unwrap()
    }

    /// Row 0: (3, 4), |x| = 5, so x̂ = (0.6, 0.8); cos = (0.6, 0.8, −0.6), label 0.
    /// Row 1: (−2, 0), x̂ = (−1, 0); cos = (−1, 0, 1), label 0.
    fn inputs() -> (Tensor, Vec<u32>) {
        let x = Tensor::from_vec(vec![3f32, 4., -2., 0.], (2, 2), &Device::Cpu).unwrap();
        (x, vec![0, 0])
    }

    fn assert_close(got: &[Vec<f32>], want: &[[f64; 3]; 2]) {
        for (g, w) in got.iter().zip(want) {
            for (a, b) in g.iter().zip(w) {
                assert!((*a as f64 - b).abs() < 1e-4, "got {got:?}, want {want:?}");
            }
        }
    }

    #[test]
    fn logits_match_the_hand_computation_without_easy_margin() {
        let (x, labels) = inputs();
        let (logits, cosine) = head(ArcFaceConfig::default()).forward(&x, &labels).unwrap();
        assert_close(&rows(&cosine), &[[0.6, 0.8, -0.6], [-1.0, 0.0, 1.0]]);
        // m = 0.5: cos m = 0.877583, sin m = 0.479426,
        // th = cos(π − m) = −0.877583, mm = sin(π − m)·m = 0.239713.
        // Row 0, class 0: cos 0.6 > th, sin θ = 0.8,
        //   phi = 0.6·0.877583 − 0.8·0.479426 = 0.526550 − 0.383540 = 0.143009.
        // Row 1, class 0: cos −1 ≤ th, so phi = cos − mm = −1 − 0.239713 = −1.239713.
        // Other classes keep their cosine; all times s = 30.
        let want = [
            [0.143009 * 30.0, 0.8 * 30.0, -0.6 * 30.0],
            [-1.239713 * 30.0, 0.0, 30.0],
        ];
        assert_close(&rows(&logits), &want);
    }

    #[test]
    fn logits_match_the_hand_computation_with_easy_margin() {
        let (x, labels) = inputs();
        let config = ArcFaceConfig {
            easy_margin: true,
            ..ArcFaceConfig::default()
        };
        let (logits, _) = head(config).forward(&x, &labels).unwrap();
        // Row 0: cos 0.6 > 0, phi = 0.143009 as above.
        // Row 1: cos −1 ≤ 0, so phi = cos = −1 (no margin, no fallback).
        let want = [
            [0.143009 * 30.0, 0.8 * 30.0, -0.6 * 30.0],
            [-30.0, 0.0, 30.0],
        ];
        assert_close(&rows(&logits), &want);
    }

    #[test]
    fn logits_match_the_hand_computation_with_label_smoothing() {
        let (x, labels) = inputs();
        let config = ArcFaceConfig {
            ls_eps: 0.3,
            ..ArcFaceConfig::default()
        };
        let (logits, _) = head(config).forward(&x, &labels).unwrap();
        // one_hot = 0.7·onehot + 0.3/3: 0.8 on the label, 0.1 elsewhere, so
        // every class mixes its own phi: out = s·(oh·phi + (1 − oh)·cos).
        // Row 0: class 1, cos 0.8, sin 0.6: phi = 0.8·0.877583 − 0.6·0.479426
        //   = 0.702066 − 0.287656 = 0.414411;
        //   class 2, cos −0.6, sin 0.8: cos(θ+m) = −0.526550 − 0.383540 = −0.910090,
        //   but −0.6 > th, so phi = −0.910090.
        // Row 1: class 1, cos 0, sin 1: phi = −0.479426 (0 > th);
        //   class 2, cos 1, sin 0 (clamped to 1e-6): phi = 0.877583.
        let mix = |oh: f64, phi: f64, cos: f64| 30.0 * (oh * phi + (1.0 - oh) * cos);
        let want = [
            [
                mix(0.8, 0.143009, 0.6),
                mix(0.1, 0.414411, 0.8),
                mix(0.1, -0.910090, -0.6),
            ],
            [
                mix(0.8, -1.239713, -1.0),
                mix(0.1, -0.479426, 0.0),
                mix(0.1, 0.877583, 1.0),
            ],
        ];
        assert_close(&rows(&logits), &want);
    }

    #[test]
    fn sub_centres_are_max_pooled_per_class() {
        // Class 0 has centres east and north, class 1 west and south.
        let w = Tensor::from_vec(
            vec![1f32, 0., 0., 1., -1., 0., 0., -1.],
            (4, 2),
            &Device::Cpu,
        )
        .unwrap();
        let config = ArcFaceConfig {
            k: 2,
            ..ArcFaceConfig::default()
        };
        let head = ArcMarginProduct::new(w, 2, config, None).unwrap();
        let x = Tensor::from_vec(vec![0f32, 1., 0., -1.], (2, 2), &Device::Cpu).unwrap();
        // (0, 1) is north: best of class 0 is max(0, 1) = 1, of class 1 max(−1, 0) = 0.
        // (0, −1) is south: class 0 max(0, −1) = 0, class 1 max(0, 1) = 1.
        let got = rows(&head.cosine(&x).unwrap());
        let want = [[1.0f32, 0.0], [0.0, 1.0]];
        for (g, w) in got.iter().zip(want) {
            for (a, b) in g.iter().zip(w) {
                assert!((a - b).abs() < 1e-6, "{got:?}");
            }
        }
    }

    #[test]
    fn dynamic_margins_shrink_with_more_images() {
        let d = DynamicMargin {
            a: 0.5,
            lambda: 0.25,
            b: 0.05,
        };
        // 16^(−1/4) = 0.5: m = 0.5·0.5 + 0.05 = 0.3; one image: 0.5 + 0.05.
        assert!((d.margin(16) - 0.3).abs() < 1e-12);
        assert!((d.margin(1) - 0.55).abs() < 1e-12);
        assert_eq!(d.margins(&[0, 1, 1, 1, 1], 3)[2], d.margin(1));
        let m = DynamicMargin::default().margins(&[0, 1, 1, 1, 1], 2);
        assert!(m[0] > m[1]);
    }

    #[test]
    fn each_row_uses_its_own_labels_margin() {
        let (x, _) = inputs();
        let h = {
            let w =
                Tensor::from_vec(vec![1f32, 0., 0., 2., -1., 0.], (3, 2), &Device::Cpu).unwrap();
            ArcMarginProduct::new(w, 3, ArcFaceConfig::default(), Some(vec![0.2, 0.0, 0.0]))
                .unwrap()
        };
        let (logits, _) = h.forward(&x, &[0, 1]).unwrap();
        let got = rows(&logits);
        // Row 0, label 0, m = 0.2: 0.6·cos 0.2 − 0.8·sin 0.2.
        let want = 30.0 * (0.6 * 0.2f64.cos() - 0.8 * 0.2f64.sin());
        assert!((got[0][0] as f64 - want).abs() < 1e-4);
        // Row 1, label 1, m = 0: its logit is the plain cosine.
        assert!((got[1][1] as f64).abs() < 1e-4);
    }

    #[test]
    fn the_target_column_path_gives_the_reference_logits_and_gradients() {
        let mut rng = SplitMix64::new(5);
        let (b, d, classes) = (16, 8, 6);
        let x: Vec<f32> = (0..b * d).map(|_| rng.normal() as f32).collect();
        let x = Tensor::from_vec(x, (b, d), &Device::Cpu).unwrap();
        let labels: Vec<u32> = (0..b as u32).map(|i| (i * 7) % classes as u32).collect();
        for easy_margin in [false, true] {
            for k in [1, 2] {
                let config = ArcFaceConfig {
                    easy_margin,
                    k,
                    dynamic: Some(DynamicMargin::default()),
                    ..ArcFaceConfig::default()
                };
                let margins = DynamicMargin::default().margins(&labels, classes);
                let head = ArcMarginProduct::random(
                    classes,
                    d,
                    config,
                    Some(margins),
                    &mut SplitMix64::new(9),
                    &Device::Cpu,
                )
                .unwrap();
                let cosine = head.cosine(&x).unwrap();
                let fast = head.logits_on_target(&cosine, &labels).unwrap();
                let full = head.logits_everywhere(&cosine, &labels).unwrap();
                let (f, r) = (rows(&fast), rows(&full));
                for (a, b) in f.iter().flatten().zip(r.iter().flatten()) {
                    assert!((a - b).abs() < 1e-6, "easy {easy_margin} k {k}: {a} vs {b}");
                }
                let target = Tensor::from_slice(&labels, b, &Device::Cpu).unwrap();
                let grad = |logits: Tensor| -> Vec<f32> {
                    let loss =
                        candle_nn::loss::cross_entropy(&(logits * 30.0).unwrap(), &target).unwrap();
                    let grads = loss.backward().unwrap();
                    grads
                        .get(head.weight.as_tensor())
                        .unwrap()
                        .flatten_all()
                        .unwrap()
                        .to_vec1::<f32>()
                        .unwrap()
                };
                let cosine = head.cosine(&x).unwrap();
                let g_fast = grad(head.logits_on_target(&cosine, &labels).unwrap());
                let cosine = head.cosine(&x).unwrap();
                let g_full = grad(head.logits_everywhere(&cosine, &labels).unwrap());
                for (a, b) in g_fast.iter().zip(&g_full) {
                    assert!((a - b).abs() < 1e-5, "gradient: {a} vs {b}");
                }
            }
        }
    }
}
