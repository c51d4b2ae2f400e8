//! The Darwin Core Archive that OBIS and GBIF take (issue 16): a zip of
//! `occurrence.txt` (the Occurrence core, one record per identified
//! sighting), `multimedia.txt` (GBIF's Simple Multimedia extension: the
//! sighting's photo), `meta.xml` (which file holds which Darwin Core
//! terms) and `eml.xml` (the dataset's title, contact and licence).
//!
//! Records start from [`Catalogue::identified_sightings`] and the
//! catalogue's [`SpeciesTable`]. OBIS requires a date, a position and a
//! resolvable scientific name on every record: a sighting missing one is
//! left out of the archive and listed in [`DwcaReport::left_out`] with
//! the reasons, never filled with a guess.
//!
//! What each field holds:
//! - `occurrenceID` the detection's UUID; `organismID` the individual's
//!   UUID and `organismName` its code; `eventID` the encounter's UUID, else
//!   `day:YYYY-MM-DD`, the day the photo was taken.
//! - `eventDate` the camera's local time as stored, ISO 8601 without a time
//!   zone (the catalogue does not know the camera's zone); `geodeticDatum`
//!   WGS84, what EXIF GPS positions are given in.
//! - `basisOfRecord` `HumanObservation` for a person's decision or an
//!   imported label, `MachineObservation` for the model's;
//!   `identificationVerificationStatus` `verified` and `unverified` likewise;
//!   where the catalogue asks for a second reviewer, what the second review
//!   says instead: `verified by a second reviewer` (both agreed), `verified:
//!   two reviewers disagreed, then resolved`, `awaiting a second reviewer`,
//!   `disputed: two reviewers disagree` (`crate::catalogue::second_review`).
//! - `identifiedBy` who decided: the person, or for imported labels the
//!   import's source name; `recordedBy` the encounter's observers
//!   (`Ana Silva | Ben Cole`, the separator Darwin Core advises), else the
//!   person who decided, for a person's decision only.
//! - From the encounter record (`crate::catalogue::encounters`):
//!   `locality` its place name, `behavior` its behaviour, `eventRemarks`
//!   its notes; its group size (`groupSize` best/min/max) and vessel or
//!   platform (`platform`) go in `dynamicProperties`, as the Occurrence
//!   core has no event-level term for them (`individualCount` counts the
//!   record's own animals, one).
//!
//! - `dynamicProperties` the detection's photo-ID grades as JSON, those set
//!   only: `{"photoQuality":"Q1","distinctiveness":"D2","side":"left",
//!   "bodyPart":"dorsal-fin"}` (Darwin Core has no terms for them; the
//!   `--min-quality` and `--distinctiveness` filters choose the records).
//!
//! A new column is one line in [`CORE`] (a new filter is a field of
//! [`Filter`]); the files are tab-separated without quoting, so tabs and
//! line breaks inside a value become spaces.

use std::io::Write;
use std::path::Path;

use super::species::{SpeciesTable, Taxon};
use super::{Filter, Sighting};
use crate::catalogue::encounters::Encounter;
use crate::catalogue::export::write_atomically;
use crate::catalogue::second_review::CaseState;
use crate::catalogue::Catalogue;
use crate::error::{Error, Result};

const DWC: &str = "http://rs.tdwg.org/dwc/terms/";
const DCTERMS: &str = "http://purl.org/dc/terms/";
const OCCURRENCE_ROW: &str = "http://rs.tdwg.org/dwc/terms/Occurrence";
const MULTIMEDIA_ROW: &str = "http://rs.gbif.org/terms/1.0/Multimedia";

/// The licences GBIF and OBIS accept: the name given, its full title and
/// its legal code.
const LICENCES: [(&str, &str, &str); 3] = [
    (
        "CC0-1.0",
        "Public Domain (CC0 1.0)",
        "http://creativecommons.org/publicdomain/zero/1.0/legalcode",
    ),
    (
        "CC-BY-4.0",
        "Creative Commons Attribution (CC-BY) 4.0 License",
        "http://creativecommons.org/licenses/by/4.0/legalcode",
    ),
    (
        "CC-BY-NC-4.0",
        "Creative Commons Attribution Non Commercial (CC-BY-NC) 4.0 License",
        "http://creativecommons.org/licenses/by-nc/4.0/legalcode",
    ),
];

/// What `eml.xml` says about the dataset.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DatasetInfo {
    pub title: String,
    /// Who answers questions about the data: `Name`, `name@example.org`
    /// or `Name <name@example.org>`.
    pub contact: String,
    /// `CC0-1.0`, `CC-BY-4.0` or `CC-BY-NC-4.0`.
    pub licence: String,
    /// A paragraph of the dataset's own; a generated one otherwise.
    pub description: Option<String>,
}

/// A sighting the archive leaves out, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct LeftOut {
    pub detection: String,
    pub detection_number: i64,
    pub photo: String,
    /// `no date`, `no position`, `no species`, `species "x" is not in the
    /// species table`, ...
    pub reasons: Vec<String>,
}

/// What [`Catalogue::export_dwca`] wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct DwcaReport {
    /// Occurrence records (and as many multimedia rows).
    pub records: usize,
    pub left_out: Vec<LeftOut>,
}

/// One occurrence record: the sighting and its taxon.
struct Record<'a> {
    s: &'a Sighting,
    /// The sighting's encounter, when its photo has one.
    encounter: Option<&'a Encounter>,
    /// Where its second review stands, when it had one.
    second_review: Option<CaseState>,
    taxon: &'a Taxon,
    licence: &'a str,
}

type Cell = fn(&Record) -> String;

fn human(r: &Record) -> bool {
    r.s.source != "model"
}

/// The Occurrence core's columns, in order; the first is the record's id.
const CORE: &[(&str, &str, Cell)] = &[
    (DWC, "occurrenceID", |r| r.s.detection.clone()),
    (DWC, "basisOfRecord", |r| {
        if human(r) {
            "HumanObservation"
        } else {
            "MachineObservation"
        }
        .into()
    }),
    (DWC, "occurrenceStatus", |_| "present".into()),
    (DWC, "eventID", |r| match &r.s.encounter {
        Some(e) => e.clone(),
        None => format!("day:{}", day(r.s)),
    }),
    (DWC, "eventDate", |r| {
        r.s.taken_at.clone().unwrap_or_default()
    }),
    (DWC, "decimalLatitude", |r| number(r.s.latitude)),
    (DWC, "decimalLongitude", |r| number(r.s.longitude)),
    (DWC, "geodeticDatum", |_| "WGS84".into()),
    (DWC, "kingdom", |_| "Animalia".into()),
    (DWC, "scientificName", |r| r.taxon.scientific_name.clone()),
    (DWC, "scientificNameID", |r| {
        r.taxon.scientific_name_id().unwrap_or_default()
    }),
    (DWC, "taxonRank", |r| r.taxon.rank.clone()),
    (DWC, "vernacularName", |r| r.taxon.common_name.clone()),
    (DWC, "organismID", |r| r.s.individual.clone()),
    (DWC, "organismName", |r| r.s.code.clone()),
    (DWC, "sex", |r| r.s.sex.clone().unwrap_or_default()),
    (DWC, "recordedBy", |r| {
        match (r.encounter, r.s.source.as_str()) {
            (Some(e), _) if !e.observers.is_empty() => e.observers.join(" | "),
            (_, "person") => r.s.decided_by.clone().unwrap_or_default(),
            _ => String::new(),
        }
    }),
    (DWC, "locality", |r| {
        r.encounter
            .and_then(|e| e.place.clone())
            .unwrap_or_default()
    }),
    (DWC, "behavior", |r| {
        r.encounter
            .and_then(|e| e.behaviour.clone())
            .unwrap_or_default()
    }),
    (DWC, "eventRemarks", |r| {
        r.encounter
            .and_then(|e| e.notes.clone())
            .unwrap_or_default()
    }),
    (DWC, "identifiedBy", |r| {
        r.s.decided_by.clone().unwrap_or_default()
    }),
    (DWC, "identificationVerificationStatus", |r| {
        match r.second_review {
            Some(CaseState::Agreed) => "verified by a second reviewer",
            Some(CaseState::Resolved) => "verified: two reviewers disagreed, then resolved",
            Some(CaseState::Waiting) => "awaiting a second reviewer",
            Some(CaseState::Disagreed) => "disputed: two reviewers disagree",
            None if human(r) => "verified",
            None => "unverified",
        }
        .into()
    }),
    (DWC, "dynamicProperties", properties_json),
    (DCTERMS, "license", |r| r.licence.into()),
];

/// The Simple Multimedia extension's columns after `coreid`.
const MEDIA: &[(&str, &str, Cell)] = &[
    (DCTERMS, "type", |_| "StillImage".into()),
    (DCTERMS, "format", |r| media_type(&r.s.photo).into()),
    (DCTERMS, "identifier", |r| file_name(&r.s.photo)),
    (DCTERMS, "title", |r| {
        format!("{} in {}", r.s.code, file_name(&r.s.photo))
    }),
    (DCTERMS, "created", |r| {
        r.s.taken_at.clone().unwrap_or_default()
    }),
    (DCTERMS, "license", |r| r.licence.into()),
];

impl Catalogue {
    /// Write the identified sightings `filter` keeps as a Darwin Core
    /// Archive at `path` (through a temporary file, renamed when
    /// complete). Sightings without a date, a position or a species the
    /// [`SpeciesTable`] knows are left out and returned.
    pub fn export_dwca(
        &self,
        path: &Path,
        filter: &Filter,
        info: &DatasetInfo,
    ) -> Result<DwcaReport> {
        let licence = licence(&info.licence)?;
        if info.title.trim().is_empty() {
            return Err(Error::Invalid("a Darwin Core Archive needs a title".into()));
        }
        let contact = Contact::parse(&info.contact)?;
        let table = SpeciesTable::for_catalogue(self.root())?;
        let sightings = self.identified_sightings(filter)?;
        let encounters = self.encounters_by_uuid()?;
        let second_review = self.second_review_states()?;

        let mut kept = Vec::new();
        let mut left_out = Vec::new();
        for s in &sightings {
            let mut reasons = Vec::new();
            if s.taken_at.is_none() {
                reasons.push("no date".to_string());
            }
            match (s.latitude, s.longitude) {
                (Some(lat), Some(lon)) => {
                    if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
                        reasons.push(format!("position {lat}, {lon} is not on Earth"));
                    }
                }
                _ => reasons.push("no position".to_string()),
            }
            let taxon = match s.species.as_deref().map(str::trim) {
                None | Some("") => {
                    reasons.push("no species".to_string());
                    None
                }
                Some(name) => {
                    let t = table.resolve(name);
                    if t.is_none() {
                        reasons.push(format!(
                            "species {name:?} is not in the species table (add it to {})",
                            self.root().join(super::species::CATALOGUE_TABLE).display()
                        ));
                    }
                    t
                }
            };
            match taxon {
                Some(taxon) if reasons.is_empty() => kept.push(Record {
                    s,
                    encounter: s.encounter.as_ref().and_then(|e| encounters.get(e)),
                    second_review: second_review.get(&s.detection_number).copied(),
                    taxon,
                    licence: licence.2,
                }),
                _ => left_out.push(LeftOut {
                    detection: s.detection.clone(),
                    detection_number: s.detection_number,
                    photo: s.photo.clone(),
                    reasons,
                }),
            }
        }

        let files = [
            ("occurrence.txt", table_text(&kept, CORE, None)),
            ("multimedia.txt", table_text(&kept, MEDIA, Some(CORE[0].2))),
            ("meta.xml", meta_xml()),
            ("eml.xml", eml_xml(info, &contact, licence, kept.len())),
        ];
        write_atomically(path, |out| {
            let mut zip = zip::ZipWriter::new(out);
            let options = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated);
            for (name, text) in &files {
                zip.start_file(*name, options)
                    .map_err(|e| zip_err(path, e))?;
                zip.write_all(text.as_bytes())
                    .map_err(|e| Error::io(path, e))?;
            }
            zip.finish().map_err(|e| zip_err(path, e))?;
            Ok(())
        })?;
        Ok(DwcaReport {
            records: kept.len(),
            left_out,
        })
    }
}

fn zip_err(path: &Path, e: zip::result::ZipError) -> Error {
    Error::io(path, std::io::Error::other(e))
}

/// The licence named, from [`LICENCES`], ignoring case.
fn licence(name: &str) -> Result<(&'static str, &'static str, &'static str)> {
    LICENCES
        .into_iter()
        .find(|l| l.0.eq_ignore_ascii_case(name.trim()))
        .ok_or_else(|| {
            let names: Vec<&str> = LICENCES.iter().map(|l| l.0).collect();
            Error::Invalid(format!(
                "licence {name:?} is not one OBIS and GBIF accept: use {}",
                names.join(", ")
            ))
        })
}

/// Header and rows of one tab-separated file; `coreid` puts the core's id
/// first (an extension's link to its core record).
fn table_text(records: &[Record], columns: &[(&str, &str, Cell)], coreid: Option<Cell>) -> String {
    let mut header: Vec<&str> = Vec::new();
    if coreid.is_some() {
        header.push("coreid");
    }
    header.extend(columns.iter().map(|c| c.1));
    let mut text = header.join("\t");
    text.push('\n');
    for r in records {
        let cells = coreid.iter().chain(columns.iter().map(|c| &c.2));
        let row: Vec<String> = cells.map(|cell| field(&cell(r))).collect();
        text.push_str(&row.join("\t"));
        text.push('\n');
    }
    text
}

/// A value as one unquoted field: no tabs or line breaks.
fn field(value: &str) -> String {
    value
        .chars()
        .map(|c| {
            if matches!(c, '\t' | '\n' | '\r') {
                ' '
            } else {
                c
            }
        })
        .collect()
}

fn meta_xml() -> String {
    let fields = |columns: &[(&str, &str, Cell)], first: usize| -> String {
        columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                format!(
                    "    <field index=\"{}\" term=\"{}{}\"/>\n",
                    i + first,
                    c.0,
                    c.1
                )
            })
            .collect()
    };
    let table = |tag: &str, row: &str, file: &str| {
        format!(
            "  <{tag} encoding=\"UTF-8\" fieldsTerminatedBy=\"\\t\" linesTerminatedBy=\"\\n\" \
             fieldsEnclosedBy=\"\" ignoreHeaderLines=\"1\" rowType=\"{row}\">\n    \
             <files><location>{file}</location></files>\n"
        )
    };
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <archive xmlns=\"http://rs.tdwg.org/dwc/text/\" metadata=\"eml.xml\">\n\
         {}    <id index=\"0\"/>\n{}  </core>\n\
         {}    <coreid index=\"0\"/>\n{}  </extension>\n\
         </archive>\n",
        table("core", OCCURRENCE_ROW, "occurrence.txt"),
        fields(CORE, 0),
        table("extension", MULTIMEDIA_ROW, "multimedia.txt"),
        fields(MEDIA, 1),
    )
}

/// The dataset's contact, as EML names a person.
#[derive(Debug, PartialEq)]
struct Contact {
    name: Option<String>,
    email: Option<String>,
}

impl Contact {
    fn parse(text: &str) -> Result<Contact> {
        let text = text.trim();
        let (name, email) = match text.split_once('<') {
            Some((name, rest)) => (name.trim(), Some(rest.trim_end_matches('>').trim())),
            None if text.contains('@') && !text.contains(' ') => ("", Some(text)),
            None => (text, None),
        };
        if let Some(e) = email {
            if e.is_empty() || !e.contains('@') || e.contains(char::is_whitespace) {
                return Err(Error::Invalid(format!(
                    "contact {text:?}: {e:?} is not an e-mail address"
                )));
            }
        }
        if name.is_empty() && email.is_none() {
            return Err(Error::Invalid(
                "a Darwin Core Archive needs a contact (Name, name@example.org or Name <name@example.org>)".into(),
            ));
        }
        Ok(Contact {
            name: (!name.is_empty()).then(|| name.to_string()),
            email: email.map(String::from),
        })
    }

    /// The EML party: a person's name (the last word as surname) and
    /// e-mail, or the e-mail as a position when no name is given.
    fn eml(&self) -> String {
        let mut x = String::new();
        match &self.name {
            Some(name) => {
                let (given, sur) = name.rsplit_once(' ').unwrap_or(("", name));
                x.push_str("<individualName>");
                if !given.trim().is_empty() {
                    x.push_str(&format!("<givenName>{}</givenName>", xml(given.trim())));
                }
                x.push_str(&format!("<surName>{}</surName></individualName>", xml(sur)));
            }
            None => x.push_str("<positionName>Data contact</positionName>"),
        }
        if let Some(e) = &self.email {
            x.push_str(&format!(
                "<electronicMailAddress>{}</electronicMailAddress>",
                xml(e)
            ));
        }
        x
    }
}

fn eml_xml(
    info: &DatasetInfo,
    contact: &Contact,
    licence: (&str, &str, &str),
    records: usize,
) -> String {
    let description = info.description.clone().unwrap_or_else(|| {
        format!(
            "{records} photo-identification sightings of individually known cetaceans, \
             exported from a WhaleID catalogue: one occurrence per photographed animal \
             whose identity was confirmed by a person, an imported label or the matching \
             model (see basisOfRecord and identificationVerificationStatus). Dates are \
             the cameras' local times; positions are the photos' GPS positions."
        )
    });
    let party = contact.eml();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <eml:eml xmlns:eml=\"eml://ecoinformatics.org/eml-2.1.1\" \
         xmlns:dc=\"http://purl.org/dc/terms/\" \
         xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" \
         xsi:schemaLocation=\"eml://ecoinformatics.org/eml-2.1.1 http://rs.gbif.org/schema/eml-gbif-profile/1.1/eml.xsd\" \
         packageId=\"{}\" system=\"http://gbif.org\" scope=\"system\" xml:lang=\"eng\">\n\
         <dataset>\n\
         <title xml:lang=\"eng\">{}</title>\n\
         <creator>{party}</creator>\n\
         <metadataProvider>{party}</metadataProvider>\n\
         <pubDate>{}</pubDate>\n\
         <language>eng</language>\n\
         <abstract><para>{}</para></abstract>\n\
         <intellectualRights><para>This work is licensed under a \
         <ulink url=\"{}\"><citetitle>{}</citetitle></ulink>.</para></intellectualRights>\n\
         <contact>{party}</contact>\n\
         </dataset>\n\
         </eml:eml>\n",
        uuid::Uuid::now_v7(),
        xml(info.title.trim()),
        today(),
        xml(&description),
        licence.2,
        licence.1,
    )
}

/// Text as XML character data or an attribute value.
fn xml(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            // Characters XML 1.0 cannot hold at all.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// The grades set on the sighting's detection as one JSON object; empty
/// when none is.
/// The grades, then the encounter's group size and platform, as JSON;
/// empty when there is none of them.
fn properties_json(r: &Record) -> String {
    let g = &r.s.grades;
    let mut m = serde_json::Map::new();
    for (key, value) in [
        ("photoQuality", g.quality.map(|v| v.as_str())),
        ("distinctiveness", g.distinctiveness.map(|v| v.as_str())),
        ("side", g.side.map(|v| v.as_str())),
        ("bodyPart", g.part.map(|v| v.as_str())),
    ] {
        if let Some(v) = value {
            m.insert(key.into(), v.into());
        }
    }
    if let Some(e) = r.encounter {
        if e.group.text().is_some() {
            m.insert("groupSize".into(), serde_json::json!(e.group));
        }
        if let Some(v) = &e.vessel {
            m.insert("platform".into(), v.clone().into());
        }
    }
    if m.is_empty() {
        String::new()
    } else {
        serde_json::Value::Object(m).to_string()
    }
}

fn number(v: Option<f64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

fn day(s: &Sighting) -> String {
    s.taken_at
        .as_deref()
        .map(|t| t.chars().take(10).collect())
        .unwrap_or_default()
}

/// The photo's file name: the laptop's folders are not the publisher's to
/// publish.
fn file_name(photo: &str) -> String {
    photo
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or(photo)
        .to_string()
}

/// The MIME type of a photo the ingest reads, by extension.
fn media_type(photo: &str) -> &'static str {
    let ext = photo.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("png") => "image/png",
        Some("tif" | "tiff") => "image/tiff",
        Some("webp") => "image/webp",
        _ => "image/jpeg",
    }
}

/// Today's date (UTC), `YYYY-MM-DD`, for `pubDate`.
fn today() -> String {
    let ((y, m, d), _) = crate::calendar::utc_now();
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contacts_are_names_addresses_or_both() {
        let both = Contact::parse("Kim Lee <kim@example.org>").unwrap();
        assert_eq!(both.name.as_deref(), Some("Kim Lee"));
        assert_eq!(both.email.as_deref(), Some("kim@example.org"));
        assert!(both
            .eml()
            .contains("<givenName>Kim</givenName><surName>Lee</surName>"));
        let mail = Contact::parse("kim@example.org").unwrap();
        assert_eq!(
            (mail.name, mail.email.as_deref()),
            (None, Some("kim@example.org"))
        );
        for bad in ["", "  ", "Kim <not an address>"] {
            assert!(Contact::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn licences_are_the_ones_obis_accepts() {
        assert_eq!(licence("cc-by-4.0").unwrap().0, "CC-BY-4.0");
        let err = licence("GPL-3.0").unwrap_err().to_string();
        assert!(err.contains("GPL-3.0") && err.contains("CC0-1.0"), "{err}");
    }

    #[test]
    fn values_cannot_break_a_field_or_the_xml() {
        assert_eq!(field("a\tb\nc"), "a b c");
        assert_eq!(xml("<a & \"b\">\u{1}"), "&lt;a &amp; &quot;b&quot;&gt; ");
        assert_eq!(file_name("C:\\survey\\IMG_1.JPG"), "IMG_1.JPG");
        assert_eq!(media_type("/a/IMG_1.PNG"), "image/png");
    }
}
