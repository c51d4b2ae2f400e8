//! Exports for the world outside WhaleID: a CSV of identifications for the
//! team's analyses (one row per detection: where, when, who decided what),
//! and the Kaggle Happywhale submission format (`image,predictions` with five
//! ranked individual ids: the confirmed individual first where there is one,
//! then the model's suggestions, `new_individual` where the threshold put it)
//! for scoring a run against a labelled set.
//!
//! Both are written to a temporary file and renamed, so a failed export
//! never leaves a half-written file under the name asked for.
//!
//! The identifications CSV is opened in spreadsheets, and its text cells
//! hold what people typed (codes, species, names, file paths): a text cell
//! that starts with `=`, `+`, `-`, `@`, a tab or a carriage return gets a
//! leading apostrophe (`'=HYPERLINK(...)`), so a spreadsheet shows it as
//! text instead of running it as a formula. Numbers (coordinates, box
//! corners, scores, detection numbers) are written as numbers, negative
//! ones included. The Kaggle file is left exact: it is read by scoring
//! scripts, which match its names and codes character for character.

use std::io::Write;
use std::path::Path;

use rusqlite::OptionalExtension;

use super::sql::RESOLVED_CTE;
use super::Catalogue;
use crate::error::{Error, Result};

/// The Kaggle token for "not in the catalogue".
pub const NEW_INDIVIDUAL: &str = "new_individual";

/// Ids per image in the Kaggle format (MAP@5 scores no more).
const KAGGLE_PREDICTIONS: usize = 5;

const CSV_HEADER: [&str; 17] = [
    "photo",
    "photo_sha256",
    "taken_at",
    "latitude",
    "longitude",
    "encounter",
    "detection",
    "x1",
    "y1",
    "x2",
    "y2",
    "individual",
    "species",
    "decision",
    "decided_by",
    "score",
    // Appended, so scripts reading columns by position keep working.
    "detection_number",
];

impl Catalogue {
    /// Every detection as one CSV row; returns the rows written. `decision`
    /// is the source of the current identification (`person`, `import`,
    /// `model`), `unidentifiable`, or `pending` (waiting for review);
    /// `score` is the decision's score, else the top suggestion's;
    /// `detection_number` is the detection's number in this catalogue, the
    /// `#146` the app shows (`detection` is its UUID, the same everywhere).
    /// A text cell that would start a spreadsheet formula (`=`, `+`, `-`,
    /// `@`) is written with a leading apostrophe; numbers stay numbers.
    pub fn export_csv(&self, path: &Path) -> Result<usize> {
        let mut stmt = self.conn().prepare(&format!(
            "{RESOLVED_CTE}
             SELECT p.original_path, p.sha256, p.taken_at, p.latitude, p.longitude, e.uuid, d.uuid,
                    d.x1, d.y1, d.x2, d.y2, ind.code, ind.species,
                    CASE WHEN idn.id IS NOT NULL THEN idn.source
                         WHEN EXISTS (SELECT 1 FROM review_marks m WHERE m.detection_id = d.id AND m.withdrawn_at IS NULL)
                         THEN 'unidentifiable' ELSE 'pending' END,
                    idn.decided_by,
                    coalesce(idn.score, (SELECT s.score FROM suggestions s WHERE s.detection_id = d.id AND s.rank = 1)),
                    d.id
             FROM detections d
             JOIN photos p ON p.id = d.photo_id
             LEFT JOIN encounters e ON e.id = p.encounter_id
             LEFT JOIN identifications idn ON idn.detection_id = d.id AND idn.superseded_by IS NULL
                  AND idn.withdrawn_at IS NULL AND idn.verdict = 'confirmed'
             LEFT JOIN resolved r ON r.start = idn.individual_id
             LEFT JOIN individuals ind ON ind.id = r.id
             WHERE d.removed_at IS NULL
             ORDER BY p.taken_at, p.id, d.id"
        ))?;
        let mut rows = stmt.query([])?;
        let mut n = 0;
        write_atomically(path, |out| {
            let mut w = csv::Writer::from_writer(out);
            w.write_record(CSV_HEADER).map_err(|e| csv_err(path, e))?;
            while let Some(r) = rows.next()? {
                let mut record: Vec<String> = Vec::with_capacity(CSV_HEADER.len());
                for i in 0..CSV_HEADER.len() {
                    record.push(match r.get_ref(i)? {
                        rusqlite::types::ValueRef::Null => String::new(),
                        rusqlite::types::ValueRef::Integer(v) => v.to_string(),
                        rusqlite::types::ValueRef::Real(v) => format!("{v}"),
                        rusqlite::types::ValueRef::Text(t) => {
                            as_text_cell(String::from_utf8_lossy(t).into_owned())
                        }
                        rusqlite::types::ValueRef::Blob(_) => String::new(),
                    });
                }
                w.write_record(&record).map_err(|e| csv_err(path, e))?;
                n += 1;
            }
            w.flush().map_err(|e| Error::io(path, e))?;
            Ok(())
        })?;
        Ok(n)
    }

    /// One row per photo with a detection (its highest-scoring one): the
    /// photo's file name and up to five individual codes. When that detection
    /// has a current confirmed identification (a review decision or an
    /// imported label), its individual as it is now (through merges) comes
    /// first, followed by the model's stored suggestions without it;
    /// otherwise (pending, or marked not identifiable) the suggestions alone,
    /// `new_individual` where it was ranked. Returns the rows written.
    pub fn export_kaggle(&self, path: &Path) -> Result<usize> {
        let photos: Vec<(String, i64)> = {
            let mut stmt = self.conn().prepare(
                "SELECT p.original_path,
                        (SELECT d.id FROM detections d WHERE d.photo_id = p.id AND d.removed_at IS NULL
                         ORDER BY coalesce(d.score, 0) DESC, d.id LIMIT 1) AS det
                 FROM photos p WHERE det IS NOT NULL ORDER BY p.original_path",
            )?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let mut lines = Vec::with_capacity(photos.len());
        for (original, detection) in &photos {
            let image = Path::new(original)
                .file_name()
                .map_or_else(|| original.clone(), |n| n.to_string_lossy().into_owned());
            let mut ids: Vec<String> = Vec::new();
            // The decision stands before the model's guesses: a photo a
            // person identified is scored as that individual.
            let confirmed: Option<i64> = self
                .conn()
                .prepare_cached(
                    "SELECT individual_id FROM identifications
                     WHERE detection_id = ?1 AND superseded_by IS NULL
                       AND withdrawn_at IS NULL AND verdict = 'confirmed'
                     ORDER BY id DESC LIMIT 1",
                )?
                .query_row([detection], |r| r.get(0))
                .optional()?;
            if let Some(id) = confirmed {
                ids.push(self.individual_by_id(self.resolve(id)?)?.code);
            }
            let mut stmt = self.conn().prepare_cached(
                "SELECT individual_id FROM suggestions WHERE detection_id = ?1 ORDER BY rank",
            )?;
            let ranked = stmt.query_map([detection], |r| r.get::<_, Option<i64>>(0))?;
            for individual in ranked {
                let code = match individual? {
                    Some(id) => self.individual_by_id(self.resolve(id)?)?.code,
                    None => NEW_INDIVIDUAL.to_string(),
                };
                if !ids.contains(&code) {
                    ids.push(code);
                }
            }
            if ids.is_empty() {
                ids.push(NEW_INDIVIDUAL.to_string());
            }
            ids.truncate(KAGGLE_PREDICTIONS);
            lines.push([image, ids.join(" ")]);
        }
        write_atomically(path, |out| {
            let mut w = csv::Writer::from_writer(out);
            w.write_record(["image", "predictions"])
                .map_err(|e| csv_err(path, e))?;
            for line in &lines {
                w.write_record(line).map_err(|e| csv_err(path, e))?;
            }
            w.flush().map_err(|e| Error::io(path, e))?;
            Ok(())
        })?;
        Ok(lines.len())
    }
}

/// A text cell that a spreadsheet would take for a formula (see the
/// module's note), with a leading apostrophe; any other as it is.
fn as_text_cell(text: String) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text
    }
}

fn csv_err(path: &Path, e: csv::Error) -> Error {
    Error::Invalid(format!("{}: cannot write CSV: {e}", path.display()))
}

pub(crate) fn write_atomically(
    path: &Path,
    f: impl FnOnce(&mut std::fs::File) -> Result<()>,
) -> Result<()> {
    // Say what the person asked for, not the temporary file's name.
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.is_dir() {
            return Err(Error::Invalid(format!(
                "cannot write {}: the folder {} does not exist",
                path.display(),
                dir.display()
            )));
        }
    }
    let mut name = path.as_os_str().to_owned();
    name.push(".part");
    let tmp = std::path::PathBuf::from(name);
    let mut file = std::fs::File::create(&tmp).map_err(|e| Error::io(path, e))?;
    let written = f(&mut file).and_then(|()| file.flush().map_err(|e| Error::io(&tmp, e)));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_text_that_starts_a_formula_gets_an_apostrophe() {
        for (cell, written) in [
            ("=1+2", "'=1+2"),
            ("+ana", "'+ana"),
            ("-2", "'-2"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\t=1", "'\t=1"),
            ("W1=2", "W1=2"),
            ("HW-001", "HW-001"),
            ("", ""),
        ] {
            assert_eq!(as_text_cell(cell.into()), written);
        }
    }

    #[test]
    fn exporting_into_a_missing_folder_names_the_folder_not_the_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing").join("out.csv");
        let err = write_atomically(&path, |_| Ok(())).unwrap_err().to_string();
        assert!(err.contains("missing"), "{err}");
        assert!(err.contains("does not exist"), "{err}");
        assert!(!err.contains(".part"), "{err}");
        // Into a folder that exists, the file appears whole and no .part is left.
        let path = dir.path().join("out.csv");
        write_atomically(&path, |f| {
            std::io::Write::write_all(f, b"a,b\n").map_err(|e| Error::io(&path, e))
        })
        .unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "a,b\n");
        assert!(!dir.path().join("out.csv.part").exists());
    }
}
