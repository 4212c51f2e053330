//! Formatters: JSON (the original's wire format, shaped variants and the
//! ECS and GCP profiles), the original's three text layouts, the
//! development console line, and the encoding helpers they share.
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

mod console;
mod escape;
mod json;
mod repr;
mod shape;
mod spare;
mod text;
mod time;

pub use console::{console_formatter, Colors, ConsoleFormatter, ConsoleStream};
pub use json::{default_json_formatter, JsonFormatter};
pub use shape::{
    ecs_json_formatter, gcp_json_formatter, JsonProfile, JsonShape, ShapedJsonFormatter,
    ECS_VERSION, JSON_KEYS,
};
pub use text::{
    compact_formatter, detailed_formatter, simple_text_formatter, CompactFormatter,
    DetailedFormatter, SimpleTextFormatter,
};

pub(crate) use escape::{flat_object_room, json_str_room};
pub use escape::{write_int, write_json_f64, write_json_object, write_json_str, write_json_value};
pub(crate) use repr::write_text_str;
pub use repr::write_text_value;
pub(crate) use time::{file_stamp, micros_text, SecondText};
pub use time::{write_clock_utc, write_epoch_secs, write_iso_utc};

/// Values nested deeper than this are written as the string `"<max depth exceeded>"`.
pub const MAX_DEPTH: usize = 64;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Timestamp, Value};

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
            v = Value::list([v]);
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
            f(Value::list([1.into(), "x".into(), 2.5.into()])),
            "[1, 'x', 2.5]"
        );
        assert_eq!(f([("k", 1)].into_iter().collect()), "{'k': 1}");
    }
}
