//! End to end, issue 16's publication day: in the built app's real WebKit
//! window (tauri-driver, WebDriver), photos graded in Review with the keys
//! and the chips, identified, the catalogue grid filtered by grade, and a
//! Darwin Core Archive exported from the Export screen with a quality
//! filter, then read back with python-dwca-reader.
//!
//! It needs a display (Xvfb), `tauri-driver` and `WebKitWebDriver`, so it
//! is `#[ignore]`d in a plain `cargo test`; `scripts/test.sh` runs it with
//! `--ignored` under `xvfb-run`. The app gets a fresh config folder
//! (`WHALEID_CONFIG_DIR`), so it never opens a developer's last catalogue.

mod e2e_steps;
mod e2e_support;

use std::path::Path;

use e2e_steps::{animal, real_photos, session};
use e2e_support::App;
use fantoccini::Locator;
use serde_json::Value;
use whaleid::catalogue::Catalogue;
use whaleid_testkit::{self as kit, dwca_records};

impl App {
    /// Choose `value` in the `<select>` with that test id, as a click on
    /// its option does.
    async fn choose(&self, id: &str, value: &str) {
        let select = self.by_testid(id).await;
        // By the option's value property: Preact does not always write it
        // as an attribute (not where it is the option's text).
        for option in select.find_all(Locator::Css("option")).await.unwrap() {
            if option.prop("value").await.unwrap().as_deref() == Some(value) {
                option.click().await.expect("choose an option");
                return;
            }
        }
        panic!(
            "{id} offers no {value}: {}",
            select.html(false).await.unwrap_or_default()
        );
    }

    /// Set the date input with that test id to `day` (`YYYY-MM-DD`) as the
    /// date picker does: typed digits would be read in the desktop's
    /// locale order (month first or day first).
    async fn set_date(&self, id: &str, day: &str) {
        self.by_testid(id).await;
        let script = format!(
            "const e = document.querySelector('[data-testid=\"{id}\"]');
             e.value = {day:?};
             e.dispatchEvent(new Event('input', {{ bubbles: true }}));
             return e.value === {day:?};"
        );
        let set = self.client.execute(&script, vec![]).await.unwrap();
        assert_eq!(set, Value::Bool(true), "{id} takes {day}");
    }

    /// The cards the catalogue grid shows, by code.
    async fn cards(&self) -> Vec<String> {
        let mut codes = Vec::new();
        for card in self.all_by_testid("individual-card").await {
            codes.push(card.attr("data-code").await.unwrap().unwrap_or_default());
        }
        codes.sort();
        codes
    }

    /// Wait until the grid shows exactly `codes`.
    async fn wait_for_cards(&self, codes: &[&str]) {
        let want = serde_json::to_string(codes).unwrap();
        self.wait_until(
            &format!("the grid to show {want}"),
            &format!(
                "const got = [...document.querySelectorAll('[data-testid=\"individual-card\"]')]
                   .map((c) => c.getAttribute('data-code')).sort();
                 return JSON.stringify(got) === {}",
                Value::String(want.clone())
            ),
        )
        .await;
    }
}

/// Where and when each photo was taken: the survey's dates, and positions
/// for all but `unplaced` (as a camera without GPS leaves them). Written
/// to the catalogue's database, as ingest stores EXIF dates and GPS.
fn place_photos(cat_dir: &Path, unplaced: &str) {
    let cat = Catalogue::open_read_only(cat_dir).unwrap();
    kit::sql(&cat)
        .execute(
            "UPDATE photos SET taken_at = '2024-07-0' || (id % 3 + 1) || 'T09:30:00',
                    latitude = CASE WHEN original_path LIKE '%' || ?1 THEN NULL ELSE 57.25 END,
                    longitude = CASE WHEN original_path LIKE '%' || ?1 THEN NULL ELSE -6.5 END",
            [unplaced],
        )
        .unwrap();
}

/// Issue 16's publication day: three humpbacks' photos, graded in Review
/// (quality by the keys Q then 2, side by its chip) and each named; the
/// grid filtered by quality and side; a Darwin Core Archive of the photos
/// of quality Q2 or better exported from the Export screen, one left out
/// for having no position, and the archive read back with
/// python-dwca-reader holding the graded photo's occurrence. Screenshots
/// of the Export screen at 1280×800.
#[test]
#[ignore = "needs a display: scripts/test.sh runs it under xvfb-run with --ignored"]
fn a_photo_graded_in_review_is_published_in_a_dwc_archive_from_the_export_screen() {
    let config = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let survey = work.path().join("survey");
    std::fs::create_dir_all(&survey).unwrap();
    for (k, name) in [(0, "a.png"), (1, "b.png"), (2, "c.png")] {
        animal(k, 1).save(survey.join(name)).unwrap();
    }
    let cat_dir = work.path().join("Skye 2024");
    let zip = work.path().join("skye-occurrences.zip");
    let app_binary = Path::new(env!("CARGO_BIN_EXE_whaleid-app"));
    let (driver, runtime) = session(config.path());
    runtime.block_on(async {
        let app = App::connect(&driver, app_binary).await;
        app.client.set_window_size(1280, 800).await.unwrap();
        app.type_into("catalogue-path", cat_dir.to_str().unwrap())
            .await;
        app.click("create-catalogue").await;
        app.wait_for_testid_text("catalogue-name", "Skye 2024").await;
        app.click("nav-import").await;
        app.type_into("import-species", "humpback_whale").await;
        app.import(&survey, 3).await;
        app.click("go-review").await;
        app.wait_for_testid_text("review-remaining", "3").await;

        // Each photo graded and named: a.png Q2 (by the keys) and left (by
        // its chip), b.png Q3, c.png Q1.
        for _ in 0..3 {
            let (detection, photo) = app.current_photo().await;
            let (quality, code) = match photo.as_str() {
                "a.png" => ('2', "HW-A"),
                "b.png" => ('3', "HW-B"),
                _ => ('1', "HW-C"),
            };
            app.press_key('q').await;
            app.wait_for_testid_text("review-status", "Quality:").await;
            app.press_key(quality).await;
            app.wait_for_testid_text(
                "review-status",
                &format!("Quality Q{quality} · #{detection}"),
            )
            .await;
            if photo == "a.png" {
                app.click("grade-side-left").await;
                app.wait_for_testid_text("review-status", &format!("Side left · #{detection}"))
                    .await;
                let chip = app.by_testid("grade-side-left").await;
                assert_eq!(
                    chip.attr("aria-pressed").await.unwrap().as_deref(),
                    Some("true")
                );
                assert_eq!(app.current_detection().await, detection);
                app.screenshot("60-review-graded").await;
            }
            app.name_new(code).await;
            app.wait_decided(detection).await;
        }
        place_photos(&cat_dir, "c.png");

        // The grid by grade: Q2 or better is HW-A and HW-C; and left side,
        // HW-A alone.
        app.click("nav-catalogue").await;
        app.wait_for_cards(&["HW-A", "HW-B", "HW-C"]).await;
        app.choose("filter-quality", "Q2").await;
        app.wait_for_cards(&["HW-A", "HW-C"]).await;
        app.choose("filter-side", "left").await;
        app.wait_for_cards(&["HW-A"]).await;
        assert_eq!(app.cards().await, ["HW-A"]);
        app.screenshot("61-catalogue-filtered-by-grade").await;

        // Export: a DwC archive of the photos of quality Q2 or better.
        app.click("nav-export").await;
        app.click("export-format-dwca").await;
        app.choose("export-filter-quality", "Q2").await;
        app.type_into("export-dwca-title", "Skye humpbacks 2024")
            .await;
        app.type_into("export-dwca-contact", "E2E Tester <e2e@example.org>")
            .await;
        app.type_into("export-path", zip.to_str().unwrap()).await;
        app.screenshot("62-export-dwca-form").await;
        app.click("export-run").await;
        app.wait_for_testid_text("export-result", "wrote 1 occurrence")
            .await;
        let left = app.testid_text("export-left-out").await;
        assert!(left.contains("1 sighting left out"), "{left}");
        assert!(left.contains("c.png: no position"), "{left}");
        app.scroll_to("export-left-out").await;
        app.screenshot("63-export-dwca-done").await;

        // A dataset without a title is refused before anything is written.
        let again = work.path().join("again.zip");
        app.type_into("export-path", again.to_str().unwrap()).await;
        app.type_into("export-dwca-title", " ").await;
        app.click("export-run").await;
        app.wait_until(
            "the missing title to be refused",
            "const e = document.querySelector('.error[role=alert]'); return !!e && e.textContent.includes('title')",
        )
        .await;
        assert!(!again.exists());

        // MARK over one survey of the three days: every graded individual
        // (quality still Q2 or better) seen once, the form at 1280×800.
        let inp = work.path().join("skye.inp");
        app.click("export-format-mark").await;
        app.choose("export-mark-occasions", "surveys").await;
        app.set_date("export-mark-survey-from-0", "2024-07-01").await;
        app.set_date("export-mark-survey-to-0", "2024-07-03").await;
        app.type_into("export-path", inp.to_str().unwrap()).await;
        app.screenshot("64-export-mark-form").await;
        app.click("export-run").await;
        app.wait_for_testid_text("export-result", "wrote 2 individuals")
            .await;
        let histories = std::fs::read_to_string(&inp).unwrap();
        assert!(
            histories.contains("/* HW-A */ 1 1;") && histories.contains("/* HW-C */ 1 1;"),
            "{histories}"
        );
        app.close().await;
    });

    // The archive, read with python-dwca-reader: the graded photo alone.
    let records: Vec<Value> = serde_json::from_str(&dwca_records(&zip)).unwrap();
    assert_eq!(records.len(), 1, "{records:?}");
    let a = &records[0];
    assert_eq!(a["id"].as_str(), Some(uuid_of(&cat_dir, "a.png").as_str()));
    assert_eq!(a["scientificName"], "Megaptera novaeangliae", "{a}");
    assert_eq!(a["organismName"], "HW-A", "{a}");
    assert_eq!(a["recordedBy"], "E2E Tester", "{a}");
    let grades = a["dynamicProperties"].as_str().unwrap();
    assert!(grades.contains("Q2") && grades.contains("left"), "{grades}");
}

/// The detection UUID (the archive's occurrence id) of the photo `name`.
fn uuid_of(cat_dir: &Path, name: &str) -> String {
    let cat = Catalogue::open_read_only(cat_dir).unwrap();
    kit::sql(&cat)
        .query_row(
            "SELECT d.uuid FROM detections d JOIN photos p ON p.id = d.photo_id
              WHERE p.original_path LIKE '%' || ?1",
            [name],
            |r| r.get(0),
        )
        .unwrap()
}

/// A manual check on real photos, not part of CI: with
/// `WHALEID_E2E_CATALOGUE=DIR` (a catalogue made as README.md's "From a
/// fresh machine to reviewing real photos" says) and
/// `WHALEID_E2E_PHOTOS=FOLDER`, import the folder, then grade the first
/// photo in Review with the keys, scope its suggestions to its side, open
/// its encounter record, filter the grid by grade, export a DwC archive and
/// a Wildbook sheet from the Export screen and look at the Second review
/// and Settings screens, screenshotting each at 1280×800.
#[test]
#[ignore = "manual check on real photos: set WHALEID_E2E_CATALOGUE and WHALEID_E2E_PHOTOS, run with --ignored manual"]
fn manual_photo_id_practice_on_real_photos() {
    let (catalogue, photos) = real_photos();
    let config = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let app_binary = Path::new(env!("CARGO_BIN_EXE_whaleid-app"));
    let (driver, runtime) = session(config.path());
    runtime.block_on(async {
        let app = App::connect(&driver, app_binary).await;
        app.client.set_window_size(1280, 800).await.unwrap();
        app.open_and_import_real(&catalogue, &photos, "real-20").await;
        let long = std::time::Duration::from_secs(900);
        app.click("go-review").await;
        app.by_testid("suggestion").await;
        let (detection, _) = app.current_photo().await;
        app.press_key('q').await;
        app.press_key('2').await;
        app.wait_for_testid_text("review-status", &format!("Quality Q2 · #{detection}"))
            .await;
        app.press_key('l').await;
        app.wait_for_testid_text("review-status", &format!("Side left · #{detection}"))
            .await;
        app.assert_review_fits("1280×800, real photos, graded").await;
        app.screenshot("real-21-review-graded").await;
        app.click("scope-same-side").await;
        app.by_testid("scope-active").await;
        app.screenshot("real-22-review-scoped").await;
        app.click("encounter-edit").await;
        app.by_testid("encounter-form").await;
        app.type_into("encounter-place", "Happywhale sample").await;
        app.type_into("encounter-observers", "E2E Tester; Ana Silva")
            .await;
        app.type_into("encounter-group-best", "4").await;
        app.click("encounter-save").await;
        app.wait_for_testid_text("encounter-status", "Saved").await;
        app.screenshot("real-23-encounter-record").await;
        app.click("encounter-close").await;
        // Named as the best candidate, so the grid has a graded sighting.
        app.press_key('1').await;
        app.wait_decided(detection).await;

        app.click("nav-catalogue").await;
        app.by_testid("individual-card").await;
        app.choose("filter-quality", "Q2").await;
        app.screenshot("real-24-catalogue-by-grade").await;

        app.click("nav-export").await;
        app.click("export-format-dwca").await;
        app.type_into("export-dwca-title", "Happywhale sample").await;
        app.type_into("export-dwca-contact", "E2E Tester <e2e@example.org>")
            .await;
        let zip = out.path().join("sample.zip");
        app.type_into("export-path", zip.to_str().unwrap()).await;
        app.click("export-run").await;
        app.wait_until_within(
            "the DwC export to end",
            "return !!document.querySelector('[data-testid=\"export-result\"], .error[role=alert]')",
            long,
        )
        .await;
        app.screenshot("real-25-export-dwca").await;
        app.click("export-format-wildbook").await;
        let sheet = out.path().join("sample-wildbook.csv");
        app.type_into("export-path", sheet.to_str().unwrap()).await;
        app.click("export-run").await;
        app.wait_for_testid_text("export-result", "wrote").await;
        app.screenshot("real-26-export-wildbook").await;

        app.click("nav-second").await;
        app.by_testid("second-review-switch").await;
        app.screenshot("real-27-second-review").await;
        app.click("second-review-tab-agreement").await;
        app.screenshot("real-28-agreement").await;
        app.click("nav-settings").await;
        app.scroll_to("settings-ran-on").await;
        app.screenshot("real-29-settings-ran-on").await;
        app.close().await;
    });
    drop(driver);
}
