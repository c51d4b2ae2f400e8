//! Browsing the catalogue by individual: the grid of known animals with a
//! representative crop and their sighting history, filtered the way
//! researchers ask ("humpbacks seen this season", "anyone re-sighted in the
//! last survey").
//!
//! Counts go through merges: an individual merged into another is not listed,
//! its sightings count for the one it joined.

use std::collections::HashMap;
use std::path::PathBuf;

use serde::Serialize;

use super::attributes::{Distinctiveness, Grades, Part, Quality, Side};
use super::individuals::{Event, Individual};
use super::review::Sighting;
use super::sql::{NOW_SHIFTED, RESOLVED_CTE};
use super::Catalogue;
use crate::error::Result;

/// A sighting counts as new for this many days after a person confirmed it.
pub const NEW_SIGHTING_DAYS: i64 = 30;

/// Which individuals to list. Empty fields do not filter.
#[derive(Debug, Clone, Default)]
pub struct IndividualFilter {
    /// Part of the code, name or an alias, case-insensitive.
    pub search: Option<String>,
    pub species: Option<String>,
    /// Seen on or after this date (`YYYY-MM-DD`).
    pub date_from: Option<String>,
    /// Seen on or before this date (`YYYY-MM-DD`).
    pub date_to: Option<String>,
    /// Only individuals with sightings confirmed by a person in the last
    /// [`NEW_SIGHTING_DAYS`] days.
    pub has_new_sightings: bool,
    /// Only individuals with one sighting (in the dates) graded this
    /// photo quality or better (`Q2`: Q1 or Q2) and each grade below.
    pub min_quality: Option<Quality>,
    /// ... graded one of these distinctiveness grades (empty: any).
    pub distinctiveness: Vec<Distinctiveness>,
    /// ... showing this side.
    pub side: Option<Side>,
    /// ... showing this body part.
    pub part: Option<Part>,
}

impl IndividualFilter {
    /// Whether one sighting, taken on `day` and graded `g`, is in the
    /// dates and grades asked for; an ungraded attribute matches only
    /// when that attribute is not filtered.
    fn keeps(&self, day: Option<&str>, g: &Grades) -> bool {
        let after = self
            .date_from
            .as_deref()
            .is_none_or(|from| day.is_some_and(|d| d >= from));
        let before = self
            .date_to
            .as_deref()
            .is_none_or(|to| day.is_some_and(|d| d <= to));
        // Grades sort best first: Q1 < Q2 < Q3.
        let quality = self
            .min_quality
            .is_none_or(|min| g.quality.is_some_and(|q| q <= min));
        let distinctiveness = self.distinctiveness.is_empty()
            || g.distinctiveness
                .is_some_and(|d| self.distinctiveness.contains(&d));
        let side = self.side.is_none_or(|s| g.side == Some(s));
        let part = self.part.is_none_or(|p| g.part == Some(p));
        after && before && quality && distinctiveness && side && part
    }
}

/// One card of the catalogue grid.
#[derive(Debug, Clone, Serialize)]
pub struct IndividualSummary {
    pub individual: Individual,
    pub sightings: usize,
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
    /// The crop of its most recent sighting.
    pub representative_crop: Option<PathBuf>,
    pub new_sightings: usize,
}

/// An individual's page.
#[derive(Debug, Clone, Serialize)]
pub struct IndividualDetail {
    pub summary: IndividualSummary,
    pub sightings: Vec<Sighting>,
    pub events: Vec<Event>,
}

struct Row {
    individual: i64,
    crop: Option<String>,
    taken_at: Option<String>,
    new: bool,
    grades: Grades,
}

impl Catalogue {
    /// Individuals (not merged away) matching `filter`, with at least one
    /// sighting, by code.
    pub fn list_individuals(&self, filter: &IndividualFilter) -> Result<Vec<IndividualSummary>> {
        let mut stmt = self.conn().prepare(&format!(
            "{RESOLVED_CTE}
             SELECT r.id, d.crop_file, p.taken_at,
                    idn.source = 'person' AND idn.created_at >= {NOW_SHIFTED},
                    qa.value, da.value, sa.value, pa.value
             FROM identifications idn
             JOIN resolved r ON r.start = idn.individual_id
             JOIN detections d ON d.id = idn.detection_id
             JOIN photos p ON p.id = d.photo_id
             LEFT JOIN detection_attributes qa ON qa.detection_id = d.id AND qa.attribute = 'quality'
             LEFT JOIN detection_attributes da ON da.detection_id = d.id AND da.attribute = 'distinctiveness'
             LEFT JOIN detection_attributes sa ON sa.detection_id = d.id AND sa.attribute = 'side'
             LEFT JOIN detection_attributes pa ON pa.detection_id = d.id AND pa.attribute = 'part'
             WHERE idn.superseded_by IS NULL AND idn.withdrawn_at IS NULL AND idn.verdict = 'confirmed'
               AND d.removed_at IS NULL
             ORDER BY p.taken_at, d.id"
        ))?;
        let window = format!("-{NEW_SIGHTING_DAYS} days");
        let rows = stmt.query_map([window], |r| {
            Ok(Row {
                individual: r.get(0)?,
                crop: r.get(1)?,
                taken_at: r.get(2)?,
                new: r.get(3)?,
                grades: Grades::of_stored([r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?]),
            })
        })?;
        let mut by_individual: HashMap<i64, Vec<Row>> = HashMap::new();
        for row in rows {
            let row = row?;
            by_individual.entry(row.individual).or_default().push(row);
        }
        let search = filter.search.as_deref().map(str::to_lowercase);
        let mut out = Vec::new();
        for (id, rows) in by_individual {
            let individual = self.individual_by_id(id)?;
            if let Some(s) = filter.species.as_deref().filter(|s| !s.is_empty()) {
                if individual.species.as_deref() != Some(s) {
                    continue;
                }
            }
            if let Some(q) = search.as_deref().filter(|q| !q.is_empty()) {
                if !self.individual_matches(&individual, q)? {
                    continue;
                }
            }
            let seen_in_range = rows.iter().any(|r| {
                let day = r.taken_at.as_deref().map(|t| &t[..10.min(t.len())]);
                filter.keeps(day, &r.grades)
            });
            if !seen_in_range {
                continue;
            }
            let summary = summarise(self, individual, &rows);
            if filter.has_new_sightings && summary.new_sightings == 0 {
                continue;
            }
            out.push(summary);
        }
        out.sort_by(|a, b| a.individual.code.cmp(&b.individual.code));
        Ok(out)
    }

    /// An individual's page: its summary, every sighting in time order and
    /// the history of merges, splits and renames.
    pub fn individual_detail(&self, key: &str) -> Result<IndividualDetail> {
        let individual = self.individual(key)?;
        let id = self.resolve(individual.id)?;
        let individual = self.individual_by_id(id)?;
        let sightings = self.sightings(id, None)?;
        let cutoff: String = self.conn().query_row(
            &format!("SELECT {NOW_SHIFTED}"),
            [format!("-{NEW_SIGHTING_DAYS} days")],
            |r| r.get(0),
        )?;
        let media = self.media_dir();
        let rows: Vec<Row> = sightings
            .iter()
            .map(|s| Row {
                individual: id,
                crop: s.crop.as_ref().map(|c| {
                    c.strip_prefix(&media)
                        .unwrap_or(c)
                        .to_string_lossy()
                        .into_owned()
                }),
                taken_at: s.taken_at.clone(),
                new: s.source == "person" && s.decided_at >= cutoff,
                grades: Grades::default(),
            })
            .collect();
        let summary = summarise(self, individual, &rows);
        Ok(IndividualDetail {
            summary,
            sightings,
            events: self.events(id)?,
        })
    }

    fn individual_matches(&self, individual: &Individual, q: &str) -> Result<bool> {
        if individual.code.to_lowercase().contains(q)
            || individual
                .name
                .as_deref()
                .is_some_and(|n| n.to_lowercase().contains(q))
        {
            return Ok(true);
        }
        let n: i64 = self.conn().query_row(
            "SELECT count(*) FROM individual_aliases WHERE individual_id = ?1 AND lower(alias) LIKE '%' || ?2 || '%'",
            rusqlite::params![individual.id, q],
            |r| r.get(0),
        )?;
        Ok(n > 0)
    }
}

fn summarise(cat: &Catalogue, individual: Individual, rows: &[Row]) -> IndividualSummary {
    let times: Vec<&str> = rows.iter().filter_map(|r| r.taken_at.as_deref()).collect();
    // Rows come in time order (undated first): the last crop is the newest.
    let representative_crop = rows
        .iter()
        .rev()
        .find_map(|r| r.crop.as_ref())
        .map(|c| cat.media_dir().join(c));
    IndividualSummary {
        individual,
        sightings: rows.len(),
        first_seen: times.iter().min().map(|s| s.to_string()),
        last_seen: times.iter().max().map(|s| s.to_string()),
        representative_crop,
        new_sightings: rows.iter().filter(|r| r.new).count(),
    }
}
