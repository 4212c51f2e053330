//! The queue's storage: a bounded ring of slots, each with a stamp saying
//! whose turn it is (D. Vyukov's bounded queue, the algorithm of crossbeam's
//! `ArrayQueue`, which this replaced), for any number of producers and one
//! consumer at a time, with what the backend needs on top:
//!
//! - a push writes the item straight into its slot, then asks the CPU for
//!   the next slot's cache lines (they were last written by a worker on
//!   another core, so the next call would otherwise wait for each of them;
//!   this halved the callers' p99);
//! - a worker moves each item once, straight from its slot into its batch
//!   (not out to the stack, then into the batch), and asks for the lines of
//!   a slot a few ahead while it copies;
//! - one consumer at a time: taking items needs the ring's [`Popper`], which
//!   the backend keeps under its consumer lock (workers took from the queue
//!   one at a time already, to number their batches), so the head moves by a
//!   plain store instead of a compare-and-swap per item. The locked
//!   instruction was a full barrier in the middle of every item's copy; a
//!   worker without it took its batches 6% faster end to end. `drop_oldest`
//!   evicts through the same `Popper`.
//!
//! Positions are `lap * one_lap + index` (`one_lap` is a power of two above
//! the capacity), so moving on is an add, never a division, and a slot's
//! stamp tells apart "free for this lap" (`stamp == position`) from "holds
//! this lap's item" (`stamp == position + 1`). The head moves by release
//! stores of its one consumer; who must see them in order with what follows
//! pairs SeqCst fences (`Queue::wake_producers`).
//!
//! # One producer
//!
//! Producers claim a position by a compare-and-swap of the tail: a locked
//! instruction, which also waits for every earlier store of the thread (the
//! previous record's, a few hundred bytes) to reach the cache. It was a
//! fifth of a call (p50 52 -> 41 ns without it). Most programs log from
//! many threads, but many from one most of the time, so the ring is biased
//! towards the first thread that pushes (its *owner*, named by a
//! thread-local's address):
//!
//! - the owner claims with a compare-and-swap that is not locked
//!   (`sys::compare_exchange_on_this_cpu`: one instruction, so a signal
//!   handler that logs on the same thread cannot land inside the claim,
//!   while other CPUs are kept out by the rest of this protocol), inside a
//!   `claiming` flag it sets and clears with plain stores;
//! - any other producer first takes the right back, once: it marks the
//!   ring REVOKING, runs a memory barrier on every CPU that runs one of the
//!   process's threads (`membarrier(2)`, `sys::heavy_barrier`), waits for
//!   `claiming` to clear, and marks the ring SHARED. The barrier makes the
//!   owner's store of `claiming` and its next look at the mark act as if a
//!   fence stood between them: either the owner sees REVOKING and claims by
//!   compare-and-swap, or the revoker sees `claiming` and waits. From then
//!   on every producer claims by compare-and-swap, as before;
//! - the owner's push is followed by no fence, so the backend's two
//!   store-then-load pairings with a push (a worker announcing sleep, a
//!   worker deciding to stop: `Queue::sleep_until_work`,
//!   `Queue::is_empty_after_pushes`) use the same barrier on the worker's
//!   side ([`Ring::order_after_pushes`]): rare events, a system call each.
//!
//! Where there is no `membarrier(2)` (not Linux, a seccomp profile that
//! forbids it) or no such instruction (not x86_64), and under Miri, no
//! thread ever owns the ring. The kernel is asked once per process, when a
//! backend is set up: registering for the barrier took it ~13 ms here while
//! other threads ran, and a logging call that paid for it stalled that
//! long (one call per run, 5-8% of a million-record run). A push made
//! before the answer is known claims by compare-and-swap.
//!
//! The `unsafe` here is reading and writing a slot's value, justified by the
//! stamp protocol (a slot's value is written only by the producer that
//! claimed its position while the stamp said free, and read only by the
//! holder of the `Popper` while the stamp said full; the stamp's release
//! store after each access and acquire load before it order the two), and
//! the prefetch hints, which never fault. The tests below pass under Miri
//! (`cargo +nightly miri test -p kakashi --lib backend::ring`), which checks
//! every access for data races and undefined behaviour (without an owner:
//! Miri knows neither `membarrier(2)` nor inline assembly); the owner's
//! claims are tested against a producer arriving while it pushes flat out,
//! and against a signal handler that pushes in the middle of its pushes.
#![allow(unsafe_code)]

use std::cell::UnsafeCell;
use std::mem::MaybeUninit;
use std::sync::atomic::{compiler_fence, AtomicBool, AtomicUsize, Ordering::*};

/// The right to take items out of one ring. There is one per ring, made with
/// it; methods that take items need it `&mut`, so whoever holds it (the
/// backend: under its consumer lock) is the ring's only consumer.
#[derive(Debug)]
pub(crate) struct Popper {
    ring: usize,
}

/// How many slots ahead of the one it takes a consumer asks for.
const POP_PREFETCH_DISTANCE: usize = 5;

/// Tells rings apart, so that a `Popper` works only for its own.
static RING_IDS: AtomicUsize = AtomicUsize::new(0);

use crossbeam_utils::{Backoff, CachePadded};

struct Slot<T> {
    stamp: AtomicUsize,
    value: UnsafeCell<MaybeUninit<T>>,
}

/// Asks for every cache line of `slot` ahead of use (for writing when
/// `write`). A hint: nothing happens where the CPU has no such instruction.
#[inline(always)]
fn prefetch<T>(slot: &Slot<T>, write: bool) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_ET0, _MM_HINT_T0};
        let base = (slot as *const Slot<T>).cast::<i8>();
        let mut offset = 0;
        while offset < std::mem::size_of::<Slot<T>>() {
            // SAFETY: a prefetch never faults, and the address is inside `slot`.
            unsafe {
                let line = base.add(offset);
                if write {
                    _mm_prefetch::<_MM_HINT_ET0>(line);
                } else {
                    _mm_prefetch::<_MM_HINT_T0>(line);
                }
            }
            offset += 64;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (slot, write);
}

/// A bounded ring: any number of producers, one consumer at a time (see
/// the module docs).
pub(crate) struct Ring<T> {
    id: usize,
    head: CachePadded<AtomicUsize>,
    tail: CachePadded<AtomicUsize>,
    /// Who may move the tail without a locked instruction, on a line of
    /// its own: with several producers it is only read, so each keeps a
    /// copy, while the tail's line moves between them (on the tail's line,
    /// it cost 4 producers a quarter of their throughput).
    bias: CachePadded<Bias>,
    slots: Box<[Slot<T>]>,
    one_lap: usize,
}

/// Who may claim positions without a locked instruction (see "One
/// producer" in the module docs).
struct Bias {
    /// [`UNBIASED`], a producer's [`token`], [`REVOKING`], [`SHARED`] or
    /// [`NEVER`].
    owner: AtomicUsize,
    /// True while the owner claims a position without a locked instruction.
    claiming: AtomicBool,
}

/// Nobody has pushed yet.
const UNBIASED: usize = 0;
/// The owner's right is being taken back; every producer waits.
const REVOKING: usize = usize::MAX;
/// Taken back: every producer claims by compare-and-swap.
const SHARED: usize = usize::MAX - 1;
/// The system has no heavy barrier: every producer claims by
/// compare-and-swap, and always will.
const NEVER: usize = usize::MAX - 2;

/// The calling thread's producer token: the address of a thread-local,
/// distinct among the process's live threads and never one of the states
/// above.
#[inline(always)]
fn token() -> usize {
    thread_local! {
        static TOKEN: u8 = const { 0 };
    }
    TOKEN.with(|t| std::ptr::from_ref(t) as usize)
}

// SAFETY: values move between threads through the slots (so `T: Send`);
// every access to a slot's value is exclusive, as the module docs argue.
unsafe impl<T: Send> Send for Ring<T> {}
// SAFETY: as above; `&Ring` only hands values out by moving them.
unsafe impl<T: Send> Sync for Ring<T> {}

impl<T> Ring<T> {
    /// A ring of `capacity` slots (at least 1), and the right to take from it.
    pub(crate) fn new(capacity: usize) -> (Ring<T>, Popper) {
        Ring::with_bias(capacity, UNBIASED)
    }

    fn with_bias(capacity: usize, bias: usize) -> (Ring<T>, Popper) {
        let id = RING_IDS.fetch_add(1, Relaxed);
        let capacity = capacity.max(1);
        let slots = (0..capacity)
            .map(|i| Slot {
                stamp: AtomicUsize::new(i),
                value: UnsafeCell::new(MaybeUninit::uninit()),
            })
            .collect();
        let ring = Ring {
            id,
            head: CachePadded::new(AtomicUsize::new(0)),
            tail: CachePadded::new(AtomicUsize::new(0)),
            bias: CachePadded::new(Bias {
                owner: AtomicUsize::new(bias),
                claiming: AtomicBool::new(false),
            }),
            slots,
            one_lap: (capacity + 1).next_power_of_two(),
        };
        (ring, Popper { ring: id })
    }

    fn check(&self, popper: &Popper) {
        assert_eq!(popper.ring, self.id, "a Popper of another ring");
    }

    pub(crate) fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// The position after `pos`.
    #[inline]
    fn next(&self, pos: usize) -> usize {
        let index = pos & (self.one_lap - 1);
        if index + 1 < self.slots.len() {
            pos + 1
        } else {
            (pos & !(self.one_lap - 1)).wrapping_add(self.one_lap)
        }
    }

    #[inline]
    fn slot(&self, pos: usize) -> &Slot<T> {
        &self.slots[pos & (self.one_lap - 1)]
    }

    /// The slot `n` places after `pos`'s, if the ring has more than `n`.
    #[inline]
    fn slot_after(&self, pos: usize, n: usize) -> Option<&Slot<T>> {
        let len = self.slots.len();
        if n >= len {
            return None;
        }
        let i = (pos & (self.one_lap - 1)) + n;
        Some(&self.slots[if i >= len { i - len } else { i }])
    }

    /// Pushes `value`, or hands it back when the ring is full.
    #[allow(clippy::result_large_err)]
    #[inline(always)]
    pub(crate) fn push(&self, value: T) -> Result<(), T> {
        self.push_with(|| value).map_err(|make| make())
    }

    /// Pushes what `make` returns, called once a slot is claimed, so that
    /// what it moves goes straight into the slot. Hands `make` back when the
    /// ring is full. `make` must not panic: consumers wait for the slot it
    /// fills.
    ///
    /// The ring's owner (the one thread that has pushed so far) claims its
    /// position without a locked instruction; everyone else, and the owner
    /// when the ring is full, with a compare-and-swap (module docs, "One
    /// producer").
    #[inline(always)]
    pub(crate) fn push_with<F: FnOnce() -> T>(&self, make: F) -> Result<(), F> {
        let me = token();
        let line = &*self.bias;
        if line.owner.load(Relaxed) == me {
            // Set already only when this push interrupted one of this
            // thread's own (a signal handler that logs): it is put back as
            // found, so the interrupted claim stays covered.
            let was_claiming = line.claiming.load(Relaxed);
            line.claiming.store(true, Relaxed);
            // The light half of an asymmetric barrier: a revoker stores
            // REVOKING, then runs the heavy half (`sys::heavy_barrier`), then
            // reads `claiming`. So either this load sees REVOKING, or the
            // revoker sees `claiming` set and waits for it to clear.
            compiler_fence(SeqCst);
            if line.owner.load(Relaxed) == me {
                let tail = self.tail.load(Relaxed);
                let slot = self.slot(tail);
                // No other thread moves the tail now; a push on this very
                // thread (a signal handler) may have, between the load
                // above and the claim, so the claim compares again, in one
                // instruction that nothing on this CPU can interrupt.
                if slot.stamp.load(Acquire) == tail
                    && crate::sys::compare_exchange_on_this_cpu(&self.tail, tail, self.next(tail))
                {
                    // Release: a revoker that sees this sees the tail above.
                    line.claiming.store(was_claiming, Release);
                    self.fill(slot, tail, make);
                    return Ok(());
                }
            }
            line.claiming.store(was_claiming, Release);
        }
        self.push_shared(me, make)
    }

    /// Writes the item into the slot claimed at `tail`, publishes it, and
    /// asks for the next slot's lines.
    #[inline(always)]
    fn fill<F: FnOnce() -> T>(&self, slot: &Slot<T>, tail: usize, make: F) {
        // SAFETY: the claim of `tail` while the stamp said free (a won
        // compare-and-swap, or the owner's unlocked one) makes this thread the
        // slot's only writer, and no consumer reads it before the stamp below.
        unsafe { (*slot.value.get()).write(make()) };
        slot.stamp.store(tail + 1, Release);
        // The next push's slot, last written by a consumer on another core:
        // ask for its lines now, so that the next call does not wait for them.
        prefetch(self.slot(self.next(tail)), true);
    }

    /// The claim by compare-and-swap: any producer, once the bias allows.
    #[inline(always)]
    fn push_shared<F: FnOnce() -> T>(&self, me: usize, make: F) -> Result<(), F> {
        self.settle_bias(me);
        let backoff = Backoff::new();
        let mut tail = self.tail.load(Relaxed);
        loop {
            let slot = self.slot(tail);
            let stamp = slot.stamp.load(Acquire);
            if stamp == tail {
                // Free for this lap: claim the position.
                match self
                    .tail
                    .compare_exchange_weak(tail, self.next(tail), SeqCst, Relaxed)
                {
                    Ok(_) => {
                        self.fill(slot, tail, make);
                        return Ok(());
                    }
                    Err(now) => {
                        tail = now;
                        backoff.spin();
                    }
                }
            } else if stamp.wrapping_add(self.one_lap) == tail + 1 {
                // The slot still holds the previous lap's item: full, unless
                // the head moved on meanwhile.
                std::sync::atomic::fence(SeqCst);
                let head = self.head.load(Relaxed);
                if head.wrapping_add(self.one_lap) == tail {
                    return Err(make);
                }
                backoff.spin();
                tail = self.tail.load(Relaxed);
            } else {
                // Another producer is ahead of us: look again.
                backoff.snooze();
                tail = self.tail.load(Relaxed);
            }
        }
    }

    /// Returns once `me` may claim by compare-and-swap: the ring is shared,
    /// or `me` owns it. The first producer becomes the owner; any other
    /// takes the right back from it.
    #[inline]
    fn settle_bias(&self, me: usize) {
        let line = &*self.bias;
        let bias = line.owner.load(Acquire);
        if bias == SHARED || bias == NEVER || bias == me {
            return;
        }
        self.settle_bias_slow(me);
    }

    #[cold]
    #[inline(never)]
    fn settle_bias_slow(&self, me: usize) {
        let line = &*self.bias;
        let backoff = Backoff::new();
        loop {
            match line.owner.load(Acquire) {
                SHARED | NEVER => return,
                bias if bias == me => return,
                UNBIASED => {
                    let owner = match crate::sys::single_producer_claims_known() {
                        Some(true) => me,
                        Some(false) => NEVER,
                        // Not asked yet: finding out takes the kernel
                        // milliseconds, which a backend spends when it is
                        // set up, not a push. Claim by compare-and-swap
                        // until then.
                        None => return,
                    };
                    let _ = line
                        .owner
                        .compare_exchange(UNBIASED, owner, SeqCst, Relaxed);
                }
                REVOKING => backoff.snooze(),
                owner => {
                    if line
                        .owner
                        .compare_exchange(owner, REVOKING, SeqCst, Relaxed)
                        .is_ok()
                    {
                        // The heavy half of the barrier (see `push_with`):
                        // after it, the owner either sees REVOKING or has
                        // `claiming` set where this thread sees it.
                        crate::sys::heavy_barrier();
                        while line.claiming.load(Acquire) {
                            backoff.snooze();
                        }
                        line.owner.store(SHARED, Release);
                        return;
                    }
                }
            }
        }
    }

    /// Makes every push that happened before this call visible to the
    /// caller's next loads, even the owner's plain-store pushes, which are
    /// followed by no fence: a consumer calls it between announcing that it
    /// sleeps or stops and looking at the ring one last time (the owner
    /// then either sees the announcement or its push is seen). A SeqCst
    /// fence where every producer claims by compare-and-swap.
    pub(crate) fn order_after_pushes(&self) {
        std::sync::atomic::fence(SeqCst);
        let bias = self.bias.owner.load(Acquire);
        if bias != UNBIASED && bias != SHARED && bias != NEVER {
            crate::sys::heavy_barrier();
        }
    }

    /// In a forked child: the owner may be a thread of the parent, which
    /// does not exist here (and may have been claiming at the fork).
    pub(crate) fn reset_bias_in_child(&self) {
        self.bias.claiming.store(false, Relaxed);
        let bias = self.bias.owner.load(Relaxed);
        if bias != NEVER {
            self.bias.owner.store(UNBIASED, SeqCst);
        }
    }

    /// Takes the oldest item into `dst`; false when the ring is empty.
    ///
    /// # Safety
    /// The caller is the only consumer (it holds the `Popper`, or `&mut`
    /// the ring). `dst` must be valid for a write of `T` (its old contents
    /// are not dropped); on `true` it holds the item.
    #[inline(always)]
    unsafe fn pop_to(&self, dst: *mut T) -> bool {
        let backoff = Backoff::new();
        let head = self.head.load(Relaxed);
        let slot = self.slot(head);
        loop {
            let stamp = slot.stamp.load(Acquire);
            if stamp == head + 1 {
                let next = self.next(head);
                // A few slots ahead: their lines, written by a producer on
                // another core, are on their way while this one and the
                // next are copied (2 slots ahead to 5: +2% end to end, p99
                // 283 -> 245 ns; 8 no better).
                if let Some(ahead) = self.slot_after(head, POP_PREFETCH_DISTANCE) {
                    prefetch(ahead, false);
                }
                // SAFETY: the stamp says full, and only the one consumer
                // reads slots; producers wait for the stamp below before
                // writing this one again.
                unsafe { std::ptr::copy_nonoverlapping((*slot.value.get()).as_ptr(), dst, 1) };
                slot.stamp.store(head.wrapping_add(self.one_lap), Release);
                // The head moves only once the slot is free: a producer
                // that finds the slot still taken and the head already past
                // it spins until the stamp changes, and with the head moved
                // before the copy, producers spun through every copy at
                // the full mark (a fifth of a call's time, 4 producers).
                self.head.store(next, Release);
                return true;
            }
            // No other consumer could have taken it: the slot is free for
            // this lap. Empty, unless a producer has claimed it and is
            // writing it.
            debug_assert_eq!(stamp, head);
            std::sync::atomic::fence(SeqCst);
            if self.tail.load(Relaxed) == head {
                return false;
            }
            backoff.snooze();
        }
    }

    /// Pops the oldest item.
    pub(crate) fn pop(&self, popper: &mut Popper) -> Option<T> {
        self.check(popper);
        let mut value = MaybeUninit::uninit();
        // SAFETY: the `Popper` makes this the only consumer; `value` is
        // writable, and initialized when `pop_to` says so.
        unsafe { self.pop_to(value.as_mut_ptr()).then(|| value.assume_init()) }
    }

    /// Moves up to `max` items, oldest first, to the end of `into`, each
    /// copied once, straight from its slot. Returns how many.
    pub(crate) fn pop_into(&self, popper: &mut Popper, max: usize, into: &mut Vec<T>) -> usize {
        self.check(popper);
        into.reserve(max.min(self.slots.len()));
        let room = into.capacity() - into.len();
        let mut n = 0;
        while n < max.min(room) {
            let len = into.len();
            // SAFETY: the `Popper` makes this the only consumer; `len <
            // capacity` (reserved above); the new length covers exactly the
            // initialized items.
            unsafe {
                if !self.pop_to(into.as_mut_ptr().add(len)) {
                    break;
                }
                into.set_len(len + 1);
            }
            n += 1;
        }
        n
    }

    /// How many pushes the ring has taken since it was made (read off the
    /// tail's position: `lap * one_lap + index`).
    pub(crate) fn pushed(&self) -> u64 {
        let tail = self.tail.load(SeqCst);
        let laps = (tail / self.one_lap) as u64;
        laps * self.slots.len() as u64 + (tail % self.one_lap) as u64
    }

    /// Items in the ring now (a snapshot).
    pub(crate) fn len(&self) -> usize {
        loop {
            let tail = self.tail.load(SeqCst);
            let head = self.head.load(SeqCst);
            if self.tail.load(SeqCst) != tail {
                continue;
            }
            let cap = self.slots.len();
            let (hi, ti) = (head & (self.one_lap - 1), tail & (self.one_lap - 1));
            return if hi < ti {
                ti - hi
            } else if hi > ti {
                cap - hi + ti
            } else if tail == head {
                0
            } else {
                cap
            };
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.head.load(SeqCst) == self.tail.load(SeqCst)
    }

    pub(crate) fn is_full(&self) -> bool {
        let tail = self.tail.load(SeqCst);
        let head = self.head.load(SeqCst);
        head.wrapping_add(self.one_lap) == tail
    }
}

impl<T> Drop for Ring<T> {
    fn drop(&mut self) {
        let mut value = MaybeUninit::<T>::uninit();
        // SAFETY: `&mut self`: nobody else consumes; each item taken is
        // initialized, then dropped once.
        while unsafe { self.pop_to(value.as_mut_ptr()) } {
            unsafe { value.assume_init_drop() };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex, TryLockError};

    /// `drop_oldest` as the backend does it: push, and while full take the
    /// oldest out to `evicted`.
    fn force_push<T>(
        ring: &Ring<T>,
        popper: &mut Popper,
        mut value: T,
        mut evicted: impl FnMut(T),
    ) {
        loop {
            match ring.push(value) {
                Ok(()) => return,
                Err(back) => value = back,
            }
            if let Some(old) = ring.pop(popper) {
                evicted(old);
            }
        }
    }

    #[test]
    fn fills_to_capacity_then_refuses_and_keeps_order() {
        for cap in [1, 2, 3, 7, 8, 100] {
            let (ring, mut popper) = Ring::new(cap);
            for lap in 0..3 {
                for i in 0..cap {
                    ring.push(lap * 1000 + i).unwrap();
                }
                assert_eq!(ring.len(), cap);
                assert!(ring.is_full());
                assert_eq!(ring.push(usize::MAX), Err(usize::MAX));
                let mut out = vec![7];
                assert_eq!(ring.pop_into(&mut popper, cap + 5, &mut out), cap);
                assert_eq!(out[0], 7);
                assert_eq!(
                    &out[1..],
                    (0..cap).map(|i| lap * 1000 + i).collect::<Vec<_>>()
                );
                assert!(ring.is_empty());
                assert_eq!(ring.pop_into(&mut popper, 10, &mut out), 0);
                assert_eq!(ring.pop(&mut popper), None);
            }
        }
    }

    #[test]
    fn pushed_counts_every_push_across_laps() {
        let (ring, mut popper) = Ring::new(3);
        let mut out = Vec::new();
        for i in 0..10 {
            ring.push(i).unwrap();
            assert_eq!(ring.pushed(), i as u64 + 1);
            if i % 2 == 1 {
                ring.pop_into(&mut popper, 2, &mut out);
            }
        }
        let mut evicted = 0;
        for i in 10..20 {
            force_push(&ring, &mut popper, i, |_| evicted += 1);
        }
        assert_eq!(ring.pushed(), 20);
        assert!(evicted > 0);
    }

    #[test]
    fn evicting_takes_the_oldest() {
        let (ring, mut popper) = Ring::new(3);
        let mut evicted = Vec::new();
        for i in 0..7 {
            force_push(&ring, &mut popper, i, |v| evicted.push(v));
        }
        assert_eq!(evicted, vec![0, 1, 2, 3]);
        let mut out = Vec::new();
        ring.pop_into(&mut popper, 10, &mut out);
        assert_eq!(out, vec![4, 5, 6]);
    }

    #[test]
    #[should_panic(expected = "a Popper of another ring")]
    fn a_popper_takes_only_from_its_own_ring() {
        let (ring, _popper) = Ring::<u8>::new(3);
        let (_other, mut wrong) = Ring::<u8>::new(3);
        ring.pop(&mut wrong);
    }

    #[test]
    fn items_left_behind_are_dropped_once() {
        let marker = Arc::new(());
        let (ring, mut popper) = Ring::new(5);
        for _ in 0..4 {
            ring.push(Arc::clone(&marker)).unwrap();
        }
        drop(ring.pop(&mut popper));
        assert_eq!(Arc::strong_count(&marker), 4);
        drop(ring);
        assert_eq!(Arc::strong_count(&marker), 1);
    }

    #[test]
    fn the_first_producer_owns_the_ring_until_another_thread_pushes() {
        let (ring, mut popper) = Ring::new(8);
        let owner = || ring.bias.owner.load(SeqCst);
        assert_eq!(owner(), UNBIASED);
        let claims = crate::sys::single_producer_claims_available();
        ring.push(1).unwrap();
        assert_eq!(owner(), if claims { token() } else { NEVER });
        ring.push(2).unwrap();
        std::thread::scope(|s| s.spawn(|| ring.push(3).unwrap()).join().unwrap());
        assert_eq!(owner(), if claims { SHARED } else { NEVER });
        // The former owner goes on by compare-and-swap.
        ring.push(4).unwrap();
        assert!(!ring.bias.claiming.load(SeqCst));
        let mut out = Vec::new();
        ring.pop_into(&mut popper, 10, &mut out);
        assert_eq!(out, vec![1, 2, 3, 4]);
    }

    #[test]
    fn the_claim_on_this_cpu_compares_before_it_sets() {
        let place = AtomicUsize::new(5);
        assert!(crate::sys::compare_exchange_on_this_cpu(&place, 5, 6));
        assert_eq!(place.load(SeqCst), 6);
        assert!(!crate::sys::compare_exchange_on_this_cpu(&place, 5, 7));
        assert_eq!(place.load(SeqCst), 6);
    }

    /// A second producer arrives while the owner pushes flat out (it has
    /// to take the right back from a thread that may be claiming at that
    /// very moment), with a consumer taking all along: nothing lost, nothing
    /// twice, each producer's items in order. Many rounds, so that the
    /// arrival lands at many points of the owner's claim.
    #[test]
    fn a_producer_joining_a_busy_owner_loses_and_duplicates_nothing() {
        const ROUNDS: usize = if cfg!(miri) { 2 } else { 40 };
        const PER: usize = if cfg!(miri) { 200 } else { 20_000 };
        // Known before the first push, so that the first producer owns the
        // ring (a backend finds this out when it is set up).
        let claims = crate::sys::single_producer_claims_available();
        for _ in 0..ROUNDS {
            let (ring, mut popper) = Ring::new(if cfg!(miri) { 8 } else { 64 });
            let done = std::sync::atomic::AtomicUsize::new(0);
            let push_all = |who: usize| {
                for i in 0..PER {
                    let mut item = (who, i);
                    while let Err(back) = ring.push(item) {
                        item = back;
                        std::thread::yield_now();
                    }
                }
                done.fetch_add(1, SeqCst);
            };
            let got = std::thread::scope(|s| {
                s.spawn(|| push_all(0));
                s.spawn(|| {
                    // Arrive once the first producer owns the ring and is busy.
                    while ring.pushed() < (PER / 20) as u64 {
                        std::hint::spin_loop();
                    }
                    push_all(1);
                });
                let mut got = Vec::new();
                loop {
                    let finished = done.load(SeqCst) == 2;
                    if ring.pop_into(&mut popper, 17, &mut got) == 0 {
                        if finished {
                            break got;
                        }
                        std::thread::yield_now();
                    }
                }
            });
            let mut next = [0, 0];
            for (who, i) in got {
                assert_eq!(i, next[who], "producer {who}: lost, twice or out of order");
                next[who] += 1;
            }
            assert_eq!(next, [PER, PER]);
            if claims {
                assert_eq!(ring.bias.owner.load(SeqCst), SHARED);
            }
        }
    }

    #[test]
    fn a_forked_child_takes_over_from_a_parent_thread_caught_claiming() {
        let (ring, mut popper) = Ring::new(4);
        // At the fork, a thread of the parent (which the child does not
        // have) owned the ring and was claiming a position: without the
        // reset, the child's first push would wait for that claim forever.
        ring.bias.owner.store(0x1000, SeqCst);
        ring.bias.claiming.store(true, SeqCst);
        ring.reset_bias_in_child();
        ring.push(7).unwrap();
        ring.push(8).unwrap();
        assert_eq!(ring.pop(&mut popper), Some(7));
        assert_eq!(ring.pop(&mut popper), Some(8));
    }

    /// A signal handler that pushes, interrupting the owner's own pushes
    /// at any instruction (between its reading the tail and claiming it,
    /// too): every item of both comes out once, each in order.
    #[cfg(all(target_os = "linux", not(miri)))]
    #[test]
    fn a_signal_handler_pushing_into_the_owners_push_loses_and_duplicates_nothing() {
        use std::sync::atomic::AtomicBool;
        use std::sync::OnceLock;
        const SIGNALS: usize = 3_000;
        static RING: OnceLock<Ring<(u8, usize)>> = OnceLock::new();
        static HANDLED: AtomicUsize = AtomicUsize::new(0);
        static INSIDE_A_CLAIM: AtomicUsize = AtomicUsize::new(0);
        extern "C" fn on_signal(_: libc::c_int) {
            let Some(ring) = RING.get() else { return };
            if ring.bias.claiming.load(Relaxed) {
                INSIDE_A_CLAIM.fetch_add(1, Relaxed);
            }
            let n = HANDLED.load(Relaxed);
            if ring.push((1, n)).is_ok() {
                HANDLED.store(n + 1, Relaxed);
            }
        }
        let (ring, mut popper) = Ring::new(1 << 16);
        assert!(RING.set(ring).is_ok(), "one ring for the handler");
        if !crate::sys::single_producer_claims_available() {
            eprintln!("skipped: no owner here (needs x86_64 Linux with membarrier(2))");
            return;
        }
        let ring = RING.get().unwrap();
        // SAFETY: installs a handler that only pushes into a ring made for
        // it; the signal is sent to this thread only.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
            action.sa_flags = libc::SA_RESTART;
            assert_eq!(
                libc::sigaction(libc::SIGUSR1, &action, std::ptr::null_mut()),
                0
            );
        }
        // SAFETY: pthread_self has no preconditions.
        let me = unsafe { libc::pthread_self() };
        let stop = AtomicBool::new(false);
        let mut next = [0, 0];
        let mut got = Vec::new();
        let mut take = |got: &mut Vec<(u8, usize)>| {
            got.clear();
            ring.pop_into(&mut popper, usize::MAX, got);
            for &(who, i) in got.iter() {
                assert_eq!(
                    i, next[who as usize],
                    "pusher {who}: lost, twice or out of order"
                );
                next[who as usize] += 1;
            }
        };
        // This thread owns the ring before the first signal.
        ring.push((0, 0)).unwrap();
        let mine = std::thread::scope(|s| {
            s.spawn(|| {
                while !stop.load(Relaxed) {
                    // SAFETY: `me` is alive until `stop` is set (the scope
                    // joins this thread before the test returns).
                    unsafe { libc::pthread_kill(me, libc::SIGUSR1) };
                    std::thread::yield_now();
                }
            });
            let mut mine = 1;
            while HANDLED.load(Relaxed) < SIGNALS {
                for _ in 0..1_000 {
                    if ring.push((0, mine)).is_ok() {
                        mine += 1;
                    }
                }
                take(&mut got);
            }
            stop.store(true, Relaxed);
            mine
        });
        take(&mut got);
        assert_eq!(next, [mine, HANDLED.load(SeqCst)]);
        eprintln!(
            "{mine} pushes, {} from the handler, {} of these inside a claim",
            HANDLED.load(SeqCst),
            INSIDE_A_CLAIM.load(SeqCst)
        );
    }

    /// Producers push numbered items (one evicting), consumers take batches
    /// one at a time, as the backend's workers do: every item comes out
    /// exactly once or is evicted exactly once, and each producer's items
    /// come out in the order it pushed them.
    #[test]
    fn many_producers_and_consumers_lose_and_duplicate_nothing() {
        many_producers_and_consumers(Ring::new);
    }

    /// The same where no producer ever owns the ring (as where the system
    /// has no heavy barrier, and under Miri).
    #[test]
    fn many_producers_and_consumers_lose_and_duplicate_nothing_without_an_owner() {
        many_producers_and_consumers(|capacity| Ring::with_bias(capacity, NEVER));
    }

    /// Makes a ring of the given capacity.
    type NewRing = fn(usize) -> (Ring<(usize, usize)>, Popper);

    fn many_producers_and_consumers(new: NewRing) {
        // Under Miri (`cargo +nightly miri test -p kakashi --lib
        // backend::ring`), which checks every access for data races and
        // undefined behaviour, fewer items through a smaller ring: still
        // many laps, evictions and full-ring waits.
        const PER: usize = if cfg!(miri) { 300 } else { 50_000 };
        let (ring, popper) = new(if cfg!(miri) { 8 } else { 64 });
        let ring = Arc::new(ring);
        let popper = Arc::new(Mutex::new(popper));
        let done = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let producers: Vec<_> = (0..3)
            .map(|p| {
                let ring = Arc::clone(&ring);
                let popper = Arc::clone(&popper);
                let done = Arc::clone(&done);
                std::thread::spawn(move || {
                    let mut evicted = Vec::new();
                    for i in 0..PER {
                        let mut item = (p, i);
                        while let Err(back) = ring.push(item) {
                            item = back;
                            if p == 2 {
                                // Evict, unless a consumer is taking already.
                                let mut popper = match popper.try_lock() {
                                    Ok(popper) => popper,
                                    Err(TryLockError::WouldBlock) => continue,
                                    Err(TryLockError::Poisoned(e)) => e.into_inner(),
                                };
                                if let Some(old) = ring.pop(&mut popper) {
                                    evicted.push(old);
                                }
                            } else {
                                std::thread::yield_now();
                            }
                        }
                    }
                    done.fetch_add(1, SeqCst);
                    evicted
                })
            })
            .collect();
        let consumers: Vec<_> = (0..2)
            .map(|_| {
                let ring = Arc::clone(&ring);
                let popper = Arc::clone(&popper);
                let done = Arc::clone(&done);
                std::thread::spawn(move || {
                    let mut got = Vec::new();
                    loop {
                        let finished = done.load(SeqCst) == 3;
                        let mut batch = Vec::new();
                        let n = ring.pop_into(&mut popper.lock().unwrap(), 17, &mut batch);
                        if n == 0 {
                            if finished {
                                break got;
                            }
                            std::thread::yield_now();
                            continue;
                        }
                        got.push(batch);
                    }
                })
            })
            .collect();
        let mut seen = vec![vec![0u8; PER]; 3];
        for p in producers {
            for (who, i) in p.join().unwrap() {
                seen[who][i] += 1;
            }
        }
        for c in consumers {
            let batches = c.join().unwrap();
            for batch in batches {
                // Within one batch, each producer's items are in push order.
                let mut last = [None; 3];
                for (who, i) in batch {
                    assert!(last[who].is_none_or(|l| l < i), "order within a batch");
                    last[who] = Some(i);
                    seen[who][i] += 1;
                }
            }
        }
        for (p, counts) in seen.iter().enumerate() {
            assert!(
                counts.iter().all(|&c| c == 1),
                "producer {p}: an item lost or duplicated"
            );
        }
    }
}
