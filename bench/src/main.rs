//! Side-by-side benchmark: kakashi against the Rust loggers a user would pick
//! instead, on one workload, each run in a fresh process.
//!
//! ```text
//! cargo run --release --manifest-path bench/Cargo.toml -- all [--records N] [--reps R] [--only a,b]
//! cargo run --release --manifest-path bench/Cargo.toml -- one LOGGER PRODUCERS RECORDS OUT_FILE
//! ```
//!
//! Workload: RECORDS records (INFO, message "Trade executed", fields seq u64,
//! symbol "AAPL", price f64, qty i64, side "buy"; one JSON line each, with a
//! timestamp) to a file, from 1 and from 4 producer threads. Measured per run:
//! caller throughput (records / time until the last call returned),
//! end-to-end throughput (records / time until every record is on disk: the
//! guard dropped, the logger flushed or shut down), per-call latency (a
//! monotonic clock around every call, into an HDR histogram: `quanta`'s
//! counter, the CPU's invariant time-stamp counter where there is one, else
//! the OS clock; `timer-floor` is what an empty call measures), records lost
//! (workload lines in the file vs records logged) and peak RSS (VmHWM). `all`
//! runs every logger and producer count `--reps` times (alternating, so a
//! noisy moment hits them all), then writes the medians as a Markdown table
//! with each throughput as a ratio to the baseline measured in the same run.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::process::Command;
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hdrhistogram::Histogram;

/// Every configuration, with what it is.
const LOGGERS: &[(&str, &str)] = &[
    (FLOOR, "not a logger: an empty call, timed the same way (the harness's own share of each figure)"),
    ("baseline", "`write!` of the same JSON line as kakashi's (the harness checks that the two differ only in digits) into a `BufWriter<File>` on the calling thread (a `Mutex` around it for several)"),
    ("baseline-short", "the baseline of the runs before 2026-11-28: a shorter line (no `datetime`, no `level_value`; 171 bytes instead of 222), for comparison with them; not what the ratios are to"),
    ("kakashi-block", "kakashi `get_high_performance_logger`, `block` (lossless), defaults otherwise"),
    ("kakashi-drop_newest", "kakashi `get_high_performance_logger`, `drop_newest`"),
    ("kakashi-fulldisk", "kakashi-drop_newest with the disk full after 1 MB (a file size limit, `RLIMIT_FSIZE`, in the run's process): what the callers feel while every batch fails; its `lost` is the failed records"),
    ("kakashi-rotate", "kakashi-block with the file rotated every 10 MB and rotated files gzip-compressed (lines counted across the files, read back once compressed)"),
    ("kakashi-tracing", "`tracing::info!` (target `trading`) through kakashi's `bridge::tracing` layer into kakashi-block's logger (`block`, lossless)"),
    ("kakashi-log", "`log::info!` with key-values (target `trading`) through kakashi's `bridge::log` into kakashi-block's logger (`block`, lossless)"),
    ("tracing-lossy", "tracing + tracing-subscriber JSON + tracing-appender `non_blocking` (default: lossy)"),
    ("tracing-lossless", "the same with `lossy(false)`"),
    ("slog-drop", "slog + slog-json + slog-async (default: drop and report)"),
    ("slog-block", "slog + slog-json + slog-async, `OverflowStrategy::Block`"),
    ("spdlog", "spdlog-rs `AsyncPoolSink` (block) over a `FileSink`, `JsonFormatter`"),
    ("ftlog", "ftlog to a file (defaults: bounded 100,000, drops when full); its own line prefix before the JSON message"),
    ("fast_log", "fast_log to a file (defaults: unbounded channel); its own line prefix before the JSON message"),
];

/// The empty call that measures the harness itself.
const FLOOR: &str = "timer-floor";

const PRICES: [f64; 4] = [187.25, 187.5, 187.75, 188.0];

fn price(i: u64) -> f64 {
    PRICES[(i % 4) as usize]
}

fn qty(i: u64) -> i64 {
    100 + (i % 7) as i64
}

/// What one run measured.
struct RunResult {
    caller_per_s: f64,
    e2e_per_s: f64,
    p50: u64,
    p99: u64,
    p999: u64,
    max: u64,
    lost: i64,
    rss_kib: u64,
    /// CPU time of the whole process (every thread, user and kernel) from
    /// the start until every record is on disk, per record.
    cpu_ns: f64,
}

impl RunResult {
    fn to_json(&self) -> String {
        format!(
            "{{\"caller_per_s\":{},\"e2e_per_s\":{},\"p50\":{},\"p99\":{},\"p999\":{},\"max\":{},\"lost\":{},\"rss_kib\":{},\"cpu_ns\":{}}}",
            self.caller_per_s, self.e2e_per_s, self.p50, self.p99, self.p999, self.max, self.lost, self.rss_kib, self.cpu_ns
        )
    }

    fn from_json(s: &str) -> Option<RunResult> {
        let get = |k: &str| -> Option<f64> {
            let at = s.find(&format!("\"{k}\":"))? + k.len() + 3;
            let rest = &s[at..];
            let end = rest.find([',', '}'])?;
            rest[..end].parse().ok()
        };
        Some(RunResult {
            caller_per_s: get("caller_per_s")?,
            e2e_per_s: get("e2e_per_s")?,
            p50: get("p50")? as u64,
            p99: get("p99")? as u64,
            p999: get("p999")? as u64,
            max: get("max")? as u64,
            lost: get("lost")? as i64,
            rss_kib: get("rss_kib")? as u64,
            cpu_ns: get("cpu_ns")?,
        })
    }
}

// === one run ===

/// A logger under test: `log(i)` from any producer, `finish()` once they are done.
struct Subject {
    log: Box<dyn Fn(u64) + Send + Sync>,
    finish: Box<dyn FnOnce()>,
}

/// The workload's record through the `log` facade (ftlog and fast_log take
/// no structured fields: a JSON-shaped message, after their own prefix).
fn log_crate_record(i: u64) {
    log::info!(
        "{{\"message\":\"Trade executed\",\"seq\":{},\"symbol\":\"AAPL\",\"price\":{},\"qty\":{},\"side\":\"buy\"}}",
        i,
        price(i),
        qty(i)
    );
}

/// The system clock as whole seconds and microseconds since the epoch.
fn now_secs_micros() -> (u64, u32) {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    (d.as_secs(), d.subsec_micros())
}

/// The civil date (year, month, day) of a day counted from 1970-01-01
/// (Howard Hinnant's `civil_from_days`).
fn civil_date(days: u64) -> (i64, i64, i64) {
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn epoch_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

fn subject(name: &str, out: &str) -> Subject {
    match name {
        FLOOR => Subject {
            log: Box::new(|i| {
                std::hint::black_box(i);
            }),
            finish: Box::new(|| {}),
        },
        "baseline" => {
            let file = Arc::new(Mutex::new(BufWriter::new(File::create(out).unwrap())));
            let f2 = Arc::clone(&file);
            Subject {
                log: Box::new(move |i| {
                    let mut w = file.lock().unwrap();
                    let (secs, micros) = now_secs_micros();
                    let (y, mo, d) = civil_date(secs / 86_400);
                    let s = secs % 86_400;
                    let _ = writeln!(
                        w,
                        "{{\"timestamp\":{secs}.{micros:06},\"datetime\":\"{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}.{micros:06}+00:00\",\"level\":\"INFO\",\"level_value\":20,\"logger\":\"trading\",\"message\":\"Trade executed\",\"fields\":{{\"seq\":{i},\"symbol\":\"AAPL\",\"price\":{:?},\"qty\":{},\"side\":\"buy\"}}}}",
                        s / 3600,
                        s % 3600 / 60,
                        s % 60,
                        price(i),
                        qty(i)
                    );
                }),
                finish: Box::new(move || f2.lock().unwrap().flush().unwrap()),
            }
        }
        "baseline-short" => {
            let file = Arc::new(Mutex::new(BufWriter::new(File::create(out).unwrap())));
            let f2 = Arc::clone(&file);
            Subject {
                log: Box::new(move |i| {
                    let mut w = file.lock().unwrap();
                    let _ = writeln!(
                        w,
                        "{{\"timestamp\":{},\"level\":\"INFO\",\"logger\":\"trading\",\"message\":\"Trade executed\",\"fields\":{{\"seq\":{},\"symbol\":\"AAPL\",\"price\":{},\"qty\":{},\"side\":\"buy\"}}}}",
                        epoch_secs(),
                        i,
                        price(i),
                        qty(i)
                    );
                }),
                finish: Box::new(move || f2.lock().unwrap().flush().unwrap()),
            }
        }
        "kakashi-block" | "kakashi-drop_newest" | "kakashi-rotate" | "kakashi-fulldisk" => {
            if name == "kakashi-fulldisk" {
                // SAFETY: plain libc calls with valid arguments, before any
                // file of this run is written; SIGXFSZ ignored so that a
                // write past the limit fails (EFBIG) instead of killing.
                unsafe {
                    libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
                    let limit = libc::rlimit {
                        rlim_cur: 1 << 20,
                        rlim_max: libc::RLIM_INFINITY,
                    };
                    libc::setrlimit(libc::RLIMIT_FSIZE, &limit);
                }
            }
            let strategy = if name == "kakashi-drop_newest" || name == "kakashi-fulldisk" {
                kakashi::OverflowStrategy::DropNewest
            } else {
                kakashi::OverflowStrategy::Block
            };
            let file = if name == "kakashi-rotate" {
                kakashi::FileOptions::new()
                    .rotation(kakashi::Rotation::size(10_000_000))
                    .compression(kakashi::Compression::Gzip)
            } else {
                kakashi::FileOptions::new()
            };
            let logger = kakashi::get_high_performance_logger_with(
                "trading",
                out,
                kakashi::HighPerformanceOptions {
                    overflow_strategy: strategy,
                    file,
                    ..Default::default()
                },
            )
            .unwrap();
            Subject {
                log: Box::new(move |i| {
                    kakashi::info!(
                        logger,
                        "Trade executed",
                        seq = i,
                        symbol = "AAPL",
                        price = price(i),
                        qty = qty(i),
                        side = "buy"
                    );
                }),
                finish: Box::new(|| {
                    kakashi::shutdown_async_backend(Duration::from_secs(120));
                }),
            }
        }
        "kakashi-tracing" | "kakashi-log" => {
            let logger = kakashi::get_high_performance_logger_with(
                "trading",
                out,
                kakashi::HighPerformanceOptions {
                    overflow_strategy: kakashi::OverflowStrategy::Block,
                    ..Default::default()
                },
            )
            .unwrap();
            let log: Box<dyn Fn(u64) + Send + Sync> = if name == "kakashi-tracing" {
                use tracing_subscriber::layer::SubscriberExt;
                let subscriber =
                    tracing_subscriber::registry().with(kakashi::bridge::tracing::layer(logger));
                tracing::subscriber::set_global_default(subscriber).unwrap();
                Box::new(|i| {
                    tracing::info!(
                        target: "trading",
                        seq = i,
                        symbol = "AAPL",
                        price = price(i),
                        qty = qty(i),
                        side = "buy",
                        "Trade executed"
                    );
                })
            } else {
                kakashi::bridge::log::init(logger).unwrap();
                Box::new(|i| {
                    log::info!(
                        target: "trading",
                        seq = i,
                        symbol = "AAPL",
                        price = price(i),
                        qty = qty(i),
                        side = "buy";
                        "Trade executed"
                    );
                })
            };
            Subject {
                log,
                finish: Box::new(|| {
                    kakashi::shutdown_async_backend(Duration::from_secs(120));
                }),
            }
        }
        "tracing-lossy" | "tracing-lossless" => {
            let file = File::create(out).unwrap();
            let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
                .lossy(name == "tracing-lossy")
                .finish(file);
            let subscriber = tracing_subscriber::fmt()
                .json()
                .with_writer(writer)
                .with_max_level(tracing::Level::INFO)
                .finish();
            tracing::subscriber::set_global_default(subscriber).unwrap();
            Subject {
                log: Box::new(|i| {
                    tracing::info!(
                        seq = i,
                        symbol = "AAPL",
                        price = price(i),
                        qty = qty(i),
                        side = "buy",
                        "Trade executed"
                    );
                }),
                finish: Box::new(move || drop(guard)),
            }
        }
        "slog-drop" | "slog-block" => {
            use slog::Drain;
            let file = File::create(out).unwrap();
            let json = slog_json::Json::new(file).add_default_keys().build().fuse();
            let strategy = if name == "slog-block" {
                slog_async::OverflowStrategy::Block
            } else {
                slog_async::OverflowStrategy::DropAndReport
            };
            let (drain, guard) = slog_async::Async::new(json)
                .overflow_strategy(strategy)
                .build_with_guard();
            let logger = slog::Logger::root(drain.fuse(), slog::o!());
            Subject {
                log: Box::new(move |i| {
                    slog::info!(logger, "Trade executed"; "seq" => i, "symbol" => "AAPL", "price" => price(i), "qty" => qty(i), "side" => "buy");
                }),
                finish: Box::new(move || drop(guard)),
            }
        }
        "spdlog" => {
            use spdlog::formatter::JsonFormatter;
            use spdlog::sink::{AsyncPoolSink, FileSink};
            use spdlog::Logger;
            let file_sink = FileSink::builder()
                .path(out)
                .formatter(JsonFormatter::new())
                .build_arc()
                .unwrap();
            let pool = AsyncPoolSink::builder()
                .sink(file_sink)
                .overflow_policy(spdlog::sink::OverflowPolicy::Block)
                .build_arc()
                .unwrap();
            let logger = Arc::new(Logger::builder().sink(pool).build().unwrap());
            let l2 = Arc::clone(&logger);
            Subject {
                log: Box::new(move |i| {
                    spdlog::info!(logger: logger, "Trade executed", kv: { seq = i, symbol = "AAPL", price = price(i), qty = qty(i), side = "buy" });
                }),
                finish: Box::new(move || {
                    l2.flush();
                    drop(l2);
                    // The pool's thread drains when its last handle goes.
                    std::thread::sleep(Duration::from_millis(1));
                }),
            }
        }
        "ftlog" => {
            let file = File::create(out).unwrap();
            let guard = ftlog::builder().root(file).try_init().unwrap();
            Subject {
                log: Box::new(log_crate_record),
                finish: Box::new(move || {
                    log::logger().flush();
                    drop(guard);
                }),
            }
        }
        "fast_log" => {
            fast_log::init(fast_log::Config::new().file(out)).unwrap();
            Subject {
                log: Box::new(log_crate_record),
                finish: Box::new(|| {
                    if let Ok(wg) = fast_log::flush() {
                        wg.wait();
                    }
                }),
            }
        }
        other => panic!("unknown logger {other}"),
    }
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// CPU time used so far by every thread of this process.
fn process_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_PROCESS_CPUTIME_ID)");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// The files `out` was rotated into (`<stem>.<stamp>.<n>.log[.gz]`).
fn rotated_siblings(out: &str) -> Vec<std::path::PathBuf> {
    let out = std::path::Path::new(out);
    let dir = out.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
    let stem = out.file_stem().unwrap().to_string_lossy().into_owned();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with(&format!("{stem}.")) && p != out && (name.ends_with(".log") || name.ends_with(".log.gz") || name.ends_with(".tmp"))
        })
        .collect();
    found.sort();
    found
}

/// Lines of the workload in `path` (gzip-compressed if it ends in `.gz`).
fn count_lines(path: &std::path::Path) -> i64 {
    let file = File::open(path).unwrap();
    let reader: Box<dyn BufRead> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(BufReader::new(flate2::read::GzDecoder::new(file)))
    } else {
        Box::new(BufReader::new(file))
    };
    reader
        .split(b'\n')
        .filter(|l| l.as_ref().is_ok_and(|l| contains(l, b"Trade executed")))
        .count() as i64
}

fn run_one(name: &str, producers: u64, records: u64, out: &str) -> RunResult {
    for old in rotated_siblings(out) {
        let _ = std::fs::remove_file(old);
    }
    let subject = subject(name, out);
    let log = Arc::new(subject.log);
    let per = records / producers;
    let gate = Arc::new(Barrier::new(producers as usize + 1));
    // A clock read costs 9 ns here where `Instant::now` costs 20, so less of
    // the harness itself lands in every figure (an empty call measures 11 ns
    // with this, 18 ns with `Instant`; `timer-floor` shows it in each run).
    let clock = quanta::Clock::new();
    let handles: Vec<_> = (0..producers)
        .map(|t| {
            let log = Arc::clone(&log);
            let gate = Arc::clone(&gate);
            let clock = clock.clone();
            std::thread::spawn(move || {
                let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).unwrap();
                gate.wait();
                for k in 0..per {
                    let t0 = clock.raw();
                    log(t * per + k);
                    let ns = clock.delta_as_nanos(t0, clock.raw());
                    let _ = hist.record(ns.max(1));
                }
                hist
            })
        })
        .collect();
    gate.wait();
    let start = Instant::now();
    let cpu_start = process_cpu();
    let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).unwrap();
    for h in handles {
        hist.add(h.join().unwrap()).unwrap();
    }
    let calls_done = start.elapsed();
    (subject.finish)();
    let on_disk = start.elapsed();
    let cpu = process_cpu() - cpu_start;
    let logged = per * producers;
    let rss_kib = peak_rss_kib();
    let lines = if name == FLOOR {
        logged as i64
    } else {
        // Rotated files are read once compressed (a background thread
        // compresses each a second after its rotation).
        let deadline = Instant::now() + Duration::from_secs(300);
        while rotated_siblings(out)
            .iter()
            .any(|p| !p.to_string_lossy().ends_with(".gz"))
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(50));
        }
        let rotated: i64 = rotated_siblings(out).iter().map(|p| count_lines(p)).sum();
        rotated + count_lines(std::path::Path::new(out))
    };
    RunResult {
        caller_per_s: logged as f64 / calls_done.as_secs_f64(),
        e2e_per_s: logged as f64 / on_disk.as_secs_f64(),
        p50: hist.value_at_quantile(0.5),
        p99: hist.value_at_quantile(0.99),
        p999: hist.value_at_quantile(0.999),
        max: hist.max(),
        lost: logged as i64 - lines,
        rss_kib,
        cpu_ns: cpu.as_nanos() as f64 / logged as f64,
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

// === all runs ===

/// The baseline must write the very line kakashi writes: once both have run,
/// their first lines must be equal but for the digits (the clock, and with
/// several producers the record's numbers); stops the run otherwise.
fn check_same_line(name: &str, out: &std::path::Path, first_lines: &mut Vec<(String, String)>) {
    let Some(Ok(line)) = File::open(out)
        .ok()
        .and_then(|f| BufReader::new(f).lines().next())
    else {
        return;
    };
    let shape = |l: &str| {
        let mut s = String::new();
        for c in l.chars() {
            if !c.is_ascii_digit() {
                s.push(c);
            } else if !s.ends_with('0') {
                s.push('0');
            }
        }
        s
    };
    if let Some((other, other_line)) = first_lines.iter().find(|(n, _)| n != name) {
        assert_eq!(
            shape(&line),
            shape(other_line),
            "the baseline must write the same line as kakashi:\n{name}: {line}\n{other}: {other_line}"
        );
    }
    first_lines.push((name.to_owned(), line));
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn rate(x: f64) -> String {
    if x >= 1e6 {
        format!("{:.2}M", x / 1e6)
    } else {
        format!("{:.0}k", x / 1e3)
    }
}

fn ns(x: f64) -> String {
    if x >= 1e6 {
        format!("{:.1} ms", x / 1e6)
    } else if x >= 1e3 {
        format!("{:.1} µs", x / 1e3)
    } else {
        format!("{x:.0} ns")
    }
}

fn run_all(args: &[String]) {
    let opt = |flag: &str, default: &str| -> String {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1).cloned())
            .unwrap_or_else(|| default.to_owned())
    };
    let records: u64 = opt("--records", "1000000").parse().expect("--records N");
    let reps: usize = opt("--reps", "3").parse().expect("--reps R");
    let only = opt("--only", "");
    let out_dir = opt("--out", concat!(env!("CARGO_MANIFEST_DIR"), "/results"));
    let loggers: Vec<_> = LOGGERS
        .iter()
        .filter(|(n, _)| only.is_empty() || only.split(',').any(|o| o == *n))
        .collect();
    let exe = std::env::current_exe().unwrap();
    let tmp = std::env::temp_dir().join(format!("kakashi-bench-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let mut raw: Vec<(String, u64, Result<RunResult, String>)> = Vec::new();
    let mut first_lines: Vec<(String, String)> = Vec::new();
    let mut csv = String::from("logger,producers,rep,caller_per_s,e2e_per_s,p50_ns,p99_ns,p999_ns,max_ns,lost,peak_rss_kib,cpu_ns_per_record,error\n");
    for producers in [1u64, 4] {
        for rep in 0..reps {
            for (name, _) in &loggers {
                let out = tmp.join(format!("{name}-{producers}.log"));
                let output = Command::new(&exe)
                    .args(["one", name, &producers.to_string(), &records.to_string()])
                    .arg(&out)
                    .output()
                    .expect("run a child");
                if *name == "baseline" || *name == "kakashi-block" {
                    check_same_line(name, &out, &mut first_lines);
                }
                let _ = std::fs::remove_file(&out);
                // Each run starts with the disk quiet: what the last one left
                // for the kernel to write back or free is done first.
                // SAFETY: sync(2) takes no arguments and cannot fail.
                unsafe { libc::sync() };
                std::thread::sleep(Duration::from_millis(300));
                let stdout = String::from_utf8_lossy(&output.stdout);
                let result = match stdout.lines().last().and_then(RunResult::from_json) {
                    Some(r) if output.status.success() => Ok(r),
                    _ => Err(format!(
                        "failed ({}): {}",
                        output.status,
                        String::from_utf8_lossy(&output.stderr)
                            .lines()
                            .last()
                            .unwrap_or("")
                    )),
                };
                match &result {
                    Ok(r) => {
                        eprintln!(
                            "[{producers}p rep {rep}] {name}: e2e {}/s, p99 {}, lost {}",
                            rate(r.e2e_per_s),
                            ns(r.p99 as f64),
                            r.lost
                        );
                        let _ = writeln!(
                            csv,
                            "{name},{producers},{rep},{},{},{},{},{},{},{},{},{:.0},",
                            r.caller_per_s,
                            r.e2e_per_s,
                            r.p50,
                            r.p99,
                            r.p999,
                            r.max,
                            r.lost,
                            r.rss_kib,
                            r.cpu_ns
                        );
                    }
                    Err(e) => {
                        eprintln!("[{producers}p rep {rep}] {name}: {e}");
                        let _ = writeln!(
                            csv,
                            "{name},{producers},{rep},,,,,,,,,,{}",
                            e.replace(',', ";")
                        );
                    }
                }
                raw.push((name.to_string(), producers, result));
            }
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);

    let mut md = String::new();
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let _ = writeln!(
        md,
        "Rust loggers, {records} records per run, medians of {reps} fresh-process runs (end-to-end ratio, p50 and p99 with their min-max over the runs); {cpus} CPUs, {}.\n",
        std::env::consts::ARCH
    );
    for producers in [1u64, 4] {
        let pick = |name: &str, f: &dyn Fn(&RunResult) -> f64| -> Option<f64> {
            let v: Vec<f64> = raw
                .iter()
                .filter(|(n, p, r)| n == name && *p == producers && r.is_ok())
                .map(|(_, _, r)| f(r.as_ref().unwrap()))
                .collect();
            (!v.is_empty()).then(|| median(v))
        };
        // Every repetition's value, in run order (each round runs every
        // logger once, so the i-th values of two loggers share a round).
        let each = |name: &str, f: &dyn Fn(&RunResult) -> f64| -> Vec<f64> {
            raw.iter()
                .filter(|(n, p, r)| n == name && *p == producers && r.is_ok())
                .map(|(_, _, r)| f(r.as_ref().unwrap()))
                .collect()
        };
        let range = |v: &[f64]| {
            let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            (lo, hi)
        };
        // A latency's median with its min-max over the repetitions.
        let ns_spread = |name: &str, f: &dyn Fn(&RunResult) -> f64| {
            let v = each(name, f);
            if v.is_empty() {
                return String::new();
            }
            let (lo, hi) = range(&v);
            format!("{} ({}-{})", ns(median(v)), ns(lo), ns(hi))
        };
        let base_e2e = pick("baseline", &|r| r.e2e_per_s);
        let base_caller = pick("baseline", &|r| r.caller_per_s);
        let _ = writeln!(
            md,
            "**{producers} producer{}** (ratios to the baseline in the same run)\n",
            if producers > 1 { "s" } else { "" }
        );
        let _ = writeln!(md, "| logger | calls/s | ratio | end-to-end/s | ratio | p50 | p99 | p99.9 | max | lost | peak RSS | CPU/record |");
        let _ = writeln!(
            md,
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        for (name, _) in &loggers {
            let Some(e2e) = pick(name, &|r| r.e2e_per_s) else {
                let errs: Vec<_> = raw
                    .iter()
                    .filter(|(n, p, r)| n == name && *p == producers && r.is_err())
                    .map(|(_, _, r)| r.as_ref().err().unwrap().clone())
                    .collect();
                let _ = writeln!(
                    md,
                    "| {name} | {} | | | | | | | | | | |",
                    errs.first().cloned().unwrap_or_default()
                );
                continue;
            };
            let caller = pick(name, &|r| r.caller_per_s).unwrap_or(0.0);
            let ratio =
                |x: f64, b: Option<f64>| b.map_or("?".to_owned(), |b| format!("{:.2}x", x / b));
            // The end-to-end ratio of each round, so its spread is shown.
            let round_ratios: Vec<f64> = each(name, &|r| r.e2e_per_s)
                .iter()
                .zip(each("baseline", &|r| r.e2e_per_s))
                .map(|(x, b)| x / b)
                .collect();
            let e2e_ratio = if round_ratios.is_empty() {
                ratio(e2e, base_e2e)
            } else {
                let (lo, hi) = range(&round_ratios);
                format!("{} ({lo:.2}-{hi:.2})", ratio(e2e, base_e2e))
            };
            let _ = writeln!(
                md,
                "| {name} | {} | {} | {} | {} | {} | {} | {} | {} | {:.0} | {:.0} MiB | {} |",
                rate(caller),
                ratio(caller, base_caller),
                rate(e2e),
                e2e_ratio,
                ns_spread(name, &|r| r.p50 as f64),
                ns_spread(name, &|r| r.p99 as f64),
                ns(pick(name, &|r| r.p999 as f64).unwrap_or(0.0)),
                ns(pick(name, &|r| r.max as f64).unwrap_or(0.0)),
                pick(name, &|r| r.lost as f64).unwrap_or(0.0),
                pick(name, &|r| r.rss_kib as f64).unwrap_or(0.0) / 1024.0,
                ns(pick(name, &|r| r.cpu_ns).unwrap_or(0.0)),
            );
        }
        md.push('\n');
    }
    md.push_str("Loggers: ");
    for (i, (name, desc)) in loggers.iter().enumerate() {
        let _ = write!(md, "{}`{name}`: {desc}", if i > 0 { "; " } else { "" });
    }
    md.push_str(".\n");
    print!("{md}");
    std::fs::create_dir_all(&out_dir).unwrap();
    let day = {
        let (y, m, d) = civil_date(now_secs_micros().0 / 86_400);
        format!("{y:04}-{m:02}-{d:02}")
    };
    std::fs::write(format!("{out_dir}/{day}-rust.md"), &md).unwrap();
    std::fs::write(format!("{out_dir}/{day}-rust-raw.csv"), &csv).unwrap();
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("one") => {
            let name = &args[2];
            let producers: u64 = args[3].parse().unwrap();
            let records: u64 = args[4].parse().unwrap();
            let r = run_one(name, producers, records, &args[5]);
            println!("{}", r.to_json());
            std::io::stdout().flush().unwrap();
            // Whatever a logger still holds is not part of the measurement.
            std::process::exit(0);
        }
        Some("all") => run_all(&args[2..]),
        _ => {
            eprintln!("usage: bench all [--records N] [--reps R] [--only a,b] [--out DIR]\n       bench one LOGGER PRODUCERS RECORDS OUT_FILE");
            std::process::exit(2);
        }
    }
}
