//! The workers: threads that take batches from the queue, prepare them and
//! hand them to the turns (`order.rs`), until the backend stops.
//!
//! A worker takes a batch under the consumer lock, together with its ticket
//! ([`BackendCore::take_batch`]), and lets go of the lock before running any
//! stage: only the take is serial, so preparing scales with workers. It
//! never waits for a batch to fill: it takes what has arrived, up to
//! `batch_size`, and sleeps (`queue.rs`) only when the queue is empty.
//!
//! Invariant: `active_workers` counts the workers that may still take from
//! the queue. A worker counts itself out before it stops and then looks at
//! the queue once more, so a push that still saw it counted (and so left
//! its item to the workers) is never left behind; a caller finding the
//! count at zero takes the queue over (`submit.rs`). Between batches a
//! worker may park for a fork (`fork.rs`), holding no lock of the backend's.

use std::cell::Cell;
use std::sync::atomic::Ordering::*;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::queue::{FlushSignal, Item};
use super::ring::Popper;
use super::stages::{prepare, Prepared, Stages};
use super::timed_lock::lock;
use super::{BackendCore, RUNNING};

/// How long a caller's pop waits for a claimed slot to be written: a
/// producer running writes its slot in well under a microsecond.
const CLAIM_PATIENCE: Duration = Duration::from_micros(200);

thread_local! {
    static IS_WORKER: Cell<bool> = const { Cell::new(false) };
}

/// True on a kakashi worker thread (where waiting for the backend would deadlock).
pub(crate) fn on_worker_thread() -> bool {
    IS_WORKER.try_with(Cell::get).unwrap_or(false)
}

/// What a worker reuses from batch to batch: the items it takes from the
/// queue, and the batch it prepares from them.
#[derive(Default)]
pub(super) struct Scratch {
    /// The items taken, with their routes; empty again once they are prepared.
    pub(super) items: Vec<(u32, Item)>,
    /// What the items became, ready for their turn.
    pub(super) batch: PreparedBatch,
    /// A caller's take stopped at a slot claimed and not yet written.
    pub(super) stopped_at_unwritten: bool,
}

/// A batch ready for its turn at the writers: formatted lines and flush
/// markers, no records.
///
/// Records are dropped as soon as they are formatted, and a batch that
/// waits for its turn (`order.rs`) is handed over without the worker's item
/// buffer: what waits costs its formatted bytes, not a slot-sized record
/// per line, and the item buffers stay one per worker.
#[derive(Default)]
pub(super) struct PreparedBatch {
    /// The batch in runs, in queue order.
    pub(super) runs: Vec<Run>,
    /// Per run, the lines of a run of records (unused for a marker).
    pub(super) prepared: Vec<Prepared>,
    /// For in-band reports, apart from the batch's own runs.
    pub(super) reports: Prepared,
    /// The backend's routes when the batch was prepared (what [`Run::Records`]
    /// indexes).
    pub(super) routes: Vec<Arc<Stages>>,
    /// Items the batch was made of (what bounds the batches left waiting).
    pub(super) items: usize,
    /// Taken by a caller's thread after the workers stopped (its records
    /// count as `messages_written_sync` too).
    pub(super) by_caller: bool,
}

/// Consecutive items of a batch that go to the writers as one.
pub(super) enum Run {
    /// Records of the route with this index in [`PreparedBatch::routes`].
    Records(u32),
    /// A flush marker.
    Flush(Arc<FlushSignal>),
}

impl BackendCore {
    pub(super) fn spawn_workers(shared: &Arc<BackendCore>) -> std::io::Result<()> {
        for i in 0..shared.config.worker_count {
            let worker = Arc::clone(shared);
            shared.active_workers.fetch_add(1, SeqCst);
            let spawned = std::thread::Builder::new()
                .name(format!("{}-{i}", shared.config.thread_name_prefix))
                .spawn({
                    let generation = shared.worker_generation.load(SeqCst);
                    move || worker.worker_loop(generation)
                });
            match spawned {
                Ok(handle) => lock(&shared.lifecycle.get().handles).push(handle),
                Err(e) => {
                    shared.active_workers.fetch_sub(1, SeqCst);
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    fn worker_loop(&self, generation: u64) {
        let _own = super::OwnThread::enter();
        let _ = IS_WORKER.try_with(|w| w.set(true));
        let mut scratch = Scratch::default();
        loop {
            if self.paused.load(Acquire) {
                self.park();
            }
            if self.worker_generation.load(Relaxed) != generation {
                // A forked child's copy of a parent's worker (a stage forked):
                // the child has workers of its own.
                return;
            }
            if let Some(ticket) = self.take_batch(&mut scratch, false) {
                self.process(ticket, &mut scratch);
                continue;
            }
            if self.abort.load(Acquire) {
                self.count_out(generation);
                break;
            }
            if self.state() != RUNNING && self.queue.is_empty_after_pushes() {
                // Counted out first, then one more look: a push that still
                // saw this worker counted left its item to the workers
                // (`drain_if_no_workers`), and this look sees it. Both under
                // `exited`, which a shutdown holds while it counts the
                // workers: it never sees this one out while it may still
                // come back for a record.
                let life = self.lifecycle.get();
                let counting = lock(&life.exited);
                if self.count_out(generation)
                    && !self.abort.load(SeqCst)
                    && !self.queue.is_empty_after_pushes()
                {
                    self.active_workers.fetch_add(1, SeqCst);
                    drop(counting);
                    continue;
                }
                drop(counting);
                break;
            }
            self.queue
                .sleep_until_work(self.config.batch_timeout, || self.state() != RUNNING);
        }
        let life = self.lifecycle.get();
        drop(lock(&life.exited));
        life.exited_cv.notify_all();
    }

    /// Takes this worker out of `active_workers` (only in the generation it
    /// was started in); false when it was not counted there.
    fn count_out(&self, generation: u64) -> bool {
        if self.worker_generation.load(SeqCst) != generation {
            return false;
        }
        self.active_workers.fetch_sub(1, SeqCst);
        true
    }

    /// Waits, holding no lock of the backend's, until the fork is over.
    fn park(&self) {
        let life = self.lifecycle.get();
        let mut parked = lock(&life.parked);
        *parked += 1;
        life.parked_cv.notify_all();
        while self.paused.load(Acquire) {
            parked = life
                .parked_cv
                .wait(parked)
                .unwrap_or_else(|e| e.into_inner());
        }
        *parked -= 1;
    }

    /// Pops up to `batch_size` items under the consumer lock and takes a
    /// ticket for them. `None` when the queue is empty, or when shutdown
    /// aborted and this is a worker (`by_caller` is false). A caller's batch
    /// may come back empty (see [`BackendCore::pop_written`]); it still has its
    /// turn.
    pub(super) fn take_batch(&self, scratch: &mut Scratch, by_caller: bool) -> Option<u64> {
        if !by_caller && self.abort.load(Acquire) {
            return None;
        }
        let limit = self.config.batch_limit();
        let mut consumer = self.lock_consumer();
        if self.queue.is_empty() {
            return None;
        }
        let ticket = consumer.next_ticket;
        consumer.next_ticket += 1;
        // Published before popping: whoever sees an item gone sees this ticket.
        self.next_ticket.store(consumer.next_ticket, SeqCst);
        let seen = self.queue.len() as u64;
        scratch.items.clear();
        if by_caller {
            scratch.stopped_at_unwritten =
                self.pop_written(&mut consumer.popper, limit, &mut scratch.items);
        } else {
            self.queue
                .pop_into(&mut consumer.popper, limit, &mut scratch.items);
        }
        drop(consumer);
        if self.known_full.load(Relaxed) {
            self.known_full.store(false, Relaxed);
        }
        self.counters.queue_high_water_mark.fetch_max(seen, Relaxed);
        self.queue.wake_producers();
        self.queue.wake_worker_after_take();
        Some(ticket)
    }

    /// A caller's pop: up to `limit` items, but waits at most
    /// [`CLAIM_PATIENCE`] for a slot claimed and not yet written; true when
    /// it stopped at one. That producer may be the very call a signal
    /// handler on this thread interrupted (which never resumes while the
    /// handler waits); a slot left behind is taken by that producer's own
    /// drain after its push.
    fn pop_written(&self, popper: &mut Popper, limit: usize, items: &mut Vec<(u32, Item)>) -> bool {
        let mut waiting_since: Option<Instant> = None;
        while items.len() < limit {
            if let Some(item) = self.queue.pop_ready(popper) {
                items.push(item);
                waiting_since = None;
                continue;
            }
            if self.queue.is_empty() {
                return false;
            }
            if waiting_since.get_or_insert_with(Instant::now).elapsed() >= CLAIM_PATIENCE {
                return true;
            }
            std::thread::yield_now();
        }
        false
    }

    /// Prepares the batch in `scratch`, then writes it in `ticket`'s turn,
    /// or leaves it to the worker whose turn it is.
    pub(super) fn process(&self, ticket: u64, scratch: &mut Scratch) {
        let Scratch { items, batch, .. } = scratch;
        batch.routes = self.routes_snapshot();
        batch.items = items.len();
        batch.runs.clear();
        let mut start = 0;
        let mut run = 0;
        while start < items.len() {
            let mut end = start + 1;
            if batch.prepared.len() <= run {
                batch.prepared.resize_with(run + 1, Prepared::default);
            }
            match &items[start] {
                &(id, Item::Record(_)) => {
                    while end < items.len()
                        && matches!(&items[end], (next, Item::Record(_)) if *next == id)
                    {
                        end += 1;
                    }
                    let stages = &batch.routes[id as usize];
                    let records = items[start..end]
                        .iter_mut()
                        .filter_map(|(_, item)| match item {
                            Item::Record(record) => Some(record),
                            Item::Flush(_) => None,
                        });
                    prepare(stages, records, &mut batch.prepared[run], &self.counters);
                    batch.runs.push(Run::Records(id));
                }
                (_, Item::Flush(signal)) => batch.runs.push(Run::Flush(Arc::clone(signal))),
            }
            run += 1;
            start = end;
        }
        items.clear();
        self.write_in_turn(ticket, batch);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Record;
    use crate::testing::MemoryWriter;
    use crate::{AsyncConfig, Backend, PipelineConfig};
    use std::collections::BTreeSet;
    use std::sync::{Condvar, Mutex};
    use std::thread::ThreadId;
    use std::time::{Duration, Instant};

    /// Notes which worker thread sees each record; holds the worker at
    /// record 0 until the test has queued everything, and the worker at
    /// record 10 until another worker has seen a record (or patience ends).
    #[derive(Clone, Default)]
    struct Probe(Arc<(Mutex<ProbeState>, Condvar)>);

    #[derive(Default)]
    struct ProbeState {
        queued_all: bool,
        threads: BTreeSet<String>,
        first: Option<ThreadId>,
        other_seen: bool,
    }

    const PATIENCE: Duration = Duration::from_secs(30);

    impl crate::Enricher for Probe {
        fn enrich(&self, record: &mut Record) {
            let Some(crate::Value::I64(seq)) = record.field("seq").cloned() else {
                panic!("no seq");
            };
            let me = std::thread::current().id();
            let (state, cv) = &*self.0;
            let mut s = state.lock().unwrap();
            s.threads.insert(format!("{me:?}"));
            match s.first {
                None => s.first = Some(me),
                Some(first) if first != me => {
                    s.other_seen = true;
                    cv.notify_all();
                }
                Some(_) => {}
            }
            if seq == 0 {
                s = cv.wait_while(s, |s| !s.queued_all).unwrap();
            }
            if seq == 10 {
                drop(cv.wait_timeout_while(s, PATIENCE, |s| !s.other_seen));
            }
        }
    }

    /// A worker that takes a batch and leaves a whole batch behind
    /// wakes the other, sleeping worker, even though the pushes' one wake-up
    /// went to the first. Left asleep until its `batch_timeout`, the second
    /// worker let a core idle while records piled up.
    #[test]
    fn a_take_that_leaves_a_batch_behind_wakes_the_other_worker() {
        let memory = MemoryWriter::new();
        let probe = Probe::default();
        let backend = Backend::new(AsyncConfig {
            max_queue_size: 1_000,
            worker_count: 2,
            batch_size: 10,
            // Far longer than the test: only a wake-up brings a worker in.
            batch_timeout: Duration::from_secs(600),
            ..AsyncConfig::default()
        })
        .unwrap();
        let logger = backend.logger(
            "backlog",
            PipelineConfig::new()
                .enricher(probe.clone())
                .writer(memory.clone()),
        );
        let shared = Arc::clone(&backend.core);
        let deadline = Instant::now() + PATIENCE;
        while shared.queue.settled_idle_workers() < 2 {
            assert!(Instant::now() < deadline, "the workers never went to sleep");
            std::thread::yield_now();
        }
        // The tenth push wakes one worker; it takes records 0-9 and waits
        // at 0 until all 40 are queued. Then it takes 10-19, leaving 20
        // behind: that take must wake the other worker, which takes 20-29
        // while the first waits at record 10 for it.
        for seq in 0..40i64 {
            crate::info!(logger, "m", seq = seq);
        }
        let (state, cv) = &*probe.0;
        let mut s = state.lock().unwrap();
        s.queued_all = true;
        cv.notify_all();
        // Before any flush, which wakes every worker anyway.
        let (s, _) = cv
            .wait_timeout_while(s, PATIENCE, |s| !s.other_seen)
            .unwrap();
        assert!(
            s.other_seen,
            "records 20-39 were left to the worker held at record 10: the other slept on"
        );
        assert_eq!(s.threads.len(), 2);
        drop(s);
        assert!(backend.flush());
        let seqs: Vec<i64> = memory
            .lines()
            .iter()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["fields"]["seq"]
                    .as_i64()
                    .unwrap()
            })
            .collect();
        assert_eq!(seqs, (0..40).collect::<Vec<_>>());
    }
}
