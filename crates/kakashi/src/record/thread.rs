//! [`Source`] and [`ThreadInfo`]: where and on which thread a record was made.

use super::Name;

/// Where a record was logged from, captured for free by the macros.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Source {
    /// `module_path!()` of the call site.
    pub module: &'static str,
    /// `file!()` of the call site.
    pub file: &'static str,
    /// `line!()` of the call site.
    pub line: u32,
    /// The calling function, when known: Rust has no name for it at the
    /// call site (the macros leave it `None`); a record bridged from
    /// Python's `logging` carries its `funcName`.
    pub function: Option<&'static str>,
}

/// The thread that made a record: its OS thread id, its name, the process id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThreadInfo {
    /// OS thread id (`gettid`).
    pub thread_id: u64,
    /// Thread name, if the thread has one.
    pub thread_name: Option<Name>,
    /// Process id.
    pub process_id: u32,
}

impl ThreadInfo {
    /// The calling thread's info, cached per thread (a thread-local read; read
    /// again in a child after [`after_fork_in_child`](crate::after_fork_in_child),
    /// whose process id differs).
    pub fn current() -> ThreadInfo {
        thread_local! {
            static CURRENT: std::cell::RefCell<Option<(u64, ThreadInfo)>> = const { std::cell::RefCell::new(None) };
        }
        let generation = fork_generation();
        // `std::thread::current()` panics once the thread's thread-locals
        // are being destroyed (a process's last thread calls `exit` then):
        // the name is left out rather than the call failing.
        let name = || {
            std::panic::catch_unwind(|| std::thread::current().name().map(Name::interned))
                .ok()
                .flatten()
        };
        let read = |known: Option<Option<Name>>| ThreadInfo {
            thread_id: os_thread_id(),
            thread_name: known.unwrap_or_else(name),
            process_id: std::process::id(),
        };
        CURRENT
            .try_with(|cell| {
                // Taken only here, so it is free unless a signal handler
                // logs while this very function runs on the thread: that
                // record goes without the name rather than waiting.
                let mut cell = cell.try_borrow_mut().ok()?;
                match &*cell {
                    Some((g, info)) if *g == generation => Some(info.clone()),
                    // After a fork the thread has its name still; its ids
                    // are the child's.
                    known => {
                        let info = read(known.as_ref().map(|(_, i)| i.thread_name.clone()));
                        *cell = Some((generation, info.clone()));
                        Some(info)
                    }
                }
            })
            .ok()
            .flatten()
            // During thread teardown: no name (reading it could panic).
            .unwrap_or_else(|| ThreadInfo {
                thread_id: os_thread_id(),
                thread_name: None,
                process_id: std::process::id(),
            })
    }
}

/// Bumped in a forked child so that per-thread caches are read again.
pub(crate) static FORK_GENERATION: std::sync::atomic::AtomicU64 =
    std::sync::atomic::AtomicU64::new(0);

/// How many times this process is a child made by `fork()` (as counted by
/// [`after_fork_in_child`](crate::after_fork_in_child)): a per-thread cache
/// of anything that differs in the child (the process id) keys on it.
pub(crate) fn fork_generation() -> u64 {
    FORK_GENERATION.load(std::sync::atomic::Ordering::Relaxed)
}

fn os_thread_id() -> u64 {
    crate::sys::thread_id()
}
