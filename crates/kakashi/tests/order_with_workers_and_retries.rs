//! G3 (order): output order equals acceptance order with several workers, and
//! retries of a network callback never reorder.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kakashi::testing::MemoryWriter;
use kakashi::{
    info, AsyncConfig, AsyncPipeline, AsyncPipelineConfig, NetworkOptions, OverflowStrategy,
    PipelineConfig,
};

#[test]
fn four_workers_write_in_acceptance_order() {
    let memory = MemoryWriter::new();
    let pipeline = AsyncPipeline::new(AsyncPipelineConfig::new(
        PipelineConfig::new().writer(memory.clone()),
        AsyncConfig {
            max_queue_size: 500,
            worker_count: 4,
            batch_size: 7,
            overflow_strategy: OverflowStrategy::Block,
            ..AsyncConfig::default()
        },
    ))
    .unwrap();
    let logger = pipeline.logger("seq");
    for i in 0..50_000u64 {
        info!(logger, "m", i = i);
    }
    assert!(pipeline.flush());
    let seq = common::field_seq(&common::parse(&memory.lines()), "seq", "i");
    assert_eq!(seq, (0..50_000).collect::<Vec<_>>());
    // The batches really were spread over small batches (several workers had work).
    assert!(memory.batch_sizes().iter().all(|&n| n <= 7));
}

#[test]
fn retried_records_keep_their_place() {
    let received = Arc::new(Mutex::new(Vec::<u64>::new()));
    let attempts = Arc::new(Mutex::new(HashMap::<u64, u32>::new()));
    let (rx, at) = (received.clone(), attempts.clone());
    let logger = kakashi::get_network_logger_with(
        "api",
        move |line: &str| -> Result<(), String> {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let i = v["fields"]["i"].as_u64().unwrap();
            let mut at = at.lock().unwrap();
            let n = at.entry(i).or_insert(0);
            *n += 1;
            // Every 10th record fails its first two attempts.
            if i % 10 == 0 && *n <= 2 {
                return Err(format!("connection refused for {i}"));
            }
            rx.lock().unwrap().push(i);
            Ok(())
        },
        NetworkOptions {
            max_retries: 5,
            retry_delay: Duration::from_millis(1),
            overflow_strategy: OverflowStrategy::Block,
            ..NetworkOptions::default()
        },
    )
    .unwrap();
    for i in 0..300u64 {
        info!(logger, "API call", i = i);
    }
    assert!(logger.flush());
    assert_eq!(*received.lock().unwrap(), (0..300).collect::<Vec<_>>());
    assert_eq!(attempts.lock().unwrap()[&10], 3);
    let stats = logger.backend().stats();
    assert_eq!(stats.write_retries, 60);
    assert_eq!(stats.messages_written, 300);
    assert_eq!(stats.messages_failed, 0);
}
