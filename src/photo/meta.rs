//! What a photo says about itself: EXIF date-time, GPS position, camera model
//! and orientation, read once at import so the catalogue can scope searches
//! by date and region without opening the file again.
//!
//! Missing or malformed EXIF is normal (PNGs, edited exports, phones with
//! location off): every field is optional and a bad field is skipped, never an
//! error.

use std::io::Cursor;

use exif::{In, Reader, Tag, Value};
use serde::Serialize;

/// EXIF facts about a photo; `None` where the photo does not say.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Meta {
    /// `DateTimeOriginal` (else `DateTime`) as `YYYY-MM-DDTHH:MM:SS`, camera local time.
    pub taken_at: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub camera_model: Option<String>,
    /// EXIF orientation 1–8 as stored (the decoder already applied it).
    pub orientation: Option<u32>,
}

/// Read EXIF from the photo's bytes (JPEG, TIFF, PNG, WebP containers).
pub fn read(bytes: &[u8]) -> Meta {
    let Ok(exif) = Reader::new().read_from_container(&mut Cursor::new(bytes)) else {
        return Meta::default();
    };
    let ascii = |tag| match exif.get_field(tag, In::PRIMARY).map(|f| &f.value) {
        Some(Value::Ascii(parts)) => parts
            .first()
            .map(|p| {
                String::from_utf8_lossy(p)
                    .trim()
                    .trim_end_matches('\0')
                    .to_string()
            })
            .filter(|s| !s.is_empty()),
        _ => None,
    };
    let taken_at = ascii(Tag::DateTimeOriginal)
        .or_else(|| ascii(Tag::DateTime))
        .and_then(|s| exif_datetime(&s));
    let coordinate = |tag, ref_tag, negative: u8| {
        let value = match exif.get_field(tag, In::PRIMARY).map(|f| &f.value) {
            Some(Value::Rational(r)) if r.len() == 3 && r.iter().all(|q| q.denom != 0) => {
                r[0].to_f64() + r[1].to_f64() / 60.0 + r[2].to_f64() / 3600.0
            }
            _ => return None,
        };
        let sign = match ascii(ref_tag) {
            Some(s) if s.as_bytes().first() == Some(&negative) => -1.0,
            _ => 1.0,
        };
        Some(sign * value)
    };
    let latitude = coordinate(Tag::GPSLatitude, Tag::GPSLatitudeRef, b'S')
        .filter(|v| (-90.0..=90.0).contains(v));
    let longitude = coordinate(Tag::GPSLongitude, Tag::GPSLongitudeRef, b'W')
        .filter(|v| (-180.0..=180.0).contains(v));
    let orientation = exif
        .get_field(Tag::Orientation, In::PRIMARY)
        .and_then(|f| f.value.get_uint(0))
        .filter(|o| (1..=8).contains(o));
    Meta {
        taken_at,
        latitude,
        longitude,
        camera_model: ascii(Tag::Model),
        orientation,
    }
}

/// `2021:06:30 14:05:09` → `2021-06-30T14:05:09`; anything else → `None`.
fn exif_datetime(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| {
        b.get(r.clone())
            .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
    };
    let ok = b.len() >= 19
        && digits(0..4)
        && b[4] == b':'
        && digits(5..7)
        && b[7] == b':'
        && digits(8..10)
        && b[10] == b' '
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19)
        && &s[0..4] != "0000";
    ok.then(|| format!("{}-{}-{}T{}", &s[0..4], &s[5..7], &s[8..10], &s[11..19]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exif_datetime_is_converted_or_refused() {
        assert_eq!(
            exif_datetime("2021:06:30 14:05:09").as_deref(),
            Some("2021-06-30T14:05:09")
        );
        assert_eq!(exif_datetime("0000:00:00 00:00:00"), None);
        assert_eq!(exif_datetime("2021-06-30 14:05"), None);
        assert_eq!(exif_datetime(""), None);
    }

    /// A little-endian TIFF block: IFD0 with Model, DateTime and a GPS IFD
    /// pointer; the GPS IFD with S/W references (negative coordinates).
    fn exif_with_gps() -> Vec<u8> {
        // (tag, type, count, inline value or offset)
        fn ifd(out: &mut Vec<u8>, entries: &[(u16, u16, u32, u32)]) {
            out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
            for &(tag, ty, count, value) in entries {
                out.extend_from_slice(&tag.to_le_bytes());
                out.extend_from_slice(&ty.to_le_bytes());
                out.extend_from_slice(&count.to_le_bytes());
                out.extend_from_slice(&value.to_le_bytes());
            }
            out.extend_from_slice(&0u32.to_le_bytes());
        }
        let model = b"WhaleCam 7\0";
        let date = b"2021:06:30 14:05:09\0";
        // Layout: header 8 | IFD0 (3 entries: 2+36+4 = 42) at 8 | GPS IFD (4
        // entries: 54) at 50 | model at 104 | date at 115 | lat at 135 | lon at 159.
        let (gps_at, model_at, date_at, lat_at, lon_at) = (50u32, 104u32, 115u32, 135u32, 159u32);
        let mut e = b"II*\0".to_vec();
        e.extend_from_slice(&8u32.to_le_bytes());
        ifd(
            &mut e,
            &[
                (0x0110, 2, model.len() as u32, model_at),
                (0x0132, 2, date.len() as u32, date_at),
                (0x8825, 4, 1, gps_at),
            ],
        );
        assert_eq!(e.len() as u32, gps_at);
        ifd(
            &mut e,
            &[
                (1, 2, 2, u32::from_le_bytes([b'S', 0, 0, 0])),
                (2, 5, 3, lat_at),
                (3, 2, 2, u32::from_le_bytes([b'W', 0, 0, 0])),
                (4, 5, 3, lon_at),
            ],
        );
        assert_eq!(e.len() as u32, model_at);
        e.extend_from_slice(model);
        e.extend_from_slice(date);
        assert_eq!(e.len() as u32, lat_at);
        // 33° 52' 30" S, 151° 12' 36" W
        for (n, d) in [
            (33u32, 1u32),
            (52, 1),
            (30, 1),
            (151, 1),
            (12, 1),
            (360, 10),
        ] {
            e.extend_from_slice(&n.to_le_bytes());
            e.extend_from_slice(&d.to_le_bytes());
        }
        e
    }

    #[test]
    fn gps_date_and_camera_are_read_with_their_signs() {
        use image::ImageEncoder;
        let mut jpeg = Vec::new();
        let mut enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90);
        enc.set_exif_metadata(exif_with_gps()).unwrap();
        enc.write_image(&[128; 8 * 8 * 3], 8, 8, image::ExtendedColorType::Rgb8)
            .unwrap();
        let meta = read(&jpeg);
        assert_eq!(meta.camera_model.as_deref(), Some("WhaleCam 7"));
        assert_eq!(meta.taken_at.as_deref(), Some("2021-06-30T14:05:09"));
        let lat = meta.latitude.unwrap();
        let lon = meta.longitude.unwrap();
        assert!(
            (lat - -(33.0 + 52.0 / 60.0 + 30.0 / 3600.0)).abs() < 1e-9,
            "{lat}"
        );
        assert!(
            (lon - -(151.0 + 12.0 / 60.0 + 36.0 / 3600.0)).abs() < 1e-9,
            "{lon}"
        );
        assert_eq!(meta.orientation, None);
    }

    #[test]
    fn photo_without_exif_has_empty_meta() {
        let mut png = Vec::new();
        image::RgbImage::new(4, 4)
            .write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        assert_eq!(read(&png), Meta::default());
        assert_eq!(read(b"not an image"), Meta::default());
    }
}
