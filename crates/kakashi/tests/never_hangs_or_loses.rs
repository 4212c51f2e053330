//! The engine never hangs and never strands a record: shutdown while producers
//! are blocked (G4, G5), timeouts honoured with stuck or failing writers (G5),
//! panics with a writer stuck or on the caller's thread (G4), nothing left in
//! the queue after shutdown and per-thread order kept across it (G3, G4), a
//! signal handler that logs into `drop_oldest` (G5), a panicking enricher that
//! does not flood stderr (G6), counters that survive the backend (G1).
//!
//! Every case that can hang runs in a child process (this test binary re-run
//! with `KAKASHI_SCENARIO` naming the test) killed at a deadline; timings are
//! asserted only as generous hang detectors.

mod common;

use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::sync::{mpsc, Arc, OnceLock};
use std::time::{Duration, Instant};

use common::{balance, in_child, isolated, run_in_child};
use kakashi::testing::MemoryWriter;
use kakashi::{
    callback_writer, file_writer, info, AsyncConfig, AsyncPipeline, AsyncPipelineConfig, Backend,
    Batch, Logger, OverflowStrategy, PipelineConfig, Record, Stats, WriteError, Writer,
};

fn step(what: &str) {
    eprintln!("step: {what}");
}

/// Polls `cond` every 5 ms until it holds or `limit` passes; panics with `what`.
fn wait_until(limit: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < limit, "waited {limit:?} for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Waits (at most 10 s) until the stats balance and the queue is empty, and
/// returns them; the assertions are the caller's.
fn settled(backend: &Backend) -> Stats {
    let start = Instant::now();
    loop {
        let s = backend.stats();
        if (s.is_balanced() && s.queue_size == 0) || start.elapsed() > Duration::from_secs(10) {
            return s;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A writer stuck forever in its first call: it waits on a channel whose
/// sender is kept alive and never used. `entered` counts calls begun.
struct StuckWriter {
    rx: mpsc::Receiver<()>,
    entered: Arc<AtomicU64>,
}

fn stuck_writer() -> (StuckWriter, Arc<AtomicU64>) {
    let (tx, rx) = mpsc::channel();
    std::mem::forget(tx);
    let entered = Arc::new(AtomicU64::new(0));
    (
        StuckWriter {
            rx,
            entered: Arc::clone(&entered),
        },
        entered,
    )
}

impl Writer for StuckWriter {
    fn write_batch(&mut self, _batch: &Batch<'_>) -> Result<(), WriteError> {
        self.entered.fetch_add(1, SeqCst);
        let _ = self.rx.recv();
        Ok(())
    }
}

/// A backend whose one writer is stuck, with one record already inside it.
fn backend_with_stuck_writer() -> (Backend, Logger, Arc<AtomicU64>) {
    let backend = Backend::new(AsyncConfig {
        max_queue_size: 100,
        batch_size: 10,
        worker_count: 1,
        overflow_strategy: OverflowStrategy::Block,
        ..AsyncConfig::default()
    })
    .unwrap();
    let (writer, entered) = stuck_writer();
    let logger = backend.logger("stuck", PipelineConfig::new().writer(writer));
    info!(logger, "first");
    wait_until(
        Duration::from_secs(10),
        "the worker to enter the writer",
        || entered.load(SeqCst) > 0,
    );
    (backend, logger, entered)
}

// === shutdown while producers are blocked (G4, G5) ===

/// `block`, a 10-record queue, 5-record batches, a writer that sleeps 10 ms
/// per record, and a thread logging 1,000 records. Returns the backend and a
/// receiver that gets a message when the producer has finished.
fn blocked_producer() -> (Backend, mpsc::Receiver<()>) {
    let backend = Backend::new(AsyncConfig {
        max_queue_size: 10,
        batch_size: 5,
        worker_count: 1,
        overflow_strategy: OverflowStrategy::Block,
        ..AsyncConfig::default()
    })
    .unwrap();
    let writer = callback_writer(|_line: &str| {
        std::thread::sleep(Duration::from_millis(10));
        Ok::<(), io::Error>(())
    });
    let logger = backend.logger("blocked", PipelineConfig::new().writer(writer));
    let (done_tx, done_rx) = mpsc::channel();
    std::thread::spawn(move || {
        for i in 0..1_000u64 {
            info!(logger, "r", i = i);
        }
        let _ = done_tx.send(());
    });
    std::thread::sleep(Duration::from_millis(500));
    (backend, done_rx)
}

#[test]
fn shutdown_returns_while_producers_are_blocked() {
    isolated(
        "shutdown_returns_while_producers_are_blocked",
        Duration::from_secs(60),
        || {
            let (backend, done) = blocked_producer();
            step("shutdown(2 s) with a producer blocked on the full queue");
            let started = Instant::now();
            let report = backend.shutdown(Duration::from_secs(2));
            let took = started.elapsed();
            eprintln!("shutdown returned after {took:?}: {report:?}");
            assert!(
                took < Duration::from_secs(5),
                "shutdown(2 s) took {took:?} (hang detector: timeout + 3 s)"
            );
            step("waiting for the blocked producer to finish");
            done.recv_timeout(Duration::from_secs(30)).expect(
                "the producer blocked on the full queue was still blocked 30 s after shutdown",
            );
            let stats = settled(&backend);
            assert_eq!(
                stats.queue_size, 0,
                "records stranded in the queue: {stats:?}"
            );
            assert!(stats.is_balanced(), "{}", balance(&stats));
        },
    );
}

#[test]
fn exit_while_producers_are_blocked_terminates() {
    // The child returns from the test while its producer is blocked; the
    // process then exits through the engine's exit drain.
    isolated(
        "exit_while_producers_are_blocked_terminates",
        Duration::from_secs(60),
        || {
            let (_backend, _done) = blocked_producer();
            step("returning from the test (process exit) with a producer blocked");
        },
    );
}

// === timeouts are honoured (G5) ===

#[test]
fn flush_timeout_returns_with_a_writer_stuck_forever() {
    isolated(
        "flush_timeout_returns_with_a_writer_stuck_forever",
        Duration::from_secs(60),
        || {
            let (backend, logger, _) = backend_with_stuck_writer();
            for i in 0..10u64 {
                info!(logger, "queued", i = i);
            }
            step("flush_timeout(500 ms)");
            let started = Instant::now();
            let flushed = backend.flush_timeout(Duration::from_millis(500));
            let took = started.elapsed();
            assert!(
                !flushed,
                "flush_timeout said everything was written with the writer stuck"
            );
            assert!(
                took < Duration::from_millis(3_500),
                "flush_timeout(500 ms) took {took:?} (hang detector: timeout + 3 s)"
            );
            step("flush_timeout returned; exiting with the writer still stuck");
        },
    );
}

#[test]
fn after_a_timed_out_shutdown_logging_returns_and_counts_a_drop() {
    isolated(
        "after_a_timed_out_shutdown_logging_returns_and_counts_a_drop",
        Duration::from_secs(60),
        || {
            let (backend, logger, entered) = backend_with_stuck_writer();
            for i in 0..10u64 {
                info!(logger, "queued", i = i);
            }
            step("shutdown(500 ms) with the writer stuck");
            let report = backend.shutdown(Duration::from_millis(500));
            eprintln!("report: {report:?}");
            assert!(
                !report.completed(),
                "shutdown cannot complete with the writer stuck: {report:?}"
            );
            let before = backend.stats();
            let calls = entered.load(SeqCst);
            step("logging one record after the timed-out shutdown");
            let started = Instant::now();
            info!(logger, "after shutdown");
            let took = started.elapsed();
            step("the call returned");
            assert!(
                took < Duration::from_secs(3),
                "the logging call took {took:?}"
            );
            let after = backend.stats();
            assert_eq!(
                after.dropped_backend_stopped,
                before.dropped_backend_stopped + 1,
                "the record logged after a timed-out shutdown must be counted in \
                 dropped_backend_stopped; before {before:?} after {after:?}"
            );
            assert_eq!(
                entered.load(SeqCst),
                calls,
                "the stuck writer was called again"
            );
            assert_eq!(
                after.messages_written_sync, before.messages_written_sync,
                "the record must not be written on the caller's thread"
            );
        },
    );
}

#[test]
fn global_flush_returns_with_a_failing_network_endpoint() {
    isolated(
        "global_flush_returns_with_a_failing_network_endpoint",
        Duration::from_secs(90),
        || {
            let logger = kakashi::get_network_logger("refused", |_line: &str| {
                Err::<(), String>("connection refused".to_owned())
            })
            .unwrap();
            for i in 0..10u64 {
                info!(logger, "sent", i = i);
            }
            step("kakashi::flush() with every send failing (default retries)");
            let started = Instant::now();
            let flushed = kakashi::flush();
            let took = started.elapsed();
            eprintln!("flush returned {flushed} after {took:?}");
            assert!(
                took < Duration::from_secs(12),
                "kakashi::flush() took {took:?}; its default timeout is 5 s"
            );
        },
    );
}

// === panics (G4) ===

struct PanickingWriter;

impl Writer for PanickingWriter {
    fn write_batch(&mut self, _batch: &Batch<'_>) -> Result<(), WriteError> {
        panic!("the writer exploded");
    }
}

#[test]
fn a_writer_panicking_on_the_callers_thread_does_not_deadlock() {
    isolated(
        "a_writer_panicking_on_the_callers_thread_does_not_deadlock",
        Duration::from_secs(30),
        || {
            let backend = Backend::synchronous();
            let logger =
                backend.logger("sync-panic", PipelineConfig::new().writer(PanickingWriter));
            for i in 0..3u64 {
                step(&format!("logging record {i} into a writer that panics"));
                info!(logger, "m", i = i);
            }
            step("the three calls returned");
            let stats = backend.stats();
            let writer_failed: u64 = stats.writers.iter().map(|w| w.failed).sum();
            // The three records and the in-band report of their failure.
            assert_eq!(
                stats.messages_failed,
                3 + stats.reports_emitted,
                "the three records must be counted as failed: {stats:?}"
            );
            assert_eq!(writer_failed, stats.messages_failed);
            assert!(stats.is_balanced(), "{}", balance(&stats));
        },
    );
}

#[test]
fn a_panic_on_the_main_thread_while_a_writer_is_stuck_does_not_hang() {
    let test = "a_panic_on_the_main_thread_while_a_writer_is_stuck_does_not_hang";
    if in_child(test) {
        let (_backend, _logger, _) = backend_with_stuck_writer();
        step("panicking (caught) on the main thread");
        let caught = std::panic::catch_unwind(|| panic!("boom: caught on the main thread"));
        assert!(caught.is_err());
        step("after catch_unwind; returning (process exit)");
        return;
    }
    let run = run_in_child(test, Duration::from_secs(60), &[]);
    run.assert_ok("a caught panic with a stuck writer must not hang the process");
    assert!(
        run.stderr.contains("boom: caught on the main thread"),
        "the panic message must be on stderr\n{}",
        run.tails()
    );
}

#[test]
fn a_thread_panicking_while_a_writer_is_stuck_does_not_hang() {
    let test = "a_thread_panicking_while_a_writer_is_stuck_does_not_hang";
    if in_child(test) {
        let (_backend, _logger, _) = backend_with_stuck_writer();
        step("a thread panics");
        let joined = std::thread::spawn(|| panic!("boom: in a thread")).join();
        assert!(joined.is_err());
        step("joined the panicked thread; returning (process exit)");
        return;
    }
    let run = run_in_child(test, Duration::from_secs(60), &[]);
    run.assert_ok("a panicking thread with a stuck writer must not hang the process");
    assert!(
        run.stderr.contains("boom: in a thread"),
        "the panic message must be on stderr\n{}",
        run.tails()
    );
}

// === after shutdown nothing is stranded, and per-thread order holds (G3, G4) ===

const PRODUCERS: u64 = 4;
const PER_PRODUCER: u64 = 20_000;

fn nothing_stranded(strategy: OverflowStrategy, timeout: Duration) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stranded.log");
    let backend = Backend::new(AsyncConfig {
        max_queue_size: 1_000,
        batch_size: 100,
        worker_count: 2,
        overflow_strategy: strategy,
        ..AsyncConfig::default()
    })
    .unwrap();
    let logger = backend.logger(
        "stranded",
        PipelineConfig::new().writer(file_writer(&path).unwrap()),
    );
    let progress = Arc::new(AtomicU64::new(0));
    let (done_tx, done_rx) = mpsc::channel();
    for t in 0..PRODUCERS {
        let logger = logger.clone();
        let progress = Arc::clone(&progress);
        let done_tx = done_tx.clone();
        std::thread::spawn(move || {
            for seq in 0..PER_PRODUCER {
                info!(logger, "m", t = t, seq = seq);
                progress.fetch_add(1, SeqCst);
            }
            let _ = done_tx.send(t);
        });
    }
    wait_until(
        Duration::from_secs(30),
        "the producers to log 8,000 records",
        || progress.load(SeqCst) >= 8_000,
    );
    step(&format!(
        "shutdown({timeout:?}) with 4 producers logging flat out ({strategy:?})"
    ));
    let report = backend.shutdown(timeout);
    eprintln!(
        "report: {report:?} (producers had logged {})",
        progress.load(SeqCst)
    );
    for _ in 0..PRODUCERS {
        done_rx
            .recv_timeout(Duration::from_secs(60))
            .expect("a producer was still logging 60 s after shutdown");
    }
    step("producers stopped");
    let stats = settled(&backend);
    eprintln!("stats: {}", stats.to_json());
    assert_eq!(
        stats.queue_size, 0,
        "{} records stranded in the queue after shutdown ({report:?})",
        stats.queue_size
    );
    assert!(
        stats.is_balanced(),
        "stats do not balance 10 s after the producers stopped: {}; report {report:?}",
        balance(&stats)
    );
    let text = std::fs::read_to_string(&path).unwrap();
    let mut last: Vec<Option<u64>> = vec![None; PRODUCERS as usize];
    let (mut lines, mut mine) = (0u64, 0u64);
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("invalid JSON line {line:?}: {e}"));
        lines += 1;
        if v["logger"] != "stranded" {
            continue; // an in-band report about drops
        }
        let t = v["fields"]["t"].as_u64().unwrap() as usize;
        let seq = v["fields"]["seq"].as_u64().unwrap();
        if let Some(prev) = last[t] {
            assert!(
                seq > prev,
                "thread {t}: seq {seq} written after {prev} (line {}); report {report:?}",
                lines - 1
            );
        }
        last[t] = Some(seq);
        mine += 1;
    }
    assert_eq!(
        lines, stats.messages_written,
        "lines in the file vs messages_written"
    );
    if strategy == OverflowStrategy::Block && report.completed() {
        assert_eq!(
            mine,
            PRODUCERS * PER_PRODUCER,
            "block with a completed shutdown loses nothing"
        );
    }
}

#[test]
fn drop_oldest_strands_nothing_when_shutdown_times_out() {
    isolated(
        "drop_oldest_strands_nothing_when_shutdown_times_out",
        Duration::from_secs(120),
        || nothing_stranded(OverflowStrategy::DropOldest, Duration::from_millis(1)),
    );
}

#[test]
fn drop_oldest_strands_nothing_when_shutdown_completes() {
    isolated(
        "drop_oldest_strands_nothing_when_shutdown_completes",
        Duration::from_secs(120),
        || nothing_stranded(OverflowStrategy::DropOldest, Duration::from_secs(30)),
    );
}

#[test]
fn block_strands_nothing_when_shutdown_times_out() {
    isolated(
        "block_strands_nothing_when_shutdown_times_out",
        Duration::from_secs(120),
        || nothing_stranded(OverflowStrategy::Block, Duration::from_millis(1)),
    );
}

#[test]
fn block_strands_nothing_when_shutdown_completes() {
    isolated(
        "block_strands_nothing_when_shutdown_completes",
        Duration::from_secs(120),
        || nothing_stranded(OverflowStrategy::Block, Duration::from_secs(30)),
    );
}

// === a signal handler that logs into drop_oldest (G5) ===

#[cfg(unix)]
mod signal {
    use super::*;

    static SIG_LOGGER: OnceLock<Logger> = OnceLock::new();
    static HANDLED: AtomicU64 = AtomicU64::new(0);

    extern "C" fn on_sigusr1(_: libc::c_int) {
        if let Some(logger) = SIG_LOGGER.get() {
            info!(logger, "from the signal handler");
        }
        HANDLED.fetch_add(1, SeqCst);
    }

    #[derive(Clone, Default)]
    struct Counting(Arc<AtomicU64>);

    impl Writer for Counting {
        fn write_batch(&mut self, batch: &Batch<'_>) -> Result<(), WriteError> {
            self.0.fetch_add(batch.len() as u64, SeqCst);
            Ok(())
        }
    }

    #[test]
    fn a_signal_handler_logging_into_drop_oldest_does_not_livelock() {
        isolated(
            "signal::a_signal_handler_logging_into_drop_oldest_does_not_livelock",
            Duration::from_secs(60),
            || {
                let backend = Backend::new(AsyncConfig {
                    max_queue_size: 4,
                    batch_size: 2,
                    worker_count: 1,
                    overflow_strategy: OverflowStrategy::DropOldest,
                    ..AsyncConfig::default()
                })
                .unwrap();
                let written = Counting::default();
                let logger =
                    backend.logger("signal", PipelineConfig::new().writer(written.clone()));
                let _ = SIG_LOGGER.set(logger.clone());
                // SAFETY: installs a handler for SIGUSR1 with an empty mask.
                unsafe {
                    let mut sa: libc::sigaction = std::mem::zeroed();
                    sa.sa_sigaction = on_sigusr1 as extern "C" fn(libc::c_int) as usize;
                    sa.sa_flags = libc::SA_RESTART;
                    libc::sigemptyset(&mut sa.sa_mask);
                    assert_eq!(libc::sigaction(libc::SIGUSR1, &sa, std::ptr::null_mut()), 0);
                }
                // SAFETY: pthread_self has no preconditions.
                let main = unsafe { libc::pthread_self() };
                let done = Arc::new(AtomicBool::new(false));
                let sender = {
                    let done = Arc::clone(&done);
                    std::thread::spawn(move || {
                        let mut sent = 0u64;
                        while !done.load(SeqCst) {
                            // SAFETY: `main` is alive until `done` is set.
                            unsafe { libc::pthread_kill(main, libc::SIGUSR1) };
                            sent += 1;
                            std::thread::sleep(Duration::from_micros(50));
                        }
                        sent
                    })
                };
                step("the main thread logs 300,000 records while SIGUSR1 arrives repeatedly");
                for i in 0..300_000u64 {
                    info!(logger, "main", i = i);
                    if i % 50_000 == 0 {
                        eprintln!("step: {i} logged, {} signals handled", HANDLED.load(SeqCst));
                    }
                }
                done.store(true, SeqCst);
                let sent = sender.join().unwrap();
                step(&format!(
                    "main done; {sent} signals sent, {} handled",
                    HANDLED.load(SeqCst)
                ));
                assert!(HANDLED.load(SeqCst) > 0, "no signal was handled");
                assert!(
                    backend.flush_timeout(Duration::from_secs(10)),
                    "flush after the signals"
                );
                let stats = backend.stats();
                assert!(stats.is_balanced(), "{}", balance(&stats));
                assert_eq!(written.0.load(SeqCst), stats.messages_written);
            },
        );
    }
}

/// After shutdown each call writes its record itself, in ticket order with
/// any other caller's. A signal handler that logs while the interrupted call
/// holds the turn must not wait for that turn (it never comes while the
/// handler runs): it leaves its batch to the interrupted call, which writes
/// it when it resumes.
#[cfg(unix)]
mod signal_after_shutdown {
    use super::*;

    static SIG_LOGGER: OnceLock<Logger> = OnceLock::new();
    static HANDLED: AtomicU64 = AtomicU64::new(0);

    extern "C" fn on_sigusr2(_: libc::c_int) {
        if let Some(logger) = SIG_LOGGER.get() {
            info!(logger, "from the signal handler");
        }
        HANDLED.fetch_add(1, SeqCst);
    }

    #[test]
    fn a_signal_handler_logging_into_a_callers_drain_does_not_wait_for_it() {
        isolated(
            "signal_after_shutdown::a_signal_handler_logging_into_a_callers_drain_does_not_wait_for_it",
            Duration::from_secs(60),
            || {
                let backend = Backend::new(AsyncConfig {
                    worker_count: 1,
                    batch_size: 2,
                    // Far longer than the test's limit: a handler waiting
                    // for the interrupted turn would hang it.
                    shutdown_timeout: Duration::from_secs(600),
                    ..AsyncConfig::default()
                })
                .unwrap();
                let written = MemoryWriter::new();
                let logger =
                    backend.logger("signal", PipelineConfig::new().writer(written.clone()));
                let _ = SIG_LOGGER.set(logger.clone());
                assert!(backend.shutdown(Duration::from_secs(10)).completed());
                let storm =
                    common::SignalStorm::start(libc::SIGUSR2, on_sigusr2, Duration::from_millis(1));
                step("after shutdown, the main thread logs 50,000 records while SIGUSR2 arrives");
                for i in 0..50_000u64 {
                    info!(logger, "main", i = i);
                }
                storm.stop();
                let handled = HANDLED.load(SeqCst);
                step(&format!("main done; {handled} signals handled"));
                assert!(handled > 0, "no signal was handled");
                assert!(backend.flush_timeout(Duration::from_secs(10)), "flush");
                let lines = written.lines();
                let from_main = lines.iter().filter(|l| l.contains(r#""message":"main""#)).count();
                assert_eq!(from_main, 50_000, "every record of the main thread written");
                assert_eq!(
                    lines.len() as u64,
                    50_000 + handled,
                    "every record of the handler written"
                );
            },
        );
    }
}

// === a panicking enricher does not flood stderr (G6) ===

#[test]
fn a_panicking_enricher_prints_only_a_few_lines() {
    let test = "a_panicking_enricher_prints_only_a_few_lines";
    if in_child(test) {
        let backend = Backend::new(AsyncConfig::default()).unwrap();
        let memory = MemoryWriter::new();
        let logger = backend.logger(
            "panicky",
            PipelineConfig::new()
                .enricher(|_r: &mut Record| panic!("the enricher exploded"))
                .writer(memory.clone()),
        );
        for i in 0..100_000u64 {
            info!(logger, "m", i = i);
        }
        assert!(backend.flush_timeout(Duration::from_secs(60)), "flush");
        let stats = backend.stats();
        assert_eq!(
            stats.enricher_errors, 100_000,
            "every enricher panic is counted: {stats:?}"
        );
        return;
    }
    let run = run_in_child(test, Duration::from_secs(180), &[]);
    run.assert_ok("100,000 records through a panicking enricher");
    let lines: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert!(
        lines.len() <= 10,
        "an enricher panicking on each of 100,000 records printed {} lines on stderr \
         (at most a handful expected); the first ones:\n{}",
        lines.len(),
        lines.iter().take(8).copied().collect::<Vec<_>>().join("\n")
    );
}

// === counters never go backwards (G1) ===

#[test]
fn counters_never_go_backwards_when_a_backend_is_dropped() {
    isolated(
        "counters_never_go_backwards_when_a_backend_is_dropped",
        Duration::from_secs(60),
        || {
            let before = kakashi::get_async_stats();
            let backend = Backend::new(AsyncConfig::default()).unwrap();
            let memory = MemoryWriter::new();
            let logger = backend.logger("gone", PipelineConfig::new().writer(memory.clone()));
            for i in 0..1_000u64 {
                info!(logger, "m", i = i);
            }
            assert!(backend.flush());
            let during = kakashi::get_async_stats();
            drop(logger);
            drop(backend);
            let after = kakashi::get_async_stats();
            assert_eq!(memory.lines().len(), 1_000);
            assert!(
                after.messages_written >= before.messages_written + 1_000,
                "get_async_stats().messages_written went from {} (backend alive) to {} \
                 once its handles were dropped: counters must never go backwards",
                during.messages_written,
                after.messages_written
            );
            assert!(
                after.messages_submitted >= during.messages_submitted,
                "messages_submitted went backwards: {} -> {}",
                during.messages_submitted,
                after.messages_submitted
            );
        },
    );
}

// === a child forked off another thread than main's ends (G5) ===

/// Forks from a thread of its own (not `main`'s), with kakashi's fork
/// hooks around the fork; in the child, runs `child` on that thread, which
/// then ends by returning, as the child's program does. Returns the
/// child's pid, in the parent.
fn fork_off_a_thread(child: impl FnOnce() + Send + 'static) -> libc::pid_t {
    let forker = std::thread::spawn(move || {
        kakashi::prepare_fork(Duration::from_secs(5));
        // SAFETY: the child runs only this thread, which makes no lock of
        // another thread's its own (the fork hooks around it take care of
        // kakashi's); it ends by returning.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            kakashi::after_fork_in_child();
            child();
            return None;
        }
        kakashi::after_fork_in_parent();
        Some(pid)
    });
    forker.join().unwrap().expect("the parent's side")
}

/// Checks that `path` holds the child's records "in the child", `seq` 0
/// to `records` - 1, every one, in order.
fn expect_child_records(path: &std::path::Path, records: u64) {
    let seqs: Vec<u64> = common::json_lines(path)
        .iter()
        .filter(|r| r["message"] == "in the child")
        .filter_map(|r| r["fields"]["seq"].as_u64())
        .collect();
    let missing = records - seqs.len() as u64;
    assert_eq!(missing, 0, "records of the child missing from the file");
    assert!(
        seqs.iter().copied().eq(0..records),
        "the child's records, in order"
    );
}

/// A child forked from a thread other than `main`'s has no `main` to return
/// from: when that thread ends, no exit hook runs, and the process ends only
/// once its last thread has. Found (from Python, `sys.exit` in such a
/// child's thread): the child's fresh workers kept it alive for ever. Now
/// the end drains the backends once only kakashi's threads are left (here
/// at once), their workers leave, and the child ends with its records
/// written.
#[test]
fn a_child_forked_off_another_thread_ends_when_that_thread_does() {
    const CHILD_RECORDS: u64 = 500;
    isolated(
        "a_child_forked_off_another_thread_ends_when_that_thread_does",
        Duration::from_secs(60),
        || {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("forked.log");
            let backend = Backend::new(AsyncConfig {
                worker_count: 2,
                batch_size: 50,
                ..AsyncConfig::default()
            })
            .unwrap();
            let logger = backend.logger(
                "forked",
                PipelineConfig::new().writer(file_writer(&path).unwrap()),
            );
            info!(logger, "parent before the fork");
            let pid = fork_off_a_thread(move || {
                for seq in 0..CHILD_RECORDS {
                    info!(logger, "in the child", seq = seq);
                }
            });
            common::expect_clean_exit(pid, "its only thread of its own ended");
            assert!(backend.flush());
            expect_child_records(&path, CHILD_RECORDS);
        },
    );
}

/// The end of such a child waits for the threads the child started. Found
/// by a hostile pass: the end drained every backend as soon as the forking
/// thread ended, while a thread the child had started kept feeding a slow
/// writer under `block`; the drain ran out its `shutdown_timeout`, dropped
/// what was queued, and every record logged after that was dropped too
/// (`backend_stopped`, fallback on or off). Now the end waits until no
/// thread is left but kakashi's own, as an exit waits for the program's
/// threads, and drains then: nothing feeds the queues any more.
#[test]
fn a_child_ends_after_its_threads_have_logged_everything_through_a_slow_writer() {
    const CHILD_RECORDS: u64 = 300;
    isolated(
        "a_child_ends_after_its_threads_have_logged_everything_through_a_slow_writer",
        Duration::from_secs(120),
        || {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("slow.log");
            let out = std::sync::Mutex::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
                    .unwrap(),
            );
            let backend = Backend::new(AsyncConfig {
                worker_count: 1,
                batch_size: 10,
                max_queue_size: 20,
                overflow_strategy: OverflowStrategy::Block,
                shutdown_timeout: Duration::from_millis(300),
                ..AsyncConfig::default()
            })
            .unwrap();
            let logger = backend.logger(
                "slow",
                PipelineConfig::new().writer(callback_writer(move |line: &str| {
                    // 5 ms a record: the records take 1.5 s, five times the
                    // shutdown timeout.
                    std::thread::sleep(Duration::from_millis(5));
                    use std::io::Write as _;
                    writeln!(out.lock().unwrap(), "{line}")
                })),
            );
            let pid = fork_off_a_thread(move || {
                std::thread::spawn(move || {
                    for seq in 0..CHILD_RECORDS {
                        info!(logger, "in the child", seq = seq);
                    }
                });
                // The forking thread ends while that thread logs.
            });
            common::expect_clean_exit(pid, "its threads finished logging");
            drop(backend);
            expect_child_records(&path, CHILD_RECORDS);
        },
    );
}

/// The end of such a child stops every backend, newest first, and only
/// then makes them synchronous, while the threads the child started go on
/// logging. Found by a hostile pass: through a backend with
/// `fallback_to_sync` off, the records logged between the two steps were
/// dropped (`backend_stopped`), though those before and after were written;
/// the window lasts as long as the older backends take to drain (here one
/// with a slow writer, about a second). Now a backend being made
/// synchronous takes records in the meantime as fallback does (queued,
/// then written in order), whatever its `fallback_to_sync`.
#[test]
fn a_child_thread_logging_through_the_end_loses_nothing_without_fallback() {
    const CHILD_RECORDS: u64 = 2_000;
    isolated(
        "a_child_thread_logging_through_the_end_loses_nothing_without_fallback",
        Duration::from_secs(120),
        || {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("ending.log");
            // The older backend: a writer that takes 100 ms a record.
            let slow_backend = Backend::new(AsyncConfig {
                worker_count: 1,
                batch_size: 1,
                ..AsyncConfig::default()
            })
            .unwrap();
            let slow = slow_backend.logger(
                "slow",
                PipelineConfig::new().writer(callback_writer(|_line: &str| {
                    std::thread::sleep(Duration::from_millis(100));
                    Ok::<(), io::Error>(())
                })),
            );
            let pipeline = AsyncPipeline::new(AsyncPipelineConfig {
                pipeline_config: PipelineConfig::new().writer(file_writer(&path).unwrap()),
                async_config: AsyncConfig::default(),
                enable_async: true,
                fallback_to_sync: false,
            })
            .unwrap();
            let logger = pipeline.logger("ending");
            let pid = fork_off_a_thread(move || {
                let (started, logging) = mpsc::channel();
                std::thread::spawn(move || {
                    for seq in 0..CHILD_RECORDS {
                        info!(logger, "in the child", seq = seq);
                        if seq == 100 {
                            let _ = started.send(());
                        }
                        std::thread::sleep(Duration::from_millis(1));
                    }
                });
                let _ = logging.recv();
                for seq in 0..10 {
                    info!(slow, "queued for the slow writer", seq = seq);
                }
                // Kept (a handle dropped here would drain it now, before
                // the end): the end finds its records queued.
                std::mem::forget(slow_backend);
                // The end starts now, while that thread logs; the child
                // exits when that thread is done.
            });
            common::expect_clean_exit(pid, "its threads finished logging");
            expect_child_records(&path, CHILD_RECORDS);
        },
    );
}
