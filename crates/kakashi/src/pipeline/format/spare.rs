//! Writing a record's bytes straight into a `Vec<u8>`'s spare capacity: room
//! is reserved once, each piece is copied in (short ones by a few fixed-size
//! moves instead of a `memcpy` call), and the vector's length moves once at
//! the end. Why not `Vec::extend_from_slice`: it checks capacity and stores
//! the length on every piece, and calls `memcpy` for every piece whose
//! length is not known at compile time, which on a record of short strings
//! is most of the JSON formatter's work (figures in BENCHMARKS.md, "Design
//! decisions").
//!
//! The one `unsafe` in this module is [`Spare::write`]'s `set_len`: every
//! other access is a bounds-checked slice of `MaybeUninit<u8>`, so a wrong
//! room computation panics (the backend isolates a panicking formatter) and
//! never writes out of bounds. Its tests and the formatter's pass under
//! Miri (`cargo +nightly miri test -p kakashi --lib pipeline::format`).
#![allow(unsafe_code)]

use std::mem::MaybeUninit;

/// A writer over the spare capacity of a vector, made by [`Spare::write`].
pub(crate) struct Spare<'a> {
    buf: &'a mut [MaybeUninit<u8>],
    /// Bytes written from the start of `buf` so far, all initialised.
    written: usize,
}

impl Spare<'_> {
    /// Reserves room for at least `room` more bytes in `vec`, lets `fill`
    /// write into it, and appends what it wrote (nothing if it panics).
    #[inline(always)]
    pub(crate) fn write<R>(
        vec: &mut Vec<u8>,
        room: usize,
        fill: impl FnOnce(&mut Spare<'_>) -> R,
    ) -> R {
        vec.reserve(room);
        let len = vec.len();
        let mut w = Spare {
            buf: vec.spare_capacity_mut(),
            written: 0,
        };
        let result = fill(&mut w);
        let written = w.written;
        // SAFETY: `written` grows only after that many bytes of the spare
        // capacity, from `len` on, were written (`byte`, `put`: each writes
        // the whole slice `next` returned before adding its length), and
        // `next`'s bounds check keeps them within the capacity.
        unsafe { vec.set_len(len + written) };
        result
    }

    /// The next `n` bytes of spare capacity (panics past the capacity).
    #[inline(always)]
    fn next(&mut self, n: usize) -> &mut [MaybeUninit<u8>] {
        let at = self.written;
        &mut self.buf[at..at + n]
    }

    /// Appends one byte.
    #[inline(always)]
    pub(crate) fn byte(&mut self, b: u8) {
        self.next(1)[0].write(b);
        self.written += 1;
    }

    /// Appends `src`.
    #[inline(always)]
    pub(crate) fn put(&mut self, src: &[u8]) {
        copy(self.next(src.len()), src);
        self.written += src.len();
    }
}

/// `dst.copy_from_slice(src)` (equal lengths), without a `memcpy` call up to
/// 64 bytes: two overlapping fixed-size moves cover any length in a range.
#[inline(always)]
fn copy(dst: &mut [MaybeUninit<u8>], src: &[u8]) {
    let n = src.len();
    macro_rules! pair {
        ($k:literal) => {{
            fill(&mut dst[..$k], &src[..$k]);
            fill(&mut dst[n - $k..], &src[n - $k..]);
        }};
    }
    match n {
        0 => {}
        1..=3 => {
            dst[0].write(src[0]);
            dst[n / 2].write(src[n / 2]);
            dst[n - 1].write(src[n - 1]);
        }
        4..=7 => pair!(4),
        8..=15 => pair!(8),
        16..=31 => pair!(16),
        32..=64 => pair!(32),
        _ => fill(dst, src),
    }
}

/// Writes `src` into `dst` (equal lengths; a fixed length becomes a few
/// moves, any other a `memcpy`).
#[inline(always)]
fn fill(dst: &mut [MaybeUninit<u8>], src: &[u8]) {
    debug_assert_eq!(dst.len(), src.len());
    for (d, s) in dst.iter_mut().zip(src) {
        d.write(*s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_length_is_copied_exactly_after_what_was_there() {
        let src: Vec<u8> = (0..200u8).collect();
        for n in 0..=src.len() {
            let mut v = b"head".to_vec();
            Spare::write(&mut v, n + 1, |w| {
                w.put(&src[..n]);
                w.byte(b'!');
            });
            assert_eq!(&v[..4], b"head");
            assert_eq!(&v[4..4 + n], &src[..n], "length {n}");
            assert_eq!(v[4 + n], b'!');
            assert_eq!(v.len(), 5 + n);
        }
    }

    #[test]
    fn a_panic_while_writing_leaves_the_vector_as_it_was() {
        let mut v = b"kept".to_vec();
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            Spare::write(&mut v, 8, |w| {
                w.put(b"dropped");
                panic!("formatter bug");
            })
        }));
        assert!(caught.is_err());
        assert_eq!(v, b"kept");
    }

    #[test]
    fn writing_past_the_capacity_panics_instead_of_overrunning() {
        let mut v = Vec::new();
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            Spare::write(&mut v, 4, |w| w.put(&[7u8; 1 << 16]))
        }));
        assert!(caught.is_err());
        assert!(v.is_empty());
    }
}
