//! Which execution provider a model really runs on, said the same way by
//! `whaleid doctor`, the ingest summary and the app.
//!
//! [`super::build_session`] records, per session, the provider it ended on,
//! the GPU's name when it is a GPU, and, when a GPU that was asked for
//! (`--device auto` or `cuda`) could not be used, why: that reason is the
//! warning the user sees, so a CUDA request that lands on the CPU is never
//! silent. [`RanOn`] folds the sessions of a pipeline into one line:
//! `CPU`, `CUDA (NVIDIA H200)`, or `CPU (CUDA not available: REASON)`.

use std::path::Path;

use super::{Provider, WorkerInfo};

impl Provider {
    /// The name people read: `CPU`, `CUDA`, `DirectML`.
    pub fn label(self) -> &'static str {
        match self {
            Provider::Cpu => "CPU",
            Provider::Cuda => "CUDA",
            Provider::DirectMl => "DirectML",
        }
    }
}

/// Where one session runs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Placement {
    pub provider: Provider,
    /// The GPU's name when a GPU provider runs it, where it could be read.
    pub gpu: Option<String>,
    /// Why a GPU that was asked for is not used (`CUDA not available: ...`);
    /// `None` when the CPU was asked for or the GPU runs it.
    pub fallback: Option<String>,
}

impl Placement {
    pub fn cpu(fallback: Option<String>) -> Self {
        Self {
            provider: Provider::Cpu,
            gpu: None,
            fallback,
        }
    }

    pub fn gpu(provider: Provider) -> Self {
        let gpu = match provider {
            Provider::Cuda => nvidia_gpu_name(),
            _ => None,
        };
        Self {
            provider,
            gpu,
            fallback: None,
        }
    }
}

/// What a set of sessions (a pipeline's detector and backbones) ran on.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct RanOn {
    /// Each provider once, in the order the sessions were given.
    pub providers: Vec<Provider>,
    /// The GPU's name, when one ran any of them.
    pub gpu: Option<String>,
    /// The first reason a GPU asked for was not used: a warning to show.
    pub fallback: Option<String>,
}

impl RanOn {
    pub fn of<'a>(workers: impl IntoIterator<Item = &'a WorkerInfo>) -> Self {
        let mut out = RanOn::default();
        for w in workers {
            if !out.providers.contains(&w.provider) {
                out.providers.push(w.provider);
            }
            out.gpu = out.gpu.take().or_else(|| w.gpu.clone());
            out.fallback = out.fallback.take().or_else(|| w.fallback.clone());
        }
        out
    }

    /// `CPU`, `CUDA (NVIDIA H200)`, `CUDA (NVIDIA H200) + CPU`, without
    /// the fallback reason.
    pub fn label(&self) -> String {
        if self.providers.is_empty() {
            return "nothing (no model opened)".into();
        }
        self.providers
            .iter()
            .map(|p| match (p, &self.gpu) {
                (Provider::Cuda | Provider::DirectMl, Some(name)) => {
                    format!("{} ({name})", p.label())
                }
                _ => p.label().to_string(),
            })
            .collect::<Vec<_>>()
            .join(" + ")
    }
}

impl std::fmt::Display for RanOn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.label())?;
        if let Some(why) = &self.fallback {
            write!(f, " ({why})")?;
        }
        Ok(())
    }
}

/// ONNX Runtime's error without its source location and status code:
/// `/onnxruntime_src/...cc:2043 ...Get() [ONNXRuntimeError] : 1 : FAIL :
/// Failed to load library X with error: libcuda.so.1: cannot open ...\n`
/// → `Failed to load library X with error: libcuda.so.1: cannot open ...`.
pub(crate) fn ort_reason(error: &str) -> String {
    let tail = match error.rfind("[ONNXRuntimeError] : ") {
        Some(i) => {
            let rest = &error[i + "[ONNXRuntimeError] : ".len()..];
            // `1 : FAIL : message`: the code and its name go.
            rest.splitn(3, " : ").nth(2).unwrap_or(rest)
        }
        None => error,
    };
    tail.trim_end_matches("\\n").trim().to_string()
}

/// The first NVIDIA GPU's name (`NVIDIA H200`): from the driver's
/// `/proc/driver/nvidia/gpus/*/information` on Linux, else from
/// `nvidia-smi`, which the driver installs on Linux and Windows. `None`
/// when neither says.
pub fn nvidia_gpu_name() -> Option<String> {
    proc_gpu_name(Path::new("/proc/driver/nvidia/gpus")).or_else(smi_gpu_name)
}

fn proc_gpu_name(dir: &Path) -> Option<String> {
    let mut boards: Vec<_> = std::fs::read_dir(dir).ok()?.flatten().collect();
    // PCI addresses sort as the driver numbers the devices.
    boards.sort_by_key(|e| e.file_name());
    boards.iter().find_map(|b| {
        let text = std::fs::read_to_string(b.path().join("information")).ok()?;
        model_line(&text)
    })
}

/// `Model: \t NVIDIA H200` → `NVIDIA H200`.
fn model_line(information: &str) -> Option<String> {
    information.lines().find_map(|l| {
        let rest = l.strip_prefix("Model:")?.trim();
        (!rest.is_empty()).then(|| rest.to_string())
    })
}

fn smi_gpu_name() -> Option<String> {
    let out = std::process::Command::new("nvidia-smi")
        .args(["--query-gpu=name", "--format=csv,noheader"])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let name = text.lines().next()?.trim();
    (out.status.success() && !name.is_empty()).then(|| name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn worker(provider: Provider, gpu: Option<&str>, fallback: Option<&str>) -> WorkerInfo {
        WorkerInfo {
            file: PathBuf::from("m.onnx"),
            provider,
            gpu: gpu.map(str::to_string),
            fallback: fallback.map(str::to_string),
            input: "x".into(),
            output: "y".into(),
            input_shape: vec![],
            output_shape: vec![],
        }
    }

    #[test]
    fn a_fallback_is_said_with_the_provider_that_ran() {
        let why = "CUDA not available: the library has no CUDA provider";
        let ran = RanOn::of(&[
            worker(Provider::Cpu, None, Some(why)),
            worker(Provider::Cpu, None, Some(why)),
        ]);
        assert_eq!(ran.providers, vec![Provider::Cpu]);
        assert_eq!(
            ran.to_string(),
            "CPU (CUDA not available: the library has no CUDA provider)"
        );
        let plain = RanOn::of(&[worker(Provider::Cpu, None, None)]);
        assert_eq!(plain.to_string(), "CPU");
        assert_eq!(plain.fallback, None);
    }

    #[test]
    fn the_gpu_is_named_and_a_mixed_pipeline_lists_both() {
        let ran = RanOn::of(&[
            worker(Provider::Cuda, Some("NVIDIA H200"), None),
            worker(Provider::Cpu, None, None),
        ]);
        assert_eq!(ran.to_string(), "CUDA (NVIDIA H200) + CPU");
        assert_eq!(RanOn::of(&[]).label(), "nothing (no model opened)");
    }

    #[test]
    fn onnx_runtime_errors_lose_their_source_location() {
        let raw = "/onnxruntime_src/onnxruntime/core/session/provider_bridge_ort.cc:2043 onnxruntime::Provider& onnxruntime::ProviderLibrary::Get() [ONNXRuntimeError] : 1 : FAIL : Failed to load library /v/libonnxruntime_providers_cuda.so with error: libcuda.so.1: cannot open shared object file: No such file or directory\\n";
        assert_eq!(
            ort_reason(raw),
            "Failed to load library /v/libonnxruntime_providers_cuda.so with error: libcuda.so.1: cannot open shared object file: No such file or directory"
        );
        assert_eq!(ort_reason("plain words"), "plain words");
    }

    #[test]
    fn the_model_line_of_the_driver_information_is_the_name() {
        let info = "Model: \t\t NVIDIA H200\nIRQ:   123\nGPU UUID: GPU-x\n";
        assert_eq!(model_line(info).as_deref(), Some("NVIDIA H200"));
        assert_eq!(model_line("IRQ: 1\n"), None);
        let dir = tempfile::tempdir().unwrap();
        let board = dir.path().join("0000:01:00.0");
        std::fs::create_dir(&board).unwrap();
        std::fs::write(board.join("information"), info).unwrap();
        assert_eq!(proc_gpu_name(dir.path()).as_deref(), Some("NVIDIA H200"));
        assert_eq!(proc_gpu_name(&dir.path().join("none")), None);
    }
}
