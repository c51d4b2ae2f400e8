//! libjpeg-turbo's TurboJPEG 3 API, for what the `turbojpeg` crate does not
//! wrap: decoding only a region of a JPEG, at a DCT scale. One handle per
//! decode (initialising one costs microseconds); every call checks its
//! status, and warnings count as failures so the caller can fall back to the
//! path that decodes such files today.
//!
//! The only `unsafe` of the photo code: calls into the C library, each with
//! the invariant it relies on.
#![allow(unsafe_code)]

use std::ffi::{c_int, CStr};

use image::RgbImage;
use turbojpeg_sys as tj;

/// What the header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// As stored, before any EXIF orientation.
    pub width: u32,
    pub height: u32,
    /// iMCU size at full scale (8 or 16 pixels each way, by subsampling).
    pub mcu: (u32, u32),
}

/// A rectangle of whole pixels of the scaled, stored (unrotated) image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rect {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

/// iMCU size per TurboJPEG subsampling (`TJSAMP_444`, `422`, `420`, `GRAY`,
/// `440`, `411`, `441`): `turbojpeg.h`'s `tjMCUWidth`/`tjMCUHeight`, which
/// are header-only tables the library does not export.
const MCU_WIDTH: [u32; 7] = [8, 16, 16, 8, 8, 32, 8];
const MCU_HEIGHT: [u32; 7] = [8, 8, 16, 8, 16, 8, 32];

/// `ceil(size / shrink)`: TurboJPEG's `TJSCALED` for a scale of 1/`shrink`.
pub fn scaled(size: u32, shrink: u32) -> u32 {
    size.div_ceil(shrink)
}

/// One TurboJPEG decompressor.
#[derive(Debug)]
pub struct Decoder {
    handle: tj::tjhandle,
}

// SAFETY: a TurboJPEG handle is a heap object with no thread affinity; it is
// only ever used through `&mut self`.
unsafe impl Send for Decoder {}

impl Drop for Decoder {
    fn drop(&mut self) {
        // SAFETY: `handle` came from `tj3Init` and is destroyed once.
        unsafe { tj::tj3Destroy(self.handle) }
    }
}

impl Decoder {
    pub fn new() -> Result<Self, String> {
        // SAFETY: plain constructor; null means out of memory.
        let handle = unsafe { tj::tj3Init(tj::TJINIT_TJINIT_DECOMPRESS as c_int) };
        if handle.is_null() {
            return Err("libjpeg-turbo could not start a decompressor".into());
        }
        let mut d = Self { handle };
        d.check(
            // SAFETY: valid handle; a warning (corrupt data the library
            // would decode past) stops the decode and is reported.
            unsafe { tj::tj3Set(d.handle, tj::TJPARAM_TJPARAM_STOPONWARNING as c_int, 1) },
        )?;
        Ok(d)
    }

    fn error(&self) -> String {
        // SAFETY: valid handle; the library returns a NUL-terminated string it owns.
        unsafe { CStr::from_ptr(tj::tj3GetErrorStr(self.handle)) }
            .to_string_lossy()
            .trim()
            .to_string()
    }

    fn check(&mut self, status: c_int) -> Result<(), String> {
        if status == 0 {
            Ok(())
        } else {
            Err(self.error())
        }
    }

    fn get(&self, param: tj::TJPARAM) -> c_int {
        // SAFETY: valid handle, known parameter.
        unsafe { tj::tj3Get(self.handle, param as c_int) }
    }

    /// Read the header of `jpeg`. `None` for what this path does not decode
    /// (CMYK/YCCK, lossless, 12- and 16-bit samples, unknown subsampling):
    /// those keep the full decode.
    pub fn header(&mut self, jpeg: &[u8]) -> Result<Option<Header>, String> {
        // SAFETY: valid handle; the library reads `jpeg.len()` bytes.
        let status = unsafe {
            tj::tj3DecompressHeader(self.handle, jpeg.as_ptr(), jpeg.len() as tj::size_t)
        };
        self.check(status)?;
        let colorspace = self.get(tj::TJPARAM_TJPARAM_COLORSPACE);
        let subsamp = self.get(tj::TJPARAM_TJPARAM_SUBSAMP);
        let plain = matches!(
            colorspace as tj::TJCS,
            tj::TJCS_TJCS_YCbCr | tj::TJCS_TJCS_GRAY | tj::TJCS_TJCS_RGB
        );
        if !plain
            || self.get(tj::TJPARAM_TJPARAM_LOSSLESS) != 0
            || self.get(tj::TJPARAM_TJPARAM_PRECISION) != 8
            || !(0..7).contains(&subsamp)
        {
            return Ok(None);
        }
        let (w, h) = (
            self.get(tj::TJPARAM_TJPARAM_JPEGWIDTH),
            self.get(tj::TJPARAM_TJPARAM_JPEGHEIGHT),
        );
        if w <= 0 || h <= 0 {
            return Err(format!("the header gives a {w}×{h} image"));
        }
        let mcu = (MCU_WIDTH[subsamp as usize], MCU_HEIGHT[subsamp as usize]);
        Ok(Some(Header {
            width: w as u32,
            height: h as u32,
            mcu,
        }))
    }

    /// Decode `region` (all of it when `None`) of the image at 1/`shrink`
    /// scale (1, 2, 4 or 8) to RGB, after [`Self::header`] on the same
    /// bytes. The region's left edge is moved left to the scaled iMCU
    /// column, as libjpeg-turbo requires; the rectangle decoded is returned
    /// with the pixels.
    pub fn decode(
        &mut self,
        jpeg: &[u8],
        header: &Header,
        shrink: u32,
        region: Option<Rect>,
    ) -> Result<(RgbImage, Rect), String> {
        assert!(matches!(shrink, 1 | 2 | 4 | 8), "scale 1/{shrink}");
        let factor = tj::tjscalingfactor {
            num: 1,
            denom: shrink as c_int,
        };
        // SAFETY: valid handle; 1/1, 1/2, 1/4 and 1/8 are supported by every build.
        let status = unsafe { tj::tj3SetScalingFactor(self.handle, factor) };
        self.check(status)?;
        let (sw, sh) = (scaled(header.width, shrink), scaled(header.height, shrink));
        let whole = Rect {
            x: 0,
            y: 0,
            width: sw,
            height: sh,
        };
        let rect = match region {
            None => whole,
            Some(r) => {
                let align = scaled(header.mcu.0, shrink);
                let x = (r.x.min(sw - 1) / align) * align;
                let y = r.y.min(sh - 1);
                let x_end = (r.x + r.width).clamp(x + 1, sw);
                let y_end = (r.y + r.height).clamp(y + 1, sh);
                Rect {
                    x,
                    y,
                    width: x_end - x,
                    height: y_end - y,
                }
            }
        };
        let crop = if rect == whole {
            tj::tjregion {
                x: 0,
                y: 0,
                w: 0,
                h: 0,
            }
        } else {
            tj::tjregion {
                x: rect.x as c_int,
                y: rect.y as c_int,
                w: rect.width as c_int,
                h: rect.height as c_int,
            }
        };
        // SAFETY: valid handle, header read, region checked above to lie in
        // the scaled image with an aligned left edge.
        let status = unsafe { tj::tj3SetCroppingRegion(self.handle, crop) };
        self.check(status)?;
        let pitch = rect.width as usize * 3;
        let mut pixels = vec![0u8; pitch * rect.height as usize];
        // SAFETY: `pixels` holds `pitch × height` bytes, the size TurboJPEG
        // writes for this scale and region.
        let status = unsafe {
            tj::tj3Decompress8(
                self.handle,
                jpeg.as_ptr(),
                jpeg.len() as tj::size_t,
                pixels.as_mut_ptr(),
                pitch as c_int,
                tj::TJPF_TJPF_RGB as c_int,
            )
        };
        self.check(status)?;
        let image = RgbImage::from_raw(rect.width, rect.height, pixels)
            .expect("the buffer was sized for this image");
        Ok((image, rect))
    }
}
