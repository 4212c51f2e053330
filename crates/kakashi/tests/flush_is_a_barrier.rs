//! `flush()` returns only when everything accepted before it is written, with
//! several workers, several producers and every strategy (G4).

use std::time::Duration;

use kakashi::testing::MemoryWriter;
use kakashi::{
    info, AsyncConfig, AsyncPipeline, AsyncPipelineConfig, OverflowStrategy, PipelineConfig,
};

#[test]
fn every_flush_sees_everything_before_it() {
    for strategy in [
        OverflowStrategy::Block,
        OverflowStrategy::DropOldest,
        OverflowStrategy::DropNewest,
    ] {
        for workers in [1, 4] {
            let memory = MemoryWriter::new();
            let p = AsyncPipeline::new(AsyncPipelineConfig::new(
                PipelineConfig::new()
                    .formatter(kakashi::compact_formatter())
                    .writer(memory.clone()),
                AsyncConfig {
                    max_queue_size: 64,
                    worker_count: workers,
                    batch_size: 8,
                    overflow_strategy: strategy,
                    ..AsyncConfig::default()
                },
            ))
            .unwrap();
            let logger = p.logger("f");
            for round in 0..200u64 {
                for i in 0..10u64 {
                    info!(logger, "m", round = round, i = i);
                }
                assert!(p.flush());
                let stats = p.stats();
                assert!(stats.is_balanced(), "{strategy} x{workers}: {stats:?}");
                assert_eq!(
                    memory.lines().len() as u64,
                    stats.messages_written,
                    "{strategy} x{workers}"
                );
                if strategy == OverflowStrategy::Block {
                    assert_eq!(stats.messages_written, (round + 1) * 10);
                }
            }
            assert!(p.shutdown(Duration::from_secs(5)).completed());
        }
    }
}
