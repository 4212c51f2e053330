//! Timestamps as text: the civil calendar, a per-thread cache of the
//! current second's text, and the layouts the formatters print.

use std::cell::Cell;

use super::spare::Spare;
use crate::record::Timestamp;

/// Civil date (year, month, day) of a day count since 1970-01-01
/// (Howard Hinnant's `civil_from_days`, exact for the proleptic Gregorian calendar).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// The text of one second, cached per thread for the current second:
/// records of one second share the work.
#[derive(Clone, Copy)]
pub(crate) struct SecondText {
    secs: u64,
    /// `YYYY-MM-DDTHH:MM:SS` (UTC).
    pub(crate) iso: [u8; 19],
    /// The epoch seconds in decimal: `digits[..digits_len]`.
    digits: [u8; 20],
    digits_len: u8,
}

impl SecondText {
    /// The text of `secs` (epoch seconds), from this thread's cache.
    #[inline]
    pub(crate) fn of(secs: u64) -> SecondText {
        thread_local! {
            static CACHE: Cell<SecondText> = const {
                Cell::new(SecondText { secs: u64::MAX, iso: [0; 19], digits: [0; 20], digits_len: 0 })
            };
        }
        CACHE
            .try_with(|cache| {
                let cached = cache.get();
                if cached.secs == secs {
                    return cached;
                }
                let fresh = SecondText::compute(secs);
                cache.set(fresh);
                fresh
            })
            .unwrap_or_else(|_| SecondText::compute(secs))
    }

    #[cold]
    fn compute(secs: u64) -> SecondText {
        let days = (secs / 86_400) as i64;
        let rem = secs % 86_400;
        let (y, mo, d) = civil_from_days(days);
        let (h, mi, s) = (rem / 3600, (rem / 60) % 60, rem % 60);
        let text = format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}");
        let mut iso = [0u8; 19];
        let n = text.len().min(19);
        iso[..n].copy_from_slice(&text.as_bytes()[..n]);
        let mut itoa = itoa::Buffer::new();
        let decimal = itoa.format(secs).as_bytes();
        let mut digits = [0u8; 20];
        digits[..decimal.len()].copy_from_slice(decimal);
        SecondText {
            secs,
            iso,
            digits,
            digits_len: decimal.len() as u8,
        }
    }

    /// The epoch seconds in decimal.
    #[inline]
    pub(crate) fn digits(&self) -> &[u8] {
        &self.digits[..usize::from(self.digits_len)]
    }
}

/// `.ffffff`: six digits of microseconds after a dot.
#[inline]
pub(crate) fn micros_text(micros: u32) -> [u8; 7] {
    fraction_text(micros, 6)
}

/// A dot and the last `digits` (at most 6) decimal digits of `value`, in
/// the first `digits + 1` bytes.
#[inline]
fn fraction_text(value: u32, digits: usize) -> [u8; 7] {
    let mut text = [b'.'; 7];
    let mut v = value;
    for slot in text[1..=digits].iter_mut().rev() {
        *slot = b'0' + (v % 10) as u8;
        v /= 10;
    }
    text
}

/// Appends the ISO 8601 UTC instant with microseconds and offset, in the shape
/// of Python's `datetime.isoformat()`: `2026-01-01T00:00:00.123456+00:00`
/// (no fraction when it is zero).
pub fn write_iso_utc(out: &mut Vec<u8>, ts: Timestamp) {
    let micros = ts.subsec_micros();
    let second = SecondText::of(ts.secs());
    Spare::write(out, 32, |w| {
        w.iso_utc(&second, micros, &micros_text(micros))
    });
}

/// `2026-12-02T13-00-00`: the UTC second as a file name's part (sortable,
/// no `:`).
pub(crate) fn file_stamp(secs: u64) -> String {
    let text = SecondText::of(secs);
    String::from_utf8_lossy(&text.iso[..19]).replace(':', "-")
}

/// Appends `HH:MM:SS` (UTC) and, if `millis`, `.mmm`.
pub fn write_clock_utc(out: &mut Vec<u8>, ts: Timestamp, millis: bool) {
    out.extend_from_slice(&SecondText::of(ts.secs()).iso[11..19]);
    if millis {
        out.extend_from_slice(&fraction_text(ts.subsec_micros() / 1000, 3)[..4]);
    }
}

/// Appends epoch seconds as a JSON number with microseconds (`1767225600.123456`).
pub fn write_epoch_secs(out: &mut Vec<u8>, ts: Timestamp) {
    let second = SecondText::of(ts.secs());
    Spare::write(out, 27, |w| {
        w.epoch_secs(&second, &micros_text(ts.subsec_micros()))
    });
}

impl Spare<'_> {
    /// Epoch seconds as a JSON number with microseconds, from the second's
    /// text and the fraction ([`micros_text`]); needs 27 bytes of room.
    #[inline]
    pub(crate) fn epoch_secs(&mut self, second: &SecondText, fraction: &[u8; 7]) {
        self.put(second.digits());
        self.put(fraction);
    }

    /// [`write_iso_utc`] from the second's text and the fraction of its
    /// `micros`; needs 32 bytes of room.
    #[inline]
    pub(crate) fn iso_utc(&mut self, second: &SecondText, micros: u32, fraction: &[u8; 7]) {
        self.put(&second.iso);
        if micros != 0 {
            self.put(fraction);
        }
        self.put(b"+00:00");
    }
}
