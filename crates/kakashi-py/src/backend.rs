//! The `Backend` class: a queue with its workers, held by Python.

use kakashi::{AsyncConfig, Backend};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::config::async_config;
use crate::errors::{config_error, seconds};
use crate::handle::{flush_detached, shutdown_detached, Held};
use crate::report::{stats_dict, PyShutdownReport};

/// A queue with its workers (what `configure_async_backend` returns).
#[pyclass(module = "kakashi._kakashi", name = "Backend", frozen)]
pub(crate) struct PyBackend {
    pub(crate) inner: Held<Backend>,
}

#[pymethods]
impl PyBackend {
    /// A backend with its workers started, configured by an `AsyncConfig`
    /// (default settings when None). Unlike the original's, it needs no
    /// `start()`: it runs until `shutdown()` or interpreter exit.
    #[new]
    #[pyo3(signature = (config=None))]
    fn new(py: Python<'_>, config: Option<&Bound<'_, PyAny>>) -> PyResult<PyBackend> {
        let config = match config {
            Some(c) if !c.is_none() => async_config(c)?.0,
            _ => AsyncConfig::default(),
        };
        let inner = crate::gil::detach(py, move || Backend::new(config)).map_err(config_error)?;
        Ok(PyBackend {
            inner: Held::new(inner),
        })
    }

    /// Kept for the original's API: the workers already run. Returns whether
    /// they do (False after `shutdown()`, which cannot be undone).
    fn start(&self) -> bool {
        self.inner.is_running()
    }

    /// Same as `shutdown()` with the configured `shutdown_timeout`.
    fn stop(&self, py: Python<'_>) -> PyShutdownReport {
        shutdown_detached(py, &self.inner, self.inner.config().shutdown_timeout)
    }

    /// The backend's counters, with the original's keys first.
    fn get_stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        stats_dict(py, &self.inner.stats())
    }

    /// True while workers take records from the queue.
    fn is_running(&self) -> bool {
        self.inner.is_running()
    }

    /// Waits until everything accepted so far is written and flushed.
    #[pyo3(signature = (timeout=None))]
    fn flush(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<bool> {
        flush_detached(py, &self.inner, timeout)
    }

    /// Drains, flushes and joins the workers, waiting at most `timeout`
    /// seconds (default: the configured `shutdown_timeout`).
    #[pyo3(signature = (timeout=None))]
    fn shutdown(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<PyShutdownReport> {
        let t = match timeout {
            Some(t) => seconds("timeout", t)?,
            None => self.inner.config().shutdown_timeout,
        };
        Ok(shutdown_detached(py, &self.inner, t))
    }
}
