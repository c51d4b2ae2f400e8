//! Measuring identification: metrics, splits and threshold calibration.
//!
//! An evaluation takes labelled records, [`split`]s them into a gallery and
//! queries (some of them individuals the gallery has never seen), runs the
//! queries through the index and [`crate::matching`], and summarises the
//! [`Outcome`]s in a [`Report`] with the Happywhale metric, [`map_at_5`].
//! [`calibrate`] uses the same metric to choose the `new_individual`
//! threshold from confirmed identifications. Nothing here touches models or
//! storage, so every number can be checked by hand in the tests.

mod calibrate;
mod metrics;
mod report;
pub mod run;
mod split;

pub use crate::rng::SplitMix64;
pub use calibrate::{
    calibrate, calibrate_for_share, Calibration, CalibrationQuery, CurvePoint, SpeciesCalibration,
};
pub use metrics::{average_precision_at_5, is_correct, map_at_5, rank_of_truth, top_k_accuracy};
pub use report::{evaluate, Metrics, NewIndividualStats, Outcome, Report};
pub use split::{split, Split, SplitQuery};
