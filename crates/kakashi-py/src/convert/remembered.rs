//! Keys and short strings seen before, by identity: their text without a
//! copy (see [`remembered`]).

use super::{str_of, text};
use kakashi::{Key, Name, Text};
use pyo3::prelude::*;
use pyo3::types::PyString;

/// A field key, or any name: the object's text (see [`remembered`]).
pub fn key(k: &Bound<'_, PyAny>) -> Key {
    match k.cast_exact::<PyString>() {
        Ok(s) => match remembered(s) {
            Some(name) => name.clone(),
            None => Name::from(text(s)),
        },
        Err(_) => Name::from(str_of(k)),
    }
}

/// A string argument's text, borrowed when remembered (see [`remembered`]).
pub fn str_arg(s: &Bound<'_, PyString>) -> Text {
    match remembered(s).and_then(Name::as_static) {
        Some(text) => Text::from_static(text),
        None => Text::from(text(s)),
    }
}

/// How many distinct string objects are remembered, over all threads.
pub const REMEMBERED: usize = 4096;
/// Longer strings are never remembered.
pub const REMEMBERED_LEN: usize = 128;
/// Slots of the table (twice [`REMEMBERED`], so probes stay short).
const SLOTS: usize = 2 * REMEMBERED;
/// Probes before giving up on a lookup or an insert.
const PROBES: usize = 8;

type Slot = (std::sync::atomic::AtomicUsize, std::sync::OnceLock<Name>);

static TABLE: [Slot; SLOTS] = [const {
    (
        std::sync::atomic::AtomicUsize::new(0),
        std::sync::OnceLock::new(),
    )
}; SLOTS];
static REMEMBERED_COUNT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

fn slot_of(addr: usize) -> usize {
    ((addr as u64 >> 4).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 51) as usize % SLOTS
}

/// The text of a short string object seen before, by identity.
///
/// Keyword names, messages and values such as `side="buy"` are usually the
/// same objects from call to call (constants of the calling code), so the
/// text of the short strings seen is remembered by object address in a
/// fixed, lock-free table: a repeated one costs a few atomic loads instead
/// of a UTF-8 copy and an allocation, and the record borrows the text. A
/// remembered object is kept alive for the life of the process, so its
/// address cannot be reused by another string; at most [`REMEMBERED`]
/// objects of at most [`REMEMBERED_LEN`] bytes are (strings made per call
/// fill the table once and are then simply copied).
pub fn remembered(s: &Bound<'_, PyString>) -> Option<&'static Name> {
    use std::sync::atomic::Ordering::{AcqRel, Acquire, Relaxed};
    let addr = s.as_ptr() as usize;
    let first = slot_of(addr);
    for probe in 0..PROBES {
        let (key, text) = &TABLE[(first + probe) % SLOTS];
        match key.load(Acquire) {
            0 => break,
            k if k == addr => return text.get(),
            _ => {}
        }
    }
    if REMEMBERED_COUNT.load(Relaxed) >= REMEMBERED {
        return None;
    }
    let owned = s.to_cow().ok()?;
    if owned.len() > REMEMBERED_LEN {
        return None;
    }
    for probe in 0..PROBES {
        let (key, text) = &TABLE[(first + probe) % SLOTS];
        if key.compare_exchange(0, addr, AcqRel, Acquire).is_ok() {
            if REMEMBERED_COUNT.fetch_add(1, Relaxed) >= REMEMBERED {
                // Over the cap: the slot stays claimed with no text (a miss).
                return None;
            }
            // Kept alive on purpose (see above): never decremented.
            std::mem::forget(s.clone().unbind());
            let _ = text.set(Name::interned(&owned));
            return text.get();
        }
    }
    None
}
