//! A backend as Python objects hold it: a handle whose last drop shuts the
//! backend down, and flushing or shutting a backend down, all without
//! holding the interpreter lock.

use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

use kakashi::{AsyncPipeline, Backend};
use pyo3::prelude::*;

use crate::errors::seconds;
use crate::gil;
use crate::report::PyShutdownReport;
use crate::stages::PYTHON_GONE;

/// Something that keeps a backend alive (a logger, a backend handle).
pub(crate) trait BackendHandle: Send {
    fn backend(&self) -> &Backend;
}

impl BackendHandle for kakashi::Logger {
    fn backend(&self) -> &Backend {
        kakashi::Logger::backend(self)
    }
}

impl BackendHandle for Backend {
    fn backend(&self) -> &Backend {
        self
    }
}

impl BackendHandle for AsyncPipeline {
    fn backend(&self) -> &Backend {
        AsyncPipeline::backend(self)
    }
}

/// A backend handle held by a Python object. Dropping the last handle shuts
/// the backend down and waits for its drain, for which a worker may need
/// the interpreter lock: that drop happens with the lock released (in place
/// once the interpreter is exiting, see `gil.rs`).
pub(crate) struct Held<T: BackendHandle>(Option<T>);

impl<T: BackendHandle> Held<T> {
    pub(crate) fn new(handle: T) -> Held<T> {
        Held(Some(handle))
    }
}

impl<T: BackendHandle> std::ops::Deref for Held<T> {
    type Target = T;

    fn deref(&self) -> &T {
        match &self.0 {
            Some(handle) => handle,
            None => unreachable!("held until dropped"),
        }
    }
}

impl<T: BackendHandle> Drop for Held<T> {
    fn drop(&mut self) {
        let Some(handle) = self.0.take() else {
            return;
        };
        if !handle.backend().is_last_handle() || PYTHON_GONE.load(Relaxed) {
            return;
        }
        Python::attach(|py| gil::detach(py, move || drop(handle)));
    }
}

/// Flushes `backend` without holding the GIL (workers may need it), within
/// `timeout` seconds or the backend's `shutdown_timeout`.
pub(crate) fn flush_detached(
    py: Python<'_>,
    backend: &Backend,
    timeout: Option<f64>,
) -> PyResult<bool> {
    let timeout = match timeout {
        Some(t) => seconds("timeout", t)?,
        None => backend.config().shutdown_timeout,
    };
    let b = backend.clone();
    Ok(gil::detach(py, move || b.flush_timeout(timeout)))
}

/// Shuts `backend` down without holding the GIL.
pub(crate) fn shutdown_detached(
    py: Python<'_>,
    backend: &Backend,
    timeout: Duration,
) -> PyShutdownReport {
    let b = backend.clone();
    gil::detach(py, move || b.shutdown(timeout)).into()
}
