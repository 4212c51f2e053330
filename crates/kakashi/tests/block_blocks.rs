//! G2 (overflow strategies): `block` waits as long as it takes (no hidden
//! timeout, unlike the original's 1 s) and never deadlocks, also with a slow
//! writer.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::SlowWriter;
use kakashi::{
    info, AsyncConfig, AsyncPipeline, AsyncPipelineConfig, OverflowStrategy, PipelineConfig,
};

fn pipeline(writer: SlowWriter, queue: usize, workers: usize) -> AsyncPipeline {
    AsyncPipeline::new(AsyncPipelineConfig::new(
        PipelineConfig::new().writer(writer),
        AsyncConfig {
            max_queue_size: queue,
            worker_count: workers,
            batch_size: 2,
            overflow_strategy: OverflowStrategy::Block,
            ..AsyncConfig::default()
        },
    ))
    .unwrap()
}

#[test]
fn a_full_queue_holds_the_caller_until_there_is_room() {
    let gate = Arc::new(AtomicBool::new(false));
    let writer = SlowWriter::gated(gate.clone());
    let p = pipeline(writer.clone(), 4, 1);
    let logger = p.logger("b");
    let done = Arc::new(AtomicBool::new(false));
    let producer = {
        let (logger, done) = (logger.clone(), done.clone());
        std::thread::spawn(move || {
            for i in 0..50u64 {
                info!(logger, "m", i = i);
            }
            done.store(true, Ordering::SeqCst);
        })
    };
    // Longer than the original's hidden 1 s limit: the caller must still be waiting.
    std::thread::sleep(Duration::from_millis(1_500));
    assert!(!done.load(Ordering::SeqCst), "the producer gave up waiting");
    assert_eq!(p.stats().messages_dropped, 0);
    assert!(p.stats().producer_waits > 0);
    gate.store(true, Ordering::SeqCst);
    producer.join().unwrap();
    assert!(p.flush());
    let seq = common::field_seq(&common::parse(&writer.lines()), "b", "i");
    assert_eq!(seq, (0..50).collect::<Vec<_>>());
}

#[test]
fn slow_writer_many_producers_no_deadlock() {
    let writer = SlowWriter::new(Duration::from_micros(200));
    let p = pipeline(writer.clone(), 2, 3);
    std::thread::scope(|s| {
        for t in 0..6u64 {
            let logger = p.logger("b");
            s.spawn(move || {
                for i in 0..300u64 {
                    info!(logger, "m", t = t, i = i);
                }
            });
        }
    });
    assert!(p.shutdown(Duration::from_secs(60)).completed());
    assert_eq!(writer.lines().len(), 1_800);
    let stats = p.stats();
    assert_eq!(stats.messages_dropped, 0);
    assert!(stats.is_balanced());
}
