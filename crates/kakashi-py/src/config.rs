//! Settings read from Python and checked by the core: an `AsyncConfig`
//! object, overflow strategies, formatter types, levels and timeouts, and the
//! `AsyncConfig` defaults the Python package takes from the core.

use kakashi::{AsyncConfig, OverflowStrategy};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::convert;
use crate::errors::{config_error, count, int_setting, retries, seconds_setting};
use crate::stages::WriterRetries;

/// A `formatter_type` by name (any object, as its `str`): the core parses it.
pub(crate) fn formatter_type_of(s: &Bound<'_, PyAny>) -> PyResult<kakashi::FormatterType> {
    convert::str_of(s).parse().map_err(config_error)
}

/// Checks a `formatter_type` (before anything is reconfigured), with the
/// core's message.
#[pyfunction]
pub(crate) fn _check_formatter_type(formatter_type: &Bound<'_, PyAny>) -> PyResult<()> {
    formatter_type_of(formatter_type).map(drop)
}

/// A file writer's `rotation`, `retention` and `compression` as Python
/// gives them (`None`; a string; an int: bytes for a rotation, a count for a
/// retention; a list or tuple of strings, joined by commas: a size and a
/// time), parsed by the core, which words the errors.
pub(crate) fn file_options(
    rotation: Option<&Bound<'_, PyAny>>,
    retention: Option<&Bound<'_, PyAny>>,
    compression: Option<&Bound<'_, PyAny>>,
) -> PyResult<kakashi::FileOptions> {
    fn text(v: &Bound<'_, PyAny>) -> PyResult<String> {
        if let Ok(s) = v.cast::<pyo3::types::PyString>() {
            return Ok(convert::text(s));
        }
        if v.is_instance_of::<pyo3::types::PyBool>() {
            return Ok(convert::repr_of(v)); // a bool is not a count: refused by the parser
        }
        if let Ok(i) = v.cast::<pyo3::types::PyInt>() {
            return Ok(convert::str_of(i.as_any()));
        }
        if v.is_instance_of::<pyo3::types::PyList>() || v.is_instance_of::<pyo3::types::PyTuple>() {
            let parts: Vec<String> = v
                .try_iter()?
                .map(|p| p.and_then(|p| text(&p)))
                .collect::<PyResult<_>>()?;
            return Ok(parts.join(", "));
        }
        Ok(convert::repr_of(v))
    }
    let given = |v: Option<&Bound<'_, PyAny>>| -> PyResult<Option<String>> {
        v.filter(|v| !v.is_none()).map(text).transpose()
    };
    let mut options = kakashi::FileOptions::new();
    if let Some(t) = given(rotation)? {
        options.rotation = t.parse().map_err(config_error)?;
    }
    if let Some(t) = given(retention)? {
        options.retention = t.parse().map_err(config_error)?;
    }
    if let Some(t) = given(compression)? {
        options.compression = t.parse().map_err(config_error)?;
    }
    Ok(options)
}

/// An overflow strategy by name (any object, as its `str`): the core parses it.
pub(crate) fn strategy(s: &Bound<'_, PyAny>) -> PyResult<OverflowStrategy> {
    convert::str_of(s).parse().map_err(config_error)
}

/// The Rust settings of an `AsyncConfig` (a Python object with its fields),
/// checked by the core. Values are converted to their Rust types here; what
/// the core rejects is reported with the core's message, showing the value as
/// Python gave it.
pub(crate) fn async_config(c: &Bound<'_, PyAny>) -> PyResult<(AsyncConfig, WriterRetries)> {
    let get = |n: &str| c.getattr(n);
    let max_queue_size = get("max_queue_size")?;
    let worker_count = get("worker_count")?;
    let batch_size = get("batch_size")?;
    let batch_timeout = get("batch_timeout")?;
    let shutdown_timeout = get("shutdown_timeout")?;
    let config = AsyncConfig {
        max_queue_size: count(
            "max_queue_size",
            int_setting("max_queue_size", &max_queue_size)?,
        )?,
        worker_count: count("worker_count", int_setting("worker_count", &worker_count)?)?,
        batch_size: count("batch_size", int_setting("batch_size", &batch_size)?)?,
        batch_timeout: seconds_setting("batch_timeout", &batch_timeout)?,
        enable_batching: get("enable_batching")?.is_truthy()?,
        overflow_strategy: strategy(&get("queue_overflow_strategy")?)?,
        shutdown_timeout: seconds_setting("shutdown_timeout", &shutdown_timeout)?,
        thread_name_prefix: convert::str_of(&get("thread_name_prefix")?),
    };
    let given = [
        ("max_queue_size", &max_queue_size),
        ("worker_count", &worker_count),
        ("batch_size", &batch_size),
        ("batch_timeout", &batch_timeout),
        ("shutdown_timeout", &shutdown_timeout),
    ];
    config.validate().map_err(|e| {
        config_error(match e {
            kakashi::ConfigError::OutOfRange {
                setting,
                value,
                expected,
            } => kakashi::ConfigError::OutOfRange {
                setting,
                value: given
                    .iter()
                    .find(|(name, _)| *name == setting)
                    .map_or(value, |(_, v)| convert::repr_of(v)),
                expected,
            },
            e => e,
        })
    })?;
    let retries = WriterRetries {
        max_retries: retries(
            "max_error_retries",
            int_setting("max_error_retries", &get("max_error_retries")?)?,
        )?,
        delay: seconds_setting("error_retry_delay", &get("error_retry_delay")?)?,
    };
    Ok((config, retries))
}

/// Checks an `AsyncConfig` (called when one is made): the core's checks and
/// messages, as when it is used.
#[pyfunction]
pub(crate) fn _check_async_config(config: &Bound<'_, PyAny>) -> PyResult<()> {
    async_config(config).map(drop)
}

/// A level (a `LogLevel`, an int or a name) read by the core, as a logging
/// call reads it: its value, or `ValueError` with the core's message.
#[pyfunction]
pub(crate) fn _check_level(level: &Bound<'_, PyAny>) -> PyResult<u8> {
    Ok(convert::level(level)?.value())
}

/// Checks a `timeout` in seconds that the Python package takes itself
/// (`install_sigterm_handler`), with the core's range and message; returns
/// it as a float.
#[pyfunction]
pub(crate) fn _check_timeout(timeout: &Bound<'_, PyAny>) -> PyResult<f64> {
    Ok(seconds_setting("timeout", timeout)?.as_secs_f64())
}

/// The defaults of the page's factories, by factory name, under their
/// Python keyword names: the core's option structs' (`AsyncSetup`,
/// `HighPerformanceOptions`, `NetworkOptions`, `BackendOptions`), so that
/// the Python signatures show the Rust defaults rather than a copy.
pub(crate) fn factory_defaults(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let all = PyDict::new(py);

    let setup = kakashi::AsyncSetup::default();
    let d = PyDict::new(py);
    d.set_item("environment", setup.environment.as_str())?;
    d.set_item("max_queue_size", setup.max_queue_size)?;
    d.set_item("worker_count", setup.worker_count)?;
    d.set_item("batch_size", setup.batch_size)?;
    all.set_item("setup_async_logging", d)?;

    let fast = kakashi::HighPerformanceOptions::default();
    let d = PyDict::new(py);
    d.set_item("max_queue_size", fast.max_queue_size)?;
    d.set_item("worker_count", fast.worker_count)?;
    d.set_item("batch_size", fast.batch_size)?;
    d.set_item("overflow_strategy", fast.overflow_strategy.as_str())?;
    d.set_item("min_level", fast.min_level.value())?;
    all.set_item("get_high_performance_logger", d)?;

    let net = kakashi::NetworkOptions::default();
    let d = PyDict::new(py);
    d.set_item("max_queue_size", net.max_queue_size)?;
    d.set_item("batch_size", net.batch_size)?;
    d.set_item("max_retries", net.max_retries)?;
    d.set_item("retry_delay", net.retry_delay.as_secs_f64())?;
    d.set_item("overflow_strategy", net.overflow_strategy.as_str())?;
    d.set_item("min_level", net.min_level.value())?;
    all.set_item("get_network_logger", d)?;

    let backend = kakashi::BackendOptions::default();
    let d = PyDict::new(py);
    d.set_item("max_queue_size", backend.max_queue_size)?;
    d.set_item("worker_count", backend.worker_count)?;
    d.set_item("batch_size", backend.batch_size)?;
    d.set_item("enable_batching", backend.enable_batching)?;
    d.set_item("overflow_strategy", backend.overflow_strategy.as_str())?;
    all.set_item("configure_async_backend", d)?;
    Ok(all)
}

/// The core's `AsyncConfig` defaults, under the Python field names, with
/// the core's `RetryPolicy` defaults as `max_error_retries` and
/// `error_retry_delay`.
pub(crate) fn async_config_defaults(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let a = AsyncConfig::default();
    let retry = kakashi::RetryPolicy::default();
    let d = PyDict::new(py);
    d.set_item("max_error_retries", retry.max_retries)?;
    d.set_item("error_retry_delay", retry.initial_delay.as_secs_f64())?;
    d.set_item("max_queue_size", a.max_queue_size)?;
    d.set_item("queue_overflow_strategy", a.overflow_strategy.as_str())?;
    d.set_item("worker_count", a.worker_count)?;
    d.set_item("batch_size", a.batch_size)?;
    d.set_item("batch_timeout", a.batch_timeout.as_secs_f64())?;
    d.set_item("shutdown_timeout", a.shutdown_timeout.as_secs_f64())?;
    d.set_item("enable_batching", a.enable_batching)?;
    d.set_item("thread_name_prefix", a.thread_name_prefix)?;
    Ok(d)
}
