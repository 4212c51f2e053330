//! "Error Handling and Recovery": drain everything before exit and say what
//! happened.
//!
//! `cargo run -p kakashi --example graceful_shutdown`

use std::time::Duration;

use kakashi::{get_high_performance_logger, info, shutdown_async_backend};

fn graceful_shutdown() {
    let report = shutdown_async_backend(Duration::from_secs(10));
    if report.completed() {
        println!("Async logging shutdown complete");
    } else {
        println!(
            "Shutdown timed out: {} records dropped, {} still being written",
            report.dropped, report.in_flight
        );
    }
}

fn main() -> Result<(), kakashi::ConfigError> {
    let logger = get_high_performance_logger(
        "jobs",
        std::env::temp_dir().join("kakashi-examples/jobs.log"),
    )?;
    for job in 0..5_000 {
        info!(logger, "job finished", job = job);
    }
    graceful_shutdown();
    Ok(())
}
