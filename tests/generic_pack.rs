//! The committed generic pack: it must load (checksums included) and give a
//! unit-length 512-d embedding that tells different photos apart, because it
//! is what a fresh install runs.

use std::path::Path;

use whaleid::embed::{Crop, Embedder};
use whaleid::packs::Pack;
use whaleid::runtime::SessionConfig;
use whaleid::CancelToken;
use whaleid_testkit::{dark_shape, texture};

#[test]
fn generic_pack_embeds_real_features() {
    let pack = Pack::load(Path::new(env!("CARGO_MANIFEST_DIR")).join("models/generic")).unwrap();
    assert_eq!(pack.name(), "generic");
    assert!(pack.detector.is_none());
    let config = SessionConfig {
        intra_threads: 2,
        ..SessionConfig::default()
    };
    let embedder = Embedder::open(&pack, &config).unwrap();
    assert_eq!(embedder.dim(), 512);

    let a = dark_shape(320, 240, (80, 60, 200, 180));
    let b = texture(320, 240, 7);
    let crops = [
        Crop {
            image: &a,
            region: None,
        },
        Crop {
            image: &b,
            region: None,
        },
        Crop {
            image: &a,
            region: None,
        },
    ];
    let out = embedder.embed(&crops, &CancelToken::new()).unwrap();
    for e in &out {
        assert_eq!(e.vector.len(), 512);
        let norm: f32 = e.vector.iter().map(|v| v * v).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "norm {norm}");
    }
    let cos = |x: &[f32], y: &[f32]| x.iter().zip(y).map(|(p, q)| p * q).sum::<f32>();
    // The same photo twice in one batch gives the same vector; a different
    // photo gives a clearly different one.
    assert!(cos(&out[0].vector, &out[2].vector) > 0.9999);
    assert!(cos(&out[0].vector, &out[1].vector) < 0.95);
}
