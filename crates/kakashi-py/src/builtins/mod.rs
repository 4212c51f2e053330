//! The built-in stages as Python objects: one implementation, the engine's.
//!
//! `thread_enricher`, `level_filter(...)`, `default_json_formatter`,
//! `file_writer(path)` and the others are instances of four native classes
//! ([`BuiltinEnricher`], [`BuiltinFilter`], [`BuiltinFormatter`],
//! [`BuiltinWriter`]), each holding the Rust stage it stands for; their base,
//! [`BuiltinStage`], holds how the stage shows itself to Python (`__name__`,
//! `__qualname__`, `repr`). A pipeline
//! recognises them (`stages::build_pipeline`) and runs that stage on its
//! workers without the interpreter lock; calling one from Python (with the
//! original's signature: an enricher or filter takes a `LogRecord`, a
//! formatter returns a `str`, a writer takes the line) runs the same Rust
//! stage on the caller's thread. So a built-in behaves the same however it is
//! reached: in a pipeline, called by user code, or called from inside a
//! user's own enricher on a worker.
//!
//! Invariants:
//! - `thread_enricher` reports the thread that made the record, never the
//!   thread running the stage: a `LogRecord` that already names its thread
//!   keeps it; inside a Python stage on a worker, the record being processed
//!   supplies it ([`StageThread`]); otherwise it is the calling thread.
//! - `file_writer(path)` opens the file once, in append mode, when it is
//!   made; every use (each pipeline it is in, each direct call) appends
//!   through that one handle with one `write` per batch or line, as the Rust
//!   file writer does; the file is closed when the object and every pipeline
//!   holding it are gone.

use std::borrow::Cow;
use std::cell::RefCell;
use std::sync::{Arc, Mutex, PoisonError};

use crate::once::Once;
use kakashi::pipeline::format::ShapedJsonFormatter;
use kakashi::pipeline::{Batch, Enricher, Filter, Formatter, WriteError, Writer};
use kakashi::{
    console_writer, context_enricher, exception_enricher, field_filter, level_filter,
    logger_name_filter, stderr_writer, thread_enricher, Colors, ConsoleFormatter, ConsoleStream,
    Context, Exception, FormatterKind, JsonProfile, JsonShape, Level, Record, Thread,
};
use pyo3::exceptions::{PyOSError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};
use pyo3::PyClass;

use crate::convert::{self, repr_of, str_of, DefaultHook};
use crate::errors::config_error;

mod formatter;
mod writer;

pub use formatter::BuiltinFormatter;
pub use writer::*;

// === the record's thread while a Python stage runs ===

thread_local! {
    static STAGE_THREAD: RefCell<Option<Thread>> = const { RefCell::new(None) };
}

/// While alive, marks this thread as running a Python stage for a record made
/// by `thread` (set by the workers around each Python enricher, filter and
/// formatter call): a built-in called from inside that stage sees the
/// record's thread, not the worker's. Restores the previous mark on drop, so
/// nested stages (a stage logging through a synchronous pipeline) unwind
/// correctly.
pub struct StageThread(Option<Thread>);

impl StageThread {
    /// Marks the current thread as processing a record made by `thread`.
    pub fn enter(thread: &Thread) -> StageThread {
        StageThread(STAGE_THREAD.with(|t| t.replace(Some(thread.clone()))))
    }
}

impl Drop for StageThread {
    fn drop(&mut self) {
        let previous = self.0.take();
        STAGE_THREAD.with(|t| *t.borrow_mut() = previous);
    }
}

/// The thread that made a record given from Python without one: the record
/// a Python stage on this thread is processing, or else this thread.
fn maker_thread(py: Python<'_>) -> Thread {
    STAGE_THREAD
        .with(|t| t.borrow().clone())
        .unwrap_or_else(|| convert::thread_info(py))
}

/// The engine record for a Python `LogRecord` handed to a built-in. Its
/// thread is the record's own when it names one, else [`maker_thread`]. An
/// exception the engine did not convert (an `ExceptionInfo` a stage was
/// given) is kept by type name and message.
fn engine_record(obj: &Bound<'_, PyAny>) -> PyResult<Record> {
    let py = obj.py();
    let mut r = Record::new(Level::Info, "", "");
    r.thread = maker_thread(py);
    convert::update_record(obj, &mut r)?;
    if r.exception.is_none() {
        let exc = obj.getattr("exception")?;
        if !exc.is_none() {
            let (Ok(type_name), Ok(message)) = (exc.getattr("type_name"), exc.getattr("message"))
            else {
                return Ok(r);
            };
            r.exception = Some(Box::new(Exception {
                type_name: Cow::Owned(str_of(&type_name)),
                message: str_of(&message),
                chain: Vec::new(),
                traceback: None,
                frames: Vec::new(),
            }));
        }
    }
    Ok(r)
}

/// `dataclasses.replace(record, **changes)`.
fn replace<'py>(
    record: &Bound<'py, PyAny>,
    changes: &Bound<'py, PyDict>,
) -> PyResult<Bound<'py, PyAny>> {
    static REPLACE: Once<Py<PyAny>> = Once::new();
    let py = record.py();
    let f = REPLACE.get_or_try_init(py, || -> PyResult<_> {
        Ok(py.import("dataclasses")?.getattr("replace")?.unbind())
    })?;
    f.bind(py).call((record,), Some(changes))
}

// === the base: how a built-in shows itself ===

/// The base of the four built-in stage classes: the original's name
/// (`__name__`) and how the stage was made (`repr`, e.g. `level_filter(INFO)`).
/// `__qualname__` is the name, or for the writers the repr
/// (`file_writer('app.log')`), as in the original.
#[pyclass(module = "kakashi._kakashi", name = "BuiltinStage", subclass, frozen)]
pub struct BuiltinStage {
    name: &'static str,
    repr: String,
    qualname_is_repr: bool,
}

impl BuiltinStage {
    /// A stage named `name`, shown as `repr`.
    fn new(name: &'static str, repr: String) -> BuiltinStage {
        BuiltinStage {
            name,
            repr,
            qualname_is_repr: false,
        }
    }

    /// A new Python object of the built-in class `T` holding `stage`, named
    /// and shown as `self` says.
    fn wrap<T>(self, py: Python<'_>, stage: T) -> PyResult<Py<T>>
    where
        T: PyClass<BaseType = BuiltinStage>,
    {
        Py::new(py, PyClassInitializer::from(self).add_subclass(stage))
    }
}

#[pymethods]
impl BuiltinStage {
    /// The original's name (`__name__`).
    #[getter(__name__)]
    fn name(&self) -> &'static str {
        self.name
    }

    /// The original's `__qualname__`: its name, or for a writer how it was
    /// made (`file_writer('app.log')`).
    #[getter(__qualname__)]
    fn qualname(&self) -> &str {
        if self.qualname_is_repr {
            &self.repr
        } else {
            self.name
        }
    }

    fn __repr__(&self) -> String {
        self.repr.clone()
    }
}

// === enrichers ===

/// Which built-in enricher.
#[derive(Clone)]
enum EnricherKind {
    Thread,
    Exception,
    Context(Arc<Context>),
}

/// A built-in enricher (`thread_enricher`, `exception_enricher`,
/// `context_enricher(base)`): called with a `LogRecord`, returns the
/// enriched copy; in a pipeline, runs in Rust.
#[pyclass(module = "kakashi._kakashi", name = "BuiltinEnricher", extends = BuiltinStage, frozen)]
pub struct BuiltinEnricher {
    kind: EnricherKind,
}

impl BuiltinEnricher {
    /// The engine stage.
    pub fn stage(&self) -> Box<dyn Enricher> {
        match &self.kind {
            EnricherKind::Thread => Box::new(thread_enricher()),
            EnricherKind::Exception => Box::new(exception_enricher()),
            EnricherKind::Context(base) => Box::new(context_enricher((**base).clone())),
        }
    }
}

#[pymethods]
impl BuiltinEnricher {
    /// Runs the engine's enricher on `record` and returns a copy of it with
    /// what the enricher added (thread, traceback or context).
    fn __call__<'py>(&self, record: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let py = record.py();
        let _call = crate::gil::Call::enter(py);
        let mut r = engine_record(record)?;
        self.stage().enrich(&mut r);
        let changes = PyDict::new(py);
        match &self.kind {
            EnricherKind::Thread => {
                changes.set_item("thread_id", r.thread.thread_id)?;
                changes.set_item("thread_name", r.thread.thread_name.as_deref())?;
                changes.set_item("process_id", r.thread.process_id)?;
            }
            EnricherKind::Exception => {
                let tb = r.exception.as_ref().and_then(|e| e.traceback.as_deref());
                match tb {
                    Some(tb) if record.getattr("exception_traceback")?.is_none() => {
                        changes.set_item("exception_traceback", tb)?
                    }
                    _ => return Ok(record.clone()),
                }
            }
            EnricherKind::Context(_) => match &r.context {
                Some(c) => changes.set_item("context", convert::context_to_py(py, c)?)?,
                None => return Ok(record.clone()),
            },
        }
        replace(record, &changes)
    }
}

/// `thread_enricher`: the record's thread id and name and the process id.
pub fn thread_enricher_object(py: Python<'_>) -> PyResult<Py<BuiltinEnricher>> {
    let kind = EnricherKind::Thread;
    BuiltinStage::new("thread_enricher", "thread_enricher".into())
        .wrap(py, BuiltinEnricher { kind })
}

/// `exception_enricher`: the traceback of the record's exception.
pub fn exception_enricher_object(py: Python<'_>) -> PyResult<Py<BuiltinEnricher>> {
    let kind = EnricherKind::Exception;
    BuiltinStage::new("exception_enricher", "exception_enricher".into())
        .wrap(py, BuiltinEnricher { kind })
}

/// An enricher merging `base_context` (a `LogContext`) under each record's
/// own context, whose set values win.
#[pyfunction(name = "context_enricher")]
pub fn py_context_enricher(base_context: &Bound<'_, PyAny>) -> PyResult<Py<BuiltinEnricher>> {
    let base = convert::context_of(base_context).ok_or_else(|| {
        PyTypeError::new_err(format!(
            "context_enricher expects a LogContext, got {}",
            repr_of(base_context)
        ))
    })?;
    let repr = format!("context_enricher({})", repr_of(base_context));
    let kind = EnricherKind::Context(base);
    BuiltinStage::new("context_enricher", repr).wrap(base_context.py(), BuiltinEnricher { kind })
}

// === filters ===

/// The engine filter a [`BuiltinFilter`] holds.
#[derive(Clone)]
enum FilterKind {
    Level(kakashi::pipeline::filter::LevelFilter),
    Field(kakashi::pipeline::filter::FieldFilter),
    LoggerName(kakashi::pipeline::filter::LoggerNameFilter),
}

/// A built-in filter (`level_filter(...)`, `field_filter(...)`,
/// `logger_name_filter(...)`): called with a `LogRecord`, returns whether
/// the engine's filter keeps it; in a pipeline, runs in Rust.
#[pyclass(module = "kakashi._kakashi", name = "BuiltinFilter", extends = BuiltinStage, frozen)]
pub struct BuiltinFilter {
    kind: FilterKind,
}

impl BuiltinFilter {
    /// The engine stage.
    pub fn stage(&self) -> Box<dyn Filter> {
        match &self.kind {
            FilterKind::Level(f) => Box::new(*f),
            FilterKind::Field(f) => Box::new(f.clone()),
            FilterKind::LoggerName(f) => Box::new(f.clone()),
        }
    }
}

#[pymethods]
impl BuiltinFilter {
    /// Whether the engine's filter keeps `record`.
    fn __call__(&self, record: &Bound<'_, PyAny>) -> PyResult<bool> {
        let _call = crate::gil::Call::enter(record.py());
        let r = engine_record(record)?;
        Ok(self.stage().allows(&r))
    }
}

/// Keeps records at `min_level` or above (a `LogLevel`, an int or a name).
#[pyfunction(name = "level_filter")]
pub fn py_level_filter(min_level: &Bound<'_, PyAny>) -> PyResult<Py<BuiltinFilter>> {
    let level = convert::level(min_level)?;
    let repr = format!("level_filter({})", level.name());
    let kind = FilterKind::Level(level_filter(level));
    BuiltinStage::new("level_filter", repr).wrap(min_level.py(), BuiltinFilter { kind })
}

/// Keeps records whose field `field_name` equals `expected_value`, compared
/// as the engine's values (records without the field are dropped).
#[pyfunction(name = "field_filter")]
pub fn py_field_filter(
    field_name: &Bound<'_, PyAny>,
    expected_value: &Bound<'_, PyAny>,
) -> PyResult<Py<BuiltinFilter>> {
    let name = str_of(field_name);
    let repr = format!(
        "field_filter({}, {})",
        repr_of(field_name),
        repr_of(expected_value)
    );
    let kind = FilterKind::Field(field_filter(name, convert::value(expected_value)));
    BuiltinStage::new("field_filter", repr).wrap(field_name.py(), BuiltinFilter { kind })
}

/// Keeps records of the loggers named in `allowed_names`.
#[pyfunction(name = "logger_name_filter")]
pub fn py_logger_name_filter(allowed_names: &Bound<'_, PyAny>) -> PyResult<Py<BuiltinFilter>> {
    let mut names: Vec<String> = allowed_names
        .try_iter()?
        .map(|n| n.map(|n| str_of(&n)))
        .collect::<PyResult<_>>()?;
    names.sort();
    names.dedup();
    let repr = format!("logger_name_filter({names:?})");
    let kind = FilterKind::LoggerName(logger_name_filter(names));
    BuiltinStage::new("logger_name_filter", repr).wrap(allowed_names.py(), BuiltinFilter { kind })
}

/// Adds the classes (the base and the four stage classes), the instances
/// (`thread_enricher`, the formatters, the console and null writers) and the
/// constructors to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_class::<BuiltinStage>()?;
    m.add_class::<BuiltinEnricher>()?;
    m.add_class::<BuiltinFilter>()?;
    m.add_class::<BuiltinFormatter>()?;
    m.add_class::<BuiltinWriter>()?;
    m.add("thread_enricher", thread_enricher_object(py)?)?;
    m.add("exception_enricher", exception_enricher_object(py)?)?;
    for kind in [
        FormatterKind::Json,
        FormatterKind::SimpleText,
        FormatterKind::Compact,
        FormatterKind::Detailed,
        FormatterKind::Console,
    ] {
        m.add(
            BuiltinFormatter::name_of(kind),
            BuiltinFormatter::named(py, kind)?,
        )?;
    }
    m.add("console_writer", console_writer_object(py)?)?;
    m.add("stderr_writer", stderr_writer_object(py)?)?;
    m.add("null_writer", null_writer_object(py)?)?;
    m.add_function(wrap_pyfunction!(py_context_enricher, m)?)?;
    m.add_function(wrap_pyfunction!(py_level_filter, m)?)?;
    m.add_function(wrap_pyfunction!(py_field_filter, m)?)?;
    m.add_function(wrap_pyfunction!(py_logger_name_filter, m)?)?;
    m.add_function(wrap_pyfunction!(py_file_writer, m)?)?;
    Ok(())
}
