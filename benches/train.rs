//! Time per training epoch over cached backbone features, printed as a table.
//!
//! `cargo bench --bench train -- [--sizes 1k,10k,50k] [--epochs N] [--dim F]
//! [--embedding D] [--batch B] [--views K] [--label-only] [--gpu]`
//!
//! `--gpu` trains on CUDA device 0 (build with `--features train-cuda`); it
//! is an error, not a CPU run, when that device cannot be had.
//!
//! Rows are clustered like a catalogue's GeM features (ten photos per
//! individual around its centre), so the ArcFace head has `n / 10` classes;
//! defaults are the pack's shape, 1280 features to a 512-d embedding. Every
//! fifth row is held out for the per-epoch validation MAP@5, as a fine-tune
//! does; the rows stand in for the feature cache. With `--views K` each
//! training row also has K augmented views (the row plus a little noise),
//! as a fine-tune with the view cache has; an epoch draws one of the K + 1
//! per row, so its cost should barely change. `--label-only` skips the
//! every-column run.
//!
//! Measured on this project's 2-core machine (`cargo bench`, CPU), with the
//! margin on the label's column (the default) and on every column (what
//! label smoothing needs), in the same run:
//!
//! | rows | classes | label column s/epoch | every column s/epoch |
//! |---:|---:|---:|---:|
//! | 1k | 100 | 0.26 | 0.26 |
//! | 10k | 1,000 | 4.39 (20 epochs: 88 s) | 5.36 (107 s) |
//! | 50k | 5,000 | 86 | 104 |
//!
//! A 10k-detection fine-tune of 20 epochs, validation included, stays under
//! the two-minute target.
//!
//! With K = 8 views per row (`--views 8 --label-only`) an epoch still draws
//! one row per detection, so it costs the same: back to back on the same
//! (shared, load average ~5) machine, 10k rows took 13.8 s/epoch without
//! views and 11.8 s/epoch with 8; a 40-epoch run (the fine-tune's default)
//! took 777 s (19.4 s/epoch) under a load average of 5–8, where the quiet
//! machine's 4.4 s/epoch makes it about 3 minutes. The views hold 8 × 8k ×
//! 1280 floats in memory (the process peaked near 0.9 GiB). At 50k the ArcFace head's matrix products and its
//! AdamW update (5,000 × 512 weights) dominate a step.

use std::time::Instant;

use candle_core::Device;
use whaleid::rng::SplitMix64;
use whaleid::train::{fit, ArcFaceConfig, Dataset, FitConfig, TrainData, Views};
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
    let (mut views, mut label_only, mut gpu) = (0, false, false);
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--sizes" => sizes = value()?.split(',').map(size).collect::<Result<_, _>>()?,
            "--epochs" => epochs = size(&value()?)?,
            "--dim" => dim = size(&value()?)?,
            "--embedding" => embedding = size(&value()?)?,
            "--batch" => batch = size(&value()?)?,
            "--views" => views = size(&value()?)?,
            "--label-only" => label_only = true,
            "--gpu" => gpu = true,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let device = if gpu {
        whaleid::train::cuda_device().map_err(|e| format!("--gpu: {e}"))?
    } else {
        Device::Cpu
    };
    println!("device: {}", if gpu { "CUDA device 0" } else { "CPU" });
    println!(
        "{epochs} epochs per run; every 5th row held out for the per-epoch validation MAP@5, as a fine-tune does"
    );
    println!("| rows | classes | views | features → embedding | batch | ArcFace logits | s/epoch | total s | rows/s |");
    println!("|---:|---:|---:|---|---:|---|---:|---:|---:|");
    for n in sizes {
        let classes = (n / 10).max(2);
        let mut rng = SplitMix64::new(n as u64);
        let centres: Vec<f32> = (0..classes * dim).map(|_| rng.normal() as f32).collect();
        let (mut train, mut train_labels, mut val, mut val_labels) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for i in 0..n {
            let l = (i % classes) as u32;
            let c = &centres[l as usize * dim..(l as usize + 1) * dim];
            let (rows, labels) = if i % 5 == 4 {
                (&mut val, &mut val_labels)
            } else {
                (&mut train, &mut train_labels)
            };
            rows.extend(c.iter().map(|v| v + 0.8 * rng.normal() as f32));
            labels.push(l);
        }
        let view_rows: Vec<f32> = train
            .chunks(dim)
            .flat_map(|row| {
                (0..views)
                    .flat_map(|_| {
                        row.iter()
                            .map(|v| v + 0.3 * rng.normal() as f32)
                            .collect::<Vec<_>>()
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        let input = TrainData {
            views: (views > 0).then_some(Views {
                rows: &view_rows,
                per_row: views,
            }),
            train: Dataset {
                rows: &train,
                dim,
                labels: &train_labels,
            },
            val: Some(Dataset {
                rows: &val,
                dim,
                labels: &val_labels,
            }),
            classes,
        };
        // The label's column only (the default), and every column (what
        // label smoothing needs; a negligible eps selects that path).
        let paths: &[(&str, f64)] = if label_only {
            &[("label column", 0.0)]
        } else {
            &[("label column", 0.0), ("every column", 1e-9)]
        };
        for &(path, ls_eps) in paths {
            let config = FitConfig {
                epochs,
                batch_size: batch,
                embedding_dim: embedding,
                arcface: ArcFaceConfig {
                    ls_eps,
                    ..ArcFaceConfig::default()
                },
                ..FitConfig::default()
            };
            let started = Instant::now();
            let trained = fit(&input, None, &config, &device, &CancelToken::new(), |_| {})
                .map_err(|e| e.to_string())?;
            let total = started.elapsed().as_secs_f64();
            let per_epoch = total / trained.history.len() as f64;
            println!(
                "| {n} | {classes} | {views} | {dim} → {embedding} | {batch} | {path} | {per_epoch:.2} | {total:.1} | {:.0} |",
                n as f64 / per_epoch
            );
        }
    }
    Ok(())
}
