//! What happens when the queue is full: the three strategies (by their
//! original names) and the code that carries them out at the call site;
//! and how a record dropped for any reason is counted ([`DropReason`]).
//!
//! The queue itself knows capacity, not policy (`queue.rs`): a push that
//! finds it full comes here. `block` waits for room, `drop_oldest` evicts
//! through the consumer's `Popper` (only the consumer may take items out),
//! `drop_newest` drops the new record and marks the queue known to be full
//! (`known_full`), so that later calls drop theirs before building it
//! ([`BackendCore::drop_if_known_full`]) until a worker takes.
//! Whatever the strategy, a record logged from inside a stage (or by a
//! signal handler that interrupted this thread while it held the consumer
//! lock) is dropped as `reentrant` rather than waiting or evicting: the
//! room it needs could only come from this very thread. Every drop goes
//! through [`BackendCore::drop_records`], which counts it twice, in the stats and
//! for the pipeline's next in-band report.
//!
//! ```
//! use kakashi::OverflowStrategy;
//! assert_eq!("drop_oldest".parse::<OverflowStrategy>().unwrap(), OverflowStrategy::DropOldest);
//! assert_eq!(OverflowStrategy::Block.as_str(), "block");
//! assert!("dropp_oldest".parse::<OverflowStrategy>().is_err());
//! ```

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::Ordering::*;
use std::time::{Duration, Instant};

use crossbeam_utils::Backoff;

use super::queue::{FlushState, Item};
use super::stages::{in_stage, Stages};
use super::submit::AroundWait;
use super::{holds_consumer, BackendCore, RUNNING, STOPPED};
use crate::error::ConfigError;
use crate::record::Record;

/// How long `drop_oldest` tries to push or evict without progress before
/// it drops the new record instead: far longer than a push takes, so it
/// only ends a wait that cannot end (a signal handler's push behind the
/// call it interrupted) or one on a thread descheduled mid-push.
const EVICTION_PATIENCE: Duration = Duration::from_millis(10);

/// The policy for a full queue.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum OverflowStrategy {
    /// The caller waits until there is room: nothing is lost, and there is no
    /// hidden time limit (`"block"`, the default). A caller that found the
    /// queue full goes on once a quarter of it is free (then it and the
    /// other waiting callers refill it in one go, rather than a batch's worth
    /// at a time).
    #[default]
    Block,
    /// The oldest queued record is evicted to make room (`"drop_oldest"`).
    DropOldest,
    /// The new record is rejected (`"drop_newest"`). Once a call has found
    /// the queue full, calls drop their record without building it (the
    /// Rust macros do not evaluate its fields) until a worker takes from the
    /// queue; every drop is counted and reported.
    DropNewest,
}

impl OverflowStrategy {
    /// Every strategy, in the order the original lists them.
    pub const ALL: [OverflowStrategy; 3] = [
        OverflowStrategy::Block,
        OverflowStrategy::DropOldest,
        OverflowStrategy::DropNewest,
    ];

    /// The original's name (`"block"`, `"drop_oldest"`, `"drop_newest"`).
    pub const fn as_str(self) -> &'static str {
        match self {
            OverflowStrategy::Block => "block",
            OverflowStrategy::DropOldest => "drop_oldest",
            OverflowStrategy::DropNewest => "drop_newest",
        }
    }
}

impl fmt::Display for OverflowStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for OverflowStrategy {
    type Err = ConfigError;

    /// Exact names only: an unknown name is an error, never a silent default.
    fn from_str(s: &str) -> Result<OverflowStrategy, ConfigError> {
        match s {
            "block" => Ok(OverflowStrategy::Block),
            "drop_oldest" => Ok(OverflowStrategy::DropOldest),
            "drop_newest" => Ok(OverflowStrategy::DropNewest),
            _ => Err(ConfigError::UnknownOverflowStrategy(s.to_owned())),
        }
    }
}

/// Why a record was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DropReason {
    /// `drop_newest` rejected it: the queue was full.
    QueueFull = 0,
    /// `drop_oldest` evicted it.
    Evicted = 1,
    /// Queued when shutdown's timeout expired, or queued later while that
    /// shutdown's workers were still stuck.
    ShutdownTimeout = 2,
    /// Logged after shutdown with `fallback_to_sync = false`, or while a
    /// timed-out shutdown's worker is stuck.
    BackendStopped = 3,
    /// Logged from inside a stage when it would have had to wait for it.
    Reentrant = 4,
    /// The caller gave up waiting for room (a signal, or interpreter exit).
    Interrupted = 5,
}

impl DropReason {
    pub(crate) const ALL: [DropReason; 6] = [
        DropReason::QueueFull,
        DropReason::Evicted,
        DropReason::ShutdownTimeout,
        DropReason::BackendStopped,
        DropReason::Reentrant,
        DropReason::Interrupted,
    ];

    pub(crate) const fn key(self) -> &'static str {
        match self {
            DropReason::QueueFull => "queue_full",
            DropReason::Evicted => "evicted_oldest",
            DropReason::ShutdownTimeout => "shutdown_timeout",
            DropReason::BackendStopped => "backend_stopped",
            DropReason::Reentrant => "reentrant",
            DropReason::Interrupted => "interrupted",
        }
    }

    pub(crate) const fn explain(self) -> &'static str {
        match self {
            DropReason::QueueFull => "the queue was full (drop_newest)",
            DropReason::Evicted => {
                "the queue was full and older records were evicted (drop_oldest)"
            }
            DropReason::ShutdownTimeout => "shutdown timed out before they were written",
            DropReason::BackendStopped => {
                "the backend was stopped (fallback_to_sync is off, or a writer is stuck)"
            }
            DropReason::Reentrant => {
                "they were logged from inside a pipeline stage that the queue was waiting for"
            }
            DropReason::Interrupted => {
                "the wait for room (block) was ended by a signal or by interpreter exit"
            }
        }
    }
}

// === the policy, at the call site ===

impl BackendCore {
    /// Under `drop_newest`, while the queue is known to be full: counts the
    /// call as submitted and dropped, and returns true (the caller then does
    /// not build its record). Always false under the other strategies.
    #[inline]
    pub(crate) fn drop_if_known_full(&self, stages: &Stages) -> bool {
        self.known_full.load(Relaxed) && self.drop_if_known_full_cold(stages)
    }

    /// [`drop_if_known_full`](BackendCore::drop_if_known_full) once the flag is
    /// set: checks that the queue is still full before dropping.
    #[cold]
    #[inline(never)]
    fn drop_if_known_full_cold(&self, stages: &Stages) -> bool {
        // Stopping or stopped, or room after all (the flag was set after the
        // workers had emptied the queue, and no take will clear it): the
        // record takes the usual way.
        if self.state() != RUNNING || !self.queue.is_full() {
            self.known_full.store(false, Relaxed);
            return false;
        }
        self.drop_records(stages, DropReason::QueueFull, 1);
        true
    }

    /// `record` found the queue full: evicts the oldest items until it fits
    /// (`drop_oldest`), drops it (`drop_newest`) or waits for room (`block`).
    /// True when it was enqueued after all.
    ///
    /// A record logged from inside a stage, or by a signal handler that
    /// interrupted this thread while it was taking from the queue, is
    /// dropped (counted as `reentrant`): the room it would wait for, or the
    /// eviction it would make, can only come from this very thread.
    #[cold]
    #[inline(never)]
    pub(super) fn queue_full(
        &self,
        stages: &Stages,
        record: &mut Option<Record>,
        id: u32,
        around_wait: &mut AroundWait<'_>,
    ) -> bool {
        let Some(record) = record.take() else {
            return false;
        };
        self.raise_high_water_to_capacity();
        if in_stage() || holds_consumer() {
            drop(record);
            self.drop_records(stages, DropReason::Reentrant, 1);
            return false;
        }
        let mut item = Item::Record(record);
        match self.config.overflow_strategy {
            OverflowStrategy::DropOldest => return self.push_evicting(id, item, stages),
            OverflowStrategy::DropNewest => {
                if self.state() == RUNNING && !self.known_full.load(Relaxed) {
                    self.known_full.store(true, Relaxed);
                }
                drop(item);
                self.drop_records(stages, DropReason::QueueFull, 1);
                return false;
            }
            OverflowStrategy::Block => {}
        }
        loop {
            match self.queue.push(id, item) {
                Ok(()) => return true,
                Err(back) => item = back,
            }
            if self.stranded() {
                drop(item);
                self.drop_records(stages, DropReason::BackendStopped, 1);
                return false;
            }
            let went_on = if self.active_workers.load(SeqCst) == 0 {
                // Stopped, and no worker left to make room: this thread does.
                around_wait(&mut || self.drain_if_no_workers())
            } else {
                self.raise_high_water_to_capacity();
                self.counters.producer_waits.fetch_add(1, Relaxed);
                around_wait(&mut || {
                    self.queue.sleep_until_room(|| {
                        self.abort.load(SeqCst)
                            || (self.state() == STOPPED && self.active_workers.load(SeqCst) == 0)
                    })
                })
            };
            if !went_on {
                drop(item);
                self.drop_records(stages, DropReason::Interrupted, 1);
                return false;
            }
        }
    }

    /// Pushes `item`, taking the oldest items out of the queue while it is
    /// full (each counted as evicted). True when it is in.
    ///
    /// It never waits for a push in progress: the oldest slot may be one
    /// claimed by the very call a signal handler interrupted, which cannot
    /// go on until the handler returns. When nothing can be pushed or
    /// evicted for [`EVICTION_PATIENCE`] (the oldest record still being
    /// written, or the consumer busy waiting for it), the new record is
    /// dropped instead, counted as `queue_full`.
    fn push_evicting(&self, route: u32, mut item: Item, stages: &Stages) -> bool {
        let backoff = Backoff::new();
        let mut stalled_since: Option<Instant> = None;
        loop {
            match self.queue.push(route, item) {
                Ok(()) => return true,
                Err(back) => item = back,
            }
            // Only the consumer may take items out. When a worker is taking
            // some right now, there is room on its way: try again.
            let oldest = match self.try_lock_consumer() {
                Some(mut consumer) => self.queue.pop_ready(&mut consumer.popper),
                None => None,
            };
            match oldest {
                Some(oldest) => {
                    self.evicted(oldest);
                    stalled_since = None;
                    continue;
                }
                // Full a moment ago, nothing taken now: a push is being
                // written, or a worker is taking.
                None if self.stranded() => {
                    drop(item);
                    self.drop_records(stages, DropReason::BackendStopped, 1);
                    return false;
                }
                None => {}
            }
            let since = *stalled_since.get_or_insert_with(Instant::now);
            if backoff.is_completed() && since.elapsed() >= EVICTION_PATIENCE {
                drop(item);
                self.drop_records(stages, DropReason::QueueFull, 1);
                return false;
            }
            backoff.snooze();
        }
    }

    fn raise_high_water_to_capacity(&self) {
        // A load first: once the mark is at capacity (the usual case when the
        // queue is full again and again), no write to a shared line.
        let mark = &self.counters.queue_high_water_mark;
        let capacity = self.queue.capacity() as u64;
        if mark.load(Relaxed) < capacity {
            mark.fetch_max(capacity, Relaxed);
        }
    }

    fn evicted(&self, taken: (u32, Item)) {
        self.discard(taken, DropReason::Evicted);
    }
}

// === drops, counted ===

impl BackendCore {
    /// Counts a queued item as dropped for `reason` (a flush marker is
    /// answered: everything before it has left the queue).
    fn discard(&self, (id, item): (u32, Item), reason: DropReason) {
        match item {
            Item::Record(record) => {
                drop(record);
                let stages = self.stages_of(id);
                self.drop_records(&stages, reason, 1);
            }
            Item::Flush(signal) => {
                signal.set(FlushState::AfterTicket(self.next_ticket.load(SeqCst)))
            }
        }
    }

    /// Takes everything out of the queue and counts it as dropped for
    /// `reason`; returns how many records.
    pub(super) fn discard_queued(&self, reason: DropReason) -> u64 {
        let mut consumer = self.lock_consumer();
        let mut n = 0;
        while let Some(taken) = self.queue.pop(&mut consumer.popper) {
            n += u64::from(matches!(taken.1, Item::Record(..)));
            self.discard(taken, reason);
        }
        n
    }

    pub(super) fn drop_records(&self, stages: &Stages, reason: DropReason, n: u64) {
        // `messages_dropped` is the sum of the per-reason counters, added up
        // when stats are read: one write per drop instead of two.
        self.counters.drop_counter(reason).fetch_add(n, Relaxed);
        stages.note_drops(reason, n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::MemoryWriter;
    use crate::{AsyncConfig, Backend, PipelineConfig};

    /// `drop_newest`'s `known_full` flag set after the workers had emptied
    /// the queue (a producer's failed push, then a drain, then its store)
    /// must not drop every later call: no take would ever clear it.
    #[test]
    fn a_stale_known_full_flag_drops_nothing_once_there_is_room() {
        let memory = MemoryWriter::new();
        let backend = Backend::new(AsyncConfig {
            max_queue_size: 8,
            overflow_strategy: OverflowStrategy::DropNewest,
            ..AsyncConfig::default()
        })
        .unwrap();
        let logger = backend.logger("stale", PipelineConfig::new().writer(memory.clone()));
        backend.core.known_full.store(true, Relaxed);
        crate::info!(logger, "kept");
        assert!(backend.flush());
        assert_eq!(memory.lines().len(), 1);
        assert_eq!(backend.stats().dropped_queue_full, 0);
    }
}
