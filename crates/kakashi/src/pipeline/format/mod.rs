//! Formatters: JSON (the original's wire format) and three text layouts, plus
//! the encoding helpers they share.
//!
//! Formatting happens on the worker, into one reusable buffer per batch.
//! Every formatter is infallible: strings are escaped per RFC 8259 section 7,
//! NaN and infinities become strings, nesting deeper than [`MAX_DEPTH`] is cut
//! off with a marker, so each record is exactly one valid line.
//!
//! ```
//! use kakashi::{Formatter, Level, Record};
//! let mut r = Record::new(Level::Info, "app", "line one\nline two");
//! r.fields.push(("price".into(), f64::NAN.into()));
//! let mut out = Vec::new();
//! kakashi::default_json_formatter().format(&r, &mut out);
//! let text = String::from_utf8(out).unwrap();
//! assert!(!text.contains('\n'));
//! assert!(text.contains(r#""message":"line one\nline two""#));
//! assert!(text.contains(r#""fields":{"price":"NaN"}"#));
//! ```

mod json;
mod spare;
mod text;

pub use json::{default_json_formatter, JsonFormatter};
pub use text::{
    compact_formatter, detailed_formatter, simple_text_formatter, CompactFormatter,
    DetailedFormatter, SimpleTextFormatter,
};

use std::cell::Cell;

use crate::record::{Key, Timestamp, Value};
use spare::Spare;

/// Values nested deeper than this are written as the string `"<max depth exceeded>"`.
pub const MAX_DEPTH: usize = 64;

// === JSON encoding (RFC 8259) ===

/// 0 = copy as is; otherwise the escape's second byte, or `u` for `\u00XX`.
static ESCAPE: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut i = 0;
    while i < 0x20 {
        table[i] = b'u';
        i += 1;
    }
    table[b'\x08' as usize] = b'b';
    table[b'\t' as usize] = b't';
    table[b'\n' as usize] = b'n';
    table[b'\x0c' as usize] = b'f';
    table[b'\r' as usize] = b'r';
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table
};

/// Appends `s` as a JSON string literal, quotes included. UTF-8 passes through
/// (the original's `ensure_ascii=False`); `"`, `\` and control characters are
/// escaped (RFC 8259 section 7).
pub fn write_json_str(out: &mut Vec<u8>, s: &str) {
    Spare::write(out, json_str_room(s), |w| w.json_str(s));
}

/// Room for [`write_json_str`] of `s`: for short strings the most it can
/// write (every byte escaped as `\u00XX`, and the quotes), for long ones
/// exactly what it writes, so that a long message does not reserve six
/// times its size in the batch's buffer.
#[inline]
pub(crate) fn json_str_room(s: &str) -> usize {
    if s.len() <= 1024 {
        return s.len() * 6 + 2;
    }
    let escapes: usize = s
        .bytes()
        .map(|b| match ESCAPE[b as usize] {
            0 => 0,
            b'u' => 5,
            _ => 1,
        })
        .sum();
    s.len() + escapes + 2
}

impl Spare<'_> {
    /// [`write_json_str`]; needs [`json_str_room`] bytes of room.
    #[inline(always)]
    pub(crate) fn json_str(&mut self, s: &str) {
        let bytes = s.as_bytes();
        let clean = clean_prefix_len(bytes);
        self.byte(b'"');
        self.put(&bytes[..clean]);
        if clean < bytes.len() {
            self.escaped(&bytes[clean..]);
        }
        self.byte(b'"');
    }

    /// Appends `bytes` escaped (the rare path: the first byte needs it).
    #[cold]
    fn escaped(&mut self, bytes: &[u8]) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut start = 0;
        for (i, &b) in bytes.iter().enumerate() {
            let esc = ESCAPE[b as usize];
            if esc == 0 {
                continue;
            }
            self.put(&bytes[start..i]);
            if esc == b'u' {
                self.put(&[
                    b'\\',
                    b'u',
                    b'0',
                    b'0',
                    HEX[(b >> 4) as usize],
                    HEX[(b & 0xf) as usize],
                ]);
            } else {
                self.put(&[b'\\', esc]);
            }
            start = i + 1;
        }
        self.put(&bytes[start..]);
    }
}

/// How many leading bytes of `bytes` need no escape. Eight bytes at a time
/// (most strings in a record are clean, and keys are short).
#[inline(always)]
fn clean_prefix_len(bytes: &[u8]) -> usize {
    let n = bytes.len();
    // The whole string as one word, when it fits, for the usual clean case:
    // overlapping reads cover every byte at least once.
    let whole = match n {
        0 => return 0,
        1..=3 => Some(u64::from_le_bytes([
            bytes[0],
            bytes[n / 2],
            bytes[n - 1],
            b'a',
            b'a',
            b'a',
            b'a',
            b'a',
        ])),
        4..=8 => {
            let head = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
            let tail = u32::from_le_bytes([bytes[n - 4], bytes[n - 3], bytes[n - 2], bytes[n - 1]]);
            Some(u64::from(head) | u64::from(tail) << 32)
        }
        _ => None,
    };
    let mut i = 0;
    match whole {
        Some(word) if !word_needs_escape(word) => return n,
        Some(_) => {}
        None => {
            while i + 8 <= n {
                if word_needs_escape(word_at(bytes, i)) {
                    break;
                }
                i += 8;
            }
            // Every whole word before `i` is clean; the last eight bytes
            // (which may overlap them) decide the rest in one step.
            if i + 8 > n && !word_needs_escape(word_at(bytes, n - 8)) {
                return n;
            }
        }
    }
    clean_bytes_from(bytes, i)
}

/// Where the first byte needing an escape is, from `i` on.
#[cold]
fn clean_bytes_from(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() && ESCAPE[bytes[i] as usize] == 0 {
        i += 1;
    }
    i
}

#[inline]
fn word_at(bytes: &[u8], i: usize) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&bytes[i..i + 8]);
    u64::from_le_bytes(word)
}

/// Whether any of the eight bytes of `w` is below 0x20, `"` or `\`: the
/// "has a byte less than n" and "has a zero byte" bit tricks, exact for
/// whether any byte matches, which is all that is asked.
#[inline]
fn word_needs_escape(w: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let control = w.wrapping_sub(ONES * 0x20);
    let quote = w ^ (ONES * u64::from(b'"'));
    let backslash = w ^ (ONES * u64::from(b'\\'));
    let hits =
        control | quote.wrapping_sub(ONES) & !quote | backslash.wrapping_sub(ONES) & !backslash;
    hits & !w & HIGH != 0
}

/// The most bytes a scalar value takes as JSON (`None` for lists and maps).
#[inline]
pub(crate) fn scalar_room(value: &Value) -> Option<usize> {
    Some(match value {
        Value::Null | Value::Bool(_) => 5,
        // 20 digits and a sign; the float writer's longest shape (17 digits,
        // sign, point, exponent) or `"-Infinity"`.
        Value::I64(_) | Value::U64(_) | Value::F64(_) => 32,
        Value::Str(s) => json_str_room(s),
        Value::List(_) | Value::Map(_) => return None,
    })
}

impl Spare<'_> {
    /// A scalar value as JSON; needs [`scalar_room`] bytes of room.
    #[inline]
    pub(crate) fn scalar(&mut self, value: &Value) {
        match value {
            Value::Null => self.put(b"null"),
            Value::Bool(true) => self.put(b"true"),
            Value::Bool(false) => self.put(b"false"),
            Value::I64(v) => self.put(itoa::Buffer::new().format(*v).as_bytes()),
            Value::U64(v) => self.put(itoa::Buffer::new().format(*v).as_bytes()),
            Value::F64(v) => self.f64(*v),
            Value::Str(s) => self.json_str(s),
            Value::List(_) | Value::Map(_) => unreachable!("scalar_room said scalar"),
        }
    }

    /// [`write_json_f64`]; needs 32 bytes of room.
    #[inline]
    fn f64(&mut self, v: f64) {
        if v.is_finite() {
            self.put(zmij::Buffer::new().format_finite(v).as_bytes());
        } else if v.is_nan() {
            self.put(b"\"NaN\"");
        } else if v > 0.0 {
            self.put(b"\"Infinity\"");
        } else {
            self.put(b"\"-Infinity\"");
        }
    }

    /// `{"k":v,...}` of entries whose values are all scalars; needs
    /// [`flat_object_room`] bytes of room.
    #[inline]
    pub(crate) fn flat_object(&mut self, entries: &[(Key, Value)]) {
        self.byte(b'{');
        for (i, (key, value)) in entries.iter().enumerate() {
            if i > 0 {
                self.byte(b',');
            }
            self.json_str(key);
            self.byte(b':');
            self.scalar(value);
        }
        self.byte(b'}');
    }

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

/// Room for [`Spare::flat_object`] of `entries`; `None` when a value is a
/// list or a map.
pub(crate) fn flat_object_room(entries: &[(Key, Value)]) -> Option<usize> {
    let mut room = 2;
    for (key, value) in entries {
        room += json_str_room(key) + 2 + scalar_room(value)?;
    }
    Some(room)
}

/// Appends a float as JSON: shortest round-trip digits, shaped like
/// Python's `json.dumps` (`187.5`, `100.0`, `1e+300`); NaN and infinities as the strings `"NaN"`, `"Infinity"`,
/// `"-Infinity"` (JSON has no literal for them).
pub fn write_json_f64(out: &mut Vec<u8>, v: f64) {
    Spare::write(out, 32, |w| w.f64(v));
}

/// Appends an integer.
pub fn write_int(out: &mut Vec<u8>, v: impl itoa::Integer) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

/// Appends a value as JSON.
pub fn write_json_value(out: &mut Vec<u8>, value: &Value) {
    write_json_value_at(out, value, 0)
}

fn write_json_value_at(out: &mut Vec<u8>, value: &Value, depth: usize) {
    if let Some(room) = scalar_room(value) {
        return Spare::write(out, room, |w| w.scalar(value));
    }
    match value {
        _ if depth >= MAX_DEPTH => write_json_str(out, "<max depth exceeded>"),
        Value::List(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_json_value_at(out, item, depth + 1);
            }
            out.push(b']');
        }
        Value::Map(entries) => write_json_object_at(out, entries, depth + 1),
        _ => unreachable!("scalars are written above"),
    }
}

/// Appends `{"k":v,...}` for the entries, in order.
pub fn write_json_object(out: &mut Vec<u8>, entries: &[(Key, Value)]) {
    write_json_object_at(out, entries, 0)
}

fn write_json_object_at(out: &mut Vec<u8>, entries: &[(Key, Value)], depth: usize) {
    if let Some(room) = flat_object_room(entries) {
        return Spare::write(out, room, |w| w.flat_object(entries));
    }
    out.push(b'{');
    for (i, (k, v)) in entries.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_json_str(out, k);
        out.push(b':');
        write_json_value_at(out, v, depth);
    }
    out.push(b'}');
}

// === Python-style text of values (for the text formatters) ===

/// A string as Python's `repr` quotes it here: in single quotes, with
/// the single quotes inside escaped.
fn write_repr_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'\'');
    write_text_str(out, &s.replace('\'', "\\'"));
    out.push(b'\'');
}

/// Appends a value as Python's `str()` would show it: strings bare, `True`,
/// `None`, lists and dicts in repr form. Control characters in strings are
/// escaped so a record stays on one line.
pub fn write_text_value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Str(s) => write_text_str(out, s),
        other => write_repr(out, other, 0),
    }
}

pub(crate) fn write_text_str(out: &mut Vec<u8>, s: &str) {
    for ch in s.chars() {
        match ch {
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.extend_from_slice(format!("\\x{:02x}", c as u32).as_bytes())
            }
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
}

fn write_repr(out: &mut Vec<u8>, value: &Value, depth: usize) {
    match value {
        Value::Null => out.extend_from_slice(b"None"),
        Value::Bool(true) => out.extend_from_slice(b"True"),
        Value::Bool(false) => out.extend_from_slice(b"False"),
        Value::I64(v) => write_int(out, *v),
        Value::U64(v) => write_int(out, *v),
        Value::F64(v) if v.is_nan() => out.extend_from_slice(b"nan"),
        Value::F64(v) if v.is_infinite() => {
            out.extend_from_slice(if *v > 0.0 { b"inf" } else { b"-inf" })
        }
        Value::F64(v) => write_json_f64(out, *v),
        Value::Str(s) => write_repr_str(out, s),
        _ if depth >= MAX_DEPTH => out.extend_from_slice(b"..."),
        Value::List(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.extend_from_slice(b", ");
                }
                write_repr(out, item, depth + 1);
            }
            out.push(b']');
        }
        Value::Map(entries) => {
            out.push(b'{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.extend_from_slice(b", ");
                }
                write_repr_str(out, k);
                out.extend_from_slice(b": ");
                write_repr(out, v, depth + 1);
            }
            out.push(b'}');
        }
    }
}

// === Time ===

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

#[cfg(test)]
mod tests {
    use super::*;

    fn json_str(s: &str) -> String {
        let mut out = Vec::new();
        write_json_str(&mut out, s);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn escapes_quotes_backslashes_and_controls_keeps_utf8() {
        assert_eq!(json_str("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(json_str("\u{1}\n\t"), r#""\u0001\n\t""#);
        assert_eq!(json_str("héllo 🎉"), "\"héllo 🎉\"");
    }

    #[test]
    fn long_strings_reserve_what_they_write() {
        for text in ["a".repeat(5000), "\u{1}\"é".repeat(2000)] {
            let mut out = Vec::new();
            write_json_str(&mut out, &text);
            assert_eq!(json_str_room(&text), out.len());
            assert!(out.capacity() < 2 * out.len(), "{}", out.capacity());
            let back: String = serde_json::from_slice(&out).unwrap();
            assert_eq!(back, text);
        }
    }

    #[test]
    fn floats_are_valid_json_numbers_or_strings() {
        let f = |v: f64| {
            let mut out = Vec::new();
            write_json_f64(&mut out, v);
            String::from_utf8(out).unwrap()
        };
        assert_eq!(f(187.5), "187.5");
        assert_eq!(f(100.0), "100.0");
        assert_eq!(f(f64::INFINITY), "\"Infinity\"");
        assert_eq!(f(f64::NEG_INFINITY), "\"-Infinity\"");
        // Large magnitudes as Python's json.dumps writes them.
        assert_eq!(f(1e16), "1e+16");
        assert_eq!(f(1e15), "1000000000000000.0");
        assert_eq!(f(1.2345678901234568e17), "1.2345678901234568e+17");
        for v in [1e300, -2.5e-300, 0.1] {
            let text = f(v);
            assert_eq!(text.parse::<f64>().unwrap(), v);
        }
    }

    #[test]
    fn utc_dates_match_known_instants() {
        let iso = |secs: u64, micros: u64| {
            let mut out = Vec::new();
            write_iso_utc(&mut out, Timestamp(secs * 1_000_000_000 + micros * 1000));
            String::from_utf8(out).unwrap()
        };
        assert_eq!(
            iso(1_767_225_600, 123_456),
            "2026-01-01T00:00:00.123456+00:00"
        );
        assert_eq!(iso(951_782_400, 0), "2000-02-29T00:00:00+00:00");
        assert_eq!(iso(0, 7), "1970-01-01T00:00:00.000007+00:00");
        assert_eq!(
            iso(1_795_797_667, 876_645),
            "2026-11-27T16:41:07.876645+00:00"
        );
    }

    #[test]
    fn deep_nesting_is_cut_off() {
        let mut v = Value::I64(1);
        for _ in 0..200 {
            v = Value::List(Box::new([v]));
        }
        let mut out = Vec::new();
        write_json_value(&mut out, &v);
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("<max depth exceeded>"));
        assert!(serde_json::from_str::<serde_json::Value>(&text).is_ok());
    }

    #[test]
    fn text_values_look_like_python() {
        let f = |v: Value| {
            let mut out = Vec::new();
            write_text_value(&mut out, &v);
            String::from_utf8(out).unwrap()
        };
        assert_eq!(f(Value::Bool(true)), "True");
        assert_eq!(f(Value::Null), "None");
        assert_eq!(f(Value::from("a\nb")), "a\\nb");
        assert_eq!(
            f(Value::List(Box::new([1.into(), "x".into(), 2.5.into()]))),
            "[1, 'x', 2.5]"
        );
        assert_eq!(f([("k", 1)].into_iter().collect()), "{'k': 1}");
    }
}
