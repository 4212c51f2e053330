//! The trace-context hook: once set, records built by the macros and by
//! `Logger::log` carry `trace_id` and `span_id` while the hook returns
//! some, after their own fields (a call that set a `trace_id` itself
//! keeps it and gets no `span_id`); while it returns none, or before any hook is set, a line is byte
//! for byte what it was; a hook that panics costs the record its ids, never
//! the call, and records the hook logs itself get no ids (no endless
//! recursion). The hook is set once per process, so this is one test.

use std::cell::Cell;

use kakashi::testing::MemoryWriter;
use kakashi::{
    info, set_trace_context_hook, Backend, Fields, Level, PipelineConfig, Record, Timestamp,
    TraceContext,
};

#[derive(Clone, Copy)]
enum Otel {
    Off,
    InSpan,
    Panics,
    /// In a span, and logs through `HOOK_LOGGER` each time it is asked.
    Logs,
}

thread_local! {
    static OTEL: Cell<Otel> = const { Cell::new(Otel::Off) };
    static HOOK_LOGGER: std::cell::RefCell<Option<kakashi::Logger>> = const { std::cell::RefCell::new(None) };
}

fn hook() -> Option<TraceContext> {
    match OTEL.get() {
        Otel::Off => None,
        Otel::InSpan => Some(TraceContext {
            trace_id: 0x4bf92f3577b34da6a3ce929d0e0e4736,
            span_id: 0x00f067aa0ba902b7,
        }),
        Otel::Panics => panic!("the hook panicked"),
        Otel::Logs => {
            HOOK_LOGGER.with_borrow(|l| info!(l.as_ref().unwrap(), "from the hook"));
            OTEL.set(Otel::InSpan);
            let cx = hook();
            OTEL.set(Otel::Logs);
            cx
        }
    }
}

/// Logs the same three records each time: a macro call with a field, a
/// macro call whose own `trace_id` must stay, and `Logger::log`.
fn log_three(logger: &kakashi::Logger) {
    info!(logger, "with a field", qty = 100);
    info!(logger, "with its own id", trace_id = "mine");
    logger.log(Level::Warning, "from log()", Fields::new());
}

#[test]
fn the_hook_adds_ids_only_while_a_span_is_current() {
    let memory = MemoryWriter::new();
    let logger = Backend::synchronous()
        .logger(
            "otel",
            PipelineConfig::new()
                // A fixed instant, so that lines can be compared byte for byte.
                .enricher(|r: &mut Record| r.timestamp = Timestamp(1_700_000_000_000_000_000))
                .writer(memory.clone()),
        )
        .bind("service", "api");

    log_three(&logger);
    let before_any_hook = memory.lines();
    memory.clear();

    set_trace_context_hook(hook).unwrap();
    log_three(&logger);
    assert_eq!(memory.lines(), before_any_hook, "no span: byte-identical");
    memory.clear();

    OTEL.set(Otel::InSpan);
    log_three(&logger);
    OTEL.set(Otel::Off);
    let ids = r#""trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7""#;
    let lines = memory.lines();
    assert!(
        lines[0].contains(&format!(r#""fields":{{"service":"api","qty":100,{ids}}}"#)),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].contains(r#""fields":{"service":"api","trace_id":"mine"}"#),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].contains(&format!(r#""fields":{{"service":"api",{ids}}}"#)),
        "{}",
        lines[2]
    );
    memory.clear();

    OTEL.set(Otel::Panics);
    info!(logger, "still logged");
    OTEL.set(Otel::Off);
    let lines = memory.lines();
    assert_eq!(lines.len(), 1);
    assert!(
        lines[0].contains(r#""message":"still logged","fields":{"service":"api"}"#),
        "{}",
        lines[0]
    );

    memory.clear();

    HOOK_LOGGER.set(Some(logger.clone()));
    OTEL.set(Otel::Logs);
    info!(logger, "asks a hook that logs");
    OTEL.set(Otel::Off);
    let lines = memory.lines();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines[0].contains(r#""message":"from the hook","fields":{"service":"api"}"#),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].contains(&format!(
            r#""message":"asks a hook that logs","fields":{{"service":"api",{ids}}}"#
        )),
        "{}",
        lines[1]
    );

    let again = set_trace_context_hook(hook).unwrap_err();
    assert!(again.to_string().contains("already set"), "{again}");
}
