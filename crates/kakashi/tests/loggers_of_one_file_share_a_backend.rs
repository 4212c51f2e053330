//! High-performance loggers of one file share its backend: one queue, one
//! set of workers, one order for the file; other queue settings for a file
//! that has a live logger are a configuration error.

use std::time::Duration;

use kakashi::{
    get_async_stats, get_high_performance_logger_with, ConfigError, HighPerformanceOptions, Level,
    OverflowStrategy,
};

fn options(worker_count: usize, min_level: Level) -> HighPerformanceOptions {
    HighPerformanceOptions {
        max_queue_size: 1_000,
        worker_count,
        batch_size: 50,
        overflow_strategy: OverflowStrategy::Block,
        min_level,
        ..HighPerformanceOptions::default()
    }
}

#[test]
fn one_file_one_backend_one_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.log");
    let workers_before = get_async_stats().active_workers;
    let a = get_high_performance_logger_with("a", &path, options(2, Level::Info)).unwrap();
    // Another spelling of the same file, another level: still one backend.
    let other_spelling = dir.path().join(".").join("shared.log");
    let b =
        get_high_performance_logger_with("b", &other_spelling, options(2, Level::Debug)).unwrap();
    assert_eq!(
        get_async_stats().active_workers - workers_before,
        2,
        "the second logger started no workers of its own"
    );
    for i in 0..2_000u64 {
        if i % 2 == 0 {
            kakashi::info!(a, "m", seq = i);
        } else {
            kakashi::debug!(b, "m", seq = i);
        }
    }
    assert!(a.flush());
    let seqs: Vec<u64> = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["fields"]["seq"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(
        seqs,
        (0..2_000).collect::<Vec<_>>(),
        "one order for the file"
    );

    let err = get_high_performance_logger_with("c", &path, options(4, Level::Info)).unwrap_err();
    assert!(matches!(err, ConfigError::ConflictingSettings { .. }));
    assert!(err.to_string().contains("(worker_count 2, not 4)"), "{err}");

    // Once every logger of the file is gone, its backend is too: new settings are fine.
    drop((a, b));
    let c = get_high_performance_logger_with("c", &path, options(1, Level::Info)).unwrap();
    kakashi::info!(c, "after", seq = 2_000u64);
    assert!(c.flush());
    assert!(c.backend().shutdown(Duration::from_secs(5)).completed());
    let lines = std::fs::read_to_string(&path).unwrap();
    assert_eq!(lines.lines().count(), 2_001);
}
