//! The standard library bridge's calls, for `kakashi/stdlib.py`: a
//! `logging.LogRecord` made into an engine record in one call
//! (`Logger._emit_stdlib`, `KakashiHandler.emit`'s), and a `logging` call
//! made into one without the `LogRecord` (`Logger._log_stdlib`, the fast
//! path `logging.Logger._log` takes when no one else would see that
//! object; see [`log_call`]). Both sit at the call-site end of the
//! record's path: they build a `Record` and submit it as a level method
//! does.
//!
//! The record is built from the `LogRecord`'s own data, not from the
//! handler's thread or frame: its level, `name`, `getMessage()`, the
//! `extra` keys (every instance attribute that is not a standard one) as
//! fields, `exc_info` (or, when only the text is left, `exc_text`) as the
//! exception, `stack_info` as a field, `module`/`funcName`/`lineno`/`pathname`
//! as the source (shown in the `source` object whatever the pipeline's
//! enrichers), `thread`/`threadName`/`process` as the thread, and
//! `created` as the timestamp. A `QueueListener` thread that hands records
//! on so writes them as their callers made them.
//!
//! Like a level method, the call never raises because of the data (values
//! are copied as a level method copies them); it raises what `getMessage()`
//! raises (a bad `%` argument: the handler's `handleError` takes it) and the
//! caller's interrupts (`KeyboardInterrupt` while `block` waits).

use std::sync::atomic::Ordering::Relaxed;

use crate::once::Once;
use kakashi::{
    Exception, Frame, Level, Name, PipelineConfig, Record, Sections, Text, Thread, ThreadInfo,
    Timestamp,
};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyFrozenSet, PyInt, PyString, PyTuple};

use crate::convert::{self, str_of};
use crate::logger::PyLogger;

mod exception_text;
mod source;

#[cfg(test)]
use exception_text::exception_from_text;
use exception_text::{exception_of, split_formatted};
use source::{caller_source, source_of};

/// A `levelno` as a number, saturated: a Python int beyond 64 bits is a
/// level still, as `logging` takes it (above CRITICAL is CRITICAL, below
/// DEBUG is DEBUG).
pub(crate) fn level_number(levelno: &Bound<'_, PyAny>) -> PyResult<i64> {
    match levelno.extract::<i64>() {
        Ok(n) => Ok(n),
        Err(e) if e.is_instance_of::<pyo3::exceptions::PyOverflowError>(levelno.py()) => {
            Ok(if levelno.gt(0)? { i64::MAX } else { i64::MIN })
        }
        Err(e) => Err(e),
    }
}

/// A standard library level number as an engine level: the nearest engine
/// level at or below it (`25` is INFO, `35` WARNING), and DEBUG for
/// anything below 20 (`NOTSET`, a `TRACE` of 5).
pub(crate) fn level_of(levelno: i64) -> Level {
    match levelno {
        i64::MIN..=19 => Level::Debug,
        20..=29 => Level::Info,
        30..=39 => Level::Warning,
        40..=49 => Level::Error,
        _ => Level::Critical,
    }
}

/// Logs the `logging.LogRecord` `rec` through `logger`. `skip` holds the
/// attribute names that are not `extra` fields (the standard ones); `order`
/// is a fresh `LogRecord`'s attribute names in the order its `__dict__`
/// holds them, which lets the usual record's standard attributes be passed
/// over by identity instead of a set lookup each.
///
/// With `follow_global`, returns false without logging when `logger`'s
/// backend no longer runs (the global backend was reconfigured or shut
/// down) while the interpreter is not exiting: the handler then takes the
/// current default logger and calls again. Otherwise returns true.
pub(crate) fn emit(
    logger: &kakashi::Logger,
    rec: &Bound<'_, PyAny>,
    skip: &Bound<'_, PyFrozenSet>,
    order: &Bound<'_, PyTuple>,
    follow_global: bool,
) -> PyResult<bool> {
    if follow_global && !logger.backend().is_running() && !exiting() {
        return Ok(false);
    }
    let call = std::panic::AssertUnwindSafe(|| emit_inner(logger, rec, skip, order));
    match std::panic::catch_unwind(call) {
        Ok(result) => result.map(|()| true),
        Err(panic) => {
            crate::errors::report_lost_record(&*panic);
            Ok(true)
        }
    }
}

/// The interpreter is exiting: a default logger is not looked up again
/// (that would start a global backend while the interpreter ends).
fn exiting() -> bool {
    crate::stages::PYTHON_GONE.load(Relaxed) || crate::lifecycle::exiting()
}

fn emit_inner(
    logger: &kakashi::Logger,
    rec: &Bound<'_, PyAny>,
    skip: &Bound<'_, PyFrozenSet>,
    order: &Bound<'_, PyTuple>,
) -> PyResult<()> {
    let py = rec.py();
    let levelno = level_number(&rec.getattr(crate::intern!(py, "levelno"))?)?;
    let level = level_of(levelno);
    // A disabled level, or `drop_newest` with the queue full (counted):
    // nothing is converted, `getMessage()` is not called.
    if !logger.enabled(level) || kakashi::binding::drop_if_known_full(logger) {
        return Ok(());
    }
    let message = rec.call_method0(crate::intern!(py, "getMessage"))?;
    let message = match message.cast_exact::<PyString>() {
        Ok(s) => convert::str_arg(s),
        Err(_) => Text::from(str_of(&message)),
    };
    let name = rec.getattr(crate::intern!(py, "name"))?;
    let mut record = Record::new(level, convert::key(&name), message);
    record.thread = record_thread(py, rec);
    if let Ok(created) = rec.getattr(crate::intern!(py, "created")) {
        if let Ok(secs) = created.extract::<f64>() {
            // To the microsecond, as the formatters print it (a float of
            // epoch seconds has about a quarter of one to spare).
            if secs.is_finite() && secs > 0.0 && secs < 1.0e11 {
                record.timestamp = Timestamp((secs * 1e6).round() as u64 * 1000);
            }
        }
    }
    record.source = source_of(rec);
    if record.source.is_some() {
        // Shown whatever the pipeline's enrichers: the record carries its
        // call site, as the original's records did (its `source` object is
        // there whenever the record has one); kakashi's own Python calls
        // carry none.
        record.sections.insert(Sections::SOURCE);
    }

    let bound = logger.bound_fields();
    record.fields.extend(bound.iter().cloned());
    let dict = rec.getattr(crate::intern!(py, "__dict__"))?;
    let dict = dict.cast::<PyDict>()?;
    let mut position = 0;
    for (k, v) in convert::items(dict) {
        // Standard attributes first, in `order`, on every record `logging`
        // makes: one pointer comparison each. Anything after them (the
        // `extra` keys, attributes a formatter or filter added) is looked up.
        if position < order.len() {
            let expected = order.get_borrowed_item(position)?;
            position += 1;
            if expected.is(&k) {
                continue;
            }
            position = order.len();
        }
        if skip.contains(&k)? {
            continue;
        }
        kakashi::binding::put_field(&mut record.fields, convert::key(&k), convert::value(&v));
    }
    if let Ok(stack) = rec.getattr(crate::intern!(py, "stack_info")) {
        if let Ok(stack) = stack.cast::<PyString>() {
            let stack = Text::from(convert::text(stack));
            kakashi::binding::put_field(
                &mut record.fields,
                Name::interned("stack_info"),
                kakashi::Value::Str(stack),
            );
        }
    }
    record.exception = exception_of(rec)?.map(Box::new);
    if record.exception.is_none() && record.message.contains('\n') {
        split_formatted(&mut record);
    }
    // The current OpenTelemetry span's ids, as for kakashi's own calls: the
    // span of the thread handing the record over (a `QueueListener`'s
    // thread has none).
    convert::add_trace_ids(py, &mut record.fields);
    record.context = convert::call_context(py, logger);
    // A KeyboardInterrupt or SystemExit raised by a value's `__str__` while
    // it was copied belongs to the caller, as with a level method.
    if let Some(err) = convert::take_pending_interrupt(py) {
        return Err(err);
    }
    crate::logger::submit(py, logger, record)
}

// === the call without a LogRecord ===

/// What the fast path needs from `kakashi.stdlib`, registered once
/// (`_stdlib_setup`): the attribute names an `extra` key may not take, and
/// the files whose frames are `logging`'s own (and the bridge's) rather
/// than the caller's.
struct Setup {
    reserved: Py<PyFrozenSet>,
    internal: Vec<Py<PyString>>,
}

static SETUP: Once<Setup> = Once::new();

/// Registers the fast path's settings (see [`Setup`]); once per process.
#[pyfunction]
pub(crate) fn _stdlib_setup(
    py: Python<'_>,
    reserved: Bound<'_, PyFrozenSet>,
    internal: Vec<Bound<'_, PyString>>,
) -> PyResult<()> {
    let setup = Setup {
        reserved: reserved.unbind(),
        internal: internal.into_iter().map(Bound::unbind).collect(),
    };
    SETUP
        .set(py, setup)
        .map_err(|_| pyo3::exceptions::PyRuntimeError::new_err("already set up"))
}

/// What the fast path did with a call.
pub(crate) enum Fast {
    /// Logged (or below the level, or dropped and counted).
    Done,
    /// Not taken, nothing done: the caller builds a `LogRecord` and takes
    /// the handler's usual path (a reserved `extra` key, which `logging`
    /// raises for; arguments of a shape only `LogRecord` sorts out; a
    /// stopped default logger).
    Declined,
    /// `msg % args` raised this, and nothing was logged: the caller reports
    /// it as the handler's `emit` would, without formatting again (the
    /// arguments' `__str__` may have side effects).
    FormatFailed(PyErr),
}

/// A `logging.Logger._log(level, msg, args, extra=extra)` call made into an
/// engine record without the `LogRecord` `logging` would build: the same
/// level, name, message (`str(msg) % args`), `extra` fields, the caller's
/// source (the first frame outside `logging` and the bridge, as
/// `Logger.findCaller` finds it), thread, process and time. Used only when
/// the record would reach nothing but this one handler (see
/// `kakashi/stdlib.py`), so no other handler could see the difference. One
/// difference shows in the output: the thread's name is the one it had
/// when it first logged (see `convert::thread_info`), where a `LogRecord`
/// carries its name at the call; reading it per call would cost every call
/// an attribute lookup for threads that are renamed after they log.
///
/// What `msg % args` raises comes back as [`Fast::FormatFailed`], with
/// nothing logged.
pub(crate) fn log_call(
    logger: &kakashi::Logger,
    name: &Bound<'_, PyAny>,
    levelno: i64,
    msg: &Bound<'_, PyAny>,
    args: &Bound<'_, PyAny>,
    extra: Option<&Bound<'_, PyDict>>,
    follow_global: bool,
) -> PyResult<Fast> {
    let call = std::panic::AssertUnwindSafe(|| {
        log_call_inner(logger, name, levelno, msg, args, extra, follow_global)
    });
    std::panic::catch_unwind(call).unwrap_or_else(|panic| {
        crate::errors::report_lost_record(&*panic);
        Ok(Fast::Done)
    })
}

fn log_call_inner(
    logger: &kakashi::Logger,
    name: &Bound<'_, PyAny>,
    levelno: i64,
    msg: &Bound<'_, PyAny>,
    args: &Bound<'_, PyAny>,
    extra: Option<&Bound<'_, PyDict>>,
    follow_global: bool,
) -> PyResult<Fast> {
    let py = name.py();
    if follow_global && !logger.backend().is_running() && !exiting() {
        return Ok(Fast::Declined);
    }
    let Some(setup) = SETUP.get(py) else {
        return Ok(Fast::Declined);
    };
    let level = level_of(levelno);
    if !logger.enabled(level) {
        return Ok(Fast::Done);
    }
    // `LogRecord` turns `(mapping,)` into the mapping, and `str()`s a
    // message that is not a string: left to it.
    let Ok(msg) = msg.cast_exact::<PyString>() else {
        return Ok(Fast::Declined);
    };
    let args = match args.cast_exact::<PyTuple>() {
        Ok(t) if t.len() == 1 && !plain(&t.get_item(0)?) => return Ok(Fast::Declined),
        Ok(t) => Some(t.clone()).filter(|t| !t.is_empty()),
        Err(_) if args.is_none() => None,
        Err(_) => return Ok(Fast::Declined),
    };
    if let Some(extra) = extra {
        // In place (`keys()` would make a list). A key that is not a `str`
        // could run Python code to hash or compare, and change the dict
        // under the iteration: `logging`'s own path takes it.
        let reserved = setup.reserved.bind(py);
        for (key, _) in extra.iter() {
            if !key.is_exact_instance_of::<PyString>() || reserved.contains(&key)? {
                return Ok(Fast::Declined);
            }
        }
    }
    let message = match &args {
        None => convert::str_arg(msg),
        Some(args) => {
            let formatted = match msg.rem(args) {
                Ok(formatted) => formatted,
                Err(e) => return Ok(Fast::FormatFailed(e)),
            };
            match formatted.cast_exact::<PyString>() {
                Ok(s) => convert::str_arg(s),
                Err(_) => Text::from(str_of(&formatted)),
            }
        }
    };
    if kakashi::binding::drop_if_known_full(logger) {
        return Ok(Fast::Done);
    }
    let mut record = Record::new(level, convert::key(name), message);
    record.thread = convert::thread_info(py);
    record.source = caller_source(py, setup);
    if record.source.is_some() {
        record.sections.insert(Sections::SOURCE);
    }
    let bound = logger.bound_fields();
    record.fields.extend(bound.iter().cloned());
    if let Some(extra) = extra {
        for (k, v) in convert::items(extra) {
            kakashi::binding::put_field(&mut record.fields, convert::key(&k), convert::value(&v));
        }
    }
    // The current OpenTelemetry span's ids, as for kakashi's own calls.
    convert::add_trace_ids(py, &mut record.fields);
    record.context = convert::call_context(py, logger);
    if let Some(err) = convert::take_pending_interrupt(py) {
        return Err(err);
    }
    crate::logger::submit(py, logger, record)?;
    Ok(Fast::Done)
}

/// The thread a `LogRecord` names (`thread`, `threadName`, `process`), or
/// the handler's own where it names none (`logging.logThreads = False`).
/// The calling thread's lasting handle when the record names that thread,
/// as it does unless it was made elsewhere (another process, a
/// `QueueListener`'s sources); a handle of the record's own otherwise.
fn record_thread(py: Python<'_>, rec: &Bound<'_, PyAny>) -> Thread {
    let current = convert::thread_info(py);
    let mut thread_id = current.thread_id;
    // `Some`: the record names its thread; the inner `None`: by a name that
    // is not a `str`, which the record then goes without.
    let mut name: Option<Option<Bound<'_, PyString>>> = None;
    if let Ok(id) = rec.getattr(crate::intern!(py, "thread")) {
        if let Ok(id) = id.extract::<u64>() {
            thread_id = id;
            if let Ok(thread_name) = rec.getattr(crate::intern!(py, "threadName")) {
                name = Some(thread_name.cast_exact::<PyString>().ok().cloned());
            }
        }
    }
    let mut process_id = current.process_id;
    if let Ok(pid) = rec.getattr(crate::intern!(py, "process")) {
        if let Ok(pid) = pid.extract::<u32>() {
            process_id = pid;
        }
    }
    let same_name = match (&name, &current.thread_name) {
        (None, _) => true,
        (Some(None), known) => known.is_none(),
        (Some(Some(given)), Some(known)) => given.to_cow().is_ok_and(|g| g == known.as_str()),
        (Some(Some(_)), None) => false,
    };
    if same_name && thread_id == current.thread_id && process_id == current.process_id {
        return current;
    }
    let thread_name = match name {
        None => current.thread_name.clone(),
        Some(given) => given.map(|s| convert::key(s.as_any())),
    };
    Thread::from(ThreadInfo {
        thread_id,
        thread_name,
        process_id,
    })
}

/// A `%` argument `LogRecord` passes on as it is (not a mapping it would
/// unwrap).
fn plain(arg: &Bound<'_, PyAny>) -> bool {
    arg.is_exact_instance_of::<PyString>()
        || arg.is_exact_instance_of::<PyInt>()
        || arg.is_exact_instance_of::<pyo3::types::PyFloat>()
        || arg.is_none()
        || arg.is_instance_of::<pyo3::types::PyBool>()
}

/// The logger a `KakashiHandler` made without one uses: the global
/// backend's, through the outputs `setup_async_logging` installed; before
/// any setup, JSON lines to standard error (where `logging` itself writes
/// when nothing is configured), on the same global backend.
#[pyfunction]
pub(crate) fn _stdlib_logger(py: Python<'_>) -> PyLogger {
    let logger = crate::gil::detach(py, || {
        let global = kakashi::get_logger("stdlib");
        if kakashi::binding::environment_is_set() {
            global
        } else {
            global.backend().logger(
                "stdlib",
                PipelineConfig::new()
                    .min_level(Level::Debug)
                    .writer(kakashi::stderr_writer()),
            )
        }
    });
    PyLogger::new(logger)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_map_to_the_nearest_lower_engine_level() {
        assert_eq!(level_of(0), Level::Debug);
        assert_eq!(level_of(5), Level::Debug);
        assert_eq!(level_of(10), Level::Debug);
        assert_eq!(level_of(25), Level::Info);
        assert_eq!(level_of(30), Level::Warning);
        assert_eq!(level_of(45), Level::Error);
        assert_eq!(level_of(50), Level::Critical);
        assert_eq!(level_of(99), Level::Critical);
    }

    #[test]
    fn a_formatted_message_is_split_into_message_traceback_and_stack() {
        let tb =
            "Traceback (most recent call last):\n  File \"m.py\", line 3, in f\nValueError: bad";
        let stack = "Stack (most recent call last):\n  File \"m.py\", line 9, in g";
        let mut r = Record::new(
            Level::Error,
            "app",
            format!("payment failed\n{tb}\n{stack}"),
        );
        split_formatted(&mut r);
        assert_eq!(r.message, *"payment failed");
        let e = r.exception.as_deref().unwrap();
        assert_eq!(
            (e.type_name.as_ref(), e.message.as_str()),
            ("ValueError", "bad")
        );
        assert_eq!(e.traceback.as_deref(), Some(tb));
        assert_eq!(r.field("stack_info"), Some(&kakashi::Value::from(stack)));

        let text = "see\nTraceback (most recent call last):\n  in the docs, it says";
        let mut r = Record::new(Level::Info, "app", text);
        split_formatted(&mut r);
        assert_eq!((r.message.as_str(), r.exception.is_none()), (text, true));
    }

    #[test]
    fn exception_text_gives_type_and_message_from_its_last_line() {
        let e = exception_from_text(
            "Traceback (most recent call last):\n  File \"m.py\", line 3, in f\nValueError: bad: value\n"
                .into(),
        );
        assert_eq!(e.type_name, "ValueError");
        assert_eq!(e.message, "bad: value");
        assert!(e.traceback.unwrap().ends_with("ValueError: bad: value"));
        assert_eq!(
            e.frames,
            vec![Frame {
                file: "m.py".into(),
                line: 3,
                function: "f".into()
            }]
        );
        let e = exception_from_text("Traceback ...\nKeyboardInterrupt".into());
        assert_eq!(
            (e.type_name.as_ref(), e.message.as_str()),
            ("KeyboardInterrupt", "")
        );
        let e = exception_from_text("something else happened here".into());
        assert_eq!(e.type_name, "Exception");
    }

    /// (message, exception type, exception message, traceback) of a record
    /// whose message `QueueHandler.prepare` formatted.
    fn split(text: &str) -> (String, String, String, String) {
        let mut r = Record::new(Level::Error, "app", text.to_owned());
        split_formatted(&mut r);
        let e = r.exception.as_deref().expect("an exception");
        (
            r.message.to_string(),
            e.type_name.to_string(),
            e.message.clone(),
            e.traceback.clone().unwrap_or_default(),
        )
    }

    #[test]
    fn a_formatted_chain_is_read_from_its_start_to_the_exception_raised() {
        let frame = "  File \"m.py\", line 3, in f";
        let cause = "\n\nThe above exception was the direct cause of the following exception:\n\n";
        // A cause never raised has no header: the chain starts at its line.
        let text = format!("failed\nValueError: cause{cause}Traceback (most recent call last):\n{frame}\nRuntimeError: outer");
        let (message, type_name, exc_message, traceback) = split(&text);
        assert_eq!(
            (message.as_str(), type_name.as_str(), exc_message.as_str()),
            ("failed", "RuntimeError", "outer")
        );
        assert!(
            traceback.starts_with("ValueError: cause\n\nThe above"),
            "{traceback}"
        );
        // An exception whose message quotes a traceback is read whole.
        let text = format!(
            "failed\nTraceback (most recent call last):\n{frame}\nRuntimeError: worker failed:\n\
             Traceback (most recent call last):\n  File \"w.py\", line 1, in g\nValueError: inner"
        );
        let (message, type_name, exc_message, _) = split(&text);
        assert_eq!(
            (message.as_str(), type_name.as_str()),
            ("failed", "RuntimeError")
        );
        assert!(
            exc_message.starts_with("worker failed:\nTraceback")
                && exc_message.ends_with("ValueError: inner")
        );
        // Headers that do not read as tracebacks stay in the message; the
        // one that does is split off.
        let quoted = "\nTraceback (most recent call last):\nnot an exception line".repeat(50);
        let text =
            format!("failed{quoted}\nTraceback (most recent call last):\n{frame}\nKeyError: 'k'");
        let (message, type_name, exc_message, _) = split(&text);
        assert_eq!(message, format!("failed{quoted}"));
        assert_eq!(
            (type_name.as_str(), exc_message.as_str()),
            ("KeyError", "'k'")
        );
        // A class made in a function.
        let text = format!(
            "failed\nTraceback (most recent call last):\n{frame}\nmake.<locals>.Error: bad"
        );
        let (_, type_name, exc_message, _) = split(&text);
        assert_eq!(
            (type_name.as_str(), exc_message.as_str()),
            ("make.<locals>.Error", "bad")
        );
    }
}
