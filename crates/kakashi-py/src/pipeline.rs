//! The `AsyncPipeline` class (the core's `AsyncPipeline`) and `async_pipeline`,
//! which builds one from the page's `PipelineConfig` and `AsyncConfig`.

use kakashi::{AsyncPipeline, AsyncPipelineConfig};
use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::config::async_config;
use crate::convert::{self, DefaultHook};
use crate::errors::{config_error, seconds};
use crate::handle::{flush_detached, shutdown_detached, Held};
use crate::logger::{self, PyLogger};
use crate::report::{stats_dict, PyShutdownReport};
use crate::stages::{self, build_pipeline};

/// A core [`AsyncPipeline`]: behind both `kakashi.core.async_pipeline.AsyncPipeline`
/// and the synchronous `kakashi.core.pipeline.Pipeline` (built with
/// `enable_async=False`).
#[pyclass(module = "kakashi._kakashi", name = "AsyncPipeline", frozen)]
pub(crate) struct PyAsyncPipeline {
    inner: Held<AsyncPipeline>,
    /// Feeds `process(record)`.
    logger: Held<kakashi::Logger>,
    /// The formatter's `default=` hook, for the loggers it makes.
    default_hook: Option<Arc<DefaultHook>>,
}

#[pymethods]
impl PyAsyncPipeline {
    /// A logger named `name` feeding this pipeline.
    fn logger(&self, py: Python<'_>, name: &str) -> PyLogger {
        // A logger is registered by name (its level) without the
        // interpreter lock: a thread preparing a fork holds that registry,
        // and needs the lock back to fork.
        let inner = &self.inner;
        let logger = crate::gil::detach(py, || inner.logger(name));
        PyLogger::with_default(logger, self.default_hook.clone())
    }

    /// Processes a `LogRecord` built by hand.
    fn process(&self, py: Python<'_>, record: &Bound<'_, PyAny>) -> PyResult<()> {
        let _call = crate::gil::Call::enter(py);
        let _hook = convert::DefaultScope::enter(self.default_hook.as_ref());
        let record = stages::record_from_py(record)?;
        if self.logger.enabled(record.level) {
            logger::submit(py, &self.logger, record)?;
        }
        Ok(())
    }

    /// The backend's counters.
    fn get_stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        stats_dict(py, &self.inner.stats())
    }

    /// Waits until everything accepted so far is written and flushed.
    fn flush(&self, py: Python<'_>) -> PyResult<bool> {
        flush_detached(py, self.inner.backend(), None)
    }

    /// Drains, flushes and joins this pipeline's workers.
    #[pyo3(signature = (timeout=5.0))]
    fn shutdown(&self, py: Python<'_>, timeout: f64) -> PyResult<PyShutdownReport> {
        Ok(shutdown_detached(
            py,
            self.inner.backend(),
            seconds("timeout", timeout)?,
        ))
    }
}

/// Builds an `AsyncPipeline` from the page's `PipelineConfig` and
/// `AsyncConfig` (Python objects with those attributes).
#[pyfunction]
pub(crate) fn async_pipeline(
    pipeline_config: &Bound<'_, PyAny>,
    async_config: &Bound<'_, PyAny>,
    enable_async: bool,
    fallback_to_sync: bool,
) -> PyResult<PyAsyncPipeline> {
    let (config, retries) = self::async_config(async_config)?;
    let p = pipeline_config;
    let formatter = p.getattr("formatter")?;
    let (pipeline, default_hook) = build_pipeline(
        convert::level(&p.getattr("min_level")?)?,
        &p.getattr("enrichers")?,
        &p.getattr("filters")?,
        Some(&formatter),
        &p.getattr("writers")?,
        retries,
    )?;
    // The backend and the logger are registered without the interpreter
    // lock (see `PyAsyncPipeline::logger`).
    let config = AsyncPipelineConfig {
        pipeline_config: pipeline,
        async_config: config,
        enable_async,
        fallback_to_sync,
    };
    let (inner, logger) = crate::gil::detach(p.py(), move || {
        let inner = AsyncPipeline::new(config)?;
        let logger = inner.logger("kakashi.pipeline");
        Ok((inner, logger))
    })
    .map_err(config_error)?;
    Ok(PyAsyncPipeline {
        inner: Held::new(inner),
        logger: Held::new(logger),
        default_hook,
    })
}
