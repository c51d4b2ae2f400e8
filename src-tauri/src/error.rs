//! The error every command returns, as the UI sees it: `{ kind, message }`.
//!
//! `kind` is a closed set the frontend can switch on (a cancelled job is not
//! a missing model); `message` is the engine's own sentence, which names the
//! file or folder involved. Engine errors take the kind the engine gives them
//! (`whaleid::Error::kind`, an exhaustive match there), so a new engine variant
//! fails to compile rather than reaching the UI as "internal".

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// The engine's one vocabulary of kinds (`whaleid::ErrorKind`), so a sync
/// failure is `sync` here as in the CLI and the server. The engine derives
/// its TypeScript type (feature `ts`) rather than the app keeping a mirror
/// enum: one list, and ui/src/bindings/ErrorKind.ts is generated from it.
pub use whaleid::ErrorKind;

/// A command's failure, serialised to the rejected `invoke` promise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, thiserror::Error)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
#[error("{message}")]
pub struct AppError {
    pub kind: ErrorKind,
    pub message: String,
}

impl AppError {
    /// Every error made for the UI is also written to the log file (a
    /// warning; an `internal` one, a bug, as an error).
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        let message = message.into();
        if kind == ErrorKind::Internal {
            tracing::error!(?kind, "{message}");
        } else {
            tracing::warn!(?kind, "{message}");
        }
        Self { kind, message }
    }

    pub fn busy(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Busy, message)
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Invalid, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }
}

impl From<whaleid::Error> for AppError {
    fn from(e: whaleid::Error) -> Self {
        Self::new(e.kind(), e.to_string())
    }
}

impl From<tauri::Error> for AppError {
    fn from(e: tauri::Error) -> Self {
        Self::internal(e.to_string())
    }
}

pub type AppResult<T> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_as_kind_and_message() {
        let e = AppError::from(whaleid::Error::NotFound("individual W001".into()));
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"kind": "notFound", "message": "individual W001"})
        );
    }

    #[test]
    fn engine_variants_map_to_the_contract_kinds() {
        let io = whaleid::Error::Io {
            path: "/nowhere".into(),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        };
        assert_eq!(AppError::from(io).kind, ErrorKind::Io);
        assert_eq!(
            AppError::from(whaleid::Error::Cancelled).kind,
            ErrorKind::Cancelled
        );
        assert_eq!(
            AppError::from(whaleid::Error::runtime("no library")).kind,
            ErrorKind::Model
        );
        let cat = whaleid::Error::Catalogue {
            path: "/x".into(),
            reason: "not a catalogue".into(),
        };
        let e = AppError::from(cat);
        assert_eq!(e.kind, ErrorKind::Catalogue);
        assert!(e.message.contains("not a catalogue"), "{}", e.message);
    }

    #[test]
    fn a_sync_failure_is_sync_as_in_the_cli_not_io() {
        let e = AppError::from(whaleid::Error::sync("http://s", "HTTP 401: unknown token"));
        assert_eq!(e.kind, ErrorKind::Sync);
        assert_eq!(e.message, "sync server http://s: HTTP 401: unknown token");
        assert_eq!(serde_json::to_value(&e).unwrap()["kind"], "sync");
    }
}
