//! YOLOv5's letterbox: scale to fit, keep the aspect ratio, pad with grey 114.
//!
//! Mirrors `utils/augmentations.py::letterbox` (`scaleup=True`): with
//! `auto` (dynamic-shape models) padding only rounds each side up to a multiple
//! of the stride; otherwise the result is the full square input. The padding is
//! split between both sides with YOLOv5's ±0.1 rounding, and boxes are mapped
//! back by undoing the shift and the scale.

use super::BBox;

/// Where a photo lands inside the model input.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Letterbox {
    /// Photo pixels → input pixels.
    pub scale: f32,
    /// Size of the resized photo inside the input.
    pub resized: (u32, u32),
    pub left: u32,
    pub top: u32,
    /// Size of the model input.
    pub width: u32,
    pub height: u32,
}

impl Letterbox {
    pub fn new(photo_w: u32, photo_h: u32, size: u32, stride: u32, auto: bool) -> Self {
        let (w, h) = (photo_w as f64, photo_h as f64);
        let r = (size as f64 / h).min(size as f64 / w);
        let nw = (w * r).round_ties_even().max(1.0);
        let nh = (h * r).round_ties_even().max(1.0);
        let (mut dw, mut dh) = (size as f64 - nw, size as f64 - nh);
        if auto {
            dw %= stride as f64;
            dh %= stride as f64;
        }
        let (dw, dh) = (dw / 2.0, dh / 2.0);
        let top = (dh - 0.1).round_ties_even().max(0.0);
        let bottom = (dh + 0.1).round_ties_even().max(0.0);
        let left = (dw - 0.1).round_ties_even().max(0.0);
        let right = (dw + 0.1).round_ties_even().max(0.0);
        Self {
            scale: r as f32,
            resized: (nw as u32, nh as u32),
            left: left as u32,
            top: top as u32,
            width: (nw + left + right) as u32,
            height: (nh + top + bottom) as u32,
        }
    }

    /// A box in input pixels → photo pixels, clipped to the photo.
    pub fn to_photo(&self, b: BBox, photo_w: u32, photo_h: u32) -> BBox {
        let (l, t) = (self.left as f32, self.top as f32);
        BBox {
            x1: (b.x1 - l) / self.scale,
            y1: (b.y1 - t) / self.scale,
            x2: (b.x2 - l) / self.scale,
            y2: (b.y2 - t) / self.scale,
        }
        .clip(photo_w as f32, photo_h as f32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn landscape_photo_is_padded_top_and_bottom_to_the_square() {
        // 1280×720 into 640: r = 0.5, 640×360, 280 px of padding split 140/140.
        let lb = Letterbox::new(1280, 720, 640, 32, false);
        assert_eq!(lb.scale, 0.5);
        assert_eq!(lb.resized, (640, 360));
        assert_eq!((lb.left, lb.top), (0, 140));
        assert_eq!((lb.width, lb.height), (640, 640));
    }

    #[test]
    fn auto_pads_only_to_a_multiple_of_the_stride() {
        // 360 rows → pad 280 % 32 = 24 → 12 on each side → 384 rows.
        let lb = Letterbox::new(1280, 720, 640, 32, true);
        assert_eq!((lb.left, lb.top), (0, 12));
        assert_eq!((lb.width, lb.height), (640, 384));
        assert_eq!(lb.height % 32, 0);
    }

    #[test]
    fn odd_padding_puts_the_extra_pixel_after_the_photo() {
        // 100×75 into 64: r = 0.64, 64×48, 16 px → 8/8; 100×77: 64×49.28→49, 15 px → 7 top, 8 bottom.
        let lb = Letterbox::new(100, 77, 64, 32, false);
        assert_eq!(lb.resized, (64, 49));
        assert_eq!(lb.top, 7);
        assert_eq!(lb.height, 64);
    }

    #[test]
    fn small_photos_are_scaled_up() {
        let lb = Letterbox::new(32, 16, 64, 32, false);
        assert_eq!(lb.scale, 2.0);
        assert_eq!(lb.resized, (64, 32));
        assert_eq!(lb.top, 16);
    }

    #[test]
    fn boxes_map_back_to_the_photo() {
        let lb = Letterbox::new(1280, 720, 640, 32, false);
        let b = lb.to_photo(
            BBox {
                x1: 100.0,
                y1: 150.0,
                x2: 200.0,
                y2: 640.0,
            },
            1280,
            720,
        );
        assert_eq!((b.x1, b.y1, b.x2), (200.0, 20.0, 400.0));
        assert_eq!(b.y2, 720.0, "clipped to the photo");
    }
}
