//! The species table: what a catalogue records as a species (a Kaggle
//! Happywhale label such as `humpback_whale`, a common name, a typo the
//! labels carry) mapped to the scientific name and WoRMS AphiaID that
//! Darwin Core publications need (`scientificName`, `scientificNameID`).
//!
//! The table ships with the engine (`species.csv` beside this file, read at
//! build time); its header comment says where its AphiaIDs came from. A
//! catalogue may hold its own `species.csv` in its folder, with the same
//! columns (`scientific_name,aphia_id,taxon_rank,common_name,spellings`,
//! `#` lines are comments): each of its rows replaces the shipped row for
//! every name it matches and adds the names no shipped row has, so a
//! research group can correct an AphiaID or add a species without a new
//! WhaleID. Names are matched ignoring case, apostrophes and whether words
//! are joined by spaces, `_` or `-` (`Cuvier's beaked whale` is
//! `cuviers_beaked_whale`).

use std::collections::HashMap;
use std::path::Path;

use crate::error::{Error, Result};

/// The table shipped with the engine.
const SHIPPED: &str = include_str!("species.csv");

/// The file name of a catalogue's own table, in the catalogue's folder.
pub const CATALOGUE_TABLE: &str = "species.csv";

const COLUMNS: [&str; 5] = [
    "scientific_name",
    "aphia_id",
    "taxon_rank",
    "common_name",
    "spellings",
];

/// One taxon as Darwin Core names it.
#[derive(Debug, Clone, PartialEq)]
pub struct Taxon {
    pub scientific_name: String,
    /// WoRMS AphiaID, where one is known.
    pub aphia_id: Option<u32>,
    /// `species` or `genus`.
    pub rank: String,
    pub common_name: String,
}

impl Taxon {
    /// The WoRMS LSID, `urn:lsid:marinespecies.org:taxname:<AphiaID>`.
    pub fn scientific_name_id(&self) -> Option<String> {
        self.aphia_id
            .map(|id| format!("urn:lsid:marinespecies.org:taxname:{id}"))
    }
}

/// Names to taxa: the shipped table, then a catalogue's own.
#[derive(Debug, Clone)]
pub struct SpeciesTable {
    by_name: HashMap<String, Taxon>,
}

impl SpeciesTable {
    /// The table shipped with the engine.
    pub fn shipped() -> SpeciesTable {
        let mut table = SpeciesTable {
            by_name: HashMap::new(),
        };
        table
            .add(SHIPPED, Path::new("species.csv (shipped)"))
            .expect("the shipped species table parses (checked by its unit test)");
        table
    }

    /// The shipped table with the catalogue folder `dir`'s `species.csv`
    /// over it, when there is one.
    pub fn for_catalogue(dir: &Path) -> Result<SpeciesTable> {
        let mut table = SpeciesTable::shipped();
        let path = dir.join(CATALOGUE_TABLE);
        match std::fs::read_to_string(&path) {
            Ok(text) => table.add(&text, &path)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io(&path, e)),
        }
        Ok(table)
    }

    /// The taxon a recorded species name means, if the table knows it.
    pub fn resolve(&self, species: &str) -> Option<&Taxon> {
        self.by_name.get(&normalise(species))
    }

    /// Read the rows of `text` (from `path`, for errors) over the table.
    fn add(&mut self, text: &str, path: &Path) -> Result<()> {
        let bad = |reason: String| Error::Catalogue {
            path: path.to_path_buf(),
            reason,
        };
        let mut reader = csv::ReaderBuilder::new()
            .comment(Some(b'#'))
            .trim(csv::Trim::All)
            .from_reader(text.as_bytes());
        let header = reader
            .headers()
            .map_err(|e| bad(format!("species table header: {e}")))?
            .clone();
        if header.iter().collect::<Vec<_>>() != COLUMNS {
            return Err(bad(format!(
                "species table columns must be {}, found {}",
                COLUMNS.join(","),
                header.iter().collect::<Vec<_>>().join(",")
            )));
        }
        for record in reader.records() {
            let record = record.map_err(|e| bad(format!("species table: {e}")))?;
            let line = record.position().map_or(0, |p| p.line());
            let scientific_name = record[0].to_string();
            if scientific_name.is_empty() {
                return Err(bad(format!("line {line}: no scientific_name")));
            }
            let aphia_id = match &record[1] {
                "" => None,
                id => Some(id.parse::<u32>().ok().filter(|&n| n > 0).ok_or_else(|| {
                    bad(format!(
                        "line {line}: aphia_id {id:?} is not a WoRMS AphiaID (a positive whole number)"
                    ))
                })?),
            };
            let rank = record[2].to_string();
            if !matches!(rank.as_str(), "species" | "genus" | "subspecies" | "family") {
                return Err(bad(format!(
                    "line {line}: taxon_rank {rank:?} is not species, subspecies, genus or family"
                )));
            }
            let taxon = Taxon {
                scientific_name,
                aphia_id,
                rank,
                common_name: record[3].to_string(),
            };
            let names = [&record[0], &record[3]]
                .into_iter()
                .chain(record[4].split('|'))
                .map(normalise)
                .filter(|n| !n.is_empty());
            for name in names {
                self.by_name.insert(name, taxon.clone());
            }
        }
        Ok(())
    }
}

/// A name as the table matches it: lower case, apostrophes dropped, every
/// run of other characters that are not letters or digits one `_`.
pub fn normalise(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.trim().chars().filter(|c| !matches!(c, '\'' | '’')) {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if !out.is_empty() && !out.ends_with('_') {
            out.push('_');
        }
    }
    while out.ends_with('_') {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every species label of the Kaggle Happywhale competition, typos
    /// included.
    const KAGGLE: [&str; 30] = [
        "beluga",
        "humpback_whale",
        "bottlenose_dolphin",
        "false_killer_whale",
        "killer_whale",
        "spinner_dolphin",
        "melon_headed_whale",
        "dusky_dolphin",
        "blue_whale",
        "gray_whale",
        "minke_whale",
        "fin_whale",
        "southern_right_whale",
        "sei_whale",
        "short_finned_pilot_whale",
        "long_finned_pilot_whale",
        "pantropic_spotted_dolphin",
        "spotted_dolphin",
        "common_dolphin",
        "cuviers_beaked_whale",
        "white_sided_dolphin",
        "rough_toothed_dolphin",
        "pygmy_killer_whale",
        "commersons_dolphin",
        "brydes_whale",
        "frasiers_dolphin",
        "globis",
        "pilot_whale",
        "kiler_whale",
        "bottlenose_dolpin",
    ];

    #[test]
    fn every_kaggle_species_label_resolves() {
        let table = SpeciesTable::shipped();
        for label in KAGGLE {
            assert!(table.resolve(label).is_some(), "{label}");
        }
        assert_eq!(table.resolve("kiler_whale"), table.resolve("Killer Whale"),);
        let orca = table.resolve("orcinus ORCA").unwrap();
        assert_eq!(orca.scientific_name, "Orcinus orca");
        assert_eq!(
            orca.scientific_name_id().as_deref(),
            Some("urn:lsid:marinespecies.org:taxname:137102")
        );
        let pilot = table.resolve("globis").unwrap();
        assert_eq!(
            (pilot.scientific_name.as_str(), pilot.rank.as_str()),
            ("Globicephala", "genus")
        );
        assert_eq!(
            table
                .resolve("Cuvier's beaked whale")
                .unwrap()
                .scientific_name,
            "Ziphius cavirostris"
        );
        assert!(table.resolve("sea_otter").is_none());
        assert!(table.resolve("").is_none());
    }

    #[test]
    fn a_catalogue_table_overrides_and_extends_the_shipped_one() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(CATALOGUE_TABLE),
            "# ours\nscientific_name,aphia_id,taxon_rank,common_name,spellings\n\
             Eschrichtius robustus,999001,species,Grey whale,gray_whale\n\
             Monodon monoceros,,species,Narwhal,narwal\n",
        )
        .unwrap();
        let table = SpeciesTable::for_catalogue(dir.path()).unwrap();
        assert_eq!(table.resolve("gray_whale").unwrap().aphia_id, Some(999001));
        assert_eq!(
            table.resolve("narwal").unwrap().scientific_name,
            "Monodon monoceros"
        );
        assert!(table
            .resolve("narwal")
            .unwrap()
            .scientific_name_id()
            .is_none());
        // Rows it does not name keep the shipped values.
        assert_eq!(
            table.resolve("humpback_whale").unwrap().aphia_id,
            Some(137092)
        );
    }

    #[test]
    fn a_bad_catalogue_table_is_refused_naming_the_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        for (body, want) in [
            ("species,aphia\nx,1\n", "columns must be"),
            (
                "scientific_name,aphia_id,taxon_rank,common_name,spellings\nOrcinus orca,orca,species,,\n",
                "line 2: aphia_id \"orca\"",
            ),
            (
                "scientific_name,aphia_id,taxon_rank,common_name,spellings\nOrcinus orca,1,kingdom,,\n",
                "line 2: taxon_rank",
            ),
        ] {
            std::fs::write(dir.path().join(CATALOGUE_TABLE), body).unwrap();
            let err = SpeciesTable::for_catalogue(dir.path())
                .unwrap_err()
                .to_string();
            assert!(err.contains("species.csv") && err.contains(want), "{err}");
        }
    }

    #[test]
    fn names_match_ignoring_case_apostrophes_and_separators() {
        assert_eq!(
            normalise(" Cuvier's  beaked-whale "),
            "cuviers_beaked_whale"
        );
        assert_eq!(normalise("Humpback_Whale"), "humpback_whale");
        assert_eq!(normalise("__"), "");
    }
}
