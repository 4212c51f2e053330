//! Running a pipeline's stages over a run of records: `prepare` (enrich,
//! filter, format; parallel across workers) and `commit` (write; in ticket
//! order, one worker at a time).
//!
//! Every stage is guarded: a panicking enricher or filter is counted and
//! skipped, a panicking formatter fails that record for that output, a
//! failing or panicking writer fails its records; nothing reaches the caller.
//! A failing stage is reported on stderr once, then as a count at most every
//! ten seconds, never once per record.
//!
//! While a thread runs stages it is marked ([`in_stage`]): a record logged
//! from inside a stage must never wait for the backend (the backend may be
//! waiting for that very stage), and a panic there is the stage's failure,
//! reported here rather than by the panic hook.
//!
//! Here: [`Stages`] (a `PipelineConfig` built to run), its outputs and
//! in-band reports, and [`Route`]. `prepare.rs` and `commit.rs` are the two
//! halves of a run; `failures.rs` the stderr reports of panicking stages.

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::Instant;

use super::nesting::Nesting;
use super::timed_lock::{lock, TimedLock};

use super::overflow::DropReason;
use super::stats::{Counters, WriterStats};
use crate::pipeline::{
    Enricher, Filter, Formatter, OutputConfig, PipelineConfig, StageScope, Writer,
};
use crate::record::{Level, Record, Thread, Timestamp};

mod commit;
mod failures;
mod prepare;

pub(crate) use commit::commit;
pub(crate) use prepare::{prepare, Prepared};

/// A writer's counts, readable without waiting for the writer.
#[derive(Default)]
struct WriterCounters {
    name: String,
    written: AtomicU64,
    failed: AtomicU64,
    errors: AtomicU64,
    retries: AtomicU64,
    reported: AtomicBool,
}

/// One formatter and its writers, at runtime. The writers sit behind a lock
/// (one worker writes at a time) whose waits can end at a deadline; their
/// counters do not, so `stats()` never waits for a slow writer.
struct Output {
    min_level: Level,
    formatter: Box<dyn Formatter>,
    writers: TimedLock<Vec<Box<dyn Writer>>>,
    counters: Vec<WriterCounters>,
    /// In a forked child: a thread of the parent was using these writers at
    /// the fork, so their lock will never be released here; their records
    /// fail instead of waiting forever.
    abandoned: AtomicBool,
}

thread_local! {
    static IN_STAGE: Cell<u32> = const { Cell::new(0) };
}

/// True while this thread runs pipeline stages (on a worker, or on a caller
/// writing synchronously or draining after shutdown).
pub(crate) fn in_stage() -> bool {
    Nesting::depth(&IN_STAGE) > 0
}

/// Marks this thread as running stages until dropped (nests).
fn enter_stage() -> Nesting {
    Nesting::enter(&IN_STAGE)
}

/// A [`PipelineConfig`] made ready to run on a backend: the stages workers
/// run for each record of its [`Route`], the level gate its loggers read,
/// and the drops and failures it still owes an in-band report for.
///
/// Named apart from the public "pipeline" words on purpose: a
/// `PipelineConfig` is what a user assembles, an `AsyncPipeline` is one with
/// its own backend, and this is the engine's running form of the first.
pub(crate) struct Stages {
    /// The level gate read at every call site (a relaxed load).
    pub(crate) min_level: AtomicU8,
    enrichers: Vec<Box<dyn Enricher>>,
    filters: Vec<Box<dyn Filter>>,
    outputs: Vec<Output>,
    stage_scope: Option<StageScope>,
    /// Drops not yet reported in-band, per reason.
    pending_drops: [AtomicU64; 6],
    /// Writer failures not yet reported in-band.
    pending_failures: AtomicU64,
    last_failure: Mutex<String>,
    has_pending: AtomicBool,
    last_failure_report: Mutex<Option<Instant>>,
}

/// A pipeline registered on a backend: the index of its [`Stages`] in the
/// backend's routes (what each queued record carries, so that a worker
/// finds its stages) and the stages themselves (so that a logging call reads
/// the level gate and counts a drop without looking them up).
///
/// Invariant: `stages` is the backend's `routes[id]`; only
/// `Backend::add_route` makes one. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Route {
    /// Index in the backend's routes.
    pub(crate) id: u32,
    /// The stages at that index.
    pub(crate) stages: std::sync::Arc<Stages>,
}

impl std::fmt::Debug for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Route")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Stages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stages").finish_non_exhaustive()
    }
}

impl Stages {
    pub(crate) fn new(config: PipelineConfig) -> Stages {
        let PipelineConfig {
            min_level,
            enrichers,
            filters,
            formatter,
            mut writers,
            extra_outputs,
            stage_scope,
        } = config;
        // As in the original: no writer at all means the console.
        if writers.is_empty() && extra_outputs.is_empty() {
            writers.push(Box::new(crate::pipeline::write::console_writer()));
        }
        let main = (!writers.is_empty()).then(|| OutputConfig {
            min_level: Level::Debug,
            formatter,
            writers,
        });
        let outputs = main.into_iter().chain(extra_outputs);
        Stages {
            min_level: AtomicU8::new(min_level.value()),
            enrichers,
            filters,
            outputs: outputs.map(Output::new).collect(),
            stage_scope,
            pending_drops: Default::default(),
            pending_failures: AtomicU64::new(0),
            last_failure: Mutex::new(String::new()),
            has_pending: AtomicBool::new(false),
            last_failure_report: Mutex::new(None),
        }
    }

    /// Records `n` drops to report in-band later.
    pub(crate) fn note_drops(&self, reason: DropReason, n: u64) {
        self.pending_drops[reason as usize].fetch_add(n, Relaxed);
        if !self.has_pending.load(Relaxed) {
            self.has_pending.store(true, Relaxed);
        }
    }

    pub(crate) fn writer_stats(&self, into: &mut Vec<WriterStats>) {
        for output in &self.outputs {
            for c in &output.counters {
                into.push(WriterStats {
                    name: c.name.clone(),
                    written: c.written.load(Relaxed),
                    failed: c.failed.load(Relaxed),
                    errors: c.errors.load(Relaxed),
                    retries: c.retries.load(Relaxed),
                });
            }
        }
    }

    /// Flushes every writer; errors are counted. Waits for writers in use
    /// until `deadline` at most (`None`: as long as it takes); false when
    /// some could not be flushed by then.
    pub(crate) fn flush_writers(&self, counters: &Counters, deadline: Option<Instant>) -> bool {
        self.each_writer(counters, deadline, |w| w.flush())
    }

    /// [`Writer::sync`] on every writer, waiting for each output's writers
    /// at most until `deadline`; false if one could not be had or failed.
    pub(crate) fn sync_writers(&self, counters: &Counters, deadline: Option<Instant>) -> bool {
        self.each_writer(counters, deadline, |w| w.sync())
    }

    fn each_writer(
        &self,
        counters: &Counters,
        deadline: Option<Instant>,
        call: impl Fn(&mut Box<dyn Writer>) -> std::io::Result<()>,
    ) -> bool {
        let _stage = enter_stage();
        let mut all = true;
        for output in &self.outputs {
            if output.abandoned.load(Relaxed) {
                continue;
            }
            let Some(mut writers) = output.writers.lock_until(deadline) else {
                all = false;
                continue;
            };
            for (writer, c) in writers.iter_mut().zip(&output.counters) {
                let result = catch_unwind(AssertUnwindSafe(|| call(writer)));
                if !matches!(result, Ok(Ok(()))) {
                    counters.write_errors.fetch_add(1, Relaxed);
                    c.errors.fetch_add(1, Relaxed);
                    all = false;
                }
            }
        }
        all
    }

    /// In a forked child: outputs whose writers a thread of the parent was
    /// using at the fork are abandoned (their records fail from now on).
    /// Returns how many.
    pub(crate) fn abandon_writers_held_at_fork(&self) -> usize {
        let mut n = 0;
        for output in &self.outputs {
            if output.writers.held_at_fork() {
                output.abandoned.store(true, Relaxed);
                n += 1;
            }
        }
        n
    }

    /// Builds the in-band WARNING records owed (drops since the last report,
    /// writer failures at most once a second unless `force`).
    pub(crate) fn take_reports(&self, force: bool) -> Vec<Record> {
        if !self.has_pending.swap(false, Relaxed) {
            return Vec::new();
        }
        let mut reports = Vec::new();
        for reason in DropReason::ALL {
            let n = self.pending_drops[reason as usize].swap(0, Relaxed);
            if n > 0 {
                let mut r = report_record(format!(
                    "kakashi dropped {n} log records: {}",
                    reason.explain()
                ));
                r.fields.push(("dropped".into(), n.into()));
                r.fields.push(("reason".into(), reason.key().into()));
                reports.push(r);
            }
        }
        let mut last = lock(&self.last_failure_report);
        let due = force || last.is_none_or(|t| t.elapsed().as_secs() >= 1);
        if due {
            let n = self.pending_failures.swap(0, Relaxed);
            if n > 0 {
                *last = Some(Instant::now());
                let error = std::mem::take(&mut *lock(&self.last_failure));
                let mut r =
                    report_record(format!("kakashi failed to write {n} log records: {error}"));
                r.fields.push(("failed".into(), n.into()));
                r.fields.push(("error".into(), error.into()));
                reports.push(r);
            }
        } else if self.pending_failures.load(Relaxed) > 0 {
            self.has_pending.store(true, Relaxed);
        }
        reports
    }
}

fn report_record(message: String) -> Record {
    Record {
        timestamp: Timestamp::now(),
        level: Level::Warning,
        logger: crate::key!("kakashi"),
        message: message.into(),
        fields: crate::record::Fields::new(),
        context: None,
        exception: None,
        source: None,
        thread: Thread::current(),
        sections: crate::record::Sections::NONE,
    }
}

impl Output {
    fn new(config: OutputConfig) -> Output {
        let counters = config
            .writers
            .iter()
            .map(|writer| WriterCounters {
                name: writer.name(),
                ..WriterCounters::default()
            })
            .collect();
        Output {
            min_level: config.min_level,
            formatter: config.formatter,
            writers: TimedLock::new(config.writers),
            counters,
            abandoned: AtomicBool::new(false),
        }
    }
}
