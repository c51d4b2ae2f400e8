//! Cancellation that reaches into ONNX Runtime.
//!
//! A [`CancelToken`] is a flag the engine checks between steps, plus the
//! `RunOptions` of every inference currently running for the job. Cancelling
//! sets the flag and calls `RunOptions::terminate()` on each, so a long batch
//! stops inside ORT instead of finishing first.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use ort::session::RunOptions;

#[derive(Default)]
struct Inner {
    cancelled: AtomicBool,
    running: Mutex<Vec<Arc<RunOptions>>>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CancelToken")
            .field("cancelled", &self.cancelled.load(Ordering::SeqCst))
            .finish_non_exhaustive()
    }
}

/// Shared by the caller (who may cancel) and the engine (which checks it).
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<Inner>);

impl CancelToken {
    pub fn new() -> Self {
        Self::default()
    }

    /// Stop the job: later steps see [`is_cancelled`](Self::is_cancelled), and
    /// inferences in flight are terminated by ONNX Runtime.
    pub fn cancel(&self) {
        self.0.cancelled.store(true, Ordering::SeqCst);
        let running = self.0.running.lock().unwrap_or_else(|e| e.into_inner());
        for options in running.iter() {
            // Terminating a run that already finished is harmless.
            let _ = options.terminate();
        }
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.cancelled.load(Ordering::SeqCst)
    }

    /// Register run options for the duration of one inference. Checks the flag
    /// after registering, so a cancel that raced with the start still lands.
    pub(crate) fn attach(&self, options: &Arc<RunOptions>) {
        self.0
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Arc::clone(options));
        if self.is_cancelled() {
            let _ = options.terminate();
        }
    }

    pub(crate) fn detach(&self, options: &Arc<RunOptions>) {
        self.0
            .running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|o| !Arc::ptr_eq(o, options));
    }
}
