//! The engine's error type and the one vocabulary of error kinds.
//!
//! Variants keep their source and name the file involved, so the CLI can print
//! "what went wrong with which file" and the app can tell a cancelled job from a
//! missing model without parsing strings. [`ErrorKind`] is the closed set every
//! front end reports: the CLI's JSON error lines, the app's `{ kind, message }`
//! (its TypeScript type is generated from this enum with the `ts` feature) and
//! the server's HTTP statuses all read [`Error::kind`], so a sync failure is
//! `sync` everywhere.

use std::path::PathBuf;
use std::sync::Arc;

/// The underlying error `Runtime` keeps as its source. Shared, because
/// ONNX Runtime's load is tried once and its failure reported on every call.
pub type Cause = Arc<dyn std::error::Error + Send + Sync + 'static>;

/// What went wrong, for a front end to choose a message, an action or a
/// status code. Serialised in camelCase (`notFound`).
///
/// `Busy` and `Internal` are never produced by the engine: they are the
/// shells' own (another job of the same kind running; a failure of the shell
/// itself), kept here so that there is one list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[cfg_attr(feature = "ts", ts(export))]
#[serde(rename_all = "camelCase")]
pub enum ErrorKind {
    NotFound,
    Invalid,
    Cancelled,
    Photo,
    Catalogue,
    /// The model pack or ONNX Runtime (missing, invalid, or failing).
    Model,
    Io,
    /// The sync server could not be reached, or refused or failed a request.
    Sync,
    /// Another job of the same kind is running.
    Busy,
    Internal,
}

/// Anything the engine can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// ONNX Runtime could not be found, loaded or used (a device that is
    /// not compiled in or not usable, a stage that stopped). `reason` is the
    /// whole sentence; `source` is ONNX Runtime's or the loader's own error
    /// when there is one.
    #[error("{reason}")]
    Runtime {
        reason: String,
        #[source]
        source: Option<Cause>,
    },

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

    /// The sync server could not be reached, or answered with an error.
    /// `reason` is the whole sentence; `source` is the HTTP client's own
    /// error when the request got no answer.
    #[error("sync server {server}: {reason}")]
    Sync {
        server: String,
        reason: String,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
    },

    /// The inference worker stopped unexpectedly.
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

    /// ONNX Runtime failed for `reason`, with no underlying error to keep.
    pub fn runtime(reason: impl Into<String>) -> Self {
        Error::Runtime {
            reason: reason.into(),
            source: None,
        }
    }

    /// ONNX Runtime failed for `reason`, because of `source`.
    pub fn runtime_from(reason: impl Into<String>, source: Cause) -> Self {
        Error::Runtime {
            reason: reason.into(),
            source: Some(source),
        }
    }

    /// The sync server `server` failed for `reason`.
    pub fn sync(server: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Sync {
            server: server.into(),
            reason: reason.into(),
            source: None,
        }
    }

    /// A request to `server` got no answer because of `source` (its text is
    /// the reason).
    pub fn sync_from(
        server: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Error::Sync {
            server: server.into(),
            reason: source.to_string(),
            source: Some(Box::new(source)),
        }
    }

    /// The kind every front end reports this error as. The match is
    /// exhaustive on purpose: a new variant does not compile until it has a
    /// kind.
    pub fn kind(&self) -> ErrorKind {
        use crate::index::IndexError;
        match self {
            // No ONNX Runtime library is, for the user, a model that cannot
            // run; a fine-tune that failed inside candle is a model that
            // cannot be trained.
            Error::Runtime { .. }
            | Error::Pack { .. }
            | Error::Model { .. }
            | Error::ModelOutput { .. }
            | Error::WorkerGone { .. }
            | Error::Train(_) => ErrorKind::Model,
            Error::Io { .. } => ErrorKind::Io,
            Error::Sync { .. } => ErrorKind::Sync,
            Error::Photo { .. } => ErrorKind::Photo,
            Error::Cancelled | Error::Index(IndexError::Cancelled) => ErrorKind::Cancelled,
            Error::Sql(_) | Error::Catalogue { .. } | Error::Index(_) => ErrorKind::Catalogue,
            Error::NotFound(_) => ErrorKind::NotFound,
            Error::Labels { .. } | Error::Invalid(_) => ErrorKind::Invalid,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::IndexError;

    /// The kind table: each variant with values of it and the kind each front
    /// end must report for them. It builds an exhaustive match too, so a new
    /// variant does not compile until it has a row here.
    macro_rules! kind_table {
        ($($variant:ident => [$($sample:expr => $kind:ident),+ $(,)?]),+ $(,)?) => {
            /// Which variant `e` is (no wildcard arm).
            fn variant(e: &Error) -> &'static str {
                match e {
                    $(Error::$variant { .. } => stringify!($variant),)+
                }
            }

            /// (row, value, expected kind) for every value in the table.
            fn table() -> Vec<(&'static str, Error, ErrorKind)> {
                vec![$($((stringify!($variant), $sample, ErrorKind::$kind),)+)+]
            }
        };
    }

    fn not_found() -> std::io::Error {
        std::io::Error::from(std::io::ErrorKind::NotFound)
    }

    kind_table! {
        Runtime => [
            Error::runtime("no library") => Model,
            Error::runtime_from("could not load", Arc::new(not_found())) => Model,
        ],
        Pack => [Error::Pack {
            pack: "p".into(),
            file: "pack.toml".into(),
            reason: "no detector".into(),
        } => Model],
        Io => [Error::io("/nowhere", not_found()) => Io],
        Photo => [Error::photo("a.jpg", "not an image") => Photo],
        // An ort::Error can only be made with ONNX Runtime loaded.
        Model => [Error::Model {
            file: "m.onnx".into(),
            source: {
                crate::runtime::init().expect("ONNX Runtime (scripts/setup.sh)");
                ort::Error::new("bad graph")
            },
        } => Model],
        ModelOutput => [Error::ModelOutput {
            file: "m.onnx".into(),
            reason: "shape".into(),
        } => Model],
        Cancelled => [Error::Cancelled => Cancelled],
        Labels => [Error::Labels {
            path: "labels.csv".into(),
            reason: "line 2".into(),
        } => Invalid],
        Index => [
            Error::Index(IndexError::NonFinite { id: 1, position: 0 }) => Catalogue,
            Error::Index(IndexError::Cancelled) => Cancelled,
        ],
        Sql => [Error::Sql(rusqlite::Error::QueryReturnedNoRows) => Catalogue],
        Catalogue => [Error::Catalogue {
            path: "/c".into(),
            reason: "not a catalogue".into(),
        } => Catalogue],
        NotFound => [Error::NotFound("individual W001".into()) => NotFound],
        Invalid => [Error::Invalid("merge into itself".into()) => Invalid],
        Train => [Error::Train(candle_core::Error::Msg("nan".into())) => Model],
        Sync => [
            Error::sync("http://s", "HTTP 401: unknown token") => Sync,
            Error::sync_from("http://s", not_found()) => Sync,
        ],
        WorkerGone => [Error::WorkerGone { file: "m.onnx".into() } => Model],
    }

    #[test]
    fn every_engine_variant_maps_to_its_kind() {
        let rows = table();
        assert_eq!(rows.len(), 19);
        for (row, e, kind) in rows {
            assert_eq!(
                variant(&e),
                row,
                "the value in row {row} is another variant: {e}"
            );
            assert_eq!(e.kind(), kind, "{row} ({e})");
        }
    }

    #[test]
    fn kinds_serialise_in_camel_case() {
        let names: Vec<String> = [
            ErrorKind::NotFound,
            ErrorKind::Invalid,
            ErrorKind::Cancelled,
            ErrorKind::Photo,
            ErrorKind::Catalogue,
            ErrorKind::Model,
            ErrorKind::Io,
            ErrorKind::Sync,
            ErrorKind::Busy,
            ErrorKind::Internal,
        ]
        .iter()
        .map(|k| {
            serde_json::to_value(k)
                .unwrap()
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
        assert_eq!(
            names,
            [
                "notFound",
                "invalid",
                "cancelled",
                "photo",
                "catalogue",
                "model",
                "io",
                "sync",
                "busy",
                "internal"
            ]
        );
        let back: ErrorKind = serde_json::from_str("\"notFound\"").unwrap();
        assert_eq!(back, ErrorKind::NotFound);
    }

    #[test]
    fn sync_and_runtime_keep_their_cause_with_the_same_message() {
        use std::error::Error as _;
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let e = Error::sync_from("http://10.0.0.5:8787", refused);
        assert_eq!(e.to_string(), "sync server http://10.0.0.5:8787: refused");
        let cause = e.source().expect("the transport error is kept");
        assert_eq!(
            cause
                .downcast_ref::<std::io::Error>()
                .map(std::io::Error::kind),
            Some(std::io::ErrorKind::ConnectionRefused)
        );
        assert!(Error::sync("http://s", "HTTP 500").source().is_none());

        let load: Cause = Arc::new(std::io::Error::other("dlopen failed"));
        let e = Error::runtime_from("could not load ONNX Runtime: dlopen failed", load);
        assert_eq!(e.to_string(), "could not load ONNX Runtime: dlopen failed");
        assert_eq!(e.source().unwrap().to_string(), "dlopen failed");
        assert!(Error::runtime("no library").source().is_none());
    }
}
