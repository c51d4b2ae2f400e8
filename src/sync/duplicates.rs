//! Two laptops that each named a "new individual" for what is the same
//! animal: after a sync, individuals that arrived are compared with the
//! others by their photos' embeddings, and close pairs are suggested for a
//! person to merge. Nothing is merged automatically.

use std::collections::{BTreeSet, HashMap};

use serde::Serialize;

use crate::catalogue::Catalogue;
use crate::embed::l2_normalise;
use crate::error::Result;

/// Suggested when the two individuals' mean embeddings are at least this
/// similar and the catalogue has no calibrated threshold of its own.
pub const DEFAULT_THRESHOLD: f32 = 0.8;

/// A pair that may be one animal.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Duplicate {
    /// The individual that arrived.
    pub individual: String,
    pub code: String,
    /// The one already here (or also new) it looks like.
    pub other: String,
    pub other_code: String,
    /// Cosine similarity of their mean embeddings.
    pub score: f32,
}

/// Compare each individual in `arrived` (UUIDs) with every other one that
/// has photos, with the embeddings of the pack most of the catalogue's
/// embeddings are from. At least `threshold` (the catalogue's calibrated
/// new-individual threshold when it has one) is suggested, best first.
pub fn suggest(cat: &Catalogue, arrived: &BTreeSet<String>) -> Result<Vec<Duplicate>> {
    if arrived.is_empty() {
        return Ok(Vec::new());
    }
    let pack: Option<(String, String)> = cat
        .conn()
        .query_row(
            "SELECT pack_name, pack_version FROM embeddings
             GROUP BY 1, 2 ORDER BY count(*) DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .ok();
    let Some(pack) = pack else {
        return Ok(Vec::new());
    };
    let threshold = cat.threshold_setting()?.unwrap_or(DEFAULT_THRESHOLD);
    let mut sums: HashMap<i64, Vec<f32>> = HashMap::new();
    for item in cat.gallery((&pack.0, &pack.1))? {
        let sum = sums
            .entry(item.individual_id)
            .or_insert_with(|| vec![0.0; item.vector.len()]);
        if sum.len() == item.vector.len() {
            sum.iter_mut().zip(&item.vector).for_each(|(s, v)| *s += v);
        }
    }
    let mut who: HashMap<i64, (String, String)> = HashMap::new();
    {
        let mut stmt = cat
            .conn()
            .prepare("SELECT id, uuid, code FROM individuals WHERE merged_into IS NULL")?;
        for row in stmt.query_map([], |r| Ok((r.get::<_, i64>(0)?, (r.get(1)?, r.get(2)?))))? {
            let (id, u) = row?;
            who.insert(id, u);
        }
    }
    let mut centres: Vec<(i64, Vec<f32>)> = sums
        .into_iter()
        .filter(|(id, _)| who.contains_key(id))
        .map(|(id, mut v)| {
            l2_normalise(&mut v);
            (id, v)
        })
        .collect();
    centres.sort_by_key(|c| c.0);
    let mut out = Vec::new();
    for (i, (a, va)) in centres.iter().enumerate() {
        let a_new = arrived.contains(&who[a].0);
        for (b, vb) in &centres[i + 1..] {
            let b_new = arrived.contains(&who[b].0);
            if !a_new && !b_new {
                continue;
            }
            let score: f32 = va.iter().zip(vb).map(|(x, y)| x * y).sum();
            if score >= threshold {
                let (n, o) = if a_new { (a, b) } else { (b, a) };
                out.push(Duplicate {
                    individual: who[n].0.clone(),
                    code: who[n].1.clone(),
                    other: who[o].0.clone(),
                    other_code: who[o].1.clone(),
                    score,
                });
            }
        }
    }
    out.sort_by(|x, y| y.score.total_cmp(&x.score));
    Ok(out)
}
