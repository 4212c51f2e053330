//! Shutdown reports, the registry of live backends, and the exit hooks that
//! flush them without the user holding a guard.
//!
//! Every backend registers itself here when it starts. At normal process exit
//! (`main` returning, `std::process::exit`) a C `atexit` handler shuts them
//! down, draining their queues within the longest `shutdown_timeout` in
//! total. A panic hook flushes them too, so the records leading up to a
//! crash are on disk: after the panic message is printed, within
//! [`PANIC_FLUSH`] in total, never from inside a stage (a stage's panic is
//! its failure, counted and reported by the backend) and never waiting for
//! a lock without a deadline, so a panic while a writer is stuck still ends.

use std::sync::{Arc, Mutex, Once, Weak};
use std::time::{Duration, Instant};

use super::stages::in_stage;
use super::stats::Stats;
use super::timed_lock::{lock, try_lock};
use super::Shared;

/// The longest a panic hook spends flushing, over every backend.
pub const PANIC_FLUSH: Duration = Duration::from_secs(1);

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

pub(super) static REGISTRY: Mutex<Vec<Weak<Shared>>> = Mutex::new(Vec::new());
static HOOKS: Once = Once::new();
/// The totals of backends that are gone, so that global counters never go
/// backwards when one is dropped.
pub(super) static RETIRED: Mutex<Option<Stats>> = Mutex::new(None);

/// Keeps a dropped backend's totals (not its gauges: queue, workers).
pub(crate) fn retire(stats: &Stats) {
    lock(&RETIRED)
        .get_or_insert_with(Stats::default)
        .add_totals(stats);
}

/// The totals of every backend dropped so far.
pub(crate) fn retired() -> Option<Stats> {
    lock(&RETIRED).clone()
}

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

/// The longest `shutdown_timeout` of `backends`: the one deadline of a
/// flush or shutdown of them all.
pub(crate) fn longest_shutdown_timeout(backends: &[Arc<Shared>]) -> Duration {
    backends
        .iter()
        .map(|b| b.config.shutdown_timeout)
        .max()
        .unwrap_or_default()
}

extern "C" fn at_exit() {
    let backends = all_backends();
    let deadline = Instant::now() + longest_shutdown_timeout(&backends);
    for backend in backends {
        backend.shutdown(deadline.saturating_duration_since(Instant::now()));
    }
}

fn install_hooks() {
    if !crate::sys::at_exit(at_exit) {
        eprintln!("kakashi: could not register the exit flush; call shutdown_async_backend() before exiting");
    }
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if in_stage() {
            // A stage's panic: caught, counted and reported by the backend
            // (once, then as a count), not once per record here.
            return;
        }
        previous(info);
        // A worker must not wait for itself; the registry may be held by
        // this very thread (a panic while registering).
        if super::on_worker_thread() {
            return;
        }
        let Some(registry) = try_lock(&REGISTRY) else {
            return;
        };
        let backends: Vec<Arc<Shared>> = registry.iter().filter_map(Weak::upgrade).collect();
        drop(registry);
        let deadline = Instant::now() + PANIC_FLUSH;
        // Only running backends: a stopped one would be drained on this
        // thread, which may wait for another caller's write.
        for backend in backends.iter().filter(|b| b.is_running()) {
            backend.flush_until(deadline);
        }
    }));
}

// === SIGTERM ===

/// Opt-in: on SIGTERM, drain every backend within `timeout`, then let
/// SIGTERM do what it did before (by default, end the process, whose exit
/// status then says SIGTERM, as if kakashi were not there).
///
/// SIGTERM's default action ends the process at once, with whatever is still
/// queued lost; so does SIGKILL, always. The handler itself only writes to a
/// pipe; a thread named `kakashi-sigterm` does the draining, so nothing that
/// is not async-signal-safe runs in the handler. The handler is installed
/// once; a later call only sets the timeout. Not on Windows.
///
/// # Errors
/// The OS error when the pipe, the handler or the thread cannot be made.
#[cfg(unix)]
pub fn install_sigterm_handler(timeout: Duration) -> std::io::Result<()> {
    static TIMEOUT: Mutex<Option<Duration>> = Mutex::new(None);
    let mut installed = lock(&TIMEOUT);
    let first = installed.is_none();
    *installed = Some(timeout);
    if !first {
        return Ok(());
    }
    let fd = match crate::sys::catch_sigterm() {
        Ok(fd) => fd,
        Err(e) => {
            *installed = None;
            return Err(e);
        }
    };
    drop(installed);
    std::thread::Builder::new()
        .name("kakashi-sigterm".into())
        .spawn(move || {
            crate::sys::wait_for_sigterm(fd);
            let timeout = lock(&TIMEOUT).unwrap_or_default();
            let deadline = Instant::now() + timeout;
            for backend in all_backends() {
                backend.shutdown(deadline.saturating_duration_since(Instant::now()));
            }
            crate::sys::resend_sigterm();
        })?;
    Ok(())
}
