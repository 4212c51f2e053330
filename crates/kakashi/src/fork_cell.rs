//! [`ForkCell`]: a value a forked child can replace with a fresh one
//! without touching the parent's.
//!
//! A child inherits every lock in the state the parent's threads left it:
//! one that another thread of the parent held at the fork stays locked
//! forever, and the child's first use of it hangs. For locks that threads
//! take while holding nothing else, and that the child can start over
//! without (the workers' lifecycle locks, the interned names), the child
//! does not wait for or repair them: it swaps in a fresh value, and the
//! parent's is never touched again (leaked: it may be locked, and what it
//! holds may name threads the child does not have).
//!
//! The alternative, holding such locks across `fork()` in the forking
//! thread as the registries are held, orders them before the interpreter
//! lock on that thread (it takes the GIL back after the fork) while other
//! threads take them under the GIL: a deadlock. It also needs a guard that
//! outlives the borrow of its backend.
#![allow(unsafe_code)]

use std::sync::atomic::{AtomicPtr, Ordering::*};

/// A `T` that a forked child replaces with `T::default()`.
pub(crate) struct ForkCell<T>(AtomicPtr<T>);

impl<T: Default> ForkCell<T> {
    pub(crate) fn new() -> ForkCell<T> {
        ForkCell(AtomicPtr::new(Box::into_raw(Box::default())))
    }

    /// The current value.
    pub(crate) fn get(&self) -> &T {
        // SAFETY: the pointer always comes from `Box::into_raw`; a value
        // that is replaced is leaked, never freed, and the current one is
        // freed only by `drop`, which has `&mut self`: every reference
        // handed out here stays valid for as long as it can be used.
        unsafe { &*self.0.load(Acquire) }
    }

    /// In a forked child: a fresh value; the parent's is left as it is,
    /// for good.
    pub(crate) fn replace_in_child(&self) {
        self.0.store(Box::into_raw(Box::default()), Release);
    }
}

impl<T> Drop for ForkCell<T> {
    fn drop(&mut self) {
        // SAFETY: the current pointer came from `Box::into_raw` and is freed
        // once, here; `&mut self` means no reference from `get` is alive.
        drop(unsafe { Box::from_raw(*self.0.get_mut()) });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn a_child_gets_a_fresh_value_while_the_old_one_stays_locked() {
        let cell: ForkCell<Mutex<Vec<u32>>> = ForkCell::new();
        let old = cell.get();
        // A thread of the parent held it at the fork.
        let held = old.lock().unwrap();
        cell.replace_in_child();
        cell.get().lock().unwrap().push(1);
        assert_eq!(*cell.get().lock().unwrap(), vec![1]);
        assert!(held.is_empty());
    }
}
