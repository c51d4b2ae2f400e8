//! The catalogue and settings commands as the UI calls them, through the
//! IPC on Tauri's mock runtime with a real catalogue in a temp folder:
//! creating (bound to the generic pack, refused over a folder of photos),
//! opening (and the errors, with kind and message, in the app's terms),
//! reopening at the next start, and where each setting is kept.

mod support;

use std::path::Path;

use serde_json::{json, Value};
use tauri::Manager;
use whaleid_app::state::AppState;

use support::{app, invoke, open_with_tiny_pack, start_ingest, survey};

#[test]
fn a_created_catalogue_is_bound_to_the_generic_pack_and_reopens_at_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    let path = dir.path().join("Baie d'Audierne 2026");
    {
        let (app, window) = app(&config);
        assert_eq!(
            invoke(&window, "catalogue_current", json!({})).unwrap(),
            Value::Null
        );
        let info = invoke(&window, "catalogue_create", json!({ "path": path })).unwrap();
        assert_eq!(info["name"], "Baie d'Audierne 2026");
        assert_eq!(
            info["path"],
            path.canonicalize().unwrap().to_string_lossy().as_ref()
        );
        assert_eq!(
            (info["photos"].clone(), info["toReview"].clone()),
            (json!(0), json!(0))
        );
        let pack = &info["pack"];
        assert_eq!(pack["name"], "generic");
        assert_eq!(pack["embeddingDim"], 512);
        assert_eq!(pack["detector"], false);
        assert_eq!(pack["backbones"], json!(["effnet_lite0"]));
        assert_eq!(pack["threshold"].as_f64().unwrap(), 0.5);
        // The webview may now load the catalogue's crops, and nothing else.
        let scope = app.asset_protocol_scope();
        let canonical = path.canonicalize().unwrap();
        assert!(scope.is_allowed(canonical.join("media/crops/a.jpg")));
        assert!(!scope.is_allowed(dir.path().join("elsewhere/a.jpg")));
        // Creating it twice is refused with a kind the UI can show.
        let again = invoke(&window, "catalogue_create", json!({ "path": path })).unwrap_err();
        assert_eq!(again["kind"], "catalogue");
        assert!(again["message"]
            .as_str()
            .unwrap()
            .contains("already holds a catalogue"));
    }
    // A new session finds it again, through the saved preferences.
    let (app, window) = app(&config);
    let current = invoke(&window, "catalogue_current", json!({})).unwrap();
    assert_eq!(current["name"], "Baie d'Audierne 2026");
    assert_eq!(current["pack"]["name"], "generic");
    assert!(app
        .asset_protocol_scope()
        .is_allowed(path.canonicalize().unwrap().join("media/thumbs/b.jpg")));
    let opened = invoke(&window, "catalogue_open", json!({ "path": path })).unwrap();
    assert_eq!(opened, current);
}

#[test]
fn a_folder_that_is_not_a_catalogue_or_does_not_exist_is_an_error_with_kind_and_message() {
    let dir = tempfile::tempdir().unwrap();
    let (app, window) = app(&dir.path().join("config"));
    let err = invoke(&window, "catalogue_open", json!({ "path": dir.path() })).unwrap_err();
    assert_eq!(err["kind"], "catalogue");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("not a WhaleID catalogue"),
        "{err}"
    );
    assert_eq!(
        err.as_object().unwrap().len(),
        2,
        "only kind and message: {err}"
    );

    // Nothing open: an ingest has nowhere to go.
    let (none_open, _) = start_ingest(&app, vec![dir.path().to_path_buf()]);
    assert_eq!(
        none_open.unwrap_err().kind,
        whaleid_app::error::ErrorKind::NotFound
    );

    open_with_tiny_pack(&window, dir.path());
    let missing = dir.path().join("card not plugged in");
    let (result, _) = start_ingest(&app, vec![missing.clone()]);
    let err = serde_json::to_value(result.unwrap_err()).unwrap();
    assert_eq!(err["kind"], "notFound");
    let message = err["message"].as_str().unwrap();
    assert!(message.contains(&*missing.to_string_lossy()), "{message}");
    assert!(message.contains("does not exist"), "{message}");

    let err = invoke(&window, "job_cancel", json!({ "jobId": 77 })).unwrap_err();
    assert_eq!(err, json!({"kind": "notFound", "message": "no job 77"}));
}

#[test]
fn settings_keep_the_threshold_in_the_catalogue_and_threads_in_the_preferences() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    let (_app, window) = app(&config);
    // With no catalogue, the threshold is the generic pack's and cannot be set.
    let none = invoke(&window, "settings_get", json!({})).unwrap();
    assert_eq!(none["cataloguePath"], Value::Null);
    assert_eq!(none["threshold"].as_f64().unwrap(), 0.5);
    let err = invoke(
        &window,
        "settings_set",
        json!({ "threads": null, "threshold": 0.4 }),
    )
    .unwrap_err();
    assert_eq!(err["kind"], "notFound");

    let cat = open_with_tiny_pack(&window, dir.path());
    let set = invoke(
        &window,
        "settings_set",
        json!({ "threads": 1, "threshold": 0.42 }),
    )
    .unwrap();
    assert_eq!(set["threads"], 1);
    assert!((set["threshold"].as_f64().unwrap() - 0.42).abs() < 1e-6);
    assert!((set["pack"]["threshold"].as_f64().unwrap() - 0.42).abs() < 1e-6);
    // Where the CLI reads it.
    let stored = whaleid::catalogue::Catalogue::open(&cat)
        .unwrap()
        .setting(whaleid::catalogue::keys::THRESHOLD)
        .unwrap();
    assert_eq!(stored.as_deref(), Some("0.42"));
    assert_eq!(AppState::new(config).prefs().threads, 1);
    // Typed by a person, so no calibration stands behind it; the (empty)
    // review queue was ranked again.
    assert_eq!(set["thresholdSource"], "set");
    assert_eq!(set["calibration"], Value::Null);
    assert_eq!(set["reranked"], 0);
    assert!((set["newShare"].as_f64().unwrap() - 0.15).abs() < 1e-9);
    assert!(set["newShareSource"].as_str().unwrap().contains("default"));
    let set = invoke(
        &window,
        "settings_set",
        json!({ "threads": null, "threshold": null, "newShare": 0.25 }),
    )
    .unwrap();
    assert!((set["newShare"].as_f64().unwrap() - 0.25).abs() < 1e-9);
    assert!(set["newShareSource"].as_str().unwrap().contains("as set"));
    // A set threshold is left alone by a new share.
    assert!((set["threshold"].as_f64().unwrap() - 0.42).abs() < 1e-6);
    let err = invoke(
        &window,
        "settings_set",
        json!({ "threads": null, "threshold": null, "newShare": 2.0 }),
    )
    .unwrap_err();
    assert_eq!(err["kind"], "invalid");

    let err = invoke(
        &window,
        "settings_set",
        json!({ "threads": null, "threshold": 1.5 }),
    )
    .unwrap_err();
    assert_eq!(err["kind"], "invalid");
    // A different pack cannot be bound to a catalogue that holds this one's.
    let generic = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/generic");
    let err = invoke(&window, "pack_import", json!({ "path": generic })).unwrap_err();
    assert_eq!(err["kind"], "invalid");
    assert!(err["message"].as_str().unwrap().contains("tiny"), "{err}");
}

/// Issue 13: "Create new" in the survey folder went ahead silently.
#[test]
fn create_new_refuses_a_folder_that_holds_photos_or_files_and_accepts_an_empty_one() {
    let dir = tempfile::tempdir().unwrap();
    let (_app, window) = app(&dir.path().join("config"));
    let survey_dir = dir.path().join("survey");
    survey(&survey_dir, 20);
    // 20 photos in two day folders, broken.png (a photo by its name) and notes.txt.
    let err = invoke(&window, "catalogue_create", json!({ "path": survey_dir })).unwrap_err();
    assert_eq!(err["kind"], "catalogue");
    assert_eq!(
        err["message"],
        format!(
            "{} holds 21 photos; choose an empty folder for the new catalogue",
            survey_dir.display()
        )
    );
    assert!(!survey_dir.join(whaleid::catalogue::DB_FILE).exists());
    assert!(!survey_dir.join("media").exists());

    let notes = dir.path().join("notes");
    std::fs::create_dir_all(notes.join("sub")).unwrap();
    std::fs::write(notes.join("a.txt"), "x").unwrap();
    std::fs::write(notes.join("sub/b.csv"), "x").unwrap();
    let err = invoke(&window, "catalogue_create", json!({ "path": notes })).unwrap_err();
    assert_eq!(
        err["message"],
        format!(
            "{} holds 2 files; choose an empty folder for the new catalogue",
            notes.display()
        )
    );

    // Empty but for what a file manager leaves behind: accepted.
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    std::fs::write(empty.join(".DS_Store"), "x").unwrap();
    let info = invoke(&window, "catalogue_create", json!({ "path": empty })).unwrap();
    assert_eq!(info["name"], "empty");
    // A folder that does not exist yet is made.
    let fresh = dir.path().join("new one");
    invoke(&window, "catalogue_create", json!({ "path": fresh })).unwrap();
    assert!(fresh.join(whaleid::catalogue::DB_FILE).is_file());
    // And a catalogue folder is pointed at the catalogue, not refused as full.
    let again = invoke(&window, "catalogue_create", json!({ "path": fresh })).unwrap_err();
    assert_eq!(
        again["message"],
        format!(
            "{} already holds a catalogue: open it instead",
            fresh.display()
        )
    );
}

/// Issue 13: the not-a-catalogue message said it twice and gave CLI advice.
#[test]
fn opening_a_folder_that_is_not_a_catalogue_says_so_once_in_app_terms() {
    let dir = tempfile::tempdir().unwrap();
    let (_app, window) = app(&dir.path().join("config"));
    let folder = dir.path().join("survey");
    survey(&folder, 2);
    let err = invoke(&window, "catalogue_open", json!({ "path": folder })).unwrap_err();
    assert_eq!(err["kind"], "catalogue");
    let message = err["message"].as_str().unwrap();
    assert_eq!(
        message,
        format!(
            "{} is not a WhaleID catalogue (no catalogue.sqlite). Open a catalogue folder, or create a new one.",
            folder.display()
        )
    );
    assert_eq!(message.matches("catalogue.sqlite").count(), 1);
    // The CLI keeps its own advice.
    let cli = whaleid::catalogue::Catalogue::open(&folder).unwrap_err();
    assert!(
        cli.to_string().contains("whaleid catalogue create"),
        "{cli}"
    );
    // A folder that does not exist is a file-system error naming it.
    let missing = dir.path().join("unplugged");
    let err = invoke(&window, "catalogue_open", json!({ "path": missing })).unwrap_err();
    assert!(
        err["message"].as_str().unwrap().contains("unplugged"),
        "{err}"
    );
}

#[test]
fn about_names_the_version_runtime_pack_catalogue_and_files_and_the_diagnostics_copy_them() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    let (_app, window) = app(&config);
    let cat = open_with_tiny_pack(&window, dir.path());

    let about = invoke(&window, "about_get", json!({})).unwrap();
    assert_eq!(about["version"], whaleid::about::VERSION);
    assert!(
        about["onnxRuntime"].as_str().unwrap().starts_with("1."),
        "{about}"
    );
    assert!(
        about["onnxRuntimePath"]
            .as_str()
            .unwrap()
            .contains("libonnxruntime"),
        "{about}"
    );
    assert_eq!(about["onnxRuntimeError"], Value::Null);
    assert_eq!(about["providersInBuild"][0], "cpu");
    assert_eq!(about["pack"], "tiny 0.1.0");
    assert_eq!(about["catalogue"], cat.to_str().unwrap());
    assert_eq!(
        about["preferences"],
        config.join("prefs.json").to_str().unwrap()
    );

    let text = invoke(&window, "diagnostics_get", json!({})).unwrap();
    let text = text.as_str().unwrap();
    assert!(
        text.starts_with(&format!("WhaleID {}\n", whaleid::about::VERSION)),
        "{text}"
    );
    for line in [
        format!("catalogue: {}", cat.display()),
        format!("pack tiny 0.1.0 at {}", about["packPath"].as_str().unwrap()),
        format!("app preferences: {}", config.join("prefs.json").display()),
    ] {
        assert!(text.contains(&line), "{line} not in: {text}");
    }
}

#[test]
fn opening_a_catalogue_from_an_older_whaleid_backs_it_up_and_says_where() {
    let dir = tempfile::tempdir().unwrap();
    let cat = dir.path().join("old");
    std::fs::create_dir_all(&cat).unwrap();
    let older = whaleid::catalogue::migrate::latest() - 1;
    let mut conn = rusqlite_connection(&cat);
    whaleid::catalogue::migrate::migrate(&mut conn, Some(older)).unwrap();
    drop(conn);
    let (_app, window) = app(&dir.path().join("config"));

    let info = invoke(&window, "catalogue_open", json!({ "path": cat })).unwrap();
    let upgraded = &info["upgraded"];
    assert_eq!(upgraded["from"], older);
    assert_eq!(upgraded["to"], whaleid::catalogue::migrate::latest());
    let backup = Path::new(upgraded["backup"].as_str().unwrap());
    assert_eq!(backup.parent(), Some(cat.as_path()));
    assert!(backup.is_file(), "{}", backup.display());
    // Still said while it stays open (the header's notice), and only then.
    let current = invoke(&window, "catalogue_current", json!({})).unwrap();
    assert_eq!(current["upgraded"], *upgraded);
}

fn rusqlite_connection(cat: &Path) -> whaleid_testkit::rusqlite::Connection {
    whaleid_testkit::rusqlite::Connection::open(cat.join(whaleid::catalogue::DB_FILE)).unwrap()
}
