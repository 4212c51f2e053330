//! The two ready layouts of [`ShapedJsonFormatter`]: Elastic Common Schema
//! (as the ecs-logging libraries write it) and Google Cloud Logging's
//! structured JSON (the fields its agents and Error Reporting read).

use super::super::json::write_string_object;
use super::super::{write_int, write_json_str, write_json_value, write_text_value};
use super::{
    write_frames, write_rfc3339_z, write_threading_object, Sep, ShapedJsonFormatter, ECS_VERSION,
};
use crate::record::{Context, Level, Record, Sections, Value};

/// The top-level keys the ECS layout may write (a flattened field with one
/// of these names is written as `fields.<name>`).
pub(super) const ECS_KEYS: [&str; 15] = [
    "@timestamp",
    "log.level",
    "message",
    "ecs.version",
    "log",
    "process",
    "error",
    "service",
    "client",
    "user",
    "user_agent",
    "http",
    "labels",
    "trace",
    "span",
];

/// The top-level keys the GCP layout may write.
pub(super) const GCP_KEYS: [&str; 12] = [
    "time",
    "severity",
    "message",
    "logger",
    "logging.googleapis.com/sourceLocation",
    "logging.googleapis.com/labels",
    "logging.googleapis.com/trace",
    "logging.googleapis.com/spanId",
    "threading",
    "exception",
    "stack_trace",
    "@type",
];

/// The `@type` that tells Error Reporting an entry without a stack trace is
/// an error event.
const REPORTED_ERROR_EVENT: &str =
    "type.googleapis.com/google.devtools.clouderrorreporting.v1beta1.ReportedErrorEvent";

fn lower_level(level: Level) -> &'static str {
    match level {
        Level::Debug => "debug",
        Level::Info => "info",
        Level::Warning => "warning",
        Level::Error => "error",
        Level::Critical => "critical",
    }
}

/// Whether a field is one the profile moves into its own place.
fn is_trace_field(key: &str) -> bool {
    key == "trace_id" || key == "span_id"
}

impl ShapedJsonFormatter {
    pub(super) fn ecs(&self, r: &Record, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"@timestamp\":");
        write_rfc3339_z(out, r);
        out.extend_from_slice(b",\"log.level\":");
        write_json_str(out, lower_level(r.level));
        out.extend_from_slice(b",\"message\":");
        write_json_str(out, &r.message);
        out.extend_from_slice(b",\"ecs.version\":");
        write_json_str(out, ECS_VERSION);
        out.extend_from_slice(b",\"log\":{\"logger\":");
        write_json_str(out, &r.logger);
        if let Some(src) = r.source {
            out.extend_from_slice(b",\"origin\":{\"file\":{\"name\":");
            write_json_str(out, src.file);
            out.extend_from_slice(b",\"line\":");
            write_int(out, src.line);
            out.extend_from_slice(b"},\"function\":");
            write_json_str(out, src.function.unwrap_or(src.module));
            out.push(b'}');
        }
        out.extend_from_slice(b"},\"process\":{\"pid\":");
        let t = &r.thread;
        write_int(out, t.process_id);
        out.extend_from_slice(b",\"thread\":{\"id\":");
        write_int(out, t.thread_id);
        if let Some(name) = &t.thread_name {
            out.extend_from_slice(b",\"name\":");
            write_json_str(out, name);
        }
        out.extend_from_slice(b"}}");
        if let Some(ex) = r.exception.as_deref() {
            out.extend_from_slice(b",\"error\":{\"type\":");
            write_json_str(out, &ex.type_name);
            out.extend_from_slice(b",\"message\":");
            write_json_str(out, &ex.message);
            let trace = ex.python_stack_trace();
            if let Some(tb) = trace.as_deref().or(ex.traceback.as_deref()) {
                out.extend_from_slice(b",\"stack_trace\":");
                write_json_str(out, tb);
            }
            out.push(b'}');
        }
        if let Some(ctx) = r.context.as_deref() {
            write_ecs_context(out, ctx);
        }
        for (key, object) in [("trace_id", "trace"), ("span_id", "span")] {
            if let Some(v) = r.field(key) {
                out.extend_from_slice(b",");
                write_json_str(out, object);
                out.extend_from_slice(b":{\"id\":");
                write_json_value(out, v);
                out.push(b'}');
            }
        }
        let mut sep = Sep(false);
        self.flat_fields(out, &mut sep, r, is_trace_field);
        out.push(b'}');
    }

    pub(super) fn gcp(&self, r: &Record, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"time\":");
        write_rfc3339_z(out, r);
        out.extend_from_slice(b",\"severity\":");
        write_json_str(out, r.level.name());
        out.extend_from_slice(b",\"message\":");
        write_json_str(out, &r.message);
        out.extend_from_slice(b",\"logger\":");
        write_json_str(out, &r.logger);
        // Where the call was made; for an exception without a call site,
        // where it was raised (its innermost frame).
        let frame = r.exception.as_deref().and_then(|ex| ex.frames.last());
        if let Some(src) = r.source {
            out.extend_from_slice(b",\"logging.googleapis.com/sourceLocation\":{\"file\":");
            write_json_str(out, src.file);
            out.extend_from_slice(b",\"line\":");
            write_int(out, src.line);
            out.extend_from_slice(b",\"function\":");
            write_json_str(out, src.function.unwrap_or(src.module));
            out.push(b'}');
        } else if let Some(f) = frame {
            out.extend_from_slice(b",\"logging.googleapis.com/sourceLocation\":{\"file\":");
            write_json_str(out, &f.file);
            out.extend_from_slice(b",\"line\":");
            write_int(out, f.line);
            out.extend_from_slice(b",\"function\":");
            write_json_str(out, &f.function);
            out.push(b'}');
        }
        if let Some(ctx) = r.context.as_deref().filter(|c| !c.is_empty()) {
            // Labels are string to string.
            out.extend_from_slice(b",\"logging.googleapis.com/labels\":");
            write_string_object(out, ctx.named(), &ctx.custom, write_label);
        }
        if let Some(id) = r.field("trace_id") {
            out.extend_from_slice(b",\"logging.googleapis.com/trace\":");
            match &self.gcp_project {
                Some(project) => {
                    let mut text = Vec::new();
                    text.extend_from_slice(b"projects/");
                    text.extend_from_slice(project.as_bytes());
                    text.extend_from_slice(b"/traces/");
                    write_text_value(&mut text, id);
                    write_json_str(out, &String::from_utf8_lossy(&text));
                }
                None => write_label(out, id),
            }
        }
        if let Some(id) = r.field("span_id") {
            out.extend_from_slice(b",\"logging.googleapis.com/spanId\":");
            write_label(out, id);
        }
        if r.sections.contains(Sections::THREADING) {
            out.extend_from_slice(b",\"threading\":");
            write_threading_object(out, &r.thread);
        }
        if let Some(ex) = r.exception.as_deref() {
            out.extend_from_slice(b",\"exception\":{\"type\":");
            write_json_str(out, &ex.type_name);
            out.extend_from_slice(b",\"message\":");
            write_json_str(out, &ex.message);
            out.extend_from_slice(b",\"frames\":");
            write_frames(out, ex);
            out.push(b'}');
            // Error Reporting reads `stack_trace` first, and wants it in the
            // language's own shape; without one, `@type` marks the entry as
            // an error event.
            match ex.python_stack_trace() {
                Some(tb) => {
                    out.extend_from_slice(b",\"stack_trace\":");
                    write_json_str(out, &tb);
                }
                None => {
                    out.extend_from_slice(b",\"@type\":");
                    write_json_str(out, REPORTED_ERROR_EVENT);
                }
            }
        }
        let mut sep = Sep(false);
        self.flat_fields(out, &mut sep, r, is_trace_field);
        out.push(b'}');
    }
}

/// A value as a label's string (`str()` of non-strings).
fn write_label(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Str(s) => write_json_str(out, s),
        other => {
            let mut text = Vec::new();
            write_text_value(&mut text, other);
            write_json_str(out, &String::from_utf8_lossy(&text));
        }
    }
}

/// The request context as ECS fields: `service.*`, `client.ip`, `user.id`,
/// `user_agent.original`, `http.request.id`; the rest (`access`,
/// `session_id`, custom keys) under `labels`.
fn write_ecs_context(out: &mut Vec<u8>, ctx: &Context) {
    let object = |out: &mut Vec<u8>, name: &str, entries: &[(&str, Option<&str>)]| {
        if entries.iter().all(|(_, v)| v.is_none()) {
            return;
        }
        out.push(b',');
        write_json_str(out, name);
        out.extend_from_slice(b":{");
        let mut sep = Sep::new();
        for (k, v) in entries {
            if let Some(v) = v {
                sep.key(out, k);
                write_json_str(out, v);
            }
        }
        out.push(b'}');
    };
    object(
        out,
        "service",
        &[
            ("name", ctx.service_name.as_deref()),
            ("version", ctx.version.as_deref()),
            ("environment", ctx.environment.as_deref()),
        ],
    );
    object(out, "client", &[("ip", ctx.ip.as_deref())]);
    object(out, "user", &[("id", ctx.user_id.as_deref())]);
    object(
        out,
        "user_agent",
        &[("original", ctx.user_agent.as_deref())],
    );
    if let Some(id) = ctx.request_id.as_deref() {
        out.extend_from_slice(b",\"http\":{\"request\":{\"id\":");
        write_json_str(out, id);
        out.extend_from_slice(b"}}");
    }
    let named = [
        ("access", ctx.access.as_deref()),
        ("session_id", ctx.session_id.as_deref()),
    ];
    if named.iter().any(|(_, v)| v.is_some()) || !ctx.custom.is_empty() {
        out.extend_from_slice(b",\"labels\":");
        write_string_object(out, named, &ctx.custom, write_json_value);
    }
}
