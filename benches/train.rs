//! Time per training epoch over cached backbone features, printed as a table.
//!
//! `cargo bench --bench train -- [--sizes 1k,10k,50k] [--epochs N] [--dim F]
//! [--embedding D] [--batch B]`
//!
//! Rows are clustered like a catalogue's GeM features (ten photos per
//! individual around its centre), so the ArcFace head has `n / 10` classes;
//! defaults are the pack's shape, 1280 features to a 512-d embedding. Only
//! the epochs are timed: the rows stand in for the feature cache.
//!
//! First measurement (2-core dev machine, CPU, `--profile dev`, where the
//! dependencies doing the arithmetic are built at opt-level 3): 1k rows
//! 0.38 s/epoch, 10k 8.4 s, 50k 117 s. A step costs ~47 ms with 100 classes,
//! ~106 ms with 1,000 and ~300 ms with 5,000: the ArcFace head, not the
//! neck, dominates at catalogue scale.

use std::time::Instant;

use candle_core::Device;
use whaleid::rng::SplitMix64;
use whaleid::train::{fit, Dataset, FitConfig, TrainData};
use whaleid::CancelToken;

fn main() {
    // `cargo test --all-targets` runs bench binaries too, unoptimised.
    if !std::env::args().any(|a| a == "--bench") {
        println!("train bench: run it with `cargo bench --bench train`");
        return;
    }
    if let Err(e) = run() {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

fn size(s: &str) -> Result<usize, String> {
    let (digits, mult) = match s.strip_suffix('k') {
        Some(d) => (d, 1000),
        None => (s, 1),
    };
    digits
        .parse::<usize>()
        .map(|n| n * mult)
        .map_err(|_| format!("not a size: {s}"))
}

fn run() -> Result<(), String> {
    let mut sizes = vec![1_000, 10_000, 50_000];
    let (mut epochs, mut dim, mut embedding, mut batch) = (2, 1280, 512, 128);
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--sizes" => sizes = value()?.split(',').map(size).collect::<Result<_, _>>()?,
            "--epochs" => epochs = size(&value()?)?,
            "--dim" => dim = size(&value()?)?,
            "--embedding" => embedding = size(&value()?)?,
            "--batch" => batch = size(&value()?)?,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    println!("| rows | classes | features → embedding | batch | s/epoch | rows/s |");
    println!("|---:|---:|---|---:|---:|---:|");
    for n in sizes {
        let classes = (n / 10).max(2);
        let mut rng = SplitMix64::new(n as u64);
        let centres: Vec<f32> = (0..classes * dim).map(|_| rng.normal() as f32).collect();
        let mut rows = Vec::with_capacity(n * dim);
        let labels: Vec<u32> = (0..n).map(|i| (i % classes) as u32).collect();
        for &l in &labels {
            let c = &centres[l as usize * dim..(l as usize + 1) * dim];
            rows.extend(c.iter().map(|v| v + 0.8 * rng.normal() as f32));
        }
        let input = TrainData {
            train: Dataset {
                rows: &rows,
                dim,
                labels: &labels,
            },
            val: None,
            classes,
        };
        let config = FitConfig {
            epochs,
            batch_size: batch,
            embedding_dim: embedding,
            ..FitConfig::default()
        };
        let started = Instant::now();
        let trained = fit(
            &input,
            None,
            &config,
            &Device::Cpu,
            &CancelToken::new(),
            |_| {},
        )
        .map_err(|e| e.to_string())?;
        let per_epoch = started.elapsed().as_secs_f64() / trained.history.len() as f64;
        println!(
            "| {n} | {classes} | {dim} → {embedding} | {batch} | {per_epoch:.2} | {:.0} |",
            n as f64 / per_epoch
        );
    }
    Ok(())
}
