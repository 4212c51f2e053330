//! Engine -> Python: how a record looks to a Python enricher, filter or
//! formatter, and how what it returns updates the record.

use super::{context_of, exception, fields_of, key, level, str_of};
use crate::once::Once;
use kakashi::{Context, Field, Record, Sections, Text, Timestamp, Value};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyList, PyString};

/// A Python value for an engine value.
pub fn to_py<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::I64(i) => i.into_pyobject(py)?.into_any(),
        Value::U64(u) => u.into_pyobject(py)?.into_any(),
        Value::F64(f) => PyFloat::new(py, *f).into_any(),
        Value::Str(s) => PyString::new(py, s).into_any(),
        Value::List(items) => {
            let list = PyList::empty(py);
            for item in items.iter() {
                list.append(to_py(py, item)?)?;
            }
            list.into_any()
        }
        Value::Map(entries) => fields_to_dict(py, entries)?.into_any(),
    })
}

/// A dict for a field list.
pub fn fields_to_dict<'py>(py: Python<'py>, fields: &[Field]) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (k, v) in fields {
        d.set_item(k.as_ref(), to_py(py, v)?)?;
    }
    Ok(d)
}

/// The package's record types, handed over by `kakashi.core.records` when it
/// is imported (`_register_types`): the extension never imports the package.
pub struct RecordTypes {
    record: Py<PyAny>,
    context: Py<PyAny>,
    level: Py<PyAny>,
    exception: Py<PyAny>,
}

static TYPES: Once<RecordTypes> = Once::new();

fn record_types(py: Python<'_>) -> PyResult<&'static RecordTypes> {
    TYPES.get(py).ok_or_else(|| {
        pyo3::exceptions::PyRuntimeError::new_err(
            "kakashi._kakashi: the record types are not registered; import kakashi \
             (kakashi.core.records registers them) before using the extension",
        )
    })
}

/// Registers `LogRecord`, `LogContext`, `LogLevel` and `ExceptionInfo` (once).
#[pyfunction]
#[pyo3(signature = (*, LogRecord, LogContext, LogLevel, ExceptionInfo))]
#[allow(non_snake_case)]
pub fn _register_types(
    py: Python<'_>,
    LogRecord: Py<PyAny>,
    LogContext: Py<PyAny>,
    LogLevel: Py<PyAny>,
    ExceptionInfo: Py<PyAny>,
) -> PyResult<()> {
    TYPES
        .set(
            py,
            RecordTypes {
                record: LogRecord,
                context: LogContext,
                level: LogLevel,
                exception: ExceptionInfo,
            },
        )
        .map_err(|_| PyValueError::new_err("the record types are already registered"))
}

/// A Python `LogContext` for an engine context.
pub fn context_to_py<'py>(py: Python<'py>, c: &Context) -> PyResult<Bound<'py, PyAny>> {
    let t = record_types(py)?;
    let kw = PyDict::new(py);
    for (name, v) in c.named() {
        if let Some(v) = v {
            kw.set_item(name, v)?;
        }
    }
    if !c.custom.is_empty() {
        kw.set_item("custom", fields_to_dict(py, &c.custom)?)?;
    }
    t.context.bind(py).call((), Some(&kw))
}

/// A Python `LogRecord` (the original's frozen dataclass) for a record.
pub fn record_to_py<'py>(py: Python<'py>, r: &Record) -> PyResult<Bound<'py, PyAny>> {
    let t = record_types(py)?;
    let kw = PyDict::new(py);
    kw.set_item("timestamp", r.timestamp.0 as f64 / 1e9)?;
    kw.set_item("level", t.level.bind(py).call1((r.level.value(),))?)?;
    kw.set_item("logger_name", r.logger.as_str())?;
    kw.set_item("message", r.message.as_ref())?;
    if !r.fields.is_empty() {
        kw.set_item("fields", fields_to_dict(py, &r.fields)?)?;
    }
    if let Some(c) = &r.context {
        kw.set_item("context", context_to_py(py, c)?)?;
    }
    if let Some(e) = &r.exception {
        let info = t
            .exception
            .bind(py)
            .call1((e.type_name.as_ref(), e.message.as_str()))?;
        kw.set_item("exception", info)?;
        if let Some(tb) = &e.traceback {
            kw.set_item("exception_traceback", tb)?;
        }
    }
    if r.sections.contains(Sections::SOURCE) {
        if let Some(s) = r.source {
            kw.set_item("module", s.module)?;
            if let Some(function) = s.function {
                kw.set_item("function", function)?;
            }
            kw.set_item("line_number", s.line)?;
        }
    }
    if r.sections.contains(Sections::THREADING) {
        kw.set_item("thread_id", r.thread.thread_id)?;
        kw.set_item("thread_name", r.thread.thread_name.as_deref())?;
        kw.set_item("process_id", r.thread.process_id)?;
    }
    t.record.bind(py).call((), Some(&kw))
}

/// Updates `r` from a Python `LogRecord` an enricher returned.
pub fn update_record(obj: &Bound<'_, PyAny>, r: &mut Record) -> PyResult<()> {
    let py = obj.py();
    let get = |name: &str| obj.getattr(name);
    let ts: f64 = get("timestamp")?.extract()?;
    if ts.is_finite() && ts >= 0.0 {
        r.timestamp = Timestamp((ts * 1e9) as u64);
    }
    r.level = level(&get("level")?)?;
    // Kept when unchanged; a new name is not interned (an enricher may
    // name every record differently).
    let logger = get("logger_name")?;
    if logger
        .cast_exact::<PyString>()
        .map_or(true, |s| s.to_cow().map_or(true, |t| *t != *r.logger))
    {
        r.logger = key(&logger);
    }
    r.message = Text::from(str_of(&get("message")?));
    let fields = get("fields")?;
    r.fields = match fields.cast::<PyDict>() {
        Ok(d) => fields_of(d).into_iter().collect(),
        Err(_) => kakashi::Fields::new(),
    };
    let ctx = get("context")?;
    r.context = if ctx.is_none() {
        None
    } else {
        context_of(&ctx)
    };
    let exc = get("exception")?;
    if exc.is_none() {
        r.exception = None;
    } else if exc.is_instance_of::<pyo3::exceptions::PyBaseException>() {
        r.exception = Some(Box::new(exception(py, &exc)));
    }
    if let Some(e) = r.exception.as_mut() {
        let tb = get("exception_traceback")?;
        if !tb.is_none() {
            e.traceback = Some(str_of(&tb));
        }
    }
    let tid = get("thread_id")?;
    if !tid.is_none() {
        let thread_id = tid.extract().unwrap_or(r.thread.thread_id);
        let name = get("thread_name")?;
        let thread_name = (!name.is_none()).then(|| key(&name));
        // A lasting thread handle is copied on write: only when changed.
        if thread_id != r.thread.thread_id || thread_name != r.thread.thread_name {
            let thread = r.thread.info_mut();
            thread.thread_id = thread_id;
            thread.thread_name = thread_name;
        }
        r.sections.insert(Sections::THREADING);
    }
    Ok(())
}
