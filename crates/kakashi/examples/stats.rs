//! "Performance Monitoring": runtime statistics.
//!
//! `cargo run -p kakashi --example stats`

use kakashi::{get_async_stats, get_high_performance_logger, info};

fn main() -> Result<(), kakashi::ConfigError> {
    let logger = get_high_performance_logger(
        "stats",
        std::env::temp_dir().join("kakashi-examples/stats.log"),
    )?;
    for i in 0..1_000 {
        info!(logger, "tick", i = i);
    }
    logger.flush();
    let stats = get_async_stats();
    println!("Queue size: {}", stats.queue_size);
    println!("Messages processed: {}", stats.messages_enqueued);
    println!("Messages written: {}", stats.messages_written);
    println!("Active workers: {}", stats.active_workers);
    Ok(())
}
