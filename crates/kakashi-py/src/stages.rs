//! Pipeline stages from Python: the built-ins (native objects, see
//! `builtins/`, recognised here and run in Rust without the interpreter
//! lock) and any Python callable (run on a worker, holding the lock only
//! while it runs).
//!
//! A Python stage that raises never reaches the logging call. The error is
//! printed once on stderr with its traceback and counted in the stats
//! (`enricher_errors`, `filter_errors`, `formatter_errors`, or the writer's
//! `failed` after its retries), as the engine counts a panicking Rust stage.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use kakashi::pipeline::{Batch, Enricher, Filter, Formatter, WriteError, Writer};
use kakashi::{ConsoleStream, Level, PipelineConfig, Record, StageScope};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyString;

use crate::builtins::{
    BuiltinEnricher, BuiltinFilter, BuiltinFormatter, BuiltinWriter, StageThread,
};
use crate::convert::{self, record_to_py, repr_of, str_of, DefaultHook};
use crate::gil::Section;

/// Set by the interpreter's exit hook: from then on Python stages are not run
/// (the interpreter may be gone), and their records count as failed.
pub static PYTHON_GONE: AtomicBool = AtomicBool::new(false);

/// Prints a Python stage's error once per stage kind, with its traceback.
fn report(flag: &AtomicBool, what: &str, py: Python<'_>, err: &PyErr) {
    if !flag.swap(true, Relaxed) {
        eprintln!("kakashi: a Python {what} raised; it is counted in get_async_stats() and reported only once:");
        err.print(py);
    }
}

/// A Python callable held by the engine. At interpreter exit, once every
/// backend is drained, [`release_all`] lets go of them all, so that what they
/// hold (an open file, a socket) is finalised by Python as usual.
#[derive(Clone)]
pub struct Callable(Arc<Slot>);

/// Where a [`Callable`] keeps its object (empty once released).
type Slot = Mutex<Option<Py<PyAny>>>;

static HELD: Mutex<Vec<Weak<Slot>>> = Mutex::new(Vec::new());

impl Callable {
    /// Holds `f` until it is dropped or [`release_all`] runs.
    pub fn new(f: Py<PyAny>) -> Callable {
        let slot = Arc::new(Mutex::new(Some(f)));
        let mut held = HELD.lock().unwrap_or_else(|e| e.into_inner());
        held.retain(|w| w.strong_count() > 0);
        held.push(Arc::downgrade(&slot));
        Callable(slot)
    }

    /// The callable, unless released.
    fn get<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyAny>> {
        let slot = self.0.lock().unwrap_or_else(|e| e.into_inner());
        slot.as_ref().map(|f| f.bind(py).clone())
    }
}

/// Drops every Python callable the engine holds (interpreter exit).
pub fn release_all(_py: Python<'_>) {
    let held = std::mem::take(&mut *HELD.lock().unwrap_or_else(|e| e.into_inner()));
    let taken: Vec<Py<PyAny>> = held
        .iter()
        .filter_map(Weak::upgrade)
        .filter_map(|slot| slot.lock().unwrap_or_else(|e| e.into_inner()).take())
        .collect();
    // Dropped here, holding the GIL (the token proves it).
    drop(taken);
}

/// Ends a failed stage the way the engine counts failures, without running
/// the panic hook (no second message on stderr).
fn fail() -> ! {
    std::panic::resume_unwind(Box::new(kakashi::StageFailed))
}

// === Python callables ===

/// A Python enricher: `LogRecord -> LogRecord` (returning None keeps the record).
pub struct PyEnricher(pub Callable);

impl Enricher for PyEnricher {
    fn enrich(&self, record: &mut Record) {
        static REPORTED: AtomicBool = AtomicBool::new(false);
        let Some(_section) = Section::enter() else {
            return;
        };
        let failed = Python::attach(|py| {
            let Some(f) = self.0.get(py) else {
                return false;
            };
            let _thread = StageThread::enter(&record.thread);
            let result = record_to_py(py, record)
                .and_then(|r| crate::gil::call(py, &f, r))
                .and_then(|out| {
                    if out.is_none() {
                        Ok(())
                    } else {
                        convert::update_record(&out, record)
                    }
                });
            result
                .map_err(|e| report(&REPORTED, "enricher", py, &e))
                .is_err()
        });
        if failed {
            fail()
        }
    }
}

/// A Python filter: `LogRecord -> bool`.
pub struct PyFilter(pub Callable);

impl Filter for PyFilter {
    fn allows(&self, record: &Record) -> bool {
        static REPORTED: AtomicBool = AtomicBool::new(false);
        let Some(_section) = Section::enter() else {
            return true;
        };
        let result = Python::attach(|py| {
            let Some(f) = self.0.get(py) else {
                return Ok(true);
            };
            let _thread = StageThread::enter(&record.thread);
            record_to_py(py, record)
                .and_then(|r| crate::gil::call(py, &f, r))
                .and_then(|out| out.is_truthy())
                .map_err(|e| report(&REPORTED, "filter", py, &e))
        });
        match result {
            Ok(keep) => keep,
            Err(()) => fail(),
        }
    }
}

/// A Python formatter: `LogRecord -> str`. Anything but a `str` is the
/// formatter's error: counted in `formatter_errors`, the record failed.
pub struct PyFormatter(pub Callable);

impl Formatter for PyFormatter {
    fn format(&self, record: &Record, out: &mut Vec<u8>) {
        static REPORTED: AtomicBool = AtomicBool::new(false);
        let Some(_section) = Section::enter() else {
            fail()
        };
        let ok = Python::attach(|py| {
            let Some(f) = self.0.get(py) else {
                return false;
            };
            let _thread = StageThread::enter(&record.thread);
            let result = record_to_py(py, record)
                .and_then(|r| crate::gil::call(py, &f, r))
                .and_then(|text| match text.cast_exact::<PyString>() {
                    Ok(s) => Ok(s.to_string_lossy().into_owned()),
                    Err(_) => Err(PyTypeError::new_err(format!(
                        "a formatter must return a str, got {}",
                        repr_of(&text)
                    ))),
                });
            match result {
                Ok(text) => {
                    out.extend_from_slice(text.as_bytes());
                    true
                }
                Err(e) => {
                    report(&REPORTED, "formatter", py, &e);
                    false
                }
            }
        });
        if !ok {
            fail()
        }
    }
}

/// A Python writer: `str -> None`, called once per record (without the
/// newline) in order, on a worker, holding the interpreter lock once per
/// batch. A call that raises is retried after `retry_delay`, doubling each
/// time, up to `max_retries` times; the lock is let go while waiting.
pub struct PyWriter {
    /// The callable.
    pub func: Callable,
    /// Its name in the stats.
    pub name: String,
    /// Further attempts after the first.
    pub max_retries: u32,
    /// Wait before the first retry.
    pub retry_delay: Duration,
    retries: u64,
}

impl PyWriter {
    /// A writer calling `func`.
    pub fn new(func: Py<PyAny>, name: String, max_retries: u32, retry_delay: Duration) -> PyWriter {
        PyWriter {
            func: Callable::new(func),
            name,
            max_retries,
            retry_delay,
            retries: 0,
        }
    }
}

impl Writer for PyWriter {
    fn write_batch(&mut self, batch: &Batch<'_>) -> Result<(), WriteError> {
        let gone = || std::io::Error::other("the Python interpreter has exited");
        let lines: Vec<&[u8]> = batch.records().collect();
        let generation = kakashi::binding::fork_generation();
        let mut next = 0;
        let mut attempt = 0;
        let mut delay = self.retry_delay;
        while next < lines.len() {
            let Some(section) = Section::enter() else {
                return Err(WriteError {
                    written: next,
                    failed: lines.len() - next,
                    error: gone(),
                });
            };
            // The lock is held while lines go out, and let go of (the
            // attach ends) while a retry waits, so a worker never sleeps,
            // nor wakes, holding or re-taking it in a detached section.
            let func = &self.func;
            let failed = Python::attach(|py| {
                let func = func.get(py)?;
                while next < lines.len() {
                    let line = lines[next];
                    let text = String::from_utf8_lossy(line.strip_suffix(b"\n").unwrap_or(line));
                    if let Err(e) = crate::gil::call(py, &func, PyString::new(py, &text).into_any())
                    {
                        return Some(e.to_string());
                    }
                    next += 1;
                    attempt = 0;
                    delay = self.retry_delay;
                    if kakashi::binding::fork_generation() != generation {
                        // The callable forked and this is the child: the
                        // rest of the batch is the parent's to write.
                        return None;
                    }
                }
                None
            });
            drop(section);
            if kakashi::binding::fork_generation() != generation {
                // The callable forked (and then failed, or returned) and this
                // is the child: the rest of the batch is the parent's.
                return Ok(());
            }
            let Some(error) = failed else {
                if next < lines.len() {
                    // Released at exit: the callable is gone.
                    return Err(WriteError {
                        written: next,
                        failed: lines.len() - next,
                        error: gone(),
                    });
                }
                break;
            };
            if attempt >= self.max_retries || PYTHON_GONE.load(Relaxed) {
                // The backend reports it once, with its message.
                return Err(WriteError {
                    written: next,
                    failed: 1,
                    error: std::io::Error::other(error),
                });
            }
            attempt += 1;
            self.retries += 1;
            std::thread::sleep(delay);
            delay = (delay * 2).min(Duration::from_secs(30));
        }
        Ok(())
    }

    fn name(&self) -> String {
        self.name.clone()
    }

    fn take_retries(&mut self) -> u64 {
        std::mem::take(&mut self.retries)
    }
}

// === building a pipeline from Python stages ===

/// Retries for Python writers of a pipeline (from its `AsyncConfig`).
#[derive(Clone, Copy)]
pub struct WriterRetries {
    /// `max_error_retries`.
    pub max_retries: u32,
    /// `error_retry_delay`.
    pub delay: Duration,
}

fn callable_name(obj: &Bound<'_, PyAny>) -> String {
    obj.getattr("__qualname__")
        .or_else(|_| obj.getattr("__name__"))
        .map(|n| str_of(&n))
        .unwrap_or_else(|_| repr_of(obj))
}

fn need_callable(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<()> {
    if obj.is_callable() {
        Ok(())
    } else {
        Err(PyTypeError::new_err(format!(
            "{what} must be callable, got {}",
            repr_of(obj)
        )))
    }
}

/// Builds the engine pipeline for the page's `PipelineConfig(min_level,
/// enrichers, filters, formatter, writers)`. Built-ins run in Rust; Python
/// callables run on the workers. Also returns the formatter's `default=`
/// hook, which the pipeline's loggers apply while copying values.
pub fn build_pipeline(
    min_level: Level,
    enrichers: &Bound<'_, PyAny>,
    filters: &Bound<'_, PyAny>,
    formatter: Option<&Bound<'_, PyAny>>,
    writers: &Bound<'_, PyAny>,
    retries: WriterRetries,
) -> PyResult<(PipelineConfig, Option<Arc<DefaultHook>>)> {
    let mut config = PipelineConfig::new().min_level(min_level);
    let mut has_python = false;
    for e in enrichers.try_iter()? {
        let e = e?;
        if let Ok(builtin) = e.cast::<BuiltinEnricher>() {
            config = config.enricher(builtin.get().stage());
        } else {
            need_callable(&e, "an enricher")?;
            has_python = true;
            config = config.enricher(PyEnricher(Callable::new(e.unbind())));
        }
    }
    for f in filters.try_iter()? {
        let f = f?;
        if let Ok(builtin) = f.cast::<BuiltinFilter>() {
            config = config.filter(builtin.get().stage());
        } else {
            need_callable(&f, "a filter")?;
            has_python = true;
            config = config.filter(PyFilter(Callable::new(f.unbind())));
        }
    }
    let mut default_hook = None;
    if let Some(f) = formatter.filter(|f| !f.is_none()) {
        if let Ok(builtin) = f.cast::<BuiltinFormatter>() {
            let stream = writers_stream(writers)?;
            config = config.formatter(builtin.get().stage_for(stream));
            default_hook = builtin.get().default_hook();
        } else {
            need_callable(f, "the formatter")?;
            has_python = true;
            config = config.formatter(PyFormatter(Callable::new(f.clone().unbind())));
        }
    }
    for w in writers.try_iter()? {
        let w = w?;
        if let Ok(builtin) = w.cast::<BuiltinWriter>() {
            config = config.writer(builtin.get().stage());
        } else {
            need_callable(&w, "a writer")?;
            let name = format!("python:{}", callable_name(&w));
            config = config.writer(PyWriter::new(
                w.unbind(),
                name,
                retries.max_retries,
                retries.delay,
            ));
        }
    }
    if has_python {
        config = config.stage_scope(python_scope());
    }
    Ok((config, default_hook))
}

/// Where a pipeline's writers all write: standard output or standard error
/// when every one is that console writer, else [`ConsoleStream::Other`] (a
/// file, a Python callable, a mix), which a console formatter on `auto`
/// never colours.
fn writers_stream(writers: &Bound<'_, PyAny>) -> PyResult<ConsoleStream> {
    let mut stream = None;
    for w in writers.try_iter()? {
        let this = match w?.cast::<BuiltinWriter>() {
            Ok(builtin) => builtin.get().console_stream(),
            Err(_) => ConsoleStream::Other,
        };
        if stream.is_some_and(|s| s != this) {
            return Ok(ConsoleStream::Other);
        }
        stream = Some(this);
    }
    Ok(stream.unwrap_or(ConsoleStream::Other))
}

/// Holds the interpreter lock around a whole batch of Python stages.
pub fn python_scope() -> StageScope {
    Arc::new(|run: &mut dyn FnMut()| match Section::enter() {
        Some(_section) => Python::attach(|_| run()),
        None => run(),
    })
}

/// A record built from a Python `LogRecord`.
pub fn record_from_py(obj: &Bound<'_, PyAny>) -> PyResult<Record> {
    let mut r = Record::new(Level::Info, "", "");
    r.thread = convert::thread_info(obj.py());
    convert::update_record(obj, &mut r)?;
    Ok(r)
}
