//! Per-logger levels (directives, `set_level`) filter what the `log` and
//! `tracing` bridges bring in by the record's target, as `RUST_LOG` does:
//! from a configuration's `KAKASHI_LEVEL`, and for rules set later, with
//! no sync call, both lowering and raising; a `tracing` call site disabled
//! at first is enabled by a later rule; the bridge logger's own rule and
//! its pipeline's level are the default of the targets no rule names;
//! nothing is lost or repeated while levels change; two bridges on
//! pipelines at different levels keep their own.
//!
//! `log`, the global tracing dispatcher and the level rules are one per
//! process, so everything is one test, in named steps. Run with
//! `cargo test -p kakashi --features log,tracing,config --test bridge_levels`.
#![cfg(all(feature = "log", feature = "tracing", feature = "config"))]

mod common;

use std::path::Path;

use kakashi::config::Config;
use kakashi::{bridge, clear_level, get_logger, set_level, Level, Logger};
use serde_json::Value as Json;
use tracing_subscriber::layer::SubscriberExt;

/// `"logger LEVEL message"` of each line of `path` whose message starts
/// with `prefix`, in file order.
fn lines(path: &Path, prefix: &str) -> Vec<String> {
    assert!(kakashi::flush());
    common::json_lines(path)
        .iter()
        .filter(|r| r["message"].as_str().unwrap().starts_with(prefix))
        .map(|r| {
            format!(
                "{} {} {}",
                r["logger"].as_str().unwrap(),
                r["level"].as_str().unwrap(),
                r["message"].as_str().unwrap()
            )
        })
        .collect()
}

fn owned(lines: &[&str]) -> Vec<String> {
    lines.iter().map(|l| (*l).to_owned()).collect()
}

#[test]
fn per_logger_levels_filter_both_bridges_by_target() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bridged.log");
    let config = Config::from_toml_str(&format!(
        "[[outputs]]\ntype = \"file\"\npath = {:?}\n[async]\noverflow_strategy = \"block\"\nworker_count = 2\n",
        path.display().to_string()
    ))
    .unwrap()
    .with_env_from(|name| {
        (name == "KAKASHI_LEVEL").then(|| {
            "info,hyper=warn,myapp::db=debug,bridge_levels::quiet=warning".into()
        })
    })
    .unwrap();
    config.apply().unwrap();
    let logger = get_logger("bridge");
    bridge::log::init(logger.clone()).unwrap();
    tracing::subscriber::set_global_default(
        tracing_subscriber::registry().with(bridge::tracing::layer(logger.clone())),
    )
    .unwrap();

    directives_apply_to_targets(&path);
    rules_set_later_apply_without_a_sync(&path);
    an_unruled_target_follows_the_bridge_logger(&path, &logger);
    nothing_is_lost_or_repeated_while_levels_change(&path);
    two_bridges_on_one_thread_keep_their_own_levels();
    kakashi::shutdown_async_backend(std::time::Duration::from_secs(5));
    drop(dir);
}

mod quiet {
    /// Calls with no explicit target: the target is this module's path,
    /// `bridge_levels::quiet`.
    pub fn talk() {
        log::info!("d1 quiet log info");
        log::warn!("d1 quiet log warn");
        tracing::info!("d1 quiet tracing info");
        tracing::warn!("d1 quiet tracing warn");
    }
}

/// `info,hyper=warn,myapp::db=debug`: DEBUG from `myapp::db` and below
/// is written, INFO from `hyper` is not, the rest is at INFO; a rule for a
/// module path applies to calls with no explicit target.
fn directives_apply_to_targets(path: &Path) {
    assert!(log::log_enabled!(target: "myapp::db", log::Level::Debug));
    assert!(!log::log_enabled!(target: "hyper", log::Level::Info));
    log::debug!(target: "myapp::db", "d1 log db debug");
    log::trace!(target: "myapp::db::pool", "d1 log pool trace");
    log::info!(target: "hyper", "d1 log hyper info");
    log::warn!(target: "hyper::client", "d1 log hyper warn");
    log::debug!(target: "myapp::web", "d1 log web debug");
    log::info!(target: "myapp::web", "d1 log web info");
    log::debug!(target: "myapp::database", "d1 log database debug");
    tracing::debug!(target: "myapp::db", "d1 tracing db debug");
    tracing::trace!(target: "myapp::db::pool", "d1 tracing pool trace");
    tracing::info!(target: "hyper", "d1 tracing hyper info");
    tracing::warn!(target: "hyper::client", "d1 tracing hyper warn");
    tracing::debug!(target: "myapp::web", "d1 tracing web debug");
    tracing::info!(target: "myapp::web", "d1 tracing web info");
    quiet::talk();
    assert_eq!(
        lines(path, "d1 "),
        owned(&[
            "myapp::db DEBUG d1 log db debug",
            "myapp::db::pool DEBUG d1 log pool trace",
            "hyper::client WARNING d1 log hyper warn",
            "myapp::web INFO d1 log web info",
            "myapp::db DEBUG d1 tracing db debug",
            "myapp::db::pool DEBUG d1 tracing pool trace",
            "hyper::client WARNING d1 tracing hyper warn",
            "myapp::web INFO d1 tracing web info",
            "bridge_levels::quiet WARNING d1 quiet log warn",
            "bridge_levels::quiet WARNING d1 quiet tracing warn",
        ])
    );
}

/// The same four call sites, called at each step.
fn late_calls(step: u32) {
    log::debug!(target: "late", step; "d2 log late debug");
    log::info!(target: "late", step; "d2 log late info");
    tracing::debug!(target: "late", step, "d2 tracing late debug");
    tracing::info!(target: "late", step, "d2 tracing late info");
}

/// A rule set after both bridges are installed applies at the next call,
/// lowering (a `tracing` call site disabled when registered becomes
/// enabled) and raising; clearing it restores the default; with no rule
/// below INFO left, a new DEBUG rule still gets past the facades' own
/// maximum levels.
fn rules_set_later_apply_without_a_sync(path: &Path) {
    late_calls(1); // INFO: the DEBUG call sites are registered disabled
    set_level("late", Level::Debug);
    late_calls(2);
    set_level("late", Level::Error);
    late_calls(3);
    clear_level("late");
    late_calls(4);

    // No rule below INFO: the facades skip DEBUG in their macros...
    assert!(clear_level("myapp::db"));
    assert_eq!(log::max_level(), log::LevelFilter::Info);
    assert_eq!(
        tracing::level_filters::LevelFilter::current(),
        tracing::level_filters::LevelFilter::INFO
    );
    late_calls(5);
    // ...until a rule needs it.
    set_level("late", Level::Debug);
    assert_eq!(log::max_level(), log::LevelFilter::Trace);
    late_calls(6);
    clear_level("late");
    set_level("myapp::db", Level::Debug);

    assert!(kakashi::flush());
    let seen: Vec<String> = common::json_lines(path)
        .iter()
        .filter(|r| r["message"].as_str().unwrap().starts_with("d2 "))
        .map(|r| {
            format!(
                "{} {} {} {}",
                r["fields"]["step"],
                r["logger"].as_str().unwrap(),
                r["level"].as_str().unwrap(),
                r["message"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        seen,
        owned(&[
            "1 late INFO d2 log late info",
            "1 late INFO d2 tracing late info",
            "2 late DEBUG d2 log late debug",
            "2 late INFO d2 log late info",
            "2 late DEBUG d2 tracing late debug",
            "2 late INFO d2 tracing late info",
            "4 late INFO d2 log late info",
            "4 late INFO d2 tracing late info",
            "5 late INFO d2 log late info",
            "5 late INFO d2 tracing late info",
            "6 late DEBUG d2 log late debug",
            "6 late INFO d2 log late info",
            "6 late DEBUG d2 tracing late debug",
            "6 late INFO d2 tracing late info",
        ])
    );
}

/// A target no rule names follows the bridge logger's level: its own rule
/// when it has one, else its pipeline's; a rule for the target still wins.
fn an_unruled_target_follows_the_bridge_logger(path: &Path, logger: &Logger) {
    let calls = |step: u32| {
        log::debug!(target: "unruled", step; "d3 log unruled debug");
        log::info!(target: "hyper", step; "d3 log hyper info");
        tracing::debug!(target: "unruled", step, "d3 tracing unruled debug");
        tracing::info!(target: "hyper", step, "d3 tracing hyper info");
    };
    calls(1);
    set_level("bridge", Level::Debug);
    calls(2);
    clear_level("bridge");
    calls(3);
    logger.set_min_level(Level::Debug);
    calls(4);
    logger.set_min_level(Level::Info);
    calls(5);
    assert!(kakashi::flush());
    let seen: Vec<String> = common::json_lines(path)
        .iter()
        .filter(|r| r["message"].as_str().unwrap().starts_with("d3 "))
        .map(|r| format!("{} {}", r["fields"]["step"], r["message"].as_str().unwrap()))
        .collect();
    assert_eq!(
        seen,
        owned(&[
            "2 d3 log unruled debug",
            "2 d3 tracing unruled debug",
            "4 d3 log unruled debug",
            "4 d3 tracing unruled debug",
        ])
    );
}

/// Four threads log through both bridges to an enabled target and a
/// disabled one while a fifth keeps changing rules for other names (each
/// change rebuilds tracing's interest and log's maximum level): every
/// enabled call is one line, in its thread's order, and no disabled one.
fn nothing_is_lost_or_repeated_while_levels_change(path: &Path) {
    const THREADS: u64 = 4;
    const CALLS: u64 = 500;
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| {
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                set_level("elsewhere", Level::Debug);
                clear_level("elsewhere");
            }
        });
        let loggers: Vec<_> = (0..THREADS)
            .map(|t| {
                s.spawn(move || {
                    for i in 0..CALLS {
                        log::debug!(target: "myapp::db", t, i; "d4 log");
                        tracing::debug!(target: "myapp::db", t, i, "d4 tracing");
                        log::info!(target: "hyper", t, i; "d4 log hyper");
                        tracing::info!(target: "hyper", t, i, "d4 tracing hyper");
                    }
                })
            })
            .collect();
        for l in loggers {
            l.join().unwrap();
        }
        done.store(true, std::sync::atomic::Ordering::Relaxed);
    });
    assert!(kakashi::flush());
    let records: Vec<Json> = common::json_lines(path)
        .into_iter()
        .filter(|r| r["message"].as_str().unwrap().starts_with("d4 "))
        .collect();
    assert_eq!(records.len() as u64, 2 * THREADS * CALLS);
    for t in 0..THREADS {
        for message in ["d4 log", "d4 tracing"] {
            let seq: Vec<u64> = records
                .iter()
                .filter(|r| r["message"] == message && r["fields"]["t"] == t)
                .map(|r| {
                    assert_eq!(r["logger"], "myapp::db");
                    r["fields"]["i"].as_u64().unwrap()
                })
                .collect();
            assert_eq!(seq, (0..CALLS).collect::<Vec<_>>(), "thread {t}, {message}");
        }
    }
}

/// The same call sites through two bridges on pipelines at different
/// levels, one after the other on one thread: each bridge applies its own
/// pipeline's level and the rules, whatever the other did before (the
/// per-thread caches are per bridge). Tracing's scoped dispatchers beside
/// the global one make `tracing` ask the layers per event (`enabled`).
fn two_bridges_on_one_thread_keep_their_own_levels() {
    use kakashi::testing::MemoryWriter;
    use kakashi::{Backend, PipelineConfig};
    let (loud, quiet) = (MemoryWriter::new(), MemoryWriter::new());
    let backend = Backend::synchronous();
    let loud_logger = backend.logger(
        "loud",
        PipelineConfig::new()
            .min_level(Level::Debug)
            .writer(loud.clone()),
    );
    let quiet_logger = backend.logger(
        "quiet",
        PipelineConfig::new()
            .min_level(Level::Warning)
            .writer(quiet.clone()),
    );
    let loud_log = bridge::log::KakashiLog::new(loud_logger.clone());
    let quiet_log = bridge::log::KakashiLog::new(quiet_logger.clone());
    let calls = |log: &dyn log::Log, round: u32| {
        for level in [log::Level::Debug, log::Level::Info, log::Level::Warn] {
            log.log(
                &log::Record::builder()
                    .target("scoped::log")
                    .level(level)
                    .args(format_args!("log {round} {level}"))
                    .file_static(Some(file!()))
                    .line(Some(line!()))
                    .build(),
            );
        }
        tracing::debug!(target: "scoped::tracing", "tracing {round} DEBUG");
        tracing::info!(target: "scoped::tracing", "tracing {round} INFO");
        tracing::warn!(target: "scoped::tracing", "tracing {round} WARN");
    };
    let loud_layer =
        || tracing_subscriber::registry().with(bridge::tracing::layer(loud_logger.clone()));
    let quiet_layer =
        || tracing_subscriber::registry().with(bridge::tracing::layer(quiet_logger.clone()));
    tracing::subscriber::with_default(loud_layer(), || calls(&loud_log, 1));
    tracing::subscriber::with_default(quiet_layer(), || calls(&quiet_log, 1));
    tracing::subscriber::with_default(loud_layer(), || calls(&loud_log, 2));
    set_level("scoped::tracing", Level::Error);
    tracing::subscriber::with_default(quiet_layer(), || calls(&quiet_log, 2));
    tracing::subscriber::with_default(loud_layer(), || calls(&loud_log, 3));
    clear_level("scoped::tracing");
    tracing::subscriber::with_default(quiet_layer(), || calls(&quiet_log, 3));

    let messages = |memory: &MemoryWriter| -> Vec<String> {
        common::parse(&memory.lines())
            .iter()
            .map(|r| r["message"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        messages(&loud),
        owned(&[
            "log 1 DEBUG",
            "log 1 INFO",
            "log 1 WARN",
            "tracing 1 DEBUG",
            "tracing 1 INFO",
            "tracing 1 WARN",
            "log 2 DEBUG",
            "log 2 INFO",
            "log 2 WARN",
            "tracing 2 DEBUG",
            "tracing 2 INFO",
            "tracing 2 WARN",
            "log 3 DEBUG",
            "log 3 INFO",
            "log 3 WARN",
        ])
    );
    assert_eq!(
        messages(&quiet),
        owned(&[
            "log 1 WARN",
            "tracing 1 WARN",
            "log 2 WARN",
            "log 3 WARN",
            "tracing 3 WARN"
        ])
    );
}
