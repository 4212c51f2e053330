//! `kakashi._kakashi`: the Rust engine for the Python package `kakashi`.
//!
//! The Python modules (`kakashi.core.async_interface`, `async_pipeline`,
//! `pipeline`, `async_backend`, `records`) give the page's names and keyword
//! arguments; this module does the work. It only translates: values are copied
//! on the caller's thread ([`convert`]), the built-in stages are native
//! objects holding the engine's stages ([`builtins`]), Python callables are
//! wrapped as stages ([`stages`]), and everything else is the `kakashi` crate.
//!
//! Interpreter lock discipline: a logging call holds it while it copies its
//! arguments and lets go of it for any wait (a full queue under `block`);
//! `flush`, `shutdown` and fork preparation let go of it while they wait;
//! workers take it once per batch, and only for Python stages.
#![deny(unsafe_code)]
// The one exception: `fastcall.rs` (vectorcall level methods), justified there.

mod builtins;
mod convert;
mod errors;
mod fastcall;
mod gil;
mod logger;
mod stages;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::Duration;

use kakashi::{
    default_json_formatter, exception_enricher, thread_enricher, AsyncConfig, AsyncPipeline,
    AsyncPipelineConfig, AsyncSetup, Backend, BackendOptions, Environment, EnvironmentConfig,
    HighPerformanceOptions, Level, OverflowStrategy, PipelineConfig, ShutdownReport, Stats,
};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList};

use convert::PyContext;
use errors::{config_error, count, int_setting, retries, seconds, seconds_setting, ConfigError};
use logger::PyLogger;
use stages::{build_pipeline, WriterRetries, PYTHON_GONE};

// Records are allocated on the caller's thread and freed on a worker: with
// glibc's malloc that cross-thread free contends on the arena lock, a large
// share of a logging call (BENCHMARKS.md, "Design decisions"); mimalloc
// frees to the owning page without a lock.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The `ContextVar` holding the current `LogContext` (set by `kakashi.core.config`).
static CONTEXT_VAR: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
/// Whether a request context was ever set: until then calls skip the lookup.
static CONTEXT_USED: AtomicBool = AtomicBool::new(false);

/// A `formatter_type` by name (any object, as its `str`): the core parses it.
fn formatter_type_of(s: &Bound<'_, PyAny>) -> PyResult<kakashi::FormatterType> {
    convert::str_of(s).parse().map_err(config_error)
}

/// Checks a `formatter_type` (before anything is reconfigured), with the
/// core's message.
#[pyfunction]
fn _check_formatter_type(formatter_type: &Bound<'_, PyAny>) -> PyResult<()> {
    formatter_type_of(formatter_type).map(drop)
}

/// An overflow strategy by name (any object, as its `str`): the core parses it.
fn strategy(s: &Bound<'_, PyAny>) -> PyResult<OverflowStrategy> {
    convert::str_of(s).parse().map_err(config_error)
}

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
fn shutdown_detached(py: Python<'_>, backend: &Backend, timeout: Duration) -> PyShutdownReport {
    let b = backend.clone();
    gil::detach(py, move || b.shutdown(timeout)).into()
}

// === stats and reports ===

fn stats_dict<'py>(py: Python<'py>, s: &Stats) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("state", s.state.as_str())?;
    for (k, v) in s.counters() {
        d.set_item(k, v)?;
    }
    let writers = PyList::empty(py);
    for w in &s.writers {
        let wd = PyDict::new(py);
        wd.set_item("name", &w.name)?;
        wd.set_item("written", w.written)?;
        wd.set_item("failed", w.failed)?;
        wd.set_item("errors", w.errors)?;
        wd.set_item("retries", w.retries)?;
        writers.append(wd)?;
    }
    d.set_item("writers", writers)?;
    Ok(d)
}

/// What a shutdown did: `drained` (everything written), `dropped` (left in
/// the queue at the timeout), `in_flight` (still being written), `elapsed`
/// (seconds). True when it completed.
#[pyclass(module = "kakashi._kakashi", name = "ShutdownReport", frozen)]
struct PyShutdownReport {
    #[pyo3(get)]
    drained: bool,
    #[pyo3(get)]
    dropped: u64,
    #[pyo3(get)]
    in_flight: u64,
    #[pyo3(get)]
    elapsed: f64,
}

impl From<ShutdownReport> for PyShutdownReport {
    fn from(r: ShutdownReport) -> Self {
        PyShutdownReport {
            drained: r.drained,
            dropped: r.dropped,
            in_flight: r.in_flight,
            elapsed: r.elapsed.as_secs_f64(),
        }
    }
}

#[pymethods]
impl PyShutdownReport {
    fn __bool__(&self) -> bool {
        self.drained && self.dropped == 0 && self.in_flight == 0
    }

    fn __repr__(&self) -> String {
        format!(
            "ShutdownReport(drained={}, dropped={}, in_flight={}, elapsed={:.3})",
            if self.drained { "True" } else { "False" },
            self.dropped,
            self.in_flight,
            self.elapsed
        )
    }
}

// === Backend ===

/// A queue with its workers (what `configure_async_backend` returns).
#[pyclass(module = "kakashi._kakashi", name = "Backend", frozen)]
struct PyBackend {
    inner: Held<Backend>,
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
        let inner = py
            .detach(move || Backend::new(config))
            .map_err(config_error)?;
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

// === AsyncPipeline ===

/// A core [`AsyncPipeline`]: behind both `kakashi.core.async_pipeline.AsyncPipeline`
/// and the synchronous `kakashi.core.pipeline.Pipeline` (built with
/// `enable_async=False`). Its Python name stays `_kakashi.Pipeline`, as the
/// stubs (`_kakashi.pyi`) say.
#[pyclass(module = "kakashi._kakashi", name = "Pipeline", frozen)]
struct PyAsyncPipeline {
    inner: Held<AsyncPipeline>,
    /// Feeds `process(record)`.
    logger: Held<kakashi::Logger>,
}

#[pymethods]
impl PyAsyncPipeline {
    /// A logger named `name` feeding this pipeline.
    fn logger(&self, name: &str) -> PyLogger {
        PyLogger::new(self.inner.logger(name))
    }

    /// Processes a `LogRecord` built by hand.
    fn process(&self, py: Python<'_>, record: &Bound<'_, PyAny>) -> PyResult<()> {
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

/// The Rust settings of an `AsyncConfig` (a Python object with its fields),
/// checked by the core. Values are converted to their Rust types here; what
/// the core rejects is reported with the core's message, showing the value as
/// Python gave it.
fn async_config(c: &Bound<'_, PyAny>) -> PyResult<(AsyncConfig, WriterRetries)> {
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
fn _check_async_config(config: &Bound<'_, PyAny>) -> PyResult<()> {
    async_config(config).map(drop)
}

/// A level (a `LogLevel`, an int or a name) read by the core, as a logging
/// call reads it: its value, or `ValueError` with the core's message.
#[pyfunction]
fn _check_level(level: &Bound<'_, PyAny>) -> PyResult<u8> {
    Ok(convert::level(level)?.value())
}

/// Checks a `timeout` in seconds that the Python package takes itself
/// (`install_sigterm_handler`), with the core's range and message; returns
/// it as a float.
#[pyfunction]
fn _check_timeout(timeout: &Bound<'_, PyAny>) -> PyResult<f64> {
    Ok(seconds_setting("timeout", timeout)?.as_secs_f64())
}

/// The core's `AsyncConfig` defaults, under the Python field names, with
/// the core's `RetryPolicy` defaults as `max_error_retries` and
/// `error_retry_delay`.
fn async_config_defaults(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
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

/// Builds an `AsyncPipeline` from the page's `PipelineConfig` and
/// `AsyncConfig` (Python objects with those attributes).
#[pyfunction]
fn async_pipeline(
    pipeline_config: &Bound<'_, PyAny>,
    async_config: &Bound<'_, PyAny>,
    enable_async: bool,
    fallback_to_sync: bool,
) -> PyResult<PyAsyncPipeline> {
    let (config, retries) = self::async_config(async_config)?;
    let p = pipeline_config;
    let formatter = p.getattr("formatter")?;
    let pipeline = build_pipeline(
        convert::level(&p.getattr("min_level")?)?,
        &p.getattr("enrichers")?,
        &p.getattr("filters")?,
        Some(&formatter),
        &p.getattr("writers")?,
        retries,
    )?;
    let inner = AsyncPipeline::new(AsyncPipelineConfig {
        pipeline_config: pipeline,
        async_config: config,
        enable_async,
        fallback_to_sync,
    })
    .map_err(config_error)?;
    let logger = inner.logger("kakashi.pipeline");
    Ok(PyAsyncPipeline {
        inner: Held::new(inner),
        logger: Held::new(logger),
    })
}

// === the page's factories ===

#[pyfunction]
#[pyo3(signature = (name, log_file, max_queue_size, worker_count, batch_size, overflow_strategy, min_level))]
#[allow(clippy::too_many_arguments)]
fn high_performance_logger(
    py: Python<'_>,
    name: &str,
    log_file: PathBuf,
    max_queue_size: i64,
    worker_count: i64,
    batch_size: i64,
    overflow_strategy: &Bound<'_, PyAny>,
    min_level: &Bound<'_, PyAny>,
) -> PyResult<PyLogger> {
    let options = HighPerformanceOptions {
        max_queue_size: count("max_queue_size", max_queue_size)?,
        worker_count: count("worker_count", worker_count)?,
        batch_size: count("batch_size", batch_size)?,
        overflow_strategy: strategy(overflow_strategy)?,
        min_level: convert::level(min_level)?,
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
fn network_logger(
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
    let backend = Backend::new(config).map_err(config_error)?;
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
    Ok(PyLogger::new(backend.logger(name, pipeline)))
}

/// Makes an `AsyncConfig` the global backend's settings: the core's
/// `apply_async_config` (a new global backend only when they differ from
/// the current one's).
#[pyfunction]
fn apply_async_config(py: Python<'_>, config: &Bound<'_, PyAny>) -> PyResult<()> {
    let (config, _) = async_config(config)?;
    // Without the interpreter lock: reconfiguring drains the previous backend.
    gil::detach(py, move || kakashi::apply_async_config(config)).map_err(config_error)
}

/// The page's `get_async_structured_logger(name, log_file, async_config,
/// **default_fields)`: the core's, with `async_config` converted and checked
/// as an `AsyncConfig` and the fields copied as a logging call copies them.
#[pyfunction]
#[pyo3(signature = (name, log_file=None, async_config=None, default_fields=None))]
fn async_structured_logger(
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
fn env_logger(
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
#[pyo3(signature = (environment, service_name, version, log_directory, max_queue_size, worker_count, batch_size))]
#[allow(clippy::too_many_arguments)]
fn setup_async_logging<'py>(
    py: Python<'py>,
    environment: &str,
    service_name: Option<String>,
    version: Option<String>,
    log_directory: Option<PathBuf>,
    max_queue_size: &Bound<'py, PyAny>,
    worker_count: &Bound<'py, PyAny>,
    batch_size: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyDict>> {
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
    };
    let env = gil::detach(py, move || kakashi::setup_async_logging(setup)).map_err(config_error)?;
    env_dict(py, &env)
}

#[pyfunction]
#[pyo3(signature = (max_queue_size, worker_count, batch_size, enable_batching, overflow_strategy))]
fn configure_async_backend(
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
fn get_async_stats(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    stats_dict(py, &kakashi::get_async_stats())
}

/// Waits until everything logged so far, on every backend, is written and
/// flushed, at most `timeout` seconds in total (default: the longest
/// `shutdown_timeout`); False when that took longer.
#[pyfunction]
#[pyo3(signature = (timeout=None))]
fn flush(py: Python<'_>, timeout: Option<f64>) -> PyResult<bool> {
    Ok(match timeout {
        Some(t) => {
            let t = seconds("timeout", t)?;
            gil::detach(py, move || kakashi::flush_timeout(t))
        }
        None => gil::detach(py, kakashi::flush),
    })
}

/// Drains, flushes and joins every backend within `timeout` seconds.
#[pyfunction]
#[pyo3(signature = (timeout=5.0))]
fn shutdown_async_backend(py: Python<'_>, timeout: f64) -> PyResult<PyShutdownReport> {
    let t = seconds("timeout", timeout)?;
    Ok(gil::detach(py, move || kakashi::shutdown_async_backend(t)).into())
}

// === interpreter lifecycle ===

/// Registers the `ContextVar` that holds the current `LogContext`.
#[pyfunction]
fn _set_context_var(py: Python<'_>, var: Py<PyAny>) -> PyResult<()> {
    CONTEXT_VAR
        .set(py, var)
        .map_err(|_| PyValueError::new_err("the context variable is already set"))
}

/// Called when a request context is first set: calls start looking it up.
#[pyfunction]
fn _context_used() {
    CONTEXT_USED.store(true, Relaxed);
}

/// The interpreter is exiting: drain and stop every backend while Python
/// stages can still run, then stop running them, and wait for every other
/// thread inside a wait of ours to take the interpreter lock back before
/// finalisation begins (see `gil.rs`).
#[pyfunction]
fn _at_exit(py: Python<'_>) {
    gil::detach(py, || {
        kakashi::shutdown_async_backend(Duration::from_secs(10));
    });
    PYTHON_GONE.store(true, Relaxed);
    gil::wait_for_detached(py, Duration::from_secs(10));
    stages::release_all(py);
}

/// How long a `block` wait may still go on once the interpreter is exiting.
const EXIT_WAIT: Duration = Duration::from_secs(10);

/// When `block` waits stop waiting: set when the interpreter starts exiting.
pub(crate) static EXIT_DEADLINE: std::sync::OnceLock<std::time::Instant> =
    std::sync::OnceLock::new();

/// `threading._register_atexit`: the interpreter is exiting (non-daemon
/// threads are joined, `atexit` handlers are next). From now on a `block`
/// wait for room ends within [`EXIT_WAIT`] (the record counted as
/// `interrupted`), so that a writer stuck for ever cannot keep an `atexit`
/// handler that logs, and so the process, from exiting.
#[pyfunction]
fn _exiting() {
    let _ = EXIT_DEADLINE.set(std::time::Instant::now() + EXIT_WAIT);
}

/// `os.register_at_fork(before=...)`: park the workers between batches, for
/// at most a second in all (a writer busy longer is abandoned by the child).
#[pyfunction]
fn _before_fork(py: Python<'_>) {
    gil::detach(py, || kakashi::prepare_fork(Duration::from_secs(1)));
}

/// `os.register_at_fork(after_in_parent=...)`.
#[pyfunction]
fn _after_fork_in_parent() {
    kakashi::after_fork_in_parent();
}

/// `os.register_at_fork(after_in_child=...)`: fresh workers in the child.
#[pyfunction]
fn _after_fork_in_child() {
    kakashi::after_fork_in_child();
}

#[pymodule]
fn _kakashi(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyLogger>()?;
    m.add_class::<PyContext>()?;
    m.add_class::<PyBackend>()?;
    m.add_class::<PyAsyncPipeline>()?;
    m.add_class::<PyShutdownReport>()?;
    m.add("ConfigError", m.py().get_type::<ConfigError>())?;
    m.add("ASYNC_CONFIG_DEFAULTS", async_config_defaults(m.py())?)?;
    m.add_function(wrap_pyfunction!(convert::_register_types, m)?)?;
    m.add_function(wrap_pyfunction!(_check_async_config, m)?)?;
    m.add_function(wrap_pyfunction!(_check_timeout, m)?)?;
    m.add_function(wrap_pyfunction!(_check_level, m)?)?;
    m.add_function(wrap_pyfunction!(_check_formatter_type, m)?)?;
    m.add_function(wrap_pyfunction!(async_pipeline, m)?)?;
    m.add_function(wrap_pyfunction!(high_performance_logger, m)?)?;
    m.add_function(wrap_pyfunction!(network_logger, m)?)?;
    m.add_function(wrap_pyfunction!(env_logger, m)?)?;
    m.add_function(wrap_pyfunction!(apply_async_config, m)?)?;
    m.add_function(wrap_pyfunction!(async_structured_logger, m)?)?;
    m.add_function(wrap_pyfunction!(setup_async_logging, m)?)?;
    m.add_function(wrap_pyfunction!(configure_async_backend, m)?)?;
    m.add_function(wrap_pyfunction!(get_async_stats, m)?)?;
    m.add_function(wrap_pyfunction!(flush, m)?)?;
    m.add_function(wrap_pyfunction!(shutdown_async_backend, m)?)?;
    builtins::register(m)?;
    m.add_function(wrap_pyfunction!(_set_context_var, m)?)?;
    m.add_function(wrap_pyfunction!(_context_used, m)?)?;
    m.add_function(wrap_pyfunction!(_at_exit, m)?)?;
    m.add_function(wrap_pyfunction!(_exiting, m)?)?;
    m.add_function(wrap_pyfunction!(_before_fork, m)?)?;
    m.add_function(wrap_pyfunction!(_after_fork_in_parent, m)?)?;
    m.add_function(wrap_pyfunction!(_after_fork_in_child, m)?)?;
    m.add("DEFAULT_LEVEL", Level::Info.value())?;
    // The Cargo workspace version: the one version of the crates and of the
    // Python distribution (`kakashi.__version__`).
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
