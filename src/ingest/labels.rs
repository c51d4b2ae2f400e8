//! Labelled photo collections, in the two layouts researchers have: the
//! Kaggle Happywhale layout (a CSV with `image,species,individual_id` beside
//! an image folder) and one folder per individual.
//!
//! The CSV may carry a box column (`box`, or Happywhale-sample's
//! `fin_or_body_box_x1_y1_x2_y2` with `fullbody_box_x1_y1_x2_y2` where that
//! is empty, as "x1 y1 x2 y2") to embed a given crop instead of running the
//! detector. Species names are normalised the way the
//! Happywhale solutions did (the competition data had typos and synonyms).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::catalogue::codes::{check_code, shown};
use crate::detect::BBox;
use crate::error::{Error, Result};

/// One labelled photo.
#[derive(Debug, Clone, PartialEq)]
pub struct Labelled {
    pub path: PathBuf,
    pub individual: String,
    pub species: Option<String>,
    pub bbox: Option<BBox>,
}

/// A labels CSV being read (the Kaggle layout, a Wildbook sheet): its
/// columns by name, each record with the line it starts on (a quoted field
/// may hold line breaks), and errors that name the file and the line.
pub(crate) struct Sheet<'a> {
    path: &'a Path,
    reader: csv::Reader<std::fs::File>,
    headers: csv::StringRecord,
}

impl<'a> Sheet<'a> {
    pub(crate) fn open(path: &'a Path) -> Result<Self> {
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_path(path)
            .map_err(|e| bad_line(path, 0, e.to_string()))?;
        let headers = reader
            .headers()
            .map_err(|e| bad_line(path, 1, e.to_string()))?
            .clone();
        Ok(Self {
            path,
            reader,
            headers,
        })
    }

    /// The header record.
    pub(crate) fn headers(&self) -> &csv::StringRecord {
        &self.headers
    }

    /// The column named `name`, if the sheet has one.
    pub(crate) fn column(&self, name: &str) -> Option<usize> {
        self.headers.iter().position(|h| h == name)
    }

    /// The column named `name`, or an error listing the columns found;
    /// `hint` follows the missing name (`": not a … sheet"`, or nothing).
    pub(crate) fn need(&self, name: &str, hint: &str) -> Result<usize> {
        self.column(name).ok_or_else(|| {
            let found = self.headers.iter().collect::<Vec<_>>().join(", ");
            self.bad(1, format!("no `{name}` column{hint} (found: {found})"))
        })
    }

    /// An error at `line` of this sheet.
    pub(crate) fn bad(&self, line: u64, reason: String) -> Error {
        bad_line(self.path, line, reason)
    }

    /// Every record with the line it starts on.
    pub(crate) fn records(
        &mut self,
    ) -> impl Iterator<Item = Result<(u64, csv::StringRecord)>> + '_ {
        let path = self.path;
        self.reader.records().enumerate().map(move |(i, record)| {
            // Counted in the file, where csv does not say.
            let guess = i as u64 + 2;
            let record = record.map_err(|e| {
                bad_line(
                    path,
                    e.position().map_or(guess, |p| p.line()),
                    e.to_string(),
                )
            })?;
            Ok((record.position().map_or(guess, |p| p.line()), record))
        })
    }
}

/// An error at `line` of the labels file `path`. Reasons quote the file's
/// own text (headers, boxes, codes): escaped.
pub(crate) fn bad_line(path: &Path, line: u64, reason: String) -> Error {
    Error::Labels {
        path: path.to_path_buf(),
        reason: shown(&format!("line {line}: {reason}")).into_owned(),
    }
}

/// One photo shows one individual: each image's first line and individual,
/// by its path (`a.jpg` and `./a.jpg` are one image).
#[derive(Debug, Default)]
pub(crate) struct OnePerPhoto(HashMap<PathBuf, (u64, String)>);

impl OnePerPhoto {
    /// Note that line `line` labels `path` (written `image` in the file) as
    /// `individual`: `Ok(true)` the first time, `Ok(false)` when an earlier
    /// line said the same, and the reason when it named another individual.
    pub(crate) fn label(
        &mut self,
        path: &Path,
        image: &str,
        individual: &str,
        line: u64,
    ) -> std::result::Result<bool, String> {
        let key: PathBuf = path.components().collect();
        match self.0.get(&key) {
            Some((first, other)) if other != individual => Err(format!(
                "image `{image}` is labelled `{other}` on line {first} and `{individual}` \
                 on line {line}: one photo shows one individual, so correct one of the two lines"
            )),
            Some(_) => Ok(false),
            None => {
                self.0.insert(key, (line, individual.to_string()));
                Ok(true)
            }
        }
    }
}

/// Image file extensions read from folders.
pub const IMAGE_EXTENSIONS: &[&str] = &["jpg", "jpeg", "png", "tif", "tiff", "webp"];

/// The species name the catalogue uses for a label's species.
pub fn normalise_species(s: &str) -> String {
    let s = s.trim().to_lowercase().replace([' ', '-'], "_");
    match s.as_str() {
        "bottlenose_dolpin" => "bottlenose_dolphin".into(),
        "kiler_whale" => "killer_whale".into(),
        "globis" | "pilot_whale" => "short_finned_pilot_whale".into(),
        _ => s,
    }
}

/// Read a Kaggle-layout CSV; image names are resolved in `images`. Every
/// problem names the CSV, the line (where its record starts) and the reason.
///
/// An image listed under two individuals is an error naming both lines and
/// both ids, not a warning: one of the two labels is wrong, and importing
/// either would record a confirmed identification that is false, which then
/// shapes every search and training run; nothing is imported until the file
/// says one thing. The same image twice under one individual is no conflict.
pub fn read_csv(csv_path: &Path, images: &Path) -> Result<Vec<Labelled>> {
    let mut sheet = Sheet::open(csv_path)?;
    let (image_col, individual_col) = (sheet.need("image", "")?, sheet.need("individual_id", "")?);
    let species_col = sheet.column("species");
    let box_col = sheet
        .column("box")
        .or_else(|| sheet.column("fin_or_body_box_x1_y1_x2_y2"));
    // Happywhale-sample gives a full-body box where it has no fin box.
    let fallback_box_col = sheet.column("fullbody_box_x1_y1_x2_y2");
    let mut out = Vec::new();
    let mut photos = OnePerPhoto::default();
    let bad = |line: u64, reason: String| bad_line(csv_path, line, reason);
    for record in sheet.records() {
        let (line, record) = record?;
        let field = |c: usize| record.get(c).unwrap_or("").trim();
        let image = field(image_col);
        let individual = field(individual_col);
        if image.is_empty() || individual.is_empty() {
            return Err(bad(line, "empty image or individual_id".into()));
        }
        check_code(individual).map_err(|why| bad(line, format!("individual_id {why}")))?;
        let given = box_col
            .map(field)
            .filter(|s| !s.is_empty())
            .or_else(|| fallback_box_col.map(field).filter(|s| !s.is_empty()));
        let bbox = match given {
            None => None,
            Some(s) => Some(parse_box(s).map_err(|reason| bad(line, reason))?),
        };
        let path = images.join(image);
        photos
            .label(&path, image, individual, line)
            .map_err(|reason| bad(line, reason))?;
        out.push(Labelled {
            path,
            individual: individual.to_string(),
            species: species_col
                .map(field)
                .filter(|s| !s.is_empty())
                .map(normalise_species),
            bbox,
        });
    }
    Ok(out)
}

/// `x1 y1 x2 y2` (spaces or commas).
fn parse_box(s: &str) -> std::result::Result<BBox, String> {
    let v: Vec<f32> = s
        .split([' ', ','])
        .filter(|p| !p.is_empty())
        .map(|p| p.parse::<f32>().map_err(|e| format!("box `{s}`: {e}")))
        .collect::<std::result::Result<_, _>>()?;
    match v[..] {
        [x1, y1, x2, y2] if v.iter().all(|c| c.is_finite()) && x2 > x1 && y2 > y1 => {
            Ok(BBox { x1, y1, x2, y2 })
        }
        _ => Err(format!(
            "box `{s}` must be x1 y1 x2 y2, finite numbers with x2 > x1 and y2 > y1"
        )),
    }
}

/// A folder with one sub-folder per individual (the folder name is its code).
pub fn read_folders(root: &Path, species: Option<&str>) -> Result<Vec<Labelled>> {
    let mut out = Vec::new();
    let mut dirs: Vec<_> = std::fs::read_dir(root)
        .map_err(|e| Error::io(root, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    for dir in dirs {
        let name = dir.file_name().unwrap_or_default().to_string_lossy();
        let individual = name.trim().to_string();
        // The root names the place; the folder's own name is shown escaped.
        check_code(&individual).map_err(|why| Error::Labels {
            path: root.to_path_buf(),
            reason: format!("a folder's name is its individual's code, and the code {why}"),
        })?;
        for path in image_files(&dir)? {
            out.push(Labelled {
                path,
                individual: individual.clone(),
                species: species.map(normalise_species),
                bbox: None,
            });
        }
    }
    if out.is_empty() {
        return Err(Error::Labels {
            path: root.to_path_buf(),
            reason: "no sub-folders with photos (expected one folder per individual)".into(),
        });
    }
    Ok(out)
}

/// The image files directly in `dir`, sorted.
pub fn image_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && p.extension()
                    .and_then(|e| e.to_str())
                    .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
        })
        .collect();
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kaggle_csv_with_and_without_boxes() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("train.csv");
        std::fs::write(
            &csv,
            "image,species,individual_id,fin_or_body_box_x1_y1_x2_y2,fullbody_box_x1_y1_x2_y2\n\
             a.jpg,bottlenose_dolpin,X1,1 2 30 40,0 0 50 50\n\
             b.jpg, Humpback Whale ,X2,,\n\
             c.jpg,beluga,X3,,5 6 70 80\n",
        )
        .unwrap();
        let rows = read_csv(&csv, Path::new("/imgs")).unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].path, Path::new("/imgs/a.jpg"));
        assert_eq!(rows[0].species.as_deref(), Some("bottlenose_dolphin"));
        assert_eq!(
            rows[0].bbox,
            Some(BBox {
                x1: 1.0,
                y1: 2.0,
                x2: 30.0,
                y2: 40.0
            })
        );
        assert_eq!(rows[1].species.as_deref(), Some("humpback_whale"));
        assert_eq!(rows[1].bbox, None);
        assert_eq!(
            rows[2].bbox,
            Some(BBox {
                x1: 5.0,
                y1: 6.0,
                x2: 70.0,
                y2: 80.0
            })
        );
    }

    #[test]
    fn csv_errors_name_the_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("train.csv");
        std::fs::write(&csv, "image,species\na.jpg,beluga\n").unwrap();
        let err = read_csv(&csv, dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("train.csv") && err.contains("individual_id"),
            "{err}"
        );
        std::fs::write(&csv, "image,individual_id,box\na.jpg,X,1 2 3\n").unwrap();
        let err = read_csv(&csv, dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("line 2") && err.contains("x1 y1 x2 y2"),
            "{err}"
        );
    }

    #[test]
    fn folder_per_individual() {
        let dir = tempfile::tempdir().unwrap();
        for (ind, file) in [
            ("Bob", "1.jpg"),
            ("Bob", "2.PNG"),
            ("Ann", "x.jpeg"),
            ("Ann", "notes.txt"),
        ] {
            std::fs::create_dir_all(dir.path().join(ind)).unwrap();
            std::fs::write(dir.path().join(ind).join(file), b"").unwrap();
        }
        let rows = read_folders(dir.path(), Some("beluga")).unwrap();
        let got: Vec<_> = rows
            .iter()
            .map(|r| {
                (
                    r.individual.as_str(),
                    r.path.file_name().unwrap().to_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(got, [("Ann", "x.jpeg"), ("Bob", "1.jpg"), ("Bob", "2.PNG")]);
        assert!(read_folders(&dir.path().join("Ann"), None).is_err());
    }
}
