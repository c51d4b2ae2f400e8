//! WhaleID: offline photo-identification of whales and dolphins.
//!
//! This crate is the whole engine, with no user interface: the CLI
//! (`src/bin/whaleid`) and the desktop app are thin shells over it.
//!
//! A photo flows through it like this: [`photo`] decodes it upright and reads
//! its EXIF; [`detect`] finds fins and bodies with a YOLOv5 model; [`embed`]
//! turns each crop into a unit vector with the pack's backbone ensemble
//! ([`ingest::Pipeline`] is that path as one call). Models come in validated
//! [`packs`] and run through ONNX Runtime ([`runtime`]) on worker threads,
//! cancellable through a [`CancelToken`].
//!
//! The [`catalogue`] (SQLite) is the record of individuals, photos and
//! decisions; [`ingest`] imports labelled collections into it; [`index`]
//! searches its embeddings (exact scan or HNSW); [`matching`] turns
//! neighbours into the top 5 with `new_individual`; [`eval`] measures all of
//! it with the Happywhale metric and calibrates the threshold; [`train`] fine-tunes the necks and ArcFace heads
//! on the catalogue's own individuals, over cached backbone features.

pub mod about;
mod calendar;
pub mod cancel;
pub mod catalogue;
pub mod detect;
pub mod embed;
pub mod error;
pub mod eval;
mod imageops;
pub mod index;
pub mod ingest;
pub mod install;
pub mod logfile;
pub mod matching;
pub mod npy;
pub mod packs;
pub mod photo;
pub mod rng;
pub mod runtime;
pub mod sync;
pub mod train;

pub use cancel::CancelToken;
pub use error::{Error, ErrorKind, Result};
