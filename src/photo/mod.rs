//! Reading photos: content-sniffed decoding, a pixel limit, EXIF orientation.
//!
//! Survey folders hold whatever cameras and phones wrote. The format is taken
//! from the bytes, not the extension (a PNG named `.jpg` still opens); the
//! declared size is checked against a pixel limit before any pixel is decoded,
//! so a decompression bomb is refused instead of exhausting memory; every
//! colour type (grey, 16-bit, alpha, CMYK JPEG) ends as 8-bit RGB; and the EXIF
//! orientation is applied, because `image` does not do it on its own and a
//! fin photographed in portrait would otherwise be embedded on its side.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use image::{DynamicImage, ImageDecoder, ImageReader, Limits, RgbImage};

use crate::error::{Error, Result};

pub mod meta;
pub mod picture;
mod turbo;
pub use meta::Meta;
pub use picture::{open_picture, Picture, Pixels, ViewPlan};

/// 200 megapixels: above any camera in the field, far below what would
/// exhaust a laptop (an RGB 200 MP frame is 600 MB).
pub const DEFAULT_MAX_PIXELS: u64 = 200_000_000;

/// A decoded, upright photo.
#[derive(Debug, Clone)]
pub struct Photo {
    pub path: PathBuf,
    pub image: RgbImage,
}

impl Photo {
    pub fn width(&self) -> u32 {
        self.image.width()
    }

    pub fn height(&self) -> u32 {
        self.image.height()
    }
}

/// Which library turns JPEG data into pixels; other formats ignore it.
///
/// Decoders differ in chroma upsampling, IDCT rounding and colour conversion:
/// on happywhale-sample zune-jpeg's RGB is up to 5 levels from cv2.imread's
/// (12.6% of pixels differ), jpeg-decoder's up to 3 (9.8%), libjpeg-turbo's
/// none. Packs that reproduce an OpenCV pipeline pick libjpeg-turbo; see
/// [`crate::packs::Pack::jpeg_decoder`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum JpegDecoder {
    /// zune-jpeg through `image`: what packs without `opencv-linear` were
    /// measured, calibrated and cached with.
    #[default]
    Zune,
    /// libjpeg-turbo 3.1 with its defaults (islow IDCT, fancy upsampling),
    /// as `cv2.imread` decodes. CMYK/YCCK JPEGs, which OpenCV converts
    /// itself, and those libjpeg-turbo warns about fall back to zune-jpeg.
    LibjpegTurbo,
}

/// Read and decode the photo at `path`.
pub fn open(path: &Path, max_pixels: u64) -> Result<Photo> {
    open_with(path, max_pixels, JpegDecoder::default())
}

/// Read and decode the photo at `path`, JPEGs with `jpeg`.
pub fn open_with(path: &Path, max_pixels: u64, jpeg: JpegDecoder) -> Result<Photo> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    decode_with(path, &bytes, max_pixels, jpeg)
}

/// Decode photo bytes; `path` is only used in errors and the result.
pub fn decode(path: &Path, bytes: &[u8], max_pixels: u64) -> Result<Photo> {
    decode_with(path, bytes, max_pixels, JpegDecoder::default())
}

/// [`decode`], JPEGs with `jpeg`.
pub fn decode_with(path: &Path, bytes: &[u8], max_pixels: u64, jpeg: JpegDecoder) -> Result<Photo> {
    let picture = decode_picture(path, bytes, max_pixels, jpeg, &ViewPlan::FULL)?;
    Ok(Photo {
        path: picture.path.clone(),
        image: picture
            .into_full()
            .expect("a full plan decodes every pixel"),
    })
}

/// Decode photo bytes at the scale `plan` allows (see [`picture`]): a JPEG
/// with DCT scaling where the plan leaves room for it, anything else in
/// full, as [`decode_with`]. Checks, errors and EXIF orientation are the
/// same either way.
pub fn decode_picture(
    path: &Path,
    bytes: &[u8],
    max_pixels: u64,
    jpeg: JpegDecoder,
    plan: &ViewPlan,
) -> Result<Picture> {
    if bytes.is_empty() {
        return Err(Error::photo(path, "empty file (0 bytes)"));
    }
    let Ok(format) = image::guess_format(bytes) else {
        return Err(Error::photo(
            path,
            "unsupported or unrecognised image format (JPEG, PNG, TIFF and WebP are read)",
        ));
    };
    let is_jpeg = format == image::ImageFormat::Jpeg;
    if is_jpeg && !jpeg_has_end(bytes) {
        // zune-jpeg fills a cut-off scan with grey and reports success; a
        // half-grey photo must not be embedded as if it were whole.
        return Err(Error::photo(
            path,
            "truncated JPEG: no end-of-image marker after the last scan",
        ));
    }
    // Size and orientation come from a JPEG's header segments alone: the
    // decoder copies what it is given, and a camera file is megabytes.
    let head = if is_jpeg { jpeg_head(bytes) } else { bytes };
    let reader = |bytes| {
        let mut r = ImageReader::new(Cursor::new(bytes));
        r.set_format(format);
        r
    };
    let (w, h) = reader(head)
        .into_dimensions()
        .map_err(|e| Error::photo(path, format!("corrupt image header: {e}")))?;
    let pixels = w as u64 * h as u64;
    if pixels > max_pixels {
        return Err(Error::photo(
            path,
            format!("{w}×{h} is {pixels} pixels, over the limit of {max_pixels}"),
        ));
    }
    let mut limits = Limits::default();
    // Room for the decoded frame at 16 bits × 4 channels plus decoder slack.
    limits.max_alloc = Some(pixels.saturating_mul(8).saturating_add(64 << 20));
    let decoder = |bytes| {
        let mut r = reader(bytes);
        r.limits(limits.clone());
        r.into_decoder()
            .map_err(|e| Error::photo(path, format!("cannot decode: {e}")))
    };
    let mut header = decoder(head)?;
    // Malformed EXIF must not cost the photo: treat it as upright.
    let orientation = header
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let (uw, uh) = match orientation.to_exif() {
        5..=8 => (h, w),
        _ => (w, h),
    };
    if is_jpeg && plan.shrink(uw, uh) > 1 {
        if let Some(picture) = Picture::decode_reduced(path, bytes, orientation, plan) {
            return Ok(picture);
        }
    }
    let decoder = if is_jpeg { decoder(bytes)? } else { header };
    let turbo = match jpeg {
        JpegDecoder::LibjpegTurbo if is_jpeg => decode_libjpeg_turbo(bytes),
        _ => None,
    };
    let mut image = match turbo {
        Some(rgb) => DynamicImage::ImageRgb8(rgb),
        None => DynamicImage::from_decoder(decoder)
            .map_err(|e| Error::photo(path, format!("corrupt or truncated image data: {e}")))?,
    };
    image.apply_orientation(orientation);
    Ok(Picture::from_image(path, image.into_rgb8()))
}

/// A JPEG's RGB through libjpeg-turbo, or `None` where zune-jpeg is to decode
/// it instead: CMYK/YCCK, and anything libjpeg-turbo reports, warnings
/// included (TurboJPEG fails on "extraneous bytes before marker", which
/// cameras write and zune-jpeg and OpenCV accept). Size and truncation are
/// checked by the caller.
fn decode_libjpeg_turbo(bytes: &[u8]) -> Option<RgbImage> {
    let run = || -> std::result::Result<Option<RgbImage>, turbojpeg::Error> {
        let mut decompressor = turbojpeg::Decompressor::new()?;
        let header = decompressor.read_header(bytes)?;
        if matches!(
            header.colorspace,
            turbojpeg::Colorspace::CMYK | turbojpeg::Colorspace::YCCK
        ) {
            return Ok(None);
        }
        let format = turbojpeg::PixelFormat::RGB;
        let pitch = header.width * format.size();
        let mut out = turbojpeg::Image {
            pixels: vec![0u8; pitch * header.height],
            width: header.width,
            pitch,
            height: header.height,
            format,
        };
        decompressor.decompress(bytes, out.as_deref_mut())?;
        let (w, h) = (header.width as u32, header.height as u32);
        Ok(RgbImage::from_raw(w, h, out.pixels))
    };
    run().unwrap_or_else(|e| {
        tracing::debug!("libjpeg-turbo: {e}; decoding with zune-jpeg");
        None
    })
}

/// A JPEG's bytes up to the start of its first scan's data: every header
/// segment (EXIF, frame, tables, the scan header) and none of the pixels.
/// All of `bytes` where the segments cannot be followed.
pub(crate) fn jpeg_head(bytes: &[u8]) -> &[u8] {
    let mut pos = 2;
    while pos + 4 <= bytes.len() {
        if bytes[pos] != 0xFF {
            return bytes;
        }
        match bytes[pos + 1] {
            // Fill bytes, and markers without a length.
            0xFF => pos += 1,
            0x01 | 0xD0..=0xD7 => pos += 2,
            code => {
                let len = u16::from_be_bytes([bytes[pos + 2], bytes[pos + 3]]) as usize;
                if len < 2 {
                    return bytes;
                }
                pos += 2 + len;
                if code == 0xDA {
                    return bytes.get(..pos).unwrap_or(bytes);
                }
            }
        }
    }
    bytes
}

/// Whether a JPEG's last scan is followed by its end-of-image marker. Inside
/// entropy-coded data `FF` is always stuffed (`FF 00`) or a restart marker, so
/// `FF D9` after the last start-of-scan (`FF DA`) is the real end; an EXIF
/// thumbnail's own markers come before the main scan and do not count.
/// Searched from the end: whichever of the two comes last decides, so a
/// whole file is answered at its last bytes instead of scanning megabytes
/// back to the start of its scan.
fn jpeg_has_end(bytes: &[u8]) -> bool {
    let mut end = bytes.len();
    while let Some(i) = bytes[..end.saturating_sub(1)]
        .iter()
        .rposition(|&b| b == 0xFF)
    {
        match bytes[i + 1] {
            0xD9 => return true,
            0xDA => return false,
            _ => end = i + 1,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png_bytes(img: &DynamicImage) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn empty_file_is_refused_by_name() {
        let err = decode(Path::new("a b/é.jpg"), &[], DEFAULT_MAX_PIXELS).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("é.jpg") && text.contains("empty"), "{text}");
    }

    #[test]
    fn random_bytes_are_unsupported() {
        let err = decode(Path::new("x.jpg"), &[7u8; 300], DEFAULT_MAX_PIXELS).unwrap_err();
        assert!(err.to_string().contains("unsupported"), "{err}");
    }

    #[test]
    fn pixel_limit_refuses_before_decoding() {
        let img = DynamicImage::new_rgb8(100, 100);
        let err = decode(Path::new("big.png"), &png_bytes(&img), 5_000).unwrap_err();
        assert!(err.to_string().contains("over the limit"), "{err}");
    }

    #[test]
    fn grey_sixteen_bit_and_alpha_become_rgb8() {
        for img in [
            DynamicImage::new_luma8(5, 3),
            DynamicImage::new_rgb16(5, 3),
            DynamicImage::new_rgba8(5, 3),
        ] {
            let photo = decode(Path::new("p.png"), &png_bytes(&img), DEFAULT_MAX_PIXELS).unwrap();
            assert_eq!((photo.width(), photo.height()), (5, 3));
        }
    }

    /// A minimal little-endian TIFF/EXIF block holding only an Orientation tag.
    fn exif_with_orientation(o: u16) -> Vec<u8> {
        let mut e = b"II*\0".to_vec();
        e.extend_from_slice(&8u32.to_le_bytes()); // first IFD at 8
        e.extend_from_slice(&1u16.to_le_bytes()); // one entry
        e.extend_from_slice(&0x0112u16.to_le_bytes()); // Orientation
        e.extend_from_slice(&3u16.to_le_bytes()); // SHORT
        e.extend_from_slice(&1u32.to_le_bytes()); // count
        e.extend_from_slice(&o.to_le_bytes());
        e.extend_from_slice(&[0, 0]);
        e.extend_from_slice(&0u32.to_le_bytes()); // no next IFD
        e
    }

    fn jpeg_with_exif(img: &RgbImage, exif: Option<Vec<u8>>) -> Vec<u8> {
        use image::ImageEncoder;
        let mut out = Vec::new();
        let mut enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 95);
        if let Some(exif) = exif {
            enc.set_exif_metadata(exif).unwrap();
        }
        enc.write_image(
            img.as_raw(),
            img.width(),
            img.height(),
            image::ExtendedColorType::Rgb8,
        )
        .unwrap();
        out
    }

    /// 13×7 (not a whole MCU), 4:2:0, saturated colour edges; written by
    /// opencv-python-headless 5.1.0 (libjpeg-turbo 3.1.2):
    /// ```python
    /// y, x = np.mgrid[0:7, 0:13]
    /// rgb = np.zeros((7, 13, 3), np.uint8)
    /// rgb[..., 0] = np.where(x < 6, 230, 20)
    /// rgb[..., 1] = (x * 19 + y * 31) % 256
    /// rgb[..., 2] = np.where((x + y) % 4 < 2, 40, 210)
    /// ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR),
    ///                        [cv2.IMWRITE_JPEG_QUALITY, 90])
    /// ```
    const OPENCV_420: &[u8] = include_bytes!("testdata/opencv-420.jpg");

    /// [`OPENCV_420`] as cv2.imread decodes it, one row a line:
    /// `cv2.cvtColor(cv2.imread("opencv-420.jpg"), cv2.COLOR_BGR2RGB).ravel()`.
    #[rustfmt::skip]
    const OPENCV_420_CV2_RGB: [u8; 13 * 7 * 3] = [
        202, 5, 51, 215, 22, 89, 235, 47, 160, 236, 65, 157, 225, 80, 85, 174, 108, 86, 50, 109, 123, 16, 149, 146, 4, 148, 86, 9, 177, 92, 7, 203, 141, 33, 217, 153, 66, 190, 106,
        218, 36, 87, 237, 59, 121, 238, 69, 150, 227, 75, 136, 222, 93, 97, 202, 150, 128, 68, 144, 132, 9, 151, 129, 21, 170, 115, 47, 203, 140, 47, 213, 165, 52, 201, 163, 0, 46, 13,
        225, 76, 134, 243, 97, 144, 227, 94, 115, 216, 100, 103, 246, 152, 150, 204, 184, 160, 47, 153, 91, 13, 178, 112, 47, 203, 166, 72, 208, 188, 95, 196, 178, 0, 34, 47, 5, 64, 134,
        221, 102, 130, 219, 107, 119, 218, 117, 99, 245, 162, 128, 235, 174, 143, 185, 186, 146, 69, 169, 115, 66, 212, 167, 86, 217, 211, 0, 40, 53, 0, 42, 56, 19, 67, 105, 23, 74, 157,
        219, 130, 86, 209, 128, 85, 252, 184, 147, 237, 185, 135, 223, 196, 107, 204, 215, 146, 122, 186, 195, 0, 50, 91, 0, 44, 78, 0, 49, 84, 17, 75, 123, 23, 85, 124, 14, 93, 98,
        213, 152, 98, 242, 187, 130, 241, 202, 135, 224, 185, 118, 255, 203, 145, 255, 233, 209, 18, 43, 83, 0, 39, 107, 0, 40, 102, 30, 83, 137, 39, 104, 146, 13, 94, 113, 19, 120, 102,
        227, 187, 188, 240, 210, 174, 225, 213, 101, 255, 213, 131, 186, 51, 107, 183, 59, 157, 40, 28, 68, 12, 56, 91, 45, 94, 173, 30, 93, 160, 23, 109, 106, 19, 125, 103, 26, 148, 159,
    ];

    #[test]
    fn libjpeg_turbo_decodes_as_cv2_imread_and_zune_does_not() {
        let path = Path::new("opencv-420.jpg");
        let turbo = decode_with(
            path,
            OPENCV_420,
            DEFAULT_MAX_PIXELS,
            JpegDecoder::LibjpegTurbo,
        )
        .unwrap();
        assert_eq!((turbo.width(), turbo.height()), (13, 7));
        assert_eq!(turbo.image.as_raw().as_slice(), OPENCV_420_CV2_RGB);
        // The reason for the choice: zune-jpeg's pixels are close, not equal.
        let zune = decode(path, OPENCV_420, DEFAULT_MAX_PIXELS).unwrap();
        let diffs: Vec<u8> = zune
            .image
            .as_raw()
            .iter()
            .zip(OPENCV_420_CV2_RGB)
            .map(|(a, b)| a.abs_diff(b))
            .collect();
        assert!(diffs.iter().any(|&d| d > 0), "zune-jpeg now matches cv2");
        assert!(diffs.iter().all(|&d| d <= 8), "{diffs:?}");
    }

    #[test]
    fn libjpeg_turbo_warnings_fall_back_to_zune() {
        // Bytes between the scan and EOI: libjpeg-turbo warns ("extraneous
        // bytes before marker 0xd9"), which TurboJPEG reports as failure;
        // OpenCV and zune-jpeg decode the photo, and so must we.
        let mut bytes = OPENCV_420.to_vec();
        let eoi = bytes.len() - 2;
        bytes.splice(eoi..eoi, [0x12, 0x34, 0x56]);
        let path = Path::new("extraneous.jpg");
        let got = decode_with(path, &bytes, DEFAULT_MAX_PIXELS, JpegDecoder::LibjpegTurbo).unwrap();
        let zune = decode(path, &bytes, DEFAULT_MAX_PIXELS).unwrap();
        assert_eq!(got.image, zune.image);
    }

    #[test]
    fn libjpeg_turbo_is_only_for_jpeg() {
        let img = DynamicImage::new_rgb8(5, 3);
        let photo = decode_with(
            Path::new("p.png"),
            &png_bytes(&img),
            DEFAULT_MAX_PIXELS,
            JpegDecoder::LibjpegTurbo,
        )
        .unwrap();
        assert_eq!((photo.width(), photo.height()), (5, 3));
    }

    #[test]
    fn every_exif_orientation_is_applied() {
        // 16×8, left half dark: after orientation the dark half must sit where
        // the camera's viewer would show it.
        let img = RgbImage::from_fn(16, 8, |x, _| {
            if x < 8 {
                image::Rgb([0, 0, 0])
            } else {
                image::Rgb([255, 255, 255])
            }
        });
        let cases = [
            (1, (16, 8), "left"),
            (2, (16, 8), "right"),
            (3, (16, 8), "right"),
            (4, (16, 8), "left"),
            (5, (8, 16), "top"),
            (6, (8, 16), "top"),
            (7, (8, 16), "bottom"),
            (8, (8, 16), "bottom"),
        ];
        for (o, size, dark) in cases {
            let bytes = jpeg_with_exif(&img, Some(exif_with_orientation(o)));
            let p = decode(Path::new("o.jpg"), &bytes, DEFAULT_MAX_PIXELS).unwrap();
            assert_eq!((p.width(), p.height()), size, "orientation {o}");
            assert_eq!(meta::read(&bytes).orientation, Some(o as u32));
            let (w, h) = size;
            let probe = match dark {
                "left" => (2, h / 2),
                "right" => (w - 3, h / 2),
                "top" => (w / 2, 2),
                _ => (w / 2, h - 3),
            };
            let v = p.image.get_pixel(probe.0, probe.1)[0];
            assert!(v < 60, "orientation {o}: expected dark {dark}, got {v}");
        }
    }

    #[test]
    fn malformed_exif_keeps_the_photo_upright() {
        let img = RgbImage::new(6, 4);
        let bytes = jpeg_with_exif(&img, Some(b"II*\0garbage".to_vec()));
        let p = decode(Path::new("bad-exif.jpg"), &bytes, DEFAULT_MAX_PIXELS).unwrap();
        assert_eq!((p.width(), p.height()), (6, 4));
    }

    #[test]
    fn truncated_jpeg_is_a_clear_error() {
        let img = RgbImage::from_fn(64, 64, |x, y| image::Rgb([x as u8 * 4, y as u8 * 4, 7]));
        let bytes = jpeg_with_exif(&img, None);
        let cut = &bytes[..bytes.len() / 2];
        let err = decode(Path::new("cut.jpg"), cut, DEFAULT_MAX_PIXELS).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("cut.jpg") && text.contains("truncated"),
            "{text}"
        );
    }

    /// A CMYK JPEG as print workflows write it: white paper, a black box.
    fn cmyk_jpeg() -> Vec<u8> {
        let (w, h) = (48u16, 32u16);
        let mut cmyk = Vec::new();
        for y in 0..h {
            for x in 0..w {
                let ink = if (12..36).contains(&x) && (8..24).contains(&y) {
                    255
                } else {
                    0
                };
                cmyk.extend_from_slice(&[0, 0, 0, ink]);
            }
        }
        let mut out = Vec::new();
        jpeg_encoder::Encoder::new(&mut out, 95)
            .encode(&cmyk, w, h, jpeg_encoder::ColorType::Cmyk)
            .unwrap();
        out
    }

    #[test]
    fn cmyk_jpeg_becomes_rgb_with_ink_dark_and_paper_light() {
        let bytes = cmyk_jpeg();
        let p = decode(Path::new("print.jpg"), &bytes, DEFAULT_MAX_PIXELS).unwrap();
        assert_eq!((p.width(), p.height()), (48, 32));
        let ink = p.image.get_pixel(24, 16).0;
        let paper = p.image.get_pixel(3, 3).0;
        assert!(ink.iter().all(|&v| v < 40), "ink {ink:?}");
        assert!(paper.iter().all(|&v| v > 215), "paper {paper:?}");
    }
}
