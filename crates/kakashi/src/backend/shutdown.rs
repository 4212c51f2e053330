//! Flush and shutdown of one backend, the registry of live backends, and
//! the exit hooks that flush them without the user holding a guard.
//!
//! A flush is a marker that travels through the queue: whoever writes it
//! (in its batch's turn) flushes the writers, so everything accepted before
//! the call is written first, and the caller never waits for the writers'
//! lock itself. A shutdown drains, flushes and joins within its timeout; at
//! the timeout it counts what is still queued as dropped and leaves a worker
//! stuck in a writer behind rather than waiting for it (`stranded`): from
//! then on, nothing waits for that worker.
//!
//! Every backend registers itself here when it starts. At normal process exit
//! (`main` returning, `std::process::exit`) a C `atexit` handler shuts them
//! down, draining their queues within the longest `shutdown_timeout` in
//! total. A panic hook flushes them too, so the records leading up to a
//! crash are on disk: after the panic message is printed, within
//! [`PANIC_FLUSH`] in total, never from inside a stage (a stage's panic is
//! its failure, counted and reported by the backend) and never waiting for
//! a lock without a deadline, so a panic while a writer is stuck still ends.

use std::sync::atomic::{fence, Ordering::*};
use std::sync::{Arc, Mutex, Once, OnceLock, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::overflow::DropReason;
use super::queue::{FlushSignal, FlushState, Item};
use super::stages::{in_stage, Prepared};
use super::stats::Stats;
use super::submit::draining;
use super::timed_lock::{lock, try_lock};
use super::{on_worker_thread, BackendCore, RUNNING, STOPPED, STOPPING, SYNCHRONOUS};
use crate::fork_cell::ForkCell;

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

// === one backend ===

impl BackendCore {
    /// Returns when everything accepted before the call was processed
    /// (written, or counted as failed or dropped) and the writers flushed;
    /// false when `deadline` came first, or when called from inside a stage
    /// (which cannot wait for the backend that runs it).
    pub(crate) fn flush_until(&self, deadline: Instant) -> bool {
        if on_worker_thread() || in_stage() {
            return false;
        }
        if self.state() == SYNCHRONOUS {
            return self.flush_all_writers(Some(deadline));
        }
        let signal = Arc::new(FlushSignal::default());
        let mut item = Item::Flush(Arc::clone(&signal));
        // Counted before the push (the queue's tail counts it as soon as
        // it is in): a snapshot may miss a record for a moment, never
        // count the marker as one.
        self.counters.flush_markers.fetch_add(1, Relaxed);
        loop {
            match self.queue.push(0, item) {
                Ok(()) => break,
                Err(back) => item = back,
            }
            if Instant::now() >= deadline || self.stranded() {
                self.counters.flush_markers.fetch_sub(1, Relaxed);
                return false;
            }
            if self.active_workers.load(SeqCst) == 0 {
                self.drain_if_no_workers();
            } else {
                self.queue.sleep_until_room(|| self.abort.load(SeqCst));
            }
        }
        self.queue.wake_worker_now();
        fence(SeqCst);
        if self.state() != RUNNING {
            self.drain_if_no_workers();
        }
        match signal.wait(deadline.saturating_duration_since(Instant::now())) {
            FlushState::Done => true,
            FlushState::AfterTicket(t) => {
                self.wait_for_turn(t, deadline) && self.flush_all_writers(Some(deadline))
            }
            FlushState::Pending => false,
        }
    }

    pub(super) fn flush_all_writers(&self, deadline: Option<Instant>) -> bool {
        let mut all = true;
        for stages in self.routes_snapshot() {
            all &= stages.flush_writers(&self.counters, deadline);
        }
        all
    }

    /// [`flush_until`](BackendCore::flush_until), then every writer's
    /// [`sync`](crate::Writer::sync) on this thread, by `deadline`.
    pub(crate) fn sync_until(&self, deadline: Instant) -> bool {
        if !self.flush_until(deadline) {
            return false;
        }
        let mut all = true;
        for stages in self.routes_snapshot() {
            all &= stages.sync_writers(&self.counters, Some(deadline));
        }
        all
    }

    /// Drains, flushes and joins, within `timeout`; at the timeout, counts
    /// what is still queued as dropped and leaves the workers still inside a
    /// stage behind (they stop after their batch; what they hold is
    /// `in_flight`).
    pub(crate) fn shutdown(&self, timeout: Duration) -> ShutdownReport {
        self.stop(timeout, STOPPED)
    }

    /// [`shutdown`](BackendCore::shutdown), after which, if it drained, every
    /// record is written on the caller's thread ([`SYNCHRONOUS`]) rather than
    /// queued: for a backend replaced by another that writes the same
    /// files, whose loggers may still be in use. A thread's record through
    /// such a logger is then written before its call returns, so its next
    /// record, through the new backend, cannot overtake it. Without
    /// draining, it stops as a timed-out shutdown does.
    pub(crate) fn shutdown_to_synchronous(&self, timeout: Duration) -> ShutdownReport {
        self.stop(timeout, SYNCHRONOUS)
    }

    /// Shutdown, ending in `after` ([`STOPPED`] or [`SYNCHRONOUS`]) when it
    /// drained, in [`STOPPED`] otherwise; a synchronous backend stays so.
    fn stop(&self, timeout: Duration, after: u8) -> ShutdownReport {
        let started = Instant::now();
        let deadline = started + timeout;
        let _ = self
            .state
            .compare_exchange(RUNNING, STOPPING, SeqCst, SeqCst);
        self.queue.wake_all_workers();
        self.queue.wake_all_producers();
        // A stage cannot wait for the worker it runs on, and the workers a
        // timed-out shutdown left stuck are not waited for twice.
        let may_wait = !on_worker_thread() && !in_stage() && !self.abort.load(SeqCst);
        let life = self.lifecycle.get();
        let mut guard = lock(&life.exited);
        while may_wait && self.active_workers.load(SeqCst) > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            guard = life
                .exited_cv
                .wait_timeout(guard, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        drop(guard);
        let still_running = self.active_workers.load(SeqCst);
        let mut left_queued = 0;
        if still_running == 0 && may_wait && !draining() && !self.queue.is_empty() {
            // Records that a stage of another backend (a writer that logs)
            // queued after this one had stopped: that stage could not
            // write them on its own thread. Written here, in ticket order,
            // until everything claimed so far is taken or the deadline
            // passes; only what the deadline leaves is counted as dropped.
            // A drain stops at a slot whose producer is still writing it,
            // and records behind that slot may be of calls that have
            // returned (their own drains stopped there too, leaving them
            // to that producer's): so this drains again once the slot is
            // written, rather than dropping them. What is pushed after the
            // snapshot is its callers' to drain.
            let claimed = self.queue.pushed();
            let mut taken_all = false;
            loop {
                self.drain_until(Some(deadline));
                if self.queue.popped() >= claimed {
                    taken_all = true;
                    break;
                }
                if self.active_workers.load(SeqCst) > 0 || Instant::now() >= deadline {
                    break;
                }
                std::thread::yield_now();
            }
            if !taken_all && !self.queue.is_empty() && self.active_workers.load(SeqCst) == 0 {
                left_queued = self.discard_queued(DropReason::ShutdownTimeout);
            }
        }
        // Workers still counted, but with nothing queued and nothing being
        // written, are only on their way out (asleep, or a timeout of 0):
        // nothing is left behind, and nothing needs stopping.
        let idle = still_running > 0 && self.queue.is_empty() && self.stats().is_balanced();
        // Callers that drain once no worker is left may still be writing
        // batches they took, holding records of other threads whose calls
        // have returned: drained means those are written too. Not waited
        // for from inside this thread's own drain (a signal handler), which
        // may hold the turn waited for: the backend then ends stopped, where
        // records still go through the queue in ticket order.
        let callers_done = still_running > 0
            || !may_wait
            || (!draining() && self.wait_for_turn(self.next_ticket.load(SeqCst), deadline));
        let mut dropped = 0;
        if still_running > 0 && may_wait && !idle {
            // Timed out: stop the workers at their next batch and count what is left.
            self.abort.store(true, SeqCst);
            dropped = self.discard_queued(DropReason::ShutdownTimeout);
        }
        // From inside a stage (or with stuck workers already abandoned),
        // nothing is waited for and nothing is stopped: the workers drain
        // what is queued and stop by themselves.
        dropped += left_queued;
        let drained = (still_running == 0 && callers_done && left_queued == 0) || idle;
        let after = if drained { after } else { STOPPED };
        if self.state.swap(after, SeqCst) == SYNCHRONOUS {
            self.state.store(SYNCHRONOUS, SeqCst);
        }
        self.queue.wake_all_producers();
        // Only workers that have ended are joined: one still inside a stuck
        // writer is left behind rather than waited for. Nor is this thread
        // itself: a worker that is a process's last thread calls `exit`,
        // whose hook shuts the backends down (a forked child off another
        // thread than main's, `fork.rs`), after its own work has ended.
        let finished: Vec<JoinHandle<()>> = {
            let mut handles = lock(&self.lifecycle.get().handles);
            let (done, running) = handles
                .drain(..)
                .partition(|h| h.is_finished() && !crate::sys::is_calling_thread(h));
            *handles = running;
            done
        };
        for handle in finished {
            let _ = handle.join();
        }
        let in_flight = if drained {
            if !in_stage() {
                // Drops reported in-band, then everything flushed.
                let mut prep = Prepared::default();
                for stages in self.routes_snapshot() {
                    self.write_reports(&stages, &mut prep, true);
                }
                self.flush_all_writers(Some(deadline.max(Instant::now())));
            }
            0
        } else {
            let s = self.stats();
            s.messages_submitted.saturating_sub(
                s.messages_written + s.messages_dropped + s.messages_filtered + s.messages_failed,
            )
        };
        if may_wait && (dropped > 0 || in_flight > 0) {
            eprintln!(
                "kakashi: shutdown timed out after {timeout:?}: {dropped} queued records dropped, {in_flight} still being written"
            );
        }
        ShutdownReport {
            drained,
            dropped,
            in_flight,
            elapsed: started.elapsed(),
        }
    }

    /// A shutdown timed out and some worker is still inside a stage (a
    /// stuck writer): nothing may wait for it, so what is queued now is
    /// dropped, counted, instead of waited for.
    pub(super) fn stranded(&self) -> bool {
        self.abort.load(SeqCst) && self.active_workers.load(SeqCst) > 0
    }

    /// Whether a worker waits out a full disk rather than failing the batch:
    /// under `block`, until a shutdown gives up on its queue (its timeout).
    pub(super) fn waits_for_room(&self) -> bool {
        self.config.overflow_strategy == super::OverflowStrategy::Block && !self.abort.load(SeqCst)
    }
}

// === every backend ===

pub(super) static REGISTRY: Mutex<Vec<Weak<BackendCore>>> = Mutex::new(Vec::new());
static HOOKS: Once = Once::new();
/// The totals of backends that are gone, so that global counters never go
/// backwards when one is dropped. A [`ForkCell`]: a child starts with none
/// (the parent's are the parent's), and never waits for a lock a thread of
/// the parent held at the fork. Not held across the fork instead: a Python
/// object that drops the last handle of a backend takes it holding the
/// interpreter lock, which the forking thread needs back to fork.
pub(super) fn retired_totals() -> &'static ForkCell<Mutex<Option<Stats>>> {
    static RETIRED: OnceLock<ForkCell<Mutex<Option<Stats>>>> = OnceLock::new();
    RETIRED.get_or_init(ForkCell::new)
}

/// Keeps a dropped backend's totals (not its gauges: queue, workers).
pub(crate) fn retire(stats: &Stats) {
    lock(retired_totals().get())
        .get_or_insert_with(Stats::default)
        .add_totals(stats);
}

/// The totals of every backend dropped so far.
pub(crate) fn retired() -> Option<Stats> {
    lock(retired_totals().get()).clone()
}

/// Adds a backend to the registry and installs the exit hooks once.
pub(crate) fn register(shared: &Arc<BackendCore>) {
    let mut all = lock(&REGISTRY);
    all.retain(|w| w.strong_count() > 0);
    all.push(Arc::downgrade(shared));
    drop(all);
    HOOKS.call_once(install_hooks);
}

/// Every backend still alive, oldest first.
pub(crate) fn all_backends() -> Vec<Arc<BackendCore>> {
    lock(&REGISTRY).iter().filter_map(Weak::upgrade).collect()
}

/// The longest `shutdown_timeout` of `backends`: the one deadline of a
/// flush or shutdown of them all.
pub(crate) fn longest_shutdown_timeout(backends: &[Arc<BackendCore>]) -> Duration {
    backends
        .iter()
        .map(|b| b.config.shutdown_timeout)
        .max()
        .unwrap_or_default()
}

/// Shuts every backend down by `deadline`, newest first, and then again
/// any left with records queued, until none is or the deadline passes
/// (what is left then is counted, `shutdown_timeout`). With
/// `to_synchronous`, each then ends synchronous if it drained (see
/// [`BackendCore::shutdown_to_synchronous`]).
///
/// Why newest first, and again: a stage of one backend (a writer that
/// logs) may log into another. Newest first, a later backend's writer
/// logging into an earlier one (a network logger's send into the global
/// backend) finds it still running; records logged into a backend already
/// stopped (the other way round, or a cycle) stay queued there, since a
/// stage cannot write them on its own thread, and only a shutdown from
/// outside any stage can. The backends stop first, and turn synchronous
/// only at the end, so that none of those records meets a synchronous
/// backend from inside a stage (where it would be dropped). Meanwhile, a
/// backend stopped on its way to synchronous writes what threads log into
/// it as `fallback_to_sync` would, even where that is off: the threads
/// that go on logging (a forked child's) lose nothing between the steps.
pub(crate) fn stop_all(deadline: Instant, to_synchronous: bool) -> ShutdownReport {
    let mut report = ShutdownReport {
        drained: true,
        ..ShutdownReport::default()
    };
    let left = || deadline.saturating_duration_since(Instant::now());
    let newest_first = || all_backends().into_iter().rev();
    if to_synchronous {
        for backend in newest_first() {
            backend.turning_synchronous.store(true, SeqCst);
        }
    }
    for backend in newest_first() {
        report.merge(&backend.shutdown(left()));
    }
    loop {
        // Stuck workers (a timed-out shutdown) are not waited for again.
        let queued: Vec<Arc<BackendCore>> = newest_first()
            .filter(|b| !b.queue.is_empty() && b.active_workers.load(SeqCst) == 0)
            .collect();
        if queued.is_empty() {
            break;
        }
        // Records written, failed, filtered or dropped: a pass that ended
        // none of them is not making progress.
        let ended = |bs: &[Arc<BackendCore>]| {
            bs.iter()
                .map(|b| {
                    let s = b.stats();
                    s.messages_written
                        + s.messages_failed
                        + s.messages_filtered
                        + s.messages_dropped
                })
                .sum::<u64>()
        };
        let before = ended(&queued);
        if !left().is_zero() {
            for backend in &queued {
                report.merge(&backend.shutdown(left()));
            }
        }
        if left().is_zero() || ended(&queued) == before {
            // Out of time, or no record ended: what is still queued is
            // counted.
            for backend in newest_first().filter(|b| b.active_workers.load(SeqCst) == 0) {
                let dropped = backend.discard_queued(DropReason::ShutdownTimeout);
                report.dropped += dropped;
                report.drained &= dropped == 0;
            }
            break;
        }
    }
    if to_synchronous {
        for backend in newest_first() {
            report.merge(&backend.shutdown_to_synchronous(left()));
            // One that did not drain stays stopped, as its settings say.
            backend.turning_synchronous.store(false, SeqCst);
        }
    }
    report
}

extern "C" fn at_exit() {
    // Nothing may unwind out of an `extern "C"` function (it would abort),
    // and this one runs at exit, maybe on a thread whose thread-locals are
    // gone (a process's last thread, exiting).
    let _ = std::panic::catch_unwind(|| {
        let deadline = Instant::now() + longest_shutdown_timeout(&all_backends());
        stop_all(deadline, false);
    });
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
        if on_worker_thread() {
            return;
        }
        let Some(registry) = try_lock(&REGISTRY) else {
            return;
        };
        let backends: Vec<Arc<BackendCore>> = registry.iter().filter_map(Weak::upgrade).collect();
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
            let _own = super::OwnThread::enter();
            crate::sys::wait_for_sigterm(fd);
            let timeout = lock(&TIMEOUT).unwrap_or_default();
            stop_all(Instant::now() + timeout, false);
            crate::sys::resend_sigterm();
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::backend::queue::Item;
    use crate::testing::MemoryWriter;
    use crate::{AsyncConfig, Backend, Level, Logger, PipelineConfig, Record};
    use std::collections::BTreeSet;
    use std::sync::atomic::{AtomicBool, AtomicI64, Ordering::SeqCst};
    use std::sync::{mpsc, Arc};
    use std::time::Duration;

    /// A shutdown that finds records queued behind a slot whose producer has
    /// claimed it and not yet written it: those records are of calls that
    /// have returned (their drains stopped at that slot), and the shutdown
    /// must write them once the slot is written, not drop them. The slot is
    /// held open here by a push whose item is made only when the test says
    /// so, shortly after the shutdown has begun.
    #[test]
    fn a_shutdown_writes_what_waits_behind_a_slot_still_being_written() {
        let memory = MemoryWriter::new();
        let backend = Backend::new(AsyncConfig {
            worker_count: 1,
            ..AsyncConfig::default()
        })
        .unwrap();
        let route = backend.add_route(PipelineConfig::new().writer(memory.clone()));
        let logger = Logger::new("behind", backend.clone(), route.clone());
        // No workers from here on: what is queued is written by callers'
        // drains, or by the shutdown below.
        assert!(backend.shutdown(Duration::from_secs(10)).drained);

        let (claimed_tx, claimed) = mpsc::channel();
        let (go, go_rx) = mpsc::channel::<()>();
        let shared = Arc::clone(&backend.core);
        let id = route.id;
        let holder = std::thread::spawn(move || {
            let pushed = shared.queue.push_with(id, || {
                claimed_tx.send(()).unwrap();
                go_rx.recv().unwrap();
                Item::Record(Record::new(Level::Info, "behind", "held"))
            });
            assert!(pushed.is_ok(), "the queue had room");
        });
        claimed.recv().unwrap();
        for i in 0..5 {
            // Each call's drain stops at the held slot and returns.
            crate::info!(logger, "after", i = i);
        }
        assert!(memory.lines().is_empty(), "nothing passes the held slot");

        let release = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            go.send(()).unwrap();
        });
        let report = backend.shutdown(Duration::from_secs(30));
        release.join().unwrap();
        holder.join().unwrap();

        assert_eq!((report.drained, report.dropped), (true, 0), "{report:?}");
        let messages: Vec<(String, Option<i64>)> = memory
            .lines()
            .iter()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                let message = v["message"].as_str().unwrap().to_owned();
                (message, v["fields"]["i"].as_i64())
            })
            .collect();
        let expected: Vec<(String, Option<i64>)> = std::iter::once(("held".to_owned(), None))
            .chain((0..5).map(|i| ("after".to_owned(), Some(i))))
            .collect();
        assert_eq!(messages, expected);
        assert_eq!(backend.stats().messages_dropped, 0);
    }

    /// A backend replaced by another (the global one, reconfigured) stops
    /// with its loggers still in use; every call that has returned by the
    /// time the switch returns must be written by then, or the thread's
    /// next record, through the new backend, overtakes it. Found: a caller
    /// that drained after the workers left returned while its record sat
    /// in a batch another caller had taken, and the switch returned without
    /// waiting for such callers' batches.
    #[test]
    fn a_call_that_returned_before_the_switch_is_written_when_the_switch_returns() {
        for round in 0..200 {
            let memory = MemoryWriter::new();
            let backend = Backend::new(AsyncConfig {
                worker_count: 2,
                batch_size: 4,
                batch_timeout: Duration::from_millis(1),
                ..AsyncConfig::default()
            })
            .unwrap();
            let logger = backend.logger("switch", PipelineConfig::new().writer(memory.clone()));
            let stop = Arc::new(AtomicBool::new(false));
            let returned: Arc<Vec<AtomicI64>> =
                Arc::new((0..3).map(|_| AtomicI64::new(-1)).collect());
            let producers: Vec<_> = (0..3i64)
                .map(|t| {
                    let (logger, stop, returned) =
                        (logger.clone(), Arc::clone(&stop), Arc::clone(&returned));
                    std::thread::spawn(move || {
                        let mut i = 0i64;
                        while !stop.load(SeqCst) {
                            crate::info!(logger, "m", t = t, i = i);
                            returned[t as usize].store(i, SeqCst);
                            i += 1;
                            // Slower than the workers, as the Python
                            // producers that found it: the switch drains.
                            std::thread::sleep(Duration::from_micros(50));
                        }
                    })
                })
                .collect();
            std::thread::sleep(Duration::from_micros(200 + round * 10));
            backend.shutdown_to_synchronous(Duration::from_secs(30));
            let seen: Vec<i64> = returned.iter().map(|r| r.load(SeqCst)).collect();
            let written: BTreeSet<(i64, i64)> = memory
                .lines()
                .iter()
                .filter_map(|l| {
                    let v: serde_json::Value = serde_json::from_str(l).unwrap();
                    let f = &v["fields"];
                    Some((f["t"].as_i64()?, f["i"].as_i64()?))
                })
                .collect();
            stop.store(true, SeqCst);
            for p in producers {
                p.join().unwrap();
            }
            for (t, &last) in seen.iter().enumerate() {
                for i in 0..=last {
                    assert!(
                        written.contains(&(t as i64, i)),
                        "round {round}: thread {t}'s record {i} returned before the switch did, \
                         and was not written when it returned"
                    );
                }
            }
        }
    }
}
