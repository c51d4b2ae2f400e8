//! Validation MAP@5 for early stopping.
//!
//! Held-out rows are embedded with the neck in eval mode and matched against
//! the training rows by cosine (exact scan, as [`crate::index`] would for a
//! small gallery); each query's first five distinct individuals are scored
//! with the Happywhale metric ([`crate::eval::map_at_5`]), so the
//! number is the one a user would see on the catalogue.

use candle_core::{Device, Tensor};

use super::fit::Dataset;
use super::model::TrainNeck;
use crate::error::Result;
use crate::eval::map_at_5;
use crate::matching::{Prediction, TOP_K};

/// MAP@5 of `queries` against `gallery`, nearest neighbours over embeddings.
pub fn knn_map_at_5(
    neck: &TrainNeck,
    gallery: &Dataset<'_>,
    queries: &Dataset<'_>,
    device: &Device,
) -> Result<f64> {
    let embed = |d: &Dataset<'_>| -> Result<Tensor> {
        neck.embed(&Tensor::from_slice(d.rows, (d.len(), d.dim), device)?)
    };
    let sims = embed(queries)?
        .matmul(&embed(gallery)?.t()?)?
        .to_vec2::<f32>()?;
    let predictions: Vec<Vec<Prediction<u32>>> = sims
        .iter()
        .map(|row| {
            let mut order: Vec<usize> = (0..row.len()).collect();
            order.sort_by(|&a, &b| row[b].total_cmp(&row[a]));
            let mut out: Vec<Prediction<u32>> = Vec::with_capacity(TOP_K);
            for i in order {
                let key = gallery.labels[i];
                if !out
                    .iter()
                    .any(|p| matches!(p, Prediction::Individual { key: k, .. } if *k == key))
                {
                    out.push(Prediction::Individual { key, score: row[i] });
                    if out.len() == TOP_K {
                        break;
                    }
                }
            }
            out
        })
        .collect();
    let truth: Vec<Option<u32>> = queries.labels.iter().map(|&l| Some(l)).collect();
    Ok(map_at_5(&predictions, &truth))
}
