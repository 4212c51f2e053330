//! The backend's settings ([`AsyncConfig`]), their defaults and their
//! validation.
//!
//! Every limit is checked once, in [`AsyncConfig::validate`], before a
//! backend starts: the rest of the backend takes a validated config as given
//! (a non-zero queue and batch, a sane worker count) and never re-checks.
//! The names and defaults are the original's, so that a setting means what
//! it meant there.

use std::time::Duration;

use super::OverflowStrategy;
use crate::error::ConfigError;

/// Default queue capacity (`AsyncConfig::max_queue_size`), as in the original.
pub const DEFAULT_MAX_QUEUE_SIZE: usize = 10_000;
/// Default records per batch (`AsyncConfig::batch_size`).
pub const DEFAULT_BATCH_SIZE: usize = 100;

/// How the backend queues and writes, with the original's names and defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct AsyncConfig {
    /// Queue capacity in records (default 10,000). Memory is bounded by
    /// this: besides the queue, the workers hold the batches they are
    /// preparing and, ready before their turn to be written, at most a
    /// quarter of this many records (or one batch, if that is more).
    pub max_queue_size: usize,
    /// Worker threads (default 1). More workers format in parallel; writes
    /// stay in order.
    pub worker_count: usize,
    /// Most records a worker takes and writes at once (default 100).
    pub batch_size: usize,
    /// Longest a worker sleeps idle before it looks again (default 0.1 s). A
    /// worker never holds records back waiting for a batch to fill: it takes
    /// what has arrived, up to `batch_size`.
    pub batch_timeout: Duration,
    /// When false, each batch is one record (default true).
    pub enable_batching: bool,
    /// What a full queue does (default `block`).
    pub overflow_strategy: OverflowStrategy,
    /// How long the exit flush waits (default 5 s).
    pub shutdown_timeout: Duration,
    /// Worker threads are named `"{prefix}-{i}"` (default `"kakashi"`).
    pub thread_name_prefix: String,
}

impl Default for AsyncConfig {
    fn default() -> AsyncConfig {
        AsyncConfig {
            max_queue_size: DEFAULT_MAX_QUEUE_SIZE,
            worker_count: 1,
            batch_size: DEFAULT_BATCH_SIZE,
            batch_timeout: Duration::from_millis(100),
            enable_batching: true,
            overflow_strategy: OverflowStrategy::Block,
            shutdown_timeout: Duration::from_secs(5),
            thread_name_prefix: "kakashi".to_owned(),
        }
    }
}

impl AsyncConfig {
    /// Items a batch takes at most: `batch_size`, or 1 without batching.
    pub(crate) fn batch_limit(&self) -> usize {
        if self.enable_batching {
            self.batch_size
        } else {
            1
        }
    }

    /// Checks every setting.
    ///
    /// # Errors
    /// [`ConfigError::OutOfRange`] for a zero queue, zero or more than 1,024
    /// workers, a zero batch, or a zero batch timeout.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.max_queue_size == 0 || self.max_queue_size > 1 << 28 {
            return Err(ConfigError::out_of_range(
                "max_queue_size",
                self.max_queue_size,
                "1 to 268435456",
            ));
        }
        if self.worker_count == 0 || self.worker_count > 1024 {
            return Err(ConfigError::out_of_range(
                "worker_count",
                self.worker_count,
                "1 to 1024",
            ));
        }
        if self.batch_size == 0 {
            return Err(ConfigError::out_of_range(
                "batch_size",
                self.batch_size,
                "at least 1",
            ));
        }
        if self.batch_timeout.is_zero() {
            return Err(ConfigError::out_of_range(
                "batch_timeout",
                format!("{:?}", self.batch_timeout),
                "more than 0 seconds",
            ));
        }
        Ok(())
    }
}
