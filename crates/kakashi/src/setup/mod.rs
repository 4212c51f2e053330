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
//!
//! Layout: `environment.rs` holds the presets, `global.rs` the global
//! backend and what acts on every backend, `high_performance.rs` and
//! `network.rs` the factories of those loggers; this file re-exports them
//! and holds the registries' fork hook.

use std::time::Instant;

use crate::backend::{lock_for_fork, HeldForFork};

mod environment;
mod global;
mod high_performance;
mod network;

pub(crate) use global::environment_is_set;

pub use environment::{Environment, EnvironmentConfig, FormatterKind, FormatterType};
pub use global::{
    apply_async_config, configure_async_backend, flush, flush_timeout, get_async_stats,
    get_async_structured_logger, get_env_logger, get_logger, install_environment,
    setup_async_logging, shutdown_async_backend, sync, AsyncSetup, BackendOptions,
};
pub use high_performance::{
    get_high_performance_logger, get_high_performance_logger_with, HighPerformanceOptions,
};
pub use network::{
    get_network_batch_logger, get_network_logger, get_network_logger_with, NetworkOptions,
};

#[cfg(feature = "config")]
pub(crate) use global::install_config;
use global::{ENV, GLOBAL};
use high_performance::FILE_BACKENDS;

/// Before `fork()` (see `prepare_fork`): this module's registries, taken in
/// the order the rest of the module takes them (`GLOBAL`, `ENV`,
/// `FILE_BACKENDS`, then the level listeners and registry; see
/// `lock_for_fork`).
pub(crate) fn hold_registries_for_fork(deadline: Instant) -> Vec<HeldForFork> {
    let mut held = Vec::new();
    held.extend(lock_for_fork(&GLOBAL, deadline));
    held.extend(lock_for_fork(&ENV, deadline));
    held.extend(lock_for_fork(&FILE_BACKENDS, deadline));
    // Taken under `GLOBAL` (applying a configuration notifies), and takes
    // the level registry.
    held.extend(lock_for_fork(crate::levels::listeners_for_fork(), deadline));
    // A leaf (taken under the others, never the other way round): last.
    held.extend(lock_for_fork(crate::levels::registry_for_fork(), deadline));
    held
}
