//! The four pipeline stages (enrichers, filters, a formatter, writers) and
//! [`PipelineConfig`], which assembles them.
//!
//! A record's path: the caller builds it and the backend queues it; a worker
//! runs the [`Enricher`]s, then the [`Filter`]s (the first `false` drops it),
//! then each output's [`Formatter`] appends it to one reusable buffer, and each
//! of that output's [`Writer`]s receives the whole batch in one call.
//!
//! ```
//! use kakashi::{PipelineConfig, Level, Record};
//! use kakashi::testing::MemoryWriter;
//!
//! let memory = MemoryWriter::new();
//! let config = PipelineConfig::new()
//!     .min_level(Level::Info)
//!     .enricher(kakashi::thread_enricher())
//!     .enricher(|r: &mut Record| r.fields.push(("region".into(), "eu".into())))
//!     .filter(|r: &Record| r.message != "noise")
//!     .formatter(kakashi::compact_formatter())
//!     .writer(memory.clone());
//! # let _ = config;
//! ```
//!
//! Guarantees: stages never see records below `min_level`; a stage that
//! panics or a writer that errors is counted and skipped, and never stops the
//! other stages or writers; each writer receives records in acceptance order.

pub mod enrich;
pub mod filter;
pub mod format;
pub mod write;

pub(crate) use write::{hold_compression_for_fork, release_compression_thread};

use std::fmt;
use std::io;

use crate::record::{Level, Record};

// === The four traits ===

/// Adds or changes data on a record before it is filtered and formatted.
pub trait Enricher: Send + Sync {
    /// Changes `record` in place.
    fn enrich(&self, record: &mut Record);
}

/// Decides whether a record goes on to the formatter.
pub trait Filter: Send + Sync {
    /// True to keep `record`.
    fn allows(&self, record: &Record) -> bool;
}

/// Turns a record into bytes. Infallible: bad values are escaped, never an error.
pub trait Formatter: Send + Sync {
    /// Appends `record`, without a trailing newline, to `out`.
    fn format(&self, record: &Record, out: &mut Vec<u8>);
}

/// Receives formatted records, a whole batch per call.
pub trait Writer: Send {
    /// Delivers every record of `batch`.
    ///
    /// # Errors
    /// A [`WriteError`] saying how many records, from the start of the batch,
    /// were delivered and how many after them were given up. The remaining
    /// records are handed back in another call.
    fn write_batch(&mut self, batch: &Batch<'_>) -> Result<(), WriteError>;

    /// Pushes anything buffered to its destination.
    ///
    /// # Errors
    /// The destination's I/O error.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }

    /// Pushes what [`flush`](Writer::flush) pushed to the OS on to its
    /// storage (for a file, `fsync`). The default flushes.
    ///
    /// # Errors
    /// The destination's I/O error.
    fn sync(&mut self) -> io::Result<()> {
        self.flush()
    }

    /// A short name for statistics and error reports (`"file:app.log"`).
    fn name(&self) -> String {
        "writer".to_owned()
    }

    /// Retries made since the last call (for statistics); 0 for writers that
    /// do not retry.
    fn take_retries(&mut self) -> u64 {
        0
    }
}

/// A batch of formatted records: one buffer, each record followed by `\n`.
#[derive(Clone, Copy, Debug)]
pub struct Batch<'a> {
    bytes: &'a [u8],
    ends: &'a [usize],
}

impl<'a> Batch<'a> {
    /// A batch over `bytes`, where `ends[i]` is the offset just past record
    /// `i`'s newline. `ends` must be increasing and end at `bytes.len()`.
    pub fn new(bytes: &'a [u8], ends: &'a [usize]) -> Batch<'a> {
        debug_assert_eq!(ends.last().copied().unwrap_or(0), bytes.len());
        Batch { bytes, ends }
    }

    /// All records, newline-terminated, back to back.
    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// True when the batch has no records.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Offsets just past each record's newline.
    pub fn ends(&self) -> &'a [usize] {
        self.ends
    }

    /// Record `i` without its newline.
    pub fn record(&self, i: usize) -> &'a [u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.bytes[start..self.ends[i] - 1]
    }

    /// Each record without its newline.
    pub fn records(&self) -> impl ExactSizeIterator<Item = &'a [u8]> + '_ {
        (0..self.len()).map(|i| self.record(i))
    }

    /// The records from `start` on.
    pub fn tail(&self, start: usize) -> (Vec<usize>, &'a [u8]) {
        let offset = if start == 0 { 0 } else { self.ends[start - 1] };
        let ends = self.ends[start..].iter().map(|e| e - offset).collect();
        (ends, &self.bytes[offset..])
    }
}

/// Why a [`Writer`] could not deliver a whole batch.
#[derive(Debug)]
pub struct WriteError {
    /// Records delivered, counted from the start of the batch.
    pub written: usize,
    /// Records after those that the writer gave up on (after its own retries).
    pub failed: usize,
    /// The cause.
    pub error: io::Error,
}

impl WriteError {
    /// Nothing was delivered and the writer gives up on all `records`.
    pub fn all(records: usize, error: io::Error) -> WriteError {
        WriteError {
            written: 0,
            failed: records,
            error,
        }
    }
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (after {} delivered, {} given up)",
            self.error, self.written, self.failed
        )
    }
}

impl std::error::Error for WriteError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}

// === impls for closures, Box, Option, Vec ===

impl<F: Fn(&mut Record) + Send + Sync> Enricher for F {
    fn enrich(&self, record: &mut Record) {
        self(record)
    }
}

impl<F: Fn(&Record) -> bool + Send + Sync> Filter for F {
    fn allows(&self, record: &Record) -> bool {
        self(record)
    }
}

impl<F: Fn(&Record, &mut Vec<u8>) + Send + Sync> Formatter for F {
    fn format(&self, record: &Record, out: &mut Vec<u8>) {
        self(record, out)
    }
}

impl Enricher for Box<dyn Enricher> {
    fn enrich(&self, record: &mut Record) {
        (**self).enrich(record)
    }
}

impl Filter for Box<dyn Filter> {
    fn allows(&self, record: &Record) -> bool {
        (**self).allows(record)
    }
}

impl Formatter for Box<dyn Formatter> {
    fn format(&self, record: &Record, out: &mut Vec<u8>) {
        (**self).format(record, out)
    }
}

impl Writer for Box<dyn Writer> {
    fn write_batch(&mut self, batch: &Batch<'_>) -> Result<(), WriteError> {
        (**self).write_batch(batch)
    }
    fn flush(&mut self) -> io::Result<()> {
        (**self).flush()
    }
    fn sync(&mut self) -> io::Result<()> {
        (**self).sync()
    }
    fn name(&self) -> String {
        (**self).name()
    }
    fn take_retries(&mut self) -> u64 {
        (**self).take_retries()
    }
}

impl<E: Enricher> Enricher for Option<E> {
    fn enrich(&self, record: &mut Record) {
        if let Some(e) = self {
            e.enrich(record)
        }
    }
}

impl<F: Filter> Filter for Option<F> {
    fn allows(&self, record: &Record) -> bool {
        self.as_ref().is_none_or(|f| f.allows(record))
    }
}

impl<E: Enricher> Enricher for Vec<E> {
    fn enrich(&self, record: &mut Record) {
        self.iter().for_each(|e| e.enrich(record))
    }
}

impl<F: Filter> Filter for Vec<F> {
    fn allows(&self, record: &Record) -> bool {
        self.iter().all(|f| f.allows(record))
    }
}

/// Combinators for filters.
pub trait FilterExt: Filter + Sized {
    /// Keeps a record only when both filters keep it.
    fn and<G: Filter>(self, other: G) -> And<Self, G> {
        And(self, other)
    }
    /// Keeps a record when either filter keeps it.
    fn or<G: Filter>(self, other: G) -> Or<Self, G> {
        Or(self, other)
    }
}

impl<F: Filter> FilterExt for F {}

/// Both filters must allow (see [`FilterExt::and`]).
#[derive(Clone, Debug)]
pub struct And<A, B>(A, B);

/// Either filter may allow (see [`FilterExt::or`]).
#[derive(Clone, Debug)]
pub struct Or<A, B>(A, B);

impl<A: Filter, B: Filter> Filter for And<A, B> {
    fn allows(&self, record: &Record) -> bool {
        self.0.allows(record) && self.1.allows(record)
    }
}

impl<A: Filter, B: Filter> Filter for Or<A, B> {
    fn allows(&self, record: &Record) -> bool {
        self.0.allows(record) || self.1.allows(record)
    }
}

// === PipelineConfig ===

/// One formatter and the writers that receive its output, with its own level.
pub struct OutputConfig {
    /// Records below this level skip this output (default: DEBUG, i.e. all).
    pub min_level: Level,
    /// How records are turned into lines (default: `default_json_formatter`).
    pub formatter: Box<dyn Formatter>,
    /// Where the lines go.
    pub writers: Vec<Box<dyn Writer>>,
}

impl fmt::Debug for OutputConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<String> = self.writers.iter().map(|w| w.name()).collect();
        f.debug_struct("OutputConfig")
            .field("min_level", &self.min_level)
            .field("writers", &names)
            .finish_non_exhaustive()
    }
}

/// The stages of a pipeline, as on the page:
/// `PipelineConfig { min_level, enrichers, filters, formatter, writers }`.
///
/// Defaults as in the original: level INFO, no enrichers or filters,
/// `default_json_formatter`, and the console writer when `writers` is empty.
pub struct PipelineConfig {
    /// Records below this level are discarded at the call site, by one
    /// relaxed atomic load, before any argument is evaluated.
    pub min_level: Level,
    /// Run in order on the worker; each may change the record.
    pub enrichers: Vec<Box<dyn Enricher>>,
    /// Run in order after the enrichers; the first `false` drops the record.
    pub filters: Vec<Box<dyn Filter>>,
    /// Formats records for `writers`.
    pub formatter: Box<dyn Formatter>,
    /// Receive `formatter`'s output.
    pub writers: Vec<Box<dyn Writer>>,
    /// Further outputs with their own level and formatter (the environment
    /// presets use one for the console and one for the file).
    pub extra_outputs: Vec<OutputConfig>,
    /// Runs around the enrich/filter/format pass over each batch (default:
    /// none). A binding whose stages need a lock of their own, such as
    /// Python's interpreter lock, takes it here once per batch instead of once
    /// per record and per stage.
    pub stage_scope: Option<StageScope>,
}

/// The payload of a stage that failed and has reported the failure itself:
/// an enricher, filter or formatter ends with
/// `std::panic::resume_unwind(Box::new(StageFailed))` (which runs no panic
/// hook), and the backend counts the failure without printing its own
/// message. Bindings use it for errors raised by the host language.
#[derive(Clone, Copy, Debug)]
pub struct StageFailed;

/// A function run around a batch's enrich/filter/format pass; it must call
/// the function it is given exactly once. See [`PipelineConfig::stage_scope`].
pub type StageScope = std::sync::Arc<dyn Fn(&mut dyn FnMut()) + Send + Sync>;

impl Default for PipelineConfig {
    fn default() -> PipelineConfig {
        PipelineConfig {
            min_level: Level::Info,
            enrichers: Vec::new(),
            filters: Vec::new(),
            formatter: Box::new(format::default_json_formatter()),
            writers: Vec::new(),
            extra_outputs: Vec::new(),
            stage_scope: None,
        }
    }
}

impl fmt::Debug for PipelineConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<String> = self.writers.iter().map(|w| w.name()).collect();
        f.debug_struct("PipelineConfig")
            .field("min_level", &self.min_level)
            .field("enrichers", &self.enrichers.len())
            .field("filters", &self.filters.len())
            .field("writers", &names)
            .field("extra_outputs", &self.extra_outputs)
            .finish_non_exhaustive()
    }
}

impl PipelineConfig {
    /// The defaults (see [`PipelineConfig`]).
    pub fn new() -> PipelineConfig {
        PipelineConfig::default()
    }

    /// Sets the minimum level.
    pub fn min_level(mut self, level: Level) -> PipelineConfig {
        self.min_level = level;
        self
    }

    /// Appends an enricher.
    pub fn enricher(mut self, enricher: impl Enricher + 'static) -> PipelineConfig {
        self.enrichers.push(Box::new(enricher));
        self
    }

    /// Appends a filter.
    pub fn filter(mut self, filter: impl Filter + 'static) -> PipelineConfig {
        self.filters.push(Box::new(filter));
        self
    }

    /// Sets the formatter.
    pub fn formatter(mut self, formatter: impl Formatter + 'static) -> PipelineConfig {
        self.formatter = Box::new(formatter);
        self
    }

    /// Appends a writer.
    pub fn writer(mut self, writer: impl Writer + 'static) -> PipelineConfig {
        self.writers.push(Box::new(writer));
        self
    }

    /// Adds an output with its own level, formatter and writers.
    pub fn output(mut self, output: OutputConfig) -> PipelineConfig {
        self.extra_outputs.push(output);
        self
    }

    /// Sets the [`stage_scope`](PipelineConfig::stage_scope).
    pub fn stage_scope(mut self, scope: StageScope) -> PipelineConfig {
        self.stage_scope = Some(scope);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_splits_records_and_tails() {
        let bytes = b"a\nbb\nccc\n";
        let ends = [2, 5, 9];
        let batch = Batch::new(bytes, &ends);
        let recs: Vec<&[u8]> = batch.records().collect();
        assert_eq!(recs, vec![&b"a"[..], b"bb", b"ccc"]);
        let (tail_ends, tail) = batch.tail(1);
        assert_eq!(tail, b"bb\nccc\n");
        assert_eq!(tail_ends, vec![3, 7]);
    }

    #[test]
    fn combinators_and_option_filters() {
        let info = |r: &Record| r.level >= Level::Info;
        let named = |r: &Record| r.logger == "app";
        let rec = Record::new(Level::Info, "db", "x");
        assert!(!info.and(named).allows(&rec));
        assert!(info.or(named).allows(&rec));
        assert!(None::<fn(&Record) -> bool>.allows(&rec));
    }
}
