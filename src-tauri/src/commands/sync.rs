//! Syncing the open catalogue with the team's server: settings, a preview of
//! what a sync would do, and the sync itself as a cancellable job.

use tauri::ipc::Channel;
use tauri::{AppHandle, Runtime, State};
use whaleid::catalogue::{observer, Catalogue};
use whaleid::sync::client::{self, Remote, Stage};
use whaleid::sync::photos::{sync_photos, PhotoReport, CHUNK};
use whaleid::sync::plan::Conflict;
use whaleid::sync::review::{self, Found};
use whaleid::sync::settings as remembered;
use whaleid::sync::state::describe;
use whaleid::CancelToken;

use crate::dto::{
    SyncConflict, SyncEvent, SyncPreview, SyncRefusal, SyncReviewItem, SyncSettings, SyncStatus,
    SyncSummary,
};
use crate::error::{AppError, AppResult, ErrorKind};
use crate::jobs;
use crate::state::{AppState, JobKind};

/// Operations a preview looks at, at most.
const PREVIEW_LIMIT: usize = 20_000;

/// The author of the operations sent: the observer name, the one every
/// decision records (`AppState::observer`).
fn author_of(state: &AppState, cat: &Catalogue) -> AppResult<String> {
    state.observer(cat)?.ok_or_else(|| {
        AppError::invalid(
            "no observer name: enter your name (Settings, or the author field here) before syncing",
        )
    })
}

fn status(state: &AppState, cat: &Catalogue) -> AppResult<SyncStatus> {
    let server = remembered::server(cat)?;
    Ok(SyncStatus {
        has_token: server
            .as_ref()
            .is_some_and(|s| state.prefs().sync_tokens.contains_key(s)),
        ca_cert: server
            .as_ref()
            .and_then(|s| state.prefs().sync_ca_certs.get(s).cloned()),
        photos: remembered::photos(cat)?,
        server,
        author: state.observer(cat)?.unwrap_or_default(),
        last_sync: remembered::last_sync(cat)?,
        pending: whaleid::sync::log::pending(cat)?,
        position: remembered::position(cat)?,
        to_review: to_review(cat)?,
    })
}

fn duplicate_detail(d: &whaleid::sync::duplicates::Duplicate) -> String {
    format!(
        "{} and {} look like the same animal (similarity {:.2}): merge them if they are",
        d.code, d.other_code, d.score
    )
}

fn to_review(cat: &Catalogue) -> AppResult<Vec<SyncReviewItem>> {
    let local =
        |uuid: &str| -> AppResult<Option<i64>> { Ok(review::current_individual(cat, uuid)?) };
    review::open_items(cat)?
        .into_iter()
        .map(|item| {
            let (kind, detail, individual_id, other_id) = match &item.what {
                Found::Conflict(c) => (conflict_kind(c), describe(cat, c)?, None, None),
                Found::Duplicate(d) => (
                    "duplicate",
                    duplicate_detail(d),
                    local(&d.individual)?,
                    local(&d.other)?,
                ),
            };
            Ok(SyncReviewItem {
                id: item.id,
                kind: kind.into(),
                detail,
                found_at: item.found_at,
                individual_id,
                other_id,
            })
        })
        .collect()
}

fn conflict_kind(c: &Conflict) -> &'static str {
    match c {
        Conflict::Decisions { .. } => "decisions",
        Conflict::CodeClash { .. } => "codeClash",
        Conflict::RemovedBox { .. } => "removedBox",
        Conflict::BoxMoves { .. } => "boxMoves",
    }
}

/// A person has looked at a conflict or duplicate suggestion.
#[tauri::command]
pub async fn sync_dismiss(state: State<'_, AppState>, id: i64) -> AppResult<SyncStatus> {
    state.with_catalogue(|open| {
        review::dismiss(&mut open.catalogue, id)?;
        status(&state, &open.catalogue)
    })
}

#[tauri::command]
pub async fn sync_status(state: State<'_, AppState>) -> AppResult<SyncStatus> {
    state.with_catalogue(|open| status(&state, &open.catalogue))
}

#[tauri::command]
pub async fn sync_configure(
    state: State<'_, AppState>,
    settings: SyncSettings,
) -> AppResult<SyncStatus> {
    let server = remembered::server_url(&settings.server)?;
    let remote = Remote::new(&server, "")?;
    let ca_cert = settings
        .ca_cert
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty());
    if let Some(ca) = &ca_cert {
        // A file that is not there or holds no certificate is refused now,
        // not at the next sync.
        remote.trusting(std::path::Path::new(ca))?;
    }
    let author = observer::validate(&settings.author, "sync author")?;
    let token = settings.token.filter(|t| !t.trim().is_empty());
    let key = server.clone();
    state.update_prefs(|p| {
        p.observer = Some(author);
        if let Some(token) = token {
            p.sync_tokens.insert(key.clone(), token.trim().to_string());
        }
        match ca_cert {
            Some(ca) => p.sync_ca_certs.insert(key, ca),
            None => p.sync_ca_certs.remove(&key),
        };
    })?;
    state.with_catalogue(|open| {
        remembered::set_server(&mut open.catalogue, &server)?;
        remembered::set_photos(&mut open.catalogue, settings.photos)?;
        status(&state, &open.catalogue)
    })
}

/// Where to sync: the catalogue folder, a client for its server, the
/// author, and whether original photos go too.
struct Connection {
    path: std::path::PathBuf,
    remote: Remote,
    author: String,
    photos: bool,
}

fn connection(state: &AppState) -> AppResult<Connection> {
    state.with_catalogue(|open| {
        let server = remembered::server(&open.catalogue)?.ok_or_else(|| {
            AppError::invalid("no server yet: enter the server's address and your token first")
        })?;
        let token = state
            .prefs()
            .sync_tokens
            .get(&server)
            .cloned()
            .ok_or_else(|| {
                AppError::invalid(format!(
                    "no token for {server}: enter the one your admin issued"
                ))
            })?;
        let mut remote = Remote::new(&server, &token)?;
        if let Some(ca) = state.prefs().sync_ca_certs.get(&server) {
            remote = remote.trusting(std::path::Path::new(ca))?;
        }
        Ok(Connection {
            path: open.path.clone(),
            remote,
            author: author_of(state, &open.catalogue)?,
            photos: remembered::photos(&open.catalogue)?,
        })
    })
}

fn conflicts(cat: &Catalogue, list: &[Conflict]) -> AppResult<Vec<SyncConflict>> {
    list.iter()
        .map(|c| {
            Ok(SyncConflict {
                kind: conflict_kind(c).into(),
                detail: describe(cat, c)?,
            })
        })
        .collect()
}

/// What a sync would do now; nothing is applied.
#[tauri::command]
pub async fn sync_preview(state: State<'_, AppState>) -> AppResult<SyncPreview> {
    let Connection {
        path,
        remote,
        author,
        ..
    } = connection(&state)?;
    tauri::async_runtime::spawn_blocking(move || -> AppResult<SyncPreview> {
        let mut cat = Catalogue::open(&path)?;
        let p = client::preview(&mut cat, &remote, &author, PREVIEW_LIMIT)?;
        let summary = p.plan.summary();
        Ok(SyncPreview {
            to_push: p.to_push,
            to_pull: p.to_pull,
            more: p.more,
            additions: summary.additions,
            decisions: summary.decisions,
            merges: summary.merges,
            already_here: summary.already_here,
            refused: summary.refused,
            conflicts: conflicts(&cat, &p.plan.conflicts)?,
        })
    })
    .await
    .map_err(|e| AppError::internal(e.to_string()))?
}

/// Push and pull as a job; `progress` events, then one closing event.
#[tauri::command]
pub async fn sync_start<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    on_event: Channel<SyncEvent>,
) -> AppResult<u32> {
    let to = connection(&state)?;
    jobs::spawn_job(&app, JobKind::Sync, on_event, move |_, cancel, send| {
        run(&to, cancel, send)
    })
}

fn run(to: &Connection, cancel: &CancelToken, send: &dyn Fn(SyncEvent)) -> SyncEvent {
    let result = (|| -> AppResult<SyncSummary> {
        let mut cat = Catalogue::open(&to.path)?;
        let report = client::sync(
            &mut cat,
            &to.remote,
            &to.author,
            cancel,
            &mut |stage, done| {
                let stage = match stage {
                    Stage::Pushing => "pushing",
                    Stage::Pulling => "pulling",
                };
                send(SyncEvent::Progress {
                    stage: stage.into(),
                    done,
                });
            },
        )?;
        let photos = if to.photos {
            sync_photos(&mut cat, &to.remote, CHUNK, cancel, &mut |moved| {
                send(SyncEvent::Progress {
                    stage: "photos".into(),
                    done: moved as usize,
                });
            })?
        } else {
            PhotoReport::default()
        };
        Ok(SyncSummary {
            pushed: report.pushed,
            pulled: report.pulled,
            applied: report.applied,
            refused: report
                .refused
                .iter()
                .map(|r| SyncRefusal {
                    op: r.op.clone(),
                    reason: r.reason.clone(),
                })
                .collect(),
            conflicts: conflicts(&cat, &report.conflicts)?
                .into_iter()
                .chain(report.duplicates.iter().map(|d| SyncConflict {
                    kind: "duplicate".into(),
                    detail: duplicate_detail(d),
                }))
                .chain(report.declined.iter().map(|r| SyncConflict {
                    kind: "declined".into(),
                    detail: format!("operation {}: {}", r.op, r.reason),
                }))
                .collect(),
            position: report.position,
            photos_sent: photos.sent,
            photos_fetched: photos.fetched,
            photos_waiting: photos.not_on_server,
            photos_skipped: photos.skipped,
        })
    })();
    match result {
        Ok(summary) => SyncEvent::Finished { summary },
        Err(e) if e.kind == ErrorKind::Cancelled => SyncEvent::Cancelled {},
        Err(error) => SyncEvent::Failed { error },
    }
}
