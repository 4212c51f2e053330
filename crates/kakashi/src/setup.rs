//! The page's factory functions, the environment presets and the global
//! backend that [`get_logger`] uses.
//!
//! ```
//! use kakashi::{get_high_performance_logger, get_async_stats, info};
//! let dir = tempfile::tempdir().unwrap();
//! let log = dir.path().join("trades.log");
//! let logger = get_high_performance_logger("trading", &log)?;
//! info!(logger, "Trade executed", symbol = "AAPL", qty = 100, price = 187.5);
//! logger.flush();
//! let text = std::fs::read_to_string(&log).unwrap();
//! assert!(text.contains(r#""logger":"trading","message":"Trade executed","fields":{"symbol":"AAPL","qty":100,"price":187.5}"#));
//! assert!(get_async_stats().messages_written >= 1);
//! # Ok::<(), kakashi::ConfigError>(())
//! ```
//!
//! Each factory builds its own backend with exactly the settings it was given
//! (the original silently reused the first backend's). All backends are
//! registered: [`get_async_stats`] sums them, [`shutdown_async_backend`] and
//! the exit hook drain them all.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::backend::lock;
use crate::backend::stages::Route;
use crate::backend::{
    all_backends, lock_for_fork, longest_shutdown_timeout, retired, timeout_setting, AsyncConfig,
    Backend, OverflowStrategy, ShutdownReport, Stats, WeakBackend,
};
use crate::error::ConfigError;
use crate::logger::Logger;
use crate::pipeline::enrich::{
    context_enricher, exception_enricher, source_enricher, thread_enricher,
};
use crate::pipeline::format::{
    compact_formatter, default_json_formatter, detailed_formatter, simple_text_formatter,
};
use crate::pipeline::write::{
    batch_callback_writer, callback_writer, console_writer, file_writer, RetryPolicy,
};
use crate::pipeline::{Formatter, OutputConfig, PipelineConfig};
use crate::record::{Context, Key, Level, Value};

// === Environments ===

/// A deployment environment, selecting one of the original's presets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Environment {
    /// Console DEBUG simple text, file DEBUG JSON, thread and source info.
    Development,
    /// Console WARNING compact, file INFO JSON, thread info (the default of
    /// `setup_async_logging`).
    #[default]
    Production,
    /// Console WARNING compact, file DEBUG JSON, version `"test"`.
    Testing,
}

impl Environment {
    /// `"development"`, `"production"` or `"testing"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Environment::Development => "development",
            Environment::Production => "production",
            Environment::Testing => "testing",
        }
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Environment {
    type Err = ConfigError;

    /// `development`/`dev`, `production`/`prod`, `testing`/`test`, any case.
    fn from_str(s: &str) -> Result<Environment, ConfigError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "development" | "dev" => Ok(Environment::Development),
            "production" | "prod" => Ok(Environment::Production),
            "testing" | "test" => Ok(Environment::Testing),
            _ => Err(ConfigError::UnknownEnvironment(s.to_owned())),
        }
    }
}

/// The built-in formatters, by name, for presets and configuration files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormatterKind {
    /// `default_json_formatter`.
    Json,
    /// `simple_text_formatter`.
    SimpleText,
    /// `compact_formatter`.
    Compact,
    /// `detailed_formatter`.
    Detailed,
}

impl FormatterKind {
    /// The formatter itself.
    pub fn build(self) -> Box<dyn Formatter> {
        match self {
            FormatterKind::Json => Box::new(default_json_formatter()),
            FormatterKind::SimpleText => Box::new(simple_text_formatter()),
            FormatterKind::Compact => Box::new(compact_formatter()),
            FormatterKind::Detailed => Box::new(detailed_formatter()),
        }
    }
}

/// The page's `formatter_type` of an environment logger (`get_async_logger`,
/// `get_logger`): which formatters its outputs use. Parsed from the page's
/// names, `"default"` and `"json"`; any other name is a [`ConfigError`], so
/// Rust and Python reject the same names with the same message.
///
/// ```
/// use kakashi::FormatterType;
/// assert_eq!("json".parse::<FormatterType>().unwrap(), FormatterType::Json);
/// assert_eq!(
///     "xml".parse::<FormatterType>().unwrap_err().to_string(),
///     "unknown formatter_type \"xml\"; expected default or json"
/// );
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum FormatterType {
    /// Each output keeps its environment's formatter (the default).
    #[default]
    Default,
    /// `default_json_formatter` for every output.
    Json,
}

impl FormatterType {
    /// `"default"` or `"json"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            FormatterType::Default => "default",
            FormatterType::Json => "json",
        }
    }
}

impl FromStr for FormatterType {
    type Err = ConfigError;

    /// `default` or `json`, exactly (the page's names).
    fn from_str(s: &str) -> Result<FormatterType, ConfigError> {
        match s {
            "default" => Ok(FormatterType::Default),
            "json" => Ok(FormatterType::Json),
            _ => Err(ConfigError::UnknownFormatterType(s.to_owned())),
        }
    }
}

/// An environment's settings: where and how records go. The presets keep
/// the original Kakashi 0.2.2's levels, directories, formatters and async
/// settings per environment.
#[derive(Clone, Debug, PartialEq)]
pub struct EnvironmentConfig {
    /// Which preset this came from.
    pub environment: Environment,
    /// Lowest level shown on the console.
    pub console_level: Level,
    /// Lowest level written to the file.
    pub file_level: Level,
    /// Directory of `app.log`.
    pub log_directory: PathBuf,
    /// Console layout.
    pub console_formatter: FormatterKind,
    /// File layout.
    pub file_formatter: FormatterKind,
    /// Add the `threading` object.
    pub include_thread_info: bool,
    /// Add the `source` object.
    pub include_source_location: bool,
    /// Service name for the base context.
    pub service_name: Option<String>,
    /// Service version for the base context.
    pub version: Option<String>,
    /// Queue and worker settings.
    pub async_config: AsyncConfig,
}

impl EnvironmentConfig {
    /// The preset for `environment` with the original's values.
    pub fn preset(environment: Environment) -> EnvironmentConfig {
        use FormatterKind::*;
        let (console_level, file_level, dir, console_formatter, source, version) = match environment
        {
            Environment::Development => {
                (Level::Debug, Level::Debug, "logs", SimpleText, true, None)
            }
            Environment::Production => (
                Level::Warning,
                Level::Info,
                "/var/log",
                Compact,
                false,
                None,
            ),
            Environment::Testing => (
                Level::Warning,
                Level::Debug,
                "test_logs",
                Compact,
                false,
                Some("test".to_owned()),
            ),
        };
        EnvironmentConfig {
            environment,
            console_level,
            file_level,
            log_directory: PathBuf::from(dir),
            console_formatter,
            file_formatter: Json,
            include_thread_info: environment != Environment::Testing,
            include_source_location: source,
            service_name: None,
            version,
            async_config: AsyncConfig::default(),
        }
    }

    /// The path of the log file, `log_directory/app.log`.
    pub fn log_file(&self) -> PathBuf {
        self.log_directory.join("app.log")
    }

    /// The pipeline this environment describes: console and file outputs,
    /// each with its own level, and formatters chosen by `format`.
    ///
    /// # Errors
    /// [`ConfigError::File`] when the log file cannot be opened.
    pub fn pipeline(&self, format: FormatterType) -> Result<PipelineConfig, ConfigError> {
        self.pipeline_to(format, self.log_file())
    }

    /// [`pipeline`](EnvironmentConfig::pipeline) with the file output going to
    /// `file` instead of `app.log`.
    ///
    /// # Errors
    /// [`ConfigError::File`] when `file` cannot be opened for appending.
    pub fn pipeline_to(
        &self,
        format: FormatterType,
        file: PathBuf,
    ) -> Result<PipelineConfig, ConfigError> {
        let mut config = PipelineConfig::new().min_level(self.console_level.min(self.file_level));
        if self.include_thread_info {
            config = config.enricher(thread_enricher());
        }
        if self.include_source_location {
            config = config.enricher(source_enricher());
        }
        config = config.enricher(exception_enricher());
        if self.service_name.is_some() || self.version.is_some() {
            config = config.enricher(context_enricher(Context {
                service_name: self.service_name.clone(),
                version: self.version.clone(),
                environment: Some(self.environment.as_str().to_owned()),
                ..Context::default()
            }));
        }
        let pick = |kind: FormatterKind| match format {
            FormatterType::Default => kind,
            FormatterType::Json => FormatterKind::Json,
        };
        Ok(config
            .output(OutputConfig {
                min_level: self.console_level,
                formatter: pick(self.console_formatter).build(),
                writers: vec![Box::new(console_writer())],
            })
            .output(OutputConfig {
                min_level: self.file_level,
                formatter: pick(self.file_formatter).build(),
                writers: vec![Box::new(file_writer(file)?)],
            }))
    }
}

// === The global backend ===

/// The global backend and the routes (registered pipelines) loggers share
/// on it.
struct Global {
    backend: Backend,
    default: Route,
    /// Routes made on demand, by module log file and format.
    extra: Vec<(EnvKey, Route)>,
}

/// Which environment pipeline: a module log file, and the format.
type EnvKey = (Option<String>, FormatterType);

/// The environment chosen by `setup_async_logging` (survives shutdown, so the
/// global backend can be rebuilt the same way).
static ENV: Mutex<Option<EnvironmentConfig>> = Mutex::new(None);
static GLOBAL: Mutex<Option<Global>> = Mutex::new(None);

fn install(global: &mut Option<Global>, backend: Backend) -> Result<(), ConfigError> {
    // What the previous global backend holds is written before the new one
    // is seen (`GLOBAL` is held by the caller, so `get_logger` waits
    // meanwhile): a thread's record queued there must not be overtaken by
    // its next one, queued on the new backend and written to the same file.
    // Loggers made from it may still be in use: from now on they write on
    // the caller's thread, so a record through one is written before the
    // call returns, never after the thread's next record through the new
    // backend.
    if let Some(previous) = global.take() {
        let timeout = previous.backend.config().shutdown_timeout;
        previous.backend.shutdown_to_synchronous(timeout);
    }
    let pipeline = match &*lock(&ENV) {
        Some(env) => env.pipeline(FormatterType::Default)?,
        None => PipelineConfig::new(),
    };
    let default = backend.add_route(pipeline);
    *global = Some(Global {
        backend,
        default,
        extra: Vec::new(),
    });
    Ok(())
}

fn with_global<T>(f: impl FnOnce(&mut Global) -> T) -> Result<T, ConfigError> {
    let mut global = lock(&GLOBAL);
    if global.is_none() {
        let config = lock(&ENV)
            .as_ref()
            .map(|e| e.async_config.clone())
            .unwrap_or_default();
        install(&mut global, Backend::new(config)?)?;
    }
    match global.as_mut() {
        Some(g) => Ok(f(g)),
        None => unreachable!("installed above"),
    }
}

/// Options of [`setup_async_logging`], with the original's defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct AsyncSetup {
    /// The preset (default production).
    pub environment: Environment,
    /// Service name, added to every record's context.
    pub service_name: Option<String>,
    /// Service version, added to every record's context.
    pub version: Option<String>,
    /// Where `app.log` goes (default: the preset's: `logs`, `/var/log`, `test_logs`).
    pub log_directory: Option<PathBuf>,
    /// Queue capacity (default 25,000).
    pub max_queue_size: usize,
    /// Worker threads (default 2).
    pub worker_count: usize,
    /// Records per batch (default 200).
    pub batch_size: usize,
}

impl Default for AsyncSetup {
    fn default() -> AsyncSetup {
        AsyncSetup {
            environment: Environment::Production,
            service_name: None,
            version: None,
            log_directory: None,
            max_queue_size: 25_000,
            worker_count: 2,
            batch_size: 200,
        }
    }
}

/// Configures the global backend for an environment: console and
/// `log_directory/app.log` outputs, a queue of `max_queue_size` drained by
/// `worker_count` workers. Production uses `drop_oldest` (drops are counted
/// and reported), the others `block`. Loggers from [`get_logger`] use it.
///
/// # Errors
/// [`ConfigError`] for an invalid setting or an unwritable log file.
pub fn setup_async_logging(setup: AsyncSetup) -> Result<EnvironmentConfig, ConfigError> {
    let mut env = EnvironmentConfig::preset(setup.environment);
    if let Some(dir) = setup.log_directory {
        env.log_directory = dir;
    }
    env.service_name = setup.service_name;
    if setup.version.is_some() {
        env.version = setup.version;
    }
    env.async_config = AsyncConfig {
        max_queue_size: setup.max_queue_size,
        worker_count: setup.worker_count,
        batch_size: setup.batch_size,
        enable_batching: true,
        overflow_strategy: if setup.environment == Environment::Production {
            OverflowStrategy::DropOldest
        } else {
            OverflowStrategy::Block
        },
        ..AsyncConfig::default()
    };
    let backend = Backend::new(env.async_config.clone())?;
    let mut global = lock(&GLOBAL);
    let previous = lock(&ENV).replace(env.clone());
    if let Err(e) = install(&mut global, backend) {
        *lock(&ENV) = previous;
        return Err(e);
    }
    Ok(env)
}

/// Options of [`configure_async_backend`], with the original's defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct BackendOptions {
    /// Queue capacity (default 25,000).
    pub max_queue_size: usize,
    /// Worker threads (default 2).
    pub worker_count: usize,
    /// Records per batch (default 200).
    pub batch_size: usize,
    /// Batch writes (default true).
    pub enable_batching: bool,
    /// Full-queue policy (default `drop_oldest`).
    pub overflow_strategy: OverflowStrategy,
}

impl Default for BackendOptions {
    fn default() -> BackendOptions {
        BackendOptions {
            max_queue_size: 25_000,
            worker_count: 2,
            batch_size: 200,
            enable_batching: true,
            overflow_strategy: OverflowStrategy::DropOldest,
        }
    }
}

/// Replaces the global backend with a new, running one. Loggers made before
/// keep their backend (it drains when they are gone); [`get_logger`] uses the
/// new one from now on.
///
/// # Errors
/// [`ConfigError`] for an invalid setting.
pub fn configure_async_backend(options: BackendOptions) -> Result<Backend, ConfigError> {
    let config = AsyncConfig {
        max_queue_size: options.max_queue_size,
        worker_count: options.worker_count,
        batch_size: options.batch_size,
        enable_batching: options.enable_batching,
        overflow_strategy: options.overflow_strategy,
        ..AsyncConfig::default()
    };
    let backend = Backend::new(config.clone())?;
    let mut global = lock(&GLOBAL);
    install(&mut global, backend.clone())?;
    if let Some(env) = lock(&ENV).as_mut() {
        env.async_config = config;
    }
    Ok(backend)
}

/// A logger on the global backend. Before any setup, that backend writes
/// JSON lines at INFO and above to standard output.
///
/// # Panics
/// Never for a valid environment; if the global backend cannot be rebuilt
/// (its log file became unwritable after a shutdown), a synchronous console
/// logger is returned instead and the reason is printed once.
pub fn get_logger(name: &str) -> Logger {
    match with_global(|g| Logger::new(name, g.backend.clone(), g.default.clone())) {
        Ok(logger) => logger,
        Err(e) => {
            eprintln!("kakashi: global backend unavailable ({e}); logging synchronously to stdout");
            Backend::synchronous().logger(name, PipelineConfig::new())
        }
    }
}

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
}

impl Default for HighPerformanceOptions {
    fn default() -> HighPerformanceOptions {
        HighPerformanceOptions {
            max_queue_size: 50_000,
            worker_count: 2,
            batch_size: 500,
            overflow_strategy: OverflowStrategy::DropOldest,
            min_level: Level::Info,
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

/// [`get_high_performance_logger`] with options.
///
/// # Errors
/// [`ConfigError`] for an invalid setting or an unwritable file, and
/// [`ConfigError::ConflictingSettings`] when the file has a live logger with
/// another queue size, worker count, batch size or overflow strategy.
pub fn get_high_performance_logger_with(
    name: &str,
    log_file: impl AsRef<Path>,
    options: HighPerformanceOptions,
) -> Result<Logger, ConfigError> {
    let log_file = log_file.as_ref();
    let writer = file_writer(log_file)?;
    let key = std::fs::canonicalize(log_file).map_err(|source| ConfigError::File {
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
struct FileBackend {
    /// The file, canonical.
    path: PathBuf,
    backend: WeakBackend,
    options: HighPerformanceOptions,
    /// One route (registered pipeline) per level asked for.
    routes: Vec<(Level, Route)>,
}

static FILE_BACKENDS: Mutex<Vec<FileBackend>> = Mutex::new(Vec::new());

/// Before `fork()` (see `prepare_fork`): this module's registries, taken in
/// the order the rest of the module takes them (`GLOBAL`, `ENV`,
/// `FILE_BACKENDS`; see `lock_for_fork`).
pub(crate) fn hold_registries_for_fork(deadline: Instant) -> Vec<Box<dyn std::any::Any>> {
    let mut held: Vec<Box<dyn std::any::Any>> = Vec::new();
    if let Some(g) = lock_for_fork(&GLOBAL, deadline) {
        held.push(Box::new(g));
    }
    if let Some(g) = lock_for_fork(&ENV, deadline) {
        held.push(Box::new(g));
    }
    if let Some(g) = lock_for_fork(&FILE_BACKENDS, deadline) {
        held.push(Box::new(g));
    }
    held
}

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

/// Options of [`get_network_logger_with`], with the original's defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct NetworkOptions {
    /// Queue capacity (default 20,000).
    pub max_queue_size: usize,
    /// Records per batch (default 100).
    pub batch_size: usize,
    /// Retries per record after the first attempt (default 5).
    pub max_retries: u32,
    /// Wait before the first retry, doubling each time up to 30 s (default
    /// 0.5 s; at most [`MAX_TIMEOUT`](crate::backend::MAX_TIMEOUT)).
    pub retry_delay: Duration,
    /// Full-queue policy (default `drop_oldest`).
    pub overflow_strategy: OverflowStrategy,
    /// Lowest level sent (default INFO).
    pub min_level: Level,
}

impl Default for NetworkOptions {
    fn default() -> NetworkOptions {
        NetworkOptions {
            max_queue_size: 20_000,
            batch_size: 100,
            max_retries: 5,
            retry_delay: Duration::from_millis(500),
            overflow_strategy: OverflowStrategy::DropOldest,
            min_level: Level::Info,
        }
    }
}

impl NetworkOptions {
    fn backend(&self) -> Result<Backend, ConfigError> {
        timeout_setting("retry_delay", self.retry_delay)?;
        Backend::new(AsyncConfig {
            max_queue_size: self.max_queue_size,
            worker_count: 1,
            batch_size: self.batch_size,
            overflow_strategy: self.overflow_strategy,
            ..AsyncConfig::default()
        })
    }

    fn policy(&self) -> RetryPolicy {
        RetryPolicy {
            max_retries: self.max_retries,
            initial_delay: self.retry_delay,
            multiplier: 2.0,
            max_delay: Duration::from_secs(30),
        }
    }

    fn pipeline(&self) -> PipelineConfig {
        PipelineConfig::new()
            .min_level(self.min_level)
            .enricher(thread_enricher())
            .enricher(exception_enricher())
            .formatter(default_json_formatter())
    }
}

/// A logger that hands each record's JSON line to `send` on a worker thread,
/// in order, retrying failures with backoff; records still failing after
/// `max_retries` are counted as failed, never raised into the caller.
///
/// # Errors
/// [`ConfigError`] for an invalid setting.
pub fn get_network_logger<F, E>(name: &str, send: F) -> Result<Logger, ConfigError>
where
    F: FnMut(&str) -> Result<(), E> + Send + 'static,
    E: fmt::Display + 'static,
{
    get_network_logger_with(name, send, NetworkOptions::default())
}

/// [`get_network_logger`] with options.
///
/// # Errors
/// [`ConfigError`] for an invalid setting.
pub fn get_network_logger_with<F, E>(
    name: &str,
    send: F,
    options: NetworkOptions,
) -> Result<Logger, ConfigError>
where
    F: FnMut(&str) -> Result<(), E> + Send + 'static,
    E: fmt::Display + 'static,
{
    let writer = callback_writer(send)
        .retry(options.policy())
        .named(format!("network:{name}"));
    Ok(options
        .backend()?
        .logger(name, options.pipeline().writer(writer)))
}

/// Like [`get_network_logger_with`], but `send` receives each batch of JSON
/// lines at once, for clients that ship in bulk; a failed batch is retried whole.
///
/// # Errors
/// [`ConfigError`] for an invalid setting.
pub fn get_network_batch_logger<F, E>(
    name: &str,
    send: F,
    options: NetworkOptions,
) -> Result<Logger, ConfigError>
where
    F: FnMut(&[&str]) -> Result<(), E> + Send + 'static,
    E: fmt::Display + 'static,
{
    let writer = batch_callback_writer(send)
        .retry(options.policy())
        .named(format!("network-batch:{name}"));
    Ok(options
        .backend()?
        .logger(name, options.pipeline().writer(writer)))
}

/// A logger on the global backend writing JSON (to the environment's outputs,
/// or standard output before any setup) with `default_fields` (such as
/// `service` and `version`) bound to every record; `bind` adds more. The
/// page's `get_async_structured_logger(name, log_file=None,
/// async_config=None, **default_fields)`, with the same meaning in Rust and
/// Python: `log_file` names a module file as in [`get_env_logger`], and
/// `async_config`, when given, is applied first ([`apply_async_config`]).
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// # kakashi::setup_async_logging(kakashi::AsyncSetup {
/// #     environment: kakashi::Environment::Testing,
/// #     log_directory: Some(dir.path().into()),
/// #     ..Default::default()
/// # })?;
/// use kakashi::{get_async_structured_logger, info};
/// let analytics = get_async_structured_logger(
///     "analytics",
///     None,
///     None,
///     [("service", "user-analytics"), ("version", "1.0.0")],
/// )?;
/// info!(analytics, "signup", plan = "pro");
/// analytics.flush();
/// let text = std::fs::read_to_string(dir.path().join("app.log")).unwrap();
/// assert!(text.contains(r#""fields":{"service":"user-analytics","version":"1.0.0","plan":"pro"}"#));
/// # kakashi::shutdown_async_backend(std::time::Duration::from_secs(5));
/// # Ok::<(), kakashi::ConfigError>(())
/// ```
///
/// # Errors
/// [`ConfigError`] for an invalid `async_config`, or when the global
/// backend or the file cannot be set up.
pub fn get_async_structured_logger<K: Into<Key>, V: Into<Value>>(
    name: &str,
    log_file: Option<&str>,
    async_config: Option<AsyncConfig>,
    default_fields: impl IntoIterator<Item = (K, V)>,
) -> Result<Logger, ConfigError> {
    if let Some(config) = async_config {
        apply_async_config(config)?;
    }
    Ok(get_env_logger(name, log_file, FormatterType::Json)?.with_fields(default_fields))
}

/// Makes `config` the global backend's settings, as the page's
/// `async_config=` argument of `get_async_logger` and
/// `get_async_structured_logger` does: unless the global backend already
/// has exactly these settings (then nothing changes, so asking for loggers
/// with the same config again starts no more workers), a new global backend
/// is started with them, as by [`configure_async_backend`] (the previous one
/// is drained first).
///
/// # Errors
/// [`ConfigError`] for an invalid setting (see [`AsyncConfig::validate`]).
pub fn apply_async_config(config: AsyncConfig) -> Result<(), ConfigError> {
    config.validate()?;
    let mut global = lock(&GLOBAL);
    let current = match global.as_ref() {
        Some(g) => g.backend.config().clone(),
        // Rebuilt on first use from the environment's settings.
        None => lock(&ENV)
            .as_ref()
            .map(|e| e.async_config.clone())
            .unwrap_or_default(),
    };
    if current == config {
        return Ok(());
    }
    let backend = Backend::new(config.clone())?;
    install(&mut global, backend)?;
    if let Some(env) = lock(&ENV).as_mut() {
        env.async_config = config;
    }
    Ok(())
}

/// A logger on the global backend through the environment's outputs (console
/// and file, each with its level and formatter; standard output before any
/// setup), as the original's `get_logger(name, log_file, formatter_type)`.
///
/// `log_file` names a module file, `<log_directory>/modules/<log_file>.log`,
/// instead of `app.log`; `format` picks the outputs' formatters (the
/// environment's, or JSON for both). One pipeline is made per distinct pair
/// and shared by every logger asking for it.
///
/// # Errors
/// [`ConfigError`] when the global backend or the file cannot be set up.
pub fn get_env_logger(
    name: &str,
    log_file: Option<&str>,
    format: FormatterType,
) -> Result<Logger, ConfigError> {
    let key = (log_file.map(str::to_owned), format);
    let (backend, pipeline) = with_global(|g| -> Result<_, ConfigError> {
        if let Some((_, found)) = g.extra.iter().find(|(k, _)| *k == key) {
            return Ok((g.backend.clone(), found.clone()));
        }
        let config = match (&*lock(&ENV), log_file) {
            (Some(env), None) => env.pipeline(format)?,
            (Some(env), Some(file)) => env.pipeline_to(
                format,
                env.log_directory
                    .join("modules")
                    .join(format!("{file}.log")),
            )?,
            (None, _) => PipelineConfig::new(),
        };
        let made = g.backend.add_route(config);
        g.extra.push((key, made.clone()));
        Ok((g.backend.clone(), made))
    })??;
    Ok(Logger::new(name, backend, pipeline))
}

/// The counters of every backend, summed (`writers` lists each live
/// writer). Backends that are gone keep their totals here, so no counter
/// ever goes backwards.
pub fn get_async_stats() -> Stats {
    // Live ones first, and held (none of them retires meanwhile): one
    // dropped before is in the retired totals read next.
    let live = all_backends();
    let mut total = retired().unwrap_or_default();
    for backend in live {
        total.merge(&backend.stats());
    }
    total
}

/// Flushes every live backend, within the longest `shutdown_timeout` in
/// total; returns whether all of them finished (see [`Backend::flush`]).
pub fn flush() -> bool {
    flush_timeout(longest_shutdown_timeout(&all_backends()))
}

/// [`flush`] with an explicit limit for all backends together.
pub fn flush_timeout(timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    let mut all_done = true;
    for backend in all_backends() {
        all_done &= backend.flush_until(deadline);
    }
    all_done
}

/// Drains, flushes and stops every backend, within `timeout` in total; reports
/// what was left. The global backend is rebuilt (with the same environment) by
/// the next [`get_logger`]; loggers made before keep working synchronously.
pub fn shutdown_async_backend(timeout: Duration) -> ShutdownReport {
    let deadline = Instant::now() + timeout;
    let mut report = ShutdownReport {
        drained: true,
        ..ShutdownReport::default()
    };
    for backend in all_backends() {
        let left = deadline.saturating_duration_since(Instant::now());
        report.merge(&backend.shutdown(left));
    }
    // The next get_logger builds a fresh global backend from the same environment.
    *lock(&GLOBAL) = None;
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `FormatterType::Default` keeps the environment's file formatter
    /// (compact here), `FormatterType::Json` replaces it with JSON.
    #[test]
    fn output_format_picks_the_file_outputs_formatter() {
        let dir = tempfile::tempdir().unwrap();
        let mut env = EnvironmentConfig::preset(Environment::Testing);
        env.file_formatter = FormatterKind::Compact;
        env.console_level = Level::Critical; // nothing on the test's console
        env.file_level = Level::Info;
        for (format, json) in [(FormatterType::Default, false), (FormatterType::Json, true)] {
            let path = dir.path().join(format!("{format:?}.log"));
            let backend = Backend::synchronous();
            let logger = backend.logger("env", env.pipeline_to(format, path.clone()).unwrap());
            logger.info("hello");
            let line = std::fs::read_to_string(&path).unwrap();
            assert_eq!(line.starts_with('{'), json, "{format:?}: {line}");
            assert!(line.contains("hello"), "{line}");
        }
    }
}
