//! Fine-tuning the necks and ArcFace heads on the catalogue's own individuals.
//!
//! The backbones stay frozen: their GeM features are computed once per
//! detection and cached, so an epoch is only `BatchNorm1d → Linear → ArcFace`
//! over in-memory rows. [`model::TrainNeck`] is that neck (initialised from a
//! pack's `bn.*`/`linear.*` tensors or at random from a seed),
//! [`arcface::ArcMarginProduct`] the head (sub-centres and per-individual
//! dynamic margins optional), and [`fit::fit`] the loop: AdamW, a cosine
//! schedule with warm-up, batches shuffled by a seeded [`crate::rng::SplitMix64`],
//! and early stopping on validation MAP@5 ([`validate`]).
//! The trained neck is written back with the pack's tensor names, so
//! [`crate::packs::Neck`] loads it like any shipped neck.
//!
//! Why candle (`candle-core`/`candle-nn`) rather than burn: it is actively
//! maintained, its CPU build is small and needs no system libraries, it reads
//! and writes safetensors natively (the pack format), and its CUDA backend is
//! a cargo feature we expose as `train-cuda` (→ `candle-core/cuda`), so the
//! default build stays CPU-only. burn would bring a larger dependency tree and
//! its own record format for what is a three-layer model.
//!
//! Candle's CPU random generator cannot be seeded, so every random number here
//! (initial weights, batch order) comes from [`crate::rng::SplitMix64`]: a run is
//! reproducible for a seed.

pub mod arcface;
pub mod backfill;
pub mod finetune;
pub mod fit;
pub mod job;
pub mod model;
pub mod split;
pub mod validate;
pub mod versions;
pub mod views;

pub use arcface::{ArcFaceConfig, ArcMarginProduct, DynamicMargin};
pub use fit::{fit, lr_at, Dataset, EpochStats, FitConfig, TrainData, Trained, Views};
pub use model::TrainNeck;
pub use validate::knn_map_at_5;

/// Where training runs: the first CUDA GPU when this build has `train-cuda`
/// and `allow_gpu` is set and one answers, else the CPU.
pub fn device(allow_gpu: bool) -> candle_core::Device {
    #[cfg(feature = "train-cuda")]
    if allow_gpu {
        if let Ok(d) = candle_core::Device::new_cuda(0) {
            return d;
        }
    }
    let _ = allow_gpu;
    candle_core::Device::Cpu
}
