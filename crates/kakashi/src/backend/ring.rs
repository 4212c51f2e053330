//! The queue's storage: a bounded ring of slots, each with a stamp saying
//! whose turn it is (D. Vyukov's bounded queue, the algorithm of crossbeam's
//! `ArrayQueue`), for any number of producers and one consumer at a time.
//!
//! What it adds to that algorithm, and why:
//!
//! - A push writes the item straight into its slot (the closure of
//!   [`Ring::push_with`] runs once the slot is claimed), and a worker moves
//!   each item once, straight from its slot into its batch: a record is a
//!   few hundred bytes, and each extra copy is a measurable share of a call.
//! - Both sides ask the CPU early for the cache lines they will touch next
//!   (the producer its next slot, the consumer a slot a few ahead): those
//!   lines were last written on the other core.
//! - One consumer at a time: taking items needs the ring's [`Popper`], which
//!   the backend keeps under its consumer lock, so the head moves by a plain
//!   store instead of a compare-and-swap per item. `drop_oldest` evicts
//!   through the same `Popper`.
//! - The slots are allocated zeroed and a zero stamp means "free in the
//!   first lap", so the allocator can hand out pages the kernel commits only
//!   when a push first reaches them: a ring that has held few records costs
//!   few pages, whatever its capacity. In the first lap a stamp is read by
//!   a compare-and-swap that changes nothing, so that the first access to a
//!   page is a write (see `Ring::stamp`).
//!
//! - Each item travels with a 32-bit tag (the backend's route), in the
//!   upper half of its slot's stamp word: published with the item by the
//!   same release store, read by the consumer with the same load, where a
//!   tag inside the item would take a word of padding more per slot.
//!
//! Positions are `lap * one_lap + index` (`one_lap` is a power of two above
//! the capacity), so moving on is an add, never a division. A slot's stamp
//! holds the lap part only (`lap * one_lap`, the index is the slot's own),
//! modulo 2^32: it says "free for this lap's position" (`stamp == lap`) or
//! "holds this lap's item" (`stamp == lap + 1`), and a consumer that takes
//! the item frees the slot for the next lap (`stamp = lap + one_lap`).
//! Every push claims its position by a compare-and-swap of the (full-width)
//! tail, so a stamp that matches a lap 2^32 / `one_lap` laps away (at least
//! eight, as `one_lap <= 2^29`) can only mislead a producer whose tail is
//! that stale, and its compare-and-swap then fails; the one consumer's head
//! is never more than a lap from its slot's stamp. The head moves by
//! release stores of its one consumer; who must see them in order with what
//! follows pairs SeqCst fences (`Queue::wake_producers`).
//!
//! The `unsafe` here is reading and writing a slot's value, justified by the
//! stamp protocol (a slot's value is written only by the producer that
//! claimed its position while the stamp said free, and read only by the
//! holder of the `Popper` while the stamp said full; the stamp's release
//! store after each access and acquire load before it order the two), the
//! zeroed allocation, and the prefetch hints, which never fault. The tests
//! below pass under Miri (`cargo +nightly miri test -p kakashi --lib
//! backend::ring`), which checks every access for data races and undefined
//! behaviour.
#![allow(unsafe_code)]

use std::cell::UnsafeCell;
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::*};

/// The right to take items out of one ring. There is one per ring, made with
/// it; methods that take items need it `&mut`, so whoever holds it (the
/// backend: under its consumer lock) is the ring's only consumer.
#[derive(Debug)]
pub(crate) struct Popper {
    ring: usize,
}

/// How many times a push looks again at a head that lags behind a freed
/// slot before it calls the ring full (see `push_with`).
const LAGGING_HEAD_TRIES: u32 = 64;

/// How many slots ahead of the one it takes a consumer asks for.
const POP_PREFETCH_DISTANCE: usize = 5;

/// Tells rings apart, so that a `Popper` works only for its own.
static RING_IDS: AtomicUsize = AtomicUsize::new(0);

use crossbeam_utils::{Backoff, CachePadded};

struct Slot<T> {
    /// The lower half is the stamp (see the module docs); the upper half
    /// is the item's tag while the slot is full, and zero while it is free.
    stamp: AtomicU64,
    value: UnsafeCell<MaybeUninit<T>>,
}

/// The bytes one slot of a `Ring<T>` takes.
pub(crate) const fn slot_bytes<T>() -> usize {
    std::mem::size_of::<Slot<T>>()
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

/// `n` slots, all zero: every stamp says "free in the first lap", and no
/// page is written here, so the kernel commits each one only when a push
/// first reaches it. `None` when the memory cannot be had (a capacity
/// asked for from a configuration must not abort the process).
fn zeroed_slots<T>(n: usize) -> Option<Box<[Slot<T>]>> {
    let layout = std::alloc::Layout::array::<Slot<T>>(n).ok()?;
    // SAFETY: `layout` is not zero-sized (`n >= 1` slots, each with a
    // stamp). All zero bytes are a valid `Slot<T>`: a zero `AtomicU64` and
    // a `MaybeUninit` value. The pointer comes from the global
    // allocator with the layout of `[Slot<T>; n]`, as `Box<[Slot<T>]>`
    // frees it.
    unsafe {
        let ptr = std::alloc::alloc_zeroed(layout).cast::<Slot<T>>();
        if ptr.is_null() {
            return None;
        }
        Some(Box::from_raw(std::ptr::slice_from_raw_parts_mut(ptr, n)))
    }
}

/// A bounded ring: any number of producers, one consumer at a time (see
/// the module docs).
pub(crate) struct Ring<T> {
    id: usize,
    head: CachePadded<AtomicUsize>,
    tail: CachePadded<AtomicUsize>,
    slots: Box<[Slot<T>]>,
    one_lap: usize,
}

// SAFETY: values move between threads through the slots (so `T: Send`);
// every access to a slot's value is exclusive, as the module docs argue.
unsafe impl<T: Send> Send for Ring<T> {}
// SAFETY: as above; `&Ring` only hands values out by moving them.
unsafe impl<T: Send> Sync for Ring<T> {}

impl<T> Ring<T> {
    /// A ring of `capacity` slots (at least 1), and the right to take from
    /// it; `None` when its memory cannot be allocated.
    pub(crate) fn new(capacity: usize) -> Option<(Ring<T>, Popper)> {
        let id = RING_IDS.fetch_add(1, Relaxed);
        let capacity = capacity.max(1);
        let ring = Ring {
            id,
            head: CachePadded::new(AtomicUsize::new(0)),
            tail: CachePadded::new(AtomicUsize::new(0)),
            slots: zeroed_slots(capacity)?,
            one_lap: (capacity + 1).next_power_of_two(),
        };
        // The stamps hold laps modulo 2^32 (see the module docs).
        assert!(ring.one_lap <= 1 << 29, "a ring of more than 2^28 slots");
        Some((ring, Popper { ring: id }))
    }

    fn check(&self, popper: &Popper) {
        assert_eq!(popper.ring, self.id, "a Popper of another ring");
    }

    pub(crate) fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// The lap part of `pos`: what its slot's stamp says when the slot is
    /// free for it.
    #[inline(always)]
    fn lap(&self, pos: usize) -> usize {
        pos & !(self.one_lap - 1)
    }

    /// A stamp's value for the lap part `lap` (see the module docs).
    #[inline(always)]
    fn stamp_of(lap: usize) -> u32 {
        lap as u32
    }

    /// The position after `pos`.
    #[inline]
    fn next(&self, pos: usize) -> usize {
        let index = pos & (self.one_lap - 1);
        if index + 1 < self.slots.len() {
            pos + 1
        } else {
            self.lap(pos).wrapping_add(self.one_lap)
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

    /// The stamp of `slot`, for a position in lap `lap` (acquire).
    ///
    /// In the first lap the slot's page may never have been touched, and
    /// the kernel commits such a page on its first access. If that access
    /// reads, the kernel maps its shared zero page, and the write that soon
    /// follows (the push's) faults again, copies it and interrupts every
    /// other core to flush its stale mapping. So in the first lap the stamp
    /// is read by a compare-and-swap that leaves it as it is: the CPU
    /// executes it as a write, and the page is committed by one fault. Later
    /// laps find every page committed and read with a plain load.
    #[inline(always)]
    fn word(&self, slot: &Slot<T>, lap: usize) -> u64 {
        if lap == 0 {
            match slot.stamp.compare_exchange(0, 0, Acquire, Acquire) {
                Ok(word) | Err(word) => word,
            }
        } else {
            slot.stamp.load(Acquire)
        }
    }

    /// The stamp half of `slot`'s word (see [`Ring::word`]).
    #[inline(always)]
    fn stamp(&self, slot: &Slot<T>, lap: usize) -> u32 {
        self.word(slot, lap) as u32
    }

    /// Pushes `value` with `tag`, or hands it back when the ring is full.
    #[allow(clippy::result_large_err)]
    #[inline(always)]
    pub(crate) fn push(&self, tag: u32, value: T) -> Result<(), T> {
        self.push_with(tag, || value).map_err(|make| make())
    }

    /// Pushes what `make` returns, with `tag`, `make` called once a slot is
    /// claimed, so that what it moves goes straight into the slot. Hands
    /// `make` back when the ring is full. `make` must not panic: consumers
    /// wait for the slot it fills.
    #[inline(always)]
    pub(crate) fn push_with<F: FnOnce() -> T>(&self, tag: u32, make: F) -> Result<(), F> {
        let backoff = Backoff::new();
        let mut lagging = 0;
        let mut tail = self.tail.load(Relaxed);
        loop {
            let slot = self.slot(tail);
            let lap = self.lap(tail);
            let stamp = self.stamp(slot, lap);
            if stamp == Self::stamp_of(lap) {
                // Free for this lap: claim the position.
                match self
                    .tail
                    .compare_exchange_weak(tail, self.next(tail), SeqCst, Relaxed)
                {
                    Ok(_) => {
                        self.fill(slot, lap, tail, tag, make);
                        return Ok(());
                    }
                    Err(now) => {
                        tail = now;
                        backoff.spin();
                    }
                }
            } else if stamp.wrapping_add(Self::stamp_of(self.one_lap))
                == Self::stamp_of(lap).wrapping_add(1)
            {
                // The slot still holds the previous lap's item: full, unless
                // the head moved on meanwhile. A head that lags behind a
                // freed slot is a consumer between its two stores; after a
                // few tries that is taken as full too: the consumer may be
                // the very thread a signal handler pushing here interrupted.
                std::sync::atomic::fence(SeqCst);
                let head = self.head.load(Relaxed);
                lagging += 1;
                if head.wrapping_add(self.one_lap) == tail || lagging > LAGGING_HEAD_TRIES {
                    return Err(make);
                }
                backoff.spin();
                tail = self.tail.load(Relaxed);
            } else if stamp == Self::stamp_of(lap.wrapping_sub(self.one_lap)) {
                // The slot's position in the previous lap is claimed and not
                // yet written: full, unless the head moved on meanwhile. Its
                // producer may be the very call a signal handler pushing
                // here interrupted, which cannot finish while the handler
                // waits, so this says full rather than waiting for it.
                std::sync::atomic::fence(SeqCst);
                if self.head.load(Relaxed).wrapping_add(self.one_lap) == tail {
                    return Err(make);
                }
                backoff.snooze();
                tail = self.tail.load(Relaxed);
            } else {
                // Another producer is ahead of us: look again.
                backoff.snooze();
                tail = self.tail.load(Relaxed);
            }
        }
    }

    /// Writes the item into the slot claimed at `tail` (whose lap is
    /// `lap`), publishes it, and asks for the next slot's lines.
    #[inline(always)]
    fn fill<F: FnOnce() -> T>(&self, slot: &Slot<T>, lap: usize, tail: usize, tag: u32, make: F) {
        // SAFETY: the won compare-and-swap of `tail` while the stamp said
        // free makes this thread the slot's only writer, and no consumer
        // reads it before the stamp below.
        unsafe { (*slot.value.get()).write(make()) };
        let full = Self::stamp_of(lap).wrapping_add(1);
        slot.stamp
            .store(u64::from(tag) << 32 | u64::from(full), Release);
        // The next push's slot, last written by a consumer on another core:
        // ask for its lines now, so that the next call does not wait for them.
        prefetch(self.slot(self.next(tail)), true);
    }

    /// Takes the oldest item and its tag into `dst`; false when the ring is
    /// empty, and when the oldest position is claimed but not yet written
    /// unless `wait` (then it waits for that producer).
    ///
    /// # Safety
    /// The caller is the only consumer (it holds the `Popper`, or `&mut`
    /// the ring). `dst` must be valid for a write of `(u32, T)` (its old
    /// contents are not dropped); on `true` it holds the tag and the item.
    #[inline(always)]
    unsafe fn pop_to(&self, dst: *mut (u32, T), wait: bool) -> bool {
        let backoff = Backoff::new();
        let head = self.head.load(Relaxed);
        let slot = self.slot(head);
        let lap = self.lap(head);
        loop {
            let word = self.word(slot, lap);
            let stamp = word as u32;
            if stamp == Self::stamp_of(lap).wrapping_add(1) {
                let next = self.next(head);
                // A few slots ahead: their lines, written by a producer on
                // another core, are on their way while this one and the
                // next are copied.
                if let Some(ahead) = self.slot_after(head, POP_PREFETCH_DISTANCE) {
                    prefetch(ahead, false);
                }
                // SAFETY: the stamp says full, and only the one consumer
                // reads slots; producers wait for the stamp below before
                // writing this one again. `dst` is valid for writes (the
                // caller's contract); its fields are written through raw
                // pointers, never read.
                unsafe {
                    std::ptr::addr_of_mut!((*dst).0).write((word >> 32) as u32);
                    std::ptr::copy_nonoverlapping(
                        (*slot.value.get()).as_ptr(),
                        std::ptr::addr_of_mut!((*dst).1),
                        1,
                    );
                }
                let free = Self::stamp_of(lap.wrapping_add(self.one_lap));
                slot.stamp.store(u64::from(free), Release);
                // The head moves only once the slot is free: a producer
                // that finds the slot still taken and the head already past
                // it would spin until the stamp changes, through every copy
                // while the ring is full.
                self.head.store(next, Release);
                return true;
            }
            // No other consumer could have taken it: the slot is free for
            // this lap. Empty, unless a producer has claimed it and is
            // writing it.
            debug_assert_eq!(stamp, Self::stamp_of(lap));
            std::sync::atomic::fence(SeqCst);
            if self.tail.load(Relaxed) == head || !wait {
                return false;
            }
            backoff.snooze();
        }
    }

    /// In a forked child, before any other thread of the child pushes:
    /// drops every item the parent had queued and frees every slot, also
    /// those a thread of the parent had claimed but not yet filled when it
    /// was forked away (popping would wait for those forever). Returns how
    /// many items it dropped. A push in progress on another thread meanwhile
    /// would leave its slot taken for good; in a child there is no other
    /// thread yet.
    pub(crate) fn discard_after_fork(&self, popper: &mut Popper) -> usize {
        self.check(popper);
        let tail = self.tail.load(SeqCst);
        let mut head = self.head.load(Relaxed);
        let mut dropped = 0;
        while head != tail {
            let slot = self.slot(head);
            let lap = self.lap(head);
            if slot.stamp.load(Acquire) as u32 == Self::stamp_of(lap).wrapping_add(1) {
                // SAFETY: the stamp says full and the `Popper` makes this
                // the only consumer: the value is initialized and nobody
                // else reads or writes it; the stamp below frees the slot
                // without the value being read again.
                unsafe { (*slot.value.get()).assume_init_drop() };
                dropped += 1;
            }
            let free = Self::stamp_of(lap.wrapping_add(self.one_lap));
            slot.stamp.store(u64::from(free), Release);
            head = self.next(head);
        }
        self.head.store(tail, Release);
        dropped
    }

    /// Pops the oldest item and its tag, waiting for its producer if it is
    /// still writing it.
    pub(crate) fn pop(&self, popper: &mut Popper) -> Option<(u32, T)> {
        self.pop_one(popper, true)
    }

    /// Pops the oldest item if it is written: None when the ring is empty,
    /// or when the oldest position's producer has claimed it but not yet
    /// written it. For an evicting producer, which must not wait for that
    /// producer: it may be the very call a signal handler interrupted.
    pub(crate) fn pop_ready(&self, popper: &mut Popper) -> Option<(u32, T)> {
        self.pop_one(popper, false)
    }

    fn pop_one(&self, popper: &mut Popper, wait: bool) -> Option<(u32, T)> {
        self.check(popper);
        let mut value = MaybeUninit::uninit();
        // SAFETY: the `Popper` makes this the only consumer; `value` is
        // writable, and initialized when `pop_to` says so.
        unsafe {
            self.pop_to(value.as_mut_ptr(), wait)
                .then(|| value.assume_init())
        }
    }

    /// Moves up to `max` items with their tags, oldest first, to the end of
    /// `into`, each copied once, straight from its slot. Returns how many.
    pub(crate) fn pop_into(
        &self,
        popper: &mut Popper,
        max: usize,
        into: &mut Vec<(u32, T)>,
    ) -> usize {
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
                if !self.pop_to(into.as_mut_ptr().add(len), true) {
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
        self.count_at(self.tail.load(SeqCst))
    }

    /// How many items have left the ring since it was made (read off the
    /// head's position, as [`Ring::pushed`] reads the tail's).
    pub(crate) fn popped(&self) -> u64 {
        self.count_at(self.head.load(SeqCst))
    }

    /// How many positions come before `pos` since the ring was made.
    fn count_at(&self, pos: usize) -> u64 {
        let laps = (pos / self.one_lap) as u64;
        laps * self.slots.len() as u64 + (pos % self.one_lap) as u64
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
        let mut value = MaybeUninit::<(u32, T)>::uninit();
        // SAFETY: `&mut self`: nobody else consumes; each item taken is
        // initialized, then dropped once. Nothing is waited for: with
        // `&mut self` no push is in progress, except one a forked child's
        // parent never finished, which holds nothing to drop.
        while unsafe { self.pop_to(value.as_mut_ptr(), false) } {
            // SAFETY: `pop_to` said true: `value` holds an item, dropped
            // here once and overwritten by the next `pop_to`.
            unsafe { value.assume_init_drop() };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex, TryLockError};

    /// Every producer's every item was seen exactly once (`seen[p][i]`).
    fn each_once(seen: &[Vec<u8>], context: &str) {
        for (p, counts) in seen.iter().enumerate() {
            assert!(
                counts.iter().all(|&c| c == 1),
                "{context}producer {p}: an item lost or seen twice"
            );
        }
    }

    /// `drop_oldest` as the backend does it: push, and while full take the
    /// oldest out to `evicted`.
    fn force_push<T>(
        ring: &Ring<T>,
        popper: &mut Popper,
        tag: u32,
        mut value: T,
        mut evicted: impl FnMut((u32, T)),
    ) {
        loop {
            match ring.push(tag, value) {
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
            let (ring, mut popper) = Ring::new(cap).unwrap();
            for lap in 0..3 {
                for i in 0..cap {
                    // Tags from the top down: every bit of the tag half.
                    ring.push(u32::MAX - i as u32, lap * 1000 + i).unwrap();
                }
                assert_eq!(ring.len(), cap);
                assert!(ring.is_full());
                assert_eq!(ring.push(9, usize::MAX), Err(usize::MAX));
                let mut out = vec![(7, 7)];
                assert_eq!(ring.pop_into(&mut popper, cap + 5, &mut out), cap);
                assert_eq!(out[0], (7, 7));
                assert_eq!(
                    &out[1..],
                    (0..cap)
                        .map(|i| (u32::MAX - i as u32, lap * 1000 + i))
                        .collect::<Vec<_>>()
                );
                assert!(ring.is_empty());
                assert_eq!(ring.pop_into(&mut popper, 10, &mut out), 0);
                assert_eq!(ring.pop(&mut popper), None);
            }
        }
    }

    /// Moves an empty ring's head and tail to `pos`, with every stamp as
    /// the laps before would have left it.
    fn fast_forward<T>(ring: &Ring<T>, pos: usize) {
        assert!(ring.is_empty());
        let index = pos & (ring.one_lap - 1);
        for (i, slot) in ring.slots.iter().enumerate() {
            let lap = if i < index {
                ring.lap(pos).wrapping_add(ring.one_lap)
            } else {
                ring.lap(pos)
            };
            slot.stamp
                .store(u64::from(Ring::<T>::stamp_of(lap)), SeqCst);
        }
        ring.head.store(pos, SeqCst);
        ring.tail.store(pos, SeqCst);
    }

    #[test]
    fn stamps_keep_working_where_their_32_bits_wrap() {
        for cap in [1, 3, 8, 100] {
            let (ring, mut popper) = Ring::new(cap).unwrap();
            // Two laps before the lap whose stamp is 2^32 (wrapped to 0),
            // mid-lap; then five laps of fill, overflow, evict and drain.
            let laps_to_wrap = (1usize << 32) / ring.one_lap;
            fast_forward(&ring, (laps_to_wrap - 2) * ring.one_lap + cap / 2);
            let mut evicted = Vec::new();
            let mut next = 0usize;
            let mut expected = std::collections::VecDeque::new();
            for _ in 0..5 {
                for _ in 0..cap + 1 {
                    force_push(&ring, &mut popper, next as u32, next, |v| evicted.push(v));
                    expected.push_back(next);
                    next += 1;
                }
                // One evicted per round: the oldest.
                let oldest = expected.pop_front().unwrap();
                assert_eq!(evicted.pop(), Some((oldest as u32, oldest)));
                assert!(ring.is_full());
                assert_eq!(ring.push(0, usize::MAX), Err(usize::MAX));
                let mut out = Vec::new();
                assert_eq!(ring.pop_into(&mut popper, cap, &mut out), cap);
                let want: Vec<_> = expected.drain(..).map(|v| (v as u32, v)).collect();
                assert_eq!(out, want, "cap {cap}");
                assert!(ring.is_empty());
            }
        }
    }

    #[test]
    fn pushed_counts_every_push_across_laps() {
        let (ring, mut popper) = Ring::new(3).unwrap();
        let mut out = Vec::new();
        for i in 0..10 {
            ring.push(0, i).unwrap();
            assert_eq!(ring.pushed(), i as u64 + 1);
            if i % 2 == 1 {
                ring.pop_into(&mut popper, 2, &mut out);
            }
        }
        let mut evicted = 0;
        for i in 10..20 {
            force_push(&ring, &mut popper, 0, i, |_| evicted += 1);
        }
        assert_eq!(ring.pushed(), 20);
        assert!(evicted > 0);
    }

    #[test]
    fn evicting_takes_the_oldest() {
        let (ring, mut popper) = Ring::new(3).unwrap();
        let mut evicted = Vec::new();
        for i in 0..7 {
            force_push(&ring, &mut popper, 10 + i, i, |v| evicted.push(v));
        }
        assert_eq!(evicted, vec![(10, 0), (11, 1), (12, 2), (13, 3)]);
        let mut out = Vec::new();
        ring.pop_into(&mut popper, 10, &mut out);
        assert_eq!(out, vec![(14, 4), (15, 5), (16, 6)]);
    }

    #[test]
    #[should_panic(expected = "a Popper of another ring")]
    fn a_popper_takes_only_from_its_own_ring() {
        let (ring, _popper) = Ring::<u8>::new(3).unwrap();
        let (_other, mut wrong) = Ring::<u8>::new(3).unwrap();
        ring.pop(&mut wrong);
    }

    #[test]
    fn items_left_behind_are_dropped_once() {
        let marker = Arc::new(());
        let (ring, mut popper) = Ring::new(5).unwrap();
        for _ in 0..4 {
            ring.push(0, Arc::clone(&marker)).unwrap();
        }
        drop(ring.pop(&mut popper));
        assert_eq!(Arc::strong_count(&marker), 4);
        drop(ring);
        assert_eq!(Arc::strong_count(&marker), 1);
    }

    #[test]
    fn discarding_after_fork_frees_slots_claimed_but_never_filled() {
        let marker = Arc::new(());
        let (ring, mut popper) = Ring::new(4).unwrap();
        ring.push(0, Arc::clone(&marker)).unwrap();
        // A thread of the parent claimed the next position and was forked
        // away before it wrote the slot.
        ring.tail.store(ring.next(ring.tail.load(SeqCst)), SeqCst);
        ring.push(0, Arc::clone(&marker)).unwrap();
        assert_eq!(ring.discard_after_fork(&mut popper), 2);
        assert_eq!(Arc::strong_count(&marker), 1);
        assert!(ring.is_empty());
        // The ring goes on, through its next laps.
        for i in 0..10 {
            ring.push(i, Arc::new(())).unwrap();
            assert_eq!(ring.pop(&mut popper).map(|(tag, _)| tag), Some(i));
        }
        assert!(ring.pop(&mut popper).is_none());
    }

    #[test]
    fn pop_ready_does_not_wait_for_a_claimed_unwritten_slot() {
        let (ring, mut popper) = Ring::new(4).unwrap();
        // A producer claimed the first position and has not written it (a
        // signal handler interrupted it); another pushed after it.
        ring.tail.store(ring.next(ring.tail.load(SeqCst)), SeqCst);
        ring.push(0, 2).unwrap();
        assert_eq!(ring.pop_ready(&mut popper), None);
        assert_eq!(ring.len(), 2);
    }

    /// A signal handler that pushes, interrupting the thread's own pushes
    /// at any instruction (between its reading the tail and claiming it,
    /// too): every item of both comes out once, each in order.
    #[cfg(all(target_os = "linux", not(miri)))]
    #[test]
    fn a_signal_handler_pushing_into_a_push_loses_and_duplicates_nothing() {
        use std::sync::atomic::AtomicBool;
        use std::sync::OnceLock;
        const SIGNALS: usize = 3_000;
        static RING: OnceLock<Ring<(u8, usize)>> = OnceLock::new();
        static HANDLED: AtomicUsize = AtomicUsize::new(0);
        extern "C" fn on_signal(_: libc::c_int) {
            let Some(ring) = RING.get() else { return };
            let n = HANDLED.load(Relaxed);
            if ring.push(1, (1, n)).is_ok() {
                HANDLED.store(n + 1, Relaxed);
            }
        }
        let (ring, mut popper) = Ring::new(1 << 16).unwrap();
        assert!(RING.set(ring).is_ok(), "one ring for the handler");
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
        let mut take = |got: &mut Vec<(u32, (u8, usize))>| {
            got.clear();
            ring.pop_into(&mut popper, usize::MAX, got);
            for &(tag, (who, i)) in got.iter() {
                assert_eq!(tag, u32::from(who), "an item with another's tag");
                assert_eq!(
                    i, next[who as usize],
                    "pusher {who}: lost, twice or out of order"
                );
                next[who as usize] += 1;
            }
        };
        ring.push(0, (0, 0)).unwrap();
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
                    if ring.push(0, (0, mine)).is_ok() {
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
    }

    /// Producers push numbered items (one evicting), consumers take batches
    /// one at a time, as the backend's workers do: every item comes out
    /// exactly once or is evicted exactly once, and each producer's items
    /// come out in the order it pushed them.
    #[test]
    fn many_producers_and_consumers_lose_and_duplicate_nothing() {
        // Under Miri (`cargo +nightly miri test -p kakashi --lib
        // backend::ring`), which checks every access for data races and
        // undefined behaviour, fewer items through a smaller ring: still
        // many laps, evictions and full-ring waits.
        const PER: usize = if cfg!(miri) { 300 } else { 50_000 };
        let (ring, popper) = Ring::new(if cfg!(miri) { 8 } else { 64 }).unwrap();
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
                        while let Err(back) = ring.push(p as u32, item) {
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
            for (tag, (who, i)) in p.join().unwrap() {
                assert_eq!(tag as usize, who, "an item with another's tag");
                seen[who][i] += 1;
            }
        }
        for c in consumers {
            let batches = c.join().unwrap();
            for batch in batches {
                // Within one batch, each producer's items are in push order.
                let mut last = [None; 3];
                for (tag, (who, i)) in batch {
                    assert_eq!(tag as usize, who, "an item with another's tag");
                    assert!(last[who].is_none_or(|l| l < i), "order within a batch");
                    last[who] = Some(i);
                    seen[who][i] += 1;
                }
            }
        }
        each_once(&seen, "");
    }

    /// Producers racing a consumer (and an evicting producer) through the
    /// laps where the 32-bit stamps wrap: every item arrives once, with its
    /// own tag (every bit of the tag half in use), each producer's in order.
    #[test]
    fn racing_producers_cross_the_stamp_wrap_with_their_tags() {
        const PER: usize = if cfg!(miri) { 200 } else { 20_000 };
        for cap in [1, 2, 5] {
            let (ring, popper) = Ring::new(cap).unwrap();
            let laps_to_wrap = (1usize << 32) / ring.one_lap;
            // A few laps (and then some) before the wrap: the producers
            // cross it within their first pushes, while racing.
            fast_forward(&ring, (laps_to_wrap - 3) * ring.one_lap + cap / 2);
            let tag = |p: usize| u32::MAX - p as u32 * 0x0101_0101;
            let popper = Mutex::new(popper);
            let done = std::sync::atomic::AtomicUsize::new(0);
            let (evicted, got) = std::thread::scope(|s| {
                let producers: Vec<_> = (0..3)
                    .map(|p| {
                        let (ring, popper, done) = (&ring, &popper, &done);
                        s.spawn(move || {
                            let mut evicted = Vec::new();
                            for i in 0..PER {
                                let mut item = (p, i);
                                while let Err(back) = ring.push(tag(p), item) {
                                    item = back;
                                    if p == 2 {
                                        let mut popper = match popper.try_lock() {
                                            Ok(popper) => popper,
                                            Err(_) => continue,
                                        };
                                        if let Some(old) = ring.pop_ready(&mut popper) {
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
                let consumer = s.spawn(|| {
                    let mut got = Vec::new();
                    loop {
                        let finished = done.load(SeqCst) == 3;
                        let n = ring.pop_into(&mut popper.lock().unwrap(), 3, &mut got);
                        if n == 0 {
                            if finished {
                                break got;
                            }
                            std::thread::yield_now();
                        }
                    }
                });
                let evicted: Vec<_> = producers
                    .into_iter()
                    .flat_map(|p| p.join().unwrap())
                    .collect();
                (evicted, consumer.join().unwrap())
            });
            assert!(ring.pushed() > 0);
            assert!(ring.tail.load(SeqCst) > 1 << 32, "the run crossed the wrap");
            let mut seen = vec![vec![0u8; PER]; 3];
            let mut last = [None; 3];
            for &(t, (who, i)) in &got {
                assert_eq!(t, tag(who), "cap {cap}: an item with another's tag");
                // One consumer (evictions aside): each producer's items in
                // push order.
                assert!(last[who].is_none_or(|l| l < i), "cap {cap}: order");
                last[who] = Some(i);
                seen[who][i] += 1;
            }
            for &(t, (who, i)) in &evicted {
                assert_eq!(t, tag(who), "cap {cap}: an evicted item with another's tag");
                seen[who][i] += 1;
            }
            each_once(&seen, &format!("cap {cap}, "));
        }
    }

    /// After the wrap, a fork's discard and the ring's drop free what the
    /// ring holds, and the ring goes on with the right tags.
    #[test]
    fn discard_and_drop_across_the_stamp_wrap() {
        let marker = Arc::new(());
        for cap in [1, 3, 4] {
            let (ring, mut popper) = Ring::new(cap).unwrap();
            let laps_to_wrap = (1usize << 32) / ring.one_lap;
            fast_forward(&ring, (laps_to_wrap - 1) * ring.one_lap + cap - 1);
            for round in 0..4u32 {
                for i in 0..cap as u32 {
                    ring.push(u32::MAX - i, Arc::clone(&marker)).unwrap();
                }
                assert!(ring.push(0, Arc::clone(&marker)).is_err());
                if round % 2 == 0 {
                    assert_eq!(ring.discard_after_fork(&mut popper), cap);
                } else {
                    for i in 0..cap as u32 {
                        let (tag, _) = ring.pop(&mut popper).unwrap();
                        assert_eq!(tag, u32::MAX - i);
                    }
                }
                assert!(ring.is_empty());
                assert_eq!(Arc::strong_count(&marker), 1);
                // A free slot's tag half is zero again: a later item's tag
                // is its own.
                ring.push(round, Arc::clone(&marker)).unwrap();
                assert_eq!(ring.pop(&mut popper).map(|(t, _)| t), Some(round));
            }
            for i in 0..cap as u32 {
                ring.push(i, Arc::clone(&marker)).unwrap();
            }
            drop(ring);
            assert_eq!(Arc::strong_count(&marker), 1);
        }
    }

    /// A push into a ring that is full behind a slot claimed and not yet
    /// written (the oldest position's producer interrupted by the signal
    /// handler that pushes now) says full: it must not spin, waiting for
    /// the producer it interrupted. Found: `push_with` took the slot's
    /// stamp (free for the previous lap) for "another producer is ahead"
    /// and looked again for ever (a handler logging after shutdown, or
    /// under `drop_newest`/`drop_oldest`, hung the process).
    #[test]
    fn a_push_into_a_ring_full_behind_an_unwritten_slot_says_full() {
        for cap in [1, 2, 3] {
            let (ring, _popper) = Ring::new(cap).unwrap();
            let ring = Arc::new(ring);
            // The oldest position: claimed, never written.
            ring.tail.store(ring.next(ring.tail.load(SeqCst)), SeqCst);
            for i in 1..cap {
                ring.push(0, i).unwrap();
            }
            assert!(ring.is_full());
            let (tx, rx) = std::sync::mpsc::channel();
            let pusher = Arc::clone(&ring);
            std::thread::spawn(move || {
                let _ = tx.send(pusher.push(7, 99));
            });
            // A hang detector, not a timing: the push returns at once.
            let got = rx.recv_timeout(std::time::Duration::from_secs(20));
            assert_eq!(got, Ok(Err(99)), "cap {cap}: the push never returned");
        }
    }
}
