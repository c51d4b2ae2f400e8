//! The installed package end to end: the app that `apt install` put in
//! `/usr/bin`, driven in its real window through the same WebDriver harness
//! as `e2e.rs`, with nothing from the source checkout to lean on.
//!
//! `scripts/package-check.sh` builds and installs the .deb, then runs this
//! test's compiled executable itself from a temporary working directory,
//! with a temporary HOME and an environment that names nothing in the
//! checkout (under Xvfb). So the app has to find ONNX Runtime and the
//! generic pack where the package put them, beside its own install. The test
//! checks those conditions first: run from the checkout (or by `cargo
//! test`, whose `.cargo/config.toml` points the engine at the checkout's
//! library and pack), it fails saying why instead of proving nothing.
//!
//! `WHALEID_E2E_APP` names another installed app binary (default
//! `/usr/bin/whaleid-app`).

mod e2e_steps;
mod e2e_support;

use std::path::{Path, PathBuf};

use e2e_steps::{animal, session_with};
use e2e_support::App;
use serde_json::json;

/// The source checkout this test was built in.
fn checkout() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    dir.canonicalize().unwrap_or(dir)
}

/// The app under test: installed, not built here.
fn installed_app() -> PathBuf {
    let app = std::env::var_os("WHALEID_E2E_APP")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/whaleid-app"));
    assert!(
        app.is_file(),
        "{} is not installed: scripts/package-check.sh installs the package and runs this test",
        app.display()
    );
    app
}

/// Fail unless this process stands outside the checkout: its working
/// directory, the app binary and every environment variable.
fn assert_outside(checkout: &Path, app: &Path) {
    let cwd = std::env::current_dir().expect("a working directory");
    assert!(
        !cwd.starts_with(checkout),
        "run from {} (inside the checkout {}): scripts/package-check.sh runs this test from a temporary folder",
        cwd.display(),
        checkout.display()
    );
    let app = app.canonicalize().unwrap_or_else(|_| app.to_path_buf());
    assert!(
        !app.starts_with(checkout),
        "the app {} is the checkout's build, not the installed one",
        app.display()
    );
    let root = checkout.to_string_lossy();
    for (key, value) in std::env::vars_os() {
        let value = value.to_string_lossy();
        assert!(
            !value.contains(root.as_ref()),
            "${} = {value} points into the checkout {root}: run with a clean environment (scripts/package-check.sh)",
            key.to_string_lossy()
        );
    }
    for key in ["ORT_DYLIB_PATH", "WHALEID_GENERIC_PACK"] {
        assert!(
            std::env::var_os(key).is_none(),
            "${key} is set: the installed app must find what it ships with by itself"
        );
    }
}

/// The smoke scenario on the installed app: create a catalogue (bound to
/// the pack the package installed), import two photos and name the two
/// animals, import one new photo of each, and see each one's animal as the
/// first suggestion in Review: the bundled ONNX Runtime and pack ran.
#[test]
#[ignore = "needs the installed package and a display: scripts/package-check.sh runs it"]
fn the_installed_app_creates_imports_and_suggests() {
    let checkout = checkout();
    let app_binary = installed_app();
    assert_outside(&checkout, &app_binary);
    // Where the package keeps the app's resources: /usr/bin/whaleid-app
    // has them in /usr/lib/WhaleID (Tauri's resource folder on Linux).
    let prefix = app_binary
        .parent()
        .and_then(Path::parent)
        .expect("the app is in <prefix>/bin");
    let bundled_pack = prefix.join("lib/WhaleID/models/generic");

    let config = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let (day1, day2) = (work.path().join("day 1"), work.path().join("day 2"));
    std::fs::create_dir_all(&day1).unwrap();
    std::fs::create_dir_all(&day2).unwrap();
    animal(0, 1).save(day1.join("a1.png")).unwrap();
    animal(1, 1).save(day1.join("b1.png")).unwrap();
    animal(0, 2).save(day2.join("a2.png")).unwrap();
    animal(1, 2).save(day2.join("b2.png")).unwrap();
    let cat_dir = work.path().join("Installed catalogue");

    let (driver, runtime) = session_with(&[
        ("WHALEID_CONFIG_DIR", config.path()),
        ("WHALEID_OBSERVER", Path::new("Package Check")),
    ]);
    runtime.block_on(async {
        let app = App::connect(&driver, &app_binary).await;
        let title = app.client.title().await.expect("the page title");
        assert!(title.contains("WhaleID"), "title {title:?}");

        // A new catalogue is bound to the generic pack the package installed.
        app.type_into("catalogue-path", cat_dir.to_str().unwrap())
            .await;
        app.click("create-catalogue").await;
        app.wait_for_testid_text("catalogue-name", "Installed catalogue")
            .await;
        let info = app
            .invoke("catalogue_current", json!({}))
            .await
            .expect("catalogue_current");
        assert_eq!(info["pack"]["name"], "generic", "{info}");
        let pack_path = PathBuf::from(info["pack"]["path"].as_str().unwrap_or_default());
        assert_eq!(
            pack_path.canonicalize().unwrap_or(pack_path.clone()),
            bundled_pack.canonicalize().unwrap_or(bundled_pack.clone()),
            "the catalogue's pack is not the installed one: {info}"
        );

        // Two photos, two animals, nothing known yet: both named new.
        app.import(&day1, 2).await;
        app.click("go-review").await;
        app.wait_for_testid_text("review-remaining", "2").await;
        for _ in 0..2 {
            let (detection, file) = app.current_photo().await;
            app.name_new(if file == "a1.png" { "PKG-A" } else { "PKG-B" })
                .await;
            app.wait_decided(detection).await;
        }
        app.by_testid("review-empty").await;

        // One new photo of each: Review suggests the animal named above first.
        app.import(&day2, 2).await;
        app.click("go-review").await;
        app.wait_for_testid_text("review-remaining", "2").await;
        for _ in 0..2 {
            let (detection, file) = app.current_photo().await;
            app.by_testid("suggestion").await;
            let suggestions = app.all_by_testid("suggestion").await;
            assert!(!suggestions.is_empty(), "{file} has no suggestions");
            let top = &suggestions[0];
            assert_eq!(top.attr("data-rank").await.unwrap().as_deref(), Some("1"));
            let text = top.prop("textContent").await.unwrap().unwrap_or_default();
            let want = match file.as_str() {
                "a2.png" => "PKG-A",
                "b2.png" => "PKG-B",
                other => panic!("unexpected photo {other:?} in review"),
            };
            assert!(text.contains(want), "{file}: rank 1 is {text:?}");
            app.press_key('1').await;
            app.wait_decided(detection).await;
        }
        app.by_testid("review-empty").await;

        // About names the installed runtime and pack, and the log holds the
        // two imports' summaries.
        app.click("nav-settings").await;
        app.wait_for_testid_text("about-version", whaleid::about::VERSION)
            .await;
        let about = app.invoke("about_get", json!({})).await.unwrap();
        let runtime = PathBuf::from(about["onnxRuntimePath"].as_str().unwrap_or_default());
        assert!(
            runtime.starts_with(prefix.join("lib/WhaleID")),
            "the runtime in use is not the installed one: {about}"
        );
        assert_eq!(about["pack"], "generic 1.0.0", "{about}");
        app.click("about-copy").await;
        app.by_testid("about-copied").await;
        app.close().await;
        let log = std::fs::read_to_string(config.path().join("logs/whaleid.log")).unwrap();
        assert_eq!(
            log.matches("job=Ingest").count(),
            2,
            "two import summaries expected in: {log}"
        );
    });
    drop(driver);
}
