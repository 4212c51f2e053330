//! Where a standard-library logging call was made, as a static [`Source`]:
//! from the `LogRecord`'s `pathname`/`funcName`/`lineno` ([`source_of`]),
//! or, on the fast path that makes no `LogRecord`, from the caller's frame
//! ([`caller_source`]). Each call site's `Source` is made once and kept
//! for the life of the process (at most [`SOURCES`] of them), so that a
//! record costs a lookup, not a copy of three strings.

use std::collections::HashMap;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Mutex;

use kakashi::Source;
use pyo3::prelude::*;
use pyo3::types::{PyInt, PyString};

use super::Setup;
use crate::convert::{self, str_of};
use crate::frames::CallFrame;

/// The caller's call site: the innermost frame whose file is not one of
/// `setup.internal` (`logging`'s, the bridge's), as a static [`Source`].
///
/// Frames are known by their code object and instruction (`f_lasti`, an
/// int), not by their line: `f_lineno` makes the interpreter scan the code's
/// line table, which costs more than the rest of the call. Each (code,
/// instruction) is looked at once, whether it is internal or the site it
/// is; the code objects are kept alive so that their addresses stay theirs.
/// An internal code object is then skipped by its address alone, and a
/// site is found in a per-thread cache before the shared map (whose lock
/// and hash cost more than the rest of the lookup).
pub(super) fn caller_source(py: Python<'_>, setup: &Setup) -> Option<&'static Source> {
    let mut frame = CallFrame::current(py)?;
    for _ in 0..64 {
        let code = frame.code()?;
        let address = code.as_ptr() as usize;
        if !INTERNAL_CODE.iter().any(|c| c.load(Relaxed) == address) {
            let key = (address, frame.lasti()?);
            // `try_with`: a thread's last calls may come after its cache is gone.
            let seen = SEEN_FRAMES.try_with(|seen| seen[seen_slot(key)].get());
            let known = match seen {
                Ok((a, i, known)) if (a, i) == key => known,
                _ => {
                    let known = frame_known(py, setup, &frame, &code, key)?;
                    // Only what the shared map keeps (its code object kept
                    // alive): the address of a code that may be freed is
                    // never remembered.
                    if frames().contains_key(&key) {
                        if known.is_none() {
                            remember_internal(address);
                        }
                        let _ = SEEN_FRAMES
                            .try_with(|seen| seen[seen_slot(key)].set((key.0, key.1, known)));
                    }
                    known
                }
            };
            if let Some(source) = known {
                return Some(source);
            }
        }
        frame = frame.back()?;
    }
    None
}

/// A frame's entry in [`FRAMES`], made on first sight: its call site, or
/// None for an internal frame.
fn frame_known(
    py: Python<'_>,
    setup: &Setup,
    frame: &CallFrame<'_>,
    code: &Bound<'_, PyAny>,
    key: (usize, i64),
) -> Option<Option<&'static Source>> {
    if let Some(known) = frames().get(&key).copied() {
        return Some(known);
    }
    // A frame outside `internal` whose site cannot be made (past `SOURCES`
    // sites): no source, and nothing kept.
    let found = frame_site(py, setup, frame, code)?;
    let mut frames = frames();
    if frames.len() >= SOURCES {
        return Some(found);
    }
    std::mem::forget(code.clone().unbind());
    Some(*frames.entry(key).or_insert(found))
}

/// Code objects of internal frames (`logging`'s level methods and `_log`,
/// the bridge's `_log`), kept alive by [`FRAMES`]: skipped by address.
static INTERNAL_CODE: [AtomicUsize; 16] = [const { AtomicUsize::new(0) }; 16];

/// Adds an internal code object to [`INTERNAL_CODE`] if there is room
/// (under the interpreter lock: no two threads at once).
fn remember_internal(address: usize) {
    for slot in &INTERNAL_CODE {
        match slot.load(Relaxed) {
            0 => return slot.store(address, Relaxed),
            a if a == address => return,
            _ => {}
        }
    }
}

/// Slots of [`SEEN_FRAMES`].
const SEEN_SLOTS: usize = 64;

/// A [`SEEN_FRAMES`] entry: (code, instruction, site); (0, 0, None) is empty.
type SeenFrame = std::cell::Cell<(usize, i64, Option<&'static Source>)>;

thread_local! {
    /// Recent (code, instruction) -> site lookups of this thread's calls,
    /// direct-mapped. Boxed: the extension's thread-locals take the
    /// process's static TLS, of which a library loaded at run time gets
    /// little (past it, `import` fails: "cannot allocate memory in static
    /// TLS block").
    static SEEN_FRAMES: Box<[SeenFrame; SEEN_SLOTS]> =
        Box::new([const { std::cell::Cell::new((0, 0, None)) }; SEEN_SLOTS]);
}

fn seen_slot((address, lasti): (usize, i64)) -> usize {
    (address ^ (lasti as usize).wrapping_mul(0x9E37_79B9_7F4A_7C15))
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        >> 58
}

/// Whether `logging` itself skips frames of `file` when it finds the
/// caller: from 3.11 it also skips importlib's bootstrap files (any path
/// with both "importlib" and "_bootstrap" in it).
fn importlib_bootstrap(py: Python<'_>, file: &Bound<'_, PyString>) -> bool {
    if py.version_info() < (3, 11) {
        return false;
    }
    let file = convert::text(file);
    file.contains("importlib") && file.contains("_bootstrap")
}

/// A frame's call site, `Some(None)` for a frame of `setup.internal`'s
/// files, None when it cannot be told.
fn frame_site(
    py: Python<'_>,
    setup: &Setup,
    frame: &CallFrame<'_>,
    code: &Bound<'_, PyAny>,
) -> Option<Option<&'static Source>> {
    let file = code.getattr(crate::intern!(py, "co_filename")).ok()?;
    let file = file.cast_into_exact::<PyString>().ok()?;
    let internal = setup
        .internal
        .iter()
        .any(|f| f.bind(py).as_any().eq(&file).unwrap_or(false));
    if internal || importlib_bootstrap(py, &file) {
        return Some(None);
    }
    let function = code.getattr(crate::intern!(py, "co_name")).ok()?;
    let line = frame
        .as_any()
        .getattr(crate::intern!(py, "f_lineno"))
        .ok()?;
    let line = line.cast::<PyInt>().ok()?.extract::<i64>().ok()?;
    site(&file, &function, line, || module_of(&file)).map(Some)
}

/// Frames seen by [`caller_source`]: (code object, instruction) to the call
/// site, or None for an internal frame. Like [`SITES`], locked only with
/// the interpreter lock held and never across a call into Python, so a
/// `fork()` from Python (which holds that lock) never finds it held.
#[allow(clippy::type_complexity)]
static FRAMES: std::sync::LazyLock<Mutex<HashMap<(usize, i64), Option<&'static Source>>>> =
    std::sync::LazyLock::new(|| Mutex::new(HashMap::new()));

fn frames() -> std::sync::MutexGuard<'static, HashMap<(usize, i64), Option<&'static Source>>> {
    FRAMES.lock().unwrap_or_else(|e| e.into_inner())
}

/// `LogRecord.module`: the file's name without its directory and extension.
fn module_of(path: &Bound<'_, PyString>) -> String {
    let path = convert::text(path);
    let name = path.rsplit(['/', '\\']).next().unwrap_or("");
    match name.rfind('.') {
        Some(dot) if dot > 0 => name[..dot].to_owned(),
        _ => name.to_owned(),
    }
}

/// How many distinct call sites [`source_of`] keeps for the life of the
/// process; records from call sites past them carry no source.
pub const SOURCES: usize = 16_384;

type SiteKey = (usize, usize, i64);

/// Call sites seen, by the identity of their `pathname` and `funcName`
/// strings (the code object's, the same from call to call) and their line.
static SITES: std::sync::LazyLock<Mutex<HashMap<SiteKey, &'static Source>>> =
    std::sync::LazyLock::new(|| Mutex::new(HashMap::new()));

/// The record's call site as a static [`Source`] (the engine's records
/// point at one): made once per site, kept for the life of the process,
/// so that a record costs a lookup, not a copy of three strings. The key
/// strings are kept alive too, so that their addresses are never another
/// string's. None when the record has no usable location.
pub(super) fn source_of(rec: &Bound<'_, PyAny>) -> Option<&'static Source> {
    let py = rec.py();
    let path = rec.getattr(crate::intern!(py, "pathname")).ok()?;
    let path = path.cast_into_exact::<PyString>().ok()?;
    let function = rec.getattr(crate::intern!(py, "funcName")).ok()?;
    let line = rec.getattr(crate::intern!(py, "lineno")).ok()?;
    let line = line.cast::<PyInt>().ok()?.extract::<i64>().ok()?;
    site(&path, &function, line, || {
        rec.getattr(crate::intern!(py, "module"))
            .ok()
            .filter(|m| m.is_instance_of::<PyString>())
            .map(|m| str_of(&m))
            .unwrap_or_default()
    })
}

/// The static [`Source`] of the call site `path`, `function`, `line`
/// (`module` gives its module's name the first time); see [`source_of`].
fn site(
    path: &Bound<'_, PyString>,
    function: &Bound<'_, PyAny>,
    line: i64,
    module: impl FnOnce() -> String,
) -> Option<&'static Source> {
    let key = (path.as_ptr() as usize, function.as_ptr() as usize, line);
    if let Some(found) = sites().get(&key) {
        return Some(found);
    }
    // Made without the lock held: reading attributes may run Python code
    // (a `LogRecord` subclass), which may log.
    let module = module();
    let function_text = function.cast_exact::<PyString>().ok().map(convert::text);
    let file = convert::text(path);
    let mut sites = sites();
    if let Some(found) = sites.get(&key) {
        return Some(found);
    }
    if sites.len() >= SOURCES {
        return None;
    }
    let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
    let source: &'static Source = Box::leak(Box::new(Source {
        module: leak(module),
        file: leak(file),
        line: u32::try_from(line).unwrap_or(0),
        function: function_text.map(leak),
    }));
    // Kept alive on purpose (see above): never decremented.
    std::mem::forget(path.clone().unbind());
    std::mem::forget(function.clone().unbind());
    sites.insert(key, source);
    Some(source)
}

fn sites() -> std::sync::MutexGuard<'static, HashMap<SiteKey, &'static Source>> {
    SITES.lock().unwrap_or_else(|e| e.into_inner())
}
