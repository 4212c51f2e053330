//! Network loggers: [`NetworkOptions`] and [`get_network_logger_with`] /
//! [`get_network_batch_logger`], which hand JSON lines to a callback with
//! retries.

use std::fmt;
use std::time::Duration;

use crate::backend::{timeout_setting, AsyncConfig, Backend, OverflowStrategy};
use crate::error::ConfigError;
use crate::logger::Logger;
use crate::pipeline::enrich::{exception_enricher, thread_enricher};
use crate::pipeline::format::default_json_formatter;
use crate::pipeline::write::{batch_callback_writer, callback_writer, RetryPolicy};
use crate::pipeline::PipelineConfig;
use crate::record::Level;

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
