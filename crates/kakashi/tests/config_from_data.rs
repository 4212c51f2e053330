//! Configuration from data (a serde map, a TOML file, the environment) and
//! per-logger levels at run time: what lands in the file, and errors that
//! name the bad key and change nothing.
//!
//! Run with `cargo test -p kakashi --features config --test config_from_data`.
//! The global setup and the level rules are process-wide: every test holds
//! `SERIAL` while it uses them.
#![cfg(feature = "config")]

mod common;

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use kakashi::config::Config;
use kakashi::{
    clear_level, debug, error, get_env_logger, get_logger, info, levels, set_level, warning,
    AsyncConfig, Backend, FileOptions, FormatterType, Level, OverflowStrategy, PipelineConfig,
};

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn toml_for(path: &Path, extra: &str) -> String {
    format!(
        "{extra}\n[[outputs]]\ntype = \"file\"\npath = {:?}\n[async]\noverflow_strategy = \"block\"\nworker_count = 2\n",
        path.display().to_string()
    )
}

/// (logger, level, message) of each JSON line of `path`.
fn lines_of(path: &Path) -> Vec<(String, String, String)> {
    common::json_lines(path)
        .iter()
        .map(|r| {
            (
                r["logger"].as_str().unwrap().to_owned(),
                r["level"].as_str().unwrap().to_owned(),
                r["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn owned(rows: &[(&str, &str, &str)]) -> Vec<(String, String, String)> {
    rows.iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect()
}

/// Logs one record per (logger, level) pair used by the directive tests.
fn log_the_probe_records() {
    debug!(get_logger("myapp.db"), "db debug");
    debug!(get_logger("myapp.db.pool"), "pool debug");
    debug!(get_logger("myapp.web"), "web debug");
    info!(get_logger("myapp.web"), "web info");
    info!(get_logger("hyper::client"), "hyper info");
    error!(get_logger("hyper"), "hyper error");
    assert!(kakashi::flush());
}

#[test]
fn a_configuration_file_that_cannot_be_read_is_named_as_one() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.toml");
    let err = Config::from_file(&missing).unwrap_err().to_string();
    assert!(
        err.starts_with(&format!(
            "cannot read configuration file {}: ",
            missing.display()
        )),
        "{err}"
    );
    let latin1 = dir.path().join("latin1.toml");
    std::fs::write(&latin1, b"level = \"info\" # caf\xe9\n").unwrap();
    assert_eq!(
        Config::from_file(&latin1).unwrap_err().to_string(),
        format!(
            "cannot read configuration file {}: stream did not contain valid UTF-8",
            latin1.display()
        )
    );
}

#[test]
fn a_toml_file_sets_the_default_level_per_logger_levels_and_the_file() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    let file = dir.path().join("kakashi.toml");
    let text = toml_for(
        &log,
        "level = \"info,hyper=warn\"\n[levels]\n\"myapp::db\" = \"debug\"\n[context]\nservice_name = \"shop\"",
    );
    std::fs::write(&file, text).unwrap();
    Config::from_file(&file).unwrap().apply().unwrap();
    log_the_probe_records();
    assert_eq!(
        lines_of(&log),
        owned(&[
            ("myapp.db", "DEBUG", "db debug"),
            ("myapp.db.pool", "DEBUG", "pool debug"),
            ("myapp.web", "INFO", "web info"),
            ("hyper", "ERROR", "hyper error"),
        ])
    );
    let first = &common::json_lines(&log)[0];
    assert_eq!(first["context"]["service_name"], "shop");
    assert!(first["threading"].is_object(), "{first}");
    kakashi::shutdown_async_backend(Duration::from_secs(5));
}

#[test]
fn a_map_deserialised_with_serde_gives_per_output_formats_and_levels() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let (json, text) = (dir.path().join("all.log"), dir.path().join("errors.log"));
    let data = serde_json::json!({
        "level": "debug",
        "format": "json",
        "outputs": [
            {"type": "file", "path": json, "rotation": 1_000_000, "retention": 3},
            {"type": "file", "path": text, "level": "error", "format": "text"},
        ],
        "async": {"max_queue_size": 1000, "batch_size": 10, "batch_timeout": 0.01},
        "include_thread_info": false,
    });
    Config::deserialize_from(data).unwrap().apply().unwrap();
    let log = get_logger("svc");
    debug!(log, "starting", port = 8080);
    error!(log, "failed", code = 7);
    assert!(kakashi::flush());
    let records = common::json_lines(&json);
    assert_eq!(records.len(), 2);
    assert_eq!(records[0]["fields"]["port"], 8080);
    assert!(records[0].get("threading").is_none(), "{}", records[0]);
    let text = std::fs::read_to_string(&text).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "{text}");
    assert!(
        lines[0].contains("| ERROR    | svc") && lines[0].contains("| failed"),
        "{text}"
    );
    kakashi::shutdown_async_backend(Duration::from_secs(5));
}

#[test]
fn the_shaped_and_console_formats_are_configuration_names_and_a_file_is_never_coloured() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let (ecs, gcp, console) = (
        dir.path().join("ecs.log"),
        dir.path().join("gcp.log"),
        dir.path().join("console.log"),
    );
    let data = serde_json::json!({
        "level": "info",
        "outputs": [
            {"type": "file", "path": ecs, "format": "ecs"},
            {"type": "file", "path": gcp, "format": "gcp"},
            {"type": "file", "path": console, "format": "console"},
        ],
    });
    Config::deserialize_from(data).unwrap().apply().unwrap();
    let log = get_logger("shop.checkout");
    warning!(log, "card declined", order_id = 17);
    assert!(kakashi::flush());
    let ecs = common::json_lines(&ecs);
    assert_eq!(ecs.len(), 1);
    assert_eq!(ecs[0]["log.level"], "warning", "{}", ecs[0]);
    assert!(ecs[0].get("ecs.version").is_some(), "{}", ecs[0]);
    let gcp = common::json_lines(&gcp);
    assert_eq!(gcp[0]["severity"], "WARNING", "{}", gcp[0]);
    let console = std::fs::read_to_string(&console).unwrap();
    assert_eq!(console.lines().count(), 1, "{console}");
    assert!(
        console.contains("shop.checkout") && console.contains("card declined"),
        "{console}"
    );
    assert!(console.contains("order_id=17"), "{console}");
    assert!(!console.contains('\x1b'), "a file got colours: {console:?}");
    kakashi::shutdown_async_backend(Duration::from_secs(5));
}

#[test]
fn environment_variables_win_over_the_file_and_name_themselves_when_bad() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let (in_file, in_env) = (dir.path().join("file.log"), dir.path().join("env.log"));
    let base = toml_for(&in_file, "level = \"debug\"\n[levels]\nhyper = \"debug\"");
    let vars: HashMap<&str, String> = [
        (
            "KAKASHI_LEVEL",
            "warning,hyper=error,myapp.db=debug".to_owned(),
        ),
        ("KAKASHI_FILE", in_env.display().to_string()),
        ("KAKASHI_WORKERS", "1".to_owned()),
        ("KAKASHI_FULL", "1".to_owned()), // another program's variable: not read
    ]
    .into_iter()
    .collect();
    let lookup = |name: &str| vars.get(name).map(OsString::from);
    Config::from_toml_str(&base)
        .unwrap()
        .with_env_from(lookup)
        .unwrap()
        .apply()
        .unwrap();
    log_the_probe_records();
    assert!(!in_file.exists() || std::fs::read_to_string(&in_file).unwrap().is_empty());
    assert_eq!(
        lines_of(&in_env),
        owned(&[
            ("myapp.db", "DEBUG", "db debug"),
            ("myapp.db.pool", "DEBUG", "pool debug"),
            ("hyper", "ERROR", "hyper error"),
        ])
    );

    // The process's own environment, through `from_env`.
    let from_env = dir.path().join("from-env.log");
    std::env::set_var("KAKASHI_FILE", &from_env);
    std::env::set_var("KAKASHI_LEVEL", "error");
    std::env::set_var("KAKASHI_FORMAT", "compact");
    let config = Config::from_env();
    for var in ["KAKASHI_FILE", "KAKASHI_LEVEL", "KAKASHI_FORMAT"] {
        std::env::remove_var(var);
    }
    config.unwrap().apply().unwrap();
    info!(get_logger("e"), "not written");
    error!(get_logger("e"), "written");
    assert!(kakashi::flush());
    let text = std::fs::read_to_string(&from_env).unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.ends_with(" | E | written\n"), "{text}");
    kakashi::shutdown_async_backend(Duration::from_secs(5));
}

#[test]
fn bad_configurations_fail_naming_the_key_and_change_nothing() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    Config::from_toml_str(&toml_for(&log, "level = \"info,keep=debug\""))
        .unwrap()
        .apply()
        .unwrap();
    let rules = levels();
    let unused = dir.path().join("never.log");
    let cases: &[(&str, &str)] = &[
        (
            "levle = \"info\"",
            "levle: unknown key `levle`, expected one of `level`, `levels`, `format`, `outputs`, `async`, `context`, `include_thread_info`, `include_source_location`",
        ),
        (
            "[async]\nbatch_size = 0",
            "async.batch_size: batch_size = 0 is out of range; expected at least 1",
        ),
        (
            "[async]\nworker_count = \"two\"",
            "async.worker_count: invalid type: string \"two\", expected an integer",
        ),
        (
            "[async]\noverflow = \"block\"",
            "async.overflow: unknown key `overflow`, expected one of `max_queue_size`, `worker_count`, `batch_size`, `batch_timeout`, `enable_batching`, `overflow_strategy`, `shutdown_timeout`, `thread_name_prefix`",
        ),
        (
            "[async]\noverflow_strategy = \"dropp_oldest\"",
            "async.overflow_strategy: unknown overflow strategy \"dropp_oldest\"; expected block, drop_oldest or drop_newest",
        ),
        (
            "level = \"loud\"",
            "level: invalid directive \"loud\": invalid log level \"loud\"; expected DEBUG, INFO, WARNING, ERROR, CRITICAL or 10, 20, 30, 40, 50",
        ),
        (
            "level = \"info,hyper=\"",
            "level: invalid directive \"hyper=\": invalid log level \"\"; expected DEBUG, INFO, WARNING, ERROR, CRITICAL or 10, 20, 30, 40, 50",
        ),
        (
            "[levels]\n\"a b\" = \"info\"",
            "levels.a b: invalid logger name \"a b\": target \"a b\" has whitespace, ',' or '=' in it",
        ),
        (
            "outputs = []",
            "outputs: an empty list; expected at least one output (without the key, one console output on standard output)",
        ),
        (
            "format = \"xml\"",
            "format: invalid format \"xml\"; expected json, text, compact, detailed, console, ecs or gcp",
        ),
    ];
    let outputs_cases: &[(&str, &str)] = &[
        (
            "type = \"file\"\npath = \"PATH\"\nrotation = \"sometimes\"",
            "outputs[0].rotation: invalid rotation \"sometimes\"; expected a size (\"100 MB\", \"1 GiB\", bytes as a number), \"daily\", \"hourly\", a time of day (\"00:00\", UTC), an interval (\"6 hours\"), or a size and a time joined by a comma",
        ),
        (
            "type = \"syslog\"",
            "outputs[0].type: unknown output type \"syslog\"; expected file or console",
        ),
        ("type = \"file\"", "outputs[0].path: a file output needs a path"),
        ("type = \"file\"\npath = \"\"", "outputs[0].path: a file output needs a path"),
        (
            "type = \"console\"\nrotation = \"daily\"",
            "outputs[0].rotation: only file outputs have this key",
        ),
        ("path = \"PATH\"", "outputs[0]: missing key `type`"),
    ];
    let mut all: Vec<(String, &str)> = cases.iter().map(|(t, m)| (t.to_string(), *m)).collect();
    for (output, message) in outputs_cases {
        let output = output.replace("PATH", &unused.display().to_string());
        all.push((format!("[[outputs]]\n{output}"), message));
    }
    for (text, expected) in &all {
        let result = Config::from_toml_str(text).and_then(|c| c.apply());
        let message = result.expect_err(text).to_string();
        assert_eq!(&message, expected, "for {text:?}");
    }
    // Environment variables are named as such.
    for (var, value, expected) in [
        ("KAKASHI_WORKERS", "many", "KAKASHI_WORKERS: expected an integer, got \"many\""),
        (
            "KAKASHI_WORKERS",
            "0",
            "KAKASHI_WORKERS (async.worker_count): worker_count = 0 is out of range; expected 1 to 1024",
        ),
        (
            "KAKASHI_LEVEL",
            "info,=debug",
            "KAKASHI_LEVEL (level): invalid directive \"=debug\": empty target",
        ),
        (
            "KAKASHI_ROTATION",
            "daily",
            "KAKASHI_ROTATION: there is no file output to apply it to; set KAKASHI_FILE or configure a file output",
        ),
    ] {
        let result = Config::default()
            .with_env_from(|name| (name == var).then(|| OsString::from(value)))
            .and_then(|c| c.apply());
        assert_eq!(result.unwrap_err().to_string(), expected);
    }
    // A dict with a value of the wrong shape, through serde.
    let bad = serde_json::json!({"outputs": [{"type": "file", "path": 3}]});
    assert_eq!(
        Config::deserialize_from(bad).unwrap_err().to_string(),
        "outputs[0].path: invalid type: integer `3`, expected path string"
    );
    // Nothing was applied: the same rules, the same file, no new file.
    assert_eq!(levels(), rules);
    debug!(get_logger("keep"), "still here");
    assert!(kakashi::flush());
    assert_eq!(lines_of(&log), owned(&[("keep", "DEBUG", "still here")]));
    assert!(!unused.exists());
    kakashi::shutdown_async_backend(Duration::from_secs(5));
}

#[test]
fn a_module_file_goes_beside_the_configured_file() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    Config::from_toml_str(&toml_for(&log, ""))
        .unwrap()
        .apply()
        .unwrap();
    let audit = get_env_logger("audit", Some("audit"), FormatterType::Default).unwrap();
    info!(audit, "kept apart");
    assert!(kakashi::flush());
    let module = dir.path().join("modules").join("audit.log");
    assert_eq!(lines_of(&module), owned(&[("audit", "INFO", "kept apart")]));
    kakashi::shutdown_async_backend(Duration::from_secs(5));
}

#[test]
fn set_level_changes_existing_and_future_loggers_below_the_name() {
    let _serial = serial();
    let backend = Backend::synchronous();
    let memory = kakashi::testing::MemoryWriter::new();
    let pipeline = || PipelineConfig::new().writer(memory.clone());
    let before = backend.logger("lvl.db.pool", pipeline());
    let sibling = backend.logger("lvl.dbx", pipeline());
    debug!(before, "hidden");
    set_level("lvl::db", Level::Debug);
    let after = backend.logger("lvl.db", pipeline());
    debug!(before, "existing");
    debug!(after, "future");
    debug!(sibling, "sibling hidden");
    // The pipeline's own level still applies to names without a rule.
    sibling.set_min_level(Level::Debug);
    debug!(sibling, "sibling after set_min_level");
    before.set_min_level(Level::Error); // the rule for lvl.db wins below it
    debug!(before, "rule wins");
    assert!(clear_level("lvl.db"));
    debug!(before, "hidden again");
    sibling.set_min_level(Level::Info);
    let messages: Vec<String> = common::parse(&memory.lines())
        .iter()
        .map(|r| r["message"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        messages,
        [
            "existing",
            "future",
            "sibling after set_min_level",
            "rule wins"
        ]
    );
    assert!(kakashi::try_set_level("bad name", Level::Info)
        .unwrap_err()
        .to_string()
        .contains("whitespace"));
}

#[test]
fn flipping_levels_while_four_threads_log_loses_and_tears_nothing() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flip.log");
    let backend = Backend::new(AsyncConfig {
        max_queue_size: 1000,
        worker_count: 2,
        overflow_strategy: OverflowStrategy::Block,
        ..AsyncConfig::default()
    })
    .unwrap();
    let writer = kakashi::file_writer_with(&path, FileOptions::default()).unwrap();
    let route_logger = backend.logger("flip.w", PipelineConfig::new().writer(writer));
    const PER_THREAD: u64 = 5_000;
    let stop = Arc::new(AtomicBool::new(false));
    let flipper = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut flips = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let level = if flips % 2 == 0 {
                    Level::Debug
                } else {
                    Level::Error
                };
                set_level("flip", level);
                flips += 1;
                std::thread::yield_now();
            }
            flips
        })
    };
    let producers: Vec<_> = (0..4u64)
        .map(|t| {
            let log = route_logger.clone();
            std::thread::spawn(move || {
                for i in 0..PER_THREAD {
                    debug!(log, "maybe", t = t, i = i);
                    error!(log, "always", t = t, i = i);
                }
            })
        })
        .collect();
    for p in producers {
        p.join().unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    assert!(flipper.join().unwrap() > 0);
    clear_level("flip");
    assert!(backend.flush());
    let records = common::json_lines(&path); // every line whole JSON
    let always: Vec<_> = records
        .iter()
        .filter(|r| r["message"] == "always")
        .collect();
    assert_eq!(always.len() as u64, 4 * PER_THREAD);
    for t in 0..4 {
        let seq: Vec<u64> = always
            .iter()
            .filter(|r| r["fields"]["t"] == t)
            .map(|r| r["fields"]["i"].as_u64().unwrap())
            .collect();
        assert_eq!(seq, (0..PER_THREAD).collect::<Vec<_>>(), "thread {t}");
    }
    let maybe = records.iter().filter(|r| r["message"] == "maybe").count() as u64;
    assert!(maybe <= 4 * PER_THREAD);
    let stats = backend.stats();
    assert_eq!(stats.messages_written, 4 * PER_THREAD + maybe);
    assert_eq!(stats.messages_dropped, 0);
}
