//! The asynchronous backend: a bounded queue drained in batches by worker
//! threads, writing in the order records were accepted.
//!
//! ```
//! use kakashi::{AsyncConfig, Backend, OverflowStrategy, PipelineConfig, Level};
//! use kakashi::testing::MemoryWriter;
//!
//! let memory = MemoryWriter::new();
//! let backend = Backend::new(AsyncConfig {
//!     max_queue_size: 1_000,
//!     worker_count: 2,
//!     overflow_strategy: OverflowStrategy::Block,
//!     ..AsyncConfig::default()
//! })?;
//! let logger = backend.logger("app", PipelineConfig::new().writer(memory.clone()));
//! for i in 0..100 {
//!     kakashi::info!(logger, "tick", i = i);
//! }
//! backend.flush();
//! assert_eq!(memory.lines().len(), 100);
//! let report = backend.shutdown(std::time::Duration::from_secs(5));
//! assert!(report.completed());
//! assert!(backend.stats().is_balanced());
//! # Ok::<(), kakashi::ConfigError>(())
//! ```
//!
//! How a batch flows: a worker takes the consumer lock, takes a ticket and
//! pops up to `batch_size` items, and lets go of the lock; it enriches,
//! filters and formats the batch in parallel with other workers; then, in
//! its ticket's turn, it writes, or, when an earlier batch is not written
//! yet, leaves its batch for the worker writing that one and goes back to
//! the queue. Formatting scales with workers; writing stays in acceptance
//! order.
//!
//! Guarantees:
//! - every record submitted ends as written, dropped (with a reason),
//!   filtered or failed, and [`Stats`] says which;
//! - each writer receives records in the order they were accepted, across
//!   shutdown too: a record logged after shutdown goes through the queue and
//!   the caller writes it in ticket order, so it never overtakes an earlier
//!   one;
//! - [`Backend::flush`] returns when everything accepted before the call is
//!   processed and the writers have flushed, or at its timeout;
//! - [`Backend::shutdown`] drains, flushes and joins, or at its timeout
//!   counts what was left and returns; logging afterwards is written on the
//!   caller's thread (`fallback_to_sync`) or counted as dropped.
//!
//! # Layout
//!
//! The files follow a record's path:
//!
//! - `config.rs`: [`AsyncConfig`], its defaults and validation;
//! - `submit.rs`: the call site, from a logging call to its record in the
//!   queue (or written on the caller's thread, or dropped);
//! - `queue.rs` and `ring.rs`: the bounded queue and the parking of both
//!   sides; `overflow.rs`: what a full queue does, and how any drop is
//!   counted;
//! - `worker.rs`: the workers, which take batches with their tickets and
//!   prepare them;
//! - `order.rs`: the turns in which prepared batches are written, in
//!   ticket order;
//! - `stages/`: a pipeline's stages run on a batch (enrich, filter,
//!   format; then write), and `timed_lock.rs`, the writers' lock;
//!
//! and around that path: `shutdown.rs` (flush, shutdown, the registry of
//! backends, the exit hooks), `fork.rs` (fork preparation and every reset in
//! a forked child) and `stats.rs` (the counters and their snapshot). This
//! file holds [`Backend`], the state its parts share (`BackendCore`, the
//! consumer lock) and these docs.
//!
//! # Lock discipline
//!
//! The rules that make a deadlock impossible, for every thread, including a
//! binding's interpreter lock (Python's GIL):
//!
//! 1. **Order.** A backend's locks (`consumer`, `turn` in `order.rs`, an
//!    output's writers in `stages/`) come first, the interpreter lock
//!    last: a thread running Python stages takes it inside `prepare` and
//!    inside a Python writer, which may hold the writers lock. The leaf
//!    locks (queue parking, flush signals, the registry) are never held
//!    while waiting for anything.
//! 2. **No wait under the interpreter lock.** Every wait a logging call,
//!    `flush` or `shutdown` makes (for room, for a turn, for the writers) runs
//!    inside the binding's `around_wait`, which releases the interpreter lock:
//!    the worker it waits for may need it. Workers take it only inside a
//!    stage, never while waiting for a backend lock.
//! 3. **Nobody waits for their own thread.** A record logged from inside a
//!    stage never waits: it is enqueued if there is room, else dropped and
//!    counted (`dropped_reentrant`); `flush` from a stage returns false and
//!    `shutdown` from a stage does not wait for the workers. A signal handler
//!    that interrupted this thread while it held the consumer lock is treated
//!    the same way. The panic hook does nothing inside a stage.
//! 4. **Every wait for a worker ends.** `flush`, `shutdown`, the exit drain,
//!    the panic hook and fork preparation have deadlines, and the writers
//!    lock (`timed_lock.rs`) can be waited for until a deadline. After a
//!    shutdown timed out, nothing waits for a worker still stuck in a
//!    writer: what is logged then is counted as dropped (`backend_stopped`).
//!    Two waits have no deadline: `block`'s wait for room while workers are
//!    writing, which is the strategy's promise (a binding can end it:
//!    `dropped_interrupted`), and a caller writing on its own thread (a
//!    synchronous backend, or after shutdown) waiting for another caller's
//!    write in progress, as a plain synchronous logger would.
//! 5. **Fork** (`fork.rs`). Before `fork()` workers park between batches
//!    (within a deadline); a child never waits for a lock a thread of the
//!    parent held: the queue's locks are checked with `try_lock` (else the
//!    child logs synchronously), writers held at the fork are abandoned
//!    (their records fail, counted), and the workers' lifecycle locks
//!    (started, parked, exited) are replaced by fresh ones
//!    (`fork_cell.rs`).

mod config;
mod fork;
mod nesting;
mod order;
pub(crate) mod overflow;
mod queue;
mod ring;
mod shutdown;
pub(crate) mod stages;
pub(crate) mod stats;
mod submit;
mod timed_lock;
mod worker;

pub(crate) use timed_lock::{lock, try_lock};

pub use config::{
    count_setting, retries_setting, seconds_setting, timeout_setting, AsyncConfig,
    DEFAULT_BATCH_SIZE, DEFAULT_MAX_QUEUE_SIZE, MAX_TIMEOUT,
};
pub use fork::{after_fork_in_child, after_fork_in_parent, prepare_fork};
pub use overflow::OverflowStrategy;
#[cfg(unix)]
pub use shutdown::install_sigterm_handler;
pub use shutdown::ShutdownReport;
pub use stats::{State, Stats, WriterStats};

pub(crate) use fork::{
    forked_off_main_thread, lock_for_fork, program_has_ended, HeldForFork, OwnThread,
};
pub(crate) use shutdown::{all_backends, longest_shutdown_timeout, register, retired, stop_all};

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering::*};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use order::Turn;
use queue::Queue;
use ring::Popper;
use stages::{Route, Stages};
use stats::Counters;
use worker::on_worker_thread;

use crossbeam_utils::CachePadded;

use crate::error::ConfigError;
use crate::fork_cell::ForkCell;
use crate::logger::Logger;
use crate::pipeline::PipelineConfig;

// === The state a backend's parts share ===

/// `BackendCore::state`: taking records into the queue, for the workers.
const RUNNING: u8 = 0;
/// Shutdown began: records still go through the queue while workers drain.
const STOPPING: u8 = 1;
/// Shut down: a record is queued and written by its caller, or dropped.
const STOPPED: u8 = 2;
/// No workers (no queue, or a forked child that could not restart them):
/// every record is written on its caller's thread.
const SYNCHRONOUS: u8 = 3;

/// The core of a backend, which its handles, loggers, workers and exit
/// hooks share (`Arc<BackendCore>`): the queue, the pipelines, the counters
/// and the locks and signals between them. Its methods live with the step
/// they belong to (see the layout).
pub(crate) struct BackendCore {
    pub(crate) config: AsyncConfig,
    queue: Queue,
    state: AtomicU8,
    /// Stop taking batches now (shutdown timed out).
    abort: AtomicBool,
    /// The queue is known to be full: `drop_newest` found it full and no
    /// worker has taken from it since, so calls drop their record before
    /// building it (`drop_if_known_full` in `overflow.rs`). Written only when
    /// it changes, so reading it costs a call next to nothing.
    known_full: CachePadded<AtomicBool>,
    /// Items the queue had taken when the counters were last reset (a
    /// forked child starts from zero).
    pushed_base: AtomicU64,
    fallback_to_sync: bool,
    /// Being stopped and then made synchronous ([`stop_all`] for a forked
    /// child's end): while stopped on the way, records are written as with
    /// `fallback_to_sync`, whatever it says, as they will be once it is
    /// synchronous.
    turning_synchronous: AtomicBool,
    /// Every pipeline registered on this backend, by route id.
    routes: RwLock<Vec<Arc<Stages>>>,
    pub(crate) counters: Counters,
    /// The queue's one consumer at a time, and the next ticket it hands out.
    consumer: Mutex<Consumer>,
    next_ticket: AtomicU64,
    /// Whose turn it is to write, and the batches waiting for theirs.
    turn: Mutex<Turn>,
    turn_cv: Condvar,
    active_workers: AtomicU64,
    /// Bumped when a forked child starts its own workers: a worker counts
    /// itself out of `active_workers` only if it was started in the current
    /// generation (in a real child the parent's workers do not exist; in a
    /// test that only pretends to fork, they do, and must not count).
    worker_generation: AtomicU64,
    /// The workers' lifecycle locks (exited, handles, parked), replaced in
    /// a forked child.
    lifecycle: ForkCell<Lifecycle>,
    /// Workers are to stop between batches (a fork is coming).
    paused: AtomicBool,
}

/// The locks and signals of the workers' lifecycle: started, parked for a
/// fork, exited. A forked child gets fresh ones (`ForkCell`): a worker of
/// the parent parking or exiting, or a thread shutting the backend down,
/// may have held them at the fork.
#[derive(Default)]
struct Lifecycle {
    /// Signalled when a worker exits.
    exited: Mutex<()>,
    exited_cv: Condvar,
    /// The running workers' threads, joined by shutdown once they end.
    handles: Mutex<Vec<JoinHandle<()>>>,
    /// Workers stopped between batches (a fork is coming).
    parked: Mutex<u64>,
    parked_cv: Condvar,
}

thread_local! {
    static HOLDS_CONSUMER: Cell<bool> = const { Cell::new(false) };
}

/// True while this thread holds a backend's consumer lock: only a signal
/// handler that interrupted it can log then, and it must not wait for room
/// or evict (only this thread, stopped in the handler, could make either
/// happen).
fn holds_consumer() -> bool {
    HOLDS_CONSUMER.try_with(Cell::get).unwrap_or(false)
}

/// The consumer lock, held (the thread is marked while it holds it, and
/// from just before it tries to take it: a signal that lands between the
/// lock's compare-and-swap and the mark must see the mark).
struct ConsumerLock<'a>(Option<MutexGuard<'a, Consumer>>);

fn mark_consumer(on: bool) {
    let _ = HOLDS_CONSUMER.try_with(|h| h.set(on));
}

impl Drop for ConsumerLock<'_> {
    fn drop(&mut self) {
        // Released first, unmarked after: never held unmarked.
        drop(self.0.take());
        mark_consumer(false);
    }
}

impl std::ops::Deref for ConsumerLock<'_> {
    type Target = Consumer;
    fn deref(&self) -> &Consumer {
        match &self.0 {
            Some(consumer) => consumer,
            None => unreachable!("held until dropped"),
        }
    }
}

impl std::ops::DerefMut for ConsumerLock<'_> {
    fn deref_mut(&mut self) -> &mut Consumer {
        match &mut self.0 {
            Some(consumer) => consumer,
            None => unreachable!("held until dropped"),
        }
    }
}

/// What the consumer lock guards: taking items out of the queue, and
/// numbering the batches so taken (their tickets).
struct Consumer {
    popper: Popper,
    next_ticket: u64,
}

impl BackendCore {
    fn state(&self) -> u8 {
        self.state.load(Acquire)
    }

    /// Taking records into the queue (not shut down, not synchronous).
    pub(crate) fn is_running(&self) -> bool {
        self.state() == RUNNING
    }

    fn routes_snapshot(&self) -> Vec<Arc<Stages>> {
        self.routes
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn lock_consumer(&self) -> ConsumerLock<'_> {
        mark_consumer(true);
        ConsumerLock(Some(lock(&self.consumer)))
    }

    fn try_lock_consumer(&self) -> Option<ConsumerLock<'_>> {
        mark_consumer(true);
        let guard = try_lock(&self.consumer).map(|g| ConsumerLock(Some(g)));
        if guard.is_none() {
            mark_consumer(false);
        }
        guard
    }

    fn stages_of(&self, id: u32) -> Arc<Stages> {
        Arc::clone(&self.routes.read().unwrap_or_else(|e| e.into_inner())[id as usize])
    }
}

// === Backend ===

/// A handle to a backend: a queue, its workers and its pipelines.
///
/// Clones share the backend. When the last handle (and every logger made
/// from it) is gone, the backend shuts down, draining its queue.
#[derive(Clone)]
pub struct Backend {
    pub(crate) core: Arc<BackendCore>,
    shutdown_on_drop: Arc<ShutdownOnDrop>,
}

/// Shuts the backend down when dropped: every handle (and so every logger)
/// shares one, so that drop is the last handle's.
struct ShutdownOnDrop(Arc<BackendCore>);

/// A [`Backend`] that does not keep it alive (a registry of shared backends).
pub(crate) struct WeakBackend {
    core: std::sync::Weak<BackendCore>,
    shutdown_on_drop: std::sync::Weak<ShutdownOnDrop>,
}

impl WeakBackend {
    /// Whether some handle or logger still holds the backend.
    pub(crate) fn is_alive(&self) -> bool {
        self.shutdown_on_drop.strong_count() > 0
    }

    /// The backend, while some handle or logger still holds it.
    pub(crate) fn upgrade(&self) -> Option<Backend> {
        Some(Backend {
            shutdown_on_drop: self.shutdown_on_drop.upgrade()?,
            core: self.core.upgrade()?,
        })
    }
}

impl Drop for BackendCore {
    fn drop(&mut self) {
        shutdown::retire(&self.stats());
    }
}

impl Drop for ShutdownOnDrop {
    fn drop(&mut self) {
        let timeout = self.0.config.shutdown_timeout;
        self.0.shutdown(timeout);
    }
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backend")
            .field("config", &self.core.config)
            .field("state", &self.core.stats().state)
            .finish_non_exhaustive()
    }
}

impl Backend {
    /// Validates `config` and starts its worker threads.
    ///
    /// # Errors
    /// [`ConfigError`] for an invalid setting or a thread that cannot start.
    pub fn new(config: AsyncConfig) -> Result<Backend, ConfigError> {
        Backend::build(config, true, true)
    }

    /// A backend without a queue: every record is processed on the caller's
    /// thread (`enable_async = false`).
    pub fn synchronous() -> Backend {
        Backend::build(AsyncConfig::default(), false, true)
            .unwrap_or_else(|_| unreachable!("the default config is valid and starts no thread"))
    }

    pub(crate) fn build(
        config: AsyncConfig,
        enable_async: bool,
        fallback_to_sync: bool,
    ) -> Result<Backend, ConfigError> {
        config.validate()?;
        // What the first logging call would otherwise find out, allocating
        // and locking (the clock's source, read from a file; this thread's
        // name, interned): done here, so that a signal handler that logs
        // cannot interrupt the setting-up thread's first call in the middle
        // of it and wait for itself.
        crate::clock::now_nanos();
        crate::record::Thread::current();
        // In a forked child whose program has ended, workers would keep it
        // alive for ever (`fork.rs`'s `EndOfChild`).
        let enable_async = enable_async && !program_has_ended();
        let capacity = if enable_async {
            config.max_queue_size
        } else {
            1
        };
        // Allocated up front (see `ring.rs`): a capacity within range may
        // still be more memory than there is, which must be an error here,
        // not an abort, nor an out-of-memory kill once the queue fills (an
        // allocator that reserves without committing, as mimalloc does for
        // the Python extension, never says no): more than the machine's
        // memory and swap is refused before allocating.
        let too_large = || {
            ConfigError::out_of_range(
                "max_queue_size",
                capacity,
                "a queue that fits in memory (its slots are allocated when the backend is made)",
            )
        };
        let needed = (capacity as u64).saturating_mul(Queue::SLOT_BYTES as u64);
        if crate::sys::memory_and_swap().is_some_and(|total| needed > total) {
            return Err(too_large());
        }
        let (queue, popper) = Queue::new(capacity, config.batch_limit()).ok_or_else(too_large)?;
        let shared = Arc::new(BackendCore {
            queue,
            state: AtomicU8::new(if enable_async { RUNNING } else { SYNCHRONOUS }),
            abort: AtomicBool::new(false),
            known_full: CachePadded::new(AtomicBool::new(false)),
            pushed_base: AtomicU64::new(0),
            fallback_to_sync,
            turning_synchronous: AtomicBool::new(false),
            routes: RwLock::new(Vec::new()),
            counters: Counters::default(),
            consumer: Mutex::new(Consumer {
                popper,
                next_ticket: 0,
            }),
            next_ticket: AtomicU64::new(0),
            turn: Mutex::new(Turn::default()),
            turn_cv: Condvar::new(),
            active_workers: AtomicU64::new(0),
            worker_generation: AtomicU64::new(0),
            lifecycle: ForkCell::new(),
            paused: AtomicBool::new(false),
            config,
        });
        if enable_async {
            if let Err(e) = BackendCore::spawn_workers(&shared) {
                shared.shutdown(Duration::from_secs(1));
                return Err(ConfigError::Spawn(e));
            }
        }
        register(&shared);
        if enable_async && program_has_ended() {
            // The child's program ended while this was being made: the end
            // may not have seen it in the registry.
            shared.shutdown_to_synchronous(shared.config.shutdown_timeout);
        }
        Ok(Backend {
            shutdown_on_drop: Arc::new(ShutdownOnDrop(Arc::clone(&shared))),
            core: shared,
        })
    }

    pub(crate) fn downgrade(&self) -> WeakBackend {
        WeakBackend {
            core: Arc::downgrade(&self.core),
            shutdown_on_drop: Arc::downgrade(&self.shutdown_on_drop),
        }
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &AsyncConfig {
        &self.core.config
    }

    /// Adds a pipeline and returns a logger named `name` that feeds it.
    pub fn logger(&self, name: &str, pipeline: PipelineConfig) -> Logger {
        let route = self.add_route(pipeline);
        Logger::new(name, self.clone(), route)
    }

    /// Registers `pipeline` on this backend: its stages, ready to run, and
    /// the route loggers feed them by.
    pub(crate) fn add_route(&self, pipeline: PipelineConfig) -> Route {
        let stages = Arc::new(Stages::new(pipeline));
        let mut routes = self.core.routes.write().unwrap_or_else(|e| e.into_inner());
        routes.push(Arc::clone(&stages));
        Route {
            id: (routes.len() - 1) as u32,
            stages,
        }
    }

    /// Returns when everything accepted before the call is written and the
    /// writers have flushed. Waits at most the configured `shutdown_timeout`
    /// on a stalled writer; returns whether everything was written.
    pub fn flush(&self) -> bool {
        self.flush_timeout(self.core.config.shutdown_timeout)
    }

    /// [`flush`](Backend::flush) with an explicit limit.
    pub fn flush_timeout(&self, timeout: Duration) -> bool {
        self.core.flush_until(Instant::now() + timeout)
    }

    /// [`flush_timeout`](Backend::flush_timeout), then the writers' data on
    /// to storage ([`Writer::sync`](crate::Writer::sync): `fsync` for a
    /// file): `flush` reaches the OS, `sync` the disk. Returns whether
    /// everything was written and synced within `timeout`.
    pub fn sync(&self, timeout: Duration) -> bool {
        self.core.sync_until(Instant::now() + timeout)
    }

    /// Drains the queue, flushes, and joins the workers, waiting at most
    /// `timeout`; then counts what was left as dropped and says so.
    pub fn shutdown(&self, timeout: Duration) -> ShutdownReport {
        self.core.shutdown(timeout)
    }

    /// Shuts down, and from then on writes every record on the caller's
    /// thread (see `BackendCore::shutdown_to_synchronous`): for a global backend
    /// being replaced.
    pub(crate) fn shutdown_to_synchronous(&self, timeout: Duration) -> ShutdownReport {
        self.core.shutdown_to_synchronous(timeout)
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> Stats {
        self.core.stats()
    }

    /// True when dropping this handle would shut the backend down: no other
    /// handle, logger or pipeline holds it. (A binding then drops it where
    /// waiting for the drain is safe.)
    pub fn is_last_handle(&self) -> bool {
        Arc::strong_count(&self.shutdown_on_drop) == 1
    }

    /// True while records go through the queue to the workers (one atomic
    /// load); false once shut down or when synchronous, when a logging call
    /// runs the pipeline on the caller's thread.
    pub fn is_running(&self) -> bool {
        self.core.state() == RUNNING
    }
}
