//! OpenTelemetry trace context: the `trace_id` and `span_id` of the span
//! current on the calling thread or task, added to a record's fields (as
//! the Rust crate's trace-context hook adds them).
//!
//! kakashi never imports OpenTelemetry. A call looks `opentelemetry.trace`
//! up in `sys.modules`, and only when the number of modules there changed
//! since the last lookup (so in a program that imports nothing more, a call
//! reads one length): until the program itself has imported it, that is all
//! a call pays, and records are as before. Once it is there, a call reads the current span and, when its
//! context is valid, adds the ids as OpenTelemetry prints them: `trace_id`
//! as 32 and `span_id` as 16 lowercase hexadecimal digits. Checked per
//! record rather than once per logger, because loggers are usually made at
//! import time, before OpenTelemetry is set up.
//!
//! Reading the span: `trace.get_current_span()` is several Python calls on
//! every record, span or none. Instead, a call reads what
//! that function reads: the context variable of OpenTelemetry's runtime
//! context (`opentelemetry.context._RUNTIME_CONTEXT._current_context`,
//! a `contextvars.ContextVar` holding a dict) at the span's key
//! (`opentelemetry.trace.propagation._SPAN_KEY`), two C calls. When those
//! are not there (another runtime context chosen with
//! `OTEL_PYTHON_CONTEXT`, another version of the API), it calls
//! `get_current_span()`. The ids of the last span seen are kept with it
//! (one entry, compared by identity), so records in one span format its
//! ids once.

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};

use crate::once::Once;
use kakashi::{Field, Key, Value};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

/// How to read the current span, decided when `opentelemetry.trace` is
/// first seen in `sys.modules`.
enum Source {
    /// `var.get().get(key)`: the runtime context's variable and the span's key.
    ContextVar { var: Py<PyAny>, key: Py<PyString> },
    /// `get_current_span()`, the public API.
    Api { get_current_span: Py<PyAny> },
}

/// `sys.modules`, read once (a program that replaces the dict itself is not
/// followed; importing modules only changes its contents).
static SYS_MODULES: Once<Py<PyDict>> = Once::new();
/// How many modules `sys.modules` held when `opentelemetry.trace` was last
/// looked up and not found: while the count is the same, nothing was
/// imported since (a program that removes modules and imports as many
/// others between two records would be looked up again only at the next
/// import).
static MODULES_SEEN: AtomicUsize = AtomicUsize::new(usize::MAX);
static SOURCE: Once<Source> = Once::new();
/// The last span read and its ids (None: not a valid span).
type Seen = Option<(Py<PyAny>, Option<Arc<[Field; 2]>>)>;
/// [`Seen`], only touched with the interpreter lock held (never contended).
static LAST: Mutex<Seen> = Mutex::new(None);

/// The current OpenTelemetry span's ids as the fields `trace_id` and
/// `span_id`, or None (OpenTelemetry not imported by the
/// program, no valid span current, or any error raised while reading it:
/// the logging call goes on without the ids).
pub fn trace_context(py: Python<'_>) -> Option<Arc<[Field; 2]>> {
    let source = match SOURCE.get(py) {
        Some(source) => source,
        None => {
            let modules = SYS_MODULES
                .get_or_try_init(py, || -> PyResult<Py<PyDict>> {
                    Ok(py
                        .import("sys")?
                        .getattr("modules")?
                        .cast_into::<PyDict>()?
                        .unbind())
                })
                .ok()?;
            // Looked up again only when modules were imported since.
            let modules = modules.bind(py);
            let count = modules.len();
            if MODULES_SEEN.load(Relaxed) == count {
                return None;
            }
            let Some(trace) = modules
                .get_item(crate::intern!(py, "opentelemetry.trace"))
                .ok()
                .flatten()
            else {
                MODULES_SEEN.store(count, Relaxed);
                return None;
            };
            let source = source_of(py, &trace)?;
            SOURCE.get_or_init(py, || source)
        }
    };
    let span = match source {
        Source::ContextVar { var, key } => {
            let context = var.bind(py).call_method0(crate::intern!(py, "get")).ok()?;
            context
                .cast::<PyDict>()
                .ok()?
                .get_item(key.bind(py))
                .ok()??
        }
        Source::Api { get_current_span } => get_current_span.bind(py).call0().ok()?,
    };
    if let Some((seen, ids)) = &*lock_last() {
        if seen.bind(py).is(&span) {
            return ids.clone();
        }
    }
    // No lock held while Python code runs (it could log, and so come back
    // here), nor while the previous span is released.
    let ids = ids_of(&span).map(Arc::new);
    let previous = lock_last().replace((span.unbind(), ids.clone()));
    drop(previous);
    ids
}

fn lock_last() -> std::sync::MutexGuard<'static, Seen> {
    LAST.lock().unwrap_or_else(|e| e.into_inner())
}

/// How to read the current span (see the module docs); None if
/// `opentelemetry.trace` has no `get_current_span`.
fn source_of(py: Python<'_>, trace: &Bound<'_, PyAny>) -> Option<Source> {
    let fast = || -> PyResult<Source> {
        let var = py
            .import("opentelemetry.context")?
            .getattr("_RUNTIME_CONTEXT")?
            .getattr("_current_context")?;
        let context_var = py.import("contextvars")?.getattr("ContextVar")?;
        if !var.is_instance(&context_var)? {
            return Err(pyo3::exceptions::PyTypeError::new_err("not a ContextVar"));
        }
        let key = py
            .import("opentelemetry.trace.propagation")?
            .getattr("_SPAN_KEY")?
            .cast_into::<PyString>()?;
        Ok(Source::ContextVar {
            var: var.unbind(),
            key: key.unbind(),
        })
    };
    match fast() {
        Ok(source) => Some(source),
        Err(_) => Some(Source::Api {
            get_current_span: trace.getattr("get_current_span").ok()?.unbind(),
        }),
    }
}

/// The ids of `span` (`span.get_span_context()`), if its context is valid.
fn ids_of(span: &Bound<'_, PyAny>) -> Option<[Field; 2]> {
    let py = span.py();
    let span_context = span
        .call_method0(crate::intern!(py, "get_span_context"))
        .ok()?;
    if !span_context
        .getattr(crate::intern!(py, "is_valid"))
        .and_then(|v| v.is_truthy())
        .ok()?
    {
        return None;
    }
    let trace_id: u128 = span_context
        .getattr(crate::intern!(py, "trace_id"))
        .and_then(|v| v.extract())
        .ok()?;
    let span_id: u64 = span_context
        .getattr(crate::intern!(py, "span_id"))
        .and_then(|v| v.extract())
        .ok()?;
    Some([
        (
            Key::from("trace_id"),
            Value::from(format!("{trace_id:032x}")),
        ),
        (Key::from("span_id"), Value::from(format!("{span_id:016x}"))),
    ])
}

/// Adds the current span's `trace_id` and `span_id` (see [`trace_context`])
/// after `fields`, unless the call set either itself: then it keeps its
/// own and gets neither (a pair from two sources would name a span that
/// does not exist).
pub fn add_trace_ids(py: Python<'_>, fields: &mut kakashi::Fields) {
    if let Some(ids) = trace_context(py) {
        if !fields
            .iter()
            .any(|(k, _)| ids.iter().any(|(id, _)| k == id))
        {
            fields.extend(ids.iter().cloned());
        }
    }
}
