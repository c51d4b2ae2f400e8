//! What a bug report needs to say about this WhaleID: its version, the ONNX
//! Runtime it loaded and from where, the execution providers, the pack in
//! use, and where the catalogue, the app's preferences and its log live.
//!
//! `whaleid doctor` prints it and the app's About panel shows it (and copies
//! it, with the last lines of the log, as its diagnostics), so both say the
//! same things in the same words.

use std::path::PathBuf;

use crate::install;
use crate::packs::Pack;
use crate::runtime;

/// WhaleID's version (the engine's; the CLI and the app share it).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The pack in use.
#[derive(Debug, Clone, PartialEq)]
pub struct PackInUse {
    pub name: String,
    pub version: String,
    pub dir: PathBuf,
}

impl PackInUse {
    pub fn of(pack: &Pack) -> Self {
        Self {
            name: pack.name().to_owned(),
            version: pack.version().to_owned(),
            dir: pack.root.clone(),
        }
    }
}

/// The facts, each `None` where it does not apply (no catalogue open) or
/// could not be found (the reason is in `runtime`'s error).
#[derive(Debug, Clone)]
pub struct About {
    pub version: &'static str,
    /// The loaded library's version and path, or why it did not load.
    pub runtime: Result<runtime::RuntimeInfo, String>,
    /// Providers this build can ask for (cargo features).
    pub providers_in_build: Vec<&'static str>,
    /// Providers the models last ran on, where known.
    pub providers_used: Vec<String>,
    pub pack: Option<PackInUse>,
    pub catalogue: Option<PathBuf>,
    pub preferences: Option<PathBuf>,
    pub log_file: Option<PathBuf>,
}

/// The providers this build was compiled to ask for, CPU first.
pub fn providers_in_build() -> Vec<&'static str> {
    ["cpu"]
        .into_iter()
        .chain(cfg!(feature = "cuda").then_some("cuda"))
        .chain(cfg!(feature = "directml").then_some("directml"))
        .collect()
}

impl About {
    /// What can be found without a catalogue: version, runtime (loading it
    /// if it is not yet), providers, and the app's folders.
    pub fn gather() -> Self {
        Self {
            version: VERSION,
            runtime: runtime::init().cloned().map_err(|e| e.to_string()),
            providers_in_build: providers_in_build(),
            providers_used: Vec::new(),
            pack: None,
            catalogue: None,
            preferences: install::config_dir(),
            log_file: install::log_dir().map(|d| d.join(install::LOG_FILE)),
        }
    }

    /// One line per fact, as `whaleid doctor` prints them and the
    /// diagnostics copy them (the catalogue's only when one is open).
    pub fn lines(&self) -> Vec<String> {
        let shown = |p: &Option<PathBuf>, none: &str| {
            p.as_ref()
                .map_or_else(|| none.to_owned(), |p| p.display().to_string())
        };
        let mut lines = vec![
            format!("WhaleID {}", self.version),
            format!(
                "system: {} {}",
                std::env::consts::OS,
                std::env::consts::ARCH
            ),
        ];
        match &self.runtime {
            Ok(info) => {
                lines.push(format!(
                    "ONNX Runtime {} at {}",
                    info.version,
                    info.library.display()
                ));
                lines.push(format!(
                    "providers in the library: {}",
                    info.providers_compiled.join(", ")
                ));
            }
            Err(e) => lines.push(format!("ONNX Runtime not loaded: {e}")),
        }
        lines.push(format!(
            "providers in this build: {}",
            self.providers_in_build.join(", ")
        ));
        if !self.providers_used.is_empty() {
            lines.push(format!(
                "providers used last: {}",
                self.providers_used.join(", ")
            ));
        }
        if let Some(p) = &self.pack {
            lines.push(format!(
                "pack {} {} at {}",
                p.name,
                p.version,
                p.dir.display()
            ));
        }
        if let Some(catalogue) = &self.catalogue {
            lines.push(format!("catalogue: {}", catalogue.display()));
        }
        lines.push(format!(
            "app preferences: {}",
            shown(&self.preferences, "no home folder")
        ));
        lines.push(format!("app log: {}", shown(&self.log_file, "not written")));
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lines_name_every_fact_and_say_what_is_missing() {
        let about = About {
            version: "9.9.9",
            runtime: Err("library not found (looked at /x)".into()),
            providers_in_build: vec!["cpu"],
            providers_used: vec!["cpu".into()],
            pack: Some(PackInUse {
                name: "generic".into(),
                version: "1.0.0".into(),
                dir: "/usr/lib/WhaleID/models/generic".into(),
            }),
            catalogue: None,
            preferences: Some("/home/r/.config/org.whaleid.app".into()),
            log_file: None,
        };
        assert_eq!(
            about.lines(),
            [
                "WhaleID 9.9.9".to_owned(),
                format!(
                    "system: {} {}",
                    std::env::consts::OS,
                    std::env::consts::ARCH
                ),
                "ONNX Runtime not loaded: library not found (looked at /x)".to_owned(),
                "providers in this build: cpu".to_owned(),
                "providers used last: cpu".to_owned(),
                "pack generic 1.0.0 at /usr/lib/WhaleID/models/generic".to_owned(),
                "app preferences: /home/r/.config/org.whaleid.app".to_owned(),
                "app log: not written".to_owned(),
            ]
        );
    }
}
