//! G6 (failures are isolated): a writer that errors, an enricher or a callback
//! that panics: the call site never panics, the other writers keep writing,
//! and the stats count the failures.

mod common;

use std::time::Duration;

use common::BrokenWriter;
use kakashi::testing::MemoryWriter;
use kakashi::{
    info, AsyncConfig, AsyncPipeline, AsyncPipelineConfig, NetworkOptions, OverflowStrategy,
    PipelineConfig, Record,
};

#[test]
fn a_broken_writer_does_not_stop_the_others() {
    let memory = MemoryWriter::new();
    let pipeline = AsyncPipeline::new(AsyncPipelineConfig::new(
        PipelineConfig::new()
            .writer(BrokenWriter)
            .writer(memory.clone())
            .enricher(|r: &mut Record| {
                if r.field("i") == Some(&kakashi::Value::I64(3)) {
                    panic!("enricher bug");
                }
            }),
        AsyncConfig::default(),
    ))
    .unwrap();
    let logger = pipeline.logger("iso");
    for i in 0..10u64 {
        info!(logger, "m", i = i);
    }
    assert!(pipeline.flush());
    let stats = pipeline.stats();
    let seq = common::field_seq(&common::parse(&memory.lines()), "iso", "i");
    assert_eq!(
        seq,
        (0..10).collect::<Vec<_>>(),
        "the healthy writer got every record"
    );
    assert_eq!(stats.enricher_errors, 1);
    // Each record failed on the broken writer, and so did the in-band report of it.
    assert_eq!(stats.messages_failed, 10 + stats.reports_emitted);
    assert!(stats.write_errors >= 1);
    let broken = stats.writers.iter().find(|w| w.name == "broken").unwrap();
    assert_eq!(
        (broken.written, broken.failed),
        (0, 10 + stats.reports_emitted)
    );
    let healthy = stats.writers.iter().find(|w| w.name == "memory").unwrap();
    assert_eq!(
        (healthy.written, healthy.failed),
        (10 + stats.reports_emitted, 0)
    );
    assert!(stats.is_balanced(), "{stats:?}");
    // The failure is reported in-band to the writers that work.
    pipeline.shutdown(Duration::from_secs(5));
    let lines = memory.lines();
    let report = lines
        .iter()
        .find(|l| l.contains("kakashi failed to write"))
        .unwrap();
    assert!(report.contains("disk on fire"), "{report}");
}

#[test]
fn a_panicking_callback_is_counted_never_raised() {
    let logger = kakashi::get_network_logger_with(
        "net",
        |line: &str| -> Result<(), String> {
            if line.contains("\"i\":2") {
                panic!("client bug");
            }
            Ok(())
        },
        NetworkOptions {
            max_retries: 1,
            retry_delay: Duration::from_millis(1),
            overflow_strategy: OverflowStrategy::Block,
            ..NetworkOptions::default()
        },
    )
    .unwrap();
    for i in 0..5u64 {
        info!(logger, "m", i = i);
    }
    assert!(logger.flush());
    let stats = logger.backend().stats();
    assert_eq!(stats.messages_failed, 1);
    assert_eq!(stats.write_retries, 1);
    // The four others, plus the in-band WARNING about the failure.
    assert_eq!(stats.reports_emitted, 1);
    assert_eq!(stats.messages_written, 4 + 1);
}

#[test]
fn a_panicking_formatter_fails_its_record_only() {
    let memory = MemoryWriter::new();
    let pipeline = AsyncPipeline::new(AsyncPipelineConfig::new(
        PipelineConfig::new()
            .formatter(|r: &Record, out: &mut Vec<u8>| {
                if r.message == "bad" {
                    out.extend_from_slice(b"half a li");
                    panic!("formatter bug");
                }
                out.extend_from_slice(r.message.as_bytes());
            })
            .writer(memory.clone()),
        AsyncConfig::default(),
    ))
    .unwrap();
    let logger = pipeline.logger("fmt");
    for m in ["a", "bad", "c"] {
        logger.info(m);
    }
    assert!(pipeline.flush());
    assert_eq!(memory.lines(), vec!["a", "c"]);
    let stats = pipeline.stats();
    assert_eq!((stats.formatter_errors, stats.messages_failed), (1, 1));
}
