//! Exports: identifications as CSV and the Kaggle submission format, and
//! the publication formats of issue 16 (Darwin Core Archive, Wildbook
//! bulk-import sheet, MARK capture histories, SOCPROG tables) over the
//! engine's writers in `whaleid::catalogue::publish`, each through one
//! [`PublishFilter`], saying what it wrote and what it left out. Every
//! writer is atomic: a failed export leaves no half file.

use std::path::PathBuf;
use std::str::FromStr;

use tauri::State;
use whaleid::catalogue::publish::dwca::DatasetInfo;
use whaleid::catalogue::publish::mark::{GroupBy, MarkOptions, Occasions};
use whaleid::catalogue::publish::Filter;

use crate::dto::{
    DwcaDataset, ExportResult, LeftOutSighting, MarkChoices, PublishFilter, PublishResult,
};
use crate::error::{AppError, AppResult};
use crate::state::AppState;

#[tauri::command]
pub async fn export_csv(state: State<'_, AppState>, path: PathBuf) -> AppResult<ExportResult> {
    state.with_catalogue(|open| {
        let rows = open.catalogue.export_csv(&path)?;
        Ok(ExportResult {
            path: path.to_string_lossy().into_owned(),
            rows,
        })
    })
}

#[tauri::command]
pub async fn export_kaggle(state: State<'_, AppState>, path: PathBuf) -> AppResult<ExportResult> {
    state.with_catalogue(|open| {
        let rows = open.catalogue.export_kaggle(&path)?;
        Ok(ExportResult {
            path: path.to_string_lossy().into_owned(),
            rows,
        })
    })
}

/// A Darwin Core Archive for OBIS and GBIF; sightings without a date, a
/// position or a known species are left out and listed.
#[tauri::command]
pub async fn export_dwca(
    state: State<'_, AppState>,
    path: PathBuf,
    filter: PublishFilter,
    dataset: DwcaDataset,
) -> AppResult<PublishResult> {
    let filter = engine_filter(filter)?;
    let info = DatasetInfo {
        title: dataset.title,
        contact: dataset.contact,
        licence: dataset.licence,
        description: None,
    };
    state.with_catalogue(|open| {
        let r = open.catalogue.export_dwca(&path, &filter, &info)?;
        let left_out = r
            .left_out
            .into_iter()
            .map(|s| LeftOutSighting {
                sighting: format!("#{} {}", s.detection_number, s.photo),
                reasons: s.reasons,
            })
            .collect();
        Ok(result(&path, r.records, "occurrence", Vec::new(), left_out))
    })
}

/// The Wildbook/Flukebook bulk-import sheet, one row per identified sighting.
#[tauri::command]
pub async fn export_wildbook(
    state: State<'_, AppState>,
    path: PathBuf,
    filter: PublishFilter,
) -> AppResult<PublishResult> {
    let filter = engine_filter(filter)?;
    state.with_catalogue(|open| {
        let rows = open.catalogue.export_wildbook(&path, &filter)?;
        Ok(result(&path, rows, "encounter", Vec::new(), Vec::new()))
    })
}

/// MARK capture histories, one line per individual.
#[tauri::command]
pub async fn export_mark(
    state: State<'_, AppState>,
    path: PathBuf,
    filter: PublishFilter,
    choices: MarkChoices,
) -> AppResult<PublishResult> {
    let filter = engine_filter(filter)?;
    let options = mark_options(choices)?;
    state.with_catalogue(|open| {
        let r = open.catalogue.export_mark(&path, &filter, &options)?;
        let mut notes = vec![format!(
            "{} occasions: {}",
            r.occasions.len(),
            r.occasions.join(", ")
        )];
        if !r.groups.is_empty() {
            notes.push(format!("groups: {}", r.groups.join(", ")));
        }
        let left_out = left(r.undated, "no date")
            .chain(left(r.outside_surveys, "in no survey"))
            .collect();
        Ok(result(&path, r.individuals, "individual", notes, left_out))
    })
}

/// SOCPROG's sightings table, and its individuals table beside it.
#[tauri::command]
pub async fn export_socprog(
    state: State<'_, AppState>,
    path: PathBuf,
    filter: PublishFilter,
) -> AppResult<PublishResult> {
    let filter = engine_filter(filter)?;
    state.with_catalogue(|open| {
        let r = open.catalogue.export_socprog(&path, &filter)?;
        let notes = vec![format!(
            "{}: {} individuals",
            r.individuals_file.display(),
            r.individuals
        )];
        let left_out = left(r.undated, "no date").collect();
        Ok(result(&path, r.sightings, "sighting", notes, left_out))
    })
}

fn result(
    path: &std::path::Path,
    rows: usize,
    unit: &str,
    notes: Vec<String>,
    left_out: Vec<LeftOutSighting>,
) -> PublishResult {
    PublishResult {
        path: path.to_string_lossy().into_owned(),
        rows,
        unit: unit.into(),
        notes,
        left_out,
    }
}

/// The engine's sighting descriptions, each with the one reason.
fn left(sightings: Vec<String>, reason: &str) -> impl Iterator<Item = LeftOutSighting> + '_ {
    sightings.into_iter().map(move |sighting| LeftOutSighting {
        sighting,
        reasons: vec![reason.into()],
    })
}

/// A grade as the engine spells it; `null` or blank is no grade. A bad
/// one is `invalid`, naming the value and the grades allowed.
pub fn grade<T: FromStr<Err = whaleid::Error>>(value: Option<&str>) -> AppResult<Option<T>> {
    Ok(value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::parse)
        .transpose()?)
}

/// Grades as the engine spells them, each checked as [`grade`] does.
pub fn grades<T: FromStr<Err = whaleid::Error>>(values: &[String]) -> AppResult<Vec<T>> {
    Ok(values.iter().map(|v| v.parse()).collect::<Result<_, _>>()?)
}

/// The filter the engine takes, its grades parsed and its dates checked.
fn engine_filter(f: PublishFilter) -> AppResult<Filter> {
    let filter = Filter {
        species: f
            .species
            .into_iter()
            .filter(|s| !s.trim().is_empty())
            .collect(),
        from: f.from.filter(|d| !d.is_empty()),
        to: f.to.filter(|d| !d.is_empty()),
        min_quality: grade(f.min_quality.as_deref())?,
        distinctiveness: grades(&f.distinctiveness)?,
    };
    filter.validate()?;
    Ok(filter)
}

/// MARK's options as the CLI's `--occasions/--survey/--groups/--comments`
/// make them, checked before anything is written.
fn mark_options(c: MarkChoices) -> AppResult<MarkOptions> {
    let occasions = match c.occasions.as_str() {
        "days" | "months" if !c.surveys.is_empty() => {
            return Err(AppError::invalid(
                "survey ranges need occasions \"surveys\"",
            ))
        }
        "days" => Occasions::Days,
        "months" => Occasions::Months,
        "surveys" => Occasions::Surveys(c.surveys.into_iter().map(|s| (s.from, s.to)).collect()),
        other => {
            return Err(AppError::invalid(format!(
                "MARK occasions {other:?} is not one of days, months, surveys"
            )))
        }
    };
    occasions.validate()?;
    let group_by = match c.groups.as_deref() {
        None | Some("") => None,
        Some("species") => Some(GroupBy::Species),
        Some("distinctiveness") => Some(GroupBy::Distinctiveness),
        Some(other) => {
            return Err(AppError::invalid(format!(
                "MARK groups {other:?} is not one of species, distinctiveness"
            )))
        }
    };
    Ok(MarkOptions {
        occasions,
        group_by,
        comments: c.comments,
    })
}
