//! `Logger`: the object every factory returns. A call checks the level (one
//! relaxed load), copies the message and fields into an engine record on the
//! caller's thread, and enqueues it. It waits only under `block` with a full
//! queue, and then without holding the interpreter lock.

use std::sync::Arc;

use kakashi::{Context, Level, Record, Text};
use pyo3::exceptions::{PyBaseException, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyCFunction, PyDict, PyString, PyTuple};

use crate::convert::{self, context_of, str_of, DefaultHook, DefaultScope};

/// A named logger feeding one pipeline. `info("msg", **fields)` and the other
/// level methods never raise because of a writer, enricher, filter or
/// callback; failures are counted in `get_async_stats()`.
#[pyclass(module = "kakashi._kakashi", name = "Logger", frozen)]
pub struct PyLogger {
    pub(crate) inner: crate::handle::Held<kakashi::Logger>,
    /// Its pipeline formatter's `default=` hook (usually none).
    pub(crate) default_hook: Option<Arc<DefaultHook>>,
}

impl PyLogger {
    pub(crate) fn new(inner: kakashi::Logger) -> PyLogger {
        PyLogger::with_default(inner, None)
    }

    /// A logger whose calls copy values through `default_hook`.
    pub(crate) fn with_default(
        inner: kakashi::Logger,
        default_hook: Option<Arc<DefaultHook>>,
    ) -> PyLogger {
        PyLogger {
            inner: crate::handle::Held::new(inner),
            default_hook,
        }
    }

    fn derive(&self, inner: kakashi::Logger) -> PyLogger {
        PyLogger::with_default(inner, self.default_hook.clone())
    }
}

/// A logging call: copies the message and the keyword arguments `kwargs`
/// (name, value) into a record and submits it. It raises only what the
/// caller's own objects or signals raise (`KeyboardInterrupt`); an internal
/// failure is reported once on stderr, never raised into the caller.
pub(crate) fn emit<'py>(
    logger: &kakashi::Logger,
    py: Python<'py>,
    level: Level,
    message: &Bound<'py, PyAny>,
    kwargs: impl Iterator<Item = (Bound<'py, PyAny>, Bound<'py, PyAny>)>,
    active_exception: bool,
) -> PyResult<()> {
    let call = std::panic::AssertUnwindSafe(|| {
        emit_inner(logger, py, level, message, kwargs, active_exception)
    });
    std::panic::catch_unwind(call).unwrap_or_else(|panic| {
        crate::errors::report_lost_record(&*panic);
        Ok(())
    })
}

fn emit_inner<'py>(
    logger: &kakashi::Logger,
    py: Python<'py>,
    level: Level,
    message: &Bound<'py, PyAny>,
    kwargs: impl Iterator<Item = (Bound<'py, PyAny>, Bound<'py, PyAny>)>,
    active_exception: bool,
) -> PyResult<()> {
    // A disabled level, or `drop_newest` with the queue full (the drop is
    // counted): nothing is converted.
    if !logger.enabled(level) || kakashi::binding::drop_if_known_full(logger) {
        return Ok(());
    }
    let message = match message.cast_exact::<PyString>() {
        Ok(s) => convert::str_arg(s),
        Err(_) => Text::from(str_of(message)),
    };
    // Built in place: a record is a few hundred bytes (fields inline),
    // and every move of it is a copy.
    let mut record = Record::new(level, logger.name(), message);
    record.thread = convert::thread_info(py);
    let bound = logger.bound_fields();
    let fields = &mut record.fields;
    fields.extend(bound.iter().cloned());
    let mut exception = None;
    for (k, v) in kwargs {
        let key = convert::key(&k);
        // The original's log(level, message, *, fields=None, exception=None, **kwargs).
        if key == "exception" && v.is_instance_of::<PyBaseException>() {
            exception = Some(convert::exception(py, &v));
            continue;
        }
        if key == "fields" {
            if let Ok(d) = v.cast::<PyDict>() {
                for (k2, v2) in convert::items(d) {
                    kakashi::binding::put_field(fields, convert::key(&k2), convert::value(&v2));
                }
                continue;
            }
        }
        let value = convert::value(&v);
        if bound.is_empty() {
            fields.push((key, value));
        } else {
            kakashi::binding::put_field(fields, key, value);
        }
    }
    if exception.is_none() && active_exception {
        let exc = py.import("sys")?.call_method0("exc_info")?.get_item(1)?;
        if !exc.is_none() {
            exception = Some(convert::exception(py, &exc));
        }
    }
    record.context = convert::call_context(py, logger);
    // The current OpenTelemetry span's ids, after the call's own fields (a
    // field of the same name the call set is kept), as the Rust crate's
    // trace-context hook adds them.
    convert::add_trace_ids(py, &mut record.fields);
    record.exception = exception.map(Box::new);
    // A KeyboardInterrupt or SystemExit raised by a value's `__str__` while
    // it was copied belongs to the caller, as with the standard library.
    if let Some(err) = convert::take_pending_interrupt(py) {
        return Err(err);
    }
    submit(py, logger, record)
}

/// Submits `record` from a thread that holds the interpreter lock.
///
/// Every wait the engine makes for this call (for room under `block`, for
/// writing on this thread after shutdown or without a queue) runs with the
/// lock released: a worker may need it to finish the batch that makes room.
/// Between waits, pending signals are handled: one that raises (Ctrl-C)
/// ends the wait, the record is counted as dropped (`interrupted`) and the
/// exception propagates. Once the interpreter is exiting
/// ([`PYTHON_GONE`](crate::stages::PYTHON_GONE)) the lock is kept: no
/// worker needs it any more, and taking it back could meet finalisation.
///
/// Signal handlers run only in the outermost wait of a thread: a handler
/// that logs while this thread waits would otherwise run the next handler
/// from inside its own wait, and so on without bound (a crash when signals
/// keep coming).
pub(crate) fn submit(py: Python<'_>, logger: &kakashi::Logger, record: Record) -> PyResult<()> {
    thread_local! {
        static CHECKING_SIGNALS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }
    let mut raised = None;
    let mut began = None;
    let mut gave_up = false;
    logger.submit_with(record, &mut |wait| {
        if crate::stages::PYTHON_GONE.load(std::sync::atomic::Ordering::Relaxed) {
            wait();
            return true;
        }
        let began = *began.get_or_insert_with(std::time::Instant::now);
        // Before the wait too: once a writer is known stuck at exit, not
        // even one more slice of waiting.
        if crate::lifecycle::exit_wait_over(began) {
            gave_up = true;
            return false;
        }
        crate::gil::detach(py, &mut *wait);
        if crate::lifecycle::exit_wait_over(began) {
            // The interpreter is exiting and this wait has had its time.
            gave_up = true;
            return false;
        }
        if CHECKING_SIGNALS.with(|c| c.replace(true)) {
            // Inside a handler run by an outer wait's check.
            return true;
        }
        let checked = py.check_signals();
        CHECKING_SIGNALS.with(|c| c.set(false));
        match checked {
            Ok(()) => true,
            Err(e) => {
                raised = Some(e);
                false
            }
        }
    });
    if began.is_some() && !gave_up && raised.is_none() {
        // Room came after a wait: the writers are moving.
        crate::lifecycle::note_room();
    }
    match raised {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Level methods by name, bound to one logger.
pub(crate) type LevelFunctions<'py> = Vec<(&'static str, Bound<'py, PyCFunction>)>;

/// The level methods: `(name, level, attaches the exception being handled)`.
pub(crate) const LEVEL_METHODS: [(&std::ffi::CStr, Level, bool); 8] = [
    (c"debug", Level::Debug, false),
    (c"info", Level::Info, false),
    (c"warning", Level::Warning, false),
    (c"warn", Level::Warning, false),
    (c"error", Level::Error, false),
    (c"critical", Level::Critical, false),
    (c"fatal", Level::Critical, false),
    (c"exception", Level::Error, true),
];

/// The level methods as functions bound to one logger: `(name, function)`,
/// for interpreters before 3.10 (see `fastcall.rs` for 3.10 and later).
///
/// A `#[pymethods]` method with `**fields` makes PyO3 check every keyword's
/// name against the signature and copy the keywords into a new dict (on the
/// stable ABI below 3.10 each name is also encoded to a bytes object); these
/// functions take the interpreter's own keyword dict as it is, which saves
/// about a third of a call with five fields. The Python `Logger` puts them
/// in its slots, so `logger.info(...)` reaches them directly.
pub fn level_functions<'py>(
    py: Python<'py>,
    logger: &kakashi::Logger,
    default_hook: Option<&Arc<DefaultHook>>,
) -> PyResult<LevelFunctions<'py>> {
    LEVEL_METHODS
        .iter()
        .map(|&(cname, level, active_exception)| {
            let name = cname.to_str().unwrap_or("log");
            let logger = logger.clone();
            let default_hook = default_hook.cloned();
            let f = PyCFunction::new_closure(
                py,
                Some(cname),
                Some(c"Logs `message` with `**fields` at this level."),
                move |args: &Bound<'_, PyTuple>,
                      kwargs: Option<&Bound<'_, PyDict>>|
                      -> PyResult<()> {
                    if args.len() != 1 {
                        return Err(PyTypeError::new_err(format!(
                            "{name}() takes the message as its only positional argument ({} given)",
                            args.len()
                        )));
                    }
                    let _call = crate::gil::Call::enter(args.py());
                    let message = args.get_item(0)?;
                    let _hook = DefaultScope::enter(default_hook.as_ref());
                    emit(
                        &logger,
                        args.py(),
                        level,
                        &message,
                        kwargs.into_iter().flat_map(|d| d.iter()),
                        active_exception,
                    )
                },
            )?;
            Ok((name, f))
        })
        .collect()
}

#[pymethods]
impl PyLogger {
    /// The level methods as functions bound to this logger (for the
    /// Python `Logger`'s slots).
    fn _level_functions<'py>(slf: &Bound<'py, Self>) -> PyResult<LevelFunctions<'py>> {
        match crate::fastcall::level_functions(slf)? {
            Some(functions) => Ok(functions),
            None => level_functions(slf.py(), &slf.get().inner, slf.get().default_hook.as_ref()),
        }
    }

    /// The logger's name.
    #[getter]
    fn name(&self) -> &str {
        self.inner.name()
    }

    /// The pipeline's minimum level (an int; compare with `LogLevel`).
    #[getter]
    fn min_level(&self) -> u8 {
        self.inner.min_level().value()
    }

    /// Whether a record at `level` would be kept.
    fn is_enabled_for(&self, level: &Bound<'_, PyAny>) -> PyResult<bool> {
        let _call = crate::gil::Call::enter(level.py());
        Ok(self.inner.enabled(convert::level(level)?))
    }

    /// Logs at `level` (a `LogLevel`, an int or a name; anything else raises
    /// `ValueError`). `fields` and `**kwargs` are merged (kwargs win);
    /// `exception` attaches an exception.
    #[pyo3(signature = (level, message, *, fields=None, exception=None, **kwargs))]
    fn log(
        &self,
        py: Python<'_>,
        level: &Bound<'_, PyAny>,
        message: &Bound<'_, PyAny>,
        fields: Option<&Bound<'_, PyDict>>,
        exception: Option<&Bound<'_, PyAny>>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<()> {
        let _call = crate::gil::Call::enter(py);
        let level = convert::level(level)?;
        let all = PyDict::new(py);
        if let Some(f) = fields {
            all.set_item("fields", f)?;
        }
        if let Some(k) = kwargs {
            all.update(k.as_mapping())?;
        }
        if let Some(e) = exception.filter(|e| !e.is_none()) {
            all.set_item("exception", e)?;
        }
        let _hook = DefaultScope::enter(self.default_hook.as_ref());
        emit(&self.inner, py, level, message, all.iter(), false)
    }

    /// Logs a `logging.LogRecord` (`kakashi.stdlib.KakashiHandler`'s
    /// call; see `stdlib/`). `skip`: the attribute names that are not
    /// `extra` fields; `order`: a fresh `LogRecord`'s, in `__dict__` order.
    /// With `follow_global`, returns False without logging once this
    /// logger's backend has stopped (the handler then takes the current
    /// default logger); otherwise True.
    #[pyo3(signature = (record, skip, order, follow_global=false))]
    fn _emit_stdlib(
        &self,
        record: &Bound<'_, PyAny>,
        skip: &Bound<'_, pyo3::types::PyFrozenSet>,
        order: &Bound<'_, PyTuple>,
        follow_global: bool,
    ) -> PyResult<bool> {
        let _call = crate::gil::Call::enter(record.py());
        // `extra` values JSON cannot carry go through the formatter's
        // `default=`, as a level method's fields do.
        let _hook = DefaultScope::enter(self.default_hook.as_ref());
        crate::stdlib::emit(&self.inner, record, skip, order, follow_global)
    }

    /// `logging.Logger._log(level, msg, args, extra=extra)` logged without
    /// a `LogRecord` (`kakashi.stdlib`'s fast path; see `stdlib/`).
    /// Returns True once logged; False, having done nothing, when the call
    /// must take the usual path instead; the exception `msg % args` raised,
    /// having logged nothing, for the caller to report once. On 3.10+
    /// `kakashi.stdlib` calls it through the vectorcall function
    /// `fastcall.rs` makes of it.
    #[pyo3(signature = (name, levelno, msg, args, extra, follow_global=false))]
    pub(crate) fn _log_stdlib(
        &self,
        name: &Bound<'_, PyAny>,
        levelno: &Bound<'_, PyAny>,
        msg: &Bound<'_, PyAny>,
        args: &Bound<'_, PyAny>,
        extra: Option<&Bound<'_, PyDict>>,
        follow_global: bool,
    ) -> PyResult<Py<PyAny>> {
        let py = name.py();
        let _call = crate::gil::Call::enter(py);
        let _hook = DefaultScope::enter(self.default_hook.as_ref());
        let levelno = crate::stdlib::level_number(levelno)?;
        Ok(
            match crate::stdlib::log_call(
                &self.inner,
                name,
                levelno,
                msg,
                args,
                extra,
                follow_global,
            )? {
                crate::stdlib::Fast::Done => true.into_pyobject(py)?.to_owned().into_any().unbind(),
                crate::stdlib::Fast::Declined => {
                    false.into_pyobject(py)?.to_owned().into_any().unbind()
                }
                crate::stdlib::Fast::FormatFailed(e) => e.into_value(py).into_any(),
            },
        )
    }

    /// A logger like this one with `fields` added to every record.
    #[pyo3(signature = (**fields))]
    fn bind(&self, py: Python<'_>, fields: Option<&Bound<'_, PyDict>>) -> PyLogger {
        let _call = crate::gil::Call::enter(py);
        let fields = fields.map(convert::fields_of).unwrap_or_default();
        self.derive(self.inner.with_fields(fields))
    }

    /// A logger like this one whose records carry `context` (a `LogContext`),
    /// merged over the current request context (the bound one wins).
    fn with_context(&self, context: &Bound<'_, PyAny>) -> PyResult<PyLogger> {
        let _call = crate::gil::Call::enter(context.py());
        let ctx: Arc<Context> = context_of(context).ok_or_else(|| {
            pyo3::exceptions::PyTypeError::new_err("with_context expects a LogContext")
        })?;
        Ok(self.derive(self.inner.with_context((*ctx).clone())))
    }

    /// Waits until everything logged before the call is written and flushed;
    /// returns False if that took longer than `timeout` seconds (default: the
    /// backend's `shutdown_timeout`).
    #[pyo3(signature = (timeout=None))]
    fn flush(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<bool> {
        crate::handle::flush_detached(py, self.inner.backend(), timeout)
    }

    fn __repr__(&self) -> String {
        format!(
            "<kakashi Logger {:?} level={}>",
            self.inner.name(),
            self.inner.min_level()
        )
    }
}

impl std::fmt::Debug for PyLogger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.inner.fmt(f)
    }
}
