//! What a binding to another language needs beyond the Rust API: the few
//! hooks the Python package (`crates/kakashi-py`) uses to build records
//! itself and hand them to a [`Logger`], at the cost of a Rust macro call.
//!
//! A binding's logging call is the macros' call written by hand: check
//! [`Logger::enabled`], then [`drop_if_known_full`], then build the
//! [`Record`](crate::Record) (fields merged with [`put_field`]) and hand it over with [`Logger::submit_with`], which runs any
//! wait inside the binding's scope (Python lets go of its interpreter lock
//! there). Around `fork()` it calls [`prepare_fork`](crate::prepare_fork),
//! [`after_fork_in_parent`](crate::after_fork_in_parent) and
//! [`after_fork_in_child`](crate::after_fork_in_child), and keys its
//! per-thread caches on [`fork_generation`].
//!
//! ```
//! use kakashi::{binding, Backend, AsyncConfig, Fields, Level, PipelineConfig, Record};
//! use kakashi::testing::MemoryWriter;
//!
//! let memory = MemoryWriter::new();
//! let backend = Backend::new(AsyncConfig::default())?;
//! let logger = backend.logger("bridge", PipelineConfig::new().writer(memory.clone()));
//! if logger.enabled(Level::Info) && !binding::drop_if_known_full(&logger) {
//!     let mut fields = Fields::new();
//!     binding::put_field(&mut fields, "user".into(), 7.into());
//!     binding::put_field(&mut fields, "user".into(), 8.into()); // later wins, in place
//!     let mut record = Record::new(Level::Info, logger.name(), "from a binding");
//!     record.fields = fields;
//!     logger.submit_with(record, &mut |wait| {
//!         wait(); // a binding releases its own lock around this
//!         true
//!     });
//! }
//! backend.flush();
//! assert!(memory.lines()[0].contains(r#""fields":{"user":8}"#));
//! # Ok::<(), kakashi::ConfigError>(())
//! ```
//!
//! Each item says what it does, what the caller must keep true, and why a
//! binding needs it; none of them is needed from Rust, where the macros and
//! [`Logger`]'s methods do the same.

use crate::logger::Logger;
use crate::record::{Field, Key, Value};

/// Under `drop_newest`, while the logger's queue is known to be full:
/// counts this call's record as submitted and dropped (`queue_full`) and
/// returns true; otherwise returns false and counts nothing. One relaxed
/// load when the queue is not known to be full.
///
/// Invariant: after `true`, the caller must not submit the record (it is
/// already counted; submitting it would count it twice). Call it after the
/// level check and before building the record.
///
/// Why: under `drop_newest` a full queue would otherwise cost every call a
/// record built (for Python, its arguments converted) only to be dropped;
/// the macros skip the build the same way.
#[inline]
pub fn drop_if_known_full(logger: &Logger) -> bool {
    logger.drop_if_known_full()
}

/// Sets a field in a record's field list with Python's dict-update meaning:
/// an existing key keeps its position and takes the new value, a new key is
/// appended.
///
/// Invariant: a record's field keys are unique (the formatters write each
/// one once); building fields with this keeps them so.
///
/// Why: a binding merges keyword arguments over bound fields itself, and
/// must keep the same order and "later wins" rule as
/// [`Logger::with_fields`].
pub fn put_field<C>(fields: &mut C, key: Key, value: Value)
where
    C: std::ops::DerefMut<Target = [Field]> + Extend<Field>,
{
    crate::record::put_field(fields, key, value)
}

/// How many times this process is a child made by `fork()`, as counted by
/// [`after_fork_in_child`](crate::after_fork_in_child).
///
/// Invariant: a per-thread cache of anything a forked child sees
/// differently (its process id, a thread's identity) is valid only while
/// this number is the one it was filled under.
///
/// Why: a binding caches per thread what a record carries about its thread
/// (Python's thread name, for one); after a fork those caches are stale in
/// the child, and comparing one number is cheaper than clearing every
/// thread's cache.
pub fn fork_generation() -> u64 {
    crate::record::fork_generation()
}

/// Whether [`setup_async_logging`](crate::setup_async_logging) has
/// installed an environment (its outputs stay installed across shutdowns,
/// until the next setup).
///
/// Invariant: none; a read of the current setting, which another thread
/// may change right after.
///
/// Why: before any setup, [`get_logger`](crate::get_logger) writes to
/// standard output; a bridge that takes another library's records (Python's
/// `logging`) writes them to standard error instead until the program sets
/// kakashi up, as that library itself does, so that it needs to know which.
pub fn environment_is_set() -> bool {
    crate::setup::environment_is_set()
}

/// The longest `shutdown_timeout` of every live backend (zero when there
/// is none): how long the drain at process exit may take, as the Rust exit
/// hook computes it.
///
/// Invariant: none; backends made or dropped afterwards are not counted.
///
/// Why: a binding drains at its own interpreter's exit, while its writers
/// can still run, instead of in the Rust exit hook; with this its exit
/// honours the timeout the program configured, as a Rust program's does.
pub fn exit_drain_timeout() -> std::time::Duration {
    crate::backend::longest_shutdown_timeout(&crate::backend::all_backends())
}

/// In a forked child: whether the thread that forked it does not run the
/// program's `main` (a fork from another thread of the parent, made between
/// [`prepare_fork`](crate::prepare_fork) and
/// [`after_fork_in_child`](crate::after_fork_in_child)).
///
/// Invariant: fixed for the child's life once `after_fork_in_child` ran on
/// the forking thread; false in a process that is not such a child.
///
/// Why: such a child has no exit hook; it ends when its last thread does,
/// once kakashi has drained its backends (when only kakashi's own threads
/// are left: `backend/fork.rs`'s `EndOfChild`). A binding whose interpreter
/// keeps per-thread state may have to prepare for the backends' threads
/// running its code after that thread is gone (CPython 3.11 and 3.12 do:
/// `kakashi-py`'s `fork_child.rs`).
pub fn forked_off_main_thread() -> bool {
    crate::backend::forked_off_main_thread()
}
