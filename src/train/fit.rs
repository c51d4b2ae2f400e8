//! The training loop over cached features.
//!
//! Rows live in one device tensor; each epoch a seeded shuffle orders them,
//! batches are gathered with `index_select`, and each step runs the neck in
//! training mode, the ArcFace head, cross-entropy, and one AdamW update at the
//! learning rate of [`lr_at`] (linear warm-up, then cosine decay). Train
//! accuracy is the argmax of the margin-free cosine: what retrieval sees.
//! Nothing else is random, so a seed gives the same losses every run.
//!
//! With augmented views ([`Views`], cached by [`super::views`]), each
//! training row stands for its plain features and its K views: every epoch
//! draws one of those K + 1 for it, so an epoch costs what it costs without
//! views and the neck sees a different view of a photo from epoch to epoch.
//! The draw comes from the same seeded generator. Validation rows are never
//! augmented, and the per-epoch validation matches them against the plain
//! training rows.
//!
//! With a validation split, each epoch ends with its MAP@5
//! ([`super::validate::knn_map_at_5`]); the best epoch's weights are kept and
//! returned, and with `patience` training stops once that many epochs pass
//! without improving on it.

use std::time::Instant;

use candle_core::{Device, Tensor};
use candle_nn::{AdamW, Optimizer, ParamsAdamW};

use super::arcface::{ArcFaceConfig, ArcMarginProduct};
use super::model::TrainNeck;
use super::validate::knn_map_at_5;
use crate::cancel::CancelToken;
use crate::error::{Error, Result};
use crate::rng::SplitMix64;

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

/// What to train on: training rows, optionally their augmented views,
/// optional held-out rows of the same individuals (for MAP@5 and early
/// stopping), and how many classes there are.
#[derive(Debug, Clone, Copy)]
pub struct TrainData<'a> {
    pub train: Dataset<'a>,
    /// Augmented views of every training row, drawn in its place.
    pub views: Option<Views<'a>>,
    pub val: Option<Dataset<'a>>,
    pub classes: usize,
}

/// `per_row` augmented views of each training row: `rows` is
/// `train.len() · per_row · dim` values, the views of row `i` at rows
/// `i · per_row ..` (its label is row `i`'s).
#[derive(Debug, Clone, Copy)]
pub struct Views<'a> {
    pub rows: &'a [f32],
    pub per_row: usize,
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
    /// Stop after this many epochs without a better validation MAP@5
    /// (needs a validation split; `None` runs every epoch).
    pub patience: Option<usize>,
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
            patience: None,
        }
    }
}

/// One epoch's mean loss and train accuracy.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct EpochStats {
    pub epoch: usize,
    pub loss: f64,
    pub accuracy: f64,
    /// Learning rate of the epoch's last step.
    pub lr: f64,
    /// MAP@5 on the validation split, when there is one.
    pub val_map5: Option<f64>,
    pub seconds: f64,
}

#[derive(Debug)]
pub struct Trained {
    pub neck: TrainNeck,
    pub head: ArcMarginProduct,
    pub history: Vec<EpochStats>,
    /// The epoch whose weights these are (best validation MAP@5); `None`
    /// without validation, when they are the last epoch's.
    pub best_epoch: Option<usize>,
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
/// fresh ArcFace head on `input`; `progress` hears after every epoch.
pub fn fit(
    input: &TrainData<'_>,
    init: Option<&[u8]>,
    config: &FitConfig,
    device: &Device,
    cancel: &CancelToken,
    mut progress: impl FnMut(&EpochStats),
) -> Result<Trained> {
    input.check(config.batch_size)?;
    let mut rng = SplitMix64::new(config.seed);
    let mut run = Run::new(input, init, config, &mut rng, device)?;
    let mut schedule = Schedule::new(input.train.len(), config);
    let mut order: Vec<u32> = (0..input.train.len() as u32).collect();
    let mut history = Vec::with_capacity(config.epochs);
    let mut best: Option<Best> = None;
    for epoch in 0..config.epochs {
        let started = Instant::now();
        rng.shuffle(&mut order);
        let tally = run.epoch(&order, &mut schedule, &mut rng, cancel)?;
        let val_map5 = match &input.val {
            Some(val) => Some(knn_map_at_5(&run.neck, &input.train, val, device)?),
            None => None,
        };
        let stats = EpochStats {
            epoch,
            loss: tally.loss_sum / tally.seen.max(1) as f64,
            accuracy: tally.correct as f64 / tally.seen.max(1) as f64,
            lr: run.opt.learning_rate(),
            val_map5,
            seconds: started.elapsed().as_secs_f64(),
        };
        progress(&stats);
        history.push(stats);
        if let Some(map) = val_map5 {
            if best.as_ref().is_none_or(|b| map > b.map) {
                best = Some(Best::of(epoch, map, &run)?);
            }
            let since_best = epoch - best.as_ref().map_or(epoch, |b| b.epoch);
            if config.patience.is_some_and(|p| since_best >= p) {
                break;
            }
        }
    }
    run.into_trained(best, history, config.bn_eps)
}

impl TrainData<'_> {
    /// Refuse rows, validation rows or views that do not fit together, and
    /// data or batches too small for BatchNorm.
    fn check(&self, batch_size: usize) -> Result<()> {
        let data = &self.train;
        data.check(self.classes)?;
        if let Some(val) = &self.val {
            val.check(self.classes)?;
            if val.dim != data.dim || val.is_empty() {
                return Err(Error::Invalid(
                    "the validation rows must be non-empty and as wide as the training rows".into(),
                ));
            }
        }
        if let Some(v) = &self.views {
            if v.rows.len() != data.len() * v.per_row * data.dim {
                return Err(Error::Invalid(format!(
                    "{} view values are not {} views of {} rows of {}",
                    v.rows.len(),
                    v.per_row,
                    data.len(),
                    data.dim
                )));
            }
        }
        if data.len() < 2 || batch_size < 2 {
            return Err(Error::Invalid(
                "training needs at least 2 rows and batches of at least 2 (BatchNorm)".into(),
            ));
        }
        Ok(())
    }
}

/// The learning rate step by step: [`lr_at`] over every batch of every
/// epoch, a skipped batch included.
struct Schedule {
    step: usize,
    total: usize,
    warmup: usize,
    lr: f64,
    min_lr: f64,
}

impl Schedule {
    fn new(rows: usize, config: &FitConfig) -> Self {
        let steps_per_epoch = rows.div_ceil(config.batch_size);
        Self {
            step: 0,
            total: steps_per_epoch * config.epochs,
            warmup: steps_per_epoch * config.warmup_epochs,
            lr: config.lr,
            min_lr: config.min_lr,
        }
    }

    /// The rate of the next step, which it counts.
    fn next_lr(&mut self) -> f64 {
        self.step += 1;
        lr_at(self.step - 1, self.total, self.warmup, self.lr, self.min_lr)
    }
}

/// One epoch's sums: loss over rows, rows predicted right, rows seen.
#[derive(Default)]
struct Tally {
    loss_sum: f64,
    correct: usize,
    seen: usize,
}

/// The best validation epoch so far and its weights, kept to be returned.
struct Best {
    epoch: usize,
    map: f64,
    neck: Vec<u8>,
    head: Tensor,
}

impl Best {
    fn of(epoch: usize, map: f64, run: &Run<'_>) -> Result<Self> {
        let head = run.head.weight.as_tensor().copy()?;
        Ok(Self {
            epoch,
            map,
            neck: run.neck.to_safetensors()?,
            head,
        })
    }
}

/// The model under training, its optimiser and the rows it draws from.
struct Run<'a> {
    data: Dataset<'a>,
    /// Augmented views per training row (0 without views).
    per_row: usize,
    /// Plain rows first, then the views: row `i`'s view `j` is at
    /// `n + i · per_row + j`.
    all: Tensor,
    batch_size: usize,
    neck: TrainNeck,
    head: ArcMarginProduct,
    opt: AdamW,
    device: &'a Device,
}

impl<'a> Run<'a> {
    /// The neck (from `init` or at random), a fresh head sized to it, and
    /// AdamW over both; random weights come from `rng`, neck first.
    fn new(
        input: &TrainData<'a>,
        init: Option<&[u8]>,
        config: &FitConfig,
        rng: &mut SplitMix64,
        device: &'a Device,
    ) -> Result<Self> {
        let data = input.train;
        let neck = match init {
            Some(bytes) => TrainNeck::from_safetensors(bytes, config.bn_eps, device)?,
            None => TrainNeck::random(data.dim, config.embedding_dim, config.bn_eps, rng, device)?,
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
            .map(|d| d.margins(data.labels, input.classes));
        let head = ArcMarginProduct::random(
            input.classes,
            neck.embedding_dim(),
            config.arcface.clone(),
            margins,
            rng,
            device,
        )?;
        let mut vars = neck.trainable();
        vars.push(head.weight.clone());
        let opt = AdamW::new(
            vars,
            ParamsAdamW {
                lr: config.lr,
                weight_decay: config.weight_decay,
                ..ParamsAdamW::default()
            },
        )?;
        Ok(Self {
            data,
            per_row: input.views.map_or(0, |v| v.per_row),
            all: stacked_rows(input, device)?,
            batch_size: config.batch_size,
            neck,
            head,
            opt,
            device,
        })
    }

    /// One pass over the training rows in `order`, a batch at a time.
    fn epoch(
        &mut self,
        order: &[u32],
        schedule: &mut Schedule,
        rng: &mut SplitMix64,
        cancel: &CancelToken,
    ) -> Result<Tally> {
        let mut tally = Tally::default();
        for batch in order.chunks(self.batch_size) {
            if cancel.is_cancelled() {
                return Err(Error::Cancelled);
            }
            let lr = schedule.next_lr();
            // BatchNorm cannot normalise a batch of one: skip such a tail.
            if batch.len() < 2 {
                continue;
            }
            self.opt.set_learning_rate(lr);
            let (loss, correct) = self.step(batch, rng)?;
            tally.loss_sum += loss * batch.len() as f64;
            tally.correct += correct;
            tally.seen += batch.len();
        }
        Ok(tally)
    }

    /// One AdamW step on `batch` (training row indices), each row drawn as
    /// itself or one of its views; returns the mean loss and how many rows
    /// the margin-free cosine puts in their class.
    fn step(&mut self, batch: &[u32], rng: &mut SplitMix64) -> Result<(f64, usize)> {
        let labels: Vec<u32> = batch
            .iter()
            .map(|&i| self.data.labels[i as usize])
            .collect();
        let (n, per_row) = (self.data.len(), self.per_row);
        let picked: Vec<u32> = if per_row == 0 {
            batch.to_vec()
        } else {
            batch
                .iter()
                .map(|&i| match rng.below(per_row + 1) {
                    0 => i,
                    j => (n + i as usize * per_row + j - 1) as u32,
                })
                .collect()
        };
        let index = Tensor::from_slice(&picked, picked.len(), self.device)?;
        let x = self.all.index_select(&index, 0)?;
        let target = Tensor::from_slice(&labels, labels.len(), self.device)?;
        let (logits, cosine) = self
            .head
            .forward(&self.neck.forward_t(&x, true)?, &labels)?;
        let loss = candle_nn::loss::cross_entropy(&logits, &target)?;
        self.opt.backward_step(&loss)?;
        let predicted = cosine.argmax(1)?.to_vec1::<u32>()?;
        let correct = predicted
            .iter()
            .zip(&labels)
            .filter(|(p, l)| p == l)
            .count();
        Ok((loss.to_scalar::<f32>()? as f64, correct))
    }

    /// The neck and head with the best epoch's weights when validation
    /// chose one, else the last epoch's.
    fn into_trained(
        self,
        best: Option<Best>,
        history: Vec<EpochStats>,
        bn_eps: f64,
    ) -> Result<Trained> {
        let (neck, best_epoch) = match best {
            Some(best) => {
                self.head.weight.set(&best.head)?;
                let neck = TrainNeck::from_safetensors(&best.neck, bn_eps, self.device)?;
                (neck, Some(best.epoch))
            }
            None => (self.neck, None),
        };
        Ok(Trained {
            neck,
            head: self.head,
            history,
            best_epoch,
        })
    }
}

/// The training rows as one device tensor, their views (if any) after them.
fn stacked_rows(input: &TrainData<'_>, device: &Device) -> Result<Tensor> {
    let (data, n) = (&input.train, input.train.len());
    Ok(match &input.views {
        Some(v) if v.per_row > 0 => {
            let mut both = Vec::with_capacity(data.rows.len() + v.rows.len());
            both.extend_from_slice(data.rows);
            both.extend_from_slice(v.rows);
            Tensor::from_vec(both, (n * (1 + v.per_row), data.dim), device)?
        }
        _ => Tensor::from_slice(data.rows, (n, data.dim), device)?,
    })
}

#[cfg(test)]
pub(crate) mod tests;
