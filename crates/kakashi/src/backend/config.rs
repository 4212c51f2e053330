//! The backend's settings ([`AsyncConfig`]), their defaults and their
//! validation.
//!
//! Every limit is checked once, in [`AsyncConfig::validate`], before a
//! backend starts: the rest of the backend takes a validated config as given
//! (a non-zero queue and batch, a sane worker count) and never re-checks.
//! The names and defaults are the original's, so that a setting means what
//! it meant there.
//!
//! Settings that arrive as plain numbers (from Python, or a configuration
//! file) become the core's types through [`count_setting`],
//! [`retries_setting`] and [`seconds_setting`], which reject what the type
//! cannot hold with the same [`ConfigError`] and message as `validate`. This
//! module is the one source of the ranges and their wording: the Python
//! binding only converts types and calls these.
//!
//! ```
//! use kakashi::backend::{seconds_setting, AsyncConfig};
//! let err = seconds_setting("shutdown_timeout", -1.0).unwrap_err();
//! assert_eq!(
//!     err.to_string(),
//!     "shutdown_timeout = -1.0 is out of range; expected 0 to 1000000000 seconds"
//! );
//! let config = AsyncConfig { worker_count: 0, ..AsyncConfig::default() };
//! assert_eq!(
//!     config.validate().unwrap_err().to_string(),
//!     "worker_count = 0 is out of range; expected 1 to 1024"
//! );
//! ```

use std::time::Duration;

use super::OverflowStrategy;
use crate::error::ConfigError;

/// Default queue capacity (`AsyncConfig::max_queue_size`), as in the original.
pub const DEFAULT_MAX_QUEUE_SIZE: usize = 10_000;
/// Default records per batch (`AsyncConfig::batch_size`).
pub const DEFAULT_BATCH_SIZE: usize = 100;

/// Longest timeout or delay a setting may hold (`shutdown_timeout`, a
/// flush or shutdown `timeout`, a retry delay): 1,000,000,000 seconds, about
/// 31 years. A deadline is computed as now plus the timeout, which must not
/// overflow the clock (it would panic); no wait is meant to outlast that.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(1_000_000_000);

/// The accepted ranges, as the error messages state them.
const QUEUE_RANGE: &str = "1 to 268435456";
const WORKER_RANGE: &str = "1 to 1024";
const BATCH_RANGE: &str = "at least 1";
const BATCH_TIMEOUT_RANGE: &str = "more than 0 seconds";
const TIMEOUT_RANGE: &str = "0 to 1000000000 seconds";
const RETRIES_RANGE: &str = "0 to 4294967295";

/// What `setting` accepts, in the words of its error message; `None` for a
/// setting [`AsyncConfig::validate`] does not bound beyond its type.
fn range_of(setting: &str) -> Option<&'static str> {
    Some(match setting {
        "max_queue_size" => QUEUE_RANGE,
        "worker_count" => WORKER_RANGE,
        "batch_size" => BATCH_RANGE,
        "batch_timeout" => BATCH_TIMEOUT_RANGE,
        _ => return None,
    })
}

/// A count setting (`max_queue_size`, `worker_count`, `batch_size`, ...)
/// given as a signed integer, as a `usize`.
///
/// # Errors
/// [`ConfigError::OutOfRange`] for a negative value, stating the setting's
/// range as [`AsyncConfig::validate`] does (`"1 to 1024"` for
/// `worker_count`), or "0 or more" for a setting it does not bound.
pub fn count_setting(setting: &'static str, value: i64) -> Result<usize, ConfigError> {
    usize::try_from(value).map_err(|_| {
        ConfigError::out_of_range(setting, value, range_of(setting).unwrap_or("0 or more"))
    })
}

/// A retry count (`max_retries`, `max_error_retries`) given as a signed
/// integer, as the `u32` of [`RetryPolicy::max_retries`](crate::RetryPolicy).
///
/// # Errors
/// [`ConfigError::OutOfRange`] ("0 to 4294967295") for a value a `u32`
/// cannot hold.
pub fn retries_setting(setting: &'static str, value: i64) -> Result<u32, ConfigError> {
    u32::try_from(value).map_err(|_| ConfigError::out_of_range(setting, value, RETRIES_RANGE))
}

/// A duration setting given as a number of seconds, as a [`Duration`].
///
/// # Errors
/// [`ConfigError::OutOfRange`] for NaN, a negative value, or (but for
/// `batch_timeout`, an idle wait with no deadline) more than
/// [`MAX_TIMEOUT`]: "0 to 1000000000 seconds"; `batch_timeout` states its
/// own range, "more than 0 seconds".
pub fn seconds_setting(setting: &'static str, seconds: f64) -> Result<Duration, ConfigError> {
    let expected = range_of(setting).unwrap_or(TIMEOUT_RANGE);
    let duration = Duration::try_from_secs_f64(seconds)
        .map_err(|_| ConfigError::out_of_range(setting, format!("{seconds:?}"), expected))?;
    if range_of(setting).is_none() {
        timeout_setting(setting, duration)?;
    }
    Ok(duration)
}

/// Checks a timeout or delay given as a [`Duration`] against
/// [`MAX_TIMEOUT`].
///
/// # Errors
/// [`ConfigError::OutOfRange`] ("0 to 1000000000 seconds") when it is longer.
pub fn timeout_setting(setting: &'static str, value: Duration) -> Result<Duration, ConfigError> {
    if value > MAX_TIMEOUT {
        return Err(ConfigError::out_of_range(
            setting,
            format!("{value:?}"),
            TIMEOUT_RANGE,
        ));
    }
    Ok(value)
}

/// How the backend queues and writes, with the original's names and defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct AsyncConfig {
    /// Queue capacity in records (default 10,000). Memory is bounded by
    /// this: besides the queue, the workers hold the batches they are
    /// preparing and, ready before their turn to be written, at most a
    /// sixteenth of this many records (or one batch, if that is more).
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
    /// How long the exit flush waits (default 5 s; at most [`MAX_TIMEOUT`]).
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
    /// workers, a zero batch, a zero batch timeout, or a shutdown timeout
    /// longer than [`MAX_TIMEOUT`].
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.max_queue_size == 0 || self.max_queue_size > 1 << 28 {
            return Err(ConfigError::out_of_range(
                "max_queue_size",
                self.max_queue_size,
                QUEUE_RANGE,
            ));
        }
        if self.worker_count == 0 || self.worker_count > 1024 {
            return Err(ConfigError::out_of_range(
                "worker_count",
                self.worker_count,
                WORKER_RANGE,
            ));
        }
        if self.batch_size == 0 {
            return Err(ConfigError::out_of_range(
                "batch_size",
                self.batch_size,
                BATCH_RANGE,
            ));
        }
        if self.batch_timeout.is_zero() {
            return Err(ConfigError::out_of_range(
                "batch_timeout",
                format!("{:?}", self.batch_timeout),
                BATCH_TIMEOUT_RANGE,
            ));
        }
        timeout_setting("shutdown_timeout", self.shutdown_timeout)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(e: ConfigError) -> String {
        e.to_string()
    }

    #[test]
    fn numbers_outside_the_types_are_out_of_range_with_the_cores_ranges() {
        let cases = [
            (
                count_setting("worker_count", -1).map(drop),
                "worker_count = -1 is out of range; expected 1 to 1024",
            ),
            (
                count_setting("max_queue_size", -5).map(drop),
                "max_queue_size = -5 is out of range; expected 1 to 268435456",
            ),
            (
                count_setting("batch_size", -1).map(drop),
                "batch_size = -1 is out of range; expected at least 1",
            ),
            (
                retries_setting("max_retries", -1).map(drop),
                "max_retries = -1 is out of range; expected 0 to 4294967295",
            ),
            (
                retries_setting("max_error_retries", 1 << 32).map(drop),
                "max_error_retries = 4294967296 is out of range; expected 0 to 4294967295",
            ),
            (
                seconds_setting("error_retry_delay", -0.5).map(drop),
                "error_retry_delay = -0.5 is out of range; expected 0 to 1000000000 seconds",
            ),
            (
                seconds_setting("retry_delay", f64::NAN).map(drop),
                "retry_delay = NaN is out of range; expected 0 to 1000000000 seconds",
            ),
            (
                seconds_setting("timeout", f64::INFINITY).map(drop),
                "timeout = inf is out of range; expected 0 to 1000000000 seconds",
            ),
            (
                seconds_setting("shutdown_timeout", 1e10).map(drop),
                "shutdown_timeout = 10000000000s is out of range; expected 0 to 1000000000 seconds",
            ),
            (
                seconds_setting("batch_timeout", -1.0).map(drop),
                "batch_timeout = -1.0 is out of range; expected more than 0 seconds",
            ),
        ];
        for (result, expected) in cases {
            assert_eq!(result.map_err(message), Err(expected.to_owned()));
        }
        assert_eq!(count_setting("worker_count", 4).unwrap(), 4);
        assert_eq!(
            seconds_setting("timeout", 1e9).unwrap(),
            Duration::from_secs(1_000_000_000)
        );
    }

    #[test]
    fn validate_bounds_the_shutdown_timeout() {
        let config = AsyncConfig {
            shutdown_timeout: Duration::MAX,
            ..AsyncConfig::default()
        };
        assert_eq!(
            config.validate().map_err(message),
            Err(format!(
                "shutdown_timeout = {:?} is out of range; expected 0 to 1000000000 seconds",
                Duration::MAX
            ))
        );
        let config = AsyncConfig {
            shutdown_timeout: MAX_TIMEOUT,
            ..AsyncConfig::default()
        };
        assert!(config.validate().is_ok());
    }
}
