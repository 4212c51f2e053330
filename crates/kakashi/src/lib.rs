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
//! Configuration from data (a serde map, a TOML file, `KAKASHI_*`
//! variables) is `kakashi::config`, behind the Cargo feature `config`.
//!
//! ## Guarantees
//!
//! Numbered as in the README's "Guarantees", which says each in full; the
//! tests in `crates/kakashi/tests/` cite these numbers.
//!
//! - **G1 Nothing is lost silently.** Every record submitted ends as
//!   written, dropped (by the overflow strategy, with its reason), filtered,
//!   or failed (a writer gave up), and [`Stats`] counts each; drops and
//!   failures are also reported in-band as a WARNING record.
//! - **G2 `block` blocks**, with no hidden time limit; `drop_oldest` and
//!   `drop_newest` drop and count. Unknown names are a [`ConfigError`].
//! - **G3 Order**: each writer receives records in acceptance order,
//!   whatever `worker_count` is, across shutdown too; retries never reorder.
//! - **G4 Flush and exit**: `flush()` is a barrier; shutdown drains, or at
//!   its timeout counts what is left; normal process exit and panics flush
//!   every backend without a guard; [`install_sigterm_handler`] does on
//!   SIGTERM.
//! - **G5 Never hangs the host**: every wait for the workers but `block`'s
//!   wait for room has a deadline, and a record logged from inside a stage
//!   never waits for the backend running it (see the backend's lock
//!   discipline).
//! - **G6 Failures are isolated**: a writer, enricher, filter or formatter
//!   that errors or panics is counted and never reaches the logging call.
//! - **G7 Bad input**: a bad configuration is a [`ConfigError`] at
//!   construction; at run time any input (quotes, newlines, control
//!   characters, NaN, deep nesting) gives one valid UTF-8 JSON object per
//!   line.
//! - **G8 Wire format**: [`default_json_formatter`] writes the original's
//!   keys, in the original's order, with a real UTC instant.
//! - **G9 Bounded memory**: a backend holds at most `max_queue_size`
//!   queued records (plus its workers' batches); queue memory is committed
//!   as records first reach it; loggers of one file share one backend.
//! - **G10 Files**: a file writer writes only into the file at its path
//!   (a moved or deleted file is followed by a new one), a rotation never
//!   replaces a file, every line is whole and written once, and under
//!   `block` a full disk loses nothing ([`FileOptions`]).
//!
//! ## How it works
//!
//! Per mechanism: what it does, what it keeps true, and why not the obvious
//! way. The measurements are in `BENCHMARKS.md` ("Design decisions");
//! `ARCHITECTURE.md` follows a record from the call to the file.
//!
//! **Level check.** A macro first makes one relaxed atomic load of a level
//! cell shared by the loggers of one name on one pipeline; a disabled call
//! evaluates nothing else. [`set_level`] and [`Logger::set_min_level`]
//! rewrite the cell, so per-logger levels cost no lookup per call.
//!
//! **Building the record.** An enabled call builds its [`Record`] in place:
//! values are moved in, not formatted (only a message with placeholders is
//! formatted, on the calling thread), and up to [`INLINE_FIELDS`] fields
//! live inside the record, put there in one copy, so a typical call
//! allocates nothing.
//!
//! **Clock.** Timestamps come from the CPU's time-stamp counter anchored to
//! the system clock (re-anchored at least every second), only where the kernel
//! itself keeps time with that counter; elsewhere every call reads the
//! system clock. A counter read costs a fraction of a clock read.
//!
//! **Into the queue.** The record is moved once, into its slot of a bounded
//! ring (Vyukov's queue, as crossbeam's `ArrayQueue`, written here so that
//! a push writes straight into its slot): each move through a call is a
//! copy of a few hundred bytes. The claim, a compare-and-swap of the tail,
//! is the call's only atomic write; no counter is bumped (what was enqueued
//! is read off the tail), and it orders the checks after it, so no fence is
//! needed.
//!
//! **A full queue.** `block` waits for room, `drop_oldest` evicts the
//! oldest record, `drop_newest` drops the new one. Under `drop_newest`,
//! calls that follow a full push read one flag and count their drop
//! without building a record, until a worker takes from the queue.
//!
//! **Waking.** A push wakes a sleeping worker once a batch's worth waits
//! (fewer wait for `batch_timeout`), not per record: a wake-up is a system
//! call. Callers waiting for room under `block` are woken once a quarter of
//! the queue is free, so each wake-up refills many slots.
//!
//! **Workers and order.** A worker takes up to `batch_size` records under a
//! short lock that gives the batch a ticket; workers prepare batches in
//! parallel and write them in ticket order, one `write` per batch per
//! writer, so each writer sees acceptance order whatever `worker_count` is
//! (G3). A batch ready before its turn is left to the worker writing, up to
//! a sixteenth of the queue's capacity (what bounds memory), rather than
//! waited for: waiting idles a core whenever the worker with the turn is
//! off the CPU.
//!
//! **Formatting.** The JSON formatter reserves room for a record once and
//! writes straight into the buffer's spare capacity, so a record costs one
//! capacity check, not one per piece; dates are formatted once per second
//! per thread, floats by `zmij` as Python prints them.
//!
//! **Flush, exit, fork.** A flush is a marker through the queue, signalled
//! once everything before it is written: a barrier that does not stop the
//! producers (G4). A C `atexit` handler and a panic hook drain every
//! backend within a deadline; after shutdown a record still goes through
//! the queue and its caller writes it, so it cannot overtake an earlier
//! one. [`prepare_fork`], [`after_fork_in_parent`] and
//! [`after_fork_in_child`] park the workers around `fork()` and give the
//! child fresh ones.
//!
//! **Bindings.** [`binding`] holds what a binding needs to build records
//! itself; [`Logger::submit_with`] runs any wait, and
//! [`PipelineConfig::stage_scope`] a batch's stages, inside a scope the
//! caller provides (the Python package lets go of the interpreter lock
//! while waiting and takes it once per batch). A stage that reported its
//! own failure ends with [`StageFailed`] and is counted without a second
//! message.

#![deny(unsafe_code)]
#![warn(missing_docs)]

mod async_pipeline;
pub mod backend;
pub mod binding;
pub mod bridge;
mod clock;
#[cfg(feature = "config")]
pub mod config;
mod error;
mod fork_cell;
mod levels;
mod logger;
mod macros;
pub mod pipeline;
pub mod record;
mod setup;
mod sys;
pub mod testing;

pub use async_pipeline::{AsyncPipeline, AsyncPipelineConfig};
#[cfg(unix)]
pub use backend::install_sigterm_handler;
pub use backend::{
    after_fork_in_child, after_fork_in_parent, prepare_fork, AsyncConfig, Backend,
    OverflowStrategy, ShutdownReport, State, Stats, WriterStats, DEFAULT_BATCH_SIZE,
    DEFAULT_MAX_QUEUE_SIZE,
};
pub use bridge::{set_trace_context_hook, TraceContext};
pub use error::ConfigError;
pub use levels::{clear_level, levels, set_level, try_set_level, Directives};
pub use logger::{Logger, ToValue};
#[doc(hidden)]
pub use macros::__private;
pub use pipeline::enrich::{
    context_enricher, exception_enricher, source_enricher, thread_enricher,
};
pub use pipeline::filter::{field_filter, level_filter, logger_name_filter};
pub use pipeline::format::{
    compact_formatter, console_formatter, default_json_formatter, detailed_formatter,
    ecs_json_formatter, gcp_json_formatter, simple_text_formatter, Colors, ConsoleFormatter,
    ConsoleStream, JsonProfile, JsonShape,
};
pub use pipeline::write::{
    batch_callback_writer, callback_writer, console_writer, file_writer, file_writer_with,
    reopen_files, reopen_files_on_sighup, stderr_writer, Compression, FileOptions, Fsync,
    Retention, RetryPolicy, Rotation,
};
pub use pipeline::{
    Batch, Enricher, Filter, FilterExt, Formatter, OutputConfig, PipelineConfig, StageFailed,
    StageScope, WriteError, Writer,
};
pub use record::{
    Context, Exception, Field, Fields, Frame, Key, Level, Name, Record, Sections, Source, Text,
    Thread, ThreadInfo, Timestamp, Value, INLINE_FIELDS, LASTING_THREADS,
};
pub use setup::{
    apply_async_config, configure_async_backend, flush, flush_timeout, get_async_stats,
    get_async_structured_logger, get_env_logger, get_high_performance_logger,
    get_high_performance_logger_with, get_logger, get_network_batch_logger, get_network_logger,
    get_network_logger_with, install_environment, setup_async_logging, shutdown_async_backend,
    sync, AsyncSetup, BackendOptions, Environment, EnvironmentConfig, FormatterKind, FormatterType,
    HighPerformanceOptions, NetworkOptions,
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
