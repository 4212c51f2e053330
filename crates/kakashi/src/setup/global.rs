//! The global backend that [`get_logger`] and the environment loggers use,
//! its setup ([`setup_async_logging`], [`configure_async_backend`],
//! [`apply_async_config`]), and stats, flush and shutdown of every backend.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::environment::{Environment, EnvironmentConfig, FormatterType};
use crate::backend::lock;
use crate::backend::stages::Route;
use crate::backend::{
    all_backends, longest_shutdown_timeout, retired, AsyncConfig, Backend, BackendCore,
    OverflowStrategy, ShutdownReport, Stats,
};
use crate::error::ConfigError;
use crate::logger::Logger;
use crate::pipeline::write::FileOptions;
use crate::pipeline::PipelineConfig;
use crate::record::{Key, Value};

/// The global backend and the routes (registered pipelines) loggers share
/// on it.
pub(super) struct Global {
    backend: Backend,
    default: Route,
    /// Routes made on demand, by module log file and format.
    extra: Vec<(EnvKey, Route)>,
}

/// Which environment pipeline: a module log file, and the format.
type EnvKey = (Option<String>, FormatterType);

/// What the global backend's outputs are: an environment preset
/// (`setup_async_logging`) or a configuration from data (`config::configure`).
pub(super) enum Setup {
    Environment(EnvironmentConfig),
    #[cfg(feature = "config")]
    Config(crate::config::Resolved),
}

impl Setup {
    fn async_config(&self) -> &AsyncConfig {
        match self {
            Setup::Environment(env) => &env.async_config,
            #[cfg(feature = "config")]
            Setup::Config(config) => &config.async_config,
        }
    }

    fn set_async_config(&mut self, async_config: AsyncConfig) {
        match self {
            Setup::Environment(env) => env.async_config = async_config,
            #[cfg(feature = "config")]
            Setup::Config(config) => config.async_config = async_config,
        }
    }

    /// The outputs' pipeline; `module` names a module file
    /// (`<log_directory>/modules/<module>.log` for an environment).
    fn pipeline(
        &self,
        format: FormatterType,
        module: Option<&str>,
    ) -> Result<PipelineConfig, ConfigError> {
        match (self, module) {
            (Setup::Environment(env), None) => env.pipeline(format),
            (Setup::Environment(env), Some(file)) => env.pipeline_to(
                format,
                env.log_directory
                    .join("modules")
                    .join(format!("{file}.log")),
            ),
            #[cfg(feature = "config")]
            (Setup::Config(config), module) => config.pipeline(format, module),
        }
    }
}

/// The setup chosen by `setup_async_logging` or `config::configure`
/// (survives shutdown, so the global backend can be rebuilt the same way).
pub(super) static ENV: Mutex<Option<Setup>> = Mutex::new(None);
pub(super) static GLOBAL: Mutex<Option<Global>> = Mutex::new(None);

/// Makes `backend` the global one, with `prebuilt` as its default pipeline
/// (or the setup's, built here).
fn install(
    global: &mut Option<Global>,
    backend: Backend,
    prebuilt: Option<PipelineConfig>,
) -> Result<(), ConfigError> {
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
    let pipeline = match (prebuilt, &*lock(&ENV)) {
        (Some(pipeline), _) => pipeline,
        (None, Some(setup)) => setup.pipeline(FormatterType::Default, None)?,
        (None, None) => PipelineConfig::new(),
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
            .map(|e| e.async_config().clone())
            .unwrap_or_default();
        install(&mut global, Backend::new(config)?, None)?;
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
    /// Rotation, retention, compression and fsync of the preset's files
    /// (default: one file forever).
    pub file: FileOptions,
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
            file: FileOptions::default(),
        }
    }
}

impl AsyncSetup {
    /// The environment these options describe: the preset of
    /// `environment` with the directory, service, version, file options and
    /// queue settings given here (production `drop_oldest`, the others
    /// `block`), as [`setup_async_logging`] installs it.
    pub fn environment_config(&self) -> EnvironmentConfig {
        let mut env = EnvironmentConfig::preset(self.environment);
        if let Some(dir) = &self.log_directory {
            env.log_directory = dir.clone();
        }
        env.service_name = self.service_name.clone();
        env.file = self.file;
        if self.version.is_some() {
            env.version = self.version.clone();
        }
        env.async_config = AsyncConfig {
            max_queue_size: self.max_queue_size,
            worker_count: self.worker_count,
            batch_size: self.batch_size,
            enable_batching: true,
            overflow_strategy: if self.environment == Environment::Production {
                OverflowStrategy::DropOldest
            } else {
                OverflowStrategy::Block
            },
            ..AsyncConfig::default()
        };
        env
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
    let env = setup.environment_config();
    install_environment(env.clone())?;
    Ok(env)
}

/// Installs `env` as the global environment, with a new global backend of
/// its `async_config`: what [`setup_async_logging`] does with a preset, for
/// an environment changed field by field (its levels, say, as the
/// original's `set_log_level` and `set_environment_config` do). The previous
/// global backend is drained first; if `env` cannot be set up (an
/// unwritable log file), the previous environment stays.
///
/// # Errors
/// [`ConfigError`] for an invalid setting or an unwritable log file.
pub fn install_environment(env: EnvironmentConfig) -> Result<(), ConfigError> {
    let backend = Backend::new(env.async_config.clone())?;
    let mut global = lock(&GLOBAL);
    let previous = lock(&ENV).replace(Setup::Environment(env));
    if let Err(e) = install(&mut global, backend, None) {
        *lock(&ENV) = previous;
        return Err(e);
    }
    Ok(())
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
    install(&mut global, backend.clone(), None)?;
    if let Some(setup) = lock(&ENV).as_mut() {
        setup.set_async_config(config);
    }
    Ok(backend)
}

/// Installs a checked configuration as the global setup (see
/// `config::Config::apply`): its pipeline and backend are made first, so a
/// file that cannot be opened leaves the running setup as it was; then the
/// previous global backend is drained, this one installed, and the level
/// rules replaced, all under the global backend's lock (a `get_logger`
/// meanwhile waits, and sees the new rules).
#[cfg(feature = "config")]
pub(crate) fn install_config(config: crate::config::Resolved) -> Result<(), ConfigError> {
    let pipeline = config.pipeline(FormatterType::Default, None)?;
    let backend = Backend::new(config.async_config.clone())?;
    let rules = config.rules.clone();
    let mut global = lock(&GLOBAL);
    let previous = lock(&ENV).replace(Setup::Config(config));
    if let Err(e) = install(&mut global, backend, Some(pipeline)) {
        *lock(&ENV) = previous;
        return Err(e);
    }
    crate::levels::set_levels(rules);
    Ok(())
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
            .map(|e| e.async_config().clone())
            .unwrap_or_default(),
    };
    if current == config {
        return Ok(());
    }
    let backend = Backend::new(config.clone())?;
    install(&mut global, backend, None)?;
    if let Some(setup) = lock(&ENV).as_mut() {
        setup.set_async_config(config);
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
        let config = match &*lock(&ENV) {
            Some(setup) => setup.pipeline(format, log_file)?,
            None => PipelineConfig::new(),
        };
        let made = g.backend.add_route(config);
        g.extra.push((key, made.clone()));
        Ok((g.backend.clone(), made))
    })??;
    Ok(Logger::new(name, backend, pipeline))
}

/// Whether [`setup_async_logging`] has installed an environment (it stays
/// installed across shutdowns). See
/// [`binding::environment_is_set`](crate::binding::environment_is_set).
pub(crate) fn environment_is_set() -> bool {
    lock(&ENV).is_some()
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
    on_every_backend(timeout, BackendCore::flush_until)
}

/// `each(backend, deadline)` on every backend, one deadline for all;
/// whether every one returned true.
fn on_every_backend(timeout: Duration, each: impl Fn(&BackendCore, Instant) -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    let mut all_done = true;
    for backend in all_backends() {
        all_done &= each(&backend, deadline);
    }
    all_done
}

/// [`flush_timeout`], then every writer's data on to storage (`fsync` for
/// files), within `timeout` in total: `flush` reaches the OS, `sync` the
/// disk. Returns whether everything was written and synced.
pub fn sync(timeout: Duration) -> bool {
    on_every_backend(timeout, BackendCore::sync_until)
}

/// Drains, flushes and stops every backend, within `timeout` in total; reports
/// what was left. The global backend is rebuilt (with the same environment) by
/// the next [`get_logger`]; loggers made before keep working synchronously.
pub fn shutdown_async_backend(timeout: Duration) -> ShutdownReport {
    let report = crate::backend::stop_all(Instant::now() + timeout, false);
    // The next get_logger builds a fresh global backend from the same environment.
    *lock(&GLOBAL) = None;
    report
}
