//! The text layouts of the original Kakashi 0.2.2, with UTC clock times (the
//! original prints local time):
//!
//! - `simple_text_formatter`: `HH:MM:SS.mmm | LEVEL    | logger | ctx | message | k=v`
//! - `compact_formatter`: `HH:MM:SS | L | message`
//! - `detailed_formatter`: `[iso] [LEVEL] [logger] [T:tid] [P:pid] [module:line|?] message | Fields: {json} | Context: k=v,...`

use super::{
    write_clock_utc, write_int, write_iso_utc, write_json_object, write_text_str, write_text_value,
};
use crate::pipeline::Formatter;
use crate::record::{Context, Record};

/// `HH:MM:SS.mmm | LEVEL    | logger | ctx | message | k=v`. Built by
/// [`simple_text_formatter`].
#[derive(Clone, Copy, Debug, Default)]
pub struct SimpleTextFormatter;

/// The simple text formatter. `ctx` is `IP:…`, `ACCESS:…`, `USER:…` joined by
/// ` | `, or `N/A`; an attached error follows on the next lines.
pub fn simple_text_formatter() -> SimpleTextFormatter {
    SimpleTextFormatter
}

impl Formatter for SimpleTextFormatter {
    fn format(&self, r: &Record, out: &mut Vec<u8>) {
        write_clock_utc(out, r.timestamp, true);
        out.extend_from_slice(b" | ");
        let name = r.level.name();
        out.extend_from_slice(name.as_bytes());
        out.resize(out.len() + 8usize.saturating_sub(name.len()), b' ');
        out.extend_from_slice(b" | ");
        write_text_str(out, &r.logger);
        out.extend_from_slice(b" | ");
        let ctx = r.context.as_deref();
        let parts: Vec<(&str, &str)> = [
            ("IP:", ctx.and_then(|c| c.ip.as_deref())),
            ("ACCESS:", ctx.and_then(|c| c.access.as_deref())),
            ("USER:", ctx.and_then(|c| c.user_id.as_deref())),
        ]
        .into_iter()
        .filter_map(|(label, v)| v.map(|v| (label, v)))
        .collect();
        if parts.is_empty() {
            out.extend_from_slice(b"N/A");
        }
        for (i, (label, v)) in parts.iter().enumerate() {
            if i > 0 {
                out.extend_from_slice(b" | ");
            }
            out.extend_from_slice(label.as_bytes());
            write_text_str(out, v);
        }
        out.extend_from_slice(b" | ");
        write_text_str(out, &r.message);
        for (k, v) in &r.fields {
            out.extend_from_slice(b" | ");
            out.extend_from_slice(k.as_bytes());
            out.push(b'=');
            write_text_value(out, v);
        }
        if let Some(ex) = r.exception.as_deref() {
            out.extend_from_slice(b"\nException: ");
            out.extend_from_slice(ex.type_name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(ex.message.as_bytes());
            if let Some(tb) = &ex.traceback {
                out.push(b'\n');
                out.extend_from_slice(tb.as_bytes());
            }
        }
    }
}

/// `HH:MM:SS | L | message` (fields are not shown). Built by [`compact_formatter`].
#[derive(Clone, Copy, Debug, Default)]
pub struct CompactFormatter;

/// The compact formatter.
pub fn compact_formatter() -> CompactFormatter {
    CompactFormatter
}

impl Formatter for CompactFormatter {
    fn format(&self, r: &Record, out: &mut Vec<u8>) {
        write_clock_utc(out, r.timestamp, false);
        out.extend_from_slice(b" | ");
        out.push(r.level.name().as_bytes()[0]);
        out.extend_from_slice(b" | ");
        write_text_str(out, &r.message);
    }
}

/// `[iso] [LEVEL] [logger] [T:tid] [P:pid] [module:line|?] message | Fields: … | Context: …`.
/// Built by [`detailed_formatter`].
#[derive(Clone, Copy, Debug, Default)]
pub struct DetailedFormatter;

/// The detailed formatter. Unlike the original, a value JSON cannot hold
/// never makes it fail: it is stringified.
pub fn detailed_formatter() -> DetailedFormatter {
    DetailedFormatter
}

impl Formatter for DetailedFormatter {
    fn format(&self, r: &Record, out: &mut Vec<u8>) {
        out.push(b'[');
        write_iso_utc(out, r.timestamp);
        out.extend_from_slice(b"] [");
        out.extend_from_slice(r.level.name().as_bytes());
        out.extend_from_slice(b"] [");
        write_text_str(out, &r.logger);
        out.extend_from_slice(b"] [T:");
        write_int(out, r.thread.thread_id);
        out.extend_from_slice(b"] [P:");
        write_int(out, r.thread.process_id);
        out.extend_from_slice(b"] [");
        match r.source {
            Some(src) => {
                out.extend_from_slice(src.module.as_bytes());
                out.push(b':');
                write_int(out, src.line);
            }
            None => out.push(b'?'),
        }
        out.extend_from_slice(b"] ");
        write_text_str(out, &r.message);
        if !r.fields.is_empty() {
            out.extend_from_slice(b" | Fields: ");
            write_json_object(out, &r.fields);
        }
        if let Some(ctx) = r.context.as_deref().filter(|c| !c.is_empty()) {
            out.extend_from_slice(b" | Context: ");
            write_context_pairs(out, ctx);
        }
    }
}

fn write_context_pairs(out: &mut Vec<u8>, ctx: &Context) {
    let mut first = true;
    for (key, value) in ctx.named() {
        if let Some(value) = value {
            if !std::mem::take(&mut first) {
                out.push(b',');
            }
            let key = if key == "user_id" { "user" } else { key };
            out.extend_from_slice(key.as_bytes());
            out.push(b'=');
            write_text_str(out, value);
        }
    }
    for (key, value) in &ctx.custom {
        if !std::mem::take(&mut first) {
            out.push(b',');
        }
        out.extend_from_slice(key.as_bytes());
        out.push(b'=');
        write_text_value(out, value);
    }
}
