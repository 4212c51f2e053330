//! The page's global functions, in one sequence (they share the global
//! backend, so this file has a single test that uses it): setup_async_logging,
//! get_logger, get_async_structured_logger, configure_async_backend,
//! get_async_stats, flush, shutdown_async_backend. The presets' default
//! directories are checked without opening anything there (tests never write
//! outside their temporary directories).

mod common;

use std::time::Duration;

use kakashi::{
    configure_async_backend, get_async_stats, get_async_structured_logger, get_logger, info,
    setup_async_logging, shutdown_async_backend, warning, AsyncConfig, AsyncSetup, BackendOptions,
    Environment, EnvironmentConfig, OverflowStrategy, State,
};

#[test]
fn the_presets_default_directories_are_the_originals() {
    let file = |environment| EnvironmentConfig::preset(environment).log_file();
    assert_eq!(
        file(Environment::Production),
        std::path::Path::new("/var/log/app.log")
    );
    assert_eq!(
        file(Environment::Development),
        std::path::Path::new("logs/app.log")
    );
    assert_eq!(
        file(Environment::Testing),
        std::path::Path::new("test_logs/app.log")
    );
}

#[test]
fn the_page_in_order() {
    let dir = tempfile::tempdir().unwrap();

    // Unknown environments are refused by name.
    let err = "staging".parse::<Environment>().unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown environment \"staging\"; expected development, production or testing"
    );

    let env = setup_async_logging(AsyncSetup {
        environment: "prod".parse().unwrap(),
        service_name: Some("my-api".into()),
        version: Some("1.0.0".into()),
        log_directory: Some(dir.path().to_path_buf()),
        max_queue_size: 25_000,
        worker_count: 2,
        batch_size: 200,
        ..AsyncSetup::default()
    })
    .unwrap();
    assert_eq!(
        env.async_config.overflow_strategy,
        OverflowStrategy::DropOldest
    );
    let stats = get_async_stats();
    assert_eq!(stats.state, State::Running);
    assert_eq!((stats.worker_count, stats.active_workers), (2, 2));

    let log = get_logger("api");
    info!(log, "request served", status = 200);
    log.debug("below the file level of production");
    warning!(log, "slow request", ms = 950);
    let analytics = get_async_structured_logger(
        "analytics",
        None,
        None,
        [("service", "user-analytics"), ("version", "1.0.0")],
    )
    .unwrap()
    .bind("user_id", 123);
    info!(analytics, "signup", email = "user@example.com");
    assert!(kakashi::flush());

    let records = common::json_lines(&dir.path().join("app.log"));
    assert_eq!(records.len(), 3, "{records:#?}");
    assert_eq!(records[0]["message"], "request served");
    assert_eq!(records[0]["context"]["service_name"], "my-api");
    assert_eq!(records[0]["context"]["version"], "1.0.0");
    assert_eq!(records[0]["context"]["environment"], "production");
    assert!(records[0]["threading"]["thread_id"].as_u64().is_some());
    assert_eq!(records[1]["level"], "WARNING");
    assert_eq!(
        records[2]["fields"],
        serde_json::json!({"service": "user-analytics", "version": "1.0.0", "user_id": 123, "email": "user@example.com"})
    );

    // A new global backend: loggers made from now on use it.
    let backend = configure_async_backend(BackendOptions {
        max_queue_size: 50_000,
        worker_count: 4,
        batch_size: 500,
        enable_batching: true,
        overflow_strategy: "drop_oldest".parse().unwrap(),
    })
    .unwrap();
    assert_eq!(backend.config().worker_count, 4);
    info!(get_logger("api"), "on the new backend");
    assert!(backend.flush());
    assert_eq!(backend.stats().messages_written, 1);
    assert_eq!(common::json_lines(&dir.path().join("app.log")).len(), 4);

    let totals = get_async_stats();
    assert!(totals.is_balanced(), "{totals:?}");
    assert_eq!(totals.messages_written, 4);

    // The page's get_async_structured_logger(name, log_file, async_config,
    // **fields): the global backend's own settings change nothing...
    let same = backend.config().clone();
    let module = get_async_structured_logger(
        "analytics",
        Some("analytics"),
        Some(same),
        [("service", "user-analytics")],
    )
    .unwrap();
    assert!(backend.is_running());
    info!(module, "to the module file");
    assert!(module.flush());
    let lines = common::json_lines(&dir.path().join("modules/analytics.log"));
    assert_eq!(lines.len(), 1);
    assert_eq!(
        lines[0]["fields"],
        serde_json::json!({"service": "user-analytics"})
    );
    // ...other settings start a new global backend (the previous one drained).
    let other = AsyncConfig {
        worker_count: 3,
        ..AsyncConfig::default()
    };
    let elsewhere =
        get_async_structured_logger("analytics", None, Some(other), [("service", "x")]).unwrap();
    assert!(!backend.is_running());
    assert_eq!(elsewhere.backend().config().worker_count, 3);

    let report = shutdown_async_backend(Duration::from_secs(10));
    assert!(report.completed(), "{report:?}");
    let after = get_async_stats();
    assert_eq!(after.active_workers, 0);
    // Loggers made before keep working, synchronously.
    info!(log, "after shutdown");
    assert_eq!(common::json_lines(&dir.path().join("app.log")).len(), 5);
    // And get_logger gets a fresh running backend from the same environment.
    info!(get_logger("api"), "fresh backend");
    assert!(kakashi::flush());
    assert_eq!(common::json_lines(&dir.path().join("app.log")).len(), 6);
    assert_eq!(get_async_stats().state, State::Running);
}
