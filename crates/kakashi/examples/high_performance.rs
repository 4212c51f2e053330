//! "High-Performance Async Logging": JSON lines to a file, large batches.
//!
//! `cargo run --release -p kakashi --example high_performance`

use kakashi::{get_high_performance_logger_with, info, HighPerformanceOptions};

struct Trade {
    symbol: &'static str,
    qty: i64,
    price: f64,
}

fn main() -> Result<(), kakashi::ConfigError> {
    let path = std::env::temp_dir().join("kakashi-examples/trades.log");
    let logger = get_high_performance_logger_with(
        "trading",
        &path,
        HighPerformanceOptions {
            max_queue_size: 100_000,
            worker_count: 8,
            batch_size: 1_000,
            ..HighPerformanceOptions::default()
        },
    )?;
    let trades = (0..10_000).map(|i| Trade {
        symbol: "AAPL",
        qty: 100 + i,
        price: 187.5,
    });
    for trade in trades {
        info!(
            logger,
            "Trade executed",
            symbol = trade.symbol,
            qty = trade.qty,
            price = trade.price
        );
    }
    logger.flush();
    println!("{}", logger.backend().stats().to_json());
    Ok(())
}
