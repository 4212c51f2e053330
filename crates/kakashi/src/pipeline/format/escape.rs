//! JSON encoding (RFC 8259): string escaping, numbers, values and flat
//! objects, written straight into the batch buffer.

use super::spare::Spare;
use super::MAX_DEPTH;
use crate::record::{Key, Value};

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
