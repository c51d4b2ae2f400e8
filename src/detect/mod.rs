//! Finding fins and bodies: a YOLOv5 detector run through ONNX Runtime.
//!
//! Photos are letterboxed ([`letterbox`]) into the model input, batched, run on
//! the detector's worker thread, and the raw `[N, boxes, 5 + classes]` output
//! is decoded and suppressed ([`decode`]) then mapped back to photo pixels.
//! Each detection also carries its crop box: the box grown by the pack's
//! margin, clipped to the photo, which is what the embedder sees.

pub mod decode;
pub mod letterbox;

use std::path::Path;

use image::RgbImage;
use ndarray::{Array4, Axis};
use serde::{Deserialize, Serialize};

pub use letterbox::Letterbox;

use crate::cancel::CancelToken;
use crate::error::{Error, Result};
use crate::imageops;
use crate::packs::DetectorSpec;
use crate::runtime::{InferenceWorker, SessionConfig, WorkerInfo};

/// A photo as the detector reads it: its pixels (the whole photo, or a
/// reduction of it), and its full size, which boxes are given in.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    pub image: &'a RgbImage,
    /// The photo in `image`'s pixels; `None` when `image` is all of it at
    /// full size.
    pub region: Option<BBox>,
    pub width: u32,
    pub height: u32,
}

impl<'a> Frame<'a> {
    pub fn full(image: &'a RgbImage) -> Self {
        Self {
            image,
            region: None,
            width: image.width(),
            height: image.height(),
        }
    }

    /// A decoded photo's view, reduced or not: boxes come out in the
    /// photo's full-size pixels either way.
    pub fn of(picture: &'a crate::photo::Picture) -> Self {
        Self {
            image: picture.view(),
            region: (picture.shrink() > 1).then(|| picture.view_box(picture.whole())),
            width: picture.width(),
            height: picture.height(),
        }
    }
}

/// The largest fixed batch a detector may declare: 64 photos at the
/// largest input (2048²) are 3 GiB of input tensor.
pub const MAX_FIXED_BATCH: usize = 64;

/// An axis-aligned box in pixels, corners inclusive of x1/y1, exclusive of x2/y2.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BBox {
    pub x1: f32,
    pub y1: f32,
    pub x2: f32,
    pub y2: f32,
}

impl BBox {
    pub fn width(&self) -> f32 {
        (self.x2 - self.x1).max(0.0)
    }

    pub fn height(&self) -> f32 {
        (self.y2 - self.y1).max(0.0)
    }

    pub fn area(&self) -> f32 {
        self.width() * self.height()
    }

    pub fn iou(&self, other: &BBox) -> f32 {
        let inter = BBox {
            x1: self.x1.max(other.x1),
            y1: self.y1.max(other.y1),
            x2: self.x2.min(other.x2),
            y2: self.y2.min(other.y2),
        }
        .area();
        let union = self.area() + other.area() - inter;
        if union > 0.0 {
            inter / union
        } else {
            0.0
        }
    }

    pub fn clip(&self, width: f32, height: f32) -> BBox {
        BBox {
            x1: self.x1.clamp(0.0, width),
            y1: self.y1.clamp(0.0, height),
            x2: self.x2.clamp(0.0, width),
            y2: self.y2.clamp(0.0, height),
        }
    }

    /// Grow by `margin` × width (height) on each side, then clip.
    pub fn expand(&self, margin: f32, width: f32, height: f32) -> BBox {
        let (dx, dy) = (self.width() * margin, self.height() * margin);
        BBox {
            x1: self.x1 - dx,
            y1: self.y1 - dy,
            x2: self.x2 + dx,
            y2: self.y2 + dy,
        }
        .clip(width, height)
    }
}

/// A box before it is mapped to the photo.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RawDetection {
    pub bbox: BBox,
    pub score: f32,
    pub class: usize,
}

/// A fin or body found in a photo.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    /// In photo pixels (after EXIF orientation).
    pub bbox: BBox,
    /// `bbox` grown by the pack's crop margin: what gets embedded.
    pub crop: BBox,
    pub class: String,
    pub score: f32,
    /// Whether the pack embeds this class (`crop_classes`).
    pub embed: bool,
}

/// The pack's detector, on its own worker thread.
#[derive(Debug)]
pub struct Detector {
    spec: DetectorSpec,
    worker: InferenceWorker,
    max_batch: usize,
}

impl Detector {
    /// Open the detector and check the ONNX file against the manifest.
    pub fn open(spec: &DetectorSpec, file: &Path, config: &SessionConfig) -> Result<Self> {
        // A spec built in code gets the bounds a loaded pack has: each size
        // here is an allocation per batch.
        crate::packs::validate::check_detector(spec).map_err(|reason| Error::ModelOutput {
            file: file.to_path_buf(),
            reason: format!("pack.toml: {reason}"),
        })?;
        let worker = InferenceWorker::spawn(file, config)?;
        let info = worker.info();
        let bad = |reason: String| Error::ModelOutput {
            file: file.to_path_buf(),
            reason,
        };
        let input = &info.input_shape;
        if input.len() != 4 || (input[1] != -1 && input[1] != 3) {
            return Err(bad(format!(
                "input `{}` has shape {input:?}, expected [N, 3, H, W]",
                info.input
            )));
        }
        if !spec.dynamic_shape {
            let size = spec.input_size as i64;
            if (input[2] != -1 && input[2] != size) || (input[3] != -1 && input[3] != size) {
                return Err(bad(format!(
                    "input `{}` has shape {input:?}, but pack.toml says detector.input_size = {size}",
                    info.input
                )));
            }
        }
        let want = 5 + spec.classes.len() as i64;
        let output = &info.output_shape;
        if output.len() != 3 || (output[2] != -1 && output[2] != want) {
            return Err(bad(format!(
                "output `{}` has shape {output:?}, expected [N, boxes, {want}] for {} classes",
                info.output,
                spec.classes.len()
            )));
        }
        // Exports with a fixed batch of one are common; honour them, up to
        // a batch whose input still fits in memory.
        if input[0] > MAX_FIXED_BATCH as i64 {
            return Err(bad(format!(
                "input `{}` has a fixed batch of {}, more than the {MAX_FIXED_BATCH} WhaleID runs at once",
                info.input, input[0]
            )));
        }
        let max_batch = if input[0] > 0 { input[0] as usize } else { 8 };
        Ok(Self {
            spec: spec.clone(),
            worker,
            max_batch,
        })
    }

    pub fn info(&self) -> &WorkerInfo {
        self.worker.info()
    }

    pub fn spec(&self) -> &DetectorSpec {
        &self.spec
    }

    /// Detect in each photo; one list per photo, best first.
    pub fn detect(
        &self,
        photos: &[&RgbImage],
        cancel: &CancelToken,
    ) -> Result<Vec<Vec<Detection>>> {
        let frames: Vec<Frame<'_>> = photos.iter().map(|p| Frame::full(p)).collect();
        self.detect_frames(&frames, cancel)
    }

    /// [`Self::detect`] on photos given at any scale: each letterboxed from
    /// its pixels, with boxes in its full-size pixels.
    pub fn detect_frames(
        &self,
        photos: &[Frame<'_>],
        cancel: &CancelToken,
    ) -> Result<Vec<Vec<Detection>>> {
        let mut out = Vec::with_capacity(photos.len());
        // Dynamic-shape letterboxes differ per photo: those run one at a time.
        let batch = if self.spec.dynamic_shape {
            1
        } else {
            self.max_batch
        };
        for chunk in photos.chunks(batch) {
            if cancel.is_cancelled() {
                return Err(Error::Cancelled);
            }
            let boxes: Vec<Letterbox> = chunk
                .iter()
                .map(|p| {
                    Letterbox::new(
                        p.width,
                        p.height,
                        self.spec.input_size,
                        self.spec.stride,
                        self.spec.dynamic_shape,
                    )
                })
                .collect();
            let (w, h) = (boxes[0].width as usize, boxes[0].height as usize);
            let mut input = Array4::<f32>::zeros((chunk.len(), 3, h, w));
            for ((photo, lb), mut slot) in
                chunk.iter().zip(&boxes).zip(input.axis_iter_mut(Axis(0)))
            {
                let resized =
                    imageops::resize_region(photo.image, photo.region, lb.resized.0, lb.resized.1);
                let (mean, std) = ([0.0; 3], [1.0; 3]);
                imageops::fill_chw(slot.view_mut(), [114; 3], mean, std);
                imageops::write_chw(
                    &resized,
                    slot,
                    lb.left as usize,
                    lb.top as usize,
                    mean,
                    std,
                    false,
                );
            }
            let output = self.worker.run(input, cancel)?;
            let output =
                output
                    .into_dimensionality::<ndarray::Ix3>()
                    .map_err(|_| Error::ModelOutput {
                        file: self.info().file.clone(),
                        reason: "output is not [N, boxes, 5 + classes]".into(),
                    })?;
            for ((photo, lb), rows) in chunk.iter().zip(&boxes).zip(output.axis_iter(Axis(0))) {
                let rows = rows.as_standard_layout();
                let raw = decode::decode(
                    rows.as_slice().expect("standard layout"),
                    self.spec.classes.len(),
                    self.spec.confidence,
                );
                let kept = decode::nms(raw, self.spec.iou, self.spec.max_detections);
                out.push(
                    kept.into_iter()
                        .map(|d| self.to_detection(d, lb, photo.width, photo.height))
                        .collect(),
                );
            }
        }
        Ok(out)
    }

    fn to_detection(&self, d: RawDetection, lb: &Letterbox, w: u32, h: u32) -> Detection {
        let bbox = lb.to_photo(d.bbox, w, h);
        let class = self.spec.classes[d.class].clone();
        Detection {
            crop: bbox.expand(self.spec.crop_margin, w as f32, h as f32),
            embed: self.spec.crop_classes.contains(&class),
            bbox,
            class,
            score: d.score,
        }
    }
}
