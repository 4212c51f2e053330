//! G7 (bad input): bad configuration fails at construction with a clear
//! message; odd values always produce one valid JSON line.

use proptest::prelude::*;

use std::time::Duration;

use kakashi::backend::{retries_setting, seconds_setting};
use kakashi::{
    default_json_formatter, get_high_performance_logger, get_network_logger_with, AsyncConfig,
    Backend, Formatter, FormatterType, Level, NetworkOptions, OverflowStrategy, Record, Value,
};

#[test]
fn unknown_strategy_names_the_value_and_the_choices() {
    let err = "Drop_Oldest".parse::<OverflowStrategy>().unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown overflow strategy \"Drop_Oldest\"; expected block, drop_oldest or drop_newest"
    );
}

#[test]
fn unwritable_paths_fail_at_construction() {
    let dir = tempfile::tempdir().unwrap();
    let err = get_high_performance_logger("x", dir.path()).unwrap_err();
    assert!(
        err.to_string().starts_with(&format!(
            "cannot open log file {} for appending:",
            dir.path().display()
        )),
        "{err}"
    );
    let file = dir.path().join("plain");
    std::fs::write(&file, "").unwrap();
    let err = get_high_performance_logger("x", file.join("sub/app.log")).unwrap_err();
    assert!(err.to_string().contains("cannot open log file"), "{err}");
}

#[test]
fn zero_sizes_are_rejected() {
    let err = Backend::new(AsyncConfig {
        max_queue_size: 0,
        ..AsyncConfig::default()
    })
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "max_queue_size = 0 is out of range; expected 1 to 268435456"
    );
    let err = Backend::new(AsyncConfig {
        worker_count: 0,
        ..AsyncConfig::default()
    })
    .unwrap_err();
    assert!(err.to_string().starts_with("worker_count = 0"), "{err}");
    let err = Backend::new(AsyncConfig {
        batch_size: 0,
        ..AsyncConfig::default()
    })
    .unwrap_err();
    assert!(err.to_string().starts_with("batch_size = 0"), "{err}");
}

/// Whether this machine has less memory and swap than `bytes` (Linux).
fn has_less_memory_than(bytes: u64) -> bool {
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let kib = |key: &str| -> u64 {
        meminfo
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
            .unwrap_or(u64::MAX / 2048)
    };
    (kib("MemTotal:") + kib("SwapTotal:")).saturating_mul(1024) < bytes
}

#[test]
fn a_queue_larger_than_memory_is_an_error_not_an_abort() {
    // The largest size in range: 2^28 slots of a few hundred bytes, more
    // than this machine has. Allocated up front, so refused at once.
    let slots = 1usize << 28;
    if !has_less_memory_than(slots as u64 * 200) {
        eprintln!("skipped: this machine has the memory for a queue of 2^28 slots");
        return;
    }
    let err = Backend::new(AsyncConfig {
        max_queue_size: slots,
        ..AsyncConfig::default()
    })
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "max_queue_size = 268435456 is out of range; expected a queue that fits in memory \
         (its slots are allocated when the backend is made)"
    );
}

/// The checks the Python package used to make itself are the
/// core's, with these exact messages (Python shows the value as given).
#[test]
fn timeouts_retries_and_formatter_types_have_the_cores_messages() {
    const SECONDS: &str = "is out of range; expected 0 to 1000000000 seconds";
    let err = Backend::new(AsyncConfig {
        shutdown_timeout: Duration::from_secs(2_000_000_000),
        ..AsyncConfig::default()
    })
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("shutdown_timeout = 2000000000s {SECONDS}")
    );
    let err = seconds_setting("error_retry_delay", -0.5).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("error_retry_delay = -0.5 {SECONDS}")
    );
    let err = seconds_setting("timeout", f64::NAN).unwrap_err();
    assert_eq!(err.to_string(), format!("timeout = NaN {SECONDS}"));
    let err = retries_setting("max_retries", -1).unwrap_err();
    assert_eq!(
        err.to_string(),
        "max_retries = -1 is out of range; expected 0 to 4294967295"
    );
    let options = NetworkOptions {
        retry_delay: Duration::from_secs(2_000_000_000),
        ..NetworkOptions::default()
    };
    let err = get_network_logger_with("api", |_: &str| Ok::<(), String>(()), options).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("retry_delay = 2000000000s {SECONDS}")
    );
    let err = "xml".parse::<FormatterType>().unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown formatter_type \"xml\"; expected default or json"
    );
}

fn one_line(record: &Record) -> serde_json::Value {
    let mut out = Vec::new();
    default_json_formatter().format(record, &mut out);
    let text = String::from_utf8(out).expect("valid UTF-8");
    assert!(!text.contains('\n') && !text.contains('\r'), "{text:?}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("invalid JSON {text:?}: {e}"))
}

#[test]
fn odd_values_stay_valid_json() {
    let mut r = Record::new(
        Level::Info,
        "odd",
        "quote \" backslash \\ nul \0 bell \u{7} 🎉",
    );
    r.fields.push(("nan".into(), f64::NAN.into()));
    r.fields.push(("inf".into(), f64::INFINITY.into()));
    r.fields.push(("big".into(), u64::MAX.into()));
    r.fields.push(("huge".into(), "x".repeat(5_000_000).into()));
    let mut deep = Value::Null;
    for _ in 0..10_000 {
        deep = Value::list([deep]);
    }
    r.fields.push(("deep".into(), deep));
    r.fields.push(("ke\"y\n".into(), 1.into()));
    let v = one_line(&r);
    assert_eq!(v["message"], "quote \" backslash \\ nul \0 bell \u{7} 🎉");
    assert_eq!(v["fields"]["nan"], "NaN");
    assert_eq!(v["fields"]["inf"], "Infinity");
    assert_eq!(v["fields"]["big"], serde_json::json!(u64::MAX));
    assert_eq!(v["fields"]["huge"].as_str().unwrap().len(), 5_000_000);
    assert_eq!(v["fields"]["ke\"y\n"], 1);
}

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::I64),
        any::<u64>().prop_map(Value::U64),
        any::<f64>().prop_map(Value::F64),
        any::<String>().prop_map(Value::from),
    ];
    leaf.prop_recursive(8, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::list),
            prop::collection::vec((any::<String>(), inner), 0..8)
                .prop_map(|kv| Value::map(kv.into_iter().map(|(k, v)| (k.into(), v)))),
        ]
    })
}

proptest! {
    #[test]
    fn any_record_is_one_valid_json_line(
        message in any::<String>(),
        logger in "[a-z.]{1,12}",
        fields in prop::collection::vec((any::<String>(), value()), 0..6),
    ) {
        let mut r = Record::new(Level::Warning, logger.as_str(), message.clone());
        r.fields = fields.into_iter().map(|(k, v)| (k.into(), v)).collect();
        let v = one_line(&r);
        prop_assert_eq!(v["message"].as_str().unwrap(), message.as_str());
        prop_assert_eq!(v["level_value"].as_u64(), Some(30));
    }
}
