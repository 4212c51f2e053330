//! G9 (bounded memory): names made at run time (a logger per request, a
//! thread per task, an enricher naming each record) are kept for the life
//! of the process only up to a bound; past it they are freed with the last
//! record or logger holding them, and every record still carries its own
//! name.

use kakashi::testing::MemoryWriter;
use kakashi::{AsyncConfig, AsyncPipeline, AsyncPipelineConfig, Name, PipelineConfig};

#[test]
fn a_logger_per_request_keeps_its_name_and_past_the_bound_is_not_kept() {
    let memory = MemoryWriter::new();
    let pipeline = AsyncPipeline::new(AsyncPipelineConfig {
        pipeline_config: PipelineConfig::new().writer(memory.clone()),
        async_config: AsyncConfig::default(),
        enable_async: true,
        fallback_to_sync: true,
    })
    .unwrap();
    let requests = kakashi::record::INTERNED_NAMES + 1_000;
    for i in 0..requests {
        pipeline.logger(&format!("request.{i}")).info("served");
    }
    assert!(pipeline.flush());
    let lines = memory.lines();
    assert_eq!(lines.len(), requests);
    for (i, line) in lines.iter().enumerate() {
        let expected = format!(r#""logger":"request.{i}""#);
        assert!(line.contains(&expected), "line {i}: {line}");
    }

    // The same text gives the same static name while the bound allows;
    // past it a new name is reference-counted, so it is freed once unused.
    let late = Name::interned("a name first seen after the bound");
    assert_eq!(late, "a name first seen after the bound");
    assert!(
        late.as_static().is_none(),
        "past the bound, nothing is kept"
    );
    let early = Name::interned("request.0");
    assert_eq!(early.as_static(), Some("request.0"));
}
