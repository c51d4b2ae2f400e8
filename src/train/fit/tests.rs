//! Unit tests of the training loop, and the clustered features and small
//! configuration that other training tests build on.

use super::*;

/// `classes × per_class` rows of `dim` values: centres drawn N(0, 1),
/// rows centre + N(0, noise²), all from `seed`.
pub(crate) fn clustered(
    classes: usize,
    per_class: usize,
    dim: usize,
    noise: f64,
    seed: u64,
) -> (Vec<f32>, Vec<u32>) {
    let mut rng = SplitMix64::new(seed);
    let centres: Vec<Vec<f64>> = (0..classes)
        .map(|_| (0..dim).map(|_| rng.normal()).collect())
        .collect();
    let (mut rows, mut labels) = (Vec::new(), Vec::new());
    for (c, centre) in centres.iter().enumerate() {
        for _ in 0..per_class {
            rows.extend(centre.iter().map(|v| (v + noise * rng.normal()) as f32));
            labels.push(c as u32);
        }
    }
    (rows, labels)
}

pub(crate) fn small_config(epochs: usize, seed: u64) -> FitConfig {
    FitConfig {
        epochs,
        batch_size: 32,
        embedding_dim: 32,
        seed,
        ..FitConfig::default()
    }
}

/// Training data without a validation split.
pub(crate) fn only_train(data: Dataset<'_>, classes: usize) -> TrainData<'_> {
    TrainData {
        train: data,
        views: None,
        val: None,
        classes,
    }
}

fn run(seed: u64, epochs: usize) -> Trained {
    let (rows, labels) = clustered(20, 30, 64, 0.8, 7);
    let data = Dataset {
        rows: &rows,
        dim: 64,
        labels: &labels,
    };
    let config = small_config(epochs, seed);
    fit(
        &only_train(data, 20),
        None,
        &config,
        &Device::Cpu,
        &CancelToken::new(),
        |_| {},
    )
    .unwrap()
}

#[test]
fn loss_falls_and_accuracy_rises_on_clustered_features() {
    let trained = run(1, 20);
    let h = &trained.history;
    for e in h {
        eprintln!(
            "epoch {:2}: loss {:.4} acc {:.3} lr {:.5} {:.1} ms",
            e.epoch,
            e.loss,
            e.accuracy,
            e.lr,
            e.seconds * 1e3
        );
    }
    let (first, last) = (&h[0], &h[h.len() - 1]);
    assert!(
        last.loss < 0.5 * first.loss,
        "{} → {}",
        first.loss,
        last.loss
    );
    assert!(last.accuracy > 0.9, "accuracy {}", last.accuracy);
    assert!(first.accuracy < last.accuracy);
}

#[test]
fn same_seed_gives_identical_losses() {
    let a: Vec<f64> = run(3, 3).history.iter().map(|e| e.loss).collect();
    let b: Vec<f64> = run(3, 3).history.iter().map(|e| e.loss).collect();
    let c: Vec<f64> = run(4, 3).history.iter().map(|e| e.loss).collect();
    assert_eq!(a, b);
    assert_ne!(a, c, "the seed must matter");
}

#[test]
fn schedule_warms_up_then_decays_to_min() {
    let lr = |s| lr_at(s, 100, 10, 1.0, 0.01);
    assert!((lr(0) - 0.1).abs() < 1e-12);
    assert!((lr(9) - 1.0).abs() < 1e-12);
    assert!((lr(10) - 1.0).abs() < 1e-12);
    assert!((lr(99) - 0.01).abs() < 1e-12);
    assert!(lr(50) < lr(30) && lr(50) > lr(80));
}

#[test]
fn a_cancelled_fit_stops() {
    let (rows, labels) = clustered(3, 4, 8, 0.1, 1);
    let data = Dataset {
        rows: &rows,
        dim: 8,
        labels: &labels,
    };
    let cancel = CancelToken::new();
    cancel.cancel();
    let got = fit(
        &only_train(data, 3),
        None,
        &small_config(2, 0),
        &Device::Cpu,
        &cancel,
        |_| {},
    );
    assert!(matches!(got, Err(Error::Cancelled)));
}

/// Rows and their labels.
type Owned = (Vec<f32>, Vec<u32>);

/// Every `every`-th row goes to validation (a quarter of each class of 12), the rest to training.
fn split(rows: &[f32], labels: &[u32], dim: usize, every: usize) -> (Owned, Owned) {
    let (mut train, mut val) = ((vec![], vec![]), (vec![], vec![]));
    for (i, &l) in labels.iter().enumerate() {
        let to = if i % every == 0 { &mut val } else { &mut train };
        to.0.extend_from_slice(&rows[i * dim..(i + 1) * dim]);
        to.1.push(l);
    }
    (train, val)
}

fn fit_with_val(noise: f64, patience: Option<usize>, epochs: usize) -> (Trained, f64) {
    let (rows, labels) = clustered(20, 12, 32, noise, 9);
    let ((tr, trl), (va, val)) = split(&rows, &labels, 32, 4);
    let train = Dataset {
        rows: &tr,
        dim: 32,
        labels: &trl,
    };
    let valid = Dataset {
        rows: &va,
        dim: 32,
        labels: &val,
    };
    let input = TrainData {
        train,
        views: None,
        val: Some(valid),
        classes: 20,
    };
    let config = FitConfig {
        patience,
        ..small_config(epochs, 2)
    };
    let t = fit(
        &input,
        None,
        &config,
        &Device::Cpu,
        &CancelToken::new(),
        |_| {},
    )
    .unwrap();
    let map = knn_map_at_5(&t.neck, &train, &valid, &Device::Cpu).unwrap();
    (t, map)
}

/// `fit_with_val`'s data with `k` noisy views of every training row.
fn fit_with_views(k: usize, seed: u64) -> (Trained, f64) {
    let (rows, labels) = clustered(20, 12, 32, 1.5, 9);
    let ((tr, trl), (va, val)) = split(&rows, &labels, 32, 4);
    let mut rng = SplitMix64::new(5);
    let views: Vec<f32> = tr
        .chunks(32)
        .flat_map(|row| {
            let mut out = Vec::new();
            for _ in 0..k {
                out.extend(row.iter().map(|v| v + 0.5 * rng.normal() as f32));
            }
            out
        })
        .collect();
    let train = Dataset {
        rows: &tr,
        dim: 32,
        labels: &trl,
    };
    let valid = Dataset {
        rows: &va,
        dim: 32,
        labels: &val,
    };
    let input = TrainData {
        train,
        views: (k > 0).then_some(Views {
            rows: &views,
            per_row: k,
        }),
        val: Some(valid),
        classes: 20,
    };
    let t = fit(
        &input,
        None,
        &small_config(6, seed),
        &Device::Cpu,
        &CancelToken::new(),
        |_| {},
    )
    .unwrap();
    // Validation is plain held-out rows against plain training rows.
    let map = knn_map_at_5(&t.neck, &train, &valid, &Device::Cpu).unwrap();
    (t, map)
}

#[test]
fn training_draws_views_and_validates_on_plain_rows() {
    let (with, map) = fit_with_views(4, 2);
    let (again, _) = fit_with_views(4, 2);
    let (without, _) = fit_with_views(0, 2);
    let losses = |t: &Trained| -> Vec<f64> { t.history.iter().map(|e| e.loss).collect() };
    assert_eq!(
        losses(&with),
        losses(&again),
        "views are drawn from the seed"
    );
    assert_ne!(losses(&with), losses(&without), "views are trained on");
    assert_eq!(with.history.len(), 6, "an epoch is one draw per row");
    // The reported validation MAP@5 is the plain one: the best epoch's
    // equals what the returned neck scores on plain rows.
    let best = with.best_epoch.unwrap();
    assert_eq!(with.history[best].val_map5, Some(map));
}

#[test]
fn views_of_the_wrong_size_are_refused() {
    let (rows, labels) = clustered(3, 4, 8, 0.1, 1);
    let data = Dataset {
        rows: &rows,
        dim: 8,
        labels: &labels,
    };
    let short = vec![0.0; rows.len()];
    let input = TrainData {
        views: Some(Views {
            rows: &short,
            per_row: 2,
        }),
        ..only_train(data, 3)
    };
    let got = fit(
        &input,
        None,
        &small_config(1, 0),
        &Device::Cpu,
        &CancelToken::new(),
        |_| {},
    );
    assert!(matches!(got, Err(Error::Invalid(_))), "{got:?}");
}

#[test]
fn early_stopping_stops_on_a_plateau() {
    // Nearly noiseless clusters: MAP@5 reaches 1 at once and cannot improve.
    let (t, map) = fit_with_val(0.05, Some(3), 30);
    let best = t.best_epoch.unwrap();
    assert_eq!(t.history[best].val_map5, Some(1.0));
    assert_eq!(
        t.history.len(),
        best + 1 + 3,
        "stopped 3 epochs after the best"
    );
    assert!(t.history.len() < 30);
    assert_eq!(map, 1.0);
}

#[test]
fn validation_returns_the_best_epochs_weights() {
    let (t, map) = fit_with_val(2.5, None, 12);
    let maps: Vec<f64> = t.history.iter().map(|e| e.val_map5.unwrap()).collect();
    eprintln!("val MAP@5 per epoch: {maps:?}, best {:?}", t.best_epoch);
    let best = t.best_epoch.unwrap();
    assert_eq!(t.history.len(), 12, "no patience: every epoch runs");
    assert!(maps.iter().all(|&m| m <= maps[best]));
    assert_eq!(map, maps[best], "the returned neck is the best epoch's");
    // Pinned for this seed: the best is not the last epoch, so returning
    // the last weights would fail the line above.
    assert_ne!(maps[best], maps[maps.len() - 1]);
}
