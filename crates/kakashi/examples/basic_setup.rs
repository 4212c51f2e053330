//! "Basic Async Setup": configure the global backend for production and log.
//!
//! `cargo run -p kakashi --example basic_setup` (writes to a temp directory)

use kakashi::{get_logger, info, setup_async_logging, AsyncSetup, Environment};

fn main() -> Result<(), kakashi::ConfigError> {
    let dir = std::env::temp_dir().join("kakashi-examples/basic");
    setup_async_logging(AsyncSetup {
        environment: Environment::Production,
        service_name: Some("my-api".into()),
        version: Some("1.0.0".into()),
        log_directory: Some(dir.clone()),
        max_queue_size: 25_000,
        worker_count: 2,
        batch_size: 200,
        ..AsyncSetup::default()
    })?;
    let logger = get_logger("my-api");
    info!(logger, "service started", port = 8080);
    kakashi::warning!(logger, "cache cold", entries = 0);
    // No guard, no flush: the exit hook drains the queue.
    println!("logged to {}", dir.join("app.log").display());
    Ok(())
}
