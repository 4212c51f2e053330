//! G1 and G2 (nothing lost, `block`): with `block`, 4 producers x 250,000
//! records through 4 workers and a queue of 1,000 land as exactly 1,000,000
//! valid JSON lines, each producer's sequence in order. The test command
//! runs it at a tenth of that (4 x 25,000: still 100 times the queue);
//! `KAKASHI_FULL=1` runs the full million.

mod common;

use std::time::Duration;

use kakashi::{
    file_writer, info, AsyncConfig, AsyncPipeline, AsyncPipelineConfig, OverflowStrategy,
    PipelineConfig,
};

#[test]
fn four_producers_a_million_records_none_lost_each_in_order() {
    const THREADS: u64 = 4;
    let full = std::env::var_os("KAKASHI_FULL").is_some_and(|v| v == "1");
    let per_thread: u64 = if full { 250_000 } else { 25_000 };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let pipeline = AsyncPipeline::new(AsyncPipelineConfig::new(
        PipelineConfig::new().writer(file_writer(&path).unwrap()),
        AsyncConfig {
            max_queue_size: 1_000,
            worker_count: 4,
            batch_size: 200,
            overflow_strategy: OverflowStrategy::Block,
            ..AsyncConfig::default()
        },
    ))
    .unwrap();
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let logger = pipeline.logger("load");
            s.spawn(move || {
                for seq in 0..per_thread {
                    info!(
                        logger,
                        "Trade executed",
                        thread = t,
                        seq = seq,
                        symbol = "AAPL"
                    );
                }
            });
        }
    });
    let report = pipeline.shutdown(Duration::from_secs(120));
    assert!(report.completed(), "{report:?}");

    let text = std::fs::read_to_string(&path).unwrap();
    let mut next = [0u64; THREADS as usize];
    let mut lines = 0u64;
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("valid JSON line");
        let t = v["fields"]["thread"].as_u64().unwrap() as usize;
        let seq = v["fields"]["seq"].as_u64().unwrap();
        assert_eq!(seq, next[t], "thread {t} out of order");
        next[t] += 1;
        lines += 1;
    }
    assert_eq!(lines, THREADS * per_thread);
    assert_eq!(next, [per_thread; THREADS as usize]);

    let stats = pipeline.stats();
    assert_eq!(stats.messages_written, THREADS * per_thread);
    assert_eq!(stats.messages_dropped, 0);
    assert!(stats.is_balanced(), "{stats:?}");
}
