//! A mutex whose waits can end at a deadline: the lock around an output's
//! writers.
//!
//! A writer can be stuck for as long as its sink is (a network endpoint
//! down, a Python callable that sleeps). Whoever else needs the writers
//! (`flush`, the exit drain, a panic hook, a forked child) must be able to
//! give up at its deadline instead of waiting with it, so the lock is a
//! `held` flag under a short-lived std mutex plus a condition variable (std's
//! `Mutex` has no timed lock; this needs no dependency and no `unsafe`).
//!
//! Guarantees: [`TimedLock::lock_until`] returns by its deadline; a guard
//! releases on drop, panics included; in a forked child,
//! [`TimedLock::held_at_fork`] says whether a thread of the parent held it
//! (that thread does not exist there, so it would never be released).
//!
//! Also here: [`lock`] and [`try_lock`], how every other mutex of the
//! crate is taken. They ignore poisoning: a panic elsewhere (a stage, a
//! user's writer) must never stop logging, and no lock here guards an
//! invariant a panic could leave half-made.

use std::ops::{Deref, DerefMut};
use std::sync::{Condvar, Mutex, MutexGuard, TryLockError};
use std::time::Instant;

/// Locks, recovering from poisoning (a panic elsewhere never stops logging).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Locks if nobody holds the lock now, recovering from poisoning like
/// [`lock`]; `None` when it is held.
pub(crate) fn try_lock<T>(m: &Mutex<T>) -> Option<MutexGuard<'_, T>> {
    match m.try_lock() {
        Ok(guard) => Some(guard),
        Err(TryLockError::Poisoned(e)) => Some(e.into_inner()),
        Err(TryLockError::WouldBlock) => None,
    }
}

/// A mutex with deadline-bounded waits.
pub(crate) struct TimedLock<T> {
    held: Mutex<bool>,
    released: Condvar,
    value: Mutex<T>,
}

/// Exclusive access to a [`TimedLock`]'s value.
pub(crate) struct TimedGuard<'a, T> {
    lock: &'a TimedLock<T>,
    value: Option<MutexGuard<'a, T>>,
}

impl<T> TimedLock<T> {
    pub(crate) fn new(value: T) -> TimedLock<T> {
        TimedLock {
            held: Mutex::new(false),
            released: Condvar::new(),
            value: Mutex::new(value),
        }
    }

    /// Waits as long as it takes (a worker taking its turn to write).
    pub(crate) fn lock(&self) -> TimedGuard<'_, T> {
        match self.lock_until(None) {
            Some(guard) => guard,
            None => unreachable!("an unbounded wait always ends with the lock"),
        }
    }

    /// Waits until `deadline` at most (`None`: no limit); `None` when the
    /// deadline passed first.
    pub(crate) fn lock_until(&self, deadline: Option<Instant>) -> Option<TimedGuard<'_, T>> {
        let mut held = lock(&self.held);
        while *held {
            held = match deadline {
                None => self.released.wait(held).unwrap_or_else(|e| e.into_inner()),
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return None;
                    }
                    self.released
                        .wait_timeout(held, left)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
            };
        }
        *held = true;
        drop(held);
        Some(TimedGuard {
            lock: self,
            value: Some(lock(&self.value)),
        })
    }

    /// In a forked child: whether a thread of the parent held the lock when
    /// it forked (then nobody here will ever release it).
    pub(crate) fn held_at_fork(&self) -> bool {
        match try_lock(&self.held) {
            Some(held) => *held || try_lock(&self.value).is_none(),
            None => true,
        }
    }
}

impl<T> Deref for TimedGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        match &self.value {
            Some(value) => value,
            None => unreachable!("the value is held until the guard drops"),
        }
    }
}

impl<T> DerefMut for TimedGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        match &mut self.value {
            Some(value) => value,
            None => unreachable!("the value is held until the guard drops"),
        }
    }
}

impl<T> Drop for TimedGuard<'_, T> {
    fn drop(&mut self) {
        // The value first, so that the next holder never waits for it.
        drop(self.value.take());
        *lock(&self.lock.held) = false;
        self.lock.released.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    #[test]
    fn a_bounded_wait_gives_up_at_its_deadline_and_the_holder_keeps_the_lock() {
        let l = Arc::new(TimedLock::new(0u32));
        let mut guard = l.lock();
        *guard += 1;
        let other = Arc::clone(&l);
        let waited = std::thread::spawn(move || {
            other
                .lock_until(Some(Instant::now() + Duration::from_millis(50)))
                .is_some()
        })
        .join()
        .unwrap();
        assert!(!waited, "the lock was held the whole time");
        drop(guard);
        assert_eq!(*l.lock_until(Some(Instant::now())).unwrap(), 1);
    }

    #[test]
    fn a_release_wakes_a_waiter() {
        let l = Arc::new(TimedLock::new(Vec::<u32>::new()));
        let guard = l.lock();
        let other = Arc::clone(&l);
        let waiter = std::thread::spawn(move || {
            other.lock().push(2);
        });
        std::thread::sleep(Duration::from_millis(20));
        drop(guard);
        waiter.join().unwrap();
        assert_eq!(*l.lock(), vec![2]);
        assert!(!l.held_at_fork());
    }
}
