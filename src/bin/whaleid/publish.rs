//! The publication formats of `catalogue export` that researchers hand
//! their data to (issue 16): MARK capture histories, SOCPROG tables and the
//! Wildbook bulk-import sheet, and the sheet's dates, positions and
//! occurrences given to the photos `catalogue import --wildbook` brought in.
//! Each export takes the shared filter
//! ([`crate::catalogue::ExportFilterArgs`]) and says what it left out.

use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use clap::{Args, ValueEnum};

use whaleid::catalogue::publish::mark::{GroupBy, MarkOptions, Occasions};
use whaleid::catalogue::publish::wildbook::SheetPlace;
use whaleid::catalogue::publish::Filter;
use whaleid::catalogue::Catalogue;

/// How `--mark` bins sightings into occasions.
#[derive(ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OccasionsArg {
    /// Every day with an identified sighting.
    #[default]
    Days,
    /// Every month with an identified sighting.
    Months,
    /// One occasion per --survey FROM:TO.
    Surveys,
}

/// What `--groups` splits MARK's frequency columns by.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupsArg {
    Species,
    /// The individual's latest distinctiveness grade (D1, D2, D3, ungraded).
    Distinctiveness,
}

#[derive(Args, Debug, Default)]
pub struct PublishArgs {
    /// MARK capture histories (.inp): one line per individual.
    #[arg(long, value_name = "F.inp")]
    mark: Option<PathBuf>,
    /// MARK occasions: days, months, or surveys (give --survey).
    #[arg(long, value_enum, default_value_t, requires = "mark")]
    occasions: OccasionsArg,
    /// One MARK occasion, FROM:TO inclusive (YYYY-MM-DD:YYYY-MM-DD);
    /// repeat in date order.
    #[arg(long, value_name = "FROM:TO", requires = "mark")]
    survey: Vec<String>,
    /// One MARK frequency column per group.
    #[arg(long, value_enum, requires = "mark")]
    groups: Option<GroupsArg>,
    /// Name each MARK history's individual in a /* CODE */ comment.
    #[arg(long, requires = "mark")]
    comments: bool,
    /// SOCPROG sightings table; the individuals table is written beside it
    /// as F-individuals.csv.
    #[arg(long, value_name = "F.csv")]
    socprog: Option<PathBuf>,
    /// Wildbook/Flukebook bulk-import sheet (one row per identified
    /// sighting); `catalogue import --wildbook` reads it back.
    #[arg(long, value_name = "F.csv")]
    wildbook: Option<PathBuf>,
}

impl PublishArgs {
    /// The MARK options asked for, checked before anything is written.
    fn mark_options(&self) -> Result<MarkOptions> {
        let occasions = match self.occasions {
            OccasionsArg::Days | OccasionsArg::Months if !self.survey.is_empty() => {
                bail!("--survey needs --occasions surveys")
            }
            OccasionsArg::Days => Occasions::Days,
            OccasionsArg::Months => Occasions::Months,
            OccasionsArg::Surveys => Occasions::Surveys(
                self.survey
                    .iter()
                    .map(|s| match s.split_once(':') {
                        Some((a, b)) => Ok((a.trim().to_string(), b.trim().to_string())),
                        None => bail!("--survey {s:?} is not FROM:TO (YYYY-MM-DD:YYYY-MM-DD)"),
                    })
                    .collect::<Result<_>>()?,
            ),
        };
        occasions.validate()?;
        Ok(MarkOptions {
            occasions,
            group_by: self.groups.map(|g| match g {
                GroupsArg::Species => GroupBy::Species,
                GroupsArg::Distinctiveness => GroupBy::Distinctiveness,
            }),
            comments: self.comments,
        })
    }

    /// Check every option, before the catalogue is opened.
    pub fn validate(&self) -> Result<()> {
        if self.mark.is_some() {
            self.mark_options()?;
        }
        Ok(())
    }

    /// Write each format asked for, saying what went where and what was
    /// left out.
    pub fn export(&self, cat: &Catalogue, filter: &Filter) -> Result<()> {
        if let Some(path) = &self.mark {
            let r = cat.export_mark(path, filter, &self.mark_options()?)?;
            say!(
                "{}: {} individuals over {} occasions{}",
                path.display(),
                r.individuals,
                r.occasions.len(),
                if r.groups.is_empty() {
                    String::new()
                } else {
                    format!(" in groups {}", r.groups.join(", "))
                }
            );
            for s in &r.undated {
                tell!("left out (no date): {s}");
            }
            for s in &r.outside_surveys {
                tell!("left out (in no survey): {s}");
            }
        }
        if let Some(path) = &self.socprog {
            let r = cat.export_socprog(path, filter)?;
            say!("{}: {} sightings", path.display(), r.sightings);
            say!(
                "{}: {} individuals",
                r.individuals_file.display(),
                r.individuals
            );
            for s in &r.undated {
                tell!("left out (no date): {s}");
            }
        }
        if let Some(path) = &self.wildbook {
            let rows = cat.export_wildbook(path, filter)?;
            say!(
                "{}: {rows} encounters (one per identified sighting)",
                path.display()
            );
        }
        Ok(())
    }
}

/// After `catalogue import --wildbook`: give the imported photos the
/// sheet's dates and positions where they have none, and its occurrences
/// as encounters.
pub fn place(dir: &Path, places: &[SheetPlace]) -> Result<()> {
    let placed = Catalogue::open(dir)?.place_sheet_rows(places)?;
    say!(
        "took the sheet's date or position for {} photos; {} encounters from its occurrences",
        placed.dated,
        placed.encounters
    );
    Ok(())
}
