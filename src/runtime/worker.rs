//! A thread that owns one ONNX Runtime session.
//!
//! `Session::run` needs `&mut self`, so a session cannot be shared between the
//! threads that prepare batches. Each model gets a worker thread that owns its
//! session and takes batches from a channel; callers send a tensor and wait on
//! (or later collect) the reply. This keeps preprocessing on other threads
//! overlapping with inference, and gives cancellation one place to reach ORT.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;

use crossbeam_channel::{bounded, Receiver, Sender};
use ndarray::{Array4, ArrayD};
use ort::session::{RunOptions, Session};
use ort::value::TensorRef;

use super::{build_session, Provider, SessionConfig};
use crate::cancel::CancelToken;
use crate::error::{Error, Result};

/// What a worker runs and where.
#[derive(Debug, Clone, serde::Serialize)]
pub struct WorkerInfo {
    pub file: PathBuf,
    pub provider: Provider,
    /// The GPU's name when a GPU runs it.
    pub gpu: Option<String>,
    /// Why a GPU asked for is not used (see [`super::Placement`]).
    pub fallback: Option<String>,
    pub input: String,
    pub output: String,
    /// Declared shapes; `-1` marks a dynamic dimension.
    pub input_shape: Vec<i64>,
    pub output_shape: Vec<i64>,
}

struct Job {
    input: Array4<f32>,
    cancel: CancelToken,
    reply: Sender<Result<ArrayD<f32>>>,
}

/// Handle to a session-owning thread. Dropping it stops the thread once queued
/// batches are done.
#[derive(Debug)]
pub struct InferenceWorker {
    info: WorkerInfo,
    jobs: Option<Sender<Job>>,
    thread: Option<JoinHandle<()>>,
}

impl InferenceWorker {
    /// Build the session (errors surface here, naming the file) and start its thread.
    pub fn spawn(file: &Path, config: &SessionConfig) -> Result<Self> {
        let (session, placement) = build_session(file, config)?;
        let name_of = |outlets: &[ort::value::Outlet], what: &str| {
            outlets
                .first()
                .map(|o| o.name().to_string())
                .ok_or_else(|| Error::ModelOutput {
                    file: file.to_path_buf(),
                    reason: format!("the model has no {what}"),
                })
        };
        let shape_of = |outlets: &[ort::value::Outlet]| {
            outlets
                .first()
                .and_then(|o| o.dtype().tensor_shape())
                .map(|s| s.iter().copied().collect())
                .unwrap_or_default()
        };
        let info = WorkerInfo {
            file: file.to_path_buf(),
            provider: placement.provider,
            gpu: placement.gpu,
            fallback: placement.fallback,
            input: name_of(session.inputs(), "input")?,
            output: name_of(session.outputs(), "output")?,
            input_shape: shape_of(session.inputs()),
            output_shape: shape_of(session.outputs()),
        };
        // Two batches may wait while one runs: enough to keep ORT busy, small
        // enough that memory stays flat.
        let (tx, rx) = bounded::<Job>(2);
        let thread_info = info.clone();
        let thread = std::thread::Builder::new()
            .name(format!(
                "ort-{}",
                file.file_stem().unwrap_or_default().to_string_lossy()
            ))
            .spawn(move || serve(session, thread_info, rx))
            .map_err(|e| Error::io(file, e))?;
        Ok(Self {
            info,
            jobs: Some(tx),
            thread: Some(thread),
        })
    }

    pub fn info(&self) -> &WorkerInfo {
        &self.info
    }

    /// Queue a batch; the returned receiver yields its output.
    pub fn submit(
        &self,
        input: Array4<f32>,
        cancel: &CancelToken,
    ) -> Result<Receiver<Result<ArrayD<f32>>>> {
        let (reply, rx) = bounded(1);
        let job = Job {
            input,
            cancel: cancel.clone(),
            reply,
        };
        self.jobs
            .as_ref()
            .and_then(|tx| tx.send(job).ok())
            .ok_or_else(|| self.gone())?;
        Ok(rx)
    }

    /// Run a batch and wait for its output.
    pub fn run(&self, input: Array4<f32>, cancel: &CancelToken) -> Result<ArrayD<f32>> {
        let rx = self.submit(input, cancel)?;
        rx.recv().map_err(|_| self.gone())?
    }

    fn gone(&self) -> Error {
        Error::WorkerGone {
            file: self.info.file.clone(),
        }
    }
}

impl Drop for InferenceWorker {
    fn drop(&mut self) {
        self.jobs.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn serve(mut session: Session, info: WorkerInfo, jobs: Receiver<Job>) {
    for job in jobs {
        let result = if job.cancel.is_cancelled() {
            Err(Error::Cancelled)
        } else {
            run_one(&mut session, &info, &job.input, &job.cancel)
        };
        // The caller may have given up waiting; that is fine.
        let _ = job.reply.send(result);
    }
}

fn run_one(
    session: &mut Session,
    info: &WorkerInfo,
    input: &Array4<f32>,
    cancel: &CancelToken,
) -> Result<ArrayD<f32>> {
    let model_err = |source: ort::Error| Error::Model {
        file: info.file.clone(),
        source,
    };
    let options = Arc::new(RunOptions::new().map_err(model_err)?);
    cancel.attach(&options);
    let tensor = TensorRef::from_array_view(input.view()).map_err(model_err)?;
    let outcome = session.run_with_options(ort::inputs![info.input.as_str() => tensor], &*options);
    cancel.detach(&options);
    let outputs = match outcome {
        Ok(outputs) => outputs,
        Err(_) if cancel.is_cancelled() => return Err(Error::Cancelled),
        Err(e) => return Err(model_err(e)),
    };
    let array = outputs[info.output.as_str()]
        .try_extract_array::<f32>()
        .map_err(model_err)?;
    Ok(array.to_owned())
}
