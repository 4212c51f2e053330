//! `default_json_formatter`: one JSON object per record, in the original's
//! key order (reference §3.3): timestamp, datetime, level, level_value,
//! logger, message, then fields, context, source, threading, exception when
//! present.

use super::{
    write_epoch_secs, write_int, write_iso_utc, write_json_object, write_json_str, write_json_value,
};
use crate::pipeline::Formatter;
use crate::record::{show, Record};

/// The original's JSON line. Built by [`default_json_formatter`].
#[derive(Clone, Copy, Debug, Default)]
pub struct JsonFormatter;

/// The JSON formatter: the original's keys and shapes, with a real UTC
/// instant in `datetime` (`+00:00`, never local time).
pub fn default_json_formatter() -> JsonFormatter {
    JsonFormatter
}

impl Formatter for JsonFormatter {
    fn format(&self, r: &Record, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"timestamp\":");
        write_epoch_secs(out, r.timestamp);
        out.extend_from_slice(b",\"datetime\":\"");
        write_iso_utc(out, r.timestamp);
        out.extend_from_slice(b"\",\"level\":\"");
        out.extend_from_slice(r.level.name().as_bytes());
        out.extend_from_slice(b"\",\"level_value\":");
        write_int(out, r.level.value());
        out.extend_from_slice(b",\"logger\":");
        write_json_str(out, r.logger);
        out.extend_from_slice(b",\"message\":");
        write_json_str(out, &r.message);
        if !r.fields.is_empty() {
            out.extend_from_slice(b",\"fields\":");
            write_json_object(out, &r.fields);
        }
        if let Some(ctx) = r.context.as_deref().filter(|c| !c.is_empty()) {
            out.extend_from_slice(b",\"context\":{");
            let mut first = true;
            let mut sep = |out: &mut Vec<u8>| {
                if !std::mem::take(&mut first) {
                    out.push(b',');
                }
            };
            for (key, value) in ctx.named() {
                if let Some(value) = value {
                    sep(out);
                    write_json_str(out, key);
                    out.push(b':');
                    write_json_str(out, value);
                }
            }
            for (key, value) in &ctx.custom {
                sep(out);
                write_json_str(out, key);
                out.push(b':');
                write_json_value(out, value);
            }
            out.push(b'}');
        }
        if r.show & show::SOURCE != 0 {
            if let Some(src) = r.source {
                out.extend_from_slice(b",\"source\":{\"module\":");
                write_json_str(out, src.module);
                out.extend_from_slice(b",\"line\":");
                write_int(out, src.line);
                out.push(b'}');
            }
        }
        if r.show & show::THREADING != 0 {
            let t = &r.thread;
            out.extend_from_slice(b",\"threading\":{\"thread_id\":");
            write_int(out, t.thread_id);
            if let Some(name) = t.thread_name {
                out.extend_from_slice(b",\"thread_name\":");
                write_json_str(out, name);
            }
            out.extend_from_slice(b",\"process_id\":");
            write_int(out, t.process_id);
            out.push(b'}');
        }
        if let Some(ex) = r.exception.as_deref() {
            out.extend_from_slice(b",\"exception\":{\"type\":");
            write_json_str(out, &ex.type_name);
            out.extend_from_slice(b",\"message\":");
            write_json_str(out, &ex.message);
            if let Some(tb) = &ex.traceback {
                out.extend_from_slice(b",\"traceback\":");
                write_json_str(out, tb);
            }
            out.push(b'}');
        }
        out.push(b'}');
    }
}
