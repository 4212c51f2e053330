//! The bounded queue between callers and workers, and the parking that lets
//! each side sleep without losing a wake-up.
//!
//! Mechanism only: this module knows capacity, not policy (`overflow.rs`
//! decides what a full queue means). Producers push lock-free into a
//! [`Ring`]; workers sleep on a condition variable when it is empty and
//! producers sleep on another when it is full (`block`).
//!
//! No lost wake-ups: a sleeper announces itself (a SeqCst increment), then
//! re-checks the queue under the lock before waiting; the other side changes
//! the queue (a push by compare-and-swap is itself a SeqCst
//! read-modify-write; anything else issues a SeqCst fence), then looks for
//! sleepers with SeqCst loads. One of the two always sees the other (the
//! classic store-fence-load pairing).

use std::sync::atomic::{fence, AtomicBool, AtomicUsize, Ordering::*};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use super::ring::{Popper, Ring};
use super::timed_lock::lock;
use crate::record::Record;

/// Signalled when everything queued before a flush marker is written.
#[derive(Debug, Default)]
pub(crate) struct FlushSignal {
    state: Mutex<FlushState>,
    cv: Condvar,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum FlushState {
    #[default]
    Pending,
    /// Everything before the marker is committed.
    Done,
    /// The marker was evicted (or drained): everything before it left the
    /// queue in batches with tickets below this one.
    AfterTicket(u64),
}

impl FlushSignal {
    pub(crate) fn set(&self, state: FlushState) {
        *lock(&self.state) = state;
        self.cv.notify_all();
    }

    /// Waits for a state other than `Pending`, at most `timeout`.
    pub(crate) fn wait(&self, timeout: Duration) -> FlushState {
        let guard = lock(&self.state);
        let (guard, _) = self
            .cv
            .wait_timeout_while(guard, timeout, |s| *s == FlushState::Pending)
            .unwrap_or_else(|e| e.into_inner());
        *guard
    }
}

/// What travels through the queue.
///
/// A record's route (the id of its registered pipeline) is not part of the
/// item: it travels as its slot's tag, in the upper half of the slot's
/// stamp word (`ring.rs`), and items leave the queue as `(route, item)`; a
/// flush marker's route is 0 and unused. Beside the record, the route would
/// take a word of padding more in every slot.
// Records live in the queue's slots by value, fields inline: boxing them to
// shrink the rare flush variant would put an allocation back on every call.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Item {
    /// A record.
    Record(Record),
    /// A flush barrier.
    Flush(Arc<FlushSignal>),
}

// A slot whose size is a power of two puts every slot at the same offsets
// of a page, and pushes from several threads then ran at a fraction of their
// speed (BENCHMARKS.md, "Two-word strings", a slot of 256 bytes): a change of
// the record that lands here should pad it instead.
const _: () = assert!(!super::ring::slot_bytes::<Item>().is_power_of_two());
// What a slot costs: a record and one word (the stamp and the route).
const _: () = assert!(super::ring::slot_bytes::<Item>() == std::mem::size_of::<Record>() + 8);

/// The queue and its two parking lots.
pub(crate) struct Queue {
    items: Ring<Item>,
    /// A push wakes a sleeping worker once this many items wait.
    wake_at: usize,
    idle_workers: AtomicUsize,
    /// A wake-up was sent: pushes send no other until a worker goes to
    /// sleep again; a second sleeping worker is woken by a take that leaves
    /// a whole batch behind ([`Queue::wake_worker_after_take`]). Not cleared
    /// when the woken worker is up: pushes waking a second worker for less
    /// than a batch cost more than they gained (BENCHMARKS.md, "Waking
    /// workers").
    wake_sent: AtomicBool,
    idle: Mutex<()>,
    idle_cv: Condvar,
    blocked_producers: AtomicUsize,
    room: Mutex<()>,
    room_cv: Condvar,
}

impl Queue {
    /// A queue of `capacity` items whose pushes wake a sleeping worker once
    /// `wake_at` items wait (at most half the capacity), and the right to
    /// take items out of it (one consumer at a time); `None` when its
    /// memory cannot be allocated.
    pub(crate) fn new(capacity: usize, wake_at: usize) -> Option<(Queue, Popper)> {
        let (items, popper) = Ring::new(capacity)?;
        let queue = Queue {
            items,
            wake_at: wake_at.clamp(1, (capacity / 2).max(1)),
            idle_workers: AtomicUsize::new(0),
            wake_sent: AtomicBool::new(false),
            idle: Mutex::new(()),
            idle_cv: Condvar::new(),
            blocked_producers: AtomicUsize::new(0),
            room: Mutex::new(()),
            room_cv: Condvar::new(),
        };
        Some((queue, popper))
    }

    /// The memory each item of the capacity takes.
    pub(crate) const SLOT_BYTES: usize = super::ring::slot_bytes::<Item>();

    pub(crate) fn capacity(&self) -> usize {
        self.items.capacity()
    }

    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub(crate) fn is_full(&self) -> bool {
        self.items.is_full()
    }

    /// [`is_empty`](Queue::is_empty), seeing every push that happened
    /// before the call: for a worker deciding to stop, after it saw the
    /// backend stopping (a push then either saw the backend stopping, and
    /// its caller takes care of what it left, or is seen here).
    pub(crate) fn is_empty_after_pushes(&self) -> bool {
        fence(SeqCst);
        self.items.is_empty()
    }

    /// In a forked child: drops what the parent had queued (see
    /// [`Ring::discard_after_fork`]).
    pub(crate) fn discard_after_fork(&self, popper: &mut Popper) {
        self.items.discard_after_fork(popper);
    }

    /// Pushes if there is room.
    // The item comes back by value on purpose: boxing it would cost an
    // allocation per record on the hot path.
    #[allow(clippy::result_large_err)]
    #[inline]
    pub(crate) fn push(&self, route: u32, item: Item) -> Result<(), Item> {
        self.items.push(route, item)
    }

    /// Pushes the item `make` returns if there is room, else hands `make`
    /// back (see [`Ring::push_with`]; `make` must not panic).
    #[inline(always)]
    pub(crate) fn push_with<F: FnOnce() -> Item>(&self, route: u32, make: F) -> Result<(), F> {
        self.items.push_with(route, make)
    }

    /// How many items have been pushed (claimed) since the queue was made.
    pub(crate) fn pushed(&self) -> u64 {
        self.items.pushed()
    }

    /// How many items have been taken out since the queue was made.
    pub(crate) fn popped(&self) -> u64 {
        self.items.popped()
    }

    /// Moves up to `max` items with their routes, oldest first, into
    /// `into`; returns how many.
    pub(crate) fn pop_into(
        &self,
        popper: &mut Popper,
        max: usize,
        into: &mut Vec<(u32, Item)>,
    ) -> usize {
        self.items.pop_into(popper, max, into)
    }

    /// Takes the oldest item.
    #[inline]
    pub(crate) fn pop(&self, popper: &mut Popper) -> Option<(u32, Item)> {
        self.items.pop(popper)
    }

    /// Pops the oldest item if it is written (see [`Ring::pop_ready`]).
    pub(crate) fn pop_ready(&self, popper: &mut Popper) -> Option<(u32, Item)> {
        self.items.pop_ready(popper)
    }

    /// After a push: wakes a sleeping worker once a batch's worth waits.
    ///
    /// Fewer items are left to the worker's own `batch_timeout` wake-up: a
    /// wake per record would cost a futex call and a context switch per
    /// record whenever the workers keep up, which is the common case. A push
    /// is a SeqCst compare-and-swap, so it is ordered before these SeqCst
    /// loads (module docs).
    #[inline]
    pub(crate) fn wake_worker_after_push(&self) {
        if self.idle_workers.load(SeqCst) > 0 && self.items.len() >= self.wake_at {
            self.wake_one();
        }
    }

    /// After a take: when a whole batch still waits and a worker sleeps,
    /// wakes it, whether or not a wake-up was sent already (that one may
    /// have woken the worker that just took, which cannot take the rest
    /// while it formats and writes what it took). Without this, the second
    /// worker slept through its `batch_timeout` while records piled up and
    /// a core idled.
    pub(crate) fn wake_worker_after_take(&self) {
        fence(SeqCst);
        if self.idle_workers.load(Relaxed) == 0 {
            return;
        }
        if self.items.len() >= self.wake_at {
            self.notify_one_sleeper();
        }
    }

    /// Once every worker counted as idle has gone to sleep, how many there
    /// are (tests: a scenario that needs the workers asleep).
    #[cfg(test)]
    pub(crate) fn settled_idle_workers(&self) -> usize {
        // A worker counts itself idle, then checks for work under `idle`
        // before waiting (which releases it): past this lock, it waits.
        drop(lock(&self.idle));
        self.idle_workers.load(SeqCst)
    }

    /// Wakes a sleeping worker now, however little waits (flush).
    pub(crate) fn wake_worker_now(&self) {
        fence(SeqCst);
        if self.idle_workers.load(Relaxed) > 0 {
            self.wake_one();
        }
    }

    #[cold]
    fn wake_one(&self) {
        // A load first: while a sent wake-up is on its way, every push until
        // the worker runs comes here, and a swap is a write to the line the
        // worker itself writes when it goes to sleep.
        if !self.wake_sent.load(SeqCst) && !self.wake_sent.swap(true, SeqCst) {
            self.notify_one_sleeper();
        }
    }

    /// Wakes one worker sleeping in [`sleep_until_work`](Queue::sleep_until_work):
    /// taking `idle` first, so that one about to wait has either seen the
    /// work or is waiting already.
    fn notify_one_sleeper(&self) {
        drop(lock(&self.idle));
        self.idle_cv.notify_one();
    }

    /// Wakes every sleeping worker (shutdown, flush).
    pub(crate) fn wake_all_workers(&self) {
        drop(lock(&self.idle));
        self.idle_cv.notify_all();
    }

    /// A worker sleeps until an item may be there, `stop()` says to go on,
    /// or `timeout` passes.
    pub(crate) fn sleep_until_work(&self, timeout: Duration, stop: impl Fn() -> bool) {
        self.idle_workers.fetch_add(1, SeqCst);
        // A push that did not see this worker idle must be seen below.
        fence(SeqCst);
        let guard = lock(&self.idle);
        self.wake_sent.store(false, SeqCst);
        if self.items.is_empty() && !stop() {
            let _ = self.idle_cv.wait_timeout(guard, timeout);
        }
        self.idle_workers.fetch_sub(1, SeqCst);
    }

    /// After a pop: wakes the producers waiting for room, if any, once a
    /// quarter of the queue is free.
    ///
    /// Why not at every batch: each batch woke every waiting producer, they
    /// refilled its slots at once and slept again, so every record paid for
    /// context switches and the workers got the CPU last; a quarter lets one
    /// wake-up refill thousands (BENCHMARKS.md, "Waking workers"). A
    /// producer that waits a little longer for it is one that would have
    /// waited anyway: the queue was full.
    pub(crate) fn wake_producers(&self) {
        fence(SeqCst);
        if self.blocked_producers.load(Relaxed) > 0
            && self.items.len() <= self.capacity() - self.capacity() / 4
        {
            drop(lock(&self.room));
            self.room_cv.notify_all();
        }
    }

    /// A producer sleeps until there may be room or `stop()` says to give up.
    /// The timeout only re-checks; the caller loops, so there is no time limit.
    pub(crate) fn sleep_until_room(&self, stop: impl Fn() -> bool) {
        self.blocked_producers.fetch_add(1, SeqCst);
        let guard = lock(&self.room);
        if self.items.is_full() && !stop() {
            let _ = self.room_cv.wait_timeout(guard, Duration::from_millis(100));
        }
        self.blocked_producers.fetch_sub(1, SeqCst);
    }

    /// Wakes every producer waiting for room (shutdown).
    pub(crate) fn wake_all_producers(&self) {
        drop(lock(&self.room));
        self.room_cv.notify_all();
    }
}
