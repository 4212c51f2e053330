//! "High-Throughput Web Server": production setup with large queues.
//!
//! `cargo run -p kakashi --example web_server`

use kakashi::{
    get_logger, info, setup_async_logging, AsyncSetup, Compression, Context, Environment,
    FileOptions,
};

fn setup_web_server_logging() -> Result<(), kakashi::ConfigError> {
    setup_async_logging(AsyncSetup {
        environment: Environment::Production,
        service_name: Some("web-api".into()),
        version: Some("2.1.0".into()),
        log_directory: Some(std::env::temp_dir().join("kakashi-examples/web")),
        max_queue_size: 100_000,
        worker_count: 8,
        batch_size: 1_000,
        // app.log rotated at 100 MB or at midnight UTC, 14 kept, gzipped.
        file: FileOptions::new()
            .rotation("100 MB, daily".parse()?)
            .retention("14".parse()?)
            .compression(Compression::Gzip),
    })
    .map(|_| ())
}

fn main() -> Result<(), kakashi::ConfigError> {
    setup_web_server_logging()?;
    let base = get_logger("web");
    std::thread::scope(|s| {
        for worker in 0..4 {
            let base = base.clone();
            s.spawn(move || {
                for req in 0..250 {
                    let log = base.with_context(Context {
                        request_id: Some(format!("{worker}-{req}")),
                        access: Some("GET /users".into()),
                        ..Context::default()
                    });
                    info!(log, "request served", status = 200, ms = 3);
                }
            });
        }
    });
    kakashi::flush();
    println!("{}", kakashi::get_async_stats().to_json());
    Ok(())
}
