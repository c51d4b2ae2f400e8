//! Embedding crops with the pack's ensemble.
//!
//! For each backbone: preprocess the crop (resize, normalise, NCHW), run the
//! ONNX backbone (GeM-pooled features) on its worker thread, apply the neck in
//! Rust (BatchNorm folded into the Linear), L2-normalise. The per-backbone
//! vectors are concatenated in the ensemble order and normalised again, so
//! every model weighs the same and the result is a unit vector whose dot
//! products are cosine similarities.
//!
//! Work is batched, and batch `k + 1` is prepared while batch `k` runs: the
//! workers of all backbones run at once. Batch size never changes a result:
//! every row is computed independently (tested for 1 vs 32).
//!
//! No embedding that is not a finite number leaves here: opening the
//! embedder runs a probe image through every backbone and refuses a pack
//! whose embedding of it is not finite or is zero, and a batch whose
//! features or embeddings are not finite is an error naming the model, so
//! NaN never reaches a catalogue.

use image::RgbImage;
use ndarray::{s, Array2, Array3, Array4, ArrayView2};

use crate::cancel::CancelToken;
use crate::detect::BBox;
use crate::error::{Error, Result};
use crate::imageops;
use crate::packs::{Backbone, BackboneSpec, Pack, ResizeMode};
use crate::runtime::{InferenceWorker, SessionConfig, WorkerInfo};

/// Crops per batch. Large enough to amortise ORT's per-run cost, small enough
/// to keep memory flat (32 × 3 × 384² floats ≈ 57 MB).
pub const DEFAULT_BATCH: usize = 16;

/// A region of a photo to embed (the whole photo when `region` is `None`).
#[derive(Debug, Clone, Copy)]
pub struct Crop<'a> {
    pub image: &'a RgbImage,
    pub region: Option<BBox>,
}

/// The ensemble embedding of one crop.
#[derive(Debug, Clone, PartialEq)]
pub struct Embedding {
    /// Unit-length concatenation, in ensemble order.
    pub vector: Vec<f32>,
    /// Each backbone's neck output before normalisation (what PyTorch's
    /// `HappyWhaleModel.extract()` returns; averaged over the flip when TTA is on).
    pub parts: Vec<Vec<f32>>,
    /// Each backbone's GeM-pooled features, before the neck (averaged over
    /// the flip when TTA is on: the neck is affine, so the neck of the mean
    /// is the mean of the necks). What fine-tuning trains on, and what
    /// [`embed_features`] turns back into this embedding with any neck.
    pub features: Vec<Vec<f32>>,
}

/// The pack's backbones, each on its own worker thread.
#[derive(Debug)]
pub struct Embedder {
    backbones: Vec<Backbone>,
    workers: Vec<InferenceWorker>,
    flip_tta: bool,
    batch: usize,
}

impl Embedder {
    /// Open every backbone and check its ONNX file against the manifest.
    pub fn open(pack: &Pack, config: &SessionConfig) -> Result<Self> {
        let mut workers = Vec::new();
        let mut batch = DEFAULT_BATCH;
        for b in &pack.backbones {
            let worker = InferenceWorker::spawn(&b.onnx, config)?;
            check_shapes(b, worker.info())?;
            if worker.info().input_shape[0] > 0 {
                batch = batch.min(worker.info().input_shape[0] as usize);
            }
            workers.push(worker);
        }
        let embedder = Self {
            backbones: pack.backbones.clone(),
            workers,
            flip_tta: pack.manifest.ensemble.flip_tta,
            batch,
        };
        embedder.probe(pack)?;
        Ok(embedder)
    }

    /// Embed a drawn probe image: each backbone's embedding of it must be
    /// finite and of non-zero length, else the pack is refused, naming the
    /// backbone's file.
    fn probe(&self, pack: &Pack) -> Result<()> {
        let image = RgbImage::from_fn(61, 47, |x, y| {
            image::Rgb([(x * 4) as u8, (y * 5) as u8, ((x * 7 + y * 3) % 256) as u8])
        });
        let crop = Crop {
            image: &image,
            region: None,
        };
        let who = |i: usize| {
            format!(
                "backbone `{}` of pack {} {}",
                self.backbones[i].spec.name,
                pack.name(),
                pack.version()
            )
        };
        let embedded = self
            .embed(&[crop], &CancelToken::new())
            .map_err(|e| match e {
                Error::ModelOutput { file, reason } => {
                    let i = self.workers.iter().position(|w| w.info().file == file);
                    Error::ModelOutput {
                        reason: format!(
                            "{}: a probe image: {reason}",
                            i.map_or_else(|| format!("pack {}", pack.name()), who)
                        ),
                        file,
                    }
                }
                other => other,
            })?;
        for (i, part) in embedded[0].parts.iter().enumerate() {
            if part.iter().all(|v| *v == 0.0) {
                return Err(Error::ModelOutput {
                    file: self.workers[i].info().file.clone(),
                    reason: format!(
                        "{}: the embedding of a probe image is zero, so every pair would score 0.000",
                        who(i)
                    ),
                });
            }
        }
        Ok(())
    }

    /// Change the batch size (at least 1, at most what the models accept).
    pub fn with_batch(mut self, batch: usize) -> Self {
        let fixed = self
            .workers
            .iter()
            .filter_map(|w| {
                (w.info().input_shape[0] > 0).then_some(w.info().input_shape[0] as usize)
            })
            .min();
        self.batch = batch.max(1).min(fixed.unwrap_or(usize::MAX));
        self
    }

    pub fn workers(&self) -> impl Iterator<Item = &WorkerInfo> {
        self.workers.iter().map(InferenceWorker::info)
    }

    pub fn backbones(&self) -> &[Backbone] {
        &self.backbones
    }

    pub fn dim(&self) -> usize {
        self.backbones.iter().map(|b| b.neck.embedding_dim()).sum()
    }

    /// The exact tensor backbone `index` gets for `crop` (`[3, H, W]`).
    pub fn preprocess(&self, index: usize, crop: Crop<'_>, flip: bool) -> Array3<f32> {
        preprocess(&self.backbones[index].spec, crop, flip)
    }

    /// Embed every crop, in order.
    pub fn embed(&self, crops: &[Crop<'_>], cancel: &CancelToken) -> Result<Vec<Embedding>> {
        let mut out = Vec::with_capacity(crops.len());
        let mut pending = None;
        for chunk in crops.chunks(self.batch) {
            if cancel.is_cancelled() {
                return Err(Error::Cancelled);
            }
            // Prepare and queue this batch while the previous one runs.
            let receivers = self
                .workers
                .iter()
                .enumerate()
                .map(|(i, worker)| worker.submit(self.batch_tensor(i, chunk), cancel))
                .collect::<Result<Vec<_>>>()?;
            if let Some((n, previous)) = pending.replace((chunk.len(), receivers)) {
                out.extend(self.collect(n, previous)?);
            }
        }
        if let Some((n, last)) = pending {
            out.extend(self.collect(n, last)?);
        }
        Ok(out)
    }

    fn batch_tensor(&self, index: usize, chunk: &[Crop<'_>]) -> Array4<f32> {
        let [h, w] = self.backbones[index].spec.input_size;
        let copies = if self.flip_tta { 2 } else { 1 };
        let n = chunk.len();
        let mut input = Array4::<f32>::zeros((n * copies, 3, h as usize, w as usize));
        for (row, crop) in chunk.iter().enumerate() {
            for copy in 0..copies {
                input
                    .slice_mut(s![copy * n + row, .., .., ..])
                    .assign(&self.preprocess(index, *crop, copy == 1));
            }
        }
        input
    }

    fn collect(
        &self,
        n: usize,
        receivers: Vec<crossbeam_channel::Receiver<Result<ndarray::ArrayD<f32>>>>,
    ) -> Result<Vec<Embedding>> {
        let mut parts_per_backbone = Vec::with_capacity(receivers.len());
        let mut features_per_backbone = Vec::with_capacity(receivers.len());
        for ((rx, backbone), worker) in receivers
            .into_iter()
            .zip(&self.backbones)
            .zip(&self.workers)
        {
            let gone = || Error::WorkerGone {
                file: worker.info().file.clone(),
            };
            let features = rx.recv().map_err(|_| gone())??;
            let features = features
                .into_dimensionality::<ndarray::Ix2>()
                .ok()
                .filter(|f| f.ncols() == backbone.spec.feature_dim)
                .ok_or_else(|| Error::ModelOutput {
                    file: worker.info().file.clone(),
                    reason: format!(
                        "output is not [N, {}] (pack.toml feature_dim)",
                        backbone.spec.feature_dim
                    ),
                })?;
            let features = if self.flip_tta {
                (&features.slice(s![..n, ..]) + &features.slice(s![n.., ..])) * 0.5
            } else {
                features
            };
            let parts = backbone.neck.forward(features.view());
            for (what, block) in [("features", &features), ("embedding", &parts)] {
                if let Some(((row, _), v)) = block.indexed_iter().find(|(_, v)| !v.is_finite()) {
                    return Err(Error::ModelOutput {
                        file: worker.info().file.clone(),
                        reason: format!(
                            "the {what} of crop {row} of the batch are not finite ({v}): the model or its neck is broken"
                        ),
                    });
                }
            }
            parts_per_backbone.push(parts);
            features_per_backbone.push(features);
        }
        Ok((0..n)
            .map(|row| {
                let parts: Vec<Vec<f32>> = parts_per_backbone
                    .iter()
                    .map(|p| p.row(row).to_vec())
                    .collect();
                let features = features_per_backbone
                    .iter()
                    .map(|f| f.row(row).to_vec())
                    .collect();
                Embedding {
                    vector: ensemble_vector(&parts),
                    parts,
                    features,
                }
            })
            .collect())
    }
}

/// The tensor a backbone described by `spec` gets for `crop` (`[3, H, W]`):
/// resized with the pack's filter (stretched or letterboxed), normalised;
/// `flip` mirrors it.
pub fn preprocess(spec: &BackboneSpec, crop: Crop<'_>, flip: bool) -> Array3<f32> {
    let [h, w] = spec.input_size;
    let filter = spec.resize_filter;
    let mut out = Array3::<f32>::zeros((3, h as usize, w as usize));
    match spec.resize {
        ResizeMode::Stretch => {
            let img = imageops::resize_region_with(crop.image, crop.region, w, h, filter);
            imageops::write_chw(&img, out.view_mut(), 0, 0, spec.mean, spec.std, flip);
        }
        ResizeMode::Letterbox => {
            let (cw, ch) = imageops::region_size(crop.image, crop.region, filter);
            let r = (w as f32 / cw).min(h as f32 / ch);
            let nw = ((cw * r).round() as u32).clamp(1, w);
            let nh = ((ch * r).round() as u32).clamp(1, h);
            let img = imageops::resize_region_with(crop.image, crop.region, nw, nh, filter);
            // Zeros are the mean colour after normalisation: the pad is neutral.
            let (left, top) = ((w - nw) / 2, (h - nh) / 2);
            imageops::write_chw(
                &img,
                out.view_mut(),
                left as usize,
                top as usize,
                spec.mean,
                spec.std,
                flip,
            );
        }
    }
    out
}

/// The ensemble vector of per-backbone neck outputs: each L2-normalised,
/// concatenated in order, normalised again.
pub fn ensemble_vector(parts: &[Vec<f32>]) -> Vec<f32> {
    let mut vector = Vec::with_capacity(parts.iter().map(Vec::len).sum());
    for part in parts {
        let mut unit = part.clone();
        l2_normalise(&mut unit);
        vector.extend(unit);
    }
    l2_normalise(&mut vector);
    vector
}

/// Embeddings from cached backbone features, without images or ONNX:
/// `features[b]` is `[N, F_b]` for backbone `b` of `backbones` (in ensemble
/// order). Gives what [`Embedder::embed`] gives for the same crops, with
/// whatever necks `backbones` carry (a fine-tuned version's, say).
pub fn embed_features(
    backbones: &[Backbone],
    features: &[ArrayView2<f32>],
) -> Result<Vec<Vec<f32>>> {
    if features.len() != backbones.len() {
        return Err(Error::Invalid(format!(
            "{} feature blocks for {} backbones",
            features.len(),
            backbones.len()
        )));
    }
    let n = features.first().map_or(0, |f| f.nrows());
    if n == 0 {
        return Ok(Vec::new());
    }
    let mut parts_per_backbone = Vec::with_capacity(backbones.len());
    for (b, f) in backbones.iter().zip(features) {
        if f.nrows() != n || f.ncols() != b.neck.feature_dim() {
            return Err(Error::Invalid(format!(
                "features for backbone `{}` are [{}, {}], expected [{n}, {}]",
                b.spec.name,
                f.nrows(),
                f.ncols(),
                b.neck.feature_dim()
            )));
        }
        parts_per_backbone.push(b.neck.forward(*f));
    }
    Ok((0..n)
        .map(|row| {
            let parts: Vec<Vec<f32>> = parts_per_backbone
                .iter()
                .map(|p: &Array2<f32>| p.row(row).to_vec())
                .collect();
            ensemble_vector(&parts)
        })
        .collect())
}

fn check_shapes(b: &Backbone, info: &WorkerInfo) -> Result<()> {
    let bad = |reason: String| Error::ModelOutput {
        file: info.file.clone(),
        reason,
    };
    let input = &info.input_shape;
    let [h, w] = b.spec.input_size.map(i64::from);
    let fits = input.len() == 4
        && (input[1] == -1 || input[1] == 3)
        && (input[2] == -1 || input[2] == h)
        && (input[3] == -1 || input[3] == w);
    if !fits {
        return Err(bad(format!(
            "input `{}` has shape {input:?}, but pack.toml says backbone `{}` takes [N, 3, {h}, {w}]",
            info.input, b.spec.name
        )));
    }
    let output = &info.output_shape;
    let f = b.spec.feature_dim as i64;
    if output.len() != 2 || (output[1] != -1 && output[1] != f) {
        return Err(bad(format!(
            "output `{}` has shape {output:?}, but pack.toml says backbone `{}` has feature_dim {f}",
            info.output, b.spec.name
        )));
    }
    Ok(())
}

/// Scale to unit length (a zero vector stays zero).
pub fn l2_normalise(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

/// Hex sha256 of a vector's little-endian bytes: a short, exact fingerprint.
pub fn digest(v: &[f32]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for x in v {
        h.update(x.to_le_bytes());
    }
    hex::encode(h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::packs::ResizeFilter;

    fn spec(resize: &str, filter: &str) -> BackboneSpec {
        toml::from_str(&format!(
            "name = \"a\"\nfile = \"a.onnx\"\ninput_size = [12, 16]\nresize = \"{resize}\"\n\
             resize_filter = \"{filter}\"\nmean = [0.5, 0.4, 0.3]\nstd = [0.2, 0.25, 0.3]\n\
             feature_dim = 8\n[neck]\nfile = \"a.neck.safetensors\"\n"
        ))
        .unwrap()
    }

    fn photo() -> RgbImage {
        RgbImage::from_fn(41, 29, |x, y| {
            image::Rgb([
                ((x * 37 + y * 11) % 256) as u8,
                ((x * x + 3 * y) % 256) as u8,
                ((x * y * 7) % 256) as u8,
            ])
        })
    }

    /// `img` normalised into a zero `[3, 12, 16]` tensor at (`left`, `top`).
    fn expected(spec: &BackboneSpec, img: &RgbImage, left: usize, top: usize) -> Array3<f32> {
        let mut out = Array3::<f32>::zeros((3, 12, 16));
        imageops::write_chw(img, out.view_mut(), left, top, spec.mean, spec.std, false);
        out
    }

    #[test]
    fn preprocess_uses_the_opencv_filter_when_stretching() {
        let image = photo();
        let region = Some(BBox {
            x1: 3.7,
            y1: 2.2,
            x2: 30.9,
            y2: 15.6,
        });
        let crop = Crop {
            image: &image,
            region,
        };
        let cv = spec("stretch", "opencv-linear");
        let rect = imageops::pixel_crop(&image, region);
        let want = imageops::resize_opencv_linear(&image, rect, 16, 12);
        assert_eq!(preprocess(&cv, crop, false), expected(&cv, &want, 0, 0));
        let aa = spec("stretch", "antialiased");
        let want = imageops::resize_region(&image, region, 16, 12);
        assert_eq!(preprocess(&aa, crop, false), expected(&aa, &want, 0, 0));
        assert_ne!(preprocess(&aa, crop, false), preprocess(&cv, crop, false));
    }

    #[test]
    fn preprocess_uses_the_opencv_filter_when_letterboxing() {
        let image = photo();
        // The integer crop is 27x13 (img[2:15, 3:30]): fitted into 16x12 it
        // is 16x8 (the float box, 26.6x13.4, would give 16x8 as well), two rows
        // of padding above and below.
        let region = Some(BBox {
            x1: 3.7,
            y1: 2.2,
            x2: 30.3,
            y2: 15.6,
        });
        let crop = Crop {
            image: &image,
            region,
        };
        let cv = spec("letterbox", "opencv-linear");
        let rect = imageops::pixel_crop(&image, region);
        assert_eq!((rect.width, rect.height), (27, 13));
        let want = imageops::resize_opencv_linear(&image, rect, 16, 8);
        assert_eq!(preprocess(&cv, crop, false), expected(&cv, &want, 0, 2));
        let whole = Crop {
            image: &image,
            region: None,
        };
        // 41x29 into 16x12: 16x11, top 0.
        let want =
            imageops::resize_opencv_linear(&image, imageops::pixel_crop(&image, None), 16, 11);
        assert_eq!(preprocess(&cv, whole, false), expected(&cv, &want, 0, 0));
        assert_eq!(
            spec("letterbox", "antialiased").resize_filter,
            ResizeFilter::Antialiased
        );
    }
}
