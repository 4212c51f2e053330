//! "Async Backend Configuration": replace the global backend.
//!
//! `cargo run -p kakashi --example backend_configuration`

use kakashi::{configure_async_backend, get_logger, info, BackendOptions};

fn main() -> Result<(), kakashi::ConfigError> {
    let backend = configure_async_backend(BackendOptions {
        max_queue_size: 50_000,
        worker_count: 4,
        batch_size: 500,
        enable_batching: true,
        overflow_strategy: "drop_oldest".parse()?,
    })?;
    info!(get_logger("worker"), "job done", job = 17);
    backend.flush();
    println!("{}", backend.stats().to_json());
    Ok(())
}
