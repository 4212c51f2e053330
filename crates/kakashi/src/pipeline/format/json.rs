//! `default_json_formatter`: one JSON object per record, in the key order of
//! the original Kakashi 0.2.2 (its `LogRecord.to_dict`): timestamp,
//! datetime, level, level_value, logger, message, then fields, context,
//! source, threading, exception when present.

use super::spare::Spare;
use super::{
    flat_object_room, json_str_room, micros_text, write_int, write_json_object, write_json_str,
    write_json_value, SecondText,
};
use crate::pipeline::Formatter;
use crate::record::{
    Context, Exception, Field, Level, Record, Sections, Source, ThreadInfo, Value,
};

/// The original's JSON line. Built by [`default_json_formatter`].
#[derive(Clone, Copy, Debug, Default)]
pub struct JsonFormatter;

/// The JSON formatter: the original's keys and shapes, with a real UTC
/// instant in `datetime` (`+00:00`, never local time).
pub fn default_json_formatter() -> JsonFormatter {
    JsonFormatter
}

/// Room for everything before the logger's name: `{"timestamp":`, the
/// epoch seconds (27: `Spare::epoch_secs`), `,"datetime":"`, the instant
/// (32: `Spare::iso_utc`), `","level":"` and the longest level's part.
const HEAD_ROOM: usize = 13 + 27 + 13 + 32 + 11 + 40;

/// `LEVEL","level_value":N,"logger":`, what follows `"level":"`.
fn level_part(level: Level) -> &'static [u8] {
    match level {
        Level::Debug => b"DEBUG\",\"level_value\":10,\"logger\":",
        Level::Info => b"INFO\",\"level_value\":20,\"logger\":",
        Level::Warning => b"WARNING\",\"level_value\":30,\"logger\":",
        Level::Error => b"ERROR\",\"level_value\":40,\"logger\":",
        Level::Critical => b"CRITICAL\",\"level_value\":50,\"logger\":",
    }
}

impl Formatter for JsonFormatter {
    fn format(&self, r: &Record, out: &mut Vec<u8>) {
        // `"fields":{...}` in the same go when every value is a scalar (the
        // usual case).
        let fields_room = flat_object_room(&r.fields).map(|room| room + b",\"fields\":".len());
        let room = HEAD_ROOM
            + json_str_room(&r.logger)
            + b",\"message\":".len()
            + json_str_room(&r.message)
            + fields_room.unwrap_or(0);
        Spare::write(out, room, |w| {
            let ts = r.timestamp;
            let second = SecondText::of(ts.secs());
            let micros = ts.subsec_micros();
            let fraction = micros_text(micros);
            w.put(b"{\"timestamp\":");
            w.epoch_secs(&second, &fraction);
            w.put(b",\"datetime\":\"");
            w.iso_utc(&second, micros, &fraction);
            w.put(b"\",\"level\":\"");
            w.put(level_part(r.level));
            w.json_str(&r.logger);
            w.put(b",\"message\":");
            w.json_str(&r.message);
            if fields_room.is_some() && !r.fields.is_empty() {
                w.put(b",\"fields\":");
                w.flat_object(&r.fields);
            }
        });
        if fields_room.is_none() {
            out.extend_from_slice(b",\"fields\":");
            write_json_object(out, &r.fields);
        }
        if let Some(ctx) = r.context.as_deref().filter(|c| !c.is_empty()) {
            out.extend_from_slice(b",\"context\":");
            write_context_object(out, ctx);
        }
        if r.sections.contains(Sections::SOURCE) {
            if let Some(src) = r.source {
                out.extend_from_slice(b",\"source\":");
                write_source_object(out, src);
            }
        }
        if r.sections.contains(Sections::THREADING) {
            out.extend_from_slice(b",\"threading\":");
            write_threading_object(out, &r.thread);
        }
        if let Some(ex) = r.exception.as_deref() {
            out.extend_from_slice(b",\"exception\":");
            write_exception_head(out, ex);
            out.push(b'}');
        }
        out.push(b'}');
    }
}

// The sections after `fields`, as the original writes them; the shaped
// layouts (`shape/`) write the same objects under their own keys.

/// The context object: the named keys that are set, then custom ones.
pub(super) fn write_context_object(out: &mut Vec<u8>, ctx: &Context) {
    write_string_object(out, ctx.named(), &ctx.custom, write_json_value);
}

/// A JSON object of `named` string entries that are set, then `custom`
/// ones, each value written by `write_custom`: the context object, and the
/// shaped layouts' label objects (which take fewer named keys, and may turn
/// custom values into strings).
pub(super) fn write_string_object<'a>(
    out: &mut Vec<u8>,
    named: impl IntoIterator<Item = (&'a str, Option<&'a str>)>,
    custom: &[Field],
    write_custom: fn(&mut Vec<u8>, &Value),
) {
    out.push(b'{');
    let mut first = true;
    let mut key = |out: &mut Vec<u8>, key: &str| {
        if !std::mem::take(&mut first) {
            out.push(b',');
        }
        write_json_str(out, key);
        out.push(b':');
    };
    for (name, value) in named {
        if let Some(value) = value {
            key(out, name);
            write_json_str(out, value);
        }
    }
    for (name, value) in custom {
        key(out, name);
        write_custom(out, value);
    }
    out.push(b'}');
}

/// `{"module", "function" (when known), "line"}`, the original's shape.
pub(super) fn write_source_object(out: &mut Vec<u8>, src: &Source) {
    out.extend_from_slice(b"{\"module\":");
    write_json_str(out, src.module);
    if let Some(function) = src.function {
        out.extend_from_slice(b",\"function\":");
        write_json_str(out, function);
    }
    out.extend_from_slice(b",\"line\":");
    write_int(out, src.line);
    out.push(b'}');
}

/// `{"thread_id", "thread_name" (when known), "process_id"}`.
pub(super) fn write_threading_object(out: &mut Vec<u8>, t: &ThreadInfo) {
    out.extend_from_slice(b"{\"thread_id\":");
    write_int(out, t.thread_id);
    if let Some(name) = &t.thread_name {
        out.extend_from_slice(b",\"thread_name\":");
        write_json_str(out, name);
    }
    out.extend_from_slice(b",\"process_id\":");
    write_int(out, t.process_id);
    out.push(b'}');
}

/// The exception object without its closing brace: `{"type", "message",
/// "traceback" (when known)`; a shaped layout may add `frames` before
/// closing it.
pub(super) fn write_exception_head(out: &mut Vec<u8>, ex: &Exception) {
    out.extend_from_slice(b"{\"type\":");
    write_json_str(out, &ex.type_name);
    out.extend_from_slice(b",\"message\":");
    write_json_str(out, &ex.message);
    if let Some(tb) = &ex.traceback {
        out.extend_from_slice(b",\"traceback\":");
        write_json_str(out, tb);
    }
}
