//! Pixel plumbing shared by the detector and the embedder: resize a region of
//! a photo and write pixels into an NCHW float tensor with per-channel
//! normalisation.
//!
//! Two resamplers, chosen per backbone by the pack ([`ResizeFilter`]): the
//! antialiased bilinear of fast_image_resize (SIMD; the float box is cropped
//! with sub-pixel precision), and a bit-exact copy of OpenCV's `INTER_LINEAR`
//! for checkpoints trained on `cv2.resize`d crops (integer crop, two taps, no
//! antialiasing, OpenCV's fixed point). The detector and thumbnails always
//! use the first.

use fast_image_resize::{FilterType, ResizeAlg, ResizeOptions, Resizer};
use image::RgbImage;
use ndarray::ArrayViewMut3;

use crate::detect::BBox;
use crate::packs::ResizeFilter;

/// Resize `region` of `src` (the whole image when `None`) to `width`×`height`
/// with `filter`.
pub fn resize_region_with(
    src: &RgbImage,
    region: Option<BBox>,
    width: u32,
    height: u32,
    filter: ResizeFilter,
) -> RgbImage {
    match filter {
        ResizeFilter::Antialiased => resize_region(src, region, width, height),
        ResizeFilter::OpencvLinear => {
            resize_opencv_linear(src, pixel_crop(src, region), width, height)
        }
    }
}

/// Width and height of what [`resize_region_with`] resamples: the float box
/// for the antialiased filter, the integer crop for OpenCV's.
pub fn region_size(src: &RgbImage, region: Option<BBox>, filter: ResizeFilter) -> (f32, f32) {
    match (filter, region) {
        (ResizeFilter::OpencvLinear, _) => {
            let c = pixel_crop(src, region);
            (c.width as f32, c.height as f32)
        }
        (ResizeFilter::Antialiased, Some(b)) => (b.width().max(1.0), b.height().max(1.0)),
        (ResizeFilter::Antialiased, None) => (src.width() as f32, src.height() as f32),
    }
}

/// A rectangle of whole pixels: columns `x..x + width`, rows `y..y + height`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PixelRect {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

/// The pixels the Kaggle pipelines cut for a float box: the box clipped to
/// the photo, then `img[int(y1):int(y2), int(x1):int(x2)]`, i.e. both ends
/// truncated (Python's `int()`, the floor for these non-negative values) and
/// the end exclusive. A box thinner than a pixel still gives one pixel (numpy
/// would give an empty array, which `cv2.resize` refuses). `None` is the
/// whole photo.
pub fn pixel_crop(src: &RgbImage, region: Option<BBox>) -> PixelRect {
    let (w, h) = (src.width(), src.height());
    let Some(b) = region else {
        return PixelRect {
            x: 0,
            y: 0,
            width: w,
            height: h,
        };
    };
    let b = b.clip(w as f32, h as f32);
    // `as u32` truncates and maps NaN to 0.
    let span = |lo: f32, hi: f32, size: u32| {
        let start = (lo as u32).min(size.saturating_sub(1));
        let end = (hi as u32).clamp(start + 1, size.max(1));
        (start, end - start)
    };
    let (x, width) = span(b.x1, b.x2, w);
    let (y, height) = span(b.y1, b.y2, h);
    PixelRect {
        x,
        y,
        width,
        height,
    }
}

/// OpenCV's `cv2.resize(crop, (width, height), interpolation=cv2.INTER_LINEAR)`
/// on 8-bit RGB, equal to the byte (checked against OpenCV 4.5.5 and 5.1.0,
/// with and without IPP, in the tests below).
///
/// Sampling: destination pixel `d` reads source position
/// `(d + 0.5) · scale − 0.5` (half-pixel centres), clamped to the edge
/// pixels; two taps per axis whatever the scale, so shrinking aliases, as it
/// does in OpenCV. Arithmetic, as OpenCV's `resize` for `CV_8U`:
/// * `scale = 1 / (dst / src)` in f64, the position rounded to f32, its
///   fraction `f` split into weights `round(2048 · (1 − f))` and
///   `round(2048 · f)` (INTER_RESIZE_COEF_BITS = 11, ties to even);
/// * the horizontal pass sums `pixel · weight` exactly (i32);
/// * the vertical pass is OpenCV's SIMD kernel, which every pixel goes
///   through: each row value shifted right by 4, multiplied by its weight
///   keeping the high 16 bits, the two summed and rounded by
///   `(sum + 2) >> 2`.
///
/// Rows of the horizontal pass are computed once and kept while the
/// vertical pass still needs them; no allocation per pixel.
pub fn resize_opencv_linear(src: &RgbImage, crop: PixelRect, width: u32, height: u32) -> RgbImage {
    assert!(
        crop.width > 0
            && crop.height > 0
            && crop.x + crop.width <= src.width()
            && crop.y + crop.height <= src.height(),
        "crop {crop:?} outside a {}×{} image",
        src.width(),
        src.height()
    );
    let (dw, dh) = (width.max(1) as usize, height.max(1) as usize);
    let (sw, sh) = (crop.width as usize, crop.height as usize);
    let xs = opencv_taps(sw, dw, true);
    let ys = opencv_taps(sh, dh, false);

    let stride = src.width() as usize * 3;
    let raw = src.as_raw();
    let src_row = |r: usize| {
        let start = (crop.y as usize + r) * stride + crop.x as usize * 3;
        &raw[start..start + sw * 3]
    };
    // Horizontal pass of one source row, already shifted right by 4 as the
    // vertical kernel wants it (max 255 · 2048 >> 4 = 32640).
    let horizontal = |r: usize, out: &mut [i32]| {
        let row = src_row(r);
        for (d, t) in xs.iter().enumerate() {
            let (p0, p1) = (&row[t.i0 * 3..t.i0 * 3 + 3], &row[t.i1 * 3..t.i1 * 3 + 3]);
            for c in 0..3 {
                out[d * 3 + c] = (p0[c] as i32 * t.w0 + p1[c] as i32 * t.w1) >> 4;
            }
        }
    };

    let mut dst = RgbImage::new(dw as u32, dh as u32);
    let mut rows = [vec![0i32; dw * 3], vec![0i32; dw * 3]];
    let mut held = [usize::MAX; 2];
    for (dy, t) in ys.iter().enumerate() {
        for need in [t.i0, t.i1] {
            if !held.contains(&need) {
                // Replace the slot the other tap does not use.
                let other = if need == t.i0 { t.i1 } else { t.i0 };
                let slot = usize::from(held[0] == other);
                horizontal(need, &mut rows[slot]);
                held[slot] = need;
            }
        }
        let r0 = &rows[usize::from(held[0] != t.i0)];
        let r1 = &rows[usize::from(held[0] != t.i1)];
        let out = &mut dst.as_mut()[dy * dw * 3..(dy + 1) * dw * 3];
        for ((o, &a), &b) in out.iter_mut().zip(r0.iter()).zip(r1.iter()) {
            let v = ((a * t.w0) >> 16) + ((b * t.w1) >> 16);
            *o = ((v + 2) >> 2).clamp(0, 255) as u8;
        }
    }
    dst
}

/// One output pixel's two source indices and their 11-bit weights.
#[derive(Debug, Clone, Copy)]
struct Tap {
    i0: usize,
    i1: usize,
    w0: i32,
    w1: i32,
}

/// OpenCV's linear taps for resizing `src` samples to `dst` along one axis.
///
/// Off the edge, OpenCV's horizontal pass moves the tap onto the edge pixel
/// with weight 2048 (`edge_weight`), while its vertical pass keeps the
/// fractional weights and reads the edge row twice: the same value in exact
/// arithmetic, not always after the vertical kernel's truncations.
fn opencv_taps(src: usize, dst: usize, edge_weight: bool) -> Vec<Tap> {
    let scale = 1.0 / (dst as f64 / src as f64);
    let weight = |v: f32| (v * 2048.0).round_ties_even() as i32;
    let last = src as i64 - 1;
    (0..dst)
        .map(|d| {
            let pos = ((d as f64 + 0.5) * scale - 0.5) as f32;
            let floor = pos.floor();
            let mut f = pos - floor;
            let mut i = floor as i64;
            if edge_weight && i < 0 {
                (i, f) = (0, 0.0);
            }
            if edge_weight && i >= last {
                (i, f) = (last, 0.0);
            }
            Tap {
                i0: i.clamp(0, last) as usize,
                i1: (i + 1).clamp(0, last) as usize,
                w0: weight(1.0 - f),
                w1: weight(f),
            }
        })
        .collect()
}

/// Resize `region` of `src` (the whole image when `None`) to `width`×`height`,
/// antialiased bilinear.
pub fn resize_region(src: &RgbImage, region: Option<BBox>, width: u32, height: u32) -> RgbImage {
    let mut dst = RgbImage::new(width.max(1), height.max(1));
    let mut options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Bilinear));
    if let Some(b) = region {
        let (left, top, w, h) = crop_window(src, b);
        options = options.crop(left, top, w, h);
    }
    Resizer::new()
        .resize(src, &mut dst, &options)
        .expect("RGB8 to RGB8 resize with an in-bounds crop cannot fail");
    dst
}

/// The window [`resize_region`] samples for `b`: the box clipped to the
/// photo, at least one pixel each way and kept inside it. A box thinner
/// than a pixel at the photo's far edge (or wholly outside it, or inverted)
/// used to ask for a window reaching past the edge, which the resizer
/// refuses: a panic on thin panoramas.
fn crop_window(src: &RgbImage, b: BBox) -> (f64, f64, f64, f64) {
    let (pw, ph) = (src.width() as f64, src.height() as f64);
    let b = b.clip(pw as f32, ph as f32);
    // `max` before `min`: a NaN size becomes one pixel.
    let w = (b.width() as f64).max(1.0).min(pw);
    let h = (b.height() as f64).max(1.0).min(ph);
    let left = (b.x1 as f64).min(pw - w).max(0.0);
    let top = (b.y1 as f64).min(ph - h).max(0.0);
    (left, top, w, h)
}

/// Write `img` into `out` (`[3, H, W]`) at (`left`, `top`), as
/// `(pixel / 255 − mean) / std`; `flip` mirrors it horizontally.
pub fn write_chw(
    img: &RgbImage,
    mut out: ArrayViewMut3<f32>,
    left: usize,
    top: usize,
    mean: [f32; 3],
    std: [f32; 3],
    flip: bool,
) {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let scale: [f32; 3] = std::array::from_fn(|c| 1.0 / (255.0 * std[c]));
    let shift: [f32; 3] = std::array::from_fn(|c| mean[c] / std[c]);
    let raw = img.as_raw();
    for y in 0..h {
        let row = &raw[y * w * 3..(y + 1) * w * 3];
        for c in 0..3 {
            let mut plane = out.slice_mut(ndarray::s![c, top + y, left..left + w]);
            for x in 0..w {
                let sx = if flip { w - 1 - x } else { x };
                plane[x] = row[sx * 3 + c] as f32 * scale[c] - shift[c];
            }
        }
    }
}

/// Fill a `[3, H, W]` tensor with one colour, normalised like the pixels.
pub fn fill_chw(mut out: ArrayViewMut3<f32>, rgb: [u8; 3], mean: [f32; 3], std: [f32; 3]) {
    for c in 0..3 {
        let v = (rgb[c] as f32 / 255.0 - mean[c]) / std[c];
        out.slice_mut(ndarray::s![c, .., ..]).fill(v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Boxes at or past the far edge of a thin panorama (1109×103, as three
    /// happywhale-sample photos are) resample a window inside the photo
    /// instead of panicking in the resizer.
    #[test]
    fn boxes_thinner_than_a_pixel_at_the_edge_stay_inside_the_photo() {
        let img = seeded(1109, 103, 7);
        let boxes = [
            BBox {
                x1: 10.0,
                y1: 102.6,
                x2: 50.0,
                y2: 110.0,
            },
            BBox {
                x1: 10.0,
                y1: 200.0,
                x2: 50.0,
                y2: 300.0,
            },
            BBox {
                x1: 1108.7,
                y1: 0.0,
                x2: 1200.0,
                y2: 50.0,
            },
            BBox {
                x1: 60.0,
                y1: 50.0,
                x2: 20.0,
                y2: 40.0,
            },
            BBox {
                x1: f32::NAN,
                y1: 0.0,
                x2: 5.0,
                y2: f32::NAN,
            },
        ];
        for b in boxes {
            let out = resize_region(&img, Some(b), 32, 16);
            assert_eq!(out.dimensions(), (32, 16), "{b:?}");
            let (left, top, w, h) = crop_window(&img, b);
            assert!(
                left >= 0.0 && left + w <= 1109.0 && w >= 1.0,
                "{b:?}: {left} {w}"
            );
            assert!(
                top >= 0.0 && top + h <= 103.0 && h >= 1.0,
                "{b:?}: {top} {h}"
            );
        }
    }

    /// Row-major RGB bytes from the glibc LCG, as `seeded()` in the Python
    /// snippet below.
    fn seeded(width: u32, height: u32, seed: u64) -> RgbImage {
        let mut s = seed;
        let bytes = (0..width * height * 3)
            .map(|_| {
                s = (s * 1_103_515_245 + 12_345) % (1 << 31);
                ((s >> 16) & 255) as u8
            })
            .collect();
        RgbImage::from_raw(width, height, bytes).unwrap()
    }

    // Made once with opencv-python-headless 5.1.0 (identical with 4.5.5.64,
    // and with cv2.ipp.setUseIPP(False)); the hex is `.tobytes()` of the result:
    // import cv2, numpy as np
    //
    // def seeded(w, h, seed):
    //     # LCG (glibc constants), the same in the Rust test: one byte per channel, row-major RGB.
    //     s, out = seed, []
    //     for _ in range(w * h * 3):
    //         s = (s * 1103515245 + 12345) % 2**31
    //         out.append((s >> 16) & 255)
    //     return np.array(out, np.uint8).reshape(h, w, 3)
    //
    // cases = [  # (src w, h, seed, crop (x1, y1, x2, y2) or None, dst w, h)
    //     (13, 9, 1, None, 5, 4),        # down, ratios 2.6 x 2.25
    //     (7, 5, 2, None, 16, 11),       # up, 2.29 x 2.2
    //     (20, 15, 3, None, 9, 17),      # down in x, up in y
    //     (16, 12, 4, None, 8, 6),       # exactly 2x down (OpenCV's INTER_AREA shortcut)
    //     (23, 19, 5, (3.7, 2.2, 18.9, 15.6), 7, 10),  # a float box: img[int(y1):int(y2), int(x1):int(x2)]
    // ]
    // for w, h, seed, box, dw, dh in cases:
    //     img = seeded(w, h, seed)
    //     if box:
    //         x1, y1, x2, y2 = (int(v) for v in box)
    //         img = img[y1:y2, x1:x2]
    //     print(w, h, seed, box, dw, dh, cv2.resize(img, (dw, dh), interpolation=cv2.INTER_LINEAR).tobytes().hex())
    /// (source width, height, seed), box, (destination width, height), hex.
    type Case = ((u32, u32, u64), Option<BBox>, (u32, u32), &'static str);

    #[rustfmt::skip]
    const CV2_RESIZE: [Case; 5] = [
        (
            (13, 9, 1),
            None,
            (5, 4),
            "743f7bc262ba4edb805e8e48a89d7981694b73488aec8c769c47702d425bb4af5a86889f44678f26\
                 b9a2a2624087765f8b667fbe14379f795515cf97",
        ),
        (
            (7, 5, 2),
            None,
            (16, 11),
            "8c21ff8841f97c9ae76fecd348e39720db5b16c23a14a4203f7a24974547df265aed5b32fb8f09f9\
                 a543f7b884f6bf9c9c1cf9953bee8291cf6ee1af46d9911dd0721aba55219f38467e3989565ac23d\
                 6dd75e4eed7e30df9a5bcfb58bcabf9dc410ebb72cd3927c926cc55740be8215b6ad24a699429574\
                 58886e6681887a789ba26596cb52929f7e976dae9d5bbf9fd712d7c62bba94706963b0243da67a17\
                 9dcf3190c55d83a165899649a3a33dabb06e6fbea032cd6462ba209aa607af9e944fac885fa6658b\
                 9544b385419e8a3e898e4e6f916253945d648a41a1742fc4634184655444684149792b548b235892\
                 518c804a939136a7c025b7e746969a66764d6a4e5e662387563f7f39a04520dd1514990c0855041e\
                 3038360d713f018545b26043ae6b40a2894095a06f6d699d45318049514f5a893c7293479170539f\
                 5161723d70452979424681446884447438d7403dc8454a9e515b745b974438d4141596454538908a\
                 22a5a854829c85618daf4b6dd9344ed45555cd7a5fca87626fc14d6eba516ca55a6d8f5fa37539d8\
                 5c13af7e3a6db27662b18e8d7d81b05577b75b77be6276b06b729f746e99776db69c66ada06993ae\
                 727eba76a7bd47d0c118c9c730b5cd5cb7b468cf7b54d9554eae7a76849e9f6b8193535f834a537e\
                 d38d70c69673a3b17b84cb7fa9da4ccdea1ad4e42cd2d951d9b559ea7a42ea553dab86766cb6af4f\
                 8aa034568c2b4485",
        ),
        (
            (20, 15, 3),
            None,
            (9, 17),
            "69a39f347946742b5460fb7db0a5476fae604ae0cbdcc50f5f8a8c7ace76aa586a7aaf27655f574c\
                 3f1569685a12e02ee95c746bd162868d8abf94b740e311b9757d655168406b1faa95446335ce88b7\
                 6aba84bba9bda21c807ce68c895261c8968937ae3e599e429070726082a08f7bbb55254f93956890\
                 679c9fa9a87e695c9cd8563e32624423962f577460775e466b3086b0b35d86c18e46b8ac92775f2e\
                 7142536e2e6321afb9332fb23457cb6982a9cf6439ae5542a7a07a5e74b68785907450231a463590\
                 4eb48c6e86ba8c434c9b479b398d5fa556b25985915a6586ee0137498db3d56da1d1aade5c6c4bd9\
                 7197287a8282652f4814bd87cab1b79a6b445592a6a3b16075d2a0713391955a8ba83f45775a487c\
                 6a8c6fad4a8891829bcd48d174d88152849a63695e99555a7e6a8e3e3251adaaafc67795e42cc188\
                 bbb570a6638477338c549a87aba94b2c4383bb79d1775f7c8ba29e63866ac64272604b8339c998c4\
                 7c7c6d567c8074ae801f6fbd9a7840437fa0693b207bae1faeb1b949888b7b845ab67b9832eb7a9b\
                 4778539c6a8e4a3eaf853cfb69c7594a56864f6ba43ba78ae166a744c1757b8982944d9368c3febb\
                 e2316f46933f62ce126226ab4fbb67c84edc9f",
        ),
        (
            (16, 12, 4),
            None,
            (8, 6),
            "8a5d98577d6f96954e8fad76666b59ebf2934aa8545c6e33557c44859b3d69ad4ab57284a3278b1c\
                 675d6d4789749e5285a7aab1a379886c7f88a387a376c3789a7499b465876f6592788194aa9dabaa\
                 a48096779e6f7c79a39048869f8db96474c54164499f8a8071d665ce8c6b6b569aa971566f7f54c7\
                 6266a35c98785d865f81668264c18ac817b64b7b4e549885",
        ),
        (
            (23, 19, 5),
            Some(BBox { x1: 3.7, y1: 2.2, x2: 18.9, y2: 15.6 }),
            (7, 10),
            "a949764753b45f7448baa53ca25ed173289872a37777729e78694148883699821dcd8a729461be9f\
                 6388525684683579bec77430b4cac4bb2ade5fc88a7b600f64e23f6f55e12b88ecb7e89c1ecb23b8\
                 36a536689cb57aa261712d8e936a673a8e9e2b4e66717c6468b86b5a90829da4b6648eb29e26518e\
                 7d51617bba80af675965bf3de15476c685e4bf33277cdd9d8a7e6a765a5b633ea14daf6e3e4bec65\
                 daa04f85437268c26a6391965d56a99b7da48cbe8a81366eb998675b8d6e7b893e69ba3a3e57e150\
                 5fa14f554096654ead68",
        ),
    ];

    #[test]
    fn opencv_linear_equals_cv2_resize_inter_linear() {
        for ((w, h, seed), region, (dw, dh), want) in CV2_RESIZE {
            let src = seeded(w, h, seed);
            let got = resize_region_with(&src, region, dw, dh, ResizeFilter::OpencvLinear);
            assert_eq!(got.dimensions(), (dw, dh));
            assert_eq!(
                hex::encode(got.as_raw()),
                want,
                "{w}x{h} seed {seed} box {region:?} -> {dw}x{dh}"
            );
        }
    }

    #[test]
    fn opencv_linear_aliases_where_the_antialiased_filter_averages() {
        // One-pixel stripes shrunk 3x: OpenCV's two taps land exactly on
        // pixel 3d + 1 and keep full-contrast stripes (aliasing); the
        // antialiased filter mixes five pixels into greys.
        let src = RgbImage::from_fn(66, 6, |x, _| {
            image::Rgb([if x % 2 == 0 { 0 } else { 255 }; 3])
        });
        let cv = resize_region_with(&src, None, 22, 2, ResizeFilter::OpencvLinear);
        let aa = resize_region_with(&src, None, 22, 2, ResizeFilter::Antialiased);
        for d in 0..22 {
            let want = if d % 2 == 0 { 255 } else { 0 };
            assert_eq!(cv.get_pixel(d, 1).0, [want; 3], "opencv column {d}");
        }
        for d in 1..21 {
            let v = aa.get_pixel(d, 1).0[0];
            assert!((96..=160).contains(&v), "antialiased column {d}: {v}");
        }
    }

    #[test]
    fn pixel_crop_is_numpy_slicing_of_the_truncated_box() {
        let src = RgbImage::new(23, 19);
        let rect = |x, y, width, height| PixelRect {
            x,
            y,
            width,
            height,
        };
        let bbox = |x1, y1, x2, y2| Some(BBox { x1, y1, x2, y2 });
        assert_eq!(pixel_crop(&src, None), rect(0, 0, 23, 19));
        // img[2:15, 3:18]
        assert_eq!(
            pixel_crop(&src, bbox(3.7, 2.2, 18.9, 15.6)),
            rect(3, 2, 15, 13)
        );
        // Clipped to the photo first.
        assert_eq!(
            pixel_crop(&src, bbox(-5.0, -1.0, 40.0, 19.9)),
            rect(0, 0, 23, 19)
        );
        // Thinner than a pixel, or past the edge: still one pixel.
        assert_eq!(pixel_crop(&src, bbox(4.2, 5.1, 4.8, 5.3)), rect(4, 5, 1, 1));
        assert_eq!(
            pixel_crop(&src, bbox(30.0, 25.0, 40.0, 30.0)),
            rect(22, 18, 1, 1)
        );
        assert_eq!(
            region_size(&src, bbox(3.7, 2.2, 18.9, 15.6), ResizeFilter::OpencvLinear),
            (15.0, 13.0)
        );
    }
}
