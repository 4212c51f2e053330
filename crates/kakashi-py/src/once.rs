//! Values made once per process, under the interpreter lock, that a forked
//! child can never find half made: [`Once`] and [`intern!`](crate::intern).
//!
//! PyO3's `PyOnceLock` (and `intern!`, built on it) lets go of the
//! interpreter lock while a value is being made, so that a thread waiting
//! for it does not hold the lock against the one making it. A thread that
//! forks meanwhile (`os.fork` holds the lock) leaves the child a cell
//! marked "being made" by a thread that is not there, and the child's first
//! logging call waits for it for ever. That happened to the first child of
//! a program whose threads made their first logging calls while it forked.
//!
//! Here the value is made outside the cell, then stored: the cell is only
//! ever "being made" for the instant of storing it, which runs no Python
//! code, so the interpreter lock is held throughout and no fork can fall
//! inside it. Two threads may both make the value the first time; one is
//! kept, the other dropped. Every value kept this way is cheap and the same
//! whoever makes it (an interned string, a function looked up once).

use std::sync::OnceLock;

use pyo3::prelude::*;
use pyo3::types::PyString;

/// A value made once per process, on first use, under the interpreter lock
/// (see the module docs).
pub(crate) struct Once<T>(OnceLock<T>);

impl<T> Once<T> {
    /// An empty cell.
    pub(crate) const fn new() -> Once<T> {
        Once(OnceLock::new())
    }

    /// The value, if made.
    pub(crate) fn get(&self, _py: Python<'_>) -> Option<&T> {
        self.0.get()
    }

    /// The value, made by `make` if it is not yet.
    pub(crate) fn get_or_init(&self, py: Python<'_>, make: impl FnOnce() -> T) -> &T {
        match self.get_or_try_init(py, || Ok::<T, std::convert::Infallible>(make())) {
            Ok(value) => value,
            Err(never) => match never {},
        }
    }

    /// The value, made by `make` if it is not yet; `make`'s error otherwise.
    pub(crate) fn get_or_try_init<E>(
        &self,
        py: Python<'_>,
        make: impl FnOnce() -> Result<T, E>,
    ) -> Result<&T, E> {
        if let Some(value) = self.0.get() {
            return Ok(value);
        }
        let made = make()?;
        // Another thread may have stored one meanwhile (`make` may let go of
        // the interpreter lock): then this one is dropped, here, after the
        // cell is no longer being stored into.
        let _ = self.set(py, made);
        Ok(self.0.get().expect("stored above or by another thread"))
    }

    /// Stores `value` unless one is there; gives it back if so.
    pub(crate) fn set(&self, _py: Python<'_>, value: T) -> Result<(), T> {
        self.0.set(value)
    }
}

/// `crate::intern!` made with a [`Once`]: the interned Python string of a
/// literal, made once per process.
#[macro_export]
macro_rules! intern {
    ($py:expr, $text:expr) => {{
        static INTERNED: $crate::once::Once<::pyo3::Py<::pyo3::types::PyString>> =
            $crate::once::Once::new();
        $crate::once::interned(&INTERNED, $py, $text)
    }};
}

/// What [`intern!`](crate::intern) expands to call.
pub(crate) fn interned<'a, 'py>(
    cell: &'a Once<Py<PyString>>,
    py: Python<'py>,
    text: &'static str,
) -> &'a Bound<'py, PyString> {
    cell.get_or_init(py, || PyString::intern(py, text).unbind())
        .bind(py)
}
