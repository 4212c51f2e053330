//! `kakashi.config`: configuration from data and per-logger levels. The
//! binding only copies the Python data into plain data (dicts, lists,
//! strings, numbers, booleans, `None`); the core's `kakashi::config` reads
//! the shape, checks every value and words every error, so Python and Rust
//! accept and refuse the same configurations with the same messages.

use kakashi::config::Config;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::{Map, Number, Value};

use crate::convert;
use crate::errors::config_error;
use crate::gil;

/// The error for the value at `path` that is not configuration data.
fn not_data(path: &str, what: &str) -> PyErr {
    config_error(kakashi::ConfigError::Key {
        key: if path.is_empty() {
            "(top level)".to_owned()
        } else {
            path.to_owned()
        },
        message: what.to_owned(),
    })
}

/// `value` as plain data, `path` naming it (`outputs[0].path`) in errors.
fn data(value: &Bound<'_, PyAny>, path: &str) -> PyResult<Value> {
    if value.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = value.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if let Ok(s) = value.cast::<PyString>() {
        return Ok(Value::String(convert::text(s)));
    }
    if let Ok(i) = value.cast::<PyInt>() {
        // LogLevel.DEBUG (an IntEnum) is its number.
        if let Ok(n) = i.extract::<i64>() {
            return Ok(Value::Number(n.into()));
        }
        if let Ok(n) = i.extract::<u64>() {
            return Ok(Value::Number(n.into()));
        }
        return Err(not_data(
            path,
            &format!("{} is too large for any setting", convert::repr_of(value)),
        ));
    }
    if let Ok(f) = value.cast::<PyFloat>() {
        return Number::from_f64(f.value())
            .map(Value::Number)
            .ok_or_else(|| {
                not_data(
                    path,
                    &format!(
                        "{} is not a number a setting can take",
                        convert::repr_of(value)
                    ),
                )
            });
    }
    if let Ok(d) = value.cast::<PyDict>() {
        let mut map = Map::new();
        for (k, v) in d.iter() {
            let Ok(key) = k.cast::<PyString>() else {
                return Err(not_data(
                    path,
                    &format!("key {} is not a string", convert::repr_of(&k)),
                ));
            };
            let key = convert::text(key);
            let inner = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            map.insert(key, data(&v, &inner)?);
        }
        return Ok(Value::Object(map));
    }
    if value.is_instance_of::<PyList>() || value.is_instance_of::<PyTuple>() {
        let items = value
            .try_iter()?
            .enumerate()
            .map(|(i, item)| data(&item?, &format!("{path}[{i}]")))
            .collect::<PyResult<_>>()?;
        return Ok(Value::Array(items));
    }
    // A path (pathlib.Path, any os.PathLike) is its text.
    if value.hasattr("__fspath__")? {
        let os = value.py().import("os")?;
        let text = os.call_method1("fspath", (value,))?;
        return data(&text, path);
    }
    Err(not_data(
        path,
        &format!(
            "a {} is not configuration data; expected a str, int, float, bool, None, list or dict",
            value.get_type().name()?
        ),
    ))
}

/// Installs `config` (checked whole first), without the interpreter lock:
/// installing drains the previous global backend.
fn install(py: Python<'_>, config: Config, env: bool) -> PyResult<()> {
    let config = if env {
        config.with_env().map_err(config_error)?
    } else {
        config
    };
    gil::detach(py, move || config.apply()).map_err(config_error)
}

/// `kakashi.config.configure(config: dict, *, env=True)`.
#[pyfunction]
#[pyo3(signature = (config, env))]
pub(crate) fn _configure(py: Python<'_>, config: &Bound<'_, PyAny>, env: bool) -> PyResult<()> {
    if !config.is_instance_of::<PyDict>() {
        return Err(PyTypeError::new_err(format!(
            "configure() takes a dict, got {}",
            config.get_type().name()?
        )));
    }
    let value = data(config, "")?;
    let config = Config::deserialize_from(value).map_err(config_error)?;
    install(py, config, env)
}

/// `kakashi.config.configure_from_file(path, *, env=True)`: a TOML file.
#[pyfunction]
#[pyo3(signature = (path, env))]
pub(crate) fn _configure_from_file(
    py: Python<'_>,
    path: std::path::PathBuf,
    env: bool,
) -> PyResult<()> {
    let config = Config::from_file(path).map_err(config_error)?;
    install(py, config, env)
}

/// `kakashi.config.configure_from_env()`.
#[pyfunction]
pub(crate) fn _configure_from_env(py: Python<'_>) -> PyResult<()> {
    install(py, Config::default(), true)
}

/// `kakashi.config.set_level(name, level)`.
#[pyfunction]
pub(crate) fn _set_level(name: &str, level: &Bound<'_, PyAny>) -> PyResult<()> {
    let py = level.py();
    let level = convert::level(level)?;
    // The level registry is taken without the interpreter lock: a thread
    // preparing a fork holds it, and needs the lock back to fork.
    gil::detach(py, || kakashi::try_set_level(name, level)).map_err(config_error)
}

/// `kakashi.config.clear_level(name)`.
#[pyfunction]
pub(crate) fn _clear_level(py: Python<'_>, name: &str) -> bool {
    gil::detach(py, || kakashi::clear_level(name))
}

/// `kakashi.config.levels()`: `{target: level value}`.
#[pyfunction]
pub(crate) fn _levels(py: Python<'_>) -> PyResult<Bound<'_, PyDict>> {
    let d = PyDict::new(py);
    for (target, level) in gil::detach(py, kakashi::levels) {
        d.set_item(target, level.value())?;
    }
    Ok(d)
}
