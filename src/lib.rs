//! WhaleID: offline photo-identification of whales and dolphins.
//!
//! This crate is the whole engine, with no user interface: the CLI
//! (`src/bin/whaleid`) and the desktop app are thin shells over it.
//!
//! A photo flows through it like this: [`photo`] decodes it upright;
//! [`detect`] finds fins and bodies with a YOLOv5 model; [`embed`] turns each
//! crop into a unit vector with the pack's backbone ensemble. Models come in
//! validated [`packs`] and run through ONNX Runtime ([`runtime`]) on worker
//! threads, cancellable through a [`CancelToken`].

pub mod cancel;
pub mod catalogue;
pub mod detect;
pub mod embed;
pub mod error;
pub mod eval;
mod imageops;
pub mod index;
pub mod ingest;
pub mod matching;
pub mod npy;
pub mod packs;
pub mod photo;
pub mod runtime;

pub use cancel::CancelToken;
pub use error::{Error, Result};
