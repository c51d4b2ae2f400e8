//! A camera-size JPEG through ingest: decoded at a DCT scale, its fin
//! decoded again alone at the detail the backbones need, and everything
//! stored in the photo's full-size pixels, as the full decode would have it.

use image::RgbImage;
use whaleid::catalogue::Catalogue;
use whaleid::detect::BBox;
use whaleid::ingest::survey::{ingest, IngestOptions};
use whaleid::ingest::{Found, Region};
use whaleid::photo::{self, Picture, DEFAULT_MAX_PIXELS};
use whaleid::CancelToken;
use whaleid_testkit as kit;

/// Individual 3's photo blown up 16× (3200×2400), as JPEG quality 92,
/// stored rotated with EXIF orientation 6 when `rotated` (so it is upright
/// only once turned).
fn camera_photo(rotated: bool) -> (Vec<u8>, RgbImage) {
    let small = kit::photo(3, 60, 50);
    let upright =
        image::imageops::resize(&small, 3200, 2400, image::imageops::FilterType::Triangle);
    let stored = if rotated {
        // Orientation 6 shows the stored image turned 90° clockwise.
        image::imageops::rotate270(&upright)
    } else {
        upright.clone()
    };
    let mut exif = b"II*\0\x08\0\0\0\x01\0\x12\x01\x03\0\x01\0\0\0".to_vec();
    exif.extend_from_slice(&(if rotated { 6u16 } else { 1 }).to_le_bytes());
    exif.extend_from_slice(&[0; 6]);
    (kit::jpeg_with_exif(&stored, exif), upright)
}

/// Ingest `file`, a new photo with one fin.
fn ingest_one(cat: &mut Catalogue, pipeline: &whaleid::ingest::Pipeline, file: &std::path::Path) {
    let report = ingest(
        cat,
        pipeline,
        std::slice::from_ref(&file.to_path_buf()),
        &IngestOptions::default(),
        &mut |_| {},
        &CancelToken::new(),
    )
    .unwrap();
    assert_eq!((report.new_photos, report.detections), (1, 1));
}

fn detect(pipeline: &whaleid::ingest::Pipeline, picture: &Picture) -> Found {
    let region = Region::Detect {
        best_only: true,
        whole_if_none: false,
    };
    let mut found = pipeline
        .run(&[(picture, region)], &CancelToken::new())
        .unwrap();
    assert_eq!(found[0].len(), 1, "one fin");
    found.remove(0).remove(0)
}

#[test]
fn a_camera_size_jpeg_is_ingested_from_a_reduced_decode_as_the_full_decode_would_be() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = kit::pipeline();
    for rotated in [false, true] {
        let (bytes, upright) = camera_photo(rotated);
        let file = dir.path().join(format!("camera-{rotated}.jpg"));
        std::fs::write(&file, &bytes).unwrap();

        // The reduced decode: 1/8 for the detector's 128 px and the
        // thumbnail, and the fin decoded again at more detail.
        let reduced = pipeline
            .decode_photo(&file, &bytes, DEFAULT_MAX_PIXELS, false)
            .unwrap();
        assert_eq!((reduced.width(), reduced.height()), (3200, 2400));
        assert_eq!(reduced.shrink(), 8);
        assert_eq!(reduced.view().dimensions(), (400, 300));
        let full = photo::decode(&file, &bytes, DEFAULT_MAX_PIXELS).unwrap();
        assert_eq!(full.image.dimensions(), upright.dimensions());
        let full = Picture::from_image(&file, full.image);

        let a = detect(&pipeline, &full);
        let b = detect(&pipeline, &reduced);
        assert!(a.crop.iou(&b.crop) > 0.97, "{:?} vs {:?}", a.crop, b.crop);
        // The patch sits at (60, 50)–(120, 90) of the 200×150 original.
        let truth = BBox {
            x1: 60.0 * 16.0,
            y1: 50.0 * 16.0,
            x2: 120.0 * 16.0,
            y2: 90.0 * 16.0,
        };
        let det = b.detection.as_ref().unwrap();
        assert!(det.bbox.iou(&truth) > 0.8, "{:?}", det.bbox);
        let (patch, at) = b.patch.as_ref().expect("the fin is decoded apart");
        assert!(
            patch.width() < 1600,
            "a region, not the photo: {}",
            patch.width()
        );
        assert!(at.width() >= 4.0 * 32.0 && at.width() < b.crop.width());
        // The same box, embedded from each decode.
        let embed = |picture: &Picture| {
            pipeline
                .run(&[(picture, Region::Box(a.crop))], &CancelToken::new())
                .unwrap()[0][0]
                .embedding
                .vector
                .clone()
        };
        let cos: f32 = embed(&full)
            .iter()
            .zip(&embed(&reduced))
            .map(|(x, y)| x * y)
            .sum();
        assert!(cos > 0.999, "rotated {rotated}: cosine {cos}");

        // Ingest stores the full size, the box in full-size pixels, a
        // thumbnail of the whole photo and a crop of the fin.
        let mut cat = Catalogue::create(dir.path().join(format!("cat-{rotated}"))).unwrap();
        ingest_one(&mut cat, &pipeline, &file);
        let db = kit::sql(&cat);
        let (w, h, sha): (u32, u32, String) = db
            .query_row("SELECT width, height, sha256 FROM photos", [], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .unwrap();
        assert_eq!((w, h), (3200, 2400));
        let (x1, y1, x2, y2, crop): (f32, f32, f32, f32, String) = db
            .query_row(
                "SELECT x1, y1, x2, y2, crop_file FROM detections",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .unwrap();
        let stored = BBox { x1, y1, x2, y2 };
        assert!(stored.iou(&b.crop) > 0.999, "{stored:?} vs {:?}", b.crop);
        let media = cat.media_dir();
        let thumb = image::open(media.join(whaleid::ingest::media::thumb_file(&sha))).unwrap();
        assert_eq!((thumb.width(), thumb.height()), (256, 192));
        let crop = image::open(media.join(crop)).unwrap().to_rgb8();
        assert_eq!(crop.width().max(crop.height()), 384);
        // The crop shows the dark fin, upright, where the full decode has it.
        let expected = image::imageops::resize(
            &image::imageops::crop_imm(
                &upright,
                stored.x1 as u32,
                stored.y1 as u32,
                stored.width() as u32,
                stored.height() as u32,
            )
            .to_image(),
            crop.width(),
            crop.height(),
            image::imageops::FilterType::Triangle,
        );
        let diff: f64 = crop
            .as_raw()
            .iter()
            .zip(expected.as_raw())
            .map(|(a, b)| (*a as f64 - *b as f64).abs())
            .sum::<f64>()
            / crop.as_raw().len() as f64;
        assert!(diff < 6.0, "rotated {rotated}: mean difference {diff}");
    }
}

fn largest_difference(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn training_features_and_drawn_boxes_of_a_camera_size_photo_get_the_pixels_ingest_embedded() {
    use whaleid::ingest::boxes::{add_box, BoxModels};
    use whaleid::train::finetune::{compute_missing_features, feature_keys};

    let dir = tempfile::tempdir().unwrap();
    let pipeline = kit::pipeline();
    let pack = pipeline.pack().clone();
    let (bytes, _) = camera_photo(true);
    let file = dir.path().join("camera.jpg");
    std::fs::write(&file, &bytes).unwrap();
    let mut cat = Catalogue::create(dir.path().join("cat")).unwrap();
    ingest_one(&mut cat, &pipeline, &file);
    let keys = feature_keys(&pack);
    let at_ingest = cat.load_features(&keys, None).unwrap();
    assert_eq!(at_ingest.len(), 1);

    // Features computed again (a pack swapped in, an older catalogue) come
    // from the region decoded as ingest decoded it, not from the photo
    // decoded in full (which moves them by up to cosine 0.999).
    kit::sql(&cat).execute("DELETE FROM features", []).unwrap();
    let backfill = compute_missing_features(
        &mut cat,
        &pack,
        pipeline.embedder(),
        &CancelToken::new(),
        &mut |_| {},
    )
    .unwrap();
    assert_eq!((backfill.computed, backfill.from_crops), (1, 0));
    let again = cat.load_features(&keys, None).unwrap();
    for (a, b) in at_ingest.blocks.iter().zip(&again.blocks) {
        let d = largest_difference(a.as_slice().unwrap(), b.as_slice().unwrap());
        assert!(d < 1e-5, "features moved by {d}");
    }

    // A box drawn where the detector's box is embeds as ingest embedded it.
    let (detection, photo_id, x1, y1, x2, y2): (i64, i64, f32, f32, f32, f32) = kit::sql(&cat)
        .query_row(
            "SELECT id, photo_id, x1, y1, x2, y2 FROM detections",
            [],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            },
        )
        .unwrap();
    let change = add_box(
        &mut cat,
        BoxModels::of(&pipeline),
        photo_id,
        [x1, y1, x2, y2],
        "Ana",
        &CancelToken::new(),
    )
    .unwrap();
    let stored = kit::stored_embeddings(&cat, pack.version());
    let vector = |id: i64| &stored.iter().find(|(d, _)| *d == id).unwrap().1;
    let d = largest_difference(vector(detection), vector(change.detection_id));
    assert!(d < 1e-5, "a drawn box's embedding moved by {d}");

    // What these checks tell apart: the same box from the photo decoded
    // in full lands measurably elsewhere.
    let full = photo::decode(&file, &bytes, DEFAULT_MAX_PIXELS).unwrap();
    let full = Picture::from_image(&file, full.image);
    let region = Region::Box(BBox { x1, y1, x2, y2 });
    let from_full = &pipeline
        .run(&[(&full, region)], &CancelToken::new())
        .unwrap()[0][0];
    let d = largest_difference(vector(detection), &from_full.embedding.vector);
    assert!(d > 1e-4, "the full decode differs by only {d}");
}
