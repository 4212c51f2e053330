//! G9 (bounded memory): a backend's queue costs memory for the records it
//! has held, not for its configured capacity: a large queue that has seen
//! few records stays small.

#![cfg(target_os = "linux")]

use kakashi::{get_high_performance_logger_with, HighPerformanceOptions, OverflowStrategy};

/// This process's resident memory, in MiB (`VmRSS`).
fn rss_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kib / 1024
}

#[test]
fn a_large_queue_that_held_few_records_stays_small() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big-queue.log");
    let before = rss_mib();
    // A million slots of a few hundred bytes each: hundreds of MiB if the
    // whole ring were committed.
    let log = get_high_performance_logger_with(
        "big",
        &path,
        HighPerformanceOptions {
            max_queue_size: 1_000_000,
            overflow_strategy: OverflowStrategy::Block,
            ..Default::default()
        },
    )
    .unwrap();
    for i in 0..10_000u64 {
        kakashi::info!(log, "m", seq = i);
    }
    assert!(log.flush());
    let grown = rss_mib().saturating_sub(before);
    assert_eq!(
        std::fs::read_to_string(&path).unwrap().lines().count(),
        10_000
    );
    assert!(
        grown < 64,
        "a 1,000,000-record queue that held 10,000 records grew the process by {grown} MiB"
    );
}
