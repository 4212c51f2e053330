//! What a call carries from its caller besides its arguments: the Python
//! thread, and the context set with `contextvars`.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;

use super::interrupts::{forget_finished_interrupt, take_pending_interrupt};
use super::{fields_of, str_of};
use crate::once::Once;
use kakashi::{Context, Name, Thread, ThreadInfo};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// The `ContextVar` holding the current `LogContext` (set by `kakashi.core.config`).
static CONTEXT_VAR: Once<Py<PyAny>> = Once::new();
/// Whether a request context was ever set: until then calls skip the lookup.
static CONTEXT_USED: AtomicBool = AtomicBool::new(false);

/// The calling Python thread: `threading.get_ident()`, its name and the pid,
/// read once per thread (a thread renamed later keeps its first name here)
/// and kept as a lasting [`Thread`], so each record copies one pointer.
pub fn thread_info(py: Python<'_>) -> Thread {
    // Called by every logging call (after its message is converted: an
    // interrupt from that is the call's own, kept for the same site).
    forget_finished_interrupt(py);
    thread_local! {
        static CURRENT: std::cell::RefCell<Option<(u64, Thread)>> = const { std::cell::RefCell::new(None) };
    }
    let generation = kakashi::binding::fork_generation();
    let cached = CURRENT.try_with(|c| match &*c.try_borrow().ok()? {
        Some((g, t)) if *g == generation => Some(t.clone()),
        _ => None,
    });
    if let Ok(Some(t)) = cached {
        return t;
    }
    let thread = Thread::lasting(read_thread_info(py));
    let _ = CURRENT.try_with(|c| {
        if let Ok(mut c) = c.try_borrow_mut() {
            *c = Some((generation, thread.clone()));
        }
    });
    thread
}

fn read_thread_info(py: Python<'_>) -> ThreadInfo {
    let mut info = ThreadInfo::current();
    info.process_id = std::process::id();
    let current = py
        .import("threading")
        .and_then(|t| t.call_method0("current_thread"));
    if let Ok(thread) = current {
        if let Ok(id) = thread.getattr("ident").and_then(|i| i.extract::<u64>()) {
            info.thread_id = id;
        }
        if let Ok(name) = thread.getattr("name") {
            info.thread_name = Some(Name::interned(&str_of(&name)));
        }
    }
    info
}

/// Request context as the engine holds it, inside a Python `LogContext`
/// (attribute `_core`), built once when the context is set.
#[pyclass(module = "kakashi._kakashi", name = "Context", frozen)]
pub struct PyContext {
    pub(crate) inner: Arc<Context>,
}

#[pymethods]
impl PyContext {
    #[new]
    #[pyo3(signature = (ip=None, access=None, user_agent=None, request_id=None, user_id=None, session_id=None, service_name=None, version=None, environment=None, custom=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        ip: Option<&Bound<'_, PyAny>>,
        access: Option<&Bound<'_, PyAny>>,
        user_agent: Option<&Bound<'_, PyAny>>,
        request_id: Option<&Bound<'_, PyAny>>,
        user_id: Option<&Bound<'_, PyAny>>,
        session_id: Option<&Bound<'_, PyAny>>,
        service_name: Option<&Bound<'_, PyAny>>,
        version: Option<&Bound<'_, PyAny>>,
        environment: Option<&Bound<'_, PyAny>>,
        custom: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<PyContext> {
        let _call = crate::gil::Call::enter(py);
        let s = |v: Option<&Bound<'_, PyAny>>| v.filter(|v| !v.is_none()).map(str_of);
        let context = Context {
            ip: s(ip),
            access: s(access),
            user_agent: s(user_agent),
            request_id: s(request_id),
            user_id: s(user_id),
            session_id: s(session_id),
            service_name: s(service_name),
            version: s(version),
            environment: s(environment),
            custom: custom.map(fields_of).unwrap_or_default(),
        };
        // A value's `__str__` raised KeyboardInterrupt, SystemExit, ...: raised here.
        if let Some(err) = take_pending_interrupt(py) {
            return Err(err);
        }
        Ok(PyContext {
            inner: Arc::new(context),
        })
    }
}

/// Registers the `ContextVar` that holds the current `LogContext`.
#[pyfunction]
pub(crate) fn _set_context_var(py: Python<'_>, var: Py<PyAny>) -> PyResult<()> {
    CONTEXT_VAR
        .set(py, var)
        .map_err(|_| PyValueError::new_err("the context variable is already set"))
}

/// Called when a request context is first set: calls start looking it up.
#[pyfunction]
pub(crate) fn _context_used() {
    CONTEXT_USED.store(true, Relaxed);
}

/// The context of the current thread or task, if any was ever set.
pub fn current_context(py: Python<'_>) -> Option<Arc<Context>> {
    if !CONTEXT_USED.load(Relaxed) {
        return None;
    }
    let var = CONTEXT_VAR.get(py)?;
    let ctx = var.bind(py).call_method0(crate::intern!(py, "get")).ok()?;
    if ctx.is_none() {
        return None;
    }
    context_of(&ctx)
}

/// The engine context inside a Python `LogContext`.
pub fn context_of(obj: &Bound<'_, PyAny>) -> Option<Arc<Context>> {
    if let Ok(c) = obj.cast::<PyContext>() {
        return Some(Arc::clone(&c.get().inner));
    }
    let core = obj.getattr(crate::intern!(obj.py(), "_core")).ok()?;
    let core = core.cast::<PyContext>().ok()?;
    Some(Arc::clone(&core.get().inner))
}
