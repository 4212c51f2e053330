//! The page's logger factories: each returns a `Logger`, on a backend of its
//! own or on the global one.

use std::path::PathBuf;

use kakashi::{
    default_json_formatter, exception_enricher, thread_enricher, AsyncConfig, Backend,
    HighPerformanceOptions, PipelineConfig,
};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::config::{async_config, file_options, formatter_type_of, strategy};
use crate::convert;
use crate::errors::{config_error, count, retries, seconds};
use crate::gil;
use crate::logger::PyLogger;
use crate::stages;

#[pyfunction]
#[pyo3(signature = (name, log_file, max_queue_size, worker_count, batch_size, overflow_strategy, min_level, rotation=None, retention=None, compression=None))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn high_performance_logger(
    py: Python<'_>,
    name: &str,
    log_file: PathBuf,
    max_queue_size: i64,
    worker_count: i64,
    batch_size: i64,
    overflow_strategy: &Bound<'_, PyAny>,
    min_level: &Bound<'_, PyAny>,
    rotation: Option<&Bound<'_, PyAny>>,
    retention: Option<&Bound<'_, PyAny>>,
    compression: Option<&Bound<'_, PyAny>>,
) -> PyResult<PyLogger> {
    let options = HighPerformanceOptions {
        max_queue_size: count("max_queue_size", max_queue_size)?,
        worker_count: count("worker_count", worker_count)?,
        batch_size: count("batch_size", batch_size)?,
        overflow_strategy: strategy(overflow_strategy)?,
        min_level: convert::level(min_level)?,
        file: file_options(rotation, retention, compression)?,
    };
    // Without the interpreter lock: the file's registry may be locked by a
    // thread waiting for a backend.
    gil::detach(py, || {
        kakashi::get_high_performance_logger_with(name, log_file, options)
    })
    .map(PyLogger::new)
    .map_err(config_error)
}

#[pyfunction]
#[pyo3(signature = (name, send, max_queue_size, batch_size, max_retries, retry_delay, overflow_strategy, min_level))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn network_logger(
    name: &str,
    send: &Bound<'_, PyAny>,
    max_queue_size: i64,
    batch_size: i64,
    max_retries: i64,
    retry_delay: f64,
    overflow_strategy: &Bound<'_, PyAny>,
    min_level: &Bound<'_, PyAny>,
) -> PyResult<PyLogger> {
    if !send.is_callable() {
        return Err(pyo3::exceptions::PyTypeError::new_err(format!(
            "network_writer_func must be callable, got {}",
            convert::repr_of(send)
        )));
    }
    let config = AsyncConfig {
        max_queue_size: count("max_queue_size", max_queue_size)?,
        worker_count: 1,
        batch_size: count("batch_size", batch_size)?,
        overflow_strategy: strategy(overflow_strategy)?,
        ..AsyncConfig::default()
    };
    let max_retries = retries("max_retries", max_retries)?;
    let delay = seconds("retry_delay", retry_delay)?;
    let py = send.py();
    // Registered without the interpreter lock (see `PyAsyncPipeline::logger`).
    let backend = gil::detach(py, move || Backend::new(config)).map_err(config_error)?;
    // The network pipeline of the core's `get_network_logger`, with a Python
    // writer called once per record.
    let pipeline = PipelineConfig::new()
        .min_level(convert::level(min_level)?)
        .enricher(thread_enricher())
        .enricher(exception_enricher())
        .formatter(default_json_formatter())
        .writer(stages::PyWriter::new(
            send.clone().unbind(),
            format!("network:{name}"),
            max_retries,
            delay,
        ));
    let logger = gil::detach(py, move || backend.logger(name, pipeline));
    Ok(PyLogger::new(logger))
}

/// The page's `get_async_structured_logger(name, log_file, async_config,
/// **default_fields)`: the core's, with `async_config` converted and checked
/// as an `AsyncConfig` and the fields copied as a logging call copies them.
#[pyfunction]
#[pyo3(signature = (name, log_file=None, async_config=None, default_fields=None))]
pub(crate) fn async_structured_logger(
    py: Python<'_>,
    name: &str,
    log_file: Option<&str>,
    async_config: Option<&Bound<'_, PyAny>>,
    default_fields: Option<&Bound<'_, PyDict>>,
) -> PyResult<PyLogger> {
    let config = match async_config {
        Some(c) if !c.is_none() => Some(self::async_config(c)?.0),
        _ => None,
    };
    let fields = default_fields.map(convert::fields_of).unwrap_or_default();
    gil::detach(py, move || {
        kakashi::get_async_structured_logger(name, log_file, config, fields)
    })
    .map(PyLogger::new)
    .map_err(config_error)
}

/// A logger on the global backend through the environment's outputs;
/// `formatter_type` ("default" or "json") is parsed by the core.
#[pyfunction]
#[pyo3(signature = (name, log_file=None, formatter_type=None))]
pub(crate) fn env_logger(
    py: Python<'_>,
    name: &str,
    log_file: Option<&str>,
    formatter_type: Option<&Bound<'_, PyAny>>,
) -> PyResult<PyLogger> {
    let format = match formatter_type {
        Some(f) => formatter_type_of(f)?,
        None => kakashi::FormatterType::Default,
    };
    // Without the interpreter lock: reconfiguring holds the global backend
    // while it flushes the previous one.
    gil::detach(py, || kakashi::get_env_logger(name, log_file, format))
        .map(PyLogger::new)
        .map_err(config_error)
}
