//! The logging macros' message is a format string, as in `format!`, `log`
//! and `tracing`: inline captures and positional arguments are formatted,
//! a literal without placeholders stays a borrowed `&'static str`, fields
//! follow the message and its arguments (the first `name = value`, or
//! after a `;`), and a disabled level evaluates none of it.

use std::cell::Cell;

use kakashi::testing::MemoryWriter;
use kakashi::{critical, debug, error, info, warning, Backend, Level, PipelineConfig, Record};

/// A synchronous logger whose records also say whether their message was
/// borrowed (the macros' zero-cost path for a plain literal).
fn logger() -> (kakashi::Logger, MemoryWriter) {
    let memory = MemoryWriter::new();
    let config = PipelineConfig::new()
        .min_level(Level::Info)
        .enricher(|r: &mut Record| {
            let borrowed = r.message.as_static().is_some();
            r.fields.push(("borrowed".into(), borrowed.into()));
        })
        .writer(memory.clone());
    (Backend::synchronous().logger("fmt", config), memory)
}

/// The line's message (as JSON) and fields (as compact JSON).
fn message_and_fields(line: &str) -> (String, String) {
    let record: serde_json::Value = serde_json::from_str(line).unwrap();
    (record["message"].to_string(), record["fields"].to_string())
}

#[test]
fn a_plain_literal_is_logged_borrowed() {
    let (log, memory) = logger();
    info!(log, "Trade executed");
    info!(log, "Trade executed", qty = 100, side = "buy");
    info!(log, "Trade executed",);
    let lines = memory.lines();
    assert_eq!(
        message_and_fields(&lines[0]),
        (r#""Trade executed""#.into(), r#"{"borrowed":true}"#.into())
    );
    assert_eq!(
        message_and_fields(&lines[1]),
        (
            r#""Trade executed""#.into(),
            r#"{"qty":100,"side":"buy","borrowed":true}"#.into()
        )
    );
    assert_eq!(lines.len(), 3);
}

#[test]
fn inline_captures_are_formatted() {
    let (log, memory) = logger();
    let user = "ann";
    let qty = 100;
    info!(log, "hello {user}");
    warning!(log, "{user} bought {qty:>5}", price = 187.5);
    let lines = memory.lines();
    assert_eq!(
        message_and_fields(&lines[0]),
        (r#""hello ann""#.into(), r#"{"borrowed":false}"#.into())
    );
    assert_eq!(
        message_and_fields(&lines[1]),
        (
            r#""ann bought   100""#.into(),
            r#"{"price":187.5,"borrowed":false}"#.into()
        )
    );
}

#[test]
fn positional_arguments_are_formatted_and_fields_follow_a_semicolon() {
    let (log, memory) = logger();
    let (id, price) = (7u64, 187.5);
    info!(log, "Trade {} {}", id, "AAPL");
    info!(log, "Trade {} at {price}", id; qty = 100, side = %"buy");
    error!(log, "Trade {:?}", (id, 2),);
    critical!(log, "Trade {}", id,; why = ?"late");
    let lines = memory.lines();
    assert_eq!(message_and_fields(&lines[0]).0, r#""Trade 7 AAPL""#);
    assert_eq!(
        message_and_fields(&lines[1]),
        (
            r#""Trade 7 at 187.5""#.into(),
            r#"{"qty":100,"side":"buy","borrowed":false}"#.into()
        )
    );
    assert_eq!(message_and_fields(&lines[2]).0, r#""Trade (7, 2)""#);
    assert_eq!(
        message_and_fields(&lines[3]),
        (
            r#""Trade 7""#.into(),
            r#"{"why":"\"late\"","borrowed":false}"#.into()
        )
    );
}

#[test]
fn fields_may_follow_format_arguments_after_a_comma() {
    let (log, memory) = logger();
    let (id, side) = (7u64, "buy");
    let price = |i: u64| i as f64 * 1.5;
    info!(log, "Trade {} {:?}", id, (id, price(id)), qty = 100, side = %side);
    info!(log, "Trade {}", price(id), qty = 100,);
    let lines = memory.lines();
    assert_eq!(
        message_and_fields(&lines[0]),
        (
            r#""Trade 7 (7, 10.5)""#.into(),
            r#"{"qty":100,"side":"buy","borrowed":false}"#.into()
        )
    );
    assert_eq!(
        message_and_fields(&lines[1]),
        (
            r#""Trade 10.5""#.into(),
            r#"{"qty":100,"borrowed":false}"#.into()
        )
    );
}

#[test]
fn doubled_braces_are_literal_braces() {
    let (log, memory) = logger();
    info!(log, "a {{literal}} brace");
    assert_eq!(
        message_and_fields(&memory.lines()[0]).0,
        r#""a {literal} brace""#
    );
}

#[test]
fn a_message_that_is_not_a_literal_is_logged_as_it_is() {
    let (log, memory) = logger();
    let text = String::from("kept {as} is");
    info!(log, text, n = 1);
    const STATIC: &str = "static {x}";
    info!(log, STATIC);
    let lines = memory.lines();
    assert_eq!(
        message_and_fields(&lines[0]),
        (
            r#""kept {as} is""#.into(),
            r#"{"n":1,"borrowed":false}"#.into()
        )
    );
    assert_eq!(
        message_and_fields(&lines[1]),
        (r#""static {x}""#.into(), r#"{"borrowed":true}"#.into())
    );
}

#[test]
fn an_error_with_a_formatted_message() {
    let (log, memory) = logger();
    let err = std::io::Error::other("disk full");
    let order = 7;
    error!(log, exception: &err, "order {order} failed");
    error!(log, exception: &err, "order {} failed", order; retry = false);
    let lines = memory.lines();
    assert!(
        lines[0].contains(r#""message":"order 7 failed""#),
        "{}",
        lines[0]
    );
    assert!(lines[0].contains(r#""exception":"#), "{}", lines[0]);
    assert!(
        lines[1].contains(r#""message":"order 7 failed","fields":{"retry":false"#),
        "{}",
        lines[1]
    );
}

#[test]
fn a_disabled_level_evaluates_neither_arguments_nor_captures() {
    let (log, memory) = logger();
    let evaluated = Cell::new(0);
    let count = || {
        evaluated.set(evaluated.get() + 1);
        1
    };
    debug!(log, "x {} {}", count(), count(); y = count());
    debug!(log, "x {}", count());
    info!(log, "x {}", count(); y = count());
    assert_eq!(evaluated.get(), 2);
    assert_eq!(memory.lines().len(), 1);
}
