//! Grouping a survey's photos into encounters.
//!
//! Photo-ID is reviewed per encounter, not per photo: the ten shots of one
//! fluke over two minutes are one sighting of one animal, and a match found
//! for one of them speaks for all. Field teams do not label encounters, so
//! they are inferred from what the photos say about themselves (see
//! [`crate::photo::meta`]): photos taken close together in time and space
//! belong together. [`group`] is a pure function from photo times and
//! positions to groups of photo ids; the caller decides what to store.
//!
//! Times are the EXIF `YYYY-MM-DDTHH:MM:SS` strings, optionally followed by the
//! camera's UTC offset. With an offset a photo is placed at its UTC instant;
//! without one its local time is used as is. The two are put on one timeline,
//! which is right when a survey's cameras all record offsets or all do not,
//! and at worst splits or joins an encounter across a time-zone difference
//! when they are mixed.
//!
//! Photos without a readable EXIF time (scans, exports, cameras that strip
//! it) are grouped by their files instead, with one rule: undated photos from
//! ONE folder, taken in file-name order (natural order, so `IMG_2` comes
//! before `IMG_10`), form one encounter while each file's modification time
//! is within the same gap as dated photos (30 min by default) of the
//! previous file's. Photos in different folders never share an undated
//! encounter, and an undated photo never joins a dated one: a folder is what
//! a team copied off one card, and file times say when a file was written,
//! which is close for the shots of one sighting but says nothing across
//! folders. The modification time is read when the file is ingested (it is
//! on disk then); a photo whose file or file time is unknown stays an
//! encounter of its own.

use std::cmp::Ordering;
use std::path::PathBuf;

/// When one encounter ends and the next begins.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EncounterRules {
    /// A gap longer than this between consecutive photos starts a new
    /// encounter. A gap of exactly this length does not.
    pub max_gap_minutes: f64,
    /// A move further than this from the previous positioned photo of the
    /// encounter starts a new one (checked only when both photos have GPS).
    pub max_distance_km: f64,
}

impl Default for EncounterRules {
    fn default() -> Self {
        EncounterRules {
            max_gap_minutes: 30.0,
            max_distance_km: 2.0,
        }
    }
}

/// What grouping needs to know about one photo.
#[derive(Debug, Clone, PartialEq)]
pub struct PhotoTime {
    pub id: i64,
    /// `YYYY-MM-DDTHH:MM:SS`, optionally followed by `Z`, `+HH:MM` or `-HH:MM`.
    pub taken_at: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    /// The file as ingested, which places a photo without `taken_at`.
    pub file: Option<PhotoFile>,
}

/// Where a photo's file was found at ingest, and when it was last modified.
#[derive(Debug, Clone, PartialEq)]
pub struct PhotoFile {
    pub path: PathBuf,
    /// Seconds since 1970-01-01T00:00:00Z.
    pub modified: f64,
}

/// Mean Earth radius in km. The IUGG mean radius is 6371.0088 km; the
/// difference (0.14 m per km) is far below what a 2 km rule can notice, and a
/// round number keeps hand-worked distances checkable: one degree of latitude
/// is 6371 × π / 180 = 111.19493 km.
pub const EARTH_RADIUS_KM: f64 = 6371.0;

/// Split photos into encounters, each a list of photo ids in time order.
///
/// Photos with a time are sorted by it (ties by id) and walked in order; a new
/// encounter starts when the gap to the previous photo exceeds
/// `max_gap_minutes`, or when this photo and the previous photo with GPS in
/// the current encounter are both positioned and further apart than
/// `max_distance_km`. Encounters come out in time order.
///
/// A photo without a readable date-time is grouped by its file (see the
/// module docs): per folder, in natural file-name order, a new encounter
/// starting when the modification times of consecutive files are more than
/// `max_gap_minutes` apart (either way) or, as for dated photos, when both
/// are positioned and too far apart. These encounters follow the timed ones,
/// by folder and then by first file name. A photo with neither a time nor a
/// file is an encounter of its own; these come last, in input order.
pub fn group(photos: &[PhotoTime], rules: &EncounterRules) -> Vec<Vec<i64>> {
    let max_gap_s = rules.max_gap_minutes * 60.0;
    let mut timed = Vec::new();
    let mut undated = Vec::new();
    let mut loose = Vec::new();
    for p in photos {
        match (p.taken_at.as_deref().and_then(timestamp_seconds), &p.file) {
            (Some(t), _) => timed.push((t, p)),
            (None, Some(f)) => undated.push((f, p)),
            (None, None) => loose.push(vec![p.id]),
        }
    }
    timed.sort_by_key(|&(t, p)| (t, p.id));

    let mut groups: Vec<Vec<i64>> = Vec::new();
    let mut last_time = None;
    let mut last_position = None;
    for (t, p) in timed {
        let position = p.latitude.zip(p.longitude);
        let gap_split = last_time.is_some_and(|prev: i64| (t - prev) as f64 > max_gap_s);
        let distance_split = match (last_position, position) {
            (Some((lat1, lon1)), Some((lat2, lon2))) => {
                haversine_km(lat1, lon1, lat2, lon2) > rules.max_distance_km
            }
            _ => false,
        };
        if last_time.is_none() || gap_split || distance_split {
            groups.push(Vec::new());
            last_position = None;
        }
        if let Some(g) = groups.last_mut() {
            g.push(p.id);
        }
        last_time = Some(t);
        last_position = position.or(last_position);
    }
    groups.extend(group_undated(undated, rules));
    groups.extend(loose);
    groups
}

/// The undated photos' encounters: one folder at a time, in file-name order.
fn group_undated(
    mut photos: Vec<(&PhotoFile, &PhotoTime)>,
    rules: &EncounterRules,
) -> Vec<Vec<i64>> {
    let name = |f: &PhotoFile| {
        f.path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    photos.sort_by(|(fa, a), (fb, b)| {
        fa.path
            .parent()
            .cmp(&fb.path.parent())
            .then_with(|| natural_cmp(&name(fa), &name(fb)))
            .then_with(|| fa.path.cmp(&fb.path))
            .then(a.id.cmp(&b.id))
    });
    let max_gap_s = rules.max_gap_minutes * 60.0;
    let mut groups: Vec<Vec<i64>> = Vec::new();
    let mut last: Option<&PhotoFile> = None;
    let mut last_position = None;
    for (f, p) in photos {
        let position = p.latitude.zip(p.longitude);
        let split = match last {
            None => true,
            Some(prev) => {
                prev.path.parent() != f.path.parent()
                    || (f.modified - prev.modified).abs() > max_gap_s
                    || matches!((last_position, position), (Some((lat1, lon1)), Some((lat2, lon2)))
                        if haversine_km(lat1, lon1, lat2, lon2) > rules.max_distance_km)
            }
        };
        if split {
            groups.push(Vec::new());
            last_position = None;
        }
        if let Some(g) = groups.last_mut() {
            g.push(p.id);
        }
        last = Some(f);
        last_position = position.or(last_position);
    }
    groups
}

/// File names in natural order: runs of digits compare by their value, so
/// `IMG_2.JPG` < `IMG_10.JPG`; the rest compares as text. Names equal that
/// way (`IMG_01`, `IMG_1`) fall back to plain text order.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    fn chunk(s: &str) -> (&str, &str) {
        let digits = s.starts_with(|c: char| c.is_ascii_digit());
        let end = s
            .find(|c: char| c.is_ascii_digit() != digits)
            .unwrap_or(s.len());
        s.split_at(end)
    }
    let (mut x, mut y) = (a, b);
    while !x.is_empty() && !y.is_empty() {
        let ((cx, rx), (cy, ry)) = (chunk(x), chunk(y));
        let numbers = cx.starts_with(|c: char| c.is_ascii_digit())
            && cy.starts_with(|c: char| c.is_ascii_digit());
        let ord = if numbers {
            let (nx, ny) = (cx.trim_start_matches('0'), cy.trim_start_matches('0'));
            nx.len().cmp(&ny.len()).then_with(|| nx.cmp(ny))
        } else {
            cx.cmp(cy)
        };
        if ord != Ordering::Equal {
            return ord;
        }
        (x, y) = (rx, ry);
    }
    x.len().cmp(&y.len()).then_with(|| a.cmp(b))
}

/// Great-circle distance in km between two points given in degrees, on a
/// sphere of radius [`EARTH_RADIUS_KM`].
pub fn haversine_km(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (phi1, phi2) = (lat1.to_radians(), lat2.to_radians());
    let d_phi = (lat2 - lat1).to_radians();
    let d_lambda = (lon2 - lon1).to_radians();
    let a = (d_phi / 2.0).sin().powi(2) + phi1.cos() * phi2.cos() * (d_lambda / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * a.sqrt().min(1.0).asin()
}

/// Seconds since 1970-01-01T00:00:00 of `YYYY-MM-DDTHH:MM:SS[Z|±HH:MM]`: the
/// UTC instant when an offset is given, else the local time read as if UTC.
/// `None` for anything malformed or out of range.
fn timestamp_seconds(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let num = |from: usize, len: usize| -> Option<i64> {
        let digits = b.get(from..from + len)?;
        digits.iter().try_fold(0i64, |n, &d| {
            d.is_ascii_digit().then(|| n * 10 + i64::from(d - b'0'))
        })
    };
    let sep = |at: usize, c: u8| b.get(at) == Some(&c);
    if !(sep(4, b'-') && sep(7, b'-') && sep(10, b'T') && sep(13, b':') && sep(16, b':')) {
        return None;
    }
    let (year, month, day) = (num(0, 4)?, num(5, 2)?, num(8, 2)?);
    let (hour, minute, second) = (num(11, 2)?, num(14, 2)?, num(17, 2)?);
    if !(1..=12).contains(&month)
        || !(1..=days_in_month(year, month)).contains(&day)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    let offset = match &b[19..] {
        [] | [b'Z'] => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let (h, m) = (num(20, 2)?, num(23, 2)?);
            if h > 23 || m > 59 {
                return None;
            }
            let o = h * 3600 + m * 60;
            if *sign == b'-' {
                -o
            } else {
                o
            }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    Some(days * 86_400 + hour * 3600 + minute * 60 + second - offset)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`): years counted from March so the leap day falls last.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn photo(id: i64, taken_at: Option<&str>, gps: Option<(f64, f64)>) -> PhotoTime {
        PhotoTime {
            id,
            taken_at: taken_at.map(str::to_string),
            latitude: gps.map(|g| g.0),
            longitude: gps.map(|g| g.1),
            file: None,
        }
    }

    /// An undated photo from `path`, modified `minutes` after an arbitrary
    /// moment.
    fn undated(id: i64, path: &str, minutes: f64) -> PhotoTime {
        PhotoTime {
            file: Some(PhotoFile {
                path: PathBuf::from(path),
                modified: 1_700_000_000.0 + minutes * 60.0,
            }),
            ..photo(id, None, None)
        }
    }

    fn timed(id: i64, t: &str) -> PhotoTime {
        photo(id, Some(t), None)
    }

    #[test]
    fn days_from_civil_matches_known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        // 2021-06-30: 51 years incl. 13 leap days (1972..2020) = 18_628, + 180.
        assert_eq!(days_from_civil(2021, 6, 30), 18_628 + 180);
        // Leap day exists in 2024, not in 2023 or 1900.
        assert_eq!(
            days_from_civil(2024, 3, 1) - days_from_civil(2024, 2, 28),
            2
        );
        assert_eq!(timestamp_seconds("2023-02-29T00:00:00"), None);
        assert_eq!(timestamp_seconds("1900-02-29T00:00:00"), None);
        assert!(timestamp_seconds("2000-02-29T00:00:00").is_some());
    }

    #[test]
    fn timestamps_parse_with_and_without_offsets() {
        assert_eq!(timestamp_seconds("1970-01-01T00:00:00"), Some(0));
        assert_eq!(
            timestamp_seconds("1970-01-02T01:02:03"),
            Some(86_400 + 3723)
        );
        // 10:00 at +02:00 is 08:00 UTC; 03:00 at -05:00 is 08:00 UTC.
        let utc = timestamp_seconds("2021-06-30T08:00:00Z");
        assert!(utc.is_some());
        assert_eq!(timestamp_seconds("2021-06-30T10:00:00+02:00"), utc);
        assert_eq!(timestamp_seconds("2021-06-30T03:00:00-05:00"), utc);
        assert_eq!(timestamp_seconds("2021-06-30T08:00:00"), utc);
        // An offset that crosses midnight backwards.
        assert_eq!(
            timestamp_seconds("2021-07-01T01:30:00+05:30"),
            timestamp_seconds("2021-06-30T20:00:00")
        );
        for bad in [
            "",
            "2021-06-30",
            "2021-06-30 08:00:00",
            "2021:06:30T08:00:00",
            "2021-13-01T00:00:00",
            "2021-06-31T00:00:00",
            "2021-06-30T24:00:00",
            "2021-06-30T08:60:00",
            "2021-06-30T08:00:00+2:00",
            "2021-06-30T08:00:00+02:00x",
            "2021-06-30T08:00:00 +02:00",
            "2021-06-30T08:00:0a",
            "२०२१-06-30T08:00:00",
        ] {
            assert_eq!(timestamp_seconds(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn gap_exactly_at_the_limit_stays_together_one_second_more_splits() {
        let rules = EncounterRules::default();
        let photos = [
            timed(1, "2021-06-30T10:00:00"),
            timed(2, "2021-06-30T10:30:00"), // exactly 30 min after 1
            timed(3, "2021-06-30T11:00:01"), // 30 min 1 s after 2
            timed(4, "2021-06-30T11:10:00"),
        ];
        assert_eq!(group(&photos, &rules), vec![vec![1, 2], vec![3, 4]]);
    }

    #[test]
    fn photos_are_grouped_in_time_order_whatever_the_input_order() {
        let rules = EncounterRules::default();
        let photos = [
            timed(3, "2021-06-30T15:00:00"),
            timed(1, "2021-06-30T09:00:00"),
            timed(4, "2021-06-30T15:05:00"),
            timed(2, "2021-06-30T09:10:00"),
        ];
        assert_eq!(group(&photos, &rules), vec![vec![1, 2], vec![3, 4]]);
    }

    #[test]
    fn offsets_put_photos_on_the_utc_timeline() {
        let rules = EncounterRules::default();
        // Two cameras on one boat: one set to UTC, one to local summer time.
        let photos = [
            timed(1, "2021-06-30T10:00:00+02:00"),
            timed(2, "2021-06-30T08:20:00Z"),
            timed(3, "2021-06-30T10:45:00+02:00"), // 08:45Z, 25 min after 2
        ];
        assert_eq!(group(&photos, &rules), vec![vec![1, 2, 3]]);
        // Read as local times they would be two hours apart.
        let local = [
            timed(1, "2021-06-30T10:00:00"),
            timed(2, "2021-06-30T08:20:00"),
        ];
        assert_eq!(group(&local, &rules), vec![vec![2], vec![1]]);
    }

    #[test]
    fn haversine_along_a_meridian_is_radius_times_angle() {
        // 1° of latitude = 6371 × π / 180 = 111.194_926_6 km.
        let one_degree = haversine_km(10.0, 20.0, 11.0, 20.0);
        assert!((one_degree - 111.194_926_6).abs() < 1e-6, "{one_degree}");
        // A quarter of the equator.
        let quarter = haversine_km(0.0, 0.0, 0.0, 90.0);
        assert!((quarter - 6371.0 * std::f64::consts::FRAC_PI_2).abs() < 1e-9);
        assert_eq!(haversine_km(45.0, 7.0, 45.0, 7.0), 0.0);
        // Antipodes do not produce NaN.
        let half = haversine_km(0.0, 0.0, 0.0, 180.0);
        assert!((half - 6371.0 * std::f64::consts::PI).abs() < 1e-6);
    }

    #[test]
    fn gps_splits_at_2_1_km_and_not_at_1_9_km() {
        let rules = EncounterRules::default();
        // Along a meridian: 0.0171° × 111.19493 = 1.90143 km,
        // 0.0189° × 111.19493 = 2.10158 km.
        let near = 48.0 + 0.0171;
        let far = 48.0 + 0.0189;
        assert!((haversine_km(48.0, -5.0, near, -5.0) - 1.901_43).abs() < 1e-4);
        assert!((haversine_km(48.0, -5.0, far, -5.0) - 2.101_58).abs() < 1e-4);
        let together = [
            photo(1, Some("2021-06-30T10:00:00"), Some((48.0, -5.0))),
            photo(2, Some("2021-06-30T10:05:00"), Some((near, -5.0))),
        ];
        assert_eq!(group(&together, &rules), vec![vec![1, 2]]);
        let apart = [
            photo(1, Some("2021-06-30T10:00:00"), Some((48.0, -5.0))),
            photo(2, Some("2021-06-30T10:05:00"), Some((far, -5.0))),
        ];
        assert_eq!(group(&apart, &rules), vec![vec![1], vec![2]]);
    }

    #[test]
    fn distance_is_measured_from_the_last_positioned_photo_of_the_encounter() {
        let rules = EncounterRules::default();
        let photos = [
            photo(1, Some("2021-06-30T10:00:00"), Some((48.0, -5.0))),
            // No GPS: cannot split on distance, joins by time.
            photo(2, Some("2021-06-30T10:05:00"), None),
            // 2.10 km from photo 1, the last positioned photo: splits.
            photo(3, Some("2021-06-30T10:10:00"), Some((48.0189, -5.0))),
            // 1.90 km from 3 (and 4.0 km from 1): stays with 3, since the
            // boat drifting with the animal is one encounter.
            photo(
                4,
                Some("2021-06-30T10:15:00"),
                Some((48.0189 + 0.0171, -5.0)),
            ),
        ];
        assert_eq!(group(&photos, &rules), vec![vec![1, 2], vec![3, 4]]);
    }

    #[test]
    fn photos_without_gps_are_grouped_by_time_alone() {
        let rules = EncounterRules::default();
        let photos = [
            photo(1, Some("2021-06-30T10:00:00"), Some((48.0, -5.0))),
            photo(2, Some("2021-06-30T10:05:00"), None),
            photo(3, Some("2021-06-30T10:10:00"), Some((48.01, -5.0))), // 1.11 km
            photo(4, Some("2021-06-30T12:00:00"), None),
        ];
        assert_eq!(group(&photos, &rules), vec![vec![1, 2, 3], vec![4]]);
        // A new encounter forgets the previous one's position.
        let photos = [
            photo(1, Some("2021-06-30T10:00:00"), Some((48.0, -5.0))),
            photo(2, Some("2021-06-30T11:00:00"), None),
            photo(3, Some("2021-06-30T11:05:00"), Some((49.0, -5.0))),
        ];
        assert_eq!(group(&photos, &rules), vec![vec![1], vec![2, 3]]);
    }

    #[test]
    fn photos_without_a_time_are_each_their_own_encounter() {
        let rules = EncounterRules::default();
        let photos = [
            photo(7, None, Some((48.0, -5.0))),
            timed(1, "2021-06-30T10:00:00"),
            photo(5, None, Some((48.0, -5.0))),
            photo(6, Some("30/06/2021 10:01"), None), // unreadable counts as none
            timed(2, "2021-06-30T10:01:00"),
        ];
        assert_eq!(
            group(&photos, &rules),
            vec![vec![1, 2], vec![7], vec![5], vec![6]]
        );
        assert!(group(&[], &rules).is_empty());
    }

    #[test]
    fn natural_order_puts_img_2_before_img_10() {
        let mut names = vec![
            "IMG_10.JPG",
            "IMG_2.JPG",
            "IMG_1.JPG",
            "IMG_02b.JPG",
            "DSC_0100.jpg",
            "DSC_099.jpg",
            "IMG_100.JPG",
            "IMG_01.JPG",
        ];
        names.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            names,
            vec![
                "DSC_099.jpg",
                "DSC_0100.jpg",
                "IMG_01.JPG",
                "IMG_1.JPG",
                "IMG_2.JPG",
                "IMG_02b.JPG",
                "IMG_10.JPG",
                "IMG_100.JPG",
            ]
        );
        assert_eq!(natural_cmp("a", "a"), Ordering::Equal);
        assert_eq!(natural_cmp("a", "a1"), Ordering::Less);
        assert_eq!(natural_cmp("", "a"), Ordering::Less);
    }

    #[test]
    fn undated_photos_of_one_folder_group_in_file_name_order_by_modification_time() {
        let rules = EncounterRules::default();
        // File-name order is 2, 9, 10, 11 whatever the input order; the
        // times are 0, 20, 50, 81 minutes: 20 and 30 are within the gap
        // (30 exactly stays), 31 splits.
        let photos = [
            undated(3, "/survey/day1/IMG_10.JPG", 50.0),
            undated(1, "/survey/day1/IMG_2.JPG", 0.0),
            undated(4, "/survey/day1/IMG_11.JPG", 81.0),
            undated(2, "/survey/day1/IMG_9.JPG", 20.0),
        ];
        assert_eq!(group(&photos, &rules), vec![vec![1, 2, 3], vec![4]]);
    }

    #[test]
    fn undated_gap_is_between_consecutive_files_in_name_order_either_way() {
        let rules = EncounterRules::default();
        // Copied in reverse: times fall as names rise, still close.
        let photos = [
            undated(1, "/s/a/P1.jpg", 60.0),
            undated(2, "/s/a/P2.jpg", 45.0),
            undated(3, "/s/a/P3.jpg", 30.0),
            // Close in time to P1, but P3 comes before it and is 35 min away.
            undated(4, "/s/a/P4.jpg", 65.0),
        ];
        assert_eq!(group(&photos, &rules), vec![vec![1, 2, 3], vec![4]]);
    }

    #[test]
    fn undated_photos_in_different_folders_never_share_an_encounter() {
        let rules = EncounterRules::default();
        let photos = [
            undated(1, "/s/boat A/IMG_1.jpg", 0.0),
            undated(2, "/s/boat B/IMG_1.jpg", 0.0),
            undated(3, "/s/boat A/IMG_2.jpg", 1.0),
            undated(4, "/s/boat A/sub/IMG_3.jpg", 1.0),
            undated(5, "/s/boat B/IMG_2.jpg", 2.0),
        ];
        assert_eq!(
            group(&photos, &rules),
            vec![vec![1, 3], vec![4], vec![2, 5]]
        );
    }

    #[test]
    fn undated_photos_follow_dated_ones_and_never_join_them() {
        let rules = EncounterRules::default();
        let mut dated = timed(1, "2023-11-14T22:13:20Z"); // 1_700_000_000
        dated.file = Some(PhotoFile {
            path: PathBuf::from("/s/a/IMG_1.jpg"),
            modified: 1_700_000_000.0,
        });
        let photos = [
            undated(2, "/s/a/IMG_2.jpg", 1.0),
            dated,
            undated(3, "/s/a/IMG_3.jpg", 2.0),
            photo(4, None, None),
        ];
        assert_eq!(group(&photos, &rules), vec![vec![1], vec![2, 3], vec![4]]);
    }

    #[test]
    fn undated_gap_follows_the_rules_and_gps_still_splits() {
        let rules = EncounterRules {
            max_gap_minutes: 5.0,
            max_distance_km: 2.0,
        };
        let photos = [
            undated(1, "/s/IMG_1.jpg", 0.0),
            undated(2, "/s/IMG_2.jpg", 5.0),
            undated(3, "/s/IMG_3.jpg", 10.5),
        ];
        assert_eq!(group(&photos, &rules), vec![vec![1, 2], vec![3]]);
        let mut far = undated(2, "/s/IMG_2.jpg", 1.0);
        (far.latitude, far.longitude) = (Some(48.0189), Some(-5.0));
        let mut near = undated(1, "/s/IMG_1.jpg", 0.0);
        (near.latitude, near.longitude) = (Some(48.0), Some(-5.0));
        assert_eq!(group(&[near, far], &rules), vec![vec![1], vec![2]]);
    }

    #[test]
    fn rules_are_configurable() {
        let rules = EncounterRules {
            max_gap_minutes: 1.0,
            max_distance_km: 0.5,
        };
        let photos = [
            timed(1, "2021-06-30T10:00:00"),
            timed(2, "2021-06-30T10:01:00"),
            timed(3, "2021-06-30T10:02:01"),
        ];
        assert_eq!(group(&photos, &rules), vec![vec![1, 2], vec![3]]);
    }
}
