//! G1 (nothing is lost silently): with a tiny queue and a slow writer,
//! `drop_newest` and `drop_oldest` account for every record, the file holds
//! exactly `messages_written` lines, the right records survive, and a WARNING
//! record in the output reports the drops.

mod common;

use std::time::Duration;

use common::SlowWriter;
use kakashi::{
    info, AsyncConfig, AsyncPipeline, AsyncPipelineConfig, OverflowStrategy, PipelineConfig,
};

const N: u64 = 2_000;

fn run(strategy: OverflowStrategy) -> (Vec<serde_json::Value>, kakashi::Stats) {
    let writer = SlowWriter::new(Duration::from_millis(2));
    let pipeline = AsyncPipeline::new(AsyncPipelineConfig::new(
        PipelineConfig::new().writer(writer.clone()),
        AsyncConfig {
            max_queue_size: 16,
            worker_count: 1,
            batch_size: 4,
            overflow_strategy: strategy,
            ..AsyncConfig::default()
        },
    ))
    .unwrap();
    let logger = pipeline.logger("burst");
    for i in 0..N {
        info!(logger, "m", i = i);
    }
    let report = pipeline.shutdown(Duration::from_secs(60));
    assert!(report.completed(), "{report:?}");
    (common::parse(&writer.lines()), pipeline.stats())
}

fn check_accounting(records: &[serde_json::Value], stats: &kakashi::Stats) -> Vec<u64> {
    assert!(stats.is_balanced(), "{stats:?}");
    assert_eq!(records.len() as u64, stats.messages_written);
    assert_eq!(stats.messages_submitted, N + stats.reports_emitted);
    assert!(
        stats.messages_dropped > 0,
        "the burst must overflow a queue of 16"
    );
    let reports: Vec<&serde_json::Value> = records
        .iter()
        .filter(|r| r["logger"] == "kakashi")
        .collect();
    assert!(!reports.is_empty());
    assert!(reports.iter().all(|r| r["level"] == "WARNING"));
    let reported: u64 = reports
        .iter()
        .map(|r| r["fields"]["dropped"].as_u64().unwrap())
        .sum();
    assert_eq!(reported, stats.messages_dropped);
    let seq = common::field_seq(records, "burst", "i");
    assert!(
        seq.windows(2).all(|w| w[0] < w[1]),
        "survivors keep their order"
    );
    assert_eq!(seq.len() as u64 + stats.messages_dropped, N);
    seq
}

#[test]
fn drop_newest_rejects_and_reports() {
    let (records, stats) = run(OverflowStrategy::DropNewest);
    let seq = check_accounting(&records, &stats);
    assert_eq!(stats.dropped_queue_full, stats.messages_dropped);
    assert_eq!(seq[0], 0, "the oldest are kept");
    assert!(records[0]["message"].as_str().is_some());
    let report = records.iter().find(|r| r["logger"] == "kakashi").unwrap();
    assert_eq!(report["fields"]["reason"], "queue_full");
}

#[test]
fn drop_oldest_keeps_the_newest() {
    let (records, stats) = run(OverflowStrategy::DropOldest);
    let seq = check_accounting(&records, &stats);
    assert_eq!(stats.dropped_evicted, stats.messages_dropped);
    // The last queue-full of records are never evicted: nothing came after them.
    let tail: Vec<u64> = (N - 16..N).collect();
    assert_eq!(&seq[seq.len() - 16..], &tail[..]);
    let report = records.iter().find(|r| r["logger"] == "kakashi").unwrap();
    assert_eq!(report["fields"]["reason"], "evicted_oldest");
}

/// Under `drop_newest`, a call that finds the queue full drops its record
/// before building it (its field expressions are not evaluated), counts it
/// like any other drop, and calls are accepted again as soon as a worker
/// takes from the queue; after shutdown the synchronous fallback still
/// writes (a full queue left behind does not turn calls into drops).
#[test]
fn drop_newest_skips_building_while_full_and_recovers() {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::Arc;

    let gate = Arc::new(AtomicBool::new(false));
    let writer = SlowWriter::gated(gate.clone());
    let pipeline = AsyncPipeline::new(AsyncPipelineConfig::new(
        PipelineConfig::new().writer(writer.clone()),
        AsyncConfig {
            max_queue_size: 4,
            worker_count: 1,
            batch_size: 1,
            overflow_strategy: OverflowStrategy::DropNewest,
            ..AsyncConfig::default()
        },
    ))
    .unwrap();
    let logger = pipeline.logger("burst");
    let evaluated = AtomicU64::new(0);
    let value = |i: u64| {
        evaluated.fetch_add(1, Ordering::Relaxed);
        i
    };
    // The worker holds one record at the gate; the queue then fills.
    for i in 0..1_000 {
        info!(logger, "held", i = value(i));
    }
    let built = evaluated.load(Ordering::Relaxed);
    assert!(
        built < 20,
        "{built} records built: calls on a full queue must drop before building"
    );
    let stats = pipeline.stats();
    assert_eq!(stats.messages_submitted, 1_000);
    assert!(stats.dropped_queue_full >= 980, "{stats:?}");

    gate.store(true, Ordering::SeqCst);
    assert!(pipeline.flush());
    for i in 0..3 {
        info!(logger, "after", i = i);
        assert!(pipeline.flush());
    }
    let report = pipeline.shutdown(Duration::from_secs(30));
    assert!(report.completed(), "{report:?}");
    info!(logger, "after shutdown");
    let records = common::parse(&writer.lines());
    let messages: Vec<&str> = records
        .iter()
        .filter(|r| r["logger"] == "burst")
        .map(|r| r["message"].as_str().unwrap())
        .collect();
    let held = messages.iter().filter(|m| **m == "held").count() as u64;
    assert_eq!(held + pipeline.stats().dropped_queue_full, 1_000);
    assert_eq!(
        &messages[messages.len() - 4..],
        &["after", "after", "after", "after shutdown"]
    );
    let stats = pipeline.stats();
    assert!(stats.is_balanced(), "{stats:?}");
    let reported: u64 = records
        .iter()
        .filter(|r| r["logger"] == "kakashi")
        .map(|r| r["fields"]["dropped"].as_u64().unwrap())
        .sum();
    assert_eq!(reported, stats.messages_dropped);
}
