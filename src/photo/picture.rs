//! A photo decoded at the scale the work needs.
//!
//! Survey cameras write 24–45 MP JPEGs; the detector reads 640 px, a
//! backbone 224–640 px, a thumbnail 256 px. Decoding every pixel to throw
//! 98% of them away was 95% of the time of an ingest of such photos. A
//! [`Picture`] holds the photo upright at a reduced scale, its *view*, decoded
//! with JPEG's DCT scaling (1/2, 1/4 or 1/8: the inverse DCT of each 8×8
//! block computed at 4×4, 2×2 or 1×1, which is an antialiased reduction, not
//! a decimation). The view is the coarsest of those scales that still gives
//! the detector its input, the thumbnail, and (for a pack without a
//! detector) the whole-photo review image and [`MODEL_MARGIN`] times every
//! backbone's input ([`ViewPlan`]). A crop that needs more detail than the
//! view has (a small fin far away) is decoded again from the JPEG, only its
//! region and at the coarsest scale that still has that margin
//! ([`Picture::pixels`]): libjpeg-turbo skips the inverse DCT and colour
//! conversion of everything outside it.
//!
//! ## The decoder, measured
//!
//! `cargo bench --bench ingest` prints this comparison on the photos it
//! runs: one photo decoded on one core, 6000×4000 JPEG quality 92, 4:2:0,
//! made from happywhale-sample (one run on the 2-core development machine;
//! the machine's speed varied by 1.5× between runs, the order never):
//!
//! | decoder | what it gives | ms |
//! |---|---|---:|
//! | zune-jpeg 0.5 (through `image`) | full 6000×4000 | 71 |
//! | libjpeg-turbo 3.1 | full | 58 |
//! | jpeg-decoder 0.3 `scale` | 1/8: 750×500 | 41 |
//! | libjpeg-turbo 3.1 | 1/8: 750×500 | 22 |
//! | libjpeg-turbo 3.1 | 1/4: 1500×1000 | 27 |
//! | libjpeg-turbo 3.1 | 1/2: 3000×2000 | 35 |
//! | libjpeg-turbo 3.1 | 1/8, then a 1000×667 region at 1/2 | 33 |
//!
//! zune-jpeg is about as fast as libjpeg-turbo at full size but cannot
//! scale or crop. jpeg-decoder scales, but only after decoding every coefficient
//! with a slower entropy decoder. libjpeg-turbo (already here as the decoder
//! of OpenCV-faithful packs, built from its vendored source) scales inside
//! the IDCT with SIMD and decodes regions natively, so it decodes
//! camera-size JPEGs. What no scale saves is Huffman decoding of the whole
//! file (a JPEG cannot be entered mid-scan without restart markers): most
//! of the 22 ms, and the reason 1/4 costs little more than 1/8.
//!
//! ## What stays on the full decode
//!
//! Other formats (PNG, TIFF, WebP); CMYK/YCCK, lossless and 12-bit JPEGs;
//! any JPEG libjpeg-turbo warns about (it is decoded by zune-jpeg, as
//! before); and photos too small for a reduction to leave the work its
//! pixels. Packs whose backbones resize as OpenCV does (`opencv-linear`) get
//! their crops at full scale, so their pixels stay those of `cv2.imread`
//! (libjpeg-turbo with the same defaults), bit for bit; only their detector
//! input comes from the view.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use image::metadata::Orientation;
use image::{DynamicImage, RgbImage};

use super::turbo::{self, Header, Rect};
use crate::detect::BBox;
use crate::error::{Error, Result};

/// Reductions JPEG's DCT gives, coarsest first.
pub const SHRINKS: [u32; 4] = [8, 4, 2, 1];

/// How many times a model's input size a reduced decode must still be,
/// for a crop's embedding to stay where the full decode puts it. DCT
/// scaling is an antialiased reduction, but not the same filter as the
/// resampler's; with the final resample still shrinking by 4× or more, the
/// resampler's filter decides. Measured on camera-size photos with the
/// generic pack (`cargo bench --bench ingest`): a 6000×4000 photo decoded
/// at 1/8 (2.2× a 224 input) gave whole-photo embeddings down to cosine
/// 0.998 against the full decode, at 1/4 (4.5×) 0.9993 and above; and
/// Huffman decoding, which every scale pays in full, is most of the cost
/// (1/4 costs a few ms more than 1/8).
pub const MODEL_MARGIN: f64 = 4.0;

/// What a photo's view must hold. A reduction is used only when the
/// reduced photo still meets every size here.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ViewPlan {
    /// The view's long side is at least this: the thumbnail, the
    /// detector's input, the whole-photo review image. These read the
    /// reduced pixels directly (as Pillow's `draft` would give them).
    pub long_side: u32,
    /// The input of a model that embeds the whole photo (0×0 when none
    /// does, e.g. with a detector): each side of the view is at least
    /// [`MODEL_MARGIN`] times it.
    pub model_width: u32,
    pub model_height: u32,
    /// Keep the JPEG to decode regions later, at more detail than the view
    /// (a detector's boxes, given boxes). Without it a region gets the view.
    pub keep_source: bool,
}

impl ViewPlan {
    /// Every pixel: no reduction.
    pub const FULL: ViewPlan = ViewPlan {
        long_side: u32::MAX,
        model_width: 0,
        model_height: 0,
        keep_source: false,
    };

    /// The coarsest reduction of a `width`×`height` (upright) photo that
    /// still meets the plan; 1 when none does.
    pub fn shrink(&self, width: u32, height: u32) -> u32 {
        SHRINKS
            .into_iter()
            .find(|&d| {
                let (w, h) = (width as f64 / d as f64, height as f64 / d as f64);
                w.max(h) >= self.long_side as f64
                    && w >= MODEL_MARGIN * self.model_width as f64
                    && h >= MODEL_MARGIN * self.model_height as f64
            })
            .unwrap_or(1)
    }
}

/// The JPEG a reduced view came from, kept to decode regions of it again.
#[derive(Debug)]
struct Source {
    jpeg: Vec<u8>,
    header: Header,
    /// EXIF orientation, 1–8.
    orientation: u8,
}

/// A decoded photo: its full upright size, and its pixels upright at
/// 1/[`Picture::shrink`] of it.
#[derive(Debug)]
pub struct Picture {
    pub path: PathBuf,
    width: u32,
    height: u32,
    view: RgbImage,
    shrink: u32,
    /// Stored (unrotated) size of the view, for mapping boxes into it.
    stored_view: (u32, u32),
    orientation: u8,
    source: Option<Source>,
}

/// Pixels for one region of a [`Picture`].
#[derive(Debug)]
pub struct Pixels<'a> {
    pub image: Cow<'a, RgbImage>,
    /// The region, in `image`'s pixels.
    pub region: BBox,
    /// `image` is 1/`shrink` of the photo.
    pub shrink: u32,
}

impl Picture {
    /// A photo already decoded at full size.
    pub fn from_image(path: impl Into<PathBuf>, image: RgbImage) -> Self {
        let (width, height) = image.dimensions();
        Self {
            path: path.into(),
            width,
            height,
            stored_view: (width, height),
            view: image,
            shrink: 1,
            orientation: 1,
            source: None,
        }
    }

    /// Decode a JPEG's view with libjpeg-turbo: `None` when this path does
    /// not take it (see the module doc) or the plan leaves no reduction, so
    /// the caller decodes it in full.
    pub(super) fn decode_reduced(
        path: &Path,
        bytes: &[u8],
        orientation: Orientation,
        plan: &ViewPlan,
    ) -> Option<Self> {
        let run = || -> std::result::Result<Option<Self>, String> {
            let mut decoder = turbo::Decoder::new()?;
            let Some(header) = decoder.header(bytes)? else {
                return Ok(None);
            };
            let orientation = orientation.to_exif();
            let (width, height) = upright_size(orientation, header.width, header.height);
            let shrink = plan.shrink(width, height);
            if shrink == 1 {
                return Ok(None);
            }
            let (stored, _) = decoder.decode(bytes, &header, shrink, None)?;
            let stored_view = stored.dimensions();
            let view = orient(stored, orientation);
            Ok(Some(Self {
                path: path.to_path_buf(),
                width,
                height,
                view,
                shrink,
                stored_view,
                orientation,
                source: plan.keep_source.then(|| Source {
                    jpeg: bytes.to_vec(),
                    header,
                    orientation,
                }),
            }))
        };
        run().unwrap_or_else(|e| {
            tracing::debug!("{}: libjpeg-turbo: {e}; decoding in full", path.display());
            None
        })
    }

    /// Upright size at full resolution.
    pub fn width(&self) -> u32 {
        self.width
    }

    pub fn height(&self) -> u32 {
        self.height
    }

    /// The whole photo, in full-resolution pixels.
    pub fn whole(&self) -> BBox {
        BBox {
            x1: 0.0,
            y1: 0.0,
            x2: self.width as f32,
            y2: self.height as f32,
        }
    }

    /// The photo upright at 1/[`Self::shrink`].
    pub fn view(&self) -> &RgbImage {
        &self.view
    }

    pub fn shrink(&self) -> u32 {
        self.shrink
    }

    /// Whether regions can be decoded at more detail than the view.
    pub fn has_source(&self) -> bool {
        self.source.is_some()
    }

    /// Forget the JPEG: regions get the view from now on.
    pub fn drop_source(&mut self) {
        self.source = None;
    }

    /// The full photo's pixels, when the view is all of them.
    pub fn into_full(self) -> Option<RgbImage> {
        (self.shrink == 1).then_some(self.view)
    }

    /// `region` (full-resolution, upright) in the view's pixels.
    pub fn view_box(&self, region: BBox) -> BBox {
        self.scaled_box(region, self.shrink, self.stored_view)
    }

    /// `b` (full-resolution, upright) in the pixels of the photo decoded at
    /// 1/`shrink`, stored size `stored`, then turned upright. A JPEG's
    /// scaled pixel `i` covers full pixels `[i·shrink, (i+1)·shrink)`
    /// (edge blocks are padded), so the box is mapped in stored
    /// coordinates and turned there.
    fn scaled_box(&self, b: BBox, shrink: u32, stored: (u32, u32)) -> BBox {
        if shrink == 1 && self.orientation == 1 {
            return b;
        }
        let (sw, sh) = self.stored_full();
        let raw = map_box(b, |x, y| to_stored(self.orientation, x, y, sw, sh));
        let d = shrink as f32;
        let raw = BBox {
            x1: raw.x1 / d,
            y1: raw.y1 / d,
            x2: raw.x2 / d,
            y2: raw.y2 / d,
        };
        let (w, h) = (stored.0 as f32, stored.1 as f32);
        map_box(raw, |x, y| to_upright(self.orientation, x, y, w, h))
    }

    /// Stored (unrotated) full size.
    fn stored_full(&self) -> (f32, f32) {
        let (w, h) = (self.width as f32, self.height as f32);
        if self.orientation >= 5 {
            (h, w)
        } else {
            (w, h)
        }
    }

    /// Pixels covering `region` (full-resolution, upright) at a reduction
    /// of at most `max_shrink`: the view when it is that fine, else a
    /// decode of the region alone at that scale, with a margin (so
    /// resampling at the box's edge and chroma upsampling see the same
    /// neighbours as in the whole photo). A region decode that fails (it
    /// cannot, after the view decoded the same bytes, short of memory) or a
    /// picture without its JPEG gives the view.
    pub fn pixels(&self, region: BBox, max_shrink: u32) -> Pixels<'_> {
        let view = || Pixels {
            image: Cow::Borrowed(&self.view),
            region: self.view_box(region),
            shrink: self.shrink,
        };
        let Some(source) = self.source.as_ref().filter(|_| self.shrink > max_shrink) else {
            return view();
        };
        let shrink = SHRINKS
            .into_iter()
            .find(|&d| d <= max_shrink.max(1))
            .unwrap_or(1);
        match self.decode_region(source, region, shrink) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(
                    "{}: decoding a region again failed ({e}); using the reduced photo",
                    self.path.display()
                );
                view()
            }
        }
    }

    fn decode_region(
        &self,
        source: &Source,
        region: BBox,
        shrink: u32,
    ) -> std::result::Result<Pixels<'static>, String> {
        let header = &source.header;
        let stored = (
            turbo::scaled(header.width, shrink),
            turbo::scaled(header.height, shrink),
        );
        let (sw, sh) = self.stored_full();
        let raw = map_box(
            region.clip(self.width as f32, self.height as f32),
            |x, y| to_stored(source.orientation, x, y, sw, sh),
        );
        let d = shrink as f32;
        // Two iMCUs of margin: libjpeg-turbo upsamples chroma at a crop's
        // edge without the neighbour outside it, and the resampler reads
        // a few pixels past the box.
        let pad = 2 * turbo::scaled(header.mcu.0.max(header.mcu.1), shrink) + 4;
        let x0 = ((raw.x1 / d).floor().max(0.0) as u32).saturating_sub(pad);
        let y0 = ((raw.y1 / d).floor().max(0.0) as u32).saturating_sub(pad);
        let x1 = ((raw.x2 / d).ceil() as u32 + pad).min(stored.0);
        let y1 = ((raw.y2 / d).ceil() as u32 + pad).min(stored.1);
        let want = Rect {
            x: x0,
            y: y0,
            width: x1.saturating_sub(x0).max(1),
            height: y1.saturating_sub(y0).max(1),
        };
        let mut decoder = turbo::Decoder::new()?;
        decoder.header(&source.jpeg)?;
        let (patch, got) = decoder.decode(&source.jpeg, header, shrink, Some(want))?;
        // Where the patch lies in the upright scaled photo.
        let (w, h) = (stored.0 as f32, stored.1 as f32);
        let at = map_box(
            BBox {
                x1: got.x as f32,
                y1: got.y as f32,
                x2: (got.x + got.width) as f32,
                y2: (got.y + got.height) as f32,
            },
            |x, y| to_upright(source.orientation, x, y, w, h),
        );
        let b = self.scaled_box(region, shrink, stored);
        Ok(Pixels {
            image: Cow::Owned(orient(patch, source.orientation)),
            region: BBox {
                x1: b.x1 - at.x1,
                y1: b.y1 - at.y1,
                x2: b.x2 - at.x1,
                y2: b.y2 - at.y1,
            },
            shrink,
        })
    }
}

/// Read and decode `path` with [`super::decode_picture`].
pub fn open_picture(
    path: &Path,
    max_pixels: u64,
    jpeg: super::JpegDecoder,
    plan: &ViewPlan,
) -> Result<Picture> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    super::decode_picture(path, &bytes, max_pixels, jpeg, plan)
}

/// Upright size of a stored `w`×`h` image under EXIF orientation `o`.
fn upright_size(o: u8, w: u32, h: u32) -> (u32, u32) {
    if o >= 5 {
        (h, w)
    } else {
        (w, h)
    }
}

/// Turn stored pixels upright.
fn orient(image: RgbImage, o: u8) -> RgbImage {
    if o == 1 {
        return image;
    }
    let mut d = DynamicImage::ImageRgb8(image);
    d.apply_orientation(Orientation::from_exif(o).unwrap_or(Orientation::NoTransforms));
    d.into_rgb8()
}

/// The point of the stored image (size `w`×`h`) that shows at upright
/// `(x, y)` under EXIF orientation `o`; coordinates are edges, not pixel
/// centres, so a box maps to a box exactly.
fn to_stored(o: u8, x: f32, y: f32, w: f32, h: f32) -> (f32, f32) {
    match o {
        2 => (w - x, y),
        3 => (w - x, h - y),
        4 => (x, h - y),
        5 => (y, x),
        6 => (y, h - x),
        7 => (w - y, h - x),
        8 => (w - y, x),
        _ => (x, y),
    }
}

/// Where stored `(x, y)` of a `w`×`h` stored image shows once upright: the
/// inverse of [`to_stored`].
fn to_upright(o: u8, x: f32, y: f32, w: f32, h: f32) -> (f32, f32) {
    match o {
        2 => (w - x, y),
        3 => (w - x, h - y),
        4 => (x, h - y),
        5 => (y, x),
        6 => (h - y, x),
        7 => (h - y, w - x),
        8 => (y, w - x),
        _ => (x, y),
    }
}

fn map_box(b: BBox, f: impl Fn(f32, f32) -> (f32, f32)) -> BBox {
    let (ax, ay) = f(b.x1, b.y1);
    let (bx, by) = f(b.x2, b.y2);
    BBox {
        x1: ax.min(bx),
        y1: ay.min(by),
        x2: ax.max(bx),
        y2: ay.max(by),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::photo::{decode_picture, decode_with, JpegDecoder, DEFAULT_MAX_PIXELS};

    /// A textured 4:2:0 JPEG of `w`×`h` (stored), with EXIF orientation `o`.
    fn jpeg(w: u16, h: u16, o: u16) -> Vec<u8> {
        let rgb: Vec<u8> = (0..h as u32)
            .flat_map(|y| {
                (0..w as u32).flat_map(move |x| {
                    let r = (x * 255 / w as u32) as u8;
                    let g = (y * 255 / h as u32) as u8;
                    // Edges and texture, so a misplaced pixel shows.
                    let b = if ((x / 7) + (y / 5)) % 3 == 0 {
                        230
                    } else {
                        30
                    };
                    [r, g ^ ((x * 13) as u8 & 0x1f), b]
                })
            })
            .collect();
        let mut exif = b"Exif\0\0II*\0".to_vec();
        exif.extend_from_slice(&8u32.to_le_bytes());
        exif.extend_from_slice(&1u16.to_le_bytes());
        exif.extend_from_slice(&0x0112u16.to_le_bytes());
        exif.extend_from_slice(&3u16.to_le_bytes());
        exif.extend_from_slice(&1u32.to_le_bytes());
        exif.extend_from_slice(&o.to_le_bytes());
        exif.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
        let mut out = Vec::new();
        let mut enc = jpeg_encoder::Encoder::new(&mut out, 90);
        enc.set_sampling_factor(jpeg_encoder::SamplingFactor::F_2_2);
        enc.add_app_segment(1, exif).unwrap();
        enc.encode(&rgb, w, h, jpeg_encoder::ColorType::Rgb)
            .unwrap();
        out
    }

    fn reduced(bytes: &[u8], long_side: u32) -> Picture {
        let plan = ViewPlan {
            long_side,
            model_width: 0,
            model_height: 0,
            keep_source: true,
        };
        decode_picture(
            Path::new("t.jpg"),
            bytes,
            DEFAULT_MAX_PIXELS,
            JpegDecoder::Zune,
            &plan,
        )
        .unwrap()
    }

    fn sub(image: &RgbImage, x: u32, y: u32, w: u32, h: u32) -> Vec<u8> {
        image::imageops::crop_imm(image, x, y, w, h)
            .to_image()
            .into_raw()
    }

    const BOXES: [(f32, f32, f32, f32); 4] = [
        (0.0, 0.0, 40.0, 30.0),
        (101.0, 57.0, 260.0, 190.0),
        (300.0, 200.0, 389.0, 301.0),
        (17.0, 3.0, 389.0, 301.0),
    ];

    #[test]
    fn plans_pick_the_coarsest_scale_that_still_fits() {
        // The generic pack: a 224×224 whole-photo input, 4× over.
        let generic = ViewPlan {
            long_side: 384,
            model_width: 224,
            model_height: 224,
            keep_source: false,
        };
        assert_eq!(generic.shrink(6000, 4000), 4);
        assert_eq!(generic.shrink(8192, 5464), 4);
        assert_eq!(generic.shrink(12000, 8000), 8);
        assert_eq!(generic.shrink(4000, 6000), 4);
        assert_eq!(generic.shrink(1600, 1067), 1);
        assert_eq!(generic.shrink(300, 200), 1);
        // A detector's 640 input and a thumbnail, read directly.
        let detector = ViewPlan {
            long_side: 640,
            model_width: 0,
            model_height: 0,
            keep_source: true,
        };
        assert_eq!(detector.shrink(6000, 4000), 8);
        assert_eq!(detector.shrink(1600, 1067), 2);
        assert_eq!(detector.shrink(600, 400), 1);
        assert_eq!(ViewPlan::FULL.shrink(6000, 4000), 1);
    }

    #[test]
    fn a_region_at_full_scale_is_the_full_decode_in_every_orientation() {
        for o in 1..=8u16 {
            let bytes = jpeg(389, 301, o);
            let full = decode_with(
                Path::new("t.jpg"),
                &bytes,
                DEFAULT_MAX_PIXELS,
                JpegDecoder::LibjpegTurbo,
            )
            .unwrap()
            .image;
            let picture = reduced(&bytes, 40);
            assert_eq!(picture.shrink(), 8, "orientation {o}");
            assert_eq!((picture.width(), picture.height()), full.dimensions());
            for (x1, y1, x2, y2) in BOXES {
                let b = BBox { x1, y1, x2, y2 }.clip(full.width() as f32, full.height() as f32);
                let p = picture.pixels(b, 1);
                assert_eq!(p.shrink, 1);
                assert!(matches!(p.image, Cow::Owned(_)), "a region decode");
                let (w, h) = (b.width() as u32, b.height() as u32);
                let r = p.region;
                assert_eq!((r.width() as u32, r.height() as u32), (w, h));
                assert_eq!(
                    sub(&p.image, r.x1 as u32, r.y1 as u32, w, h),
                    sub(&full, b.x1 as u32, b.y1 as u32, w, h),
                    "orientation {o}, box {b:?}"
                );
                // What a backbone gets is the same to the bit.
                let from_full = crate::imageops::resize_region(&full, Some(b), 32, 24);
                let from_patch = crate::imageops::resize_region(&p.image, Some(r), 32, 24);
                assert_eq!(from_full, from_patch, "orientation {o}, box {b:?}");
            }
        }
    }

    #[test]
    fn a_region_at_a_reduced_scale_is_that_scale_of_the_whole_photo() {
        for o in [1u16, 3, 6, 7] {
            let bytes = jpeg(389, 301, o);
            let coarse = reduced(&bytes, 40);
            let half = reduced(&bytes, 190);
            assert_eq!((coarse.shrink(), half.shrink()), (8, 2));
            for (x1, y1, x2, y2) in BOXES {
                let b = BBox { x1, y1, x2, y2 }.clip(coarse.width() as f32, coarse.height() as f32);
                let p = coarse.pixels(b, 2);
                assert_eq!(p.shrink, 2);
                let v = half.view_box(b);
                let r = p.region;
                assert!(
                    (r.width() - v.width()).abs() < 1e-3 && (r.height() - v.height()).abs() < 1e-3
                );
                // Whole pixels inside the box, compared at their place.
                let (x, y) = (v.x1.ceil(), v.y1.ceil());
                let (w, h) = ((v.x2.floor() - x) as u32, (v.y2.floor() - y) as u32);
                let (dx, dy) = (r.x1 - v.x1, r.y1 - v.y1);
                assert_eq!(
                    sub(&p.image, (x + dx) as u32, (y + dy) as u32, w, h),
                    sub(half.view(), x as u32, y as u32, w, h),
                    "orientation {o}, box {b:?}"
                );
            }
        }
    }

    #[test]
    fn the_view_shows_each_box_where_the_full_photo_does() {
        // A dark square on a light photo, found at the same place in the
        // 1/8 view as in the full decode, whatever the orientation.
        for o in 1..=8u16 {
            let (w, h) = (640u16, 480u16);
            let mut rgb = vec![220u8; w as usize * h as usize * 3];
            for y in 96..224usize {
                for x in 320..480usize {
                    let i = (y * w as usize + x) * 3;
                    rgb[i..i + 3].copy_from_slice(&[10, 10, 10]);
                }
            }
            let mut exif = b"Exif\0\0II*\0\x08\0\0\0\x01\0\x12\x01\x03\0\x01\0\0\0".to_vec();
            exif.extend_from_slice(&o.to_le_bytes());
            exif.extend_from_slice(&[0; 6]);
            let mut bytes = Vec::new();
            let mut enc = jpeg_encoder::Encoder::new(&mut bytes, 92);
            enc.add_app_segment(1, exif).unwrap();
            enc.encode(&rgb, w, h, jpeg_encoder::ColorType::Rgb)
                .unwrap();
            let full = decode_with(
                Path::new("t.jpg"),
                &bytes,
                DEFAULT_MAX_PIXELS,
                JpegDecoder::Zune,
            )
            .unwrap()
            .image;
            let picture = reduced(&bytes, 70);
            assert_eq!(picture.shrink(), 8);
            let dark = |img: &RgbImage, b: BBox| -> f32 {
                let small = crate::imageops::resize_region(img, Some(b), 8, 8);
                small.pixels().map(|p| p[0] as f32).sum::<f32>() / 64.0
            };
            // The square's place once upright, found in the full decode.
            let (fw, fh) = full.dimensions();
            let mut square = BBox {
                x1: f32::MAX,
                y1: f32::MAX,
                x2: 0.0,
                y2: 0.0,
            };
            for (x, y, p) in full.enumerate_pixels() {
                if p[0] < 100 {
                    square.x1 = square.x1.min(x as f32);
                    square.y1 = square.y1.min(y as f32);
                    square.x2 = square.x2.max(x as f32 + 1.0);
                    square.y2 = square.y2.max(y as f32 + 1.0);
                }
            }
            assert_eq!((picture.width(), picture.height()), (fw, fh));
            let inside = BBox {
                x1: square.x1 + 16.0,
                y1: square.y1 + 16.0,
                x2: square.x2 - 16.0,
                y2: square.y2 - 16.0,
            };
            let outside = BBox {
                x1: square.x2 + 16.0,
                y1: square.y1,
                x2: (square.x2 + 80.0).min(fw as f32),
                y2: square.y2,
            };
            let outside = if outside.width() > 16.0 {
                outside
            } else {
                BBox {
                    x1: square.x1 - 80.0,
                    x2: square.x1 - 16.0,
                    ..outside
                }
            };
            assert!(
                dark(picture.view(), picture.view_box(inside)) < 40.0,
                "orientation {o}"
            );
            assert!(
                dark(picture.view(), picture.view_box(outside)) > 200.0,
                "orientation {o}"
            );
        }
    }

    #[test]
    fn without_its_jpeg_a_picture_gives_the_view() {
        let bytes = jpeg(389, 301, 6);
        let mut picture = reduced(&bytes, 40);
        picture.drop_source();
        let b = BBox {
            x1: 10.0,
            y1: 10.0,
            x2: 200.0,
            y2: 100.0,
        };
        let p = picture.pixels(b, 1);
        assert!(matches!(p.image, Cow::Borrowed(_)));
        assert_eq!((p.shrink, p.region), (8, picture.view_box(b)));
    }

    #[test]
    fn other_formats_and_small_photos_are_decoded_in_full() {
        let png = {
            let mut out = std::io::Cursor::new(Vec::new());
            DynamicImage::new_rgb8(640, 480)
                .write_to(&mut out, image::ImageFormat::Png)
                .unwrap();
            out.into_inner()
        };
        let plan = ViewPlan {
            long_side: 60,
            model_width: 0,
            model_height: 0,
            keep_source: true,
        };
        let p = decode_picture(
            Path::new("p.png"),
            &png,
            DEFAULT_MAX_PIXELS,
            JpegDecoder::Zune,
            &plan,
        )
        .unwrap();
        assert_eq!(
            (p.shrink(), p.view().dimensions(), p.has_source()),
            (1, (640, 480), false)
        );
        let small = jpeg(120, 90, 1);
        let p = decode_picture(
            Path::new("s.jpg"),
            &small,
            DEFAULT_MAX_PIXELS,
            JpegDecoder::Zune,
            &ViewPlan {
                long_side: 130,
                ..plan
            },
        )
        .unwrap();
        assert_eq!((p.shrink(), p.has_source()), (1, false));
    }
}
