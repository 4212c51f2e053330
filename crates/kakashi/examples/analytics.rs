//! "Real-time Analytics": a structured logger with service and version bound.
//!
//! `cargo run -p kakashi --example analytics`

use kakashi::{get_async_structured_logger, info, Logger};

fn setup_analytics_logging() -> Result<Logger, kakashi::ConfigError> {
    get_async_structured_logger(
        "analytics",
        None, // log_file: the environment's app.log
        None, // async_config: the global backend as it is
        [("service", "user-analytics"), ("version", "1.0.0")],
    )
}

fn main() -> Result<(), kakashi::ConfigError> {
    let logger = setup_analytics_logging()?;
    let user = logger.bind("user_id", 123);
    info!(user, "page view", page = "/pricing", ms = 12.5);
    info!(user, "signup", email = "user@example.com");
    Ok(()) // the exit hook flushes
}
