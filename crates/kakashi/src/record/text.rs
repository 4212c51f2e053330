//! [`Text`]: a message's or a string value's text, in two words.
//!
//! The one `unsafe` here rebuilds a `&str` or a `Box<str>` from the parts
//! this type keeps (two words instead of three); the unit tests below run
//! under Miri in the test command where the toolchain has it.

#![allow(unsafe_code)]

use std::borrow::{Borrow, Cow};
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ptr::NonNull;

/// A string that is either borrowed for the life of the program (a literal:
/// no allocation, nothing to free) or owned (moved in from a `String`).
///
/// What it is for: a record is copied whole into a queue slot, and it holds
/// a string per field and one for its message, so the size of a string is
/// paid many times per slot. `Text` is two words where `Cow<'static, str>`
/// is three, and it leaves a niche that lets [`Value`](super::Value) be two
/// words as well. The alternatives: a reference-counted string (one word)
/// would copy every owned `String` and could not borrow a literal without a
/// macro seeing the literal; `Box<str>` or `&'static str` alone cover only
/// one of the two cases.
///
/// Invariant: `ptr` and `len` are the address and length of valid UTF-8
/// that lives as long as `kind` says: for `Static`, forever; for `Owned`, a
/// `Box<str>` this value owns, freed when it drops; for `Long` (text of 4
/// GiB or more, whose length does not fit `len`), `ptr` is an owned
/// `Box<Box<str>>`.
pub struct Text {
    ptr: NonNull<u8>,
    len: u32,
    kind: Kind,
}

#[derive(Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Kind {
    Static,
    Owned,
    Long,
}

// SAFETY: a `Text` is a `&'static str` or owns its text like a `Box<str>`:
// both are `Send` and `Sync`, and `Text` has no interior mutability.
unsafe impl Send for Text {}
// SAFETY: see `Send` above.
unsafe impl Sync for Text {}

// Two words, and a spare byte pattern in `kind` for `Value` to use.
const _: () = assert!(std::mem::size_of::<Text>() == 16);
const _: () = assert!(std::mem::size_of::<Option<Text>>() == 16);

impl Text {
    /// A literal's text: no allocation, nothing to free.
    pub const fn from_static(s: &'static str) -> Text {
        if s.len() > u32::MAX as usize {
            // No literal is this long; kept correct rather than assumed.
            panic!("a static text of 4 GiB or more");
        }
        Text {
            // SAFETY: a reference's pointer is never null (dangling, but
            // not null, when the string is empty).
            ptr: unsafe { NonNull::new_unchecked(s.as_ptr() as *mut u8) },
            len: s.len() as u32,
            kind: Kind::Static,
        }
    }

    /// The text.
    #[inline]
    pub fn as_str(&self) -> &str {
        match self.kind {
            // SAFETY: the invariant: `ptr` points to a live `Box<str>`
            // owned by `self`.
            Kind::Long => unsafe { &*self.ptr.cast::<Box<str>>().as_ptr() },
            // SAFETY: the invariant: `ptr..ptr + len` is UTF-8 that lives
            // at least as long as `self` (forever, or until `self` drops).
            _ => unsafe {
                std::str::from_utf8_unchecked(std::slice::from_raw_parts(
                    self.ptr.as_ptr(),
                    self.len as usize,
                ))
            },
        }
    }

    /// The text for the life of the program, if it is borrowed (a literal).
    pub fn as_static(&self) -> Option<&'static str> {
        match self.kind {
            // SAFETY: `Static` text lives forever (the invariant).
            Kind::Static => Some(unsafe {
                std::str::from_utf8_unchecked(std::slice::from_raw_parts(
                    self.ptr.as_ptr(),
                    self.len as usize,
                ))
            }),
            _ => None,
        }
    }

    /// The text as a `String` (no copy when it is owned).
    pub fn into_string(self) -> String {
        let this = std::mem::ManuallyDrop::new(self);
        match this.kind {
            Kind::Static => this.as_str().to_owned(),
            // SAFETY: `self` owns the box (the invariant) and, being
            // `ManuallyDrop`, will not free it again.
            Kind::Owned => unsafe { this.owned_box() }.into_string(),
            Kind::Long => {
                // SAFETY: as above, for the outer box.
                let outer = unsafe { Box::from_raw(this.ptr.cast::<Box<str>>().as_ptr()) };
                outer.into_string()
            }
        }
    }

    /// Rebuilds the owned box of an `Owned` text.
    ///
    /// # Safety
    /// `self.kind` is `Owned`, and the box is not used or freed through
    /// `self` afterwards.
    unsafe fn owned_box(&self) -> Box<str> {
        let slice = std::ptr::slice_from_raw_parts_mut(self.ptr.as_ptr(), self.len as usize);
        // SAFETY: the caller's contract and the invariant: this is the
        // pointer and length `Box::into_raw` gave for a `Box<str>`.
        unsafe { Box::from_raw(slice as *mut str) }
    }

    fn from_box(s: Box<str>) -> Text {
        let len = s.len();
        if len > u32::MAX as usize {
            return Text::long(s);
        }
        let raw = Box::into_raw(s);
        Text {
            // SAFETY: `Box::into_raw` never returns null.
            ptr: unsafe { NonNull::new_unchecked(raw.cast::<u8>()) },
            len: len as u32,
            kind: Kind::Owned,
        }
    }
}

impl Text {
    /// Text whose length does not fit `len`: boxed once more.
    fn long(s: Box<str>) -> Text {
        let outer = Box::into_raw(Box::new(s));
        Text {
            // SAFETY: `Box::into_raw` never returns null.
            ptr: unsafe { NonNull::new_unchecked(outer.cast::<u8>()) },
            len: 0,
            kind: Kind::Long,
        }
    }
}

impl Drop for Text {
    /// Inline, so that dropping a literal's text (most of a record's
    /// strings) is one test where it is dropped.
    #[inline]
    fn drop(&mut self) {
        if self.kind != Kind::Static {
            self.free();
        }
    }
}

impl Text {
    /// Frees an owned text's box (the slow half of `drop`).
    #[inline(never)]
    fn free(&mut self) {
        match self.kind {
            Kind::Static => {}
            // SAFETY: `self` owns the box (the invariant) and, being
            // dropped, is never used again.
            Kind::Owned => drop(unsafe { self.owned_box() }),
            // SAFETY: as above, for the outer box.
            Kind::Long => drop(unsafe { Box::from_raw(self.ptr.cast::<Box<str>>().as_ptr()) }),
        }
    }
}

impl Clone for Text {
    fn clone(&self) -> Text {
        match self.kind {
            Kind::Static => Text {
                ptr: self.ptr,
                len: self.len,
                kind: Kind::Static,
            },
            _ => Text::from(self.as_str().to_owned()),
        }
    }
}

impl Default for Text {
    fn default() -> Text {
        Text::from_static("")
    }
}

impl std::ops::Deref for Text {
    type Target = str;
    #[inline]
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for Text {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl From<&'static str> for Text {
    #[inline]
    fn from(s: &'static str) -> Text {
        Text::from_static(s)
    }
}

impl From<String> for Text {
    /// Moves the string in; its spare capacity, if any, is given back.
    fn from(s: String) -> Text {
        Text::from_box(s.into_boxed_str())
    }
}

impl From<Box<str>> for Text {
    fn from(s: Box<str>) -> Text {
        Text::from_box(s)
    }
}

impl From<Cow<'static, str>> for Text {
    fn from(s: Cow<'static, str>) -> Text {
        match s {
            Cow::Borrowed(s) => Text::from_static(s),
            Cow::Owned(s) => Text::from(s),
        }
    }
}

impl From<Text> for String {
    fn from(t: Text) -> String {
        t.into_string()
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_str(), f)
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Text) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Text {}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialOrd for Text {
    fn partial_cmp(&self, other: &Text) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Text {
    fn cmp(&self, other: &Text) -> std::cmp::Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl Hash for Text {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_literal_is_borrowed_and_an_owned_string_is_moved_in() {
        let lit = Text::from("AAPL");
        assert_eq!(lit.as_static(), Some("AAPL"));
        assert_eq!(lit.as_str().as_ptr(), "AAPL".as_ptr());

        let s = String::from("owned text");
        let at = s.as_ptr();
        let owned = Text::from(s);
        assert_eq!(owned, "owned text");
        assert_eq!(owned.as_static(), None);
        assert_eq!(owned.as_ptr(), at, "moved, not copied");
        let back = owned.into_string();
        assert_eq!(back.as_ptr(), at);
    }

    #[test]
    fn clones_drops_and_conversions_keep_the_text() {
        let mut spare = String::with_capacity(64);
        spare.push_str("héllo");
        for t in [
            Text::from(spare),
            Text::from(String::new()),
            Text::from(""),
            Text::from(Cow::Borrowed("static")),
            Text::from(Cow::Owned("cow".to_owned())),
            Text::from(Box::<str>::from("boxed")),
            Text::default(),
        ] {
            let copy = t.clone();
            assert_eq!(copy, t);
            assert_eq!(copy.as_str(), t.as_str());
            assert_eq!(format!("{t}"), t.as_str());
            assert_eq!(format!("{t:?}"), format!("{:?}", t.as_str()));
            let back: String = copy.into();
            assert_eq!(back, t.as_str());
        }
    }

    #[test]
    fn text_too_long_for_the_length_field_is_kept_whole() {
        // The 4 GiB case itself, by its constructor (allocating 4 GiB in a
        // test would cost more than it shows).
        let t = Text::long(Box::from("long text"));
        assert_eq!(t, "long text");
        assert_eq!(t.clone(), t);
        assert_eq!(t.as_static(), None);
        assert_eq!(t.into_string(), "long text");
        drop(Text::long(Box::from("dropped")));
    }

    #[test]
    fn empty_owned_text_round_trips() {
        let t = Text::from(String::new());
        assert_eq!(t.len(), 0);
        assert_eq!(t.into_string(), "");
    }
}
