//! Callback writers: hand each formatted record (or each batch) to a function,
//! off the caller's thread, retrying with exponential backoff.
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! use kakashi::{callback_writer, RetryPolicy};
//! use std::time::Duration;
//! let seen = Arc::new(Mutex::new(Vec::new()));
//! let sink = seen.clone();
//! let writer = callback_writer(move |line: &str| {
//!     sink.lock().unwrap().push(line.to_owned());
//!     Ok::<(), std::io::Error>(())
//! })
//! .retry(RetryPolicy { max_retries: 5, initial_delay: Duration::from_millis(10), ..RetryPolicy::default() });
//! # let _ = writer;
//! ```
//!
//! Guarantees: records reach the function in order, one at a time; a record
//! is retried (up to `max_retries` times) before the next is tried, so retries
//! never reorder; an error or a panic in the function is counted as a failure
//! of that record, never raised into the logging call.

use std::borrow::Cow;
use std::fmt::Display;
use std::io;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

use crate::pipeline::{Batch, WriteError, Writer};

/// How often and how patiently a callback is retried.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Further attempts after the first (default 3; total attempts = 1 + this).
    pub max_retries: u32,
    /// Wait before the first retry (default 100 ms).
    pub initial_delay: Duration,
    /// Each wait is this many times the last (default 2.0).
    pub multiplier: f64,
    /// Longest single wait (default 5 s).
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            max_retries: 3,
            initial_delay: Duration::from_millis(100),
            multiplier: 2.0,
            max_delay: Duration::from_secs(5),
        }
    }
}

impl RetryPolicy {
    /// No retries.
    pub fn none() -> RetryPolicy {
        RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        }
    }

    /// Calls `attempt` until it succeeds or the retries run out; returns the
    /// last error and the number of retries made.
    fn run<T>(
        &self,
        mut attempt: impl FnMut() -> Result<T, io::Error>,
    ) -> (Result<T, io::Error>, u32) {
        let mut delay = self.initial_delay;
        let mut retries = 0;
        loop {
            match attempt() {
                Ok(v) => return (Ok(v), retries),
                Err(e) if retries >= self.max_retries => return (Err(e), retries),
                Err(_) => {
                    std::thread::sleep(delay);
                    delay = delay.mul_f64(self.multiplier.max(1.0)).min(self.max_delay);
                    retries += 1;
                }
            }
        }
    }
}

fn call_guarded<E: Display>(f: impl FnOnce() -> Result<(), E>) -> Result<(), io::Error> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(io::Error::other(e.to_string())),
        Err(panic) => Err(io::Error::other(format!(
            "callback panicked: {}",
            crate::panic_message(&*panic)
        ))),
    }
}

fn text(bytes: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(bytes)
}

/// Calls a function once per record. Built by [`callback_writer`].
pub struct CallbackWriter<F> {
    send: F,
    policy: RetryPolicy,
    name: String,
    retries: u64,
}

/// A writer that calls `send` with each formatted record (no newline).
pub fn callback_writer<F, E>(send: F) -> CallbackWriter<F>
where
    F: FnMut(&str) -> Result<(), E> + Send,
    E: Display,
{
    CallbackWriter {
        send,
        policy: RetryPolicy::default(),
        name: "callback".to_owned(),
        retries: 0,
    }
}

impl<F> CallbackWriter<F> {
    /// Sets the retry policy.
    pub fn retry(mut self, policy: RetryPolicy) -> CallbackWriter<F> {
        self.policy = policy;
        self
    }

    /// Sets the name shown in statistics and reports.
    pub fn named(mut self, name: impl Into<String>) -> CallbackWriter<F> {
        self.name = name.into();
        self
    }
}

impl<F, E> Writer for CallbackWriter<F>
where
    F: FnMut(&str) -> Result<(), E> + Send,
    E: Display,
{
    fn write_batch(&mut self, batch: &Batch<'_>) -> Result<(), WriteError> {
        let generation = crate::record::fork_generation();
        for (i, record) in batch.records().enumerate() {
            let line = text(record);
            let send = &mut self.send;
            let (result, retries) = self.policy.run(|| {
                if crate::record::fork_generation() != generation {
                    // `send` forked and failed, and this is the child: no
                    // retry here, the record is the parent's.
                    return Ok(());
                }
                call_guarded(|| send(&line))
            });
            self.retries += u64::from(retries);
            if crate::record::fork_generation() != generation {
                // `send` forked and this is the child: the rest of the
                // batch is the parent's to write.
                break;
            }
            if let Err(error) = result {
                return Err(WriteError {
                    written: i,
                    failed: 1,
                    error,
                });
            }
        }
        Ok(())
    }

    fn name(&self) -> String {
        self.name.clone()
    }

    fn take_retries(&mut self) -> u64 {
        std::mem::take(&mut self.retries)
    }
}

/// Calls a function once per batch with all its records. Built by
/// [`batch_callback_writer`].
pub struct BatchCallbackWriter<F> {
    send: F,
    policy: RetryPolicy,
    name: String,
    retries: u64,
}

/// A writer that calls `send` with every record of a batch at once, for
/// clients that ship in bulk. A failed call is retried whole.
pub fn batch_callback_writer<F, E>(send: F) -> BatchCallbackWriter<F>
where
    F: FnMut(&[&str]) -> Result<(), E> + Send,
    E: Display,
{
    BatchCallbackWriter {
        send,
        policy: RetryPolicy::default(),
        name: "batch_callback".to_owned(),
        retries: 0,
    }
}

impl<F> BatchCallbackWriter<F> {
    /// Sets the retry policy.
    pub fn retry(mut self, policy: RetryPolicy) -> BatchCallbackWriter<F> {
        self.policy = policy;
        self
    }

    /// Sets the name shown in statistics and reports.
    pub fn named(mut self, name: impl Into<String>) -> BatchCallbackWriter<F> {
        self.name = name.into();
        self
    }
}

impl<F, E> Writer for BatchCallbackWriter<F>
where
    F: FnMut(&[&str]) -> Result<(), E> + Send,
    E: Display,
{
    fn write_batch(&mut self, batch: &Batch<'_>) -> Result<(), WriteError> {
        let lines: Vec<Cow<'_, str>> = batch.records().map(text).collect();
        let refs: Vec<&str> = lines.iter().map(|l| l.as_ref()).collect();
        let send = &mut self.send;
        let (result, retries) = self.policy.run(|| call_guarded(|| send(&refs)));
        self.retries += u64::from(retries);
        result.map_err(|e| WriteError::all(batch.len(), e))
    }

    fn name(&self) -> String {
        self.name.clone()
    }

    fn take_retries(&mut self) -> u64 {
        std::mem::take(&mut self.retries)
    }
}
