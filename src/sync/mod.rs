//! Sync between field laptops and the team's catalogue server.
//!
//! Work offline for weeks, then exchange *operations*: every change to a
//! catalogue (a photo, a detection, an embedding, a decision, an
//! individual's creation, rename or merge) is an [`ops::Op`] with its own
//! UUID, its author and a hybrid logical clock timestamp ([`hlc`]).
//! Operations are idempotent (an id applied twice is applied once), so a
//! batch may be sent again after a cut connection without harm.
//!
//! Applying operations is two steps: the pure [`plan::plan`] computes what
//! will happen (and what a person should look at), then an applier does it
//! in one transaction. The merge rules are written down in [`plan`]'s docs
//! and tested there, including that catalogues receiving the same
//! operations in different orders end in the same state.

pub mod accounts;
pub mod apply;
pub mod client;
pub mod duplicates;
pub mod hlc;
pub mod log;
pub mod media;
pub mod mend;
mod opinions;
pub mod ops;
pub mod photos;
pub mod plan;
pub mod review;
pub mod settings;
pub mod state;
pub mod wire;

#[cfg(test)]
mod plan_tests;
