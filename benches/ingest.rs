//! Ingest throughput and memory, on the sample's photos and on camera-size
//! copies of them, measured in one run (a bench that prints tables, not a
//! timed test):
//!
//! * WhaleID end to end: `ingest::survey::ingest` into a fresh catalogue
//!   (decode workers, batched inference, thumbnails, crops, SQLite), with
//!   its peak RSS;
//! * the ceiling: ONNX Runtime alone on the already-preprocessed tensors of
//!   the same photos, same batch and threads;
//! * a reference: `benches/ingest_reference.py` (Pillow with its DCT-scaled
//!   `draft()` decode, numpy, onnxruntime) doing the same model work on the
//!   same files, when a Python with those packages is given;
//! * where one photo's CPU time goes, stage by stage;
//! * JPEG decoders side by side on the camera-size photos;
//! * how far the reduced decode moves embeddings: the cosine, per crop, of
//!   each photo embedded from its reduced decode against the same photo
//!   decoded in full, whole and in its labelled box.
//!
//! `cargo bench --bench ingest -- IMAGES_DIR [--pack DIR] [--batch N]
//!  [--threads N] [--device auto|cpu|cuda] [--python PY] [--labels CSV]
//!  [--camera DIR | --camera-count N] [--large-count N] [--decode-threads N]`
//!
//! The camera-size set is 6000×4000 JPEGs (quality 92, 4:2:0) made at run
//! time from the first `--camera-count` (24) photos of IMAGES_DIR,
//! stretched, in a temporary folder that is removed afterwards; `--camera
//! DIR` takes a folder of them instead. `--large-count` (8; 0 skips) photos
//! are also made at 8192×5464 (45 MP) to state memory there. `--labels`
//! (default `IMAGES_DIR/../labels.csv` when there) gives the boxes of the
//! cosine check. `--device cuda` runs the models on the GPU (an error if
//! they cannot); the header says what they ran on.

use std::path::{Path, PathBuf};
use std::time::Instant;

use ndarray::{Array4, Axis};
use sha2::Digest;
use whaleid::catalogue::Catalogue;
use whaleid::detect::BBox;
use whaleid::embed::{Crop, Embedder};
use whaleid::ingest::pipeline::crop_pixels;
use whaleid::ingest::survey::{ingest, IngestOptions};
use whaleid::ingest::{labels, media, Pipeline, Region};
use whaleid::packs::Pack;
use whaleid::photo::{self, JpegDecoder, Picture, ViewPlan, DEFAULT_MAX_PIXELS};
use whaleid::runtime::{Device, InferenceWorker, SessionConfig};
use whaleid::CancelToken;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

/// This process's peak resident memory, in MB.
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

struct Args {
    images: PathBuf,
    pack_dir: PathBuf,
    batch: usize,
    threads: usize,
    python: Option<String>,
    device: Device,
    /// `device` as given, for the ingest child.
    device_name: String,
    labels: Option<PathBuf>,
    camera: Option<PathBuf>,
    camera_count: usize,
    large_count: usize,
    decode_threads: usize,
    /// Child mode: ingest the files listed in this file, print photos/s
    /// and peak RSS.
    e2e_child: Option<PathBuf>,
    spin: bool,
}

fn parse() -> Res<Option<Args>> {
    let mut args = std::env::args().skip(1);
    let mut a = Args {
        images: PathBuf::new(),
        pack_dir: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/models/generic")),
        batch: 8,
        threads: 0,
        python: None,
        device: Device::Auto,
        device_name: "auto".into(),
        labels: None,
        camera: None,
        camera_count: 24,
        large_count: 8,
        decode_threads: 0,
        e2e_child: None,
        spin: false,
    };
    let (mut bench, mut images) = (false, None);
    while let Some(arg) = args.next() {
        let mut value = |what: &str| args.next().ok_or(format!("{arg} {what}"));
        match arg.as_str() {
            "--bench" => bench = true,
            "--pack" => a.pack_dir = value("DIR")?.into(),
            "--batch" => a.batch = value("N")?.parse()?,
            "--threads" => a.threads = value("N")?.parse()?,
            "--python" => a.python = Some(value("PY")?),
            "--device" => {
                a.device_name = value("D")?;
                a.device = a.device_name.parse()?;
            }
            "--labels" => a.labels = Some(value("CSV")?.into()),
            "--camera" => a.camera = Some(value("DIR")?.into()),
            "--camera-count" => a.camera_count = value("N")?.parse()?,
            "--large-count" => a.large_count = value("N")?.parse()?,
            "--decode-threads" => a.decode_threads = value("N")?.parse()?,
            "--e2e-child" => a.e2e_child = Some(value("LIST")?.into()),
            "--spin" => a.spin = true,
            other => images = Some(PathBuf::from(other)),
        }
    }
    // `cargo test --all-targets` runs this unoptimised without `--bench`.
    if let (true, Some(_)) = (bench, &a.e2e_child) {
        return Ok(Some(a));
    }
    let (true, Some(images)) = (bench, images) else {
        println!("ingest bench: cargo bench --bench ingest -- IMAGES_DIR [--pack DIR] [--python PY] [--camera DIR]");
        return Ok(None);
    };
    a.images = images;
    if a.labels.is_none() {
        a.labels = a
            .images
            .parent()
            .map(|p| p.join("labels.csv"))
            .filter(|p| p.is_file());
    }
    Ok(Some(a))
}

/// `count` photos of `from` stretched to `width`×`height`, written as JPEG
/// quality 92, 4:2:0 (what Pillow writes at that quality) into `dir`.
fn make_camera_set(
    from: &[PathBuf],
    count: usize,
    (width, height): (u32, u32),
    dir: &Path,
) -> Res<Vec<PathBuf>> {
    let mut out = Vec::new();
    for src in from.iter().take(count) {
        let photo = photo::open(src, DEFAULT_MAX_PIXELS)?;
        let mut big = image::RgbImage::new(width, height);
        fast_image_resize::Resizer::new().resize(&photo.image, &mut big, None)?;
        let path = dir.join(src.file_name().ok_or("photo without a name")?);
        let mut enc = jpeg_encoder::Encoder::new_file(&path, 92)?;
        enc.set_sampling_factor(jpeg_encoder::SamplingFactor::F_2_2);
        enc.encode(
            big.as_raw(),
            width as u16,
            height as u16,
            jpeg_encoder::ColorType::Rgb,
        )?;
        out.push(path);
    }
    Ok(out)
}

/// What one set of photos measured.
#[derive(Default)]
struct SetReport {
    megapixels: f64,
    megabytes: f64,
    e2e: f64,
    e2e_spin: f64,
    /// End to end with every photo decoded in full (before reduced
    /// decoding), and its peak RSS.
    e2e_full: f64,
    rss_full: f64,
    ceiling: f64,
    reference: Option<Result<f64, String>>,
    rss: f64,
    /// ms per photo, one thread: read, SHA-256, decode, EXIF, thumbnail,
    /// model input, crop.
    stages: [f64; 7],
    /// ORT's threads at the ceiling, core-ms per photo.
    inference_core_ms: f64,
}

struct Bench<'a> {
    a: &'a Args,
    pack: Pack,
    config: SessionConfig,
    cores: usize,
}

impl Bench<'_> {
    /// Ingest `files` into a fresh catalogue: photos/s, new photos,
    /// detections, and the peak RSS of the run.
    /// Ingest `files` into a fresh catalogue in a child process of this
    /// bench (so its peak RSS is the ingest's alone, not what earlier
    /// measurements left resident): photos/s and peak RSS in MB. `full`
    /// decodes every photo in full (`WHALEID_FULL_DECODE=1`).
    fn e2e(&self, files: &[PathBuf], spin: bool, full: bool) -> Res<(f64, f64)> {
        let list = tempfile::NamedTempFile::new()?;
        let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
        std::fs::write(list.path(), names.join("\n"))?;
        let mut child = std::process::Command::new(std::env::current_exe()?);
        child
            .args(["--bench", "--e2e-child"])
            .arg(list.path())
            .args(["--pack"])
            .arg(&self.a.pack_dir)
            .args(["--batch", &self.a.batch.to_string()])
            .args(["--threads", &self.a.threads.to_string()])
            .args(["--device", &self.a.device_name])
            .args(["--decode-threads", &self.a.decode_threads.to_string()]);
        if spin {
            child.arg("--spin");
        }
        if full {
            child.env("WHALEID_FULL_DECODE", "1");
        }
        let out = child.output()?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).into_owned().into());
        }
        let text = String::from_utf8(out.stdout)?;
        let mut v = text.split_whitespace().map(str::parse::<f64>);
        match (v.next(), v.next()) {
            (Some(Ok(rate)), Some(Ok(rss))) => Ok((rate, rss)),
            _ => Err(format!("the ingest child printed {text:?}").into()),
        }
    }

    fn set(&self, files: &[PathBuf]) -> Res<SetReport> {
        let mut r = SetReport::default();
        (r.e2e_spin, _) = self.e2e(files, true, false)?;
        (r.e2e, r.rss) = self.e2e(files, false, false)?;
        // Before reduced decoding, in the same run.
        (r.e2e_full, r.rss_full) = self.e2e(files, false, true)?;

        // Stages, one thread, in the order the pipeline runs them, and the
        // tensors for the ceiling.
        let embedder = Embedder::open(&self.pack, &self.config)?;
        let pipeline = Pipeline::open(self.pack.clone(), &self.config)?;
        let mut tensors = Vec::new();
        let scratch = tempfile::tempdir()?;
        let mut stage = [0f64; 7];
        for f in files {
            let mut clock = Instant::now();
            let mut lap = |i: usize| {
                stage[i] += clock.elapsed().as_secs_f64();
                clock = Instant::now();
            };
            let bytes = std::fs::read(f)?;
            lap(0);
            let _ = sha2::Sha256::digest(&bytes);
            lap(1);
            let photo = pipeline.decode_photo(f, &bytes, DEFAULT_MAX_PIXELS, false)?;
            lap(2);
            let _ = photo::meta::read(&bytes);
            lap(3);
            media::save_thumbnail(&photo, &scratch.path().join("t.jpg"))?;
            lap(4);
            let pixels = crop_pixels(pipeline.pack(), &photo, photo.whole());
            let crop = Crop {
                image: &pixels.image,
                region: Some(pixels.region),
            };
            tensors.push(embedder.preprocess(0, crop, false));
            lap(5);
            media::save_region(
                &pixels.image,
                pixels.region,
                media::CROP_SIDE,
                &scratch.path().join("c.jpg"),
            )?;
            lap(6);
            r.megapixels += (photo.width() as f64 * photo.height() as f64) / 1e6;
            r.megabytes += bytes.len() as f64 / 1e6;
        }
        r.megapixels /= files.len() as f64;
        r.megabytes /= files.len() as f64;
        for (out, t) in r.stages.iter_mut().zip(stage) {
            *out = t / files.len() as f64 * 1e3;
        }
        drop((embedder, pipeline));

        // The ceiling: the first backbone (the generic pack has one) on the
        // preprocessed tensors.
        let backbone = &self.pack.backbones[0];
        let [h, w] = backbone.spec.input_size;
        let worker = InferenceWorker::spawn(&backbone.onnx, &self.config)?;
        let cancel = CancelToken::new();
        let started = Instant::now();
        for chunk in tensors.chunks(self.a.batch) {
            let mut input = Array4::<f32>::zeros((chunk.len(), 3, h as usize, w as usize));
            for (t, mut slot) in chunk.iter().zip(input.axis_iter_mut(Axis(0))) {
                slot.assign(t);
            }
            worker.run(input, &cancel)?;
        }
        r.ceiling = tensors.len() as f64 / started.elapsed().as_secs_f64();
        r.inference_core_ms = 1e3 / r.ceiling * self.cores as f64;
        r.reference = self
            .a
            .python
            .as_ref()
            .map(|py| self.reference(py, files).map_err(|e| e.to_string()));
        Ok(r)
    }

    fn reference(&self, py: &str, files: &[PathBuf]) -> Res<f64> {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/ingest_reference.py");
        let out = std::process::Command::new(py)
            .arg(script)
            .arg(&self.a.pack_dir)
            .arg(self.a.batch.to_string())
            .arg(self.cores.to_string())
            .args(files)
            .output()?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).into_owned().into());
        }
        let v: serde_json::Value = serde_json::from_slice(&out.stdout)?;
        Ok(v["photos"].as_f64().unwrap_or(0.0) / v["seconds"].as_f64().unwrap_or(f64::NAN))
    }

    /// Cosine of each crop's embedding from the reduced decode (with
    /// `turbo_full`, libjpeg-turbo's full decode instead) against the same
    /// crop from today's full decode: whole photos, and labelled boxes.
    fn fidelity(
        &self,
        files: &[PathBuf],
        boxes: &[Option<BBox>],
        turbo_full: bool,
    ) -> Res<Vec<f32>> {
        let pipeline = Pipeline::open(self.pack.clone(), &self.config)?;
        let cancel = CancelToken::new();
        let mut cosines = Vec::new();
        for (f, b) in files.iter().zip(boxes) {
            let full = photo::open_with(f, DEFAULT_MAX_PIXELS, self.pack.jpeg_decoder())?;
            let full = Picture::from_image(f, full.image);
            let reduced = if turbo_full {
                let p = photo::open_with(f, DEFAULT_MAX_PIXELS, JpegDecoder::LibjpegTurbo)?;
                Picture::from_image(f, p.image)
            } else {
                pipeline.open_photo(f, DEFAULT_MAX_PIXELS, b.is_some())?
            };
            let mut regions = vec![Region::Whole];
            regions.extend(b.map(Region::Box));
            for region in regions {
                let a = pipeline.run(&[(&full, region)], &cancel)?;
                let b = pipeline.run(&[(&reduced, region)], &cancel)?;
                let (a, b) = (&a[0][0].embedding.vector, &b[0][0].embedding.vector);
                cosines.push(a.iter().zip(b).map(|(x, y)| x * y).sum());
            }
        }
        Ok(cosines)
    }
}

/// Per-photo decode times, ms, one thread, of each decoder on `files`.
fn decoders(files: &[PathBuf]) -> Res<Vec<(&'static str, f64)>> {
    let bytes: Vec<Vec<u8>> = files.iter().map(std::fs::read).collect::<Result<_, _>>()?;
    let time = |f: &mut dyn FnMut(&[u8], &Path) -> Res<()>| -> Res<f64> {
        let started = Instant::now();
        for (b, p) in bytes.iter().zip(files) {
            f(b, p)?;
        }
        Ok(started.elapsed().as_secs_f64() / files.len() as f64 * 1e3)
    };
    let plan = |long_side| ViewPlan {
        long_side,
        model_width: 0,
        model_height: 0,
        keep_source: true,
    };
    Ok(vec![
        (
            "zune-jpeg (`image` 0.25), full",
            time(&mut |b, p| {
                photo::decode_with(p, b, DEFAULT_MAX_PIXELS, JpegDecoder::Zune)?;
                Ok(())
            })?,
        ),
        (
            "libjpeg-turbo 3.1, full",
            time(&mut |b, p| {
                photo::decode_with(p, b, DEFAULT_MAX_PIXELS, JpegDecoder::LibjpegTurbo)?;
                Ok(())
            })?,
        ),
        (
            "jpeg-decoder 0.3, 1/8 (`scale`)",
            time(&mut |b, _| {
                let mut d = jpeg_decoder::Decoder::new(b);
                d.read_info()?;
                d.scale(1, 1)?;
                d.decode()?;
                Ok(())
            })?,
        ),
        (
            "libjpeg-turbo 3.1, 1/8",
            time(&mut |b, p| {
                let pic =
                    photo::decode_picture(p, b, DEFAULT_MAX_PIXELS, JpegDecoder::Zune, &plan(1))?;
                assert_eq!(pic.shrink(), 8);
                Ok(())
            })?,
        ),
        (
            "libjpeg-turbo 3.1, 1/4",
            time(&mut |b, p| {
                let pic = photo::decode_picture(
                    p,
                    b,
                    DEFAULT_MAX_PIXELS,
                    JpegDecoder::Zune,
                    &plan(1000),
                )?;
                assert_eq!(pic.shrink(), 4);
                Ok(())
            })?,
        ),
        (
            "libjpeg-turbo 3.1, 1/2",
            time(&mut |b, p| {
                let pic = photo::decode_picture(
                    p,
                    b,
                    DEFAULT_MAX_PIXELS,
                    JpegDecoder::Zune,
                    &plan(2000),
                )?;
                assert_eq!(pic.shrink(), 2);
                Ok(())
            })?,
        ),
        (
            "libjpeg-turbo 3.1, 1/8 then a central ⅙×⅙ region at 1/2",
            time(&mut |b, p| {
                let pic =
                    photo::decode_picture(p, b, DEFAULT_MAX_PIXELS, JpegDecoder::Zune, &plan(1))?;
                let (w, h) = (pic.width() as f32, pic.height() as f32);
                let region = BBox {
                    x1: w * 5.0 / 12.0,
                    y1: h * 5.0 / 12.0,
                    x2: w * 7.0 / 12.0,
                    y2: h * 7.0 / 12.0,
                };
                assert_eq!(pic.pixels(region, 2).shrink, 2);
                Ok(())
            })?,
        ),
    ])
}

fn summary(cosines: &mut [f32]) -> String {
    if cosines.is_empty() {
        return "– | – | – | – | –".into();
    }
    cosines.sort_by(f32::total_cmp);
    let at = |q: f64| cosines[((cosines.len() - 1) as f64 * q).round() as usize];
    format!(
        "{} | {:.5} | {:.5} | {:.5} | {}",
        cosines.len(),
        cosines[0],
        at(0.01),
        at(0.5),
        cosines.iter().filter(|&&c| c < 0.999).count()
    )
}

/// The child of [`Bench::e2e`]: one ingest, from a fresh process.
fn e2e_child(a: &Args, list: &Path) -> Res<()> {
    let files: Vec<PathBuf> = std::fs::read_to_string(list)?
        .lines()
        .map(PathBuf::from)
        .collect();
    let dir = tempfile::tempdir()?;
    let mut cat = Catalogue::create(dir.path().join("cat"))?;
    let config = SessionConfig {
        device: a.device,
        intra_threads: a.threads,
        spin: a.spin,
    };
    let pipeline = Pipeline::open(Pack::load(&a.pack_dir)?, &config)?.with_batch(a.batch);
    let options = IngestOptions {
        batch: a.batch,
        decode_threads: a.decode_threads,
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
    if !report.failed.is_empty() {
        return Err(format!("ingest failed on {:?}", report.failed).into());
    }
    println!(
        "{} {}",
        report.new_photos as f64 / report.seconds,
        peak_rss_mb()
    );
    Ok(())
}

fn main() -> Res<()> {
    let Some(a) = parse()? else { return Ok(()) };
    if let Some(list) = &a.e2e_child {
        return e2e_child(&a, list);
    }
    let sample = labels::image_files(&a.images)?;
    let cores = match a.threads {
        0 => std::thread::available_parallelism()?.get(),
        n => n,
    };
    let config = SessionConfig {
        device: a.device,
        intra_threads: a.threads,
        ..SessionConfig::default()
    };
    let pack = Pack::load(&a.pack_dir)?;
    let made = tempfile::tempdir()?;
    let camera = match &a.camera {
        Some(dir) => labels::image_files(dir)?,
        None => {
            let dir = made.path().join("6000x4000");
            std::fs::create_dir(&dir)?;
            make_camera_set(&sample, a.camera_count, (6000, 4000), &dir)?
        }
    };
    let large = {
        let dir = made.path().join("8192x5464");
        std::fs::create_dir(&dir)?;
        make_camera_set(&sample, a.large_count, (8192, 5464), &dir)?
    };
    let ran_on = Pipeline::open(pack.clone(), &config)?.ran_on();
    println!(
        "ingest bench: pack {} {}, batch {}, ORT threads {}, ran on {ran_on}\n\
         sample: {} photos from {}; camera-size: {} photos {}",
        pack.name(),
        pack.version(),
        a.batch,
        if a.threads == 0 {
            "all".to_string()
        } else {
            a.threads.to_string()
        },
        sample.len(),
        a.images.display(),
        camera.len(),
        match &a.camera {
            Some(d) => format!("from {}", d.display()),
            None => "6000×4000 JPEG q92 made from the sample's first photos".into(),
        }
    );
    let bench = Bench {
        a: &a,
        pack,
        config,
        cores,
    };
    let s = bench.set(&sample)?;
    let c = bench.set(&camera)?;

    println!();
    println!(
        "| measure | sample ({:.1} MP, {:.2} MB) | camera-size ({:.1} MP, {:.2} MB) |",
        s.megapixels, s.megabytes, c.megapixels, c.megabytes
    );
    println!("|---|---:|---:|");
    let row = |name: &str, f: &dyn Fn(&SetReport) -> String| {
        println!("| {name} | {} | {} |", f(&s), f(&c));
    };
    row("WhaleID end to end, photos/s", &|r| {
        format!("**{:.1}**", r.e2e)
    });
    row(
        "same, every photo decoded in full (`WHALEID_FULL_DECODE=1`, as before)",
        &|r| format!("{:.1} (reduced {:.2}×)", r.e2e_full, r.e2e / r.e2e_full),
    );
    row("same, ORT threads spinning (ORT's default)", &|r| {
        format!("{:.1}", r.e2e_spin)
    });
    row("ORT inference alone (ceiling), photos/s", &|r| {
        format!("{:.1}", r.ceiling)
    });
    row("share of the ORT-alone ceiling", &|r| {
        format!("{:.2}", r.e2e / r.ceiling)
    });
    row(
        "Python reference (Pillow `draft` + numpy + onnxruntime), photos/s",
        &|r| match &r.reference {
            Some(Ok(p)) => format!("{p:.1} (WhaleID {:.2}×)", r.e2e / p),
            Some(Err(e)) => format!("failed: {}", e.lines().last().unwrap_or("")),
            None => "not run (--python PY)".into(),
        },
    );
    row("peak RSS of the ingest, MB", &|r| {
        format!("{:.0} (in full: {:.0})", r.rss, r.rss_full)
    });
    row("read / SHA-256 / EXIF, ms per photo", &|r| {
        format!(
            "{:.1} / {:.1} / {:.1}",
            r.stages[0], r.stages[1], r.stages[3]
        )
    });
    row("decode, ms per photo", &|r| format!("{:.1}", r.stages[2]));
    row("thumbnail / model input / crop, ms per photo", &|r| {
        format!(
            "{:.1} / {:.1} / {:.1}",
            r.stages[4], r.stages[5], r.stages[6]
        )
    });
    row("inference at the ceiling, core-ms", &|r| {
        format!("{:.1}", r.inference_core_ms)
    });
    let machine = std::thread::available_parallelism()?.get();
    row(
        &format!("end to end cannot pass ({machine} cores busy), photos/s"),
        &|r| {
            let outside: f64 = r.stages.iter().sum();
            format!(
                "{:.1}",
                (machine as f64 * 1e3 / (outside + r.inference_core_ms)).min(r.ceiling)
            )
        },
    );

    if !large.is_empty() {
        let (rate, rss) = bench.e2e(&large, false, false)?;
        println!(
            "\n45 MP: {} photos 8192×5464 (JPEG q92, made the same way): {rate:.1} photos/s end to end, peak RSS {rss:.0} MB",
            large.len()
        );
    }

    println!("\n| JPEG decoder, camera-size photos, one thread | ms per photo |");
    println!("|---|---:|");
    for (name, ms) in decoders(&camera)? {
        println!("| {name} | {ms:.1} |");
    }

    // Labelled boxes, by file name, scaled to each photo's size.
    let labelled: std::collections::HashMap<_, _> = match &a.labels {
        Some(csv) => labels::read_csv(csv, &a.images)?
            .into_iter()
            .filter_map(|l| Some((l.path.file_name()?.to_owned(), l.bbox?)))
            .collect(),
        None => Default::default(),
    };
    let boxes = |files: &[PathBuf], scale: &dyn Fn(&Path) -> (f32, f32)| -> Vec<Option<BBox>> {
        files
            .iter()
            .map(|f| {
                let b = labelled.get(f.file_name()?)?;
                let (sx, sy) = scale(f);
                Some(BBox {
                    x1: b.x1 * sx,
                    y1: b.y1 * sy,
                    x2: b.x2 * sx,
                    y2: b.y2 * sy,
                })
            })
            .collect()
    };
    let size_of = |f: &Path| image::image_dimensions(f).unwrap_or((1, 1));
    let sample_boxes = boxes(&sample, &|_| (1.0, 1.0));
    let camera_boxes = boxes(&camera, &|f| {
        let original = a.images.join(f.file_name().unwrap_or_default());
        let (w0, h0) = size_of(&original);
        let (w1, h1) = size_of(f);
        (w1 as f32 / w0 as f32, h1 as f32 / h0 as f32)
    });
    println!(
        "\n| reduced vs full decode, embedding cosine per crop (whole photos{}) | crops | min | 1st percentile | median | below 0.999 |",
        if labelled.is_empty() { "" } else { " and labelled boxes" }
    );
    println!("|---|---:|---:|---:|---:|---:|");
    for (name, files, boxes) in [
        ("sample", &sample, &sample_boxes),
        ("camera-size", &camera, &camera_boxes),
    ] {
        println!(
            "| {name}: as ingest decodes it | {} |",
            summary(&mut bench.fidelity(files, boxes, false)?)
        );
        println!(
            "| {name}: libjpeg-turbo's full decode, for scale (the decoders' own difference) | {} |",
            summary(&mut bench.fidelity(files, boxes, true)?)
        );
    }
    Ok(())
}
