//! The queue's storage: a bounded multi-producer, multi-consumer ring of
//! slots, each with a stamp saying whose turn it is (D. Vyukov's bounded
//! queue, the algorithm of crossbeam's `ArrayQueue`, which this replaced),
//! with what the backend needs on top:
//!
//! - a push writes the item straight into its slot, then asks the CPU for
//!   the next slot's cache lines (they were last written by a worker on
//!   another core, so the next call would otherwise wait for each of them;
//!   this halved the callers' p99);
//! - a worker moves each item once, straight from its slot into its batch
//!   (not out to the stack, then into the batch), and asks for the lines of
//!   the slot after the next while it copies;
//! - `drop_oldest` hands every item it evicts back to the caller to count.
//!
//! Positions are `lap * one_lap + index` (`one_lap` is a power of two above
//! the capacity), so moving on is an add, never a division, and a slot's
//! stamp tells apart "free for this lap" (`stamp == position`) from "holds
//! this lap's item" (`stamp == position + 1`). The tail and the head move by
//! SeqCst compare-and-swaps; the backend relies on that (a push is ordered
//! before the SeqCst loads that follow it, `Shared::submit_with`).
//!
//! The `unsafe` here is reading and writing a slot's value, justified by the
//! stamp protocol (a slot's value is written only by the producer that won
//! its position with a compare-and-swap of the tail while the stamp said
//! free, and read only by the consumer that won it with a compare-and-swap
//! of the head while the stamp said full; the stamp's release store after
//! each access and acquire load before it order the two), and the prefetch
//! hints, which never fault.
#![allow(unsafe_code)]

use std::cell::UnsafeCell;
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicUsize, Ordering::*};

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

/// A bounded MPMC ring (see the module docs).
pub(crate) struct Ring<T> {
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
    /// A ring of `capacity` slots (at least 1).
    pub(crate) fn new(capacity: usize) -> Ring<T> {
        let capacity = capacity.max(1);
        let slots = (0..capacity)
            .map(|i| Slot {
                stamp: AtomicUsize::new(i),
                value: UnsafeCell::new(MaybeUninit::uninit()),
            })
            .collect();
        Ring {
            head: CachePadded::new(AtomicUsize::new(0)),
            tail: CachePadded::new(AtomicUsize::new(0)),
            slots,
            one_lap: (capacity + 1).next_power_of_two(),
        }
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

    /// Pushes `value`, or hands it back when the ring is full.
    #[allow(clippy::result_large_err)]
    #[inline(always)]
    pub(crate) fn push(&self, value: T) -> Result<(), T> {
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
                        // SAFETY: winning the tail while the stamp said free
                        // makes this thread the slot's only writer, and no
                        // consumer reads it before the stamp below.
                        unsafe { (*slot.value.get()).write(value) };
                        slot.stamp.store(tail + 1, Release);
                        // The next push's slot, last written by a consumer
                        // on another core: ask for its lines now, so that the
                        // next call does not wait for them.
                        prefetch(self.slot(self.next(tail)), true);
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
                    return Err(value);
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

    /// Pushes `value`; when the ring is full, evicts the oldest items, handing
    /// each to `evicted`, until it fits.
    pub(crate) fn force_push(&self, mut value: T, mut evicted: impl FnMut(T)) {
        loop {
            match self.push(value) {
                Ok(()) => return,
                Err(back) => {
                    value = back;
                    if let Some(item) = self.pop() {
                        evicted(item);
                    }
                }
            }
        }
    }

    /// Takes the oldest item into `dst`; false when the ring is empty.
    ///
    /// # Safety
    /// `dst` must be valid for a write of `T` (its old contents are not
    /// dropped); on `true` it holds the item.
    #[inline(always)]
    unsafe fn pop_to(&self, dst: *mut T) -> bool {
        let backoff = Backoff::new();
        let mut head = self.head.load(Relaxed);
        loop {
            let slot = self.slot(head);
            let stamp = slot.stamp.load(Acquire);
            if stamp == head + 1 {
                let next = self.next(head);
                match self.head.compare_exchange_weak(head, next, SeqCst, Relaxed) {
                    Ok(_) => {
                        // The slot after the next one: its lines are on
                        // their way while this one and the next are read.
                        prefetch(self.slot(self.next(next)), false);
                        // SAFETY: winning the head while the stamp said full
                        // makes this thread the slot's only reader; producers
                        // wait for the stamp below before writing it again.
                        unsafe {
                            std::ptr::copy_nonoverlapping((*slot.value.get()).as_ptr(), dst, 1)
                        };
                        slot.stamp.store(head.wrapping_add(self.one_lap), Release);
                        return true;
                    }
                    Err(now) => {
                        head = now;
                        backoff.spin();
                    }
                }
            } else if stamp == head {
                std::sync::atomic::fence(SeqCst);
                if self.tail.load(Relaxed) == head {
                    return false;
                }
                // A producer has claimed the slot and is writing it.
                backoff.snooze();
                head = self.head.load(Relaxed);
            } else {
                // Another consumer took it: look again.
                backoff.snooze();
                head = self.head.load(Relaxed);
            }
        }
    }

    /// Pops the oldest item.
    pub(crate) fn pop(&self) -> Option<T> {
        let mut value = MaybeUninit::uninit();
        // SAFETY: `value` is writable; it is initialized when `pop_to` says so.
        unsafe { self.pop_to(value.as_mut_ptr()).then(|| value.assume_init()) }
    }

    /// Moves up to `max` items, oldest first, to the end of `into`, each
    /// copied once, straight from its slot. Returns how many.
    pub(crate) fn pop_into(&self, max: usize, into: &mut Vec<T>) -> usize {
        into.reserve(max.min(self.slots.len()));
        let room = into.capacity() - into.len();
        let mut n = 0;
        while n < max.min(room) {
            let len = into.len();
            // SAFETY: `len < capacity` (reserved above); the new length
            // covers exactly the initialized items.
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
        while self.pop().is_some() {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn fills_to_capacity_then_refuses_and_keeps_order() {
        for cap in [1, 2, 3, 7, 8, 100] {
            let ring = Ring::new(cap);
            for lap in 0..3 {
                for i in 0..cap {
                    ring.push(lap * 1000 + i).unwrap();
                }
                assert_eq!(ring.len(), cap);
                assert!(ring.is_full());
                assert_eq!(ring.push(usize::MAX), Err(usize::MAX));
                let mut out = vec![7];
                assert_eq!(ring.pop_into(cap + 5, &mut out), cap);
                assert_eq!(out[0], 7);
                assert_eq!(
                    &out[1..],
                    (0..cap).map(|i| lap * 1000 + i).collect::<Vec<_>>()
                );
                assert!(ring.is_empty());
                assert_eq!(ring.pop_into(10, &mut out), 0);
                assert_eq!(ring.pop(), None);
            }
        }
    }

    #[test]
    fn pushed_counts_every_push_across_laps() {
        let ring = Ring::new(3);
        let mut out = Vec::new();
        for i in 0..10 {
            ring.push(i).unwrap();
            assert_eq!(ring.pushed(), i as u64 + 1);
            if i % 2 == 1 {
                ring.pop_into(2, &mut out);
            }
        }
        let mut evicted = 0;
        for i in 10..20 {
            ring.force_push(i, |_| evicted += 1);
        }
        assert_eq!(ring.pushed(), 20);
        assert!(evicted > 0);
    }

    #[test]
    fn force_push_evicts_the_oldest() {
        let ring = Ring::new(3);
        let mut evicted = Vec::new();
        for i in 0..7 {
            ring.force_push(i, |v| evicted.push(v));
        }
        assert_eq!(evicted, vec![0, 1, 2, 3]);
        let mut out = Vec::new();
        ring.pop_into(10, &mut out);
        assert_eq!(out, vec![4, 5, 6]);
    }

    #[test]
    fn items_left_behind_are_dropped_once() {
        let marker = Arc::new(());
        let ring = Ring::new(5);
        for _ in 0..4 {
            ring.push(Arc::clone(&marker)).unwrap();
        }
        drop(ring.pop());
        assert_eq!(Arc::strong_count(&marker), 4);
        drop(ring);
        assert_eq!(Arc::strong_count(&marker), 1);
    }

    /// Producers push numbered items (some evicting), consumers take batches:
    /// every item comes out exactly once or is evicted exactly once, and each
    /// producer's items come out in the order it pushed them.
    #[test]
    fn many_producers_and_consumers_lose_and_duplicate_nothing() {
        const PER: usize = 50_000;
        let ring = Arc::new(Ring::new(64));
        let done = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let producers: Vec<_> = (0..3)
            .map(|p| {
                let ring = Arc::clone(&ring);
                let done = Arc::clone(&done);
                std::thread::spawn(move || {
                    let mut evicted = Vec::new();
                    for i in 0..PER {
                        let item = (p, i);
                        if p == 2 {
                            ring.force_push(item, |e| evicted.push(e));
                        } else {
                            let mut item = item;
                            while let Err(back) = ring.push(item) {
                                item = back;
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
                let done = Arc::clone(&done);
                std::thread::spawn(move || {
                    let mut got = Vec::new();
                    loop {
                        let finished = done.load(SeqCst) == 3;
                        let mut batch = Vec::new();
                        if ring.pop_into(17, &mut batch) == 0 {
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
