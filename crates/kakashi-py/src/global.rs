//! The global backend: its settings (`apply_async_config`,
//! `setup_async_logging`, `configure_async_backend`), and its stats, flush
//! and shutdown, summed over every live backend.

use std::path::PathBuf;

use kakashi::{AsyncSetup, BackendOptions, Environment, EnvironmentConfig};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::backend::PyBackend;
use crate::config::{async_config, strategy};
use crate::errors::{config_error, count, int_setting, seconds};
use crate::gil;
use crate::handle::Held;
use crate::report::{stats_dict, PyShutdownReport};

/// Makes an `AsyncConfig` the global backend's settings: the core's
/// `apply_async_config` (a new global backend only when they differ from
/// the current one's).
#[pyfunction]
pub(crate) fn apply_async_config(py: Python<'_>, config: &Bound<'_, PyAny>) -> PyResult<()> {
    let (config, _) = async_config(config)?;
    // Without the interpreter lock: reconfiguring drains the previous backend.
    gil::detach(py, move || kakashi::apply_async_config(config)).map_err(config_error)
}

fn env_dict<'py>(py: Python<'py>, env: &EnvironmentConfig) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("environment", env.environment.as_str())?;
    d.set_item("console_level", env.console_level.value())?;
    d.set_item("file_level", env.file_level.value())?;
    d.set_item("log_directory", env.log_directory.display().to_string())?;
    d.set_item("include_thread_info", env.include_thread_info)?;
    d.set_item("include_source_location", env.include_source_location)?;
    d.set_item("service_name", env.service_name.as_deref())?;
    d.set_item("version", env.version.as_deref())?;
    let a = &env.async_config;
    d.set_item("max_queue_size", a.max_queue_size)?;
    d.set_item("worker_count", a.worker_count)?;
    d.set_item("batch_size", a.batch_size)?;
    d.set_item("batch_timeout", a.batch_timeout.as_secs_f64())?;
    d.set_item("enable_batching", a.enable_batching)?;
    d.set_item("queue_overflow_strategy", a.overflow_strategy.as_str())?;
    d.set_item("shutdown_timeout", a.shutdown_timeout.as_secs_f64())?;
    Ok(d)
}

#[pyfunction]
#[pyo3(signature = (environment, service_name, version, log_directory, max_queue_size, worker_count, batch_size, rotation=None, retention=None, compression=None, console_level=None, file_level=None, console_colors=None))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn setup_async_logging<'py>(
    py: Python<'py>,
    environment: &str,
    service_name: Option<String>,
    version: Option<String>,
    log_directory: Option<PathBuf>,
    max_queue_size: &Bound<'py, PyAny>,
    worker_count: &Bound<'py, PyAny>,
    batch_size: &Bound<'py, PyAny>,
    rotation: Option<&Bound<'py, PyAny>>,
    retention: Option<&Bound<'py, PyAny>>,
    compression: Option<&Bound<'py, PyAny>>,
    console_level: Option<&Bound<'py, PyAny>>,
    file_level: Option<&Bound<'py, PyAny>>,
    console_colors: Option<&str>,
) -> PyResult<Bound<'py, PyDict>> {
    let console_colors: Option<kakashi::Colors> = console_colors
        .map(str::parse)
        .transpose()
        .map_err(config_error)?;
    let console_level = console_level.map(crate::convert::level).transpose()?;
    let file_level = file_level.map(crate::convert::level).transpose()?;
    let file = crate::config::file_options(rotation, retention, compression)?;
    let max_queue_size = count(
        "max_queue_size",
        int_setting("max_queue_size", max_queue_size)?,
    )?;
    let worker_count = count("worker_count", int_setting("worker_count", worker_count)?)?;
    let batch_size = count("batch_size", int_setting("batch_size", batch_size)?)?;
    let environment: Environment = environment.parse().map_err(config_error)?;
    let setup = AsyncSetup {
        environment,
        service_name,
        version,
        log_directory,
        max_queue_size,
        worker_count,
        batch_size,
        file,
    };
    let mut env = setup.environment_config();
    // The original's `set_log_level` and `set_environment_config` change
    // the preset's levels.
    env.console_level = console_level.unwrap_or(env.console_level);
    env.file_level = file_level.unwrap_or(env.file_level);
    env.console_colors = console_colors.unwrap_or(env.console_colors);
    let installed = env.clone();
    gil::detach(py, move || kakashi::install_environment(installed)).map_err(config_error)?;
    env_dict(py, &env)
}

/// The preset of `environment` (not installed), as `setup_async_logging`
/// returns an installed one: the original's `development_config()` and
/// the other presets.
#[pyfunction]
pub(crate) fn environment_preset<'py>(
    py: Python<'py>,
    environment: &str,
) -> PyResult<Bound<'py, PyDict>> {
    let environment: Environment = environment.parse().map_err(config_error)?;
    env_dict(py, &EnvironmentConfig::preset(environment))
}

#[pyfunction]
#[pyo3(signature = (max_queue_size, worker_count, batch_size, enable_batching, overflow_strategy))]
pub(crate) fn configure_async_backend(
    py: Python<'_>,
    max_queue_size: &Bound<'_, PyAny>,
    worker_count: &Bound<'_, PyAny>,
    batch_size: &Bound<'_, PyAny>,
    enable_batching: &Bound<'_, PyAny>,
    overflow_strategy: &Bound<'_, PyAny>,
) -> PyResult<PyBackend> {
    let options = BackendOptions {
        max_queue_size: count(
            "max_queue_size",
            int_setting("max_queue_size", max_queue_size)?,
        )?,
        worker_count: count("worker_count", int_setting("worker_count", worker_count)?)?,
        batch_size: count("batch_size", int_setting("batch_size", batch_size)?)?,
        enable_batching: enable_batching.is_truthy()?,
        overflow_strategy: strategy(overflow_strategy)?,
    };
    let backend =
        gil::detach(py, move || kakashi::configure_async_backend(options)).map_err(config_error)?;
    Ok(PyBackend {
        inner: Held::new(backend),
    })
}

/// Counters summed over every live backend, with the original's keys first.
#[pyfunction]
pub(crate) fn get_async_stats(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    // Without the lock: the backends' registry is also held by a thread
    // preparing a fork, which needs the interpreter lock back to fork.
    let stats = gil::detach(py, kakashi::get_async_stats);
    stats_dict(py, &stats)
}

/// Waits until everything logged so far, on every backend, is written and
/// flushed, at most `timeout` seconds in total (default: the longest
/// `shutdown_timeout`); False when that took longer.
#[pyfunction]
#[pyo3(signature = (timeout=None))]
pub(crate) fn flush(py: Python<'_>, timeout: Option<f64>) -> PyResult<bool> {
    Ok(match timeout {
        Some(t) => {
            let t = seconds("timeout", t)?;
            gil::detach(py, move || kakashi::flush_timeout(t))
        }
        None => gil::detach(py, kakashi::flush),
    })
}

/// `flush(timeout)`, then every writer's data on to storage (`fsync` for
/// files): `flush` reaches the OS, `sync` the disk. `timeout` (seconds) is
/// for both together; without it, 5 seconds.
#[pyfunction]
#[pyo3(signature = (timeout=None))]
pub(crate) fn sync(py: Python<'_>, timeout: Option<f64>) -> PyResult<bool> {
    let t = seconds("timeout", timeout.unwrap_or(5.0))?;
    Ok(gil::detach(py, move || kakashi::sync(t)))
}

/// Drains, flushes and joins every backend within `timeout` seconds.
#[pyfunction]
#[pyo3(signature = (timeout=5.0))]
pub(crate) fn shutdown_async_backend(py: Python<'_>, timeout: f64) -> PyResult<PyShutdownReport> {
    let t = seconds("timeout", timeout)?;
    Ok(gil::detach(py, move || kakashi::shutdown_async_backend(t)).into())
}

/// Asks every file writer of the process to reopen its path before its next
/// batch (the core's `reopen_files`: an atomic increment).
#[pyfunction]
pub(crate) fn reopen_files() {
    kakashi::reopen_files();
}
