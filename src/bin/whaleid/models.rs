//! Model commands: `doctor`, `detect`, `embed`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use serde_json::json;

use whaleid::about::{About, PackInUse};
use whaleid::detect::{BBox, Detector, Frame};
use whaleid::embed::{self, Crop, Embedder};
use whaleid::ingest::{pipeline, Pipeline, Region};
use whaleid::packs::Pack;
use whaleid::photo::{self, Picture};
use whaleid::runtime;
use whaleid::CancelToken;

use crate::{exit_code, print_line, ModelArgs};

pub fn doctor(models: &ModelArgs) -> Result<ExitCode> {
    // What a bug report needs first (the same lines as the app's About),
    // printed even when the runtime or the pack is missing. Written, not
    // `println!`ed: `whaleid doctor | head -1` is then an error (broken
    // pipe), not a panic.
    let mut out = std::io::stdout().lock();
    let mut about = About::gather();
    let pack = models.pack_dir().and_then(|dir| Ok(Pack::load(dir)?));
    if let Ok(pack) = &pack {
        about.pack = Some(PackInUse::of(pack));
    }
    for line in about.lines() {
        writeln!(out, "{}", whaleid::catalogue::codes::shown(&line))?;
    }
    runtime::init()?;
    let pack = pack?;
    writeln!(
        out,
        "pack valid: {} backbone(s), {}-d embedding, detector: {}",
        pack.backbones.len(),
        pack.embedding_dim(),
        if pack.detector.is_some() { "yes" } else { "no" }
    )?;
    let config = models.session();
    let detector = match &pack.detector {
        Some((spec, file)) => Some(Detector::open(spec, file, &config)?),
        None => None,
    };
    if let Some(d) = &detector {
        writeln!(
            out,
            "  detector {}: runs on {}",
            whaleid::catalogue::codes::shown(&d.info().file.display().to_string()),
            d.info().provider
        )?;
    }
    let e = Embedder::open(&pack, &config)?;
    for w in e.workers() {
        writeln!(
            out,
            "  backbone {}: runs on {}",
            whaleid::catalogue::codes::shown(&w.file.display().to_string()),
            w.provider
        )?;
    }
    // The one line to read: what inference really runs on, with the
    // reason when `auto` wanted a GPU and got the CPU (also on stderr, so
    // a fallback is seen even when stdout goes to a file).
    let ran_on = runtime::RanOn::of(detector.iter().map(Detector::info).chain(e.workers()));
    writeln!(
        out,
        "ran on: {}",
        whaleid::catalogue::codes::shown(&ran_on.to_string())
    )?;
    if let Some(why) = &ran_on.fallback {
        tell!("warning: {why}; running on the CPU");
    }
    Ok(ExitCode::SUCCESS)
}

pub fn detect(images: &[PathBuf], models: &ModelArgs) -> Result<ExitCode> {
    let pack = models.load_pack()?;
    let (spec, file) = pack
        .detector
        .as_ref()
        .with_context(|| format!("pack `{}` has no detector", pack.name()))?;
    let detector = Detector::open(spec, file, &models.session())?;
    // One photo at a time, decoded as ingest decodes it (a camera-size
    // JPEG at the DCT scale the detector's input needs): the boxes are
    // ingest's, and no folder of 24 MP photos is held in full at once.
    let plan = pipeline::view_plan(&pack, false);
    let cancel = CancelToken::new();
    let mut failed = false;
    for path in images {
        let picture = match photo::open_picture(
            path,
            photo::DEFAULT_MAX_PIXELS,
            pack.jpeg_decoder(),
            &plan,
        ) {
            Ok(p) => p,
            Err(e) => {
                failed = true;
                print_line(crate::error_line(path, &e))?;
                continue;
            }
        };
        let found = detector.detect_frames(&[Frame::of(&picture)], &cancel)?;
        print_line(json!({
            "file": picture.path,
            "width": picture.width(),
            "height": picture.height(),
            "provider": detector.info().provider,
            "detections": found[0],
        }))?;
    }
    Ok(exit_code(failed))
}

pub struct EmbedOptions {
    pub bbox: Option<BBox>,
    pub whole: bool,
    pub full: bool,
    pub dump: Option<PathBuf>,
    pub batch: usize,
}

pub fn embed_cmd(images: &[PathBuf], models: &ModelArgs, opts: EmbedOptions) -> Result<ExitCode> {
    let pipeline = Pipeline::open(models.load_pack()?, &models.session())?.with_batch(opts.batch);
    let region = match (opts.bbox, opts.whole) {
        (Some(b), _) => Region::Box(b),
        (None, true) => Region::Whole,
        (None, false) => Region::Detect {
            best_only: false,
            whole_if_none: false,
        },
    };
    let providers: Vec<String> = pipeline
        .embedder()
        .workers()
        .map(|w| format!("{}", w.provider))
        .collect();
    let mut failed = false;
    let cancel = CancelToken::new();
    if let Some(dir) = &opts.dump {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    for path in images {
        let boxes = opts.bbox.is_some();
        let photo = match pipeline.open_photo(path, photo::DEFAULT_MAX_PIXELS, boxes) {
            Ok(p) => p,
            Err(e) => {
                failed = true;
                print_line(crate::error_line(path, &e))?;
                continue;
            }
        };
        let found = pipeline.run(&[(&photo, region)], &cancel)?.remove(0);
        if found.is_empty() {
            failed = true;
            print_line(
                json!({"file": photo.path, "error": {"kind": "no_detection", "message": format!("{}: no detection above the pack's confidence threshold", photo.path.display())}}),
            )?;
            continue;
        }
        for (i, f) in found.iter().enumerate() {
            let emb = &f.embedding;
            if let Some(dir) = &opts.dump {
                let (image, region) = f.pixels(&photo);
                let crop = Crop {
                    image,
                    region: Some(region),
                };
                dump(dir, pipeline.embedder(), &photo, crop, i, emb)?;
            }
            let norm = emb.vector.iter().map(|x| x * x).sum::<f32>().sqrt();
            let mut line = json!({
                "file": photo.path,
                "crop": f.crop,
                "class": f.class,
                "detection": f.detection,
                "providers": providers,
                "dim": emb.vector.len(),
                "norm": norm,
                "digest": embed::digest(&emb.vector),
            });
            if opts.full {
                line["embedding"] = json!(emb.vector);
            }
            print_line(line)?;
        }
    }
    Ok(exit_code(failed))
}

fn dump(
    dir: &Path,
    embedder: &Embedder,
    photo: &Picture,
    crop: Crop<'_>,
    index: usize,
    emb: &embed::Embedding,
) -> Result<()> {
    let stem = photo
        .path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "photo".into());
    let stem = if index == 0 {
        stem
    } else {
        format!("{stem}_{index}")
    };
    for (b, backbone) in embedder.backbones().iter().enumerate() {
        let input = embedder.preprocess(b, crop, false);
        let shape = [1, input.shape()[0], input.shape()[1], input.shape()[2]];
        let name = &backbone.spec.name;
        whaleid::npy::write_f32(
            &dir.join(format!("{stem}.{name}.input.npy")),
            &shape,
            input
                .as_standard_layout()
                .as_slice()
                .expect("standard layout"),
        )?;
        whaleid::npy::write_f32(
            &dir.join(format!("{stem}.{name}.neck.npy")),
            &[emb.parts[b].len()],
            &emb.parts[b],
        )?;
    }
    Ok(())
}
