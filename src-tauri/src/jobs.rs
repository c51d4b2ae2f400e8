//! The one lifecycle of the app's long jobs (ingest, training, sync), and
//! the way commands run blocking work off the async runtime.
//!
//! A job is registered in [`AppState`] with its kind (refused with `busy`
//! while another runs), runs on a blocking thread with a cancel token and an
//! event sink, and ends with exactly one closing event on its channel. The
//! registration is a [`Job`] guard: it is dropped, and the job unregistered,
//! before the closing event is sent (a UI that starts another job on
//! `finished` must not find this one still running), and also when the job
//! panics or its thread never runs. A panic becomes a `failed` closing event
//! with an `internal` error, so the UI is never left waiting.
//!
//! Short commands lock the catalogue on the async runtime; the ones that
//! can take seconds (ranking the review queue, switching a pack version and
//! rebuilding its index) go through [`blocking`] instead, so they hold a
//! blocking-pool thread rather than one of the runtime's few workers.

use std::panic::{catch_unwind, AssertUnwindSafe};

use tauri::ipc::{Channel, IpcResponse};
use tauri::{AppHandle, Manager, Runtime};
use whaleid::CancelToken;

use crate::dto::{IngestEvent, SyncEvent, TrainEvent};
use crate::error::{AppError, AppResult};
use crate::state::{AppState, Job, JobKind};

/// A job's event type, which can say that the job failed, and sum up its
/// closing event for the log.
pub trait Closing: Sized {
    /// The closing event of a job that ended with `error`.
    fn failed(error: AppError) -> Self;

    /// The error, when this is the `failed` event.
    fn error(&self) -> Option<&AppError>;

    /// One line for the log: counts, times and paths, never names.
    fn summary(&self) -> String;
}

impl Closing for IngestEvent {
    fn failed(error: AppError) -> Self {
        IngestEvent::Failed { error }
    }

    fn error(&self) -> Option<&AppError> {
        match self {
            IngestEvent::Failed { error } => Some(error),
            _ => None,
        }
    }

    fn summary(&self) -> String {
        match self {
            IngestEvent::Finished { summary: s } => format!(
                "finished: {} new photo(s), {} known, {} failed, {} skipped, {} detection(s), {} without one, {} encounter(s), {:.1} s ({:.1} photos/s){}",
                s.new_photos,
                s.known_photos,
                s.failed.len(),
                s.skipped.len(),
                s.detections,
                s.no_detection.len(),
                s.encounters,
                s.seconds,
                s.photos_per_second,
                problems(&s.failed)
            ),
            IngestEvent::Cancelled { done } => format!("cancelled after {done} photo(s)"),
            other => other.error().map_or_else(String::new, failure),
        }
    }
}

impl Closing for TrainEvent {
    fn failed(error: AppError) -> Self {
        TrainEvent::Failed { error }
    }

    fn error(&self) -> Option<&AppError> {
        match self {
            TrainEvent::Failed { error } => Some(error),
            _ => None,
        }
    }

    fn summary(&self) -> String {
        match self {
            TrainEvent::Finished { result: r } => format!(
                "finished: {} ({}), {} training detection(s), {} validation photo(s), {:.1} s",
                if r.adopted { "adopted" } else { "not adopted" },
                r.version.as_deref().unwrap_or("no new version"),
                r.train_detections,
                r.validation_photos,
                r.seconds
            ),
            TrainEvent::Cancelled {} => "cancelled".into(),
            other => other.error().map_or_else(String::new, failure),
        }
    }
}

impl Closing for SyncEvent {
    fn failed(error: AppError) -> Self {
        SyncEvent::Failed { error }
    }

    fn error(&self) -> Option<&AppError> {
        match self {
            SyncEvent::Failed { error } => Some(error),
            _ => None,
        }
    }

    fn summary(&self) -> String {
        match self {
            SyncEvent::Finished { summary: s } => format!(
                "finished: {} pushed, {} pulled, {} applied, {} refused, {} conflict(s), position {}, photos {} sent / {} fetched / {} waiting / {} skipped",
                s.pushed,
                s.pulled,
                s.applied,
                s.refused.len(),
                s.conflicts.len(),
                s.position,
                s.photos_sent,
                s.photos_fetched,
                s.photos_waiting,
                s.photos_skipped.len()
            ),
            SyncEvent::Cancelled {} => "cancelled; what was sent or applied stays".into(),
            other => other.error().map_or_else(String::new, failure),
        }
    }
}

fn failure(e: &AppError) -> String {
    format!("failed ({:?}): {}", e.kind, e.message)
}

/// The first few files that failed, with why, for the log line.
fn problems(failed: &[crate::dto::FileProblem]) -> String {
    const SHOWN: usize = 5;
    if failed.is_empty() {
        return String::new();
    }
    let named: Vec<String> = failed
        .iter()
        .take(SHOWN)
        .map(|p| format!("{}: {}", p.path, p.reason))
        .collect();
    let more = failed.len().saturating_sub(SHOWN);
    let more = if more > 0 {
        format!("; and {more} more")
    } else {
        String::new()
    };
    format!("; failed: {}{more}", named.join("; "))
}

/// Log how a job ended: a warning when it failed, else an info line.
fn log_end(kind: JobKind, seconds: f64, closing: &impl Closing) {
    let line = closing.summary();
    if closing.error().is_some() {
        tracing::warn!(job = ?kind, seconds, "{line}");
    } else {
        tracing::info!(job = ?kind, seconds, "{line}");
    }
}

/// What the UI is told when a job of `kind` panicked: what became of the
/// work done so far.
fn stopped(kind: JobKind) -> &'static str {
    match kind {
        JobKind::Ingest => "the ingest job stopped unexpectedly; committed photos are kept",
        JobKind::Train => "the training job stopped unexpectedly; the catalogue is unchanged",
        JobKind::Sync => "the sync stopped unexpectedly; what was done is kept",
    }
}

/// Register a job of `kind` and run it on a blocking thread; returns its
/// id at once. `run` gets the app state, the job's cancel token and a sink
/// for its progress events, and returns the closing event, which is sent on
/// `on_event` after the job is unregistered. A closed window drops the
/// channel's receiver: events then go nowhere, and the job still finishes.
pub fn spawn_job<R, E>(
    app: &AppHandle<R>,
    kind: JobKind,
    on_event: Channel<E>,
    run: impl FnOnce(&AppState, &CancelToken, &dyn Fn(E)) -> E + Send + 'static,
) -> AppResult<u32>
where
    R: Runtime,
    E: Closing + IpcResponse + Send + 'static,
{
    let job = app.state::<AppState>().start_job(kind)?;
    let id = job.id();
    let app = app.clone();
    tauri::async_runtime::spawn_blocking(move || {
        let send = |event: E| {
            let _ = on_event.send(event);
        };
        run_to_end(job, &app.state::<AppState>(), &send, run);
    });
    Ok(id)
}

/// Run a registered job and close it: unregister it (drop the guard), then
/// send the closing event, `failed` if `run` panicked.
fn run_to_end<E: Closing>(
    job: Job,
    state: &AppState,
    send: &dyn Fn(E),
    run: impl FnOnce(&AppState, &CancelToken, &dyn Fn(E)) -> E,
) {
    let started = std::time::Instant::now();
    let closing = catch_unwind(AssertUnwindSafe(|| run(state, job.cancel_token(), send)))
        .unwrap_or_else(|_| E::failed(AppError::internal(stopped(job.kind()))));
    log_end(job.kind(), started.elapsed().as_secs_f64(), &closing);
    drop(job);
    send(closing);
}

/// Run `f` on the app state on a blocking thread and wait for it without
/// holding an async worker. A panic in `f` is an `internal` error.
pub async fn blocking<R, T>(
    app: AppHandle<R>,
    f: impl FnOnce(&AppState) -> AppResult<T> + Send + 'static,
) -> AppResult<T>
where
    R: Runtime,
    T: Send + 'static,
{
    tauri::async_runtime::spawn_blocking(move || f(&app.state::<AppState>()))
        .await
        .map_err(|e| AppError::internal(e.to_string()))?
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::path::PathBuf;

    use super::*;
    use crate::error::ErrorKind;

    fn state() -> AppState {
        AppState::new(PathBuf::from("/nonexistent"))
    }

    #[test]
    fn a_panicking_job_is_unregistered_and_closes_with_failed() {
        let state = state();
        let job = state.start_job(JobKind::Ingest).unwrap();
        // What the UI would see, and whether it could start another ingest
        // the moment each event arrives.
        let seen: RefCell<Vec<(IngestEvent, bool)>> = RefCell::new(Vec::new());
        let send = |e: IngestEvent| {
            let free = state.start_job(JobKind::Ingest).is_ok();
            seen.borrow_mut().push((e, free));
        };
        run_to_end(job, &state, &send, |_, _, send| {
            send(IngestEvent::Scanned {
                files: 3,
                skipped: 0,
            });
            panic!("a decoder bug");
        });
        let seen = seen.into_inner();
        assert_eq!(seen.len(), 2, "{seen:?}");
        assert_eq!(
            seen[0],
            (
                IngestEvent::Scanned {
                    files: 3,
                    skipped: 0
                },
                false
            ),
            "busy while it runs"
        );
        let (closing, free) = &seen[1];
        assert!(free, "unregistered before the closing event");
        match closing {
            IngestEvent::Failed { error } => {
                assert_eq!(error.kind, ErrorKind::Internal);
                assert_eq!(error.message, stopped(JobKind::Ingest));
            }
            other => panic!("closed with {other:?}"),
        }
        assert!(state.start_job(JobKind::Train).is_ok(), "still registered");
    }

    #[test]
    fn a_job_that_ends_sends_its_own_closing_event_once_unregistered() {
        let state = state();
        let job = state.start_job(JobKind::Sync).unwrap();
        let id = job.id();
        let seen: RefCell<Vec<(SyncEvent, bool)>> = RefCell::new(Vec::new());
        let send = |e: SyncEvent| {
            let free = state.start_job(JobKind::Sync).is_ok();
            seen.borrow_mut().push((e, free));
        };
        run_to_end(job, &state, &send, |_, cancel, _| {
            // The token is the one `job_cancel` reaches.
            state.cancel_job(id).unwrap();
            assert!(cancel.is_cancelled());
            SyncEvent::Cancelled {}
        });
        assert_eq!(seen.into_inner(), vec![(SyncEvent::Cancelled {}, true)]);
    }

    #[test]
    fn spawn_job_refuses_a_second_job_and_closes_a_panicking_one() {
        let app = tauri::test::mock_app();
        app.manage(state());
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        let channel = |tx: std::sync::mpsc::Sender<String>| {
            Channel::<TrainEvent>::new(move |body| {
                if let tauri::ipc::InvokeResponseBody::Json(json) = body {
                    let _ = tx.send(json);
                }
                Ok(())
            })
        };
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let first = spawn_job(
            app.handle(),
            JobKind::Train,
            channel(tx.clone()),
            move |_, _, _| {
                wait.recv().unwrap();
                panic!("a training bug")
            },
        )
        .unwrap();
        let refused = spawn_job(
            app.handle(),
            JobKind::Sync,
            channel(tx.clone()),
            |_, _, _| TrainEvent::Cancelled {},
        )
        .unwrap_err();
        assert_eq!(refused.kind, ErrorKind::Busy);
        assert_eq!(
            refused.message,
            "a training run is already running: wait for it or cancel it first"
        );
        release.send(()).unwrap();
        let closing: TrainEvent =
            serde_json::from_str(&rx.recv_timeout(std::time::Duration::from_secs(10)).unwrap())
                .unwrap();
        assert_eq!(
            closing,
            TrainEvent::Failed {
                error: AppError::internal(stopped(JobKind::Train))
            }
        );
        let second = spawn_job(app.handle(), JobKind::Sync, channel(tx), |_, _, _| {
            TrainEvent::Cancelled {}
        })
        .unwrap();
        assert!(second > first);
    }
}
