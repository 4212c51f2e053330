//! A forked child's interpreter, readied for the backends' threads: on
//! CPython 3.11 and 3.12, a child forked off a thread other than the main
//! one aborts ("init_threadstate: thread state already initialized") the
//! first time a thread without a Python thread state enters Python after
//! the forking thread's has gone: with no thread state left in its list,
//! the interpreter reuses its built-in first one, which the fork left
//! marked as in use (3.13 resets it). kakashi's workers are such threads
//! (they run Python writers and the drain at the child's end), so the
//! child keeps one thread state of its own in the list for its whole life.
//!
//! This module, `fastcall.rs` and `frames.rs` hold the crate's `unsafe` code.

#![allow(unsafe_code)]

use pyo3::ffi;
use pyo3::prelude::*;

/// In a child forked off a thread other than the main one, on CPython
/// 3.11 and 3.12: adds a thread state bound to no thread to the
/// interpreter's list, never removed (a later fork's child drops it with
/// every other thread's). Needs the interpreter lock (the fork hook has
/// it). `PyInterpreterState_Get` is looked up at run time: the stable ABI
/// the wheel is built for (3.7) does not have it.
pub(crate) fn keep_a_thread_state(py: Python<'_>) {
    if !kakashi::binding::forked_off_main_thread() {
        return;
    }
    let version = py.version_info();
    if !((3, 11)..(3, 13)).contains(&(version.major, version.minor)) {
        return;
    }
    // SAFETY: dlsym(3) with a NUL-terminated name; RTLD_DEFAULT searches the
    // objects loaded globally, the interpreter's among them.
    let get = unsafe { libc::dlsym(libc::RTLD_DEFAULT, c"PyInterpreterState_Get".as_ptr()) };
    if get.is_null() {
        return;
    }
    // SAFETY: the symbol is CPython's `PyInterpreterState *
    // PyInterpreterState_Get(void)` (3.9 and later, checked above).
    let get: unsafe extern "C" fn() -> *mut ffi::PyInterpreterState =
        unsafe { std::mem::transmute(get) };
    // SAFETY: called holding the interpreter lock (`py`), as both functions
    // require; `PyThreadState_New` binds the new state to no thread when the
    // calling thread has one (the forking thread does), and it is never
    // deleted here: it only has to be in the list.
    unsafe {
        let interpreter = get();
        if !interpreter.is_null() {
            ffi::PyThreadState_New(interpreter);
        }
    }
}
