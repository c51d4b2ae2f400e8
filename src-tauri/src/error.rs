//! The error every command returns, as the UI sees it: `{ kind, message }`.
//!
//! `kind` is a closed set the frontend can switch on (a cancelled job is not
//! a missing model); `message` is the engine's own sentence, which names the
//! file or folder involved. Engine errors are mapped by variant in one place,
//! so a new engine variant fails to compile here rather than reaching the UI
//! as "internal".

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// What went wrong, for the UI to choose a message or an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export, export_to = "../../ui/src/bindings/")]
pub enum ErrorKind {
    NotFound,
    Invalid,
    Cancelled,
    Photo,
    Catalogue,
    /// The model pack or ONNX Runtime (missing, invalid, or failing).
    Model,
    Io,
    /// Another job of the same kind is running.
    Busy,
    Internal,
}

/// A command's failure, serialised to the rejected `invoke` promise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, thiserror::Error)]
#[serde(rename_all = "camelCase")]
#[ts(export, export_to = "../../ui/src/bindings/")]
#[error("{message}")]
pub struct AppError {
    pub kind: ErrorKind,
    pub message: String,
}

impl AppError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
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
        use whaleid::index::IndexError;
        use whaleid::Error as E;
        let kind = match &e {
            // No ONNX Runtime library is, for the user, a model that cannot run.
            E::Runtime(_)
            | E::Pack { .. }
            | E::Model { .. }
            | E::ModelOutput { .. }
            | E::WorkerGone { .. }
            // A fine-tune that failed inside candle: the model cannot be trained.
            | E::Train(_) => ErrorKind::Model,
            E::Io { .. } | E::Sync { .. } => ErrorKind::Io,
            E::Photo { .. } => ErrorKind::Photo,
            E::Cancelled | E::Index(IndexError::Cancelled) => ErrorKind::Cancelled,
            E::Sql(_) | E::Catalogue { .. } | E::Index(_) => ErrorKind::Catalogue,
            E::NotFound(_) => ErrorKind::NotFound,
            E::Labels { .. } | E::Invalid(_) => ErrorKind::Invalid,
        };
        Self::new(kind, e.to_string())
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
            AppError::from(whaleid::Error::Runtime("no library".into())).kind,
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
}
