//! Counting: what happened to every record, readable at any time.
//!
//! Every record submitted ends as exactly one of written, dropped (with its
//! reason), filtered or failed. Once the backend is idle (after `flush()` or
//! shutdown) the counters satisfy
//! `messages_submitted == messages_written + messages_dropped + messages_filtered + messages_failed`.
//!
//! ```
//! let stats = kakashi::Stats::default();
//! assert!(stats.is_balanced());
//! assert!(stats.to_json().starts_with(r#"{"state":"stopped","queue_size":0,"#));
//! ```

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use crossbeam_utils::CachePadded;

/// One counter, alone on its cache line.
pub(crate) type Counter = CachePadded<AtomicU64>;

use super::overflow::DropReason;
use super::{BackendCore, RUNNING, STOPPING, SYNCHRONOUS};
use crate::pipeline::format::{write_int, write_json_str};

/// The backend's lifecycle state, with the original's names.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum State {
    /// Not accepting records into the queue (before start, after shutdown).
    #[default]
    Stopped,
    /// Workers are draining the queue before stopping.
    Stopping,
    /// Workers are running.
    Running,
    /// No queue: every record is written on the caller's thread
    /// (`enable_async = false`).
    Synchronous,
}

impl State {
    /// `"stopped"`, `"stopping"`, `"running"` or `"synchronous"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            State::Stopped => "stopped",
            State::Stopping => "stopping",
            State::Running => "running",
            State::Synchronous => "synchronous",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One writer's own counts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WriterStats {
    /// The writer's name (`"file:app.log"`).
    pub name: String,
    /// Records it delivered.
    pub written: u64,
    /// Records it gave up on.
    pub failed: u64,
    /// Failed calls (each may cover several records).
    pub errors: u64,
    /// Retries it made.
    pub retries: u64,
}

macro_rules! counters {
    ($($(#[$doc:meta])* $name:ident,)*) => {
        /// Live counters of one backend (relaxed atomics), each on its own
        /// cache line: workers bump the written and batch counts, and sharing
        /// a line made each side pay for the other's writes (false sharing).
        /// A logging call writes none of them: what it enqueued is read off
        /// the queue's tail (`BackendCore::stats`).
        #[derive(Debug, Default)]
        pub(crate) struct Counters {
            /// Flush markers pushed (they move the queue's tail too).
            pub(crate) flush_markers: Counter,
            pub(crate) messages_written: Counter,
            $(pub(crate) $name: Counter,)*
        }

        /// A snapshot of a backend's counters: the original's keys first
        /// (`state`, `queue_size`, `max_queue_size`, `worker_count`,
        /// `messages_enqueued`, `messages_dropped`, `messages_written`,
        /// `active_workers`), then what the accounting needs.
        #[derive(Clone, Debug, Default, PartialEq)]
        #[non_exhaustive]
        pub struct Stats {
            /// Lifecycle state (the most active one when several backends are summed).
            pub state: State,
            /// Records in the queue now.
            pub queue_size: u64,
            /// Queue capacity.
            pub max_queue_size: u64,
            /// Configured worker threads.
            pub worker_count: u64,
            /// Records accepted into the queue.
            pub messages_enqueued: u64,
            /// Records dropped, all reasons (see the `dropped_*` keys).
            pub messages_dropped: u64,
            /// Records delivered to every writer of their output.
            pub messages_written: u64,
            /// Worker threads alive now.
            pub active_workers: u64,
            $($(#[$doc])* pub $name: u64,)*
            /// Per-writer counts.
            pub writers: Vec<WriterStats>,
        }

        impl Counters {
            /// Fills `s`; `pushed` is how many items the queue has taken
            /// since the counters were last reset (records and flush markers).
            pub(crate) fn snapshot_into(&self, s: &mut Stats, pushed: u64) {
                s.messages_enqueued =
                    pushed.saturating_sub(self.flush_markers.load(Relaxed));
                s.messages_dropped = self.dropped_queue_full.load(Relaxed)
                    + self.dropped_evicted.load(Relaxed)
                    + self.dropped_shutdown_timeout.load(Relaxed)
                    + self.dropped_backend_stopped.load(Relaxed)
                    + self.dropped_reentrant.load(Relaxed)
                    + self.dropped_interrupted.load(Relaxed);
                s.messages_written = self.messages_written.load(Relaxed);
                $(s.$name = self.$name.load(Relaxed);)*
                // The counter holds only submissions that never reached the
                // queue's door (handled on the caller's thread, in-band
                // reports); the rest are what a call turned into.
                s.messages_submitted += s.messages_enqueued
                    + s.dropped_queue_full
                    + s.dropped_backend_stopped
                    + s.dropped_reentrant
                    + s.dropped_interrupted;
            }

            /// Sets every counter back to zero (a forked child starts afresh).
            pub(crate) fn reset(&self) {
                self.flush_markers.store(0, Relaxed);
                self.messages_written.store(0, Relaxed);
                $(self.$name.store(0, Relaxed);)*
            }
        }

        impl Stats {
            fn add_extras(&mut self, o: &Stats) {
                $(self.$name += o.$name;)*
            }

            fn extras(&self) -> Vec<(&'static str, u64)> {
                vec![$((stringify!($name), self.$name),)*]
            }
        }
    };
}

counters! {
    /// Records offered to the backend (every logging call that passed the level check).
    messages_submitted,
    /// Records a writer gave up on.
    messages_failed,
    /// Records removed by a filter or below every output's level.
    messages_filtered,
    /// Records written on the caller's thread (synchronous mode or fallback).
    messages_written_sync,
    /// Dropped by `drop_newest`: the queue was full.
    dropped_queue_full,
    /// Dropped by `drop_oldest`: evicted from a full queue.
    dropped_evicted,
    /// Queued when a shutdown timed out (or while its workers were stuck).
    dropped_shutdown_timeout,
    /// Dropped because the backend was stopped and fallback is off, or
    /// logged after a shutdown that timed out while a writer was stuck.
    dropped_backend_stopped,
    /// Logged from inside a pipeline stage (or a signal handler that
    /// interrupted a worker) when enqueueing it would have meant waiting for
    /// that very stage: the queue was full, or the backend stopped.
    dropped_reentrant,
    /// The caller gave up waiting for room (`block`) because of a signal
    /// (Python: `KeyboardInterrupt` raised from the wait) or because the
    /// interpreter is exiting and the wait had lasted the exit drain's
    /// deadline (the longest configured `shutdown_timeout`).
    dropped_interrupted,
    /// Failed writer calls.
    write_errors,
    /// Retries made by writers.
    write_retries,
    /// Enricher panics (the record goes on without that enricher).
    enricher_errors,
    /// Filter panics (the record is kept).
    filter_errors,
    /// Formatter panics (the record fails for that output).
    formatter_errors,
    /// Batches handed to writers.
    batches_written,
    /// Bytes handed to writers.
    bytes_written,
    /// The most records the queue has held.
    queue_high_water_mark,
    /// In-band WARNING records kakashi emitted about drops and failures
    /// (each also counted in `messages_submitted`, and as written or failed).
    reports_emitted,
    /// Times a producer waited for room (`block`).
    producer_waits,
}

impl Counters {
    pub(crate) fn drop_counter(&self, reason: DropReason) -> &Counter {
        match reason {
            DropReason::QueueFull => &self.dropped_queue_full,
            DropReason::Evicted => &self.dropped_evicted,
            DropReason::ShutdownTimeout => &self.dropped_shutdown_timeout,
            DropReason::BackendStopped => &self.dropped_backend_stopped,
            DropReason::Reentrant => &self.dropped_reentrant,
            DropReason::Interrupted => &self.dropped_interrupted,
        }
    }
}

impl Stats {
    /// Whether every submitted record is accounted for:
    /// `submitted == written + dropped + filtered + failed`. True whenever the
    /// backend is idle (after `flush()` or shutdown).
    pub fn is_balanced(&self) -> bool {
        self.messages_submitted
            == self.messages_written
                + self.messages_dropped
                + self.messages_filtered
                + self.messages_failed
    }

    /// Adds a retired backend's totals: every counter but the gauges
    /// (queue size and capacity, workers, state) and the writers list.
    pub(crate) fn add_totals(&mut self, o: &Stats) {
        self.messages_enqueued += o.messages_enqueued;
        self.messages_dropped += o.messages_dropped;
        self.messages_written += o.messages_written;
        let hwm = self.queue_high_water_mark.max(o.queue_high_water_mark);
        self.add_extras(o);
        self.queue_high_water_mark = hwm;
    }

    /// Adds another backend's snapshot into this one (for the global view).
    pub fn merge(&mut self, o: &Stats) {
        self.state = match (self.state, o.state) {
            (State::Running, _) | (_, State::Running) => State::Running,
            (State::Stopping, _) | (_, State::Stopping) => State::Stopping,
            (State::Synchronous, _) | (_, State::Synchronous) => State::Synchronous,
            _ => State::Stopped,
        };
        self.queue_size += o.queue_size;
        self.max_queue_size += o.max_queue_size;
        self.worker_count += o.worker_count;
        self.active_workers += o.active_workers;
        self.add_totals(o);
        self.writers.extend(o.writers.iter().cloned());
    }

    /// Every counter by name, the original's keys first (`state` excluded).
    pub fn counters(&self) -> Vec<(&'static str, u64)> {
        let mut all = vec![
            ("queue_size", self.queue_size),
            ("max_queue_size", self.max_queue_size),
            ("worker_count", self.worker_count),
            ("messages_enqueued", self.messages_enqueued),
            ("messages_dropped", self.messages_dropped),
            ("messages_written", self.messages_written),
            ("active_workers", self.active_workers),
        ];
        all.extend(self.extras());
        all
    }

    /// One JSON object: `state`, every counter, then `writers`.
    pub fn to_json(&self) -> String {
        let mut out = Vec::with_capacity(1024);
        out.extend_from_slice(b"{\"state\":");
        write_json_str(&mut out, self.state.as_str());
        for (key, value) in self.counters() {
            out.push(b',');
            write_json_str(&mut out, key);
            out.push(b':');
            write_int(&mut out, value);
        }
        out.extend_from_slice(b",\"writers\":[");
        for (i, w) in self.writers.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b"{\"name\":");
            write_json_str(&mut out, &w.name);
            for (key, value) in [
                ("written", w.written),
                ("failed", w.failed),
                ("errors", w.errors),
                ("retries", w.retries),
            ] {
                out.extend_from_slice(b",\"");
                out.extend_from_slice(key.as_bytes());
                out.extend_from_slice(b"\":");
                write_int(&mut out, value);
            }
            out.push(b'}');
        }
        out.extend_from_slice(b"]}");
        String::from_utf8(out).unwrap_or_default()
    }
}

impl BackendCore {
    /// A snapshot of the counters, the state and the gauges (what
    /// [`Backend::stats`](super::Backend::stats) returns).
    pub(crate) fn stats(&self) -> Stats {
        let mut s = Stats::default();
        let pushed = self
            .queue
            .pushed()
            .saturating_sub(self.pushed_base.load(Relaxed));
        self.counters.snapshot_into(&mut s, pushed);
        s.state = match self.state() {
            RUNNING => State::Running,
            STOPPING => State::Stopping,
            SYNCHRONOUS => State::Synchronous,
            _ => State::Stopped,
        };
        s.queue_size = self.queue.len() as u64;
        s.max_queue_size = self.queue.capacity() as u64;
        s.worker_count = self.config.worker_count as u64;
        s.active_workers = self.active_workers.load(Relaxed);
        for stages in self.routes_snapshot() {
            stages.writer_stats(&mut s.writers);
        }
        s
    }
}
