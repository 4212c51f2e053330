//! [`Source`], [`ThreadInfo`] and [`Thread`]: where and on which thread a
//! record was made.
//!
//! The one `unsafe` here hands `servo_arc` an allocation that is never freed
//! for a thread's lasting info ([`Thread::lasting`]); its unit tests run
//! under Miri in the test command where the toolchain has it.

#![allow(unsafe_code)]

use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering::Relaxed};

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

thread_local! {
    /// The calling thread's handle and the fork generation it was read in
    /// (see [`Thread::current`]).
    static CURRENT: std::cell::RefCell<Option<(u64, Thread)>> = const { std::cell::RefCell::new(None) };
}

impl ThreadInfo {
    /// The calling thread's info: a copy of [`Thread::current`]'s where
    /// this thread has one, else read now without keeping anything (so a
    /// binding that makes its own lasting handle per thread from this does
    /// not use up two of [`LASTING_THREADS`]).
    pub fn current() -> ThreadInfo {
        let generation = fork_generation();
        CURRENT
            .try_with(|cell| match &*cell.try_borrow().ok()? {
                Some((g, thread)) if *g == generation => Some((**thread).clone()),
                _ => None,
            })
            .ok()
            .flatten()
            .unwrap_or_else(|| ThreadInfo::read(None))
    }

    /// Read from the OS and `std` (no cache), with the thread's name `known`
    /// if it is, and without one while the thread's thread-locals are being
    /// destroyed.
    fn read(known: Option<Option<Name>>) -> ThreadInfo {
        // `std::thread::current()` panics once the thread's thread-locals
        // are being destroyed (a process's last thread calls `exit` then):
        // the name is left out rather than the call failing.
        let name = || {
            std::panic::catch_unwind(|| std::thread::current().name().map(Name::interned))
                .ok()
                .flatten()
        };
        ThreadInfo {
            thread_id: os_thread_id(),
            thread_name: known.unwrap_or_else(name),
            process_id: std::process::id(),
        }
    }
}

/// A record's thread: one pointer to a [`ThreadInfo`], which it derefs to.
///
/// A record is copied whole into a queue slot, so its size is the queue's
/// memory per record: one word here instead of the three of a `ThreadInfo`.
/// The info of a thread that logs many records is made once and kept for
/// the life of the process ([`Thread::lasting`]), so copying and dropping a
/// handle to it costs no atomic operation, where a plain `Arc` would make
/// every record's caller and worker write the same counter. Past
/// [`LASTING_THREADS`] such threads, and for info made per record (a
/// binding's record from another thread or process), the info is
/// reference-counted instead and freed with its last record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Thread(servo_arc::Arc<ThreadInfo>);

/// How many threads' info [`Thread::lasting`] keeps for the life of the
/// process (a thread per task would otherwise grow it without end).
pub const LASTING_THREADS: usize = 16_384;

/// How many infos [`Thread::lasting`] has kept.
static LASTING: AtomicUsize = AtomicUsize::new(0);

/// The infos [`Thread::lasting`] kept, so that they stay reachable from a
/// static: leak checkers (Miri, LeakSanitizer, valgrind) then count them as
/// kept for the process's life, not lost. Written once per entry, never
/// read. A static array rather than a list under a lock: a fork can leave
/// a lock held in the child, and the child's first record needs an entry.
static KEPT: [AtomicPtr<ThreadInfo>; LASTING_THREADS] =
    [const { AtomicPtr::new(std::ptr::null_mut()) }; LASTING_THREADS];

impl Thread {
    /// The calling thread's: its OS thread id, its name and the process id,
    /// read once per thread and kept (again in a child after
    /// [`after_fork_in_child`](crate::after_fork_in_child), whose process id
    /// differs). A thread-local read.
    pub fn current() -> Thread {
        let generation = fork_generation();
        CURRENT
            .try_with(|cell| {
                // Taken only here, so it is free unless a signal handler
                // logs while this very function runs on the thread: that
                // record gets its own info rather than waiting.
                let mut cell = cell.try_borrow_mut().ok()?;
                match &*cell {
                    Some((g, thread)) if *g == generation => Some(thread.clone()),
                    // After a fork the thread has its name still; its ids
                    // are the child's.
                    known => {
                        let name = known.as_ref().map(|(_, t)| t.thread_name.clone());
                        let thread = Thread::lasting(ThreadInfo::read(name));
                        *cell = Some((generation, thread.clone()));
                        Some(thread)
                    }
                }
            })
            .ok()
            .flatten()
            // During thread teardown: no name (reading it could panic).
            .unwrap_or_else(|| {
                Thread::from(ThreadInfo {
                    thread_id: os_thread_id(),
                    thread_name: None,
                    process_id: std::process::id(),
                })
            })
    }

    /// A handle to `info` for a thread that will log many records: `info`
    /// is kept for the life of the process, so handles to it are copied
    /// and dropped without an atomic operation. Past [`LASTING_THREADS`]
    /// calls in a process it is reference-counted instead, as [`From`]
    /// makes it. Bindings call it once per thread and keep the handle.
    pub fn lasting(info: ThreadInfo) -> Thread {
        let entry = LASTING.fetch_add(1, Relaxed);
        if entry >= LASTING_THREADS {
            return Thread::from(info);
        }
        let alloc = |layout: std::alloc::Layout| {
            // SAFETY: `layout` is `servo_arc`'s for its inner type, which
            // holds a count and a `ThreadInfo`: not zero-sized.
            let block = unsafe { std::alloc::alloc(layout) };
            if block.is_null() {
                std::alloc::handle_alloc_error(layout);
            }
            block
        };
        // SAFETY: `new_static` needs an allocation of the layout it passes
        // that is never freed: `alloc` returns a fresh one of exactly that
        // layout, and nothing frees it (the handle it makes is static:
        // dropping it, or any clone, does nothing).
        let thread = Thread(unsafe { servo_arc::Arc::new_static(alloc, info) });
        let kept: *const ThreadInfo = &*thread;
        KEPT[entry].store(kept.cast_mut(), Relaxed);
        thread
    }

    /// The info to change, copied first unless this handle is its only one
    /// (a lasting info is always copied: it is shared with every record of
    /// its thread).
    pub fn info_mut(&mut self) -> &mut ThreadInfo {
        servo_arc::Arc::make_mut(&mut self.0)
    }

    /// Whether the two handles point to the same info.
    pub fn ptr_eq(&self, other: &Thread) -> bool {
        servo_arc::Arc::ptr_eq(&self.0, &other.0)
    }
}

impl From<ThreadInfo> for Thread {
    /// A reference-counted handle: for info made per record.
    fn from(info: ThreadInfo) -> Thread {
        Thread(servo_arc::Arc::new(info))
    }
}

impl std::ops::Deref for Thread {
    type Target = ThreadInfo;

    #[inline]
    fn deref(&self) -> &ThreadInfo {
        &self.0
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

#[cfg(test)]
mod tests {
    use super::*;

    fn info(id: u64) -> ThreadInfo {
        ThreadInfo {
            thread_id: id,
            thread_name: Some(Name::interned("t")),
            process_id: 7,
        }
    }

    #[test]
    fn a_lasting_info_is_shared_and_outlives_its_handles() {
        let a = Thread::lasting(info(1));
        let b = a.clone();
        assert!(a.ptr_eq(&b));
        drop(a);
        assert_eq!(b.thread_id, 1);
        assert_eq!(b.thread_name.as_ref().map(Name::as_str), Some("t"));
    }

    #[test]
    fn changing_a_shared_info_changes_a_copy() {
        let lasting = Thread::lasting(info(2));
        let mut changed = lasting.clone();
        changed.info_mut().thread_id = 3;
        assert_eq!((lasting.thread_id, changed.thread_id), (2, 3));
        assert!(!lasting.ptr_eq(&changed));

        let mut counted = Thread::from(info(4));
        let other = counted.clone();
        counted.info_mut().process_id = 8;
        assert_eq!((other.process_id, counted.process_id), (7, 8));
        // The only handle: changed in place.
        let before = counted.clone();
        drop(before);
        let at = &*counted as *const ThreadInfo;
        counted.info_mut().process_id = 9;
        assert_eq!(at, &*counted as *const ThreadInfo);
    }

    #[test]
    fn reading_a_threads_info_keeps_nothing() {
        std::thread::spawn(|| {
            let info = ThreadInfo::current();
            assert_eq!(info.process_id, std::process::id());
            assert!(CURRENT.with(|c| c.borrow().is_none()), "a handle was kept");
            let thread = Thread::current();
            assert_eq!(ThreadInfo::current(), *thread);
        })
        .join()
        .unwrap();
    }

    #[test]
    fn the_current_thread_is_read_once() {
        let a = Thread::current();
        let b = Thread::current();
        assert!(a.ptr_eq(&b));
        assert_eq!(a.process_id, std::process::id());
        let other = std::thread::Builder::new()
            .name("other".into())
            .spawn(Thread::current)
            .unwrap()
            .join()
            .unwrap();
        assert_ne!(other.thread_id, a.thread_id);
        assert_eq!(other.thread_name.as_ref().map(Name::as_str), Some("other"));
    }
}
