//! Turning YOLOv5's raw output into boxes: confidence filter, then
//! class-aware non-maximum suppression, as `utils/general.py::non_max_suppression`
//! does with `multi_label=False, agnostic=False`.

use super::{BBox, RawDetection};

/// Decode the rows of one image's output (`[boxes, 5 + classes]`, laid out as
/// centre x, centre y, width, height, objectness, class scores) into boxes in
/// model-input pixels whose `objectness × class score` passes `confidence`.
pub fn decode(rows: &[f32], classes: usize, confidence: f32) -> Vec<RawDetection> {
    let width = 5 + classes;
    let mut out = Vec::new();
    for row in rows.chunks_exact(width) {
        let objectness = row[4];
        if objectness.is_nan() || objectness <= confidence {
            continue;
        }
        let (class, score) = row[5..]
            .iter()
            .enumerate()
            .map(|(c, s)| (c, s * objectness))
            .fold(
                (0, f32::MIN),
                |best, cur| if cur.1 > best.1 { cur } else { best },
            );
        if score.is_nan() || score <= confidence {
            continue;
        }
        let (cx, cy, w, h) = (row[0], row[1], row[2], row[3]);
        out.push(RawDetection {
            bbox: BBox {
                x1: cx - w / 2.0,
                y1: cy - h / 2.0,
                x2: cx + w / 2.0,
                y2: cy + h / 2.0,
            },
            score,
            class,
        });
    }
    out
}

/// Greedy NMS within each class: keep the best box, drop same-class boxes that
/// overlap it by more than `iou`, repeat; at most `max_detections` kept, best first.
pub fn nms(mut dets: Vec<RawDetection>, iou: f32, max_detections: usize) -> Vec<RawDetection> {
    dets.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut kept: Vec<RawDetection> = Vec::new();
    for d in dets {
        if kept.len() >= max_detections {
            break;
        }
        let suppressed = kept
            .iter()
            .any(|k| k.class == d.class && k.bbox.iou(&d.bbox) > iou);
        if !suppressed {
            kept.push(d);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn det(x1: f32, y1: f32, x2: f32, y2: f32, score: f32, class: usize) -> RawDetection {
        RawDetection {
            bbox: BBox { x1, y1, x2, y2 },
            score,
            class,
        }
    }

    #[test]
    fn rows_decode_to_corner_boxes_with_combined_confidence() {
        // Two classes. Row 1: obj 0.8, class 1 wins at 0.9 → 0.72.
        // Row 2: objectness below threshold. Row 3: obj 0.5 × best 0.4 = 0.2 < 0.25.
        let rows = [
            50.0, 40.0, 20.0, 10.0, 0.8, 0.1, 0.9, //
            10.0, 10.0, 5.0, 5.0, 0.2, 1.0, 0.0, //
            10.0, 10.0, 5.0, 5.0, 0.5, 0.4, 0.1,
        ];
        let got = decode(&rows, 2, 0.25);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].class, 1);
        assert!((got[0].score - 0.72).abs() < 1e-6);
        assert_eq!(
            got[0].bbox,
            BBox {
                x1: 40.0,
                y1: 35.0,
                x2: 60.0,
                y2: 45.0
            }
        );
    }

    #[test]
    fn iou_of_hand_worked_boxes() {
        let a = BBox {
            x1: 0.0,
            y1: 0.0,
            x2: 10.0,
            y2: 10.0,
        };
        let b = BBox {
            x1: 5.0,
            y1: 0.0,
            x2: 15.0,
            y2: 10.0,
        };
        // Intersection 50, union 150.
        assert!((a.iou(&b) - 1.0 / 3.0).abs() < 1e-6);
        let far = BBox {
            x1: 20.0,
            y1: 20.0,
            x2: 30.0,
            y2: 30.0,
        };
        assert_eq!(a.iou(&far), 0.0);
    }

    #[test]
    fn nms_suppresses_overlaps_within_a_class_only() {
        let dets = vec![
            det(0.0, 0.0, 10.0, 10.0, 0.9, 0),
            det(1.0, 0.0, 11.0, 10.0, 0.8, 0), // IoU 0.818 with the first: dropped
            det(1.0, 0.0, 11.0, 10.0, 0.7, 1), // same box, other class: kept
            det(5.0, 0.0, 15.0, 10.0, 0.6, 0), // IoU 1/3 with the first: kept at 0.45
        ];
        let kept = nms(dets, 0.45, 10);
        let scores: Vec<f32> = kept.iter().map(|d| d.score).collect();
        assert_eq!(scores, vec![0.9, 0.7, 0.6]);
    }

    #[test]
    fn nms_keeps_best_first_and_caps_the_count() {
        let dets = vec![
            det(0.0, 0.0, 1.0, 1.0, 0.3, 0),
            det(5.0, 5.0, 6.0, 6.0, 0.9, 0),
            det(9.0, 9.0, 10.0, 10.0, 0.5, 0),
        ];
        let kept = nms(dets, 0.45, 2);
        let scores: Vec<f32> = kept.iter().map(|d| d.score).collect();
        assert_eq!(scores, vec![0.9, 0.5]);
    }
}
