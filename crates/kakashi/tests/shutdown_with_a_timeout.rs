//! G4 (flush and exit): shutdown with a timeout shorter than the backlog
//! returns near the timeout, reports and counts what was left; logging
//! afterwards neither hangs nor panics.

mod common;

use std::time::{Duration, Instant};

use common::SlowWriter;
use kakashi::{
    info, AsyncConfig, AsyncPipeline, AsyncPipelineConfig, OverflowStrategy, PipelineConfig,
};

fn backlog(fallback_to_sync: bool) -> (AsyncPipeline, SlowWriter) {
    let writer = SlowWriter::new(Duration::from_millis(5));
    let mut config = AsyncPipelineConfig::new(
        PipelineConfig::new().writer(writer.clone()),
        AsyncConfig {
            max_queue_size: 2_000,
            worker_count: 2,
            batch_size: 1,
            overflow_strategy: OverflowStrategy::Block,
            ..AsyncConfig::default()
        },
    );
    config.fallback_to_sync = fallback_to_sync;
    let pipeline = AsyncPipeline::new(config).unwrap();
    let logger = pipeline.logger("backlog");
    for i in 0..1_000u64 {
        info!(logger, "m", i = i);
    }
    (pipeline, writer)
}

#[test]
fn timeout_returns_reports_and_counts_the_rest() {
    let (pipeline, writer) = backlog(true);
    let started = Instant::now();
    let report = pipeline.shutdown(Duration::from_millis(200));
    let took = started.elapsed();
    assert!(!report.drained);
    assert!(report.dropped > 0, "{report:?}");
    assert!(report.dropped + report.in_flight < 1_000);
    // A generous bound: the point is that it does not wait for the 5 s backlog.
    assert!(took < Duration::from_secs(3), "shutdown took {took:?}");

    // The in-flight batches finish on their own; then every record is accounted.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !pipeline.stats().is_balanced() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let stats = pipeline.stats();
    assert!(stats.is_balanced(), "{stats:?}");
    assert_eq!(stats.dropped_shutdown_timeout, report.dropped);
    assert_eq!(stats.messages_written, writer.lines().len() as u64);

    // Logging after shutdown: written synchronously (fallback_to_sync).
    let before = writer.lines().len();
    info!(pipeline.logger("after"), "late", i = 1);
    assert_eq!(writer.lines().len(), before + 1);
    assert!(pipeline.flush());
}

#[test]
fn after_shutdown_without_fallback_records_are_counted_as_dropped() {
    let (pipeline, writer) = backlog(false);
    let report = pipeline.shutdown(Duration::from_secs(60));
    assert!(report.completed(), "{report:?}");
    assert_eq!(writer.lines().len(), 1_000);
    let logger = pipeline.logger("after");
    for i in 0..5u64 {
        info!(logger, "late", i = i);
    }
    let stats = pipeline.stats();
    assert_eq!(stats.dropped_backend_stopped, 5);
    assert!(stats.is_balanced(), "{stats:?}");
    assert_eq!(writer.lines().len(), 1_000);
    // A second shutdown is harmless.
    assert!(pipeline.shutdown(Duration::from_secs(1)).drained);
}
