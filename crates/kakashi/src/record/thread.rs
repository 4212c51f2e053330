//! [`Source`], [`ThreadInfo`] and [`Thread`]: where and on which thread a
//! record was made.
//!
//! The `unsafe` here gives `servo_arc` a room of a static pool for each
//! lasting info ([`Thread::lasting`]): memory never freed, taken without an
//! allocation or a lock. Its unit tests run under Miri in the test command
//! where the toolchain has it.

#![allow(unsafe_code)]

use std::cell::UnsafeCell;
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

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
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
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
            .try_with(|cell| match cell.try_borrow().as_deref() {
                Ok(Some((g, thread))) if *g == generation => (**thread).clone(),
                Ok(_) => ThreadInfo::read(None),
                // Inside `Thread::current` on this thread (a signal handler
                // running meanwhile), which may hold the names' lock.
                Err(_) => ThreadInfo::nameless(),
            })
            .unwrap_or_else(|_| ThreadInfo::nameless())
    }

    /// This thread's ids without its name: read with two system calls, no
    /// lock, no allocation.
    fn nameless() -> ThreadInfo {
        ThreadInfo {
            thread_id: os_thread_id(),
            thread_name: None,
            process_id: std::process::id(),
        }
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
///
/// `servo_arc`'s `Arc` is both in one word (a static count marks the
/// lasting ones); an enum of a `&'static ThreadInfo` and an `Arc` would
/// take two. Two handles are equal when their infos are ([`Thread::ptr_eq`]
/// compares the pointers).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Thread(servo_arc::Arc<ThreadInfo>);

/// How many threads' info [`Thread::lasting`] keeps for the life of the
/// process (a thread per task would otherwise grow it without end).
pub const LASTING_THREADS: usize = 16_384;

/// How many rooms of [`ROOMS`] [`Thread::lasting`] has claimed.
static LASTING: AtomicUsize = AtomicUsize::new(0);

/// Bytes of a room: `servo_arc`'s block for a `ThreadInfo` (a count and
/// the info: 32 bytes) with room to spare.
const ROOM_BYTES: usize = 48;

/// Memory for one lasting info.
#[repr(C, align(8))]
struct Room(UnsafeCell<MaybeUninit<[u8; ROOM_BYTES]>>);

// SAFETY: a room is written once, by the one call of `Thread::lasting`
// that claimed its index from `LASTING` (a `fetch_add`: no two calls get
// the same), before any handle to it exists; from then on it is only read,
// through handles (a static `servo_arc` count is never written).
unsafe impl Sync for Room {}

/// The lasting infos' memory. A static pool rather than the heap: taking a
/// room needs no allocation and no lock, so a signal handler that logs
/// while its thread is inside `malloc` or holds a lock of ours cannot wait
/// for itself; a fork cannot leave it locked; and what lasts for the
/// process's life is reachable from a static, which leak checkers
/// (LeakSanitizer, valgrind, Miri) count as kept, not lost. 768 KiB of
/// address space, committed a page (85 rooms) at a time as threads log.
static ROOMS: [Room; LASTING_THREADS] =
    [const { Room(UnsafeCell::new(MaybeUninit::uninit())) }; LASTING_THREADS];

impl Thread {
    /// The calling thread's: its OS thread id, its name and the process id,
    /// read once per thread and kept (again in a child after
    /// [`after_fork_in_child`](crate::after_fork_in_child), whose process id
    /// differs). A thread-local read.
    pub fn current() -> Thread {
        let generation = fork_generation();
        CURRENT
            .try_with(|cell| {
                // Borrowed elsewhere only while this thread is inside this
                // function or `ThreadInfo::current`, that is, when a signal
                // handler logs meanwhile: that record gets a nameless info
                // of its own, made without a lock or an allocation (the
                // interrupted call may hold either).
                let Ok(mut cell) = cell.try_borrow_mut() else {
                    return Thread::lasting(ThreadInfo::nameless());
                };
                match &*cell {
                    Some((g, thread)) if *g == generation => thread.clone(),
                    // After a fork the thread has its name still; its ids
                    // are the child's.
                    known => {
                        let name = known.as_ref().map(|(_, t)| t.thread_name.clone());
                        let thread = Thread::lasting(ThreadInfo::read(name));
                        *cell = Some((generation, thread.clone()));
                        thread
                    }
                }
            })
            // During thread teardown: no name (reading it could panic), and
            // a counted handle, not a room for each such record.
            .unwrap_or_else(|_| Thread::from(ThreadInfo::nameless()))
    }

    /// A handle to `info` for a thread that will log many records: `info`
    /// is kept for the life of the process, so handles to it are copied
    /// and dropped without an atomic operation, and making it takes no lock
    /// and no allocation. For bindings, which make one per thread of theirs
    /// and keep it (each call takes one of [`LASTING_THREADS`] for good:
    /// never call it per record). Past that many calls in a process, `info`
    /// is reference-counted instead, as [`From`] makes it.
    pub fn lasting(info: ThreadInfo) -> Thread {
        let entry = LASTING.fetch_add(1, Relaxed);
        if entry >= LASTING_THREADS {
            return Thread::from(info);
        }
        let room = |layout: std::alloc::Layout| {
            if layout.size() <= ROOM_BYTES && layout.align() <= std::mem::align_of::<Room>() {
                return ROOMS[entry].0.get().cast::<u8>();
            }
            // Not the block this pool was sized for (another `servo_arc`):
            // the heap, never freed either.
            // SAFETY: `layout` is that of `servo_arc`'s block, a count and
            // a `ThreadInfo`: not zero-sized.
            let block = unsafe { std::alloc::alloc(layout) };
            if block.is_null() {
                std::alloc::handle_alloc_error(layout);
            }
            block
        };
        // SAFETY: `new_static` needs memory of the layout it passes that is
        // never freed and that nothing else uses. `room` returns the room
        // this call claimed alone (`entry`, from the `fetch_add` above), of
        // static storage, large and aligned enough for `layout` (checked),
        // or else a fresh heap block of `layout` that nothing frees. The
        // handle is static: dropping it or a clone frees nothing, and
        // `servo_arc` never hands out `&mut` to a static value (`make_mut`
        // copies it, see `info_mut`), so the info is only ever read, from
        // any thread (`ThreadInfo` is `Sync`).
        Thread(unsafe { servo_arc::Arc::new_static(room, info) })
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
    fn a_call_inside_a_call_gets_a_nameless_info_of_its_own() {
        std::thread::Builder::new()
            .name("outer".into())
            .spawn(|| {
                let outer = Thread::current();
                CURRENT.with(|cell| {
                    // As while this thread is inside `Thread::current` and a
                    // signal handler logs.
                    let _held = cell.borrow_mut();
                    let inner = Thread::current();
                    assert_eq!(
                        (inner.thread_id, inner.process_id, &inner.thread_name),
                        (outer.thread_id, outer.process_id, &None)
                    );
                    assert_eq!(ThreadInfo::current().thread_name, None);
                });
                assert!(Thread::current().ptr_eq(&outer));
                assert_eq!(outer.thread_name.as_ref().map(Name::as_str), Some("outer"));
            })
            .unwrap()
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
