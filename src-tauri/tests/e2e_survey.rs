//! End to end, the researcher's survey: in the built app's real WebKit
//! window (tauri-driver, WebDriver), create a catalogue, import two survey
//! days, name the animals, accept suggestions by key, undo, browse the
//! catalogue, export, and sync to a real server; a screenshot of every
//! screen.
//!
//! It needs a display (Xvfb), `tauri-driver` and `WebKitWebDriver`, so it
//! is `#[ignore]`d in a plain `cargo test`; `scripts/test.sh` runs it with
//! `--ignored` under `xvfb-run`. The app gets a fresh config folder
//! (`WHALEID_CONFIG_DIR`), so it never opens a developer's last catalogue.

mod e2e_steps;
mod e2e_support;

use std::path::{Path, PathBuf};

use e2e_steps::{animal, session};
use e2e_support::App;
use serde_json::json;
use whaleid_testkit as kit;

/// Two survey days: day 1 sees animals 0 and 1 (and a card's broken file),
/// day 2 sees both again and a stranger, animal 2.
fn survey(dir: &Path) -> (PathBuf, PathBuf) {
    let (day1, day2) = (dir.join("day 1"), dir.join("day 2"));
    std::fs::create_dir_all(&day1).unwrap();
    std::fs::create_dir_all(&day2).unwrap();
    animal(0, 1).save(day1.join("a1.png")).unwrap();
    animal(1, 1).save(day1.join("b1.png")).unwrap();
    std::fs::write(day1.join("broken.jpg"), b"not a photo at all").unwrap();
    animal(0, 2).save(day2.join("a2.png")).unwrap();
    animal(1, 2).save(day2.join("b2.png")).unwrap();
    animal(2, 2).save(day2.join("c1.png")).unwrap();
    (day1, day2)
}

/// The researcher's day: create a catalogue, import a survey, name the
/// animals, import the next day, accept suggestions by key, name a stranger,
/// undo, look at the catalogue and export. A screenshot of every screen.
#[test]
#[ignore = "needs a display: scripts/test.sh runs it under xvfb-run with --ignored"]
fn a_survey_goes_from_import_through_review_to_export() {
    let config = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let (day1, day2) = survey(work.path());
    let cat_dir = work.path().join("Baie catalogue");
    let app_binary = Path::new(env!("CARGO_BIN_EXE_whaleid-app"));
    let (driver, runtime) = session(config.path());
    runtime.block_on(async {
        let app = App::connect(&driver, app_binary).await;
        // Welcome: no catalogue yet; create one by path.
        app.by_testid("catalogue-path").await;
        app.screenshot("01-welcome").await;
        app.type_into("catalogue-path", cat_dir.to_str().unwrap()).await;
        app.click("create-catalogue").await;
        app.wait_for_testid_text("catalogue-name", "Baie catalogue").await;

        // Day 1: two photos and a broken file, which is listed by name.
        app.import(&day1, 2).await;
        assert_eq!(app.testid_text("summary-failed").await, "1");
        assert_eq!(app.testid_text("summary-detections").await, "2");
        let problems = app.testid_text("import-problems").await;
        assert!(problems.contains("broken.jpg"), "{problems}");
        app.screenshot("02-import-day1").await;

        // Nothing is known yet: both get new codes.
        app.click("go-review").await;
        app.wait_for_testid_text("review-remaining", "2").await;
        app.screenshot("03-review-empty-catalogue").await;
        let mut codes = std::collections::HashMap::new();
        for _ in 0..2 {
            let (detection, photo) = app.current_photo().await;
            let code = if photo == "a1.png" { "E2E-A" } else { "E2E-B" };
            app.name_new(code).await;
            app.wait_until(
                "the decision to be stored",
                &format!(
                    "return !document.querySelector('[data-testid=\"review-item\"][data-detection-id=\"{detection}\"]')"
                ),
            )
            .await;
            codes.insert(photo, code);
        }
        app.by_testid("review-empty").await;
        assert_eq!(codes.len(), 2);

        // Day 2: both animals again and a stranger; now there are suggestions.
        app.import(&day2, 3).await;
        app.screenshot("04-import-day2").await;
        app.click("go-review").await;
        app.wait_for_testid_text("review-remaining", "3").await;
        app.by_testid("suggestion").await;
        app.screenshot("05-review-suggestions").await;
        let mut last = None;
        for _ in 0..3 {
            let (detection, photo) = app.current_photo().await;
            // The photo is named by its file in the header and the queue.
            let file = app.by_testid("review-file").await.prop("textContent").await.unwrap();
            assert_eq!(file.as_deref(), Some(photo.as_str()));
            let queue = app.all_by_testid("queue-item").await;
            let mut names = Vec::new();
            for q in &queue {
                // The file name span ellipsises, so WebKit's WebDriver text
                // leaves it out; its textContent is what is drawn.
                names.push(q.prop("textContent").await.unwrap().unwrap_or_default());
            }
            assert!(names.iter().any(|n| n.starts_with(&photo)), "{photo} not in {names:?}");
            let suggestions = app.all_by_testid("suggestion").await;
            assert!(!suggestions.is_empty(), "{photo} has no suggestions");
            let top = suggestions[0].attr("data-rank").await.unwrap();
            assert_eq!(top.as_deref(), Some("1"));
            match photo.as_str() {
                "a2.png" | "b2.png" => {
                    // Rank 1 is the animal named on day 1: accept it with "1".
                    let want = if photo == "a2.png" { "E2E-A" } else { "E2E-B" };
                    let text = suggestions[0].prop("textContent").await.unwrap().unwrap_or_default();
                    assert!(text.contains(want), "{photo}: rank 1 is {text:?}");
                    app.press_key('1').await;
                }
                _ => app.name_new("E2E-C").await,
            }
            app.wait_until(
                "the decision to be stored",
                &format!(
                    "return !document.querySelector('[data-testid=\"review-item\"][data-detection-id=\"{detection}\"]')"
                ),
            )
            .await;
            last = Some((detection, photo));
        }
        app.by_testid("review-empty").await;

        // U takes the last decision back: that photo waits again.
        let (undone_detection, undone_photo) = last.unwrap();
        app.press_key('u').await;
        app.wait_for_testid_text("review-remaining", "1").await;
        let queue = app.invoke("review_queue", json!({ "limit": null })).await.unwrap();
        assert_eq!(queue["total"], json!(1));
        assert_eq!(queue["items"][0]["detectionId"], json!(undone_detection));
        app.screenshot("06-review-after-undo").await;

        // Catalogue: A and B with their two sightings each (unless undone).
        app.click("nav-catalogue").await;
        app.wait_until(
            "the E2E-A card",
            "return !!document.querySelector('[data-testid=\"individual-card\"][data-code=\"E2E-A\"]')",
        )
        .await;
        let cards = app.all_by_testid("individual-card").await;
        let mut shown = Vec::new();
        for c in &cards {
            shown.push(c.attr("data-code").await.unwrap().unwrap());
        }
        shown.sort();
        let expected_c = undone_photo != "c1.png";
        let mut expected = vec!["E2E-A".to_string(), "E2E-B".to_string()];
        if expected_c {
            expected.push("E2E-C".to_string());
        }
        assert_eq!(shown, expected);
        app.screenshot("07-catalogue").await;
        app.client
            .find(fantoccini::Locator::Css(
                "[data-testid=\"individual-card\"][data-code=\"E2E-A\"]",
            ))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        app.by_testid("individual-page").await;
        // The page loads its sightings after it appears.
        let a_sightings = if undone_photo == "a2.png" { 1 } else { 2 };
        app.wait_until(
            "E2E-A's sightings",
            &format!(
                "return document.querySelectorAll('[data-testid=\"sighting\"]').length === {a_sightings}"
            ),
        )
        .await;
        app.wait_for_text("E2E-A").await;
        app.screenshot("08-individual").await;

        // Settings show the generic pack and the CPU provider.
        app.click("nav-settings").await;
        app.wait_for_testid_text("settings-pack", "generic").await;
        app.wait_for_testid_text("settings-providers", "cpu").await;
        app.screenshot("09-settings").await;

        // Export the identifications and read the file back.
        let csv_path = work.path().join("identifications.csv");
        app.export_csv(&csv_path, "5").await;
        app.screenshot("10-export").await;
        let mut reader = csv::Reader::from_path(&csv_path).unwrap();
        let header = reader.headers().unwrap().clone();
        let col = |n: &str| header.iter().position(|h| h == n).unwrap();
        let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
        assert_eq!(rows.len(), 5);
        for row in &rows {
            let photo = Path::new(&row[col("photo")])
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let (individual, decision) = (&row[col("individual")], &row[col("decision")]);
            if photo == undone_photo {
                assert_eq!((individual, decision), ("", "pending"), "{photo}");
                continue;
            }
            let want = match photo.as_str() {
                "a1.png" | "a2.png" => "E2E-A",
                "b1.png" | "b2.png" => "E2E-B",
                _ => "E2E-C",
            };
            assert_eq!((individual, decision), (want, "person"), "{photo}");
        }

        // Train: the confirmed photos are eligible; a short run plots its
        // epochs and ends with a verdict and the before/after table.
        app.click("nav-train").await;
        app.wait_for_testid_text("train-active-version", "1.0.0").await;
        let overview = app.invoke("train_overview", json!({})).await.unwrap();
        assert_eq!(overview["canTrain"], json!(true), "{overview}");
        assert_eq!(overview["missingFeatures"], json!(0));
        app.screenshot("11-train").await;
        app.type_into("train-epochs", "3").await;
        app.click("train-start").await;
        let verdict = app.by_testid("train-verdict").await;
        let adopted = verdict.attr("data-adopted").await.unwrap();
        let points = app
            .client
            .execute(
                "return document.querySelectorAll('[data-testid=\"train-loss-plot\"] path').length",
                vec![],
            )
            .await
            .unwrap();
        assert!(points.as_u64().unwrap_or(0) >= 1, "the loss plot has a line: {points}");
        let map5 = app.testid_text("score-open-map5").await;
        assert!(map5.contains('.'), "before and after MAP@5: {map5:?}");
        app.scroll_to("train-result").await;
        app.screenshot("12-train-result").await;
        if adopted.as_deref() == Some("true") {
            // An adopted version can be rolled back from the list.
            app.wait_until(
                "two versions listed",
                "return document.querySelectorAll('[data-testid=\"train-version\"]').length === 2",
            )
            .await;
            app.click("train-rollback").await;
            app.wait_for_testid_text("train-active-version", "1.0.0").await;
            app.screenshot("13-train-rolled-back").await;
        } else {
            assert_eq!(adopted.as_deref(), Some("false"));
            let status = app.invoke("train_overview", json!({})).await.unwrap();
            assert_eq!(status["activeVersion"], json!("1.0.0"));
        }

        // Sync with a real server: configure, preview, sync, and the
        // server then holds the catalogue's five photos.
        let (url, token) = sync_server(&work.path().join("server"));
        app.click("nav-sync").await;
        app.wait_for_testid_text("sync-server", "not configured").await;
        app.type_into("sync-server-input", &url).await;
        app.type_into("sync-token-input", &token).await;
        app.type_into("sync-author-input", "e2e").await;
        app.click("sync-save").await;
        app.wait_for_testid_text("sync-server", &url).await;
        app.click("sync-preview").await;
        app.by_testid("sync-plan").await;
        let to_push: u64 = app.testid_text("plan-push").await.trim().parse().unwrap();
        assert!(to_push >= 15, "photos, detections, embeddings, individuals, decisions: {to_push}");
        app.screenshot("13-sync-preview").await;
        app.click("sync-start").await;
        app.by_testid("sync-summary").await;
        let pushed: u64 = app.testid_text("summary-pushed").await.trim().parse().unwrap();
        assert_eq!(pushed, to_push);
        app.wait_for_testid_text("sync-pending", "0").await;
        app.screenshot("14-sync-done").await;
        let master = whaleid::catalogue::Catalogue::open(work.path().join("server/catalogue")).unwrap();
        let photos: i64 = kit::sql(&master)
            .query_row("SELECT count(*) FROM photos", [], |r| r.get(0))
            .unwrap();
        assert_eq!(photos, 5);
        app.close().await;
    });
    drop(driver);
}

/// A real sync server on loopback, in this process; its URL and a token.
fn sync_server(data: &Path) -> (String, String) {
    let mut store = whaleid_server::store::SqliteStore::open(data).unwrap();
    let token = store.add_user("e2e").unwrap();
    (whaleid_server::spawn_local(store, 16 << 20).unwrap(), token)
}
