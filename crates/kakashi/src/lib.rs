//! # kakashi
//!
//! Structured logging whose hot path never waits for I/O: pipelines of
//! enrichers, filters, a formatter and writers; a bounded queue drained in
//! batches by worker threads; overflow strategies that are counted and
//! reported; a flush at exit that loses nothing.
//!
//! It implements the "Async Backends" page of the Python library Kakashi, with
//! the page's names, and keeps every promise that library made.
//!
//! ## Quick start
//!
//! ```
//! use kakashi::{get_high_performance_logger_with, HighPerformanceOptions, OverflowStrategy, info};
//! # let dir = tempfile::tempdir().unwrap();
//! # let path = dir.path().join("trades.log");
//! let logger = get_high_performance_logger_with("trading", &path, HighPerformanceOptions {
//!     max_queue_size: 100_000,
//!     worker_count: 2,
//!     batch_size: 1_000,
//!     overflow_strategy: OverflowStrategy::Block, // never lose a record
//!     ..HighPerformanceOptions::default()
//! })?;
//! for qty in [100, 200] {
//!     info!(logger, "Trade executed", symbol = "AAPL", qty = qty, price = 187.5);
//! }
//! let report = kakashi::shutdown_async_backend(std::time::Duration::from_secs(10));
//! assert!(report.completed());
//! assert_eq!(std::fs::read_to_string(&path).unwrap().lines().count(), 2);
//! # Ok::<(), kakashi::ConfigError>(())
//! ```
//!
//! Pipelines are assembled from [`PipelineConfig`] and run on a [`Backend`]
//! (or through [`AsyncPipeline`], the page's name for the pair):
//!
//! ```
//! use kakashi::*;
//! # let dir = tempfile::tempdir().unwrap();
//! # let app_log = dir.path().join("app.log");
//! let pipeline = AsyncPipeline::new(AsyncPipelineConfig {
//!     pipeline_config: PipelineConfig {
//!         min_level: Level::Info,
//!         enrichers: vec![Box::new(thread_enricher()), Box::new(exception_enricher())],
//!         filters: vec![],
//!         formatter: Box::new(default_json_formatter()),
//!         writers: vec![Box::new(file_writer(&app_log)?)],
//!         ..PipelineConfig::default()
//!     },
//!     async_config: AsyncConfig {
//!         max_queue_size: 25_000,
//!         worker_count: 2,
//!         batch_size: 200,
//!         batch_timeout: std::time::Duration::from_millis(100),
//!         enable_batching: true,
//!         ..AsyncConfig::default()
//!     },
//!     enable_async: true,
//!     fallback_to_sync: true,
//! })?;
//! let logger = pipeline.logger("api");
//! info!(logger, "API call", endpoint = "/users", response_time = 45);
//! pipeline.flush();
//! assert!(std::fs::read_to_string(&app_log).unwrap().contains(r#""endpoint":"/users""#));
//! # Ok::<(), kakashi::ConfigError>(())
//! ```
//!
//! ## Guarantees
//!
//! - **Nothing is lost silently.** Every record submitted ends as written,
//!   dropped (by the overflow strategy, with its reason), filtered, or failed
//!   (a writer gave up), and [`Stats`] counts each; drops and failures are
//!   also reported in-band as a WARNING record.
//! - **`block` blocks**, with no hidden time limit; `drop_oldest` and
//!   `drop_newest` drop and count. Unknown names are a [`ConfigError`].
//! - **Order**: each writer receives records in acceptance order, whatever
//!   `worker_count` is, across shutdown too; retries never reorder.
//! - **Flush and exit**: `flush()` is a barrier; shutdown drains, or at its
//!   timeout counts what is left; normal process exit and panics flush every
//!   backend without a guard; [`install_sigterm_handler`] does on SIGTERM.
//! - **Never hangs the host**: every wait for the workers but `block`'s wait
//!   for room has a deadline, and a record logged from inside a stage never waits for the
//!   backend running it (see the backend's lock discipline).
//! - **Failures are isolated**: a writer, enricher, filter or formatter that
//!   errors or panics is counted and never reaches the logging call.
//! - **Valid output**: one valid UTF-8 JSON object per line whatever the input
//!   (quotes, newlines, control characters, NaN, deep nesting).
//!
//! ## How it works
//!
//! **Call site.** The level check is one relaxed atomic load (under a
//! nanosecond; nothing is evaluated when it fails). Then the macro builds the
//! [`Record`] in place: the clock is read, the message and field values are
//! moved in (string literals borrowed, numbers copied, nothing formatted), and
//! up to [`INLINE_FIELDS`] fields live inside the record, added with one
//! `extend` from an array (a push per field stalled the CPU on each: a value
//! built on the stack and read back wider than it was written), so a typical
//! call allocates nothing. The clock is the CPU's time-stamp counter anchored
//! to the system clock, where the kernel itself keeps time with it (8 ns a
//! read instead of 26; within microseconds of the system clock, re-anchored
//! every second). The record is built in an `Option`, handed on by
//! reference, and moved out only into its slot of a lock-free bounded ring
//! (Vyukov's bounded queue, written for this), once the slot is claimed
//! (moving it by value through the calls had made four copies; what is left
//! is one on the caller's stack, ~1 ns, and the one into the slot). A push
//! also asks the CPU for the next slot's cache lines, which a worker on the
//! other core last wrote, so that the next call does not wait for them. Only
//! the common path (room in the queue) is inlined; a full queue or a stopped
//! backend is handled out of line. The push is the call's only atomic
//! write: no counter is bumped (what was enqueued is read off the tail when
//! stats are asked for, and what was submitted is added up from the
//! outcomes). It is a compare-and-swap on the queue's tail, which also
//! orders the checks that follow it (a sleeping worker, a stopping one), so
//! there is no fence.
//! Under `drop_newest`, once a call has found the queue full (and until a
//! worker takes from it), calls read one flag, count their drop and return
//! without building a record (about 10 ns instead of about 160).
//!
//! **Waking workers.** A push wakes a sleeping worker only once a batch's
//! worth of records waits; fewer are picked up at the worker's own
//! `batch_timeout`. A wake per record costs a futex call and a context switch
//! whenever the workers keep up, which is the common case. A worker that
//! takes a batch and leaves another whole batch behind wakes a second
//! sleeping worker (pushes send one wake-up until a worker sleeps again, so
//! without this the second slept through its timeout while a core idled).
//! `flush()` wakes them at once. Under `block`, callers that found the
//! queue full sleep until a quarter of it is free, so that each wake-up
//! refills thousands of slots (waking them after every batch cost more
//! context switches than records).
//!
//! **Workers.** One worker at a time takes up to `batch_size` records out of
//! the ring, under a short lock that also numbers the batch (a ticket); being
//! the only consumer, it frees each slot with plain stores, no
//! compare-and-swap, moving each record once, straight from its slot into its
//! batch. Then it runs enrichers, filters and the formatter into one reusable
//! buffer, in parallel with the other workers, and hands the whole buffer to
//! each writer in ticket order (one `write` call per batch for a file), so
//! order holds whatever `worker_count` is. A worker whose batch is ready
//! before its turn does not wait for it: it leaves the batch to the worker
//! writing the one before, which writes it next, and goes back to the queue
//! (up to a quarter of the queue's capacity may wait so); waiting idled a
//! core whenever the worker with the turn was off the CPU. The JSON
//! formatter reserves room for a record once and writes it straight into the
//! buffer's spare capacity (short pieces by a few fixed-size moves, strings
//! checked for escapes eight bytes at a time), so a record is one capacity
//! check and one length update, not one per piece. Dates and the epoch
//! seconds are formatted once per second per thread; floats with `zmij`
//! (shortest round-trip digits, shaped as Python writes them).
//!
//! **Flush, exit, fork.** A flush is a marker that travels through the queue
//! and is signalled once everything before it is written; the worker that
//! writes it flushes the writers. Every backend is registered; a C `atexit`
//! handler and a panic hook drain them, each within a deadline. After
//! shutdown a record still goes through the queue, and the caller writes
//! it, in order.
//! [`prepare_fork`], [`after_fork_in_parent`] and [`after_fork_in_child`]
//! park the workers between batches around `fork()` and give the child fresh
//! ones (the Python package calls them from `os.register_at_fork`).
//!
//! **Bindings.** [`Logger::submit_with`] runs any wait (room under `block`)
//! inside a scope the caller provides, and [`PipelineConfig::stage_scope`]
//! runs a batch's stages inside one: Python's package uses them to let go of
//! the interpreter lock only when it waits, and to take it once per batch for
//! Python stages. A stage that reported its own failure ends with
//! [`StageFailed`] and is counted without a second message.

#![deny(unsafe_code)]
#![warn(missing_docs)]

mod async_pipeline;
pub mod backend;
mod clock;
mod error;
mod logger;
pub mod pipeline;
pub mod record;
mod setup;
mod sys;
pub mod testing;

#[doc(hidden)]
pub use smallvec as __smallvec;

pub use async_pipeline::{AsyncPipeline, AsyncPipelineConfig};
#[cfg(unix)]
pub use backend::install_sigterm_handler;
pub use backend::{
    after_fork_in_child, after_fork_in_parent, prepare_fork, AsyncConfig, Backend,
    OverflowStrategy, ShutdownReport, State, Stats, WriterStats, DEFAULT_BATCH_SIZE,
    DEFAULT_MAX_QUEUE_SIZE,
};
pub use error::ConfigError;
pub use logger::{Logger, ToValue};
pub use pipeline::enrich::{
    context_enricher, exception_enricher, source_enricher, thread_enricher,
};
pub use pipeline::filter::{field_filter, level_filter, logger_name_filter};
pub use pipeline::format::{
    compact_formatter, default_json_formatter, detailed_formatter, simple_text_formatter,
};
pub use pipeline::write::{
    batch_callback_writer, callback_writer, console_writer, file_writer, stderr_writer, RetryPolicy,
};
pub use pipeline::{
    Batch, Enricher, Filter, FilterExt, Formatter, OutputConfig, PipelineConfig, StageFailed,
    StageScope, WriteError, Writer,
};
pub use record::{
    fork_generation, put_field, show, Context, Exception, Field, Fields, Key, Level, Record,
    Source, ThreadInfo, Timestamp, Value, INLINE_FIELDS,
};
pub use setup::{
    configure_async_backend, flush, flush_timeout, get_async_stats, get_async_structured_logger,
    get_env_logger, get_high_performance_logger, get_high_performance_logger_with, get_logger,
    get_network_batch_logger, get_network_logger, get_network_logger_with, setup_async_logging,
    shutdown_async_backend, AsyncSetup, BackendOptions, Environment, EnvironmentConfig,
    FormatterKind, HighPerformanceOptions, NetworkOptions,
};

/// The text of a panic payload.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_owned()
    }
}
