//! Shutdown reports, the registry of live backends, and the exit hooks that
//! flush them without the user holding a guard.
//!
//! Every backend registers itself here when it starts. At normal process exit
//! (`main` returning, `std::process::exit`) a C `atexit` handler shuts each
//! one down, draining its queue within its `shutdown_timeout`. A panic hook
//! flushes them too, so the records leading up to a crash are on disk.

use std::sync::{Arc, Mutex, Once, Weak};
use std::time::Duration;

use super::run::lock;
use super::Shared;

/// What [`shutdown`](super::Backend::shutdown) achieved.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ShutdownReport {
    /// Every queued record was handed to the writers and the workers exited.
    pub drained: bool,
    /// Records still queued when the timeout expired, now counted as dropped
    /// (reason `shutdown_timeout`).
    pub dropped: u64,
    /// Records a worker was still writing when the timeout expired; they are
    /// counted when that write ends.
    pub in_flight: u64,
    /// How long shutdown took.
    pub elapsed: Duration,
}

impl ShutdownReport {
    /// True when nothing was left behind.
    pub fn completed(&self) -> bool {
        self.drained && self.dropped == 0 && self.in_flight == 0
    }

    /// Adds another backend's report (for the global shutdown).
    pub fn merge(&mut self, other: &ShutdownReport) {
        self.drained &= other.drained;
        self.dropped += other.dropped;
        self.in_flight += other.in_flight;
        self.elapsed = self.elapsed.max(other.elapsed);
    }
}

static REGISTRY: Mutex<Vec<Weak<Shared>>> = Mutex::new(Vec::new());
static HOOKS: Once = Once::new();

/// Adds a backend to the registry and installs the exit hooks once.
pub(crate) fn register(shared: &Arc<Shared>) {
    let mut all = lock(&REGISTRY);
    all.retain(|w| w.strong_count() > 0);
    all.push(Arc::downgrade(shared));
    drop(all);
    HOOKS.call_once(install_hooks);
}

/// Every backend still alive, oldest first.
pub(crate) fn all_backends() -> Vec<Arc<Shared>> {
    lock(&REGISTRY).iter().filter_map(Weak::upgrade).collect()
}

extern "C" fn at_exit() {
    for backend in all_backends() {
        let timeout = backend.config.shutdown_timeout;
        backend.shutdown(timeout);
    }
}

fn install_hooks() {
    if !crate::sys::at_exit(at_exit) {
        eprintln!("kakashi: could not register the exit flush; call shutdown_async_backend() before exiting");
    }
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        // A panic caught inside a worker (a user's writer) must not wait for
        // that same worker.
        if !super::on_worker_thread() {
            for backend in all_backends() {
                backend.flush(backend.config.shutdown_timeout.min(Duration::from_secs(2)));
            }
        }
        previous(info);
    }));
}

// === fork ===

/// Call just before `fork()`: stops every backend's workers between two
/// batches, so that the child inherits no lock held by a thread it lacks.
/// Returns after at most `timeout` per backend even if a writer is stuck.
pub fn prepare_fork(timeout: Duration) {
    for backend in all_backends() {
        backend.prepare_fork(timeout);
    }
}

/// Call in the parent just after `fork()`: the workers go on.
pub fn after_fork_in_parent() {
    for backend in all_backends() {
        backend.resume_after_fork();
    }
}

/// Call in the child just after `fork()`: every backend gets fresh workers,
/// an empty queue (what was queued is the parent's to write) and zeroed
/// counters. Loggers made before the fork keep working.
pub fn after_fork_in_child() {
    crate::record::FORK_GENERATION.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    crate::clock::after_fork_in_child();
    for backend in all_backends() {
        backend.restart_in_child();
    }
}
