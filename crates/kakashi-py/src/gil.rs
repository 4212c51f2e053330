//! Letting go of the interpreter lock and taking it back without ever
//! meeting a finalising interpreter.
//!
//! CPython before 3.14 ends any thread that takes the interpreter lock once
//! finalisation has begun with `pthread_exit`; the forced unwind through Rust
//! frames aborts the process. Two rules keep our threads, and the user's
//! threads inside our code, out of that:
//!
//! - A caller's wait ([`detach`]) is counted while it runs. At exit,
//!   `_at_exit` drains every backend, sets [`PYTHON_GONE`](crate::stages::PYTHON_GONE),
//!   then waits ([`wait_for_detached`], at most 10 s) until every such wait
//!   has taken the lock back, before the interpreter starts finalising; from
//!   then on no logging call lets go of the lock (there is no worker left
//!   that needs it: Python stages no longer run). Not covered: a wait that
//!   lasts longer than that (a daemon thread's own `flush` or `shutdown`
//!   with a longer timeout), which can still meet finalisation.
//! - A worker calls a Python stage through [`call`], whose frame catches the
//!   forced unwind and parks the thread for good instead: a worker still
//!   inside a stuck Python writer when the interpreter finalises is left
//!   parked, not killed (the way CPython 3.14 treats such threads).
#![allow(unsafe_code)]

use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use pyo3::prelude::*;
use pyo3::types::PyTuple;

/// Waits of ours running without the interpreter lock, right now.
static DETACHED: Mutex<usize> = Mutex::new(0);
static RETURNED: Condvar = Condvar::new();

fn count(delta: isize) {
    let mut n = DETACHED.lock().unwrap_or_else(|e| e.into_inner());
    *n = n.saturating_add_signed(delta);
    if *n == 0 {
        RETURNED.notify_all();
    }
}

/// Runs `f` without the interpreter lock (PyO3's `detach`), counted so that
/// the exit hook can wait for it to come back before finalisation.
pub(crate) fn detach<T: Send>(py: Python<'_>, f: impl FnOnce() -> T + Send) -> T {
    count(1);
    struct Back;
    impl Drop for Back {
        fn drop(&mut self) {
            count(-1);
        }
    }
    let back = Back;
    let result = py.detach(f);
    drop(back);
    result
}

/// At exit, after the drain: waits (without the lock, so they can take it)
/// until every [`detach`] of another thread has returned, or `timeout`.
pub(crate) fn wait_for_detached(py: Python<'_>, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    py.detach(|| {
        let mut n = DETACHED.lock().unwrap_or_else(|e| e.into_inner());
        while *n > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            n = RETURNED
                .wait_timeout(n, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    });
}

mod raw {
    use pyo3::ffi::PyObject;

    // Declared "C-unwind" (pyo3-ffi declares it "C"): the interpreter may
    // end the calling thread with a forced unwind from inside the call, and
    // only then does this frame's guard run.
    extern "C-unwind" {
        pub fn PyObject_Call(
            callable: *mut PyObject,
            args: *mut PyObject,
            kwargs: *mut PyObject,
        ) -> *mut PyObject;
    }
}

/// Dropped only by a forced unwind through [`call`]: parks the thread for
/// good (it holds no interpreter lock then; the process is exiting).
struct Park;

impl Drop for Park {
    fn drop(&mut self) {
        loop {
            std::thread::park();
        }
    }
}

/// Calls `f(arg)` from a worker. If the interpreter ends this thread during
/// the call (`pthread_exit` while finalising), the thread parks forever
/// instead of unwinding through Rust frames (which aborts the process).
pub(crate) fn call<'py>(
    py: Python<'py>,
    f: &Bound<'py, PyAny>,
    arg: Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let args = PyTuple::new(py, [arg])?;
    let park = Park;
    // SAFETY: the interpreter lock is held (`py`); `f` and `args` are live
    // objects borrowed for the call; a null `kwargs` means none. The call
    // returns a new reference or null with an exception set, which
    // `from_owned_ptr_or_err` takes over.
    let result = unsafe { raw::PyObject_Call(f.as_ptr(), args.as_ptr(), std::ptr::null_mut()) };
    std::mem::forget(park);
    // SAFETY: see above: a new (owned) reference, or null with an error set.
    unsafe { Bound::from_owned_ptr_or_err(py, result) }
}
