//! Configuration errors as Python exceptions: `kakashi.ConfigError` (a
//! `ValueError`) for bad settings, `OSError` (with its errno, so
//! `PermissionError`, `FileNotFoundError`, ...) for files that cannot be
//! opened. Both are raised by constructors, never by a logging call.

use kakashi::ConfigError;
use pyo3::create_exception;
use pyo3::exceptions::{PyOSError, PyRuntimeError, PyValueError};
use pyo3::PyErr;

create_exception!(
    _kakashi,
    PyConfigError,
    PyValueError,
    "A setting that cannot work (unknown overflow strategy, zero queue size, ...)."
);

/// The Python exception for a configuration error.
pub fn config_error(e: ConfigError) -> PyErr {
    let message = e.to_string();
    match e {
        ConfigError::File { path, source } => match source.raw_os_error() {
            Some(errno) => PyOSError::new_err((errno, message, path.display().to_string())),
            None => PyOSError::new_err(message),
        },
        ConfigError::Spawn(_) => PyRuntimeError::new_err(message),
        _ => PyConfigError::new_err(message),
    }
}
