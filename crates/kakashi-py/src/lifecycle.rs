//! The interpreter's lifecycle, as the Python package reports it: exit
//! (drain every backend, bound `block` waits) and fork (park the workers,
//! fresh ones in the child).

use std::sync::atomic::Ordering::Relaxed;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::time::{Duration, Instant};

use pyo3::prelude::*;

use crate::gil;
use crate::stages::{self, PYTHON_GONE};

/// The interpreter is exiting (kakashi's `atexit` handler), or a
/// `multiprocessing` child is about to `os._exit`: drain and stop every
/// backend while Python stages can still run, within the longest
/// configured `shutdown_timeout` (as a Rust program's exit does). Records
/// logged after it (by later `atexit` handlers: `logging.shutdown` flushing
/// a `MemoryHandler`) are written on the caller's thread.
#[pyfunction]
pub(crate) fn _at_exit(py: Python<'_>) {
    gil::detach(py, || {
        kakashi::shutdown_async_backend(kakashi::binding::exit_drain_timeout());
    });
}

/// Every `atexit` handler has run and finalisation is next: close the gate
/// (wait for every other thread inside a logging call or a wait of ours to
/// return, and keep them out from then on; see `gil.rs`), then stop
/// running Python stages and writers. Only once the interpreter is
/// exiting ([`_exiting`] was called, or `by_the_exit`: the registry is
/// being cleared by the exit itself): a program that clears the `atexit`
/// registry itself (`atexit._clear()`) runs on with its threads.
#[pyfunction]
pub(crate) fn _close_gate(py: Python<'_>, by_the_exit: bool) {
    if !exiting() && !by_the_exit {
        return;
    }
    gil::close_gate(py, Duration::from_secs(10));
    PYTHON_GONE.store(true, Relaxed);
    stages::release_all(py);
}

/// When the interpreter started exiting, and how long a `block` wait may
/// then go on without room (the longest configured `shutdown_timeout`).
static EXIT: std::sync::OnceLock<(Instant, Duration)> = std::sync::OnceLock::new();

/// Set once a `block` wait has had its time at exit: a writer is stuck, and
/// every later wait ends at once.
static EXIT_STUCK: AtomicBool = AtomicBool::new(false);

/// Whether the interpreter is exiting ([`_exiting`] was called).
pub(crate) fn exiting() -> bool {
    EXIT.get().is_some()
}

/// When, since the exit began (nanoseconds), a wait last ended with room.
static LAST_ROOM: AtomicU64 = AtomicU64::new(0);

/// A `block` wait ended with room: the writers are moving.
pub(crate) fn note_room() {
    if let Some((at, _)) = EXIT.get() {
        let since = u64::try_from(at.elapsed().as_nanos()).unwrap_or(u64::MAX);
        LAST_ROOM.fetch_max(since, Relaxed);
    }
}

/// Whether a `block` wait that began at `began` is to end now: the
/// interpreter is exiting and, for the allowance, neither this wait nor
/// any other has had room since the later of its start and the exit's; or
/// an earlier wait has ended so. A writer that is slow but writes keeps
/// giving room (to some thread), and loses nothing; one stuck for ever
/// cannot hold the exit, and after the first wait none waits again.
pub(crate) fn exit_wait_over(began: Instant) -> bool {
    let Some((at, allowed)) = EXIT.get() else {
        return false;
    };
    if EXIT_STUCK.load(Relaxed) {
        return true;
    }
    let last_room = *at + Duration::from_nanos(LAST_ROOM.load(Relaxed));
    let from = began.max(*at).max(last_room);
    let over = Instant::now().saturating_duration_since(from) >= *allowed;
    if over {
        EXIT_STUCK.store(true, Relaxed);
    }
    over
}

/// `threading._register_atexit`: the interpreter is exiting (non-daemon
/// threads are joined next, then `atexit` handlers run). From now on a
/// `block` wait ends once it has waited the longest configured
/// `shutdown_timeout` (the record counted as `interrupted`; see
/// [`exit_wait_over`]), so that a writer stuck for ever cannot keep a
/// thread or an `atexit` handler that logs, and so the process, from
/// exiting. Called at import instead when kakashi is first imported while
/// the interpreter exits.
#[pyfunction]
pub(crate) fn _exiting(py: Python<'_>) {
    // The backends' registry without the interpreter lock: a thread
    // preparing a fork holds it, and needs the lock back to fork.
    let allowed = gil::detach(py, kakashi::binding::exit_drain_timeout);
    let _ = EXIT.set((Instant::now(), allowed));
}

/// `os.register_at_fork(before=...)`: park the workers between batches, for
/// at most a second in all (a writer busy longer is abandoned by the child).
#[pyfunction]
pub(crate) fn _before_fork(py: Python<'_>) {
    // A daemon thread forking once the exit gate is sealed: its wait would
    // park holding the registries `prepare_fork` takes across the fork
    // (and the process's exit would wait for them for ever). The backends
    // are stopped by then; the fork goes ahead without parking workers.
    if gil::sealed_for_this_thread() {
        return;
    }
    gil::detach(py, || kakashi::prepare_fork(Duration::from_secs(1)));
}

/// `os.register_at_fork(after_in_parent=...)`.
#[pyfunction]
pub(crate) fn _after_fork_in_parent() {
    kakashi::after_fork_in_parent();
}

/// `os.register_at_fork(after_in_child=...)`: fresh workers in the child.
#[pyfunction]
pub(crate) fn _after_fork_in_child(py: Python<'_>) {
    gil::after_fork_in_child();
    kakashi::after_fork_in_child();
    crate::fork_child::keep_a_thread_state(py);
}
