//! SOCPROG tables: a sightings table (`Date`, `Time`, `Latitude`,
//! `Longitude`, `Group`, `ID`) and, beside it, a supplementary table of the
//! individuals in it (`ID`, `Sex`, `Distinctiveness`). For `F.csv` the
//! supplementary table is `F-individuals.csv` in the same folder.
//!
//! One sightings row per individual per encounter: several photos of one
//! animal in one encounter are one sighting, at the time and place of its
//! first photo there. `Group` is the encounter's number in this catalogue;
//! a photo outside any encounter is its own group, `P` and the photo's
//! SHA-256 prefix, so it never joins another. SOCPROG needs a date on
//! every row: undated sightings are listed in the report and left out.
//!
//! `Distinctiveness` is the individual's latest grade among the sightings
//! the filter keeps (`D1`, `D2`, `D3`), empty when none is graded.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use super::mark::latest_distinctiveness;
use super::{Filter, Sighting};
use crate::catalogue::export::write_atomically;
use crate::catalogue::Catalogue;
use crate::error::{Error, Result};

/// The sightings table's columns, in order.
pub const SIGHTINGS_HEADER: [&str; 6] = ["Date", "Time", "Latitude", "Longitude", "Group", "ID"];
/// The supplementary table's columns, in order.
pub const INDIVIDUALS_HEADER: [&str; 3] = ["ID", "Sex", "Distinctiveness"];

/// What a SOCPROG export wrote and left out.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SocprogReport {
    pub sightings: usize,
    pub individuals: usize,
    /// The supplementary table's path.
    pub individuals_file: PathBuf,
    /// Sightings without a date, as `#DETECTION CODE PHOTO`.
    pub undated: Vec<String>,
}

/// `dir/F-individuals.csv` for `dir/F.csv` (the extension kept, `.csv`
/// when there is none).
pub fn individuals_path(path: &Path) -> PathBuf {
    let stem = path.file_stem().unwrap_or_default().to_string_lossy();
    let ext = path
        .extension()
        .map_or_else(|| "csv".into(), |e| e.to_string_lossy().into_owned());
    path.with_file_name(format!("{stem}-individuals.{ext}"))
}

fn csv_err(path: &Path, e: csv::Error) -> Error {
    Error::Invalid(format!("{}: cannot write CSV: {e}", path.display()))
}

fn number(v: Option<f64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

impl Catalogue {
    /// Write the SOCPROG sightings table to `path` and its individuals
    /// table beside it (see the module's note), each through a temporary
    /// file renamed into place.
    pub fn export_socprog(&self, path: &Path, filter: &Filter) -> Result<SocprogReport> {
        let sightings = self.identified_sightings(filter)?;
        let mut report = SocprogReport {
            individuals_file: individuals_path(path),
            ..SocprogReport::default()
        };
        let mut seen: HashSet<(String, String)> = HashSet::new();
        let mut rows: Vec<[String; 6]> = Vec::new();
        let mut individuals: BTreeMap<String, Vec<&Sighting>> = BTreeMap::new();
        for s in &sightings {
            let Some(taken) = s.taken_at.as_deref() else {
                report
                    .undated
                    .push(format!("#{} {} {}", s.detection_number, s.code, s.photo));
                continue;
            };
            let group = match s.encounter_number {
                Some(n) => n.to_string(),
                None => format!("P{}", s.photo_sha256.get(..12).unwrap_or(&s.photo_sha256)),
            };
            if !seen.insert((group.clone(), s.individual.clone())) {
                continue;
            }
            let (date, time) = taken.split_once('T').unwrap_or((taken, ""));
            rows.push([
                date.to_string(),
                time.to_string(),
                number(s.latitude),
                number(s.longitude),
                group,
                s.code.clone(),
            ]);
        }
        // Every dated sighting counts for the grade, not only each
        // encounter's first.
        for s in sightings.iter().filter(|s| s.taken_at.is_some()) {
            individuals.entry(s.code.clone()).or_default().push(s);
        }
        write_atomically(path, |f| {
            let mut w = csv::Writer::from_writer(f);
            w.write_record(SIGHTINGS_HEADER)
                .map_err(|e| csv_err(path, e))?;
            for r in &rows {
                w.write_record(r).map_err(|e| csv_err(path, e))?;
            }
            w.flush().map_err(|e| Error::io(path, e))
        })?;
        let side = &report.individuals_file;
        write_atomically(side, |f| {
            let mut w = csv::Writer::from_writer(f);
            w.write_record(INDIVIDUALS_HEADER)
                .map_err(|e| csv_err(side, e))?;
            for (code, seen) in &individuals {
                let sex = seen.iter().find_map(|s| s.sex.as_deref()).unwrap_or("");
                let grade = latest_distinctiveness(seen.iter().copied()).unwrap_or("");
                w.write_record([code.as_str(), sex, grade])
                    .map_err(|e| csv_err(side, e))?;
            }
            w.flush().map_err(|e| Error::io(side, e))
        })?;
        report.sightings = rows.len();
        report.individuals = individuals.len();
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_individuals_table_sits_beside_the_sightings_table() {
        assert_eq!(
            individuals_path(Path::new("/out/F.csv")),
            Path::new("/out/F-individuals.csv")
        );
        assert_eq!(
            individuals_path(Path::new("F")),
            Path::new("F-individuals.csv")
        );
    }
}
