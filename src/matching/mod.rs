//! Identification: from kNN neighbours to the five identities shown to the user.
//!
//! The index returns the catalogue photos nearest to a query crop, already
//! mapped to their individuals. [`rank_individuals`] turns those photo hits
//! (several per individual) into one score per individual, optionally blended
//! with the pack's ArcFace head; [`top5`] then orders them and places
//! `new_individual` where nothing is close enough, as in the Happywhale
//! competition. Everything here is pure and generic over the individual key,
//! so it is tested by hand and shared by the CLI, the app and [`crate::eval`].
//!
//! The module is called `matching` rather than `match` so that callers can
//! write `whaleid::matching::top5` without a raw identifier.

pub mod field;
pub mod identify;
pub mod rerank;
pub mod scope;
mod score;
mod top5;

pub use identify::{calibration_queries, identify, suggest, Gallery, HeadScorer, MatchSettings};
pub use score::rank_individuals;
pub use top5::{five_with_new, top5, top5_with, NewIndividualPolicy, Prediction, TOP_K};

pub(crate) use top5::{best_five, place_new};

/// Orders `(key, score)` pairs by score, best first; equal scores by key so
/// that the same inputs always give the same list. NaN scores must have been
/// removed by the caller.
pub(crate) fn sort_ranked<K: Ord>(ranked: &mut [(K, f32)]) {
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
}
