//! Configuration errors as Python exceptions: `kakashi.ConfigError` (a
//! `ValueError`) for bad settings, `OSError` (with its errno, so
//! `PermissionError`, `FileNotFoundError`, ...) for files that cannot be
//! opened. Both are raised by constructors, never by a logging call.
//!
//! The messages are the Rust core's ([`kakashi::ConfigError`]'s `Display`):
//! the binding only converts Python values to Rust types. A value no Rust
//! type can hold (a negative count, a negative or NaN duration) is reported
//! the way the core reports a value out of its range, with the range the
//! core checks ([`out_of_range`]).

use std::time::Duration;

use kakashi::AsyncConfig;
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
        kakashi::ConfigError::Spawn(_) => PyRuntimeError::new_err(message),
        _ => ConfigError::new_err(message),
    }
}

/// `setting = value is out of range; expected ...` for a value given from
/// Python that its Rust type cannot hold. The expected range is the core's
/// (what `AsyncConfig::validate` says about the setting at zero) when the
/// core checks the setting, else what the Rust type holds.
pub fn out_of_range(setting: &'static str, given: String, otherwise: &'static str) -> PyErr {
    let mut probe = AsyncConfig::default();
    match setting {
        "max_queue_size" => probe.max_queue_size = 0,
        "worker_count" => probe.worker_count = 0,
        "batch_size" => probe.batch_size = 0,
        "batch_timeout" => probe.batch_timeout = Duration::ZERO,
        _ => {}
    }
    let expected = match probe.validate() {
        Err(kakashi::ConfigError::OutOfRange {
            setting: checked,
            expected,
            ..
        }) if checked == setting => expected,
        _ => otherwise,
    };
    config_error(kakashi::ConfigError::OutOfRange {
        setting,
        value: given,
        expected,
    })
}

/// `value` shown as Python shows a float (`nan`, `-1.0`, `inf`).
pub fn float_repr(value: f64) -> String {
    if value.is_nan() {
        "nan".to_owned()
    } else {
        format!("{value:?}")
    }
}

/// A count (`usize` in Rust) given as a Python `int`.
pub fn count(setting: &'static str, value: i64) -> PyResult<usize> {
    usize::try_from(value).map_err(|_| out_of_range(setting, value.to_string(), "0 or more"))
}

/// A retry count (`u32` in Rust) given as a Python `int`.
pub fn retries(setting: &'static str, value: i64) -> PyResult<u32> {
    u32::try_from(value).map_err(|_| out_of_range(setting, value.to_string(), "0 to 4294967295"))
}

/// Seconds (a Python `float`) as a duration; negative, NaN or huge values are
/// out of range.
pub fn seconds(setting: &'static str, value: f64) -> PyResult<Duration> {
    Duration::try_from_secs_f64(value)
        .map_err(|_| out_of_range(setting, float_repr(value), "a number of seconds, 0 or more"))
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
    value
        .extract::<i64>()
        .map_err(|_| out_of_range(setting, repr_of(value), "0 or more"))
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
    Duration::try_from_secs_f64(s)
        .map_err(|_| out_of_range(setting, repr_of(value), "a number of seconds, 0 or more"))
}
