//! Fork: `prepare_fork`, `after_fork_in_parent`, `after_fork_in_child`,
//! and every reset a backend makes in a forked child, in the order they run.
//!
//! A child has only the thread that forked: a lock some other thread of the
//! parent held stays locked forever, and what that thread was doing is
//! never finished. Hence two rules, and one fork at a time (`FORKING`,
//! held from `prepare_fork` to the end of `after_fork_in_*`, so that two
//! threads forking at once never pause and resume each other's workers).
//! Before the fork, the forking thread
//! takes the process-wide registries itself (`setup/mod.rs`'s
//! `hold_registries_for_fork`: the global backend, environment and file
//! registries; then the backend registry of `shutdown.rs`), parks every
//! worker between two batches, where it holds no lock of the backend's
//! (`worker.rs`'s `park`), and then takes the leaf locks any thread holds
//! for a moment, never under the interpreter lock (the compression
//! thread's channel, the bridges' call-site maps), each within a deadline.
//! In the child, nothing
//! waits for a lock: each is tried, and what a thread of the parent held is
//! given up (the child then logs synchronously, or fails those writers'
//! records, counted) rather than waited for.
//!
//! The child's resets, all started from [`after_fork_in_child`]:
//! - `record::FORK_GENERATION` is bumped: per-thread caches are
//!   read again, and a stage that forked notices it is the child
//!   (`stages/commit.rs`'s `commit`, `order.rs`'s `write_in_turn`) and
//!   leaves the parent's batch uncounted;
//! - `clock.rs`'s `after_fork_in_child`: a clock anchor torn by the fork;
//! - `record/name.rs`'s `after_fork_in_child`: the interned names get a fresh
//!   set if a thread of the parent held theirs (`fork_cell.rs`);
//! - the totals of dropped backends (`shutdown.rs`'s `retired_totals`, a
//!   `ForkCell`) start afresh;
//! - per backend, [`BackendCore::restart_in_child`]: the workers' lifecycle
//!   locks are swapped for fresh ones (`fork_cell.rs`: a parent's worker
//!   parking or exiting, or a thread shutting the backend down, may have
//!   held them at the fork), the queue is emptied
//!   (`Queue::discard_after_fork`, in `ring.rs`: slots a parent's thread had
//!   claimed but not filled), the turns restart, writers a parent's thread
//!   held are abandoned (`Stages::abandon_writers_held_at_fork`, through
//!   `TimedLock::held_at_fork`), counters start from zero
//!   (`Counters::reset`) and fresh workers start;
//! - kakashi's own threads are counted afresh ([`OwnThread`]);
//! - last, on a thread that does not run the program's `main` (a fork from
//!   another thread of the parent), an [`EndOfChild`] guard: when that
//!   thread ends, the child has no `main` to return from, hence no exit
//!   hook, and its workers alone would keep it alive for ever; the guard
//!   waits for the child's other threads to end, then drains every backend
//!   and lets the workers go, so the child ends.
//!
//! Those component resets stay next to the data they touch (a ring's slots,
//! a lock's flag, the counters' list): they are sound only where that
//! data's invariants are argued. This module is the one place that says
//! when each runs.

use std::cell::Cell;
use std::sync::atomic::Ordering::*;
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::shutdown::{self, all_backends};
use super::stages::in_stage;
use super::timed_lock::{lock, try_lock};
use super::{on_worker_thread, BackendCore, RUNNING, STOPPING, SYNCHRONOUS};

// === the process ===

/// Call just before `fork()`: stops every backend's workers between two
/// batches, so that the child inherits no lock held by a thread it lacks.
/// Returns after at most `timeout` in total even if a writer is stuck; then
/// the child fails that writer's records (it can never use it) instead of
/// waiting for it.
/// It also holds kakashi's process-wide registries (global backend,
/// environment, files, backends) and leaf locks (see the module docs)
/// until [`after_fork_in_parent`] or [`after_fork_in_child`]: make no
/// logger in between.
pub fn prepare_fork(timeout: Duration) {
    // One fork at a time, from here to its `after_fork_in_*`: two threads
    // preparing at once would each pause and resume the other's workers,
    // and, in Python, one resuming after its fork (holding the interpreter
    // lock) waited for a registry the other had taken meanwhile (without
    // it), which then waited for the interpreter lock: a deadlock. Waited
    // for as long as it takes, but from inside a stage (see below).
    let serial = lock_for_fork(&FORKING, Instant::now() + timeout);
    FORK_SERIAL.with(|s| *s.borrow_mut() = serial);
    let deadline = Instant::now() + timeout;
    // Known from the first fork on: a child's thread keeps its parent's
    // answer (thread-locals are copied by `fork()`), although it is the
    // child's first thread.
    let _ = RUNS_MAIN.try_with(|m| {
        if m.get().is_none() {
            m.set(Some(crate::sys::is_first_thread()));
        }
    });
    // The process-wide registries, taken by this thread across the fork (in
    // the order every other path takes them) so that the child never
    // inherits one held by a thread it lacks. Their holders' work is
    // bounded (a reconfiguration flushes within its timeout), so they are
    // waited for; from inside a stage (a writer that forks), only until the
    // deadline: the holder may be waiting for that very stage. Taken before
    // the workers park: a reconfiguration holding one may be flushing.
    let backends = all_backends();
    let mut held = crate::setup::hold_registries_for_fork(deadline);
    held.extend(lock_for_fork(&shutdown::REGISTRY, deadline));
    for backend in backends {
        backend.prepare_fork(deadline.saturating_duration_since(Instant::now()));
    }
    // Then the leaf locks any thread takes for a moment and waits for
    // nothing under, and never under the interpreter lock (a rotated
    // file's compression job, the bridges' maps): after the workers parked,
    // as a worker may take one on its way to parking. The totals of dropped
    // backends are taken under the interpreter lock (a Python object
    // dropping a backend): a `ForkCell` instead, made before the fork.
    shutdown::retired_totals();
    held.extend(crate::pipeline::hold_compression_for_fork(deadline));
    held.extend(crate::bridge::hold_for_fork(deadline));
    FORK_HELD.with(|h| *h.borrow_mut() = held);
}

/// Held from [`prepare_fork`] to the end of [`after_fork_in_parent`] or
/// [`after_fork_in_child`]: one fork at a time.
static FORKING: Mutex<()> = Mutex::new(());

thread_local! {
    /// The registries' guards, held by the forking thread across `fork()`.
    static FORK_HELD: std::cell::RefCell<Vec<HeldForFork>> =
        const { std::cell::RefCell::new(Vec::new()) };
    /// The guard of [`FORKING`], let go of last, once the workers go on.
    static FORK_SERIAL: std::cell::RefCell<Option<HeldForFork>> =
        const { std::cell::RefCell::new(None) };
    /// Whether this thread runs the program's `main` (the process's first
    /// thread, or a forked copy of the one that did): set by this thread's
    /// first [`prepare_fork`], unknown before.
    static RUNS_MAIN: Cell<Option<bool>> = const { Cell::new(None) };
    /// In a child forked off a thread that does not run `main`: ends the
    /// child's backends when this thread ends.
    static END_OF_CHILD: std::cell::RefCell<Option<EndOfChild>> =
        const { std::cell::RefCell::new(None) };
}

/// In a child forked off a thread that does not run `main` (see
/// [`crate::binding::forked_off_main_thread`]).
pub(crate) fn forked_off_main_thread() -> bool {
    FORKED_OFF_MAIN.load(Relaxed)
}

/// See [`forked_off_main_thread`]: set in the child by [`after_fork_in_child`].
static FORKED_OFF_MAIN: AtomicBool = AtomicBool::new(false);

/// In a child forked off a thread that does not run `main`: that thread
/// and every other of the program's have ended, and [`EndOfChild`] drains
/// the backends. A backend made from then on (by a stage) starts no
/// workers (they would keep the child alive for ever); it writes on the
/// caller's thread.
pub(crate) fn program_has_ended() -> bool {
    PROGRAM_ENDED.load(SeqCst)
}

/// See [`program_has_ended`]; a child forked again starts with it clear
/// (its forking thread is its program).
static PROGRAM_ENDED: AtomicBool = AtomicBool::new(false);

/// Dropped when the thread that forked a child ends, in a child whose
/// program does not run on `main`'s thread (a fork from another thread of
/// the parent).
///
/// Such a child has no `main` to return from: when its thread ends (Python's
/// `sys.exit` there, or its function returning), nothing runs the exit hook,
/// and the process ends only once its last thread has, so the backends'
/// workers would keep it alive for ever. This guard starts a thread that
/// waits until no thread is left but kakashi's own ([`OwnThread`]), as an
/// exit waits for the program's threads, and then drains every backend
/// within the longest `shutdown_timeout`, as the exit hook would, and
/// leaves it synchronous: then no kakashi thread is left and the child
/// ends.
///
/// Why wait, rather than drain when the forking thread ends: the threads
/// the child started go on logging, at any rate; a drain with producers
/// still feeding a slow writer ran out its timeout and dropped what was
/// queued, and every backend after it got no time left. Once they have
/// ended, nothing feeds the queues.
struct EndOfChild;

impl Drop for EndOfChild {
    fn drop(&mut self) {
        let started = std::panic::catch_unwind(|| {
            std::thread::Builder::new()
                .name("kakashi-child-end".into())
                .spawn(|| {
                    let _own = OwnThread::enter();
                    wait_for_the_program_to_end();
                    end_backends_in_child();
                })
                .is_ok()
        });
        if !matches!(started, Ok(true)) {
            let _ = std::panic::catch_unwind(end_backends_in_child);
        }
    }
}

/// Returns once the threads of this process are all kakashi's own (or at
/// once where their number cannot be read), looking first after
/// [`END_POLL`], then less and less often, down to every
/// [`END_POLL_MAX`] (such a child may run for hours). A thread on its way
/// in or out may be seen and not yet counted: that only delays the end by
/// a look.
fn wait_for_the_program_to_end() {
    let mut poll = END_POLL;
    while let Some(threads) = crate::sys::threads_in_process() {
        if threads <= OWN_THREADS.load(SeqCst) {
            return;
        }
        std::thread::sleep(poll);
        poll = (poll * 2).min(END_POLL_MAX);
    }
}

/// How soon [`wait_for_the_program_to_end`] counts the threads again at
/// first.
const END_POLL: Duration = Duration::from_millis(10);
/// How long it waits between two counts at most.
const END_POLL_MAX: Duration = Duration::from_millis(200);

/// Threads of kakashi's own running in this process (workers, the
/// compression thread, [`EndOfChild`]'s): see [`OwnThread`].
static OWN_THREADS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// This thread counts itself in [`OWN_THREADS`].
    static IS_OWN: Cell<bool> = const { Cell::new(false) };
}

/// Counts the calling thread among kakashi's own while it is held: a
/// thread the program did not start, which must not keep a forked child
/// alive ([`EndOfChild`]). Taken first thing by each thread kakashi starts.
pub(crate) struct OwnThread(());

impl OwnThread {
    /// Counts the calling thread in until the guard drops.
    pub(crate) fn enter() -> OwnThread {
        OWN_THREADS.fetch_add(1, SeqCst);
        let _ = IS_OWN.try_with(|own| own.set(true));
        OwnThread(())
    }
}

impl Drop for OwnThread {
    fn drop(&mut self) {
        // Not below zero: a forked child counted afresh (`after_fork_in_child`).
        let _ = OWN_THREADS.fetch_update(SeqCst, SeqCst, |n| n.checked_sub(1));
        let _ = IS_OWN.try_with(|own| own.set(false));
    }
}

/// [`EndOfChild`]'s work, once no thread of the program's is left: every
/// backend drained and synchronous, the compression thread let go; and
/// from now on, a backend made (by a stage) is synchronous too
/// ([`program_has_ended`]).
fn end_backends_in_child() {
    PROGRAM_ENDED.store(true, SeqCst);
    let deadline = Instant::now() + shutdown::longest_shutdown_timeout(&all_backends());
    shutdown::stop_all(deadline, true);
    crate::pipeline::release_compression_thread();
}

/// Lets go of what [`prepare_fork`] held, last taken first.
fn release_registries() {
    let mut held = FORK_HELD.with(|h| std::mem::take(&mut *h.borrow_mut()));
    while let Some(guard) = held.pop() {
        drop(guard);
    }
}

/// A lock's guard, held by the forking thread from [`prepare_fork`] to
/// after the fork.
pub(crate) type HeldForFork = Box<dyn std::any::Any>;

/// Locks a registry before `fork()`, for [`prepare_fork`] to hold across
/// it: waits as long as it takes, except from inside a stage, where it
/// tries until `deadline`.
pub(crate) fn lock_for_fork<T: 'static>(
    m: &'static Mutex<T>,
    deadline: Instant,
) -> Option<HeldForFork> {
    let guard = if in_stage() || on_worker_thread() {
        try_lock_until(m, deadline)
    } else {
        Some(lock(m))
    };
    guard.map(|g| Box::new(g) as HeldForFork)
}

/// `try_lock`, again every millisecond until `deadline`.
pub(crate) fn try_lock_until<T>(
    m: &'static Mutex<T>,
    deadline: Instant,
) -> Option<std::sync::MutexGuard<'static, T>> {
    loop {
        if let Some(guard) = try_lock(m) {
            return Some(guard);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Call in the parent just after `fork()`: the workers go on.
pub fn after_fork_in_parent() {
    release_registries();
    for backend in all_backends() {
        backend.resume_after_fork();
    }
    release_fork_serial();
}

/// Lets another fork be prepared (see [`FORKING`]).
fn release_fork_serial() {
    let serial = FORK_SERIAL
        .try_with(|s| s.borrow_mut().take())
        .ok()
        .flatten();
    drop(serial);
}

/// Call in the child just after `fork()`: every backend gets fresh workers,
/// an empty queue (what was queued is the parent's to write) and zeroed
/// counters. Loggers made before the fork keep working.
pub fn after_fork_in_child() {
    release_registries();
    crate::record::FORK_GENERATION.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    crate::clock::after_fork_in_child();
    crate::record::after_fork_in_child();
    shutdown::retired_totals().replace_in_child();
    // The child has one thread, this one: kakashi's own if it is one (a
    // stage that forked).
    let own = IS_OWN.try_with(Cell::get).unwrap_or(false);
    OWN_THREADS.store(usize::from(own), SeqCst);
    for backend in all_backends() {
        backend.restart_in_child();
    }
    // After the workers started: a thread's destructors run last
    // registered first, so this one runs before those of what starting
    // them set up on this thread.
    let off_main = RUNS_MAIN.try_with(Cell::get).ok().flatten() == Some(false);
    FORKED_OFF_MAIN.store(off_main, Relaxed);
    PROGRAM_ENDED.store(false, SeqCst);
    if off_main {
        let _ = END_OF_CHILD.try_with(|end| {
            // A child of a child keeps the guard it inherited: replacing it
            // would run it.
            if let Ok(mut end) = end.try_borrow_mut() {
                end.get_or_insert(EndOfChild);
            }
        });
    }
    release_fork_serial();
}

// === one backend ===

impl BackendCore {
    /// Before `fork()`: stops every worker between two batches, so that none
    /// holds a lock the child would inherit locked. Gives up waiting for a
    /// worker stuck in a writer after `timeout`.
    pub(crate) fn prepare_fork(&self, timeout: Duration) {
        self.paused.store(true, SeqCst);
        self.queue.wake_all_workers();
        let deadline = Instant::now() + timeout;
        let life = self.lifecycle.get();
        let mut parked = lock(&life.parked);
        while *parked < self.active_workers.load(SeqCst) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            parked = life
                .parked_cv
                .wait_timeout(parked, left.min(Duration::from_millis(10)))
                .unwrap_or_else(|e| e.into_inner())
                .0;
            self.queue.wake_all_workers();
        }
    }

    /// After `fork()`, in the parent: lets the workers go on.
    pub(crate) fn resume_after_fork(&self) {
        self.paused.store(false, SeqCst);
        let life = self.lifecycle.get();
        drop(lock(&life.parked));
        life.parked_cv.notify_all();
    }

    /// After `fork()`, in the child: the parent's workers do not exist here.
    /// What was queued is the parent's to write, so it is discarded; counters
    /// start again from zero, and fresh workers are started. Where that
    /// cannot be done (no thread could be started, or a thread of the
    /// parent held the queue's consumer lock at the fork: `drop_oldest`
    /// callers take it for a moment to evict), the child logs synchronously,
    /// on the calling thread, and says so on stderr.
    pub(crate) fn restart_in_child(self: &Arc<BackendCore>) {
        // The parent's threads are gone: their handles must not be joined.
        // Nor can the locks they (or a thread shutting this backend down)
        // held at the fork be used: the child's workers get fresh ones.
        self.lifecycle.replace_in_child();
        self.paused.store(false, SeqCst);
        // A fork during a shutdown that timed out: the child's fresh workers
        // must take what the child logs.
        self.abort.store(false, SeqCst);
        let queue_usable = self.reset_queue_in_child();
        if let Ok(routes) = self.routes.try_read() {
            for stages in routes.iter() {
                stages.abandon_writers_held_at_fork();
            }
        }
        self.known_full.store(false, Relaxed);
        self.counters.reset();
        self.pushed_base.store(self.queue.pushed(), Relaxed);
        let running = self.state() == RUNNING || self.state() == STOPPING;
        self.worker_generation.fetch_add(1, SeqCst);
        self.active_workers.store(0, SeqCst);
        if !running {
            return;
        }
        if !queue_usable {
            eprintln!("kakashi: a thread of the parent was taking from the queue when it forked; logging synchronously in the child");
            self.state.store(SYNCHRONOUS, SeqCst);
            return;
        }
        self.state.store(RUNNING, SeqCst);
        if let Err(e) = BackendCore::spawn_workers(self) {
            eprintln!(
                "kakashi: could not restart the workers after fork ({e}); logging synchronously"
            );
            self.state.store(SYNCHRONOUS, SeqCst);
        }
    }

    /// In a forked child: empties the queue (what it holds is the parent's)
    /// and starts the batch order again. False when a thread of the parent
    /// held the consumer or turn lock at the fork: nobody in the child will
    /// ever let go of it.
    fn reset_queue_in_child(&self) -> bool {
        let (Some(mut consumer), Some(mut turn)) = (self.try_lock_consumer(), try_lock(&self.turn))
        else {
            return false;
        };
        self.queue.discard_after_fork(&mut consumer.popper);
        // Batches the parent's workers had not written are the parent's
        // (a worker stuck in a writer when the fork came).
        turn.next = consumer.next_ticket;
        turn.writing = false;
        turn.waiting.clear();
        turn.waiting_items = 0;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::MemoryWriter;
    use crate::{AsyncConfig, Backend, OverflowStrategy, PipelineConfig};

    /// Runs `body` in a fresh process (this test binary, re-run with only
    /// `test` selected), killed after a minute: a scenario that forks must
    /// not inherit the locks of the other tests' threads.
    fn isolated(test: &str, body: impl FnOnce()) {
        const VAR: &str = "KAKASHI_UNIT_SCENARIO";
        if std::env::var(VAR).is_ok_and(|v| v == test) {
            body();
            return;
        }
        let mut child = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", &format!("backend::fork::tests::{test}")])
            .args(["--test-threads", "1", "--nocapture"])
            .env(VAR, test)
            .spawn()
            .unwrap();
        let started = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if started.elapsed() > Duration::from_secs(60) {
                let _ = child.kill();
                panic!("{test}: still running after 60 s");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        assert!(status.success(), "{test}: {status}");
    }

    /// A lock another thread holds for a moment, inherited held by a forked
    /// child, is held there for ever. Found (CI, one child in about 300):
    /// a child's `get_async_stats()` hung on the totals of dropped backends,
    /// which a thread of the parent was adding to (a backend dropped) at the
    /// fork. Fork preparation waits for such locks and holds them across.
    #[test]
    #[allow(unsafe_code)] // fork(2), waitpid(2), kill(2), _exit(2): nothing else does them
    fn a_child_forked_while_another_thread_held_the_totals_reads_the_stats() {
        isolated(
            "a_child_forked_while_another_thread_held_the_totals_reads_the_stats",
            || {
                let (locked, release) = std::sync::mpsc::channel();
                let holder = std::thread::spawn(move || {
                    let totals = lock(shutdown::retired_totals().get());
                    locked.send(()).unwrap();
                    std::thread::sleep(Duration::from_millis(200));
                    drop(totals);
                });
                release.recv().unwrap();
                let forker = std::thread::spawn(|| {
                    prepare_fork(Duration::from_secs(5));
                    // SAFETY: the child runs only kakashi, whose locks the
                    // fork hooks handle, and `_exit`.
                    let pid = unsafe { libc::fork() };
                    assert!(pid >= 0, "fork failed");
                    if pid == 0 {
                        after_fork_in_child();
                        let stats = crate::get_async_stats();
                        // SAFETY: ends the child at once, running none of the
                        // parent's exit hooks.
                        unsafe { libc::_exit(i32::from(stats.messages_submitted != 0)) };
                    }
                    after_fork_in_parent();
                    let started = Instant::now();
                    let mut status = 0;
                    loop {
                        // SAFETY: waitpid(2) on our own child, into a local.
                        let done = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
                        if done == pid {
                            break;
                        }
                        if started.elapsed() > Duration::from_secs(10) {
                            // SAFETY: kill(2) and waitpid(2) on our own child.
                            unsafe {
                                libc::kill(pid, libc::SIGKILL);
                                libc::waitpid(pid, &mut status, 0);
                            }
                            return None;
                        }
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    Some(status)
                });
                let status = forker.join().unwrap();
                holder.join().unwrap();
                let status = status.expect("the child hung reading the stats (killed after 10 s)");
                assert!(
                    libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
                    "the child: wait status {status}"
                );
            },
        );
    }

    /// A fork that lands while a shutdown is timing out leaves the child the
    /// parent's `abort`: its fresh workers must still take what it logs.
    #[test]
    fn a_child_forked_during_a_timed_out_shutdown_still_writes() {
        let memory = MemoryWriter::new();
        let backend = Backend::new(AsyncConfig::default()).unwrap();
        let logger = backend.logger("child", PipelineConfig::new().writer(memory.clone()));
        backend.core.abort.store(true, SeqCst);
        backend.core.restart_in_child();
        crate::info!(logger, "in the child");
        assert!(backend.flush());
        assert_eq!(memory.lines().len(), 1);
        assert!(backend.shutdown(Duration::from_secs(5)).completed());
    }

    /// A fork while another thread held the consumer lock (a `drop_oldest`
    /// caller evicting) leaves the child a lock nobody will release: the
    /// child must log synchronously, not hang. Simulated without a fork: the
    /// lock is held by another thread while the child's restart runs.
    #[test]
    fn a_child_forked_while_the_queue_was_locked_logs_synchronously() {
        let memory = MemoryWriter::new();
        let backend = Backend::new(AsyncConfig {
            max_queue_size: 100,
            overflow_strategy: OverflowStrategy::DropOldest,
            ..AsyncConfig::default()
        })
        .unwrap();
        let logger = backend.logger("app", PipelineConfig::new().writer(memory.clone()));
        let shared = Arc::clone(&backend.core);
        let (locked, release) = (
            Arc::new(std::sync::Barrier::new(2)),
            Arc::new(std::sync::Barrier::new(2)),
        );
        let holder = {
            let (shared, locked, release) = (
                Arc::clone(&shared),
                Arc::clone(&locked),
                Arc::clone(&release),
            );
            std::thread::spawn(move || {
                let _consumer = lock(&shared.consumer);
                locked.wait();
                release.wait();
            })
        };
        locked.wait();
        shared.restart_in_child();
        assert_eq!(shared.state(), SYNCHRONOUS);
        crate::info!(logger, "after the fork", n = 1);
        assert_eq!(memory.lines().len(), 1, "written on the calling thread");
        assert!(memory.lines()[0].contains("after the fork"));
        release.wait();
        holder.join().unwrap();
    }
}
