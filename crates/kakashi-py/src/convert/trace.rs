//! OpenTelemetry trace context: the `trace_id` and `span_id` of the span
//! current on the calling thread or task, added to a record's context.
//!
//! kakashi never imports OpenTelemetry. A call looks `opentelemetry.trace`
//! up in `sys.modules` (one dictionary lookup): until the program itself
//! has imported it, that lookup is all a call pays, and records are as
//! before. Once it is there, a call asks it for the current span
//! (`trace.get_current_span().get_span_context()`) and, when that context
//! is valid, adds the ids as OpenTelemetry prints them: `trace_id` as 32 and
//! `span_id` as 16 lowercase hexadecimal digits. Checked per record rather
//! than once per logger, because loggers are usually made at import time,
//! before OpenTelemetry is set up.

use kakashi::{Context, Key, Value};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyDict;

/// `sys.modules`, read once (a program that replaces the dict itself is not
/// followed; importing modules only changes its contents).
static SYS_MODULES: PyOnceLock<Py<PyDict>> = PyOnceLock::new();
/// `opentelemetry.trace.get_current_span`, once the program imported it.
static GET_CURRENT_SPAN: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// The current OpenTelemetry span's ids as a context with the custom keys
/// `trace_id` and `span_id`, or None (OpenTelemetry not imported by the
/// program, no valid span current, or any error raised while asking it:
/// the logging call goes on without the ids).
pub fn trace_context(py: Python<'_>) -> Option<Context> {
    let get_current_span = match GET_CURRENT_SPAN.get(py) {
        Some(f) => f.bind(py).clone(),
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
            let trace = modules
                .bind(py)
                .get_item(pyo3::intern!(py, "opentelemetry.trace"))
                .ok()??;
            let f = trace.getattr(pyo3::intern!(py, "get_current_span")).ok()?;
            GET_CURRENT_SPAN
                .get_or_init(py, || f.unbind())
                .bind(py)
                .clone()
        }
    };
    let span_context = get_current_span
        .call0()
        .and_then(|span| span.call_method0(pyo3::intern!(py, "get_span_context")))
        .ok()?;
    if !span_context
        .getattr(pyo3::intern!(py, "is_valid"))
        .and_then(|v| v.is_truthy())
        .ok()?
    {
        return None;
    }
    let trace_id: u128 = span_context
        .getattr(pyo3::intern!(py, "trace_id"))
        .and_then(|v| v.extract())
        .ok()?;
    let span_id: u64 = span_context
        .getattr(pyo3::intern!(py, "span_id"))
        .and_then(|v| v.extract())
        .ok()?;
    Some(Context {
        custom: vec![
            (
                Key::from("trace_id"),
                Value::from(format!("{trace_id:032x}")),
            ),
            (Key::from("span_id"), Value::from(format!("{span_id:016x}"))),
        ],
        ..Context::default()
    })
}
