//! The Wildbook/Flukebook bulk-import sheet: one row per identified
//! sighting (a Wildbook Encounter is one animal in one photo), with the
//! column names of Wildbook's bulk-import documentation ([`HEADER`]).
//!
//! - `Encounter.mediaAsset0`: the photo's file name (the photos are
//!   uploaded beside the sheet);
//! - `Encounter.genus`, `Encounter.specificEpithet`: the species' scientific
//!   name from the species table (`publish::species`, the catalogue's own
//!   `species.csv` over the shipped one), empty where the table does not
//!   know the species ([`scientific_name`]);
//! - `Encounter.year` … `Encounter.minutes`: the camera's local time;
//! - `Encounter.decimalLatitude/decimalLongitude`: the photo's position;
//! - `Encounter.locationID`: the encounter's place name;
//! - `Encounter.occurrenceID`: the encounter's UUID (a Wildbook Occurrence
//!   is the group sighting WhaleID calls an encounter), empty without one;
//! - `Encounter.photographer0.fullName`: the encounter's first observer
//!   (the sheet has one photographer column per person; the catalogue
//!   records who watched, not who held the camera, so only the first is
//!   named); `Encounter.submitterID`: who identified the
//!   animal; `Encounter.sex`: the individual's.
//!
//! The sheet is read back by `whaleid catalogue import --wildbook`
//! (`crate::ingest::wildbook`), which places the imported photos with
//! [`Catalogue::place_sheet_rows`]: a photo without a date or position takes
//! the sheet's, and photos of one `occurrenceID` become one encounter with
//! that UUID, so a round trip keeps individuals and encounters.

use std::path::Path;

use rusqlite::OptionalExtension;

use super::species::SpeciesTable;
use super::Filter;
use crate::catalogue::export::write_atomically;
use crate::catalogue::sql::NOW;
use crate::catalogue::Catalogue;
use crate::error::{Error, Result};

/// The sheet's columns, in order, as Wildbook's bulk import names them.
pub const HEADER: [&str; 16] = [
    "Encounter.mediaAsset0",
    "Encounter.genus",
    "Encounter.specificEpithet",
    "Encounter.year",
    "Encounter.month",
    "Encounter.day",
    "Encounter.hour",
    "Encounter.minutes",
    "Encounter.decimalLatitude",
    "Encounter.decimalLongitude",
    "Encounter.locationID",
    "MarkedIndividual.individualID",
    "Encounter.occurrenceID",
    "Encounter.photographer0.fullName",
    "Encounter.submitterID",
    "Encounter.sex",
];

/// `(genus, specificEpithet)` for a species as the catalogue records it,
/// through the species table (the epithet empty for a genus); `None` when
/// the table does not know it.
pub fn scientific_name(table: &SpeciesTable, species: &str) -> Option<(String, String)> {
    let taxon = table.resolve(species)?;
    let mut words = taxon.scientific_name.split_whitespace();
    let genus = words.next()?.to_string();
    Some((genus, words.next().unwrap_or_default().to_string()))
}

/// The catalogue's species name for a genus and epithet: the taxon's common
/// name as a label where the table knows it (`Humpback whale` is
/// `humpback_whale`, the Kaggle spelling; `Common bottlenose dolphin` is
/// `common_bottlenose_dolphin`, another name of the Kaggle
/// `bottlenose_dolphin`'s taxon), else `genus_epithet`.
pub fn species_of(table: &SpeciesTable, genus: &str, epithet: &str) -> Option<String> {
    let name = format!("{} {}", genus.trim(), epithet.trim());
    if genus.trim().is_empty() {
        return None;
    }
    let label = table
        .resolve(name.trim())
        .map_or(name.trim(), |t| t.common_name.as_str());
    Some(super::species::normalise(label))
}

/// What a sheet says about one photo, for [`Catalogue::place_sheet_rows`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SheetPlace {
    /// The photo's SHA-256, as the catalogue keys it.
    pub sha256: String,
    /// `YYYY-MM-DDTHH:MM:SS` (seconds `00`), when the sheet has a day.
    pub taken_at: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub occurrence: Option<String>,
    pub location: Option<String>,
    /// `Encounter.photographer0.fullName`, as observer names: observers of
    /// the encounter.
    pub photographer: Vec<String>,
}

/// What [`Catalogue::place_sheet_rows`] changed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Placed {
    /// Photos that took the sheet's date or position.
    pub dated: usize,
    /// Encounters made for the sheet's occurrences.
    pub encounters: usize,
}

fn csv_err(path: &Path, e: csv::Error) -> Error {
    Error::Invalid(format!("{}: cannot write CSV: {e}", path.display()))
}

impl Catalogue {
    /// Write the sheet for the sightings `filter` keeps to `path` (a
    /// temporary file renamed into place); returns the rows written.
    pub fn export_wildbook(&self, path: &Path, filter: &Filter) -> Result<usize> {
        let sightings = self.identified_sightings(filter)?;
        let table = SpeciesTable::for_catalogue(self.root())?;
        let encounters = self.encounters_by_uuid()?;
        let text = |v: Option<&str>| v.unwrap_or_default().to_string();
        let number = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
        write_atomically(path, |f| {
            let mut w = csv::Writer::from_writer(f);
            w.write_record(HEADER).map_err(|e| csv_err(path, e))?;
            for s in &sightings {
                let encounter = s.encounter.as_ref().and_then(|e| encounters.get(e));
                let media = Path::new(&s.photo)
                    .file_name()
                    .map_or_else(|| s.photo.clone(), |n| n.to_string_lossy().into_owned());
                let (genus, epithet) = s
                    .species
                    .as_deref()
                    .and_then(|species| scientific_name(&table, species))
                    .unwrap_or_default();
                // `YYYY-MM-DDTHH:MM:SS`; a part the time lacks stays empty.
                let t = s.taken_at.as_deref().unwrap_or_default();
                let part = |from: usize, to: usize| {
                    t.get(from..to)
                        .map(|p| p.trim_start_matches('0'))
                        .map(|p| if p.is_empty() { "0" } else { p })
                        .unwrap_or_default()
                        .to_string()
                };
                let record = [
                    media,
                    genus,
                    epithet,
                    part(0, 4),
                    part(5, 7),
                    part(8, 10),
                    part(11, 13),
                    part(14, 16),
                    number(s.latitude),
                    number(s.longitude),
                    text(encounter.and_then(|e| e.place.as_deref())),
                    s.code.clone(),
                    text(s.encounter.as_deref()),
                    text(encounter.and_then(|e| e.observers.first().map(String::as_str))),
                    text(s.decided_by.as_deref()),
                    text(s.sex.as_deref()),
                ];
                w.write_record(&record).map_err(|e| csv_err(path, e))?;
            }
            w.flush().map_err(|e| Error::io(path, e))
        })?;
        Ok(sightings.len())
    }

    /// Give imported photos what the sheet says about them: a date or
    /// position the photo lacks, and the encounter of the row's occurrence
    /// (made with the occurrence's ID as its UUID where the catalogue has
    /// none such) where the photo has none. A photo the catalogue does not
    /// have (it failed to import) is passed over.
    pub fn place_sheet_rows(&mut self, rows: &[SheetPlace]) -> Result<Placed> {
        self.with_tx(|tx| {
            let mut placed = Placed::default();
            // Each encounter made here, with its photographers in the
            // sheet's order, each once.
            let mut made: Vec<(i64, Vec<String>)> = Vec::new();
            for row in rows {
                let photo: Option<i64> = tx
                    .conn()
                    .query_row(
                        "SELECT id FROM photos WHERE sha256 = ?1",
                        [&row.sha256],
                        |r| r.get(0),
                    )
                    .optional()?;
                let Some(photo) = photo else { continue };
                placed.dated += tx.conn().execute(
                    &format!(
                        "UPDATE photos SET taken_at = coalesce(taken_at, ?2),
                            latitude = CASE WHEN latitude IS NULL AND ?4 IS NOT NULL
                                            THEN ?3 ELSE latitude END,
                            longitude = CASE WHEN latitude IS NULL AND ?3 IS NOT NULL
                                             THEN ?4 ELSE longitude END,
                            updated_at = {NOW}
                         WHERE id = ?1 AND ((taken_at IS NULL AND ?2 IS NOT NULL)
                            OR (latitude IS NULL AND ?3 IS NOT NULL AND ?4 IS NOT NULL))"
                    ),
                    rusqlite::params![photo, row.taken_at, row.latitude, row.longitude],
                )?;
                let Some(occurrence) = &row.occurrence else {
                    continue;
                };
                let existing: Option<i64> = tx
                    .conn()
                    .query_row(
                        "SELECT id FROM encounters WHERE uuid = ?1",
                        [occurrence],
                        |r| r.get(0),
                    )
                    .optional()?;
                let encounter = match existing {
                    Some(id) => id,
                    None => {
                        tx.conn().execute(
                            "INSERT INTO encounters (uuid, location) VALUES (?1, ?2)",
                            rusqlite::params![occurrence, row.location],
                        )?;
                        made.push((tx.conn().last_insert_rowid(), Vec::new()));
                        tx.conn().last_insert_rowid()
                    }
                };
                tx.conn().execute(
                    &format!(
                        "UPDATE photos SET encounter_id = ?1, updated_at = {NOW}
                         WHERE id = ?2 AND encounter_id IS NULL"
                    ),
                    [encounter, photo],
                )?;
                if let Some((_, observers)) = made.iter_mut().find(|(id, _)| *id == encounter) {
                    for who in &row.photographer {
                        if !observers.contains(who) {
                            observers.push(who.clone());
                        }
                    }
                }
            }
            // An encounter made here spans its photos' times, sits at their
            // mean position, and was watched by their photographers.
            for (id, observers) in &made {
                tx.conn().execute(
                    "UPDATE encounters SET
                        started_at = (SELECT min(taken_at) FROM photos p WHERE p.encounter_id = ?1),
                        ended_at = (SELECT max(taken_at) FROM photos p WHERE p.encounter_id = ?1),
                        latitude = (SELECT avg(latitude) FROM photos p WHERE p.encounter_id = ?1),
                        longitude = (SELECT avg(longitude) FROM photos p WHERE p.encounter_id = ?1),
                        observers = ?2
                     WHERE id = ?1",
                    rusqlite::params![id, (!observers.is_empty()).then(|| observers.join("; "))],
                )?;
            }
            placed.encounters = made.len();
            Ok(placed)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn species_go_to_genus_and_epithet_and_back() {
        let table = SpeciesTable::shipped();
        assert_eq!(
            scientific_name(&table, "Humpback Whale"),
            Some(("Megaptera".into(), "novaeangliae".into()))
        );
        assert_eq!(scientific_name(&table, "some_whale"), None);
        // Back to a name of the same taxon: the Kaggle spelling where it is
        // the common name, the common name as a label otherwise.
        for (kaggle, back) in [
            ("beluga", "beluga"),
            ("humpback_whale", "humpback_whale"),
            ("killer_whale", "killer_whale"),
            ("bottlenose_dolphin", "common_bottlenose_dolphin"),
        ] {
            let (genus, epithet) = scientific_name(&table, kaggle).unwrap();
            let name = species_of(&table, &genus, &epithet).unwrap();
            assert_eq!(name, back);
            assert_eq!(table.resolve(&name), table.resolve(kaggle));
        }
        assert_eq!(
            species_of(&table, "Nonesuchia", "imaginaria").as_deref(),
            Some("nonesuchia_imaginaria")
        );
        assert_eq!(species_of(&table, "", ""), None);
    }
}
