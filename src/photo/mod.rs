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
pub use meta::Meta;

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

/// Read and decode the photo at `path`.
pub fn open(path: &Path, max_pixels: u64) -> Result<Photo> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    decode(path, &bytes, max_pixels)
}

/// Decode photo bytes; `path` is only used in errors and the result.
pub fn decode(path: &Path, bytes: &[u8], max_pixels: u64) -> Result<Photo> {
    if bytes.is_empty() {
        return Err(Error::photo(path, "empty file (0 bytes)"));
    }
    let reader = || {
        ImageReader::new(Cursor::new(bytes))
            .with_guessed_format()
            .map_err(|e| Error::photo(path, format!("cannot read: {e}")))
    };
    if reader()?.format().is_none() {
        return Err(Error::photo(
            path,
            "unsupported or unrecognised image format (JPEG, PNG, TIFF and WebP are read)",
        ));
    }
    if reader()?.format() == Some(image::ImageFormat::Jpeg) && !jpeg_has_end(bytes) {
        // zune-jpeg fills a cut-off scan with grey and reports success; a
        // half-grey photo must not be embedded as if it were whole.
        return Err(Error::photo(
            path,
            "truncated JPEG: no end-of-image marker after the last scan",
        ));
    }
    let (w, h) = reader()?
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
    let mut reader = reader()?;
    reader.limits(limits);
    let mut decoder = reader
        .into_decoder()
        .map_err(|e| Error::photo(path, format!("cannot decode: {e}")))?;
    // Malformed EXIF must not cost the photo: treat it as upright.
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder)
        .map_err(|e| Error::photo(path, format!("corrupt or truncated image data: {e}")))?;
    image.apply_orientation(orientation);
    Ok(Photo {
        path: path.to_path_buf(),
        image: image.into_rgb8(),
    })
}

/// Whether a JPEG's last scan is followed by its end-of-image marker. Inside
/// entropy-coded data `FF` is always stuffed (`FF 00`) or a restart marker, so
/// `FF D9` after the last start-of-scan (`FF DA`) is the real end; an EXIF
/// thumbnail's own markers come before the main scan and do not count.
fn jpeg_has_end(bytes: &[u8]) -> bool {
    let find_last = |marker: u8| bytes.windows(2).rposition(|w| w == [0xFF, marker]);
    match (find_last(0xDA), find_last(0xD9)) {
        (Some(sos), Some(eoi)) => eoi > sos,
        (None, Some(_)) => true,
        _ => false,
    }
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
