//! Where WhaleID finds what it ships with: the ONNX Runtime library and the
//! generic pack.
//!
//! An installed WhaleID carries both with it, so they are looked for relative
//! to the install, never in the folder it was built from. In order:
//!
//! 1. an explicit path, final when given: `ORT_DYLIB_PATH` for the library,
//!    `WHALEID_GENERIC_PACK` for the pack (a source checkout sets both in
//!    `.cargo/config.toml` and its scripts);
//! 2. the app's resource folder, registered by the desktop app at start-up
//!    ([`set_resource_dir`]);
//! 3. the executable's folder;
//! 4. `../lib/WhaleID` beside the executable's folder: where the Linux
//!    package puts its resources (`/usr/bin/whaleid` →
//!    `/usr/lib/WhaleID`), and its lower-case spelling.
//!
//! Within a folder the library is `lib/libonnxruntime.so*` or
//! `libonnxruntime.so*` (`.dll`/`.dylib` elsewhere), and the pack is
//! `models/generic/pack.toml`. When nothing is found, the error names every
//! path that was tried.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::error::{Error, Result};

/// Names the ONNX Runtime library file, final when set.
pub const LIBRARY_ENV: &str = "ORT_DYLIB_PATH";
/// Names the generic pack's folder, final when set.
pub const GENERIC_PACK_ENV: &str = "WHALEID_GENERIC_PACK";
/// The generic pack's folder inside an install folder.
pub const GENERIC_PACK_SUBDIR: &str = "models/generic";

static RESOURCE_DIR: OnceLock<PathBuf> = OnceLock::new();

/// Register the app's resource folder, looked in before the executable's.
/// The first registration holds for the life of the process.
pub fn set_resource_dir(dir: PathBuf) {
    let _ = RESOURCE_DIR.set(dir);
}

/// The folders an install keeps its files in, in lookup order, each once.
pub fn install_dirs() -> Vec<PathBuf> {
    let exe = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf));
    install_dirs_for(RESOURCE_DIR.get().cloned(), exe)
}

fn install_dirs_for(resources: Option<PathBuf>, exe_dir: Option<PathBuf>) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    dirs.extend(resources);
    if let Some(exe) = exe_dir {
        dirs.push(exe.clone());
        if let Some(prefix) = exe.parent() {
            dirs.push(prefix.join("lib/WhaleID"));
            dirs.push(prefix.join("lib/whaleid"));
        }
    }
    let mut seen = Vec::new();
    dirs.retain(|d| {
        let new = !seen.contains(d);
        seen.push(d.clone());
        new
    });
    dirs
}

fn explicit(var: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
}

/// Candidate ONNX Runtime library files, in lookup order: only
/// `$ORT_DYLIB_PATH` when it is set; else the library files in each of
/// [`library_places`] (an install folder's `lib/`, then the folder itself),
/// unversioned name first.
pub fn library_candidates() -> Vec<PathBuf> {
    if let Some(path) = explicit(LIBRARY_ENV) {
        return vec![path];
    }
    library_places()
        .iter()
        .flat_map(|d| library_files_in(d))
        .collect()
}

/// What [`library_candidates`] looks at, as said in an error: the explicit
/// file, else each folder it searched.
pub fn library_places() -> Vec<PathBuf> {
    if let Some(path) = explicit(LIBRARY_ENV) {
        return vec![path];
    }
    install_dirs()
        .iter()
        .flat_map(|d| [d.join("lib"), d.clone()])
        .collect()
}

/// `libonnxruntime.so` and versioned siblings (`.so.1.31.1`) in a folder,
/// unversioned name first.
fn library_files_in(dir: &Path) -> Vec<PathBuf> {
    let base = library_name();
    let mut found = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name == base || name.starts_with(&format!("{base}.")) {
                found.push(entry.path());
            }
        }
    }
    found.sort_by_key(|p| p.file_name().map(|n| n.len()));
    found
}

/// `libonnxruntime.so` (`onnxruntime.dll`, `libonnxruntime.dylib`).
fn library_name() -> String {
    format!(
        "{}onnxruntime{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    )
}

/// Candidate generic pack folders, in lookup order: only
/// `$WHALEID_GENERIC_PACK` when it is set; else `models/generic` in each
/// install folder.
pub fn generic_pack_candidates() -> Vec<PathBuf> {
    if let Some(path) = explicit(GENERIC_PACK_ENV) {
        return vec![path];
    }
    install_dirs()
        .iter()
        .map(|d| d.join(GENERIC_PACK_SUBDIR))
        .collect()
}

/// The generic pack shipped with WhaleID: the first candidate folder holding
/// a `pack.toml`, or an error naming every folder tried.
pub fn generic_pack_dir() -> Result<PathBuf> {
    let candidates = generic_pack_candidates();
    candidates
        .iter()
        .find(|d| d.join("pack.toml").is_file())
        .cloned()
        .ok_or_else(|| Error::Pack {
            pack: candidates.first().cloned().unwrap_or_default(),
            file: "pack.toml".into(),
            reason: format!(
                "the generic pack is not installed (looked in {}): reinstall WhaleID, or set {GENERIC_PACK_ENV} to the pack's folder (in a source checkout: models/generic)",
                said(&candidates)
            ),
        })
}

/// The desktop app's identifier (`src-tauri/tauri.conf.json`): its
/// preferences and log folders are named after it.
pub const APP_IDENTIFIER: &str = "org.whaleid.app";
/// Moves the app's preferences, and its log (in `logs/` there), to another
/// folder: tests and portable set-ups.
pub const CONFIG_DIR_ENV: &str = "WHALEID_CONFIG_DIR";
/// The log file's name in [`log_dir`].
pub const LOG_FILE: &str = "whaleid.log";

fn config_override() -> Option<PathBuf> {
    explicit(CONFIG_DIR_ENV)
}

/// Where the app keeps its preferences: `$WHALEID_CONFIG_DIR`, else the
/// platform's config folder for the app, the one Tauri's `app_config_dir`
/// resolves (`~/.config/org.whaleid.app` on Linux, `%APPDATA%` on Windows).
/// `None` when the platform has no home folder to put it in.
pub fn config_dir() -> Option<PathBuf> {
    config_override().or_else(|| dirs::config_dir().map(|d| d.join(APP_IDENTIFIER)))
}

/// Where the app writes its log: `logs/` in `$WHALEID_CONFIG_DIR`, else the
/// platform's log folder for the app, the one Tauri's `app_log_dir`
/// resolves (`~/.local/share/org.whaleid.app/logs` on Linux,
/// `%LOCALAPPDATA%` on Windows, `~/Library/Logs` on macOS). An install
/// never writes there, so upgrading the package keeps it.
pub fn log_dir() -> Option<PathBuf> {
    if let Some(dir) = config_override() {
        return Some(dir.join("logs"));
    }
    if cfg!(target_os = "macos") {
        dirs::home_dir().map(|h| h.join("Library/Logs").join(APP_IDENTIFIER))
    } else {
        dirs::data_local_dir().map(|d| d.join(APP_IDENTIFIER).join("logs"))
    }
}

/// Paths as a list in a sentence.
pub fn said(paths: &[PathBuf]) -> String {
    if paths.is_empty() {
        return "no folder (the executable's folder is unknown)".into();
    }
    paths
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn install_folders_are_resources_then_the_executable_then_the_package_lib() {
        let dirs = install_dirs_for(
            Some(PathBuf::from("/opt/res")),
            Some(PathBuf::from("/usr/bin")),
        );
        assert_eq!(
            dirs,
            [
                "/opt/res",
                "/usr/bin",
                "/usr/lib/WhaleID",
                "/usr/lib/whaleid"
            ]
            .map(PathBuf::from)
        );
    }

    #[test]
    fn a_resource_folder_that_is_the_executables_is_looked_in_once() {
        let dirs = install_dirs_for(Some(PathBuf::from("/a/b")), Some(PathBuf::from("/a/b")));
        assert_eq!(dirs.len(), 3, "{dirs:?}");
    }

    #[test]
    fn versioned_library_names_are_found_unversioned_first() {
        let dir = tempfile::tempdir().unwrap();
        let base = library_name();
        for name in [format!("{base}.1.31.1"), base.clone(), "notes.txt".into()] {
            std::fs::write(dir.path().join(name), b"").unwrap();
        }
        let found = library_files_in(dir.path());
        assert_eq!(
            found,
            vec![
                dir.path().join(&base),
                dir.path().join(format!("{base}.1.31.1"))
            ]
        );
    }
}
