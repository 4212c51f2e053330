//! Interrupts raised by Python code a conversion ran (`__str__`,
//! `__repr__`): kept for the logging call to raise, once, at its own call site.

use std::cell::RefCell;

use crate::once::Once;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

// A conversion returns a value, never an error, so an interrupt raised by
// Python code it ran (`__str__`, `__repr__`) is kept per thread with the
// site of the call that ran it (the calling frame, at that call), and that
// call raises it: the logging call, through `take_pending_interrupt`. One
// that no call took (a `bind`, which cannot raise) is forgotten by the next
// logging call on the thread, unless the call that kept it is still running
// (a `__str__` that logs, run by that call).

/// Where a call from Python code was made: the calling frame, its code, and
/// its instruction (the call).
#[derive(Clone, Copy, PartialEq, Eq)]
struct Site {
    frame: usize,
    code: usize,
    lasti: isize,
}

fn site_of(frame: &Bound<'_, PyAny>) -> Option<Site> {
    let py = frame.py();
    let code = frame.getattr(crate::intern!(py, "f_code")).ok()?;
    let lasti = frame
        .getattr(crate::intern!(py, "f_lasti"))
        .ok()?
        .extract()
        .ok()?;
    Some(Site {
        frame: frame.as_ptr() as usize,
        code: code.as_ptr() as usize,
        lasti,
    })
}

/// The innermost Python frame of this thread; None on a thread running no
/// Python code (a worker converting what a Python stage returned).
fn current_frame(py: Python<'_>) -> Option<Bound<'_, PyAny>> {
    static GETFRAME: Once<Py<PyAny>> = Once::new();
    let getframe = GETFRAME
        .get_or_try_init(py, || -> PyResult<_> {
            Ok(py.import("sys")?.getattr("_getframe")?.unbind())
        })
        .ok()?;
    getframe.bind(py).call1((0,)).ok()
}

/// The site of the call running now.
fn call_site(py: Python<'_>) -> Option<Site> {
    site_of(&current_frame(py)?)
}

/// Whether the call made at `site` is still running: its frame is on this
/// thread's stack, at that call (asked from Python code that call ran).
fn still_running(py: Python<'_>, site: &Site) -> bool {
    let mut frame = current_frame(py);
    for _ in 0..1024 {
        let Some(f) = frame else { return false };
        if f.as_ptr() as usize == site.frame && site_of(&f).as_ref() == Some(site) {
            return true;
        }
        frame = f
            .getattr(crate::intern!(py, "f_back"))
            .ok()
            .filter(|b| !b.is_none());
    }
    false
}

struct Pending {
    err: PyErr,
    site: Site,
}

thread_local! {
    /// The interrupt raised by Python code a conversion ran, with its call's site.
    static PENDING: RefCell<Option<Pending>> = const { RefCell::new(None) };
}

/// The site of the interrupt kept, if any (one thread-local read).
fn kept_site() -> Option<Site> {
    PENDING
        .try_with(|p| p.try_borrow().ok()?.as_ref().map(|p| p.site))
        .ok()
        .flatten()
}

/// Takes the interrupt kept if it is from the call at `site`. (Nothing is
/// dropped or run while the cell is borrowed: a finalizer may log.)
fn take_kept(site: Site) -> Option<PyErr> {
    PENDING
        .try_with(|p| {
            let mut p = p.try_borrow_mut().ok()?;
            if p.as_ref()?.site == site {
                p.take().map(|pending| pending.err)
            } else {
                None
            }
        })
        .ok()
        .flatten()
}

/// Sorts an error from Python code a conversion ran (`__str__`, `__repr__`):
/// an `Exception` is the data's and is swallowed (false); anything else
/// (`KeyboardInterrupt`, `SystemExit`, ...) is an interrupt (true), kept for
/// the call to raise (the first of the call's, if several).
pub(crate) fn interrupted_by(py: Python<'_>, err: PyErr) -> bool {
    if err.is_instance_of::<PyException>(py) {
        return false;
    }
    // Without a Python caller there is no one to raise it to: dropped.
    let Some(site) = call_site(py) else {
        return true;
    };
    if kept_site() != Some(site) {
        let replaced = PENDING
            .try_with(|p| {
                let mut p = p.try_borrow_mut().ok()?;
                p.replace(Pending { err, site })
            })
            .ok()
            .flatten();
        drop(replaced);
    }
    true
}

/// The interrupt (`KeyboardInterrupt`, `SystemExit`, any `BaseException`
/// that is not an `Exception`) raised by Python code that the current call's
/// conversions ran, if any. A logging call must raise it and log nothing, as
/// the standard library's logging lets such exceptions through. One
/// thread-local read when there is none.
pub(crate) fn take_pending_interrupt(py: Python<'_>) -> Option<PyErr> {
    kept_site()?;
    take_kept(call_site(py)?)
}

/// Forgets the interrupt kept for a call that is over (called by each
/// logging call, see [`thread_info`](super::caller::thread_info)), so that it keeps nothing alive.
pub(crate) fn forget_finished_interrupt(py: Python<'_>) {
    let Some(kept) = kept_site() else {
        return;
    };
    if call_site(py) == Some(kept) || still_running(py, &kept) {
        return;
    }
    drop(take_kept(kept));
}
