//! What the app holds between commands: the open catalogue, running jobs,
//! and the few preferences that outlive a session.
//!
//! The catalogue is one SQLite connection behind a mutex, for the short reads
//! and writes of commands. A long job (ingest) opens its own connection on
//! its own thread instead of holding this one, so the UI can keep reading
//! while photos are committed (SQLite WAL lets them run side by side). Jobs
//! are cancel tokens by id; at most one job runs at a time, and a [`Job`]
//! guard keeps it registered for exactly as long as it lives.
//!
//! Preferences (the last catalogue, inference threads) live in
//! `prefs.json` in the app's config folder, or in `$WHALEID_CONFIG_DIR`
//! when set, so tests and the end-to-end run never see a developer's
//! catalogue.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};
use whaleid::catalogue::Catalogue;
use whaleid::packs::Pack;
use whaleid::CancelToken;

use crate::error::{AppError, AppResult};

/// Overrides the app config folder (tests, end-to-end runs, portable use).
pub const CONFIG_DIR_ENV: &str = "WHALEID_CONFIG_DIR";
const PREFS_FILE: &str = "prefs.json";

/// Preferences kept across sessions.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Prefs {
    pub last_catalogue: Option<PathBuf>,
    /// Inference threads per model; 0: ONNX Runtime's choice (every core).
    pub threads: usize,
    /// Sync tokens by server URL (kept with the user's preferences, not in
    /// the catalogue, which travels).
    pub sync_tokens: std::collections::BTreeMap<String, String>,
    /// The CA certificate (PEM path) trusted for a server, by URL, where a
    /// team signs its server's certificate itself.
    pub sync_ca_certs: std::collections::BTreeMap<String, String>,
    /// The observer's name, recorded on every decision, merge, import and
    /// sync made in the app (see `whaleid::catalogue::observer`).
    pub observer: Option<String>,
}

/// The catalogue the app works on, with the pack bound to it.
#[derive(Debug)]
pub struct OpenCatalogue {
    pub catalogue: Catalogue,
    pub path: PathBuf,
    /// `None` when the pack the catalogue was made with is not on this
    /// machine (the user can import it).
    pub pack: Option<Pack>,
}

/// What kind of work a job is. One job at a time: an ingest and a training
/// run both write embeddings, and training may switch the pack under an ingest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    Ingest,
    Train,
    Sync,
}

#[derive(Debug)]
struct Jobs {
    next: u32,
    running: HashMap<u32, (JobKind, CancelToken)>,
}

/// A registered job: its id, kind and cancel token. Dropping it finishes
/// the job (unregisters it), whether the job ended, failed, panicked or
/// never started.
#[derive(Debug)]
pub struct Job {
    jobs: Arc<Mutex<Jobs>>,
    id: u32,
    kind: JobKind,
    cancel: CancelToken,
}

impl Job {
    pub fn id(&self) -> u32 {
        self.id
    }

    pub fn kind(&self) -> JobKind {
        self.kind
    }

    /// Cancelled by `AppState::cancel_job` with this job's id.
    pub fn cancel_token(&self) -> &CancelToken {
        &self.cancel
    }
}

impl Drop for Job {
    fn drop(&mut self) {
        lock(&self.jobs).running.remove(&self.id);
    }
}

#[derive(Debug)]
pub struct AppState {
    config_dir: PathBuf,
    open: Mutex<Option<OpenCatalogue>>,
    prefs: Mutex<Prefs>,
    /// Shared with each [`Job`] guard, which unregisters itself on drop.
    jobs: Arc<Mutex<Jobs>>,
    /// Where the models last opened actually run, with the reason when a
    /// GPU asked for was not used.
    ran_on: Mutex<Option<whaleid::runtime::RanOn>>,
    /// The embedder boxes drawn by hand are embedded with, kept open
    /// between boxes while the pack stays the same.
    box_embedder: crate::commands::boxes::WarmEmbedder,
}

/// A poisoned lock means a command panicked mid-way; the data it guards
/// (a connection, a map) is still usable, so carry on.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl AppState {
    /// State whose preferences live in `config_dir` (read now if present).
    pub fn new(config_dir: PathBuf) -> Self {
        let prefs = std::fs::read(config_dir.join(PREFS_FILE))
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
        Self {
            config_dir,
            open: Mutex::new(None),
            prefs: Mutex::new(prefs),
            jobs: Arc::new(Mutex::new(Jobs {
                next: 1,
                running: HashMap::new(),
            })),
            ran_on: Mutex::new(None),
            box_embedder: Default::default(),
        }
    }

    /// `$WHALEID_CONFIG_DIR`, else the platform's config folder for the app.
    pub fn config_dir_for(app_default: impl FnOnce() -> Option<PathBuf>) -> PathBuf {
        std::env::var_os(CONFIG_DIR_ENV)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(app_default)
            .unwrap_or_else(|| PathBuf::from(".whaleid"))
    }

    pub fn config_dir(&self) -> &Path {
        &self.config_dir
    }

    /// The preferences file (it exists once something was saved).
    pub fn prefs_file(&self) -> PathBuf {
        self.config_dir.join(PREFS_FILE)
    }

    pub fn prefs(&self) -> Prefs {
        lock(&self.prefs).clone()
    }

    /// Change and save the preferences.
    pub fn update_prefs(&self, f: impl FnOnce(&mut Prefs)) -> AppResult<()> {
        let mut prefs = lock(&self.prefs);
        f(&mut prefs);
        let io = |e: std::io::Error| {
            AppError::from(whaleid::Error::Io {
                path: self.config_dir.join(PREFS_FILE),
                source: e,
            })
        };
        std::fs::create_dir_all(&self.config_dir).map_err(io)?;
        let json =
            serde_json::to_vec_pretty(&*prefs).map_err(|e| AppError::internal(e.to_string()))?;
        std::fs::write(self.config_dir.join(PREFS_FILE), json).map_err(io)
    }

    /// Who the user is: the saved observer name first, then the engine's
    /// rule (`whaleid::catalogue::observer::observer`).
    pub fn observer(&self, cat: &Catalogue) -> AppResult<Option<String>> {
        let saved = self.prefs().observer;
        Ok(whaleid::catalogue::observer::observer(
            cat,
            saved.as_deref(),
        )?)
    }

    /// The open catalogue, if any (locked while the guard lives).
    pub fn catalogue(&self) -> MutexGuard<'_, Option<OpenCatalogue>> {
        lock(&self.open)
    }

    /// Run `f` on the open catalogue, or fail with `notFound`.
    pub fn with_catalogue<T>(
        &self,
        f: impl FnOnce(&mut OpenCatalogue) -> AppResult<T>,
    ) -> AppResult<T> {
        match self.catalogue().as_mut() {
            Some(open) => f(open),
            None => Err(AppError::not_found(
                "no catalogue is open: open or create one first",
            )),
        }
    }

    /// Make `open` the app's catalogue and remember it for next time.
    pub fn set_catalogue(&self, open: OpenCatalogue) -> AppResult<()> {
        let path = open.path.clone();
        *self.catalogue() = Some(open);
        self.update_prefs(|p| p.last_catalogue = Some(path))
    }

    /// Register a job; `busy` while another one runs. The job stays
    /// registered until the returned guard is dropped, so a job that
    /// returns early or panics can never leave every later job `busy`.
    pub fn start_job(&self, kind: JobKind) -> AppResult<Job> {
        let mut jobs = lock(&self.jobs);
        if let Some((running, _)) = jobs.running.values().next() {
            return Err(AppError::busy(format!(
                "{} is already running: wait for it or cancel it{}",
                match running {
                    JobKind::Ingest => "an ingest",
                    JobKind::Train => "a training run",
                    JobKind::Sync => "a sync",
                },
                if *running == kind { "" } else { " first" }
            )));
        }
        let id = jobs.next;
        jobs.next += 1;
        let cancel = CancelToken::new();
        jobs.running.insert(id, (kind, cancel.clone()));
        Ok(Job {
            jobs: Arc::clone(&self.jobs),
            id,
            kind,
            cancel,
        })
    }

    /// Cancel a running job. A job that already ended is not an error (the
    /// user's click and the end can cross); an id never handed out is.
    pub fn cancel_job(&self, id: u32) -> AppResult<()> {
        let jobs = lock(&self.jobs);
        match jobs.running.get(&id) {
            Some((_, token)) => {
                token.cancel();
                Ok(())
            }
            None if id > 0 && id < jobs.next => Ok(()),
            None => Err(AppError::not_found(format!("no job {id}"))),
        }
    }

    /// Where the models last opened run (`None` until an ingest opened them).
    pub fn ran_on(&self) -> Option<whaleid::runtime::RanOn> {
        lock(&self.ran_on).clone()
    }

    /// The providers the models last opened run on, ORT's short names.
    pub fn providers_used(&self) -> Vec<String> {
        self.ran_on().map_or_else(Vec::new, |r| {
            r.providers.iter().map(|p| p.as_str().to_string()).collect()
        })
    }

    pub fn set_ran_on(&self, ran_on: whaleid::runtime::RanOn) {
        *lock(&self.ran_on) = Some(ran_on);
    }

    pub(crate) fn box_embedder(&self) -> &crate::commands::boxes::WarmEmbedder {
        &self.box_embedder
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefs_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let state = AppState::new(dir.path().join("cfg"));
        state
            .update_prefs(|p| {
                p.last_catalogue = Some("/data/cat".into());
                p.threads = 3;
            })
            .unwrap();
        let again = AppState::new(dir.path().join("cfg"));
        assert_eq!(
            again.prefs().last_catalogue,
            Some(PathBuf::from("/data/cat"))
        );
        assert_eq!(again.prefs().threads, 3);
    }

    #[test]
    fn a_second_ingest_is_busy_until_the_first_finishes() {
        let state = AppState::new(PathBuf::from("/nonexistent"));
        let job = state.start_job(JobKind::Ingest).unwrap();
        let first = job.id();
        let err = state.start_job(JobKind::Ingest).unwrap_err();
        assert_eq!(err.kind, crate::error::ErrorKind::Busy);
        drop(job);
        let second = state.start_job(JobKind::Ingest).unwrap().id();
        assert_ne!(first, second);
        // Cancelling the finished job is fine; an unknown id is not.
        state.cancel_job(first).unwrap();
        assert_eq!(
            state.cancel_job(999).unwrap_err().kind,
            crate::error::ErrorKind::NotFound
        );
    }

    #[test]
    fn a_job_that_panics_is_unregistered_as_its_guard_unwinds() {
        let state = AppState::new(PathBuf::from("/nonexistent"));
        let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let job = state.start_job(JobKind::Train).unwrap();
            assert_eq!(job.kind(), JobKind::Train);
            panic!("job {} fails", job.id());
        }));
        assert!(unwound.is_err());
        let next = state
            .start_job(JobKind::Sync)
            .expect("not busy after the panic");
        // The unwound job's id is known (cancelling it is fine), and a new
        // job's token is the one `cancel_job` reaches.
        state.cancel_job(next.id() - 1).unwrap();
        assert!(!next.cancel_token().is_cancelled());
        state.cancel_job(next.id()).unwrap();
        assert!(next.cancel_token().is_cancelled());
    }
}
