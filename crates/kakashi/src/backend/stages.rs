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

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering::Relaxed};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::timed_lock::{lock, TimedLock};

use super::overflow::DropReason;
use super::stats::{Counters, WriterStats};
use crate::pipeline::{
    Batch, Enricher, Filter, Formatter, OutputConfig, PipelineConfig, StageFailed, StageScope,
    Writer,
};
use crate::record::{Level, Record, ThreadInfo, Timestamp};

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
    IN_STAGE.try_with(Cell::get).unwrap_or(0) > 0
}

/// Marks this thread as running stages until dropped (nests).
struct StageGuard;

impl StageGuard {
    fn enter() -> StageGuard {
        let _ = IN_STAGE.try_with(|d| d.set(d.get() + 1));
        StageGuard
    }
}

impl Drop for StageGuard {
    fn drop(&mut self) {
        let _ = IN_STAGE.try_with(|d| d.set(d.get().saturating_sub(1)));
    }
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
        let _stage = StageGuard::enter();
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
                let result = catch_unwind(AssertUnwindSafe(|| writer.flush()));
                if !matches!(result, Ok(Ok(()))) {
                    counters.write_errors.fetch_add(1, Relaxed);
                    c.errors.fetch_add(1, Relaxed);
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
        thread: ThreadInfo::current(),
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

// === prepare / commit ===

/// One output's formatted lines for a run.
#[derive(Default)]
struct OutBuf {
    bytes: Vec<u8>,
    ends: Vec<usize>,
    /// Which record (index into the run) each line is.
    index: Vec<u32>,
}

/// A run of records of one pipeline, formatted and waiting for its turn.
#[derive(Default)]
pub(crate) struct Prepared {
    outs: Vec<OutBuf>,
    /// Per record: failed (formatter or writer).
    failed: Vec<bool>,
    /// Per record: reached at least one output.
    routed: Vec<bool>,
    records: usize,
}

/// Enriches, filters and formats `records` into `prep`.
pub(crate) fn prepare<'a>(
    stages: &Stages,
    records: impl Iterator<Item = &'a mut Record>,
    prep: &mut Prepared,
    counters: &Counters,
) {
    prep.outs.resize_with(stages.outputs.len(), OutBuf::default);
    for out in &mut prep.outs {
        out.bytes.clear();
        out.ends.clear();
        out.index.clear();
    }
    prep.failed.clear();
    prep.routed.clear();
    prep.records = 0;
    let _stage = StageGuard::enter();
    match &stages.stage_scope {
        None => prepare_records(stages, records, prep, counters),
        Some(scope) => {
            let mut records = Some(records);
            let _ = catch_unwind(AssertUnwindSafe(|| {
                scope(&mut || {
                    if let Some(records) = records.take() {
                        prepare_records(stages, records, prep, counters);
                    }
                })
            }));
            // A scope that failed or never called us must not lose the batch.
            if let Some(records) = records.take() {
                prepare_records(stages, records, prep, counters);
            }
        }
    }
}

fn prepare_records<'a>(
    stages: &Stages,
    records: impl Iterator<Item = &'a mut Record>,
    prep: &mut Prepared,
    counters: &Counters,
) {
    for record in records {
        let i = prep.records;
        prep.records += 1;
        prep.failed.push(false);
        prep.routed.push(false);
        for enricher in &stages.enrichers {
            if let Err(payload) = catch_unwind(AssertUnwindSafe(|| enricher.enrich(record))) {
                counters.enricher_errors.fetch_add(1, Relaxed);
                ENRICHER_FAILURES.report(&*payload);
            }
        }
        let kept = stages.filters.iter().all(|filter| {
            catch_unwind(AssertUnwindSafe(|| filter.allows(record))).unwrap_or_else(|payload| {
                counters.filter_errors.fetch_add(1, Relaxed);
                FILTER_FAILURES.report(&*payload);
                true
            })
        });
        if !kept {
            continue;
        }
        for (output, buf) in stages.outputs.iter().zip(&mut prep.outs) {
            if record.level < output.min_level {
                continue;
            }
            prep.routed[i] = true;
            let start = buf.bytes.len();
            let formatted = catch_unwind(AssertUnwindSafe(|| {
                output.formatter.format(record, &mut buf.bytes)
            }));
            if let Err(payload) = formatted {
                buf.bytes.truncate(start);
                prep.failed[i] = true;
                counters.formatter_errors.fetch_add(1, Relaxed);
                FORMATTER_FAILURES.report(&*payload);
                continue;
            }
            buf.bytes.push(b'\n');
            buf.ends.push(buf.bytes.len());
            buf.index.push(i as u32);
        }
    }
}

/// Hands each output's lines to its writers and counts the outcome of every
/// record. Returns the number of records written.
pub(crate) fn commit(stages: &Stages, prep: &mut Prepared, counters: &Counters) -> u64 {
    let _stage = StageGuard::enter();
    // A writer that forks (a Python writer calling `os.fork`) returns twice;
    // in the child, this batch is the parent's to count.
    let generation = crate::record::fork_generation();
    for (output, buf) in stages.outputs.iter().zip(&prep.outs) {
        if buf.ends.is_empty() {
            continue;
        }
        if output.abandoned.load(Relaxed) {
            abandoned(output, buf, &mut prep.failed, counters, stages);
            continue;
        }
        let batch = Batch::new(&buf.bytes, &buf.ends);
        let mut writers = output.writers.lock();
        for (writer, c) in writers.iter_mut().zip(&output.counters) {
            write_all(
                writer,
                c,
                &batch,
                &buf.index,
                &mut prep.failed,
                counters,
                stages,
            );
        }
        counters.batches_written.fetch_add(1, Relaxed);
        counters
            .bytes_written
            .fetch_add(buf.bytes.len() as u64, Relaxed);
    }
    if crate::record::fork_generation() != generation {
        return 0;
    }
    let (mut written, mut failed, mut filtered) = (0, 0, 0);
    for i in 0..prep.records {
        if prep.failed[i] {
            failed += 1;
        } else if prep.routed[i] {
            written += 1;
        } else {
            filtered += 1;
        }
    }
    counters.messages_written.fetch_add(written, Relaxed);
    counters.messages_failed.fetch_add(failed, Relaxed);
    counters.messages_filtered.fetch_add(filtered, Relaxed);
    written
}

/// Delivers `batch` to one writer, handing back the remainder after each
/// partial failure, and marks the records it gave up on.
fn write_all(
    writer: &mut Box<dyn Writer>,
    c: &WriterCounters,
    batch: &Batch<'_>,
    index: &[u32],
    failed: &mut [bool],
    counters: &Counters,
    stages: &Stages,
) {
    let mut start = 0;
    while start < batch.len() {
        let (tail_ends, tail_bytes);
        let sub = if start == 0 {
            *batch
        } else {
            (tail_ends, tail_bytes) = batch.tail(start);
            Batch::new(tail_bytes, &tail_ends)
        };
        let outcome = catch_unwind(AssertUnwindSafe(|| writer.write_batch(&sub)));
        let retries = writer.take_retries();
        c.retries.fetch_add(retries, Relaxed);
        counters.write_retries.fetch_add(retries, Relaxed);
        let (delivered, given_up, error) = match outcome {
            Ok(Ok(())) => (sub.len(), 0, None),
            Ok(Err(e)) => {
                let delivered = e.written.min(sub.len());
                // A writer that reports neither progress nor failures gives up on the rest.
                let given_up = if e.written == 0 && e.failed == 0 {
                    sub.len()
                } else {
                    e.failed.min(sub.len() - delivered)
                };
                (delivered, given_up, Some(e.error.to_string()))
            }
            Err(panic) => (
                0,
                sub.len(),
                Some(format!(
                    "writer panicked: {}",
                    crate::panic_message(&*panic)
                )),
            ),
        };
        c.written.fetch_add(delivered as u64, Relaxed);
        if let Some(error) = error {
            c.failed.fetch_add(given_up as u64, Relaxed);
            c.errors.fetch_add(1, Relaxed);
            counters.write_errors.fetch_add(1, Relaxed);
            for &i in &index[start + delivered..start + delivered + given_up] {
                failed[i as usize] = true;
            }
            let text = format!("{}: {error}", c.name);
            if !c.reported.swap(true, Relaxed) {
                eprintln!("kakashi: writer {text} (further failures are counted in the stats)");
            }
            stages.pending_failures.fetch_add(given_up as u64, Relaxed);
            *lock(&stages.last_failure) = text;
            stages.has_pending.store(true, Relaxed);
        }
        start += delivered + given_up;
    }
}

/// Fails an abandoned output's lines (a forked child whose parent was
/// writing to it at the fork).
fn abandoned(
    output: &Output,
    buf: &OutBuf,
    failed: &mut [bool],
    counters: &Counters,
    stages: &Stages,
) {
    const WHY: &str = "a thread of the parent process was using this writer when it forked";
    for &i in &buf.index {
        failed[i as usize] = true;
    }
    let n = buf.index.len() as u64;
    for c in &output.counters {
        c.failed.fetch_add(n, Relaxed);
        c.errors.fetch_add(1, Relaxed);
        if !c.reported.swap(true, Relaxed) {
            eprintln!(
                "kakashi: writer {}: {WHY}; its records fail in this process (counted in the stats)",
                c.name
            );
        }
    }
    counters.write_errors.fetch_add(1, Relaxed);
    stages.pending_failures.fetch_add(n, Relaxed);
    *lock(&stages.last_failure) = WHY.to_owned();
    stages.has_pending.store(true, Relaxed);
}

/// How often a stage that keeps failing is reported again, as a count.
const REPORT_EVERY: Duration = Duration::from_secs(10);

/// Stderr reports of one kind of stage failure: the first in full, then a
/// count of the others at most every [`REPORT_EVERY`] (a stage that panics
/// on every record must not print a line per record).
struct FailureReports {
    what: &'static str,
    consequence: &'static str,
    reported: AtomicBool,
    unreported: AtomicU64,
    /// When the last count was printed, in milliseconds since [`epoch`].
    last_ms: AtomicU64,
}

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

impl FailureReports {
    const fn new(what: &'static str, consequence: &'static str) -> FailureReports {
        FailureReports {
            what,
            consequence,
            reported: AtomicBool::new(false),
            unreported: AtomicU64::new(0),
            last_ms: AtomicU64::new(0),
        }
    }

    /// Reports a stage's panic. `StageFailed` (a binding's stage that
    /// reported its own error) prints nothing here.
    fn report(&self, payload: &(dyn std::any::Any + Send)) {
        if payload.is::<StageFailed>() {
            return;
        }
        let now = epoch().elapsed().as_millis() as u64;
        if !self.reported.swap(true, Relaxed) {
            self.last_ms.store(now, Relaxed);
            eprintln!(
                "kakashi: {} panicked: {}; {} (further failures are counted in the stats)",
                self.what,
                crate::panic_message(payload),
                self.consequence
            );
            return;
        }
        let n = self.unreported.fetch_add(1, Relaxed) + 1;
        let last = self.last_ms.load(Relaxed);
        if now.saturating_sub(last) >= REPORT_EVERY.as_millis() as u64
            && self
                .last_ms
                .compare_exchange(last, now, Relaxed, Relaxed)
                .is_ok()
        {
            let n = self.unreported.swap(0, Relaxed).max(n.min(1));
            eprintln!(
                "kakashi: {} panicked {n} more times in the last {} s (counted in the stats)",
                self.what,
                (now - last) / 1000
            );
        }
    }
}

static ENRICHER_FAILURES: FailureReports =
    FailureReports::new("an enricher", "it is skipped for that record");
static FILTER_FAILURES: FailureReports = FailureReports::new("a filter", "the record is kept");
static FORMATTER_FAILURES: FailureReports =
    FailureReports::new("a formatter", "the record failed for that output");
