//! G9 (bounded memory): a backend's queue costs memory for the records it
//! has held, not for its configured capacity: a large queue that has seen
//! few records stays small; and the records workers have taken out of the
//! queue, formatted before their turn to be written, are bounded too.

#![cfg(target_os = "linux")]

use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use kakashi::testing::MemoryWriter;
use kakashi::{
    get_high_performance_logger_with, AsyncConfig, Backend, Batch, HighPerformanceOptions,
    OverflowStrategy, PipelineConfig, WriteError, Writer,
};

/// This process's resident memory, in MiB (`VmRSS`).
fn rss_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kib / 1024
}

#[test]
fn a_large_queue_that_held_few_records_stays_small() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big-queue.log");
    let before = rss_mib();
    // A million slots of a few hundred bytes each: hundreds of MiB if the
    // whole ring were committed.
    let log = get_high_performance_logger_with(
        "big",
        &path,
        HighPerformanceOptions {
            max_queue_size: 1_000_000,
            overflow_strategy: OverflowStrategy::Block,
            ..Default::default()
        },
    )
    .unwrap();
    for i in 0..10_000u64 {
        kakashi::info!(log, "m", seq = i);
    }
    assert!(log.flush());
    let grown = rss_mib().saturating_sub(before);
    assert_eq!(
        std::fs::read_to_string(&path).unwrap().lines().count(),
        10_000
    );
    assert!(
        grown < 64,
        "a 1,000,000-record queue that held 10,000 records grew the process by {grown} MiB"
    );
}

/// A writer whose calls wait until the test opens its gate, then keep the
/// lines in `memory`.
struct GatedWriter {
    gate: Arc<(Mutex<bool>, Condvar)>,
    entered: Arc<AtomicU64>,
    memory: MemoryWriter,
}

impl Writer for GatedWriter {
    fn write_batch(&mut self, batch: &Batch<'_>) -> Result<(), WriteError> {
        self.entered.fetch_add(1, SeqCst);
        let (open, cv) = &*self.gate;
        let mut open = open.lock().unwrap();
        while !*open {
            open = cv.wait(open).unwrap();
        }
        drop(open);
        self.memory.write_batch(batch)
    }
}

#[test]
fn records_formatted_before_their_turn_are_bounded_by_a_sixteenth_of_the_queue() {
    const QUEUE: u64 = 1_600;
    const BATCH: u64 = 10;
    let backend = Backend::new(AsyncConfig {
        max_queue_size: QUEUE as usize,
        batch_size: BATCH as usize,
        worker_count: 2,
        overflow_strategy: OverflowStrategy::DropNewest,
        ..AsyncConfig::default()
    })
    .unwrap();
    let gate = Arc::new((Mutex::new(false), Condvar::new()));
    let entered = Arc::new(AtomicU64::new(0));
    let memory = MemoryWriter::new();
    let writer = GatedWriter {
        gate: Arc::clone(&gate),
        entered: Arc::clone(&entered),
        memory: memory.clone(),
    };
    let log = backend.logger("gated", PipelineConfig::new().writer(writer));
    let mut seq = 0u64;
    let mut log_some = |n: u64| {
        for _ in 0..n {
            kakashi::info!(log, "r", seq = seq);
            seq += 1;
        }
    };
    // One worker is held in the writer with the first batch; the other
    // prepares batches for the turns after it and leaves them waiting,
    // until the waiting room is full; then it holds one more batch and
    // takes nothing else. Everything else stays in the queue.
    let bound = QUEUE / 16 + 2 * BATCH;
    let started = Instant::now();
    let taken = loop {
        log_some(100);
        let s = backend.stats();
        let taken = s.messages_enqueued - s.queue_size;
        assert!(
            taken <= bound,
            "the workers took {taken} records out of the queue with the writer held (at most {bound})"
        );
        if s.queue_size == QUEUE && entered.load(SeqCst) == 1 && taken > QUEUE / 16 - BATCH {
            break taken;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the workers took only {taken} records in 60 s"
        );
        std::thread::sleep(Duration::from_millis(5));
    };
    // Held there: more calls only fill (and overflow) the queue. (The other
    // worker may still be finishing the batch that fills the room.)
    std::thread::sleep(Duration::from_millis(100));
    log_some(500);
    let s = backend.stats();
    let now = s.messages_enqueued - s.queue_size;
    assert!(
        (taken..=bound).contains(&now),
        "the workers took {now} records out of the queue with the writer held (at most {bound})"
    );
    assert!(s.messages_dropped > 0);

    let (open, cv) = &*gate;
    *open.lock().unwrap() = true;
    cv.notify_all();
    assert!(backend.flush_timeout(Duration::from_secs(60)));
    let s = backend.stats();
    // Every accepted record, in the order accepted, and the backend's report
    // of the records the full queue turned away.
    let mut seqs = Vec::new();
    let mut reported = 0;
    let lines = memory.lines();
    for line in &lines {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        match v["fields"]["seq"].as_u64() {
            Some(seq) => seqs.push(seq),
            None => reported += v["fields"]["dropped"].as_u64().unwrap(),
        }
    }
    assert_eq!(seqs.len() as u64, s.messages_enqueued);
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "lines out of order");
    assert_eq!(reported, s.messages_dropped);
    assert_eq!(s.messages_written, lines.len() as u64);
}
