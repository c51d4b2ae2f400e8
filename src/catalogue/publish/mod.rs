//! The files researchers hand their data to (issue 16): a Darwin Core
//! Archive for OBIS and GBIF, the Wildbook/Flukebook bulk-import sheet,
//! MARK capture histories and SOCPROG tables. Every format starts from the
//! same rows, [`Catalogue::identified_sightings`]: one per detection with a
//! current confirmed identification, its individual resolved through
//! merges, narrowed by one [`Filter`].

pub mod dwca;
pub mod mark;
pub mod socprog;
pub mod species;
pub mod wildbook;

use rusqlite::types::ToSql;

use super::attributes::{Distinctiveness, Grades, Quality};
use super::sql::RESOLVED_CTE;
use super::Catalogue;
use crate::error::{Error, Result};

/// Which identified sightings an export takes. Empty species means every
/// species; a date bound leaves out sightings without a date.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    /// Species as recorded (the individual's, else the detection's),
    /// compared without regard to case.
    pub species: Vec<String>,
    /// First day taken, `YYYY-MM-DD`, inclusive.
    pub from: Option<String>,
    /// Last day taken, `YYYY-MM-DD`, inclusive.
    pub to: Option<String>,
    /// Only detections graded this good or better (`Q2`: Q1 and Q2);
    /// ungraded ones are left out.
    pub min_quality: Option<Quality>,
    /// Only detections graded one of these; empty means any, ungraded too.
    pub distinctiveness: Vec<Distinctiveness>,
}

impl Filter {
    /// Check the date bounds are calendar days and in order.
    pub fn validate(&self) -> Result<()> {
        for (name, day) in [("from", &self.from), ("to", &self.to)] {
            if let Some(d) = day {
                if !crate::photo::meta::is_calendar_day(d) {
                    return Err(Error::Invalid(format!(
                        "--{name} {d:?} is not a date (YYYY-MM-DD)"
                    )));
                }
            }
        }
        if let (Some(a), Some(b)) = (&self.from, &self.to) {
            if a > b {
                return Err(Error::Invalid(format!("--from {a} is after --to {b}")));
            }
        }
        Ok(())
    }
}

/// One identified sighting: a detection of a known individual, where and
/// when its photo was taken, and who decided.
#[derive(Debug, Clone, PartialEq)]
pub struct Sighting {
    /// The detection's UUID, the same on every laptop.
    pub detection: String,
    /// The `#146` this catalogue shows for the detection.
    pub detection_number: i64,
    pub photo: String,
    pub photo_sha256: String,
    /// As stored: local camera time, `YYYY-MM-DDTHH:MM:SS`, no zone.
    pub taken_at: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    /// The encounter's UUID and number here, when the photo has one.
    pub encounter: Option<String>,
    pub encounter_number: Option<i64>,
    pub individual: String,
    pub code: String,
    pub sex: Option<String>,
    /// The individual's species, else the detection's.
    pub species: Option<String>,
    /// `person`, `import` or `model`.
    pub source: String,
    pub decided_by: Option<String>,
    /// The detection's photo quality, distinctiveness, side and part.
    pub grades: Grades,
}

impl Catalogue {
    /// Every detection with a current confirmed identification that
    /// `filter` keeps, in time order (undated last), then by detection.
    pub fn identified_sightings(&self, filter: &Filter) -> Result<Vec<Sighting>> {
        filter.validate()?;
        let mut wheres = vec!["d.removed_at IS NULL".to_string()];
        let mut args: Vec<Box<dyn ToSql>> = Vec::new();
        if !filter.species.is_empty() {
            let marks = vec!["lower(?)"; filter.species.len()].join(", ");
            wheres.push(format!(
                "lower(coalesce(ind.species, d.species)) IN ({marks})"
            ));
            for s in &filter.species {
                args.push(Box::new(s.trim().to_lowercase()));
            }
        }
        if let Some(from) = &filter.from {
            wheres.push("substr(p.taken_at, 1, 10) >= ?".into());
            args.push(Box::new(from.clone()));
        }
        if let Some(to) = &filter.to {
            wheres.push("substr(p.taken_at, 1, 10) <= ?".into());
            args.push(Box::new(to.clone()));
        }
        // An attribute's current value (NULL when not graded or cleared).
        let attr = |name: &str| {
            format!(
                "(SELECT a.value FROM detection_attributes a
                  WHERE a.detection_id = d.id AND a.attribute = '{name}')"
            )
        };
        if let Some(q) = filter.min_quality {
            // Grades sort as text: Q1 < Q2 < Q3.
            wheres.push(format!("{} <= ?", attr("quality")));
            args.push(Box::new(q.as_str()));
        }
        if !filter.distinctiveness.is_empty() {
            let marks = vec!["?"; filter.distinctiveness.len()].join(", ");
            wheres.push(format!("{} IN ({marks})", attr("distinctiveness")));
            for d in &filter.distinctiveness {
                args.push(Box::new(d.as_str()));
            }
        }
        let sql = format!(
            "{RESOLVED_CTE}
             SELECT d.uuid, d.id, p.original_path, p.sha256, p.taken_at, p.latitude, p.longitude,
                    e.uuid, e.id, ind.uuid, ind.code, ind.sex, coalesce(ind.species, d.species),
                    idn.source, idn.decided_by, {}, {}, {}, {}
             FROM detections d
             JOIN photos p ON p.id = d.photo_id
             LEFT JOIN encounters e ON e.id = p.encounter_id
             JOIN identifications idn ON idn.detection_id = d.id AND idn.superseded_by IS NULL
                  AND idn.withdrawn_at IS NULL AND idn.verdict = 'confirmed'
             JOIN resolved r ON r.start = idn.individual_id
             JOIN individuals ind ON ind.id = r.id
             WHERE {}
             ORDER BY p.taken_at IS NULL, p.taken_at, d.id",
            attr("quality"),
            attr("distinctiveness"),
            attr("side"),
            attr("part"),
            wheres.join(" AND ")
        );
        let mut stmt = self.conn().prepare(&sql)?;
        let params: Vec<&dyn ToSql> = args.iter().map(|a| a.as_ref()).collect();
        let rows = stmt.query_map(params.as_slice(), |r| {
            Ok(Sighting {
                detection: r.get(0)?,
                detection_number: r.get(1)?,
                photo: r.get(2)?,
                photo_sha256: r.get(3)?,
                taken_at: r.get(4)?,
                latitude: r.get(5)?,
                longitude: r.get(6)?,
                encounter: r.get(7)?,
                encounter_number: r.get(8)?,
                individual: r.get(9)?,
                code: r.get(10)?,
                sex: r.get(11)?,
                species: r.get(12)?,
                source: r.get(13)?,
                decided_by: r.get(14)?,
                grades: Grades::of_stored([r.get(15)?, r.get(16)?, r.get(17)?, r.get(18)?]),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
