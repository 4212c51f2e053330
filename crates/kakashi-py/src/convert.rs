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

use std::borrow::Cow;
use std::sync::Arc;

use kakashi::record::intern;
use kakashi::{Context, Exception, Field, Key, Level, Record, ThreadInfo, Timestamp, Value};
use pyo3::exceptions::PyValueError;
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
            .unwrap_or_else(|_| s.to_string_lossy().into_owned()),
    }
}

/// `str(obj)`, never failing: falls back to `repr`, then to a marker.
pub fn str_of(obj: &Bound<'_, PyAny>) -> String {
    if let Ok(s) = obj.cast::<PyString>() {
        return text(s);
    }
    match obj.str() {
        Ok(s) => text(&s),
        Err(_) => match obj.repr() {
            Ok(r) => text(&r),
            Err(_) => "<unprintable object>".to_owned(),
        },
    }
}

/// A field key: the key's text (see [`remembered`]).
pub fn key(k: &Bound<'_, PyAny>) -> Key {
    match k.cast_exact::<PyString>() {
        Ok(s) => match remembered(s) {
            Some(text) => Cow::Borrowed(text),
            None => Cow::Owned(text(s)),
        },
        Err(_) => Cow::Owned(str_of(k)),
    }
}

/// A string argument's text, borrowed when remembered (see [`remembered`]).
pub fn str_arg(s: &Bound<'_, PyString>) -> Cow<'static, str> {
    match remembered(s) {
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

type Slot = (
    std::sync::atomic::AtomicUsize,
    std::sync::OnceLock<&'static str>,
);

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
pub fn remembered(s: &Bound<'_, PyString>) -> Option<&'static str> {
    use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed};
    let addr = s.as_ptr() as usize;
    let first = slot_of(addr);
    for probe in 0..PROBES {
        let (key, text) = &TABLE[(first + probe) % SLOTS];
        match key.load(Acquire) {
            0 => break,
            k if k == addr => return text.get().copied(),
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
            let interned = intern(&owned);
            // Kept alive on purpose (see above): never decremented.
            std::mem::forget(s.clone().unbind());
            let _ = text.set(interned);
            return Some(interned);
        }
    }
    None
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
            d.iter()
                .map(|(k, v)| (key(&k), value_at(&v, depth + 1)))
                .collect(),
        );
    }
    if let Ok(l) = obj.cast::<PyList>() {
        return Value::List(l.iter().map(|v| value_at(&v, depth + 1)).collect());
    }
    if let Ok(t) = obj.cast::<PyTuple>() {
        return Value::List(t.iter().map(|v| value_at(&v, depth + 1)).collect());
    }
    Value::Str(Cow::Owned(str_of(obj)))
}

/// The fields of a dict, in order.
pub fn fields_of(d: &Bound<'_, PyDict>) -> Vec<Field> {
    d.iter().map(|(k, v)| (key(&k), value(&v))).collect()
}

/// A level from a `LogLevel`, an int or a name.
pub fn level(obj: &Bound<'_, PyAny>) -> PyResult<Level> {
    if let Ok(s) = obj.cast::<PyString>() {
        return text(s)
            .parse::<Level>()
            .map_err(|e| PyValueError::new_err(e.to_string()));
    }
    let v: i64 = obj.extract().map_err(|_| {
        PyValueError::new_err(format!(
            "invalid level {}; expected a LogLevel, 10/20/30/40/50 or a level name",
            repr_of(obj)
        ))
    })?;
    Level::from_value(v).map_err(|e| PyValueError::new_err(e.to_string()))
}

/// `repr(obj)`, never failing.
pub fn repr_of(obj: &Bound<'_, PyAny>) -> String {
    obj.repr()
        .map(|r| text(&r))
        .unwrap_or_else(|_| "<object>".to_owned())
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
    let lines = format.bind(py).call1((exc.get_type(), exc, tb)).ok()?;
    let mut out = String::new();
    for line in lines.try_iter().ok()? {
        out.push_str(&str_of(&line.ok()?));
    }
    Some(out.trim_end_matches('\n').to_owned())
}

/// The calling Python thread: `threading.get_ident()`, its name and the pid,
/// read once per thread (a thread renamed later keeps its first name here).
pub fn thread_info(py: Python<'_>) -> ThreadInfo {
    thread_local! {
        static CURRENT: std::cell::Cell<Option<(u64, ThreadInfo)>> = const { std::cell::Cell::new(None) };
    }
    let generation = kakashi::fork_generation();
    if let Ok(Some((g, t))) = CURRENT.try_with(|c| c.get()) {
        if g == generation {
            return t;
        }
    }
    let info = read_thread_info(py);
    let _ = CURRENT.try_with(|c| c.set(Some((generation, info))));
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
            info.thread_name = Some(intern(&str_of(&name)));
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
    ) -> PyContext {
        let s = |v: Option<&Bound<'_, PyAny>>| v.filter(|v| !v.is_none()).map(str_of);
        PyContext {
            inner: Arc::new(Context {
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
            }),
        }
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

struct RecordTypes {
    record: Py<PyAny>,
    context: Py<PyAny>,
    level: Py<PyAny>,
    exception: Py<PyAny>,
}

fn record_types(py: Python<'_>) -> PyResult<&'static RecordTypes> {
    static TYPES: PyOnceLock<RecordTypes> = PyOnceLock::new();
    TYPES.get_or_try_init(py, || {
        let m = py.import("kakashi.core.records")?;
        Ok(RecordTypes {
            record: m.getattr("LogRecord")?.unbind(),
            context: m.getattr("LogContext")?.unbind(),
            level: m.getattr("LogLevel")?.unbind(),
            exception: m.getattr("ExceptionInfo")?.unbind(),
        })
    })
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
    kw.set_item("logger_name", r.logger)?;
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
        kw.set_item("thread_name", r.thread.thread_name)?;
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
    r.logger = intern(&str_of(&get("logger_name")?));
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
        r.thread.thread_name = (!name.is_none()).then(|| intern(&str_of(&name)));
        r.show |= kakashi::show::THREADING;
    }
    Ok(())
}
