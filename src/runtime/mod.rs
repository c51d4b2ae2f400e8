//! ONNX Runtime: finding the library, the one environment, and sessions.
//!
//! WhaleID never downloads ONNX Runtime. `ort` is built with `load-dynamic`, and
//! the shared library is looked up at `ORT_DYLIB_PATH`, else in the install's
//! own folders ([`crate::install`]), so an installed app carries its own copy;
//! a source checkout points `ORT_DYLIB_PATH` at `.ort/lib/`, which
//! `scripts/setup-ort.sh` fills. ORT allows one environment per process, so it lives in a
//! `OnceLock` and every model shares it.
//!
//! Sessions are built per model with a [`SessionConfig`]: the device the user
//! asked for and thread counts. [`Device::Auto`] tries the GPU providers this
//! build and the loaded library have, each registered with `error_on_failure`
//! so a missing CUDA install is noticed rather than silently run on the CPU,
//! and falls back to the CPU with the reason kept; an explicit `cuda` or
//! `directml` that cannot be used is an error. Where each session really
//! runs is returned with it ([`Placement`], folded by [`RanOn`]).

mod provider;
mod worker;

pub use provider::{nvidia_gpu_name, Placement, RanOn};
pub use worker::{InferenceWorker, WorkerInfo};

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ort::environment::Environment;
#[allow(unused_imports)]
use ort::ep::{self, ExecutionProviderDispatch};
use ort::session::builder::{GraphOptimizationLevel, SessionBuilder};
use ort::session::Session;

use crate::error::{Error, Result};
use crate::install;

/// Oldest ONNX Runtime accepted (the `api-24` feature of `ort`).
pub const MIN_ORT_MINOR: u32 = 24;
/// The version `scripts/setup-ort.sh` installs.
pub const PINNED_ORT_VERSION: &str = "1.31.1";

const SETUP_HINT: &str = "reinstall WhaleID, or set ORT_DYLIB_PATH to a libonnxruntime shared library (in a source checkout, run `scripts/setup-ort.sh`: it takes libonnxruntime from the onnxruntime wheel on PyPI into .ort/lib/)";

/// Where the library was found and what it is.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RuntimeInfo {
    pub library: PathBuf,
    pub version: String,
    /// Execution providers compiled into the loaded library.
    pub providers_compiled: Vec<String>,
}

#[derive(Debug)]
struct Loaded {
    env: Environment,
    info: RuntimeInfo,
}

static RUNTIME: OnceLock<std::result::Result<Loaded, LoadFailure>> = OnceLock::new();

/// Why ONNX Runtime did not load: the sentence, and the loader's own error
/// when there is one (kept once, reported on every later call).
type LoadFailure = (String, Option<crate::error::Cause>);

/// The execution device the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Device {
    /// GPU providers this build has, then the CPU.
    #[default]
    Auto,
    Cpu,
    Cuda,
    #[serde(rename = "directml")]
    DirectMl,
}

impl std::str::FromStr for Device {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Ok(Device::Auto),
            "cpu" => Ok(Device::Cpu),
            "cuda" => Ok(Device::Cuda),
            "directml" | "dml" => Ok(Device::DirectMl),
            other => Err(format!(
                "unknown device `{other}`: expected auto, cpu, cuda or directml"
            )),
        }
    }
}

/// How to build each session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionConfig {
    pub device: Device,
    /// Threads inside one operator; 0 lets ORT use every core. A laptop stays
    /// usable with fewer than the number of cores.
    pub intra_threads: usize,
    /// Whether ORT's idle threads spin waiting for work (ORT's own default).
    /// Spinning shaves latency only when inference has the cores to itself;
    /// in WhaleID photo decoding, review images and the app share them, and
    /// spinning cost ingest 16–30% (`cargo bench --bench ingest`), so it is
    /// off unless asked for.
    pub spin: bool,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self {
            device: Device::Auto,
            intra_threads: 0,
            spin: false,
        }
    }
}

/// The execution provider a session really runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    Cpu,
    Cuda,
    #[serde(rename = "directml")]
    DirectMl,
}

impl Provider {
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Cpu => "cpu",
            Provider::Cuda => "cuda",
            Provider::DirectMl => "directml",
        }
    }
}

impl std::fmt::Display for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Candidate library paths, in lookup order (see [`crate::install`]).
pub fn library_candidates() -> Vec<PathBuf> {
    install::library_candidates()
}

/// Load ONNX Runtime once per process and return what was loaded.
pub fn init() -> Result<&'static RuntimeInfo> {
    match RUNTIME.get_or_init(load) {
        Ok(loaded) => Ok(&loaded.info),
        Err((reason, source)) => Err(Error::Runtime {
            reason: reason.clone(),
            source: source.clone(),
        }),
    }
}

fn environment() -> Result<&'static Environment> {
    init()?;
    match RUNTIME.get() {
        Some(Ok(loaded)) => Ok(&loaded.env),
        _ => unreachable!("init() succeeded"),
    }
}

fn load() -> std::result::Result<Loaded, LoadFailure> {
    let candidates = library_candidates();
    let Some(library) = candidates.iter().find(|p| p.is_file()).cloned() else {
        let looked = install::said(&install::library_places());
        return Err((
            format!("ONNX Runtime library not found (looked at {looked}): {SETUP_HINT}"),
            None,
        ));
    };
    let builder = ort::init_from(&library).map_err(|e| {
        let reason = match &e {
            ort::LoadDynamicError::BadVersion { version_str, path } => format!(
                "ONNX Runtime at {} is version {version_str}, too old: WhaleID needs 1.{MIN_ORT_MINOR} or newer ({PINNED_ORT_VERSION} is tested); {SETUP_HINT}",
                path.display()
            ),
            other => format!(
                "could not load ONNX Runtime from {}: {other}; {SETUP_HINT}",
                library.display()
            ),
        };
        (reason, Some(std::sync::Arc::new(e) as crate::error::Cause))
    })?;
    let env = builder
        .with_name("whaleid")
        .with_telemetry(false)
        .build()
        .map_err(|e| {
            let reason = format!("could not start ONNX Runtime: {e}");
            (reason, Some(std::sync::Arc::new(e) as crate::error::Cause))
        })?;
    let version = version_from_build_info(ort::info())
        .or_else(|| version_from_file_name(&library.canonicalize().unwrap_or(library.clone())))
        .unwrap_or_else(|| "unknown".into());
    let providers_compiled = compiled_providers();
    Ok(Loaded {
        env,
        info: RuntimeInfo {
            library,
            version,
            providers_compiled,
        },
    })
}

/// `ORT Build Info: git-branch=rel-1.31.1, ...` → `1.31.1`.
fn version_from_build_info(info: &str) -> Option<String> {
    let start = info.find("rel-")? + 4;
    let rest = &info[start..];
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    let version = &rest[..end];
    (!version.is_empty()).then(|| version.to_string())
}

/// `libonnxruntime.so.1.31.1` → `1.31.1`.
fn version_from_file_name(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    let idx = name.find(".so.")?;
    Some(name[idx + 4..].to_string())
}

/// The execution providers compiled into the loaded library, in ORT's names
/// mapped to ours (`CUDAExecutionProvider` → `cuda`). ort only exposes this
/// per provider behind cargo features, so ask the C API directly.
#[allow(unsafe_code)]
fn compiled_providers() -> Vec<String> {
    use std::ffi::{c_char, c_int, CStr};
    let api = ort::api();
    let mut list: *mut *mut c_char = std::ptr::null_mut();
    let mut len: c_int = 0;
    // SAFETY: both out-pointers are valid; on success ORT owns `list` until it
    // is handed back to ReleaseAvailableProviders below, and every entry is a
    // NUL-terminated string.
    let names = unsafe {
        let status = (api.GetAvailableProviders)(&mut list, &mut len);
        if !status.0.is_null() {
            (api.ReleaseStatus)(status.0);
            return vec!["cpu".into()];
        }
        let names: Vec<String> = (0..len.max(0) as usize)
            .map(|i| CStr::from_ptr(*list.add(i)).to_string_lossy().into_owned())
            .collect();
        let status = (api.ReleaseAvailableProviders)(list, len);
        if !status.0.is_null() {
            (api.ReleaseStatus)(status.0);
        }
        names
    };
    names
        .into_iter()
        // The PyPI wheel lists Azure, a remote-inference endpoint, not a
        // device: WhaleID runs its models on this machine and never uses it.
        .filter(|n| n != "AzureExecutionProvider")
        .map(|n| match n.as_str() {
            "CPUExecutionProvider" => "cpu".to_string(),
            "CUDAExecutionProvider" => "cuda".to_string(),
            "DmlExecutionProvider" => "directml".to_string(),
            "TensorrtExecutionProvider" => "tensorrt".to_string(),
            other => other.trim_end_matches("ExecutionProvider").to_lowercase(),
        })
        .collect()
}

/// GPU providers to try for a device choice, most preferred first, each
/// with the reason it cannot be tried when that is known before trying
/// (this build or the loaded library lacks it).
fn gpu_candidates(
    device: Device,
) -> Vec<(
    Provider,
    std::result::Result<ExecutionProviderDispatch, String>,
)> {
    let mut out = Vec::new();
    if matches!(device, Device::Auto | Device::Cuda) {
        #[cfg(feature = "cuda")]
        let dispatch = in_library(Provider::Cuda).map(|()| {
            ep::CUDA::default()
                .with_tf32(cuda_tf32())
                .build()
                .error_on_failure()
        });
        #[cfg(not(feature = "cuda"))]
        let dispatch = Err(not_in_build(Provider::Cuda));
        out.push((Provider::Cuda, dispatch));
    }
    #[cfg(feature = "directml")]
    if matches!(device, Device::Auto | Device::DirectMl) {
        let dispatch = in_library(Provider::DirectMl)
            .map(|()| ep::DirectML::default().build().error_on_failure());
        out.push((Provider::DirectMl, dispatch));
    }
    #[cfg(not(feature = "directml"))]
    if device == Device::DirectMl {
        out.push((Provider::DirectMl, Err(not_in_build(Provider::DirectMl))));
    }
    out
}

#[allow(dead_code)]
fn not_in_build(provider: Provider) -> String {
    format!(
        "this build of WhaleID was compiled without the `{provider}` feature (cargo build --features {provider})"
    )
}

/// Whether the loaded ONNX Runtime library has `provider` compiled in: the
/// CPU wheel (`onnxruntime`) has no CUDA, only `onnxruntime-gpu` has.
#[allow(dead_code)]
fn in_library(provider: Provider) -> std::result::Result<(), String> {
    let info = init().map_err(|e| e.to_string())?;
    if info
        .providers_compiled
        .iter()
        .any(|p| p == provider.as_str())
    {
        return Ok(());
    }
    let wheel = match provider {
        Provider::Cuda => {
            "onnxruntime-gpu with its CUDA and cuDNN libraries (as scripts/gpu-check.sh does)"
        }
        _ => "onnxruntime-directml",
    };
    Err(format!(
        "ONNX Runtime {} at {} has no {} provider (it has: {}): install {wheel} and point ORT_DYLIB_PATH at its libonnxruntime",
        info.version,
        info.library.display(),
        provider.label(),
        info.providers_compiled.join(", ")
    ))
}

/// CUDA's TF32 tensor-core maths (ONNX Runtime's default: on), off with
/// `WHALEID_CUDA_TF32=0` to compare embeddings with the CPU's bit for bit
/// closer (about 1e-6 rather than 1e-4; scripts/gpu-check.sh checks both).
#[allow(dead_code)]
fn cuda_tf32() -> bool {
    std::env::var("WHALEID_CUDA_TF32").map_or(true, |v| v.trim() != "0")
}

fn base_builder(file: &Path, config: &SessionConfig) -> Result<SessionBuilder> {
    let model_err = |source: ort::Error| Error::Model {
        file: file.to_path_buf(),
        source,
    };
    let mut builder = Session::builder(environment()?).map_err(model_err)?;
    builder = builder
        .with_optimization_level(GraphOptimizationLevel::Level3)
        .map_err(|e| model_err(e.into()))?;
    if config.intra_threads > 0 {
        builder = builder
            .with_intra_threads(config.intra_threads)
            .map_err(|e| model_err(e.into()))?;
    }
    if !config.spin {
        builder = builder
            .with_intra_op_spinning(false)
            .map_err(|e| model_err(e.into()))?;
    }
    Ok(builder)
}

/// Build a session for an ONNX file on the configured device, and say
/// where it runs. An explicit GPU device that cannot be used is an error
/// naming why. `auto` runs on the CPU when there is no GPU runtime to try
/// (this build or the loaded ONNX Runtime has no GPU provider: the usual
/// laptop, nothing to warn of, `doctor` lists the library's providers), and
/// when a GPU runtime is there but fails (no driver, a missing CUDA
/// library) it falls back to the CPU keeping the reason in
/// [`Placement::fallback`], a warning the user sees.
pub fn build_session(file: &Path, config: &SessionConfig) -> Result<(Session, Placement)> {
    let model_err = |source: ort::Error| Error::Model {
        file: file.to_path_buf(),
        source,
    };
    let mut fallback = None;
    for (provider, dispatch) in gpu_candidates(config.device) {
        let attempt = match dispatch {
            Err(why) => Err((why, None)),
            Ok(dispatch) => base_builder(file, config)?
                .with_execution_providers([dispatch])
                .map_err(ort::Error::from)
                .and_then(|mut b| b.commit_from_file(file))
                .map_err(|e| (provider::ort_reason(&e.to_string()), Some(e))),
        };
        match attempt {
            Ok(session) => return Ok((session, Placement::gpu(provider))),
            Err((why, source)) => {
                if config.device != Device::Auto {
                    let reason = format!(
                        "device `{provider}` requested, but {} could not run on it: {why}",
                        file.display()
                    );
                    return Err(match source {
                        Some(e) => Error::runtime_from(reason, std::sync::Arc::new(e)),
                        None => Error::runtime(reason),
                    });
                }
                if source.is_none() {
                    // No GPU runtime here to fall back from.
                    tracing::debug!(model = %file.display(), provider = %provider, reason = %why, "no GPU provider to try");
                    continue;
                }
                // Said once by whoever shows the placement (doctor, the
                // ingest summary, the app), not once per model here.
                tracing::info!(model = %file.display(), provider = %provider, error = %why, "GPU provider failed, running on the CPU");
                fallback.get_or_insert(format!("{} not available: {why}", provider.label()));
            }
        }
    }
    let session = base_builder(file, config)?
        .commit_from_file(file)
        .map_err(model_err)?;
    Ok((session, Placement::cpu(fallback)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_parsed_from_build_info() {
        let info = "ORT Build Info: git-branch=rel-1.31.1, git-commit-id=abc, build type=Release";
        assert_eq!(version_from_build_info(info).as_deref(), Some("1.31.1"));
        assert_eq!(version_from_build_info("no version here"), None);
    }

    #[test]
    fn version_parsed_from_file_name() {
        let p = Path::new("/x/libonnxruntime.so.1.24.4");
        assert_eq!(version_from_file_name(p).as_deref(), Some("1.24.4"));
    }

    #[test]
    fn device_parses() {
        assert_eq!("CUDA".parse::<Device>(), Ok(Device::Cuda));
        assert_eq!("dml".parse::<Device>(), Ok(Device::DirectMl));
        assert!("tpu".parse::<Device>().unwrap_err().contains("tpu"));
    }
}
