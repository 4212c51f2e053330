//! High-performance file loggers: [`HighPerformanceOptions`],
//! [`get_high_performance_logger_with`], and the registry of the backends
//! that loggers of one file share.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use crate::backend::lock;
use crate::backend::stages::Route;
use crate::backend::{AsyncConfig, Backend, OverflowStrategy, WeakBackend};
use crate::error::ConfigError;
use crate::logger::Logger;
use crate::pipeline::enrich::exception_enricher;
use crate::pipeline::format::default_json_formatter;
use crate::pipeline::write::{file_writer_with, FileOptions};
use crate::pipeline::PipelineConfig;
use crate::record::Level;

/// Options of [`get_high_performance_logger_with`], with the original's defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct HighPerformanceOptions {
    /// Queue capacity (default 50,000).
    pub max_queue_size: usize,
    /// Worker threads (default 2).
    pub worker_count: usize,
    /// Records per batch (default 500).
    pub batch_size: usize,
    /// Full-queue policy (default `drop_oldest`, as in the original; use
    /// `Block` to never lose a record).
    pub overflow_strategy: OverflowStrategy,
    /// Lowest level logged (default INFO).
    pub min_level: Level,
    /// Rotation, retention, compression and fsync of the file (default:
    /// one file forever).
    pub file: FileOptions,
}

impl Default for HighPerformanceOptions {
    fn default() -> HighPerformanceOptions {
        HighPerformanceOptions {
            max_queue_size: 50_000,
            worker_count: 2,
            batch_size: 500,
            overflow_strategy: OverflowStrategy::DropOldest,
            min_level: Level::Info,
            file: FileOptions::default(),
        }
    }
}

/// A logger writing JSON lines to `log_file` through its own backend:
/// large batches, minimal enrichment (exceptions only).
///
/// Loggers of one file share its backend (one queue, one set of workers)
/// while any of them is alive: two loggers of one file then never
/// interleave it out of order, and asking for the same file in many places
/// costs one queue and one set of threads. Loggers of one file and level
/// also share that level (`set_min_level`). Asking for a file that has a
/// logger with other queue settings is an error.
///
/// # Errors
/// [`ConfigError::File`] when `log_file` cannot be opened for appending.
pub fn get_high_performance_logger(
    name: &str,
    log_file: impl AsRef<Path>,
) -> Result<Logger, ConfigError> {
    get_high_performance_logger_with(name, log_file, HighPerformanceOptions::default())
}

/// The file's canonical path, for the registry. The file was just opened,
/// but another process's rotation may have moved it aside since (until it
/// reopens the path): then the directory's canonical path and the name.
fn registry_key(log_file: &Path) -> std::io::Result<std::path::PathBuf> {
    match std::fs::canonicalize(log_file) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let Some(name) = log_file.file_name() else {
                return Err(e);
            };
            let dir = log_file
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            Ok(std::fs::canonicalize(dir)?.join(name))
        }
        other => other,
    }
}

/// [`get_high_performance_logger`] with options.
///
/// # Errors
/// [`ConfigError`] for an invalid setting or an unwritable file, and
/// [`ConfigError::ConflictingSettings`] when the file has a live logger with
/// another queue size, worker count, batch size, overflow strategy or file
/// options.
pub fn get_high_performance_logger_with(
    name: &str,
    log_file: impl AsRef<Path>,
    options: HighPerformanceOptions,
) -> Result<Logger, ConfigError> {
    let log_file = log_file.as_ref();
    let writer = file_writer_with(log_file, options.file)?;
    let key = registry_key(log_file).map_err(|source| ConfigError::File {
        path: log_file.to_path_buf(),
        source,
    })?;
    let pipeline = |writer| {
        PipelineConfig::new()
            .min_level(options.min_level)
            .enricher(exception_enricher())
            .formatter(default_json_formatter())
            .writer(writer)
    };
    let mut files = lock(&FILE_BACKENDS);
    // Not by upgrading: a handle made here could be the last one, and its
    // drop would shut a backend down under this lock.
    files.retain(|f| f.backend.is_alive());
    if let Some(file) = files.iter_mut().find(|f| f.path == key) {
        if let Some(backend) = file.backend.upgrade() {
            let detail = file.options.differences(&options);
            if !detail.is_empty() {
                return Err(ConfigError::ConflictingSettings {
                    path: log_file.to_path_buf(),
                    detail,
                });
            }
            let level = options.min_level;
            let made = match file.routes.iter().find(|(l, _)| *l == level) {
                Some((_, made)) => made.clone(),
                None => {
                    // Its own handle on the file, appending: the backend writes
                    // one batch at a time, in order, whichever pipeline it is.
                    let made = backend.add_route(pipeline(writer));
                    file.routes.push((level, made.clone()));
                    made
                }
            };
            return Ok(Logger::new(name, backend, made));
        }
    }
    let backend = Backend::new(AsyncConfig {
        max_queue_size: options.max_queue_size,
        worker_count: options.worker_count,
        batch_size: options.batch_size,
        batch_timeout: Duration::from_millis(50),
        overflow_strategy: options.overflow_strategy,
        ..AsyncConfig::default()
    })?;
    let made = backend.add_route(pipeline(writer));
    files.push(FileBackend {
        path: key,
        backend: backend.downgrade(),
        options: options.clone(),
        routes: vec![(options.min_level, made.clone())],
    });
    Ok(Logger::new(name, backend, made))
}

/// The backend of a file's high-performance loggers, while any is alive.
pub(super) struct FileBackend {
    /// The file, canonical.
    path: PathBuf,
    backend: WeakBackend,
    options: HighPerformanceOptions,
    /// One route (registered pipeline) per level asked for.
    routes: Vec<(Level, Route)>,
}

pub(super) static FILE_BACKENDS: Mutex<Vec<FileBackend>> = Mutex::new(Vec::new());

impl HighPerformanceOptions {
    /// The queue settings of `other` that differ from these, as a phrase
    /// (empty when none does; the level may differ).
    fn differences(&self, other: &HighPerformanceOptions) -> String {
        let settings = |o: &HighPerformanceOptions| {
            [
                ("max_queue_size", o.max_queue_size.to_string()),
                ("worker_count", o.worker_count.to_string()),
                ("batch_size", o.batch_size.to_string()),
                ("overflow_strategy", o.overflow_strategy.to_string()),
                ("file options", format!("{:?}", o.file)),
            ]
        };
        settings(self)
            .into_iter()
            .zip(settings(other))
            .filter(|((_, ours), (_, theirs))| ours != theirs)
            .map(|((name, ours), (_, theirs))| format!("{name} {ours}, not {theirs}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}
