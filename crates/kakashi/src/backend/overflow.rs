//! What happens when the queue is full: the three strategies, by their
//! original names.
//!
//! ```
//! use kakashi::OverflowStrategy;
//! assert_eq!("drop_oldest".parse::<OverflowStrategy>().unwrap(), OverflowStrategy::DropOldest);
//! assert_eq!(OverflowStrategy::Block.as_str(), "block");
//! assert!("dropp_oldest".parse::<OverflowStrategy>().is_err());
//! ```

use std::fmt;
use std::str::FromStr;

use crate::error::ConfigError;

/// The policy for a full queue.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum OverflowStrategy {
    /// The caller waits until there is room: nothing is lost, and there is no
    /// hidden time limit (`"block"`, the default). A caller that found the
    /// queue full goes on once a quarter of it is free (then it and the
    /// other waiting callers refill it in one go, rather than a batch's worth
    /// at a time).
    #[default]
    Block,
    /// The oldest queued record is evicted to make room (`"drop_oldest"`).
    DropOldest,
    /// The new record is rejected (`"drop_newest"`). Once a call has found
    /// the queue full, calls drop their record without building it (the
    /// Rust macros do not evaluate its fields) until a worker takes from the
    /// queue; every drop is counted and reported.
    DropNewest,
}

impl OverflowStrategy {
    /// The original's name (`"block"`, `"drop_oldest"`, `"drop_newest"`).
    pub const fn as_str(self) -> &'static str {
        match self {
            OverflowStrategy::Block => "block",
            OverflowStrategy::DropOldest => "drop_oldest",
            OverflowStrategy::DropNewest => "drop_newest",
        }
    }
}

impl fmt::Display for OverflowStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for OverflowStrategy {
    type Err = ConfigError;

    /// Exact names only: an unknown name is an error, never a silent default.
    fn from_str(s: &str) -> Result<OverflowStrategy, ConfigError> {
        match s {
            "block" => Ok(OverflowStrategy::Block),
            "drop_oldest" => Ok(OverflowStrategy::DropOldest),
            "drop_newest" => Ok(OverflowStrategy::DropNewest),
            _ => Err(ConfigError::UnknownOverflowStrategy(s.to_owned())),
        }
    }
}

/// Why a record was dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DropReason {
    /// `drop_newest` rejected it: the queue was full.
    QueueFull = 0,
    /// `drop_oldest` evicted it.
    Evicted = 1,
    /// Queued when shutdown's timeout expired, or queued later while that
    /// shutdown's workers were still stuck.
    ShutdownTimeout = 2,
    /// Logged after shutdown with `fallback_to_sync = false`, or while a
    /// timed-out shutdown's worker is stuck.
    BackendStopped = 3,
    /// Logged from inside a stage when it would have had to wait for it.
    Reentrant = 4,
    /// The caller gave up waiting for room (a signal, or interpreter exit).
    Interrupted = 5,
}

impl DropReason {
    pub(crate) const ALL: [DropReason; 6] = [
        DropReason::QueueFull,
        DropReason::Evicted,
        DropReason::ShutdownTimeout,
        DropReason::BackendStopped,
        DropReason::Reentrant,
        DropReason::Interrupted,
    ];

    pub(crate) const fn key(self) -> &'static str {
        match self {
            DropReason::QueueFull => "queue_full",
            DropReason::Evicted => "evicted_oldest",
            DropReason::ShutdownTimeout => "shutdown_timeout",
            DropReason::BackendStopped => "backend_stopped",
            DropReason::Reentrant => "reentrant",
            DropReason::Interrupted => "interrupted",
        }
    }

    pub(crate) const fn explain(self) -> &'static str {
        match self {
            DropReason::QueueFull => "the queue was full (drop_newest)",
            DropReason::Evicted => {
                "the queue was full and older records were evicted (drop_oldest)"
            }
            DropReason::ShutdownTimeout => "shutdown timed out before they were written",
            DropReason::BackendStopped => {
                "the backend was stopped (fallback_to_sync is off, or a writer is stuck)"
            }
            DropReason::Reentrant => {
                "they were logged from inside a pipeline stage that the queue was waiting for"
            }
            DropReason::Interrupted => {
                "the wait for room (block) was ended by a signal or by interpreter exit"
            }
        }
    }
}
