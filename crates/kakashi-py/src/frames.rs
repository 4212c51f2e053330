//! The Python frames of the running call, walked outwards from the current
//! one: what the standard library bridge reads to find a call site.
//!
//! Read through CPython's frame functions where the interpreter has them
//! (`PyFrame_GetCode`, `PyFrame_GetBack` from 3.9, `PyFrame_GetLasti` from
//! 3.11), and through the frame's attributes (`f_code`, `f_back`,
//! `f_lasti`) where it does not. The functions are looked up at run time:
//! the wheel is built for the stable ABI of 3.7, which has none of them,
//! and an attribute read is a generic lookup that costs several times the
//! direct call, on a path taken by every bridged `logging` call.
//!
//! One of the four modules that hold the crate's `unsafe` code (the list
//! is in `lib.rs`).

#![allow(unsafe_code)]

use std::ffi::c_int;

use pyo3::ffi;
use pyo3::prelude::*;

use crate::once::Once;

type GetCode = unsafe extern "C" fn(*mut ffi::PyFrameObject) -> *mut ffi::PyObject;
type GetBack = unsafe extern "C" fn(*mut ffi::PyFrameObject) -> *mut ffi::PyFrameObject;
type GetLasti = unsafe extern "C" fn(*mut ffi::PyFrameObject) -> c_int;

/// CPython's frame functions, where the running interpreter exports them.
#[derive(Clone, Copy)]
struct Api {
    code: GetCode,
    back: GetBack,
    lasti: Option<GetLasti>,
}

/// The running interpreter's frame functions: None before 3.9.
fn api(py: Python<'_>) -> Option<Api> {
    static API: Once<Option<Api>> = Once::new();
    *API.get_or_init(py, || {
        if py.version_info() < (3, 9) {
            return None;
        }
        let look_up = |name: &std::ffi::CStr| {
            // SAFETY: dlsym(3) with a NUL-terminated name; RTLD_DEFAULT
            // searches the objects loaded globally, the interpreter's among
            // them.
            let found = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) };
            (!found.is_null()).then_some(found)
        };
        let code = look_up(c"PyFrame_GetCode")?;
        let back = look_up(c"PyFrame_GetBack")?;
        let lasti = if py.version_info() >= (3, 11) {
            look_up(c"PyFrame_GetLasti")
        } else {
            None
        };
        // SAFETY: the symbols are CPython's `PyCodeObject
        // *PyFrame_GetCode(PyFrameObject *)` and `PyFrameObject
        // *PyFrame_GetBack(PyFrameObject *)` (3.9 and later, checked above)
        // and `int PyFrame_GetLasti(PyFrameObject *)` (3.11 and later); a
        // code object is an object, so its pointer is taken as one.
        unsafe {
            Some(Api {
                code: std::mem::transmute::<*mut std::ffi::c_void, GetCode>(code),
                back: std::mem::transmute::<*mut std::ffi::c_void, GetBack>(back),
                lasti: lasti.map(|f| std::mem::transmute::<*mut std::ffi::c_void, GetLasti>(f)),
            })
        }
    })
}

/// `found`; when it is None (the function returned NULL), the error it may
/// have set is taken and dropped. From 3.11 a frame object is made on
/// demand, which can fail for want of memory: the logging call then goes
/// on without a source rather than return with an error set.
fn none_or_cleared<'py>(
    py: Python<'py>,
    found: Option<Bound<'py, PyAny>>,
) -> Option<Bound<'py, PyAny>> {
    if found.is_none() {
        drop(PyErr::take(py));
    }
    found
}

/// A Python frame object (the invariant the frame functions need: only
/// [`CallFrame::current`] and [`CallFrame::back`] make one).
pub(crate) struct CallFrame<'py>(Bound<'py, PyAny>);

impl<'py> CallFrame<'py> {
    /// The frame of the Python code that called into the extension, None
    /// when no Python code runs on this thread.
    pub(crate) fn current(py: Python<'py>) -> Option<CallFrame<'py>> {
        // SAFETY: called holding the interpreter lock (`py`); the result is
        // a borrowed reference to a frame object, or NULL.
        let frame = unsafe { ffi::PyEval_GetFrame() };
        // SAFETY: a borrowed reference (or NULL), taken as a new one.
        let frame = unsafe { Bound::from_borrowed_ptr_or_opt(py, frame.cast()) };
        none_or_cleared(py, frame).map(CallFrame)
    }

    /// The frame object.
    pub(crate) fn as_any(&self) -> &Bound<'py, PyAny> {
        &self.0
    }

    /// The frame's code object.
    pub(crate) fn code(&self) -> Option<Bound<'py, PyAny>> {
        let py = self.0.py();
        match api(py) {
            // SAFETY: `self` is a frame object (the type's invariant), and
            // `PyFrame_GetCode` returns a new reference (never NULL, but
            // taken as if it could be, as for the other two).
            Some(api) => none_or_cleared(py, unsafe {
                Bound::from_owned_ptr_or_opt(py, (api.code)(self.0.as_ptr().cast()))
            }),
            None => self.0.getattr(crate::intern!(py, "f_code")).ok(),
        }
    }

    /// The frame's last instruction (`f_lasti`): with the code object, what
    /// tells one call site of a frame from another without reading its
    /// line (the interpreter scans the code's line table for that).
    pub(crate) fn lasti(&self) -> Option<i64> {
        let py = self.0.py();
        match api(py).and_then(|api| api.lasti) {
            // SAFETY: `self` is a frame object (the type's invariant).
            Some(lasti) => Some(i64::from(unsafe { lasti(self.0.as_ptr().cast()) })),
            None => self
                .0
                .getattr(crate::intern!(py, "f_lasti"))
                .ok()?
                .extract()
                .ok(),
        }
    }

    /// The frame that called this one, None for the outermost.
    pub(crate) fn back(&self) -> Option<CallFrame<'py>> {
        let py = self.0.py();
        match api(py) {
            // SAFETY: `self` is a frame object (the type's invariant), and
            // `PyFrame_GetBack` returns a new reference to a frame object,
            // or NULL (with no error set) for the outermost frame.
            Some(api) => none_or_cleared(py, unsafe {
                Bound::from_owned_ptr_or_opt(py, (api.back)(self.0.as_ptr().cast()).cast())
            })
            .map(CallFrame),
            None => {
                let back = self.0.getattr(crate::intern!(py, "f_back")).ok()?;
                (!back.is_none()).then_some(CallFrame(back))
            }
        }
    }
}
