//! What comes out: JSON shape control (rename, drop, flatten), the ECS and
//! Google Cloud Logging profiles checked against the fields those products
//! require, structured exception frames without locals, and the development
//! console line (colours only where asked, no placeholders).

use std::sync::Arc;

use kakashi::testing::MemoryWriter;
use kakashi::{
    default_json_formatter, ecs_json_formatter, exception_enricher, gcp_json_formatter,
    source_enricher, thread_enricher, Backend, Colors, ConsoleFormatter, ConsoleStream, Context,
    Enricher, Environment, EnvironmentConfig, Exception, Formatter, FormatterKind, Frame,
    JsonProfile, JsonShape, Level, PipelineConfig, Record, Source, Timestamp,
};
use serde_json::Value as Json;

static SRC: Source = Source {
    module: "shop::checkout",
    file: "src/checkout.rs",
    line: 42,
    function: None,
};

/// A record with everything: fields, context, source, thread, an exception
/// with frames.
fn rich() -> Record {
    let mut r = Record::new(Level::Error, "shop.checkout", "payment failed");
    r.timestamp = Timestamp(1_767_225_600_123_456_000);
    r.fields.push(("order_id".into(), 17.into()));
    r.fields.push(("amount".into(), 9.5.into()));
    r.context = Some(Arc::new(Context {
        ip: Some("10.0.0.1".into()),
        request_id: Some("req-1".into()),
        user_id: Some("u1".into()),
        service_name: Some("shop".into()),
        version: Some("1.2".into()),
        custom: vec![("tenant".into(), "t1".into())],
        ..Context::default()
    }));
    r.source = Some(&SRC);
    r.thread = kakashi::ThreadInfo {
        thread_id: 11,
        thread_name: Some("worker-1".into()),
        process_id: 99,
    }
    .into();
    let mut ex = Exception::from_dyn(&std::io::Error::other("card declined"));
    ex.type_name = "PaymentError".into();
    ex.frames = vec![
        Frame {
            file: "app.py".into(),
            line: 3,
            function: "<module>".into(),
        },
        Frame {
            file: "pay.py".into(),
            line: 10,
            function: "charge".into(),
        },
    ];
    r.exception = Some(Box::new(ex));
    thread_enricher().enrich(&mut r);
    source_enricher().enrich(&mut r);
    r
}

fn line(f: &dyn Formatter, r: &Record) -> String {
    let mut out = Vec::new();
    f.format(r, &mut out);
    String::from_utf8(out).unwrap()
}

/// The number of object keys in a JSON text: strings followed by `:`.
fn key_count(text: &str) -> usize {
    let (mut keys, mut in_str, mut escaped) = (0, false, false);
    let bytes = text.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if in_str {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => {
                    in_str = false;
                    if bytes.get(i + 1) == Some(&b':') {
                        keys += 1;
                    }
                }
                _ => {}
            }
        } else if b == b'"' {
            in_str = true;
        }
    }
    keys
}

/// Parses one line as a JSON object, failing on duplicate keys (which
/// `serde_json::Value` would silently merge).
fn parse(text: &str) -> serde_json::Map<String, Json> {
    assert!(!text.contains('\n'), "one line: {text}");
    let value: Json = serde_json::from_str(text).unwrap_or_else(|e| panic!("{e}: {text}"));
    fn count(v: &Json) -> usize {
        match v {
            Json::Object(m) => m.len() + m.values().map(count).sum::<usize>(),
            Json::Array(a) => a.iter().map(count).sum(),
            _ => 0,
        }
    }
    assert_eq!(count(&value), key_count(text), "a duplicate key: {text}");
    value.as_object().unwrap().clone()
}

fn path<'a>(m: &'a serde_json::Map<String, Json>, dotted: &[&str]) -> Option<&'a Json> {
    let mut cur = m.get(dotted[0])?;
    for k in &dotted[1..] {
        cur = cur.get(k)?;
    }
    Some(cur)
}

#[test]
fn an_unchanged_shape_writes_the_default_bytes() {
    let shaped = JsonShape::new().build().unwrap();
    let mut plain = rich();
    plain.exception.as_mut().unwrap().traceback = Some("tb".into());
    for r in [rich(), plain, Record::new(Level::Info, "x", "m")] {
        assert_eq!(line(&shaped, &r), line(&default_json_formatter(), &r));
    }
}

#[test]
fn rename_drop_and_flatten_change_only_what_they_name() {
    let f = default_json_formatter()
        .rename("level", "severity")
        .rename("message", "@message")
        .drop("level_value")
        .drop("threading")
        .flatten_fields()
        .build()
        .unwrap();
    let text = line(&f, &rich());
    let m = parse(&text);
    assert_eq!(m["severity"], "ERROR");
    assert_eq!(m["@message"], "payment failed");
    assert_eq!(m["order_id"], 17);
    assert_eq!(m["amount"], 9.5);
    for gone in ["level", "message", "level_value", "threading", "fields"] {
        assert!(!m.contains_key(gone), "{gone} in {text}");
    }
    assert_eq!(m["context"]["tenant"], "t1");
    // The order of the default layout is kept (the map keeps the line's order).
    let keys: Vec<&str> = m.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "timestamp",
            "datetime",
            "severity",
            "logger",
            "@message",
            "order_id",
            "amount",
            "context",
            "source",
            "exception"
        ]
    );
}

#[test]
fn a_flattened_field_never_overwrites_a_key_of_the_line() {
    let f = default_json_formatter().flatten_fields().build().unwrap();
    let mut r = Record::new(Level::Info, "app", "real message");
    r.fields.push(("message".into(), "spoofed".into()));
    r.fields.push(("user".into(), "ann".into()));
    let m = parse(&line(&f, &r));
    assert_eq!(m["message"], "real message");
    assert_eq!(m["fields.message"], "spoofed");
    assert_eq!(m["user"], "ann");
}

#[test]
fn flattened_names_stay_unique_when_a_field_is_named_like_a_moved_one() {
    // `level` is moved aside to `fields.level`, a name another field has:
    // it moves on to `fields.fields.level`.
    let shaped = default_json_formatter().flatten_fields().build().unwrap();
    let mut r = Record::new(Level::Info, "app", "m");
    r.fields.push(("level".into(), "A".into()));
    r.fields.push(("fields.level".into(), "B".into()));
    r.fields.push(("user".into(), "ann".into()));
    let m = parse(&line(&shaped, &r));
    assert_eq!(m["level"], "INFO");
    assert_eq!(m["fields.fields.level"], "A");
    assert_eq!(m["fields.level"], "B");
    assert_eq!(m["user"], "ann");
    // Two fields moved onto one name: the layout writes `fields.level`
    // itself (the message renamed), so both move, to different names.
    let shaped = default_json_formatter()
        .rename("message", "fields.level")
        .flatten_fields()
        .build()
        .unwrap();
    let mut r = Record::new(Level::Info, "app", "m");
    r.fields.push(("level".into(), "A".into()));
    r.fields.push(("fields.level".into(), "B".into()));
    let m = parse(&line(&shaped, &r));
    assert_eq!(m["fields.level"], "m");
    assert_eq!(m["fields.fields.level"], "A");
    assert_eq!(m["fields.fields.fields.level"], "B");
    // The profiles flatten too, each onto its own names.
    for f in [ecs_json_formatter(), gcp_json_formatter()] {
        let mut r = Record::new(Level::Info, "app", "m");
        r.fields.push(("message".into(), "A".into()));
        r.fields.push(("fields.message".into(), "B".into()));
        let m = parse(&line(&f, &r));
        assert_eq!(m["fields.fields.message"], "A");
        assert_eq!(m["fields.message"], "B");
    }
}

#[test]
fn bad_shapes_fail_at_configuration_naming_the_key() {
    let err = |s: JsonShape| s.build().unwrap_err().to_string();
    assert_eq!(
        err(default_json_formatter().drop("thread")),
        "invalid drop key \"thread\"; expected one of timestamp, datetime, level, level_value, \
         logger, message, fields, context, source, threading, exception"
    );
    assert!(err(default_json_formatter().rename("lvl", "severity"))
        .starts_with("invalid rename key \"lvl\"; expected one of timestamp,"));
    assert_eq!(
        err(default_json_formatter().rename("level", "")),
        "invalid rename target \"\"; expected a non-empty key name"
    );
    assert_eq!(
        err(default_json_formatter().rename("level", "message")),
        "invalid rename target \"message\"; expected a key name no other key is written as"
    );
    assert!(err(JsonShape::new()
        .profile(JsonProfile::Ecs)
        .rename("level", "x"))
    .starts_with("invalid rename key \"level\"; expected no renames with the ecs or gcp profile"));
    assert_eq!(
        "splunk".parse::<JsonProfile>().unwrap_err().to_string(),
        "invalid profile \"splunk\"; expected kakashi, ecs or gcp"
    );
    // A key renamed away frees its name for another.
    assert!(default_json_formatter()
        .rename("level", "lvl")
        .rename("level_value", "level")
        .build()
        .is_ok());
}

#[test]
fn exception_frames_are_structured_when_asked_and_never_hold_locals() {
    let f = default_json_formatter()
        .exception_frames(true)
        .build()
        .unwrap();
    let m = parse(&line(&f, &rich()));
    let frames = m["exception"]["frames"].as_array().unwrap();
    assert_eq!(frames.len(), 2);
    assert_eq!(
        frames[1],
        serde_json::json!({"file": "pay.py", "line": 10, "function": "charge"})
    );
    // The default layout keeps its bytes: no frames.
    assert!(!line(&default_json_formatter(), &rich()).contains("frames"));
}

/// Elastic Common Schema: the ecs-logging spec requires `@timestamp`,
/// `log.level`, `message` and `ecs.version` in every line (the first three
/// first, in that order); `log.logger`, `log.origin.file.name`/`line`,
/// `log.origin.function`, `process.pid`, `process.thread.id`/`name`,
/// `error.type`/`message`/`stack_trace`, `service.name`, `trace.id` and
/// `span.id` are the ECS names of what a record carries.
#[test]
fn ecs_lines_carry_the_fields_ecs_requires() {
    let mut r = rich();
    r.fields
        .push(("trace_id".into(), "4bf92f3577b34da6".into()));
    r.fields.push(("span_id".into(), "00f067aa0ba902b7".into()));
    let text = line(&ecs_json_formatter(), &r);
    assert!(
        text.starts_with(r#"{"@timestamp":"2026-01-01T00:00:00.123456Z","log.level":"error","message":"payment failed","ecs.version":""#),
        "{text}"
    );
    let m = parse(&text);
    for (path_, want) in [
        (&["log", "logger"][..], serde_json::json!("shop.checkout")),
        (&["log", "origin", "file", "name"], "src/checkout.rs".into()),
        (&["log", "origin", "file", "line"], 42.into()),
        (&["log", "origin", "function"], "shop::checkout".into()),
        (&["process", "pid"], 99.into()),
        (&["process", "thread", "id"], 11.into()),
        (&["process", "thread", "name"], "worker-1".into()),
        (&["error", "type"], "PaymentError".into()),
        (&["error", "message"], "card declined".into()),
        (&["service", "name"], "shop".into()),
        (&["service", "version"], "1.2".into()),
        (&["client", "ip"], "10.0.0.1".into()),
        (&["user", "id"], "u1".into()),
        (&["http", "request", "id"], "req-1".into()),
        (&["labels", "tenant"], "t1".into()),
        (&["trace", "id"], "4bf92f3577b34da6".into()),
        (&["span", "id"], "00f067aa0ba902b7".into()),
        (&["order_id"], 17.into()),
    ] {
        assert_eq!(path(&m, path_), Some(&want), "{path_:?} in {text}");
    }
    assert_eq!(m["ecs.version"], kakashi::pipeline::format::ECS_VERSION);
    let trace = m["error"]["stack_trace"].as_str().unwrap();
    assert!(trace.starts_with("Traceback (most recent call last):\n"));
    assert!(trace.ends_with("File \"pay.py\", line 10, in charge\nPaymentError: card declined"));
    assert!(!m.contains_key("trace_id") && !m.contains_key("fields"));
    // A bare record still has the required four.
    let m = parse(&line(
        &ecs_json_formatter(),
        &Record::new(Level::Debug, "x", ""),
    ));
    for key in ["@timestamp", "log.level", "message", "ecs.version"] {
        assert!(m.contains_key(key), "{key}");
    }
    assert_eq!(m["log.level"], "debug");
}

/// Google Cloud Logging's structured JSON: `severity` (DEBUG, INFO,
/// WARNING, ERROR, CRITICAL are GCP's own names), `message`, `time` in RFC
/// 3339, `logging.googleapis.com/sourceLocation` {file, line, function},
/// `.../labels` (string to string), `.../trace` and `.../spanId`; Error
/// Reporting reads a stack trace from `stack_trace` first, in the
/// language's own shape, or needs `@type` ReportedErrorEvent without one.
#[test]
fn gcp_lines_carry_the_fields_cloud_logging_reads() {
    let mut r = rich();
    r.fields
        .push(("trace_id".into(), "4bf92f3577b34da6".into()));
    r.fields.push(("span_id".into(), "00f067aa0ba902b7".into()));
    let text = line(&gcp_json_formatter(), &r);
    let m = parse(&text);
    assert_eq!(m["time"], "2026-01-01T00:00:00.123456Z");
    assert_eq!(m["severity"], "ERROR");
    assert_eq!(m["message"], "payment failed");
    assert_eq!(
        m["logging.googleapis.com/sourceLocation"],
        serde_json::json!({"file": "src/checkout.rs", "line": 42, "function": "shop::checkout"})
    );
    let labels = m["logging.googleapis.com/labels"].as_object().unwrap();
    assert_eq!(labels["service_name"], "shop");
    assert_eq!(labels["tenant"], "t1");
    assert!(labels.values().all(Json::is_string), "{labels:?}");
    assert_eq!(m["logging.googleapis.com/trace"], "4bf92f3577b34da6");
    assert_eq!(m["logging.googleapis.com/spanId"], "00f067aa0ba902b7");
    let trace = m["stack_trace"].as_str().unwrap();
    assert!(trace.starts_with("Traceback (most recent call last):\n  File \"app.py\", line 3"));
    assert_eq!(m["exception"]["frames"].as_array().unwrap().len(), 2);
    assert!(!m.contains_key("@type"));
    assert_eq!(m["order_id"], 17);

    for (level, severity) in [
        (Level::Debug, "DEBUG"),
        (Level::Info, "INFO"),
        (Level::Warning, "WARNING"),
        (Level::Critical, "CRITICAL"),
    ] {
        let m = parse(&line(&gcp_json_formatter(), &Record::new(level, "x", "m")));
        assert_eq!(m["severity"], severity);
    }

    // The full trace name with a project; an error without a stack trace
    // is marked for Error Reporting by `@type`.
    let f = JsonShape::new()
        .profile(JsonProfile::Gcp)
        .gcp_project("my-proj")
        .build()
        .unwrap();
    let mut r = Record::new(Level::Error, "x", "save failed");
    r.source = Some(&SRC);
    r.fields.push(("trace_id".into(), "abc".into()));
    r.exception = Some(Box::new(Exception::from_dyn(&std::io::Error::other(
        "disk full",
    ))));
    exception_enricher().enrich(&mut r);
    let m = parse(&line(&f, &r));
    assert_eq!(
        m["logging.googleapis.com/trace"],
        "projects/my-proj/traces/abc"
    );
    assert_eq!(
        m["@type"],
        "type.googleapis.com/google.devtools.clouderrorreporting.v1beta1.ReportedErrorEvent"
    );
    assert!(!m.contains_key("stack_trace"));
}

#[test]
fn every_profile_line_is_valid_json_on_hostile_input() {
    let mut r = rich();
    r.message = "quote \" backslash \\ newline \n nul \u{0} 🎉".into();
    r.fields.push(("nan".into(), f64::NAN.into()));
    r.fields.push(("@timestamp".into(), "spoof".into()));
    r.fields.push(("severity".into(), "spoof".into()));
    let shapes: [&dyn Formatter; 3] = [
        &ecs_json_formatter(),
        &gcp_json_formatter(),
        &default_json_formatter()
            .flatten_fields()
            .exception_frames(true)
            .build()
            .unwrap(),
    ];
    for f in shapes {
        let m = parse(&line(f, &r));
        assert!(m
            .values()
            .any(|v| v == "quote \" backslash \\ newline \n nul \u{0} 🎉"));
    }
}

#[test]
fn shaped_formatters_run_in_a_pipeline() {
    let memory = MemoryWriter::new();
    let backend = Backend::synchronous();
    let logger = backend.logger(
        "svc",
        PipelineConfig::new()
            .formatter(ecs_json_formatter())
            .writer(memory.clone()),
    );
    logger.info("one");
    logger.warning("two");
    let lines = memory.lines();
    assert_eq!(lines.len(), 2);
    let levels: Vec<Json> = lines
        .iter()
        .map(|l| parse(l)["log.level"].clone())
        .collect();
    assert_eq!(levels, ["info", "warning"]);
}

// === the console line ===

#[test]
fn console_line_has_no_placeholders_and_shows_logger_fields_and_traceback() {
    let plain = ConsoleFormatter::new(Colors::Never, ConsoleStream::Stdout);
    let bare = line(&plain, &{
        let mut r = Record::new(Level::Info, "app", "started");
        r.timestamp = Timestamp(1_767_225_600_123_456_000);
        r
    });
    assert_eq!(bare, "00:00:00.123 INFO     app: started");
    let text = line(&plain, &rich());
    let mut lines = text.lines();
    let first = lines.next().unwrap();
    assert!(
        first.starts_with(
            "00:00:00.123 ERROR    shop.checkout: payment failed order_id=17 amount=9.5 "
        ),
        "{first}"
    );
    assert!(first.contains(" request_id=req-1 ") && first.ends_with(" tenant=t1"));
    assert!(!text.contains("N/A") && !text.contains('\x1b'));
    assert_eq!(lines.next(), Some("Traceback (most recent call last):"));
    assert_eq!(lines.last(), Some("PaymentError: card declined"));
    // Strings that would read ambiguously are quoted.
    let mut r = Record::new(Level::Info, "app", "m");
    r.fields.push(("who".into(), "Ann Lee".into()));
    assert!(line(&plain, &r).ends_with(" who=\"Ann Lee\""));
}

#[test]
fn console_colours_only_when_asked_and_never_for_other_streams() {
    let r = Record::new(Level::Warning, "app", "hot");
    let coloured = line(
        &ConsoleFormatter::new(Colors::Always, ConsoleStream::Other),
        &r,
    );
    assert!(coloured.contains("\x1b[33mWARNING\x1b[0m"), "{coloured:?}");
    assert!(ConsoleFormatter::new(Colors::Always, ConsoleStream::Stdout).colored());
    assert!(!ConsoleFormatter::new(Colors::Never, ConsoleStream::Stdout).colored());
    // Whatever the environment says, `auto` never colours a file or pipe.
    assert!(!ConsoleFormatter::new(Colors::Auto, ConsoleStream::Other).colored());
    assert_eq!(
        "rainbow".parse::<Colors>().unwrap_err().to_string(),
        "invalid colors \"rainbow\"; expected auto, always or never"
    );
}

#[test]
fn the_development_preset_uses_the_console_line() {
    let env = EnvironmentConfig::preset(Environment::Development);
    assert_eq!(env.console_formatter, FormatterKind::Console);
    assert_eq!(
        EnvironmentConfig::preset(Environment::Production).console_formatter,
        FormatterKind::Compact
    );
}
