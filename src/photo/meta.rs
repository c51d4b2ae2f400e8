//! What a photo says about itself: EXIF date-time, GPS position, camera model
//! and orientation, read once at import so the catalogue can scope searches
//! by date and region without opening the file again.
//!
//! Missing or malformed EXIF is normal (PNGs, edited exports, phones with
//! location off): every field is optional and a bad field is skipped, never an
//! error. A date-time no calendar has (`2021:13:45`, a camera whose clock was
//! never set right) is not stored, since searches by date would place the
//! photo wrongly, and it is reported ([`read_with_warnings`]) so the person
//! importing knows which photos carry no date and why.

use std::io::Cursor;

use exif::{In, Reader, Tag, Value};
use serde::Serialize;

/// EXIF facts about a photo; `None` where the photo does not say.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Meta {
    /// `DateTimeOriginal` (else `DateTime`) as `YYYY-MM-DDTHH:MM:SS`, camera
    /// local time, followed by its UTC offset (`+02:00`) when the camera
    /// recorded one (`OffsetTimeOriginal`, resp. `OffsetTime`).
    pub taken_at: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub camera_model: Option<String>,
    /// EXIF orientation 1–8 as stored (the decoder already applied it).
    pub orientation: Option<u32>,
}

/// Read EXIF from the photo's bytes (JPEG, TIFF, PNG, WebP containers).
pub fn read(bytes: &[u8]) -> Meta {
    read_with_warnings(bytes).0
}

/// [`read`], and a sentence for each value the photo gives that was refused
/// as impossible (a date-time no calendar has). Blank and all-zero dates,
/// EXIF's way of saying "not set", are no warning.
pub fn read_with_warnings(bytes: &[u8]) -> (Meta, Vec<String>) {
    // EXIF comes before a JPEG's first scan: a file without it is not
    // searched to its end.
    let bytes = if bytes.starts_with(&[0xFF, 0xD8]) {
        super::jpeg_head(bytes)
    } else {
        bytes
    };
    let Ok(exif) = Reader::new().read_from_container(&mut Cursor::new(bytes)) else {
        return (Meta::default(), Vec::new());
    };
    let mut warnings = Vec::new();
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
    // Each date-time has its own offset tag. DateTime is when the file was
    // last written, possibly by an editor in another zone, so its offset is
    // never lent to DateTimeOriginal: no offset (local time) beats a wrong one.
    let mut dated = |date_tag: Tag, offset_tag| {
        let raw = ascii(date_tag)?;
        let Some(date) = exif_datetime(&raw) else {
            if !raw.bytes().all(|b| matches!(b, b' ' | b':' | b'0')) {
                warnings.push(format!(
                    "EXIF {date_tag} `{}` is not a real date and time; no date was stored from it",
                    raw.escape_debug()
                ));
            }
            return None;
        };
        Some(match ascii(offset_tag).filter(|o| is_exif_offset(o)) {
            Some(offset) => format!("{date}{offset}"),
            None => date,
        })
    };
    let taken_at = match dated(Tag::DateTimeOriginal, Tag::OffsetTimeOriginal) {
        Some(t) => Some(t),
        None => dated(Tag::DateTime, Tag::OffsetTime),
    };
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
    let meta = Meta {
        taken_at,
        latitude,
        longitude,
        camera_model: ascii(Tag::Model),
        orientation,
    };
    (meta, warnings)
}

/// `2021:06:30 14:05:09` → `2021-06-30T14:05:09`; anything else, a date
/// or time that does not exist included (`2021:02:29`, `24:00:00`), → `None`.
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
    if !ok {
        return None;
    }
    let n = |r: std::ops::Range<usize>| s[r].parse::<u32>().unwrap_or(u32::MAX);
    let (year, month, day) = (n(0..4), n(5..7), n(8..10));
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => 0,
    };
    let real = (1..=days).contains(&day) && n(11..13) <= 23 && n(14..16) <= 59 && n(17..19) <= 59;
    real.then(|| format!("{}-{}-{}T{}", &s[0..4], &s[5..7], &s[8..10], &s[11..19]))
}

/// A calendar day written `YYYY-MM-DD` (a day that exists).
pub(crate) fn is_calendar_day(s: &str) -> bool {
    let b = s.as_bytes();
    s.is_ascii()
        && b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && exif_datetime(&format!("{}:{}:{} 00:00:00", &s[0..4], &s[5..7], &s[8..10])).is_some()
}

/// `+02:00` / `-05:30` as written by EXIF 2.31 `OffsetTime*`; anything else
/// (including the blank `   :  ` the standard allows for "unknown") is refused.
fn is_exif_offset(s: &str) -> bool {
    let b = s.as_bytes();
    let two = |i: usize| -> Option<u8> {
        let (t, u) = (b[i], b[i + 1]);
        (t.is_ascii_digit() && u.is_ascii_digit()).then(|| (t - b'0') * 10 + (u - b'0'))
    };
    b.len() == 6
        && matches!(b[0], b'+' | b'-')
        && b[3] == b':'
        && two(1).is_some_and(|h| h <= 23)
        && two(4).is_some_and(|m| m <= 59)
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
        assert_eq!(
            exif_datetime("2024:02:29 23:59:59").as_deref(),
            Some("2024-02-29T23:59:59")
        );
        for impossible in [
            "2021:13:45 10:00:00",
            "2021:00:10 10:00:00",
            "2021:02:29 10:00:00",
            "1900:02:29 10:00:00",
            "2021:04:31 10:00:00",
            "2021:06:00 10:00:00",
            "2021:06:30 24:00:00",
            "2021:06:30 12:60:00",
            "2021:06:30 12:00:61",
        ] {
            assert_eq!(exif_datetime(impossible), None, "{impossible}");
        }
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
    fn exif_offset_is_accepted_or_refused() {
        assert!(is_exif_offset("+02:00"));
        assert!(is_exif_offset("-05:30"));
        for bad in [
            "", "   :  ", ":", "02:00", "+2:00", "+02:0", "+24:00", "+02:60", "Z", "+02:00 ",
        ] {
            assert!(!is_exif_offset(bad), "{bad:?}");
        }
    }

    /// A little-endian TIFF block with the given ASCII tags in IFD0 and in an
    /// Exif sub-IFD (pointer 0x8769), where EXIF keeps DateTimeOriginal and
    /// the OffsetTime tags.
    fn exif_with(ifd0: &[(u16, &[u8])], exif_ifd: &[(u16, &[u8])]) -> Vec<u8> {
        let ifd_len = |n: usize| 2 + 12 * n as u32 + 4;
        let exif_at = 8 + ifd_len(ifd0.len() + 1);
        let mut data_at = exif_at + ifd_len(exif_ifd.len());
        let mut data = Vec::new();
        let mut entries = |tags: &[(u16, &[u8])]| -> Vec<(u16, u16, u32, u32)> {
            tags.iter()
                .map(|&(tag, value)| {
                    // Longer than 4 bytes, so stored by offset, never inline.
                    assert!(value.len() > 4);
                    let entry = (tag, 2, value.len() as u32, data_at);
                    data.extend_from_slice(value);
                    data_at += value.len() as u32;
                    entry
                })
                .collect()
        };
        let mut ifd0_entries = entries(ifd0);
        ifd0_entries.push((0x8769, 4, 1, exif_at));
        let exif_entries = entries(exif_ifd);
        let mut e = b"II*\0".to_vec();
        e.extend_from_slice(&8u32.to_le_bytes());
        for list in [&ifd0_entries, &exif_entries] {
            e.extend_from_slice(&(list.len() as u16).to_le_bytes());
            for &(tag, ty, count, value) in list {
                e.extend_from_slice(&tag.to_le_bytes());
                e.extend_from_slice(&ty.to_le_bytes());
                e.extend_from_slice(&count.to_le_bytes());
                e.extend_from_slice(&value.to_le_bytes());
            }
            e.extend_from_slice(&0u32.to_le_bytes());
        }
        e.extend_from_slice(&data);
        e
    }

    fn jpeg_with_exif(exif: Vec<u8>) -> Vec<u8> {
        use image::ImageEncoder;
        let mut jpeg = Vec::new();
        let mut enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90);
        enc.set_exif_metadata(exif).unwrap();
        enc.write_image(&[128; 8 * 8 * 3], 8, 8, image::ExtendedColorType::Rgb8)
            .unwrap();
        jpeg
    }

    const DATE_TIME: u16 = 0x0132;
    const DATE_TIME_ORIGINAL: u16 = 0x9003;
    const OFFSET_TIME: u16 = 0x9010;
    const OFFSET_TIME_ORIGINAL: u16 = 0x9011;

    #[test]
    fn offset_time_original_is_appended_to_taken_at() {
        let exif = exif_with(
            &[(DATE_TIME, b"2022:01:02 03:04:05\0")],
            &[
                (DATE_TIME_ORIGINAL, b"2021:06:30 14:05:09\0"),
                (OFFSET_TIME, b"+01:00\0"),
                (OFFSET_TIME_ORIGINAL, b"-05:30\0"),
            ],
        );
        let meta = read(&jpeg_with_exif(exif));
        assert_eq!(meta.taken_at.as_deref(), Some("2021-06-30T14:05:09-05:30"));
    }

    #[test]
    fn offset_time_goes_with_date_time_only() {
        // DateTime (file written) with its own offset.
        let exif = exif_with(
            &[(DATE_TIME, b"2022:01:02 03:04:05\0")],
            &[(OFFSET_TIME, b"+02:00\0")],
        );
        let meta = read(&jpeg_with_exif(exif));
        assert_eq!(meta.taken_at.as_deref(), Some("2022-01-02T03:04:05+02:00"));
        // DateTimeOriginal must not borrow DateTime's offset.
        let exif = exif_with(
            &[],
            &[
                (DATE_TIME_ORIGINAL, b"2021:06:30 14:05:09\0"),
                (OFFSET_TIME, b"+02:00\0"),
            ],
        );
        let meta = read(&jpeg_with_exif(exif));
        assert_eq!(meta.taken_at.as_deref(), Some("2021-06-30T14:05:09"));
    }

    #[test]
    fn blank_or_malformed_offset_leaves_local_time() {
        for offset in [&b"   :  \0"[..], b"+2:00h\0", b"+25:00\0"] {
            let exif = exif_with(
                &[],
                &[
                    (DATE_TIME_ORIGINAL, b"2021:06:30 14:05:09\0"),
                    (OFFSET_TIME_ORIGINAL, offset),
                ],
            );
            let meta = read(&jpeg_with_exif(exif));
            assert_eq!(meta.taken_at.as_deref(), Some("2021-06-30T14:05:09"));
        }
    }

    #[test]
    fn an_impossible_date_is_not_stored_and_is_reported_but_a_blank_one_is_not() {
        // DateTimeOriginal impossible, DateTime real: the latter is used.
        let exif = exif_with(
            &[(DATE_TIME, b"2022:01:02 03:04:05\0")],
            &[(DATE_TIME_ORIGINAL, b"2021:13:45 10:00:00\0")],
        );
        let (meta, warnings) = read_with_warnings(&jpeg_with_exif(exif));
        assert_eq!(meta.taken_at.as_deref(), Some("2022-01-02T03:04:05"));
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].contains("DateTimeOriginal") && warnings[0].contains("2021:13:45 10:00:00"),
            "{warnings:?}"
        );
        // Both impossible: no date at all, both named.
        let exif = exif_with(
            &[(DATE_TIME, b"2021:02:29 08:00:00\0")],
            &[(DATE_TIME_ORIGINAL, b"2021:06:31 25:00:00\0")],
        );
        let (meta, warnings) = read_with_warnings(&jpeg_with_exif(exif));
        assert_eq!(meta.taken_at, None);
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        // "Not set", as cameras write it: nothing to report.
        let exif = exif_with(
            &[(DATE_TIME, b"0000:00:00 00:00:00\0")],
            &[(DATE_TIME_ORIGINAL, b"    :  :     :  :  \0")],
        );
        let (meta, warnings) = read_with_warnings(&jpeg_with_exif(exif));
        assert_eq!((meta.taken_at, warnings), (None, Vec::<String>::new()));
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
