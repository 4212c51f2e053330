//! A record's route (its pipeline) travels with it through the queue, in
//! its slot's stamp word. Several pipelines of one backend stress that:
//! under every overflow strategy, tiny queues and batches, several
//! workers, flush barriers, shutdowns racing producers, forks and signal
//! handlers that log, every record lands in its own pipeline's writer,
//! each thread's records in order, each drop reported in the pipeline the
//! record belonged to, the stats balanced (G1, G3).

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{balance, isolated};
use kakashi::testing::MemoryWriter;
use kakashi::{info, AsyncConfig, Backend, OverflowStrategy, PipelineConfig, Stats};

const PIPELINES: usize = 4;

/// [`PIPELINES`] pipelines on `backend`, each writing to its own memory:
/// their writers, and a logger of each (named `p0`, `p1`, ...).
fn pipelines(backend: &Backend) -> (Vec<MemoryWriter>, Vec<kakashi::Logger>) {
    let memories: Vec<MemoryWriter> = (0..PIPELINES).map(|_| MemoryWriter::new()).collect();
    let loggers = memories
        .iter()
        .enumerate()
        .map(|(k, m)| backend.logger(&format!("p{k}"), PipelineConfig::new().writer(m.clone())))
        .collect();
    (memories, loggers)
}

/// What one pipeline's writer holds, checked: only its own loggers'
/// records (and drop reports), each thread's records in increasing order.
/// Returns (user records written, drops reported).
fn check_pipeline(k: usize, lines: &[String], threads: usize, complete: Option<u64>) -> (u64, u64) {
    let records = common::parse(lines);
    let mut last: HashMap<u64, u64> = HashMap::new();
    let mut written = 0;
    let mut reported = 0;
    let mine = format!("p{k}");
    for r in &records {
        let logger = r["logger"].as_str().unwrap();
        if logger == "kakashi" {
            reported += r["fields"]["dropped"].as_u64().unwrap();
            continue;
        }
        assert_eq!(logger, mine, "pipeline {k} got a record of {logger}: {r}");
        assert_eq!(r["fields"]["p"].as_u64(), Some(k as u64), "{r}");
        let t = r["fields"]["t"].as_u64().unwrap();
        let i = r["fields"]["i"].as_u64().unwrap();
        assert!((t as usize) < threads);
        if let Some(&prev) = last.get(&t) {
            assert!(prev < i, "pipeline {k}, thread {t}: {prev} then {i}");
        }
        last.insert(t, i);
        written += 1;
    }
    if let Some(per_thread) = complete {
        for t in 0..threads as u64 {
            assert_eq!(
                last.get(&t).copied(),
                Some(per_thread - 1),
                "pipeline {k}, thread {t}: records missing"
            );
        }
    }
    (written, reported)
}

/// Waits (at most 20 s) for the stats to balance with an empty queue.
fn settled(backend: &Backend) -> Stats {
    let start = Instant::now();
    loop {
        let s = backend.stats();
        if (s.is_balanced() && s.queue_size == 0) || start.elapsed() > Duration::from_secs(20) {
            return s;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// `threads` producers each log `per` records to every pipeline in turn
/// (`i` counts per thread and pipeline), a flusher calls `flush` meanwhile;
/// then the backend shuts down (with `shutdown` as timeout) and everything
/// is checked.
fn round(config: AsyncConfig, threads: usize, per: u64, shutdown_early: bool) {
    let strategy = config.overflow_strategy;
    let backend = Backend::new(config.clone()).unwrap();
    let (memories, loggers) = pipelines(&backend);
    let stop = Arc::new(AtomicBool::new(false));
    std::thread::scope(|s| {
        let flusher = {
            let backend = backend.clone();
            let stop = Arc::clone(&stop);
            s.spawn(move || {
                while !stop.load(SeqCst) {
                    backend.flush_timeout(Duration::from_secs(5));
                    std::thread::yield_now();
                }
            })
        };
        let producers: Vec<_> = (0..threads)
            .map(|t| {
                let loggers = loggers.clone();
                s.spawn(move || {
                    for i in 0..per {
                        for (k, logger) in loggers.iter().enumerate() {
                            // Different threads visit pipelines in
                            // different orders: runs of one route are short.
                            let _ = logger;
                            let k2 = (k + t) % PIPELINES;
                            info!(loggers[k2], "m", p = k2 as u64, t = t as u64, i = i);
                        }
                    }
                })
            })
            .collect();
        if shutdown_early {
            std::thread::sleep(Duration::from_millis(2));
            let report = backend.shutdown(Duration::from_millis(50));
            let _ = report;
        }
        for p in producers {
            p.join().unwrap();
        }
        stop.store(true, SeqCst);
        flusher.join().unwrap();
    });
    let report = backend.shutdown(Duration::from_secs(20));
    if !shutdown_early {
        assert!(report.completed(), "{report:?}");
    }
    let stats = settled(&backend);
    assert!(stats.is_balanced(), "{config:?}: {}", balance(&stats));
    assert_eq!(stats.queue_size, 0);
    let lossless = strategy == OverflowStrategy::Block && !shutdown_early;
    let mut total_reported = 0;
    let mut total_written = 0;
    for (k, m) in memories.iter().enumerate() {
        let (written, reported) = check_pipeline(k, &m.lines(), threads, lossless.then_some(per));
        let submitted = threads as u64 * per;
        let missing = submitted - written;
        // A record dropped is reported in its own pipeline (reports
        // themselves dropped add to it, never take away).
        if !shutdown_early {
            assert!(
                reported >= missing,
                "{config:?}: pipeline {k}: {missing} missing, {reported} reported"
            );
        }
        total_reported += reported;
        total_written += written;
    }
    if !shutdown_early {
        assert_eq!(
            total_reported, stats.messages_dropped,
            "{config:?}: {stats:?}"
        );
    }
    assert!(total_written <= stats.messages_written);
}

fn configs() -> Vec<AsyncConfig> {
    let mut out = Vec::new();
    for strategy in [
        OverflowStrategy::Block,
        OverflowStrategy::DropOldest,
        OverflowStrategy::DropNewest,
    ] {
        for (queue, batch, workers) in [
            (1, 1, 1),
            (1, 3, 2),
            (2, 1, 4),
            (3, 2, 3),
            (5, 3, 2),
            (16, 1, 1),
            (16, 3, 4),
        ] {
            out.push(AsyncConfig {
                max_queue_size: queue,
                batch_size: batch,
                worker_count: workers,
                overflow_strategy: strategy,
                ..AsyncConfig::default()
            });
        }
    }
    out
}

/// How many times each test repeats its rounds: `HOSTILE_ROUNDS`, else 1.
fn rounds() -> usize {
    std::env::var("HOSTILE_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
}

/// Every configuration of [`configs`], `rounds()` times, in a child
/// process with a deadline.
fn every_config(test: &str, per: u64, shutdown_early: bool) {
    isolated(test, Duration::from_secs(240), || {
        for _ in 0..rounds() {
            for config in configs() {
                round(config, 3, per, shutdown_early);
            }
        }
    });
}

#[test]
fn every_record_reaches_its_own_pipeline() {
    every_config("every_record_reaches_its_own_pipeline", 300, false);
}

#[test]
fn a_shutdown_racing_producers_keeps_routes_and_balance() {
    every_config(
        "a_shutdown_racing_producers_keeps_routes_and_balance",
        200,
        true,
    );
}

/// A child forked while the parent's threads log into a tiny queue of
/// several pipelines: the child's records (every one, in order) land in
/// their own pipelines, and nothing of the parent's lands in another's.
#[test]
fn a_forked_child_keeps_routes() {
    isolated(
        "a_forked_child_keeps_routes",
        Duration::from_secs(120),
        || {
            let rounds = rounds();
            for round in 0..rounds * 6 {
                let strategy = [
                    OverflowStrategy::Block,
                    OverflowStrategy::DropOldest,
                    OverflowStrategy::DropNewest,
                ][round % 3];
                fork_round(strategy, 1 + round % 4);
            }
        },
    );
}

fn fork_round(strategy: OverflowStrategy, queue: usize) {
    const CHILD: u64 = 300;
    let backend = Backend::new(AsyncConfig {
        max_queue_size: queue,
        batch_size: 2,
        worker_count: 2,
        overflow_strategy: strategy,
        ..AsyncConfig::default()
    })
    .unwrap();
    let (memories, loggers) = pipelines(&backend);
    let stop = Arc::new(AtomicBool::new(false));
    let producers: Vec<_> = (0..2)
        .map(|t| {
            let loggers = loggers.clone();
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let mut i = 0u64;
                while !stop.load(SeqCst) {
                    for k in 0..PIPELINES {
                        let k2 = (k + t) % PIPELINES;
                        info!(loggers[k2], "m", p = k2 as u64, t = t as u64, i = i);
                    }
                    i += 1;
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(5));
    let forker = {
        let loggers = loggers.clone();
        let memories = memories.clone();
        let backend = backend.clone();
        std::thread::spawn(move || {
            kakashi::prepare_fork(Duration::from_secs(5));
            // SAFETY: the child runs only this thread and ends by _exit.
            let pid = unsafe { libc::fork() };
            assert!(pid >= 0, "fork failed");
            if pid == 0 {
                kakashi::after_fork_in_child();
                let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    // The child is thread 9 (the parent's are 0 and 1).
                    for i in 0..CHILD {
                        for (k, logger) in loggers.iter().enumerate() {
                            info!(logger, "m", p = k as u64, t = 9u64, i = i);
                        }
                    }
                    assert!(backend.flush_timeout(Duration::from_secs(20)));
                    for (k, m) in memories.iter().enumerate() {
                        let records = common::parse(&m.lines());
                        let mut child = Vec::new();
                        for r in &records {
                            let logger = r["logger"].as_str().unwrap();
                            if logger == "kakashi" {
                                continue;
                            }
                            assert_eq!(logger, format!("p{k}"), "{r}");
                            assert_eq!(r["fields"]["p"].as_u64(), Some(k as u64), "{r}");
                            if r["fields"]["t"].as_u64() == Some(9) {
                                child.push(r["fields"]["i"].as_u64().unwrap());
                            }
                        }
                        if strategy == OverflowStrategy::Block {
                            assert!(
                                child.iter().copied().eq(0..CHILD),
                                "pipeline {k}: {child:?}"
                            );
                        } else {
                            assert!(child.windows(2).all(|w| w[0] < w[1]), "pipeline {k}");
                        }
                    }
                    let stats = backend.stats();
                    assert!(stats.is_balanced(), "{}", balance(&stats));
                }));
                // SAFETY: ends the child at once, its checks done.
                unsafe { libc::_exit(if ok.is_ok() { 0 } else { 1 }) };
            }
            kakashi::after_fork_in_parent();
            pid
        })
    };
    let pid = forker.join().unwrap();
    common::expect_clean_exit(pid, "its checks");
    stop.store(true, SeqCst);
    for p in producers {
        p.join().unwrap();
    }
    let report = backend.shutdown(Duration::from_secs(20));
    assert!(report.completed(), "{report:?}");
    let stats = settled(&backend);
    assert!(stats.is_balanced(), "{}", balance(&stats));
    for (k, m) in memories.iter().enumerate() {
        check_pipeline(k, &m.lines(), 2, None);
    }
}

/// A signal handler logging into its own pipeline interrupts calls into
/// the others (mid-push: a slot claimed and not yet written; mid-eviction;
/// mid-drain after shutdown): each record still lands in its own pipeline.
#[cfg(unix)]
mod signal {
    use super::*;
    use kakashi::Logger;
    use std::sync::atomic::AtomicU64;
    use std::sync::OnceLock;

    static SIG_LOGGER: OnceLock<Logger> = OnceLock::new();
    static HANDLED: AtomicU64 = AtomicU64::new(0);

    extern "C" fn on_sigusr1(_: libc::c_int) {
        if let Some(logger) = SIG_LOGGER.get() {
            let i = HANDLED.load(SeqCst);
            info!(logger, "m", p = 3u64, t = 7u64, i = i);
            HANDLED.store(i + 1, SeqCst);
        }
    }

    fn run(strategy: OverflowStrategy, after_shutdown: bool) {
        let backend = Backend::new(AsyncConfig {
            max_queue_size: 3,
            batch_size: 2,
            worker_count: 2,
            overflow_strategy: strategy,
            shutdown_timeout: Duration::from_secs(600),
            ..AsyncConfig::default()
        })
        .unwrap();
        let (memories, loggers) = pipelines(&backend);
        let _ = SIG_LOGGER.set(loggers[3].clone());
        if after_shutdown {
            assert!(backend.shutdown(Duration::from_secs(10)).completed());
        }
        let storm =
            common::SignalStorm::start(libc::SIGUSR1, on_sigusr1, Duration::from_micros(100));
        const N: u64 = 20_000;
        for i in 0..N {
            let k = (i % 3) as usize;
            info!(loggers[k], "m", p = k as u64, t = 0u64, i = i / 3);
        }
        storm.stop();
        // SAFETY: back to the default action; no handler runs after this.
        unsafe { libc::signal(libc::SIGUSR1, libc::SIG_IGN) };
        assert!(HANDLED.load(SeqCst) > 0, "no signal was handled");
        assert!(backend.flush_timeout(Duration::from_secs(20)));
        let stats = settled(&backend);
        assert!(stats.is_balanced(), "{}", balance(&stats));
        let lossless = strategy == OverflowStrategy::Block;
        let mut reported = 0;
        for (k, m) in memories.iter().enumerate() {
            let lines = m.lines();
            let (_, r) = check_pipeline(
                k,
                &lines
                    .iter()
                    .filter(|l| !l.contains(r#""t":7"#))
                    .cloned()
                    .collect::<Vec<_>>(),
                1,
                (lossless && k < 3).then_some(N / 3 + u64::from((k as u64) < N % 3)),
            );
            reported += r;
            if k < 3 {
                assert!(
                    !lines.iter().any(|l| l.contains(r#""t":7"#)),
                    "a handler's record in p{k}"
                );
            } else {
                let handled = lines.iter().filter(|l| l.contains(r#""t":7"#)).count() as u64;
                if lossless {
                    assert_eq!(handled, HANDLED.load(SeqCst));
                }
            }
        }
        assert_eq!(reported, stats.messages_dropped);
    }

    #[test]
    fn a_signal_handlers_records_keep_their_route_drop_oldest() {
        isolated(
            "signal::a_signal_handlers_records_keep_their_route_drop_oldest",
            Duration::from_secs(60),
            || run(OverflowStrategy::DropOldest, false),
        );
    }

    #[test]
    fn a_signal_handlers_records_keep_their_route_drop_newest_after_shutdown() {
        isolated(
            "signal::a_signal_handlers_records_keep_their_route_drop_newest_after_shutdown",
            Duration::from_secs(60),
            || run(OverflowStrategy::DropNewest, true),
        );
    }
}
