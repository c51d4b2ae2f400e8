//! What the end-to-end scenarios share beyond the WebDriver harness
//! (`e2e_support`): a tauri-driver session with a fresh config folder,
//! animals drawn as photos, and the steps a person takes in the window
//! (import a folder, name a new individual, draw a box, check that the
//! Review fits), as methods on `e2e_support::App`.
#![allow(dead_code)]

use std::path::Path;

use fantoccini::key::Key;
use image::{Rgb, RgbImage};
use serde_json::{json, Value};

use crate::e2e_support::{App, Driver};

/// tauri-driver, whose app sees only `config` as its config folder, and a
/// runtime to drive it. The observer is named by `$WHALEID_OBSERVER`, so the
/// app does not ask (see [`session_unnamed`] for the first-run question).
pub fn session(config: &Path) -> (Driver, tokio::runtime::Runtime) {
    session_with(&[
        ("WHALEID_CONFIG_DIR", config),
        ("WHALEID_OBSERVER", Path::new("E2E Tester")),
    ])
}

/// [`session`] with no observer name chosen yet: the app asks for one.
pub fn session_unnamed(config: &Path) -> (Driver, tokio::runtime::Runtime) {
    session_with(&[("WHALEID_CONFIG_DIR", config)])
}

/// The manual checks' real photos: the catalogue `$WHALEID_E2E_CATALOGUE`
/// (made as README.md's "From a fresh machine to reviewing real photos"
/// says) and the folder `$WHALEID_E2E_PHOTOS` to import into it.
pub fn real_photos() -> (std::ffi::OsString, std::ffi::OsString) {
    let (Some(catalogue), Some(photos)) = (
        std::env::var_os("WHALEID_E2E_CATALOGUE"),
        std::env::var_os("WHALEID_E2E_PHOTOS"),
    ) else {
        panic!("set WHALEID_E2E_CATALOGUE and WHALEID_E2E_PHOTOS");
    };
    (catalogue, photos)
}

pub fn session_with(env: &[(&str, &Path)]) -> (Driver, tokio::runtime::Runtime) {
    let driver = Driver::start(env);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    (driver, runtime)
}

/// Animal `k` as a drawn photo: its own stripe direction, period and colours
/// on a sea-grey background; `variant` changes one pixel, so a second photo of
/// the same animal is a new file that embeds almost identically.
pub fn animal(k: u32, variant: u8) -> RgbImage {
    let period = 6 + 5 * k;
    let mut img = RgbImage::from_fn(320, 240, |x, y| {
        let (cx, cy) = (x as i32 - 160, y as i32 - 120);
        if cx * cx / 4 + cy * cy < 70 * 70 {
            let along = if k.is_multiple_of(2) { x } else { y + x / 2 };
            let dark = (along / period).is_multiple_of(2);
            let base = [(k * 67) % 200, (k * 131) % 200, (k * 29) % 200];
            let lift = if dark { 0 } else { 55 };
            Rgb([
                (base[0] + lift) as u8,
                (base[1] + lift) as u8,
                (base[2] + lift) as u8,
            ])
        } else {
            Rgb([180, 196, 204])
        }
    });
    img.put_pixel(0, 0, Rgb([variant, variant, variant]));
    img
}

pub fn text_of(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_string)
}

impl App {
    pub async fn testid_text(&self, id: &str) -> String {
        self.by_testid(id).await.text().await.expect("element text")
    }

    /// Import a folder through the Import screen and wait for its summary.
    pub async fn import(&self, folder: &Path, new_photos: usize) {
        self.click("nav-import").await;
        self.type_into("import-path", folder.to_str().unwrap())
            .await;
        self.click("import-start").await;
        self.wait_for_testid_text("summary-new", &new_photos.to_string())
            .await;
    }

    /// The manual checks' opening on real photos: open the catalogue at
    /// `catalogue`, screenshot it as `{prefix}-opened`, import `photos`
    /// through the Import screen (real photos in a debug build take long),
    /// and screenshot the summary as `{prefix}-import`.
    pub async fn open_and_import_real(
        &self,
        catalogue: &std::ffi::OsStr,
        photos: &std::ffi::OsStr,
        prefix: &str,
    ) {
        self.type_into("catalogue-path", &catalogue.to_string_lossy())
            .await;
        self.click("open-catalogue").await;
        self.by_testid("catalogue-name").await;
        // Opening routes to a screen once the catalogue is read; navigate
        // after that, not before.
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        self.screenshot(&format!("{prefix}-opened")).await;
        self.click("nav-import").await;
        self.type_into("import-path", &photos.to_string_lossy())
            .await;
        self.click("import-start").await;
        self.wait_until_within(
            "the import summary",
            "return !!document.querySelector('[data-testid=\"import-summary\"]')",
            std::time::Duration::from_secs(900),
        )
        .await;
        self.screenshot(&format!("{prefix}-import")).await;
    }

    /// The photo file name of the review's current item.
    pub async fn current_photo(&self) -> (i64, String) {
        let item = self.by_testid("review-item").await;
        let id: i64 = item
            .attr("data-detection-id")
            .await
            .unwrap()
            .expect("data-detection-id")
            .parse()
            .unwrap();
        let queue = self
            .invoke("review_queue", json!({ "limit": null }))
            .await
            .unwrap();
        let photo = queue["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["detectionId"] == json!(id))
            .map(|i| text_of(&i["photoPath"]))
            .expect("the current item is in the queue");
        let name = Path::new(&photo)
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        (id, name)
    }

    /// N, a code, Enter: a new individual for the current item.
    pub async fn name_new(&self, code: &str) {
        self.press_key('n').await;
        self.type_into("new-individual-code", code).await;
        self.press_key(Key::Enter).await;
    }
}

/// The review's actions, status and suggested decision are inside the
/// window and the page does not scroll. Returns what was measured, for the
/// failure message.
pub const REVIEW_FITS: &str = r#"
    const ids = ['review-new', 'review-search', 'review-same', 'review-unidentifiable', 'review-skip',
                 'review-undo', 'review-prev', 'review-next', 'review-status', 'review-suggested',
                 'review-remaining', 'photo-box', 'review-draw-box'];
    const out = { w: innerWidth, h: innerHeight, bad: [] };
    for (const id of ids) {
      const el = document.querySelector(`[data-testid="${id}"]`);
      if (!el) { out.bad.push(id + ': missing'); continue; }
      const r = el.getBoundingClientRect();
      if (r.top < 0 || r.left < 0 || r.bottom > innerHeight + 0.5 || r.right > innerWidth + 0.5 || r.height < 1)
        out.bad.push(`${id}: ${Math.round(r.left)},${Math.round(r.top)}–${Math.round(r.right)},${Math.round(r.bottom)}`);
    }
    const content = document.querySelector('.content');
    if (content.scrollHeight > content.clientHeight + 1)
      out.bad.push(`content scrolls: ${content.scrollHeight} > ${content.clientHeight}`);
    if (document.scrollingElement.scrollHeight > innerHeight + 1)
      out.bad.push(`page scrolls: ${document.scrollingElement.scrollHeight} > ${innerHeight}`);
    const actions = document.querySelector('[data-testid="review-actions"]').getBoundingClientRect();
    const next = document.querySelector('[data-testid="review-next"]').getBoundingClientRect();
    if (next.top > actions.top + 2) out.bad.push('the actions wrap onto a second line');
    const photo = document.querySelector('[data-testid="photo-box"]').getBoundingClientRect();
    if (photo.height < 120) out.bad.push(`photo only ${Math.round(photo.height)} px high`);
    return out;
"#;

/// Drag on the review's photo from (x1, y1) to (x2, y2), in photo pixels,
/// with pointer events at the screen points the SVG maps them to.
pub fn drag_script(b: [f32; 4]) -> String {
    format!(
        r#"
        const svg = document.querySelector('[data-testid="photo-box"]');
        const ctm = svg.getScreenCTM();
        const at = (x, y) => {{ const p = svg.createSVGPoint(); p.x = x; p.y = y; return p.matrixTransform(ctm); }};
        const fire = (type, p) => svg.dispatchEvent(new PointerEvent(type, {{
            clientX: p.x, clientY: p.y, bubbles: true, cancelable: true, pointerId: 7, isPrimary: true, button: 0 }}));
        const a = at({}, {}), m = at({}, {}), b = at({}, {});
        fire('pointerdown', a); fire('pointermove', m); fire('pointerup', b);
        return true;
        "#,
        b[0],
        b[1],
        (b[0] + b[2]) / 2.0,
        (b[1] + b[3]) / 2.0,
        b[2],
        b[3]
    )
}

impl App {
    pub async fn assert_review_fits(&self, size: &str) {
        let got = self.client.execute(REVIEW_FITS, vec![]).await.unwrap();
        assert_eq!(got["bad"], json!([]), "Review at {size}: {got}");
    }

    /// The current review item's detection id.
    pub async fn current_detection(&self) -> i64 {
        self.by_testid("review-item")
            .await
            .attr("data-detection-id")
            .await
            .unwrap()
            .expect("data-detection-id")
            .parse()
            .unwrap()
    }

    pub async fn wait_decided(&self, detection: i64) {
        self.wait_until(
            "the decision to be stored",
            &format!(
                "return !document.querySelector('[data-testid=\"review-item\"][data-detection-id=\"{detection}\"]')"
            ),
        )
        .await;
    }

    /// B, then a drag over `b`; waits until the review stands on a new
    /// detection (the box drawn) with `boxes` live boxes on the photo.
    pub async fn draw_box(&self, b: [f32; 4], boxes: usize) -> i64 {
        let before = self.current_detection().await;
        self.press_key('b').await;
        self.wait_until(
            "draw mode",
            "return document.querySelector('[data-testid=\"review-draw-box\"]').getAttribute('aria-pressed') === 'true'",
        )
        .await;
        self.client.execute(&drag_script(b), vec![]).await.unwrap();
        self.wait_until_within(
            "the box to be cropped, embedded and ranked",
            &format!(
                "const it = document.querySelector('[data-testid=\"review-item\"]');
                 return !!it && it.getAttribute('data-detection-id') !== '{before}'
                   && document.querySelectorAll('[data-testid=\"det-box\"]').length === {boxes}"
            ),
            std::time::Duration::from_secs(60),
        )
        .await;
        self.current_detection().await
    }
}
