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
/// embeddings are from, and suggest it with its closest one when they are
/// at least `threshold` alike (the catalogue's calibrated new-individual
/// threshold when it has one), best first.
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
    // Each individual that arrived is suggested with the one it looks most
    // like, if that is close enough: a sync bringing many similar animals
    // (a new species, near-identical fins) yields one line each, not every
    // pair among them.
    let mut out: Vec<Duplicate> = Vec::new();
    let mut paired = std::collections::HashSet::new();
    for (a, va) in &centres {
        if !arrived.contains(&who[a].0) {
            continue;
        }
        let best = centres
            .iter()
            .filter(|(b, _)| b != a)
            .map(|(b, vb)| (b, va.iter().zip(vb).map(|(x, y)| x * y).sum::<f32>()))
            .max_by(|x, y| x.1.total_cmp(&y.1));
        if let Some((b, score)) = best.filter(|(_, s)| *s >= threshold) {
            // Two arrivals that are each other's best are one suggestion.
            if paired.insert((*a.min(b), *a.max(b))) {
                out.push(Duplicate {
                    individual: who[a].0.clone(),
                    code: who[a].1.clone(),
                    other: who[b].0.clone(),
                    other_code: who[b].1.clone(),
                    score,
                });
            }
        }
    }
    out.sort_by(|x, y| y.score.total_cmp(&x.score));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::records::{NewPhoto, Source};
    use crate::detect::BBox;
    use crate::photo::Meta;

    /// Individuals `W0..` with one photo each, embedded at `vectors`.
    fn catalogue(dir: &std::path::Path, vectors: &[Vec<f32>]) -> (Catalogue, Vec<String>) {
        let mut cat = Catalogue::create(dir.join("c")).unwrap();
        cat.with_tx(|tx| {
            for (i, v) in vectors.iter().enumerate() {
                let who = tx.ensure_individual(&format!("W{i}"), None)?;
                let photo = tx.insert_photo(&NewPhoto {
                    sha256: &format!("{i:064x}"),
                    original_path: "/p.jpg",
                    byte_size: 1,
                    width: 100,
                    height: 100,
                    meta: &Meta::default(),
                })?;
                let bbox = BBox {
                    x1: 0.0,
                    y1: 0.0,
                    x2: 10.0,
                    y2: 10.0,
                };
                let det = tx.insert_detection(photo, bbox, "fin", None, None)?;
                tx.insert_embedding(det, "p", "1", v)?;
                tx.decide(det, who, true, Source::Person, None, None)?;
            }
            Ok(())
        })
        .unwrap();
        let uuids = (0..vectors.len())
            .map(|i| {
                cat.conn()
                    .query_row(
                        "SELECT uuid FROM individuals WHERE code = ?1",
                        [format!("W{i}")],
                        |r| r.get(0),
                    )
                    .unwrap()
            })
            .collect();
        (cat, uuids)
    }

    #[test]
    fn each_arrival_is_suggested_once_with_its_closest_match() {
        let dir = tempfile::tempdir().unwrap();
        // W0 and W1 nearly one direction, W2 close to both, W3 and W4 apart.
        let vectors = vec![
            vec![1.0, 0.0, 0.0, 0.0],
            vec![0.99, 0.14, 0.0, 0.0],
            vec![0.9, 0.0, 0.43, 0.0],
            vec![0.0, 0.0, 0.0, 1.0],
            vec![0.0, 1.0, 0.0, 0.0],
        ];
        let (cat, uuids) = catalogue(dir.path(), &vectors);
        let arrived: BTreeSet<String> = uuids.iter().cloned().collect();
        let found = suggest(&cat, &arrived).unwrap();
        let pairs: Vec<(&str, &str)> = found
            .iter()
            .map(|d| (d.code.as_str(), d.other_code.as_str()))
            .collect();
        // W0 and W1 are each other's best (one line); W2's best is W0. W3
        // and W4 are like nothing. Every pair of the first three is above
        // the threshold, yet each arrival appears once as the one asked about.
        assert_eq!(pairs, vec![("W0", "W1"), ("W2", "W0")], "{found:?}");
        assert!(found[0].score > found[1].score);
        // Only W4 arrived: its best (W1) is not close enough.
        let only: BTreeSet<String> = [uuids[4].clone()].into();
        assert!(suggest(&cat, &only).unwrap().is_empty());
    }
}
