//! Ticketed batch ordering: prepared batches reach the writers in the order
//! their items left the queue, whichever worker prepared them first.
//!
//! A worker takes a ticket with its batch (under the consumer lock, in
//! `worker.rs`), prepares it in parallel with the others
//! (`stages/prepare.rs`), and then comes here. Whose turn it is lives in
//! [`Turn`], under the `turn` lock: the worker whose ticket is next writes
//! it, then every batch left for the turns after it. A worker that is early does not wait for its
//! turn: it leaves its prepared batch in `waiting` and goes back to the
//! queue, so formatting scales with workers while writing stays in
//! acceptance order. One writer at a time (`writing`) is what keeps each
//! writer's records in order; the turn lock is never held while writing.
//!
//! A caller that drains after shutdown (`submit.rs`) takes tickets the same
//! way and goes through the same turns, so its records never overtake a
//! batch a worker is still writing.

use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

use super::queue::FlushState;
use super::stages::commit;
use super::timed_lock::lock;
use super::worker::{PreparedBatch, Run};
use super::BackendCore;

/// The batches prepared before their turn may hold at most
/// `capacity / WAITING_SHARE` records (the queue's capacity): their
/// formatted lines are memory on top of the queue's. A larger share buys
/// throughput in a saturating burst with memory; the trade is measured in
/// BENCHMARKS.md ("Design decisions", "Workers and write order").
const WAITING_SHARE: usize = 16;

/// The order in which prepared batches reach the writers: their tickets'.
#[derive(Default)]
pub(super) struct Turn {
    /// The ticket to write next.
    pub(super) next: u64,
    /// A worker is writing (`next`, then whatever waits for the turns after).
    pub(super) writing: bool,
    /// Batches prepared before their turn, left for the writing worker.
    pub(super) waiting: Vec<(u64, PreparedBatch)>,
    /// Items in `waiting`'s batches.
    pub(super) waiting_items: usize,
    /// Batches written by the writing worker, for workers that left theirs.
    pub(super) spare: Vec<PreparedBatch>,
}

impl BackendCore {
    /// Writes the prepared batch `ticket` once every earlier one is written.
    ///
    /// A worker whose turn it is not does not wait for it: it leaves its
    /// batch with the others already prepared and goes back to the queue,
    /// and whoever is writing writes it next. Waiting would idle a core
    /// while the other wrote or, more often, while the worker with the turn
    /// was off the CPU. What waits so is bounded: at most the queue's
    /// capacity over [`WAITING_SHARE`] in records (or one batch, if that is
    /// more); past that, a worker waits after all, asleep. The bound is what
    /// keeps memory within what `AsyncConfig::max_queue_size` promises.
    /// (Yielding the core instead of sleeping at once bought some throughput
    /// and burnt a core whenever the writer was slow: see BENCHMARKS.md.)
    pub(super) fn write_in_turn(&self, ticket: u64, batch: &mut PreparedBatch) {
        let limit = (self.queue.capacity() / WAITING_SHARE).max(self.config.batch_limit());
        let mut turn = lock(&self.turn);
        loop {
            if turn.next == ticket && !turn.writing {
                break;
            }
            if turn.waiting.is_empty() || turn.waiting_items + batch.items <= limit {
                let mut spare = turn.spare.pop().unwrap_or_default();
                spare.by_caller = batch.by_caller;
                turn.waiting_items += batch.items;
                turn.waiting.push((ticket, std::mem::replace(batch, spare)));
                return;
            }
            turn = self.turn_cv.wait(turn).unwrap_or_else(|e| e.into_inner());
        }
        turn.writing = true;
        drop(turn);
        let generation = crate::record::fork_generation();
        self.write_prepared(batch);
        if crate::record::fork_generation() != generation {
            // A stage forked and this is the child: the turns here start
            // afresh (`restart_in_child`); this batch was the parent's.
            return;
        }
        let mut turn = lock(&self.turn);
        turn.next += 1;
        // Whatever others left for the turns that follow.
        while let Some(at) = turn.waiting.iter().position(|(t, _)| *t == turn.next) {
            let (_, mut left) = turn.waiting.swap_remove(at);
            turn.waiting_items -= left.items;
            drop(turn);
            self.turn_cv.notify_all();
            self.write_prepared(&mut left);
            turn = lock(&self.turn);
            turn.next += 1;
            turn.spare.push(left);
        }
        turn.writing = false;
        drop(turn);
        self.turn_cv.notify_all();
    }

    /// Hands a prepared batch to the writers and signals its flush markers.
    fn write_prepared(&self, batch: &mut PreparedBatch) {
        let PreparedBatch {
            runs,
            prepared,
            reports,
            routes,
            by_caller,
            ..
        } = batch;
        // Reports owed go out once the queue has room again, and always before
        // a flush marker is signalled, so a flush covers them too.
        let eased = self.queue.len() <= self.queue.capacity() / 2;
        for (run, prep) in runs.iter().zip(prepared.iter_mut()) {
            match run {
                Run::Records(id) => {
                    let stages = &routes[*id as usize];
                    let persist = || !*by_caller && self.waits_for_room();
                    let written = commit(stages, prep, &self.counters, &persist);
                    if *by_caller {
                        self.counters
                            .messages_written_sync
                            .fetch_add(written, Relaxed);
                    }
                    if eased {
                        self.write_reports(stages, reports, false);
                    }
                }
                Run::Flush(signal) => {
                    // Whoever writes the marker flushes the writers: the
                    // caller of `flush` then never waits for their lock.
                    for stages in routes.iter() {
                        self.write_reports(stages, reports, false);
                        stages.flush_writers(&self.counters, None);
                    }
                    signal.set(FlushState::Done);
                }
            }
        }
    }

    /// Waits until every batch with a ticket below `ticket` is written.
    pub(super) fn wait_for_turn(&self, ticket: u64, deadline: Instant) -> bool {
        let mut turn = lock(&self.turn);
        while turn.next < ticket {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            turn = self
                .turn_cv
                .wait_timeout(turn, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        true
    }
}
