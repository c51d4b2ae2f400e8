//! MARK capture histories (`.inp`) for capture–recapture models: one line
//! per individual the filter keeps, a 0/1 history over the occasions, then
//! its frequency `1` (or one column per group, `1 0` / `0 1`), then `;`,
//! optionally after a `/* CODE */` comment naming the individual.
//!
//! Occasions come from the photos' dates (the camera's local calendar day,
//! the first ten characters of `taken_at`):
//! - `Days`: every day on which at least one identified sighting the filter
//!   keeps was taken is one occasion, in date order. A survey day on which
//!   no animal was identified is unknown to the catalogue and so is not an
//!   occasion: give the surveys when such days matter.
//! - `Months`: likewise every `YYYY-MM` with a sighting.
//! - `Surveys`: one occasion per given date range (inclusive, in order, not
//!   overlapping), in the order given, whether or not anything was seen in
//!   it; a sighting outside every range is listed and left out.
//!
//! An undated sighting cannot be placed on any occasion: it is listed in the
//! report and left out, never guessed. An individual with no sighting left
//! has no line.
//!
//! Groups: MARK reads one frequency column per group, named in sorted
//! order in the first line's comment. An individual is grouped by species
//! (its own, else its first sighting's; `unknown` when none) or by
//! distinctiveness (the latest grade among its sightings the filter keeps;
//! `ungraded` when none), for estimates stratified by distinctiveness
//! (Urian et al. 2015).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use super::{Filter, Sighting};
use crate::catalogue::export::write_atomically;
use crate::catalogue::Catalogue;
use crate::error::{Error, Result};

/// How sightings are binned into capture occasions (see the module's note).
#[derive(Debug, Clone, PartialEq)]
pub enum Occasions {
    Days,
    Months,
    /// Inclusive `(from, to)` days, `YYYY-MM-DD`, one occasion each.
    Surveys(Vec<(String, String)>),
}

/// What the frequency columns are split by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    Species,
    /// The individual's latest distinctiveness grade (`D1`, `D2`, `D3`),
    /// `ungraded` when none of its sightings has one.
    Distinctiveness,
}

impl GroupBy {
    /// The group an individual's line counts in, from its sightings.
    fn group_of(self, sightings: &[&Sighting]) -> String {
        match self {
            GroupBy::Species => sightings
                .iter()
                .find_map(|s| s.species.clone())
                .unwrap_or_else(|| "unknown".into()),
            GroupBy::Distinctiveness => latest_distinctiveness(sightings.iter().copied())
                .unwrap_or("ungraded")
                .into(),
        }
    }
}

/// The distinctiveness of the last of `sightings` (in time order) that has
/// a grade: an animal's marks change, and the latest grade is its own now.
pub fn latest_distinctiveness<'a>(
    sightings: impl DoubleEndedIterator<Item = &'a Sighting>,
) -> Option<&'static str> {
    sightings
        .rev()
        .find_map(|s| s.grades.distinctiveness)
        .map(|d| d.as_str())
}

/// The choices of one MARK export.
#[derive(Debug, Clone, PartialEq)]
pub struct MarkOptions {
    pub occasions: Occasions,
    pub group_by: Option<GroupBy>,
    /// Write `/* CODE */` before each history (and the occasions and
    /// groups in a comment on the first line).
    pub comments: bool,
}

impl Default for MarkOptions {
    fn default() -> Self {
        MarkOptions {
            occasions: Occasions::Days,
            group_by: None,
            comments: false,
        }
    }
}

/// What a MARK export wrote and what it left out.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MarkReport {
    /// The occasions' labels in column order: `YYYY-MM-DD`, `YYYY-MM`, or
    /// `FROM..TO` for a survey.
    pub occasions: Vec<String>,
    /// The groups' names in column order (empty without grouping).
    pub groups: Vec<String>,
    /// Individuals written, one line each.
    pub individuals: usize,
    /// Sightings without a date, as `#DETECTION CODE PHOTO`.
    pub undated: Vec<String>,
    /// Dated sightings in no survey, as `#DETECTION CODE TAKEN_AT`.
    pub outside_surveys: Vec<String>,
}

/// The capture histories, ready to write.
#[derive(Debug, Clone, PartialEq)]
pub struct Histories {
    pub report: MarkReport,
    /// Per individual in code order: code, 0/1 per occasion, group index.
    pub rows: Vec<(String, Vec<bool>, Option<usize>)>,
}

impl Occasions {
    /// Check survey ranges: calendar days, each in order, not overlapping.
    pub fn validate(&self) -> Result<()> {
        let Occasions::Surveys(ranges) = self else {
            return Ok(());
        };
        if ranges.is_empty() {
            return Err(Error::Invalid(
                "survey occasions need at least one --survey FROM:TO".into(),
            ));
        }
        for (i, (from, to)) in ranges.iter().enumerate() {
            for d in [from, to] {
                if !crate::photo::meta::is_calendar_day(d) {
                    return Err(Error::Invalid(format!(
                        "survey {from}:{to}: {d:?} is not a date (YYYY-MM-DD)"
                    )));
                }
            }
            if from > to {
                return Err(Error::Invalid(format!(
                    "survey {from}:{to} ends before it starts"
                )));
            }
            if let Some((pf, pt)) = i.checked_sub(1).map(|j| &ranges[j]) {
                if from <= pt {
                    return Err(Error::Invalid(format!(
                        "survey {from}:{to} starts before survey {pf}:{pt} ends: \
                         give surveys in date order, not overlapping"
                    )));
                }
            }
        }
        Ok(())
    }
}

/// Bin `sightings` into capture histories (see the module's note).
pub fn histories(sightings: &[Sighting], options: &MarkOptions) -> Result<Histories> {
    options.occasions.validate()?;
    let mut report = MarkReport::default();
    // Each placed sighting's occasion index.
    let mut placed: Vec<(&Sighting, usize)> = Vec::new();
    fn day(s: &Sighting) -> Option<&str> {
        s.taken_at.as_deref().map(|t| t.get(..10).unwrap_or(t))
    }
    let dated: Vec<(&Sighting, &str)> = sightings
        .iter()
        .filter_map(|s| match day(s) {
            Some(d) => Some((s, d)),
            None => {
                report
                    .undated
                    .push(format!("#{} {} {}", s.detection_number, s.code, s.photo));
                None
            }
        })
        .collect();
    match &options.occasions {
        Occasions::Days | Occasions::Months => {
            let key = |d: &str| -> String {
                if options.occasions == Occasions::Months {
                    d.get(..7).unwrap_or(d).to_string()
                } else {
                    d.to_string()
                }
            };
            let labels: BTreeSet<String> = dated.iter().map(|(_, d)| key(d)).collect();
            report.occasions = labels.into_iter().collect();
            for (s, d) in &dated {
                let i = report.occasions.binary_search(&key(d)).unwrap_or_default();
                placed.push((s, i));
            }
        }
        Occasions::Surveys(ranges) => {
            report.occasions = ranges.iter().map(|(f, t)| format!("{f}..{t}")).collect();
            for (s, d) in &dated {
                match ranges
                    .iter()
                    .position(|(f, t)| f.as_str() <= *d && *d <= t.as_str())
                {
                    Some(i) => placed.push((s, i)),
                    None => report.outside_surveys.push(format!(
                        "#{} {} {}",
                        s.detection_number,
                        s.code,
                        s.taken_at.as_deref().unwrap_or_default()
                    )),
                }
            }
        }
    }
    let mut by_individual: BTreeMap<&str, Vec<(&Sighting, usize)>> = BTreeMap::new();
    for (s, i) in placed {
        by_individual.entry(&s.code).or_default().push((s, i));
    }
    let mut rows = Vec::with_capacity(by_individual.len());
    let mut groups: BTreeSet<String> = BTreeSet::new();
    let mut named: Vec<Option<String>> = Vec::new();
    for (code, seen) in &by_individual {
        let mut history = vec![false; report.occasions.len()];
        for (_, i) in seen {
            history[*i] = true;
        }
        let group = options.group_by.map(|g| {
            let mine: Vec<&Sighting> = seen.iter().map(|(s, _)| *s).collect();
            g.group_of(&mine)
        });
        if let Some(g) = &group {
            groups.insert(g.clone());
        }
        named.push(group);
        rows.push((code.to_string(), history, None));
    }
    report.groups = groups.into_iter().collect();
    for (row, group) in rows.iter_mut().zip(named) {
        row.2 = group.and_then(|g| report.groups.iter().position(|x| *x == g));
    }
    report.individuals = rows.len();
    Ok(Histories { report, rows })
}

impl Histories {
    /// The `.inp` text (see the module's note).
    pub fn to_inp(&self, comments: bool) -> String {
        let mut out = String::new();
        if comments {
            let _ = write!(out, "/* occasions: {} */", self.report.occasions.join(" "));
            if !self.report.groups.is_empty() {
                let _ = write!(out, " /* groups: {} */", self.report.groups.join(" "));
            }
            out.push('\n');
        }
        for (code, history, group) in &self.rows {
            if comments {
                // A code cannot close the comment early.
                let _ = write!(out, "/* {} */ ", code.replace("*/", "* /"));
            }
            out.extend(history.iter().map(|&seen| if seen { '1' } else { '0' }));
            match group {
                None => out.push_str(" 1"),
                Some(g) => {
                    for i in 0..self.report.groups.len() {
                        out.push_str(if i == *g { " 1" } else { " 0" });
                    }
                }
            }
            out.push_str(";\n");
        }
        out
    }
}

impl Catalogue {
    /// Write the capture histories of the sightings `filter` keeps to
    /// `path` (a temporary file renamed into place); returns what was
    /// written and what was left out. Refuses to write a file without an
    /// occasion.
    pub fn export_mark(
        &self,
        path: &Path,
        filter: &Filter,
        options: &MarkOptions,
    ) -> Result<MarkReport> {
        options.occasions.validate()?;
        let sightings = self.identified_sightings(filter)?;
        let histories = histories(&sightings, options)?;
        if histories.report.occasions.is_empty() {
            return Err(Error::Invalid(format!(
                "{}: no dated identified sighting to make an occasion of ({} undated)",
                path.display(),
                histories.report.undated.len()
            )));
        }
        let text = histories.to_inp(options.comments);
        write_atomically(path, |f| {
            f.write_all(text.as_bytes()).map_err(|e| Error::io(path, e))
        })?;
        Ok(histories.report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(code: &str, taken_at: Option<&str>, species: Option<&str>) -> Sighting {
        Sighting {
            detection: format!("d-{code}-{taken_at:?}"),
            detection_number: 1,
            photo: format!("{code}.jpg"),
            photo_sha256: String::new(),
            taken_at: taken_at.map(String::from),
            latitude: None,
            longitude: None,
            encounter: None,
            encounter_number: None,
            individual: format!("u-{code}"),
            code: code.into(),
            sex: None,
            species: species.map(String::from),
            source: "person".into(),
            decided_by: None,
            grades: Default::default(),
        }
    }

    #[test]
    fn days_months_and_surveys_bin_the_same_sightings() {
        let rows = [
            seen("A", Some("2024-06-01T09:00:00"), Some("beluga")),
            seen("A", Some("2024-06-01T15:00:00"), Some("beluga")),
            seen("A", Some("2024-07-03T10:00:00"), Some("beluga")),
            seen("B", Some("2024-06-02T10:00:00"), None),
            seen("C", None, None),
        ];
        let by = |occasions| {
            histories(
                &rows,
                &MarkOptions {
                    occasions,
                    group_by: None,
                    comments: false,
                },
            )
            .unwrap()
        };
        let days = by(Occasions::Days);
        assert_eq!(
            days.report.occasions,
            ["2024-06-01", "2024-06-02", "2024-07-03"]
        );
        assert_eq!(days.to_inp(false), "101 1;\n010 1;\n");
        assert_eq!(days.report.undated, ["#1 C C.jpg"]);
        let months = by(Occasions::Months);
        assert_eq!(months.report.occasions, ["2024-06", "2024-07"]);
        assert_eq!(months.to_inp(false), "11 1;\n10 1;\n");
        let surveys = by(Occasions::Surveys(vec![
            ("2024-06-02".into(), "2024-06-30".into()),
            ("2024-07-01".into(), "2024-07-31".into()),
            ("2024-08-01".into(), "2024-08-02".into()),
        ]));
        // A's 1 June falls in no survey; the August survey saw nobody.
        assert_eq!(surveys.to_inp(false), "010 1;\n100 1;\n");
        assert_eq!(surveys.report.outside_surveys.len(), 2);
    }

    #[test]
    fn groups_are_columns_and_comments_name_the_individual() {
        let rows = [
            seen("A", Some("2024-06-01T09:00:00"), Some("beluga")),
            seen("B", Some("2024-06-02T10:00:00"), Some("humpback_whale")),
        ];
        let h = histories(
            &rows,
            &MarkOptions {
                occasions: Occasions::Days,
                group_by: Some(GroupBy::Species),
                comments: true,
            },
        )
        .unwrap();
        assert_eq!(
            h.to_inp(true),
            "/* occasions: 2024-06-01 2024-06-02 */ /* groups: beluga humpback_whale */\n\
             /* A */ 10 1 0;\n/* B */ 01 0 1;\n"
        );
    }

    #[test]
    fn surveys_out_of_order_or_not_dates_are_refused() {
        for (ranges, says) in [
            (vec![("2024-06-05", "2024-06-01")], "ends before"),
            (
                vec![("2024-06-01", "2024-06-05"), ("2024-06-05", "2024-06-09")],
                "overlapping",
            ),
            (vec![("2024-13-01", "2024-13-02")], "not a date"),
        ] {
            let o = Occasions::Surveys(
                ranges
                    .iter()
                    .map(|(a, b)| (a.to_string(), b.to_string()))
                    .collect(),
            );
            let err = o.validate().unwrap_err().to_string();
            assert!(err.contains(says), "{err}");
        }
    }
}
