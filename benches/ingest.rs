//! Ingest throughput, measured in one run (a bench that prints a table, not a
//! timed test):
//!
//! * WhaleID end to end: `ingest::survey::ingest` into a fresh catalogue
//!   (decode workers, batched inference, thumbnails, crops, SQLite);
//! * the ceiling: ONNX Runtime alone on the already-preprocessed tensors of
//!   the same photos, same batch and threads;
//! * a reference: `benches/ingest_reference.py` (Pillow, numpy, onnxruntime)
//!   doing the same model work on the same files, when a Python with those
//!   packages is given.
//!
//! `cargo bench --bench ingest -- IMAGES_DIR [--pack DIR] [--batch N]
//!  [--threads N] [--device auto|cpu|cuda] [--python PY]`
//!
//! `--device cuda` runs the models on the GPU (an error if they cannot);
//! the header says what they ran on.

use std::path::PathBuf;
use std::time::Instant;

use ndarray::{Array4, Axis};
use sha2::Digest;
use whaleid::catalogue::Catalogue;
use whaleid::detect::BBox;
use whaleid::embed::{Crop, Embedder};
use whaleid::ingest::survey::{ingest, IngestOptions};
use whaleid::ingest::{labels, media, Pipeline};
use whaleid::packs::Pack;
use whaleid::runtime::{Device, InferenceWorker, SessionConfig};
use whaleid::CancelToken;

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let mut images = None;
    let mut pack_dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/models/generic"));
    let (mut batch, mut threads, mut python) = (8usize, 0usize, None);
    let mut bench = false;
    let mut device = Device::Auto;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--bench" => bench = true,
            "--pack" => pack_dir = args.next().ok_or("--pack DIR")?.into(),
            "--batch" => batch = args.next().ok_or("--batch N")?.parse()?,
            "--threads" => threads = args.next().ok_or("--threads N")?.parse()?,
            "--python" => python = Some(args.next().ok_or("--python PY")?),
            "--device" => device = args.next().ok_or("--device D")?.parse()?,
            other => images = Some(PathBuf::from(other)),
        }
    }
    // `cargo test --all-targets` runs this unoptimised without `--bench`.
    let (true, Some(images)) = (bench, images) else {
        println!(
            "ingest bench: cargo bench --bench ingest -- IMAGES_DIR [--pack DIR] [--python PY]"
        );
        return Ok(());
    };
    let files = labels::image_files(&images)?;
    let cores = match threads {
        0 => std::thread::available_parallelism()?.get(),
        n => n,
    };
    let config = SessionConfig {
        device,
        intra_threads: threads,
        ..SessionConfig::default()
    };
    let pack = Pack::load(&pack_dir)?;
    println!(
        "ingest bench: {} photos from {}, pack {} {}, batch {batch}, ORT threads {}",
        files.len(),
        images.display(),
        pack.name(),
        pack.version(),
        if threads == 0 {
            "all".to_string()
        } else {
            threads.to_string()
        }
    );

    // 1. End to end, with ORT's idle threads spinning (its default) and not.
    let run_e2e = |spin: bool| -> Result<(f64, usize, usize), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let mut cat = Catalogue::create(dir.path().join("cat"))?;
        let config = SessionConfig { spin, ..config };
        let pipeline = Pipeline::open(pack.clone(), &config)?.with_batch(batch);
        if !spin {
            println!("ran on: {}", pipeline.ran_on());
        }
        let options = IngestOptions {
            batch,
            ..IngestOptions::default()
        };
        let report = ingest(
            &mut cat,
            &pipeline,
            &files,
            &options,
            &mut |_| {},
            &CancelToken::new(),
        )?;
        Ok((
            report.new_photos as f64 / report.seconds,
            report.new_photos,
            report.detections,
        ))
    };
    let rss_before = peak_rss_mb();
    let (e2e_spin, _, _) = run_e2e(true)?;
    let (e2e, new_photos, detections) = run_e2e(false)?;
    let rss_e2e = peak_rss_mb();

    // 2. Ceiling: inference alone on preprocessed tensors (first backbone;
    //    the generic pack has one).
    let embedder = Embedder::open(&pack, &config)?;
    let backbone = &pack.backbones[0];
    let [h, w] = backbone.spec.input_size;
    let mut tensors = Vec::new();
    // Where a photo's CPU time goes outside inference, one thread, in the
    // order the pipeline does it: [read, sha256, decode, EXIF, thumbnail,
    // model input, crop].
    let mut stage = [0f64; 7];
    let scratch = tempfile::tempdir()?;
    for f in &files {
        let mut clock = Instant::now();
        let mut lap = |i: usize| {
            stage[i] += clock.elapsed().as_secs_f64();
            clock = Instant::now();
        };
        let bytes = std::fs::read(f)?;
        lap(0);
        let _ = sha2::Sha256::digest(&bytes);
        lap(1);
        let photo = whaleid::photo::decode(f, &bytes, whaleid::photo::DEFAULT_MAX_PIXELS)?;
        lap(2);
        let _ = whaleid::photo::meta::read(&bytes);
        lap(3);
        media::save_thumbnail(&photo.image, &scratch.path().join("t.jpg"))?;
        lap(4);
        tensors.push(embedder.preprocess(
            0,
            Crop {
                image: &photo.image,
                region: None,
            },
            false,
        ));
        lap(5);
        let whole = BBox {
            x1: 0.0,
            y1: 0.0,
            x2: photo.width() as f32,
            y2: photo.height() as f32,
        };
        media::save_region(
            &photo.image,
            whole,
            media::CROP_SIDE,
            &scratch.path().join("c.jpg"),
        )?;
        lap(6);
    }
    drop(embedder);
    let worker = InferenceWorker::spawn(&backbone.onnx, &config)?;
    let cancel = CancelToken::new();
    let started = Instant::now();
    for chunk in tensors.chunks(batch) {
        let mut input = Array4::<f32>::zeros((chunk.len(), 3, h as usize, w as usize));
        for (t, mut slot) in chunk.iter().zip(input.axis_iter_mut(Axis(0))) {
            slot.assign(t);
        }
        worker.run(input, &cancel)?;
    }
    let ceiling = tensors.len() as f64 / started.elapsed().as_secs_f64();

    // 3. Python reference.
    let reference = python.map(|py| -> Result<f64, Box<dyn std::error::Error>> {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/ingest_reference.py");
        let t = cores;
        let out = std::process::Command::new(py)
            .arg(script)
            .arg(&pack_dir)
            .arg(batch.to_string())
            .arg(t.to_string())
            .args(&files)
            .output()?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).into_owned().into());
        }
        let v: serde_json::Value = serde_json::from_slice(&out.stdout)?;
        Ok(v["photos"].as_f64().unwrap_or(0.0) / v["seconds"].as_f64().unwrap_or(f64::NAN))
    });

    println!("| measure | photos/s | ratio | notes |");
    println!("|---|---:|---:|---|");
    println!(
        "| WhaleID ingest end to end | {e2e:.1} | {:.2} of ceiling | {new_photos} photos, {detections} detections; thumbnails, crops, SQLite; peak RSS {rss_e2e:.0} MB (before {rss_before:.0} MB) |",
        e2e / ceiling,
    );
    println!(
        "| same, ORT threads spinning | {e2e_spin:.1} | {:.2} of ceiling | ORT's default; spinning threads take the decoders' cores |",
        e2e_spin / ceiling,
    );
    println!("| ORT inference alone (ceiling) | {ceiling:.1} | 1.00 | preprocessed tensors, batch {batch} |");
    match reference {
        Some(Ok(r)) => println!(
            "| Python reference (Pillow + numpy + onnxruntime) | {r:.1} | WhaleID = {:.2}× | same files, batch, threads; no storage |",
            e2e / r
        ),
        Some(Err(e)) => println!("| Python reference | – | – | failed: {e} |"),
        None => println!("| Python reference | – | – | not run: give --python PY (with pillow, numpy, onnxruntime, safetensors) |"),
    }
    let per_photo = |t: f64| t / files.len() as f64 * 1e3;
    let outside: f64 = stage.iter().map(|&t| per_photo(t)).sum();
    // ORT's threads at the ceiling, in core-milliseconds per photo.
    let inference_core_ms = 1e3 / ceiling * cores as f64;
    let machine = std::thread::available_parallelism()?.get();
    println!();
    println!("| stage, one thread | ms per photo |");
    println!("|---|---:|");
    for (name, t) in [
        "read file",
        "SHA-256",
        "decode (EXIF orientation, pixel limit)",
        "EXIF metadata",
        "thumbnail (resize + JPEG)",
        "model input (resize + normalise)",
        "crop (resize + JPEG)",
    ]
    .iter()
    .zip(stage)
    {
        println!("| {name} | {:.2} |", per_photo(t));
    }
    println!("| all but inference | {outside:.2} |");
    println!(
        "| inference at the ceiling, core-ms ({cores} ORT threads) | {inference_core_ms:.2} |"
    );
    println!(
        "\nWith all {machine} cores busy and inference no faster than its ceiling, end to end cannot pass {:.1} photos/s.",
        (machine as f64 * 1e3 / (outside + inference_core_ms)).min(ceiling)
    );
    Ok(())
}
