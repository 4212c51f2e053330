//! "Network Logging": each JSON line goes to a client off the caller's thread,
//! with retries. Here the "client" is a TCP connection to a collector this
//! example starts on loopback.
//!
//! `cargo run -p kakashi --example network_logger`

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};

use kakashi::{get_network_logger, info};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let collector = std::thread::spawn(move || {
        let (stream, _) = listener.accept().expect("accept");
        BufReader::new(stream)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<_>>()
    });
    let mut stream = TcpStream::connect(addr)?;
    let logger = get_network_logger("api", move |line: &str| {
        stream.write_all(line.as_bytes())?;
        stream.write_all(b"\n")
    })?;
    info!(logger, "API call", endpoint = "/users", response_time = 45);
    logger.flush();
    drop(logger);
    kakashi::shutdown_async_backend(std::time::Duration::from_secs(5));
    for line in collector.join().expect("collector") {
        println!("collector received: {line}");
    }
    Ok(())
}
