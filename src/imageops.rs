//! Pixel plumbing shared by the detector and the embedder: resize a region of
//! a photo (fast_image_resize, SIMD, antialiased) and write pixels into an
//! NCHW float tensor with per-channel normalisation.

use fast_image_resize::{FilterType, ResizeAlg, ResizeOptions, Resizer};
use image::RgbImage;
use ndarray::ArrayViewMut3;

use crate::detect::BBox;

/// Resize `region` of `src` (the whole image when `None`) to `width`×`height`.
pub fn resize_region(src: &RgbImage, region: Option<BBox>, width: u32, height: u32) -> RgbImage {
    let mut dst = RgbImage::new(width.max(1), height.max(1));
    let mut options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Bilinear));
    if let Some(b) = region {
        let b = b.clip(src.width() as f32, src.height() as f32);
        options = options.crop(
            b.x1 as f64,
            b.y1 as f64,
            (b.width() as f64).max(1.0),
            (b.height() as f64).max(1.0),
        );
    }
    Resizer::new()
        .resize(src, &mut dst, &options)
        .expect("RGB8 to RGB8 resize with an in-bounds crop cannot fail");
    dst
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
