//! The main job: producer threads log trades through
//! `get_high_performance_logger`; the last line of stdout is the final stats,
//! after shutdown, as one JSON object.
//!
//! ```text
//! cargo run --release -p kakashi --example trading -- \
//!     --records 250000 --threads 4 --workers 2 --queue 50000 --batch 500 \
//!     --strategy block --out trades.log
//! ```

use std::process::ExitCode;
use std::time::{Duration, Instant};

use kakashi::{get_high_performance_logger_with, info, HighPerformanceOptions, OverflowStrategy};

struct Args {
    records: u64,
    threads: u64,
    workers: usize,
    queue: usize,
    batch: usize,
    strategy: OverflowStrategy,
    out: String,
}

fn parse() -> Result<Args, String> {
    let mut args = Args {
        records: 250_000,
        threads: 4,
        workers: 2,
        queue: 50_000,
        batch: 500,
        strategy: OverflowStrategy::Block,
        out: "trades.log".to_owned(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number = || {
            value
                .parse::<u64>()
                .map_err(|e| format!("{flag} {value}: {e}"))
        };
        match flag.as_str() {
            "--records" => args.records = number()?,
            "--threads" => args.threads = number()?.max(1),
            "--workers" => args.workers = number()? as usize,
            "--queue" => args.queue = number()? as usize,
            "--batch" => args.batch = number()? as usize,
            "--strategy" => args.strategy = value.parse().map_err(|e| format!("{e}"))?,
            "--out" => args.out = value,
            _ => return Err(format!("unknown flag {flag}; expected --records --threads --workers --queue --batch --strategy --out")),
        }
    }
    Ok(args)
}

fn main() -> ExitCode {
    let args = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("trading: {e}");
            return ExitCode::from(2);
        }
    };
    let logger = match get_high_performance_logger_with(
        "trading",
        &args.out,
        HighPerformanceOptions {
            max_queue_size: args.queue,
            worker_count: args.workers,
            batch_size: args.batch,
            overflow_strategy: args.strategy,
            ..HighPerformanceOptions::default()
        },
    ) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("trading: {e}");
            return ExitCode::from(2);
        }
    };
    const SYMBOLS: [&str; 4] = ["AAPL", "MSFT", "NVDA", "TSLA"];
    let started = Instant::now();
    std::thread::scope(|s| {
        for thread in 0..args.threads {
            let logger = logger.clone();
            s.spawn(move || {
                for seq in 0..args.records {
                    let side = if seq % 2 == 0 { "buy" } else { "sell" };
                    info!(
                        logger,
                        "Trade executed",
                        seq = seq,
                        thread = thread,
                        symbol = SYMBOLS[(seq % 4) as usize],
                        price = 100.0 + (seq % 1000) as f64 * 0.25,
                        qty = (seq % 500 + 1) as i64,
                        side = side
                    );
                }
            });
        }
    });
    let logged = started.elapsed();
    let report = kakashi::shutdown_async_backend(Duration::from_secs(60));
    let total = started.elapsed();
    let n = args.records * args.threads;
    println!(
        "logged {n} records from {} threads in {:.3} s ({:.0} calls/s); on disk after {:.3} s ({:.0} records/s); shutdown {}",
        args.threads,
        logged.as_secs_f64(),
        n as f64 / logged.as_secs_f64(),
        total.as_secs_f64(),
        n as f64 / total.as_secs_f64(),
        if report.completed() { "complete" } else { "timed out" },
    );
    println!("{}", logger.backend().stats().to_json());
    ExitCode::SUCCESS
}
