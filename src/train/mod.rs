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

/// Where a training run goes, with the words people are shown for it.
#[derive(Debug, Clone)]
pub struct TrainDevice {
    pub device: candle_core::Device,
    /// `CPU` or `CUDA device 0`.
    pub ran_on: String,
    /// Why the GPU was not used when this build could have used one: a
    /// CUDA request that ended on the CPU is said, never silent.
    pub fallback: Option<String>,
}

impl TrainDevice {
    pub fn cpu() -> Self {
        TrainDevice {
            device: candle_core::Device::Cpu,
            ran_on: "CPU".into(),
            fallback: None,
        }
    }
}

/// The first CUDA GPU, or why it cannot be used.
pub fn cuda_device() -> std::result::Result<candle_core::Device, String> {
    #[cfg(feature = "train-cuda")]
    {
        candle_core::Device::new_cuda(0)
            .map_err(|e| format!("CUDA device 0 could not be used: {e}"))
    }
    #[cfg(not(feature = "train-cuda"))]
    {
        Err("this build has no CUDA training backend (build with --features train-cuda)".into())
    }
}

/// Where training runs when the GPU is asked for: the first CUDA GPU, or an
/// error saying why not (`whaleid train --gpu` never trains on the CPU
/// without saying so).
pub fn gpu_device() -> crate::error::Result<TrainDevice> {
    cuda_device()
        .map(|device| TrainDevice {
            device,
            ran_on: "CUDA device 0".into(),
            fallback: None,
        })
        .map_err(|why| crate::error::Error::Invalid(format!("training on the GPU: {why}")))
}

/// Where training runs when the GPU is welcome but not required (the app):
/// the first CUDA GPU when this build has `train-cuda` and one answers, else
/// the CPU, with the reason kept when a CUDA build could not use its GPU.
pub fn auto_device() -> TrainDevice {
    if !cfg!(feature = "train-cuda") {
        return TrainDevice::cpu();
    }
    match gpu_device() {
        Ok(d) => d,
        Err(e) => TrainDevice {
            fallback: Some(e.to_string()),
            ..TrainDevice::cpu()
        },
    }
}
