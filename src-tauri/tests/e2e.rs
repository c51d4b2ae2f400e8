//! End to end: the built app in its real WebKit window, through
//! tauri-driver and WebDriver, with screenshots for checking each screen's
//! look.
//!
//! It needs a display (Xvfb), `tauri-driver` and `WebKitWebDriver`, so it
//! runs only when `WHALEID_E2E=1`; `scripts/test.sh` sets that and runs it
//! under `xvfb-run`. Otherwise it prints why it was skipped and passes. The
//! app gets a fresh config folder (`WHALEID_CONFIG_DIR`), so it never opens
//! a developer's last catalogue.

mod e2e_support;

use std::path::Path;

use e2e_support::{App, Driver};

fn enabled() -> bool {
    if std::env::var("WHALEID_E2E").as_deref() == Ok("1") {
        return true;
    }
    eprintln!(
        "e2e skipped: set WHALEID_E2E=1 and run under a display (scripts/test.sh runs it under xvfb-run with tauri-driver)"
    );
    false
}

#[test]
fn the_app_starts_in_its_window() {
    if !enabled() {
        return;
    }
    let config = tempfile::tempdir().unwrap();
    let app_binary = Path::new(env!("CARGO_BIN_EXE_whaleid-app"));
    let driver = Driver::start(&[("WHALEID_CONFIG_DIR", config.path())]);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let app = App::connect(&driver, app_binary).await;
        let title = app.client.title().await.expect("the page title");
        assert!(title.contains("WhaleID"), "title {title:?}");
        let shot = app.screenshot("00-start").await;
        let png = image::open(&shot).expect("a PNG screenshot").to_rgb8();
        assert!(
            png.width() >= 640 && png.height() >= 400,
            "{}x{}",
            png.width(),
            png.height()
        );
        // Something was painted: not one flat colour.
        let first = *png.get_pixel(0, 0);
        assert!(png.pixels().any(|p| *p != first), "the window is blank");
        eprintln!("screenshot: {}", shot.display());

        // The page reaches the commands through the IPC the CSP allows, and
        // the app sees only its own, empty, config folder.
        let settings = app
            .invoke("settings_get", serde_json::json!({}))
            .await
            .unwrap();
        assert_eq!(settings["cataloguePath"], serde_json::Value::Null);
        let cat = config.path().join("catalogue");
        let info = app
            .invoke("catalogue_create", serde_json::json!({ "path": cat }))
            .await
            .unwrap();
        assert_eq!(info["name"], "catalogue");
        assert_eq!(info["pack"]["name"], "generic");
        let err = app
            .invoke(
                "catalogue_open",
                serde_json::json!({ "path": config.path() }),
            )
            .await
            .unwrap_err();
        assert_eq!(err["kind"], "catalogue", "{err}");
        let prefs = std::fs::read_to_string(config.path().join("prefs.json")).unwrap();
        assert!(prefs.contains("catalogue"), "{prefs}");
        app.close().await;
    });
    drop(driver);
}
