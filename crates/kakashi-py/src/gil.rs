//! Letting go of the interpreter lock and taking it back without ever
//! meeting a finalising interpreter.
//!
//! CPython before 3.14 ends any thread that takes the interpreter lock once
//! finalisation has begun with `pthread_exit`; the forced unwind through Rust
//! frames aborts the process. A daemon thread can meet that inside our code
//! in two ways: taking the lock back after a wait of ours, or running Python
//! code from inside a logging call (a value's `__str__`, `getMessage`, a
//! `default=` hook), which lets go of the lock and takes it back whenever
//! the interpreter switches threads. Three rules keep every thread out:
//!
//! - **Logging calls are counted** ([`Call`]) and **a wait of ours**
//!   ([`detach`]) too. The gate closes ([`close_gate`]) when the `atexit`
//!   registry is cleared, after every `atexit` handler has run (kakashi's
//!   own drain among them) and before the interpreter starts finalising:
//!   `_lifecycle.py` registers its handler with an object only the
//!   registry holds, whose `__del__` calls `_close_gate`. It waits, without
//!   the lock and for at most 10 s, until every call and wait of another
//!   thread has returned.
//! - **Past the gate**, another thread entering a logging call (not one
//!   nested in a call or a [`Section`] it is finishing) lets go of the lock and parks for
//!   good, the way CPython 3.14 treats such threads: its record is not
//!   written. Once the hook has stopped waiting, so does a thread coming
//!   back from a wait of ours. By then only daemon threads are left, which
//!   CPython would end at their next switch; the exiting thread logs as
//!   before. Not earlier (at kakashi's own `atexit` handler): handlers that
//!   run after it (`logging.shutdown`, a `QueueListener`'s `stop`, a
//!   `multiprocessing` pool's) wait for threads that log, and a parked one
//!   would hang them for ever. Why not a gate that turns values into text
//!   without Python code: every Python object would need a path that runs
//!   none (`__eq__` of a dict key, a property of an exception), and one
//!   missed is the abort this exists to prevent.
//! - **Python stages are sections** ([`Section`]): a worker's batch of
//!   Python stages (or a single stage) is counted while it runs outside a
//!   stage's own call, where it runs Python code of ours (reading the
//!   record an enricher returned, a filter's `__bool__`, printing a
//!   stage's error). The gate waits for those too. Past the gate a worker
//!   does not enter a section (its Python stages fail, counted, as after
//!   exit), and one coming back from a stage's call parks for good.
//! - A stage's own call goes through [`call`], whose frame catches the
//!   forced unwind and parks the thread for good instead: a worker still
//!   inside a stuck Python writer when the interpreter finalises is left
//!   parked, not killed, and the gate does not wait for it.
//!
//! Not covered: a call or section that has not returned 10 s after the gate
//! closed (a `__str__` that never ends), which can still meet finalisation.
#![allow(unsafe_code)]

use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed, Release, SeqCst};
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::time::{Duration, Instant};

use pyo3::prelude::*;
use pyo3::types::PyTuple;

/// Waits of ours running without the interpreter lock, right now. An
/// atomic, not a mutex: a forked child resets it, and a mutex another
/// thread held at the fork would stay locked in the child for ever.
static DETACHED: AtomicUsize = AtomicUsize::new(0);

fn count(delta: isize) {
    let _ = DETACHED.fetch_update(AcqRel, Acquire, |n| Some(n.saturating_add_signed(delta)));
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
    let result = py.detach(|| {
        let result = f();
        if sealed_for_this_thread() {
            count(-1);
            park_for_good();
        }
        result
    });
    drop(back);
    result
}

/// Logging calls in progress, on every thread. Changed only by a thread
/// that holds the interpreter lock, which orders the changes: a load and a
/// store, not a read-modify-write, on every call.
static CALLS: AtomicUsize = AtomicUsize::new(0);

/// The exit hook's thread once it has closed the gate; 0 while it is open.
static GATE: AtomicUsize = AtomicUsize::new(0);

/// Set once the exit hook has stopped waiting: from then on a wait of
/// another thread does not take the lock back.
static SEALED: AtomicBool = AtomicBool::new(false);

/// An identity of the calling thread, unique among live threads (the
/// address of a thread-local; never 0).
fn this_thread() -> usize {
    thread_local! {
        static ME: u8 = const { 0 };
    }
    ME.with(|me| me as *const u8 as usize)
}

/// Whether a wait of this thread that ends now parks instead of taking the
/// interpreter lock back (the exit hook has stopped waiting for it).
pub(crate) fn sealed_for_this_thread() -> bool {
    SEALED.load(Acquire) && gate_closed_for_this_thread()
}

fn gate_closed_for_this_thread() -> bool {
    let exiting = GATE.load(Relaxed);
    exiting != 0 && exiting != this_thread()
}

fn park_for_good() -> ! {
    loop {
        std::thread::park();
    }
}

/// A logging call made from Python on this thread, counted while alive (see
/// the module docs). Made first thing in every entry point that turns
/// Python values into a record, with the interpreter lock held.
pub(crate) struct Call(());

impl Call {
    /// Enters a logging call; past the exit gate, on any thread but the
    /// exit hook's, lets go of the interpreter lock and never returns.
    #[inline]
    pub(crate) fn enter(py: Python<'_>) -> Call {
        let depth = DEPTH.with(|d| d.replace(d.get() + 1));
        // Not a worker inside a section (a `__del__` of a stage's result
        // that logs): the gate is waiting for that section to end.
        if GATE.load(Relaxed) != 0
            && depth == 0
            && SECTION_DEPTH.with(|d| d.get()) == 0
            && gate_closed_for_this_thread()
        {
            py.detach(|| park_for_good());
        }
        CALLS.store(CALLS.load(Relaxed) + 1, Relaxed);
        Call(())
    }
}

impl Drop for Call {
    #[inline]
    fn drop(&mut self) {
        DEPTH.with(|d| d.set(d.get().saturating_sub(1)));
        // Saturating: a child forked inside a call starts from 0.
        CALLS.store(CALLS.load(Relaxed).saturating_sub(1), Relaxed);
    }
}

thread_local! {
    /// This thread's logging calls in progress: a call nested in one (a
    /// value's `__str__` that logs) finishes its work past the gate, which
    /// is waiting for the outer one.
    static DEPTH: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// Sections of Python stages running outside a stage's own [`call`], on
/// every thread. Changed by workers before they take the interpreter lock:
/// a read-modify-write, sequentially consistent with the gate's closing
/// (a section either sees the gate closed or is seen by it).
static SECTIONS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// This thread's nested sections (a batch's, then each stage's).
    static SECTION_DEPTH: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

/// Python stages running on this thread, counted while alive (see the
/// module docs). Taken before the interpreter lock.
pub(crate) struct Section(());

impl Section {
    /// Enters a section, or `None` when Python stages must not run on this
    /// thread any more: the interpreter is gone, or the gate is closed and
    /// this is neither the exiting thread nor one inside a logging call.
    pub(crate) fn enter() -> Option<Section> {
        let depth = SECTION_DEPTH.with(|d| d.get());
        if depth > 0 {
            SECTION_DEPTH.with(|d| d.set(depth + 1));
            return Some(Section(()));
        }
        if closed_to_stages() {
            return None;
        }
        SECTIONS.fetch_add(1, SeqCst);
        if closed_to_stages() {
            SECTIONS.fetch_sub(1, SeqCst);
            return None;
        }
        SECTION_DEPTH.with(|d| d.set(1));
        Some(Section(()))
    }
}

impl Drop for Section {
    fn drop(&mut self) {
        let depth = SECTION_DEPTH.with(|d| d.replace(d.get().saturating_sub(1)));
        if depth == 1 {
            leave_section();
        }
    }
}

/// Saturating: a child forked inside a section starts from 0.
fn leave_section() {
    let _ = SECTIONS.fetch_update(SeqCst, SeqCst, |n| Some(n.saturating_sub(1)));
}

/// Whether Python stages stay out of this thread: the interpreter is gone,
/// or the gate is closed to it and it is not finishing a logging call.
fn closed_to_stages() -> bool {
    crate::stages::PYTHON_GONE.load(SeqCst)
        || (GATE.load(SeqCst) != 0 && DEPTH.with(|d| d.get()) == 0 && gate_closed_for_this_thread())
}

/// A forked child has only the forking thread: no other call, wait or
/// section of ours is in progress there, and the gate is open (the child of
/// a fork made while the parent exited runs on).
pub(crate) fn after_fork_in_child() {
    GATE.store(0, Relaxed);
    SEALED.store(false, Relaxed);
    CALLS.store(0, Relaxed);
    DETACHED.store(0, Relaxed);
    SECTIONS.store(0, Relaxed);
    SECTION_DEPTH.with(|d| d.set(0));
}

/// After every `atexit` handler, on the exiting thread: closes the gate
/// and waits (without the lock, so that they can take it) until every
/// logging call, every [`detach`] and every [`Section`] of another thread
/// has returned, or `timeout`.
pub(crate) fn close_gate(py: Python<'_>, timeout: Duration) {
    GATE.store(this_thread(), SeqCst);
    let deadline = Instant::now() + timeout;
    py.detach(|| {
        // Calls and waits end without a signal: look again every millisecond.
        while (DETACHED.load(Acquire) > 0 || CALLS.load(Relaxed) > 0 || SECTIONS.load(SeqCst) > 0)
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(1));
        }
        SEALED.store(true, Release);
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
        park_for_good();
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
    // Inside a section, the call is guarded: the gate need not wait for it.
    let counted = SECTION_DEPTH.with(|d| d.get()) > 0;
    if counted {
        leave_section();
    }
    let park = Park;
    // SAFETY: the interpreter lock is held (`py`); `f` and `args` are live
    // objects borrowed for the call; a null `kwargs` means none. The call
    // returns a new reference or null with an exception set, which
    // `from_owned_ptr_or_err` takes over.
    let result = unsafe { raw::PyObject_Call(f.as_ptr(), args.as_ptr(), std::ptr::null_mut()) };
    std::mem::forget(park);
    // Looked at again: a child forked during the call starts with none.
    if counted && SECTION_DEPTH.with(|d| d.get()) > 0 {
        SECTIONS.fetch_add(1, SeqCst);
        if closed_to_stages() {
            // The gate closed during the call and may be past waiting: run
            // no more Python code here (not even the result's `__del__`).
            leave_section();
            py.detach(|| park_for_good());
        }
    }
    // SAFETY: see above: a new (owned) reference, or null with an error set.
    unsafe { Bound::from_owned_ptr_or_err(py, result) }
}
