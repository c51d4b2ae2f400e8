//! The About panel and "Copy diagnostics": what this WhaleID is and where
//! its files are, in the engine's words ([`whaleid::about`], the lines
//! `whaleid doctor` prints), plus the last lines of the log for a bug report.

use std::path::Path;

use tauri::{AppHandle, Runtime, State};
use whaleid::about::{About, PackInUse};

use crate::dto::AboutInfo;
use crate::error::{AppError, AppResult};
use crate::logging;
use crate::state::AppState;

/// Lines of the log the diagnostics carry.
pub const LOG_LINES: usize = 200;

/// The facts, with what only the app knows: the open catalogue and its
/// pack, the providers last used, the preferences and log files in use.
fn facts(state: &AppState) -> About {
    let mut about = About::gather();
    about.providers_used = state.providers_used();
    about.preferences = Some(state.prefs_file());
    about.log_file = logging::log_file().map(Path::to_path_buf);
    if let Some(open) = state.catalogue().as_ref() {
        about.catalogue = Some(open.path.clone());
        about.pack = open.pack.as_ref().map(PackInUse::of);
    }
    about
}

fn shown(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

fn info(about: &About) -> AboutInfo {
    let runtime = about.runtime.as_ref();
    AboutInfo {
        version: about.version.to_owned(),
        onnx_runtime: runtime.ok().map(|r| r.version.clone()),
        onnx_runtime_path: runtime.ok().map(|r| shown(&r.library)),
        onnx_runtime_error: runtime.err().cloned(),
        providers_in_library: runtime
            .map(|r| r.providers_compiled.clone())
            .unwrap_or_default(),
        providers_in_build: about
            .providers_in_build
            .iter()
            .map(|p| p.to_string())
            .collect(),
        providers_used: about.providers_used.clone(),
        pack: about
            .pack
            .as_ref()
            .map(|p| format!("{} {}", p.name, p.version)),
        pack_path: about.pack.as_ref().map(|p| shown(&p.dir)),
        catalogue: about.catalogue.as_deref().map(shown),
        preferences: about.preferences.as_deref().map(shown).unwrap_or_default(),
        log_file: about.log_file.as_deref().map(shown),
    }
}

/// The text "Copy diagnostics" copies: the About lines, then the log's last
/// lines under a heading.
pub fn diagnostics(about: &About, log: &[String]) -> String {
    let mut text = about.lines().join("\n");
    text.push_str("\n\n");
    if log.is_empty() {
        text.push_str("(the log is empty or not written)\n");
    } else {
        text.push_str(&format!("last {} line(s) of the log:\n", log.len()));
        for line in log {
            text.push_str(line);
            text.push('\n');
        }
    }
    text
}

#[tauri::command]
pub async fn about_get(state: State<'_, AppState>) -> AppResult<AboutInfo> {
    Ok(info(&facts(&state)))
}

#[tauri::command]
pub async fn diagnostics_get(state: State<'_, AppState>) -> AppResult<String> {
    Ok(diagnostics(&facts(&state), &logging::last_lines(LOG_LINES)))
}

/// Put the diagnostics on the desktop clipboard, and return them (the UI
/// shows them to copy by hand when this fails).
#[tauri::command]
pub async fn diagnostics_copy<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
) -> AppResult<String> {
    let text = diagnostics(&facts(&state), &logging::last_lines(LOG_LINES));
    to_clipboard(&app, text.clone())?;
    tracing::info!("diagnostics copied to the clipboard");
    Ok(text)
}

/// GTK's clipboard, set on the main (GTK) thread; waits until it is set.
#[cfg(target_os = "linux")]
fn to_clipboard<R: Runtime>(app: &AppHandle<R>, text: String) -> AppResult<()> {
    let (done, set) = std::sync::mpsc::channel();
    app.run_on_main_thread(move || {
        let clipboard = gtk::Clipboard::get(&gtk::gdk::SELECTION_CLIPBOARD);
        clipboard.set_text(&text);
        // Hand it to a clipboard manager, where one runs, so it outlives the app.
        clipboard.store();
        let _ = done.send(());
    })?;
    set.recv_timeout(std::time::Duration::from_secs(5))
        .map_err(|_| AppError::internal("the clipboard did not answer"))
}

#[cfg(not(target_os = "linux"))]
fn to_clipboard<R: Runtime>(_app: &AppHandle<R>, _text: String) -> AppResult<()> {
    Err(AppError::invalid(
        "copying to the clipboard is built for Linux only; copy the text shown instead",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diagnostics_are_the_about_lines_then_the_log_tail() {
        let about = About {
            version: "1.2.3",
            runtime: Err("not found".into()),
            providers_in_build: vec!["cpu"],
            providers_used: Vec::new(),
            pack: None,
            catalogue: Some("/data/cat".into()),
            preferences: Some("/home/r/.config/org.whaleid.app/prefs.json".into()),
            log_file: Some("/home/r/.local/share/org.whaleid.app/logs/whaleid.log".into()),
        };
        let text = diagnostics(&about, &["one".into(), "two".into()]);
        assert!(text.starts_with("WhaleID 1.2.3\nsystem: "), "{text}");
        assert!(
            text.contains("\nONNX Runtime not loaded: not found\n"),
            "{text}"
        );
        assert!(text.contains("\ncatalogue: /data/cat\n"), "{text}");
        assert!(
            text.ends_with("\n\nlast 2 line(s) of the log:\none\ntwo\n"),
            "{text}"
        );
        let empty = diagnostics(&about, &[]);
        assert!(
            empty.ends_with("(the log is empty or not written)\n"),
            "{empty}"
        );
        let shown = info(&about);
        assert_eq!(shown.onnx_runtime_error.as_deref(), Some("not found"));
        assert_eq!(shown.catalogue.as_deref(), Some("/data/cat"));
        assert_eq!(
            shown.log_file.as_deref(),
            Some("/home/r/.local/share/org.whaleid.app/logs/whaleid.log")
        );
    }
}
