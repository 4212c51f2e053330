//! G5 (never hangs): a record logged from inside a pipeline stage (enricher,
//! filter, formatter, writer) never waits: on a worker thread it is enqueued
//! when the queue has room and otherwise dropped and counted in
//! `dropped_reentrant`; on the caller's thread (synchronous backend, or after
//! shutdown) likewise.
//!
//! Every case runs `block` with a 4-record queue and 2-record batches, a
//! stage that logs one "inner" record into its own logger for every "outer"
//! record, and 1,000 "outer" records from the main thread. All 1,000 must be
//! written, flush and shutdown must return, and the stats must balance. Each
//! case runs in a child process (this binary re-run) killed at a deadline.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{balance, counter, isolated, parse};
use kakashi::testing::MemoryWriter;
use kakashi::{
    default_json_formatter, info, AsyncConfig, Backend, Batch, Formatter, Logger, OverflowStrategy,
    PipelineConfig, Record, WriteError, Writer,
};

const RECORDS: u64 = 1_000;
const DEADLINE: Duration = Duration::from_secs(30);

#[derive(Clone, Copy, Debug, PartialEq)]
enum Stage {
    Enricher,
    Filter,
    Formatter,
    Writer,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    /// Stages run on a worker of a running backend.
    Worker,
    /// `Backend::synchronous()`: stages run on the caller's thread.
    Synchronous,
    /// The backend was shut down first: records are written on the caller's
    /// thread (`fallback_to_sync`).
    AfterShutdown,
}

/// The logger the stage logs into (set once the logger exists; emptied at
/// the end so the backend is not kept alive by its own stage).
type Slot = Arc<Mutex<Option<Logger>>>;

fn relog(slot: &Slot, message: &str) {
    if message != "outer" {
        return;
    }
    let logger = slot.lock().unwrap().clone();
    if let Some(logger) = logger {
        info!(logger, "inner");
    }
}

/// A writer that logs one "inner" record per "outer" record it receives,
/// then keeps the batch in memory.
struct RelogWriter {
    slot: Slot,
    memory: MemoryWriter,
}

impl Writer for RelogWriter {
    fn write_batch(&mut self, batch: &Batch<'_>) -> Result<(), WriteError> {
        for line in batch.records() {
            let v: serde_json::Value = serde_json::from_slice(line).expect("JSON line");
            relog(&self.slot, v["message"].as_str().unwrap_or(""));
        }
        self.memory.write_batch(batch)
    }
}

fn scenario(stage: Stage, mode: Mode) {
    let backend = match mode {
        Mode::Synchronous => Backend::synchronous(),
        Mode::Worker | Mode::AfterShutdown => Backend::new(AsyncConfig {
            max_queue_size: 4,
            batch_size: 2,
            worker_count: 1,
            overflow_strategy: OverflowStrategy::Block,
            ..AsyncConfig::default()
        })
        .unwrap(),
    };
    let slot: Slot = Arc::default();
    let memory = MemoryWriter::new();
    let mut config = PipelineConfig::new();
    let s = Arc::clone(&slot);
    config = match stage {
        Stage::Enricher => config.enricher(move |r: &mut Record| relog(&s, &r.message)),
        Stage::Filter => config.filter(move |r: &Record| {
            relog(&s, &r.message);
            true
        }),
        Stage::Formatter => {
            let json = default_json_formatter();
            config.formatter(move |r: &Record, out: &mut Vec<u8>| {
                relog(&s, &r.message);
                json.format(r, out)
            })
        }
        Stage::Writer => config.writer(RelogWriter {
            slot: s,
            memory: memory.clone(),
        }),
    };
    if stage != Stage::Writer {
        config = config.writer(memory.clone());
    }
    let logger = backend.logger("reentrant", config);
    *slot.lock().unwrap() = Some(logger.clone());

    if mode == Mode::AfterShutdown {
        let report = backend.shutdown(Duration::from_secs(10));
        assert!(
            report.completed(),
            "the first shutdown of an idle backend: {report:?}"
        );
    }

    eprintln!("step: logging {RECORDS} outer records ({stage:?} stage, {mode:?})");
    for i in 0..RECORDS {
        info!(logger, "outer", i = i);
    }
    eprintln!("step: flush");
    let flushed = backend.flush_timeout(Duration::from_secs(10));
    eprintln!("step: shutdown");
    let report = backend.shutdown(Duration::from_secs(10));
    *slot.lock().unwrap() = None;

    let records = parse(&memory.lines());
    let outer: Vec<u64> = records
        .iter()
        .filter(|r| r["logger"] == "reentrant" && r["message"] == "outer")
        .map(|r| r["fields"]["i"].as_u64().unwrap())
        .collect();
    let inner_written = records
        .iter()
        .filter(|r| r["logger"] == "reentrant" && r["message"] == "inner")
        .count() as u64;
    let stats = backend.stats();
    eprintln!(
        "outer written {}, inner written {inner_written}; stats {}",
        outer.len(),
        stats.to_json()
    );
    assert!(
        flushed,
        "flush() did not finish within 10 s; {}",
        balance(&stats)
    );
    assert!(report.drained, "shutdown did not drain: {report:?}");
    assert_eq!(
        outer,
        (0..RECORDS).collect::<Vec<_>>(),
        "every record logged from the main thread must be written, in order \
         ({} of {RECORDS} written)",
        outer.len()
    );
    let reentrant = counter(&stats, "dropped_reentrant");
    assert_eq!(
        inner_written + reentrant,
        RECORDS,
        "each re-entrant record is written or counted in dropped_reentrant \
         (written {inner_written}, dropped_reentrant {reentrant}); {stats:?}"
    );
    assert!(
        stats.is_balanced(),
        "stats do not balance: {}",
        balance(&stats)
    );
    assert_eq!(
        stats.messages_submitted,
        2 * RECORDS + stats.reports_emitted,
        "every outer and inner record is submitted once; {}",
        balance(&stats)
    );
    assert_eq!(stats.queue_size, 0, "records stranded in the queue");
}

macro_rules! case {
    ($name:ident, $stage:ident, $mode:ident) => {
        #[test]
        fn $name() {
            isolated(stringify!($name), DEADLINE, || {
                scenario(Stage::$stage, Mode::$mode)
            });
        }
    };
}

case!(
    an_enricher_logging_on_a_worker_never_waits,
    Enricher,
    Worker
);
case!(a_filter_logging_on_a_worker_never_waits, Filter, Worker);
case!(
    a_formatter_logging_on_a_worker_never_waits,
    Formatter,
    Worker
);
case!(a_writer_logging_on_a_worker_never_waits, Writer, Worker);
case!(
    an_enricher_logging_on_a_synchronous_backend_never_waits,
    Enricher,
    Synchronous
);
case!(
    a_filter_logging_on_a_synchronous_backend_never_waits,
    Filter,
    Synchronous
);
case!(
    a_formatter_logging_on_a_synchronous_backend_never_waits,
    Formatter,
    Synchronous
);
case!(
    a_writer_logging_on_a_synchronous_backend_never_waits,
    Writer,
    Synchronous
);
case!(
    an_enricher_logging_after_shutdown_never_waits,
    Enricher,
    AfterShutdown
);
case!(
    a_filter_logging_after_shutdown_never_waits,
    Filter,
    AfterShutdown
);
case!(
    a_formatter_logging_after_shutdown_never_waits,
    Formatter,
    AfterShutdown
);
case!(
    a_writer_logging_after_shutdown_never_waits,
    Writer,
    AfterShutdown
);
