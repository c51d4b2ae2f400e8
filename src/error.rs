//! The engine's error type.
//!
//! Variants keep their source and name the file involved, so the CLI can print
//! "what went wrong with which file" and the app can tell a cancelled job from a
//! missing model without parsing strings.

use std::path::PathBuf;

/// Anything the engine can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The ONNX Runtime shared library could not be found or loaded.
    #[error("{0}")]
    Runtime(String),

    /// A model pack is invalid: names the file and the field that is wrong.
    #[error("model pack {}: {file}: {reason}", pack.display())]
    Pack {
        pack: PathBuf,
        file: String,
        reason: String,
    },

    /// Reading a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A photo could not be decoded or is not acceptable.
    #[error("{}: {reason}", path.display())]
    Photo { path: PathBuf, reason: String },

    /// ONNX Runtime failed while building or running a model.
    #[error("model {}: {source}", file.display())]
    Model {
        file: PathBuf,
        #[source]
        source: ort::Error,
    },

    /// A model produced a tensor of an unexpected shape.
    #[error("model {}: {reason}", file.display())]
    ModelOutput { file: PathBuf, reason: String },

    /// The job was cancelled by the user.
    #[error("cancelled")]
    Cancelled,

    /// A labels file (CSV) or labelled folder is unusable: names it and says where.
    #[error("{}: {reason}", path.display())]
    Labels { path: PathBuf, reason: String },

    /// The vector index refused a vector or a snapshot file (names it).
    #[error("index: {0}")]
    Index(#[from] crate::index::IndexError),

    /// The catalogue database failed (SQLite's own message).
    #[error("catalogue database: {0}")]
    Sql(#[from] rusqlite::Error),

    /// A folder is not a usable catalogue: names it and says why.
    #[error("catalogue {}: {reason}", path.display())]
    Catalogue { path: PathBuf, reason: String },

    /// A record asked for by name or id does not exist.
    #[error("{0}")]
    NotFound(String),

    /// A request that contradicts the catalogue (merging an individual into
    /// itself, splitting photos it does not have...).
    #[error("{0}")]
    Invalid(String),

    /// Training failed inside candle (shapes, devices, numerics).
    #[error("training: {0}")]
    Train(#[from] candle_core::Error),

    /// The inference worker stopped unexpectedly.
    /// The sync server could not be reached, or answered with an error.
    #[error("sync server {server}: {reason}")]
    Sync { server: String, reason: String },

    #[error("inference worker for {} stopped", file.display())]
    WorkerGone { file: PathBuf },
}

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn photo(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        Error::Photo {
            path: path.into(),
            reason: reason.into(),
        }
    }

    /// A short machine-readable kind, for `{kind, message}` at the IPC edge and in JSON output.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Runtime(_) => "runtime",
            Error::Pack { .. } => "pack",
            Error::Io { .. } => "io",
            Error::Photo { .. } => "photo",
            Error::Model { .. } | Error::ModelOutput { .. } | Error::WorkerGone { .. } => "model",
            Error::Cancelled => "cancelled",
            Error::Sql(_) | Error::Catalogue { .. } => "catalogue",
            Error::NotFound(_) => "not_found",
            Error::Labels { .. } => "labels",
            Error::Index(e) => e.kind(),
            Error::Invalid(_) => "invalid",
            Error::Train(_) => "train",
            Error::Sync { .. } => "sync",
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
