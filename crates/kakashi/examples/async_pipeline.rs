//! "AsyncPipeline": a pipeline config, an async config, and the pair.
//!
//! `cargo run -p kakashi --example async_pipeline`

use std::time::Duration;

use kakashi::*;

fn main() -> Result<(), ConfigError> {
    let path = std::env::temp_dir().join("kakashi-examples/app.log");
    let pipeline_config = PipelineConfig {
        min_level: Level::Info,
        enrichers: vec![Box::new(thread_enricher()), Box::new(exception_enricher())],
        filters: vec![],
        formatter: Box::new(default_json_formatter()),
        writers: vec![Box::new(file_writer(&path)?)],
        ..PipelineConfig::default()
    };
    let async_config = AsyncConfig {
        max_queue_size: 25_000,
        worker_count: 2,
        batch_size: 200,
        batch_timeout: Duration::from_millis(100),
        enable_batching: true,
        ..AsyncConfig::default()
    };
    let pipeline = AsyncPipeline::new(AsyncPipelineConfig {
        pipeline_config,
        async_config,
        enable_async: true,
        fallback_to_sync: true,
    })?;
    let logger = pipeline.logger("app");
    info!(logger, "user login", user_id = 42);
    let err = std::io::Error::other("connection reset");
    error!(logger, exception: &err, "payment failed", order = 7);
    pipeline.flush();
    println!(
        "{}",
        std::fs::read_to_string(&path)
            .unwrap_or_default()
            .trim_end()
    );
    Ok(())
}
