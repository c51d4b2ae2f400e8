//! Errors of the vector index.
//!
//! Kept separate from the engine's `Error` so the index can be used (and
//! benchmarked) on its own; every variant that concerns a file names it, so a
//! rejected snapshot says which file and why.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// A vector or query does not have the index's dimension.
    #[error("{} has dimension {got}, the index expects {expected}", subject(*.id))]
    DimMismatch {
        id: Option<i64>,
        expected: usize,
        got: usize,
    },

    /// NaN or infinity in a vector: it would poison every ranking it enters.
    #[error("vector for id {id} contains a non-finite value at position {position}")]
    NonFinite { id: i64, position: usize },

    /// Reading or writing a snapshot file failed.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// Encoding or decoding the snapshot payload failed.
    #[error("{}: {source}", path.display())]
    Encode {
        path: PathBuf,
        #[source]
        source: bincode::Error,
    },

    /// The file is not a usable snapshot for this catalogue: foreign, from
    /// another format version, corrupted, or built from other vectors.
    #[error("{}: {reason}", path.display())]
    BadSnapshot { path: PathBuf, reason: String },

    /// A build was cancelled before it finished.
    #[error("cancelled")]
    Cancelled,
}

fn subject(id: Option<i64>) -> String {
    match id {
        Some(id) => format!("vector for id {id}"),
        None => "query".into(),
    }
}

impl IndexError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        IndexError::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn bad(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        IndexError::BadSnapshot {
            path: path.into(),
            reason: reason.into(),
        }
    }
}
