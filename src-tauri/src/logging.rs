//! The app's log file: errors and one summary line per finished job
//! (ingest, training, sync), written through `tracing` to a rotating file in
//! the platform's log folder ([`whaleid::install::log_dir`]). Paths appear in
//! it; observer names, tokens and photos' contents do not. The About panel
//! shows where it is, and the diagnostics copy its last lines.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use tracing_subscriber::EnvFilter;
use whaleid::install;
use whaleid::logfile::{self, RotatingFile};

static LOG_FILE: OnceLock<PathBuf> = OnceLock::new();

/// What goes in unless `WHALEID_LOG` says otherwise: warnings and errors
/// from everything, and the app's and engine's own info lines (job
/// summaries, migrations).
const DEFAULT_FILTER: &str = "warn,whaleid=info,whaleid_app=info";

/// Start logging to the file, once per process. Returns its path, or `None`
/// when there is no log folder or it cannot be written (the app runs on,
/// logging to stderr).
pub fn init() -> Option<&'static Path> {
    let filter = || {
        EnvFilter::try_from_env("WHALEID_LOG").unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER))
    };
    let opened = install::log_dir().map(|dir| {
        RotatingFile::open(&dir, install::LOG_FILE, logfile::MAX_BYTES, logfile::KEEP)
            .map_err(|e| format!("{}: {e}", dir.display()))
    });
    match opened {
        Some(Ok(file)) => {
            let path = file.path().to_path_buf();
            let installed = tracing_subscriber::fmt()
                .with_env_filter(filter())
                .with_ansi(false)
                .with_writer(Mutex::new(file))
                .try_init()
                .is_ok();
            if installed {
                let _ = LOG_FILE.set(path);
                tracing::info!("WhaleID {} started", whaleid::about::VERSION);
            }
        }
        failed => {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(filter())
                .with_writer(std::io::stderr)
                .try_init();
            match failed {
                Some(Err(why)) => tracing::warn!("no log file: {why}"),
                _ => tracing::warn!("no log file: the platform has no folder for it"),
            }
        }
    }
    log_file()
}

/// The file this process logs to, once [`init`] opened it.
pub fn log_file() -> Option<&'static Path> {
    LOG_FILE.get().map(PathBuf::as_path)
}

/// The last `n` lines of the log, oldest first (none when not logging).
pub fn last_lines(n: usize) -> Vec<String> {
    log_file().map_or_else(Vec::new, |p| logfile::last_lines(p, n))
}
