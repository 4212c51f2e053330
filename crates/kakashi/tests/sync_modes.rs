//! G4 (flush and exit: logging after shutdown): `enable_async = false` writes
//! on the caller's thread before the call returns; `fallback_to_sync` decides
//! what happens after shutdown.

use std::time::Duration;

use kakashi::testing::MemoryWriter;
use kakashi::{AsyncConfig, AsyncPipeline, AsyncPipelineConfig, PipelineConfig, State};

fn pipeline(enable_async: bool, fallback_to_sync: bool) -> (AsyncPipeline, MemoryWriter) {
    let memory = MemoryWriter::new();
    let p = AsyncPipeline::new(AsyncPipelineConfig {
        pipeline_config: PipelineConfig::new()
            .formatter(kakashi::compact_formatter())
            .writer(memory.clone()),
        async_config: AsyncConfig::default(),
        enable_async,
        fallback_to_sync,
    })
    .unwrap();
    (p, memory)
}

#[test]
fn disabled_async_writes_before_returning() {
    let (p, memory) = pipeline(false, true);
    let logger = p.logger("sync");
    logger.info("one");
    assert_eq!(memory.lines().len(), 1);
    let stats = p.stats();
    assert_eq!(stats.state, State::Synchronous);
    assert_eq!(stats.active_workers, 0);
    assert_eq!(stats.messages_written_sync, 1);
    assert_eq!(stats.messages_enqueued, 0);
}

#[test]
fn fallback_writes_after_shutdown() {
    let (p, memory) = pipeline(true, true);
    let logger = p.logger("fb");
    logger.info("queued");
    assert!(p.shutdown(Duration::from_secs(5)).completed());
    assert_eq!(p.stats().state, State::Stopped);
    logger.info("after");
    let lines = memory.lines();
    assert_eq!(lines.len(), 2);
    assert!(lines[1].ends_with(" | I | after"));
    assert_eq!(p.stats().messages_written_sync, 1);
}

#[test]
fn no_fallback_counts_drops_after_shutdown() {
    let (p, memory) = pipeline(true, false);
    let logger = p.logger("nofb");
    assert!(p.shutdown(Duration::from_secs(5)).completed());
    logger.warning("lost but counted");
    let stats = p.stats();
    assert_eq!(memory.lines().len(), 0);
    assert_eq!(
        (stats.messages_dropped, stats.dropped_backend_stopped),
        (1, 1)
    );
    assert!(stats.is_balanced());
}
