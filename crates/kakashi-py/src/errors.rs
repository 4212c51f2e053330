//! Configuration errors as Python exceptions: `kakashi.ConfigError` (a
//! `ValueError`) for bad settings, `OSError` (with its errno, so
//! `PermissionError`, `FileNotFoundError`, ...) for files that cannot be
//! opened or read. Both are raised by constructors, never by a logging call.
//!
//! The messages are the Rust core's ([`kakashi::ConfigError`]'s `Display`):
//! the binding only checks Python types (an `int`, a number of seconds) and
//! hands the numbers to the core's conversions (`count_setting`,
//! `retries_setting`, `seconds_setting` in `kakashi::backend`), which own
//! the ranges and their wording; only the value is shown as Python gave it.

use std::time::Duration;

use pyo3::create_exception;
use pyo3::exceptions::{PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyFloat, PyInt};
use pyo3::PyErr;

use crate::convert::repr_of;

create_exception!(
    kakashi,
    ConfigError,
    PyValueError,
    "A setting that cannot work (unknown overflow strategy, zero queue size, ...)."
);

/// The Python exception for a configuration error.
pub fn config_error(e: kakashi::ConfigError) -> PyErr {
    let message = e.to_string();
    match e {
        kakashi::ConfigError::File { path, source } => match source.raw_os_error() {
            Some(errno) => PyOSError::new_err((errno, message, path.display().to_string())),
            None => PyOSError::new_err(message),
        },
        // Missing or unreadable: the system's error; not UTF-8: a bad value.
        kakashi::ConfigError::ConfigFile { path, source } => match source.raw_os_error() {
            Some(errno) => PyOSError::new_err((errno, message, path.display().to_string())),
            None => ConfigError::new_err(message),
        },
        kakashi::ConfigError::Spawn(_) => PyRuntimeError::new_err(message),
        _ => ConfigError::new_err(message),
    }
}

/// The core's error for a value given from Python, showing the value as
/// Python shows it (`-1`, `nan`, `True`) rather than as Rust does.
fn as_given(e: kakashi::ConfigError, given: impl FnOnce() -> String) -> PyErr {
    config_error(match e {
        kakashi::ConfigError::OutOfRange {
            setting, expected, ..
        } => kakashi::ConfigError::OutOfRange {
            setting,
            value: given(),
            expected,
        },
        e => e,
    })
}

/// `value` shown as Python shows a float (`nan`, `-1.0`, `inf`).
pub fn float_repr(value: f64) -> String {
    if value.is_nan() {
        "nan".to_owned()
    } else if value.is_infinite() {
        if value > 0.0 { "inf" } else { "-inf" }.to_owned()
    } else {
        format!("{value:?}")
    }
}

/// A count (`usize` in Rust) given as a Python `int`: the core's
/// [`count_setting`](kakashi::backend::count_setting).
pub fn count(setting: &'static str, value: i64) -> PyResult<usize> {
    kakashi::backend::count_setting(setting, value).map_err(|e| as_given(e, || value.to_string()))
}

/// A retry count (`u32` in Rust) given as a Python `int`: the core's
/// [`retries_setting`](kakashi::backend::retries_setting).
pub fn retries(setting: &'static str, value: i64) -> PyResult<u32> {
    kakashi::backend::retries_setting(setting, value).map_err(|e| as_given(e, || value.to_string()))
}

/// Seconds (a Python `float`) as a duration: the core's
/// [`seconds_setting`](kakashi::backend::seconds_setting).
pub fn seconds(setting: &'static str, value: f64) -> PyResult<Duration> {
    kakashi::backend::seconds_setting(setting, value).map_err(|e| as_given(e, || float_repr(value)))
}

/// An `int` setting read from a Python object (an `AsyncConfig` field): any
/// other type (including `bool`) is a `ConfigError` naming the setting.
pub fn int_setting(setting: &'static str, value: &Bound<'_, PyAny>) -> PyResult<i64> {
    if value.is_instance_of::<PyBool>() || !value.is_instance_of::<PyInt>() {
        return Err(ConfigError::new_err(format!(
            "{setting} must be an integer, got {}",
            repr_of(value)
        )));
    }
    match value.extract::<i64>() {
        Ok(v) => Ok(v),
        // Beyond i64: out of every count's range, which the core words.
        Err(_) => Err(as_given(
            kakashi::backend::count_setting(setting, i64::MIN)
                .expect_err("a negative count is out of range"),
            || repr_of(value),
        )),
    }
}

/// A number of seconds read from a Python object: an `int` or a `float`
/// (not a `bool`), else a `ConfigError` naming the setting.
pub fn seconds_setting(setting: &'static str, value: &Bound<'_, PyAny>) -> PyResult<Duration> {
    if value.is_instance_of::<PyBool>()
        || !(value.is_instance_of::<PyInt>() || value.is_instance_of::<PyFloat>())
    {
        return Err(ConfigError::new_err(format!(
            "{setting} must be a number of seconds, got {}",
            repr_of(value)
        )));
    }
    let s: f64 = value.extract()?;
    kakashi::backend::seconds_setting(setting, s).map_err(|e| as_given(e, || repr_of(value)))
}

/// A failure inside kakashi (a panic) lost a record: said once on stderr,
/// with the panic's message, and never raised into the logging call, which
/// a logging failure must not break.
pub fn report_lost_record(panic: &(dyn std::any::Any + Send)) {
    static REPORTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if !REPORTED.swap(true, std::sync::atomic::Ordering::Relaxed) {
        let text = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        eprintln!(
            "kakashi: a logging call failed inside kakashi and its record was lost: {text} (reported once)"
        );
    }
}
