//! The `log` and `tracing` bridges bring those facades' records to a
//! kakashi file: levels, logger names (targets), messages, fields with
//! their types, span fields flattened with the span path, source; from
//! several threads, in each thread's order; both bridges on at once and
//! tracing's `log-always` on, one call makes one line; the logger's level
//! filters both; the trace-context hook adds its ids to both.
//!
//! `log` and the global tracing dispatcher take one setup per process, so
//! everything that needs them is one test, in named steps. Run with
//! `cargo test -p kakashi --features log,tracing --test bridges`.
#![cfg(all(feature = "log", feature = "tracing"))]

mod common;

use std::cell::Cell;
use std::path::Path;

use kakashi::testing::MemoryWriter;
use kakashi::{
    bridge, file_writer, source_enricher, AsyncConfig, Backend, Level, Logger, PipelineConfig,
    Record, TraceContext,
};
use serde_json::{json, Value as Json};
use tracing_subscriber::layer::SubscriberExt;

const THREADS: u64 = 4;
const CALLS: u64 = 300;

/// Held by every test that makes a tracing dispatcher. tracing-core
/// recomputes every call site's interest and its global maximum level when
/// a dispatcher is made or a level changes (the global test's steps change
/// levels), and a recomputation that runs while only one dispatcher is
/// registered asks only the calling thread's: another test's scoped
/// dispatcher can then find its events filtered out for a while.
static TRACING_DISPATCH: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// [`TRACING_DISPATCH`], held (a failed test's poison is ignored).
fn tracing_dispatch() -> std::sync::MutexGuard<'static, ()> {
    TRACING_DISPATCH.lock().unwrap_or_else(|e| e.into_inner())
}

/// The lines that `events`, run with the `tracing` layer as the default
/// subscriber, write through a synchronous logger `name` into memory (with
/// `bound` bound to the logger first). Holds [`TRACING_DISPATCH`].
fn through_tracing(
    name: &str,
    bound: &[(&'static str, &'static str)],
    events: impl FnOnce(),
) -> Vec<String> {
    let _dispatch = tracing_dispatch();
    let memory = MemoryWriter::new();
    let mut logger =
        Backend::synchronous().logger(name, PipelineConfig::new().writer(memory.clone()));
    for &(key, value) in bound {
        logger = logger.bind(key, value);
    }
    let subscriber = tracing_subscriber::registry().with(bridge::tracing::layer(logger));
    tracing::subscriber::with_default(subscriber, events);
    memory.lines()
}

/// The `"fields":{...}` part of a line as written ("" when it has none): a
/// parsed object would hide a key written twice. The fields' values here
/// are scalars, so the first `}` ends the object.
fn raw_fields(line: &str) -> &str {
    line.find(r#""fields":"#)
        .map_or("", |at| &line[at..=at + line[at..].find('}').unwrap()])
}

/// A `log` record built by hand, as a `log` adapter may, from the call site
/// `file!()`, `line`, with integer key-values, through `bridge`.
fn log_by_hand(bridge: &bridge::log::KakashiLog, target: &str, line: u32, kvs: &[(&str, i64)]) {
    let kvs: Vec<(&str, log::kv::Value)> = kvs
        .iter()
        .map(|(k, v)| (*k, log::kv::Value::from(*v)))
        .collect();
    log::Log::log(
        bridge,
        &log::Record::builder()
            .args(format_args!("by hand"))
            .level(log::Level::Info)
            .target(target)
            .file_static(Some(file!()))
            .line(Some(line))
            .key_values(&kvs)
            .build(),
    );
}

/// The records of `path` whose logger is `target`.
fn of(records: &[Json], target: &str) -> Vec<Json> {
    records
        .iter()
        .filter(|r| r["logger"] == target)
        .cloned()
        .collect()
}

thread_local! {
    static IN_OTEL_SPAN: Cell<bool> = const { Cell::new(false) };
}

/// A trace-context hook with fixed ids, current only while a test says so.
fn fixed_trace_context() -> Option<TraceContext> {
    IN_OTEL_SPAN.get().then_some(TraceContext {
        trace_id: 0x0af7651916cd43dd8448eb211c80319c,
        span_id: 0xb7ad6b7169203331,
    })
}

fn logged(path: &Path, logger: &Logger) -> Vec<Json> {
    assert!(logger.flush());
    common::json_lines(path)
}

#[test]
fn log_and_tracing_records_reach_the_file() {
    let _dispatch = tracing_dispatch();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bridges.log");
    let backend = Backend::new(AsyncConfig {
        worker_count: 2,
        batch_size: 64,
        ..AsyncConfig::default()
    })
    .unwrap();
    let logger = backend.logger(
        "bridges",
        PipelineConfig::new()
            .min_level(Level::Info)
            .enricher(source_enricher())
            .writer(file_writer(&path).unwrap()),
    );
    bridge::log::init(logger.clone()).unwrap();
    tracing::subscriber::set_global_default(
        tracing_subscriber::registry().with(bridge::tracing::layer(logger.clone())),
    )
    .unwrap();

    from_threads_in_nested_spans(&path, &logger);
    one_call_makes_one_line(&path, &logger);
    field_types_are_kept(&path, &logger);
    a_span_field_recorded_later_is_carried(&path, &logger);
    levels_map_and_filter(&path, &logger);
    the_trace_context_hook_reaches_both_bridges(&path, &logger);

    let second = bridge::log::init(logger.clone()).unwrap_err();
    assert!(
        second
            .to_string()
            .contains("log takes one logger per process"),
        "{second}"
    );
    drop(dir);
}

/// `tracing::info!` in two nested spans and `log::info!` with key-values,
/// from 4 threads: every call is one line with its level, logger name,
/// message, fields (event's, then inner span's, then outer's, then the
/// path) and source; each thread's lines are in its order.
fn from_threads_in_nested_spans(path: &Path, logger: &Logger) {
    std::thread::scope(|s| {
        for t in 0..THREADS {
            s.spawn(move || {
                for i in 0..CALLS {
                    let request = tracing::info_span!("request", req = i, user = "outer");
                    let _request = request.enter();
                    let db = tracing::info_span!("db_query", table = "trades", user = t);
                    let _db = db.enter();
                    tracing::info!(target: "app::db", rows = i, "query {} done", i);
                    log::info!(target: "app::legacy", thread = t, i = i; "legacy call");
                    tracing::debug!(target: "app::db", "not logged");
                    log::debug!(target: "app::legacy", "not logged");
                }
            });
        }
    });
    let records = logged(path, logger);
    let db = of(&records, "app::db");
    let legacy = of(&records, "app::legacy");
    assert_eq!(
        db.len() as u64,
        THREADS * CALLS,
        "one line per tracing call"
    );
    assert_eq!(
        legacy.len() as u64,
        THREADS * CALLS,
        "one line per log call"
    );
    for t in 0..THREADS {
        let mine: Vec<&Json> = db.iter().filter(|r| r["fields"]["user"] == t).collect();
        assert_eq!(mine.len() as u64, CALLS);
        for (i, r) in mine.iter().enumerate() {
            assert_eq!(r["level"], "INFO");
            assert_eq!(r["message"], format!("query {i} done"));
            // Event first; the inner span's `user` wins over the outer's.
            assert_eq!(
                r["fields"].to_string(),
                json!({"rows": i, "table": "trades", "user": t, "req": i,
                       "span_path": "request:db_query"})
                .to_string()
            );
            assert_eq!(r["source"]["module"], "bridges");
        }
        let mine: Vec<&Json> = legacy
            .iter()
            .filter(|r| r["fields"]["thread"] == t)
            .collect();
        assert_eq!(mine.len() as u64, CALLS);
        for (i, r) in mine.iter().enumerate() {
            assert_eq!(r["level"], "INFO");
            assert_eq!(r["message"], "legacy call");
            assert_eq!(r["fields"], json!({"thread": t, "i": i}));
            assert_eq!(r["source"]["module"], "bridges");
            assert!(r["source"]["line"].as_u64().unwrap() > 0);
        }
    }
    assert!(!records.iter().any(|r| r["message"] == "not logged"));
}

/// Tracing's `log-always` (on in this test) sends each event to `log` as
/// well: with both bridges on, one call is still one line, also when a
/// field's `Display` logs through tracing itself; and tracing's `log`
/// records of spans (lifecycle, and a span with fields made or recorded,
/// which carry the span's own target) are not logged.
fn one_call_makes_one_line(path: &Path, logger: &Logger) {
    /// Logs through tracing when it is shown.
    struct LogsWhenShown;
    impl std::fmt::Display for LogsWhenShown {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            tracing::info!(target: "once", "from a Display");
            f.write_str("shown")
        }
    }
    tracing::info!(target: "once", "tracing once");
    {
        let _span = tracing::info_span!("lifecycle").entered();
        tracing::warn!(target: "once", "tracing in a span");
    }
    {
        let span =
            tracing::info_span!(target: "once", "with_fields", x = 1, y = tracing::field::Empty);
        let _entered = span.enter();
        span.record("y", 2);
        tracing::info!(target: "once", v = %LogsWhenShown, "field logs");
    }
    log::info!(target: "once", "log once");
    let records = logged(path, logger);
    let once: Vec<String> = of(&records, "once")
        .iter()
        .map(|r| format!("{} {}", r["level"], r["message"]))
        .collect();
    assert_eq!(
        once,
        [
            r#""INFO" "tracing once""#,
            r#""WARNING" "tracing in a span""#,
            r#""INFO" "from a Display""#,
            r#""INFO" "field logs""#,
            r#""INFO" "log once""#
        ]
    );
    assert!(!records
        .iter()
        .any(|r| r["logger"].as_str().unwrap().starts_with("tracing::span")));
}

/// Event fields and `log` key-values keep their types; what has none is
/// written by `Debug` (tracing, log's `:?`) or `Display` (`%`, `:%`).
fn field_types_are_kept(path: &Path, logger: &Logger) {
    let err = std::io::Error::other("disk full");
    tracing::info!(
        target: "types::tracing",
        i = -3_i64, u = u64::MAX, f = 1.5, b = true, s = "text",
        d = ?vec![1, 2], shown = %'x', e = &err as &dyn std::error::Error,
        "typed"
    );
    log::info!(
        target: "types::log",
        i = -3, u = u64::MAX, f = 1.5, b = true, s = "text", d:? = vec![1, 2], shown:% = 'x';
        "typed"
    );
    let records = logged(path, logger);
    let expected = json!({"i": -3, "u": u64::MAX, "f": 1.5, "b": true, "s": "text",
                          "d": "[1, 2]", "shown": "x"});
    let mut with_error = expected.clone();
    with_error["e"] = json!("disk full");
    assert_eq!(
        of(&records, "types::tracing")[0]["fields"].to_string(),
        with_error.to_string()
    );
    assert_eq!(
        of(&records, "types::log")[0]["fields"].to_string(),
        expected.to_string()
    );
}

/// A span field set after the span was made (`Span::record`) is carried
/// by the events inside it from then on.
fn a_span_field_recorded_later_is_carried(path: &Path, logger: &Logger) {
    let job = tracing::info_span!("job", id = 9, state = tracing::field::Empty);
    let _job = job.enter();
    tracing::info!(target: "job", "started");
    job.record("state", "done");
    tracing::info!(target: "job", "finished");
    let fields: Vec<String> = of(&logged(path, logger), "job")
        .iter()
        .map(|r| r["fields"].to_string())
        .collect();
    assert_eq!(
        fields,
        [
            r#"{"id":9,"span_path":"job"}"#,
            r#"{"id":9,"state":"done","span_path":"job"}"#
        ]
    );
}

/// TRACE and DEBUG are DEBUG; the logger's level filters both bridges,
/// raised at once, lowered after the sync calls.
fn levels_map_and_filter(path: &Path, logger: &Logger) {
    let all_levels = |n: u32| {
        tracing::trace!(target: "levels", n, "t-trace");
        tracing::debug!(target: "levels", n, "t-debug");
        tracing::info!(target: "levels", n, "t-info");
        tracing::warn!(target: "levels", n, "t-warn");
        tracing::error!(target: "levels", n, "t-error");
        log::trace!(target: "levels", n; "l-trace");
        log::debug!(target: "levels", n; "l-debug");
        log::info!(target: "levels", n; "l-info");
        log::warn!(target: "levels", n; "l-warn");
        log::error!(target: "levels", n; "l-error");
    };
    all_levels(1); // INFO
    logger.set_min_level(Level::Error);
    all_levels(2);
    logger.set_min_level(Level::Debug);
    bridge::log::sync_max_level(logger);
    bridge::tracing::sync_interest();
    all_levels(3);
    logger.set_min_level(Level::Info);
    let seen: Vec<String> = of(&logged(path, logger), "levels")
        .iter()
        .map(|r| format!("{} {} {}", r["fields"]["n"], r["level"], r["message"]))
        .collect();
    let expected = [
        "1 INFO t-info",
        "1 WARNING t-warn",
        "1 ERROR t-error",
        "1 INFO l-info",
        "1 WARNING l-warn",
        "1 ERROR l-error",
        "2 ERROR t-error",
        "2 ERROR l-error",
        "3 DEBUG t-trace",
        "3 DEBUG t-debug",
        "3 INFO t-info",
        "3 WARNING t-warn",
        "3 ERROR t-error",
        "3 DEBUG l-trace",
        "3 DEBUG l-debug",
        "3 INFO l-info",
        "3 WARNING l-warn",
        "3 ERROR l-error",
    ];
    let expected: Vec<String> = expected
        .iter()
        .map(|e| {
            let mut parts = e.splitn(3, ' ');
            let (n, level, message) = (
                parts.next().unwrap(),
                parts.next().unwrap(),
                parts.next().unwrap(),
            );
            format!("{n} \"{level}\" \"{message}\"")
        })
        .collect();
    assert_eq!(seen, expected);
}

/// With a hook set, records of both bridges (and kakashi's own macros)
/// carry the hook's ids while it returns some, and nothing when it
/// returns none.
fn the_trace_context_hook_reaches_both_bridges(path: &Path, logger: &Logger) {
    bridge::set_trace_context_hook(fixed_trace_context).unwrap();
    IN_OTEL_SPAN.set(true);
    tracing::info!(target: "otel", "from tracing");
    log::info!(target: "otel", "from log");
    kakashi::info!(logger, "from kakashi");
    IN_OTEL_SPAN.set(false);
    tracing::info!(target: "otel", "outside");
    let ids =
        json!({"trace_id": "0af7651916cd43dd8448eb211c80319c", "span_id": "b7ad6b7169203331"});
    let records = logged(path, logger);
    let otel = of(&records, "otel");
    assert_eq!(otel.len(), 3);
    assert_eq!(otel[0]["fields"], ids);
    assert_eq!(otel[1]["fields"], ids);
    assert!(otel[2].get("fields").is_none(), "{}", otel[2]);
    let own = records
        .iter()
        .find(|r| r["message"] == "from kakashi")
        .unwrap();
    assert_eq!(own["fields"], ids);
    assert!(bridge::set_trace_context_hook(fixed_trace_context).is_err());
}

/// A `log` message without arguments reaches the record as the borrowed
/// `&'static str` it is: no copy, no formatting.
#[test]
fn a_literal_log_message_stays_borrowed() {
    let memory = MemoryWriter::new();
    let logger = Backend::synchronous().logger(
        "borrowed",
        PipelineConfig::new()
            .enricher(|r: &mut Record| {
                let borrowed = r.message.as_static().is_some();
                r.fields.push(("borrowed".into(), borrowed.into()));
            })
            .writer(memory.clone()),
    );
    let bridge = bridge::log::KakashiLog::new(logger);
    let n = 7;
    for args in [format_args!("a literal"), format_args!("formatted {n}")] {
        log::Log::log(
            &bridge,
            &log::Record::builder()
                .args(args)
                .level(log::Level::Warn)
                .target("direct")
                .build(),
        );
    }
    let records = common::parse(&memory.lines());
    assert_eq!(records[0]["message"], "a literal");
    assert_eq!(records[0]["fields"]["borrowed"], true);
    assert_eq!(records[0]["level"], "WARNING");
    assert_eq!(records[0]["logger"], "direct");
    assert_eq!(records[1]["message"], "formatted 7");
    assert_eq!(records[1]["fields"]["borrowed"], false);
}

/// A string value is logged as it was at the call, whatever was logged
/// before from the same address (a buffer refilled with other text); a
/// value seen twice in a row at one address (what a literal looks like) is
/// then kept and no longer copied.
#[test]
fn string_values_from_a_reused_buffer_are_logged_as_they_were() {
    let memory = MemoryWriter::new();
    let logger = Backend::synchronous().logger(
        "values",
        PipelineConfig::new()
            .enricher(|r: &mut Record| {
                let kept =
                    matches!(r.field("v"), Some(kakashi::Value::Str(t)) if t.as_static().is_some());
                r.fields.push(("kept".into(), kept.into()));
            })
            .writer(memory.clone()),
    );
    let bridge = bridge::log::KakashiLog::new(logger);
    let mut buffer = String::with_capacity(8);
    // Without a static file (a record built by hand) and with one (as
    // `log`'s macros make: then the call site's own cache is used).
    for file in [None, Some(file!())] {
        memory.clear();
        for text in ["aa", "aa", "aa", "bb", "aa", "bb", "cc"] {
            buffer.clear();
            buffer.push_str(text);
            let kvs = [("v", log::kv::Value::from(buffer.as_str()))];
            log::Log::log(
                &bridge,
                &log::Record::builder()
                    .args(format_args!("value"))
                    .level(log::Level::Info)
                    .target("values")
                    .file_static(file)
                    .line(Some(line!()))
                    .key_values(&kvs)
                    .build(),
            );
        }
        let seen: Vec<String> = common::parse(&memory.lines())
            .iter()
            .map(|r| format!("{} {}", r["fields"]["v"], r["fields"]["kept"]))
            .collect();
        assert_eq!(
            seen,
            [
                r#""aa" false"#,
                r#""aa" true"#,
                r#""aa" true"#,
                r#""bb" false"#,
                r#""aa" false"#,
                r#""bb" false"#,
                r#""cc" false"#
            ],
            "file {file:?}"
        );
    }
}

/// A tracing layer on its own (a scoped subscriber): an event without a
/// message has an empty one, a span's own `message` field is a field, and
/// the logger's bound fields come first.
#[test]
fn a_scoped_layer_keeps_bound_fields_and_odd_messages() {
    let lines = through_tracing("scoped", &[("service", "api")], || {
        let _span = tracing::info_span!("outer", message = "span text").entered();
        tracing::info!(target: "scoped::t", k = 1);
    });
    let records = common::parse(&lines);
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["message"], "");
    assert_eq!(
        records[0]["fields"].to_string(),
        r#"{"service":"api","k":1,"message":"span text","span_path":"outer"}"#
    );
}

/// Records from one call site (file and line) with other keys each time
/// (built by hand, as a `log` adapter may) get their own keys and values.
#[test]
fn one_call_site_with_changing_keys_logs_each_records_own() {
    let memory = MemoryWriter::new();
    let logger =
        Backend::synchronous().logger("site", PipelineConfig::new().writer(memory.clone()));
    let bridge = bridge::log::KakashiLog::new(logger);
    let keys = [String::from("alpha"), String::from("betaa")];
    // The last three: the same keys twice (appended without a lookup the
    // second time), then one repeated where the other was.
    let calls: [&[(&str, i64)]; 6] = [
        &[(keys[0].as_str(), 1)],
        &[(keys[1].as_str(), 2), (keys[0].as_str(), 3)],
        &[(keys[0].as_str(), 4), (keys[0].as_str(), 5)],
        &[(keys[0].as_str(), 6), (keys[1].as_str(), 7)],
        &[(keys[0].as_str(), 8), (keys[1].as_str(), 9)],
        &[(keys[0].as_str(), 10), (keys[0].as_str(), 11)],
    ];
    for (i, kvs) in calls.iter().enumerate() {
        log_by_hand(&bridge, if i == 1 { "site::b" } else { "site::a" }, 7, kvs);
    }
    let seen: Vec<String> = memory
        .lines()
        .iter()
        .map(|line| {
            let logger = &line[line.find(r#""logger":"#).unwrap()..];
            let logger = &logger[..logger.find(',').unwrap()];
            format!("{logger} {}", raw_fields(line))
        })
        .collect();
    assert_eq!(
        seen,
        [
            r#""logger":"site::a" "fields":{"alpha":1}"#,
            r#""logger":"site::b" "fields":{"betaa":2,"alpha":3}"#,
            r#""logger":"site::a" "fields":{"alpha":5}"#,
            r#""logger":"site::a" "fields":{"alpha":6,"betaa":7}"#,
            r#""logger":"site::a" "fields":{"alpha":8,"betaa":9}"#,
            r#""logger":"site::a" "fields":{"alpha":11}"#
        ]
    );
}

/// A tracing call site that names a field twice logs it once, with the
/// last value, every time (its fields are looked up, not appended).
#[test]
fn a_tracing_field_named_twice_is_logged_once() {
    let lines = through_tracing("twice", &[], || {
        for i in 0..3 {
            tracing::info!(target: "twice", a = i, b = "x", a = i + 10, "m");
        }
    });
    let fields: Vec<String> = common::parse(&lines)
        .iter()
        .map(|r| r["fields"].to_string())
        .collect();
    assert_eq!(
        fields,
        [
            r#"{"a":10,"b":"x"}"#,
            r#"{"a":11,"b":"x"}"#,
            r#"{"a":12,"b":"x"}"#
        ]
    );
}

/// A tracing event whose values name one field of its call site twice
/// (built by hand; the macros never do) logs it once, with the last value,
/// and fields given out of their call site's order are all logged.
#[test]
fn a_tracing_field_given_twice_or_out_of_order_is_logged_once() {
    let lines = through_tracing("values", &[], || {
        let callsite = tracing::callsite!(
            name: "by hand",
            kind: tracing::metadata::Kind::EVENT,
            target: "values",
            level: tracing::Level::INFO,
            fields: a, b, c
        );
        let meta = tracing::callsite::Callsite::metadata(callsite);
        let set = meta.fields();
        let (a, b, c) = (
            set.field("a").unwrap(),
            set.field("b").unwrap(),
            set.field("c").unwrap(),
        );
        for round in 0..2 {
            let (one, two, three) = (1 + round * 10, 2 + round * 10, 3 + round * 10);
            let values = [
                (&a, Some(&one as &dyn tracing::field::Value)),
                (&c, Some(&two as &dyn tracing::field::Value)),
                (&a, Some(&three as &dyn tracing::field::Value)),
                (&b, Some(&"x" as &dyn tracing::field::Value)),
            ];
            tracing::Event::dispatch(meta, &set.value_set(&values));
        }
    });
    assert_eq!(lines.len(), 2);
    assert_eq!(raw_fields(&lines[0]), r#""fields":{"a":3,"c":2,"b":"x"}"#);
    assert_eq!(raw_fields(&lines[1]), r#""fields":{"a":13,"c":12,"b":"x"}"#);
}

/// One `log` call site logging key lists of every length and repetition
/// (seeded pseudo-random walk, 3,000 calls): each line holds each key once,
/// with its last value, in the order of first appearance, whatever the
/// site logged before (a shorter call leaves older keys in the site's
/// cache past its length, which prove nothing about the next call).
#[test]
fn one_log_call_site_with_any_key_lists_writes_each_key_once() {
    let memory = MemoryWriter::new();
    let logger =
        Backend::synchronous().logger("walk", PipelineConfig::new().writer(memory.clone()));
    let bridge = bridge::log::KakashiLog::new(logger);
    let names = ["a", "b", "c", "d"];
    let mut seed: u64 = 0x9E37_79B9;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut expected = Vec::new();
    // First the smallest case seen failing, then the walk.
    let mut calls: Vec<Vec<(&str, i64)>> = vec![
        vec![("a", 1), ("b", 2)],
        vec![("b", 3)],
        vec![("b", 4), ("b", 5)],
    ];
    for call in 0..3_000 {
        let n = (next() % 8) as usize;
        calls.push(
            (0..n)
                .map(|j| (names[(next() % 4) as usize], call * 10 + j as i64))
                .collect(),
        );
    }
    for kvs in &calls {
        let mut once: Vec<(&str, i64)> = Vec::new();
        for &(k, v) in kvs {
            match once.iter_mut().find(|(seen, _)| *seen == k) {
                Some(slot) => slot.1 = v,
                None => once.push((k, v)),
            }
        }
        let pairs: Vec<String> = once.iter().map(|(k, v)| format!(r#""{k}":{v}"#)).collect();
        expected.push(if once.is_empty() {
            String::new()
        } else {
            format!(r#""fields":{{{}}}"#, pairs.join(","))
        });
        log_by_hand(&bridge, "walk", 9, kvs);
    }
    let lines = memory.lines();
    assert_eq!(lines.len(), calls.len());
    for (i, (line, fields)) in lines.iter().zip(&expected).enumerate() {
        assert_eq!(raw_fields(line), fields, "call {i}: {:?}", calls[i]);
    }
}

/// A `tracing` event's `message` is its message whatever its type (as
/// tracing's own formatter prints it), so a span's field named `message`
/// still reaches the event's fields.
#[test]
fn a_tracing_message_given_as_a_number_is_the_message() {
    let lines = through_tracing("numbers", &[], || {
        let span = tracing::info_span!("outer", message = "the span's");
        let _in = span.enter();
        tracing::info!(target: "numbers", message = 5, n = 1);
        tracing::info!(target: "numbers", message = 2.5);
        tracing::info!(target: "numbers", message = true);
    });
    let records = common::parse(&lines);
    let seen: Vec<String> = records
        .iter()
        .map(|r| format!("{} {}", r["message"], r["fields"]))
        .collect();
    assert_eq!(
        seen,
        [
            r#""5" {"n":1,"message":"the span's","span_path":"outer"}"#,
            r#""2.5" {"message":"the span's","span_path":"outer"}"#,
            r#""true" {"message":"the span's","span_path":"outer"}"#,
        ]
    );
}
