//! G8 (wire format): `default_json_formatter` keeps the original's key order
//! and shapes with a real UTC instant; the text formatters match the original.

use std::sync::Arc;

use kakashi::{
    compact_formatter, default_json_formatter, detailed_formatter, exception_enricher,
    simple_text_formatter, source_enricher, thread_enricher, Context, Enricher, Exception,
    Formatter, Level, Record, Source, Timestamp,
};

static SRC: Source = Source {
    module: "m",
    file: "m.rs",
    line: 7,
    function: None,
};

fn sample() -> Record {
    let mut r = Record::new(Level::Warning, "app.mod", "héllo");
    r.timestamp = Timestamp(1_767_225_600_123_456_000);
    r.fields.push(("a".into(), 1.into()));
    r.context = Some(Arc::new(Context {
        ip: Some("10.0.0.1".into()),
        access: Some("GET /x".into()),
        request_id: Some("r1".into()),
        user_id: Some("u1".into()),
        service_name: Some("svc".into()),
        version: Some("1.2".into()),
        environment: Some("production".into()),
        custom: vec![("tenant".into(), "t1".into())],
        ..Context::default()
    }));
    r.source = Some(&SRC);
    r.thread = kakashi::ThreadInfo {
        thread_id: 11,
        thread_name: Some("T".into()),
        process_id: 99,
    }
    .into();
    r
}

fn format(f: &dyn Formatter, r: &Record) -> String {
    let mut out = Vec::new();
    f.format(r, &mut out);
    String::from_utf8(out).unwrap()
}

#[test]
fn json_matches_the_original_key_order_and_shapes() {
    let mut r = sample();
    thread_enricher().enrich(&mut r);
    source_enricher().enrich(&mut r);
    assert_eq!(
        format(&default_json_formatter(), &r),
        r#"{"timestamp":1767225600.123456,"datetime":"2026-01-01T00:00:00.123456+00:00","level":"WARNING","level_value":30,"logger":"app.mod","message":"héllo","fields":{"a":1},"context":{"ip":"10.0.0.1","access":"GET /x","request_id":"r1","user_id":"u1","service_name":"svc","version":"1.2","environment":"production","tenant":"t1"},"source":{"module":"m","line":7},"threading":{"thread_id":11,"thread_name":"T","process_id":99}}"#
    );
}

#[test]
fn json_source_names_the_function_when_known_as_the_original_did() {
    // A record bridged from Python's `logging` knows its function; the
    // original's source object is `{module, function, line}`.
    static WITH_FUNCTION: Source = Source {
        module: "m",
        file: "m.py",
        line: 7,
        function: Some("f"),
    };
    let mut r = sample();
    r.source = Some(&WITH_FUNCTION);
    source_enricher().enrich(&mut r);
    let line = format(&default_json_formatter(), &r);
    assert!(
        line.contains(r#","source":{"module":"m","function":"f","line":7}}"#),
        "{line}"
    );
}

#[test]
fn json_without_enrichment_is_the_high_performance_shape() {
    let mut r = Record::new(Level::Info, "trading", "Trade executed");
    r.timestamp = Timestamp(1_795_797_667_876_645_000);
    r.fields.push(("symbol".into(), "ACME".into()));
    r.fields.push(("qty".into(), 100.into()));
    r.fields.push(("price".into(), 12.5.into()));
    assert_eq!(
        format(&default_json_formatter(), &r),
        r#"{"timestamp":1795797667.876645,"datetime":"2026-11-27T16:41:07.876645+00:00","level":"INFO","level_value":20,"logger":"trading","message":"Trade executed","fields":{"symbol":"ACME","qty":100,"price":12.5}}"#
    );
}

#[test]
fn json_exception_object() {
    let mut r = Record::new(Level::Error, "app", "failed");
    r.timestamp = Timestamp(1_767_225_600_000_000_000);
    let e = std::io::Error::other("disk full");
    r.exception = Some(Box::new(Exception::from_error(&e)));
    exception_enricher().enrich(&mut r);
    let line = format(&default_json_formatter(), &r);
    assert!(
        line.starts_with(
            r#"{"timestamp":1767225600.000000,"datetime":"2026-01-01T00:00:00+00:00","#
        ),
        "{line}"
    );
    assert!(line.ends_with(r#","exception":{"type":"std::io::error::Error","message":"disk full","traceback":"std::io::error::Error: disk full"}}"#), "{line}");
}

#[test]
fn text_layouts_match_the_original() {
    let r = sample();
    assert_eq!(
        format(&simple_text_formatter(), &r),
        "00:00:00.123 | WARNING  | app.mod | IP:10.0.0.1 | ACCESS:GET /x | USER:u1 | héllo | a=1"
    );
    assert_eq!(format(&compact_formatter(), &r), "00:00:00 | W | héllo");
    assert_eq!(
        format(&detailed_formatter(), &r),
        "[2026-01-01T00:00:00.123456+00:00] [WARNING] [app.mod] [T:11] [P:99] [m:7] héllo | Fields: {\"a\":1} | Context: ip=10.0.0.1,access=GET /x,request_id=r1,user=u1,service_name=svc,version=1.2,environment=production,tenant=t1"
    );
    let bare = Record::new(Level::Info, "x", "m");
    assert!(format(&simple_text_formatter(), &bare).ends_with(" | INFO     | x | N/A | m"));
}

/// The macros' two shapes, through a synchronous backend: fields in call
/// order after the bound ones, the bound context, and with `exception:` the
/// error's type and message.
#[test]
fn macros_build_the_whole_record() {
    use kakashi::testing::MemoryWriter;
    let memory = MemoryWriter::new();
    let backend = kakashi::Backend::synchronous();
    let logger = backend
        .logger("svc", kakashi::PipelineConfig::new().writer(memory.clone()))
        .bind("tenant", "t1")
        .with_context(Context {
            request_id: Some("r9".into()),
            ..Context::default()
        });
    kakashi::info!(logger, "plain", a = 1, b = "x");
    let err = std::io::Error::other("disk full");
    kakashi::error!(logger, exception: &err, "failed", order = 7);
    let lines: Vec<serde_json::Value> = memory
        .lines()
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["level"], "INFO");
    assert_eq!(lines[0]["logger"], "svc");
    assert_eq!(lines[0]["message"], "plain");
    assert_eq!(
        serde_json::to_string(&lines[0]["fields"]).unwrap(),
        r#"{"tenant":"t1","a":1,"b":"x"}"#
    );
    assert_eq!(lines[0]["context"]["request_id"], "r9");
    assert!(lines[0].get("exception").is_none());
    assert_eq!(lines[1]["level"], "ERROR");
    assert_eq!(lines[1]["fields"]["order"], 7);
    assert_eq!(lines[1]["exception"]["type"], "std::io::error::Error");
    assert_eq!(lines[1]["exception"]["message"], "disk full");
}

#[test]
fn every_string_length_and_escape_position_round_trips_as_json() {
    // The JSON writer checks strings eight bytes at a time and copies short
    // ones by fixed-size moves: every length, with a character that needs an
    // escape (or multi-byte UTF-8) at every position, in the message, a key
    // and a value.
    for len in 0..40 {
        for special in ["\"", "\\", "\n", "\u{1}", "\u{1f}", "é", "🎉", " "] {
            for at in 0..=len {
                let text: String = (0..len)
                    .map(|i| {
                        if i == at {
                            special.to_owned()
                        } else {
                            ((b'a' + (i % 26) as u8) as char).to_string()
                        }
                    })
                    .collect();
                let mut r = Record::new(Level::Info, "t", text.clone());
                r.fields
                    .push((text.clone().into(), text.as_str().to_owned().into()));
                let line = format(&default_json_formatter(), &r);
                let parsed: serde_json::Value =
                    serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
                assert_eq!(parsed["message"], text.as_str(), "{line}");
                assert_eq!(parsed["fields"][text.as_str()], text.as_str(), "{line}");
            }
        }
    }
}

#[test]
fn every_level_and_extreme_values_make_one_valid_line() {
    for level in Level::ALL {
        let mut r = Record::new(level, "lg", "m");
        r.timestamp = Timestamp(u64::MAX);
        r.fields.push(("u".into(), u64::MAX.into()));
        r.fields.push(("i".into(), i64::MIN.into()));
        r.fields
            .push(("f".into(), (-1.2345678901234568e-300).into()));
        r.fields.push(("nan".into(), f64::NAN.into()));
        r.fields.push(("inf".into(), f64::NEG_INFINITY.into()));
        r.fields.push(("b".into(), false.into()));
        r.fields.push(("n".into(), kakashi::Value::Null));
        let line = format(&default_json_formatter(), &r);
        let v: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert_eq!(v["level"], level.name());
        assert_eq!(v["level_value"], level.value());
        assert_eq!(v["timestamp"].to_string(), "18446744073.709553", "{line}");
        assert_eq!(v["fields"]["u"], u64::MAX);
        assert_eq!(v["fields"]["i"], i64::MIN);
        assert!(line.contains(r#""f":-1.2345678901234568e-300,"#), "{line}");
        assert_eq!(v["fields"]["nan"], "NaN");
        assert_eq!(v["fields"]["inf"], "-Infinity");
        assert_eq!(v["fields"]["b"], false);
        assert!(v["fields"]["n"].is_null());
    }
}

#[test]
fn a_nested_field_keeps_the_field_order() {
    let mut r = Record::new(Level::Info, "lg", "m");
    r.timestamp = Timestamp(1_767_225_600_000_000_000);
    r.fields.push(("a".into(), 1.into()));
    r.fields.push((
        "list".into(),
        kakashi::Value::list(["x".into(), [("k", 2)].into_iter().collect()]),
    ));
    r.fields.push(("z".into(), "last".into()));
    assert_eq!(
        format(&default_json_formatter(), &r),
        r#"{"timestamp":1767225600.000000,"datetime":"2026-01-01T00:00:00+00:00","level":"INFO","level_value":20,"logger":"lg","message":"m","fields":{"a":1,"list":["x",{"k":2}],"z":"last"}}"#
    );
}
