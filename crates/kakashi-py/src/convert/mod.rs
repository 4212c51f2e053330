//! Python values to engine values and back: what a logging call copies on the
//! caller's thread, and how a record looks to a Python enricher, filter or
//! formatter.
//!
//! A call copies; it never formats. Strings are copied as UTF-8 (lone
//! surrogates are written as their `\\udXXX` escape, so the output stays
//! valid UTF-8); `bool`, `int`,
//! `float` and `None` keep their JSON types; `dict`, `list` and `tuple` are
//! copied recursively down to [`MAX_DEPTH`]; anything else is `str(value)`, as
//! the original's `json.dumps(default=str)`.
//!
//! A call never raises because of the data: a container is copied from a
//! snapshot of its items ([`items`]), so a `__str__` (or another thread, while
//! `__str__` runs) changing it changes nothing; an `Exception` from `__str__`
//! or `__repr__` falls back to a marker string. `KeyboardInterrupt`,
//! `SystemExit` and other `BaseException`s that are not `Exception`s are kept
//! for the logging call to raise ([`take_pending_interrupt`]).

mod caller;
mod interrupts;
mod remembered;
mod to_python;
mod trace;

pub use caller::*;
pub(crate) use interrupts::*;
pub use remembered::*;
pub use to_python::*;
pub use trace::add_trace_ids;

use std::borrow::Cow;
use std::sync::Arc;

use crate::errors::config_error;
use crate::once::Once;
use kakashi::{Exception, Field, Frame, Level, Text, Value};
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};

/// Nesting below this depth is replaced by a marker string.
pub const MAX_DEPTH: u32 = 64;

// === Python -> engine ===

/// The text of a Python string. A lone surrogate, which UTF-8 cannot
/// carry, is written as its escape (`\\ud800`), as `backslashreplace` does.
pub fn text(s: &Bound<'_, PyString>) -> String {
    match s.to_cow() {
        Ok(c) => c.into_owned(),
        Err(_) => s
            .call_method1(
                crate::intern!(s.py(), "encode"),
                ("utf-8", "backslashreplace"),
            )
            .and_then(|b| b.extract::<Vec<u8>>())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_else(|e| {
                interrupted_by(s.py(), e);
                s.to_string_lossy().into_owned()
            }),
    }
}

/// What an object that cannot be printed is logged as.
const UNPRINTABLE: &str = "<unprintable object>";

/// `str(obj)`, never failing: falls back to `repr`, then to a marker (at once
/// if `str` raised an interrupt, see [`take_pending_interrupt`]).
pub fn str_of(obj: &Bound<'_, PyAny>) -> String {
    if let Ok(s) = obj.cast::<PyString>() {
        return text(s);
    }
    let py = obj.py();
    let err = match obj.str() {
        Ok(s) => return text(&s),
        Err(e) => e,
    };
    if interrupted_by(py, err) {
        return UNPRINTABLE.to_owned();
    }
    match obj.repr() {
        Ok(r) => text(&r),
        Err(e) => {
            interrupted_by(py, e);
            UNPRINTABLE.to_owned()
        }
    }
}

// === snapshots ===

/// Whether converting `obj` runs no Python code: nothing can change a
/// container while such an item is copied.
fn runs_no_code(obj: &Bound<'_, PyAny>) -> bool {
    obj.is_exact_instance_of::<PyString>()
        || obj.is_none()
        || obj.is_exact_instance_of::<PyInt>()
        || obj.is_exact_instance_of::<PyFloat>()
        || obj.is_exact_instance_of::<PyBool>()
}

fn pair_runs_no_code((k, v): &(Bound<'_, PyAny>, Bound<'_, PyAny>)) -> bool {
    k.is_exact_instance_of::<PyString>() && runs_no_code(v)
}

/// The items of a container as they were: read in place while converting
/// them runs no Python code; the first one whose conversion may (a `__str__`,
/// a nested container) comes with the items left copied out, before it is
/// converted. So a `__str__` that changes the container, or another thread
/// changing it meanwhile, changes nothing of what is logged (and a dict
/// iterator never sees its dict change size, which would panic).
pub struct Snapshot<I: Iterator> {
    live: Option<I>,
    rest: std::vec::IntoIter<I::Item>,
    runs_no_code: fn(&I::Item) -> bool,
}

impl<I: Iterator> Snapshot<I> {
    fn new(live: I, runs_no_code: fn(&I::Item) -> bool) -> Snapshot<I> {
        Snapshot {
            live: Some(live),
            rest: Vec::new().into_iter(),
            runs_no_code,
        }
    }
}

impl<I: Iterator> Iterator for Snapshot<I> {
    type Item = I::Item;

    fn next(&mut self) -> Option<I::Item> {
        let Some(live) = self.live.as_mut() else {
            return self.rest.next();
        };
        let item = live.next();
        match &item {
            None => self.live = None,
            Some(it) if !(self.runs_no_code)(it) => {
                if let Some(live) = self.live.take() {
                    self.rest = live.collect::<Vec<_>>().into_iter();
                }
            }
            Some(_) => {}
        }
        item
    }
}

/// The (key, value) items of a dict, as they were (see [`Snapshot`]): what
/// a caller iterating a dict it converts must use instead of `iter()`.
pub fn items<'py>(d: &Bound<'py, PyDict>) -> Snapshot<pyo3::types::iter::BoundDictIterator<'py>> {
    Snapshot::new(d.iter(), pair_runs_no_code)
}

/// The elements of a list, as they were (see [`Snapshot`]).
fn elements<'py>(l: &Bound<'py, PyList>) -> Snapshot<pyo3::types::iter::BoundListIterator<'py>> {
    Snapshot::new(l.iter(), runs_no_code)
}

/// Copies a Python value into an engine value.
pub fn value(obj: &Bound<'_, PyAny>) -> Value {
    value_at(obj, 0)
}

fn value_at(obj: &Bound<'_, PyAny>, depth: u32) -> Value {
    if let Ok(s) = obj.cast_exact::<PyString>() {
        return Value::Str(str_arg(s));
    }
    if obj.is_none() {
        return Value::Null;
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Value::Bool(b.is_true());
    }
    if let Ok(f) = obj.cast_exact::<PyFloat>() {
        return Value::F64(f.value());
    }
    if let Ok(i) = obj.cast::<PyInt>() {
        if let Ok(v) = i.extract::<i64>() {
            return Value::I64(v);
        }
        if let Ok(v) = i.extract::<u64>() {
            return Value::U64(v);
        }
        // Wider than 64 bits: its decimal digits.
        return Value::Str(Text::from(str_of(obj)));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Value::Str(Text::from(text(s)));
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        return Value::F64(f.value());
    }
    if depth >= MAX_DEPTH {
        return Value::Str(Text::from_static("<nested too deeply>"));
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        return Value::map(items(d).map(|(k, v)| (key(&k), value_at(&v, depth + 1))));
    }
    if let Ok(l) = obj.cast::<PyList>() {
        return Value::list(elements(l).map(|v| value_at(&v, depth + 1)));
    }
    if let Ok(t) = obj.cast::<PyTuple>() {
        return Value::list(t.iter().map(|v| value_at(&v, depth + 1)));
    }
    if let Some(hook) = DefaultScope::current() {
        return hook.convert(obj, depth);
    }
    Value::Str(Text::from(str_of(obj)))
}

// === the `default=` hook of a JSON formatter ===

/// The `default=` callable of `default_json_formatter(default=...)`: what a
/// value JSON cannot carry becomes. Called on the logging call's thread,
/// with the object, while its value is copied (the only moment the object
/// exists: records hold copies). It never raises into the caller: if it
/// raises, or returns something that is itself not JSON (not `str`, `int`,
/// `float`, `bool`, `None`, `dict`, `list`, `tuple`), the value is
/// `repr(obj)` and [`fallbacks`](DefaultHook::fallbacks) counts it.
pub struct DefaultHook {
    callable: Py<PyAny>,
    fallbacks: std::sync::atomic::AtomicU64,
}

impl DefaultHook {
    /// A hook calling `callable`.
    pub fn new(callable: Py<PyAny>) -> DefaultHook {
        DefaultHook {
            callable,
            fallbacks: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Lets the garbage collector see the callable (a hook that refers back
    /// to its formatter is a cycle the collector can then break).
    pub fn traverse(&self, visit: &pyo3::PyVisit<'_>) -> Result<(), pyo3::PyTraverseError> {
        visit.call(&self.callable)
    }

    /// Values written as `repr()` because the hook raised or returned
    /// something unencodable.
    pub fn fallbacks(&self) -> u64 {
        self.fallbacks.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn convert(&self, obj: &Bound<'_, PyAny>, depth: u32) -> Value {
        let py = obj.py();
        let encodable = |v: &Bound<'_, PyAny>| {
            v.is_none()
                || v.is_instance_of::<PyString>()
                || v.is_instance_of::<PyInt>()
                || v.is_instance_of::<PyFloat>()
                || v.is_instance_of::<PyDict>()
                || v.is_instance_of::<PyList>()
                || v.is_instance_of::<PyTuple>()
        };
        match self.callable.bind(py).call1((obj,)) {
            Ok(made) if encodable(&made) => return value_at(&made, depth + 1),
            Ok(_) => {}
            Err(e) => {
                interrupted_by(py, e);
            }
        }
        self.fallbacks
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Value::Str(Text::from(repr_of(obj)))
    }
}

thread_local! {
    static DEFAULT_HOOK: std::cell::RefCell<Option<Arc<DefaultHook>>> =
        const { std::cell::RefCell::new(None) };
}

/// While alive, values copied on this thread go through a `default=` hook
/// (set by a logger whose pipeline's formatter has one, around its call).
/// Restores the previous hook on drop, so a hook that logs nests correctly.
pub struct DefaultScope(Option<Arc<DefaultHook>>);

impl DefaultScope {
    /// Enters `hook`'s scope; `None` (no hook, the usual case) does nothing.
    pub fn enter(hook: Option<&Arc<DefaultHook>>) -> Option<DefaultScope> {
        let hook = hook?;
        DEFAULT_HOOK
            .try_with(|h| h.replace(Some(Arc::clone(hook))))
            .ok()
            .map(DefaultScope)
    }

    fn current() -> Option<Arc<DefaultHook>> {
        DEFAULT_HOOK
            .try_with(|h| h.try_borrow().ok().and_then(|h| h.clone()))
            .ok()
            .flatten()
    }
}

impl Drop for DefaultScope {
    fn drop(&mut self) {
        let previous = self.0.take();
        let _ = DEFAULT_HOOK.try_with(|h| {
            if let Ok(mut h) = h.try_borrow_mut() {
                *h = previous;
            }
        });
    }
}

/// The fields of a dict, in order.
pub fn fields_of(d: &Bound<'_, PyDict>) -> Vec<Field> {
    items(d).map(|(k, v)| (key(&k), value(&v))).collect()
}

/// A level from a `LogLevel`, an int or a name; anything else is the
/// core's `ConfigError::InvalidLevel` (`kakashi.ConfigError`, a
/// `ValueError`), with the core's message.
pub fn level(obj: &Bound<'_, PyAny>) -> PyResult<Level> {
    if let Ok(s) = obj.cast::<PyString>() {
        return text(s).parse::<Level>().map_err(config_error);
    }
    let v: i64 = obj.extract().map_err(|e: PyErr| {
        if !e.is_instance_of::<PyException>(obj.py()) {
            return e; // an interrupt (from `__index__`) is not a bad level
        }
        config_error(kakashi::ConfigError::InvalidLevel(repr_of(obj)))
    })?;
    Level::from_value(v).map_err(config_error)
}

/// `repr(obj)`, never failing.
pub fn repr_of(obj: &Bound<'_, PyAny>) -> String {
    obj.repr().map(|r| text(&r)).unwrap_or_else(|e| {
        interrupted_by(obj.py(), e);
        "<object>".to_owned()
    })
}

/// An exception object as the engine records it: type name, message, the
/// `__cause__`/`__context__` chain, and the formatted traceback.
pub fn exception(py: Python<'_>, exc: &Bound<'_, PyAny>) -> Exception {
    let type_name = exc
        .get_type()
        .name()
        .map(|n| str_of(n.as_any()))
        .unwrap_or_else(|_| "Exception".to_owned());
    let message = str_of(exc);
    let mut chain = Vec::new();
    let mut cur = exc.clone();
    for _ in 0..16 {
        let next = match cur.getattr("__cause__") {
            Ok(c) if !c.is_none() => c,
            _ => match cur.getattr("__context__") {
                Ok(c) if !c.is_none() => c,
                _ => break,
            },
        };
        chain.push(str_of(&next));
        cur = next;
    }
    let traceback = format_traceback(py, exc);
    Exception {
        type_name: Cow::Owned(type_name),
        message,
        chain,
        traceback,
        frames: frames(exc),
    }
}

/// The frames of `exc.__traceback__`, outermost first, at most
/// [`MAX_FRAMES`](kakashi::record::MAX_FRAMES) (the innermost ones): file,
/// line and function of each, read from the code objects; never the
/// frame's locals (`f_locals` is not touched, so nothing a local holds can
/// reach the log, loguru#954).
fn frames(exc: &Bound<'_, PyAny>) -> Vec<Frame> {
    let py = exc.py();
    let mut kept = std::collections::VecDeque::with_capacity(16);
    let Ok(mut tb) = exc.getattr(crate::intern!(py, "__traceback__")) else {
        return Vec::new();
    };
    // A traceback is a finite chain; the cap only bounds the walk's time.
    for _ in 0..100_000 {
        if tb.is_none() {
            break;
        }
        let frame = (|| -> PyResult<Frame> {
            let code = tb
                .getattr(crate::intern!(py, "tb_frame"))?
                .getattr(crate::intern!(py, "f_code"))?;
            let line = tb
                .getattr(crate::intern!(py, "tb_lineno"))?
                .extract::<u32>()
                .unwrap_or(0);
            Ok(Frame {
                file: str_of(&code.getattr(crate::intern!(py, "co_filename"))?),
                line,
                function: str_of(&code.getattr(crate::intern!(py, "co_name"))?),
            })
        })();
        match frame {
            Ok(f) => {
                if kept.len() == kakashi::record::MAX_FRAMES {
                    kept.pop_front();
                }
                kept.push_back(f);
            }
            Err(e) => {
                interrupted_by(py, e);
                break;
            }
        }
        tb = match tb.getattr(crate::intern!(py, "tb_next")) {
            Ok(next) => next,
            Err(e) => {
                interrupted_by(py, e);
                break;
            }
        };
    }
    kept.into()
}

fn format_traceback(py: Python<'_>, exc: &Bound<'_, PyAny>) -> Option<String> {
    static FORMAT: Once<Py<PyAny>> = Once::new();
    let format = FORMAT
        .get_or_try_init(py, || -> PyResult<_> {
            Ok(py
                .import("traceback")?
                .getattr("format_exception")?
                .unbind())
        })
        .ok()?;
    let tb = exc.getattr("__traceback__").ok()?;
    // Formatting calls `str(exc)` again (an interrupt from it is kept).
    let lines = match format.bind(py).call1((exc.get_type(), exc, tb)) {
        Ok(lines) => lines,
        Err(e) => {
            interrupted_by(py, e);
            return None;
        }
    };
    let mut out = String::new();
    for line in lines.try_iter().ok()? {
        out.push_str(&str_of(&line.ok()?));
    }
    Some(out.trim_end_matches('\n').to_owned())
}

/// A call's context: the request context current on the calling thread or
/// task, merged with what `logger` has bound (the bound one wins).
pub fn call_context(py: Python<'_>, logger: &kakashi::Logger) -> Option<Arc<kakashi::Context>> {
    match (current_context(py), logger.bound_context()) {
        (None, None) => None,
        (Some(c), None) => Some(c),
        (None, Some(b)) => Some(Arc::clone(b)),
        (Some(c), Some(b)) => Some(Arc::new(c.merge(b))),
    }
}
