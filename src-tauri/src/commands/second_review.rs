//! The second reviewer ([`whaleid::catalogue::second_review`]): the switch,
//! the observer's blind queue, their opinions, the disagreement list and
//! its resolutions, and the analyst-agreement report. The blind queue
//! returns the Review's own items, which carry no decision; the first
//! opinion is only returned once the second is given.

use tauri::{AppHandle, Runtime, State};
use whaleid::catalogue::second_review::{self as engine, Resolution, Said};

use super::attributes::grades_of;
use super::review::{item, outcome};
use crate::dto::{
    AgreementReportView, DisagreementItem, GradeAgreementRow, OpinionOutcome, OpinionView,
    PairAgreementRow, ReviewOutcome, SecondReviewQueue,
};
use crate::error::{AppError, AppResult};
use crate::jobs;
use crate::state::{AppState, OpenCatalogue};

/// Who gives the opinion: the observer name, which a second reviewer
/// cannot do without.
fn reviewer(state: &AppState, open: &OpenCatalogue) -> AppResult<String> {
    state.observer(&open.catalogue)?.ok_or_else(|| {
        AppError::invalid("set your name in Settings: opinions are recorded with who gave them")
    })
}

/// Whether decisions need a second reviewer; `on` switches it first.
#[tauri::command]
pub async fn second_review_required(
    state: State<'_, AppState>,
    on: Option<bool>,
) -> AppResult<bool> {
    state.with_catalogue(|open| {
        if let Some(on) = on {
            let by = state.observer(&open.catalogue)?;
            open.catalogue
                .set_second_review_required(on, by.as_deref())?;
        }
        Ok(open.catalogue.second_review_required()?)
    })
}

/// The observer's blind queue (suggestions drawn like the Review's: off
/// the async runtime).
#[tauri::command]
pub async fn second_review_queue<R: Runtime>(app: AppHandle<R>) -> AppResult<SecondReviewQueue> {
    jobs::blocking(app, move |state| {
        state.with_catalogue(|open| {
            let me = reviewer(state, open)?;
            let cat = &open.catalogue;
            let items = cat
                .second_review_queue(&me)?
                .into_iter()
                .map(|i| {
                    let grades = grades_of(cat, i.detection_id)?;
                    Ok(item(i, None, grades))
                })
                .collect::<AppResult<_>>()?;
            Ok(SecondReviewQueue {
                required: cat.second_review_required()?,
                reviewer: me,
                items,
            })
        })
    })
    .await
}

/// `choice`: "individual" (with `individual_id`), "new" or "unidentifiable".
fn said(choice: &str, individual_id: Option<i64>) -> AppResult<Said> {
    match (choice, individual_id) {
        ("individual", Some(id)) => Ok(Said::Individual(id)),
        ("new", _) => Ok(Said::New),
        ("unidentifiable", _) => Ok(Said::Unidentifiable),
        _ => Err(AppError::invalid(format!(
            "an opinion is an individual (with its id), new or unidentifiable, not {choice:?}"
        ))),
    }
}

#[tauri::command]
pub async fn second_opinion(
    state: State<'_, AppState>,
    detection_id: i64,
    choice: String,
    individual_id: Option<i64>,
) -> AppResult<OpinionOutcome> {
    state.with_catalogue(|open| {
        let me = reviewer(&state, open)?;
        let said = said(&choice, individual_id)?;
        let out = open.catalogue.give_opinion(detection_id, said, &me)?;
        Ok(OpinionOutcome {
            detection_id: out.detection_id,
            state: state_name(out.state).into(),
            first: view(out.first),
            second: view(out.second),
        })
    })
}

#[tauri::command]
pub async fn disagreements_list(state: State<'_, AppState>) -> AppResult<Vec<DisagreementItem>> {
    state.with_catalogue(|open| {
        Ok(open
            .catalogue
            .disagreements()?
            .into_iter()
            .map(|d| DisagreementItem {
                detection_id: d.detection_id,
                photo_path: d.photo_path.to_string_lossy().into_owned(),
                crop_path: d.crop.map(|c| c.to_string_lossy().into_owned()),
                first: view(d.first),
                second: view(d.second),
            })
            .collect())
    })
}

/// Resolve with a normal decision: `choice` as for an opinion, with the
/// new individual's `code` (and `species`) for "new".
#[tauri::command]
pub async fn disagreement_resolve(
    state: State<'_, AppState>,
    detection_id: i64,
    choice: String,
    individual_id: Option<i64>,
    code: Option<String>,
    species: Option<String>,
) -> AppResult<ReviewOutcome> {
    state.with_catalogue(|open| {
        let me = reviewer(&state, open)?;
        let resolution = match (said(&choice, individual_id)?, code.as_deref()) {
            (Said::Individual(id), _) => Resolution::Individual(id),
            (Said::New, Some(code)) => Resolution::New {
                code,
                species: species.as_deref(),
            },
            (Said::New, None) => return Err(AppError::invalid("a new individual needs a code")),
            (Said::Unidentifiable, _) => Resolution::Unidentifiable,
        };
        let out = open
            .catalogue
            .resolve_disagreement(detection_id, resolution, &me)?;
        Ok(outcome(out))
    })
}

#[tauri::command]
pub async fn agreement_report(state: State<'_, AppState>) -> AppResult<AgreementReportView> {
    state.with_catalogue(|open| {
        let r = open.catalogue.agreement_report()?;
        Ok(AgreementReportView {
            items: r.items,
            agreed: r.agreed,
            percent: r.percent,
            pairs: r
                .pairs
                .into_iter()
                .map(|p| PairAgreementRow {
                    a: p.a,
                    b: p.b,
                    items: p.items,
                    agreed: p.agreed,
                    percent: p.percent,
                    kappa: p.kappa,
                })
                .collect(),
            grades: r
                .grades
                .into_iter()
                .map(|g| GradeAgreementRow {
                    grade: g.grade,
                    items: g.items,
                    agreed: g.agreed,
                    percent: g.percent,
                })
                .collect(),
        })
    })
}

fn state_name(s: engine::CaseState) -> &'static str {
    match s {
        engine::CaseState::Waiting => "waiting",
        engine::CaseState::Agreed => "agreed",
        engine::CaseState::Disagreed => "disagreed",
        engine::CaseState::Resolved => "resolved",
    }
}

fn view(o: engine::Opinion) -> OpinionView {
    OpinionView {
        round: o.round,
        choice: o.choice.as_str().into(),
        individual_id: o.individual,
        code: o.code,
        by: o.by,
        at: o.at,
    }
}
