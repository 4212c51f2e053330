//! The level methods with the vectorcall convention (`METH_FASTCALL |
//! METH_KEYWORDS`): the interpreter hands over the arguments as an array and
//! the keyword names as a tuple, and no keyword dict is built for the call;
//! and `_kakashi._log_stdlib`, the standard library bridge's call, with the
//! same convention (`METH_FASTCALL`, positional arguments only), where a
//! method takes a tuple of them.
//!
//! With `fork_child.rs` and `frames.rs`, the only modules of the crate with
//! `unsafe` code: PyO3 offers keyword-taking closures only as
//! `METH_VARARGS | METH_KEYWORDS`, for which the interpreter builds a dict
//! of the keywords on every call, a sizeable share of a logging call with
//! fields (BENCHMARKS.md, "Design decisions").
//! `METH_FASTCALL` is part of the stable ABI from Python 3.10; on older
//! interpreters [`level_functions`] returns `None` and the closures of
//! `logger.rs` are used instead.

#![allow(unsafe_code)]

use std::ffi::c_int;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::OnceLock;

use pyo3::exceptions::PyTypeError;
use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyCFunction, PyDict, PyTuple};

use crate::convert::DefaultScope;
use crate::logger::{emit, LevelFunctions, PyLogger, LEVEL_METHODS as METHODS};

/// `METH_FASTCALL` (Include/methodobject.h; in the stable ABI since 3.10).
const METH_FASTCALL: c_int = 0x0080;

type FastWithKeywords = unsafe extern "C" fn(
    *mut ffi::PyObject,
    *const *mut ffi::PyObject,
    ffi::Py_ssize_t,
    *mut ffi::PyObject,
) -> *mut ffi::PyObject;

macro_rules! level_fn {
    ($name:ident, $index:expr) => {
        unsafe extern "C" fn $name(
            slf: *mut ffi::PyObject,
            args: *const *mut ffi::PyObject,
            nargs: ffi::Py_ssize_t,
            kwnames: *mut ffi::PyObject,
        ) -> *mut ffi::PyObject {
            // SAFETY: called by the interpreter through the method table
            // built below, with the convention that table declares.
            unsafe { call(slf, args, nargs, kwnames, $index) }
        }
    };
}

level_fn!(debug_fn, 0);
level_fn!(info_fn, 1);
level_fn!(warning_fn, 2);
level_fn!(warn_fn, 3);
level_fn!(error_fn, 4);
level_fn!(critical_fn, 5);
level_fn!(fatal_fn, 6);
level_fn!(exception_fn, 7);

const FUNCTIONS: [FastWithKeywords; 8] = [
    debug_fn,
    info_fn,
    warning_fn,
    warn_fn,
    error_fn,
    critical_fn,
    fatal_fn,
    exception_fn,
];

/// Method definitions, made once and never freed (the interpreter keeps
/// pointers to them in every function object made from them).
struct Defs<const N: usize>([ffi::PyMethodDef; N]);

// SAFETY: the definitions are written once, before any function object that
// points to them exists, and only read afterwards; their pointers refer to
// 'static C strings and functions.
unsafe impl<const N: usize> Sync for Defs<N> {}
// SAFETY: as above; nothing in them is tied to a thread.
unsafe impl<const N: usize> Send for Defs<N> {}

/// A function object of `def`, bound to `slf` (its `self`, kept alive by
/// it), or to nothing.
fn function_of<'py>(
    py: Python<'py>,
    def: &'static ffi::PyMethodDef,
    slf: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyCFunction>> {
    // SAFETY: `def` lives for the rest of the process, `slf` is a valid
    // object or null, and the module may be null.
    let f = unsafe {
        Bound::from_owned_ptr_or_err(
            py,
            ffi::PyCFunction_NewEx(
                (def as *const ffi::PyMethodDef).cast_mut(),
                slf.map_or(std::ptr::null_mut(), |s| s.as_ptr()),
                std::ptr::null_mut(),
            ),
        )?
    };
    Ok(f.cast_into::<PyCFunction>()?)
}

fn defs() -> &'static Defs<8> {
    static DEFS: OnceLock<Defs<8>> = OnceLock::new();
    DEFS.get_or_init(|| {
        Defs(std::array::from_fn(|i| ffi::PyMethodDef {
            ml_name: METHODS[i].0.as_ptr(),
            ml_meth: ffi::PyMethodDefPointer {
                // SAFETY: CPython calls a METH_FASTCALL | METH_KEYWORDS
                // function through this field with exactly the signature of
                // `FastWithKeywords` (C extensions cast the same way).
                PyCFunction: unsafe {
                    std::mem::transmute::<FastWithKeywords, ffi::PyCFunction>(FUNCTIONS[i])
                },
            },
            ml_flags: METH_FASTCALL | ffi::METH_KEYWORDS,
            ml_doc: c"Logs `message` with `**fields` at this level.".as_ptr(),
        }))
    })
}

/// The level methods bound to `logger`, as vectorcall functions; `None` on
/// interpreters before 3.10 (use the closures of `logger.rs` there).
pub fn level_functions<'py>(
    logger: &Bound<'py, PyLogger>,
) -> PyResult<Option<LevelFunctions<'py>>> {
    let py = logger.py();
    if py.version_info() < (3, 10) {
        return Ok(None);
    }
    let mut out = Vec::with_capacity(METHODS.len());
    for (i, def) in defs().0.iter().enumerate() {
        let name = METHODS[i].0.to_str().unwrap_or("log");
        out.push((name, function_of(py, def, Some(logger.as_any()))?));
    }
    Ok(Some(out))
}

/// One call: `slf` is the engine logger, `args[0]` the message,
/// `args[1..]` the keyword values named by `kwnames`.
///
/// # Safety
/// Called by the interpreter with the GIL held, `slf` the object the
/// function was made with, `args` pointing to `nargs` positional arguments
/// followed by one value per name in `kwnames` (a tuple, or null).
unsafe fn call(
    slf: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
    kwnames: *mut ffi::PyObject,
    method: usize,
) -> *mut ffi::PyObject {
    let body = |py: Python<'_>| -> *mut ffi::PyObject {
        let _call = crate::gil::Call::enter(py);
        let outcome = catch_unwind(AssertUnwindSafe(|| -> PyResult<()> {
            let (name, level, active_exception) = METHODS[method];
            if nargs != 1 {
                return Err(PyTypeError::new_err(format!(
                    "{}() takes the message as its only positional argument ({nargs} given)",
                    name.to_str().unwrap_or("log")
                )));
            }
            // SAFETY: `slf` is the logger the function was made with (alive: the
            // function holds a reference), `args[0]` a valid argument, both
            // borrowed for the duration of the call.
            let (slf, message) = unsafe {
                (
                    Bound::from_borrowed_ptr(py, slf),
                    Bound::from_borrowed_ptr(py, *args),
                )
            };
            let logger = slf.cast_into::<PyLogger>()?;
            let names = if kwnames.is_null() {
                None
            } else {
                // SAFETY: a non-null `kwnames` is a tuple of the keyword names.
                Some(unsafe {
                    Bound::from_borrowed_ptr(py, kwnames).cast_into_unchecked::<PyTuple>()
                })
            };
            let pairs = names.iter().flat_map(|names| {
                names.iter().enumerate().map(|(j, name)| {
                    // SAFETY: one value per keyword name follows the positional
                    // arguments in `args`.
                    let value = unsafe { Bound::from_borrowed_ptr(py, *args.add(1 + j)) };
                    (name, value)
                })
            });
            let _hook = DefaultScope::enter(logger.get().default_hook.as_ref());
            emit(
                &logger.get().inner,
                py,
                level,
                &message,
                pairs,
                active_exception,
            )
        }));
        match outcome {
            Ok(Ok(())) => py.None().into_ptr(),
            Ok(Err(err)) => {
                err.restore(py);
                std::ptr::null_mut()
            }
            Err(panic) => {
                crate::errors::report_lost_record(&*panic);
                py.None().into_ptr()
            }
        }
    };
    // SAFETY: see `attached`; the rest is this function's own contract.
    unsafe { attached(body) }
}

/// Runs `f` as the body of a C function the interpreter called.
///
/// The interpreter holds the GIL while it calls one, but PyO3 does not
/// know that until told: it would queue every reference dropped in `f`
/// (an error's, a value's) for its next entry through a `#[pymethods]`
/// function, which a program that calls only these functions never
/// makes, so that what those references hold (an exception's traceback,
/// with every frame and local in it) would stay alive. Attaching tells it
/// (`attach_unchecked`, as the thread already holds the lock, which the
/// checks `attach` makes, such as refusing while the interpreter
/// finalizes, are not about).
///
/// # Safety
/// Called only from a C function the interpreter called, on its thread.
unsafe fn attached<R>(f: impl for<'py> FnOnce(Python<'py>) -> R) -> R {
    // SAFETY: the calling thread holds the GIL (the caller's contract).
    unsafe { Python::attach_unchecked(f) }
}

type Fast = unsafe extern "C" fn(
    *mut ffi::PyObject,
    *const *mut ffi::PyObject,
    ffi::Py_ssize_t,
) -> *mut ffi::PyObject;

/// `_kakashi._log_stdlib(logger, name, levelno, msg, args, extra,
/// follow_global)`: `logger._log_stdlib(name, ...)` (see `logger.rs`).
///
/// # Safety
/// Called by the interpreter with the GIL held, `args` pointing to `nargs`
/// positional arguments.
unsafe extern "C" fn log_stdlib_fn(
    _module: *mut ffi::PyObject,
    args: *const *mut ffi::PyObject,
    nargs: ffi::Py_ssize_t,
) -> *mut ffi::PyObject {
    let body = |py: Python<'_>| -> *mut ffi::PyObject {
        let outcome = catch_unwind(AssertUnwindSafe(|| -> PyResult<Py<PyAny>> {
            if nargs != 7 {
                return Err(PyTypeError::new_err(format!(
                    "_log_stdlib() takes 7 positional arguments ({nargs} given)"
                )));
            }
            // SAFETY: `args` points to `nargs` (7) valid arguments, borrowed for
            // the duration of the call.
            let arg = |i: usize| unsafe { Bound::from_borrowed_ptr(py, *args.add(i)) };
            let logger = arg(0).cast_into::<PyLogger>()?;
            let extra = arg(5);
            let extra = if extra.is_none() {
                None
            } else {
                Some(extra.cast_into::<PyDict>()?)
            };
            // A `bool`, as the method takes it: no Python code runs before the
            // call's shutdown-safe section (`gil::Call`).
            let follow_global = arg(6).cast_into::<PyBool>()?.is_true();
            logger.get()._log_stdlib(
                &arg(1),
                &arg(2),
                &arg(3),
                &arg(4),
                extra.as_ref(),
                follow_global,
            )
        }));
        match outcome {
            Ok(Ok(done)) => done.into_ptr(),
            Ok(Err(err)) => {
                err.restore(py);
                std::ptr::null_mut()
            }
            // Reported, and taken as logged (as `stdlib::log_call` takes a panic).
            Err(panic) => {
                crate::errors::report_lost_record(&*panic);
                true.into_pyobject(py)
                    .map_or(std::ptr::null_mut(), |t| t.to_owned().into_any().into_ptr())
            }
        }
    };
    // SAFETY: see `attached`; the rest is this function's own contract.
    unsafe { attached(body) }
}

/// `_kakashi._log_stdlib` as a vectorcall function; `None` on interpreters
/// before 3.10 (`kakashi.stdlib` calls the method there).
pub fn log_stdlib_function(py: Python<'_>) -> PyResult<Option<Bound<'_, PyCFunction>>> {
    if py.version_info() < (3, 10) {
        return Ok(None);
    }
    static DEF: OnceLock<Defs<1>> = OnceLock::new();
    let def = DEF.get_or_init(|| {
        Defs([ffi::PyMethodDef {
            ml_name: c"_log_stdlib".as_ptr(),
            ml_meth: ffi::PyMethodDefPointer {
                // SAFETY: CPython calls a METH_FASTCALL function through this
                // field with exactly the signature of `Fast`.
                PyCFunction: unsafe { std::mem::transmute::<Fast, ffi::PyCFunction>(log_stdlib_fn) },
            },
            ml_flags: METH_FASTCALL,
            ml_doc: c"_log_stdlib(logger, name, levelno, msg, args, extra, follow_global): logger._log_stdlib(name, ...)."
                .as_ptr(),
        }])
    });
    Ok(Some(function_of(py, &def.0[0], None)?))
}
