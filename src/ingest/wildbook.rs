//! Reading a Wildbook/Flukebook bulk-import sheet back (the columns of
//! [`crate::catalogue::publish::wildbook::HEADER`]): one labelled photo per
//! row, `MarkedIndividual.individualID` its individual and
//! `Encounter.mediaAsset0` its file under the images folder, plus what the
//! sheet says about where and when ([`SheetPlace`]) for
//! `Catalogue::place_sheet_rows` to give photos that lack it after the
//! import.
//!
//! A date is taken only whole (year, month, day, hour and minutes), as
//! `YYYY-MM-DDTHH:MM:00`; a part missing leaves the photo's own date, never
//! a guessed one. Like the Kaggle CSV, one photo shows one individual: a
//! file under two individuals is refused naming both lines.

use std::collections::HashMap;
use std::path::Path;

use sha2::{Digest, Sha256};

use super::labels::{bad_line, Labelled, OnePerPhoto, Sheet};
use crate::catalogue::codes::check_code;
use crate::catalogue::publish::species::SpeciesTable;
use crate::catalogue::publish::wildbook::{species_of, SheetPlace};
use crate::error::{Error, Result};

/// Read `sheet`, its photos named relative to `images`: the labelled items
/// to import and, for each photo found, what the sheet says about it.
/// Every problem names the sheet, the line and the reason.
/// Species are named through `species` (the catalogue's species table).
pub fn read_sheet(
    sheet: &Path,
    images: &Path,
    species: &SpeciesTable,
) -> Result<(Vec<Labelled>, Vec<SheetPlace>)> {
    let bad = |line: u64, reason: String| bad_line(sheet, line, reason);
    let mut rows = Sheet::open(sheet)?;
    const NOT_WILDBOOK: &str = ": not a Wildbook bulk-import sheet";
    let media_col = rows.need("Encounter.mediaAsset0", NOT_WILDBOOK)?;
    let individual_col = rows.need("MarkedIndividual.individualID", NOT_WILDBOOK)?;
    let headers = rows.headers().clone();
    let column: HashMap<&str, usize> = headers.iter().enumerate().map(|(i, h)| (h, i)).collect();
    let mut labelled = Vec::new();
    let mut places = Vec::new();
    let mut photos = OnePerPhoto::default();
    for record in rows.records() {
        let (line, record) = record?;
        let field = |name: &str| -> &str {
            column
                .get(name)
                .and_then(|&c| record.get(c))
                .unwrap_or("")
                .trim()
        };
        let media = record.get(media_col).unwrap_or("").trim();
        let individual = record.get(individual_col).unwrap_or("").trim();
        if media.is_empty() || individual.is_empty() {
            return Err(bad(
                line,
                "empty Encounter.mediaAsset0 or MarkedIndividual.individualID".into(),
            ));
        }
        check_code(individual)
            .map_err(|why| bad(line, format!("MarkedIndividual.individualID {why}")))?;
        let path = images.join(media);
        if !photos
            .label(&path, media, individual, line)
            .map_err(|reason| bad(line, reason))?
        {
            continue;
        }
        labelled.push(Labelled {
            path: path.clone(),
            individual: individual.to_string(),
            species: species_of(
                species,
                field("Encounter.genus"),
                field("Encounter.specificEpithet"),
            ),
            bbox: None,
        });
        let taken_at = taken_at(
            [
                field("Encounter.year"),
                field("Encounter.month"),
                field("Encounter.day"),
                field("Encounter.hour"),
                field("Encounter.minutes"),
            ],
            |reason| bad(line, reason),
        )?;
        let coordinate = |name: &str, limit: f64| -> Result<Option<f64>> {
            let text = field(name);
            if text.is_empty() {
                return Ok(None);
            }
            match text.parse::<f64>() {
                Ok(v) if v.is_finite() && v.abs() <= limit => Ok(Some(v)),
                _ => Err(bad(
                    line,
                    format!("{name} `{text}` is not a number within ±{limit}"),
                )),
            }
        };
        // A position is both coordinates or none.
        let (latitude, longitude) = match (
            coordinate("Encounter.decimalLatitude", 90.0)?,
            coordinate("Encounter.decimalLongitude", 180.0)?,
        ) {
            (Some(a), Some(b)) => (Some(a), Some(b)),
            _ => (None, None),
        };
        // A photo that cannot be read fails in the import, which says so.
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        let text = |name: &str| Some(field(name).to_string()).filter(|s| !s.is_empty());
        // The photographer is one of the encounter's observers.
        let photographer = match text("Encounter.photographer0.fullName") {
            Some(p) => crate::catalogue::encounters::observers(&p)
                .map_err(|why| bad(line, format!("Encounter.photographer0.fullName: {why}")))?,
            None => Vec::new(),
        };
        places.push(SheetPlace {
            sha256: hex::encode(Sha256::digest(&bytes)),
            taken_at,
            latitude,
            longitude,
            occurrence: text("Encounter.occurrenceID"),
            location: text("Encounter.locationID"),
            photographer,
        });
    }
    Ok((labelled, places))
}

/// `YYYY-MM-DDTHH:MM:00` from year, month, day, hour and minutes; `None`
/// when any is empty; an error when one is not a number or not a real time.
fn taken_at(parts: [&str; 5], bad: impl Fn(String) -> Error) -> Result<Option<String>> {
    if parts.iter().any(|p| p.is_empty()) {
        return Ok(None);
    }
    let n: Vec<u32> = parts
        .iter()
        .map(|p| p.parse::<u32>())
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| {
            bad(format!(
                "date and time `{}` are not numbers",
                parts.join(" ")
            ))
        })?;
    let day = format!("{:04}-{:02}-{:02}", n[0], n[1], n[2]);
    if !crate::photo::meta::is_calendar_day(&day) || n[3] > 23 || n[4] > 59 {
        return Err(bad(format!(
            "year, month, day, hour and minutes `{}` are not a real time",
            parts.join(" ")
        )));
    }
    Ok(Some(format!("{day}T{:02}:{:02}:00", n[3], n[4])))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "Encounter.mediaAsset0,Encounter.genus,Encounter.specificEpithet,\
        Encounter.year,Encounter.month,Encounter.day,Encounter.hour,Encounter.minutes,\
        Encounter.decimalLatitude,Encounter.decimalLongitude,MarkedIndividual.individualID,\
        Encounter.occurrenceID\n";

    #[test]
    fn a_sheet_gives_labels_and_places() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.jpg"), b"a").unwrap();
        let sheet = dir.path().join("s.csv");
        std::fs::write(
            &sheet,
            format!(
                "{HEAD}a.jpg,Megaptera,novaeangliae,2024,6,1,9,5,57.5,-6.25,W1,occ-1\n\
                 b.jpg,,,2024,6,1,,,,,W2,\n"
            ),
        )
        .unwrap();
        let (labelled, places) = read_sheet(&sheet, dir.path(), &SpeciesTable::shipped()).unwrap();
        assert_eq!(labelled.len(), 2);
        assert_eq!(labelled[0].species.as_deref(), Some("humpback_whale"));
        assert_eq!(labelled[1].individual, "W2");
        // b.jpg is not there: the import will say so; nothing to place.
        assert_eq!(places.len(), 1);
        assert_eq!(places[0].taken_at.as_deref(), Some("2024-06-01T09:05:00"));
        assert_eq!(places[0].latitude, Some(57.5));
        assert_eq!(places[0].occurrence.as_deref(), Some("occ-1"));
    }

    #[test]
    fn bad_rows_name_the_sheet_line_and_reason() {
        let dir = tempfile::tempdir().unwrap();
        let sheet = dir.path().join("s.csv");
        for (row, says) in [
            ("a.jpg,,,2024,2,30,9,5,,,W1,", "not a real time"),
            ("a.jpg,,,2024,2,3,9,5,95,1,W1,", "decimalLatitude"),
            ("a.jpg,,,,,,,,,,,", "empty"),
        ] {
            std::fs::write(&sheet, format!("{HEAD}{row}\n")).unwrap();
            let err = read_sheet(&sheet, dir.path(), &SpeciesTable::shipped())
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("s.csv") && err.contains("line 2") && err.contains(says),
                "{err}"
            );
        }
        std::fs::write(&sheet, "image,individual_id\na.jpg,W1\n").unwrap();
        let err = read_sheet(&sheet, dir.path(), &SpeciesTable::shipped())
            .unwrap_err()
            .to_string();
        assert!(err.contains("Encounter.mediaAsset0"), "{err}");
    }
}
