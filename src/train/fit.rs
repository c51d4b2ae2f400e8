//! The training loop over cached features.
//!
//! Rows live in one device tensor; each epoch a seeded shuffle orders them,
//! batches are gathered with `index_select`, and each step runs the neck in
//! training mode, the ArcFace head, cross-entropy, and one AdamW update at the
//! learning rate of [`lr_at`] (linear warm-up, then cosine decay). Train
//! accuracy is the argmax of the margin-free cosine: what retrieval sees.
//! Nothing else is random, so a seed gives the same losses every run.

use std::time::Instant;

use candle_core::{Device, Tensor};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};

use super::arcface::{ArcFaceConfig, ArcMarginProduct};
use super::model::TrainNeck;
use super::rng::SplitMix64;
use crate::cancel::CancelToken;
use crate::error::{Error, Result};

/// Feature rows (`labels.len() × dim`, row-major) and their class indices.
#[derive(Debug, Clone, Copy)]
pub struct Dataset<'a> {
    pub rows: &'a [f32],
    pub dim: usize,
    pub labels: &'a [u32],
}

impl Dataset<'_> {
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    fn check(&self, classes: usize) -> Result<()> {
        if self.dim == 0 || self.rows.len() != self.labels.len() * self.dim {
            return Err(Error::Invalid(format!(
                "{} feature values are not {} rows of {}",
                self.rows.len(),
                self.labels.len(),
                self.dim
            )));
        }
        if let Some(l) = self.labels.iter().find(|&&l| l as usize >= classes) {
            return Err(Error::Invalid(format!(
                "label {l} is not below the {classes} classes"
            )));
        }
        Ok(())
    }
}

#[derive(Debug, Clone)]
pub struct FitConfig {
    pub epochs: usize,
    pub batch_size: usize,
    /// Peak learning rate, reached after the warm-up.
    pub lr: f64,
    /// Where the cosine decay ends.
    pub min_lr: f64,
    pub warmup_epochs: usize,
    pub weight_decay: f64,
    pub seed: u64,
    /// Used when the neck starts at random; a pack's neck brings its own.
    pub embedding_dim: usize,
    pub bn_eps: f64,
    pub arcface: ArcFaceConfig,
}

impl Default for FitConfig {
    fn default() -> Self {
        Self {
            epochs: 20,
            batch_size: 64,
            lr: 3e-3,
            min_lr: 1e-5,
            warmup_epochs: 1,
            weight_decay: 1e-2,
            seed: 42,
            embedding_dim: 512,
            bn_eps: 1e-5,
            arcface: ArcFaceConfig::default(),
        }
    }
}

/// One epoch's mean loss and train accuracy.
#[derive(Debug, Clone, PartialEq)]
pub struct EpochStats {
    pub epoch: usize,
    pub loss: f64,
    pub accuracy: f64,
    /// Learning rate of the epoch's last step.
    pub lr: f64,
    pub seconds: f64,
}

#[derive(Debug)]
pub struct Trained {
    pub neck: TrainNeck,
    pub head: ArcMarginProduct,
    pub history: Vec<EpochStats>,
}

/// Learning rate at `step` of `total`: linear warm-up over `warmup` steps to
/// `lr`, then half a cosine down to `min_lr` at the last step.
pub fn lr_at(step: usize, total: usize, warmup: usize, lr: f64, min_lr: f64) -> f64 {
    if step < warmup {
        return lr * (step + 1) as f64 / warmup as f64;
    }
    let span = total.saturating_sub(warmup).saturating_sub(1).max(1);
    let progress = ((step - warmup) as f64 / span as f64).min(1.0);
    min_lr + 0.5 * (lr - min_lr) * (1.0 + (std::f64::consts::PI * progress).cos())
}

/// Train a neck (from `init`, a pack's neck safetensors, or at random) and a
/// fresh ArcFace head on `data`; `progress` hears after every epoch.
pub fn fit(
    data: &Dataset<'_>,
    classes: usize,
    init: Option<&[u8]>,
    config: &FitConfig,
    device: &Device,
    cancel: &CancelToken,
    mut progress: impl FnMut(&EpochStats),
) -> Result<Trained> {
    data.check(classes)?;
    if data.len() < 2 || config.batch_size < 2 {
        return Err(Error::Invalid(
            "training needs at least 2 rows and batches of at least 2 (BatchNorm)".into(),
        ));
    }
    let mut rng = SplitMix64::new(config.seed);
    let neck = match init {
        Some(bytes) => TrainNeck::from_safetensors(bytes, config.bn_eps, device)?,
        None => TrainNeck::random(
            data.dim,
            config.embedding_dim,
            config.bn_eps,
            &mut rng,
            device,
        )?,
    };
    if neck.feature_dim() != data.dim {
        return Err(Error::Invalid(format!(
            "the neck takes {} features, the rows have {}",
            neck.feature_dim(),
            data.dim
        )));
    }
    let margins = config
        .arcface
        .dynamic
        .map(|d| d.margins(data.labels, classes));
    let head = ArcMarginProduct::random(
        classes,
        neck.embedding_dim(),
        config.arcface.clone(),
        margins,
        &mut rng,
        device,
    )?;
    let mut vars = neck.trainable();
    vars.push(head.weight.clone());
    let mut opt = AdamW::new(
        vars,
        ParamsAdamW {
            lr: config.lr,
            weight_decay: config.weight_decay,
            ..ParamsAdamW::default()
        },
    )?;

    let all = Tensor::from_slice(data.rows, (data.len(), data.dim), device)?;
    let steps_per_epoch = data.len().div_ceil(config.batch_size);
    let total = steps_per_epoch * config.epochs;
    let warmup = steps_per_epoch * config.warmup_epochs;
    let mut order: Vec<u32> = (0..data.len() as u32).collect();
    let mut history = Vec::with_capacity(config.epochs);
    let mut step = 0;
    for epoch in 0..config.epochs {
        let started = Instant::now();
        rng.shuffle(&mut order);
        let (mut loss_sum, mut correct, mut seen) = (0.0, 0usize, 0usize);
        for batch in order.chunks(config.batch_size) {
            if cancel.is_cancelled() {
                return Err(Error::Cancelled);
            }
            step += 1;
            // BatchNorm cannot normalise a batch of one: skip such a tail.
            if batch.len() < 2 {
                continue;
            }
            opt.set_learning_rate(lr_at(step - 1, total, warmup, config.lr, config.min_lr));
            let labels: Vec<u32> = batch.iter().map(|&i| data.labels[i as usize]).collect();
            let index = Tensor::from_slice(batch, batch.len(), device)?;
            let x = all.index_select(&index, 0)?;
            let target = Tensor::from_slice(&labels, labels.len(), device)?;
            let (logits, cosine) = head.forward(&neck.forward_t(&x, true)?, &labels)?;
            let loss = candle_nn::loss::cross_entropy(&logits, &target)?;
            opt.backward_step(&loss)?;
            loss_sum += loss.to_scalar::<f32>()? as f64 * batch.len() as f64;
            let predicted = cosine.argmax(1)?.to_vec1::<u32>()?;
            correct += predicted
                .iter()
                .zip(&labels)
                .filter(|(p, l)| p == l)
                .count();
            seen += batch.len();
        }
        let stats = EpochStats {
            epoch,
            loss: loss_sum / seen.max(1) as f64,
            accuracy: correct as f64 / seen.max(1) as f64,
            lr: opt.learning_rate(),
            seconds: started.elapsed().as_secs_f64(),
        };
        progress(&stats);
        history.push(stats);
    }
    Ok(Trained {
        neck,
        head,
        history,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// `classes × per_class` rows of `dim` values: centres drawn N(0, 1),
    /// rows centre + N(0, noise²), all from `seed`.
    pub(crate) fn clustered(
        classes: usize,
        per_class: usize,
        dim: usize,
        noise: f64,
        seed: u64,
    ) -> (Vec<f32>, Vec<u32>) {
        let mut rng = SplitMix64::new(seed);
        let centres: Vec<Vec<f64>> = (0..classes)
            .map(|_| (0..dim).map(|_| rng.normal()).collect())
            .collect();
        let (mut rows, mut labels) = (Vec::new(), Vec::new());
        for (c, centre) in centres.iter().enumerate() {
            for _ in 0..per_class {
                rows.extend(centre.iter().map(|v| (v + noise * rng.normal()) as f32));
                labels.push(c as u32);
            }
        }
        (rows, labels)
    }

    pub(crate) fn small_config(epochs: usize, seed: u64) -> FitConfig {
        FitConfig {
            epochs,
            batch_size: 32,
            embedding_dim: 32,
            seed,
            ..FitConfig::default()
        }
    }

    fn run(seed: u64, epochs: usize) -> Trained {
        let (rows, labels) = clustered(20, 30, 64, 0.8, 7);
        let data = Dataset {
            rows: &rows,
            dim: 64,
            labels: &labels,
        };
        let config = small_config(epochs, seed);
        fit(
            &data,
            20,
            None,
            &config,
            &Device::Cpu,
            &CancelToken::new(),
            |_| {},
        )
        .unwrap()
    }

    #[test]
    fn loss_falls_and_accuracy_rises_on_clustered_features() {
        let trained = run(1, 20);
        let h = &trained.history;
        for e in h {
            eprintln!(
                "epoch {:2}: loss {:.4} acc {:.3} lr {:.5} {:.1} ms",
                e.epoch,
                e.loss,
                e.accuracy,
                e.lr,
                e.seconds * 1e3
            );
        }
        let (first, last) = (&h[0], &h[h.len() - 1]);
        assert!(
            last.loss < 0.5 * first.loss,
            "{} → {}",
            first.loss,
            last.loss
        );
        assert!(last.accuracy > 0.9, "accuracy {}", last.accuracy);
        assert!(first.accuracy < last.accuracy);
    }

    #[test]
    fn same_seed_gives_identical_losses() {
        let a: Vec<f64> = run(3, 3).history.iter().map(|e| e.loss).collect();
        let b: Vec<f64> = run(3, 3).history.iter().map(|e| e.loss).collect();
        let c: Vec<f64> = run(4, 3).history.iter().map(|e| e.loss).collect();
        assert_eq!(a, b);
        assert_ne!(a, c, "the seed must matter");
    }

    #[test]
    fn schedule_warms_up_then_decays_to_min() {
        let lr = |s| lr_at(s, 100, 10, 1.0, 0.01);
        assert!((lr(0) - 0.1).abs() < 1e-12);
        assert!((lr(9) - 1.0).abs() < 1e-12);
        assert!((lr(10) - 1.0).abs() < 1e-12);
        assert!((lr(99) - 0.01).abs() < 1e-12);
        assert!(lr(50) < lr(30) && lr(50) > lr(80));
    }

    #[test]
    fn a_cancelled_fit_stops() {
        let (rows, labels) = clustered(3, 4, 8, 0.1, 1);
        let data = Dataset {
            rows: &rows,
            dim: 8,
            labels: &labels,
        };
        let cancel = CancelToken::new();
        cancel.cancel();
        let got = fit(
            &data,
            3,
            None,
            &small_config(2, 0),
            &Device::Cpu,
            &cancel,
            |_| {},
        );
        assert!(matches!(got, Err(Error::Cancelled)));
    }
}
