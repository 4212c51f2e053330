//! The call site: what a logging call does with its record, from the level
//! check's "yes" to the record in the queue (or written on the caller's
//! thread, or dropped and counted).
//!
//! The common case (running, room in the queue) is [`BackendCore::submit_with`]
//! and [`BackendCore::enqueue`], kept small and inlined into the caller: a record
//! is a few hundred bytes, and every function boundary it crosses by value
//! is another copy of it, so it is moved out of the caller's `Option` only
//! once its slot is claimed. Everything else is out of line and cold: a
//! full queue (`overflow.rs`), a backend that is not running.
//!
//! Invariant: a record accepted after shutdown still goes through the
//! queue, and the caller then writes it in ticket order with whatever was
//! queued before it ([`BackendCore::drain_if_no_workers`]), so it never
//! overtakes an earlier record, and the call returns once it is written
//! (by this thread, or by the one whose batch took it); only a synchronous
//! backend writes on the caller's thread without the queue. The common case
//! counts nothing:
//! `messages_submitted` is the sum of what calls turned into (enqueued,
//! dropped at the door, handled on the caller's thread), added up when
//! stats are read, so a call makes no atomic write besides its push.

use std::cell::Cell;
use std::sync::atomic::Ordering::*;
use std::time::Instant;

use super::nesting::Nesting;
use super::overflow::DropReason;
use super::queue::Item;
use super::stages::{commit, in_stage, prepare, Prepared, Route, Stages};
use super::worker::Scratch;
use super::{on_worker_thread, BackendCore, RUNNING, STOPPED, SYNCHRONOUS};
use crate::record::Record;

/// What a caller runs every wait inside: it is given the wait and returns
/// false to give up waiting (a binding interrupted by a signal). The Python
/// binding releases the interpreter lock there.
pub(crate) type AroundWait<'a> = dyn FnMut(&mut (dyn FnMut() + Send)) -> bool + 'a;

impl BackendCore {
    /// Accepts a record for `route`. Never panics, never waits except
    /// under `block` while the queue is full.
    #[inline]
    pub(crate) fn submit(&self, route: &Route, record: &mut Option<Record>) {
        self.submit_with(route, record, &mut |wait| {
            wait();
            true
        })
    }

    /// [`submit`](BackendCore::submit), running every wait (for room under
    /// `block`, for a batch this thread writes after shutdown) inside
    /// `around_wait`, which returns false when the caller gives up waiting
    /// (a signal): the record is then dropped and counted as interrupted.
    ///
    /// The common case (running, room in the queue) is kept small and
    /// inlined into the call site: a record is a few hundred bytes, and each
    /// function boundary it crosses by value is another copy of it. What
    /// happens on a full queue or a stopped backend is out of line.
    #[inline]
    pub(crate) fn submit_with(
        &self,
        route: &Route,
        record: &mut Option<Record>,
        around_wait: &mut AroundWait<'_>,
    ) {
        let Some(_) = record else { return };
        let Route { id, stages } = route;
        let id = *id;
        // Nothing is counted here. `messages_enqueued` is read off the
        // queue's tail, and `messages_submitted` is the sum of what calls
        // turned into (enqueued, dropped at the door, handled on this
        // thread): a counter bumped on every call was an atomic write on
        // every call.
        if self.state() != RUNNING {
            return self.not_running(id, stages, record, around_wait);
        }
        self.enqueue(id, stages, record, around_wait);
    }

    /// Pushes `record` (which is `Some`), handles a full queue by the
    /// strategy, and makes sure the item is taken.
    #[inline(always)]
    fn enqueue(
        &self,
        id: u32,
        stages: &Stages,
        record: &mut Option<Record>,
        around_wait: &mut AroundWait<'_>,
    ) {
        // The record is moved out of the caller's `Option` only once its slot
        // is claimed (each move of it is a copy of a few hundred bytes).
        let pushed = self.queue.push_with(id, || match record.take() {
            Some(record) => Item::Record(record),
            None => unreachable!("checked by the caller"),
        });
        if pushed.is_err() && !self.queue_full(stages, record, id, around_wait) {
            return;
        }
        self.after_push(around_wait);
    }

    /// After a push: wakes a worker if a batch waits, and makes sure the item
    /// is taken if the backend stopped meanwhile.
    #[inline]
    fn after_push(&self, around_wait: &mut AroundWait<'_>) {
        // The push must be ordered before the two SeqCst loads that follow:
        // a worker announcing sleep, and a worker that stopped after our
        // state check (then nobody else would take what we left there);
        // each pair is store, then load, on both sides. A push is a SeqCst
        // compare-and-swap of the queue's tail, so no fence is paid for here.
        self.queue.wake_worker_after_push();
        if self.state.load(SeqCst) != RUNNING {
            self.late_push(around_wait);
        }
    }

    #[cold]
    #[inline(never)]
    fn late_push(&self, around_wait: &mut AroundWait<'_>) {
        around_wait(&mut || self.drain_if_no_workers());
    }

    /// Not running: synchronous (the record is written on this thread),
    /// stopping (the workers still drain: it is queued as usual) or stopped
    /// (queued, then written by this thread in queue order, so that it never
    /// overtakes a record accepted before it; dropped and counted when
    /// fallback is off, or a stuck worker would make this thread wait).
    #[cold]
    #[inline(never)]
    fn not_running(
        &self,
        id: u32,
        stages: &Stages,
        record: &mut Option<Record>,
        around_wait: &mut AroundWait<'_>,
    ) {
        let state = self.state();
        let reason = if state == SYNCHRONOUS {
            if !in_stage() {
                let Some(mut record) = record.take() else {
                    return;
                };
                self.counters.messages_submitted.fetch_add(1, Relaxed);
                let mut written = 0;
                let record = &mut record;
                around_wait(&mut || {
                    written = self.write_now(stages, std::slice::from_mut(record));
                });
                self.counters
                    .messages_written_sync
                    .fetch_add(written, Relaxed);
                return;
            }
            DropReason::Reentrant
        } else if state == STOPPED && (!self.writes_after_stop() || self.stranded()) {
            DropReason::BackendStopped
        } else if self.abort.load(SeqCst) && on_worker_thread() {
            // A stage of a worker finishing its last batch after a
            // timed-out shutdown: nobody will take another one.
            DropReason::Reentrant
        } else {
            if record.is_some() {
                self.enqueue(id, stages, record, around_wait);
            }
            return;
        };
        if record.take().is_some() {
            self.drop_records(stages, reason, 1);
        }
    }

    /// Whether a record logged once stopped is written (on the caller's
    /// thread, in queue order) rather than dropped: `fallback_to_sync`, or
    /// on its way to synchronous.
    fn writes_after_stop(&self) -> bool {
        self.fallback_to_sync || self.turning_synchronous.load(SeqCst)
    }

    /// Runs `records` through `stages` on this thread, now.
    fn write_now(&self, stages: &Stages, records: &mut [Record]) -> u64 {
        thread_local! {
            static PREP: std::cell::RefCell<Prepared> = std::cell::RefCell::new(Prepared::default());
        }
        let mut run = |prep: &mut Prepared| {
            prepare(stages, records.iter_mut(), prep, &self.counters);
            // On the caller's thread: a full disk fails the record rather
            // than holding the caller.
            let written = commit(stages, prep, &self.counters, &|| false);
            self.write_reports(stages, prep, false);
            written
        };
        PREP.try_with(|p| match p.try_borrow_mut() {
            Ok(mut prep) => run(&mut prep),
            Err(_) => run(&mut Prepared::default()),
        })
        .unwrap_or_else(|_| run(&mut Prepared::default()))
    }

    /// Writes the in-band reports `stages` owes.
    pub(super) fn write_reports(&self, stages: &Stages, prep: &mut Prepared, force: bool) {
        let mut reports = stages.take_reports(force);
        if reports.is_empty() {
            return;
        }
        let n = reports.len() as u64;
        self.counters.messages_submitted.fetch_add(n, Relaxed);
        self.counters.reports_emitted.fetch_add(n, Relaxed);
        prepare(stages, reports.iter_mut(), prep, &self.counters);
        commit(stages, prep, &self.counters, &|| false);
    }

    /// Makes sure what is queued is taken when no worker will take it: after
    /// the workers stopped, this thread writes it, in ticket order with any
    /// other thread doing the same, and returns once every batch taken
    /// before it found the queue empty is written (its own record may be in
    /// one another caller took); while a timed-out shutdown's workers are
    /// stuck, it is dropped, counted, rather than waited for. Returns at
    /// once while workers still drain (they take it), or when this thread is
    /// already running stages or draining (a signal handler that logs,
    /// interrupting this thread's drain, which may hold the consumer lock or
    /// the turn it would wait for): what it queued is taken by the
    /// interrupted drain's loop, or else by the next call, flush or exit.
    pub(super) fn drain_if_no_workers(&self) {
        self.drain_until(None);
    }

    /// [`drain_if_no_workers`](BackendCore::drain_if_no_workers), taking no
    /// batch after `deadline` (when there is one; what is left stays
    /// queued).
    pub(super) fn drain_until(&self, deadline: Option<Instant>) {
        if draining() {
            return;
        }
        let _draining = Nesting::enter(&DRAINING);
        let mut scratch = Scratch::default();
        loop {
            if self.stranded() {
                // Queued, so counted as enqueued: `shutdown_timeout` is the
                // reason for queued records (`backend_stopped` is for those
                // turned away at the door, which the queue never counted).
                self.discard_queued(DropReason::ShutdownTimeout);
                return;
            }
            if self.active_workers.load(SeqCst) > 0 || in_stage() {
                return;
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                break;
            }
            scratch.batch.by_caller = true;
            let Some(ticket) = self.take_batch(&mut scratch, true) else {
                break;
            };
            self.process(ticket, &mut scratch);
            if scratch.stopped_at_unwritten {
                // What is left waits behind a slot its producer has not
                // written yet: that producer's own drain takes it.
                break;
            }
        }
        let deadline = deadline.unwrap_or_else(|| Instant::now() + self.config.shutdown_timeout);
        self.wait_for_turn(self.next_ticket.load(SeqCst), deadline);
    }
}

thread_local! {
    /// Drains after shutdown this thread is inside ([`BackendCore::drain_if_no_workers`]).
    static DRAINING: Cell<u32> = const { Cell::new(0) };
}

/// True while this thread drains after shutdown: a call made here (a signal
/// handler's) must not wait for what that drain holds.
pub(super) fn draining() -> bool {
    Nesting::depth(&DRAINING) > 0
}
