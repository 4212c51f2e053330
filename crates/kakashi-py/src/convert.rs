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

use std::borrow::Cow;
use std::cell::RefCell;
use std::sync::Arc;

use kakashi::{Context, Exception, Field, Key, Level, Name, Record, ThreadInfo, Timestamp, Value};
use pyo3::exceptions::{PyException, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
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
                pyo3::intern!(s.py(), "encode"),
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

// === interrupts ===
//
// A conversion returns a value, never an error, so an interrupt raised by
// Python code it ran (`__str__`, `__repr__`) is kept per thread with the
// site of the call that ran it (the calling frame, at that call), and that
// call raises it: the logging call, through `take_pending_interrupt`. One
// that no call took (a `bind`, which cannot raise) is forgotten by the next
// logging call on the thread, unless the call that kept it is still running
// (a `__str__` that logs, run by that call).

/// Where a call from Python code was made: the calling frame, its code, and
/// its instruction (the call).
#[derive(Clone, Copy, PartialEq, Eq)]
struct Site {
    frame: usize,
    code: usize,
    lasti: isize,
}

fn site_of(frame: &Bound<'_, PyAny>) -> Option<Site> {
    let py = frame.py();
    let code = frame.getattr(pyo3::intern!(py, "f_code")).ok()?;
    let lasti = frame
        .getattr(pyo3::intern!(py, "f_lasti"))
        .ok()?
        .extract()
        .ok()?;
    Some(Site {
        frame: frame.as_ptr() as usize,
        code: code.as_ptr() as usize,
        lasti,
    })
}

/// The innermost Python frame of this thread; None on a thread running no
/// Python code (a worker converting what a Python stage returned).
fn current_frame(py: Python<'_>) -> Option<Bound<'_, PyAny>> {
    static GETFRAME: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    let getframe = GETFRAME
        .get_or_try_init(py, || -> PyResult<_> {
            Ok(py.import("sys")?.getattr("_getframe")?.unbind())
        })
        .ok()?;
    getframe.bind(py).call1((0,)).ok()
}

/// The site of the call running now.
fn call_site(py: Python<'_>) -> Option<Site> {
    site_of(&current_frame(py)?)
}

/// Whether the call made at `site` is still running: its frame is on this
/// thread's stack, at that call (asked from Python code that call ran).
fn still_running(py: Python<'_>, site: &Site) -> bool {
    let mut frame = current_frame(py);
    for _ in 0..1024 {
        let Some(f) = frame else { return false };
        if f.as_ptr() as usize == site.frame && site_of(&f).as_ref() == Some(site) {
            return true;
        }
        frame = f
            .getattr(pyo3::intern!(py, "f_back"))
            .ok()
            .filter(|b| !b.is_none());
    }
    false
}

struct Pending {
    err: PyErr,
    site: Site,
}

thread_local! {
    /// The interrupt raised by Python code a conversion ran, with its call's site.
    static PENDING: RefCell<Option<Pending>> = const { RefCell::new(None) };
}

/// The site of the interrupt kept, if any (one thread-local read).
fn kept_site() -> Option<Site> {
    PENDING
        .try_with(|p| p.try_borrow().ok()?.as_ref().map(|p| p.site))
        .ok()
        .flatten()
}

/// Takes the interrupt kept if it is from the call at `site`. (Nothing is
/// dropped or run while the cell is borrowed: a finalizer may log.)
fn take_kept(site: Site) -> Option<PyErr> {
    PENDING
        .try_with(|p| {
            let mut p = p.try_borrow_mut().ok()?;
            if p.as_ref()?.site == site {
                p.take().map(|pending| pending.err)
            } else {
                None
            }
        })
        .ok()
        .flatten()
}

/// Sorts an error from Python code a conversion ran (`__str__`, `__repr__`):
/// an `Exception` is the data's and is swallowed (false); anything else
/// (`KeyboardInterrupt`, `SystemExit`, ...) is an interrupt (true), kept for
/// the call to raise (the first of the call's, if several).
fn interrupted_by(py: Python<'_>, err: PyErr) -> bool {
    if err.is_instance_of::<PyException>(py) {
        return false;
    }
    // Without a Python caller there is no one to raise it to: dropped.
    let Some(site) = call_site(py) else {
        return true;
    };
    if kept_site() != Some(site) {
        let replaced = PENDING
            .try_with(|p| {
                let mut p = p.try_borrow_mut().ok()?;
                p.replace(Pending { err, site })
            })
            .ok()
            .flatten();
        drop(replaced);
    }
    true
}

/// The interrupt (`KeyboardInterrupt`, `SystemExit`, any `BaseException`
/// that is not an `Exception`) raised by Python code that the current call's
/// conversions ran, if any. A logging call must raise it and log nothing, as
/// the standard library's logging lets such exceptions through. One
/// thread-local read when there is none.
pub(crate) fn take_pending_interrupt(py: Python<'_>) -> Option<PyErr> {
    kept_site()?;
    take_kept(call_site(py)?)
}

/// Forgets the interrupt kept for a call that is over (called by each
/// logging call, see [`thread_info`]), so that it keeps nothing alive.
fn forget_finished_interrupt(py: Python<'_>) {
    let Some(kept) = kept_site() else {
        return;
    };
    if call_site(py) == Some(kept) || still_running(py, &kept) {
        return;
    }
    drop(take_kept(kept));
}

/// A field key, or any name: the object's text (see [`remembered`]).
pub fn key(k: &Bound<'_, PyAny>) -> Key {
    match k.cast_exact::<PyString>() {
        Ok(s) => match remembered(s) {
            Some(name) => name.clone(),
            None => Name::from(text(s)),
        },
        Err(_) => Name::from(str_of(k)),
    }
}

/// A string argument's text, borrowed when remembered (see [`remembered`]).
pub fn str_arg(s: &Bound<'_, PyString>) -> Cow<'static, str> {
    match remembered(s).and_then(Name::as_static) {
        Some(text) => Cow::Borrowed(text),
        None => Cow::Owned(text(s)),
    }
}

/// How many distinct string objects are remembered, over all threads.
pub const REMEMBERED: usize = 4096;
/// Longer strings are never remembered.
pub const REMEMBERED_LEN: usize = 128;
/// Slots of the table (twice [`REMEMBERED`], so probes stay short).
const SLOTS: usize = 2 * REMEMBERED;
/// Probes before giving up on a lookup or an insert.
const PROBES: usize = 8;

type Slot = (std::sync::atomic::AtomicUsize, std::sync::OnceLock<Name>);

static TABLE: [Slot; SLOTS] = [const {
    (
        std::sync::atomic::AtomicUsize::new(0),
        std::sync::OnceLock::new(),
    )
}; SLOTS];
static REMEMBERED_COUNT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

fn slot_of(addr: usize) -> usize {
    ((addr as u64 >> 4).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 51) as usize % SLOTS
}

/// The text of a short string object seen before, by identity.
///
/// Keyword names, messages and values such as `side="buy"` are usually the
/// same objects from call to call (constants of the calling code), so the
/// text of the short strings seen is remembered by object address in a
/// fixed, lock-free table: a repeated one costs a few atomic loads instead
/// of a UTF-8 copy and an allocation, and the record borrows the text. A
/// remembered object is kept alive for the life of the process, so its
/// address cannot be reused by another string; at most [`REMEMBERED`]
/// objects of at most [`REMEMBERED_LEN`] bytes are (strings made per call
/// fill the table once and are then simply copied).
pub fn remembered(s: &Bound<'_, PyString>) -> Option<&'static Name> {
    use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed};
    let addr = s.as_ptr() as usize;
    let first = slot_of(addr);
    for probe in 0..PROBES {
        let (key, text) = &TABLE[(first + probe) % SLOTS];
        match key.load(Acquire) {
            0 => break,
            k if k == addr => return text.get(),
            _ => {}
        }
    }
    if REMEMBERED_COUNT.load(Relaxed) >= REMEMBERED {
        return None;
    }
    let owned = s.to_cow().ok()?;
    if owned.len() > REMEMBERED_LEN {
        return None;
    }
    for probe in 0..PROBES {
        let (key, text) = &TABLE[(first + probe) % SLOTS];
        if key.compare_exchange(0, addr, AcqRel, Acquire).is_ok() {
            if REMEMBERED_COUNT.fetch_add(1, Relaxed) >= REMEMBERED {
                // Over the cap: the slot stays claimed with no text (a miss).
                return None;
            }
            // Kept alive on purpose (see above): never decremented.
            std::mem::forget(s.clone().unbind());
            let _ = text.set(Name::interned(&owned));
            return text.get();
        }
    }
    None
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
        return Value::Str(Cow::Owned(str_of(obj)));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Value::Str(Cow::Owned(text(s)));
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        return Value::F64(f.value());
    }
    if depth >= MAX_DEPTH {
        return Value::Str(Cow::Borrowed("<nested too deeply>"));
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        return Value::Map(
            items(d)
                .map(|(k, v)| (key(&k), value_at(&v, depth + 1)))
                .collect(),
        );
    }
    if let Ok(l) = obj.cast::<PyList>() {
        return Value::List(elements(l).map(|v| value_at(&v, depth + 1)).collect());
    }
    if let Ok(t) = obj.cast::<PyTuple>() {
        return Value::List(t.iter().map(|v| value_at(&v, depth + 1)).collect());
    }
    Value::Str(Cow::Owned(str_of(obj)))
}

/// The fields of a dict, in order.
pub fn fields_of(d: &Bound<'_, PyDict>) -> Vec<Field> {
    items(d).map(|(k, v)| (key(&k), value(&v))).collect()
}

/// A level from a `LogLevel`, an int or a name.
pub fn level(obj: &Bound<'_, PyAny>) -> PyResult<Level> {
    if let Ok(s) = obj.cast::<PyString>() {
        return text(s)
            .parse::<Level>()
            .map_err(|e| PyValueError::new_err(e.to_string()));
    }
    let v: i64 = obj.extract().map_err(|e: PyErr| {
        if !e.is_instance_of::<PyException>(obj.py()) {
            return e; // an interrupt (from `__index__`) is not a bad level
        }
        PyValueError::new_err(format!(
            "invalid level {}; expected a LogLevel, 10/20/30/40/50 or a level name",
            repr_of(obj)
        ))
    })?;
    Level::from_value(v).map_err(|e| PyValueError::new_err(e.to_string()))
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
    }
}

fn format_traceback(py: Python<'_>, exc: &Bound<'_, PyAny>) -> Option<String> {
    static FORMAT: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
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

/// The calling Python thread: `threading.get_ident()`, its name and the pid,
/// read once per thread (a thread renamed later keeps its first name here).
pub fn thread_info(py: Python<'_>) -> ThreadInfo {
    // Called by every logging call (after its message is converted: an
    // interrupt from that is the call's own, kept for the same site).
    forget_finished_interrupt(py);
    thread_local! {
        static CURRENT: std::cell::RefCell<Option<(u64, ThreadInfo)>> = const { std::cell::RefCell::new(None) };
    }
    let generation = kakashi::fork_generation();
    let cached = CURRENT.try_with(|c| match &*c.try_borrow().ok()? {
        Some((g, t)) if *g == generation => Some(t.clone()),
        _ => None,
    });
    if let Ok(Some(t)) = cached {
        return t;
    }
    let info = read_thread_info(py);
    let _ = CURRENT.try_with(|c| {
        if let Ok(mut c) = c.try_borrow_mut() {
            *c = Some((generation, info.clone()));
        }
    });
    info
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

// === the current context (contextvars) ===

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

/// The context of the current thread or task, if any was ever set.
pub fn current_context(py: Python<'_>) -> Option<Arc<Context>> {
    if !crate::CONTEXT_USED.load(std::sync::atomic::Ordering::Relaxed) {
        return None;
    }
    let var = crate::CONTEXT_VAR.get(py)?;
    let ctx = var.bind(py).call_method0(pyo3::intern!(py, "get")).ok()?;
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
    let core = obj.getattr(pyo3::intern!(obj.py(), "_core")).ok()?;
    let core = core.cast::<PyContext>().ok()?;
    Some(Arc::clone(&core.get().inner))
}

// === engine -> Python ===

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
            for item in items {
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

static TYPES: PyOnceLock<RecordTypes> = PyOnceLock::new();

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
    if r.show & kakashi::show::SOURCE != 0 {
        if let Some(s) = r.source {
            kw.set_item("module", s.module)?;
            kw.set_item("line_number", s.line)?;
        }
    }
    if r.show & kakashi::show::THREADING != 0 {
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
    r.message = Cow::Owned(str_of(&get("message")?));
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
        r.thread.thread_id = tid.extract().unwrap_or(r.thread.thread_id);
        let name = get("thread_name")?;
        r.thread.thread_name = (!name.is_none()).then(|| key(&name));
        r.show |= kakashi::show::THREADING;
    }
    Ok(())
}
