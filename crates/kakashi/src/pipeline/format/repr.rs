//! Values as Python's `str()` and `repr()` show them, for the text
//! formatters (the original's text layouts print fields that way).

use super::escape::{write_int, write_json_f64};
use super::MAX_DEPTH;
use crate::record::Value;

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
