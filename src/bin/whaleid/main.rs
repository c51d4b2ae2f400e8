//! `whaleid`: the command-line shell over the engine.
//!
//! Every subcommand parses its arguments, opens what it needs from the engine,
//! and prints JSON lines (one per photo or crop) so scripts can consume the
//! output; per-file failures are lines with an `error`, never a stopped run.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use serde_json::json;

use whaleid::detect::{BBox, Detector};
use whaleid::embed::{self, Crop, Embedder};
use whaleid::packs::Pack;
use whaleid::photo::{self, Photo};
use whaleid::runtime::{self, Device, SessionConfig};
use whaleid::CancelToken;

#[derive(Parser, Debug)]
#[command(
    name = "whaleid",
    version,
    about = "Offline photo-identification of whales and dolphins"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Show the ONNX Runtime library, its providers, and validate a pack.
    Doctor {
        #[command(flatten)]
        models: ModelArgs,
    },
    /// Find fins and bodies; one JSON line per photo.
    Detect {
        /// Photos to read.
        #[arg(required = true)]
        images: Vec<PathBuf>,
        #[command(flatten)]
        models: ModelArgs,
    },
    /// Embed crops; one JSON line per crop.
    Embed {
        #[arg(required = true)]
        images: Vec<PathBuf>,
        #[command(flatten)]
        models: ModelArgs,
        /// Embed this box (x1,y1,x2,y2 in photo pixels) instead of detecting.
        #[arg(long = "box", value_parser = parse_box)]
        bbox: Option<BBox>,
        /// Embed the whole photo even when the pack has a detector.
        #[arg(long)]
        whole: bool,
        /// Print the full embedding, not only its digest.
        #[arg(long)]
        full: bool,
        /// Write each backbone's input tensor and neck output as .npy files here (for parity checks).
        #[arg(long)]
        dump: Option<PathBuf>,
        /// Crops per inference batch.
        #[arg(long, default_value_t = embed::DEFAULT_BATCH)]
        batch: usize,
    },
}

#[derive(Args, Debug)]
struct ModelArgs {
    /// Model pack folder [default: $WHALEID_PACK, else the bundled generic pack].
    #[arg(long)]
    pack: Option<PathBuf>,
    /// Execution device: auto, cpu, cuda or directml.
    #[arg(long, default_value = "auto")]
    device: Device,
    /// Threads per model (0: all cores).
    #[arg(long, default_value_t = 0)]
    threads: usize,
}

impl ModelArgs {
    fn pack_dir(&self) -> PathBuf {
        self.pack
            .clone()
            .or_else(|| std::env::var_os("WHALEID_PACK").map(PathBuf::from))
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("models/generic"))
    }

    fn session(&self) -> SessionConfig {
        SessionConfig {
            device: self.device,
            intra_threads: self.threads,
        }
    }

    fn load_pack(&self) -> Result<Pack> {
        Ok(Pack::load(self.pack_dir())?)
    }
}

fn parse_box(s: &str) -> Result<BBox, String> {
    let v: Vec<f32> = s
        .split(',')
        .map(|p| p.trim().parse::<f32>())
        .collect::<Result<_, _>>()
        .map_err(|e| format!("box `{s}`: {e}"))?;
    match v[..] {
        [x1, y1, x2, y2] if x2 > x1 && y2 > y1 => Ok(BBox { x1, y1, x2, y2 }),
        _ => Err(format!(
            "box `{s}` must be x1,y1,x2,y2 with x2 > x1 and y2 > y1"
        )),
    }
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("WHALEID_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(Cli::parse()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("whaleid: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Doctor { models } => doctor(&models),
        Command::Detect { images, models } => detect(&images, &models),
        Command::Embed {
            images,
            models,
            bbox,
            whole,
            full,
            dump,
            batch,
        } => embed_cmd(
            &images,
            &models,
            EmbedOptions {
                bbox,
                whole,
                full,
                dump,
                batch,
            },
        ),
    }
}

fn print_line(value: serde_json::Value) -> Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{value}")?;
    Ok(())
}

fn error_line(file: &Path, e: &whaleid::Error) -> serde_json::Value {
    json!({"file": file, "error": {"kind": e.kind(), "message": e.to_string()}})
}

fn doctor(models: &ModelArgs) -> Result<ExitCode> {
    let info = runtime::init()?;
    println!(
        "ONNX Runtime {} at {}",
        info.version,
        info.library.display()
    );
    println!(
        "providers in the library: {}",
        info.providers_compiled.join(", ")
    );
    let built: Vec<&str> = ["cpu"]
        .into_iter()
        .chain(cfg!(feature = "cuda").then_some("cuda"))
        .chain(cfg!(feature = "directml").then_some("directml"))
        .collect();
    println!("providers in this build: {}", built.join(", "));
    let dir = models.pack_dir();
    let pack = Pack::load(&dir)?;
    println!(
        "pack {} {} at {}: valid ({} backbone(s), {}-d embedding, detector: {})",
        pack.name(),
        pack.version(),
        dir.display(),
        pack.backbones.len(),
        pack.embedding_dim(),
        if pack.detector.is_some() { "yes" } else { "no" }
    );
    let config = models.session();
    if let Some((spec, file)) = &pack.detector {
        let d = Detector::open(spec, file, &config)?;
        println!(
            "  detector {}: runs on {}",
            file.display(),
            d.info().provider
        );
    }
    let e = Embedder::open(&pack, &config)?;
    for w in e.workers() {
        println!("  backbone {}: runs on {}", w.file.display(), w.provider);
    }
    Ok(ExitCode::SUCCESS)
}

/// Decode photos, turning failures into JSON error lines.
fn open_photos(images: &[PathBuf]) -> Result<(Vec<Photo>, bool)> {
    let mut photos = Vec::new();
    let mut failed = false;
    for path in images {
        match photo::open(path, photo::DEFAULT_MAX_PIXELS) {
            Ok(p) => photos.push(p),
            Err(e) => {
                failed = true;
                print_line(error_line(path, &e))?;
            }
        }
    }
    Ok((photos, failed))
}

fn exit_code(failed: bool) -> ExitCode {
    if failed {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}

fn detect(images: &[PathBuf], models: &ModelArgs) -> Result<ExitCode> {
    let pack = models.load_pack()?;
    let (spec, file) = pack
        .detector
        .as_ref()
        .with_context(|| format!("pack `{}` has no detector", pack.name()))?;
    let detector = Detector::open(spec, file, &models.session())?;
    let (photos, failed) = open_photos(images)?;
    let cancel = CancelToken::new();
    for photo in &photos {
        let found = detector.detect(&[&photo.image], &cancel)?;
        print_line(json!({
            "file": photo.path,
            "width": photo.width(),
            "height": photo.height(),
            "provider": detector.info().provider,
            "detections": found[0],
        }))?;
    }
    Ok(exit_code(failed))
}

struct EmbedOptions {
    bbox: Option<BBox>,
    whole: bool,
    full: bool,
    dump: Option<PathBuf>,
    batch: usize,
}

fn embed_cmd(images: &[PathBuf], models: &ModelArgs, opts: EmbedOptions) -> Result<ExitCode> {
    let pack = models.load_pack()?;
    let config = models.session();
    let embedder = Embedder::open(&pack, &config)?.with_batch(opts.batch);
    let detector = match (&pack.detector, opts.bbox.is_some() || opts.whole) {
        (Some((spec, file)), false) => Some(Detector::open(spec, file, &config)?),
        _ => None,
    };
    let providers: Vec<String> = embedder
        .workers()
        .map(|w| format!("{}", w.provider))
        .collect();
    let (photos, mut failed) = open_photos(images)?;
    let cancel = CancelToken::new();
    if let Some(dir) = &opts.dump {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    for photo in &photos {
        let regions: Vec<(Option<BBox>, Option<whaleid::detect::Detection>)> = match &detector {
            Some(d) => d
                .detect(&[&photo.image], &cancel)?
                .remove(0)
                .into_iter()
                .filter(|det| det.embed)
                .map(|det| (Some(det.crop), Some(det)))
                .collect(),
            None => vec![(
                opts.bbox
                    .map(|b| b.clip(photo.width() as f32, photo.height() as f32)),
                None,
            )],
        };
        if regions.is_empty() {
            failed = true;
            print_line(
                json!({"file": photo.path, "error": {"kind": "no_detection", "message": format!("{}: no detection above the pack's confidence threshold", photo.path.display())}}),
            )?;
            continue;
        }
        let crops: Vec<Crop> = regions
            .iter()
            .map(|(region, _)| Crop {
                image: &photo.image,
                region: *region,
            })
            .collect();
        let embeddings = embedder.embed(&crops, &cancel)?;
        for (i, ((region, detection), emb)) in regions.iter().zip(&embeddings).enumerate() {
            if let Some(dir) = &opts.dump {
                dump(dir, &embedder, photo, crops[i], i, emb)?;
            }
            let norm = emb.vector.iter().map(|x| x * x).sum::<f32>().sqrt();
            let mut line = json!({
                "file": photo.path,
                "crop": region,
                "detection": detection,
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
    photo: &Photo,
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
