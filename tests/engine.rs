//! Detect and embed through the real ONNX Runtime with the committed test
//! packs, as the CLI and the app drive the engine.

use whaleid::detect::{BBox, Detector};
use whaleid::embed::{Crop, Embedder};
use whaleid::packs::Pack;
use whaleid::runtime::{self, Provider, SessionConfig};
use whaleid::{CancelToken, Error};
use whaleid_testkit::{copy_pack, dark_shape, edit_manifest, pack_dir, session, texture};

fn tiny() -> (Pack, Detector, Embedder) {
    let pack = Pack::load(pack_dir("tiny")).unwrap();
    let config = session();
    let (spec, file) = pack.detector.clone().unwrap();
    let detector = Detector::open(&spec, &file, &config).unwrap();
    let embedder = Embedder::open(&pack, &config).unwrap();
    (pack, detector, embedder)
}

#[test]
fn runtime_reports_the_library_and_the_cpu_provider() {
    let info = runtime::init().unwrap();
    assert!(info.library.exists());
    assert!(info.version.starts_with("1."), "{}", info.version);
    assert!(info.providers_compiled.iter().any(|p| p == "cpu"));
    // The wheel's remote Azure endpoint is no device to run models on.
    assert!(
        !info.providers_compiled.iter().any(|p| p == "azure"),
        "{:?}",
        info.providers_compiled
    );
    let (_, detector, embedder) = tiny();
    // This build has no GPU feature enabled in CI: auto must land on the CPU
    // and say so.
    assert_eq!(detector.info().provider, Provider::Cpu);
    assert!(embedder.workers().all(|w| w.provider == Provider::Cpu));
}

#[test]
fn detector_finds_the_dark_shape_where_it_is() {
    let (_, detector, _) = tiny();
    let cancel = CancelToken::new();
    // Landscape and portrait, so both letterbox directions are exercised.
    for (w, h, rect) in [
        (200, 150, (60, 40, 120, 100)),
        (90, 240, (10, 150, 70, 230)),
    ] {
        let img = dark_shape(w, h, rect);
        let found = detector.detect(&[&img], &cancel).unwrap().remove(0);
        let fins: Vec<_> = found.iter().filter(|d| d.class == "fin").collect();
        // Row 1 of the model's output duplicates the fin slightly larger:
        // class-aware NMS must leave one fin and keep the fullbody box.
        assert_eq!(fins.len(), 1, "{found:?}");
        assert_eq!(found.iter().filter(|d| d.class == "fullbody").count(), 1);
        let b = fins[0].bbox;
        // One model-input pixel is 1/scale photo pixels (≤ 1.9 here).
        let tol = 3.0;
        let want = (rect.0 as f32, rect.1 as f32, rect.2 as f32, rect.3 as f32);
        assert!(
            (b.x1 - want.0).abs() <= tol && (b.y1 - want.1).abs() <= tol,
            "{b:?} vs {want:?}"
        );
        assert!(
            (b.x2 - want.2).abs() <= tol && (b.y2 - want.3).abs() <= tol,
            "{b:?} vs {want:?}"
        );
        assert!(fins[0].embed && fins[0].score > 0.5);
        // The crop is the box grown by the 10% margin, inside the photo.
        let c = fins[0].crop;
        assert!(c.x1 < b.x1 && c.x2 > b.x2 && c.x1 >= 0.0 && c.x2 <= w as f32);
        assert!(((b.x1 - c.x1) - 0.1 * b.width()).abs() < 1e-3);
    }
}

#[test]
fn no_dark_shape_means_no_detection() {
    let (_, detector, _) = tiny();
    let img = texture(160, 120, 1);
    let found = detector.detect(&[&img], &CancelToken::new()).unwrap();
    assert!(found[0].is_empty(), "{:?}", found[0]);
}

#[test]
fn a_batch_of_photos_detects_like_one_at_a_time() {
    let (_, detector, _) = tiny();
    let cancel = CancelToken::new();
    let imgs: Vec<_> = (0..5)
        .map(|i| dark_shape(180 + i * 10, 140, (20 + i * 15, 30, 80 + i * 15, 110)))
        .collect();
    let refs: Vec<_> = imgs.iter().collect();
    let together = detector.detect(&refs, &cancel).unwrap();
    for (img, batched) in imgs.iter().zip(&together) {
        let alone = detector.detect(&[img], &cancel).unwrap().remove(0);
        assert_eq!(&alone, batched);
    }
}

#[test]
fn embeddings_are_unit_vectors_built_from_normalised_parts() {
    let (pack, detector, embedder) = tiny();
    let img = dark_shape(200, 150, (60, 40, 120, 100));
    let cancel = CancelToken::new();
    let det = detector.detect(&[&img], &cancel).unwrap().remove(0);
    let fin = det.iter().find(|d| d.embed).unwrap();
    let emb = embedder
        .embed(
            &[Crop {
                image: &img,
                region: Some(fin.crop),
            }],
            &cancel,
        )
        .unwrap()
        .remove(0);
    assert_eq!(emb.vector.len(), pack.embedding_dim());
    let norm: f32 = emb.vector.iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-5, "{norm}");
    // Each backbone contributes its normalised part, scaled by 1/√models.
    let scale = 1.0 / (pack.backbones.len() as f32).sqrt();
    let mut offset = 0;
    for part in &emb.parts {
        let n: f32 = part.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!(n > 0.0);
        for (i, x) in part.iter().enumerate() {
            assert!((emb.vector[offset + i] - x / n * scale).abs() < 1e-5);
        }
        offset += part.len();
    }
}

#[test]
fn batch_of_one_and_batch_of_32_give_identical_embeddings() {
    let (_, _, embedder) = tiny();
    let photos: Vec<_> = (0..32u32)
        .map(|i| dark_shape(120 + i * 3, 90 + (i % 5) * 7, (10 + i, 12, 60 + i, 70)))
        .collect();
    let crops: Vec<Crop> = photos
        .iter()
        .enumerate()
        .map(|(i, image)| Crop {
            image,
            // Half whole photos, half boxes: both paths through preprocessing.
            region: (i % 2 == 0).then_some(BBox {
                x1: 5.0,
                y1: 4.0,
                x2: 80.0,
                y2: 75.0,
            }),
        })
        .collect();
    let cancel = CancelToken::new();
    let one = Embedder::open(
        &Pack::load(pack_dir("tiny")).unwrap(),
        &SessionConfig::default(),
    )
    .unwrap()
    .with_batch(1);
    let singles = one.embed(&crops, &cancel).unwrap();
    let batched = embedder.with_batch(32).embed(&crops, &cancel).unwrap();
    assert_eq!(singles.len(), 32);
    assert_eq!(singles, batched, "batch size changed an embedding");
    // And they are not all the same vector.
    assert_ne!(singles[0].vector, singles[1].vector);
}

#[test]
fn flip_tta_makes_a_crop_and_its_mirror_embed_alike() {
    let dir = copy_pack("tiny");
    edit_manifest(dir.path(), |t| {
        t.replace("flip_tta = false", "flip_tta = true")
    });
    let pack = Pack::load(dir.path()).unwrap();
    let with_tta = Embedder::open(&pack, &SessionConfig::default()).unwrap();
    let (_, _, without) = tiny();
    let img = texture(64, 48, 3);
    let mirrored = image::imageops::flip_horizontal(&img);
    let cancel = CancelToken::new();
    let embed = |e: &Embedder| {
        e.embed(
            &[
                Crop {
                    image: &img,
                    region: None,
                },
                Crop {
                    image: &mirrored,
                    region: None,
                },
            ],
            &cancel,
        )
        .unwrap()
    };
    let tta = embed(&with_tta);
    let max_diff = |a: &[f32], b: &[f32]| {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max)
    };
    assert!(max_diff(&tta[0].vector, &tta[1].vector) < 1e-4);
    let plain = embed(&without);
    assert!(
        max_diff(&plain[0].vector, &plain[1].vector) > 1e-3,
        "the test image must not be symmetric"
    );
}

#[test]
fn cancelled_token_stops_embedding_and_detection() {
    let (_, detector, embedder) = tiny();
    let img = dark_shape(100, 80, (10, 10, 50, 50));
    let cancel = CancelToken::new();
    cancel.cancel();
    let crops = vec![
        Crop {
            image: &img,
            region: None
        };
        40
    ];
    assert!(matches!(
        embedder.embed(&crops, &cancel),
        Err(Error::Cancelled)
    ));
    assert!(matches!(
        detector.detect(&[&img], &cancel),
        Err(Error::Cancelled)
    ));
}

#[test]
fn cancelling_from_another_thread_ends_a_long_job() {
    let (_, _, embedder) = tiny();
    let embedder = embedder.with_batch(4);
    let img = texture(400, 300, 9);
    let crops = vec![
        Crop {
            image: &img,
            region: None
        };
        20_000
    ];
    let cancel = CancelToken::new();
    let canceller = cancel.clone();
    let started = std::time::Instant::now();
    let handle = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(50));
        canceller.cancel();
    });
    let result = embedder.embed(&crops, &cancel);
    handle.join().unwrap();
    assert!(
        matches!(result, Err(Error::Cancelled)),
        "the job finished before the cancel"
    );
    // It stopped soon after the cancel, not after the 20,000 crops.
    assert!(started.elapsed() < std::time::Duration::from_secs(20));
}

#[test]
fn whole_photo_and_explicit_box_embed_without_a_detector() {
    let pack = Pack::load(pack_dir("tiny-nodetector")).unwrap();
    let embedder = Embedder::open(&pack, &SessionConfig::default()).unwrap();
    let img = dark_shape(120, 90, (30, 20, 90, 70));
    let region = BBox {
        x1: 30.0,
        y1: 20.0,
        x2: 90.0,
        y2: 70.0,
    };
    let out = embedder
        .embed(
            &[
                Crop {
                    image: &img,
                    region: None,
                },
                Crop {
                    image: &img,
                    region: Some(region),
                },
            ],
            &CancelToken::new(),
        )
        .unwrap();
    assert_eq!(out[0].vector.len(), 16);
    assert_ne!(
        out[0].vector, out[1].vector,
        "a box must change what is embedded"
    );
}
