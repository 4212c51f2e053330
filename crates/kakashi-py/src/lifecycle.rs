//! The interpreter's lifecycle, as the Python package reports it: exit
//! (drain every backend, bound `block` waits) and fork (park the workers,
//! fresh ones in the child).

use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

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
/// exiting ([`_exiting`] was called): a program that clears the `atexit`
/// registry itself (`atexit._clear()`) runs on with its threads.
#[pyfunction]
pub(crate) fn _close_gate(py: Python<'_>) {
    if EXIT_DEADLINE.get().is_none() {
        return;
    }
    gil::close_gate(py, Duration::from_secs(10));
    PYTHON_GONE.store(true, Relaxed);
    stages::release_all(py);
}

/// When `block` waits stop waiting: set when the interpreter starts exiting.
pub(crate) static EXIT_DEADLINE: std::sync::OnceLock<std::time::Instant> =
    std::sync::OnceLock::new();

/// `threading._register_atexit`: the interpreter is exiting (non-daemon
/// threads are joined, `atexit` handlers are next). From now on a `block`
/// wait for room ends within the longest configured `shutdown_timeout`, the
/// exit drain's own bound (the record counted as `interrupted`), so that a
/// writer stuck for ever cannot keep an `atexit` handler that logs, and so
/// the process, from exiting.
#[pyfunction]
pub(crate) fn _exiting() {
    let wait = kakashi::binding::exit_drain_timeout();
    let _ = EXIT_DEADLINE.set(std::time::Instant::now() + wait);
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
pub(crate) fn _after_fork_in_child() {
    gil::after_fork_in_child();
    kakashi::after_fork_in_child();
}
