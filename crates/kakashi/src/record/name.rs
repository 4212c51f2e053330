//! [`Name`]: logger, thread and field names, one pointer each, and the
//! process-wide set of interned names.

use std::borrow::Cow;
use std::fmt;
use std::sync::{Mutex, OnceLock};

use crate::fork_cell::ForkCell;

/// A logger's, a thread's or a field's name: one pointer to its text.
///
/// A name written in code (a macro's key) or seen before (logger and thread
/// names, Python keyword names, see [`Name::interned`]) is static: kept for
/// the life of the process, and copied or dropped without an atomic
/// operation. Any other name is reference-counted, so names made at run
/// time (a logger per request, a thread per task, keys of a dict) take
/// memory only while a record or a logger holds them. One pointer rather
/// than a `Cow<str>`'s three words: a record carries a name per field, and
/// every queue slot is a record.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Name(arcstr::ArcStr);

impl Name {
    /// The name of a string literal, with no allocation (what the macros'
    /// keys use, through [`key!`](crate::key) and `__private::literal_name`).
    pub(crate) const fn from_literal(s: arcstr::ArcStr) -> Name {
        Name(s)
    }

    /// The text.
    #[inline]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the two are the same name object (then their texts are
    /// equal; two objects may hold equal texts). Used by the bridges.
    #[cfg(any(feature = "log", feature = "tracing"))]
    #[inline]
    pub(crate) fn ptr_eq(&self, other: &Name) -> bool {
        arcstr::ArcStr::ptr_eq(&self.0, &other.0)
    }

    /// The text for the life of the process, if the name is static.
    pub fn as_static(&self) -> Option<&'static str> {
        arcstr::ArcStr::as_static(&self.0)
    }

    /// `s` as a static name: the same one for the same text, made once per
    /// process. Past [`INTERNED_NAMES`] distinct names (or for a name longer
    /// than [`INTERNED_NAME_LEN`] bytes) the name is reference-counted
    /// instead, so that names made per request or per record never grow
    /// the process.
    pub fn interned(s: &str) -> Name {
        if s.len() > INTERNED_NAME_LEN {
            return Name(arcstr::ArcStr::from(s));
        }
        let mut names = interned_names()
            .get()
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(found) = names.get(s) {
            return found.clone();
        }
        let name = arcstr::ArcStr::from(s);
        if names.len() < INTERNED_NAMES {
            // Leaked on purpose: a static name is never freed, which is what
            // makes copying it free of atomics.
            name.leak();
            names.insert(Name(name.clone()));
        }
        Name(name)
    }
}

/// How many distinct names [`Name::interned`] keeps for the life of the process.
pub const INTERNED_NAMES: usize = 16_384;
/// Longer names are never kept (see [`Name::interned`]).
pub const INTERNED_NAME_LEN: usize = 256;

impl std::ops::Deref for Name {
    type Target = str;
    #[inline]
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Name {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for Name {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl From<&str> for Name {
    /// A reference-counted name (a copy of `s`); [`Name::interned`] for a
    /// name used again and again.
    fn from(s: &str) -> Name {
        Name(arcstr::ArcStr::from(s))
    }
}

impl From<String> for Name {
    fn from(s: String) -> Name {
        Name(arcstr::ArcStr::from(s))
    }
}

impl From<&String> for Name {
    fn from(s: &String) -> Name {
        Name(arcstr::ArcStr::from(s.as_str()))
    }
}

impl From<Cow<'_, str>> for Name {
    fn from(s: Cow<'_, str>) -> Name {
        Name(arcstr::ArcStr::from(&*s))
    }
}

impl From<&Name> for Name {
    fn from(s: &Name) -> Name {
        s.clone()
    }
}

impl PartialEq<str> for Name {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Name {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<Name> for str {
    fn eq(&self, other: &Name) -> bool {
        self == other.as_str()
    }
}

impl PartialEq<Name> for &str {
    fn eq(&self, other: &Name) -> bool {
        *self == other.as_str()
    }
}

impl PartialEq<String> for Name {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other.as_str()
    }
}

/// The [`Name`] of a string literal, made at compile time: no allocation,
/// no atomic operation (what the logging macros use for field keys).
#[macro_export]
macro_rules! key {
    ($text:expr) => {{
        const KEY: $crate::record::Name =
            $crate::__private::literal_name($crate::__private::arcstr::literal!($text));
        KEY
    }};
}

type Names = Mutex<std::collections::HashSet<Name>>;

/// The interned names. Threads take the lock under Python's interpreter
/// lock, so it is not held across `fork()`; a child that finds it held by
/// a thread of the parent starts a fresh set instead (`fork_cell.rs`).
fn interned_names() -> &'static ForkCell<Names> {
    static NAMES: OnceLock<ForkCell<Names>> = OnceLock::new();
    NAMES.get_or_init(ForkCell::new)
}

/// In a forked child: a fresh set of interned names if a thread of the
/// parent held the lock at the fork (names interned before stay valid:
/// they are never freed).
pub(crate) fn after_fork_in_child() {
    let names = interned_names();
    if matches!(
        names.get().try_lock(),
        Err(std::sync::TryLockError::WouldBlock)
    ) {
        names.replace_in_child();
    }
}
