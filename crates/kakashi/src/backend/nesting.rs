//! How many scopes of one kind this thread is inside: running stages,
//! draining after shutdown. A logging call re-entering the backend from
//! inside such a scope (a stage that logs, a signal handler) reads it and
//! must not wait for what the scope it interrupted holds.

use std::cell::Cell;
use std::thread::LocalKey;

/// A per-thread depth counter for one kind of scope, kept in `key`.
pub(super) type Depth = LocalKey<Cell<u32>>;

/// Counts this thread inside the scope of `key` until dropped (nests).
/// Outside a thread's lifetime (its locals destroyed) it counts nothing.
pub(super) struct Nesting(&'static Depth);

impl Nesting {
    /// Enters one more scope of `key`.
    pub(super) fn enter(key: &'static Depth) -> Nesting {
        let _ = key.try_with(|d| d.set(d.get() + 1));
        Nesting(key)
    }

    /// How many scopes of `key` this thread is inside (0 outside any).
    pub(super) fn depth(key: &'static Depth) -> u32 {
        key.try_with(Cell::get).unwrap_or(0)
    }
}

impl Drop for Nesting {
    fn drop(&mut self) {
        let _ = self.0.try_with(|d| d.set(d.get().saturating_sub(1)));
    }
}
